/* tests/test-archive.c: docker-archive reading on tarballs built here with
 * libarchive: manifest.json, image selection, symlinked duplicate layers,
 * plain layers gzip-compressed on the fly and gzip layers passed through,
 * both with the right diff_id. */
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "oci/archive.h"
#include "oci/util.h"
#include "tap.h"

static void add(struct archive *a, const char *path, const void *data, size_t n, const char *symlink)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, symlink ? AE_IFLNK : AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, symlink ? 0 : (la_int64_t)n);
	if (symlink)
		archive_entry_set_symlink(e, symlink);
	archive_write_header(a, e);
	if (!symlink)
		archive_write_data(a, data, n);
	archive_entry_free(e);
}

static struct oci_buf gz(const void *p, size_t n)
{
	struct oci_buf b = { 0 };
	z_stream z = { 0 };
	deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
	unsigned char out[65536];
	z.next_in = (unsigned char *)p;
	z.avail_in = (uInt)n;
	int r;
	do {
		z.next_out = out;
		z.avail_out = sizeof out;
		r = deflate(&z, Z_FINISH);
		oci_buf_append(&b, out, sizeof out - z.avail_out);
	} while (r != Z_STREAM_END);
	deflateEnd(&z);
	return b;
}

/* Read a whole layer stream; returns the inflated bytes' length. */
static size_t drain(struct oci_archive_layer *l, struct oci_buf *gzout, oci_error *err)
{
	char buf[1000]; /* small on purpose: many calls */
	ssize_t r;
	while ((r = oci_archive_layer_read(l, buf, sizeof buf, err)) > 0)
		oci_buf_append(gzout, buf, (size_t)r);
	return r < 0 ? (size_t)-1 : gzout->len;
}

static struct oci_buf gunzip(const struct oci_buf *in)
{
	struct oci_buf b = { 0 };
	z_stream z = { 0 };
	inflateInit2(&z, 31);
	unsigned char out[65536];
	z.next_in = (unsigned char *)in->data;
	z.avail_in = (uInt)in->len;
	int r;
	do {
		z.next_out = out;
		z.avail_out = sizeof out;
		r = inflate(&z, Z_NO_FLUSH);
		oci_buf_append(&b, out, sizeof out - z.avail_out);
	} while (r == Z_OK);
	inflateEnd(&z);
	return b;
}

int main(void)
{
	oci_error err = { 0 };
	char tmpl[] = "/tmp/test-archive.XXXXXX";
	int fd = mkstemp(tmpl);
	close(fd);

	/* layer contents: 300 kB of varied bytes (spans many reads) */
	size_t n1 = 300000;
	char *l1 = oci_xmalloc(n1);
	for (size_t i = 0; i < n1; i++)
		l1[i] = (char)((i * 2654435761u) >> 13);
	const char *l2 = "second layer, stored gzip-compressed";
	struct oci_buf l2gz = gz(l2, strlen(l2));
	char d1[OCI_DIGEST_MAX], d2[OCI_DIGEST_MAX];
	oci_digest_buf("sha256", l1, n1, d1);
	oci_digest_buf("sha256", l2, strlen(l2), d2);

	const char *manifest =
		"[{\"Config\":\"cfg.json\",\"RepoTags\":[\"a/b:1\"],"
		"\"Layers\":[\"l1/layer.tar\",\"l2/layer.tar\",\"l3/layer.tar\"]},"
		"{\"Config\":\"cfg.json\",\"RepoTags\":null,\"Layers\":[\"l2/layer.tar\"]}]";
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_open_filename(a, tmpl);
	add(a, "l1/layer.tar", l1, n1, NULL);
	add(a, "./l2/layer.tar", l2gz.data, l2gz.len, NULL);
	add(a, "l3/layer.tar", NULL, 0, "../l1/layer.tar");
	add(a, "cfg.json", "{}", 2, NULL);
	add(a, "manifest.json", manifest, strlen(manifest), NULL);
	archive_write_close(a);
	archive_write_free(a);

	char *file = NULL, *ref = NULL;
	ok(oci_archive_parse_spec("x.tar:a/b:1", &file, &ref, &err) == 0, "parse FILE:REF");
	is_str(file, "x.tar", "file");
	is_str(ref, "a/b:1", "ref keeps its colon");
	free(file), free(ref);
	ok(oci_archive_parse_spec("x.tar", &file, &ref, &err) == 0 && !ref, "FILE alone");
	free(file);

	struct oci_archive ar;
	ok(oci_archive_open(&ar, tmpl, &err) == 0, "open the archive");
	is_int(ar.n_images, 2, "two images in manifest.json");
	ok(!oci_archive_find(&ar, NULL, &err) && err.code == OCI_E_USAGE, "two images need a choice");
	const struct oci_archive_image *im = oci_archive_find(&ar, "a/b:1", &err);
	ok(im == &ar.images[0], "find by RepoTag");
	ok(oci_archive_find(&ar, "host:5000/a/b:1", &err) == &ar.images[0], "a longer name ending in the tag");
	ok(oci_archive_find(&ar, "@1", &err) == &ar.images[1], "find by index");
	ok(!oci_archive_find(&ar, "@2", &err), "index out of range");
	is_str(im->layers[2], "l1/layer.tar", "the symlinked layer resolves to the data entry");
	is_str(im->layers[1], "l2/layer.tar", "./ prefix normalized");

	struct oci_buf cfg = { 0 };
	ok(oci_archive_read_entry(&ar, "cfg.json", 100, &cfg, &err) == 0 && cfg.len == 2, "read the config");
	oci_buf_release(&cfg);
	ok(oci_archive_read_entry(&ar, "nope", 100, &cfg, &err) < 0 && strstr(err.msg, "no entry"),
	   "a missing entry fails");

	/* plain layer: compressed on the fly */
	struct oci_archive_layer *l;
	struct oci_buf out = { 0 };
	char did[OCI_DIGEST_MAX];
	ok(oci_archive_layer_open(&ar, im->layers[0], 1, &l, &err) == 0, "open plain layer");
	is_int(oci_archive_layer_entry_size(l), (long long)n1, "entry size");
	ok(drain(l, &out, &err) != (size_t)-1, "read it");
	ok(out.len > 2 && (unsigned char)out.data[0] == 0x1f && (unsigned char)out.data[1] == 0x8b,
	   "the output is gzip");
	struct oci_buf back = gunzip(&out);
	ok(back.len == n1 && memcmp(back.data, l1, n1) == 0, "and inflates to the layer");
	ok(oci_archive_layer_diff_id(l, did, &err) == 0, "diff_id");
	is_str(did, d1, "diff_id is the plain tar's digest");
	is_int(oci_archive_layer_consumed(l), (long long)n1, "consumed the whole entry");
	oci_archive_layer_close(l);
	oci_buf_release(&back);
	oci_buf_release(&out);

	/* gzip layer: passed through byte for byte */
	ok(oci_archive_layer_open(&ar, im->layers[1], 6, &l, &err) == 0, "open gzip layer");
	ok(drain(l, &out, &err) == l2gz.len && memcmp(out.data, l2gz.data, l2gz.len) == 0,
	   "gzip layer passed through unchanged");
	ok(oci_archive_layer_diff_id(l, did, &err) == 0, "diff_id of a gzip layer");
	is_str(did, d2, "is the inflated tar's digest");
	oci_archive_layer_close(l);
	oci_buf_release(&out);

	/* diff_id before the end is refused */
	ok(oci_archive_layer_open(&ar, im->layers[0], 1, &l, &err) == 0, "open again");
	char small[10];
	ok(oci_archive_layer_read(l, small, sizeof small, &err) > 0, "read a little");
	ok(oci_archive_layer_diff_id(l, did, &err) < 0, "no diff_id before the end");
	oci_archive_layer_close(l);
	oci_archive_release(&ar);

	/* not a docker-archive */
	char tmpl2[] = "/tmp/test-archive2.XXXXXX";
	fd = mkstemp(tmpl2);
	if (write(fd, "not a tar at all", 16) != 16)
		printf("# write failed\n");
	close(fd);
	ok(oci_archive_open(&ar, tmpl2, &err) < 0 && err.code == OCI_E_USAGE, "a non-archive is a usage error");

	unlink(tmpl);
	unlink(tmpl2);
	oci_buf_release(&l2gz);
	free(l1);
	return tap_done();
}
