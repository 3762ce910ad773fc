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

/* The image manifest rm (the top one, or a child fetched by digest) and its config. */
static int load_manifest(const struct run *r, struct reg_audit_target *t,
                         struct reg_audit_platform *p, const struct reg_manifest *rm,
                         const struct oci_platform *declared, oci_error *err)
{
	_cleanup_free_ char *mt = NULL;
	enum oci_doc_kind k = oci_doc_kind(rm->data, rm->len, rm->media_type, &mt, err);
	if (k != OCI_DOC_MANIFEST) {
		if (k == OCI_DOC_INDEX)
			oci_err(err, OCI_E_REGISTRY, "nested index %s is not supported", rm->digest);
		return -1;
	}
	if (oci_manifest_parse(&p->m, rm->data, rm->len, mt, err) < 0 ||
	    get_config(r, t->repo, &p->m.config, &p->cfg, err) < 0)
		return -1;
	p->manifest_digest = oci_xstrdup(rm->digest);
	p->platform = oci_platform_string(declared ? declared : &p->cfg.platform);
	if (p->cfg.n_diff_ids != p->m.n_layers)
		return oci_err(err, OCI_E_REGISTRY, "%s: the config lists %zu diff_ids for %zu layers",
		               p->platform, p->cfg.n_diff_ids, p->m.n_layers);
	return 0;
}

static bool wanted(const struct run *r, const struct oci_platform *have)
{
	return !r->o->only || oci_platform_match(r->o->only, have);
}

/* The walk from a reference to the platforms to audit: the one image, or
 * the index children for `want` (else every image child), `only` applied.
 * Kept to itself: the shared image-tree walker is to take its place. */
static int resolve_target(const struct run *r, struct reg_audit_target *t, oci_error *err)
{
	struct reg_manifest top = { 0 };
	struct oci_index ix = { 0 };
	_cleanup_free_ char *mt = NULL;
	_cleanup_free_ size_t *pick = NULL;
	bool named = false;
	int rc = -1;

	if (reg_manifest_get(t->repo, t->tag, &top, err) < 0) {
		named = true; /* the client's message names the reference */
		goto out;
	}
	enum oci_doc_kind k = oci_doc_kind(top.data, top.len, top.media_type, &mt, err);
	if (k == OCI_DOC_UNKNOWN)
		goto out;
	if (k == OCI_DOC_MANIFEST) {
		t->plats = oci_xcalloc(1, sizeof *t->plats);
		t->n_plats = 1;
		if (load_manifest(r, t, &t->plats[0], &top, NULL, err) < 0)
			goto out;
		for (size_t w = 0; w < t->n_want; w++)
			if (!oci_platform_match(&t->want[w], &t->plats[0].cfg.platform)) {
				_cleanup_free_ char *ws = oci_platform_string(&t->want[w]);
				oci_err(err, OCI_E_REGISTRY, "is an image for %s only; the catalog wants %s too",
				        t->plats[0].platform, ws);
				goto out;
			}
		if (!wanted(r, &t->plats[0].cfg.platform)) {
			platform_release(&t->plats[0]);
			t->n_plats = 0;
		}
		rc = 0;
		goto out;
	}
	if (oci_index_parse(&ix, top.data, top.len, mt, err) < 0)
		goto out;
	/* the children to audit: the wanted platforms, else every image */
	pick = oci_xcalloc(ix.n_manifests + t->n_want + 1, sizeof *pick);
	size_t n = 0;
	if (t->n_want) {
		for (size_t w = 0; w < t->n_want; w++) {
			if (!wanted(r, &t->want[w]))
				continue;
			int i = reg_index_select(&ix, &t->want[w], err);
			if (i < 0)
				goto out;
			pick[n++] = (size_t)i;
		}
	} else {
		for (size_t i = 0; i < ix.n_manifests; i++) {
			const struct oci_descriptor *d = &ix.manifests[i];
			if (d->platform && !oci_descriptor_attests(d) && wanted(r, d->platform))
				pick[n++] = i;
		}
	}
	t->plats = oci_xcalloc(n + 1, sizeof *t->plats);
	for (size_t j = 0; j < n; j++) {
		const struct oci_descriptor *d = &ix.manifests[pick[j]];
		struct reg_manifest rm = { 0 };
		t->n_plats++;
		int rr = reg_manifest_get(t->repo, d->digest, &rm, err);
		if (rr == 0)
			rr = load_manifest(r, t, &t->plats[j], &rm, d->platform, err);
		reg_manifest_release(&rm);
		if (rr < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0 && !named)
		oci_err_wrap(err, "%s", t->reference);
	oci_index_release(&ix);
	reg_manifest_release(&top);
	return rc;
}

static int resolve_job(size_t i, void *ud, oci_error *err)
{
	struct run *r = ud;
	return resolve_target(r, &r->t[i], err);
}

/* --- layers ------------------------------------------------------------------ */

static void layer_done(struct run *r, const struct reg_audit_layer *L, double seconds)
{
	size_t done = __atomic_add_fetch(&r->done, 1, __ATOMIC_RELAXED);
	report(r, (struct reg_audit_progress){ .event = REG_AUDIT_LAYER, .layer = L, .done = done,
	                                       .seconds = seconds });
}

static int stream_layer(struct run *r, struct reg_audit_layer *L, oci_error *err)
{
	double t0 = now();
	struct oci_layer *an = oci_layer_new(oci_mt_compression(L->media_type), NULL, NULL);
	int rc = reg_blob_get(L->repo, L->digest, L->size, oci_layer_feed, an, err);
	if (rc == 0 && oci_layer_finish(an, &L->st, L->diff_id, err) < 0)
		rc = oci_err_wrap(err, "%s@%s", reg_repo_name(L->repo), L->digest);
	oci_layer_free(an);
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
	return stream_layer(r, L, err);
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

/* Sums and the diff_id check. */
static int summarize(struct run *r, oci_error *err)
{
	for (size_t ti = 0; ti < r->n_t; ti++) {
		const struct reg_audit_target *t = &r->t[ti];
		for (size_t pi = 0; pi < t->n_plats; pi++) {
			struct reg_audit_platform *p = &t->plats[pi];
			for (size_t li = 0; li < p->m.n_layers; li++) {
				const struct reg_audit_layer *L = p->layers[li];
				if (oci_stats_add(&p->sum, &L->st) < 0)
					return oci_err(err, OCI_E_REGISTRY,
					               "%s (%s): the layers' sizes overflow when summed",
					               t->reference, p->platform);
				if (L->source == REG_AUDIT_ESTIMATE) {
					p->estimate = true;
					continue;
				}
				if (strcmp(L->diff_id, p->cfg.diff_ids[li]) != 0)
					return oci_err(err, OCI_E_REGISTRY,
					               "%s (%s): layer %zu %s: diff_id mismatch: the uncompressed layer hashes to %s, the config says %s",
					               t->reference, p->platform, li + 1, L->digest, L->diff_id,
					               p->cfg.diff_ids[li]);
			}
		}
	}
	return 0;
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
	if (reg_parallel(out->n_layers, o->jobs, layer_job, &r, err) < 0)
		return -1;
	for (size_t i = 0; i < out->n_layers; i++)
		out->from_cache += out->layers[i].source == REG_AUDIT_CACHE;
	report(&r, (struct reg_audit_progress){ .event = REG_AUDIT_LAYERS_DONE,
	                                        .from_cache = out->from_cache });
	if (summarize(&r, err) < 0)
		return -1;
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
}

void reg_audit_release(struct reg_audit *a)
{
	for (size_t i = 0; i < a->n_layers; i++) {
		free(a->layers[i].digest);
		free(a->layers[i].media_type);
	}
	free(a->layers);
	memset(a, 0, sizeof *a);
}
