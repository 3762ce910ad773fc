/* tests/test-auditcache.c: audit results by digest (oci/auditcache.h):
 * write and read back, entries that do not hold are misses, no cache. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/auditcache.h"
#include "tests/tap.h"

#define LAYER "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define OTHER "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define DIFF "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static char tmpdir[] = "/tmp/ccreg-test-auditcache.XXXXXX";

static void spit(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(s, f);
		fclose(f);
	}
}

/* Files under the cache whose name contains ".tmp.". */
static int n_tmp;
static int count_tmp(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	n_tmp += flag == FTW_F && strstr(p + f->base, ".tmp.") != NULL;
	return 0;
}

static int remove_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(p);
}

static void test_layers(const char *dir)
{
	struct oci_layer_stats st = { .entries = 7, .files = 4, .file_bytes = 1000, .dirs = 2,
		.symlinks = 1, .hardlinks = 0, .whiteouts = 3, .opaque_dirs = 1, .tar_bytes = 10240,
		.on_disk_bytes = 20480, .compressed_bytes = 900 };
	struct oci_layer_stats got = { 0 };
	char diff[OCI_DIGEST_MAX] = "untouched";

	ok(!oci_auditcache_get_layer(dir, LAYER, &got, diff), "empty cache: a miss");
	is_str(diff, "untouched", "  a miss leaves the outputs alone");
	oci_auditcache_put_layer(dir, LAYER, &st, DIFF);
	_cleanup_free_ char *path = oci_xasprintf("%s/layers/sha256/%s.json", dir, LAYER + 7);
	ok(access(path, R_OK) == 0, "entry at layers/sha256/<hex>.json");
	nftw(dir, count_tmp, 8, FTW_PHYS);
	is_int(n_tmp, 0, "  no temporary file left");
	ok(oci_auditcache_get_layer(dir, LAYER, &got, diff), "read back");
	ok(memcmp(&got, &st, sizeof st) == 0, "  every count as written");
	is_str(diff, DIFF, "  the diff_id as written");
	ok(!oci_auditcache_get_layer(dir, OTHER, &got, diff), "another digest: a miss");

	/* entries that do not hold are misses */
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "{\"version\": 1, \"digest\": \"" LAYER "\", \"diffId\": \"", "truncated JSON" },
		{ "", "empty file" },
		{ "[]", "not an object" },
		{ "{\"version\": 2, \"digest\": \"" LAYER "\", \"diffId\": \"" DIFF "\"}", "another version" },
		{ "{\"version\": 1, \"digest\": \"" OTHER "\", \"diffId\": \"" DIFF "\"}", "names another digest" },
		{ "{\"version\": 1, \"digest\": \"" LAYER "\", \"diffId\": \"sha256:zz\"}", "invalid diffId" },
		{ "{\"version\": 1, \"digest\": \"" LAYER "\", \"diffId\": \"" DIFF "\"}", "counts missing" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		spit(path, bad[i].text);
		memset(&got, 0, sizeof got);
		snprintf(diff, sizeof diff, "untouched");
		ok(!oci_auditcache_get_layer(dir, LAYER, &got, diff) && !strcmp(diff, "untouched") &&
		   got.entries == 0, "corrupt entry (%s): a miss", bad[i].why);
	}
	oci_auditcache_put_layer(dir, LAYER, &st, DIFF);
	ok(oci_auditcache_get_layer(dir, LAYER, &got, diff), "a new write replaces a corrupt entry");

	oci_auditcache_put_layer(dir, "sha256:../../escape", &st, DIFF);
	_cleanup_free_ char *escape = oci_xasprintf("%s/escape.json", dir);
	ok(access(escape, F_OK) < 0 && !oci_auditcache_get_layer(dir, "sha256:../../escape", &got, diff),
	   "an invalid digest names no entry (nothing written outside the cache)");
	ok(!oci_auditcache_get_layer(NULL, LAYER, &got, diff), "no cache: a miss");
	oci_auditcache_put_layer(NULL, LAYER, &st, DIFF); /* does nothing */
	oci_auditcache_put_layer("/dev/null/cache", LAYER, &st, DIFF);
	ok(!oci_auditcache_get_layer("/dev/null/cache", LAYER, &got, diff),
	   "a cache that cannot be written: nothing kept, no failure");
}

static void test_configs(const char *dir)
{
	static const char cfg[] = "{\"architecture\":\"amd64\",\"os\":\"linux\"}";
	char digest[OCI_DIGEST_MAX];
	struct oci_buf b = { 0 };

	oci_digest_buf("sha256", cfg, strlen(cfg), digest);
	ok(!oci_auditcache_get_config(dir, digest, 1 << 20, &b) && b.len == 0, "config: a miss");
	oci_auditcache_put_config(dir, digest, cfg, strlen(cfg));
	ok(oci_auditcache_get_config(dir, digest, 1 << 20, &b), "config read back");
	ok(b.len == strlen(cfg) && memcmp(b.data, cfg, b.len) == 0, "  the same bytes");
	oci_buf_release(&b);

	_cleanup_free_ char *path = oci_xasprintf("%s/configs/sha256/%s", dir, digest + 7);
	spit(path, "{\"architecture\":\"arm64\",\"os\":\"linux\"}");
	ok(!oci_auditcache_get_config(dir, digest, 1 << 20, &b) && b.len == 0 && !b.data,
	   "config bytes that do not match the digest: a miss, nothing returned");
}

static void test_dir(void)
{
	setenv("XDG_CACHE_HOME", "/x/cache", 1);
	setenv("HOME", "/home/u", 1);
	_cleanup_free_ char *a = oci_auditcache_dir();
	is_str(a, "/x/cache/ccreg", "$XDG_CACHE_HOME/ccreg");
	setenv("XDG_CACHE_HOME", "relative", 1);
	_cleanup_free_ char *b = oci_auditcache_dir();
	is_str(b, "/home/u/.cache/ccreg", "a relative XDG_CACHE_HOME is ignored: ~/.cache/ccreg");
	unsetenv("XDG_CACHE_HOME");
	unsetenv("HOME");
	ok(oci_auditcache_dir() == NULL, "neither set: no cache");
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	_cleanup_free_ char *dir = oci_xasprintf("%s/ccreg", tmpdir);
	test_layers(dir);
	test_configs(dir);
	test_dir();
	nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
