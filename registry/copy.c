/* registry/copy.c: plans and blob lists run: blobs concurrently, then
 * manifests. */
#include <string.h>

#include "oci/cleanup.h"
#include "oci/mediatype.h"
#include "registry/copy.h"
#include "registry/parallel.h"

/* Known locations asked for in a copy's token scope, at most. */
#define REG_MOUNT_SCOPES 8

/* --- blobs into a registry --------------------------------------------------------- */

struct blobs_run {
	struct reg_repo *dst;
	struct reg_copy_blob *b;
	const struct reg_copy_opts *o;
};

static int blob_job(size_t i, void *ud, oci_error *err)
{
	struct blobs_run *R = ud;
	struct reg_copy_blob *b = &R->b[i];
	b->how = reg_blob_copy(R->dst, b->d, &b->src, R->o->mount_from, &R->o->progress, err);
	return b->how < 0 ? -1 : 0;
}

/* The blobs' known locations (registry/client.h) on dst's registry, asked
 * for in dst's token scope before the first request, so that one token
 * covers the mounts from there. */
static void scope_known(struct reg_repo *dst, const struct reg_copy_blob *b, size_t n)
{
	_cleanup_json_ json_t *added = json_object();
	for (size_t i = 0; i < n && json_object_size(added) < REG_MOUNT_SCOPES; i++) {
		if (b[i].src.repo && reg_repo_same_registry(b[i].src.repo, dst))
			continue; /* mounted from its source */
		_cleanup_strv_ char **from = reg_blob_locations(dst, b[i].d->digest);
		for (size_t k = 0; from && from[k] && k < REG_MOUNT_TRIES; k++)
			if (!json_object_get(added, from[k])) {
				reg_repo_add_pull_scope(dst, from[k]);
				json_object_set_new(added, from[k], json_true());
			}
	}
}

int reg_copy_blobs(struct reg_repo *dst, struct reg_copy_blob *blobs, size_t n,
                   const struct reg_copy_opts *o, oci_error *err)
{
	struct blobs_run R = { dst, blobs, o };
	scope_known(dst, blobs, n);
	int64_t *sizes = oci_xcalloc(n ? n : 1, sizeof *sizes);
	for (size_t i = 0; i < n; i++)
		sizes[i] = blobs[i].d->size;
	int rc = reg_blob_batch(dst, n, sizes, o->jobs, blob_job, &R, err);
	free(sizes);
	return rc;
}

static int put_manifests(const struct reg_plan *p, struct reg_repo *dst, const char *reference,
                         bool *subject_indexed, oci_error *err)
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
	return reg_manifest_put_subject(dst, reference, top->media_type, top->data, top->len,
	                                subject_indexed, err);
}

int reg_copy_to_registry(const struct reg_plan *p, const struct reg_walk_source *src,
                         struct reg_repo *dst, const char *dst_reference,
                         const struct reg_copy_opts *o, oci_error *err)
{
	if (o->mount_from)
		reg_repo_add_pull_scope(dst, o->mount_from);
	if (src->repo && reg_repo_same_registry(src->repo, dst)) {
		/* one token covers the mounts' pull on the source */
		const char *from = strchr(reg_repo_name(src->repo), '/');
		if (from)
			reg_repo_add_pull_scope(dst, from + 1);
	}
	struct reg_copy_blob *b = oci_xcalloc(p->n_blobs + 1, sizeof *b);
	for (size_t i = 0; i < p->n_blobs; i++)
		b[i] = (struct reg_copy_blob){ .d = &p->blobs[i],
		                               .src = { .repo = src->repo, .layout = src->layout } };
	int rc = reg_copy_blobs(dst, b, p->n_blobs, o, err);
	free(b);
	if (rc < 0)
		return -1;
	return put_manifests(p, dst, dst_reference, o->subject_indexed, err);
}

/* --- into a layout ------------------------------------------------------------------ */

struct layout_run {
	const struct reg_plan *p;
	struct reg_repo *src;
	const char *dir;
	const struct reg_progress *progress;
};

struct wsink {
	struct oci_blob_writer w;
	const struct reg_progress *progress;
	const char *digest;
};

static int writer_sink(void *ud, const void *p, size_t n, oci_error *err)
{
	struct wsink *s = ud;
	if (oci_layout_blob_write(&s->w, p, n, err) < 0)
		return -1;
	reg_progress_emit(s->progress, REG_PROGRESS_BYTES, s->digest, (int64_t)n);
	return 0;
}

static int writer_restart(void *ud, oci_error *err)
{
	struct wsink *s = ud;
	reg_progress_emit(s->progress, REG_PROGRESS_BYTES, s->digest, -s->w.f.n);
	return oci_layout_blob_restart(&s->w, err);
}

static int blob_to_layout(size_t i, void *ud, oci_error *err)
{
	struct layout_run *R = ud;
	const struct oci_descriptor *d = &R->p->blobs[i];
	reg_progress_emit(R->progress, REG_PROGRESS_START, d->digest, d->size);
	if (oci_layout_blob_exists(R->dir, d->digest, d->size)) {
		reg_progress_emit(R->progress, REG_PROGRESS_DONE, d->digest, REG_BLOB_EXISTED);
		return 0;
	}
	struct wsink s = { .progress = R->progress, .digest = d->digest };
	/* reg_blob_get verifies digest and size before returning 0 */
	if (oci_layout_blob_begin(&s.w, R->dir, d->digest, d->size, false, err) < 0)
		return -1;
	if (reg_blob_get_restart(R->src, d->digest, d->size, writer_sink, writer_restart, &s,
	                         err) < 0) {
		oci_layout_blob_abort(&s.w);
		return -1;
	}
	if (oci_layout_blob_commit(&s.w, err) < 0)
		return -1;
	reg_progress_emit(R->progress, REG_PROGRESS_DONE, d->digest, REG_BLOB_TRANSFERRED);
	return 0;
}

int reg_copy_into_layout(const struct reg_plan *p, struct reg_repo *src, const char *dir,
                         const struct reg_copy_opts *o, oci_error *err)
{
	struct layout_run R = { .p = p, .src = src, .dir = dir, .progress = &o->progress };
	if (oci_layout_create(dir, err) < 0)
		return -1;
	int64_t *sizes = oci_xcalloc(p->n_blobs ? p->n_blobs : 1, sizeof *sizes);
	for (size_t i = 0; i < p->n_blobs; i++)
		sizes[i] = p->blobs[i].size;
	int rc = reg_blob_batch(src, p->n_blobs, sizes, o->jobs, blob_to_layout, &R, err);
	free(sizes);
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < p->n_manifests; i++) {
		const struct reg_plan_manifest *m = &p->manifests[i];
		if (!oci_layout_blob_exists(dir, m->digest, (int64_t)m->len) &&
		    oci_layout_blob_put(dir, m->digest, m->data, m->len, err) < 0)
			return -1;
	}
	return 0;
}

int reg_copy_to_layout(const struct reg_plan *p, struct reg_repo *src, const char *dir,
                       const char *name, const struct reg_copy_opts *o, oci_error *err)
{
	if (reg_copy_into_layout(p, src, dir, o, err) < 0)
		return -1;
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
	size_t *uniq; /* indexes of layers to upload */
	struct reg_repo *dst;
	int level;
	const struct reg_progress *progress;
};

struct lsrc {
	struct oci_archive_layer *l;
	const struct reg_progress *progress;
	const char *path;
	int64_t reported;
};

static ssize_t layer_read(void *ud, void *buf, size_t n, oci_error *err)
{
	struct lsrc *s = ud;
	ssize_t r = oci_archive_layer_read(s->l, buf, n, err);
	int64_t now = oci_archive_layer_consumed(s->l);
	if (now != s->reported) {
		reg_progress_emit(s->progress, REG_PROGRESS_BYTES, s->path, now - s->reported);
		s->reported = now;
	}
	return r;
}

/* A layer's digest is known only once it is compressed: no HEAD or mount
 * first, the upload computes it. */
static int layer_job(size_t i, void *ud, oci_error *err)
{
	struct arun *A = ud;
	struct alayer *L = &A->layers[A->uniq[i]];
	struct lsrc s = { .progress = A->progress, .path = L->path };
	if (oci_archive_layer_open(A->a, L->path, A->level, &s.l, err) < 0)
		return -1;
	reg_progress_emit(A->progress, REG_PROGRESS_START, L->path,
	                  oci_archive_layer_entry_size(s.l));
	int rc = reg_blob_upload_stream(A->dst, layer_read, &s, L->digest, &L->size, err);
	if (rc == 0)
		rc = oci_archive_layer_diff_id(s.l, L->diff_id, err);
	oci_archive_layer_close(s.l);
	if (rc == 0)
		reg_progress_emit(A->progress, REG_PROGRESS_DONE, L->path, REG_BLOB_TRANSFERRED);
	return rc;
}

int reg_push_archive(const struct oci_archive *a, const struct oci_archive_image *im,
                     struct reg_repo *dst, const char *dst_reference, int level,
                     const struct reg_copy_opts *o, char digest_out[OCI_DIGEST_MAX],
                     oci_error *err)
{
	_cleanup_buf_ struct oci_buf cfg = { 0 };
	struct oci_config config = { 0 };
	struct alayer *layers = NULL;
	size_t *uniq = NULL;
	struct oci_manifest man = { 0 };
	_cleanup_free_ char *body = NULL;
	int rc = -1;

	if (o->mount_from)
		reg_repo_add_pull_scope(dst, o->mount_from);
	if (oci_archive_read_entry(a, im->config, OCI_ARCHIVE_MAX_JSON, &cfg, err) < 0)
		return -1;
	if (!cfg.data)
		oci_buf_append(&cfg, "", 0);
	if (oci_config_parse(&config, cfg.data, cfg.len, err) < 0) {
		oci_err_wrap(err, "%s: %s", a->file, im->config);
		goto out;
	}
	if (config.n_diff_ids != im->n_layers) {
		oci_err(err, OCI_E_USAGE, "%s: the config lists %zu layers (rootfs.diff_ids), manifest.json %zu",
		        a->file, config.n_diff_ids, im->n_layers);
		goto out;
	}
	char cfg_digest[OCI_DIGEST_MAX];
	oci_digest_buf("sha256", cfg.data, cfg.len, cfg_digest);

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
	struct arun A = { .a = a, .layers = layers, .uniq = uniq, .dst = dst, .level = level,
	                  .progress = &o->progress };
	if (reg_parallel(n_uniq, o->jobs, layer_job, &A, err) < 0)
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

	/* the config: there already, else mounted or uploaded */
	man.config = (struct oci_descriptor){ .media_type = OCI_MT_DOCKER_CONFIG,
	                                      .digest = cfg_digest, .size = (int64_t)cfg.len };
	struct reg_blob_source mem = { .data = cfg.data };
	if (reg_blob_copy(dst, &man.config, &mem, o->mount_from, &o->progress, err) < 0)
		goto out;

	/* the descriptors borrow the strings above: never released */
	man.layers = oci_xcalloc(im->n_layers + 1, sizeof *man.layers);
	man.n_layers = im->n_layers;
	for (size_t i = 0; i < im->n_layers; i++)
		man.layers[i] = (struct oci_descriptor){ .media_type = OCI_MT_DOCKER_LAYER_GZIP,
		                                         .digest = layers[i].digest,
		                                         .size = layers[i].size };
	size_t len;
	body = oci_manifest_serialize_docker(&man, &len);
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
	free(man.layers);
	free(layers);
	free(uniq);
	oci_config_release(&config);
	return rc;
}
