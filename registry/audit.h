/* registry/audit.h: what images unpack to, every distinct layer read once.
 *
 * reg_audit() resolves each target to its image platforms (manifest and
 * config, `jobs` targets at once), makes one table of the distinct layers
 * over all of them (by digest: layers shared between platforms, tags and
 * images are read once), and gets each layer's counts (oci/layerstats) from
 * the cache (oci/auditcache), from the gzip trailer (`fast`: an estimate,
 * one Range request) or by streaming the blob through the analyzer, `jobs`
 * layers at once; streamed results refresh the cache.  Then per platform:
 * the sums, and every layer's uncompressed digest checked against the
 * config's diff_id (a mismatch is OCI_E_REGISTRY).
 *
 * A target is a reference in its repository.  With `want` (a catalog
 * image's platforms) it must hold each of them and only those are read;
 * without, every image platform of an index (attestations skipped), or the
 * one image.  `only` narrows both.
 *
 * Progress goes to a callback, called from worker threads (the caller
 * serializes its output); the library prints nothing.
 *
 * Ownership: the inputs stay the caller's.  The outputs in each target are
 * freed by reg_audit_target_release(), the layer table by
 * reg_audit_release(); platforms point into the table, so release the
 * table last.  Both accept what a failed reg_audit() left.
 */
#ifndef CCREG_REGISTRY_AUDIT_H
#define CCREG_REGISTRY_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/digest.h"
#include "oci/layerstats.h"
#include "oci/manifest.h"
#include "oci/platform.h"
#include "registry/client.h"

/* Where a layer's figures came from. */
enum reg_audit_source { REG_AUDIT_STREAM, REG_AUDIT_CACHE, REG_AUDIT_ESTIMATE };
const char *reg_audit_source_name(enum reg_audit_source s); /* "stream", "cache", "estimate" */

struct reg_audit_layer {
	char *digest, *media_type;
	int64_t size;
	struct reg_repo *repo;        /* borrowed: the first target that has it */
	struct oci_layer_stats st;
	char diff_id[OCI_DIGEST_MAX]; /* "" for an estimate */
	enum reg_audit_source source;
};

struct reg_audit_platform {
	char *platform;               /* "linux/arm64/v8": the index entry's, else the config's */
	char *manifest_digest;
	struct oci_manifest m;
	struct oci_config cfg;
	struct reg_audit_layer **layers; /* m.n_layers of them, in the run's table */
	struct oci_layer_stats sum;
	bool estimate;                /* some layer's figures are estimates */
};

struct reg_audit_target {
	/* in */
	struct reg_repo *repo;
	const char *tag;                 /* tag or digest in repo */
	const char *reference;           /* the whole reference, for messages */
	const struct oci_platform *want; /* platforms it must hold, or NULL */
	size_t n_want;
	/* out */
	struct reg_audit_platform *plats;
	size_t n_plats;
};

enum reg_audit_event {
	REG_AUDIT_RESOLVED,    /* every target resolved: n_platforms, n_layers */
	REG_AUDIT_LAYER,       /* a layer streamed or estimated: layer, done, seconds */
	REG_AUDIT_LAYERS_DONE, /* every layer has its figures: from_cache */
};

struct reg_audit_progress {
	enum reg_audit_event event;
	size_t n_platforms, n_layers;
	const struct reg_audit_layer *layer;
	size_t done;    /* layers finished so far, cached ones included */
	double seconds; /* the layer's time */
	size_t from_cache;
};

struct reg_audit_options {
	int jobs;
	bool fast;                       /* estimate gzip layers from their trailer */
	bool no_cache;                   /* read no cached result (still write them) */
	const char *cache_dir;           /* oci/auditcache's; NULL: no cache */
	const struct oci_platform *only; /* NULL: every platform */
	void (*progress)(const struct reg_audit_progress *p, void *ud); /* or NULL */
	void *ud;
};

struct reg_audit {
	struct reg_audit_layer *layers; /* the distinct layers, first seen first */
	size_t n_layers;
	size_t from_cache;              /* of them, answered by the cache */
	double seconds;                 /* the whole run */
};

int reg_audit(struct reg_audit_target *t, size_t n, const struct reg_audit_options *o,
              struct reg_audit *out, oci_error *err);
void reg_audit_target_release(struct reg_audit_target *t);
void reg_audit_release(struct reg_audit *a);

#endif
