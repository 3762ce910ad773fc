/* registry/copy.h: running image plans (registry/plan.h) and blob lists:
 * registry → registry (copy), OCI layout → registry (push), registry → OCI
 * layout (pull), docker-archive → registry (push), and the blob step of
 * assemble.
 *
 * Blobs first, concurrently over the shared parallel runner (`jobs`), each
 * once and each through reg_blob_copy (registry/blobcopy.h) when it goes to
 * a registry; then the manifests in plan order, the top one by the
 * destination's reference.  A failure before the last step leaves the
 * destination's tag as it was.  Progress goes through the callback of
 * registry/blobcopy.h.
 */
#ifndef CCREG_REGISTRY_COPY_H
#define CCREG_REGISTRY_COPY_H

#include "oci/archive.h"
#include "oci/layout.h"
#include "registry/blobcopy.h"
#include "registry/plan.h"

struct reg_copy_opts {
	int jobs;                /* concurrent blob transfers (< 1: REG_JOBS_DEFAULT) */
	const char *mount_from;  /* push: a repository path on the destination registry */
	struct reg_progress progress;
	bool *subject_indexed;   /* non-NULL: set to whether the top manifest's PUT was
	                          * answered with OCI-Subject (registry/referrers.h) */
};

/* One blob to make available, and where its bytes come from. */
struct reg_copy_blob {
	const struct oci_descriptor *d;
	struct reg_blob_source src;
	int how; /* after the run: enum reg_blob_how */
};

/* Every blob into dst, concurrently. */
int reg_copy_blobs(struct reg_repo *dst, struct reg_copy_blob *blobs, size_t n,
                   const struct reg_copy_opts *o, oci_error *err);

/* The plan's blobs from src (what it was built from: a registry repository
 * or an OCI layout), then its manifests, into dst (the top PUT by
 * dst_reference: a tag, or the top's digest). */
int reg_copy_to_registry(const struct reg_plan *p, const struct reg_walk_source *src,
                         struct reg_repo *dst, const char *dst_reference,
                         const struct reg_copy_opts *o, oci_error *err);
/* Blobs and manifests from src into the layout DIR (created as needed),
 * then index.json's entry `name` (NULL: unnamed) points at the top. */
int reg_copy_to_layout(const struct reg_plan *p, struct reg_repo *src, const char *dir,
                       const char *name, const struct reg_copy_opts *o, oci_error *err);
/* The same without touching index.json: blobs and manifests only (the
 * referrers of a pull, which the fallback tag entry lists). */
int reg_copy_into_layout(const struct reg_plan *p, struct reg_repo *src, const char *dir,
                         const struct reg_copy_opts *o, oci_error *err);

/* Push one image of a docker-archive as Docker schema2: plain layers are
 * gzip-compressed (zlib level `level`) while uploading, each layer's
 * uncompressed digest checked against the config's rootfs.diff_ids.  Fills
 * digest_out with the pushed manifest's digest. */
int reg_push_archive(const struct oci_archive *a, const struct oci_archive_image *im,
                     struct reg_repo *dst, const char *dst_reference, int level,
                     const struct reg_copy_opts *o, char digest_out[OCI_DIGEST_MAX],
                     oci_error *err);

#endif
