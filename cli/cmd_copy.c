/* cli/cmd_copy.c: `ccreg copy SRC DEST`, registry to registry. */
#include <getopt.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/progress.h"
#include "oci/platform.h"
#include "oci/ref.h"
#include "registry/copy.h"

static const struct cli_opt copy_opts[] = {
	{ 'p', 0, "platform", CLI_OPT_LIST, "P",
	  "os/arch[/variant] to copy from an index (repeatable).  One platform copies just that "
	  "image's manifest; several (but not all) write a new index holding only them, which has "
	  "a new digest." },
	{ CLI_OPT_REFERRERS, 0, "referrers", CLI_OPT_FLAG, NULL,
	  "also copy what refers to the image (signatures, SBOMs, attestations; and what refers to "
	  "them), byte for byte; on a DEST without the referrers API the fallback tags "
	  "sha256-<hex> are updated, keeping their other entries" },
	{ 0 },
};

const struct cli_cmd_spec cmd_copy_spec = {
	.name = "copy",
	.summary = "copy an image between repositories or registries",
	.synopsis = (const char *const[]){ "copy [--platform P]... [--referrers] SRC DEST", NULL },
	.description =
		"Copy the image SRC to DEST, registry to registry: every platform of an\n"
		"index unless --platform selects some.  Blobs are mounted across\n"
		"repositories of one registry, streamed between registries (no temporary\n"
		"files), concurrently (--jobs) and each once.  Manifests are copied byte\n"
		"for byte, so digests are preserved.  Prints the copied digest.\n",
	.opts = copy_opts,
};

int cmd_copy(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_opt_parser p;
	struct oci_platform *plats = NULL;
	size_t n_plats = 0;
	int ch, rc = 0;
	bool referrers = false;
	cli_opt_init(&p, &cmd_copy_spec, argc, argv);
	while ((ch = cli_opt_next(&p)) != CLI_OPT_DONE) {
		if (ch == CLI_OPT_REFERRERS) {
			referrers = true;
		} else if (ch == 'p') {
			if (cli_add_platform("copy", p.value, &plats, &n_plats) < 0) {
				cli_free_platforms(plats, n_plats);
				return OCI_E_USAGE;
			}
		} else {
			cli_free_platforms(plats, n_plats);
			return cli_bad_option(&p);
		}
	}
	if (argc - optind != 2) {
		cli_free_platforms(plats, n_plats);
		return cli_usage_error("copy", "expected SRC and DEST");
	}

	oci_error err = { 0 };
	struct oci_ref sref = { 0 }, dref = { 0 };
	struct reg_repo *src = NULL, *dst = NULL;
	struct reg_plan plan = { 0 };
	struct cli_progress *prog = NULL;
	struct cli_progress_stats st = { 0 };

	if (cli_open_repo(ctx, argv[optind], false, &sref, &src, &err) < 0 ||
	    cli_open_repo(ctx, argv[optind + 1], true, &dref, &dst, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	/* before the first request: one token for the source pull, the target
	 * push and the mounts */
	if (reg_repo_same_registry(src, dst))
		reg_repo_add_pull_scope(dst, sref.path);
	struct reg_walk_source from = { .repo = src };
	/* another registry: its first contact goes on while the source is read */
	struct reg_warm *warm = reg_repo_same_registry(src, dst) ? NULL : reg_warm_start(dst);
	int prc = reg_plan_build(&from, oci_ref_reference(&sref), plats, n_plats, ctx->g.jobs, &plan,
	                         &err);
	reg_warm_finish(warm);
	if (prc < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	prog = cli_progress_new(ctx, "copy", plan.blob_bytes, plan.n_blobs);
	struct reg_copy_opts o = { .jobs = ctx->g.jobs, .progress = cli_progress_hook(prog) };
	int r = reg_copy_to_registry(&plan, &from, dst, oci_ref_reference(&dref), &o, &err);
	cli_progress_finish(prog, r == 0, &st);
	if (r < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (referrers && (rc = cli_referrers_carry(ctx, &from, &plan, dst, NULL)) != 0)
		goto out;
	const struct reg_plan_manifest *top = reg_plan_top(&plan);
	cli_progress_report(ctx, top->digest, top->media_type, reg_repo_name(dst), &st);
out:
	cli_progress_free(prog);
	reg_plan_release(&plan);
	reg_repo_free(src);
	reg_repo_free(dst);
	oci_ref_release(&sref);
	oci_ref_release(&dref);
	cli_free_platforms(plats, n_plats);
	return rc;
}
