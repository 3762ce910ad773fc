/* registry/image.h: resolving references to images, on top of client.h.
 *
 * reg_image_get fetches what a reference points to; when that is an index and
 * a platform is wanted, it selects the child for that platform (attestation
 * entries never match) and fetches it too.  All strings and parsed structs
 * are owned by the reg_image; reg_image_release frees them.
 */
#ifndef CCREG_REGISTRY_IMAGE_H
#define CCREG_REGISTRY_IMAGE_H

#include "oci/manifest.h"
#include "oci/util.h"
#include "registry/client.h"

#define REG_MAX_CONFIG (8 << 20) /* configs are read into memory; cap them */

struct reg_image {
	struct reg_manifest top; /* exactly as served for the reference */
	enum oci_doc_kind kind;  /* of top */
	struct oci_index index;  /* parsed top, when it is an index */
	bool selected;           /* a child was selected from the index */
	struct reg_manifest manifest; /* the image manifest (a copy of top when not an index) */
	struct oci_manifest m;        /* parsed manifest, when there is one */
};

int reg_image_get(struct reg_repo *r, const char *reference, const struct oci_platform *want,
                  struct reg_image *out, oci_error *err);
void reg_image_release(struct reg_image *img);
static inline void reg_image_releasep(struct reg_image *img) { reg_image_release(img); }

/* Index entry for a platform (skipping attestations): its position, or -1
 * with an error listing what the index holds. */
int reg_index_select(const struct oci_index *ix, const struct oci_platform *want, oci_error *err);

/* Fetch a small blob (a config) into memory, verified; at most REG_MAX_CONFIG. */
int reg_blob_read(struct reg_repo *r, const struct oci_descriptor *d, struct oci_buf *out,
                  oci_error *err);
/* Fetch and parse an image config. raw (optional) receives the bytes. */
int reg_config_get(struct reg_repo *r, const struct oci_descriptor *d, struct oci_config *out,
                   struct oci_buf *raw, oci_error *err);

/* The platform this machine runs (linux/amd64 on x86_64). */
void reg_host_platform(struct oci_platform *p);

#endif
