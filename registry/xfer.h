/* registry/xfer.h: moving whole images: registry → registry (copy), OCI
 * layout → registry (push), registry → OCI layout (pull), docker-archive →
 * registry (push).
 *
 * First a plan (a value): every manifest, children before the index that
 * lists them (the last one is the top), with their exact bytes, and every
 * distinct blob once.  Then the run: blobs concurrently over `jobs` threads
 * (each blob moves at most once), then the manifests in plan order, the top
 * one by the destination's tag.  Manifest bytes are never re-serialized, so
 * digests are preserved; only a platform selection of several children of
 * an index makes a new index (holding just those children).
 *
 * Progress goes through a callback (the library never prints); it may be
 * called from several threads at once.
 */
#ifndef CCREG_REGISTRY_XFER_H
#define CCREG_REGISTRY_XFER_H

#include "oci/archive.h"
#include "oci/layout.h"
#include "oci/manifest.h"
#include "registry/client.h"

enum reg_progress_ev {
	REG_PROGRESS_START, /* a blob starts moving; n = its size (-1 unknown) */
	REG_PROGRESS_BYTES, /* n more bytes of it moved */
	REG_PROGRESS_DONE,  /* it is in place; n = enum reg_blob_how */
};

enum reg_blob_how { REG_BLOB_EXISTED = 1, REG_BLOB_MOUNTED, REG_BLOB_TRANSFERRED };

struct reg_progress {
	void (*fn)(void *ud, enum reg_progress_ev ev, const char *digest, int64_t n);
	void *ud;
};

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

void reg_plan_release(struct reg_plan *p);
/* The top manifest (the last). */
const struct reg_plan_manifest *reg_plan_top(const struct reg_plan *p);

/* Plan from a registry reference (tag or digest).  plats/n_plats: the
 * platforms wanted from an index (0: every child). */
int reg_plan_from_registry(struct reg_repo *r, const char *reference,
                           const struct oci_platform *plats, size_t n_plats,
                           struct reg_plan *out, oci_error *err);
/* Plan from an OCI layout entry (name NULL: the only entry). */
int reg_plan_from_layout(const struct oci_layout *l, const char *name,
                         const struct oci_platform *plats, size_t n_plats,
                         struct reg_plan *out, oci_error *err);

/* Rewrite Docker schema2 manifests and lists as OCI manifests and indexes
 * (media types only; config and layer blobs unchanged; a converted child's
 * new digest goes into its index), as OCI layout readers (skopeo, umoci)
 * only accept OCI types.  OCI documents keep their bytes. */
int reg_plan_convert_oci(struct reg_plan *p, oci_error *err);

struct reg_xfer_opts {
	int jobs;                /* concurrent blob transfers (<1: 4) */
	const char *mount_from;  /* push: a repository path on the destination registry */
	struct reg_progress progress;
};

/* Blobs from src_repo (registry) or src_layout, then manifests, into dst
 * (the top PUT by dst_reference, a tag or the top's digest). */
int reg_xfer_to_registry(const struct reg_plan *p, struct reg_repo *src_repo,
                         const struct oci_layout *src_layout, struct reg_repo *dst,
                         const char *dst_reference, const struct reg_xfer_opts *o,
                         oci_error *err);
/* Blobs and manifests from src into the layout DIR (created as needed),
 * then index.json's entry `name` (NULL: unnamed) points at the top. */
int reg_xfer_to_layout(const struct reg_plan *p, struct reg_repo *src, const char *dir,
                       const char *name, const struct reg_xfer_opts *o, oci_error *err);

/* Push one image of a docker-archive as Docker schema2: plain layers are
 * gzip-compressed (zlib level `level`) while uploading, each layer's
 * uncompressed digest checked against the config's rootfs.diff_ids.  Fills
 * digest_out with the pushed manifest's digest. */
int reg_push_archive(const struct oci_archive *a, const struct oci_archive_image *im,
                     struct reg_repo *dst, const char *dst_reference, int level,
                     const struct reg_xfer_opts *o, char digest_out[OCI_DIGEST_MAX],
                     oci_error *err);

#endif
