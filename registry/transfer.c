/* registry/transfer.c: HEAD → mount → streamed copy. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "registry/transfer.h"

struct pump {
	struct reg_repo *src;
	const char *digest;
	int64_t size;
	int fd; /* write end */
	reg_count_fn count;
	void *count_ud;
	oci_error err;
	int rc;
};

static int pipe_sink(void *ud, const void *p, size_t n, oci_error *err)
{
	struct pump *pm = ud;
	const char *s = p;
	while (n) {
		ssize_t w = write(pm->fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return oci_err(err, OCI_E_REGISTRY, "the upload side stopped reading");
		s += w;
		n -= (size_t)w;
		if (pm->count)
			pm->count(pm->count_ud, w);
	}
	return 0;
}

static void *pump_thread(void *arg)
{
	struct pump *pm = arg;
	pm->rc = reg_blob_get(pm->src, pm->digest, pm->size, pipe_sink, pm, &pm->err);
	close(pm->fd);
	return NULL;
}

static ssize_t pipe_source(void *ud, void *buf, size_t n, oci_error *err)
{
	int fd = *(int *)ud;
	for (;;) {
		ssize_t r = read(fd, buf, n);
		if (r >= 0)
			return r;
		if (errno != EINTR)
			return oci_err(err, OCI_E_REGISTRY, "reading the blob stream: %s", strerror(errno));
	}
}

static int stream_copy(struct reg_repo *src, struct reg_repo *dst, const char *digest,
                       int64_t size, reg_count_fn count, void *count_ud, oci_error *err)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return oci_err(err, OCI_E_REGISTRY, "pipe: %s", strerror(errno));
	/* a bigger pipe keeps both transfers busy; the memory stays bounded */
	fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
	struct pump pm = { .src = src, .digest = digest, .size = size, .fd = fds[1],
	                   .count = count, .count_ud = count_ud };
	pthread_t t;
	if (pthread_create(&t, NULL, pump_thread, &pm) != 0) {
		close(fds[0]);
		close(fds[1]);
		return oci_err(err, OCI_E_REGISTRY, "cannot start a copy thread");
	}
	oci_error uerr = { 0 };
	int urc = reg_blob_upload(dst, digest, size, pipe_source, NULL, &fds[0], &uerr);
	close(fds[0]); /* a GET still writing now fails instead of blocking */
	pthread_join(t, NULL);
	if (pm.rc < 0) {
		/* the source's failure explains the upload's */
		if (err)
			*err = pm.err;
		return -1;
	}
	if (urc < 0) {
		if (err)
			*err = uerr;
		return -1;
	}
	return 0;
}

int reg_blob_stream_copy(struct reg_repo *src, struct reg_repo *dst, const char *digest,
                         int64_t size, oci_error *err)
{
	return stream_copy(src, dst, digest, size, NULL, NULL, err);
}

int reg_blob_copy(struct reg_repo *src, struct reg_repo *dst, const struct oci_descriptor *d,
                  oci_error *err)
{
	return reg_blob_copy_counted(src, dst, d, NULL, NULL, err);
}

int reg_blob_copy_counted(struct reg_repo *src, struct reg_repo *dst,
                          const struct oci_descriptor *d, reg_count_fn count, void *count_ud,
                          oci_error *err)
{
	int r;
	if (reg_repo_same_registry(src, dst)) {
		/* One round trip: a mount answers 201 whether or not the target
		 * already had the blob, so no HEAD first. */
		const char *from = strchr(reg_repo_name(src), '/') + 1;
		r = reg_blob_mount(dst, d->digest, from, err);
		if (r < 0)
			return -1;
		if (r == 1)
			return REG_COPY_MOUNTED;
	} else {
		r = reg_blob_head(dst, d->digest, NULL, err);
		if (r != 0)
			return r < 0 ? -1 : REG_COPY_EXISTS;
	}
	/* the stream cannot be rewound, so a failed copy is retried whole */
	for (int attempt = 0;; attempt++) {
		if (stream_copy(src, dst, d->digest, d->size, count, count_ud, err) == 0)
			return REG_COPY_STREAMED;
		if (attempt >= 2 || (err && err->code == OCI_E_AUTH))
			return -1;
		oci_err_clear(err);
	}
}
