/* cli/cmd_push.c: `ccreg push SRC DEST`, SRC an OCI layout or a docker-archive. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/progress.h"
#include "oci/cleanup.h"
#include "oci/mediatype.h"
#include "oci/ref.h"
#include "oci/util.h"
#include "registry/copy.h"

#define DEFAULT_LEVEL 1

static const struct cli_opt push_opts[] = {
	{ 'm', 0, "mount-from", CLI_OPT_VALUE, "REPO",
	  "try a cross-repository mount from REPO (a repository on DEST's registry) before uploading" },
	{ 'l', 0, "compression-level", CLI_OPT_VALUE, "N",
	  "gzip level 1-9 for docker-archive layers (default 1)" },
	{ CLI_OPT_REFERRERS, 0, "referrers", CLI_OPT_FLAG, NULL,
	  "oci: SRC: also push what refers to the image in the layout (its sha256-<hex> entries and "
	  "the manifests whose subject it is; and what refers to them), byte for byte" },
	{ 0 },
};

const struct cli_cmd_spec cmd_push_spec = {
	.name = "push",
	.summary = "push an OCI layout or docker-archive to a registry",
	.synopsis = (const char *const[]){ "push [--mount-from REPO] [--compression-level N] [--referrers] SRC DEST", NULL },
	.description =
		"Push an image from files to the registry reference DEST (its tag, else\n"
		"latest).  SRC is one of:\n"
		"  oci:DIR[:NAME]                an OCI image layout: the index.json entry\n"
		"                                named NAME, or the only entry; a single\n"
		"                                image or an index with its children\n"
		"  docker-archive:FILE[:REF]     a `docker save` tarball: the image tagged\n"
		"  docker-archive:FILE:@N        REF (name:tag), the N-th (from 0: note the\n"
		"                                colon before @), or the only one; pushed as\n"
		"                                Docker schema2 with gzip layers (plain\n"
		"                                layers are compressed while uploading and\n"
		"                                checked against the config's diff_ids)\n\n"
		"Blobs the registry already has are skipped; the rest upload concurrently\n"
		"(--jobs), each once; manifests go children first, then the index, then\n"
		"the tag.  Prints the pushed digest.\n",
	.opts = push_opts,
};

/* REPO as a path on dest's registry: "a/b", or "host/a/b" on the same host. */
static int mount_path(const char *s, const struct oci_ref *dest, char **out, oci_error *err)
{
	const char *slash = strchr(s, '/');
	size_t first = slash ? (size_t)(slash - s) : strlen(s);
	bool has_domain = slash && (memchr(s, '.', first) || memchr(s, ':', first) ||
	                            (first == 9 && strncmp(s, "localhost", 9) == 0));
	if (!has_domain) {
		if (!oci_path_valid(s))
			return oci_err(err, OCI_E_USAGE, "--mount-from: invalid repository \"%s\"", s);
		*out = oci_xstrdup(s);
		return 0;
	}
	struct oci_ref r = { 0 };
	if (oci_ref_parse_repo(&r, s, err) < 0)
		return oci_err_wrap(err, "--mount-from");
	int rc = 0;
	if (strcmp(r.domain, dest->domain) != 0)
		rc = oci_err(err, OCI_E_USAGE, "--mount-from: %s is not on %s (mounts work within one registry)",
		             s, dest->domain);
	else
		*out = oci_xstrdup(r.path);
	oci_ref_release(&r);
	return rc;
}

/* index.json's descriptor may say OCI over a Docker body (go-containerregistry's
 * test layouts): the body's type is pushed, and -v says so. */
static void warn_declared(const struct cli_ctx *ctx, const struct oci_layout *layout,
                          const char *name, const struct reg_plan_manifest *top)
{
	const struct oci_descriptor *d = ctx->g.verbose && top ? oci_layout_find(layout, name, NULL)
	                                                       : NULL;
	if (d && oci_doc_type_contradicts(d->media_type, top->media_type))
		fprintf(stderr, "ccreg: warning: index.json says %s for %s, the manifest itself %s: "
		        "pushed as %s\n", d->media_type, d->digest, top->media_type, top->media_type);
}

int cmd_push(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_opt_parser p;
	const char *mount_from = NULL;
	int level = DEFAULT_LEVEL, ch;
	bool referrers = false;
	cli_opt_init(&p, &cmd_push_spec, argc, argv);
	while ((ch = cli_opt_next(&p)) != CLI_OPT_DONE) {
		if (ch == CLI_OPT_REFERRERS) {
			referrers = true;
		} else if (ch == 'm') {
			mount_from = p.value;
		} else if (ch == 'l') {
			char *end;
			long v = strtol(p.value, &end, 10);
			if (*end || v < 1 || v > 9)
				return cli_usage_error("push", "--compression-level: '%s' is not 1 to 9", p.value);
			level = (int)v;
		} else
			return cli_bad_option(&p);
	}
	if (argc - optind != 2)
		return cli_usage_error("push", "expected SRC and DEST");
	const char *src = argv[optind], *dest = argv[optind + 1];
	bool is_oci = strncmp(src, "oci:", 4) == 0;
	bool is_archive = strncmp(src, "docker-archive:", 15) == 0;
	if (!is_oci && !is_archive)
		return cli_usage_error("push", "SRC must be oci:DIR[:NAME] or docker-archive:FILE, not \"%s\"",
		                       src);
	if (referrers && !is_oci)
		return cli_usage_error("push", "--referrers needs an oci:DIR source (a docker-archive holds none)");

	oci_error err = { 0 };
	struct oci_ref ref = { 0 };
	struct reg_repo *repo = NULL;
	_cleanup_free_ char *dir = NULL, *name = NULL, *mpath = NULL;
	struct oci_layout layout = { 0 };
	struct oci_archive archive = { 0 };
	struct reg_plan plan = { 0 };
	struct cli_progress *prog = NULL;
	struct cli_progress_stats st = { 0 };
	int rc = 0;

	if (cli_open_repo(ctx, dest, true, &ref, &repo, &err) < 0)
		return cli_fail(&err);
	if (mount_from && mount_path(mount_from, &ref, &mpath, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	struct reg_copy_opts o = { .jobs = ctx->g.jobs, .mount_from = mpath };
	const char *reference = oci_ref_reference(&ref);
	struct reg_walk_source from = { .layout = &layout };

	if (is_oci) {
		if (oci_layout_parse_spec(src + 4, &dir, &name, &err) < 0 ||
		    oci_layout_open(&layout, dir, &err) < 0 ||
		    reg_plan_build(&from, name, NULL, 0, ctx->g.jobs, &plan, &err) < 0) {
			rc = cli_fail(&err);
			goto out;
		}
		warn_declared(ctx, &layout, name, reg_plan_top(&plan));
		prog = cli_progress_new(ctx, "push", plan.blob_bytes, plan.n_blobs);
		o.progress = cli_progress_hook(prog);
		int r = reg_copy_to_registry(&plan, &from, repo, reference, &o, &err);
		cli_progress_finish(prog, r == 0, &st);
		if (r < 0) {
			rc = cli_fail(&err);
			goto out;
		}
		if (referrers && (rc = cli_referrers_carry(ctx, &from, &plan, repo, NULL)) != 0)
			goto out;
		const struct reg_plan_manifest *top = reg_plan_top(&plan);
		cli_progress_report(ctx, top->digest, top->media_type, reg_repo_name(repo), &st);
	} else {
		if (oci_archive_parse_spec(src + 15, &dir, &name, &err) < 0 ||
		    oci_archive_open(&archive, dir, &err) < 0) {
			const char *at = strrchr(dir ? dir : "", '@');
			if (at && at[1] && strspn(at + 1, "0123456789") == strlen(at + 1))
				oci_err(&err, err.code, "%s (the N-th image is docker-archive:FILE:@N, "
				        "with a colon)", err.msg);
			rc = cli_fail(&err);
			goto out;
		}
		const struct oci_archive_image *im = oci_archive_find(&archive, name, &err);
		if (!im) {
			rc = cli_fail(&err);
			goto out;
		}
		char digest[OCI_DIGEST_MAX];
		prog = cli_progress_new(ctx, "push", -1, im->n_layers + 1);
		o.progress = cli_progress_hook(prog);
		int r = reg_push_archive(&archive, im, repo, reference, level, &o, digest, &err);
		cli_progress_finish(prog, r == 0, &st);
		if (r < 0) {
			rc = cli_fail(&err);
			goto out;
		}
		cli_progress_report(ctx, digest, OCI_MT_DOCKER_MANIFEST, reg_repo_name(repo), &st);
	}
out:
	cli_progress_free(prog);
	reg_plan_release(&plan);
	oci_layout_release(&layout);
	oci_archive_release(&archive);
	reg_repo_free(repo);
	oci_ref_release(&ref);
	return rc;
}
