/* cli/cmd_status.c: `ccreg status [IMAGE...]`: every catalog version, where
 * it stands in the registry (registry/status via cli/release) and the next
 * step, as a table or --json. */
#include <jansson.h>
#include <string.h>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/release.h"
#include "oci/cleanup.h"
#include "oci/util.h"

static const struct cli_arg status_args[] = {
	{ "IMAGE", "only this catalog image (disabled ones too)" },
	{ 0 },
};

const struct cli_cmd_spec cmd_status_spec = {
	.name = "status",
	.summary = "where every catalog version stands, and the next step",
	.synopsis = (const char *const[]){ "status [IMAGE...] [--json]", NULL },
	.description =
		"For every version of every enabled container image of the catalog (or of\n"
		"the images named): the per-arch images <package>-<arch>:<tag> and their\n"
		"digests, whether <package>:<tag> exists and holds exactly the current\n"
		"per-arch images, tested, the disk recommendation when the audit cache\n"
		"has every layer, a state and the next step:\n"
		"  missing    no per-arch image (single-arch: no image)\n"
		"  partial    some arches built\n"
		"  built      every arch built, not assembled\n"
		"  stale      <package>:<tag> does not hold the current per-arch images\n"
		"  assembled  current, not tested\n"
		"  released   current and tested\n"
		"  error      the registry could not tell, or a per-arch image holds the\n"
		"             wrong platform\n"
		"Tags are read with HEAD requests; indexes by digest.  Versions whose tag\n"
		"is not a valid tag are skipped with the reason.  Newest version first.\n",
	.args = status_args,
	.epilog = "Exit status: 0; 1 when a per-arch image holds the wrong platform; 3 (4) when\n"
	          "the registry could not be reached (refused access).\n",
};

static const char *kind_of(const struct cat_image *img)
{
	if (!img->package)
		return "no package: not a container image";
	return "not a container image";
}

/* Rate-limit figures of the run, when the registry sent them: the place
 * where `rateLimit` joins the document. */
/* The registry's pull quota (Docker Hub), as verify and audit show it. */
static void status_json_ratelimit(const struct cli_release *r, json_t *doc)
{
	json_t *rl = cli_ratelimit_json(r->n_repos ? r->repos[0].repo : NULL);
	if (rl)
		json_object_set_new(doc, "rateLimit", rl);
}

static json_t *version_json(const struct cli_release *r, size_t i)
{
	const struct cli_release_row *row = &r->rows[i];
	const struct reg_status_target *t = &r->t[i];
	_cleanup_free_ char *next = cli_release_next(r, i);
	json_t *src = json_object();
	int min_gb, docker_gb;

	if (!row->ct.single_arch)
		for (size_t k = 0; k < row->ct.n; k++)
			json_object_set_new(src, row->ct.arches[k],
			                    t->sources[k] ? json_string(t->sources[k]) : json_null());
	json_t *v = json_pack("{s:s, s:b, s:s, s:o, s:o, s:s, s:s}", "tag", row->ver->tag,
		"tested", row->ver->tested, "reference", row->ct.reference, "sources", src,
		"target", t->target ? json_string(t->target) : json_null(),
		"state", reg_status_state_name(t->state), "next", next);
	if (t->problem)
		json_object_set_new(v, "problem", json_string(t->problem));
	if (cli_release_recommend(r, i, &min_gb, &docker_gb)) {
		json_t *d = json_pack("{s:{s:i, s:i}}", "recommended", "minDiskSizeGb", min_gb,
		                      "dockerSizeGb", docker_gb);
		json_t *p = json_object();
		for (size_t k = 0; k < (row->ct.single_arch ? 1 : row->ct.n); k++) {
			_cleanup_free_ char *plat = oci_platform_string(&row->ct.want[k]);
			json_object_set_new(p, plat, json_pack("{s:I, s:I, s:I}",
				"compressedBytes", (json_int_t)t->disk[k].compressed_bytes,
				"tarBytes", (json_int_t)t->disk[k].tar_bytes,
				"onDiskBytes", (json_int_t)t->disk[k].on_disk_bytes));
		}
		json_object_set_new(d, "platforms", p);
		json_object_set_new(d, "catalog", json_pack("{s:o, s:o}",
			"minDiskSizeGb", row->img->min_disk_gb < 0 ? json_null() : json_integer(row->img->min_disk_gb),
			"dockerSizeGb", row->img->docker_size_gb < 0 ? json_null() : json_integer(row->img->docker_size_gb)));
		json_object_set_new(v, "disk", d);
	}
	return v;
}

static json_t *status_json(struct cli_ctx *ctx, const struct cat_catalog *cat,
                           const struct cat_image *const *imgs, size_t n_imgs,
                           const struct cli_release *r)
{
	json_t *images = json_array();

	for (size_t m = 0; m < n_imgs; m++) {
		const struct cat_image *img = imgs[m];
		json_t *versions = json_array(), *skipped = json_array();
		json_t *o = json_pack("{s:s, s:o}", "image", img->key, "package",
		                      img->package ? json_string(img->package) : json_null());
		if (!img->is_image) {
			json_object_set_new(o, "kind", json_string(kind_of(img)));
			json_object_set_new(o, "versions", versions);
			json_decref(skipped);
			json_array_append_new(images, o);
			continue;
		}
		for (size_t i = 0; i < r->n; i++) {
			if (r->rows[i].img != img)
				continue;
			if (r->rows[i].skip)
				json_array_append_new(skipped, json_pack("{s:s?, s:s}", "tag",
					r->rows[i].ver->tag, "reason", r->rows[i].skip));
			else
				json_array_append_new(versions, version_json(r, i));
		}
		json_object_set_new(o, "singleArch", json_boolean(!cat_image_multiarch(img)));
		const struct cat_image *other = cat_package_shared(cat, img);
		if (other) /* its target may be the other image's: see catalog lint */
			json_object_set_new(o, "sharesPackageWith", json_string(other->key));
		json_object_set_new(o, "versions", versions);
		if (json_array_size(skipped))
			json_object_set_new(o, "skipped", skipped);
		else
			json_decref(skipped);
		json_array_append_new(images, o);
	}
	json_t *doc = json_pack("{s:o}", "images", images);
	status_json_ratelimit(r, doc);
	return doc;
}

static void short_digest(const char *d, char *out, size_t n)
{
	if (!d)
		snprintf(out, n, "-");
	else
		snprintf(out, n, "%.19s", d); /* sha256: and 12 hex digits */
}

static void print_table(const struct cat_catalog *cat, const struct cat_image *const *imgs,
                        size_t n_imgs, const struct cli_release *r)
{
	int wi = 5, wt = 3;
	for (size_t i = 0; i < r->n; i++) {
		int l = (int)strlen(r->rows[i].img->key);
		wi = l > wi ? l : wi;
		l = r->rows[i].ver->tag ? (int)strlen(r->rows[i].ver->tag) : 0;
		wt = l > wt ? l : wt;
	}
	printf("%-*s  %-*s  %-9s  %-6s  %-19s  %-19s  %-19s  %s\n", wi, "IMAGE", wt, "TAG", "STATE",
	       "TESTED", "X86_64", "ARM64", "TARGET", "NEXT");
	for (size_t m = 0; m < n_imgs; m++) {
		const struct cat_image *img = imgs[m];
		if (!img->is_image) {
			printf("%-*s  %s\n", wi, img->key, kind_of(img));
			continue;
		}
		const struct cat_image *other = cat_package_shared(cat, img);
		if (other)
			printf("%-*s  warning: shares package %s with %s (see ccreg catalog lint)\n", wi,
			       img->key, img->package, other->key);
		for (size_t i = 0; i < r->n; i++) {
			const struct cli_release_row *row = &r->rows[i];
			const struct reg_status_target *t = &r->t[i];
			char x[24] = "-", a[24] = "-", tg[24];
			if (row->img != img)
				continue;
			_cleanup_free_ char *next = cli_release_next(r, i);
			if (row->skip) {
				printf("%-*s  %-*s  %-9s  %-6s  %-19s  %-19s  %-19s  %s\n", wi, img->key, wt,
				       row->ver->tag ? row->ver->tag : "?", "skipped",
				       row->ver->tested ? "yes" : "no", "", "", "", next);
				continue;
			}
			for (size_t k = 0; !row->ct.single_arch && k < row->ct.n; k++) {
				if (strcmp(row->ct.arches[k], "x86_64") == 0)
					short_digest(t->sources[k], x, sizeof x);
				else if (strcmp(row->ct.arches[k], "arm64") == 0)
					short_digest(t->sources[k], a, sizeof a);
			}
			if (row->ct.single_arch)
				snprintf(x, sizeof x, "(single-arch)");
			short_digest(t->target, tg, sizeof tg);
			printf("%-*s  %-*s  %-9s  %-6s  %-19s  %-19s  %-19s  %s\n", wi, img->key, wt,
			       row->ver->tag, reg_status_state_name(t->state),
			       row->ver->tested ? "yes" : "no", x, a, tg, next);
		}
	}
}

int cmd_status(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cat_catalog *cat = NULL;
	struct cli_release r = { 0 };
	oci_error err = { 0 };
	const struct cat_image **imgs = NULL;
	size_t n_imgs = 0;
	int rc;

	if ((rc = cli_no_options(&cmd_status_spec, &argc, &argv)))
		return rc;
	if (cat_load(ctx->g.catalog, &cat, &err) < 0)
		return cli_fail(&err);
	imgs = oci_xcalloc(cat->n_images + (size_t)argc + 1, sizeof *imgs);
	if (argc > 1) {
		for (int a = 1; a < argc; a++) {
			struct cat_image *img = cat_image_find(cat, argv[a]);
			if (!img) {
				oci_err(&err, OCI_E_USAGE, "unknown catalog image \"%s\" in %s", argv[a],
				        cat->path);
				rc = cli_fail(&err);
				goto out;
			}
			imgs[n_imgs++] = img;
		}
	} else {
		for (size_t i = 0; i < cat->n_images; i++)
			if (!cat->images[i].disabled)
				imgs[n_imgs++] = &cat->images[i];
	}
	for (size_t m = 0; m < n_imgs; m++)
		if (imgs[m]->is_image)
			cli_release_add_image(ctx, &r, imgs[m], NULL);

	rc = cli_release_run(ctx, &r, true, true);
	if (ctx->g.json)
		cli_print_json(status_json(ctx, cat, imgs, n_imgs, &r));
	else
		print_table(cat, imgs, n_imgs, &r);

	size_t counts[REG_STATUS_ERROR + 1] = { 0 };
	bool wrong = false;
	for (size_t i = 0; i < r.n; i++) {
		if (r.rows[i].skip)
			continue;
		counts[r.t[i].state]++;
		wrong |= r.t[i].state == REG_STATUS_ERROR && r.t[i].code == OCI_E_USAGE;
	}
	cli_info(ctx, "status: %zu versions on %s: %zu released, %zu assembled, %zu stale, "
	         "%zu built, %zu partial, %zu missing, %zu error", r.n, ctx->g.registry,
	         counts[REG_STATUS_RELEASED], counts[REG_STATUS_ASSEMBLED], counts[REG_STATUS_STALE],
	         counts[REG_STATUS_BUILT], counts[REG_STATUS_PARTIAL], counts[REG_STATUS_MISSING],
	         counts[REG_STATUS_ERROR]);
	if (rc) {
		for (size_t i = 0; i < r.n; i++)
			if (!r.rows[i].skip && r.t[i].state == REG_STATUS_ERROR && r.t[i].code == rc) {
				fprintf(stderr, "ccreg: %s\n", r.t[i].problem);
				break;
			}
	} else if (wrong) {
		rc = OCI_E_CHECK;
	}
out:
	cli_release_free(&r);
	free(imgs);
	cat_free(cat);
	return rc;
}
