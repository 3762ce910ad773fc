/* cli/assemble_all.c: `ccreg assemble --all`: every built or stale catalog
 * version through the same plan and execute as `assemble IMAGE:TAG`. */
#include <jansson.h>
#include <string.h>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/release.h"
#include "oci/cleanup.h"
#include "oci/util.h"
#include "registry/assemble.h"
#include "registry/parallel.h"

/* The assemble sources of a catalog version: its per-arch images. */
struct reg_asm_source *cli_target_sources(const struct cat_target *ct)
{
	struct reg_asm_source *src = oci_xcalloc(ct->n + 1, sizeof *src);
	for (size_t i = 0; i < ct->n; i++) {
		src[i].ref = ct->sources[i];
		src[i].want = &ct->want[i];
	}
	return src;
}

/* --- assemble --all ------------------------------------------------------------ */

struct all_item {
	size_t row;                /* into the release run */
	size_t group;              /* its target repository's job */
	struct reg_asm_source *src;
	struct reg_asm_plan plan;
	const char *action;        /* "assembled", "would-assemble", "up-to-date", "failed" */
	oci_error err;
};

struct all_run {
	struct cli_ctx *ctx;
	struct cli_release *r;
	struct all_item *items;
	size_t n_items;
	bool dry;
	int jobs;                  /* each version's own concurrency */
};

/* One version, through the same plan and execute as `assemble IMAGE:TAG`. */
static void all_one(struct all_run *A, struct all_item *it)
{
	const struct cat_target *ct = &A->r->rows[it->row].ct;
	struct reg_client *c = cli_client(A->ctx, &it->err);
	struct reg_asm_options o = { .target = ct->reference, .n_sources = ct->n, .jobs = A->jobs,
		                     .early_blobs = !A->dry };

	it->action = "failed";
	it->src = cli_target_sources(ct);
	o.sources = it->src;
	if (!c || reg_asm_plan(c, &o, &it->plan, &it->err) < 0)
		return;
	if (it->plan.up_to_date)
		it->action = "up-to-date";
	else if (A->dry)
		it->action = "would-assemble";
	else if (reg_asm_execute(&it->plan, NULL, &it->err) == 0)
		it->action = "assembled";
}

/* Job i: the versions whose target repository is the i-th one, in order.
 * Versions of one repository share children and blobs, and a registry
 * mounting and checking the same blob for two writers at once can refuse
 * one of them, so repositories run concurrently, their versions not. */
static int all_job(size_t i, void *ud, oci_error *unused)
{
	struct all_run *A = ud;

	(void)unused;
	for (size_t k = 0; k < A->n_items; k++)
		if (A->items[k].group == i)
			all_one(A, &A->items[k]);
	return 0;
}

int cli_assemble_all(struct cli_ctx *ctx, bool dry)
{
	struct cat_catalog *cat = NULL;
	struct cli_release r = { 0 };
	oci_error err = { 0 };
	size_t n = 0, n_groups = 0, done = 0, skipped = 0, failed = 0;
	int code;

	if (cat_load(ctx->g.catalog, &cat, &err) < 0)
		return cli_fail(&err);
	for (size_t i = 0; i < cat->n_images; i++) {
		const struct cat_image *img = &cat->images[i];
		if (img->is_image)
			cli_release_add_image(ctx, &r, img, img->disabled ? "disabled"
				: !cat_image_multiarch(img) ? "single-arch: nothing to assemble" : NULL);
	}
	code = cli_release_run(ctx, &r, true, false);

	struct all_item *items = oci_xcalloc(r.n + 1, sizeof *items);
	size_t *item_of = oci_xcalloc(r.n + 1, sizeof *item_of);
	for (size_t i = 0; i < r.n; i++) {
		item_of[i] = SIZE_MAX;
		if (!r.rows[i].skip && !reg_status_assemble_skip(&r.t[i])) {
			item_of[i] = n;
			items[n].row = i;
			items[n].group = n_groups;
			for (size_t k = 0; k < n; k++)
				if (strcmp(r.rows[items[k].row].img->package, r.rows[i].img->package) == 0) {
					items[n].group = items[k].group;
					break;
				}
			n_groups += items[n++].group == n_groups;
		}
	}
	int outer = ctx->g.jobs < 1 ? REG_JOBS_DEFAULT : ctx->g.jobs;
	struct all_run A = { .ctx = ctx, .r = &r, .items = items, .n_items = n, .dry = dry,
	                     .jobs = outer / (int)(n_groups < (size_t)outer ? (n_groups ? n_groups : 1)
	                                                                   : (size_t)outer) };
	if (A.jobs < 1)
		A.jobs = 1;
	if (n_groups)
		reg_parallel_all(n_groups, outer, all_job, &A, &err);

	json_t *results = json_array();
	for (size_t i = 0; i < r.n; i++) {
		const struct cli_release_row *row = &r.rows[i];
		const struct reg_status_target *t = &r.t[i];
		const struct all_item *it = item_of[i] == SIZE_MAX ? NULL : &items[item_of[i]];
		const char *state = row->skip ? "skipped" : reg_status_state_name(t->state);
		const char *action = it ? it->action : "skipped";
		const char *reason = it ? (it->err.code ? it->err.msg : NULL)
		                   : row->skip ? row->skip : reg_status_assemble_skip(t);
		const char *digest = it && it->plan.index_bytes ? it->plan.index_digest : NULL;
		_cleanup_free_ char *name = oci_xasprintf("%s:%s", row->img->key,
		                                          row->ver->tag ? row->ver->tag : "?");
		bool registry_failure = it ? it->err.code && it->err.code != OCI_E_USAGE
		                           : !row->skip && t->state == REG_STATUS_ERROR &&
		                             t->code != OCI_E_USAGE;
		if (registry_failure) {
			int c = it ? it->err.code : t->code;
			action = "failed";
			failed++;
			if (c == OCI_E_AUTH || (c == OCI_E_REGISTRY && code != OCI_E_AUTH) || !code)
				code = c;
		} else if (it && strcmp(action, "failed") != 0) {
			done++;
		} else {
			skipped++;
		}
		if (ctx->g.json) {
			json_array_append_new(results, json_pack("{s:s, s:s?, s:s?, s:s, s:s, s:s?, s:s?}",
				"image", row->img->key, "tag", row->ver->tag, "reference",
				row->skip ? NULL : row->ct.reference, "state", state, "action", action,
				"reason", reason, "digest", digest));
		} else if (digest && !reason) {
			printf("%-24s %s %s\n", name, action, digest);
		} else {
			printf("%-24s %s (%s)\n", name, action, reason ? reason : "");
		}
	}
	if (ctx->g.json)
		cli_print_json(json_pack("{s:o, s:I, s:I, s:I, s:b}", "results", results,
			dry ? "wouldAssemble" : "assembled", (json_int_t)done,
			"skipped", (json_int_t)skipped, "failed", (json_int_t)failed, "dryRun", dry));
	else
		json_decref(results);
	cli_info(ctx, "assemble --all: %zu %s, %zu skipped, %zu failed", done,
	         dry ? "to assemble" : "assembled or up to date", skipped, failed);
	for (size_t i = 0; i < n; i++) {
		reg_asm_plan_release(&items[i].plan);
		free(items[i].src);
	}
	free(items);
	free(item_of);
	cli_release_free(&r);
	cat_free(cat);
	return code;
}
