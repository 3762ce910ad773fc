/* registry/audit.c: see audit.h.
 *
 * Plan: resolve every target to its platforms (in parallel) → table of
 * unique layers by digest → per layer: the cache, a gzip trailer (fast), or
 * a stream through oci/layerstats (in parallel) → per platform: sums and
 * the diff_id check.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oci/auditcache.h"
#include "oci/cleanup.h"
#include "oci/mediatype.h"
#include "registry/audit.h"
#include "registry/image.h"
#include "registry/parallel.h"

struct run {
	struct reg_audit_target *t;
	size_t n_t;
	const struct reg_audit_options *o;
	struct reg_audit *out;
	size_t done; /* layers finished, for progress */
};

static double now(void)
{
	return (double)oci_now_ms() / 1e3;
}

static void report(const struct run *r, struct reg_audit_progress p)
{
	p.n_layers = r->out->n_layers;
	if (r->o->progress)
		r->o->progress(&p, r->o->ud);
}

const char *reg_audit_status_name(enum reg_audit_status s)
{
	static const char *const names[] = { "ok", "missing", "error" };
	return (size_t)s < ARRAY_SIZE(names) ? names[s] : "?";
}

const char *reg_audit_source_name(enum reg_audit_source s)
{
	static const char *const names[] = { "stream", "cache", "estimate" };
	return (size_t)s < ARRAY_SIZE(names) ? names[s] : "?";
}

/* Configs are small and content-addressed too: the cache keeps their bytes. */
static int get_config(const struct run *r, struct reg_repo *repo, const struct oci_descriptor *d,
                      struct oci_config *cfg, oci_error *err)
{
	_cleanup_buf_ struct oci_buf b = { 0 };
	if (!r->o->no_cache &&
	    oci_auditcache_get_config(r->o->cache_dir, d->digest, REG_MAX_CONFIG, &b))
		return oci_config_parse(cfg, b.data, b.len, err);
	if (reg_blob_read(repo, d, &b, err) < 0 || oci_config_parse(cfg, b.data, b.len, err) < 0)
		return -1;
	oci_auditcache_put_config(r->o->cache_dir, d->digest, b.data, b.len);
	return 0;
}

/* --- resolving targets ------------------------------------------------------- */

static void platform_release(struct reg_audit_platform *p)
{
	free(p->platform);
	free(p->manifest_digest);
	oci_manifest_release(&p->m);
	oci_config_release(&p->cfg);
	free(p->layers);
}

/* One image of the walk becomes a platform to audit: its manifest and
 * config move out of the node.  declared: the index entry's platform, else
 * the config's. */
static int take_image(struct reg_audit_platform *p, struct reg_walk_node *n,
                      const struct oci_platform *declared, oci_error *err)
{
	p->m = n->m;
	memset(&n->m, 0, sizeof n->m);
	p->cfg = n->cfg;
	memset(&n->cfg, 0, sizeof n->cfg);
	p->manifest_digest = oci_xstrdup(n->raw.digest);
	p->platform = oci_platform_string(declared ? declared : &p->cfg.platform);
	if (p->cfg.n_diff_ids != p->m.n_layers)
		return oci_err(err, OCI_E_REGISTRY, "%s: the config lists %zu diff_ids for %zu layers",
		               p->platform, p->cfg.n_diff_ids, p->m.n_layers);
	return 0;
}

/* An index entry that is no image: an artifact, or an image config for
 * unknown/unknown (buildx attestations, regclient's builder references).
 * Noted in t->skipped. */
static bool skip_entry(struct reg_audit_target *t, const struct reg_walk_node *n)
{
	const char *why = NULL;
	const struct oci_platform *p = n->desc.platform ? n->desc.platform : &n->cfg.platform;
	_cleanup_free_ char *ps = NULL;
	if (!oci_manifest_is_image(&n->m))
		why = oci_manifest_artifact_type(&n->m);
	else if (p->os && strcmp(p->os, "unknown") == 0)
		why = ps = oci_platform_string(p);
	if (!why)
		return false;
	t->skipped = oci_xrealloc(t->skipped, (t->n_skipped + 2) * sizeof *t->skipped);
	t->skipped[t->n_skipped++] = oci_xasprintf("%s: not an image (%s)", n->raw.digest, why);
	t->skipped[t->n_skipped] = NULL;
	return true;
}

static bool wanted(const struct run *r, const struct oci_platform *have)
{
	return !r->o->only || oci_platform_match(r->o->only, have);
}

static int walk_config(void *ud, struct reg_repo *repo, const struct oci_descriptor *d,
                       struct oci_config *out, oci_error *err)
{
	return get_config(ud, repo, d, out, err);
}

/* The platforms to audit: the one image, or the index children for `want`
 * (else every image child), `only` applied; through the shared walker, with
 * configs from the audit cache. */
static int resolve_target(const struct run *r, struct reg_audit_target *t, oci_error *err)
{
	_cleanup_free_ struct oci_platform *each = oci_xcalloc(t->n_want + 1, sizeof *each);
	struct reg_walk_opts wo = {
		/* every image entry, those without a platform too; `only` by platform */
		.pick = r->o->only ? REG_PICK_PLATFORMS : REG_PICK_IMAGES,
		.plats = r->o->only,
		.n_plats = r->o->only ? 1 : 0,
		.configs = true,
		.jobs = r->o->jobs,
		.get_config = walk_config,
		.config_ud = (void *)r,
	};
	if (t->n_want) {
		size_t n = 0;
		for (size_t w = 0; w < t->n_want; w++)
			if (wanted(r, &t->want[w]))
				each[n++] = t->want[w]; /* shallow: borrowed for the walk */
		wo.pick = REG_PICK_EACH;
		wo.plats = each;
		wo.n_plats = n;
	}
	struct reg_walk_source src = { .repo = t->repo };
	struct reg_walk w = { 0 };
	if (reg_walk(&src, t->tag, &wo, &w, err) < 0)
		return -1; /* the walker's message names the reference */

	int rc = -1;
	size_t n = 0;
	struct reg_walk_node *imgs = reg_walk_images(&w, &n);
	t->plats = oci_xcalloc(n + 1, sizeof *t->plats);
	if (w.top.kind == OCI_DOC_MANIFEST) {
		struct reg_audit_platform *p = &t->plats[0];
		if (!oci_manifest_is_image(&w.top.m)) {
			oci_err(err, OCI_E_REGISTRY, "is an OCI artifact (%s), not an image: nothing to audit",
			        oci_manifest_artifact_type(&w.top.m));
			goto out;
		}
		t->n_plats = 1;
		if (take_image(p, &w.top, NULL, err) < 0)
			goto out;
		for (size_t i = 0; i < t->n_want; i++)
			if (!oci_platform_match(&t->want[i], &p->cfg.platform)) {
				_cleanup_free_ char *ws = oci_platform_string(&t->want[i]);
				oci_err(err, OCI_E_REGISTRY, "is an image for %s only; the catalog wants %s too",
				        p->platform, ws);
				goto out;
			}
		if (!wanted(r, &p->cfg.platform)) {
			platform_release(p);
			memset(p, 0, sizeof *p);
			t->n_plats = 0;
		}
	} else {
		for (size_t j = 0; j < n; j++) {
			if (skip_entry(t, &imgs[j]))
				continue;
			if (take_image(&t->plats[t->n_plats++], &imgs[j], imgs[j].desc.platform, err) < 0)
				goto out;
		}
		if (t->n_plats == 0 && !t->n_want && !r->o->only) {
			oci_err(err, OCI_E_REGISTRY, "no image to audit among the index's %zu entries "
			        "(artifacts, attestations or nested indexes)", w.top.index.n_manifests);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc < 0)
		oci_err_wrap(err, "%s", t->reference);
	reg_walk_release(&w);
	return rc;
}

/* The target is not audited: no platforms, its status and why. */
static void fail_target(struct reg_audit_target *t, enum reg_audit_status st, int code,
                        const char *reason)
{
	reg_audit_target_release(t);
	t->status = st;
	t->code = code ? code : OCI_E_REGISTRY;
	t->reason = oci_xstrdup(reason);
}

/* A target that does not resolve is reported, and the run goes on.  A 404
 * may be the tag or a piece of the image: a HEAD tells them apart. */
static int resolve_job(size_t i, void *ud, oci_error *err)
{
	struct run *r = ud;
	struct reg_audit_target *t = &r->t[i];
	oci_error e = { 0 }, he = { 0 };
	(void)err;
	if (resolve_target(r, t, &e) == 0)
		return 0;
	bool missing = e.http_status == 404 &&
	               reg_manifest_head(t->repo, t->tag, NULL, NULL, NULL, &he) == 0;
	fail_target(t, missing ? REG_AUDIT_MISSING : REG_AUDIT_ERROR, e.code, e.msg);
	return 0;
}

/* --- layers ------------------------------------------------------------------ */

static void layer_done(struct run *r, const struct reg_audit_layer *L, double seconds)
{
	size_t done = __atomic_add_fetch(&r->done, 1, __ATOMIC_RELAXED);
	report(r, (struct reg_audit_progress){ .event = REG_AUDIT_LAYER, .layer = L, .done = done,
	                                       .seconds = seconds });
}

/* The analyzer of one layer's stream; a fresh one when the download
 * starts over. */
struct analyzer {
	struct oci_layer *an;
	enum oci_compression comp;
};

static int analyzer_feed(void *ud, const void *p, size_t n, oci_error *err)
{
	return oci_layer_feed(((struct analyzer *)ud)->an, p, n, err);
}

static int analyzer_restart(void *ud, oci_error *err)
{
	struct analyzer *a = ud;
	(void)err;
	oci_layer_free(a->an);
	a->an = oci_layer_new(a->comp, NULL, NULL);
	return 0;
}

static int stream_layer(struct run *r, struct reg_audit_layer *L, oci_error *err)
{
	double t0 = now();
	struct analyzer a = { .comp = oci_mt_compression(L->media_type) };
	a.an = oci_layer_new(a.comp, NULL, NULL);
	int rc = reg_blob_get_restart(L->repo, L->digest, L->size, analyzer_feed, analyzer_restart,
	                              &a, err);
	if (rc == 0 && oci_layer_finish(a.an, &L->st, L->diff_id, err) < 0)
		rc = oci_err_wrap(err, "%s@%s", reg_repo_name(L->repo), L->digest);
	oci_layer_free(a.an);
	if (rc < 0)
		return -1;
	L->source = REG_AUDIT_STREAM;
	oci_auditcache_put_layer(r->o->cache_dir, L->digest, &L->st, L->diff_id);
	layer_done(r, L, now() - t0);
	return 0;
}

/* fast: the gzip trailer's ISIZE; 1 estimated, 0 must stream. */
static int estimate_layer(struct run *r, struct reg_audit_layer *L)
{
	if (oci_mt_compression(L->media_type) != OCI_COMP_GZIP || L->size < 20)
		return 0;
	unsigned char tr[4];
	size_t got = 0;
	oci_error e = { 0 };
	if (reg_blob_get_range(L->repo, L->digest, L->size - 4, 4, tr, &got, &e) < 0 || got != 4)
		return 0;
	int64_t u = oci_gzip_isize_estimate(tr, L->size);
	if (u < 0)
		return 0;
	memset(&L->st, 0, sizeof L->st);
	L->st.tar_bytes = u;
	/* the tar already pays 512 bytes per entry; the headroom covers the rest */
	L->st.on_disk_bytes = u;
	L->st.compressed_bytes = L->size;
	L->diff_id[0] = 0;
	L->source = REG_AUDIT_ESTIMATE;
	layer_done(r, L, 0);
	return 1;
}

static int layer_job(size_t i, void *ud, oci_error *err)
{
	struct run *r = ud;
	struct reg_audit_layer *L = &r->out->layers[i];
	if (!r->o->no_cache && oci_auditcache_get_layer(r->o->cache_dir, L->digest, &L->st, L->diff_id)) {
		L->source = REG_AUDIT_CACHE;
		__atomic_add_fetch(&r->done, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (r->o->fast && estimate_layer(r, L))
		return 0;
	/* a layer that cannot be read fails its targets (summarize), not the run */
	oci_error e = { 0 };
	(void)err;
	if (stream_layer(r, L, &e) < 0) {
		L->code = e.code ? e.code : OCI_E_REGISTRY;
		L->error = oci_xstrdup(e.msg);
	}
	return 0;
}

/* One entry per digest across every platform of every target.  The table
 * is sized for every use up front, so platforms can point into it. */
static void unique_layers(struct run *r)
{
	struct reg_audit *a = r->out;
	_cleanup_json_ json_t *seen = json_object();
	size_t uses = 0;
	for (size_t ti = 0; ti < r->n_t; ti++)
		for (size_t pi = 0; pi < r->t[ti].n_plats; pi++)
			uses += r->t[ti].plats[pi].m.n_layers;
	a->layers = oci_xcalloc(uses + 1, sizeof *a->layers);
	for (size_t ti = 0; ti < r->n_t; ti++) {
		struct reg_audit_target *t = &r->t[ti];
		for (size_t pi = 0; pi < t->n_plats; pi++) {
			struct reg_audit_platform *p = &t->plats[pi];
			p->layers = oci_xcalloc(p->m.n_layers + 1, sizeof *p->layers);
			for (size_t li = 0; li < p->m.n_layers; li++) {
				const struct oci_descriptor *d = &p->m.layers[li];
				json_t *have = json_object_get(seen, d->digest);
				if (have) {
					p->layers[li] = &a->layers[json_integer_value(have)];
					continue;
				}
				struct reg_audit_layer *L = &a->layers[a->n_layers];
				L->digest = oci_xstrdup(d->digest);
				L->media_type = oci_xstrdup(d->media_type);
				L->size = d->size;
				L->repo = t->repo;
				json_object_set_new(seen, d->digest, json_integer((json_int_t)a->n_layers));
				p->layers[li] = &a->layers[a->n_layers++];
			}
		}
	}
}

/* Sums and the diff_id check; the first problem fails the target. */
static void summarize_target(struct reg_audit_target *t)
{
	for (size_t pi = 0; pi < t->n_plats; pi++) {
		struct reg_audit_platform *p = &t->plats[pi];
		for (size_t li = 0; li < p->m.n_layers; li++) {
			const struct reg_audit_layer *L = p->layers[li];
			_cleanup_free_ char *why = NULL;
			if (L->error) {
				why = oci_xasprintf("%s (%s): %s", t->reference, p->platform, L->error);
				fail_target(t, REG_AUDIT_ERROR, L->code, why);
				return;
			}
			if (oci_stats_add(&p->sum, &L->st) < 0) {
				why = oci_xasprintf("%s (%s): the layers' sizes overflow when summed",
				                    t->reference, p->platform);
				fail_target(t, REG_AUDIT_ERROR, OCI_E_REGISTRY, why);
				return;
			}
			if (L->source == REG_AUDIT_ESTIMATE) {
				p->estimate = true;
				continue;
			}
			if (strcmp(L->diff_id, p->cfg.diff_ids[li]) != 0) {
				why = oci_xasprintf("%s (%s): layer %zu %s: diff_id mismatch: the uncompressed layer hashes to %s, the config says %s",
				                    t->reference, p->platform, li + 1, L->digest,
				                    L->diff_id, p->cfg.diff_ids[li]);
				fail_target(t, REG_AUDIT_ERROR, OCI_E_REGISTRY, why);
				return;
			}
		}
	}
}

int reg_audit(struct reg_audit_target *t, size_t n, const struct reg_audit_options *o,
              struct reg_audit *out, oci_error *err)
{
	struct run r = { .t = t, .n_t = n, .o = o, .out = out };
	double t0 = now();

	memset(out, 0, sizeof *out);
	if (reg_parallel(n, o->jobs, resolve_job, &r, err) < 0)
		return -1;
	unique_layers(&r);
	size_t n_plats = 0;
	for (size_t i = 0; i < n; i++)
		n_plats += t[i].n_plats;
	report(&r, (struct reg_audit_progress){ .event = REG_AUDIT_RESOLVED, .n_platforms = n_plats });
	int64_t *sizes = oci_xcalloc(out->n_layers ? out->n_layers : 1, sizeof *sizes);
	for (size_t i = 0; i < out->n_layers; i++)
		sizes[i] = out->layers[i].size;
	int brc = out->n_layers ? reg_blob_batch(out->layers[0].repo, out->n_layers, sizes, o->jobs,
	                                         layer_job, &r, err)
	                        : 0;
	free(sizes);
	if (brc < 0)
		return -1;
	for (size_t i = 0; i < out->n_layers; i++)
		out->from_cache += out->layers[i].source == REG_AUDIT_CACHE;
	report(&r, (struct reg_audit_progress){ .event = REG_AUDIT_LAYERS_DONE,
	                                        .from_cache = out->from_cache });
	for (size_t i = 0; i < n; i++)
		summarize_target(&t[i]);
	out->seconds = now() - t0;
	return 0;
}

void reg_audit_target_release(struct reg_audit_target *t)
{
	for (size_t i = 0; i < t->n_plats; i++)
		platform_release(&t->plats[i]);
	free(t->plats);
	t->plats = NULL;
	t->n_plats = 0;
	free(t->reason);
	t->reason = NULL;
	oci_strvfreep(&t->skipped);
	t->skipped = NULL;
	t->n_skipped = 0;
}

void reg_audit_release(struct reg_audit *a)
{
	for (size_t i = 0; i < a->n_layers; i++) {
		free(a->layers[i].digest);
		free(a->layers[i].media_type);
		free(a->layers[i].error);
	}
	free(a->layers);
	memset(a, 0, sizeof *a);
}

int reg_audit_worst(const struct reg_audit_target *t, size_t n)
{
	int worst = 0;
	for (size_t i = 0; i < n; i++)
		if (t[i].status != REG_AUDIT_OK && worst != OCI_E_AUTH)
			worst = t[i].code;
	return worst;
}
