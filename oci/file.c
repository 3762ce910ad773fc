/* oci/file.c: atomic file replacement, whole-file reads, mkdir -p,
 * write_all (oci/file.h). */
#include "oci/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/cleanup.h"

/* Start writeback every so many bytes, so that the fsync at commit has
 * little left to do and a big stream does not pile up dirty pages. */
#define WRITEBACK_STEP (8 << 20)

int oci_write_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = EIO; /* no progress and no reason: do not spin */
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int oci_file_read(const char *path, size_t max, struct oci_buf *out)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char buf[65536];
	for (;;) {
		ssize_t r = read(fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		if (out->len + (size_t)r > max) {
			errno = EFBIG;
			return -1;
		}
		oci_buf_append(out, buf, (size_t)r);
	}
}

static int mkdir_one(const char *path, mode_t mode)
{
	struct stat st;
	if (mkdir(path, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

int oci_mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = oci_xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/' || s[-1] == '/')
			continue;
		*s = '\0';
		int r = mkdir_one(p, mode);
		*s = '/';
		if (r < 0)
			return -1;
	}
	return mkdir_one(p, mode);
}

/* Every temporary file being written, for oci_file_remove_temps(). */
static pthread_mutex_t temps_lock = PTHREAD_MUTEX_INITIALIZER;
static char **temps;
static size_t n_temps;

/* Called with temps_lock held. */
static void temp_forget(const char *tmp)
{
	for (size_t i = 0; i < n_temps; i++)
		if (temps[i] == tmp) {
			temps[i] = temps[--n_temps];
			return;
		}
}

void oci_file_remove_temps(void)
{
	pthread_mutex_lock(&temps_lock); /* for good: no writer starts after this */
	for (size_t i = 0; i < n_temps; i++)
		unlink(temps[i]);
	n_temps = 0;
}

static void release(struct oci_file_writer *w)
{
	free(w->name);
	free(w->path);
	free(w->tmp);
	memset(w, 0, sizeof *w);
	w->fd = -1;
}

int oci_file_begin(struct oci_file_writer *w, const char *path, mode_t mode, oci_error *err)
{
	memset(w, 0, sizeof *w);
	w->fd = -1;
	/* a symlink's target is replaced, so that a linked config stays linked */
	char *real = realpath(path, NULL);
	w->name = oci_xstrdup(path);
	w->path = real ? real : oci_xstrdup(path);
	const char *slash = strrchr(w->path, '/');
	const char *base = slash ? slash + 1 : w->path;
	w->tmp = oci_xasprintf("%.*s.%s.tmp.XXXXXX", (int)(base - w->path), w->path, base);
	struct stat st;
	bool exists = stat(w->path, &st) == 0;
	/* a rename would put a file where a device or directory was */
	if (exists && !S_ISREG(st.st_mode)) {
		oci_err(err, OCI_E_USAGE, "%s: not a regular file", w->name);
		free(w->tmp);
		w->tmp = NULL;
		release(w);
		return -1;
	}
	if (mode == OCI_FILE_MODE_KEEP)
		mode = exists ? st.st_mode & 07777 : 0644;
	/* a file made read-only is not replaced behind its owner's back, though
	 * the rename alone would be allowed */
	pthread_mutex_lock(&temps_lock);
	if (access(w->path, W_OK) < 0 && errno != ENOENT)
		w->fd = -1;
	else
		w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd >= 0) {
		temps = oci_xrealloc(temps, (n_temps + 1) * sizeof *temps);
		temps[n_temps++] = w->tmp;
	}
	int e = errno;
	pthread_mutex_unlock(&temps_lock);
	errno = e;
	if (w->fd < 0) {
		oci_err(err, OCI_E_IO, "%s: %s", w->name, strerror(errno));
		free(w->tmp);
		w->tmp = NULL; /* nothing was created */
		release(w);
		return -1;
	}
	if (fchmod(w->fd, mode) < 0) {
		oci_err(err, OCI_E_IO, "%s: %s", w->name, strerror(errno));
		oci_file_abort(w);
		return -1;
	}
	return 0;
}

int oci_file_write(struct oci_file_writer *w, const void *p, size_t n, oci_error *err)
{
	if (oci_write_all(w->fd, p, n) < 0)
		return oci_err(err, OCI_E_IO, "%s: %s", w->name, strerror(errno));
	w->n += (int64_t)n;
	if (w->n - w->flushed >= WRITEBACK_STEP) {
		/* only a hint: the fsync at commit is what counts */
		(void)sync_file_range(w->fd, w->flushed, w->n - w->flushed, SYNC_FILE_RANGE_WRITE);
		w->flushed = w->n;
	}
	return 0;
}

int oci_file_rewind(struct oci_file_writer *w, oci_error *err)
{
	if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
		return oci_err(err, OCI_E_IO, "%s: %s", w->name, strerror(errno));
	w->n = w->flushed = 0;
	return 0;
}

/* Make a rename in path's directory durable.  The new content is in place
 * already, so a directory that cannot be synced is not reported. */
static void sync_dir(const char *path)
{
	_cleanup_free_ char *dir = oci_xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	_cleanup_close_ int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		(void)fsync(dfd);
}

void oci_file_abort(struct oci_file_writer *w)
{
	if (w->tmp) {
		if (w->fd >= 0)
			close(w->fd);
		pthread_mutex_lock(&temps_lock);
		unlink(w->tmp);
		temp_forget(w->tmp);
		pthread_mutex_unlock(&temps_lock);
	}
	release(w);
}

int oci_file_commit(struct oci_file_writer *w, oci_error *err)
{
	if (!w->tmp)
		return oci_err(err, OCI_E_IO, "no file is being written");
	int fd = w->fd;
	w->fd = -1;
	if (!w->no_sync && fsync(fd) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		goto fail;
	}
	if (close(fd) < 0)
		goto fail;
	pthread_mutex_lock(&temps_lock);
	int r = rename(w->tmp, w->path), e = errno;
	if (r == 0)
		temp_forget(w->tmp);
	pthread_mutex_unlock(&temps_lock);
	errno = e;
	if (r < 0)
		goto fail;
	free(w->tmp);
	w->tmp = NULL;
	if (!w->no_sync)
		sync_dir(w->path);
	release(w);
	return 0;
fail:
	oci_err(err, OCI_E_IO, "%s: %s", w->name, strerror(errno));
	oci_file_abort(w);
	return -1;
}

static int replace(const char *path, const void *data, size_t len, mode_t mode, bool sync,
                   oci_error *err)
{
	struct oci_file_writer w;
	if (oci_file_begin(&w, path, mode, err) < 0)
		return -1;
	w.no_sync = !sync;
	if (oci_file_write(&w, data, len, err) < 0) {
		oci_file_abort(&w);
		return -1;
	}
	return oci_file_commit(&w, err);
}

int oci_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                     oci_error *err)
{
	return replace(path, data, len, mode, true, err);
}

int oci_file_replace_cache(const char *path, const void *data, size_t len, oci_error *err)
{
	return replace(path, data, len, 0644, false, err);
}
