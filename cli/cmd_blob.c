/* cli/cmd_blob.c: `ccreg blob REPO@DIGEST [-o FILE]`, streamed and verified. */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "oci/cleanup.h"
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

static int write_sink(void *ud, const void *p, size_t n, oci_error *err)
{
	FILE *f = ud;
	if (fwrite(p, 1, n, f) != n)
		return oci_err(err, OCI_E_REGISTRY, "write error: %s", strerror(errno));
	return 0;
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
	struct oci_ref ref = { 0 };
	struct reg_repo *repo = NULL;
	_cleanup_free_ char *tmp = NULL;
	if (cli_open_repo(ctx, argv[optind], false, &ref, &repo, &err) < 0)
		return cli_fail(&err);
	int rc = 0;
	if (!ref.digest) {
		rc = cli_usage_error("blob", "%s names no digest (expected REPO@sha256:...)", argv[optind]);
		goto done;
	}
	if (!out) {
		if (reg_blob_get(repo, ref.digest, -1, write_sink, stdout, &err) < 0)
			rc = cli_fail(&err);
		goto done;
	}
	tmp = oci_xasprintf("%s.ccreg-XXXXXX", out);
	int fd = mkstemp(tmp);
	FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
	if (!f) {
		oci_err(&err, OCI_E_USAGE, "%s: %s", out, strerror(errno));
		rc = cli_fail(&err);
		goto done;
	}
	if (reg_blob_get(repo, ref.digest, -1, write_sink, f, &err) < 0) {
		fclose(f);
		unlink(tmp);
		rc = cli_fail(&err);
	} else if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 || rename(tmp, out) != 0) {
		oci_err(&err, OCI_E_USAGE, "%s: %s", out, strerror(errno));
		unlink(tmp);
		rc = cli_fail(&err);
	}
done:
	reg_repo_free(repo);
	oci_ref_release(&ref);
	return rc;
}
