/* oci/mcache.h: small documents (manifests, image configs) kept by content
 * digest, so that a second run reads them from disk instead of the registry.
 *
 * Under DIR (oci_auditcache_dir(): $XDG_CACHE_HOME/ccreg, else
 * ~/.cache/ccreg), one file per document, named by its digest:
 *   manifests/<algorithm>/<hex>   a manifest or index, its exact bytes
 *   configs/<algorithm>/<hex>     an image config (shared with the audit
 *                                 cache, which stores configs there too)
 *   tags/sha256/<hex>             the digest a tag pointed to when last read,
 *                                 under the hash of "host/repository:tag": a
 *                                 hint only (it says whether a HEAD is likely
 *                                 to find the bytes here), never trusted
 * Content-addressed, so an entry is never stale; a read hashes what it finds
 * and an entry whose bytes do not match its name is a miss (and removed).
 * Writes go through oci/file.h (atomic: readers see a whole entry or none),
 * so several processes may share the directory.
 *
 * Bounded: the entries of all kinds together stay under max_bytes
 * (oci_mcache_max_bytes(): $CCREG_CACHE_MAX_MB, default 64 MiB).  A hit
 * touches the entry's mtime; when a put takes the total over the bound, the
 * entries least recently used go first until it is back under 90% of it.
 * The total is learnt by one scan, at the first put of a process.
 *
 * A cache is safe to use from several threads.  oci_mcache_new() returns
 * NULL when dir is NULL (no cache: callers treat NULL as "always miss, store
 * nothing").  The caller owns what it passes in and what it gets back.
 */
#ifndef CCREG_OCI_MCACHE_H
#define CCREG_OCI_MCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/digest.h"
#include "oci/error.h"
#include "oci/util.h"

#define OCI_MCACHE_MANIFESTS "manifests"
#define OCI_MCACHE_CONFIGS "configs"
#define OCI_MCACHE_TAGS "tags"
#define OCI_MCACHE_DEFAULT_MB 64

struct oci_mcache;

/* $CCREG_CACHE_MAX_MB (a positive number of MiB) or the default, in bytes. */
int64_t oci_mcache_max_bytes(void);

struct oci_mcache *oci_mcache_new(const char *dir, int64_t max_bytes);
void oci_mcache_free(struct oci_mcache *mc);
/* The directory, for messages. */
const char *oci_mcache_dir(const struct oci_mcache *mc);

/* kind is OCI_MCACHE_MANIFESTS or OCI_MCACHE_CONFIGS.  A hit: true, *out
 * holds the bytes (appended to an empty buffer, NUL-terminated past len),
 * at most max of them.  A miss (absent, unreadable, bigger than max, bytes
 * not matching the digest): false, *out empty. */
bool oci_mcache_get(struct oci_mcache *mc, const char *kind, const char *digest, size_t max,
                    struct oci_buf *out);
/* Store data under its digest (which it must hash to; else OCI_E_USAGE),
 * then evict if over the bound.  -1 with err (OCI_E_IO, naming the path)
 * when the directory cannot be created or the file written: callers go on
 * without the cache. */
int oci_mcache_put(struct oci_mcache *mc, const char *kind, const char *digest,
                   const void *data, size_t len, oci_error *err);

/* The digest name ("host/repository:tag") was last seen pointing to: true
 * with digest filled, or false when none is remembered. */
bool oci_mcache_tag_get(struct oci_mcache *mc, const char *name, char digest[OCI_DIGEST_MAX]);
/* Remember it (nothing is written when it is already so); -1 with err as
 * oci_mcache_put. */
int oci_mcache_tag_put(struct oci_mcache *mc, const char *name, const char *digest,
                       oci_error *err);

#endif
