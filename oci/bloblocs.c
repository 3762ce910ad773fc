/* oci/bloblocs.c: see bloblocs.h. */
#include "oci/bloblocs.h"
#include "oci/auditcache.h"
#include "oci/cleanup.h"

#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define VERSION 1
/* a location seen again within this many seconds is not rewritten */
#define REFRESH_SECS 3600

/* One process updates an entry at a time (threads of one push). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The entry's list of locations, or NULL (absent, corrupt, another digest). */
static json_t *load(const char *path, const char *digest)
{
	json_t *j = json_load_file(path, 0, NULL);
	json_t *locs = json_object_get(j, "locations");
	const char *dg = json_string_value(json_object_get(j, "digest"));
	json_t *out = NULL;
	if (json_integer_value(json_object_get(j, "version")) == VERSION && dg &&
	    strcmp(dg, digest) == 0 && json_is_array(locs))
		out = json_incref(locs);
	json_decref(j);
	return out;
}

static bool is(json_t *loc, const char *registry, const char *repo)
{
	const char *g = json_string_value(json_object_get(loc, "registry"));
	const char *r = json_string_value(json_object_get(loc, "repository"));
	return g && r && strcmp(g, registry) == 0 && strcmp(r, repo) == 0;
}

static void save(const char *path, const char *digest, json_t *locs)
{
	_cleanup_json_ json_t *j = json_pack("{s:i, s:s, s:O}", "version", VERSION, "digest", digest,
	                                     "locations", locs);
	_cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
	if (text)
		oci_cache_store(path, text, strlen(text));
}

char **oci_bloblocs_get(const char *dir, const char *digest, const char *registry,
                        const char *except)
{
	_cleanup_free_ char *path = oci_cache_entry_path(dir, "locations", digest, ".json");
	_cleanup_json_ json_t *locs = path ? load(path, digest) : NULL;
	char **out = NULL;
	size_t n = 0, i;
	json_t *loc;
	json_array_foreach(locs, i, loc) {
		const char *g = json_string_value(json_object_get(loc, "registry"));
		const char *r = json_string_value(json_object_get(loc, "repository"));
		if (!g || !r || !*r || strcmp(g, registry) != 0 || (except && strcmp(r, except) == 0))
			continue;
		out = oci_xrealloc(out, (n + 2) * sizeof *out);
		out[n++] = oci_xstrdup(r);
		out[n] = NULL;
	}
	return out;
}

void oci_bloblocs_put(const char *dir, const char *digest, const char *registry,
                      const char *repo)
{
	_cleanup_free_ char *path = oci_cache_entry_path(dir, "locations", digest, ".json");
	if (!path)
		return;
	time_t now = time(NULL);
	pthread_mutex_lock(&lock);
	_cleanup_json_ json_t *old = load(path, digest);
	_cleanup_json_ json_t *locs = json_array();
	size_t i;
	json_t *loc;
	json_array_foreach(old, i, loc)
		if (is(loc, registry, repo) &&
		    now - json_integer_value(json_object_get(loc, "time")) < REFRESH_SECS)
			goto out; /* known, and recently: leave the file alone */
	json_array_append_new(locs, json_pack("{s:s, s:s, s:I}", "registry", registry,
	                                      "repository", repo, "time", (json_int_t)now));
	json_array_foreach(old, i, loc)
		if (json_array_size(locs) < OCI_BLOBLOCS_PER_BLOB && json_is_object(loc) &&
		    !is(loc, registry, repo))
			json_array_append(locs, loc);
	save(path, digest, locs);
	/* a new blob now and then (digests are uniform: 1 in 256) checks the bound */
	const char *hex = oci_digest_hex(digest);
	bool check = !old && hex && hex[0] == '0' && hex[1] == '0';
	pthread_mutex_unlock(&lock);
	if (check)
		oci_bloblocs_prune(dir, OCI_BLOBLOCS_MAX);
	return;
out:
	pthread_mutex_unlock(&lock);
}

void oci_bloblocs_forget(const char *dir, const char *digest, const char *registry,
                         const char *repo)
{
	_cleanup_free_ char *path = oci_cache_entry_path(dir, "locations", digest, ".json");
	if (!path)
		return;
	pthread_mutex_lock(&lock);
	_cleanup_json_ json_t *locs = load(path, digest);
	size_t n = json_array_size(locs);
	for (size_t i = json_array_size(locs); i-- > 0;)
		if (is(json_array_get(locs, i), registry, repo))
			json_array_remove(locs, i);
	if (json_array_size(locs) < n)
		save(path, digest, locs);
	pthread_mutex_unlock(&lock);
}

struct aged {
	char *path;
	struct timespec mtime;
};

static int older(const void *a, const void *b)
{
	const struct aged *x = a, *y = b;
	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	return (x->mtime.tv_nsec > y->mtime.tv_nsec) - (x->mtime.tv_nsec < y->mtime.tv_nsec);
}

void oci_bloblocs_prune(const char *dir, size_t max)
{
	if (!dir)
		return;
	_cleanup_free_ char *top = oci_xasprintf("%s/locations", dir);
	struct aged *e = NULL;
	size_t n = 0;
	DIR *d = opendir(top), *sub;
	struct dirent *a, *b;
	/* locations/<algorithm>/<hex>.json */
	while (d && (a = readdir(d))) {
		if (a->d_name[0] == '.')
			continue;
		_cleanup_free_ char *alg = oci_xasprintf("%s/%s", top, a->d_name);
		if (!(sub = opendir(alg)))
			continue;
		while ((b = readdir(sub))) {
			struct stat st;
			char *p = oci_xasprintf("%s/%s", alg, b->d_name);
			if (b->d_name[0] == '.' || stat(p, &st) < 0 || !S_ISREG(st.st_mode)) {
				free(p);
				continue;
			}
			e = oci_xrealloc(e, (n + 1) * sizeof *e);
			e[n++] = (struct aged){ p, st.st_mtim };
		}
		closedir(sub);
	}
	if (d)
		closedir(d);
	if (n > max)
		qsort(e, n, sizeof *e, older);
	for (size_t i = 0; i < n; i++) {
		if (n > max && i < n - max)
			unlink(e[i].path);
		free(e[i].path);
	}
	free(e);
}
