/* registry/referrers.c: listing referrers (API, fallback tag, layout) and
 * carrying them along with an image. */
#include <ctype.h>
#include <string.h>

#include "oci/cleanup.h"
#include "oci/mediatype.h"
#include "registry/referrers.h"

char *reg_referrers_tag(const char *digest)
{
	const char *colon = strchr(digest, ':');
	size_t alg = colon ? (size_t)(colon - digest) : 0;
	const char *enc = colon ? colon + 1 : digest;
	char *t = oci_xasprintf("%.*s-%.64s", (int)(alg > 32 ? 32 : alg), digest, enc);
	for (char *p = t; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
			*p = '-';
	return t;
}

void reg_referrers_release(struct reg_referrers *r)
{
	oci_index_release(&r->found);
	free(r->tag);
	for (size_t i = 0; i < r->n_cosign; i++) {
		free(r->cosign[i].tag);
		free(r->cosign[i].digest);
		free(r->cosign[i].media_type);
	}
	free(r->cosign);
	memset(r, 0, sizeof *r);
}

static bool has_digest(const struct oci_index *ix, const char *digest)
{
	for (size_t i = 0; i < ix->n_manifests; i++)
		if (strcmp(ix->manifests[i].digest, digest) == 0)
			return true;
	return false;
}

/* Add add's entries that into lacks; true when any was added. */
static bool merge(struct oci_index *into, const struct oci_index *add)
{
	bool changed = false;
	for (size_t i = 0; i < add->n_manifests; i++)
		if (!has_digest(into, add->manifests[i].digest)) {
			oci_index_add(into, &add->manifests[i]);
			changed = true;
		}
	return changed;
}

/* Keep the entries of artifact type t (the registry did not filter). */
static void filter(struct oci_index *ix, const char *t)
{
	size_t k = 0;
	for (size_t i = 0; i < ix->n_manifests; i++) {
		const char *at = ix->manifests[i].artifact_type;
		if (at && strcmp(at, t) == 0)
			ix->manifests[k++] = ix->manifests[i];
		else
			oci_descriptor_release(&ix->manifests[i]);
	}
	ix->n_manifests = k;
}

/* An index's bytes as a referrers list; anything else is none (the spec:
 * a tag that is not a valid index means no referrers). */
static void parse_list(const struct reg_manifest *m, struct oci_index *out)
{
	struct oci_index ix = { 0 };
	if (oci_index_parse(&ix, m->data, m->len, m->media_type, NULL) == 0)
		merge(out, &ix);
	oci_index_release(&ix);
}

/* The fallback tag in a registry: 0 with what it lists (nothing when it
 * is absent), -1 on error. */
static int tag_list(struct reg_repo *r, const char *tag, struct oci_index *out, oci_error *err)
{
	struct reg_manifest m = { 0 };
	if (reg_manifest_get(r, tag, &m, err) < 0) {
		if (!err || err->http_status != 404)
			return -1;
		oci_err_clear(err);
		return 0;
	}
	parse_list(&m, out);
	reg_manifest_release(&m);
	return 0;
}

/* The index.json entry named name, or NULL. */
static const struct oci_descriptor *layout_named(const struct oci_layout *l, const char *name)
{
	for (size_t i = 0; i < l->index.n_manifests; i++) {
		json_t *a = l->index.manifests[i].annotations;
		const char *n = json_string_value(json_object_get(a, OCI_LAYOUT_REF_NAME));
		if (n && strcmp(n, name) == 0)
			return &l->index.manifests[i];
	}
	return NULL;
}

/* The index.json entry named tag, read: 1 (*out filled), 0 when there is
 * none, -1 on error. */
static int layout_read_named(const struct oci_layout *l, const char *tag, struct reg_manifest *out,
                             oci_error *err)
{
	const struct oci_descriptor *t = layout_named(l, tag);
	if (!t)
		return 0;
	struct oci_buf b = { 0 };
	if (oci_layout_blob_read(l, t->digest, REG_MAX_CONFIG, &b, err) < 0)
		return oci_err_wrap(err, "%s:%s", l->dir, tag);
	*out = (struct reg_manifest){ .data = b.data ? b.data : oci_xstrdup(""), .len = b.len,
	                              .media_type = oci_xstrdup(t->media_type) };
	return 1;
}

/* The descriptor the referrers API gives a manifest or index. */
static void referrer_descriptor(const struct oci_descriptor *entry, const struct reg_manifest *raw,
                                const struct oci_manifest *m, const struct oci_index *ix,
                                struct oci_descriptor *out)
{
	memset(out, 0, sizeof *out);
	out->media_type = oci_xstrdup(m ? m->media_type : ix->media_type);
	out->digest = oci_xstrdup(entry->digest);
	out->size = (int64_t)raw->len;
	const char *at = m ? (m->artifact_type ? m->artifact_type : m->config.media_type)
	                   : ix->artifact_type;
	out->artifact_type = oci_xstrdup(at);
	json_t *a = m ? m->annotations : ix->annotations;
	out->annotations = a ? json_deep_copy(a) : NULL;
}

/* A layout: its fallback tag entry, then the entries whose manifest has
 * the subject digest. */
static int layout_list(const struct oci_layout *l, const char *digest, const char *tag,
                       struct oci_index *out, oci_error *err)
{
	const struct oci_descriptor *t = layout_named(l, tag);
	struct reg_manifest list = { 0 };
	int got = layout_read_named(l, tag, &list, err);
	if (got < 0)
		return -1;
	if (got)
		parse_list(&list, out);
	reg_manifest_release(&list);
	for (size_t i = 0; i < l->index.n_manifests; i++) {
		const struct oci_descriptor *e = &l->index.manifests[i];
		if (e == t || has_digest(out, e->digest) || !e->media_type ||
		    !(oci_mt_is_manifest(e->media_type) || oci_mt_is_index(e->media_type)))
			continue;
		struct oci_buf b = { 0 };
		if (oci_layout_blob_read(l, e->digest, REG_MAX_CONFIG, &b, err) < 0)
			return oci_err_wrap(err, "%s", l->dir);
		struct reg_manifest raw = { .data = b.data ? b.data : oci_xstrdup(""), .len = b.len };
		struct oci_manifest m = { 0 };
		struct oci_index ix = { 0 };
		const char *subj = NULL;
		if (oci_mt_is_manifest(e->media_type) &&
		    oci_manifest_parse(&m, raw.data, raw.len, e->media_type, NULL) == 0)
			subj = m.subject.digest;
		else if (oci_mt_is_index(e->media_type) &&
		         oci_index_parse(&ix, raw.data, raw.len, e->media_type, NULL) == 0)
			subj = ix.subject.digest;
		if (subj && strcmp(subj, digest) == 0) {
			struct oci_descriptor d;
			referrer_descriptor(e, &raw, m.subject.digest ? &m : NULL, &ix, &d);
			oci_index_add(out, &d);
			oci_descriptor_release(&d);
		}
		oci_manifest_release(&m);
		oci_index_release(&ix);
		reg_manifest_release(&raw);
	}
	return 0;
}

static void cosign_tags(struct reg_repo *r, const char *tag, struct reg_referrers *out)
{
	static const char *const sfx[] = { ".sig", ".att", ".sbom" };
	for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
		_cleanup_free_ char *t = oci_xasprintf("%s%s", tag, sfx[i]);
		char *dg = NULL, *mt = NULL;
		int64_t size = -1;
		/* best effort: a refusal or error lists nothing */
		if (reg_manifest_head(r, t, &dg, &mt, &size, NULL) == 1 && dg && *dg) {
			out->cosign = oci_xrealloc(out->cosign, (out->n_cosign + 1) * sizeof *out->cosign);
			out->cosign[out->n_cosign++] = (struct reg_cosign_tag){
				.tag = TAKE_PTR(t), .digest = dg, .media_type = mt, .size = size };
			continue;
		}
		free(dg);
		free(mt);
	}
}

int reg_referrers_list(const struct reg_walk_source *src, const char *digest,
                       const char *artifact_type, bool cosign, struct reg_referrers *out,
                       oci_error *err)
{
	memset(out, 0, sizeof *out);
	out->tag = reg_referrers_tag(digest);
	out->found.media_type = oci_xstrdup(OCI_MT_OCI_INDEX);
	int rc = 0;
	if (src->layout) {
		out->via = REG_REFERRERS_LAYOUT;
		rc = layout_list(src->layout, digest, out->tag, &out->found, err);
	} else {
		struct oci_index api = { 0 };
		int has = reg_referrers_get(src->repo, digest, artifact_type, &api, &out->filtered, err);
		if (has < 0) {
			rc = -1;
		} else if (has == 1) {
			out->via = REG_REFERRERS_API;
			merge(&out->found, &api);
		} else {
			out->via = REG_REFERRERS_TAG;
			out->filtered = false;
			rc = tag_list(src->repo, out->tag, &out->found, err);
		}
		oci_index_release(&api);
		if (rc == 0 && cosign)
			cosign_tags(src->repo, out->tag, out);
	}
	if (rc == 0 && artifact_type && !out->filtered)
		filter(&out->found, artifact_type);
	if (rc < 0)
		reg_referrers_release(out);
	return rc;
}

/* --- collecting --------------------------------------------------------------------- */

void reg_referrer_set_release(struct reg_referrer_set *s)
{
	for (size_t i = 0; i < s->n_groups; i++) {
		free(s->groups[i].subject);
		oci_index_release(&s->groups[i].ix);
	}
	free(s->groups);
	for (size_t i = 0; i < s->n_plans; i++)
		reg_plan_release(&s->plans[i]);
	free(s->plans);
	memset(s, 0, sizeof *s);
}

int64_t reg_referrer_set_bytes(const struct reg_referrer_set *s, size_t *n_blobs)
{
	int64_t b = 0;
	size_t n = 0;
	for (size_t i = 0; i < s->n_plans; i++) {
		b += s->plans[i].blob_bytes;
		n += s->plans[i].n_blobs;
	}
	if (n_blobs)
		*n_blobs = n;
	return b;
}

struct pending {
	char *digest;
	int depth;
};

int reg_referrers_collect(const struct reg_walk_source *src, const struct reg_plan *image,
                          int jobs, struct reg_referrer_set *out, oci_error *err)
{
	memset(out, 0, sizeof *out);
	size_t n = image->n_manifests, head = 0;
	struct pending *q = oci_xcalloc(n + 1, sizeof *q);
	for (size_t i = 0; i < n; i++) {
		const struct reg_plan_manifest *m = &image->manifests[i];
		q[i] = (struct pending){ oci_xstrdup(m->orig_digest ? m->orig_digest : m->digest), 0 };
	}
	/* every digest seen: the image's and the referrers' (each copied once) */
	_cleanup_json_ json_t *seen = json_object();
	for (size_t i = 0; i < n; i++)
		json_object_set_new(seen, q[i].digest, json_true());
	int rc = 0;
	for (; head < n && rc == 0; head++) {
		struct reg_referrers r;
		if (reg_referrers_list(src, q[head].digest, NULL, false, &r, err) < 0) {
			rc = -1;
			break;
		}
		if (r.found.n_manifests) {
			out->groups = oci_xrealloc(out->groups, (out->n_groups + 1) * sizeof *out->groups);
			struct reg_referrer_group *g = &out->groups[out->n_groups++];
			g->subject = oci_xstrdup(q[head].digest);
			g->ix = r.found;
			memset(&r.found, 0, sizeof r.found);
			for (size_t i = 0; i < g->ix.n_manifests && rc == 0; i++) {
				const char *d = g->ix.manifests[i].digest;
				if (json_object_get(seen, d))
					continue;
				json_object_set_new(seen, d, json_true());
				out->plans = oci_xrealloc(out->plans, (out->n_plans + 1) * sizeof *out->plans);
				if (reg_plan_build(src, d, NULL, 0, jobs, &out->plans[out->n_plans], err) < 0) {
					rc = -1;
					break;
				}
				out->n_plans++;
				if (q[head].depth + 1 < REG_REFERRERS_DEPTH) {
					q = oci_xrealloc(q, (n + 2) * sizeof *q);
					q[n++] = (struct pending){ oci_xstrdup(d), q[head].depth + 1 };
				}
			}
		}
		reg_referrers_release(&r);
	}
	for (size_t i = 0; i < n; i++)
		free(q[i].digest);
	free(q);
	if (rc < 0)
		reg_referrer_set_release(out);
	return rc;
}

/* --- writing ----------------------------------------------------------------------- */

/* Whether d's PUT was answered with OCI-Subject (indexed[k] for plan k). */
static bool was_indexed(const struct oci_descriptor *d, const bool *indexed,
                        const struct reg_referrer_set *s)
{
	for (size_t k = 0; indexed && k < s->n_plans; k++)
		if (indexed[k] && strcmp(reg_plan_top(&s->plans[k])->digest, d->digest) == 0)
			return true;
	return false;
}

/* The fallback index with g's entries added: NULL when nothing is missing,
 * else the bytes to write (caller frees). */
static char *merged_index(const struct reg_manifest *have, const struct reg_referrer_group *g,
                          const bool *skip, const struct reg_referrer_set *s, size_t *len)
{
	struct oci_index ix = { 0 };
	if (!have || oci_index_parse(&ix, have->data, have->len, have->media_type, NULL) < 0) {
		oci_index_release(&ix);
	}
	/* the tag is written as an OCI index, whatever another tool left */
	free(ix.media_type);
	ix.media_type = oci_xstrdup(OCI_MT_OCI_INDEX);
	bool changed = false;
	for (size_t i = 0; i < g->ix.n_manifests; i++) {
		const struct oci_descriptor *d = &g->ix.manifests[i];
		if (!was_indexed(d, skip, s) && !has_digest(&ix, d->digest)) {
			oci_index_add(&ix, d);
			changed = true;
		}
	}
	char *data = changed ? oci_index_serialize(&ix, len) : NULL;
	oci_index_release(&ix);
	return data;
}

int reg_referrers_to_registry(const struct reg_referrer_set *s, const struct reg_walk_source *src,
                              struct reg_repo *dst, const struct reg_copy_opts *o,
                              oci_error *err)
{
	bool *indexed = oci_xcalloc(s->n_plans + 1, sizeof *indexed);
	int rc = 0;
	for (size_t i = 0; i < s->n_plans && rc == 0; i++) {
		struct reg_copy_opts po = *o;
		po.subject_indexed = &indexed[i];
		rc = reg_copy_to_registry(&s->plans[i], src, dst, reg_plan_top(&s->plans[i])->digest,
		                          &po, err);
	}
	for (size_t i = 0; i < s->n_groups && rc == 0; i++) {
		const struct reg_referrer_group *g = &s->groups[i];
		size_t todo = 0;
		for (size_t k = 0; k < g->ix.n_manifests; k++)
			todo += !was_indexed(&g->ix.manifests[k], indexed, s);
		if (!todo)
			continue; /* the registry indexed them all: no fallback tag */
		_cleanup_free_ char *tag = reg_referrers_tag(g->subject);
		struct reg_manifest have = { 0 };
		bool got = true;
		if (reg_manifest_get(dst, tag, &have, err) < 0) {
			if (!err || err->http_status != 404) {
				rc = -1;
				break;
			}
			oci_err_clear(err);
			got = false;
		}
		size_t len = 0;
		char *data = merged_index(got ? &have : NULL, g, indexed, s, &len);
		if (data)
			rc = reg_manifest_put(dst, tag, OCI_MT_OCI_INDEX, data, len, err);
		free(data);
		reg_manifest_release(&have);
	}
	free(indexed);
	return rc;
}

int reg_referrers_to_layout(const struct reg_referrer_set *s, struct reg_repo *src,
                            const char *dir, const struct reg_copy_opts *o, oci_error *err)
{
	for (size_t i = 0; i < s->n_plans; i++)
		if (reg_copy_into_layout(&s->plans[i], src, dir, o, err) < 0)
			return -1;
	for (size_t i = 0; i < s->n_groups; i++) {
		const struct reg_referrer_group *g = &s->groups[i];
		_cleanup_free_ char *tag = reg_referrers_tag(g->subject);
		struct oci_layout l = { 0 };
		struct reg_manifest have = { 0 };
		if (oci_layout_open(&l, dir, err) < 0)
			return -1;
		int got = layout_read_named(&l, tag, &have, err);
		oci_layout_release(&l);
		if (got < 0)
			return -1;
		size_t len = 0;
		_cleanup_free_ char *data = merged_index(got ? &have : NULL, g, NULL, s, &len);
		reg_manifest_release(&have);
		if (!data)
			continue;
		char dg[OCI_DIGEST_MAX];
		oci_digest_buf("sha256", data, len, dg);
		struct oci_descriptor d = { .media_type = OCI_MT_OCI_INDEX, .digest = dg,
		                            .size = (int64_t)len };
		if (oci_layout_blob_put(dir, dg, data, len, err) < 0 ||
		    oci_layout_set_ref(dir, tag, &d, err) < 0)
			return -1;
	}
	return 0;
}
