/* oci/archive.h: reading `docker save` tarballs (docker-archive) with
 * libarchive, in constant memory.
 *
 *   manifest.json   [{"Config": "<id>.json", "RepoTags": ["a/b:1"],
 *                     "Layers": ["<id>/layer.tar", …]}, …]
 *   repositories    optional (legacy), not needed here
 *   <id>.json       the image config; <id>/layer.tar the layers
 *
 * Newer docker writes the same manifest.json with paths under blobs/sha256/.
 * Entries that are symlinks to another layer (older docker's dedup) are
 * followed.  Layers may be plain tar or already gzip (told apart by magic).
 *
 * A tar is sequential, so each file is read by opening the archive and
 * scanning to its entry (libarchive skips over data with seeks when the
 * archive is an uncompressed file).  oci_archive_layer streams one layer as
 * gzip (compressing plain tars with zlib on the fly) and computes its
 * uncompressed digest (the diff_id) on the way.
 */
#ifndef CCREG_OCI_ARCHIVE_H
#define CCREG_OCI_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/digest.h"
#include "oci/error.h"
#include "oci/util.h"

#define OCI_ARCHIVE_MAX_JSON (16 << 20) /* manifest.json and configs are read into memory */

struct oci_archive_image {
	char *config;     /* path of the config entry */
	char **repo_tags; /* NULL-terminated (possibly empty) */
	char **layers;    /* paths of the layer entries, NULL-terminated */
	size_t n_layers;
};

struct oci_archive {
	char *file;
	struct oci_archive_image *images;
	size_t n_images;
};

/* Read manifest.json: OCI_E_USAGE when the file is not a docker-archive. */
int oci_archive_open(struct oci_archive *a, const char *file, oci_error *err);
void oci_archive_release(struct oci_archive *a);
/* The image whose RepoTags hold `ref` ("name:tag", as written there), "@N"
 * for the N-th image, or with ref NULL the only image.  NULL with
 * OCI_E_USAGE when none (or several) match. */
const struct oci_archive_image *oci_archive_find(const struct oci_archive *a, const char *ref,
                                                 oci_error *err);
/* A whole (small) entry into memory, at most `max` bytes. */
int oci_archive_read_entry(const struct oci_archive *a, const char *path, size_t max,
                           struct oci_buf *out, oci_error *err);

/* One layer as a gzip stream. */
struct oci_archive_layer;
/* level: zlib compression level 1-9 for plain tars. */
int oci_archive_layer_open(const struct oci_archive *a, const char *path, int level,
                           struct oci_archive_layer **out, oci_error *err);
/* Up to n bytes of the gzip stream; 0 at the end; -1 with err. */
ssize_t oci_archive_layer_read(struct oci_archive_layer *l, void *buf, size_t n, oci_error *err);
/* Size of the layer entry in the archive (compressed or not, as stored). */
int64_t oci_archive_layer_entry_size(const struct oci_archive_layer *l);
/* Bytes of the entry consumed so far (for progress). */
int64_t oci_archive_layer_consumed(const struct oci_archive_layer *l);
/* After the last read: the sha256 of the uncompressed tar ("sha256:…"). */
int oci_archive_layer_diff_id(struct oci_archive_layer *l, char out[OCI_DIGEST_MAX],
                              oci_error *err);
void oci_archive_layer_close(struct oci_archive_layer *l);

/* Split "FILE[:REF]" or "FILE:@N" (the part after "docker-archive:"). */
int oci_archive_parse_spec(const char *spec, char **file, char **ref, oci_error *err);

#endif
