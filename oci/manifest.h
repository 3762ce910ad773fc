/* oci/manifest.h: descriptors, image manifests, indexes and image configs.
 *
 * Parsing is jansson through field tables; schemaVersion must be 2 and the
 * mediaType (field, or the Content-Type when the field is absent as OCI
 * allows) must agree with what is being parsed.  Every struct owns its
 * strings; *_release frees the contents (not the struct), accepts zeroed
 * structs, and leaves the struct zeroed.
 *
 * Manifest bytes are never re-serialized for pushing: the registry digest is
 * over the exact bytes, so callers keep the original buffer.  Only documents
 * that ccreg builds (indexes, Docker manifests of docker-archive pushes) are
 * serialized here.
 */
#ifndef CCREG_OCI_MANIFEST_H
#define CCREG_OCI_MANIFEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/error.h"
#include "oci/platform.h"

/* The most bytes a descriptor may claim: 1 PiB, beyond any blob a registry
 * stores, and small enough that sums of sizes stay far from overflowing. */
#define OCI_SIZE_MAX ((int64_t)1 << 50)

struct oci_descriptor {
	char *media_type;
	char *digest;
	int64_t size;
	struct oci_platform *platform; /* NULL when absent */
	char *artifact_type;           /* NULL when absent */
	json_t *annotations;           /* object or NULL; owned reference */
	json_t *extra;                 /* other fields (urls, data, …) or NULL; owned */
};

struct oci_manifest {
	char *media_type; /* from the document, else the Content-Type */
	struct oci_descriptor config;
	struct oci_descriptor *layers;
	size_t n_layers;
	json_t *annotations;
	char *artifact_type;
	struct oci_descriptor subject; /* digest NULL when absent */
};

struct oci_index {
	char *media_type;
	struct oci_descriptor *manifests;
	size_t n_manifests;
	json_t *annotations;
	char *artifact_type;           /* NULL when absent */
	struct oci_descriptor subject; /* digest NULL when absent; not serialized */
};

struct oci_config {
	struct oci_platform platform; /* os, architecture, variant, os.version */
	char **diff_ids;              /* rootfs.diff_ids */
	size_t n_diff_ids;
	char *created;                /* NULL when absent */
};

enum oci_doc_kind { OCI_DOC_UNKNOWN, OCI_DOC_MANIFEST, OCI_DOC_INDEX };

/* What a manifest document is, and its media type (*media_type, caller
 * frees): the body's own mediaType when it has one (a descriptor or a
 * Content-Type that says otherwise is wrong, and the registry validates the
 * body); else content_type's kind when the body's shape allows it, with the
 * OCI type (Docker's documents always carry mediaType); else the shape
 * ("manifests" vs "layers"/"config"). */
enum oci_doc_kind oci_doc_kind(const void *buf, size_t len, const char *content_type,
                               char **media_type, oci_error *err);
/* Does a declared manifest type (a descriptor's, a Content-Type) say other
 * than the type oci_doc_kind decided?  For a warning: never an error. */
bool oci_doc_type_contradicts(const char *declared, const char *decided);

int oci_manifest_parse(struct oci_manifest *m, const void *buf, size_t len,
                       const char *content_type, oci_error *err);
int oci_index_parse(struct oci_index *ix, const void *buf, size_t len,
                    const char *content_type, oci_error *err);
int oci_config_parse(struct oci_config *c, const void *buf, size_t len, oci_error *err);

void oci_descriptor_release(struct oci_descriptor *d);
void oci_descriptor_copy(struct oci_descriptor *dst, const struct oci_descriptor *src);
void oci_manifest_release(struct oci_manifest *m);
void oci_index_release(struct oci_index *ix);
void oci_config_release(struct oci_config *c);
static inline void oci_config_releasep(struct oci_config *c) { oci_config_release(c); }
void oci_config_copy(struct oci_config *dst, const struct oci_config *src);

/* Descriptor → JSON object (mediaType, digest, size, platform, annotations,
 * artifactType, extra fields).  New reference. */
json_t *oci_descriptor_to_json(const struct oci_descriptor *d);
/* Serialize an index (schemaVersion 2, mediaType, manifests, annotations)
 * with 3-space indentation as docker does.  Caller frees; *len set. */
char *oci_index_serialize(const struct oci_index *ix, size_t *len);
/* Append a copy of d to the index. */
void oci_index_add(struct oci_index *ix, const struct oci_descriptor *d);
/* Serialize a Docker schema2 image manifest as `docker push` writes it:
 * schemaVersion, mediaType, config and layers as {mediaType, size, digest},
 * 3-space indentation, so the digest is the one docker would give.  Only
 * those fields of m are written.  Caller frees; *len set. */
char *oci_manifest_serialize_docker(const struct oci_manifest *m, size_t *len);

/* The index entry for a platform: the first entry with a platform that
 * satisfies `want` (oci_platform_match), attestations never matching.  Its
 * position, or -1 with OCI_E_REGISTRY "no image for platform P in the index
 * (it has: …)". */
int oci_index_select(const struct oci_index *ix, const struct oci_platform *want, oci_error *err);

/* "linux/amd64, linux/arm64/v8": the platforms of an index's image entries
 * (attestations and entries without a platform left out), for messages;
 * "none" when there are none.  Caller frees. */
char *oci_index_platforms(const struct oci_index *ix);

/* An image manifest proper: its config is an image config (OCI or Docker).
 * Anything else (an empty config, a Helm chart's, an artifactType over
 * the empty descriptor) is an OCI 1.1 artifact: no platform, no diff_ids. */
bool oci_manifest_is_image(const struct oci_manifest *m);
/* What an artifact is: its artifactType, else its config's media type. */
const char *oci_manifest_artifact_type(const struct oci_manifest *m);

/* Docker buildx attestation manifests: annotation
 * "vnd.docker.reference.type" = "attestation-manifest"; returns the digest it
 * attests ("vnd.docker.reference.digest") or NULL when d is not one. */
const char *oci_descriptor_attests(const struct oci_descriptor *d);

#endif
