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
 * without, every image of an index (attestations skipped; an entry without
 * a platform takes its config's), or the one image.  `only` narrows both.
 * Entries that are no image (OCI artifacts, unknown/unknown platforms such
 * as buildx's and regclient's) are skipped and listed in `skipped`; an index
 * left with no image at all is an error.
 *
 * A run keeps going past a target it cannot audit: each target ends with a
 * status, OK, MISSING (its tag or digest is not in the repository: a
 * catalog version not built yet) or ERROR (it could not be read, or a
 * layer contradicts it: a digest or diff_id mismatch), with the reason
 * naming the reference and the code for the exit status (OCI_E_REGISTRY,
 * OCI_E_AUTH).  A target that is not OK has no platforms; a layer that
 * cannot be read fails the targets that use it and no other.
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

enum reg_audit_status { REG_AUDIT_OK, REG_AUDIT_MISSING, REG_AUDIT_ERROR };
const char *reg_audit_status_name(enum reg_audit_status s); /* "ok", "missing", "error" */

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
	char *error;                  /* why it could not be read, or NULL */
	int code;                     /* then its oci_error code */
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
	enum reg_audit_status status;
	int code;     /* OCI_E_REGISTRY or OCI_E_AUTH when not OK */
	char *reason; /* NULL when OK */
	struct reg_audit_platform *plats;
	size_t n_plats;
	char **skipped; /* index entries that are no image to audit (artifacts,
	                 * unknown/unknown), one "digest: why" each; NULL-terminated */
	size_t n_skipped;
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

/* 0 when every target has its status (some may not be OK); -1 with err
 * only when the run itself could not go on. */
int reg_audit(struct reg_audit_target *t, size_t n, const struct reg_audit_options *o,
              struct reg_audit *out, oci_error *err);
void reg_audit_target_release(struct reg_audit_target *t);
/* The exit code the targets' outcomes call for: 0 when every one was read,
 * OCI_E_AUTH when any was refused, else the code of a target not read. */
int reg_audit_worst(const struct reg_audit_target *t, size_t n);
void reg_audit_release(struct reg_audit *a);

#endif
