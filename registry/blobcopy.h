/* registry/blobcopy.h: one blob into a repository, the cheapest way first.
 *
 * reg_blob_copy() makes the blob d available in dst, for copy, push and
 * assemble alike:
 *   1. the source is another repository of dst's registry: a
 *      cross-repository mount (one round trip: it answers 201 whether or
 *      not dst had the blob, so no HEAD first);
 *   2. otherwise HEAD on dst (there already: done), then, with mount_from
 *      (a repository path on dst's registry), a mount from there; then
 *      mounts from the repositories of dst's registry where the blob was
 *      seen or pushed before (the known locations of client.h, at most
 *      REG_MOUNT_TRIES of them): one that does not take is forgotten,
 *      silently;
 *   3. no mount took (or 202): the bytes move.  From a repository the GET is
 *      piped straight into the upload through a kernel pipe (no temporary
 *      file, memory bounded by the pipe); a failed upload is retried whole,
 *      twice, while a failed download (retried and resumed inside the GET)
 *      aborts the upload at once and fails the copy with the source's
 *      error; from an OCI layout the blob file is read (never through a
 *      symlink), from memory the buffer.  Both sides verify the digest.
 *
 * Progress goes through a callback (the library never prints): START with
 * the size, BYTES as they move (negative when a retry starts over), DONE
 * with the outcome.  Several blobs moving at once call it from several
 * threads.  The caller owns everything passed in.
 */
#ifndef CCREG_REGISTRY_BLOBCOPY_H
#define CCREG_REGISTRY_BLOBCOPY_H

#include "oci/layout.h"
#include "oci/manifest.h"
#include "registry/client.h"

/* Known locations tried per blob before its bytes move. */
#define REG_MOUNT_TRIES 3

/* How a blob got into place: the outcome of every blob step. */
enum reg_blob_how { REG_BLOB_EXISTED = 1, REG_BLOB_MOUNTED, REG_BLOB_TRANSFERRED };

enum reg_progress_ev {
	REG_PROGRESS_START, /* a blob starts moving; n = its size (-1 unknown) */
	REG_PROGRESS_BYTES, /* n more bytes of it moved */
	REG_PROGRESS_DONE,  /* it is in place; n = enum reg_blob_how */
};

struct reg_progress {
	void (*fn)(void *ud, enum reg_progress_ev ev, const char *digest, int64_t n);
	void *ud;
};

static inline void reg_progress_emit(const struct reg_progress *p, enum reg_progress_ev ev,
                                     const char *digest, int64_t n)
{
	if (p && p->fn)
		p->fn(p->ud, ev, digest, n);
}

/* Where the bytes come from when they have to move: one of the three. */
struct reg_blob_source {
	struct reg_repo *repo;           /* a repository, on any registry */
	const struct oci_layout *layout; /* an OCI layout's blob file */
	const void *data;                /* d->size bytes in memory */
};

/* Returns the enum reg_blob_how (> 0), or -1 with err filled. */
int reg_blob_copy(struct reg_repo *dst, const struct oci_descriptor *d,
                  const struct reg_blob_source *src, const char *mount_from,
                  const struct reg_progress *progress, oci_error *err);

#endif
