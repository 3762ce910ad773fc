/* registry/image.h: from a reference to its images, on top of client.h.
 *
 * reg_walk() is the one walk of an image tree: it fetches what a reference
 * points to (from a registry, or an OCI layout's index.json entry), and when
 * that is an index, the children picked from it (enum reg_walk_pick), the
 * attestation manifests that point at them (on request), indexes nested in
 * it (on request) and every image's config (on request; an artifact's
 * config is not an image config and is not fetched).  Each level is
 * fetched concurrently over the shared parallel runner, each digest once.
 * Every manifest keeps its exact bytes.  A hostile tree is bounded: indexes
 * nest at most 8 deep, a walk holds at most 10,000 manifests (counted before
 * they are fetched), and an index repeated in the tree is expanded once.
 *
 * Errors: the client's (they name what was fetched) pass through as they are;
 * what the walk finds wrong (a document that is not a manifest, a platform
 * the index lacks, an index nested where none is wanted) is wrapped with the
 * reference ("host/repo:tag: no image for platform …").
 *
 * The walk owns everything it points to; reg_walk_release() frees it.
 * reg_image_get() is the walk of one platform, kept as a flat struct for
 * `manifest` and `config`.
 */
#ifndef CCREG_REGISTRY_IMAGE_H
#define CCREG_REGISTRY_IMAGE_H

#include "oci/layout.h"
#include "oci/manifest.h"
#include "oci/util.h"
#include "registry/client.h"

#define REG_MAX_CONFIG (8 << 20) /* configs are read into memory; cap them */

/* Where manifests and configs are read: a registry repository, or an OCI
 * layout (then the reference is an index.json entry name; NULL: the only
 * entry). */
struct reg_walk_source {
	struct reg_repo *repo;
	const struct oci_layout *layout;
};

enum reg_walk_pick {
	REG_PICK_ALL,       /* every entry: images, attestations, nested indexes */
	REG_PICK_PLATFORMS, /* entries with a platform matching any of plats (every
	                     * platform when n_plats is 0); no attestations */
	REG_PICK_EACH,      /* for each of plats in order, the first entry for it
	                     * (oci_index_select); one the index lacks is an error */
	REG_PICK_IMAGES,    /* entries whose media type is an image manifest; no
	                     * attestations */
};

/* Fetch and parse the config d of an image in r (a cache can stand in). */
typedef int (*reg_config_fn)(void *ud, struct reg_repo *r, const struct oci_descriptor *d,
                             struct oci_config *out, oci_error *err);

struct reg_walk_opts {
	enum reg_walk_pick pick;           /* applies to the top index */
	const struct oci_platform *plats;
	size_t n_plats;
	bool attestations; /* add the attestation manifests pointing at picked images */
	bool nested;       /* walk a picked index's own entries (all of them), up to
	                    * 8 levels; else a picked index is an error */
	bool configs;      /* fetch every image's config (not attestations') */
	int jobs;          /* concurrent fetches (< 1: REG_JOBS_DEFAULT) */
	int mismatch_code; /* error code when the tree does not hold what is asked
	                    * (a platform missing, a nested index); 0: OCI_E_REGISTRY */
	reg_config_fn get_config; /* NULL: reg_config_get (or the layout's blob) */
	void *config_ud;
};

struct reg_walk_node {
	struct oci_descriptor desc; /* its entry in the index that lists it; for the
	                             * top: media type, digest and size only (from
	                             * a layout: its index.json entry) */
	struct reg_manifest raw;    /* exact bytes, media type, digest */
	enum oci_doc_kind kind;
	struct oci_manifest m;      /* kind OCI_DOC_MANIFEST */
	struct oci_index index;     /* kind OCI_DOC_INDEX */
	struct oci_config cfg;      /* with configs, for images */
	bool has_config;
	const char *attests;        /* the digest it attests (desc's annotation), or NULL */
	struct reg_walk_node *children; /* of an index: the picked entries in pick
	                                 * order, then the attestations added */
	size_t n_children, n_picked;
	bool repeat; /* a nested index expanded elsewhere in the walk already: no
	              * children here (its subtree is in the tree once) */
};

struct reg_walk {
	struct reg_walk_node top;
};

int reg_walk(const struct reg_walk_source *src, const char *reference,
             const struct reg_walk_opts *o, struct reg_walk *out, oci_error *err);
void reg_walk_release(struct reg_walk *w);
/* The configs of a walk made without them (o->configs false; o as for the
 * walk), fetched now: for a caller with other requests to overlap them with. */
int reg_walk_configs(const struct reg_walk_source *src, const struct reg_walk_opts *o,
                     struct reg_walk *w, oci_error *err);
/* The images of a walk: the top when it is a manifest, else the picked
 * children (attestations among them only with REG_PICK_ALL). */
struct reg_walk_node *reg_walk_images(struct reg_walk *w, size_t *n);

/* --- one platform -------------------------------------------------------------- */

struct reg_image {
	struct reg_manifest top; /* exactly as served for the reference */
	enum oci_doc_kind kind;  /* of top */
	struct oci_index index;  /* parsed top, when it is an index */
	bool selected;           /* a child was selected from the index */
	struct reg_manifest manifest; /* the image manifest (a copy of top when not an index) */
	struct oci_manifest m;        /* parsed manifest, when there is one */
};

/* What reference points to; for an index and a wanted platform, the child
 * for that platform too (want NULL: the index alone, m left empty). */
int reg_image_get(struct reg_repo *r, const char *reference, const struct oci_platform *want,
                  struct reg_image *out, oci_error *err);
void reg_image_release(struct reg_image *img);
static inline void reg_image_releasep(struct reg_image *img) { reg_image_release(img); }

/* --- configs ------------------------------------------------------------------- */

/* Fetch a small blob (a config) into memory, verified; at most REG_MAX_CONFIG. */
int reg_blob_read(struct reg_repo *r, const struct oci_descriptor *d, struct oci_buf *out,
                  oci_error *err);
/* Fetch and parse an image config. raw (optional) receives the bytes. */
int reg_config_get(struct reg_repo *r, const struct oci_descriptor *d, struct oci_config *out,
                   struct oci_buf *raw, oci_error *err);

/* The platform this machine runs (linux/amd64 on x86_64). */
void reg_host_platform(struct oci_platform *p);

#endif
