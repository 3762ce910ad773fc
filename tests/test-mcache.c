/* tests/test-mcache.c: manifests and configs by digest (oci/mcache.h):
 * write and read back, entries whose bytes do not match their name are
 * misses (and removed), a cache that cannot be written fails the put only,
 * the size bound evicts the least recently used entries. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "oci/cleanup.h"
#include "oci/digest.h"
#include "oci/mcache.h"
#include "tests/tap.h"

static char tmpdir[] = "/tmp/ccreg-test-mcache.XXXXXX";

static int n_tmp;
static int count_tmp(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	n_tmp += flag == FTW_F && strstr(p + f->base, ".tmp.") != NULL;
	return 0;
}

static int remove_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb, (void)flag, (void)f;
	return remove(p);
}

/* A document of n bytes, different for each seed; its digest in dg. */
static char *doc(int seed, size_t n, char dg[OCI_DIGEST_MAX])
{
	char *d = oci_xmalloc(n + 1);
	int k = snprintf(d, n + 1, "{\"seed\": %d, \"pad\": \"", seed);
	memset(d + k, 'x', n - (size_t)k - 2);
	memcpy(d + n - 2, "\"}", 3);
	oci_digest_buf("sha256", d, n, dg);
	return d;
}

static void age(const char *dir, const char *kind, const char *dg, time_t secs_ago)
{
	_cleanup_free_ char *p = oci_xasprintf("%s/%s/sha256/%s", dir, kind, dg + 7);
	struct timeval tv[2] = { { time(NULL) - secs_ago, 0 }, { time(NULL) - secs_ago, 0 } };
	utimes(p, tv);
}

static bool present(const char *dir, const char *kind, const char *dg)
{
	_cleanup_free_ char *p = oci_xasprintf("%s/%s/sha256/%s", dir, kind, dg + 7);
	return access(p, F_OK) == 0;
}

static void test_roundtrip(const char *dir)
{
	struct oci_mcache *mc = oci_mcache_new(dir, 1 << 20);
	char dg[OCI_DIGEST_MAX], other[OCI_DIGEST_MAX];
	_cleanup_free_ char *d = doc(1, 300, dg);
	_cleanup_free_ char *o = doc(2, 300, other);
	struct oci_buf b = { 0 };
	oci_error e = { 0 };

	ok(!oci_mcache_get(mc, OCI_MCACHE_MANIFESTS, dg, 1 << 20, &b) && !b.data, "empty: a miss");
	is_int(oci_mcache_put(mc, OCI_MCACHE_MANIFESTS, dg, d, 300, &e), 0, "put");
	ok(present(dir, "manifests", dg), "  at manifests/sha256/<hex>");
	nftw(dir, count_tmp, 8, FTW_PHYS);
	is_int(n_tmp, 0, "  no temporary file left");
	ok(oci_mcache_get(mc, OCI_MCACHE_MANIFESTS, dg, 1 << 20, &b), "read back");
	ok(b.len == 300 && memcmp(b.data, d, 300) == 0 && b.data[300] == 0, "  the same bytes");
	oci_buf_release(&b);
	ok(!oci_mcache_get(mc, OCI_MCACHE_CONFIGS, dg, 1 << 20, &b), "another kind: a miss");
	ok(!oci_mcache_get(mc, OCI_MCACHE_MANIFESTS, dg, 299, &b) && !b.data,
	   "bigger than the caller's max: a miss");

	is_int(oci_mcache_put(mc, OCI_MCACHE_MANIFESTS, other, d, 300, &e), -1,
	       "put of bytes that do not hash to the digest: refused");
	is_int(e.code, OCI_E_USAGE, "  as a usage error");
	ok(!present(dir, "manifests", other), "  nothing stored");
	is_int(oci_mcache_put(mc, "../x", dg, d, 300, &e), -1, "an unknown kind: refused");
	ok(!oci_mcache_get(mc, OCI_MCACHE_MANIFESTS, "sha256:../../etc", 1 << 20, &b),
	   "an invalid digest names no entry");

	/* a corrupt entry: the bytes under dg are another document's */
	_cleanup_free_ char *p = oci_xasprintf("%s/manifests/sha256/%s", dir, dg + 7);
	FILE *f = fopen(p, "w");
	fwrite(o, 1, 300, f);
	fclose(f);
	ok(!oci_mcache_get(mc, OCI_MCACHE_MANIFESTS, dg, 1 << 20, &b) && !b.data,
	   "bytes that do not match the name: a miss, nothing returned");
	ok(!present(dir, "manifests", dg), "  and the entry is removed");
	is_int(oci_mcache_put(mc, OCI_MCACHE_MANIFESTS, dg, d, 300, &e), 0, "  a new put replaces it");
	ok(oci_mcache_get(mc, OCI_MCACHE_MANIFESTS, dg, 1 << 20, &b), "  read back");
	oci_buf_release(&b);
	oci_mcache_free(mc);

	ok(oci_mcache_new(NULL, 0) == NULL, "no directory: no cache");
	ok(!oci_mcache_get(NULL, OCI_MCACHE_MANIFESTS, dg, 1 << 20, &b), "  every get misses");
	is_int(oci_mcache_put(NULL, OCI_MCACHE_MANIFESTS, dg, d, 300, &e), 0, "  a put does nothing");
}

static void test_unwritable(void)
{
	_cleanup_free_ char *file = oci_xasprintf("%s/a-file", tmpdir);
	FILE *f = fopen(file, "w");
	fclose(f);
	_cleanup_free_ char *dir = oci_xasprintf("%s/ccreg", file);
	struct oci_mcache *mc = oci_mcache_new(dir, 1 << 20);
	char dg[OCI_DIGEST_MAX];
	_cleanup_free_ char *d = doc(3, 100, dg);
	struct oci_buf b = { 0 };
	oci_error e = { 0 };

	is_int(oci_mcache_put(mc, OCI_MCACHE_CONFIGS, dg, d, 100, &e), -1,
	       "a cache under a regular file: the put fails");
	is_int(e.code, OCI_E_IO, "  as a local I/O error");
	ok(strstr(e.msg, file) != NULL, "  naming the path (%s)", e.msg);
	ok(!oci_mcache_get(mc, OCI_MCACHE_CONFIGS, dg, 1 << 20, &b), "  gets miss");
	oci_mcache_free(mc);
}

static void test_bound(const char *dir)
{
	/* 10 KiB bound, 3 KiB documents: the fourth put evicts */
	struct oci_mcache *mc = oci_mcache_new(dir, 10 << 10);
	char dg[5][OCI_DIGEST_MAX];
	char *d[5];
	struct oci_buf b = { 0 };
	oci_error e = { 0 };

	for (int i = 0; i < 5; i++)
		d[i] = doc(100 + i, 3 << 10, dg[i]);
	for (int i = 0; i < 3; i++) {
		oci_mcache_put(mc, i == 1 ? OCI_MCACHE_CONFIGS : OCI_MCACHE_MANIFESTS, dg[i], d[i],
		               3 << 10, &e);
		age(dir, i == 1 ? "configs" : "manifests", dg[i], 3600 * (10 - i));
	}
	/* 0 is the oldest, then 1, then 2; reading 0 makes it the most recent */
	ok(oci_mcache_get(mc, OCI_MCACHE_MANIFESTS, dg[0], 1 << 20, &b), "three entries: all there");
	oci_buf_release(&b);
	is_int(oci_mcache_put(mc, OCI_MCACHE_MANIFESTS, dg[3], d[3], 3 << 10, &e), 0,
	       "a fourth entry goes over the bound");
	ok(!present(dir, "configs", dg[1]), "  the least recently used is evicted (across kinds)");
	ok(present(dir, "manifests", dg[0]), "  the one just read stays");
	ok(present(dir, "manifests", dg[2]) && present(dir, "manifests", dg[3]),
	   "  the others stay (9 KiB, under 90%% of the bound)");
	oci_mcache_free(mc);

	/* a new process learns the total by a scan */
	mc = oci_mcache_new(dir, 10 << 10);
	oci_mcache_put(mc, OCI_MCACHE_MANIFESTS, dg[4], d[4], 3 << 10, &e);
	int n = present(dir, "manifests", dg[0]) + present(dir, "manifests", dg[2]) +
	        present(dir, "manifests", dg[3]) + present(dir, "manifests", dg[4]);
	is_int(n, 3, "another process over the bound: one evicted");
	ok(present(dir, "manifests", dg[4]), "  not the new entry");
	oci_mcache_free(mc);
	for (int i = 0; i < 5; i++)
		free(d[i]);
}

static void test_tags(const char *dir)
{
	struct oci_mcache *mc = oci_mcache_new(dir, 1 << 20);
	char dg[OCI_DIGEST_MAX], got[OCI_DIGEST_MAX];
	oci_error e = { 0 };
	struct stat st;

	oci_digest_buf("sha256", "a", 1, dg);
	ok(!oci_mcache_tag_get(mc, "r.io/a/b:1", got), "a tag never seen: no hint");
	is_int(oci_mcache_tag_put(mc, "r.io/a/b:1", dg, &e), 0, "a tag remembered");
	ok(oci_mcache_tag_get(mc, "r.io/a/b:1", got) && strcmp(got, dg) == 0, "  read back");
	ok(!oci_mcache_tag_get(mc, "r.io/a/b:2", got), "  another tag of the repository: no hint");
	ok(!oci_mcache_tag_get(mc, "q.io/a/b:1", got), "  the same tag on another registry: no hint");
	struct oci_buf b = { 0 };
	char key[OCI_DIGEST_MAX];
	oci_digest_buf("sha256", "r.io/a/b:1", 10, key);
	ok(!oci_mcache_get(mc, OCI_MCACHE_TAGS, key, 1 << 20, &b) && present(dir, "tags", key),
	   "  a hint is not a document (oci_mcache_get misses, the entry stays)");
	_cleanup_free_ char *path = oci_xasprintf("%s/tags/sha256/%s", dir, oci_digest_hex(key));
	stat(path, &st);
	age(dir, "tags", key, 3600);
	oci_mcache_tag_put(mc, "r.io/a/b:1", dg, &e);
	struct stat st2;
	stat(path, &st2);
	ok(st2.st_mtime < st.st_mtime, "  remembering the same digest writes nothing");
	is_int(oci_mcache_tag_put(mc, "r.io/a/b:1", "sha256:nothex", &e), -1,
	       "a digest that is not one: refused");
	FILE *f = fopen(path, "w");
	fputs("../../etc/passwd", f);
	fclose(f);
	ok(!oci_mcache_tag_get(mc, "r.io/a/b:1", got), "an entry that holds no digest: no hint");
	oci_mcache_free(mc);
}

static void test_max(void)
{
	unsetenv("CCREG_CACHE_MAX_MB");
	is_int(oci_mcache_max_bytes(), 64LL << 20, "default bound: 64 MiB");
	setenv("CCREG_CACHE_MAX_MB", "5", 1);
	is_int(oci_mcache_max_bytes(), 5LL << 20, "CCREG_CACHE_MAX_MB=5: 5 MiB");
	setenv("CCREG_CACHE_MAX_MB", "lots", 1);
	is_int(oci_mcache_max_bytes(), 64LL << 20, "CCREG_CACHE_MAX_MB that is not a number: the default");
	setenv("CCREG_CACHE_MAX_MB", "0", 1);
	is_int(oci_mcache_max_bytes(), 64LL << 20, "CCREG_CACHE_MAX_MB=0: the default");
	unsetenv("CCREG_CACHE_MAX_MB");
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	_cleanup_free_ char *dir = oci_xasprintf("%s/ccreg", tmpdir);
	_cleanup_free_ char *dir2 = oci_xasprintf("%s/bound", tmpdir);
	test_roundtrip(dir);
	test_unwritable();
	test_bound(dir2);
	test_tags(dir);
	test_max();
	nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
