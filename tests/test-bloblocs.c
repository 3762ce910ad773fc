/* tests/test-bloblocs.c: known blob locations (oci/bloblocs.h): most recent
 * first, per registry, forgotten when stale, bounded, corrupt entries
 * ignored, no cache. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/bloblocs.h"
#include "oci/cleanup.h"
#include "tests/tap.h"

#define BLOB "sha256:1111111111111111111111111111111111111111111111111111111111111111"

static char tmpdir[] = "/tmp/ccreg-test-bloblocs.XXXXXX";

static int remove_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	return remove(p);
}

static int n_files;
static int count_file(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	n_files += flag == FTW_F;
	return 0;
}

/* The list as "a,b,c" ("" when none). */
static char *joined(char **v)
{
	struct oci_buf b = { 0 };
	for (size_t i = 0; v && v[i]; i++) {
		if (i)
			oci_buf_append(&b, ",", 1);
		oci_buf_append(&b, v[i], strlen(v[i]));
	}
	oci_buf_append(&b, "", 1);
	oci_strvfreep(&v);
	return b.data;
}

static char *get(const char *dir, const char *registry, const char *except)
{
	return joined(oci_bloblocs_get(dir, BLOB, registry, except));
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	_cleanup_free_ char *dir = oci_xasprintf("%s/ccreg", tmpdir);
	_cleanup_free_ char *path = oci_xasprintf("%s/locations/sha256/%s.json", dir, BLOB + 7);
	char *s;

	ok(oci_bloblocs_get(dir, BLOB, "r.io", NULL) == NULL, "empty cache: nothing known");
	oci_bloblocs_put(dir, BLOB, "r.io", "a/one");
	oci_bloblocs_put(dir, BLOB, "r.io", "a/two");
	oci_bloblocs_put(dir, BLOB, "other.io", "a/one");
	ok(access(path, R_OK) == 0, "entry at locations/sha256/<hex>.json");
	is_str(s = get(dir, "r.io", NULL), "a/two,a/one", "most recent first, per registry");
	free(s);
	is_str(s = get(dir, "r.io", "a/two"), "a/one", "the destination itself left out");
	free(s);
	is_str(s = get(dir, "other.io", NULL), "a/one", "another registry has its own");
	free(s);
	oci_bloblocs_put(dir, BLOB, "r.io", "a/one");
	is_str(s = get(dir, "r.io", NULL), "a/two,a/one", "seen again within the hour: unchanged");
	free(s);

	oci_bloblocs_forget(dir, BLOB, "r.io", "a/two");
	is_str(s = get(dir, "r.io", NULL), "a/one", "a stale location is forgotten");
	free(s);
	is_str(s = get(dir, "other.io", NULL), "a/one", "  only on its registry");
	free(s);

	for (int i = 0; i < 20; i++) {
		char repo[32];
		snprintf(repo, sizeof repo, "many/%02d", i);
		oci_bloblocs_put(dir, BLOB, "r.io", repo);
	}
	char **v = oci_bloblocs_get(dir, BLOB, "r.io", NULL);
	size_t n = 0;
	while (v && v[n])
		n++;
	ok(n <= OCI_BLOBLOCS_PER_BLOB && v && strcmp(v[0], "many/19") == 0,
	   "at most %d locations per blob, the newest kept", OCI_BLOBLOCS_PER_BLOB);
	oci_strvfreep(&v);

	static const char *const bad[] = {
		"{\"version\": 1, \"digest\": \"" BLOB "\", \"locations\": [",
		"",
		"{\"version\": 2, \"digest\": \"" BLOB "\", \"locations\": []}",
		"{\"version\": 1, \"digest\": \"sha256:22\", \"locations\": [{\"registry\": \"r.io\", \"repository\": \"x\"}]}",
		"{\"version\": 1, \"digest\": \"" BLOB "\", \"locations\": [{\"registry\": 7, \"repository\": \"x\"}]}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		FILE *f = fopen(path, "w");
		if (f) {
			fputs(bad[i], f);
			fclose(f);
		}
		ok(oci_bloblocs_get(dir, BLOB, "r.io", NULL) == NULL, "corrupt entry %zu: nothing known", i);
	}
	oci_bloblocs_put(dir, BLOB, "r.io", "a/new");
	is_str(s = get(dir, "r.io", NULL), "a/new", "a write replaces a corrupt entry");
	free(s);

	/* the bound on blobs: the least recently written go */
	for (int i = 0; i < 10; i++) {
		char dg[80];
		snprintf(dg, sizeof dg, "sha256:%064d", i + 100);
		oci_bloblocs_put(dir, dg, "r.io", "x/y");
	}
	oci_bloblocs_prune(dir, 4);
	n_files = 0;
	nftw(dir, count_file, 8, FTW_PHYS);
	is_int(n_files, 4, "prune keeps at most max entries");

	ok(oci_bloblocs_get(NULL, BLOB, "r.io", NULL) == NULL, "no cache: nothing known");
	oci_bloblocs_put(NULL, BLOB, "r.io", "a/b");
	oci_bloblocs_put("/dev/null/cache", BLOB, "r.io", "a/b");
	ok(oci_bloblocs_get("/dev/null/cache", BLOB, "r.io", NULL) == NULL,
	   "a cache that cannot be written: nothing kept, no failure");
	oci_bloblocs_put(dir, "sha256:../../escape", "r.io", "a/b");
	_cleanup_free_ char *escape = oci_xasprintf("%s/escape.json", dir);
	ok(access(escape, F_OK) < 0, "an invalid digest names no entry");

	nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
