/* registry/transfer.h: making blobs available in a repository.
 *
 * reg_blob_copy puts one blob of `src` into `dst`, cheapest way first:
 * already there (HEAD) → nothing; same registry → cross-repository mount;
 * mount refused (202) or another registry → streamed copy, the GET piped
 * straight into the upload through a kernel pipe (no temp file, memory
 * bounded by the pipe), the digest verified by both sides.
 */
#ifndef CCREG_REGISTRY_TRANSFER_H
#define CCREG_REGISTRY_TRANSFER_H

#include "oci/manifest.h"
#include "registry/client.h"

enum reg_copy_how { REG_COPY_EXISTS = 1, REG_COPY_MOUNTED, REG_COPY_STREAMED };

/* Returns how the blob got there (> 0), or -1 with err filled. */
int reg_blob_copy(struct reg_repo *src, struct reg_repo *dst, const struct oci_descriptor *d,
                  oci_error *err);
/* Same, calling count(count_ud, n) as each n bytes of a streamed copy move
 * (from the copy thread; a retried copy counts again from zero). */
typedef void (*reg_count_fn)(void *ud, int64_t n);
int reg_blob_copy_counted(struct reg_repo *src, struct reg_repo *dst,
                          const struct oci_descriptor *d, reg_count_fn count, void *count_ud,
                          oci_error *err);
/* The copy alone (no HEAD, no mount): GET from src piped into an upload to dst. */
int reg_blob_stream_copy(struct reg_repo *src, struct reg_repo *dst, const char *digest,
                         int64_t size, oci_error *err);

#endif
