/* oci/mcache.c: see mcache.h. */
#include "oci/mcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "oci/cleanup.h"
#include "oci/digest.h"
#include "oci/file.h"

#define TOUCH_AFTER_S 60 /* a hit refreshes an mtime older than this */

/* content-addressed kinds first; every kind counts towards the bound */
static const char *const kinds[] = { OCI_MCACHE_MANIFESTS, OCI_MCACHE_CONFIGS, OCI_MCACHE_TAGS };

struct oci_mcache {
	char *dir;
	int64_t max;
	pthread_mutex_t lock;
	bool scanned;  /* total is known */
	int64_t total; /* bytes in the entries, as far as this process knows */
};

int64_t oci_mcache_max_bytes(void)
{
	const char *e = getenv("CCREG_CACHE_MAX_MB");
	char *end;
	long long mb = e && *e ? strtoll(e, &end, 10) : 0;
	if (!e || !*e || *end || mb < 1 || mb > (1LL << 30))
		mb = OCI_MCACHE_DEFAULT_MB;
	return (int64_t)mb << 20;
}

struct oci_mcache *oci_mcache_new(const char *dir, int64_t max_bytes)
{
	if (!dir)
		return NULL;
	struct oci_mcache *mc = oci_xcalloc(1, sizeof *mc);
	mc->dir = oci_xstrdup(dir);
	mc->max = max_bytes > 0 ? max_bytes : (int64_t)OCI_MCACHE_DEFAULT_MB << 20;
	pthread_mutex_init(&mc->lock, NULL);
	return mc;
}

void oci_mcache_free(struct oci_mcache *mc)
{
	if (!mc)
		return;
	pthread_mutex_destroy(&mc->lock);
	free(mc->dir);
	free(mc);
}

const char *oci_mcache_dir(const struct oci_mcache *mc)
{
	return mc ? mc->dir : NULL;
}

static bool known_kind(const char *kind)
{
	return kind && (strcmp(kind, kinds[0]) == 0 || strcmp(kind, kinds[1]) == 0 ||
	                strcmp(kind, kinds[2]) == 0);
}

/* DIR/KIND/<algorithm>/<hex>, or NULL for a digest that is not valid (it
 * becomes a file name: nothing but [a-z0-9] and hex may reach it). */
static char *path_of(const struct oci_mcache *mc, const char *kind, const char *digest)
{
	const char *hex = oci_digest_hex(digest);
	if (!mc || !known_kind(kind) || !hex || oci_digest_validate(digest, NULL) < 0)
		return NULL;
	return oci_xasprintf("%s/%s/%.*s/%s", mc->dir, kind, (int)(hex - 1 - digest), digest, hex);
}

bool oci_mcache_get(struct oci_mcache *mc, const char *kind, const char *digest, size_t max,
                    struct oci_buf *out)
{
	_cleanup_free_ char *path =
		strcmp(kind, OCI_MCACHE_TAGS) != 0 ? path_of(mc, kind, digest) : NULL;
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	struct stat st;
	bool hit = false;

	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size <= max) {
		char chunk[65536];
		ssize_t n;
		while (out->len <= max && (n = read(fd, chunk, sizeof chunk)) > 0)
			oci_buf_append(out, chunk, (size_t)n);
		hit = out->len <= max && oci_digest_matches(digest, out->data ? out->data : "", out->len);
		if (hit && time(NULL) - st.st_mtime > TOUCH_AFTER_S)
			(void)futimens(fd, NULL); /* recently used: evicted last */
		if (!hit)
			(void)unlink(path); /* bytes that do not match their name: never again */
	}
	close(fd);
	if (!hit) {
		oci_buf_release(out);
		return false;
	}
	if (!out->data)
		oci_buf_append(out, "", 0);
	return true;
}

struct entry {
	char *path;
	time_t mtime;
	int64_t size;
};

/* Every entry of every kind, with its size and mtime; returns the total. */
static int64_t scan(const struct oci_mcache *mc, struct entry **out, size_t *n)
{
	int64_t total = 0;
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		_cleanup_free_ char *kd = oci_xasprintf("%s/%s", mc->dir, kinds[k]);
		DIR *d = opendir(kd);
		struct dirent *a;
		while (d && (a = readdir(d))) {
			if (a->d_name[0] == '.')
				continue;
			_cleanup_free_ char *ad = oci_xasprintf("%s/%s", kd, a->d_name);
			DIR *e = opendir(ad);
			struct dirent *f;
			while (e && (f = readdir(e))) {
				struct stat st;
				if (f->d_name[0] == '.' || fstatat(dirfd(e), f->d_name, &st, 0) < 0 ||
				    !S_ISREG(st.st_mode))
					continue; /* temporary files are oci/file.h's to clean */
				if (*n == cap) {
					cap = cap ? 2 * cap : 64;
					*out = oci_xrealloc(*out, cap * sizeof **out);
				}
				(*out)[(*n)++] = (struct entry){ oci_xasprintf("%s/%s", ad, f->d_name),
				                                 st.st_mtime, (int64_t)st.st_size };
				total += (int64_t)st.st_size;
			}
			if (e)
				closedir(e);
		}
		if (d)
			closedir(d);
	}
	return total;
}

static int older(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

/* Called with the lock held: learn the total once, and evict the least
 * recently used entries when it is over the bound.  Another process may
 * remove an entry first: then it is simply gone. */
static void account(struct oci_mcache *mc, int64_t added)
{
	if (mc->scanned && mc->total + added <= mc->max) {
		mc->total += added;
		return;
	}
	struct entry *e;
	size_t n;
	mc->total = scan(mc, &e, &n);
	mc->scanned = true;
	if (mc->total > mc->max) {
		qsort(e, n, sizeof *e, older);
		for (size_t i = 0; i < n && mc->total > mc->max / 10 * 9; i++)
			if (unlink(e[i].path) == 0 || errno == ENOENT)
				mc->total -= e[i].size;
	}
	for (size_t i = 0; i < n; i++)
		free(e[i].path);
	free(e);
}

/* Write one entry at path (its directory made as needed) and account for it. */
static int store(struct oci_mcache *mc, const char *path, const void *data, size_t len,
                 oci_error *err)
{
	_cleanup_free_ char *dir = oci_xstrdup(path);
	*strrchr(dir, '/') = 0;
	if (oci_mkdir_p(dir, 0755) < 0)
		return oci_err(err, OCI_E_IO, "%s: %s", dir, strerror(errno));
	if (oci_file_replace_cache(path, data, len, err) < 0)
		return -1;
	pthread_mutex_lock(&mc->lock);
	account(mc, (int64_t)len);
	pthread_mutex_unlock(&mc->lock);
	return 0;
}

int oci_mcache_put(struct oci_mcache *mc, const char *kind, const char *digest,
                   const void *data, size_t len, oci_error *err)
{
	if (!mc)
		return 0;
	_cleanup_free_ char *path =
		strcmp(kind, OCI_MCACHE_TAGS) != 0 ? path_of(mc, kind, digest) : NULL;
	if (!path || !oci_digest_matches(digest, data ? data : "", len))
		return oci_err(err, OCI_E_USAGE, "%s: not stored in the cache: the bytes do not hash to it",
		               digest);
	return store(mc, path, data ? data : "", len, err);
}

static char *tag_path(const struct oci_mcache *mc, const char *name)
{
	char key[OCI_DIGEST_MAX];
	oci_digest_buf("sha256", name, strlen(name), key);
	return path_of(mc, OCI_MCACHE_TAGS, key);
}

bool oci_mcache_tag_get(struct oci_mcache *mc, const char *name, char digest[OCI_DIGEST_MAX])
{
	_cleanup_free_ char *path = mc ? tag_path(mc, name) : NULL;
	_cleanup_close_ int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	ssize_t n = fd >= 0 ? read(fd, digest, OCI_DIGEST_MAX - 1) : -1;

	if (n <= 0)
		return false;
	digest[n] = 0;
	return oci_digest_validate(digest, NULL) == 0;
}

int oci_mcache_tag_put(struct oci_mcache *mc, const char *name, const char *digest,
                       oci_error *err)
{
	char was[OCI_DIGEST_MAX];
	if (!mc || (oci_mcache_tag_get(mc, name, was) && strcmp(was, digest) == 0))
		return 0;
	if (oci_digest_validate(digest, err) < 0)
		return -1;
	_cleanup_free_ char *path = tag_path(mc, name);
	return store(mc, path, digest, strlen(digest), err);
}
