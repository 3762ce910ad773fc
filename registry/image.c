/* registry/image.c: reference → manifest (→ platform child) → config. */
#include <string.h>
#include <sys/utsname.h>

#include "oci/cleanup.h"
#include "oci/mediatype.h"
#include "oci/util.h"
#include "registry/image.h"

void reg_image_release(struct reg_image *img)
{
	reg_manifest_release(&img->top);
	oci_index_release(&img->index);
	reg_manifest_release(&img->manifest);
	oci_manifest_release(&img->m);
	memset(img, 0, sizeof *img);
}

int reg_index_select(const struct oci_index *ix, const struct oci_platform *want, oci_error *err)
{
	for (size_t i = 0; i < ix->n_manifests; i++) {
		const struct oci_descriptor *d = &ix->manifests[i];
		if (d->platform && !oci_descriptor_attests(d) && oci_platform_match(want, d->platform))
			return (int)i;
	}
	_cleanup_free_ char *w = oci_platform_string(want);
	_cleanup_free_ char *have = oci_index_platforms(ix);
	oci_err(err, OCI_E_REGISTRY, "no image for platform %s in the index (it has: %s)", w, have);
	return -1;
}

int reg_image_get(struct reg_repo *r, const char *reference, const struct oci_platform *want,
                  struct reg_image *out, oci_error *err)
{
	_cleanup_free_ char *mt = NULL;
	memset(out, 0, sizeof *out);
	if (reg_manifest_get(r, reference, &out->top, err) < 0)
		goto fail;
	out->kind = oci_doc_kind(out->top.data, out->top.len, out->top.media_type, &mt, err);
	if (out->kind == OCI_DOC_UNKNOWN)
		goto fail_ctx;
	if (out->kind == OCI_DOC_INDEX) {
		if (oci_index_parse(&out->index, out->top.data, out->top.len, mt, err) < 0)
			goto fail_ctx;
		if (!want)
			return 0;
		int i = reg_index_select(&out->index, want, err);
		if (i < 0)
			goto fail_ctx;
		const struct oci_descriptor *d = &out->index.manifests[i];
		if (reg_manifest_get(r, d->digest, &out->manifest, err) < 0)
			goto fail;
		out->selected = true;
		free(mt);
		mt = NULL;
		enum oci_doc_kind k = oci_doc_kind(out->manifest.data, out->manifest.len,
		                                   out->manifest.media_type, &mt, err);
		if (k != OCI_DOC_MANIFEST) {
			if (k == OCI_DOC_INDEX)
				oci_err(err, OCI_E_REGISTRY, "nested index %s is not supported", d->digest);
			goto fail_ctx;
		}
	} else {
		out->manifest.data = oci_xmalloc(out->top.len + 1);
		memcpy(out->manifest.data, out->top.data, out->top.len + 1);
		out->manifest.len = out->top.len;
		out->manifest.media_type = oci_xstrdup(out->top.media_type);
		out->manifest.digest = oci_xstrdup(out->top.digest);
	}
	if (oci_manifest_parse(&out->m, out->manifest.data, out->manifest.len, mt, err) < 0)
		goto fail_ctx;
	return 0;
fail_ctx:
	oci_err_wrap(err, "%s%s%s", reg_repo_name(r), strchr(reference, ':') ? "@" : ":", reference);
fail:
	reg_image_release(out);
	return -1;
}

struct mem_sink {
	struct oci_buf *b;
};

static int mem_sink(void *ud, const void *p, size_t n, oci_error *err)
{
	struct mem_sink *m = ud;
	if (m->b->len + n > REG_MAX_CONFIG)
		return oci_err(err, OCI_E_REGISTRY, "blob larger than %d MiB", REG_MAX_CONFIG >> 20);
	oci_buf_append(m->b, p, n);
	return 0;
}

int reg_blob_read(struct reg_repo *r, const struct oci_descriptor *d, struct oci_buf *out,
                  oci_error *err)
{
	struct mem_sink m = { out };
	if (d->size > REG_MAX_CONFIG)
		return oci_err(err, OCI_E_REGISTRY, "%s: %s is %lld bytes, more than a config may be",
		               reg_repo_name(r), d->digest, (long long)d->size);
	if (reg_blob_get(r, d->digest, d->size, mem_sink, &m, err) < 0) {
		oci_buf_release(out);
		return -1;
	}
	if (!out->data)
		oci_buf_append(out, "", 0);
	return 0;
}

int reg_config_get(struct reg_repo *r, const struct oci_descriptor *d, struct oci_config *out,
                   struct oci_buf *raw, oci_error *err)
{
	struct oci_buf b = { 0 };
	if (reg_blob_read(r, d, &b, err) < 0)
		return -1;
	int rc = oci_config_parse(out, b.data, b.len, err);
	if (rc < 0)
		oci_err_wrap(err, "%s@%s", reg_repo_name(r), d->digest);
	if (raw && rc == 0)
		*raw = b;
	else
		oci_buf_release(&b);
	return rc;
}

void reg_host_platform(struct oci_platform *p)
{
	struct utsname u;
	const char *arch = uname(&u) == 0 ? u.machine : "x86_64";
	oci_platform_set(p, "linux", arch, NULL);
}
