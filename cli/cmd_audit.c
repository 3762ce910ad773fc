/* cli/cmd_audit.c: `ccreg audit IMAGE[:TAG]... | REF... | --all`: stream
 * every layer once (shared layers once per run), count what unpacking it
 * would produce, and recommend minDiskSizeGb / dockerSizeGb.
 *
 * Plan: resolve every target to its platforms (manifest + config, in
 * parallel) → table of unique layers by digest → per layer: the cache, a
 * gzip trailer (--fast), or a stream through oci/layerstats (in parallel,
 * --jobs) → per platform: sums, diff_id check, recommendation, status →
 * print; --write raises the catalog's numbers.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/sizing.h"
#include "cli/commands.h"
#include "oci/cleanup.h"
#include "oci/layerstats.h"
#include "oci/mediatype.h"
#include "oci/ref.h"
#include "registry/image.h"
#include "registry/parallel.h"

const char cmd_audit_usage[] =
	"Usage: ccreg audit [OPTIONS] IMAGE[:TAG]... | REF... | --all\n\n"
	"Stream each layer once (never to disk), verify its digest and its diff_id,\n"
	"count what unpacking it produces, and recommend the catalog's disk sizes.\n"
	"IMAGE[:TAG] names a catalog entry (default: its last version) and audits\n"
	"every platform it is built for, at the assembled <package>:<tag>; any other\n"
	"argument is an image reference (every platform of an index).  --all audits\n"
	"the newest version of every enabled catalog image.  Layers shared between\n"
	"platforms, tags and images are read once; results are cached by digest in\n"
	"$XDG_CACHE_HOME/ccreg (default ~/.cache/ccreg), so a re-audit reads no blob.\n\n"
	"  minDiskSizeGb = roundup to 5 GB of (OS allowance + GPU allowance (GPU\n"
	"                  images) + on-disk estimate of all layers + compressed size\n"
	"                  + headroom: max(pct of on-disk + compressed, minimum))\n"
	"  dockerSizeGb  = unpacked (uncompressed tar) size in GB, rounded up\n"
	"  GB = 10^9 bytes.  Status: under-provisioned when a catalog value is below\n"
	"  the recommendation (or absent), over-provisioned when minDiskSizeGb is\n"
	"  more than 50% above it.\n\n"
	"Options:\n"
	"  --all                  the whole catalog (disabled entries skipped)\n"
	"  --platform P           only this platform (linux/amd64, arm64, ...)\n"
	"  --check                exit 1 when anything is under-provisioned\n"
	"  --write                raise catalog values that are too low (only those\n"
	"                         numbers change; the file is replaced atomically)\n"
	"  --allow-lower          with --write, also lower values to the recommendation\n"
	"  --fast                 estimate gzip layers from their trailer (ISIZE, one\n"
	"                         Range request) instead of streaming them; ambiguous\n"
	"                         layers are still streamed; figures marked estimate\n"
	"  --no-cache             stream every layer (results still refresh the cache)\n"
	"  --os-gb N              OS allowance (default 10)\n"
	"  --gpu-gb N             GPU allowance for GPU images (default 10)\n"
	"  --headroom-pct N       headroom, percent of the image (default 15)\n"
	"  --headroom-min-gb N    minimum headroom (default 2)\n"
	"Global: -j/--jobs N layers at once (default 4), --json, -q (no progress).\n";

enum source { SRC_STREAM, SRC_CACHE, SRC_ESTIMATE };
static const char *const source_names[] = { "stream", "cache", "estimate" };

struct layer {
	char *digest, *media_type;
	int64_t size;
	struct reg_repo *repo; /* borrowed: the first target that has it */
	struct oci_layer_stats st;
	char diff_id[OCI_DIGEST_MAX]; /* "" for an estimate */
	enum source source;
};

struct plat {
	char *platform;
	char *manifest_digest;
	struct oci_manifest m;
	struct oci_config cfg;
	size_t *idx; /* m.layers[i] is layers[idx[i]] */
	struct oci_layer_stats sum;
	bool estimate;
	struct cat_sizing rec;
	enum cat_provision status;
};

struct target {
	char *name;      /* "julia:1.10.1" or the reference as given */
	char *reference; /* normalized */
	struct oci_ref ref;
	struct reg_repo *repo;
	bool catalog;
	char *key, *tag;
	bool gpu;
	int cat_min, cat_docker;
	struct oci_platform *want; /* catalog: the platforms it must have */
	size_t n_want;
	struct plat *plats;
	size_t n_plats;
};

struct audit {
	struct cli_ctx *ctx;
	struct target *t;
	size_t n_t;
	struct layer *layers;
	size_t n_layers;
	struct cat_sizing_opts sizing;
	struct oci_platform *only; /* --platform */
	bool fast, no_cache;
	char *cache_dir;
	size_t done; /* layers finished, for progress */
};

/* --- progress (stderr, one whole line at a time) -------------------------------------- */

static void progress(const struct audit *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(const struct audit *a, const char *fmt, ...)
{
	if (a->ctx->g.quiet)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	flockfile(stderr);
	fprintf(stderr, "%s\n", line);
	funlockfile(stderr);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *short_digest(const char *d)
{
	static __thread char buf[32];
	const char *hex = oci_digest_hex(d);
	snprintf(buf, sizeof buf, "%.12s", hex ? hex : d);
	return buf;
}

/* --- the cache ----------------------------------------------------------------------------- */

static char *cache_dir(void)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (x && *x == '/')
		return oci_xasprintf("%s/ccreg", x);
	if (home && *home)
		return oci_xasprintf("%s/.cache/ccreg", home);
	return NULL;
}

static char *cache_path(const struct audit *a, const char *digest)
{
	const char *hex = oci_digest_hex(digest);
	if (!a->cache_dir || !hex)
		return NULL;
	return oci_xasprintf("%s/layers/%.*s/%s.json", a->cache_dir, (int)(hex - 1 - digest),
	                     digest, hex);
}

#define CACHE_VERSION 1

static bool cache_read(const struct audit *a, struct layer *L)
{
	_cleanup_free_ char *path = cache_path(a, L->digest);
	if (!path)
		return false;
	_cleanup_json_ json_t *j = json_load_file(path, 0, NULL);
	const char *dg = json_string_value(json_object_get(j, "digest"));
	const char *did = json_string_value(json_object_get(j, "diffId"));
	struct oci_layer_stats st = { 0 };
	if (!j || json_integer_value(json_object_get(j, "version")) != CACHE_VERSION || !dg ||
	    strcmp(dg, L->digest) != 0 || !did || oci_digest_validate(did, NULL) < 0 ||
	    oci_stats_from_json(j, &st) < 0)
		return false;
	L->st = st;
	snprintf(L->diff_id, sizeof L->diff_id, "%s", did);
	return true;
}

static int mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		int r = mkdir(path, 0755);
		*p = '/';
		if (r < 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

/* Best effort: a cache that cannot be written only costs time.  Written to
 * a temporary file and renamed, so readers see a whole entry or none. */
static void cache_write(const struct audit *a, const struct layer *L)
{
	_cleanup_free_ char *path = cache_path(a, L->digest);
	if (!path || mkdirs(path) < 0)
		return;
	_cleanup_json_ json_t *j = json_pack("{s:i, s:s, s:s}", "version", CACHE_VERSION,
	                                     "digest", L->digest, "diffId", L->diff_id);
	oci_stats_to_json(&L->st, j);
	_cleanup_free_ char *text = json_dumps(j, JSON_SORT_KEYS);
	_cleanup_free_ char *tmp = oci_xasprintf("%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return;
	size_t len = strlen(text);
	bool ok = write(fd, text, len) == (ssize_t)len;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) < 0)
		unlink(tmp);
}

/* Configs are small and content-addressed too: keep their bytes, checked
 * against the digest when read back. */
static char *config_cache_path(const struct audit *a, const char *digest)
{
	const char *hex = oci_digest_hex(digest);
	if (!a->cache_dir || !hex)
		return NULL;
	return oci_xasprintf("%s/configs/%.*s/%s", a->cache_dir, (int)(hex - 1 - digest), digest,
	                     hex);
}

static int get_config(const struct audit *a, struct reg_repo *repo, const struct oci_descriptor *d,
                      struct oci_config *cfg, oci_error *err)
{
	_cleanup_free_ char *path = config_cache_path(a, d->digest);
	_cleanup_buf_ struct oci_buf b = { 0 };
	if (path && !a->no_cache) {
		_cleanup_fclose_ FILE *f = fopen(path, "rb");
		char chunk[65536];
		size_t n;
		while (f && b.len <= REG_MAX_CONFIG && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
			oci_buf_append(&b, chunk, n);
		if (b.len && oci_digest_matches(d->digest, b.data, b.len))
			return oci_config_parse(cfg, b.data, b.len, err);
		b.len = 0;
	}
	if (reg_blob_read(repo, d, &b, err) < 0 || oci_config_parse(cfg, b.data, b.len, err) < 0)
		return -1;
	if (path && mkdirs(path) == 0) {
		_cleanup_free_ char *tmp = oci_xasprintf("%s.tmp.XXXXXX", path);
		int fd = mkstemp(tmp);
		if (fd >= 0) {
			bool ok = write(fd, b.data, b.len) == (ssize_t)b.len;
			ok = close(fd) == 0 && ok;
			if (!ok || rename(tmp, path) < 0)
				unlink(tmp);
		}
	}
	return 0;
}

/* --- resolving targets ------------------------------------------------------------------------- */

static void plat_release(struct plat *p)
{
	free(p->platform);
	free(p->manifest_digest);
	oci_manifest_release(&p->m);
	oci_config_release(&p->cfg);
	free(p->idx);
}

static void target_release(struct target *t)
{
	for (size_t i = 0; i < t->n_plats; i++)
		plat_release(&t->plats[i]);
	free(t->plats);
	for (size_t i = 0; i < t->n_want; i++)
		oci_platform_release(&t->want[i]);
	free(t->want);
	reg_repo_free(t->repo);
	oci_ref_release(&t->ref);
	free(t->name);
	free(t->reference);
	free(t->key);
	free(t->tag);
}

/* The image manifest `top` (or fetched by digest) and its config. */
static int load_manifest(const struct audit *a, struct target *t, struct plat *p,
                         const struct reg_manifest *rm, const struct oci_platform *declared,
                         oci_error *err)
{
	_cleanup_free_ char *mt = NULL;
	enum oci_doc_kind k = oci_doc_kind(rm->data, rm->len, rm->media_type, &mt, err);
	if (k != OCI_DOC_MANIFEST) {
		if (k == OCI_DOC_INDEX)
			oci_err(err, OCI_E_REGISTRY, "nested index %s is not supported", rm->digest);
		return -1;
	}
	if (oci_manifest_parse(&p->m, rm->data, rm->len, mt, err) < 0 ||
	    get_config(a, t->repo, &p->m.config, &p->cfg, err) < 0)
		return -1;
	p->manifest_digest = oci_xstrdup(rm->digest);
	p->platform = oci_platform_string(declared ? declared : &p->cfg.platform);
	if (p->cfg.n_diff_ids != p->m.n_layers)
		return oci_err(err, OCI_E_REGISTRY, "%s: the config lists %zu diff_ids for %zu layers",
		               p->platform, p->cfg.n_diff_ids, p->m.n_layers);
	return 0;
}

static bool wanted(const struct audit *a, const struct oci_platform *have)
{
	return !a->only || oci_platform_match(a->only, have);
}

static int resolve_target(struct audit *a, struct target *t, oci_error *err)
{
	struct reg_manifest top = { 0 };
	struct oci_index ix = { 0 };
	_cleanup_free_ char *mt = NULL;
	bool named = false;
	int rc = -1;

	if (reg_manifest_get(t->repo, oci_ref_reference(&t->ref), &top, err) < 0) {
		named = true; /* the client's message names the reference */
		goto out;
	}
	enum oci_doc_kind k = oci_doc_kind(top.data, top.len, top.media_type, &mt, err);
	if (k == OCI_DOC_UNKNOWN)
		goto out;
	if (k == OCI_DOC_MANIFEST) {
		t->plats = oci_xcalloc(1, sizeof *t->plats);
		t->n_plats = 1;
		if (load_manifest(a, t, &t->plats[0], &top, NULL, err) < 0)
			goto out;
		for (size_t w = 0; w < t->n_want; w++)
			if (!oci_platform_match(&t->want[w], &t->plats[0].cfg.platform)) {
				_cleanup_free_ char *ws = oci_platform_string(&t->want[w]);
				oci_err(err, OCI_E_REGISTRY, "is an image for %s only; the catalog wants %s too",
				        t->plats[0].platform, ws);
				goto out;
			}
		if (!wanted(a, &t->plats[0].cfg.platform)) {
			plat_release(&t->plats[0]);
			t->n_plats = 0;
		}
		rc = 0;
		goto out;
	}
	if (oci_index_parse(&ix, top.data, top.len, mt, err) < 0)
		goto out;
	/* the children to audit: the catalog's platforms, else every image */
	size_t *pick = oci_xcalloc(ix.n_manifests + t->n_want + 1, sizeof *pick);
	size_t n = 0;
	if (t->n_want) {
		for (size_t w = 0; w < t->n_want; w++) {
			if (!wanted(a, &t->want[w]))
				continue;
			int i = reg_index_select(&ix, &t->want[w], err);
			if (i < 0) {
				free(pick);
				goto out;
			}
			pick[n++] = (size_t)i;
		}
	} else {
		for (size_t i = 0; i < ix.n_manifests; i++) {
			const struct oci_descriptor *d = &ix.manifests[i];
			if (d->platform && !oci_descriptor_attests(d) && wanted(a, d->platform))
				pick[n++] = i;
		}
	}
	t->plats = oci_xcalloc(n + 1, sizeof *t->plats);
	for (size_t j = 0; j < n; j++) {
		const struct oci_descriptor *d = &ix.manifests[pick[j]];
		struct reg_manifest rm = { 0 };
		t->n_plats++;
		int r = reg_manifest_get(t->repo, d->digest, &rm, err);
		if (r == 0)
			r = load_manifest(a, t, &t->plats[j], &rm, d->platform, err);
		reg_manifest_release(&rm);
		if (r < 0) {
			free(pick);
			goto out;
		}
	}
	free(pick);
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
	struct audit *a = ud;
	return resolve_target(a, &a->t[i], err);
}

/* --- layers ---------------------------------------------------------------------------------------- */

static int stream_layer(struct audit *a, struct layer *L, oci_error *err)
{
	double t0 = now();
	struct oci_layer *an = oci_layer_new(oci_mt_compression(L->media_type), NULL, NULL);
	int rc = reg_blob_get(L->repo, L->digest, L->size, oci_layer_feed, an, err);
	if (rc == 0 && oci_layer_finish(an, &L->st, L->diff_id, err) < 0)
		rc = oci_err_wrap(err, "%s@%s", reg_repo_name(L->repo), L->digest);
	oci_layer_free(an);
	if (rc < 0)
		return -1;
	L->source = SRC_STREAM;
	cache_write(a, L);
	double dt = now() - t0;
	char c[32], u[32];
	cli_human_size(L->st.compressed_bytes, c, sizeof c);
	cli_human_size(L->st.tar_bytes, u, sizeof u);
	size_t done = __atomic_add_fetch(&a->done, 1, __ATOMIC_RELAXED);
	progress(a, "[%zu/%zu] %s: %s -> %s, %lld files, %.2f s (%.0f MB/s unpacked)", done,
	         a->n_layers, short_digest(L->digest), c, u, (long long)L->st.files, dt,
	         dt > 0 ? (double)L->st.tar_bytes / 1e6 / dt : 0.0);
	return 0;
}

/* --fast: the gzip trailer's ISIZE; 1 estimated, 0 must stream. */
static int estimate_layer(struct audit *a, struct layer *L)
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
	L->source = SRC_ESTIMATE;
	char c[32], s[32];
	cli_human_size(L->size, c, sizeof c);
	cli_human_size(u, s, sizeof s);
	size_t done = __atomic_add_fetch(&a->done, 1, __ATOMIC_RELAXED);
	progress(a, "[%zu/%zu] %s: %s -> %s (estimate from the gzip trailer)", done, a->n_layers,
	         short_digest(L->digest), c, s);
	return 1;
}

static int layer_job(size_t i, void *ud, oci_error *err)
{
	struct audit *a = ud;
	struct layer *L = &a->layers[i];
	if (!a->no_cache && cache_read(a, L)) {
		L->source = SRC_CACHE;
		__atomic_add_fetch(&a->done, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (a->fast && estimate_layer(a, L))
		return 0;
	return stream_layer(a, L, err);
}

/* One entry per digest across every platform of every target. */
static void unique_layers(struct audit *a)
{
	_cleanup_json_ json_t *seen = json_object();
	size_t cap = 0;
	for (size_t ti = 0; ti < a->n_t; ti++) {
		struct target *t = &a->t[ti];
		for (size_t pi = 0; pi < t->n_plats; pi++) {
			struct plat *p = &t->plats[pi];
			p->idx = oci_xcalloc(p->m.n_layers + 1, sizeof *p->idx);
			for (size_t li = 0; li < p->m.n_layers; li++) {
				const struct oci_descriptor *d = &p->m.layers[li];
				json_t *have = json_object_get(seen, d->digest);
				if (have) {
					p->idx[li] = (size_t)json_integer_value(have);
					continue;
				}
				if (a->n_layers == cap) {
					cap = cap ? 2 * cap : 16;
					a->layers = oci_xrealloc(a->layers, cap * sizeof *a->layers);
				}
				struct layer *L = &a->layers[a->n_layers];
				memset(L, 0, sizeof *L);
				L->digest = oci_xstrdup(d->digest);
				L->media_type = oci_xstrdup(d->media_type);
				L->size = d->size;
				L->repo = t->repo;
				json_object_set_new(seen, d->digest, json_integer((json_int_t)a->n_layers));
				p->idx[li] = a->n_layers++;
			}
		}
	}
}

/* Sums, the diff_id check, the recommendation and the status. */
static int summarize(struct audit *a, oci_error *err)
{
	for (size_t ti = 0; ti < a->n_t; ti++) {
		struct target *t = &a->t[ti];
		for (size_t pi = 0; pi < t->n_plats; pi++) {
			struct plat *p = &t->plats[pi];
			for (size_t li = 0; li < p->m.n_layers; li++) {
				const struct layer *L = &a->layers[p->idx[li]];
				oci_stats_add(&p->sum, &L->st);
				if (L->source == SRC_ESTIMATE) {
					p->estimate = true;
					continue;
				}
				if (strcmp(L->diff_id, p->cfg.diff_ids[li]) != 0)
					return oci_err(err, OCI_E_REGISTRY,
					               "%s (%s): layer %zu %s: diff_id mismatch: the uncompressed layer hashes to %s, the config says %s",
					               t->reference, p->platform, li + 1, L->digest, L->diff_id,
					               p->cfg.diff_ids[li]);
			}
			cat_sizing_compute(&a->sizing, t->gpu, p->sum.on_disk_bytes,
			                   p->sum.compressed_bytes, p->sum.tar_bytes, &p->rec);
			p->status = t->catalog ? cat_sizing_status(&p->rec, t->cat_min, t->cat_docker)
			                       : CAT_OK;
		}
	}
	return 0;
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

static json_t *cat_number(int v)
{
	return v < 0 ? json_null() : json_integer(v);
}

static void print_json(const struct audit *a)
{
	json_t *images = json_array();
	for (size_t ti = 0; ti < a->n_t; ti++) {
		const struct target *t = &a->t[ti];
		json_t *plats = json_array();
		for (size_t pi = 0; pi < t->n_plats; pi++) {
			const struct plat *p = &t->plats[pi];
			json_t *o = json_pack("{s:s, s:s, s:s}", "platform", p->platform, "manifest",
			                      p->manifest_digest, "config", p->m.config.digest);
			json_object_update_new(o, counts_json(&p->sum, p->estimate));
			json_t *layers = json_array();
			for (size_t li = 0; li < p->m.n_layers; li++) {
				const struct layer *L = &a->layers[p->idx[li]];
				json_t *l = json_pack("{s:s, s:s, s:s?, s:s}", "digest", L->digest,
				                      "mediaType", L->media_type, "diffId",
				                      L->diff_id[0] ? L->diff_id : NULL, "source",
				                      source_names[L->source]);
				json_object_update_new(l, counts_json(&L->st, L->source == SRC_ESTIMATE));
				json_array_append_new(layers, l);
			}
			json_object_set_new(o, "layers", layers);
			const struct cat_sizing *r = &p->rec;
			json_object_set_new(o, "recommended", json_pack(
				"{s:i, s:i, s:{s:f, s:f, s:f, s:f, s:f, s:f, s:f}}",
				"minDiskSizeGb", r->min_disk_gb, "dockerSizeGb", r->docker_size_gb,
				"terms", "osGb", r->os, "gpuGb", r->gpu, "onDiskGb", r->on_disk,
				"compressedGb", r->compressed, "headroomGb", r->headroom,
				"totalGb", r->total, "unpackedGb", r->unpacked));
			if (t->catalog)
				json_object_set_new(o, "catalog", json_pack("{s:o, s:o}",
					"minDiskSizeGb", cat_number(t->cat_min),
					"dockerSizeGb", cat_number(t->cat_docker)));
			json_object_set_new(o, "status", json_string(cat_provision_name(p->status)));
			json_object_set_new(o, "estimate", json_boolean(p->estimate));
			json_array_append_new(plats, o);
		}
		json_t *img = json_pack("{s:s}", "reference", t->reference);
		if (t->catalog) {
			json_object_set_new(img, "image", json_string(t->key));
			json_object_set_new(img, "tag", json_string(t->tag));
			json_object_set_new(img, "gpu", json_boolean(t->gpu));
		}
		json_object_set_new(img, "platforms", plats);
		json_array_append_new(images, img);
	}
	cli_print_json(json_pack("{s:o}", "images", images));
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
		const struct target *t = &a->t[ti];
		if ((int)strlen(t->name) > wn)
			wn = (int)strlen(t->name);
		for (size_t pi = 0; pi < t->n_plats; pi++)
			if ((int)strlen(t->plats[pi].platform) > wp)
				wp = (int)strlen(t->plats[pi].platform);
	}
	printf("%-*s  %-*s %10s %10s %10s %8s %13s %11s  %s\n", wn, "IMAGE", wp, "PLATFORM",
	       "COMPRESSED", "UNPACKED", "ON-DISK", "FILES", "MIN-DISK GB", "DOCKER GB", "STATUS");
	for (size_t ti = 0; ti < a->n_t; ti++) {
		const struct target *t = &a->t[ti];
		for (size_t pi = 0; pi < t->n_plats; pi++) {
			const struct plat *p = &t->plats[pi];
			const struct cat_sizing *r = &p->rec;
			char c[32], u[32], d[32], f[32], mn[32], dk[32];
			cli_human_size(p->sum.compressed_bytes, c, sizeof c);
			cli_human_size(p->sum.tar_bytes, u, sizeof u);
			cli_human_size(p->sum.on_disk_bytes, d, sizeof d);
			if (p->estimate)
				snprintf(f, sizeof f, "?");
			else
				snprintf(f, sizeof f, "%lld", (long long)p->sum.files);
			gb_cell(mn, sizeof mn, r->min_disk_gb, t->cat_min, t->catalog);
			gb_cell(dk, sizeof dk, r->docker_size_gb, t->cat_docker, t->catalog);
			printf("%-*s  %-*s %10s %10s %10s %8s %13s %11s  %s%s\n", wn, t->name, wp,
			       p->platform, c, u, d, f, mn, dk,
			       t->catalog ? cat_provision_name(p->status) : "-",
			       p->estimate ? " (estimate)" : "");
			printf("  minDiskSizeGb %d = roundup to 5 of %.2f: OS %g + GPU %g + on-disk %.2f"
			       " + compressed %.2f + headroom %.2f (max(%g%% of %.2f, %g))\n",
			       r->min_disk_gb, r->total, r->os, r->gpu, r->on_disk, r->compressed,
			       r->headroom, a->sizing.headroom_pct, r->on_disk + r->compressed,
			       a->sizing.headroom_min_gb);
			printf("  dockerSizeGb %d = unpacked %.2f rounded up (GB = 10^9 bytes)\n",
			       r->docker_size_gb, r->unpacked);
		}
	}
	for (size_t ti = 0; ti < a->n_t; ti++)
		if (a->t[ti].catalog) {
			printf("(MIN-DISK GB and DOCKER GB: recommended / catalog)\n");
			break;
		}
}

/* --- --write ------------------------------------------------------------------------------------------ */

static int write_catalog(struct audit *a, struct cat_catalog *cat, bool allow_lower, oci_error *err)
{
	for (size_t ti = 0; ti < a->n_t; ti++) {
		const struct target *t = &a->t[ti];
		if (!t->catalog)
			continue;
		bool first = true;
		for (size_t k = 0; k < ti; k++)
			if (a->t[k].catalog && !strcmp(a->t[k].key, t->key))
				first = false;
		if (!first)
			continue;
		/* the largest recommendation over every audited tag and platform */
		int min = -1, docker = -1;
		for (size_t k = ti; k < a->n_t; k++) {
			if (!a->t[k].catalog || strcmp(a->t[k].key, t->key))
				continue;
			for (size_t pi = 0; pi < a->t[k].n_plats; pi++) {
				const struct cat_sizing *r = &a->t[k].plats[pi].rec;
				if (r->min_disk_gb > min)
					min = r->min_disk_gb;
				if (r->docker_size_gb > docker)
					docker = r->docker_size_gb;
			}
		}
		if (min < 0)
			continue;
		const char *fields[] = { "minDiskSizeGb", "dockerSizeGb" };
		int want[] = { min, docker };
		for (int f = 0; f < 2; f++) {
			const struct cat_image *img = cat_image_find(cat, t->key);
			if (!img)
				return oci_err(err, OCI_E_USAGE, "%s: no longer in %s", t->key, cat->path);
			int cur = f == 0 ? img->min_disk_gb : img->docker_size_gb;
			if (cur >= 0 && (cur == want[f] || (cur > want[f] && !allow_lower)))
				continue;
			if (cat_set_number(cat, t->key, fields[f], want[f], err) < 0)
				return -1;
			if (cur < 0)
				cli_info(a->ctx, "%s: %s: %s set to %d", cat->path, t->key, fields[f], want[f]);
			else
				cli_info(a->ctx, "%s: %s: %s %d -> %d", cat->path, t->key, fields[f], cur,
				         want[f]);
		}
	}
	return 0;
}

/* --- targets ------------------------------------------------------------------------------------------ */

static struct target *new_target(struct audit *a)
{
	a->t = oci_xrealloc(a->t, (a->n_t + 1) * sizeof *a->t);
	struct target *t = &a->t[a->n_t++];
	memset(t, 0, sizeof *t);
	return t;
}

static int add_ref_target(struct audit *a, const char *arg, oci_error *err)
{
	struct target *t = new_target(a);
	t->name = oci_xstrdup(arg);
	if (cli_open_repo(a->ctx, arg, false, &t->ref, &t->repo, err) < 0)
		return -1;
	t->reference = oci_ref_string(&t->ref);
	return 0;
}

static int add_catalog_target(struct audit *a, const struct cat_image *img, const char *tag,
                              oci_error *err)
{
	struct target *t = new_target(a);
	t->catalog = true;
	t->key = oci_xstrdup(img->key);
	t->tag = oci_xstrdup(tag);
	t->name = oci_xasprintf("%s:%s", img->key, tag);
	t->gpu = img->gpu;
	t->cat_min = img->min_disk_gb;
	t->cat_docker = img->docker_size_gb;
	t->want = oci_xcalloc(img->n_arches + 1, sizeof *t->want);
	for (size_t i = 0; i < img->n_arches; i++) {
		const char *arch = cat_arch_to_oci(img->arches[i]);
		if (!arch)
			return oci_err(err, OCI_E_USAGE, "%s: unknown arch \"%s\"", img->key,
			               img->arches[i]);
		oci_platform_set(&t->want[t->n_want++], "linux", arch, NULL);
	}
	if (cat_target_ref(img, tag, a->ctx->g.registry, &t->ref, err) < 0)
		return -1;
	t->reference = oci_ref_string(&t->ref);
	struct reg_client *c = cli_client(a->ctx, err);
	if (!c)
		return -1;
	t->repo = reg_repo_new(c, &t->ref, false);
	return 0;
}

/* Load the catalog once.  -1 on a real failure; 0 with *cat NULL when the
 * file is absent and `need` is false. */
static int get_catalog(struct audit *a, struct cat_catalog **cat, bool need, oci_error *err)
{
	if (*cat)
		return 0;
	if (!need && access(a->ctx->g.catalog, F_OK) < 0 && errno == ENOENT)
		return 0;
	return cat_load(a->ctx->g.catalog, cat, err);
}

static int add_arg(struct audit *a, struct cat_catalog **cat, const char *arg, oci_error *err)
{
	if (!strchr(arg, '/') && !strchr(arg, '@')) {
		if (get_catalog(a, cat, false, err) < 0)
			return -1;
		size_t klen = strcspn(arg, ":");
		_cleanup_free_ char *key = oci_xstrndup(arg, klen);
		if (*cat && cat_image_find(*cat, key)) {
			struct cat_image *img;
			struct cat_version *ver;
			if (cat_parse_image_tag(*cat, arg, &img, &ver, err) < 0)
				return -1;
			const char *tag = ver ? ver->tag : cat_last_tag(img);
			if (!tag)
				return oci_err(err, OCI_E_USAGE, "%s has no version to audit", img->key);
			return add_catalog_target(a, img, tag, err);
		}
	}
	return add_ref_target(a, arg, err);
}

static int parse_number(const char *opt, const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > 1e6)
		return cli_usage_error("audit", "%s: '%s' is not a non-negative number", opt, s);
	*out = v;
	return 0;
}

int cmd_audit(struct cli_ctx *ctx, int argc, char **argv)
{
	enum { O_ALL = 256, O_CHECK, O_WRITE, O_LOWER, O_FAST, O_NOCACHE, O_OS, O_GPU, O_PCT,
	       O_MIN, O_PLATFORM };
	static const struct option opts[] = {
		{ "all", no_argument, NULL, O_ALL },
		{ "check", no_argument, NULL, O_CHECK },
		{ "write", no_argument, NULL, O_WRITE },
		{ "allow-lower", no_argument, NULL, O_LOWER },
		{ "fast", no_argument, NULL, O_FAST },
		{ "no-cache", no_argument, NULL, O_NOCACHE },
		{ "os-gb", required_argument, NULL, O_OS },
		{ "gpu-gb", required_argument, NULL, O_GPU },
		{ "headroom-pct", required_argument, NULL, O_PCT },
		{ "headroom-min-gb", required_argument, NULL, O_MIN },
		{ "platform", required_argument, NULL, O_PLATFORM },
		{ 0 },
	};
	struct audit a = { .ctx = ctx };
	struct cat_catalog *cat = NULL;
	struct oci_platform only = { 0 };
	bool all = false, check = false, write = false, lower = false;
	oci_error err = { 0 };
	int rc = 0, ch;

	cat_sizing_defaults(&a.sizing);
	opterr = 0;
	/* options may follow the arguments, as with docker */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case O_ALL: all = true; break;
		case O_CHECK: check = true; break;
		case O_WRITE: write = true; break;
		case O_LOWER: lower = true; break;
		case O_FAST: a.fast = true; break;
		case O_NOCACHE: a.no_cache = true; break;
		case O_OS: if (parse_number("--os-gb", optarg, &a.sizing.os_gb)) return 2; break;
		case O_GPU: if (parse_number("--gpu-gb", optarg, &a.sizing.gpu_gb)) return 2; break;
		case O_PCT: if (parse_number("--headroom-pct", optarg, &a.sizing.headroom_pct)) return 2; break;
		case O_MIN: if (parse_number("--headroom-min-gb", optarg, &a.sizing.headroom_min_gb)) return 2; break;
		case O_PLATFORM:
			oci_platform_release(&only);
			if (oci_platform_parse(&only, optarg, &err) < 0)
				return cli_usage_error("audit", "--platform: %s", err.msg);
			a.only = &only;
			break;
		default:
			return cli_bad_option("audit", argc, argv);
		}
	}
	if (all == (optind < argc))
		return cli_usage_error("audit", all ? "--all takes no arguments"
		                                    : "expected IMAGE[:TAG], a reference, or --all");
	if (lower && !write)
		return cli_usage_error("audit", "--allow-lower goes with --write");

	if (all) {
		if (get_catalog(&a, &cat, true, &err) < 0)
			goto fail;
		for (size_t i = 0; i < cat->n_images; i++) {
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
	}
	for (int i = optind; i < argc; i++)
		if (add_arg(&a, &cat, argv[i], &err) < 0) {
			if (err.code == OCI_E_USAGE)
				rc = cli_usage_error("audit", "%s", err.msg);
			else
				rc = cli_fail(&err);
			goto out;
		}
	if (write) {
		bool any = false;
		for (size_t i = 0; i < a.n_t; i++)
			any |= a.t[i].catalog;
		if (!any) {
			rc = cli_usage_error("audit", "--write needs catalog images (IMAGE:TAG or --all)");
			goto out;
		}
	}

	a.cache_dir = cache_dir();
	double t0 = now();
	if (reg_parallel(a.n_t, ctx->g.jobs, resolve_job, &a, &err) < 0)
		goto fail;
	unique_layers(&a);
	size_t n_plats = 0;
	for (size_t i = 0; i < a.n_t; i++)
		n_plats += a.t[i].n_plats;
	progress(&a, "auditing %zu image platform%s: %zu distinct layer%s (%s inflate)", n_plats,
	         n_plats == 1 ? "" : "s", a.n_layers, a.n_layers == 1 ? "" : "s",
	         oci_layer_inflate_backend());
	if (reg_parallel(a.n_layers, ctx->g.jobs, layer_job, &a, &err) < 0)
		goto fail;
	size_t from_cache = 0;
	for (size_t i = 0; i < a.n_layers; i++)
		from_cache += a.layers[i].source == SRC_CACHE;
	if (from_cache)
		progress(&a, "%zu layer%s from the cache (%s)", from_cache, from_cache == 1 ? "" : "s",
		         a.cache_dir);
	if (summarize(&a, &err) < 0)
		goto fail;
	progress(&a, "done in %.2f s", now() - t0);

	if (ctx->g.json)
		print_json(&a);
	else
		print_table(&a);
	fflush(stdout);

	bool under = false;
	for (size_t ti = 0; ti < a.n_t; ti++)
		for (size_t pi = 0; pi < a.t[ti].n_plats; pi++)
			under |= a.t[ti].plats[pi].status == CAT_UNDER;
	if (write && write_catalog(&a, cat, lower, &err) < 0)
		goto fail;
	rc = check && under ? 1 : 0;
	goto out;
fail:
	rc = cli_fail(&err);
out:
	for (size_t i = 0; i < a.n_t; i++)
		target_release(&a.t[i]);
	free(a.t);
	for (size_t i = 0; i < a.n_layers; i++) {
		free(a.layers[i].digest);
		free(a.layers[i].media_type);
	}
	free(a.layers);
	free(a.cache_dir);
	oci_platform_release(&only);
	cat_free(cat);
	return rc;
}
