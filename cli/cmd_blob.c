/* cli/cmd_blob.c: `ccreg blob REPO@DIGEST [-o FILE]`, streamed and verified. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "oci/cleanup.h"
#include "oci/file.h"
#include "oci/manifest.h" /* OCI_SIZE_MAX */
#include "oci/ref.h"
#include "registry/client.h"

enum { O_MAX_SIZE = 256 };

static const struct cli_opt blob_opts[] = {
	{ 'o', 'o', "output", CLI_OPT_VALUE, "FILE", "write the blob to FILE instead of standard output" },
	{ O_MAX_SIZE, 0, "max-size", CLI_OPT_VALUE, "SIZE",
	  "stop with an error past SIZE bytes (suffix K, M, G: KiB, MiB, GiB) instead of the "
	  "size the registry declares" },
	{ 0 },
};

const struct cli_cmd_spec cmd_blob_spec = {
	.name = "blob",
	.summary = "fetch one blob, verified",
	.synopsis = (const char *const[]){ "blob REPO@DIGEST [-o FILE]", NULL },
	.description =
		"Fetch one blob, streaming it and verifying its digest.  With -o the blob\n"
		"is written to FILE only once verified (a temporary file is renamed into\n"
		"place); on standard output a digest mismatch still exits 3.  The\n"
		"download is bounded by the size the registry declares (Content-Length),\n"
		"or by --max-size; a registry that declares none needs --max-size.\n",
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

/* "1048576", "512K", "2M", "1G": bytes, or -1. */
static int64_t parse_size(const char *s)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	int shift = 0;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (end == s || errno || v < 0 || end[shift ? 1 : 0] != '\0' || v > (OCI_SIZE_MAX >> shift))
		return -1;
	return (int64_t)v << shift;
}

/* GET the blob into sink, bounded: by max_size when given, else by the
 * response's Content-Length (a body without one, which a server could
 * stream without end, is refused). */
static int get_bounded(struct reg_repo *repo, const char *digest, int64_t max_size,
                       reg_sink_fn sink, void *ud, oci_error *err)
{
	if (max_size >= 0)
		return reg_blob_get_max(repo, digest, max_size, sink, ud, err);
	return reg_blob_get(repo, digest, -1, sink, ud, err);
}

int cmd_blob(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_opt_parser p;
	const char *out = NULL;
	int64_t max_size = -1;
	int ch;
	cli_opt_init(&p, &cmd_blob_spec, argc, argv);
	while ((ch = cli_opt_next(&p)) != CLI_OPT_DONE) {
		if (ch == 'o')
			out = p.value;
		else if (ch == O_MAX_SIZE) {
			if ((max_size = parse_size(p.value)) < 0)
				return cli_usage_error("blob", "--max-size: expected a size such as 1048576 "
				                       "or 512M, got \"%s\"", p.value);
		} else
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
		return get_bounded(repo, ref.digest, max_size, stdout_sink, NULL, &err) < 0 ? cli_fail(&err)
		                                                                            : 0;
	/* the file gets its final name only once the blob is verified */
	if (oci_file_begin(&w, out, OCI_FILE_MODE_KEEP, &err) < 0 ||
	    get_bounded(repo, ref.digest, max_size, file_sink, &w, &err) < 0 ||
	    oci_file_commit(&w, &err) < 0)
		return cli_fail(&err);
	return 0;
}
