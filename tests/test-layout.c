/* tests/test-layout.c: OCI layouts: spec parsing, blob writing (verified,
 * temp name then rename, nothing left on failure), index.json updates that
 * keep other entries, and reading back. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/cleanup.h"
#include "oci/layout.h"
#include "oci/mediatype.h"
#include "oci/util.h"
#include "tap.h"

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")))
			n++;
	if (d)
		closedir(d);
	return n;
}

static void rm_rf(const char *dir)
{
	_cleanup_free_ char *cmd = oci_xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# cleanup of %s failed\n", dir);
}

int main(void)
{
	oci_error err = { 0 };
	char tmpl[] = "/tmp/test-layout.XXXXXX";
	const char *root = mkdtemp(tmpl);
	_cleanup_free_ char *dir = oci_xasprintf("%s/lay", root);
	_cleanup_free_ char *blobs = oci_xasprintf("%s/blobs/sha256", dir);

	/* spec parsing */
	char *d = NULL, *n = NULL;
	ok(oci_layout_parse_spec("/x/y:1.0", &d, &n, &err) == 0, "parse DIR:NAME");
	is_str(d, "/x/y", "dir");
	is_str(n, "1.0", "name");
	free(d), free(n);
	ok(oci_layout_parse_spec("rel", &d, &n, &err) == 0 && !n, "DIR alone has no name");
	free(d);
	ok(oci_layout_parse_spec(":x", &d, &n, &err) < 0 && err.code == OCI_E_USAGE, "empty DIR refused");
	ok(oci_layout_parse_spec("d:", &d, &n, &err) < 0, "empty NAME refused");

	/* not a layout yet */
	struct oci_layout l;
	ok(oci_layout_open(&l, dir, &err) < 0 && err.code == OCI_E_USAGE, "missing layout is a usage error");

	ok(oci_layout_create(dir, &err) == 0, "create");
	ok(oci_layout_create(dir, &err) == 0, "create again keeps it");

	/* blobs */
	const char *data = "hello";
	char dg[OCI_DIGEST_MAX];
	oci_digest_buf("sha256", data, 5, dg);
	ok(!oci_layout_blob_exists(dir, dg, -1), "blob absent");
	ok(oci_layout_blob_put(dir, dg, data, 5, &err) == 0, "put a blob");
	ok(oci_layout_blob_exists(dir, dg, 5), "blob present with its size");
	ok(!oci_layout_blob_exists(dir, dg, 6), "a wrong size is not the blob");

	/* a stream whose content does not match: no file under the final name */
	char other[OCI_DIGEST_MAX];
	oci_digest_buf("sha256", "other", 5, other);
	struct oci_blob_writer w;
	ok(oci_layout_blob_begin(&w, dir, other, 5, true, &err) == 0, "begin");
	ok(oci_layout_blob_write(&w, "OTHER", 5, &err) == 0, "write");
	ok(oci_layout_blob_commit(&w, &err) < 0 && strstr(err.msg, "digest mismatch"),
	   "commit refuses a digest mismatch");
	ok(!oci_layout_blob_exists(dir, other, -1), "nothing under the final name");
	is_int(count_files(blobs), 1, "and no temp file left");

	ok(oci_layout_blob_begin(&w, dir, other, 5, true, &err) == 0, "begin again");
	ok(oci_layout_blob_write(&w, "othe", 4, &err) == 0, "a short write");
	ok(oci_layout_blob_commit(&w, &err) < 0, "commit refuses a short blob");
	ok(oci_layout_blob_begin(&w, dir, other, 5, true, &err) == 0, "begin a third time");
	ok(oci_layout_blob_write(&w, "others", 6, &err) < 0, "writing past the size fails");
	oci_layout_blob_abort(&w);
	is_int(count_files(blobs), 1, "abort leaves nothing");

	/* index.json */
	struct oci_descriptor desc = { .media_type = OCI_MT_OCI_MANIFEST, .digest = dg, .size = 5 };
	ok(oci_layout_set_ref(dir, "a", &desc, &err) == 0, "set ref a");
	ok(oci_layout_set_ref(dir, "b", &desc, &err) == 0, "set ref b");
	ok(oci_layout_set_ref(dir, "a", &desc, &err) == 0, "set ref a again");
	ok(oci_layout_open(&l, dir, &err) == 0, "open");
	is_int(l.index.n_manifests, 2, "two entries: a replaced, b kept");
	const struct oci_descriptor *f = oci_layout_find(&l, "b", &err);
	ok(f && strcmp(f->digest, dg) == 0, "find by name");
	ok(!oci_layout_find(&l, NULL, &err) && strstr(err.msg, "name one"), "no name with two entries");
	ok(!oci_layout_find(&l, "zz", &err) && strstr(err.msg, "b, a"), "unknown name lists the names");
	struct oci_buf b = { 0 };
	ok(oci_layout_blob_read(&l, dg, 100, &b, &err) == 0 && b.len == 5, "read a blob, verified");
	oci_buf_release(&b);
	int64_t size = 0;
	int fd = oci_layout_blob_open(&l, dg, &size, &err);
	ok(fd >= 0 && size == 5, "open a blob for streaming");
	if (fd >= 0)
		close(fd);
	ok(oci_layout_blob_open(&l, other, NULL, &err) < 0, "a missing blob fails to open");
	oci_layout_release(&l);

	/* a corrupt blob is caught when read */
	_cleanup_free_ char *p = oci_layout_blob_path(dir, dg);
	FILE *c = fopen(p, "w");
	fputs("HELLO", c);
	fclose(c);
	ok(oci_layout_open(&l, dir, &err) == 0, "reopen");
	ok(oci_layout_blob_read(&l, dg, 100, &b, &err) < 0 && strstr(err.msg, "corrupt"), "corruption detected");
	oci_buf_release(&b);
	oci_layout_release(&l);

	/* a different imageLayoutVersion is refused */
	_cleanup_free_ char *lf = oci_xasprintf("%s/oci-layout", dir);
	c = fopen(lf, "w");
	fputs("{\"imageLayoutVersion\":\"2.0.0\"}", c);
	fclose(c);
	ok(oci_layout_open(&l, dir, &err) < 0 && strstr(err.msg, "2.0.0"), "unsupported version refused");

	rm_rf(root);
	return tap_done();
}
