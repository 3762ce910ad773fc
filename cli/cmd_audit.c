/* cli/cmd_audit.c: `ccreg audit IMAGE[:TAG]... | REF... | --all`: targets from
 * the arguments, the audit itself in registry/audit, the recommendation per
 * platform (catalog/sizing), the table or --json, --check's exit code, --write's
 * catalog edits, and progress on stderr.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/sizing.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "oci/auditcache.h"
#include "oci/cleanup.h"
#include "oci/text.h"
#include "oci/ref.h"
#include "registry/audit.h"

enum { O_ALL = 256, O_CHECK, O_WRITE, O_LOWER, O_FAST, O_OS, O_GPU, O_PCT, O_MIN,
       O_PLATFORM };

static const struct cli_opt audit_opts[] = {
	{ O_ALL, 0, "all", CLI_OPT_FLAG, NULL, "the whole catalog (disabled entries skipped)" },
	{ O_PLATFORM, 0, "platform", CLI_OPT_VALUE, "P", "only this platform (linux/amd64, arm64, ...)" },
	{ O_CHECK, 0, "check", CLI_OPT_FLAG, NULL, "exit 1 when anything is under-provisioned" },
	{ O_WRITE, 0, "write", CLI_OPT_FLAG, NULL,
	  "raise catalog values that are too low (only those numbers change; the file is replaced "
	  "atomically)" },
	{ O_LOWER, 0, "allow-lower", CLI_OPT_FLAG, NULL,
	  "with --write, also lower values to the recommendation" },
	{ O_FAST, 0, "fast", CLI_OPT_FLAG, NULL,
	  "estimate gzip layers from their trailer (ISIZE, one Range request) instead of streaming "
	  "them; ambiguous layers are still streamed; figures marked estimate" },
	{ O_OS, 0, "os-gb", CLI_OPT_VALUE, "N", "OS allowance (default 10)" },
	{ O_GPU, 0, "gpu-gb", CLI_OPT_VALUE, "N", "GPU allowance for GPU images (default 10)" },
	{ O_PCT, 0, "headroom-pct", CLI_OPT_VALUE, "N", "headroom, percent of the image (default 15)" },
	{ O_MIN, 0, "headroom-min-gb", CLI_OPT_VALUE, "N", "minimum headroom (default 2)" },
	{ 0 },
};

const struct cli_cmd_spec cmd_audit_spec = {
	.name = "audit",
	.summary = "measure unpacked sizes and recommend minDiskSizeGb",
	.synopsis = (const char *const[]){ "audit [OPTIONS] IMAGE[:TAG]... | REF... | --all", NULL },
	.description =
		"Stream each layer once (never to disk), verify its digest and its diff_id,\n"
		"count what unpacking it produces, and recommend the catalog's disk sizes.\n"
		"IMAGE[:TAG] names a catalog entry (default: its last version) and audits\n"
		"every platform it is built for, at the assembled <package>:<tag>; any other\n"
		"argument is an image reference (every platform of an index).  --all audits\n"
		"the newest version of every enabled catalog image.  Layers shared between\n"
		"platforms, tags and images are read once; results are cached by digest in\n"
		"$XDG_CACHE_HOME/ccreg (default ~/.cache/ccreg), so a re-audit reads no blob\n"
		"(the global --no-cache streams every layer, results still refresh it).\n\n"
		"  minDiskSizeGb = roundup to 5 GB of (OS allowance + GPU allowance (GPU\n"
		"                  images) + on-disk estimate of all layers + compressed size\n"
		"                  + headroom: max(pct of on-disk + compressed, minimum))\n"
		"  dockerSizeGb  = unpacked (uncompressed tar) size in GB, rounded up\n"
		"  GB = 10^9 bytes.  Status: under-provisioned when a catalog value is below\n"
		"  the recommendation (or absent), over-provisioned when minDiskSizeGb is\n"
		"  more than 50% above it.\n",
	.opts = audit_opts,
	.epilog = "Global: -j/--jobs N layers at once (default 4), --json, -q (no progress).\n"
	          "A target not built yet (status missing) or that cannot be read (error) is\n"
	          "reported with the reason and the rest audited.  Exit status: 4 access\n"
	          "refused, 3 a target could not be read, 1 --check found an under-provisioned\n"
	          "value, else 0.\n",
};

/* t[i] says what the audit of rt[i] is for; rt[i]'s inputs point into it. */
struct target {
	char *name;           /* "julia:1.10.1" or the reference as given */
	struct oci_ref ref;   /* a reference target's, and its string: */
	char *reference;
	struct cat_target ct; /* a catalog target's */
	bool catalog, gpu;
	int cat_min, cat_docker;
};

struct audit {
	struct cli_ctx *ctx;
	struct target *t;
	struct reg_audit_target *rt;
	size_t n_t;
	struct reg_audit run;
	struct cli_audit_progress show;
	struct cat_sizing_opts sizing;
	struct oci_platform *only; /* --platform */
	bool fast;
	bool any_catalog;
	char *cache_dir;
};

/* Platform pi of target ti: the recommendation, and the status against the catalog. */
static enum cat_provision recommend(const struct audit *a, size_t ti, size_t pi,
                                    struct cat_sizing *rec)
{
	const struct target *t = &a->t[ti];
	const struct oci_layer_stats *s = &a->rt[ti].plats[pi].sum;
	cat_sizing_compute(&a->sizing, t->gpu, s->on_disk_bytes, s->compressed_bytes,
	                   cat_unpacked_bytes(s), rec);
	return t->catalog ? cat_sizing_status(rec, t->cat_min, t->cat_docker) : CAT_OK;
}

/* --- output ------------------------------------------------------------------------------------------- */

static json_t *counts_json(const struct oci_layer_stats *st, bool estimate)
{
	json_t *o = json_object();
	oci_stats_to_json(st, o);
	if (estimate) {
		static const char *const unknown[] = { "entries", "files", "fileBytes", "dirs",
			"symlinks", "hardlinks", "whiteouts", "opaqueDirs" };
		for (size_t i = 0; i < ARRAY_SIZE(unknown); i++)
			json_object_set_new(o, unknown[i], json_null());
	}
	return o;
}

static void print_json(const struct audit *a)
{
	json_t *images = json_array();
	for (size_t ti = 0; ti < a->n_t; ti++) {
		const struct target *t = &a->t[ti];
		json_t *plats = json_array();
		for (size_t pi = 0; pi < a->rt[ti].n_plats; pi++) {
			const struct reg_audit_platform *p = &a->rt[ti].plats[pi];
			struct cat_sizing r;
			enum cat_provision status = recommend(a, ti, pi, &r);
			json_t *o = json_pack("{s:s, s:s, s:s}", "platform", p->platform, "manifest",
			                      p->manifest_digest, "config", p->m.config.digest);
			json_object_update_new(o, counts_json(&p->sum, p->estimate));
			json_t *layers = json_array();
			for (size_t li = 0; li < p->m.n_layers; li++) {
				const struct reg_audit_layer *L = p->layers[li];
				json_t *l = json_pack("{s:s, s:s, s:s?, s:s}", "digest", L->digest,
				                      "mediaType", L->media_type, "diffId",
				                      L->diff_id[0] ? L->diff_id : NULL, "source",
				                      reg_audit_source_name(L->source));
				json_object_update_new(l, counts_json(&L->st, L->source == REG_AUDIT_ESTIMATE));
				json_array_append_new(layers, l);
			}
			json_object_update_new(o, json_pack(
				"{s:o, s:{s:i, s:i, s:{s:f, s:f, s:f, s:f, s:f, s:f, s:f}}, s:o*, s:s, s:b}",
				"layers", layers, "recommended", "minDiskSizeGb", r.min_disk_gb,
				"dockerSizeGb", r.docker_size_gb, "terms", "osGb", r.os, "gpuGb", r.gpu,
				"onDiskGb", r.on_disk, "compressedGb", r.compressed, "headroomGb", r.headroom,
				"totalGb", r.total, "unpackedGb", r.unpacked,
				"catalog", !t->catalog ? NULL : json_pack("{s:o, s:o}",
					"minDiskSizeGb", t->cat_min < 0 ? json_null() : json_integer(t->cat_min),
					"dockerSizeGb", t->cat_docker < 0 ? json_null() : json_integer(t->cat_docker)),
				"status", cat_provision_name(status), "estimate", p->estimate));
			json_array_append_new(plats, o);
		}
		const struct reg_audit_target *rt = &a->rt[ti];
		json_t *img = json_pack("{s:s, s:s}", "reference", rt->reference, "status",
		                        reg_audit_status_name(rt->status));
		if (rt->reason)
			json_object_set_new(img, "reason", json_string(rt->reason));
		if (rt->n_skipped) {
			json_t *sk = json_array();
			for (size_t k = 0; k < rt->n_skipped; k++)
				json_array_append_new(sk, json_string(rt->skipped[k]));
			json_object_set_new(img, "skipped", sk);
		}
		if (t->catalog)
			json_object_update_new(img, json_pack("{s:s, s:s, s:b}", "image", t->ct.key,
			                                      "tag", t->ct.tag, "gpu", t->gpu));
		json_object_set_new(img, "platforms", plats);
		json_array_append_new(images, img);
	}
	json_t *j = json_pack("{s:o}", "images", images);
	/* the quota of the first registry that told one (Docker Hub's) */
	for (size_t ti = 0; ti < a->n_t; ti++) {
		json_t *rl = cli_ratelimit_json(a->rt[ti].repo);
		if (rl) {
			json_object_set_new(j, "rateLimit", rl);
			break;
		}
	}
	cli_print_json(j);
}

static void gb_cell(char *out, size_t n, int rec, int cat, bool catalog)
{
	if (!catalog)
		snprintf(out, n, "%d", rec);
	else if (cat < 0)
		snprintf(out, n, "%d / -", rec);
	else
		snprintf(out, n, "%d / %d", rec, cat);
}

static void print_table(const struct audit *a)
{
	int wn = 5, wp = 8;
	for (size_t ti = 0; ti < a->n_t; ti++) {
		if (a->rt[ti].status != REG_AUDIT_OK && wp < 7)
			wp = 7;
		if ((int)strlen(a->t[ti].name) > wn)
			wn = (int)strlen(a->t[ti].name);
		for (size_t pi = 0; pi < a->rt[ti].n_plats; pi++)
			if ((int)strlen(a->rt[ti].plats[pi].platform) > wp)
				wp = (int)strlen(a->rt[ti].plats[pi].platform);
	}
	printf("%-*s  %-*s %10s %10s %10s %8s %13s %11s  %s\n", wn, "IMAGE", wp, "PLATFORM",
	       "COMPRESSED", "UNPACKED", "ON-DISK", "FILES", "MIN-DISK GB", "DOCKER GB", "STATUS");
	for (size_t ti = 0; ti < a->n_t; ti++) {
		const struct target *t = &a->t[ti];
		if (a->rt[ti].status != REG_AUDIT_OK) {
			/* no figures: the status, and why on the next line */
			printf("%-*s  %-*s %10s %10s %10s %8s %13s %11s  %s\n  %s\n", wn, t->name, wp,
			       "-", "-", "-", "-", "-", "-", "-", reg_audit_status_name(a->rt[ti].status),
			       a->rt[ti].reason);
			continue;
		}
		for (size_t pi = 0; pi < a->rt[ti].n_plats; pi++) {
			const struct reg_audit_platform *p = &a->rt[ti].plats[pi];
			struct cat_sizing r;
			enum cat_provision status = recommend(a, ti, pi, &r);
			char c[32], u[32], d[32], f[32], mn[32], dk[32], plat[256];
			oci_text_escape_buf(p->platform, plat, sizeof plat); /* from the registry */
			cli_human_size(p->sum.compressed_bytes, c, sizeof c);
			cli_human_size(cat_unpacked_bytes(&p->sum), u, sizeof u);
			cli_human_size(p->sum.on_disk_bytes, d, sizeof d);
			snprintf(f, sizeof f, "%lld", (long long)p->sum.files);
			if (p->estimate)
				snprintf(f, sizeof f, "?");
			gb_cell(mn, sizeof mn, r.min_disk_gb, t->cat_min, t->catalog);
			gb_cell(dk, sizeof dk, r.docker_size_gb, t->cat_docker, t->catalog);
			printf("%-*s  %-*s %10s %10s %10s %8s %13s %11s  %s%s\n", wn, t->name, wp,
			       plat, c, u, d, f, mn, dk,
			       t->catalog ? cat_provision_name(status) : "-",
			       p->estimate ? " (estimate)" : "");
			printf("  minDiskSizeGb %d = roundup to 5 of %.2f: OS %g + GPU %g + on-disk %.2f"
			       " + compressed %.2f + headroom %.2f (max(%g%% of %.2f, %g))\n",
			       r.min_disk_gb, r.total, r.os, r.gpu, r.on_disk, r.compressed,
			       r.headroom, a->sizing.headroom_pct, r.on_disk + r.compressed,
			       a->sizing.headroom_min_gb);
			printf("  dockerSizeGb %d = unpacked %.2f rounded up (GB = 10^9 bytes)\n",
			       r.docker_size_gb, r.unpacked);
		}
		for (size_t k = 0; k < a->rt[ti].n_skipped; k++)
			printf("  skipped %s\n", a->rt[ti].skipped[k]);
	}
	if (a->any_catalog)
		printf("(MIN-DISK GB and DOCKER GB: recommended / catalog)\n");
}

/* --write: catalog/sizing's policy says which values change. */
static int write_catalog(struct audit *a, struct cat_catalog *cat, bool allow_lower, oci_error *err)
{
	_cleanup_free_ struct cat_sizing_result *res = NULL;
	_cleanup_free_ struct cat_sizing_change *ch = NULL;
	size_t n = 0;
	for (size_t ti = 0; ti < a->n_t; ti++)
		for (size_t pi = 0; pi < a->rt[ti].n_plats && a->t[ti].catalog; pi++) {
			struct cat_sizing r;
			recommend(a, ti, pi, &r);
			res = oci_xrealloc(res, (n + 1) * sizeof *res);
			res[n++] = (struct cat_sizing_result){ a->t[ti].ct.key, r.min_disk_gb,
			                                       r.docker_size_gb };
		}
	int n_ch = cat_sizing_writeback(cat, res, n, allow_lower, &ch, err);
	for (int i = 0; i < n_ch; i++) {
		if (cat_set_number(cat, ch[i].key, ch[i].field, ch[i].to, err) < 0)
			return -1;
		if (ch[i].from < 0)
			cli_info(a->ctx, "%s: %s: %s set to %d", cat->path, ch[i].key, ch[i].field, ch[i].to);
		else
			cli_info(a->ctx, "%s: %s: %s %d -> %d", cat->path, ch[i].key, ch[i].field,
			         ch[i].from, ch[i].to);
	}
	return n_ch < 0 ? -1 : 0;
}

/* --- targets ------------------------------------------------------------------------------------------ */

static int add_catalog_target(struct audit *a, const struct cat_image *img, const char *tag,
                              oci_error *err)
{
	struct target *t = &a->t[a->n_t++];
	struct reg_client *c;
	*t = (struct target){ .name = oci_xasprintf("%s:%s", img->key, tag), .catalog = true,
	                      .gpu = img->gpu, .cat_min = img->min_disk_gb,
	                      .cat_docker = img->docker_size_gb };
	if (cat_target_init(&t->ct, img, tag, a->ctx->g.registry, NULL, err) < 0 ||
	    !(c = cli_client(a->ctx, err)))
		return -1;
	a->rt[a->n_t - 1] = (struct reg_audit_target){ .repo = reg_repo_new(c, &t->ct.ref, false),
		.tag = t->ct.tag, .reference = t->ct.reference, .want = t->ct.want, .n_want = t->ct.n };
	return 0;
}

/* A catalog image (IMAGE[:TAG], default its last version), else a reference. */
static int add_arg(struct audit *a, struct cat_catalog **cat, const char *arg, oci_error *err)
{
	if (!strchr(arg, '/') && !strchr(arg, '@')) {
		/* without a catalog file, every argument is a reference */
		if (!*cat && (access(a->ctx->g.catalog, F_OK) == 0 || errno != ENOENT) &&
		    cat_load(a->ctx->g.catalog, cat, err) < 0)
			return -1;
		_cleanup_free_ char *key = oci_xstrndup(arg, strcspn(arg, ":"));
		struct cat_image *img;
		struct cat_version *ver;
		if (*cat && cat_image_find(*cat, key)) {
			if (cat_parse_image_tag(*cat, arg, &img, &ver, err) < 0)
				return -1;
			const char *tag = ver ? ver->tag : cat_last_tag(img);
			if (!tag)
				return oci_err(err, OCI_E_USAGE, "%s has no version to audit", img->key);
			return add_catalog_target(a, img, tag, err);
		}
	}
	struct target *t = &a->t[a->n_t++];
	struct reg_audit_target *rt = &a->rt[a->n_t - 1];
	*t = (struct target){ .name = oci_xstrdup(arg) };
	if (cli_open_repo(a->ctx, arg, false, &t->ref, &rt->repo, err) < 0)
		return -1;
	t->reference = oci_ref_string(&t->ref);
	rt->tag = oci_ref_reference(&t->ref);
	rt->reference = t->reference;
	return 0;
}

int cmd_audit(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_opt_parser p;
	struct audit a = { .ctx = ctx };
	struct cat_catalog *cat = NULL;
	struct oci_platform only = { 0 };
	bool all = false, check = false, write = false, lower = false;
	oci_error err = { 0 };
	int rc = 0, ch;

	cat_sizing_defaults(&a.sizing);
	/* options may follow the arguments, as with docker */
	cli_opt_init(&p, &cmd_audit_spec, argc, argv);
	while ((ch = cli_opt_next(&p)) != CLI_OPT_DONE) {
		switch (ch) {
		case O_ALL: all = true; break;
		case O_CHECK: check = true; break;
		case O_WRITE: write = true; break;
		case O_LOWER: lower = true; break;
		case O_FAST: a.fast = true; break;
		case O_OS: if (cli_parse_number("audit", "--os-gb", p.value, &a.sizing.os_gb)) return 2; break;
		case O_GPU: if (cli_parse_number("audit", "--gpu-gb", p.value, &a.sizing.gpu_gb)) return 2; break;
		case O_PCT: if (cli_parse_number("audit", "--headroom-pct", p.value, &a.sizing.headroom_pct)) return 2; break;
		case O_MIN: if (cli_parse_number("audit", "--headroom-min-gb", p.value, &a.sizing.headroom_min_gb)) return 2; break;
		case O_PLATFORM:
			oci_platform_release(&only);
			if (oci_platform_parse(&only, p.value, &err) < 0)
				return cli_usage_error("audit", "--platform: %s", err.msg);
			a.only = &only;
			break;
		default:
			return cli_bad_option(&p);
		}
	}
	if (all == (optind < argc))
		return cli_usage_error("audit", all ? "--all takes no arguments"
		                                    : "expected IMAGE[:TAG], a reference, or --all");
	if (lower && !write)
		return cli_usage_error("audit", "--allow-lower goes with --write");

	if (all && cat_load(ctx->g.catalog, &cat, &err) < 0)
		goto fail;
	size_t cap = (cat ? cat->n_images : 0) + (size_t)argc + 1; /* an argument or an image each */
	a.t = oci_xcalloc(cap, sizeof *a.t);
	a.rt = oci_xcalloc(cap, sizeof *a.rt);
	for (size_t i = 0; all && i < cat->n_images; i++) {
		const struct cat_image *img = &cat->images[i];
		if (!img->is_image || img->disabled)
			continue;
		const char *tag = cat_last_tag(img);
		if (!tag) {
			cli_info(ctx, "%s: no version to audit, skipped", img->key);
			continue;
		}
		if (add_catalog_target(&a, img, tag, &err) < 0)
			goto fail;
	}
	for (int i = optind; i < argc; i++)
		if (add_arg(&a, &cat, argv[i], &err) < 0) {
			if (err.code == OCI_E_USAGE)
				rc = cli_usage_error("audit", "%s", err.msg);
			else
				rc = cli_fail(&err);
			goto out;
		}
	bool under = false;
	for (size_t i = 0; i < a.n_t; i++)
		a.any_catalog |= a.t[i].catalog;
	if (write && !a.any_catalog) {
		rc = cli_usage_error("audit", "--write needs catalog images (IMAGE:TAG or --all)");
		goto out;
	}

	a.cache_dir = oci_auditcache_dir();
	a.show = (struct cli_audit_progress){ ctx, a.cache_dir };
	struct reg_audit_options o = { .jobs = ctx->g.jobs, .fast = a.fast, .no_cache = ctx->g.no_cache,
	                               .cache_dir = a.cache_dir, .only = a.only,
	                               .progress = cli_audit_progress_event, .ud = &a.show };
	if (reg_audit(a.rt, a.n_t, &o, &a.run, &err) < 0)
		goto fail;
	cli_info(ctx, "done in %.2f s", a.run.seconds);

	if (ctx->g.json)
		print_json(&a);
	else
		print_table(&a);
	fflush(stdout);

	/* the worst outcome decides: refused > not read > under-provisioned */
	int worst = reg_audit_worst(a.rt, a.n_t);
	for (size_t ti = 0; ti < a.n_t; ti++) {
		for (size_t pi = 0; pi < a.rt[ti].n_plats; pi++) {
			struct cat_sizing r;
			under |= recommend(&a, ti, pi, &r) == CAT_UNDER;
		}
		if (a.rt[ti].status != REG_AUDIT_OK)
			fprintf(stderr, "ccreg: %s\n", a.rt[ti].reason);
	}
	if (write && write_catalog(&a, cat, lower, &err) < 0)
		goto fail;
	rc = worst ? worst : check && under ? 1 : 0;
	goto out;
fail:
	rc = cli_fail(&err);
out:
	for (size_t i = 0; i < a.n_t; i++) {
		struct target *t = &a.t[i];
		reg_audit_target_release(&a.rt[i]);
		reg_repo_free(a.rt[i].repo);
		cat_target_release(&t->ct);
		oci_ref_release(&t->ref);
		free(t->name);
		free(t->reference);
	}
	reg_audit_release(&a.run);
	free(a.rt);
	free(a.t);
	free(a.cache_dir);
	oci_platform_release(&only);
	cat_free(cat);
	return rc;
}
