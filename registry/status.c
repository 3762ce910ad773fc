/* registry/status.c: one job per version: HEADs, then reads by digest only
 * where a HEAD cannot answer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/auditcache.h"
#include "oci/cleanup.h"
#include "oci/manifest.h"
#include "oci/mediatype.h"
#include "oci/util.h"
#include "registry/image.h"
#include "registry/parallel.h"
#include "registry/status.h"

const char *reg_status_state_name(enum reg_status_state s)
{
	static const char *const names[] = { "missing", "partial", "built", "stale",
	                                     "assembled", "released", "error" };
	return s <= REG_STATUS_ERROR ? names[s] : "error";
}

/* Versions run REG_SMALL_WIDTH x jobs at once (registry/parallel.h).
 * Config reads are blob GETs on connections of their own: the client's
 * blob GET slots keep them to `jobs` at once. */

struct srun {
	struct reg_status_target *t;
	const char *cache_dir;
};

static int set_error(struct reg_status_target *t, const oci_error *e)
{
	t->state = REG_STATUS_ERROR;
	t->code = e->code ? e->code : OCI_E_REGISTRY;
	free(t->problem);
	t->problem = oci_xstrdup(e->msg);
	return -1;
}

/* What `reference` in r points to: 1 with *digest and *mt, 0 absent, -1. */
static int head(struct reg_repo *r, const char *reference, char **digest, char **mt,
                oci_error *e)
{
	int rc = reg_manifest_head(r, reference, digest, mt, NULL, e);
	if (rc == 1 && (!*digest || !*mt)) {
		/* a registry that sends no Docker-Content-Digest: read it */
		struct reg_manifest m = { 0 };
		free(*digest);
		free(*mt);
		*digest = *mt = NULL;
		if (reg_manifest_get(r, reference, &m, e) < 0)
			return -1;
		*digest = TAKE_PTR(m.digest);
		*mt = TAKE_PTR(m.media_type);
		reg_manifest_release(&m);
	}
	return rc;
}

/* The child of ix for want (NULL when it holds none). */
static char *select_child(const struct oci_index *ix, const struct oci_platform *want)
{
	oci_error ignore = { 0 };
	int k = oci_index_select(ix, want, &ignore);
	return k < 0 ? NULL : oci_xstrdup(ix->manifests[k].digest);
}

/* An index read by digest: its child for want (*child NULL when it holds
 * none). */
static int child_for(struct reg_repo *r, const char *digest, const struct oci_platform *want,
                     char **child, oci_error *e)
{
	struct reg_manifest m = { 0 };
	struct oci_index ix = { 0 };
	int rc = -1;

	if (reg_manifest_get(r, digest, &m, e) < 0)
		return -1;
	if (oci_index_parse(&ix, m.data, m.len, m.media_type, e) < 0) {
		oci_err_wrap(e, "%s@%s", reg_repo_name(r), digest);
		goto out;
	}
	*child = select_child(&ix, want);
	rc = 0;
out:
	oci_index_release(&ix);
	reg_manifest_release(&m);
	return rc;
}

/* BUILT or STALE: the source's config must say the wanted platform. */
static int check_config(struct reg_status_target *t, size_t i, oci_error *e)
{
	struct reg_manifest raw = { 0 };
	struct oci_manifest m = { 0 };
	struct oci_config cfg = { 0 };
	int rc = -1;

	if (reg_manifest_get(t->source_repos[i], t->sources[i], &raw, e) < 0)
		return -1;
	if (oci_manifest_parse(&m, raw.data, raw.len, raw.media_type, e) < 0) {
		oci_err_wrap(e, "%s", t->source_names[i]);
		goto out;
	}
	if (reg_config_get(t->source_repos[i], &m.config, &cfg, NULL, e) < 0)
		goto out;
	oci_platform_normalize(&cfg.platform);
	if (!oci_platform_match(&t->want[i], &cfg.platform)) {
		_cleanup_free_ char *have = oci_platform_string(&cfg.platform);
		_cleanup_free_ char *w = oci_platform_string(&t->want[i]);
		oci_err(e, OCI_E_USAGE, "%s: config says %s, expected %s", t->source_names[i], have, w);
		goto out;
	}
	rc = 0;
out:
	oci_config_release(&cfg);
	oci_manifest_release(&m);
	reg_manifest_release(&raw);
	return rc;
}

/* The disk figures of image `digest` in r from the audit cache; false when
 * a layer is not there. */
static bool disk_of(struct reg_repo *r, const char *digest, const char *cache_dir,
                    struct oci_layer_stats *sum)
{
	struct reg_manifest raw = { 0 };
	struct oci_manifest m = { 0 };
	oci_error e = { 0 };
	bool ok = false;

	memset(sum, 0, sizeof *sum);
	if (reg_manifest_get(r, digest, &raw, &e) < 0 ||
	    oci_manifest_parse(&m, raw.data, raw.len, raw.media_type, &e) < 0)
		goto out;
	ok = true;
	for (size_t l = 0; l < m.n_layers && ok; l++) {
		struct oci_layer_stats st;
		char diff_id[OCI_DIGEST_MAX];
		ok = oci_auditcache_get_layer(cache_dir, m.layers[l].digest, &st, diff_id) &&
		     oci_stats_add(sum, &st) == 0; /* an overflowing sum: no figure */
	}
out:
	oci_manifest_release(&m);
	reg_manifest_release(&raw);
	return ok;
}

static void disk_figures(struct reg_status_target *t, const char *cache_dir)
{
	size_t n = t->single_arch ? 1 : t->n;

	if (!cache_dir)
		return;
	t->disk = oci_xcalloc(n, sizeof *t->disk);
	t->have_disk = true;
	for (size_t i = 0; i < n && t->have_disk; i++) {
		/* single-arch: the image itself, or its child when it is an index */
		const char *d = t->held[i] ? t->held[i] : t->target;
		t->have_disk = disk_of(t->target_repo, d, cache_dir, &t->disk[i]);
	}
}

static int check_configs(struct reg_status_target *t, oci_error *e)
{
	int rc = 0;
	for (size_t i = 0; i < t->n && rc == 0; i++)
		rc = check_config(t, i, e);
	return rc;
}

static int one(struct srun *r, struct reg_status_target *t)
{
	const char *cache_dir = r->cache_dir;
	_cleanup_free_ char *tmt = NULL;
	oci_error e = { 0 };
	size_t built = 0;
	int rc;

	t->sources = oci_xcalloc(t->n + 1, sizeof *t->sources);
	t->held = oci_xcalloc(t->n + 1, sizeof *t->held);
	if (t->known_index) {
		t->target = oci_xstrdup(t->known_target);
		tmt = oci_xstrdup(OCI_MT_OCI_INDEX); /* only "an index" matters below */
	} else if (head(t->target_repo, t->tag, &t->target, &tmt, &e) < 0) {
		return set_error(t, &e);
	}

	if (t->single_arch) {
		t->state = !t->target ? REG_STATUS_MISSING
		         : t->tested ? REG_STATUS_RELEASED : REG_STATUS_ASSEMBLED;
		if (t->target && oci_mt_is_index(tmt) && t->n &&
		    child_for(t->target_repo, t->target, &t->want[0], &t->held[0], &e) < 0)
			return set_error(t, &e);
		if (t->target)
			disk_figures(t, cache_dir);
		return 0;
	}

	for (size_t i = 0; i < t->n; i++) {
		_cleanup_free_ char *d = NULL, *mt = NULL;
		rc = head(t->source_repos[i], t->source_tags[i], &d, &mt, &e);
		if (rc < 0)
			return set_error(t, &e);
		if (!rc)
			continue;
		if (oci_mt_is_index(mt)) {
			if (child_for(t->source_repos[i], d, &t->want[i], &t->sources[i], &e) < 0)
				return set_error(t, &e);
			if (!t->sources[i]) {
				_cleanup_free_ char *w = oci_platform_string(&t->want[i]);
				oci_err(&e, OCI_E_USAGE, "%s: the index holds no %s image",
				        t->source_names[i], w);
				return set_error(t, &e);
			}
		} else {
			t->sources[i] = TAKE_PTR(d);
		}
		built++;
	}

	if (t->target) {
		bool stale = false, complete = true;
		if (!oci_mt_is_index(tmt)) {
			stale = true; /* a single image where the index belongs */
		} else {
			for (size_t i = 0; i < t->n; i++) {
				if (t->known_index)
					t->held[i] = select_child(t->known_index, &t->want[i]);
				else if (child_for(t->target_repo, t->target, &t->want[i], &t->held[i], &e) < 0)
					return set_error(t, &e);
				complete &= t->held[i] != NULL;
				if (t->sources[i] && (!t->held[i] || strcmp(t->sources[i], t->held[i]) != 0))
					stale = true;
			}
		}
		if (stale || !complete)
			t->state = REG_STATUS_STALE;
		else
			t->state = t->tested ? REG_STATUS_RELEASED : REG_STATUS_ASSEMBLED;
	} else {
		t->state = built == 0 ? REG_STATUS_MISSING
		         : built < t->n ? REG_STATUS_PARTIAL : REG_STATUS_BUILT;
	}

	if ((t->state == REG_STATUS_BUILT || (t->state == REG_STATUS_STALE && built == t->n)) &&
	    check_configs(t, &e) < 0)
		return set_error(t, &e);
	if (t->state == REG_STATUS_ASSEMBLED || t->state == REG_STATUS_RELEASED)
		disk_figures(t, cache_dir);
	return 0;
}

static int job(size_t i, void *ud, oci_error *err)
{
	struct srun *r = ud;
	(void)err;
	one(r, &r->t[i]);
	return 0;
}

void reg_status(struct reg_status_target *t, size_t n, const char *cache_dir, int jobs)
{
	int width = jobs > 0 ? jobs : REG_JOBS_DEFAULT;
	struct srun r = { .t = t, .cache_dir = cache_dir };
	oci_error e = { 0 };

	if (n)
		reg_parallel_all(n, width * REG_SMALL_WIDTH, job, &r, &e);
}

void reg_status_target_release(struct reg_status_target *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		if (t->sources)
			free(t->sources[i]);
		if (t->held)
			free(t->held[i]);
	}
	free(t->sources);
	free(t->held);
	free(t->target);
	free(t->problem);
	free(t->disk);
	t->sources = t->held = NULL;
	t->target = t->problem = NULL;
	t->disk = NULL;
	t->have_disk = false;
	t->state = REG_STATUS_MISSING;
	t->code = 0;
}

size_t reg_status_stale_arch(const struct reg_status_target *t)
{
	for (size_t i = 0; t->sources && t->held && i < t->n; i++)
		if (t->sources[i] && (!t->held[i] || strcmp(t->sources[i], t->held[i]) != 0))
			return i;
	return SIZE_MAX;
}

const char *reg_status_assemble_skip(const struct reg_status_target *t)
{
	if (t->single_arch)
		return "single-arch: nothing to assemble";
	switch (t->state) {
	case REG_STATUS_BUILT:
		return NULL;
	case REG_STATUS_STALE: {
		for (size_t i = 0; i < t->n; i++)
			if (!t->sources[i])
				return "stale, but not every arch is built";
		return NULL;
	}
	case REG_STATUS_MISSING: return "missing: no per-arch image";
	case REG_STATUS_PARTIAL: return "partial: not every arch is built";
	case REG_STATUS_ASSEMBLED: return "already assembled";
	case REG_STATUS_RELEASED: return "already released";
	case REG_STATUS_ERROR: return t->problem;
	}
	return "unknown state";
}
