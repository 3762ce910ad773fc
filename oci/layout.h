/* oci/layout.h: OCI image layouts on disk (image-spec image-layout.md).
 *
 *   DIR/oci-layout           {"imageLayoutVersion": "1.0.0"}
 *   DIR/index.json           an index; entries named by the annotation
 *                            org.opencontainers.image.ref.name
 *   DIR/blobs/<alg>/<hex>    content-addressed blobs
 *
 * Reading: oci_layout_open checks oci-layout and parses index.json;
 * oci_layout_find picks an entry by name (or the only one); blobs are opened
 * as files and streamed, or read (small ones) into memory, verified.
 *
 * Writing never leaves a half-written file under a final name: a blob goes
 * to a temporary name in blobs/<alg>/ (".<hex>.tmp.XXXXXX"), is verified
 * (digest and size), fsynced and renamed (oci/file.h); index.json and
 * oci-layout are written the same way.  Local write failures (disk full,
 * permission denied) are OCI_E_IO.  Setting a ref name replaces only the entry carrying
 * that name; other entries are kept byte for byte (as JSON values).
 * No network here.
 */
#ifndef CCREG_OCI_LAYOUT_H
#define CCREG_OCI_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/digest.h"
#include "oci/error.h"
#include "oci/file.h"
#include "oci/manifest.h"
#include "oci/util.h"

#define OCI_LAYOUT_REF_NAME "org.opencontainers.image.ref.name"

struct oci_layout {
	char *dir;
	struct oci_index index; /* index.json, parsed */
};

/* Open a layout for reading: OCI_E_USAGE when DIR is not a layout. */
int oci_layout_open(struct oci_layout *l, const char *dir, oci_error *err);
void oci_layout_release(struct oci_layout *l);

/* The index.json entry named `name`, or with name NULL the only entry.
 * Returns a pointer into l->index, or NULL with OCI_E_USAGE naming what the
 * layout holds. */
const struct oci_descriptor *oci_layout_find(const struct oci_layout *l, const char *name,
                                             oci_error *err);

/* "DIR/blobs/sha256/<hex>" (caller frees), NULL for an invalid digest. */
char *oci_layout_blob_path(const char *dir, const char *digest);
/* Open a blob for streaming: a file descriptor (O_RDONLY|O_CLOEXEC), or -1
 * with err filled (OCI_E_USAGE: missing, or a symlink: a blob's bytes come
 * from the layout itself, never from wherever a link points).  *size set
 * when non-NULL. */
int oci_layout_blob_open(const struct oci_layout *l, const char *digest, int64_t *size,
                         oci_error *err);
/* Read a blob of at most `max` bytes into out, verified against digest. */
int oci_layout_blob_read(const struct oci_layout *l, const char *digest, size_t max,
                         struct oci_buf *out, oci_error *err);

/* --- writing ---------------------------------------------------------------- */

/* Create DIR and DIR/blobs as needed and write oci-layout when absent; a
 * DIR that exists with a different imageLayoutVersion is refused. */
int oci_layout_create(const char *dir, oci_error *err);

/* true when DIR holds the blob under its final name with this size
 * (size < 0: any), as a regular file whose content hashes to digest: ccreg
 * gives final names only to verified content, but others write layouts
 * too, and a disk can corrupt one.  Reads the whole blob. */
bool oci_layout_blob_exists(const char *dir, const char *digest, int64_t size);

struct oci_blob_writer {
	struct oci_file_writer f; /* the temporary file (oci/file.h) */
	char digest[OCI_DIGEST_MAX];
	int64_t size; /* expected, -1 unknown */
	oci_hasher *h; /* NULL when the caller verified the stream itself */
};

/* Start writing the blob `digest` into DIR (created by oci_layout_create).
 * verify: hash what is written and check it at commit; pass false only when
 * the bytes come from a source that already verified them (reg_blob_get). */
int oci_layout_blob_begin(struct oci_blob_writer *w, const char *dir, const char *digest,
                          int64_t size, bool verify, oci_error *err);
int oci_layout_blob_write(struct oci_blob_writer *w, const void *p, size_t n, oci_error *err);
/* Start the blob over (its download restarts from zero). */
int oci_layout_blob_restart(struct oci_blob_writer *w, oci_error *err);
/* Check digest and size, fsync, rename into place.  On failure the
 * temporary file is removed.  Either way the writer is released. */
int oci_layout_blob_commit(struct oci_blob_writer *w, oci_error *err);
/* Remove the temporary file and release; accepts a writer never begun. */
void oci_layout_blob_abort(struct oci_blob_writer *w);
/* A whole blob from memory, verified against digest. */
int oci_layout_blob_put(const char *dir, const char *digest, const void *p, size_t n,
                        oci_error *err);

/* Point index.json's entry `name` at d (name NULL: an unnamed entry, which
 * replaces the unnamed entries).  d's annotations are kept and the ref name
 * added.  index.json is created when missing; the update is atomic and
 * serialized against other writers by a lock on DIR. */
int oci_layout_set_ref(const char *dir, const char *name, const struct oci_descriptor *d,
                       oci_error *err);

/* Split "DIR[:NAME]" (the part after "oci:"): *dir and *name are new
 * strings, *name NULL when absent.  OCI_E_USAGE for an empty DIR. */
int oci_layout_parse_spec(const char *spec, char **dir, char **name, oci_error *err);

#endif
