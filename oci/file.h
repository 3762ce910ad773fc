/* oci/file.h: writing local files so that nobody ever sees half of one.
 *
 * A file is replaced through a temporary file in the same directory
 * (".NAME.tmp.XXXXXX"): written, fsynced, renamed over NAME, and the
 * directory fsynced so that the rename survives a crash.  A reader sees the
 * old content or the new, never a mix; after a failure the old file is
 * untouched and the temporary file is gone.  oci_file_commit is the one
 * place in ccreg that renames a file into place: every writer goes through
 * it.  A symlink at PATH is followed (its target is replaced, the link stays).
 *
 *   whole buffer:  oci_file_replace(path, data, len, 0644, err);
 *
 *   stream:        _cleanup_(oci_file_abortp) struct oci_file_writer w = { 0 };
 *                  if (oci_file_begin(&w, path, 0644, err) < 0) return -1;
 *                  while (...) if (oci_file_write(&w, p, n, err) < 0) return -1;
 *                  return oci_file_commit(&w, err);   (or oci_file_abort(&w))
 *
 * Failures fill err with OCI_E_IO (exit code 5) and "PATH: reason" naming the
 * path as the caller gave it, e.g. "out/blob: No space left on device".  The writer owns its
 * strings and descriptor until commit or abort releases them; both accept a
 * zeroed writer, and abort after commit does nothing.
 *
 * oci_file_read, oci_write_all and oci_mkdir_p are errno-style (-1 with errno
 * set); callers word the error.
 *
 * The temporary files being written are known to the module, so that a
 * process ended by a signal removes them first (oci_file_remove_temps).
 */
#ifndef CCREG_OCI_FILE_H
#define CCREG_OCI_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/error.h"
#include "oci/util.h"

/* mode: keep the mode of the file being replaced (0644 for a new file). */
#define OCI_FILE_MODE_KEEP ((mode_t)-1)

struct oci_file_writer {
	int fd;          /* the temporary file, open for writing */
	char *name;      /* the path as the caller gave it (for messages) */
	char *path;      /* the final name (a symlink's target) */
	char *tmp;       /* the temporary name; NULL when no write is under way */
	int64_t n;       /* bytes written through oci_file_write */
	int64_t flushed; /* of those, handed to writeback already */
	bool no_sync;    /* set after begin for cache entries: commit renames
	                  * without fsync (atomic, not durable: a crash may lose
	                  * the entry, which caches check on read anyway) */
};

/* Create the temporary file for `path` with permission bits `mode` (exactly,
 * no umask; or OCI_FILE_MODE_KEEP).  The directory must exist.  A path that
 * exists but is not a regular file (a directory, /dev/full) is refused with
 * OCI_E_USAGE; one the caller may not write (a read-only file) with OCI_E_IO. */
int oci_file_begin(struct oci_file_writer *w, const char *path, mode_t mode, oci_error *err);
/* Append n bytes.  On failure the writer stays open: abort it. */
int oci_file_write(struct oci_file_writer *w, const void *p, size_t n, oci_error *err);
/* Start the content over: the temporary file emptied (a download that
 * restarts from zero). */
int oci_file_rewind(struct oci_file_writer *w, oci_error *err);
/* fsync, rename over the final name, fsync the directory.  On failure the
 * temporary file is removed and the final name untouched.  Either way the
 * writer is released. */
int oci_file_commit(struct oci_file_writer *w, oci_error *err);
/* Remove the temporary file and release the writer. */
void oci_file_abort(struct oci_file_writer *w);
static inline void oci_file_abortp(struct oci_file_writer *w) { oci_file_abort(w); }

/* For a process about to end on a signal (cli/main.c's signal thread): remove
 * every temporary file being written, and keep any writer from starting
 * another (oci_file_begin then blocks for good).  Thread-safe; not for a
 * signal handler (it takes a lock). */
void oci_file_remove_temps(void);

/* Replace path by data[0..len) in one step (begin, write, commit). */
int oci_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                     oci_error *err);
/* The same for a cache entry (mode 0644, no fsync; see no_sync). */
int oci_file_replace_cache(const char *path, const void *data, size_t len, oci_error *err);

/* Read a whole small file into out (appended; NUL-terminated past len):
 * 0, or -1 with errno (EFBIG when it holds more than max bytes). */
int oci_file_read(const char *path, size_t max, struct oci_buf *out);
/* write(2) until all n bytes are out (EINTR retried): 0, or -1 with errno. */
int oci_write_all(int fd, const void *p, size_t n);
/* mkdir -p: create path and its missing parents with `mode` (umask applies).
 * An existing directory is fine; 0, or -1 with errno (ENOTDIR when path or
 * a parent is not a directory). */
int oci_mkdir_p(const char *path, mode_t mode);

#endif
