/* oci/archive.c: docker-archive (docker save) reading on libarchive + zlib. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <string.h>
#include <zlib.h>

#include "oci/archive.h"
#include "oci/cleanup.h"
#include "oci/util.h"

#define READ_BLOCK (64 << 10)
#define MAX_LINK_HOPS 8

static void strv_free(char **v)
{
	oci_strvfreep(&v);
}

/* "./a//b/../c" → "a/c"; NULL when it climbs above the root. */
static char *norm_path(const char *p)
{
	_cleanup_free_ char *copy = oci_xstrdup(p);
	char *out = oci_xcalloc(1, strlen(p) + 1);
	size_t len = 0;
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			if (!len) {
				free(out);
				return NULL;
			}
			while (len && out[len - 1] != '/')
				len--;
			if (len)
				len--;
			out[len] = '\0';
			continue;
		}
		len += (size_t)sprintf(out + len, "%s%s", len ? "/" : "", c);
	}
	return out;
}

static struct archive *archive_start(const char *file, oci_error *err)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	/* `docker save | gzip` (or bzip2, xz, zstd) works too; only these
	 * filters, so a static libarchive needs no other libraries */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);
	if (archive_read_open_filename(a, file, READ_BLOCK) != ARCHIVE_OK) {
		oci_err(err, OCI_E_USAGE, "%s: %s", file, archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* Open the archive positioned at the data of `path`, following symlinks and
 * hard links to the entry holding the data.  *size gets the entry size. */
static struct archive *archive_seek(const char *file, const char *path, int64_t *size,
                                    oci_error *err)
{
	_cleanup_free_ char *want = norm_path(path);
	if (!want || !*want) {
		oci_err(err, OCI_E_USAGE, "%s: invalid entry name \"%s\"", file, path);
		return NULL;
	}
	for (int hop = 0; hop < MAX_LINK_HOPS; hop++) {
		struct archive *a = archive_start(file, err);
		if (!a)
			return NULL;
		struct archive_entry *e;
		int r;
		char *next = NULL;
		while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK ||
		       r == ARCHIVE_WARN) {
			_cleanup_free_ char *name = norm_path(archive_entry_pathname(e));
			if (!name || strcmp(name, want) != 0)
				continue;
			const char *hl = archive_entry_hardlink(e);
			if (hl) {
				next = norm_path(hl);
			} else if (archive_entry_filetype(e) == AE_IFLNK) {
				const char *t = archive_entry_symlink(e);
				const char *slash = strrchr(want, '/');
				if (!t || t[0] == '/') {
					/* docker save links within the archive, relatively */
					oci_err(err, OCI_E_USAGE, "%s: %s is a symlink to %s, outside the archive",
					        file, path, t ? t : "nothing");
					archive_read_free(a);
					return NULL;
				}
				_cleanup_free_ char *rel = oci_xasprintf("%.*s/%s", slash ? (int)(slash - want) : 0,
				                                         want, t);
				next = norm_path(rel);
			} else if (archive_entry_filetype(e) == AE_IFREG) {
				if (size)
					*size = archive_entry_size(e);
				return a;
			} else {
				oci_err(err, OCI_E_USAGE, "%s: %s is not a regular file", file, path);
				archive_read_free(a);
				return NULL;
			}
			break;
		}
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN && r != ARCHIVE_EOF) {
			oci_err(err, OCI_E_USAGE, "%s: %s", file, archive_error_string(a));
			archive_read_free(a);
			free(next);
			return NULL;
		}
		archive_read_free(a);
		if (!next) {
			if (r == ARCHIVE_EOF && hop)
				oci_err(err, OCI_E_USAGE, "%s: %s is a symlink to %s, which is not in the archive",
				        file, path, want);
			else if (r == ARCHIVE_EOF)
				oci_err(err, OCI_E_USAGE, "%s: no entry %s in the archive", file, path);
			else
				oci_err(err, OCI_E_USAGE, "%s: link %s points outside the archive", file, path);
			return NULL;
		}
		free(want);
		want = next;
	}
	oci_err(err, OCI_E_USAGE, "%s: too many links resolving %s", file, path);
	return NULL;
}

int oci_archive_read_entry(const struct oci_archive *a, const char *path, size_t max,
                           struct oci_buf *out, oci_error *err)
{
	int64_t size = 0;
	struct archive *ar = archive_seek(a->file, path, &size, err);
	if (!ar)
		return -1;
	int rc = 0;
	if (size < 0 || (uint64_t)size > max) {
		rc = oci_err(err, OCI_E_USAGE, "%s: %s is too large (%lld bytes)", a->file, path,
		             (long long)size);
		goto out;
	}
	char buf[16384];
	for (;;) {
		la_ssize_t r = archive_read_data(ar, buf, sizeof buf);
		if (r < 0) {
			rc = oci_err(err, OCI_E_USAGE, "%s: %s: %s", a->file, path, archive_error_string(ar));
			goto out;
		}
		if (r == 0)
			break;
		if (out->len + (size_t)r > max) {
			rc = oci_err(err, OCI_E_USAGE, "%s: %s is too large", a->file, path);
			goto out;
		}
		oci_buf_append(out, buf, (size_t)r);
	}
out:
	archive_read_free(ar);
	return rc;
}

/* --- manifest.json ---------------------------------------------------------- */

static char **json_strv(json_t *arr, bool *ok)
{
	size_t n = json_array_size(arr), i;
	char **v = oci_xcalloc(n + 1, sizeof *v);
	json_t *s;
	*ok = json_is_array(arr) || !arr || json_is_null(arr);
	json_array_foreach(arr, i, s) {
		if (!json_is_string(s)) {
			*ok = false;
			break;
		}
		v[i] = oci_xstrdup(json_string_value(s));
	}
	return v;
}

static int resolve_links(struct oci_archive *a, oci_error *err);

int oci_archive_open(struct oci_archive *a, const char *file, oci_error *err)
{
	memset(a, 0, sizeof *a);
	a->file = oci_xstrdup(file);
	_cleanup_buf_ struct oci_buf b = { 0 };
	if (oci_archive_read_entry(a, "manifest.json", OCI_ARCHIVE_MAX_JSON, &b, err) < 0) {
		oci_archive_release(a);
		return oci_err_wrap(err, "not a docker-archive");
	}
	json_error_t jerr;
	_cleanup_json_ json_t *j = json_loadb(b.data ? b.data : "", b.len, 0, &jerr);
	if (!json_is_array(j) || json_array_size(j) == 0) {
		oci_archive_release(a);
		return oci_err(err, OCI_E_USAGE, "%s: manifest.json is not a non-empty array%s%s", file,
		               j ? "" : ": ", j ? "" : jerr.text);
	}
	a->n_images = json_array_size(j);
	a->images = oci_xcalloc(a->n_images, sizeof *a->images);
	for (size_t i = 0; i < a->n_images; i++) {
		json_t *o = json_array_get(j, i);
		struct oci_archive_image *im = &a->images[i];
		const char *cfg = json_string_value(json_object_get(o, "Config"));
		bool ok1, ok2;
		im->repo_tags = json_strv(json_object_get(o, "RepoTags"), &ok1);
		im->layers = json_strv(json_object_get(o, "Layers"), &ok2);
		while (im->layers[im->n_layers])
			im->n_layers++;
		if (!cfg || !ok1 || !ok2 || !json_is_array(json_object_get(o, "Layers"))) {
			oci_archive_release(a);
			return oci_err(err, OCI_E_USAGE,
			               "%s: manifest.json entry %zu lacks Config or Layers (or has bad RepoTags)",
			               file, i);
		}
		im->config = oci_xstrdup(cfg);
	}
	if (resolve_links(a, err) < 0) {
		oci_archive_release(a);
		return -1;
	}
	return 0;
}

/* One pass over the headers: each layer path that is a link (symlink or
 * hard link) is replaced by the entry holding its data, so a layer that
 * appears under two names is seen as one. */
static int resolve_links(struct oci_archive *a, oci_error *err)
{
	struct link { char *name, *target; } *links = NULL;
	size_t n = 0;
	struct archive *ar = archive_start(a->file, err);
	if (!ar)
		return -1;
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(ar, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *hl = archive_entry_hardlink(e);
		char *target = NULL;
		_cleanup_free_ char *name = norm_path(archive_entry_pathname(e));
		if (!name)
			continue;
		if (hl) {
			target = norm_path(hl);
		} else if (archive_entry_filetype(e) == AE_IFLNK) {
			const char *t = archive_entry_symlink(e);
			const char *slash = strrchr(name, '/');
			_cleanup_free_ char *rel = oci_xasprintf("%.*s%s%s", slash ? (int)(slash - name) : 0,
			                                         name, slash ? "/" : "", t);
			target = t[0] == '/' ? norm_path(t) : norm_path(rel);
		}
		if (!target)
			continue;
		links = oci_xrealloc(links, (n + 1) * sizeof *links);
		links[n].name = TAKE_PTR(name);
		links[n++].target = target;
	}
	archive_read_free(ar);
	for (size_t i = 0; i < a->n_images; i++)
		for (size_t k = 0; k < a->images[i].n_layers; k++) {
			char **lp = &a->images[i].layers[k];
			char *cur = norm_path(*lp);
			for (int hop = 0; cur && hop < MAX_LINK_HOPS; hop++) {
				size_t j = 0;
				while (j < n && strcmp(links[j].name, cur) != 0)
					j++;
				if (j == n)
					break;
				free(cur);
				cur = oci_xstrdup(links[j].target);
			}
			if (cur) {
				free(*lp);
				*lp = cur;
			}
		}
	for (size_t j = 0; j < n; j++) {
		free(links[j].name);
		free(links[j].target);
	}
	free(links);
	return 0;
}

void oci_archive_release(struct oci_archive *a)
{
	for (size_t i = 0; i < a->n_images; i++) {
		free(a->images[i].config);
		strv_free(a->images[i].repo_tags);
		strv_free(a->images[i].layers);
	}
	free(a->images);
	free(a->file);
	memset(a, 0, sizeof *a);
}

const struct oci_archive_image *oci_archive_find(const struct oci_archive *a, const char *ref,
                                                 oci_error *err)
{
	if (!ref) {
		if (a->n_images == 1)
			return &a->images[0];
		oci_err(err, OCI_E_USAGE,
		        "%s: the archive holds %zu images; pick one as docker-archive:FILE:NAME:TAG or FILE:@N",
		        a->file, a->n_images);
		return NULL;
	}
	if (ref[0] == '@') {
		char *end;
		long n = strtol(ref + 1, &end, 10);
		if (*end || end == ref + 1 || n < 0 || (size_t)n >= a->n_images) {
			oci_err(err, OCI_E_USAGE, "%s: no image %s (the archive holds %zu)", a->file, ref,
			        a->n_images);
			return NULL;
		}
		return &a->images[n];
	}
	for (size_t i = 0; i < a->n_images; i++)
		for (char **t = a->images[i].repo_tags; *t; t++) {
			/* docker writes "name:tag" with docker.io/library/ elided */
			size_t tl = strlen(*t), rl = strlen(ref);
			if (strcmp(*t, ref) == 0 ||
			    (rl > tl && ref[rl - tl - 1] == '/' && strcmp(ref + rl - tl, *t) == 0))
				return &a->images[i];
		}
	oci_err(err, OCI_E_USAGE, "%s: no image tagged %s in the archive", a->file, ref);
	return NULL;
}

int oci_archive_parse_spec(const char *spec, char **file, char **ref, oci_error *err)
{
	const char *colon = strchr(spec, ':');
	size_t fl = colon ? (size_t)(colon - spec) : strlen(spec);
	if (fl == 0)
		return oci_err(err, OCI_E_USAGE, "docker-archive:%s: no file given", spec);
	*file = oci_xstrndup(spec, fl);
	*ref = colon && colon[1] ? oci_xstrdup(colon + 1) : NULL;
	return 0;
}

/* --- layers ------------------------------------------------------------------- */

enum layer_mode { MODE_UNKNOWN, MODE_PLAIN, MODE_GZIP };

struct oci_archive_layer {
	struct archive *a;
	char *name;
	int64_t entry_size, consumed;
	int level;
	enum layer_mode mode;
	z_stream z;
	bool z_init, z_end; /* z_end: inflate saw the end of the gzip stream */
	oci_hasher *diff;
	const unsigned char *blk; /* current archive block */
	size_t blk_len;
	bool in_eof, done;
	unsigned char scratch[32768]; /* inflate output, hashed then dropped */
};

int oci_archive_layer_open(const struct oci_archive *a, const char *path, int level,
                           struct oci_archive_layer **out, oci_error *err)
{
	int64_t size = 0;
	struct archive *ar = archive_seek(a->file, path, &size, err);
	if (!ar)
		return -1;
	struct oci_archive_layer *l = oci_xcalloc(1, sizeof *l);
	l->a = ar;
	l->name = oci_xasprintf("%s: %s", a->file, path);
	l->entry_size = size;
	l->level = level < 1 || level > 9 ? Z_DEFAULT_COMPRESSION : level;
	l->diff = oci_hasher_new("sha256");
	*out = l;
	return 0;
}

int64_t oci_archive_layer_entry_size(const struct oci_archive_layer *l)
{
	return l->entry_size;
}

int64_t oci_archive_layer_consumed(const struct oci_archive_layer *l)
{
	return l->consumed;
}

/* Next block of the entry into l->blk; sets in_eof at the end. */
static int next_block(struct oci_archive_layer *l, oci_error *err)
{
	const void *p;
	size_t n;
	la_int64_t off;
	int r = archive_read_data_block(l->a, &p, &n, &off);
	if (r == ARCHIVE_EOF) {
		l->in_eof = true;
		l->blk_len = 0;
		return 0;
	}
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
		return oci_err(err, OCI_E_USAGE, "%s: %s", l->name, archive_error_string(l->a));
	l->blk = p;
	l->blk_len = n;
	l->consumed += (int64_t)n;
	return 0;
}

static int start(struct oci_archive_layer *l, oci_error *err)
{
	while (!l->in_eof && l->blk_len == 0)
		if (next_block(l, err) < 0)
			return -1;
	l->mode = l->blk_len >= 2 && l->blk[0] == 0x1f && l->blk[1] == 0x8b ? MODE_GZIP : MODE_PLAIN;
	int r = l->mode == MODE_GZIP
		        ? inflateInit2(&l->z, 15 + 16)
		        : deflateInit2(&l->z, l->level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	if (r != Z_OK)
		return oci_err(err, OCI_E_USAGE, "%s: zlib initialization failed", l->name);
	l->z_init = true;
	return 0;
}

/* Plain tar in, gzip out: compress while hashing the input. */
static ssize_t read_plain(struct oci_archive_layer *l, unsigned char *buf, size_t n,
                          oci_error *err)
{
	for (;;) {
		if (l->z.avail_in == 0 && !l->in_eof) {
			if (l->blk_len == 0 && next_block(l, err) < 0)
				return -1;
			if (l->blk_len) {
				oci_hasher_update(l->diff, l->blk, l->blk_len);
				l->z.next_in = (unsigned char *)l->blk;
				l->z.avail_in = (uInt)l->blk_len;
				l->blk_len = 0;
			}
		}
		l->z.next_out = buf;
		l->z.avail_out = (uInt)(n > (1u << 30) ? 1u << 30 : n);
		uInt before = l->z.avail_out;
		int r = deflate(&l->z, l->in_eof ? Z_FINISH : Z_NO_FLUSH);
		if (r == Z_STREAM_ERROR)
			return oci_err(err, OCI_E_USAGE, "%s: compression failed", l->name);
		size_t got = before - l->z.avail_out;
		if (r == Z_STREAM_END)
			l->done = true;
		if (got || l->done)
			return (ssize_t)got;
	}
}

/* Gzip in, the same bytes out: inflate alongside only to hash the tar. */
static ssize_t read_gzip(struct oci_archive_layer *l, unsigned char *buf, size_t n,
                         oci_error *err)
{
	while (l->blk_len == 0) {
		if (l->in_eof) {
			l->done = true;
			if (!l->z_end)
				return oci_err(err, OCI_E_USAGE, "%s: truncated gzip layer", l->name);
			return 0;
		}
		if (next_block(l, err) < 0)
			return -1;
	}
	size_t take = l->blk_len < n ? l->blk_len : n;
	memcpy(buf, l->blk, take);
	l->blk += take;
	l->blk_len -= take;
	l->z.next_in = buf;
	l->z.avail_in = (uInt)take;
	for (;;) {
		if (l->z_end) {
			if (!l->z.avail_in)
				break;
			/* another gzip member follows (concatenated gzip is valid) */
			if (inflateReset(&l->z) != Z_OK)
				return oci_err(err, OCI_E_USAGE, "%s: bad gzip stream", l->name);
			l->z_end = false;
		}
		l->z.next_out = l->scratch;
		l->z.avail_out = sizeof l->scratch;
		int r = inflate(&l->z, Z_NO_FLUSH);
		if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
			return oci_err(err, OCI_E_USAGE, "%s: bad gzip data: %s", l->name,
			               l->z.msg ? l->z.msg : "inflate failed");
		oci_hasher_update(l->diff, l->scratch, sizeof l->scratch - l->z.avail_out);
		if (r == Z_STREAM_END) {
			l->z_end = true;
			continue;
		}
		/* all input taken and no output pending, or no progress possible */
		if ((l->z.avail_in == 0 && l->z.avail_out != 0) || r == Z_BUF_ERROR)
			break;
	}
	return (ssize_t)take;
}

ssize_t oci_archive_layer_read(struct oci_archive_layer *l, void *buf, size_t n, oci_error *err)
{
	if (l->done || n == 0)
		return 0;
	if (l->mode == MODE_UNKNOWN && start(l, err) < 0)
		return -1;
	return l->mode == MODE_GZIP ? read_gzip(l, buf, n, err) : read_plain(l, buf, n, err);
}

int oci_archive_layer_diff_id(struct oci_archive_layer *l, char out[OCI_DIGEST_MAX],
                              oci_error *err)
{
	if (!l->done || !l->diff)
		return oci_err(err, OCI_E_USAGE, "%s: layer not read to its end", l->name);
	oci_hasher_final(l->diff, out);
	oci_hasher_free(l->diff);
	l->diff = NULL;
	return 0;
}

void oci_archive_layer_close(struct oci_archive_layer *l)
{
	if (!l)
		return;
	if (l->z_init) {
		if (l->mode == MODE_GZIP)
			inflateEnd(&l->z);
		else
			deflateEnd(&l->z);
	}
	archive_read_free(l->a);
	oci_hasher_free(l->diff);
	free(l->name);
	free(l);
}
