/* oci/auditcache.c: see auditcache.h. */
#include "oci/auditcache.h"
#include "oci/file.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_VERSION 1

char *oci_auditcache_dir(void)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (x && *x == '/')
		return oci_xasprintf("%s/ccreg", x);
	if (home && *home)
		return oci_xasprintf("%s/.cache/ccreg", home);
	return NULL;
}

/* DIR/KIND/<algorithm>/<hex>SUFFIX; NULL without a cache or a valid digest. */
static char *entry_path(const char *dir, const char *kind, const char *digest,
                        const char *suffix)
{
	const char *hex = oci_digest_hex(digest);
	if (!dir || !hex || oci_digest_validate(digest, NULL) < 0)
		return NULL;
	return oci_xasprintf("%s/%s/%.*s/%s%s", dir, kind, (int)(hex - 1 - digest), digest, hex,
	                     suffix);
}

/* Every entry is written here, replaced atomically so that readers see a
 * whole entry or none.  Failures are dropped: a missing entry only costs a
 * re-read. */
static void store(const char *path, const void *data, size_t len)
{
	_cleanup_free_ char *dir = oci_xstrdup(path);
	*strrchr(dir, '/') = 0;
	if (oci_mkdir_p(dir, 0755) == 0)
		(void)oci_file_replace(path, data, len, 0644, NULL);
}

bool oci_auditcache_get_layer(const char *dir, const char *digest, struct oci_layer_stats *st,
                              char diff_id[OCI_DIGEST_MAX])
{
	_cleanup_free_ char *path = entry_path(dir, "layers", digest, ".json");
	if (!path)
		return false;
	_cleanup_json_ json_t *j = json_load_file(path, 0, NULL);
	const char *dg = json_string_value(json_object_get(j, "digest"));
	const char *did = json_string_value(json_object_get(j, "diffId"));
	struct oci_layer_stats got = { 0 };
	if (!j || json_integer_value(json_object_get(j, "version")) != CACHE_VERSION || !dg ||
	    strcmp(dg, digest) != 0 || !did || oci_digest_validate(did, NULL) < 0 ||
	    oci_stats_from_json(j, &got) < 0)
		return false;
	*st = got;
	snprintf(diff_id, OCI_DIGEST_MAX, "%s", did);
	return true;
}

void oci_auditcache_put_layer(const char *dir, const char *digest,
                              const struct oci_layer_stats *st, const char *diff_id)
{
	_cleanup_free_ char *path = entry_path(dir, "layers", digest, ".json");
	if (!path)
		return;
	_cleanup_json_ json_t *j = json_pack("{s:i, s:s, s:s}", "version", CACHE_VERSION,
	                                     "digest", digest, "diffId", diff_id);
	oci_stats_to_json(st, j);
	_cleanup_free_ char *text = json_dumps(j, JSON_SORT_KEYS);
	store(path, text, strlen(text));
}

bool oci_auditcache_get_config(const char *dir, const char *digest, size_t max,
                               struct oci_buf *out)
{
	_cleanup_free_ char *path = entry_path(dir, "configs", digest, "");
	_cleanup_fclose_ FILE *f = path ? fopen(path, "rb") : NULL;
	char chunk[65536];
	size_t n;

	while (f && out->len <= max && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
		oci_buf_append(out, chunk, n);
	if (out->len && oci_digest_matches(digest, out->data, out->len))
		return true;
	oci_buf_release(out);
	return false;
}

void oci_auditcache_put_config(const char *dir, const char *digest, const void *data,
                               size_t len)
{
	_cleanup_free_ char *path = entry_path(dir, "configs", digest, "");
	if (path)
		store(path, data, len);
}
