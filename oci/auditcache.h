/* oci/auditcache.h: audit results kept by content digest, so that a
 * re-audit reads no blob.
 *
 * Under DIR ($XDG_CACHE_HOME/ccreg, else ~/.cache/ccreg):
 *   layers/<algorithm>/<hex>.json  a layer's counts and uncompressed digest:
 *                                  {"version": 1, "digest", "diffId", and the
 *                                  counts under oci_stats_to_json()'s names}
 *   configs/<algorithm>/<hex>      an image config's bytes
 * Entries are content-addressed, so never stale; a read checks what it finds
 * (the version, the digest named inside, a valid diffId, every count; a
 * config's bytes against its digest), and an entry that does not hold is a
 * miss.  Writes are best effort (a cache that cannot be written costs only
 * time) and atomic: a reader sees a whole entry or none.  File I/O only.
 *
 * dir NULL means no cache: every get misses, every put does nothing.  The
 * caller owns what it passes and what it gets back.
 */
#ifndef CCREG_OCI_AUDITCACHE_H
#define CCREG_OCI_AUDITCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "oci/cleanup.h"
#include "oci/digest.h"
#include "oci/layerstats.h"

/* $XDG_CACHE_HOME/ccreg (when absolute), else $HOME/.cache/ccreg; NULL when
 * neither is set.  The caller frees it. */
char *oci_auditcache_dir(void);

/* A layer's counts and diff_id: true and both filled on a hit; on a miss
 * false and both untouched. */
bool oci_auditcache_get_layer(const char *dir, const char *digest, struct oci_layer_stats *st,
                              char diff_id[OCI_DIGEST_MAX]);
void oci_auditcache_put_layer(const char *dir, const char *digest,
                              const struct oci_layer_stats *st, const char *diff_id);

/* A config's bytes (at most about max are read): true and *out filled when
 * they hash to digest; else false and *out empty. */
bool oci_auditcache_get_config(const char *dir, const char *digest, size_t max,
                               struct oci_buf *out);
void oci_auditcache_put_config(const char *dir, const char *digest, const void *data,
                               size_t len);

#endif
