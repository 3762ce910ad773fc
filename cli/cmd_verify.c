/* cli/cmd_verify.c: `ccreg verify [IMAGE[:TAG]...]`: the catalog checked
 * against the registry, as a table, --json or a JUnit report. */
#include <getopt.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "oci/cleanup.h"
#include "oci/text.h"
#include "oci/file.h"
#include "oci/platform.h"
#include "oci/ref.h"
#include "oci/util.h"
#include "registry/client.h"
#include "registry/verify.h"

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
		"Exit status: 0 when every counted version holds; 1 when one fails; 3 (4)\n"
		"when the registry could not be reached (refused access) for a counted one.\n",
};

struct row {
	const struct cat_image *img;
	const struct cat_version *ver;
	bool counted;
	struct cat_target ct;
	const char *reference; /* ct's */
	size_t target; /* into vrun.targets */
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
	for (size_t i = 0; i < v->n; i++)
		cat_target_release(&v->rows[i].ct);
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
	return 0;
}

/* --- output ----------------------------------------------------------------- */

static const char *status_of(const struct row *r, const struct reg_verify_target *t)
{
	if (t->status == REG_VERIFY_OK)
		return "ok";
	return r->counted ? "failed" : "warning";
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
		_cleanup_free_ char *reason = oci_text_escape(t->reason ? t->reason : "");
		printf("%-*s  %-*s  %-6s  %-*s  %-7s  %s\n", wi, r->img->key, wt, r->ver->tag,
		       r->ver->tested ? "yes" : "no", wp, plats[i], status_of(r, t), reason);
		free(plats[i]);
	}
	free(plats);
}

static json_t *results_json(const struct vrun *v, size_t failed, size_t warnings)
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
			"reason", t->reason ? t->reason : "", "digest", t->digest,
			"counted", r->counted));
	}
	return json_pack("{s:o, s:I, s:I}", "results", a, "failed", (json_int_t)failed,
	                 "warnings", (json_int_t)warnings);
}

/* XML 1.0 text or attribute value: escapes, and characters XML cannot
 * carry replaced. */
static void xml_put(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '\n': fputs("&#10;", f); break;
		case '\t': fputs("&#9;", f); break;
		default: fputc(c < 0x20 || c == 0x7f ? '?' : c, f);
		}
	}
}

static void write_junit(FILE *f, const struct vrun *v, size_t failed, size_t warnings,
                        double secs)
{
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	           "<testsuites name=\"ccreg verify\" tests=\"%zu\" failures=\"%zu\" "
	           "errors=\"0\" skipped=\"%zu\" time=\"%.3f\">\n"
	           "  <testsuite name=\"ccreg verify\" tests=\"%zu\" failures=\"%zu\" "
	           "errors=\"0\" skipped=\"%zu\" time=\"%.3f\">\n",
	        v->n, failed, warnings, secs, v->n, failed, warnings, secs);
	for (size_t i = 0; i < v->n; i++) {
		const struct row *r = &v->rows[i];
		const struct reg_verify_target *t = &v->targets[i];
		const char *st = status_of(r, t);
		_cleanup_free_ char *plats = join_platforms(t);

		fputs("    <testcase classname=\"", f);
		xml_put(f, r->img->key);
		fputs("\" name=\"", f);
		xml_put(f, r->img->key);
		fputc(':', f);
		xml_put(f, r->ver->tag);
		fputs("\">\n", f);
		if (strcmp(st, "failed") == 0) {
			fprintf(f, "      <failure type=\"%s\" message=\"",
			        t->status == REG_VERIFY_ERROR ? "registry" : "verify");
			xml_put(f, t->reason);
			fputs("\">", f);
			xml_put(f, r->reference);
			fputs(": ", f);
			xml_put(f, t->reason);
			fputs("</failure>\n", f);
		} else if (strcmp(st, "warning") == 0) {
			fputs("      <skipped message=\"untested: ", f);
			xml_put(f, t->reason);
			fputs("\"/>\n", f);
		}
		fputs("      <system-out>", f);
		xml_put(f, r->reference);
		fputs(r->ver->tested ? " (tested)" : " (untested)", f);
		fputs(" platforms: ", f);
		xml_put(f, plats);
		if (t->digest) {
			fputs(" digest: ", f);
			xml_put(f, t->digest);
		}
		fputs("</system-out>\n    </testcase>\n", f);
	}
	fputs("  </testsuite>\n</testsuites>\n", f);
}

/* Replace path with the report, atomically (oci/file.h). */
static int junit_file(const char *path, const struct vrun *v, size_t failed, size_t warnings,
                      double secs, oci_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		abort();
	write_junit(f, v, failed, warnings, secs);
	if (fclose(f) != 0)
		abort(); /* only allocation can fail in a memory stream */
	return oci_file_replace(path, text, len, 0644, err);
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
		errors += t->status == REG_VERIFY_ERROR;
		if (st[0] != 'f')
			continue;
		failed++;
		/* the worst counted failure decides: refused > unreachable > found wrong */
		if (t->code == OCI_E_AUTH || (t->code == OCI_E_REGISTRY && code != OCI_E_AUTH) ||
		    !code)
			code = t->code;
	}
	/* Nothing could be reached at all: that is the registry's failure even
	 * when only warnings were at stake. */
	if (v.n && errors == v.n && !code)
		code = v.targets[0].code;

	if (ctx->g.json)
		cli_print_json(results_json(&v, failed, warnings));
	else
		print_table(&v);
	double secs = (double)(t1 - t0) / 1e3;
	if (junit && junit_file(junit, &v, failed, warnings, secs, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	cli_info(ctx, "verify: %zu checked on %s: %zu ok, %zu failed, %zu warning%s (%.2f s)",
	         v.n, ctx->g.registry, ok, failed, warnings, warnings == 1 ? "" : "s", secs);
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
