/* tests/test-layerstats.c: the streaming layer analyzer on tars built here
 * with libarchive: counts, diff_id, gzip (several members), zstd, plain tar,
 * and the failures (digest, diff_id, corrupt and truncated data). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "oci/layerstats.h"
#include "oci/util.h"
#include "tap.h"

#define LONG_TARGET "../../usr/share/julia/stdlib/v1.10/LinearAlgebra/src/blas/kernel.so"

/* Threads of this process, from /proc. */
static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static void add(struct archive *a, const char *path, unsigned type, int64_t size,
                const char *link, bool hard)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_size(e, size);
	if (link && hard)
		archive_entry_set_hardlink(e, link);
	else if (link)
		archive_entry_set_symlink(e, link);
	archive_write_header(a, e);
	for (int64_t i = 0; i < size; i++) {
		char c = (char)(i * 7 + 3);
		archive_write_data(a, &c, 1);
	}
	archive_entry_free(e);
}

/* A tar (optionally zstd-compressed by libarchive) with known counts. */
static struct oci_buf make_tar(bool zstd)
{
	struct oci_buf b = { 0 };
	size_t cap = 1 << 20, used = 0;
	char *mem = oci_xmalloc(cap);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if (zstd)
		archive_write_add_filter_zstd(a);
	archive_write_open_memory(a, mem, cap, &used);
	add(a, "a/", AE_IFDIR, 0, NULL, false);
	add(a, "a/f", AE_IFREG, 5000, NULL, false);
	add(a, "a/empty", AE_IFREG, 0, NULL, false);
	add(a, "a/short", AE_IFLNK, 0, "f", false);
	add(a, "a/long", AE_IFLNK, 0, LONG_TARGET, false);
	add(a, "a/h", AE_IFREG, 0, "a/f", true);
	add(a, "a/.wh.gone", AE_IFREG, 0, NULL, false);
	add(a, "a/.wh..wh..opq", AE_IFREG, 0, NULL, false);
	add(a, "a/fifo", AE_IFIFO, 0, NULL, false);
	archive_write_close(a);
	archive_write_free(a);
	oci_buf_append(&b, mem, used);
	free(mem);
	return b;
}

/* gzip of p in `members` members, plus `pad` zero bytes after them. */
static struct oci_buf gzip_of(const char *p, size_t n, int members, size_t pad)
{
	struct oci_buf b = { 0 };
	size_t start = 0;
	for (int m = 0; m < members; m++) {
		size_t end = m == members - 1 ? n : n / (size_t)members * (size_t)(m + 1);
		z_stream z = { 0 };
		deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
		size_t cap = deflateBound(&z, end - start) + 64;
		unsigned char *out = oci_xmalloc(cap);
		z.next_in = (Bytef *)p + start;
		z.avail_in = (uInt)(end - start);
		z.next_out = out;
		z.avail_out = (uInt)cap;
		deflate(&z, Z_FINISH);
		oci_buf_append(&b, out, cap - z.avail_out);
		deflateEnd(&z);
		free(out);
		start = end;
	}
	for (size_t i = 0; i < pad; i++)
		oci_buf_append(&b, "", 1);
	return b;
}

/* Feed blob in chunks of `chunk` bytes; returns finish's result. */
static int run(const struct oci_buf *blob, size_t chunk, const char *digest, const char *diff_id,
               struct oci_layer_stats *st, char dg[OCI_DIGEST_MAX], oci_error *err)
{
	struct oci_layer *l = oci_layer_new(OCI_COMP_UNKNOWN, digest, diff_id);
	for (size_t off = 0; off < blob->len; off += chunk) {
		size_t k = blob->len - off < chunk ? blob->len - off : chunk;
		oci_layer_feed(l, blob->data + off, k, err);
	}
	memset(st, 0, sizeof *st);
	int rc = oci_layer_finish(l, st, dg, err);
	oci_layer_free(l);
	return rc;
}

static void check_counts(const struct oci_layer_stats *st, const struct oci_buf *tar,
                         const char *what)
{
	char name[128];
#define C(field, want)                                                   \
	snprintf(name, sizeof name, "%s: " #field, what);               \
	is_int(st->field, want, name)
	C(entries, 9);
	C(files, 2);
	C(file_bytes, 5000);
	C(dirs, 1);
	C(symlinks, 2);
	C(hardlinks, 1);
	C(whiteouts, 1);
	C(opaque_dirs, 1);
	C(on_disk_bytes, 8192 + 4096 + 4096);
	C(tar_bytes, (long long)tar->len);
#undef C
}

int main(void)
{
	struct oci_buf tar = make_tar(false);
	struct oci_layer_stats st;
	char tar_dg[OCI_DIGEST_MAX], dg[OCI_DIGEST_MAX], blob_dg[OCI_DIGEST_MAX];
	oci_error err = { 0 };
	oci_digest_buf("sha256", tar.data, tar.len, tar_dg);

	is_int(run(&tar, 1000, NULL, tar_dg, &st, dg, &err), 0, "plain tar");
	check_counts(&st, &tar, "plain");
	is_str(dg, tar_dg, "plain: diff_id");
	is_int(st.compressed_bytes, (long long)tar.len, "plain: compressed = tar");

	struct oci_buf gz = gzip_of(tar.data, tar.len, 1, 0);
	oci_digest_buf("sha256", gz.data, gz.len, blob_dg);
	is_int(run(&gz, 7, blob_dg, tar_dg, &st, dg, &err), 0, "gzip, 7-byte chunks");
	check_counts(&st, &tar, "gzip");
	is_int(st.compressed_bytes, (long long)gz.len, "gzip: compressed bytes");
	int64_t est = oci_gzip_isize_estimate((unsigned char *)gz.data + gz.len - 4, (int64_t)gz.len);
	is_int(est, (long long)tar.len, "gzip: ISIZE estimate is exact");

	struct oci_buf gz3 = gzip_of(tar.data, tar.len, 3, 100);
	is_int(run(&gz3, 4096, NULL, tar_dg, &st, dg, &err), 0, "gzip in 3 members + zero padding");
	check_counts(&st, &tar, "multi-member");
	is_int(oci_gzip_isize_estimate((unsigned char *)gz3.data + gz3.len - 4, (int64_t)gz3.len), -1,
	       "padded multi-member: no ISIZE estimate");

	struct oci_buf zs = make_tar(true);
	is_int(run(&zs, 333, NULL, tar_dg, &st, dg, &err), 0, "zstd");
	check_counts(&st, &tar, "zstd");
	is_int(st.compressed_bytes, (long long)zs.len, "zstd: compressed bytes");

	/* failures */
	is_int(run(&gz, 1 << 20, tar_dg, NULL, &st, dg, &err), -1, "wrong digest refused");
	ok(strstr(err.msg, "digest mismatch") != NULL, "  says digest mismatch: %s", err.msg);
	is_int(run(&gz, 1 << 20, NULL, blob_dg, &st, dg, &err), -1, "wrong diff_id refused");
	ok(strstr(err.msg, "diff_id mismatch") != NULL, "  says diff_id mismatch: %s", err.msg);
	is_int(err.code, OCI_E_REGISTRY, "  code 3");

	struct oci_buf bad = { 0 };
	oci_buf_append(&bad, gz.data, gz.len);
	bad.data[gz.len / 2] ^= 0x55;
	is_int(run(&bad, 512, NULL, NULL, &st, dg, &err), -1, "corrupt gzip refused");
	printf("# %s\n", err.msg);
	struct oci_buf trunc = { 0 };
	oci_buf_append(&trunc, gz.data, gz.len - 10);
	is_int(run(&trunc, 512, NULL, NULL, &st, dg, &err), -1, "truncated gzip refused");
	ok(strstr(err.msg, "truncated") != NULL, "  says truncated: %s", err.msg);
	struct oci_buf junk = { 0 };
	oci_buf_append(&junk, gz.data, gz.len);
	oci_buf_append(&junk, "junk", 4);
	is_int(run(&junk, 512, NULL, NULL, &st, dg, &err), -1, "garbage after gzip refused");

	/* an empty layer: only the tar's end blocks (what docker writes for
	 * metadata-only steps) */
	struct oci_buf empty = { 0 };
	{
		char *zero = oci_xcalloc(1, 1024);
		oci_buf_append(&empty, zero, 1024);
		free(zero);
	}
	struct oci_buf egz = gzip_of(empty.data, empty.len, 1, 0);
	is_int(run(&egz, 4096, NULL, NULL, &st, dg, &err), 0, "empty tar layer");
	is_int(st.entries, 0, "  no entries");
	is_int(st.tar_bytes, 1024, "  1024 tar bytes");
	struct oci_buf none = { 0 };
	is_int(run(&none, 4096, NULL, NULL, &st, dg, &err), 0, "zero-byte blob");
	is_int(st.tar_bytes, 0, "  nothing counted");
	oci_buf_release(&empty);
	oci_buf_release(&egz);

	/* freeing mid-stream stops and joins the worker instead of waiting for
	 * the rest of the stream: run it in a child so that a hang fails the test
	 * (the alarm) rather than stalling it */
	int before = thread_count();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(60);
		struct oci_layer *l = oci_layer_new(OCI_COMP_GZIP, NULL, NULL);
		if (oci_layer_feed(l, gz.data, gz.len / 2, &err) < 0)
			_exit(3);
		int during = thread_count();
		oci_layer_free(l);
		_exit(during <= before ? 4 : thread_count() != before ? 5 : 0);
	}
	int status = 0;
	ok(pid > 0 && waitpid(pid, &status, 0) == pid, "free without finish: the child ran");
	ok(WIFEXITED(status), "free without finish returns (no hang, no crash)");
	is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0,
	       "  a worker ran mid-stream and free joined it (3: feed failed, 4: no worker, 5: left running)");

	/* a stream larger than the ring (blocks the feeder, then drains) */
	struct oci_buf big = { 0 };
	{
		size_t cap = 24 << 20, used = 0;
		char *mem = oci_xmalloc(cap);
		struct archive *a = archive_write_new();
		archive_write_set_format_ustar(a);
		archive_write_open_memory(a, mem, cap, &used);
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, "big");
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, 20 << 20);
		archive_write_header(a, e);
		char *zero = oci_xcalloc(1, 1 << 20);
		for (int i = 0; i < 20; i++)
			archive_write_data(a, zero, 1 << 20);
		free(zero);
		archive_entry_free(e);
		archive_write_close(a);
		archive_write_free(a);
		oci_buf_append(&big, mem, used);
		free(mem);
	}
	is_int(run(&big, 65536, NULL, NULL, &st, dg, &err), 0, "20 MB plain tar through a 4 MB ring");
	is_int(st.file_bytes, 20 << 20, "  file bytes");
	is_int(st.tar_bytes, (long long)big.len, "  tar bytes");

	/* ISIZE estimates */
	unsigned char t[4] = { 0x00, 0x10, 0x00, 0x00 }; /* 4096 */
	is_int(oci_gzip_isize_estimate(t, 1000), 4096, "ISIZE 4096 from 1000 bytes");
	is_int(oci_gzip_isize_estimate(t, 100), -1, "ratio over 32: ambiguous");
	unsigned char w[4] = { 0x00, 0x00, 0x00, 0x40 }; /* 1 GiB */
	is_int(oci_gzip_isize_estimate(w, 2000000000LL), -1, "wrapped, several candidates: ambiguous");
	is_int(oci_gzip_isize_estimate(w, 150000000LL), 1LL << 30, "1 GiB from 150 MB");

	oci_buf_release(&tar);
	oci_buf_release(&gz);
	oci_buf_release(&gz3);
	oci_buf_release(&zs);
	oci_buf_release(&bad);
	oci_buf_release(&trunc);
	oci_buf_release(&junk);
	oci_buf_release(&big);
	printf("# inflate backend: %s\n", oci_layer_inflate_backend());
	return tap_done();
}
