/* oci/layerstats.h: statistics of a layer blob, computed while it streams.
 *
 * The caller pushes the compressed blob in order (oci_layer_feed), from any
 * source (a registry GET, a file); the analyzer decompresses it (gzip with
 * several members, zstd, or none, decided by the stream's magic bytes, the
 * media type being only a hint), hashes the uncompressed stream (the
 * diff_id) and parses the tar with libarchive to count entries.  gzip is
 * inflated in the feeding thread; hashing and parsing run in a thread of
 * its own fed through a bounded ring buffer, so two cores work at once and
 * memory stays the same whatever the blob size.  Nothing is written to disk.
 *
 * Counts follow ../shared/design/cli.md (`audit --json`):
 *   entries      every tar entry
 *   whiteouts    entries named .wh.NAME (other than the opaque marker)
 *   opaque_dirs  entries named .wh..wh..opq
 *   hardlinks    hard-link entries (their content is counted once, with the
 *                file they link to)
 *   symlinks, dirs
 *   files        other regular files; file_bytes their sizes
 *   tar_bytes    length of the uncompressed stream (tar padding included)
 *   on_disk_bytes  ext4 estimate: each file's size rounded up to 4096, plus
 *                4096 per directory, plus 4096 per symlink whose target is
 *                60 bytes or longer (shorter targets live in the inode)
 *   compressed_bytes  the blob's length
 *
 * A feed error never aborts the caller's transfer: after the analyzer fails
 * it keeps accepting (and dropping) bytes, so a registry GET still reaches
 * its own digest check and a corrupt blob is reported as a digest mismatch
 * rather than as bad gzip; oci_layer_finish() then returns the failure.
 */
#ifndef CCREG_OCI_LAYERSTATS_H
#define CCREG_OCI_LAYERSTATS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/digest.h"
#include "oci/error.h"
#include "oci/mediatype.h"

#define OCI_STATS_BLOCK 4096

struct oci_layer_stats {
	int64_t entries, files, file_bytes, dirs, symlinks, hardlinks, whiteouts, opaque_dirs;
	int64_t tar_bytes, on_disk_bytes, compressed_bytes;
};

/* sum += add: 0, or -1 when a count overflows (sum is then not to be used). */
int oci_stats_add(struct oci_layer_stats *sum, const struct oci_layer_stats *add);
/* Set the counts on obj under the contract's names ("entries", "files",
 * "fileBytes", "dirs", "symlinks", "hardlinks", "whiteouts", "opaqueDirs",
 * "tarBytes", "onDiskBytes", "compressedBytes"). */
void oci_stats_to_json(const struct oci_layer_stats *st, json_t *obj);
/* Read them back: -1 when any is missing or not a non-negative integer. */
int oci_stats_from_json(const json_t *obj, struct oci_layer_stats *st);

struct oci_layer;

/* Start an analyzer.  hint: the compression the media type names (the
 * stream's magic decides).  digest: when not NULL the compressed bytes are
 * hashed and must match it (callers whose source already verifies, like
 * reg_blob_get, pass NULL to hash once).  diff_id: when not NULL the
 * uncompressed stream must hash to it.  Both are checked by finish. */
struct oci_layer *oci_layer_new(enum oci_compression hint, const char *digest,
                                const char *diff_id);
/* Push the next n bytes; blocks while the buffer is full.  Always 0 (see
 * above); the signature fits reg_sink_fn. */
int oci_layer_feed(void *layer, const void *p, size_t n, oci_error *err);
/* End of input: wait for the analyzer, check the digests, fill *out and
 * diff_id_out (the uncompressed stream's sha256).  OCI_E_REGISTRY on a
 * digest or diff_id mismatch, corrupt compression or a malformed tar. */
int oci_layer_finish(struct oci_layer *l, struct oci_layer_stats *out,
                     char diff_id_out[OCI_DIGEST_MAX], oci_error *err);
/* Stops the analyzer if it still runs; accepts NULL. */
void oci_layer_free(struct oci_layer *l);

/* "isa-l" or "zlib": the inflate implementation in use. */
const char *oci_layer_inflate_backend(void);

/* The uncompressed size of a gzip blob from its trailer (ISIZE, the size
 * mod 2^32, little-endian in the last 4 bytes) and the blob's size: the one
 * plausible size (at most 32:1 and not smaller than the compressed data minus
 * gzip's overhead), or -1 when there is none or more than one; exact only for
 * a single-member gzip. */
int64_t oci_gzip_isize_estimate(const unsigned char trailer[4], int64_t compressed);

#endif
