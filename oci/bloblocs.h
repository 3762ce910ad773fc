/* oci/bloblocs.h: known blob locations: in which repositories of which
 * registry a blob digest was last seen (read and verified, found by HEAD)
 * or pushed, so that a push can mount it from there instead of uploading
 * its bytes (docker's "Mounted from", skopeo's blob-info cache).
 *
 * Under DIR ($XDG_CACHE_HOME/ccreg, oci_auditcache_dir()):
 *   locations/<algorithm>/<hex>.json  {"version": 1, "digest",
 *       "locations": [{"registry", "repository", "time"}, ...]}
 * most recent first, at most OCI_BLOBLOCS_PER_BLOB of them per blob, and at
 * most OCI_BLOBLOCS_MAX blobs (the least recently written go).  A location
 * is a hint, never trusted: a mount that does not take costs one request.
 * An entry that does not parse or names another digest is ignored.  Writes
 * are best effort and atomic (oci/file.h): a reader sees a whole entry or
 * none; two processes updating one blob at once may lose one location,
 * which costs an upload later, never a wrong result.  File I/O only.
 *
 * dir NULL means no cache: get finds nothing, put and forget do nothing.
 * The caller owns what it passes and what it gets back.
 */
#ifndef CCREG_OCI_BLOBLOCS_H
#define CCREG_OCI_BLOBLOCS_H

#include <stddef.h>

#define OCI_BLOBLOCS_PER_BLOB 8
#define OCI_BLOBLOCS_MAX 50000

/* The repositories of `registry` (an API host, "registry-1.docker.io")
 * where digest was seen, most recent first, `except` (NULL: none) left
 * out: NULL-terminated, freed with oci_strvfreep; NULL when none. */
char **oci_bloblocs_get(const char *dir, const char *digest, const char *registry,
                        const char *except);
/* digest is in repository `repo` of `registry` now. */
void oci_bloblocs_put(const char *dir, const char *digest, const char *registry,
                      const char *repo);
/* It is not (a mount from there did not take). */
void oci_bloblocs_forget(const char *dir, const char *digest, const char *registry,
                         const char *repo);
/* Keep at most max blobs' entries: the least recently written go.  put
 * calls it now and then (OCI_BLOBLOCS_MAX); exposed for tests. */
void oci_bloblocs_prune(const char *dir, size_t max);

#endif
