/* oci/layout.c: reading and writing OCI image layouts. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/cleanup.h"
#include "oci/file.h"
#include "oci/layout.h"
#include "oci/mediatype.h"
#include "oci/util.h"

#define LAYOUT_FILE "oci-layout"
#define LAYOUT_VERSION "1.0.0"
#define INDEX_MAX (16 << 20)

/* --- reading ------------------------------------------------------------------ */

static int check_layout_file(const char *dir, bool missing_ok, oci_error *err)
{
	_cleanup_free_ char *path = oci_xasprintf("%s/" LAYOUT_FILE, dir);
	_cleanup_buf_ struct oci_buf b = { 0 };
	if (oci_file_read(path, 65536, &b) < 0) {
		if (errno == ENOENT && missing_ok)
			return 1;
		return oci_err(err, OCI_E_USAGE, "%s: not an OCI image layout (%s: %s)", dir,
		               LAYOUT_FILE, strerror(errno));
	}
	json_error_t jerr;
	_cleanup_json_ json_t *j = json_loadb(b.data ? b.data : "", b.len, 0, &jerr);
	const char *v = json_string_value(json_object_get(j, "imageLayoutVersion"));
	if (!v)
		return oci_err(err, OCI_E_USAGE, "%s: %s has no imageLayoutVersion", dir, LAYOUT_FILE);
	if (strncmp(v, "1.", 2) != 0)
		return oci_err(err, OCI_E_USAGE, "%s: unsupported imageLayoutVersion %s", dir, v);
	return 0;
}

int oci_layout_open(struct oci_layout *l, const char *dir, oci_error *err)
{
	memset(l, 0, sizeof *l);
	if (check_layout_file(dir, false, err) < 0)
		return -1;
	_cleanup_free_ char *path = oci_xasprintf("%s/index.json", dir);
	_cleanup_buf_ struct oci_buf b = { 0 };
	if (oci_file_read(path, INDEX_MAX, &b) < 0)
		return oci_err(err, OCI_E_USAGE, "%s: %s", path, strerror(errno));
	if (oci_index_parse(&l->index, b.data ? b.data : "", b.len, OCI_MT_OCI_INDEX, err) < 0)
		return oci_err_wrap(err, "%s", path);
	l->dir = oci_xstrdup(dir);
	return 0;
}

void oci_layout_release(struct oci_layout *l)
{
	free(l->dir);
	oci_index_release(&l->index);
	memset(l, 0, sizeof *l);
}

static const char *ref_name(const struct oci_descriptor *d)
{
	return d->annotations ? json_string_value(json_object_get(d->annotations, OCI_LAYOUT_REF_NAME))
	                      : NULL;
}

const struct oci_descriptor *oci_layout_find(const struct oci_layout *l, const char *name,
                                             oci_error *err)
{
	const struct oci_index *ix = &l->index;
	if (!name) {
		if (ix->n_manifests == 1)
			return &ix->manifests[0];
		if (ix->n_manifests == 0) {
			oci_err(err, OCI_E_USAGE, "%s: the layout's index.json lists no image", l->dir);
			return NULL;
		}
	} else {
		for (size_t i = 0; i < ix->n_manifests; i++) {
			const char *n = ref_name(&ix->manifests[i]);
			if (n && strcmp(n, name) == 0)
				return &ix->manifests[i];
		}
	}
	char names[512] = "";
	for (size_t i = 0; i < ix->n_manifests; i++) {
		const char *n = ref_name(&ix->manifests[i]);
		size_t k = strlen(names);
		snprintf(names + k, sizeof names - k, "%s%s", k ? ", " : "", n ? n : "(unnamed)");
	}
	if (name)
		oci_err(err, OCI_E_USAGE, "%s: no image named \"%s\" in the layout (it has: %s)", l->dir,
		        name, names[0] ? names : "nothing");
	else
		oci_err(err, OCI_E_USAGE, "%s: the layout holds %zu images (%s); name one as oci:DIR:NAME",
		        l->dir, ix->n_manifests, names);
	return NULL;
}

char *oci_layout_blob_path(const char *dir, const char *digest)
{
	if (oci_digest_validate(digest, NULL) < 0)
		return NULL;
	const char *colon = strchr(digest, ':');
	return oci_xasprintf("%s/blobs/%.*s/%s", dir, (int)(colon - digest), digest, colon + 1);
}

int oci_layout_blob_open(const struct oci_layout *l, const char *digest, int64_t *size,
                         oci_error *err)
{
	_cleanup_free_ char *path = oci_layout_blob_path(l->dir, digest);
	if (!path)
		return oci_err(err, OCI_E_USAGE, "%s: invalid digest %s", l->dir, digest);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ELOOP)
		return oci_err(err, OCI_E_USAGE, "%s: blob %s is a symlink (refused: blobs are read "
		               "from the layout itself)", l->dir, digest);
	if (fd < 0)
		return oci_err(err, OCI_E_USAGE, "%s: blob %s: %s", l->dir, digest, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return oci_err(err, OCI_E_USAGE, "%s: blob %s is not a regular file", l->dir, digest);
	}
	if (size)
		*size = st.st_size;
	return fd;
}

int oci_layout_blob_read(const struct oci_layout *l, const char *digest, size_t max,
                         struct oci_buf *out, oci_error *err)
{
	_cleanup_free_ char *path = oci_layout_blob_path(l->dir, digest);
	if (!path)
		return oci_err(err, OCI_E_USAGE, "%s: invalid digest %s", l->dir, digest);
	if (oci_file_read(path, max, out) < 0)
		return oci_err(err, OCI_E_USAGE, "%s: blob %s: %s", l->dir, digest,
		               errno == EFBIG ? "too large to read into memory" : strerror(errno));
	if (!oci_digest_matches(digest, out->data ? out->data : "", out->len))
		return oci_err(err, OCI_E_USAGE, "%s: blob %s: digest mismatch (the file is corrupt)",
		               l->dir, digest);
	return 0;
}

/* --- writing ------------------------------------------------------------------ */

int oci_layout_create(const char *dir, oci_error *err)
{
	_cleanup_free_ char *blobs = oci_xasprintf("%s/blobs/sha256", dir);
	if (oci_mkdir_p(blobs, 0755) < 0)
		return oci_err(err, OCI_E_IO, "%s: cannot create the layout: %s", dir, strerror(errno));
	int r = check_layout_file(dir, true, err);
	if (r < 0)
		return -1;
	if (r == 1) {
		static const char body[] = "{\"imageLayoutVersion\":\"" LAYOUT_VERSION "\"}";
		_cleanup_free_ char *path = oci_xasprintf("%s/" LAYOUT_FILE, dir);
		if (oci_file_replace(path, body, sizeof body - 1, 0644, err) < 0)
			return -1;
	}
	return 0;
}

bool oci_layout_blob_exists(const char *dir, const char *digest, int64_t size)
{
	_cleanup_free_ char *path = oci_layout_blob_path(dir, digest);
	_cleanup_close_ int fd = path ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
	struct stat st;
	return fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	       (size < 0 || st.st_size == size) && oci_digest_matches_fd(digest, fd);
}

int oci_layout_blob_begin(struct oci_blob_writer *w, const char *dir, const char *digest,
                          int64_t size, bool verify, oci_error *err)
{
	memset(w, 0, sizeof *w);
	w->f.fd = -1;
	if (oci_digest_validate(digest, err) < 0)
		return -1;
	const char *colon = strchr(digest, ':');
	_cleanup_free_ char *algdir = oci_xasprintf("%s/blobs/%.*s", dir, (int)(colon - digest), digest);
	if (oci_mkdir_p(algdir, 0755) < 0)
		return oci_err(err, OCI_E_IO, "%s: %s", algdir, strerror(errno));
	_cleanup_free_ char *final = oci_layout_blob_path(dir, digest);
	if (oci_file_begin(&w->f, final, 0644, err) < 0)
		return -1;
	snprintf(w->digest, sizeof w->digest, "%s", digest);
	w->size = size;
	if (verify)
		w->h = oci_hasher_for(digest);
	return 0;
}

int oci_layout_blob_write(struct oci_blob_writer *w, const void *p, size_t n, oci_error *err)
{
	if (w->size >= 0 && w->f.n + (int64_t)n > w->size)
		return oci_err(err, OCI_E_REGISTRY, "blob %s is larger than %lld bytes", w->digest,
		               (long long)w->size);
	if (oci_file_write(&w->f, p, n, err) < 0)
		return -1;
	if (w->h)
		oci_hasher_update(w->h, p, n);
	return 0;
}

int oci_layout_blob_restart(struct oci_blob_writer *w, oci_error *err)
{
	if (w->h) {
		oci_hasher_free(w->h);
		w->h = oci_hasher_for(w->digest);
	}
	return oci_file_rewind(&w->f, err);
}

void oci_layout_blob_abort(struct oci_blob_writer *w)
{
	oci_file_abort(&w->f);
	oci_hasher_free(w->h);
	w->h = NULL;
}

int oci_layout_blob_commit(struct oci_blob_writer *w, oci_error *err)
{
	if (w->h) {
		char dg[OCI_DIGEST_MAX];
		oci_hasher_final(w->h, dg);
		if (strcmp(dg, w->digest) != 0) {
			oci_err(err, OCI_E_REGISTRY, "blob %s: digest mismatch: the content hashes to %s",
			        w->digest, dg);
			goto fail;
		}
	}
	if (w->size >= 0 && w->f.n != w->size) {
		oci_err(err, OCI_E_REGISTRY, "blob %s: size mismatch: got %lld bytes, expected %lld",
		        w->digest, (long long)w->f.n, (long long)w->size);
		goto fail;
	}
	oci_hasher_free(w->h);
	w->h = NULL;
	return oci_file_commit(&w->f, err);
fail:
	oci_layout_blob_abort(w);
	return -1;
}

int oci_layout_blob_put(const char *dir, const char *digest, const void *p, size_t n,
                        oci_error *err)
{
	struct oci_blob_writer w;
	if (oci_layout_blob_begin(&w, dir, digest, (int64_t)n, true, err) < 0)
		return -1;
	if (oci_layout_blob_write(&w, p, n, err) < 0) {
		oci_layout_blob_abort(&w);
		return -1;
	}
	return oci_layout_blob_commit(&w, err);
}

int oci_layout_set_ref(const char *dir, const char *name, const struct oci_descriptor *d,
                       oci_error *err)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || flock(dfd, LOCK_EX) < 0)
		return oci_err(err, OCI_E_IO, "%s: %s", dir, strerror(errno));

	_cleanup_free_ char *path = oci_xasprintf("%s/index.json", dir);
	_cleanup_buf_ struct oci_buf b = { 0 };
	_cleanup_json_ json_t *root = NULL;
	if (oci_file_read(path, INDEX_MAX, &b) == 0) {
		json_error_t jerr;
		root = json_loadb(b.data ? b.data : "", b.len, 0, &jerr);
		if (!json_is_object(root) || !json_is_array(json_object_get(root, "manifests")))
			return oci_err(err, OCI_E_USAGE, "%s: not a valid index (%s)", path, jerr.text);
	} else if (errno == ENOENT) {
		root = json_object();
		json_object_set_new(root, "schemaVersion", json_integer(2));
		json_object_set_new(root, "mediaType", json_string(OCI_MT_OCI_INDEX));
		json_object_set_new(root, "manifests", json_array());
	} else
		return oci_err(err, OCI_E_IO, "%s: %s", path, strerror(errno));

	json_t *old = json_object_get(root, "manifests");
	json_t *arr = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(old, i, e) {
		const char *n = json_string_value(
			json_object_get(json_object_get(e, "annotations"), OCI_LAYOUT_REF_NAME));
		bool same = name ? n && strcmp(n, name) == 0 : n == NULL;
		if (!same)
			json_array_append(arr, e);
	}
	json_t *nd = oci_descriptor_to_json(d);
	if (name) {
		/* a copy: nd shares d's annotations object */
		json_t *ann = json_is_object(json_object_get(nd, "annotations"))
		                      ? json_deep_copy(json_object_get(nd, "annotations"))
		                      : json_object();
		json_object_set_new(nd, "annotations", ann);
		json_object_set_new(ann, OCI_LAYOUT_REF_NAME, json_string(name));
	}
	json_array_append_new(arr, nd);
	json_object_set_new(root, "manifests", arr);

	_cleanup_free_ char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!s)
		abort();
	return oci_file_replace(path, s, strlen(s), 0644, err);
}

int oci_layout_parse_spec(const char *spec, char **dir, char **name, oci_error *err)
{
	const char *colon = strchr(spec, ':');
	size_t dl = colon ? (size_t)(colon - spec) : strlen(spec);
	if (dl == 0)
		return oci_err(err, OCI_E_USAGE, "oci:%s: no directory given", spec);
	if (colon && !colon[1])
		return oci_err(err, OCI_E_USAGE, "oci:%s: empty image name", spec);
	*dir = oci_xstrndup(spec, dl);
	*name = colon ? oci_xstrdup(colon + 1) : NULL;
	return 0;
}
