/* registry/plan.h: what moving a whole image takes, as a value.
 *
 * A plan lists every manifest of an image, children before the index that
 * lists them (the last one is the top), with their exact bytes, and every
 * distinct blob once (configs and layers; non-distributable layers left
 * out).  It is built from one walk of the image tree (registry/image.h), in
 * a registry or an OCI layout, before anything is written, and run by
 * registry/copy.h.  Manifest bytes are never re-serialized, so digests are
 * preserved; only a platform selection of several (not all) children of an
 * index makes a new index holding just those children, and
 * reg_plan_convert_oci() rewrites Docker types for OCI layouts.
 *
 * The plan owns its strings; reg_plan_release() frees them.
 */
#ifndef CCREG_REGISTRY_PLAN_H
#define CCREG_REGISTRY_PLAN_H

#include "oci/manifest.h"
#include "registry/image.h"

struct reg_plan_manifest {
	char *digest;
	char *media_type;
	char *data; /* exact bytes */
	size_t len;
	char *orig_digest; /* before reg_plan_convert_oci rewrote it, else NULL */
};

struct reg_plan {
	struct reg_plan_manifest *manifests; /* children first; the last is the top */
	size_t n_manifests;
	struct oci_descriptor *blobs; /* configs and layers, each digest once */
	size_t n_blobs;
	int64_t blob_bytes;           /* sum of blob sizes */
	size_t n_skipped_foreign;     /* non-distributable layers left out */
};

/* Plan the image `reference` of src (a tag or digest in a registry; an
 * index.json entry name of a layout, NULL: the only one).  plats/n_plats:
 * the platforms wanted from an index (0: every entry, attestations
 * included; one: just that image; several: a new index of those).
 * Manifests are fetched over `jobs` concurrent requests. */
int reg_plan_build(const struct reg_walk_source *src, const char *reference,
                   const struct oci_platform *plats, size_t n_plats, int jobs,
                   struct reg_plan *out, oci_error *err);

/* Rewrite Docker schema2 manifests and lists as OCI manifests and indexes
 * (media types only; config and layer blobs unchanged; a converted child's
 * new digest goes into its index), as OCI layout readers (skopeo, umoci)
 * only accept OCI types.  OCI documents keep their bytes. */
int reg_plan_convert_oci(struct reg_plan *p, oci_error *err);

void reg_plan_release(struct reg_plan *p);
/* The top manifest (the last). */
const struct reg_plan_manifest *reg_plan_top(const struct reg_plan *p);

#endif
