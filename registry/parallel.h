/* registry/parallel.h: the shared parallel runner: N independent jobs over a
 * fixed number of threads (the calling thread is one of them).
 *
 * fn(i, ud, err) is called once for each i in [0, n), jobs taken in index
 * order; up to `jobs` run at once (jobs < 1: REG_JOBS_DEFAULT, as -j does).
 * After the first failure no new jobs start; the first failure's error is
 * copied into err and -1 returned.  fn must be thread-safe (reg_client is).
 */
#ifndef CCREG_REGISTRY_PARALLEL_H
#define CCREG_REGISTRY_PARALLEL_H

#include <stddef.h>
#include <stdint.h>

#include "oci/error.h"

#define REG_JOBS_DEFAULT 4

/* Threads per job for runs of small requests (HEADs, manifest GETs):
 * REG_SMALL_WIDTH x jobs at once.  The transport queues small requests
 * over at most `jobs` connections per host on HTTP/1.1 and multiplexes
 * them on one over HTTP/2, where the extra width pays (registry/mux.h).
 * Blob GETs among them stay at most `jobs` at once: each takes one of the
 * client's blob GET slots (registry/rangeget.h), waiting for it. */
#define REG_SMALL_WIDTH 4

/* A blob of known size up to this is a small request too: its GET takes no
 * blob GET slot, and a batch of blob transfers (reg_blob_batch,
 * registry/client.h) runs up to `jobs` of them beside the `jobs` big ones
 * (a config is not kept waiting behind the layers, nor a layer behind the
 * config). */
#define REG_SMALL_BLOB ((int64_t)1 << 20)

typedef int (*reg_job_fn)(size_t i, void *ud, oci_error *err);

int reg_parallel(size_t n, int jobs, reg_job_fn fn, void *ud, oci_error *err);
/* Same, but every job runs even after failures; returns the number that
 * failed, and err holds the first failure's error. */
size_t reg_parallel_all(size_t n, int jobs, reg_job_fn fn, void *ud, oci_error *err);

#endif
