/* oci/digest.h: content digests ("sha256:<64 hex>", "sha512:<128 hex>").
 *
 * Validation follows the OCI image-spec digest grammar:
 *   digest    ::= algorithm ":" encoded
 *   algorithm ::= component (separator component)*   component ::= [a-z0-9]+
 *   separator ::= [+._-]                              encoded   ::= [a-zA-Z0-9=_-]+
 * and, for the registered algorithms, sha256 = 64 and sha512 = 128 lowercase hex.
 * Hashing goes through OpenSSL EVP, incrementally, so blobs are never buffered.
 */
#ifndef CCREG_OCI_DIGEST_H
#define CCREG_OCI_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "oci/error.h"

#define OCI_DIGEST_MAX 140 /* "sha512:" + 128 hex + NUL, with room */

/* 0 when `d` is a valid digest of a supported algorithm (sha256, sha512);
 * else -1 with OCI_E_USAGE and a message naming what is wrong. */
int oci_digest_validate(const char *d, oci_error *err);

typedef struct oci_hasher oci_hasher;
/* algo: "sha256" or "sha512" (NULL means sha256).  NULL if unsupported. */
oci_hasher *oci_hasher_new(const char *algo);
/* A hasher for the algorithm of an existing digest ("sha512:..." → sha512). */
oci_hasher *oci_hasher_for(const char *digest);
void oci_hasher_update(oci_hasher *h, const void *p, size_t n);
/* Writes "algo:hex" into out (OCI_DIGEST_MAX bytes); the hasher may not be
 * updated afterwards. */
void oci_hasher_final(oci_hasher *h, char out[OCI_DIGEST_MAX]);
void oci_hasher_free(oci_hasher *h);

/* One-shot: digest of a buffer. */
void oci_digest_buf(const char *algo, const void *p, size_t n, char out[OCI_DIGEST_MAX]);
/* true when buf hashes to `digest` (algorithm taken from `digest`). */
bool oci_digest_matches(const char *digest, const void *p, size_t n);
/* true when the file open as fd (read from offset 0 to its end) hashes to
 * `digest`; false on a read error too. */
bool oci_digest_matches_fd(const char *digest, int fd);
/* "sha256:abc..." → "abc..." (pointer into d), NULL when no ':' */
const char *oci_digest_hex(const char *d);

#endif
