/* cli/cmd_blob.c: `ccreg blob REPO@DIGEST [-o FILE]`, streamed and verified. */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "cli/commands.h"
#include "oci/cleanup.h"
#include "oci/file.h"
#include "oci/ref.h"
#include "registry/client.h"

static const struct cli_opt blob_opts[] = {
	{ 'o', 'o', "output", CLI_OPT_VALUE, "FILE", "write the blob to FILE instead of standard output" },
	{ 0 },
};

const struct cli_cmd_spec cmd_blob_spec = {
	.name = "blob",
	.summary = "fetch one blob, verified",
	.synopsis = (const char *const[]){ "blob REPO@DIGEST [-o FILE]", NULL },
	.description =
		"Fetch one blob, streaming it and verifying its digest.  With -o the blob\n"
		"is written to FILE only once verified (a temporary file is renamed into\n"
		"place); on standard output a digest mismatch still exits 3.\n",
	.opts = blob_opts,
};

static int stdout_sink(void *ud, const void *p, size_t n, oci_error *err)
{
	(void)ud;
	if (fwrite(p, 1, n, stdout) != n)
		return oci_err(err, OCI_E_IO, "write error on standard output: %s", strerror(errno));
	return 0;
}

static int file_sink(void *ud, const void *p, size_t n, oci_error *err)
{
	return oci_file_write(ud, p, n, err);
}

int cmd_blob(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_opt_parser p;
	const char *out = NULL;
	int ch;
	cli_opt_init(&p, &cmd_blob_spec, argc, argv);
	while ((ch = cli_opt_next(&p)) != CLI_OPT_DONE) {
		if (ch == 'o')
			out = p.value;
		else
			return cli_bad_option(&p);
	}
	if (argc - optind != 1)
		return cli_usage_error("blob", "expected one REPO@DIGEST");

	oci_error err = { 0 };
	_cleanup_(oci_ref_releasep) struct oci_ref ref = { 0 };
	_cleanup_(reg_repo_freep) struct reg_repo *repo = NULL;
	_cleanup_(oci_file_abortp) struct oci_file_writer w = { 0 };
	if (cli_open_repo(ctx, argv[optind], false, &ref, &repo, &err) < 0)
		return cli_fail(&err);
	if (!ref.digest)
		return cli_usage_error("blob", "%s names no digest (expected REPO@sha256:...)", argv[optind]);
	if (!out)
		return reg_blob_get(repo, ref.digest, -1, stdout_sink, NULL, &err) < 0 ? cli_fail(&err) : 0;
	/* the file gets its final name only once the blob is verified */
	if (oci_file_begin(&w, out, OCI_FILE_MODE_KEEP, &err) < 0 ||
	    reg_blob_get(repo, ref.digest, -1, file_sink, &w, &err) < 0 ||
	    oci_file_commit(&w, &err) < 0)
		return cli_fail(&err);
	return 0;
}
