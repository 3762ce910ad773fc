/* registry/image.c: reference → manifest or index → picked children →
 * configs, level by level, each level's fetches concurrent. */
#include <string.h>
#include <sys/utsname.h>

#include "oci/cleanup.h"
#include "oci/mediatype.h"
#include "oci/util.h"
#include "registry/image.h"
#include "registry/parallel.h"

#define MAX_DEPTH 8 /* index → index → manifest is already unusual */
#define MAX_NODES 10000 /* manifests in one walk: a hostile tree stops here */

/* A manifest fetched once for the whole walk, by digest. */
struct fetched {
	const char *digest;  /* borrowed from the first node that wants it */
	const char *mt_hint; /* its descriptor's media type (layouts serve none) */
	struct reg_manifest raw;
};

/* An image config fetched once for the whole walk, by digest. */
struct cfg_fetched {
	const struct oci_descriptor *d;
	struct oci_config cfg;
};

struct walker {
	const struct reg_walk_source *src;
	const struct reg_walk_opts *o;
	char *name; /* the reference, for messages */
	struct fetched *docs;
	size_t n_docs;
	struct reg_walk_node **pending; /* nodes of the level being fetched */
	size_t n_pending;
	struct cfg_fetched *cfgs;
	size_t n_cfgs;
	struct reg_walk_node **images; /* nodes whose config is wanted */
	size_t n_images;
	size_t n_nodes;       /* in the tree so far */
	const char **expanded; /* digests of the indexes expanded so far */
	size_t n_expanded;
};

static int mismatch(const struct walker *W, oci_error *err)
{
	if (err && W->o->mismatch_code)
		err->code = W->o->mismatch_code;
	return -1;
}

static int fail_named(const struct walker *W, oci_error *err)
{
	return oci_err_wrap(err, "%s", W->name);
}

/* --- fetching -------------------------------------------------------------------- */

static int fetch_manifest(const struct reg_walk_source *src, const char *reference,
                          const char *mt_hint, struct reg_manifest *out, oci_error *err)
{
	if (src->repo)
		return reg_manifest_get(src->repo, reference, out, err);
	struct oci_buf b = { 0 };
	memset(out, 0, sizeof *out);
	if (oci_layout_blob_read(src->layout, reference, REG_MAX_CONFIG, &b, err) < 0) {
		oci_buf_release(&b);
		return -1;
	}
	out->data = b.data ? b.data : oci_xstrdup("");
	out->len = b.len;
	out->digest = oci_xstrdup(reference);
	out->media_type = oci_xstrdup(mt_hint);
	return 0;
}

static int fetch_job(size_t i, void *ud, oci_error *err)
{
	struct walker *W = ud;
	struct fetched *f = &W->docs[W->n_docs + i];
	return fetch_manifest(W->src, f->digest, f->mt_hint, &f->raw, err);
}

static void copy_manifest(struct reg_manifest *dst, const struct reg_manifest *src)
{
	dst->data = oci_xmalloc(src->len + 1);
	memcpy(dst->data, src->data, src->len + 1);
	dst->len = src->len;
	dst->media_type = oci_xstrdup(src->media_type);
	dst->digest = oci_xstrdup(src->digest);
}

/* Parse n->raw as what it is. */
static int parse_node(const struct walker *W, struct reg_walk_node *n, oci_error *err)
{
	_cleanup_free_ char *mt = NULL;
	n->kind = oci_doc_kind(n->raw.data, n->raw.len, n->raw.media_type, &mt, err);
	int rc = -1;
	if (n->kind == OCI_DOC_MANIFEST)
		rc = oci_manifest_parse(&n->m, n->raw.data, n->raw.len, mt, err);
	else if (n->kind == OCI_DOC_INDEX)
		rc = oci_index_parse(&n->index, n->raw.data, n->raw.len, mt, err);
	return rc < 0 ? fail_named(W, err) : 0;
}

/* Fetch every pending node (each digest once in the walk), then parse them. */
static int fetch_level(struct walker *W, oci_error *err)
{
	size_t n_new = 0;
	W->docs = oci_xrealloc(W->docs, (W->n_docs + W->n_pending + 1) * sizeof *W->docs);
	for (size_t i = 0; i < W->n_pending; i++) {
		const struct oci_descriptor *d = &W->pending[i]->desc;
		bool have = false;
		for (size_t k = 0; k < W->n_docs + n_new && !have; k++)
			have = strcmp(W->docs[k].digest, d->digest) == 0;
		if (!have)
			W->docs[W->n_docs + n_new++] = (struct fetched){ d->digest, d->media_type, { 0 } };
	}
	int rc = reg_parallel(n_new, W->o->jobs, fetch_job, W, err);
	W->n_docs += n_new; /* fetched or not, each is released with the walker */
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < W->n_pending; i++) {
		struct reg_walk_node *n = W->pending[i];
		for (size_t k = 0; k < W->n_docs && !n->raw.data; k++)
			if (strcmp(W->docs[k].digest, n->desc.digest) == 0)
				copy_manifest(&n->raw, &W->docs[k].raw);
		if (parse_node(W, n, err) < 0)
			return -1;
	}
	return 0;
}

/* --- picking ---------------------------------------------------------------------- */

static bool any_platform(const struct oci_descriptor *d, const struct reg_walk_opts *o)
{
	if (!d->platform || oci_descriptor_attests(d))
		return false;
	for (size_t i = 0; i < o->n_plats; i++)
		if (oci_platform_match(&o->plats[i], d->platform))
			return true;
	return o->n_plats == 0;
}

/* Positions of the entries of ix to walk, in order: the picked ones, then
 * (at the top, on request) the attestations pointing at them. */
static int pick(const struct walker *W, const struct oci_index *ix, bool top, size_t *sel,
                size_t *n_sel, size_t *n_picked, oci_error *err)
{
	const struct reg_walk_opts *o = W->o;
	enum reg_walk_pick how = top ? o->pick : REG_PICK_ALL;
	size_t n = 0;
	if (how == REG_PICK_EACH) {
		for (size_t w = 0; w < o->n_plats; w++) {
			int i = oci_index_select(ix, &o->plats[w], err);
			if (i < 0) {
				mismatch(W, err);
				return fail_named(W, err);
			}
			sel[n++] = (size_t)i;
		}
	} else {
		for (size_t i = 0; i < ix->n_manifests; i++) {
			const struct oci_descriptor *d = &ix->manifests[i];
			if (how == REG_PICK_ALL ||
			    (how == REG_PICK_PLATFORMS && any_platform(d, o)) ||
			    (how == REG_PICK_IMAGES && !oci_descriptor_attests(d) &&
			     oci_mt_is_manifest(d->media_type)))
				sel[n++] = i;
		}
	}
	*n_picked = n;
	if (top && o->attestations && how != REG_PICK_ALL)
		for (size_t i = 0; i < ix->n_manifests; i++) {
			const char *att = oci_descriptor_attests(&ix->manifests[i]);
			bool ours = false;
			for (size_t k = 0; att && k < *n_picked && !ours; k++)
				ours = strcmp(att, ix->manifests[sel[k]].digest) == 0;
			if (ours)
				sel[n++] = i;
		}
	*n_sel = n;
	return 0;
}

/* Give the index node n its children (not yet fetched) and queue them.  An
 * index met before in the walk is not expanded again (its subtree is there
 * once already): a tree of repeated entries stays as small as its distinct
 * documents. */
static int expand(struct walker *W, struct reg_walk_node *n, bool top, struct reg_walk_node ***next,
                  size_t *n_next, oci_error *err)
{
	const struct oci_index *ix = &n->index;
	for (size_t i = 0; i < W->n_expanded; i++)
		if (strcmp(W->expanded[i], n->raw.digest) == 0) {
			n->repeat = true;
			return 0;
		}
	W->expanded = oci_xrealloc(W->expanded, (W->n_expanded + 1) * sizeof *W->expanded);
	W->expanded[W->n_expanded++] = n->raw.digest;
	_cleanup_free_ size_t *sel = oci_xcalloc(2 * ix->n_manifests + W->o->n_plats + 1,
	                                         sizeof *sel);
	size_t n_sel = 0;
	if (pick(W, ix, top, sel, &n_sel, &n->n_picked, err) < 0)
		return -1;
	W->n_nodes += n_sel;
	if (W->n_nodes > MAX_NODES)
		return oci_err(err, OCI_E_REGISTRY, "more than %d manifests in the image tree",
		               MAX_NODES);
	n->children = oci_xcalloc(n_sel + 1, sizeof *n->children);
	n->n_children = n_sel;
	*next = oci_xrealloc(*next, (*n_next + n_sel + 1) * sizeof **next);
	for (size_t i = 0; i < n_sel; i++) {
		struct reg_walk_node *c = &n->children[i];
		oci_descriptor_copy(&c->desc, &ix->manifests[sel[i]]);
		c->attests = oci_descriptor_attests(&c->desc);
		(*next)[(*n_next)++] = c;
	}
	return 0;
}

/* --- configs ---------------------------------------------------------------------- */

static int get_config(const struct walker *W, const struct oci_descriptor *d,
                      struct oci_config *out, oci_error *err)
{
	const struct reg_walk_source *src = W->src;
	if (W->o->get_config)
		return W->o->get_config(W->o->config_ud, src->repo, d, out, err);
	if (src->repo)
		return reg_config_get(src->repo, d, out, NULL, err);
	_cleanup_buf_ struct oci_buf b = { 0 };
	if (oci_layout_blob_read(src->layout, d->digest, REG_MAX_CONFIG, &b, err) < 0)
		return -1;
	if (oci_config_parse(out, b.data ? b.data : "", b.len, err) < 0)
		return oci_err_wrap(err, "%s@%s", src->layout->dir, d->digest);
	return 0;
}

static int config_job(size_t i, void *ud, oci_error *err)
{
	struct walker *W = ud;
	return get_config(W, W->cfgs[i].d, &W->cfgs[i].cfg, err);
}

static void collect_images(struct walker *W, struct reg_walk_node *n)
{
	/* an artifact's config is no image config: nothing to parse */
	if (n->kind == OCI_DOC_MANIFEST && !n->attests && oci_manifest_is_image(&n->m)) {
		W->images = oci_xrealloc(W->images, (W->n_images + 1) * sizeof *W->images);
		W->images[W->n_images++] = n;
	}
	for (size_t i = 0; i < n->n_children; i++)
		collect_images(W, &n->children[i]);
}

static int fetch_configs(struct walker *W, struct reg_walk_node *top, oci_error *err)
{
	collect_images(W, top);
	W->cfgs = oci_xcalloc(W->n_images + 1, sizeof *W->cfgs);
	for (size_t i = 0; i < W->n_images; i++) {
		const struct oci_descriptor *d = &W->images[i]->m.config;
		bool have = false;
		for (size_t k = 0; k < W->n_cfgs && !have; k++)
			have = strcmp(W->cfgs[k].d->digest, d->digest) == 0;
		if (!have)
			W->cfgs[W->n_cfgs++].d = d;
	}
	if (reg_parallel(W->n_cfgs, W->o->jobs, config_job, W, err) < 0)
		return -1;
	for (size_t i = 0; i < W->n_images; i++) {
		struct reg_walk_node *n = W->images[i];
		for (size_t k = 0; k < W->n_cfgs && !n->has_config; k++)
			if (strcmp(W->cfgs[k].d->digest, n->m.config.digest) == 0) {
				oci_config_copy(&n->cfg, &W->cfgs[k].cfg);
				n->has_config = true;
			}
	}
	return 0;
}

/* --- the walk ---------------------------------------------------------------------- */

static int fetch_top(struct walker *W, const char *reference, struct reg_walk_node *top,
                     oci_error *err)
{
	const struct reg_walk_source *src = W->src;
	/* a layout's manifest by digest: the referrers it holds (registry/referrers.h) */
	bool by_digest = reference && oci_digest_validate(reference, NULL) == 0;
	if (src->layout && !by_digest) {
		const struct oci_descriptor *d = oci_layout_find(src->layout, reference, err);
		if (!d)
			return -1;
		oci_descriptor_copy(&top->desc, d);
		if (fetch_manifest(src, d->digest, d->media_type, &top->raw, err) < 0)
			return -1;
		return parse_node(W, top, err);
	}
	if (fetch_manifest(src, reference, NULL, &top->raw, err) < 0 || parse_node(W, top, err) < 0)
		return -1;
	top->desc.media_type = oci_xstrdup(top->kind == OCI_DOC_INDEX ? top->index.media_type
	                                                               : top->m.media_type);
	top->desc.digest = oci_xstrdup(top->raw.digest);
	top->desc.size = (int64_t)top->raw.len;
	return 0;
}

static int walk(struct walker *W, const char *reference, struct reg_walk_node *top,
                oci_error *err)
{
	if (fetch_top(W, reference, top, err) < 0)
		return -1;
	if (top->kind == OCI_DOC_INDEX && expand(W, top, true, &W->pending, &W->n_pending, err) < 0)
		return fail_named(W, err);
	for (int depth = 1; W->n_pending; depth++) {
		if (fetch_level(W, err) < 0)
			return -1;
		struct reg_walk_node **next = NULL;
		size_t n_next = 0;
		int rc = 0;
		for (size_t i = 0; i < W->n_pending && rc == 0; i++) {
			struct reg_walk_node *n = W->pending[i];
			if (n->kind != OCI_DOC_INDEX)
				continue;
			if (!W->o->nested) {
				oci_err(err, OCI_E_REGISTRY, "nested index %s is not supported",
				        n->desc.digest);
				rc = mismatch(W, err);
			} else if (depth >= MAX_DEPTH) {
				rc = oci_err(err, OCI_E_REGISTRY, "indexes nested too deep (more than %d levels)",
				             MAX_DEPTH);
			} else {
				rc = expand(W, n, false, &next, &n_next, err);
			}
		}
		free(W->pending);
		W->pending = next;
		W->n_pending = n_next;
		if (rc < 0)
			return fail_named(W, err);
	}
	if (W->o->configs && fetch_configs(W, top, err) < 0)
		return -1;
	return 0;
}

int reg_walk(const struct reg_walk_source *src, const char *reference,
             const struct reg_walk_opts *o, struct reg_walk *out, oci_error *err)
{
	struct walker W = { .src = src, .o = o };
	if (src->repo)
		W.name = oci_xasprintf("%s%s%s", reg_repo_name(src->repo),
		                       strchr(reference, ':') ? "@" : ":", reference);
	else
		W.name = oci_xasprintf("%s%s%s", src->layout->dir, reference ? ":" : "",
		                       reference ? reference : "");
	memset(out, 0, sizeof *out);
	int rc = walk(&W, reference, &out->top, err);
	for (size_t i = 0; i < W.n_docs; i++)
		reg_manifest_release(&W.docs[i].raw);
	free(W.docs);
	free(W.pending);
	for (size_t i = 0; i < W.n_cfgs; i++)
		oci_config_release(&W.cfgs[i].cfg);
	free(W.cfgs);
	free(W.images);
	free(W.expanded);
	free(W.name);
	if (rc < 0)
		reg_walk_release(out);
	return rc;
}

int reg_walk_configs(const struct reg_walk_source *src, const struct reg_walk_opts *o,
                     struct reg_walk *w, oci_error *err)
{
	struct walker W = { .src = src, .o = o };
	int rc = fetch_configs(&W, &w->top, err);
	for (size_t i = 0; i < W.n_cfgs; i++)
		oci_config_release(&W.cfgs[i].cfg);
	free(W.cfgs);
	free(W.images);
	return rc;
}

static void node_release(struct reg_walk_node *n)
{
	for (size_t i = 0; i < n->n_children; i++)
		node_release(&n->children[i]);
	free(n->children);
	oci_descriptor_release(&n->desc);
	reg_manifest_release(&n->raw);
	oci_manifest_release(&n->m);
	oci_index_release(&n->index);
	oci_config_release(&n->cfg);
	memset(n, 0, sizeof *n);
}

void reg_walk_release(struct reg_walk *w)
{
	node_release(&w->top);
}

struct reg_walk_node *reg_walk_images(struct reg_walk *w, size_t *n)
{
	if (w->top.kind == OCI_DOC_MANIFEST) {
		*n = 1;
		return &w->top;
	}
	*n = w->top.n_picked;
	return w->top.children;
}

/* --- one platform -------------------------------------------------------------- */

void reg_image_release(struct reg_image *img)
{
	reg_manifest_release(&img->top);
	oci_index_release(&img->index);
	reg_manifest_release(&img->manifest);
	oci_manifest_release(&img->m);
	memset(img, 0, sizeof *img);
}

int reg_image_get(struct reg_repo *r, const char *reference, const struct oci_platform *want,
                  struct reg_image *out, oci_error *err)
{
	struct reg_walk_source src = { .repo = r };
	struct reg_walk_opts o = { .pick = REG_PICK_EACH, .plats = want, .n_plats = want ? 1 : 0 };
	struct reg_walk w;
	memset(out, 0, sizeof *out);
	if (reg_walk(&src, reference, &o, &w, err) < 0)
		return -1;
	/* the walk's parts move into the flat struct */
	out->kind = w.top.kind;
	out->top = w.top.raw;
	memset(&w.top.raw, 0, sizeof w.top.raw);
	if (w.top.kind == OCI_DOC_INDEX) {
		out->index = w.top.index;
		memset(&w.top.index, 0, sizeof w.top.index);
	}
	struct reg_walk_node *img = w.top.kind == OCI_DOC_INDEX ? w.top.children : &w.top;
	if (w.top.kind == OCI_DOC_MANIFEST) {
		copy_manifest(&out->manifest, &out->top);
	} else if (w.top.n_children) {
		out->manifest = img->raw;
		memset(&img->raw, 0, sizeof img->raw);
		out->selected = true;
	}
	if (img) {
		out->m = img->m;
		memset(&img->m, 0, sizeof img->m);
	}
	reg_walk_release(&w);
	return 0;
}

/* --- configs ------------------------------------------------------------------- */

int reg_blob_read(struct reg_repo *r, const struct oci_descriptor *d, struct oci_buf *out,
                  oci_error *err)
{
	if (d->size > REG_MAX_CONFIG)
		return oci_err(err, OCI_E_REGISTRY, "%s: %s is %lld bytes, more than a config may be",
		               reg_repo_name(r), d->digest, (long long)d->size);
	return reg_blob_get_cached(r, OCI_MCACHE_CONFIGS, d->digest, d->size, REG_MAX_CONFIG, out,
	                           err);
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
