/* cli/cmd_config.c: `ccreg config REF [--platform P]`. */
#include <getopt.h>

#include "cli/commands.h"
#include "oci/cleanup.h"
#include "oci/ref.h"
#include "oci/util.h"
#include "registry/image.h"

static const struct cli_opt config_opts[] = {
	{ 'p', 'p', "platform", CLI_OPT_VALUE, "OS/ARCH[/VARIANT]", "the platform to pick from an index" },
	{ 0 },
};

const struct cli_cmd_spec cmd_config_spec = {
	.name = "config",
	.summary = "print an image config",
	.synopsis = (const char *const[]){ "config REF [--platform OS/ARCH[/VARIANT]]", NULL },
	.description =
		"Print the image config (verified).  For an index, the platform defaults to\n"
		"this machine's.  For an OCI artifact, its config blob as it is.\n",
	.opts = config_opts,
};

int cmd_config(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *refarg, *platform;
	int arc = cli_ref_platform_args(&cmd_config_spec, argc, argv, &refarg, &platform);
	if (arc)
		return arc;

	oci_error err = { 0 };
	_cleanup_(oci_ref_releasep) struct oci_ref ref = { 0 };
	_cleanup_(oci_platform_releasep) struct oci_platform want = { 0 };
	_cleanup_(reg_repo_freep) struct reg_repo *repo = NULL;
	_cleanup_(reg_image_releasep) struct reg_image img = { 0 };
	_cleanup_(oci_config_releasep) struct oci_config cfg = { 0 };
	_cleanup_buf_ struct oci_buf raw = { 0 };
	int rc = 0;

	if (platform)
		rc = oci_platform_parse(&want, platform, &err);
	else
		reg_host_platform(&want);
	if (rc < 0 || cli_open_repo(ctx, refarg, false, &ref, &repo, &err) < 0 ||
	    reg_image_get(repo, oci_ref_reference(&ref), &want, &img, &err) < 0)
		return cli_fail(&err);
	/* an artifact's config is whatever its tool wrote ("{}", a Helm chart's):
	 * printed as it is, verified, not parsed as an image config */
	if (oci_manifest_is_image(&img.m) ? reg_config_get(repo, &img.m.config, &cfg, &raw, &err) < 0
	                                  : reg_blob_read(repo, &img.m.config, &raw, &err) < 0)
		return cli_fail(&err);
	fwrite(raw.data, 1, raw.len, stdout);
	if (raw.len && raw.data[raw.len - 1] != '\n' && isatty(fileno(stdout)))
		fputc('\n', stdout);
	return 0;
}
