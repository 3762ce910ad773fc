/* registry/blobcopy.c: mount, HEAD, mount, then the bytes. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "oci/cleanup.h"
#include "registry/blobcopy.h"

#define PREVERIFY_MAX (64 << 20) /* layout blobs hashed before their upload */

/* Bytes of one blob moved so far, reported as they move. */
struct counter {
	const struct reg_progress *p;
	const char *digest;
	int64_t n;
};

static void count(struct counter *c, int64_t n)
{
	c->n += n;
	reg_progress_emit(c->p, REG_PROGRESS_BYTES, c->digest, n);
}

/* --- from a repository: GET piped into the upload ------------------------------- */

struct pump {
	struct reg_repo *src;
	const char *digest;
	int64_t size;
	int fd; /* write end */
	int rfd; /* read end */
	struct counter *c;
	oci_error err;
	int rc;
	atomic_bool failed; /* set before the write end closes */
	bool upload_gone;   /* the download stopped because the upload did */
	int64_t sent;       /* bytes written into the pipe */
};

static int pipe_sink(void *ud, const void *p, size_t n, oci_error *err)
{
	struct pump *pm = ud;
	const char *s = p;
	while (n) {
		ssize_t w = write(pm->fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			pm->upload_gone = true;
			return oci_err(err, OCI_E_REGISTRY, "the upload side stopped reading");
		}
		s += w;
		n -= (size_t)w;
		pm->sent += w;
		count(pm->c, w);
	}
	return 0;
}

static void *pump_thread(void *arg)
{
	struct pump *pm = arg;
	pm->rc = reg_blob_get(pm->src, pm->digest, pm->size, pipe_sink, pm, &pm->err);
	if (pm->rc < 0)
		atomic_store(&pm->failed, true);
	close(pm->fd);
	return NULL;
}

/* The upload's body.  When the download fails, the end of the pipe comes
 * short of the size the PUT announced: failing here aborts the upload at
 * once (CURL_READFUNC_ABORT in transport) instead of leaving the PUT to
 * wait out the low-speed timeout for bytes that never come. */
static ssize_t pipe_source(void *ud, void *buf, size_t n, oci_error *err)
{
	struct pump *pm = ud;
	for (;;) {
		ssize_t r = read(pm->rfd, buf, n);
		if (r == 0 && atomic_load(&pm->failed))
			return oci_err(err, OCI_E_REGISTRY, "the download of %s failed", pm->digest);
		if (r >= 0)
			return r;
		if (errno != EINTR)
			return oci_err(err, OCI_E_REGISTRY, "reading the blob stream: %s", strerror(errno));
	}
}

/* *src_failed: the download failed short of the blob's end (its error is in
 * err). */
static int stream_copy(struct reg_repo *src, struct reg_repo *dst, const struct oci_descriptor *d,
                       struct counter *c, bool *src_failed, oci_error *err)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return oci_err(err, OCI_E_REGISTRY, "pipe: %s", strerror(errno));
	/* a bigger pipe keeps both transfers busy; the memory stays bounded */
	fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
	struct pump pm = { .src = src, .digest = d->digest, .size = d->size, .fd = fds[1],
	                   .rfd = fds[0], .c = c };
	pthread_t t;
	if (pthread_create(&t, NULL, pump_thread, &pm) != 0) {
		close(fds[0]);
		close(fds[1]);
		return oci_err(err, OCI_E_REGISTRY, "cannot start a copy thread");
	}
	oci_error uerr = { 0 };
	int urc = reg_blob_upload(dst, d->digest, d->size, pipe_source, NULL, &pm, &uerr);
	close(fds[0]); /* a GET still writing now fails instead of blocking */
	pthread_join(t, NULL);
	if (pm.rc < 0) {
		/* the source's failure explains the upload's */
		if (err)
			*err = pm.err;
		/* every byte came and they were wrong (a bad CDN edge or proxy):
		 * the copy is worth another try; a download that broke off has
		 * been retried and resumed by reg_blob_get already */
		*src_failed = !pm.upload_gone && pm.sent < d->size;
		return -1;
	}
	if (urc < 0) {
		if (err)
			*err = uerr;
		return -1;
	}
	return 0;
}

static int copy_from_repo(struct reg_repo *src, struct reg_repo *dst,
                          const struct oci_descriptor *d, struct counter *c, oci_error *err)
{
	/* the stream cannot be rewound, so a failed upload is retried whole; a
	 * failed download is not: reg_blob_get has retried and resumed already */
	for (int attempt = 0;; attempt++) {
		bool src_failed = false;
		if (stream_copy(src, dst, d, c, &src_failed, err) == 0)
			return 0;
		if (attempt >= 2 || src_failed || (err && err->code == OCI_E_AUTH))
			return -1;
		count(c, -c->n);
		oci_err_clear(err);
	}
}

/* --- from a file or memory: a rewindable source ------------------------------------ */

struct reader {
	int fd;          /* the blob file, or -1 */
	const char *mem; /* or the bytes */
	int64_t size, off;
	struct counter *c;
};

static ssize_t reader_read(void *ud, void *buf, size_t n, oci_error *err)
{
	struct reader *r = ud;
	ssize_t got;
	if (r->mem) {
		got = (ssize_t)(r->size - r->off < (int64_t)n ? r->size - r->off : (int64_t)n);
		memcpy(buf, r->mem + r->off, (size_t)got);
	} else {
		while ((got = pread(r->fd, buf, n, r->off)) < 0 && errno == EINTR)
			;
		if (got < 0)
			return oci_err(err, OCI_E_USAGE, "reading blob %s: %s", r->c->digest,
			               strerror(errno));
	}
	r->off += got;
	count(r->c, got);
	return got;
}

static int reader_rewind(void *ud)
{
	struct reader *r = ud;
	count(r->c, -r->off);
	r->off = 0;
	return 0;
}

static int upload_file(const struct oci_layout *l, struct reg_repo *dst,
                       const struct oci_descriptor *d, struct counter *c, oci_error *err)
{
	int64_t size = 0;
	_cleanup_close_ int fd = oci_layout_blob_open(l, d->digest, &size, err);
	if (fd < 0)
		return -1;
	if (size != d->size)
		return oci_err(err, OCI_E_USAGE, "%s: blob %s is %lld bytes, its descriptor says %lld",
		               l->dir, d->digest, (long long)size, (long long)d->size);
	/* a blob that is not what it claims is caught before any byte leaves;
	 * a big one is verified by the registry as it arrives */
	if (size <= PREVERIFY_MAX && !oci_digest_matches_fd(d->digest, fd))
		return oci_err(err, OCI_E_USAGE, "%s: blob %s: digest mismatch (the file is corrupt)",
		               l->dir, d->digest);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	struct reader r = { .fd = fd, .size = size, .c = c };
	return reg_blob_upload(dst, d->digest, size, reader_read, reader_rewind, &r, err);
}

static int upload_memory(const void *data, struct reg_repo *dst, const struct oci_descriptor *d,
                         struct counter *c, oci_error *err)
{
	struct reader r = { .fd = -1, .mem = data, .size = d->size, .c = c };
	return reg_blob_upload(dst, d->digest, d->size, reader_read, reader_rewind, &r, err);
}

/* --- the order of attempts ----------------------------------------------------------- */

/* A mount from where the blob was seen before (registry/client.h's known
 * locations), the most recent first.  The notes are hints: a mount that
 * does not take, or fails, is forgotten and the next one tried; after the
 * last the bytes move as if nothing had been known. */
static bool mount_known(struct reg_repo *dst, const char *digest, const char *tried)
{
	_cleanup_strv_ char **from = reg_blob_locations(dst, digest);
	for (size_t i = 0; from && from[i] && i < REG_MOUNT_TRIES; i++) {
		if (tried && strcmp(from[i], tried) == 0)
			continue;
		oci_error e = { 0 };
		if (reg_blob_mount(dst, digest, from[i], &e) == 1)
			return true;
		reg_blob_location_stale(dst, digest, from[i]);
	}
	return false;
}

static int place(struct reg_repo *dst, const struct oci_descriptor *d,
                 const struct reg_blob_source *src, const char *mount_from, struct counter *c,
                 oci_error *err)
{
	int r;
	if (src->repo && reg_repo_same_registry(src->repo, dst)) {
		const char *from = strchr(reg_repo_name(src->repo), '/') + 1;
		r = reg_blob_mount(dst, d->digest, from, err);
		if (r != 0)
			return r < 0 ? -1 : REG_BLOB_MOUNTED;
	} else {
		r = reg_blob_head(dst, d->digest, NULL, err);
		if (r != 0)
			return r < 0 ? -1 : REG_BLOB_EXISTED;
		if (mount_from) {
			r = reg_blob_mount(dst, d->digest, mount_from, err);
			if (r != 0)
				return r < 0 ? -1 : REG_BLOB_MOUNTED;
		}
		if (mount_known(dst, d->digest, mount_from))
			return REG_BLOB_MOUNTED;
	}
	if (src->repo)
		r = copy_from_repo(src->repo, dst, d, c, err);
	else if (src->layout)
		r = upload_file(src->layout, dst, d, c, err);
	else
		r = upload_memory(src->data, dst, d, c, err);
	return r < 0 ? -1 : REG_BLOB_TRANSFERRED;
}

int reg_blob_copy(struct reg_repo *dst, const struct oci_descriptor *d,
                  const struct reg_blob_source *src, const char *mount_from,
                  const struct reg_progress *progress, oci_error *err)
{
	struct counter c = { progress, d->digest, 0 };
	reg_progress_emit(progress, REG_PROGRESS_START, d->digest, d->size);
	int how = place(dst, d, src, mount_from, &c, err);
	if (how > 0)
		reg_progress_emit(progress, REG_PROGRESS_DONE, d->digest, how);
	return how;
}
