/* registry/rangeget.h: one big blob over several connections (private to
 * registry/; part of the client floor, see internal.h).
 *
 * reg_ranged_get() fetches a blob of known size as bounded ranges
 * (`Range: bytes=a-b`, never open-ended) over up to the client's `jobs`
 * connections and hands the bytes to the sink in order, each once, as the
 * head of the blob arrives.  Memory: a ring of `jobs` buffers of
 * `range_chunk` bytes (the default 8 MiB × jobs), each allocated when first
 * used and freed after the call; a range can only start when the consumer
 * has taken everything `jobs` ranges before it.  A redirect is resolved once (by the first
 * range) and every range goes to the resolved URL without the registry's
 * credentials; a resolved URL that stops working (an expired signature) is
 * replaced by a fresh redirect from the registry.  A failed range is retried
 * alone, resuming where it stopped.
 *
 * A near registry (its small requests answered within `range_near_ms`,
 * default 10 ms: the same host or LAN) has no per-connection cap to beat:
 * its blobs come as one stream.
 *
 * Connections are the client's `jobs` blob GET slots, shared: every blob
 * GET holds one (reg_blob_slots_enter, waiting for it); a ranged call takes
 * besides only slots nobody is using or waiting for, nor kept for a batch's
 * blobs still to come (reg_blob_batch, client.h), without waiting, and
 * more as they come free, so many small blobs still run one per connection
 * and a lone big one gets all of them.  Its range workers run under these
 * slots and never enter one themselves.
 *
 * reg_blob_fetch() (client.c) is the single GET with redirects followed by
 * hand that both reg_blob_get and the ranges use.
 */
#ifndef CCREG_REGISTRY_RANGEGET_H
#define CCREG_REGISTRY_RANGEGET_H

#include <stdbool.h>

#include "registry/transport.h"

/* Where a blob GET went: the URL of the last hop (owned) and whether it is
 * on another origin than the registry (then no Authorization is sent). */
struct reg_blob_loc {
	char *url;
	bool foreign;
};

/* GET path (an API path on the registry) with an optional Range, following
 * redirects, Authorization only on the registry's origin.  With loc: start
 * at loc->url when set (a resolved redirect), and record each hop in loc
 * (loc->url is updated before each request, so a sink may read it). */
int reg_blob_fetch(struct reg_repo *r, const char *path, const char *range, reg_sink_fn sink,
                   void *ud, struct reg_response *resp, struct reg_blob_loc *loc,
                   oci_error *err);

/* The client's blob GET slots, `jobs` of them: enter (waiting until one is
 * free) and leave around every blob GET, so that at most `jobs` run at
 * once, each on a connection of its own.  enter returns true when it had
 * to wait.  leave gives back n slots (a ranged GET's extra ones too).  A
 * thread holding a slot must not enter again: with every slot held, it
 * would wait for itself.
 *
 * one: the digest of a blob a cache keeps (reg_blob_get_cached), else
 * NULL.  Single flight: enter also waits while another GET that passed the
 * same digest holds a slot, and leave (passing the same pointer) ends it;
 * the caller looks in the cache again after a wait. */
bool reg_blob_slots_enter(struct reg_client *c, const char *one);
void reg_blob_slots_leave(struct reg_client *c, int n, const char *one);

/* Fetch the blob at path (size bytes) in ranges into sink, in order.
 * Returns 0 when all size bytes went to sink; 1 when the caller should go
 * on with one stream from the bytes already delivered (*delivered): too
 * few free connections, a server that ignores Range or answers another
 * range than asked, or a range that failed for good (the single stream's
 * own retries and errors then decide); -1 with err filled when the sink
 * refused bytes or the server contradicted the size (a Content-Range total
 * other than size). */
int reg_ranged_get(struct reg_repo *r, const char *path, const char *what, int64_t size,
                   reg_sink_fn sink, void *ud, int64_t *delivered, oci_error *err);

#endif
