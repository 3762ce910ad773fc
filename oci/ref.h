/* oci/ref.h: image references, with Docker's normalization.
 *
 *   julia                         → docker.io / library/julia : latest
 *   sagemathinc/julia:1.10.1      → docker.io / sagemathinc/julia : 1.10.1
 *   host:5000/a/b@sha256:…        → host:5000 / a/b @ sha256:…
 *   host/a/b:tag@sha256:…         → both tag and digest
 *
 * Grammar (distribution/reference): the first component is a domain when it
 * contains '.' or ':' or is "localhost" (or has uppercase letters; those are
 * domains, never paths).  Path components are [a-z0-9]+ joined by separators
 * '.', '_', '__' or one or more '-'; the name (domain/path) is at most 255
 * characters; tags are [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; digests per
 * oci/digest.h.  "index.docker.io" and "registry-1.docker.io" normalize to
 * "docker.io".
 */
#ifndef CCREG_OCI_REF_H
#define CCREG_OCI_REF_H

#include <stdbool.h>

#include "oci/error.h"

struct oci_ref {
	char *domain; /* "docker.io", "127.0.0.1:5000", "[::1]:5000" */
	char *path;   /* "library/julia" */
	char *tag;    /* NULL when none was given */
	char *digest; /* NULL when none was given */
};

/* Parse and normalize; on failure OCI_E_USAGE with a message naming what is
 * wrong ("invalid reference \"X\": tag longer than 128 characters").
 * When no tag and no digest is given, tag is set to "latest". */
int oci_ref_parse(struct oci_ref *ref, const char *s, oci_error *err);
/* Same, but for a repository name only: tag and digest are refused. */
int oci_ref_parse_repo(struct oci_ref *ref, const char *s, oci_error *err);
void oci_ref_release(struct oci_ref *ref);
static inline void oci_ref_releasep(struct oci_ref *ref) { oci_ref_release(ref); }
void oci_ref_copy(struct oci_ref *dst, const struct oci_ref *src);

/* Host to talk HTTP to: "registry-1.docker.io" for docker.io, else domain. */
const char *oci_ref_api_host(const struct oci_ref *ref);
/* What to GET under /v2/<path>/manifests/: the digest if set, else the tag. */
const char *oci_ref_reference(const struct oci_ref *ref);
/* Normalized full string "docker.io/library/julia:latest[@sha256:…]"; caller frees. */
char *oci_ref_string(const struct oci_ref *ref);
/* "docker.io/library/julia" (domain/path, no tag); caller frees. */
char *oci_ref_name(const struct oci_ref *ref);

bool oci_tag_valid(const char *tag);
/* A repository path (no domain) per the grammar above, ≤ 255 chars with domain. */
bool oci_path_valid(const char *path);
/* true for localhost, 127.0.0.0/8, ::1 (with or without port or brackets). */
bool oci_host_is_loopback(const char *domain);

#endif
