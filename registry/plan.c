/* registry/plan.c: an image walk → the manifests and blobs to move. */
#include <string.h>

#include "oci/cleanup.h"
#include "oci/mediatype.h"
#include "registry/plan.h"

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

/* false when the plan's total size overflows */
static bool add_blob(struct reg_plan *p, const struct oci_descriptor *d)
{
	for (size_t i = 0; i < p->n_blobs; i++)
		if (strcmp(p->blobs[i].digest, d->digest) == 0)
			return true;
	if (d->media_type && oci_mt_is_foreign(d->media_type)) {
		p->n_skipped_foreign++;
		return true;
	}
	p->blobs = oci_xrealloc(p->blobs, (p->n_blobs + 1) * sizeof *p->blobs);
	struct oci_descriptor *b = &p->blobs[p->n_blobs++];
	memset(b, 0, sizeof *b);
	b->media_type = oci_xstrdup(d->media_type);
	b->digest = oci_xstrdup(d->digest);
	b->size = d->size;
	return oci_add_checked(&p->blob_bytes, d->size);
}

/* Takes m's bytes and digest unless the plan has that digest already. */
static void add_manifest(struct reg_plan *p, struct reg_manifest *m, const char *mt)
{
	for (size_t i = 0; i < p->n_manifests; i++)
		if (strcmp(p->manifests[i].digest, m->digest) == 0)
			return;
	p->manifests = oci_xrealloc(p->manifests, (p->n_manifests + 1) * sizeof *p->manifests);
	struct reg_plan_manifest *pm = &p->manifests[p->n_manifests++];
	memset(pm, 0, sizeof *pm);
	pm->digest = TAKE_PTR(m->digest);
	pm->media_type = oci_xstrdup(mt);
	pm->data = TAKE_PTR(m->data);
	pm->len = m->len;
}

/* An index of the picked children alone (several platforms, not all). */
static void add_selection(struct reg_plan *p, const struct reg_walk_node *n)
{
	struct oci_index sel = { .media_type = oci_xstrdup(n->index.media_type) };
	for (size_t i = 0; i < n->n_children; i++)
		oci_index_add(&sel, &n->children[i].desc);
	if (n->index.annotations)
		sel.annotations = json_incref(n->index.annotations);
	struct reg_manifest m = { 0 };
	m.data = oci_index_serialize(&sel, &m.len);
	char dg[OCI_DIGEST_MAX];
	oci_digest_buf("sha256", m.data, m.len, dg);
	m.digest = oci_xstrdup(dg);
	add_manifest(p, &m, sel.media_type);
	reg_manifest_release(&m);
	oci_index_release(&sel);
}

/* Children first, then n; `selecting`: n is the top index and platforms
 * were asked for. */
static int add_node(struct reg_plan *p, struct reg_walk_node *n, bool selecting, oci_error *err)
{
	for (size_t i = 0; i < n->n_children; i++)
		if (add_node(p, &n->children[i], false, err) < 0)
			return -1;
	if (n->kind == OCI_DOC_MANIFEST) {
		bool ok = add_blob(p, &n->m.config);
		for (size_t i = 0; i < n->m.n_layers && ok; i++)
			ok = add_blob(p, &n->m.layers[i]);
		if (!ok)
			return oci_err(err, OCI_E_REGISTRY, "%s: the blob sizes overflow when summed",
			               n->raw.digest);
		add_manifest(p, &n->raw, n->m.media_type);
		return 0;
	}
	if (selecting && n->n_children == 0) {
		_cleanup_free_ char *have = oci_index_platforms(&n->index);
		return oci_err(err, OCI_E_REGISTRY,
		               "no image for the platforms asked for (the index has: %s)", have);
	}
	if (selecting && n->n_children == 1)
		return 0; /* one platform: its manifest (added last) is the top */
	if (selecting && n->n_children < n->index.n_manifests)
		add_selection(p, n);
	else
		add_manifest(p, &n->raw, n->index.media_type);
	return 0;
}

int reg_plan_build(const struct reg_walk_source *src, const char *reference,
                   const struct oci_platform *plats, size_t n_plats, int jobs,
                   struct reg_plan *out, oci_error *err)
{
	struct reg_walk_opts o = {
		.pick = n_plats ? REG_PICK_PLATFORMS : REG_PICK_ALL,
		.plats = plats,
		.n_plats = n_plats,
		.nested = true,
		.jobs = jobs,
	};
	struct reg_walk w;
	memset(out, 0, sizeof *out);
	if (reg_walk(src, reference, &o, &w, err) < 0)
		return -1;
	int rc = add_node(out, &w.top, n_plats > 0, err);
	if (rc < 0 && src->repo)
		oci_err_wrap(err, "%s", reg_repo_name(src->repo));
	reg_walk_release(&w);
	if (rc < 0)
		reg_plan_release(out);
	return rc;
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
