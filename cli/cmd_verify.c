/* cli/cmd_verify.c: `ccreg verify [IMAGE[:TAG]...]`: the catalog checked
 * against the registry, as a table, --json or a JUnit report. */
#include <getopt.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/junit.h"
#include "oci/cleanup.h"
#include "oci/text.h"
#include "oci/platform.h"
#include "oci/ref.h"
#include "oci/util.h"
#include "registry/client.h"
#include "registry/verify.h"
#include "cli/release.h"

static const struct cli_arg verify_args[] = {
	{ "IMAGE", "only this image's versions" },
	{ "IMAGE:TAG", "only this version; a named version counts even when untested" },
	{ 0 },
};

static const struct cli_opt verify_opts[] = {
	{ 'a', 0, "all", CLI_OPT_FLAG, NULL, "untested versions count like tested ones" },
	{ 'd', 0, "deep", CLI_OPT_FLAG, NULL,
	  "also check that every config and layer blob exists and that each config's "
	  "os/architecture matches its index entry" },
	{ 'J', 0, "junit", CLI_OPT_VALUE, "FILE",
	  "also write a JUnit XML report (one testcase per IMAGE:TAG; warnings are skipped testcases)" },
	{ 0 },
};

const struct cli_cmd_spec cmd_verify_spec = {
	.name = "verify",
	.summary = "check the catalog against the registry",
	.synopsis = (const char *const[]){ "verify [IMAGE[:TAG]...] [--all] [--deep] [--junit FILE] [--json]", NULL },
	.description =
		"Check the catalog (-C) against the registry (--registry).  For every\n"
		"container image (disabled ones only when named) and every version marked\n"
		"tested, the target tag <package>:<tag> must exist; for a multi-arch image\n"
		"it must be an index holding linux/amd64 and linux/arm64 (extra platforms\n"
		"and attestations are fine); for a single-arch image, a manifest for its\n"
		"platform or an index holding it; every child manifest of the index must\n"
		"resolve in the repository.  Untested versions are checked too and their\n"
		"failures reported as warnings.\n",
	.opts = verify_opts,
	.args = verify_args,
	.epilog =
		"Requests run concurrently over shared connections (--jobs).\n"
		"Every version is reported; one that could not be checked has status error.\n"
		"Exit status: 0 when every counted version holds; 1 when one fails; 3 (4)\n"
		"when any version could not be checked (access was refused).\n",
};

struct row {
	const struct cat_image *img;
	const struct cat_version *ver;
	bool counted;
	struct cat_target ct;
	const char *reference; /* ct's */
	size_t target; /* into vrun.targets */
	char *stale;   /* the index does not hold the current per-arch images: why */
};

struct vrun {
	struct row *rows;
	size_t n;
	struct reg_verify_target *targets;
	struct {
		char *package;
		struct reg_repo *repo;
	} *repos;
	size_t n_repos;
};

static void vrun_release(struct vrun *v)
{
	for (size_t i = 0; i < v->n; i++) {
		cat_target_release(&v->rows[i].ct);
		free(v->rows[i].stale);
	}
	for (size_t i = 0; v->targets && i < v->n; i++)
		reg_verify_target_release(&v->targets[i]);
	for (size_t i = 0; i < v->n_repos; i++) {
		free(v->repos[i].package);
		reg_repo_free(v->repos[i].repo);
	}
	free(v->repos);
	free(v->targets);
	free(v->rows);
	memset(v, 0, sizeof *v);
}

static void vrun_add(struct vrun *v, const struct cat_image *img, const struct cat_version *ver,
                     bool counted)
{
	if (!ver->tag)
		return; /* `catalog lint` reports it */
	for (size_t i = 0; i < v->n; i++)
		if (v->rows[i].ver == ver) {
			v->rows[i].counted |= counted;
			return;
		}
	v->rows = oci_xrealloc(v->rows, (v->n + 1) * sizeof *v->rows);
	v->rows[v->n++] = (struct row){ .img = img, .ver = ver, .counted = counted };
}

static struct reg_repo *repo_for(struct cli_ctx *ctx, struct vrun *v, const struct cat_image *img,
                                 const struct oci_ref *ref, oci_error *err)
{
	for (size_t i = 0; i < v->n_repos; i++)
		if (strcmp(v->repos[i].package, img->package) == 0)
			return v->repos[i].repo;
	struct reg_client *c = cli_client(ctx, err);
	if (!c)
		return NULL;
	v->repos = oci_xrealloc(v->repos, (v->n_repos + 1) * sizeof *v->repos);
	v->repos[v->n_repos].package = oci_xstrdup(img->package);
	v->repos[v->n_repos].repo = reg_repo_new(c, ref, false);
	return v->repos[v->n_repos++].repo;
}

/* A multi-arch target that holds what it must can still be stale: its
 * children are not the per-arch images built since (a warning).  The index
 * verify read serves; only the per-arch tags are asked for (HEAD). */
static void find_stale(struct cli_ctx *ctx, struct vrun *v)
{
	struct cli_release r = { 0 };
	size_t *row_of = oci_xcalloc(v->n + 1, sizeof *row_of);

	for (size_t i = 0; i < v->n; i++) {
		const struct row *rw = &v->rows[i];
		const struct reg_verify_target *t = &v->targets[i];
		if (t->status != REG_VERIFY_OK || rw->ct.single_arch || !t->has_index)
			continue;
		row_of[r.n] = i;
		cli_release_add(ctx, &r, rw->img, rw->ver, NULL);
		r.rows[r.n - 1].known_target = t->digest;
		r.rows[r.n - 1].known_index = &t->index;
	}
	if (r.n) {
		cli_release_run(ctx, &r, false, false);
		for (size_t k = 0; k < r.n; k++)
			v->rows[row_of[k]].stale = cli_release_stale_reason(&r, k);
	}
	cli_release_free(&r);
	free(row_of);
}

/* Resolve every row to its target and required platforms, then check them
 * all in one batch. */
static int vrun_exec(struct cli_ctx *ctx, struct vrun *v, bool deep, oci_error *err)
{
	v->targets = oci_xcalloc(v->n ? v->n : 1, sizeof *v->targets);
	for (size_t i = 0; i < v->n; i++) {
		struct row *r = &v->rows[i];
		struct reg_verify_target *t = &v->targets[i];

		if (cat_target_init(&r->ct, r->img, r->ver->tag, ctx->g.registry, NULL, err) < 0)
			return -1;
		r->reference = r->ct.reference;
		r->target = i;
		t->repo = repo_for(ctx, v, r->img, &r->ct.ref, err);
		if (!t->repo)
			return -1;
		t->tag = r->ct.tag;
		t->want = r->ct.want;
		t->n_want = r->ct.n;
		t->single_arch = r->ct.single_arch;
	}
	/* One registry serves the whole catalog: when it cannot be reached, say
	 * so once instead of retrying every tag. */
	if (v->n_repos && reg_ping(v->repos[0].repo, err) < 0)
		return -1;
	reg_verify(v->targets, v->n, deep, ctx->g.jobs);
	find_stale(ctx, v);
	return 0;
}

/* --- output ----------------------------------------------------------------- */

static const char *status_of(const struct row *r, const struct reg_verify_target *t)
{
	if (t->status == REG_VERIFY_OK)
		return r->stale ? "warning" : "ok";
	if (t->status == REG_VERIFY_ERROR)
		return "error"; /* could not tell, tested or not */
	return r->counted ? "failed" : "warning";
}

static const char *reason_of(const struct row *r, const struct reg_verify_target *t)
{
	return t->reason ? t->reason : r->stale ? r->stale : "";
}

static char *join_platforms(const struct reg_verify_target *t)
{
	struct oci_buf b = { 0 };

	for (size_t i = 0; i < t->n_platforms; i++) {
		if (i)
			oci_buf_append(&b, ",", 1);
		oci_buf_append(&b, t->platforms[i], strlen(t->platforms[i]));
	}
	oci_buf_append(&b, "", 1);
	if (b.len == 1) {
		free(b.data);
		return oci_xstrdup("-");
	}
	/* platform names come from the registry: shown, never obeyed */
	char *shown = oci_text_escape(b.data);
	free(b.data);
	return shown;
}

static void print_table(const struct vrun *v)
{
	int wi = 5, wt = 3, wp = 9;
	char **plats = oci_xcalloc(v->n + 1, sizeof *plats);

	for (size_t i = 0; i < v->n; i++) {
		plats[i] = join_platforms(&v->targets[i]);
		int l = (int)strlen(v->rows[i].img->key);
		wi = l > wi ? l : wi;
		l = (int)strlen(v->rows[i].ver->tag);
		wt = l > wt ? l : wt;
		l = (int)strlen(plats[i]);
		wp = l > wp ? l : wp;
	}
	printf("%-*s  %-*s  %-6s  %-*s  %-7s  %s\n", wi, "IMAGE", wt, "TAG", "TESTED", wp,
	       "PLATFORMS", "STATUS", "REASON");
	for (size_t i = 0; i < v->n; i++) {
		const struct row *r = &v->rows[i];
		const struct reg_verify_target *t = &v->targets[i];
		_cleanup_free_ char *reason = oci_text_escape(reason_of(r, t));
		printf("%-*s  %-*s  %-6s  %-*s  %-7s  %s\n", wi, r->img->key, wt, r->ver->tag,
		       r->ver->tested ? "yes" : "no", wp, plats[i], status_of(r, t), reason);
		free(plats[i]);
	}
	free(plats);
}

static json_t *results_json(const struct vrun *v, size_t failed, size_t warnings, size_t errors)
{
	json_t *a = json_array();

	for (size_t i = 0; i < v->n; i++) {
		const struct row *r = &v->rows[i];
		const struct reg_verify_target *t = &v->targets[i];
		json_t *p = json_array();
		for (size_t k = 0; k < t->n_platforms; k++)
			json_array_append_new(p, json_string(t->platforms[k]));
		json_array_append_new(a, json_pack("{s:s, s:s, s:b, s:s, s:o, s:s, s:s, s:s?, s:b}",
			"image", r->img->key, "tag", r->ver->tag, "tested", r->ver->tested,
			"reference", r->reference, "platforms", p, "status", status_of(r, t),
			"reason", reason_of(r, t), "digest", t->digest,
			"counted", r->counted));
	}
	json_t *j = json_pack("{s:o, s:I, s:I, s:I}", "results", a, "failed", (json_int_t)failed,
	                      "warnings", (json_int_t)warnings, "errors", (json_int_t)errors);
	json_t *rl = cli_ratelimit_json(v->n_repos ? v->repos[0].repo : NULL);
	if (rl)
		json_object_set_new(j, "rateLimit", rl);
	return j;
}

/* XML 1.0 text or attribute value: escapes, and characters XML cannot
 * carry replaced. */
/* The report as JUnit cases: failed → failure, error → error, warning → skipped. */
static int junit_file(const char *path, const struct vrun *v, double secs, oci_error *err)
{
	struct cli_junit_case *cases = oci_xcalloc(v->n + 1, sizeof *cases);
	char **strs = oci_xcalloc(3 * v->n + 1, sizeof *strs);
	for (size_t i = 0; i < v->n; i++) {
		const struct row *r = &v->rows[i];
		const struct reg_verify_target *t = &v->targets[i];
		const char *st = status_of(r, t);
		struct cli_junit_case *c = &cases[i];
		_cleanup_free_ char *plats = join_platforms(t);

		c->classname = r->img->key;
		c->name = strs[3 * i] = oci_xasprintf("%s:%s", r->img->key, r->ver->tag);
		c->out = strs[3 * i + 1] = oci_xasprintf("%s (%s) platforms: %s%s%s", r->reference,
			r->ver->tested ? "tested" : "untested", plats, t->digest ? " digest: " : "",
			t->digest ? t->digest : "");
		if (st[0] == 'f' || st[0] == 'e') {
			c->result = st[0] == 'e' ? CLI_JUNIT_ERROR : CLI_JUNIT_FAILURE;
			c->type = st[0] == 'e' ? "registry" : "verify";
			c->message = t->reason;
			c->text = strs[3 * i + 2] = oci_xasprintf("%s: %s", r->reference, t->reason);
		} else if (st[0] == 'w') {
			c->result = CLI_JUNIT_SKIPPED;
			c->message = strs[3 * i + 2] = oci_xasprintf("%s: %s", t->reason ? "untested" : "stale",
			                                            reason_of(r, t));
		}
	}
	int rc = cli_junit_write(path, "ccreg verify", cases, v->n, secs, err);
	for (size_t i = 0; i < 3 * v->n; i++)
		free(strs[i]);
	free(strs);
	free(cases);
	return rc;
}

/* --- the command ------------------------------------------------------------- */

static int select_rows(struct cat_catalog *cat, struct vrun *v, bool all, int nargs,
                       char **args, oci_error *err)
{
	if (nargs == 0) {
		for (size_t i = 0; i < cat->n_images; i++) {
			const struct cat_image *img = &cat->images[i];
			if (!img->is_image || img->disabled)
				continue;
			for (size_t k = 0; k < img->n_versions; k++)
				vrun_add(v, img, &img->versions[k], all || img->versions[k].tested);
		}
		return 0;
	}
	for (int a = 0; a < nargs; a++) {
		struct cat_image *img;
		struct cat_version *ver;
		if (cat_parse_image_tag(cat, args[a], &img, &ver, err) < 0)
			return -1;
		if (ver) {
			vrun_add(v, img, ver, true);
			continue;
		}
		for (size_t k = 0; k < img->n_versions; k++)
			vrun_add(v, img, &img->versions[k], all || img->versions[k].tested);
	}
	return 0;
}

int cmd_verify(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_opt_parser p;
	const char *junit = NULL;
	bool all = false, deep = false;
	struct cat_catalog *cat = NULL;
	struct vrun v = { 0 };
	oci_error err = { 0 };
	size_t failed = 0, warnings = 0, ok = 0, errors = 0;
	int ch, rc = 0, code = 0;
	int64_t t0 = 0, t1 = 0;

	cli_opt_init(&p, &cmd_verify_spec, argc, argv);
	while ((ch = cli_opt_next(&p)) != CLI_OPT_DONE) {
		if (ch == 'a')
			all = true;
		else if (ch == 'd')
			deep = true;
		else if (ch == 'J')
			junit = p.value;
		else
			return cli_bad_option(&p);
	}
	if (junit && !*junit)
		return cli_usage_error("verify", "--junit needs a file name");
	t0 = oci_now_ms();
	if (cat_load(ctx->g.catalog, &cat, &err) < 0)
		return cli_fail(&err);
	if (select_rows(cat, &v, all, argc - optind, argv + optind, &err) < 0 ||
	    vrun_exec(ctx, &v, deep, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	t1 = oci_now_ms();

	for (size_t i = 0; i < v.n; i++) {
		const struct reg_verify_target *t = &v.targets[i];
		const char *st = status_of(&v.rows[i], t);
		ok += st[0] == 'o';
		warnings += st[0] == 'w';
		errors += st[0] == 'e';
		failed += st[0] == 'f';
		if (st[0] != 'f' && st[0] != 'e')
			continue;
		/* the worst outcome decides: refused > could not tell (any
		 * version: it was not checked) > a counted one found wrong */
		if (t->code == OCI_E_AUTH || (t->code == OCI_E_REGISTRY && code != OCI_E_AUTH) ||
		    !code)
			code = t->code;
	}

	if (ctx->g.json)
		cli_print_json(results_json(&v, failed, warnings, errors));
	else
		print_table(&v);
	double secs = (double)(t1 - t0) / 1e3;
	if (junit && junit_file(junit, &v, secs, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	cli_info(ctx, "verify: %zu checked on %s: %zu ok, %zu failed, %zu warning%s, %zu error%s (%.2f s)",
	         v.n, ctx->g.registry, ok, failed, warnings, warnings == 1 ? "" : "s", errors,
	         errors == 1 ? "" : "s", secs);
	if (code && code != OCI_E_CHECK) {
		for (size_t i = 0; i < v.n; i++)
			if (v.targets[i].status == REG_VERIFY_ERROR) {
				_cleanup_free_ char *reason = oci_text_escape(v.targets[i].reason);
				fprintf(stderr, "ccreg: %s\n", reason);
				break;
			}
	}
	rc = code;
out:
	vrun_release(&v);
	cat_free(cat);
	return rc;
}
