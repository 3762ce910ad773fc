/* registry/xfer.c: image plans and their runs (copy, push, pull). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "oci/cleanup.h"
#include "oci/mediatype.h"
#include "oci/util.h"
#include "registry/image.h"
#include "registry/parallel.h"
#include "registry/transfer.h"
#include "registry/xfer.h"

#define MAX_DEPTH 4 /* index → index → manifest is already unusual */

/* --- plans -------------------------------------------------------------------- */

void reg_plan_release(struct reg_plan *p)
{
	for (size_t i = 0; i < p->n_manifests; i++) {
		free(p->manifests[i].digest);
		free(p->manifests[i].orig_digest);
		free(p->manifests[i].media_type);
		free(p->manifests[i].data);
	}
	free(p->manifests);
	for (size_t i = 0; i < p->n_blobs; i++)
		oci_descriptor_release(&p->blobs[i]);
	free(p->blobs);
	memset(p, 0, sizeof *p);
}

const struct reg_plan_manifest *reg_plan_top(const struct reg_plan *p)
{
	return p->n_manifests ? &p->manifests[p->n_manifests - 1] : NULL;
}

static void plan_add_blob(struct reg_plan *p, const struct oci_descriptor *d)
{
	for (size_t i = 0; i < p->n_blobs; i++)
		if (strcmp(p->blobs[i].digest, d->digest) == 0)
			return;
	if (d->media_type && oci_mt_is_foreign(d->media_type)) {
		p->n_skipped_foreign++;
		return;
	}
	p->blobs = oci_xrealloc(p->blobs, (p->n_blobs + 1) * sizeof *p->blobs);
	struct oci_descriptor *b = &p->blobs[p->n_blobs++];
	memset(b, 0, sizeof *b);
	b->media_type = oci_xstrdup(d->media_type);
	b->digest = oci_xstrdup(d->digest);
	b->size = d->size;
	p->blob_bytes += d->size;
}

/* Takes ownership of m's strings. */
static void plan_add_manifest(struct reg_plan *p, struct reg_manifest *m, const char *mt)
{
	for (size_t i = 0; i < p->n_manifests; i++)
		if (strcmp(p->manifests[i].digest, m->digest) == 0) {
			reg_manifest_release(m);
			return;
		}
	p->manifests = oci_xrealloc(p->manifests, (p->n_manifests + 1) * sizeof *p->manifests);
	struct reg_plan_manifest *pm = &p->manifests[p->n_manifests++];
	memset(pm, 0, sizeof *pm);
	pm->digest = TAKE_PTR(m->digest);
	pm->media_type = oci_xstrdup(mt);
	pm->data = TAKE_PTR(m->data);
	pm->len = m->len;
	reg_manifest_release(m);
}

/* Fetches a manifest by digest (verified), with the media type the
 * descriptor gives as a hint. */
typedef int (*fetch_fn)(void *ud, const char *digest, const char *mt_hint,
                        struct reg_manifest *out, oci_error *err);

static bool wanted(const struct oci_descriptor *d, const struct oci_platform *plats, size_t n)
{
	if (!n)
		return true;
	if (!d->platform || oci_descriptor_attests(d))
		return false;
	for (size_t i = 0; i < n; i++)
		if (oci_platform_match(&plats[i], d->platform))
			return true;
	return false;
}

static int plan_walk(struct reg_plan *p, fetch_fn fetch, void *ud, struct reg_manifest *m,
                     const struct oci_platform *plats, size_t n_plats, int depth,
                     oci_error *err)
{
	_cleanup_free_ char *mt = NULL;
	enum oci_doc_kind k = oci_doc_kind(m->data, m->len, m->media_type, &mt, err);
	if (k == OCI_DOC_UNKNOWN)
		goto fail;
	if (k == OCI_DOC_MANIFEST) {
		struct oci_manifest man = { 0 };
		if (oci_manifest_parse(&man, m->data, m->len, mt, err) < 0)
			goto fail;
		plan_add_blob(p, &man.config);
		for (size_t i = 0; i < man.n_layers; i++)
			plan_add_blob(p, &man.layers[i]);
		oci_manifest_release(&man);
		plan_add_manifest(p, m, mt);
		return 0;
	}
	if (depth >= MAX_DEPTH) {
		oci_err(err, OCI_E_REGISTRY, "indexes nested too deep");
		goto fail;
	}
	struct oci_index ix = { 0 };
	if (oci_index_parse(&ix, m->data, m->len, mt, err) < 0)
		goto fail;
	size_t selected = 0;
	struct oci_index sel = { .media_type = oci_xstrdup(ix.media_type) };
	int rc = 0;
	for (size_t i = 0; i < ix.n_manifests && rc == 0; i++) {
		const struct oci_descriptor *d = &ix.manifests[i];
		if (!wanted(d, plats, n_plats))
			continue;
		selected++;
		oci_index_add(&sel, d);
		struct reg_manifest child = { 0 };
		rc = fetch(ud, d->digest, d->media_type, &child, err);
		if (rc == 0)
			rc = plan_walk(p, fetch, ud, &child, NULL, 0, depth + 1, err);
	}
	if (rc == 0 && n_plats && selected == 0) {
		_cleanup_free_ char *have = oci_index_platforms(&ix);
		rc = oci_err(err, OCI_E_REGISTRY,
		             "no image for the platforms asked for (the index has: %s)", have);
	}
	if (rc == 0) {
		if (n_plats && selected == 1) {
			/* one platform: its manifest (added last) is the top */
			reg_manifest_release(m);
		} else if (n_plats && selected < ix.n_manifests) {
			/* a new index holding only the selected children */
			if (ix.annotations)
				sel.annotations = json_incref(ix.annotations);
			struct reg_manifest nm = { 0 };
			nm.data = oci_index_serialize(&sel, &nm.len);
			char dg[OCI_DIGEST_MAX];
			oci_digest_buf("sha256", nm.data, nm.len, dg);
			nm.digest = oci_xstrdup(dg);
			plan_add_manifest(p, &nm, sel.media_type);
			reg_manifest_release(m);
		} else {
			plan_add_manifest(p, m, mt);
		}
	}
	oci_index_release(&sel);
	oci_index_release(&ix);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	reg_manifest_release(m);
	return -1;
}

static int fetch_registry(void *ud, const char *digest, const char *mt_hint,
                          struct reg_manifest *out, oci_error *err)
{
	(void)mt_hint;
	return reg_manifest_get(ud, digest, out, err);
}

int reg_plan_from_registry(struct reg_repo *r, const char *reference,
                           const struct oci_platform *plats, size_t n_plats,
                           struct reg_plan *out, oci_error *err)
{
	memset(out, 0, sizeof *out);
	struct reg_manifest top = { 0 };
	if (reg_manifest_get(r, reference, &top, err) < 0)
		return -1;
	if (plan_walk(out, fetch_registry, r, &top, plats, n_plats, 0, err) < 0) {
		reg_plan_release(out);
		return -1;
	}
	return 0;
}

static int fetch_layout(void *ud, const char *digest, const char *mt_hint,
                        struct reg_manifest *out, oci_error *err)
{
	const struct oci_layout *l = ud;
	struct oci_buf b = { 0 };
	memset(out, 0, sizeof *out);
	if (oci_layout_blob_read(l, digest, REG_MAX_CONFIG, &b, err) < 0) {
		oci_buf_release(&b);
		return -1;
	}
	out->data = b.data ? b.data : oci_xstrdup("");
	out->len = b.len;
	out->digest = oci_xstrdup(digest);
	out->media_type = oci_xstrdup(mt_hint);
	return 0;
}

int reg_plan_from_layout(const struct oci_layout *l, const char *name,
                         const struct oci_platform *plats, size_t n_plats,
                         struct reg_plan *out, oci_error *err)
{
	memset(out, 0, sizeof *out);
	const struct oci_descriptor *d = oci_layout_find(l, name, err);
	if (!d)
		return -1;
	struct reg_manifest top = { 0 };
	if (fetch_layout((void *)l, d->digest, d->media_type, &top, err) < 0)
		return -1;
	if (plan_walk(out, fetch_layout, (void *)l, &top, plats, n_plats, 0, err) < 0) {
		reg_plan_release(out);
		return -1;
	}
	return 0;
}

/* --- conversion to OCI types ----------------------------------------------------- */

static const char *oci_type_for(const char *mt)
{
	static const struct { const char *docker, *oci; } map[] = {
		{ OCI_MT_DOCKER_MANIFEST, OCI_MT_OCI_MANIFEST },
		{ OCI_MT_DOCKER_LIST, OCI_MT_OCI_INDEX },
		{ OCI_MT_DOCKER_CONFIG, OCI_MT_OCI_CONFIG },
		{ OCI_MT_DOCKER_LAYER_GZIP, OCI_MT_OCI_LAYER_GZIP },
		{ OCI_MT_DOCKER_LAYER_ZSTD, OCI_MT_OCI_LAYER_ZSTD },
		{ OCI_MT_DOCKER_LAYER_FOREIGN, OCI_MT_OCI_LAYER_ND_GZIP },
	};
	for (size_t i = 0; mt && i < ARRAY_SIZE(map); i++)
		if (strcmp(mt, map[i].docker) == 0)
			return map[i].oci;
	return NULL;
}

static void convert_descriptor(json_t *d, const struct reg_plan *p, size_t upto)
{
	const char *t = oci_type_for(json_string_value(json_object_get(d, "mediaType")));
	if (t)
		json_object_set_new(d, "mediaType", json_string(t));
	/* a child converted before: point at its new digest and size */
	const char *dg = json_string_value(json_object_get(d, "digest"));
	for (size_t i = 0; dg && i < upto; i++) {
		const char *old = p->manifests[i].orig_digest;
		if (old && strcmp(old, dg) == 0) {
			json_object_set_new(d, "digest", json_string(p->manifests[i].digest));
			json_object_set_new(d, "size", json_integer((json_int_t)p->manifests[i].len));
			break;
		}
	}
}

int reg_plan_convert_oci(struct reg_plan *p, oci_error *err)
{
	for (size_t i = 0; i < p->n_manifests; i++) {
		struct reg_plan_manifest *m = &p->manifests[i];
		const char *t = oci_type_for(m->media_type);
		if (!t)
			continue;
		json_error_t jerr;
		_cleanup_json_ json_t *j = json_loadb(m->data, m->len, 0, &jerr);
		if (!json_is_object(j))
			return oci_err(err, OCI_E_REGISTRY, "manifest %s: invalid JSON: %s", m->digest, jerr.text);
		json_object_set_new(j, "mediaType", json_string(t));
		json_t *cfg = json_object_get(j, "config");
		if (json_is_object(cfg))
			convert_descriptor(cfg, p, i);
		size_t k;
		json_t *d;
		json_array_foreach(json_object_get(j, "layers"), k, d)
			convert_descriptor(d, p, i);
		json_array_foreach(json_object_get(j, "manifests"), k, d)
			convert_descriptor(d, p, i);
		char *data = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!data)
			abort();
		char dg[OCI_DIGEST_MAX];
		oci_digest_buf("sha256", data, strlen(data), dg);
		free(m->data);
		m->data = data;
		m->len = strlen(data);
		free(m->media_type);
		m->media_type = oci_xstrdup(t);
		m->orig_digest = m->digest;
		m->digest = oci_xstrdup(dg);
	}
	return 0;
}

/* --- progress ------------------------------------------------------------------ */

static void prog(const struct reg_xfer_opts *o, enum reg_progress_ev ev, const char *digest,
                 int64_t n)
{
	if (o && o->progress.fn)
		o->progress.fn(o->progress.ud, ev, digest, n);
}

struct counter {
	const struct reg_xfer_opts *o;
	const char *digest;
};

static void count_bytes(void *ud, int64_t n)
{
	struct counter *c = ud;
	prog(c->o, REG_PROGRESS_BYTES, c->digest, n);
}

/* --- to a registry ------------------------------------------------------------- */

struct run {
	const struct reg_plan *p;
	struct reg_repo *src_repo;
	const struct oci_layout *src_layout;
	struct reg_repo *dst;
	const char *dir;
	const struct reg_xfer_opts *o;
};

struct fd_src {
	int fd;
	int64_t off;
	struct counter c;
};

static ssize_t fd_read(void *ud, void *buf, size_t n, oci_error *err)
{
	struct fd_src *s = ud;
	for (;;) {
		ssize_t r = pread(s->fd, buf, n, s->off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return oci_err(err, OCI_E_USAGE, "reading blob %s: %s", s->c.digest, strerror(errno));
		s->off += r;
		count_bytes(&s->c, r);
		return r;
	}
}

static int fd_rewind(void *ud)
{
	struct fd_src *s = ud;
	count_bytes(&s->c, -s->off);
	s->off = 0;
	return 0;
}

static int layout_upload(struct run *R, const struct oci_descriptor *d, oci_error *err)
{
	int64_t size = 0;
	int fd = oci_layout_blob_open(R->src_layout, d->digest, &size, err);
	if (fd < 0)
		return -1;
	if (size != d->size) {
		close(fd);
		return oci_err(err, OCI_E_USAGE, "%s: blob %s is %lld bytes, its descriptor says %lld",
		               R->src_layout->dir, d->digest, (long long)size, (long long)d->size);
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	struct fd_src s = { .fd = fd, .c = { R->o, d->digest } };
	int rc = reg_blob_upload(R->dst, d->digest, size, fd_read, fd_rewind, &s, err);
	close(fd);
	return rc;
}

static int blob_to_registry(size_t i, void *ud, oci_error *err)
{
	struct run *R = ud;
	const struct oci_descriptor *d = &R->p->blobs[i];
	prog(R->o, REG_PROGRESS_START, d->digest, d->size);
	if (R->src_repo) {
		struct counter c = { R->o, d->digest };
		int how = reg_blob_copy_counted(R->src_repo, R->dst, d, count_bytes, &c, err);
		if (how < 0)
			return -1;
		prog(R->o, REG_PROGRESS_DONE, d->digest,
		     how == REG_COPY_EXISTS ? REG_BLOB_EXISTED
		     : how == REG_COPY_MOUNTED ? REG_BLOB_MOUNTED : REG_BLOB_TRANSFERRED);
		return 0;
	}
	int r = reg_blob_head(R->dst, d->digest, NULL, err);
	if (r < 0)
		return -1;
	if (r == 1) {
		prog(R->o, REG_PROGRESS_DONE, d->digest, REG_BLOB_EXISTED);
		return 0;
	}
	if (R->o->mount_from) {
		r = reg_blob_mount(R->dst, d->digest, R->o->mount_from, err);
		if (r < 0)
			return -1;
		if (r == 1) {
			prog(R->o, REG_PROGRESS_DONE, d->digest, REG_BLOB_MOUNTED);
			return 0;
		}
	}
	if (layout_upload(R, d, err) < 0)
		return -1;
	prog(R->o, REG_PROGRESS_DONE, d->digest, REG_BLOB_TRANSFERRED);
	return 0;
}

static int put_manifests(const struct reg_plan *p, struct reg_repo *dst, const char *reference,
                         oci_error *err)
{
	const struct reg_plan_manifest *top = reg_plan_top(p);
	if (strchr(reference, ':') && strcmp(reference, top->digest) != 0)
		return oci_err(err, OCI_E_USAGE, "%s@%s: the image's digest is %s", reg_repo_name(dst),
		               reference, top->digest);
	for (size_t i = 0; i + 1 < p->n_manifests; i++) {
		const struct reg_plan_manifest *m = &p->manifests[i];
		if (reg_manifest_put(dst, m->digest, m->media_type, m->data, m->len, err) < 0)
			return -1;
	}
	return reg_manifest_put(dst, reference, top->media_type, top->data, top->len, err);
}

int reg_xfer_to_registry(const struct reg_plan *p, struct reg_repo *src_repo,
                         const struct oci_layout *src_layout, struct reg_repo *dst,
                         const char *dst_reference, const struct reg_xfer_opts *o,
                         oci_error *err)
{
	struct run R = { .p = p, .src_repo = src_repo, .src_layout = src_layout, .dst = dst, .o = o };
	if (o->mount_from)
		reg_repo_add_pull_scope(dst, o->mount_from);
	if (src_repo && reg_repo_same_registry(src_repo, dst)) {
		/* one token covers the mounts' pull on the source */
		const char *from = strchr(reg_repo_name(src_repo), '/');
		if (from)
			reg_repo_add_pull_scope(dst, from + 1);
	}
	if (p->n_blobs && reg_parallel(p->n_blobs, o->jobs > 0 ? o->jobs : 4, blob_to_registry, &R,
	                               err) < 0)
		return -1;
	return put_manifests(p, dst, dst_reference, err);
}

/* --- to a layout ----------------------------------------------------------------- */

struct wsink {
	struct oci_blob_writer w;
	struct counter c;
};

static int writer_sink(void *ud, const void *p, size_t n, oci_error *err)
{
	struct wsink *s = ud;
	if (oci_layout_blob_write(&s->w, p, n, err) < 0)
		return -1;
	count_bytes(&s->c, (int64_t)n);
	return 0;
}

static int blob_to_layout(size_t i, void *ud, oci_error *err)
{
	struct run *R = ud;
	const struct oci_descriptor *d = &R->p->blobs[i];
	prog(R->o, REG_PROGRESS_START, d->digest, d->size);
	if (oci_layout_blob_exists(R->dir, d->digest, d->size)) {
		prog(R->o, REG_PROGRESS_DONE, d->digest, REG_BLOB_EXISTED);
		return 0;
	}
	struct wsink s = { .c = { R->o, d->digest } };
	/* reg_blob_get verifies digest and size before returning 0 */
	if (oci_layout_blob_begin(&s.w, R->dir, d->digest, d->size, false, err) < 0)
		return -1;
	if (reg_blob_get(R->src_repo, d->digest, d->size, writer_sink, &s, err) < 0) {
		oci_layout_blob_abort(&s.w);
		return -1;
	}
	if (oci_layout_blob_commit(&s.w, err) < 0)
		return -1;
	prog(R->o, REG_PROGRESS_DONE, d->digest, REG_BLOB_TRANSFERRED);
	return 0;
}

int reg_xfer_to_layout(const struct reg_plan *p, struct reg_repo *src, const char *dir,
                       const char *name, const struct reg_xfer_opts *o, oci_error *err)
{
	struct run R = { .p = p, .src_repo = src, .dir = dir, .o = o };
	if (oci_layout_create(dir, err) < 0)
		return -1;
	if (p->n_blobs &&
	    reg_parallel(p->n_blobs, o->jobs > 0 ? o->jobs : 4, blob_to_layout, &R, err) < 0)
		return -1;
	for (size_t i = 0; i < p->n_manifests; i++) {
		const struct reg_plan_manifest *m = &p->manifests[i];
		if (!oci_layout_blob_exists(dir, m->digest, (int64_t)m->len) &&
		    oci_layout_blob_put(dir, m->digest, m->data, m->len, err) < 0)
			return -1;
	}
	const struct reg_plan_manifest *top = reg_plan_top(p);
	struct oci_descriptor d = {
		.media_type = top->media_type, .digest = top->digest, .size = (int64_t)top->len,
	};
	return oci_layout_set_ref(dir, name, &d, err);
}

/* --- docker-archive -------------------------------------------------------------- */

struct alayer {
	const char *path;
	int dup_of; /* index of the first layer with the same path, or -1 */
	char digest[OCI_DIGEST_MAX];
	char diff_id[OCI_DIGEST_MAX];
	int64_t size;
};

struct arun {
	const struct oci_archive *a;
	struct alayer *layers;
	size_t n;
	size_t *uniq; /* indexes of layers to upload */
	struct reg_repo *dst;
	int level;
	const struct reg_xfer_opts *o;
};

struct lsrc {
	struct oci_archive_layer *l;
	struct counter c;
	int64_t reported;
};

static ssize_t layer_read(void *ud, void *buf, size_t n, oci_error *err)
{
	struct lsrc *s = ud;
	ssize_t r = oci_archive_layer_read(s->l, buf, n, err);
	int64_t now = oci_archive_layer_consumed(s->l);
	if (now != s->reported) {
		count_bytes(&s->c, now - s->reported);
		s->reported = now;
	}
	return r;
}

static int layer_job(size_t i, void *ud, oci_error *err)
{
	struct arun *A = ud;
	struct alayer *L = &A->layers[A->uniq[i]];
	struct lsrc s = { .c = { A->o, L->path } };
	if (oci_archive_layer_open(A->a, L->path, A->level, &s.l, err) < 0)
		return -1;
	prog(A->o, REG_PROGRESS_START, L->path, oci_archive_layer_entry_size(s.l));
	int rc = reg_blob_upload_stream(A->dst, layer_read, &s, L->digest, &L->size, err);
	if (rc == 0)
		rc = oci_archive_layer_diff_id(s.l, L->diff_id, err);
	oci_archive_layer_close(s.l);
	if (rc == 0)
		prog(A->o, REG_PROGRESS_DONE, L->path, REG_BLOB_TRANSFERRED);
	return rc;
}

struct msrc {
	const char *p;
	size_t len, off;
};

static ssize_t mem_read(void *ud, void *buf, size_t n, oci_error *err)
{
	(void)err;
	struct msrc *m = ud;
	size_t k = m->len - m->off < n ? m->len - m->off : n;
	memcpy(buf, m->p + m->off, k);
	m->off += k;
	return (ssize_t)k;
}

static int mem_rewind(void *ud)
{
	((struct msrc *)ud)->off = 0;
	return 0;
}

static json_t *desc_json(const char *mt, const char *digest, int64_t size)
{
	json_t *o = json_object();
	json_object_set_new(o, "mediaType", json_string(mt));
	json_object_set_new(o, "size", json_integer(size));
	json_object_set_new(o, "digest", json_string(digest));
	return o;
}

int reg_push_archive(const struct oci_archive *a, const struct oci_archive_image *im,
                     struct reg_repo *dst, const char *dst_reference, int level,
                     const struct reg_xfer_opts *o, char digest_out[OCI_DIGEST_MAX],
                     oci_error *err)
{
	_cleanup_buf_ struct oci_buf cfg = { 0 };
	struct oci_config config = { 0 };
	struct alayer *layers = NULL;
	size_t *uniq = NULL;
	_cleanup_json_ json_t *man = NULL;
	_cleanup_free_ char *body = NULL;
	int rc = -1;

	if (oci_archive_read_entry(a, im->config, OCI_ARCHIVE_MAX_JSON, &cfg, err) < 0)
		return -1;
	if (oci_config_parse(&config, cfg.data ? cfg.data : "", cfg.len, err) < 0) {
		oci_err_wrap(err, "%s: %s", a->file, im->config);
		goto out;
	}
	if (config.n_diff_ids != im->n_layers) {
		oci_err(err, OCI_E_USAGE, "%s: the config lists %zu layers (rootfs.diff_ids), manifest.json %zu",
		        a->file, config.n_diff_ids, im->n_layers);
		goto out;
	}
	char cfg_digest[OCI_DIGEST_MAX];
	oci_digest_buf("sha256", cfg.data ? cfg.data : "", cfg.len, cfg_digest);

	/* the same layer entry twice is uploaded once */
	layers = oci_xcalloc(im->n_layers + 1, sizeof *layers);
	uniq = oci_xcalloc(im->n_layers + 1, sizeof *uniq);
	size_t n_uniq = 0;
	for (size_t i = 0; i < im->n_layers; i++) {
		layers[i].path = im->layers[i];
		layers[i].dup_of = -1;
		for (size_t j = 0; j < i; j++)
			if (strcmp(im->layers[j], im->layers[i]) == 0) {
				layers[i].dup_of = (int)j;
				break;
			}
		if (layers[i].dup_of < 0)
			uniq[n_uniq++] = i;
	}
	struct arun A = { .a = a, .layers = layers, .n = im->n_layers, .uniq = uniq, .dst = dst,
	                  .level = level, .o = o };
	if (n_uniq && reg_parallel(n_uniq, o->jobs > 0 ? o->jobs : 4, layer_job, &A, err) < 0)
		goto out;
	for (size_t i = 0; i < im->n_layers; i++) {
		struct alayer *L = &layers[i];
		if (L->dup_of >= 0)
			*L = layers[L->dup_of];
		if (strcmp(L->diff_id, config.diff_ids[i]) != 0) {
			oci_err(err, OCI_E_REGISTRY,
			        "%s: %s: digest mismatch: the layer's tar hashes to %s, the config says %s",
			        a->file, im->layers[i], L->diff_id, config.diff_ids[i]);
			goto out;
		}
	}

	/* the config: skipped when present, else mounted or uploaded */
	prog(o, REG_PROGRESS_START, cfg_digest, (int64_t)cfg.len);
	int r = reg_blob_head(dst, cfg_digest, NULL, err);
	int how = REG_BLOB_EXISTED;
	if (r == 0 && o->mount_from) {
		reg_repo_add_pull_scope(dst, o->mount_from);
		r = reg_blob_mount(dst, cfg_digest, o->mount_from, err);
		how = REG_BLOB_MOUNTED;
	}
	if (r == 0) {
		struct msrc m = { .p = cfg.data ? cfg.data : "", .len = cfg.len };
		r = reg_blob_upload(dst, cfg_digest, (int64_t)cfg.len, mem_read, mem_rewind, &m, err);
		how = REG_BLOB_TRANSFERRED;
	}
	if (r < 0)
		goto out;
	prog(o, REG_PROGRESS_DONE, cfg_digest, how);

	man = json_object();
	json_object_set_new(man, "schemaVersion", json_integer(2));
	json_object_set_new(man, "mediaType", json_string(OCI_MT_DOCKER_MANIFEST));
	json_object_set_new(man, "config", desc_json(OCI_MT_DOCKER_CONFIG, cfg_digest, (int64_t)cfg.len));
	json_t *arr = json_array();
	for (size_t i = 0; i < im->n_layers; i++)
		json_array_append_new(arr, desc_json(OCI_MT_DOCKER_LAYER_GZIP, layers[i].digest,
		                                     layers[i].size));
	json_object_set_new(man, "layers", arr);
	body = json_dumps(man, JSON_INDENT(3) | JSON_PRESERVE_ORDER);
	if (!body)
		abort();
	size_t len = strlen(body);
	oci_digest_buf("sha256", body, len, digest_out);
	if (strchr(dst_reference, ':') && strcmp(dst_reference, digest_out) != 0) {
		oci_err(err, OCI_E_USAGE, "%s@%s: the pushed manifest's digest is %s", reg_repo_name(dst),
		        dst_reference, digest_out);
		goto out;
	}
	if (reg_manifest_put(dst, dst_reference, OCI_MT_DOCKER_MANIFEST, body, len, err) < 0)
		goto out;
	rc = 0;
out:
	free(layers);
	free(uniq);
	oci_config_release(&config);
	return rc;
}
