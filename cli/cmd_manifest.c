/* cli/cmd_manifest.c: `ccreg manifest REF [--platform P]`, the bytes as served. */
#include <getopt.h>
#include <string.h>

#include "cli/commands.h"
#include "oci/cleanup.h"
#include "oci/platform.h"
#include "oci/ref.h"
#include "registry/image.h"

const char cmd_manifest_usage[] =
	"Usage: ccreg manifest REF [--platform OS/ARCH[/VARIANT]]\n\n"
	"Print the manifest or index REF points to, byte for byte as the registry\n"
	"serves it (its digest is verified).  With --platform and an index, print\n"
	"the image manifest for that platform instead.\n";

int cmd_manifest(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "platform", required_argument, NULL, 'p' },
		{ 0 },
	};
	const char *platform = NULL;
	int ch;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "p:", opts, NULL)) != -1) {
		if (ch == 'p')
			platform = optarg;
		else
			return cli_bad_option("manifest", argc, argv);
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
