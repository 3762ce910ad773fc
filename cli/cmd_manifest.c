/* cli/cmd_manifest.c: `ccreg manifest REF [--platform P]`, the bytes as served. */
#include <getopt.h>
#include <string.h>

#include "cli/commands.h"
#include "oci/cleanup.h"
#include "oci/platform.h"
#include "oci/ref.h"
#include "registry/image.h"

static const struct cli_opt manifest_opts[] = {
	{ 'p', 'p', "platform", CLI_OPT_VALUE, "OS/ARCH[/VARIANT]", "with an index: print the image manifest for this platform" },
	{ 0 },
};

const struct cli_cmd_spec cmd_manifest_spec = {
	.name = "manifest",
	.summary = "print a manifest or index exactly as served",
	.synopsis = (const char *const[]){ "manifest REF [--platform OS/ARCH[/VARIANT]]", NULL },
	.description =
		"Print the manifest or index REF points to, byte for byte as the registry\n"
		"serves it (its digest is verified).  With --platform and an index, print\n"
		"the image manifest for that platform instead.\n",
	.opts = manifest_opts,
};

int cmd_manifest(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_opt_parser p;
	const char *platform = NULL;
	int ch;
	cli_opt_init(&p, &cmd_manifest_spec, argc, argv);
	while ((ch = cli_opt_next(&p)) != CLI_OPT_DONE) {
		if (ch == 'p')
			platform = p.value;
		else
			return cli_bad_option(&p);
	}
	if (argc - optind != 1)
		return cli_usage_error("manifest", "expected one reference");

	oci_error err = { 0 };
	_cleanup_(oci_ref_releasep) struct oci_ref ref = { 0 };
	_cleanup_(oci_platform_releasep) struct oci_platform want = { 0 };
	_cleanup_(reg_repo_freep) struct reg_repo *repo = NULL;
	_cleanup_(reg_image_releasep) struct reg_image img = { 0 };
	if ((platform && oci_platform_parse(&want, platform, &err) < 0) ||
	    cli_open_repo(ctx, argv[optind], false, &ref, &repo, &err) < 0 ||
	    reg_image_get(repo, oci_ref_reference(&ref), platform ? &want : NULL, &img, &err) < 0)
		return cli_fail(&err);
	const struct reg_manifest *m = img.selected ? &img.manifest : &img.top;
	fwrite(m->data, 1, m->len, stdout);
	return 0;
}
