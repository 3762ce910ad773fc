/* cli/cmd_pull.c: `ccreg pull SRC oci:DIR[:NAME]`. */
#include <getopt.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/progress.h"
#include "oci/cleanup.h"
#include "oci/platform.h"
#include "oci/ref.h"
#include "oci/util.h"
#include "registry/copy.h"

static const struct cli_opt pull_opts[] = {
	{ 'p', 0, "platform", CLI_OPT_LIST, "P", "os/arch[/variant] to pull from an index (repeatable)" },
	{ 'k', 0, "keep-docker", CLI_OPT_FLAG, NULL, "store Docker manifests byte for byte (digests kept)" },
	{ CLI_OPT_REFERRERS, 0, "referrers", CLI_OPT_FLAG, NULL,
	  "also pull what refers to the image (signatures, SBOMs, attestations; and what refers to "
	  "them), byte for byte, each subject's list as the index.json entry sha256-<hex>" },
	{ 0 },
};

const struct cli_cmd_spec cmd_pull_spec = {
	.name = "pull",
	.summary = "pull an image into an OCI image layout",
	.synopsis = (const char *const[]){ "pull [--platform P]... [--keep-docker] [--referrers] SRC oci:DIR[:NAME]", NULL },
	.description =
		"Pull the image SRC into the OCI image layout DIR (created when missing;\n"
		"other images in it are kept) under the name NAME (default: SRC's tag).\n"
		"Every platform of an index is pulled unless --platform selects some (one:\n"
		"just its manifest; several: a new index holding only them).  Manifests\n"
		"are stored byte for byte, so digests match the registry's, except that\n"
		"Docker schema2 manifests and lists are rewritten with OCI media types (as\n"
		"skopeo does; OCI layout readers such as umoci accept only those), which\n"
		"gives them new digests; --keep-docker stores them unchanged.  Every blob is\n"
		"verified before it is renamed into place; an interrupted pull leaves no\n"
		"partial blob under a final name.  Blobs already in DIR are not fetched\n"
		"again.  Prints the pulled digest.\n",
	.opts = pull_opts,
};

int cmd_pull(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_opt_parser p;
	struct oci_platform *plats = NULL;
	size_t n_plats = 0;
	bool keep_docker = false, referrers = false;
	int ch, rc = 0;
	cli_opt_init(&p, &cmd_pull_spec, argc, argv);
	while ((ch = cli_opt_next(&p)) != CLI_OPT_DONE) {
		if (ch == 'k') {
			keep_docker = true;
		} else if (ch == CLI_OPT_REFERRERS) {
			referrers = true;
		} else if (ch == 'p') {
			if (cli_add_platform("pull", p.value, &plats, &n_plats) < 0) {
				cli_free_platforms(plats, n_plats);
				return OCI_E_USAGE;
			}
		} else {
			cli_free_platforms(plats, n_plats);
			return cli_bad_option(&p);
		}
	}
	if (argc - optind != 2 || strncmp(argv[optind + 1], "oci:", 4) != 0) {
		cli_free_platforms(plats, n_plats);
		return cli_usage_error("pull", "expected SRC and oci:DIR[:NAME]");
	}

	oci_error err = { 0 };
	struct oci_ref ref = { 0 };
	struct reg_repo *src = NULL;
	struct reg_plan plan = { 0 };
	struct cli_progress *prog = NULL;
	struct cli_progress_stats st = { 0 };
	_cleanup_free_ char *dir = NULL, *name = NULL;

	if (oci_layout_parse_spec(argv[optind + 1] + 4, &dir, &name, &err) < 0 ||
	    cli_open_repo(ctx, argv[optind], false, &ref, &src, &err) < 0 ||
	    reg_plan_build(&(struct reg_walk_source){ .repo = src }, oci_ref_reference(&ref),
	                   plats, n_plats, ctx->g.jobs, &plan, &err) < 0 ||
	    (!keep_docker && reg_plan_convert_oci(&plan, &err) < 0)) {
		rc = cli_fail(&err);
		goto out;
	}
	if (!name && ref.tag)
		name = oci_xstrdup(ref.tag);
	prog = cli_progress_new(ctx, "pull", plan.blob_bytes, plan.n_blobs);
	struct reg_copy_opts o = { .jobs = ctx->g.jobs, .progress = cli_progress_hook(prog) };
	int r = reg_copy_to_layout(&plan, src, dir, name, &o, &err);
	cli_progress_finish(prog, r == 0, &st);
	if (r < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (referrers && (rc = cli_referrers_carry(ctx, &(struct reg_walk_source){ .repo = src },
	                                           &plan, NULL, dir)) != 0)
		goto out;
	const struct reg_plan_manifest *top = reg_plan_top(&plan);
	cli_progress_report(ctx, top->digest, top->media_type, dir, &st);
out:
	cli_progress_free(prog);
	reg_plan_release(&plan);
	reg_repo_free(src);
	oci_ref_release(&ref);
	cli_free_platforms(plats, n_plats);
	return rc;
}
