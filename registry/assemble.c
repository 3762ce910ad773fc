/* registry/assemble.c: resolve sources → plan → blobs, children, index. */
#include <pthread.h>
#include <string.h>

#include "oci/cleanup.h"
#include "oci/mediatype.h"
#include "oci/util.h"
#include "registry/assemble.h"
#include "registry/copy.h"
#include "registry/image.h"
#include "registry/parallel.h"

/* What one source contributed: its walk (manifests by a resolve job, then
 * configs by a config job), then the children made of it. */
struct resolved {
	struct reg_walk_opts wo;
	struct reg_walk w;
	struct reg_asm_child *children;
	size_t n, n_images;
};

/* What the target's tag holds now: a HEAD that runs alongside the sources'
 * resolution (one round trip less in the plan's depth). */
struct tag_head {
	int found;   /* reg_manifest_head's answer */
	char *digest;
};

struct resolve_ctx {
	const struct reg_asm_options *o;
	struct reg_asm_plan *plan;
	struct oci_ref *refs;
	char **names;
	struct resolved *res;
	struct tag_head *heads; /* one per plan->tags: resolve jobs 0..n_tags-1 */
};

static struct reg_asm_child *new_child(struct resolved *r, struct resolve_ctx *x, size_t src)
{
	r->children = oci_xrealloc(r->children, (r->n + 1) * sizeof *r->children);
	struct reg_asm_child *ch = &r->children[r->n++];
	memset(ch, 0, sizeof *ch);
	ch->source = src;
	ch->source_ref = oci_xstrdup(x->names[src]);
	ch->repo = x->plan->source_repos[src];
	return ch;
}

static void child_release(struct reg_asm_child *ch)
{
	free(ch->source_ref);
	reg_manifest_release(&ch->raw);
	oci_manifest_release(&ch->m);
	oci_descriptor_release(&ch->desc);
	free(ch->platform);
	memset(ch, 0, sizeof *ch);
}

/* The walked manifest's bytes and parsed form move into the child. */
static void take_manifest(struct reg_asm_child *ch, struct reg_walk_node *n)
{
	ch->raw = n->raw;
	ch->m = n->m;
	memset(&n->raw, 0, sizeof n->raw);
	memset(&n->m, 0, sizeof n->m);
}

/* An image child: the platform from the config, checked against `want`. */
static int image_child(struct reg_asm_child *ch, struct reg_walk_node *n,
                       const struct oci_platform *want, oci_error *err)
{
	take_manifest(ch, n);
	oci_platform_normalize(&n->cfg.platform);
	ch->platform = oci_platform_string(&n->cfg.platform);
	if (want && !oci_platform_match(want, &n->cfg.platform)) {
		_cleanup_free_ char *w = oci_platform_string(want);
		return oci_err(err, OCI_E_USAGE, "config says %s, expected %s", ch->platform, w);
	}
	ch->desc.media_type = oci_xstrdup(ch->m.media_type);
	ch->desc.digest = oci_xstrdup(ch->raw.digest);
	ch->desc.size = (int64_t)ch->raw.len;
	ch->desc.platform = oci_xcalloc(1, sizeof *ch->desc.platform);
	oci_platform_copy(ch->desc.platform, &n->cfg.platform);
	return 0;
}

/* An attestation child: its index entry as it was. */
static void attestation_child(struct reg_asm_child *ch, struct reg_walk_node *n)
{
	take_manifest(ch, n);
	oci_descriptor_copy(&ch->desc, &n->desc);
	ch->attests = oci_descriptor_attests(&ch->desc);
	ch->platform = ch->desc.platform ? oci_platform_string(ch->desc.platform)
	                                 : oci_xstrdup("unknown/unknown");
}

/* Job i: the HEAD of the target's i-th tag, then (i >= n_tags) one source:
 * a manifest, or an index walked down to the images for the wanted
 * platform (else all of them) and the attestations pointing at them.
 * Configs come in a stage of their own (config_job). */
static int resolve_job(size_t i, void *ud, oci_error *err)
{
	struct resolve_ctx *x = ud;
	size_t n_tags = x->plan->n_tags;
	if (i < n_tags) {
		struct tag_head *th = &x->heads[i];
		th->found = reg_manifest_head(x->plan->target_repo, x->plan->tags[i].tag, &th->digest,
		                              NULL, NULL, err);
		return th->found < 0 ? -1 : 0;
	}
	i -= n_tags;
	const struct reg_asm_source *s = &x->o->sources[i];
	struct resolved *r = &x->res[i];
	struct reg_walk_source src = { .repo = x->plan->source_repos[i] };
	r->wo = (struct reg_walk_opts){
		.pick = s->want ? REG_PICK_EACH : REG_PICK_IMAGES,
		.plats = s->want,
		.n_plats = s->want ? 1 : 0,
		.attestations = !x->o->no_attestations,
		.jobs = x->plan->jobs,
		.mismatch_code = OCI_E_USAGE, /* the sources are wrong */
	};
	return reg_walk(&src, oci_ref_reference(&x->refs[i]), &r->wo, &r->w, err);
}

/* Job i: source i's configs, then its children: images with their
 * platforms checked, then attestations. */
static int config_job(size_t i, void *ud, oci_error *err)
{
	struct resolve_ctx *x = ud;
	const struct reg_asm_source *s = &x->o->sources[i];
	struct resolved *r = &x->res[i];
	struct reg_walk_source src = { .repo = x->plan->source_repos[i] };
	if (reg_walk_configs(&src, &r->wo, &r->w, err) < 0)
		return -1;
	size_t n_img;
	struct reg_walk_node *img = reg_walk_images(&r->w, &n_img);
	int rc = n_img ? 0 : oci_err(err, OCI_E_USAGE, "the index holds no image manifest");
	for (size_t k = 0; k < n_img && rc == 0; k++) {
		rc = image_child(new_child(r, x, i), &img[k], s->want, err);
		r->n_images += rc == 0;
	}
	for (size_t k = r->w.top.n_picked; k < r->w.top.n_children && rc == 0; k++)
		attestation_child(new_child(r, x, i), &r->w.top.children[k]);
	if (rc < 0)
		oci_err_wrap(err, "%s", x->names[i]);
	return rc;
}

/* false when the plan's total size overflows */
static bool add_blob(struct reg_asm_plan *p, const struct oci_descriptor *d, struct reg_repo *repo)
{
	if (oci_mt_is_foreign(d->media_type))
		return true; /* lives elsewhere (urls); registries do not hold it */
	for (size_t i = 0; i < p->n_blobs; i++)
		if (!strcmp(p->blobs[i].d.digest, d->digest))
			return true;
	p->blobs = oci_xrealloc(p->blobs, (p->n_blobs + 1) * sizeof *p->blobs);
	struct reg_asm_blob *b = &p->blobs[p->n_blobs++];
	memset(b, 0, sizeof *b);
	oci_descriptor_copy(&b->d, d);
	b->repo = repo;
	return oci_add_checked(&p->blob_bytes, d->size);
}

/* A manifest's config and layers into the plan's blobs. */
static int add_blobs(struct reg_asm_plan *p, const struct oci_manifest *m, struct reg_repo *repo,
                     oci_error *err)
{
	bool ok = add_blob(p, &m->config, repo);
	for (size_t k = 0; k < m->n_layers && ok; k++)
		ok = add_blob(p, &m->layers[k], repo);
	return ok ? 0
	          : oci_err(err, OCI_E_REGISTRY, "%s: the blob sizes overflow when summed",
	                    p->target_name);
}

/* The plan's distinct blobs, from its children (already there when the
 * blob step started early: then nothing is added). */
static int plan_blobs(struct reg_asm_plan *p, oci_error *err)
{
	for (size_t i = 0; i < p->n_children; i++)
		if (add_blobs(p, &p->children[i].m, p->children[i].repo, err) < 0)
			return -1;
	return 0;
}

/* Every blob of the plan, through the shared blob step. */
static int copy_blobs(struct reg_asm_plan *p, const struct reg_progress *progress,
                      oci_error *err)
{
	struct reg_copy_opts co = { .jobs = p->jobs };
	if (progress)
		co.progress = *progress;
	struct reg_copy_blob *b = oci_xcalloc(p->n_blobs + 1, sizeof *b);
	for (size_t i = 0; i < p->n_blobs; i++)
		b[i] = (struct reg_copy_blob){ .d = &p->blobs[i].d, .src = { .repo = p->blobs[i].repo } };
	int rc = reg_copy_blobs(p->target_repo, b, p->n_blobs, &co, err);
	for (size_t i = 0; i < p->n_blobs; i++)
		p->blobs[i].how = b[i].how;
	free(b);
	return rc;
}

/* --- blobs while configs are read ------------------------------------------------ */

/* The blob step run alongside the config stage, on a thread of its own,
 * over the plan's blob list made from the walks (the config stage leaves
 * p->blobs alone; plan_blobs runs after the join). */
struct early {
	struct reg_asm_plan *p;
	int rc;
	oci_error err;
	pthread_t thread;
	bool running;
};

static void *early_run(void *ud)
{
	struct early *e = ud;
	e->rc = copy_blobs(e->p, NULL, &e->err);
	return NULL;
}

/* Start the blob step early when that cannot write anything a reader
 * would see: the plan will be executed (o->early_blobs), the target's tag
 * does not exist yet, and every source is on the target's registry (the
 * blobs are mounted, not moved).  A plan that fails after this leaves
 * unreferenced blobs in the target repository, as an interrupted push does.
 * The blobs are listed in merge's order: every source's images, then
 * every source's attestations. */
static int early_start(struct early *e, struct resolve_ctx *x, oci_error *err)
{
	struct reg_asm_plan *p = x->plan;
	memset(e, 0, sizeof *e);
	if (!x->o->early_blobs || x->heads[0].found != 0)
		return 0;
	for (size_t i = 0; i < x->o->n_sources; i++)
		if (!reg_repo_same_registry(p->source_repos[i], p->target_repo))
			return 0;
	for (size_t i = 0; i < x->o->n_sources; i++) {
		size_t n_img;
		const struct reg_walk_node *img = reg_walk_images(&x->res[i].w, &n_img);
		for (size_t k = 0; k < n_img; k++)
			if (add_blobs(p, &img[k].m, p->source_repos[i], err) < 0)
				return -1;
	}
	for (size_t i = 0; i < x->o->n_sources; i++) {
		const struct reg_walk_node *top = &x->res[i].w.top;
		for (size_t k = top->n_picked; k < top->n_children; k++)
			if (top->children[k].kind == OCI_DOC_MANIFEST &&
			    add_blobs(p, &top->children[k].m, p->source_repos[i], err) < 0)
				return -1;
	}
	e->p = p;
	e->running = p->n_blobs && pthread_create(&e->thread, NULL, early_run, e) == 0;
	return 0;
}

/* Join the early blob step: the plan's blobs are in place (blobs_ready),
 * or -1 with err. */
static int early_finish(struct early *e, oci_error *err)
{
	if (!e->running)
		return 0;
	pthread_join(e->thread, NULL);
	e->running = false;
	if (e->rc < 0) {
		if (err)
			*err = e->err;
		return -1;
	}
	e->p->blobs_ready = true;
	return 0;
}

static int check_options(const struct reg_asm_options *o, oci_error *err)
{
	if (!o->n_sources)
		return oci_err(err, OCI_E_USAGE, "no source to assemble");
	if (o->format == REG_ASM_DOCKER && o->annotations && json_object_size(o->annotations))
		return oci_err(err, OCI_E_USAGE,
		               "a Docker manifest list has no annotations (use --format oci)");
	for (size_t i = 0; o->also_tags && o->also_tags[i]; i++)
		if (!oci_tag_valid(o->also_tags[i]))
			return oci_err(err, OCI_E_USAGE, "invalid tag \"%s\"", o->also_tags[i]);
	return 0;
}

static void add_tag(struct reg_asm_plan *p, const char *tag)
{
	for (size_t i = 0; i < p->n_tags; i++)
		if (!strcmp(p->tags[i].tag, tag))
			return;
	p->tags = oci_xrealloc(p->tags, (p->n_tags + 1) * sizeof *p->tags);
	p->tags[p->n_tags].tag = oci_xstrdup(tag);
	p->tags[p->n_tags++].current = false;
}

/* Merge the per-source results: images in source order, then attestations. */
static int merge(struct reg_asm_plan *p, struct resolved *res, size_t n_src, oci_error *err)
{
	size_t total = 0;
	for (size_t i = 0; i < n_src; i++)
		total += res[i].n;
	p->children = oci_xcalloc(total ? total : 1, sizeof *p->children);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n_src; i++)
			for (size_t k = 0; k < res[i].n; k++) {
				struct reg_asm_child *ch = &res[i].children[k];
				if ((pass == 0) != (ch->attests == NULL))
					continue;
				p->children[p->n_children++] = *ch;
				memset(ch, 0, sizeof *ch);
				if (pass == 0)
					p->n_images++;
			}
	for (size_t a = 0; a < p->n_images; a++)
		for (size_t b = a + 1; b < p->n_images; b++)
			if (oci_platform_equal(p->children[a].desc.platform,
			                       p->children[b].desc.platform))
				return oci_err(err, OCI_E_USAGE, "%s and %s are both %s",
				               p->children[a].source_ref, p->children[b].source_ref,
				               p->children[a].platform);
	return 0;
}

static void build_index(struct reg_asm_plan *p, const struct reg_asm_options *o)
{
	bool all_docker = true;
	for (size_t i = 0; i < p->n_children; i++)
		all_docker = all_docker &&
		             !strcmp(p->children[i].desc.media_type, OCI_MT_DOCKER_MANIFEST);
	bool annotated = o->annotations && json_object_size(o->annotations);
	bool docker = o->format == REG_ASM_DOCKER ||
	              (o->format == REG_ASM_AUTO && all_docker && !annotated);
	p->index.media_type = oci_xstrdup(docker ? OCI_MT_DOCKER_LIST : OCI_MT_OCI_INDEX);
	for (size_t i = 0; i < p->n_children; i++)
		oci_index_add(&p->index, &p->children[i].desc);
	if (annotated)
		p->index.annotations = json_incref(o->annotations);
	p->index_bytes = oci_index_serialize(&p->index, &p->index_len);
	oci_digest_buf("sha256", p->index_bytes, p->index_len, p->index_digest);
}

int reg_asm_plan(struct reg_client *c, const struct reg_asm_options *o,
                 struct reg_asm_plan *p, oci_error *err)
{
	struct tag_head *heads = NULL;
	memset(p, 0, sizeof *p);
	p->jobs = o->jobs > 0 ? o->jobs : REG_JOBS_DEFAULT;
	if (check_options(o, err) < 0)
		return -1;
	if (oci_ref_parse(&p->target, o->target, err) < 0)
		return oci_err_wrap(err, "target");
	if (p->target.digest || !p->target.tag) {
		oci_err(err, OCI_E_USAGE, "target %s: needs a tag, not a digest", o->target);
		goto fail;
	}
	p->target_name = oci_ref_name(&p->target);

	size_t n = o->n_sources;
	struct oci_ref *refs = oci_xcalloc(n, sizeof *refs);
	char **names = oci_xcalloc(n, sizeof *names);
	struct resolved *res = oci_xcalloc(n, sizeof *res);
	p->source_repos = oci_xcalloc(n, sizeof *p->source_repos);
	p->n_source_repos = n;
	p->target_repo = reg_repo_new(c, &p->target, true);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (oci_ref_parse(&refs[i], o->sources[i].ref, err) < 0) {
			rc = -1;
			break;
		}
		names[i] = oci_ref_string(&refs[i]);
		p->source_repos[i] = reg_repo_new(c, &refs[i], false);
		if (reg_repo_same_registry(p->source_repos[i], p->target_repo) &&
		    strcmp(refs[i].path, p->target.path) != 0)
			reg_repo_add_pull_scope(p->target_repo, refs[i].path);
	}
	add_tag(p, p->target.tag);
	for (size_t i = 0; o->also_tags && o->also_tags[i]; i++)
		add_tag(p, o->also_tags[i]);
	heads = oci_xcalloc(p->n_tags, sizeof *heads);
	/* depth: the tags' HEADs and the sources' manifests; their configs
	 * (with the blob step alongside, see early_start); then execute's
	 * children and index */
	struct resolve_ctx x = { o, p, refs, names, res, heads };
	struct early early = { 0 };
	if (rc == 0)
		rc = reg_parallel(p->n_tags + n, p->jobs, resolve_job, &x, err);
	if (rc == 0)
		rc = early_start(&early, &x, err);
	if (rc == 0)
		rc = reg_parallel(n, p->jobs, config_job, &x, err);
	int erc = early_finish(&early, rc == 0 ? err : NULL);
	rc = rc < 0 ? rc : erc;
	if (rc == 0)
		rc = merge(p, res, n, err);
	if (rc == 0)
		rc = plan_blobs(p, err);
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < res[i].n; k++)
			child_release(&res[i].children[k]);
		free(res[i].children);
		reg_walk_release(&res[i].w);
		oci_ref_release(&refs[i]);
		free(names[i]);
	}
	free(res);
	free(refs);
	free(names);
	if (rc < 0)
		goto fail;
	build_index(p, o);

	p->up_to_date = true;
	for (size_t i = 0; i < p->n_tags; i++) {
		_cleanup_free_ char *d = TAKE_PTR(heads[i].digest);
		int h = heads[i].found;
		if (h == 1 && !d) {
			/* no Docker-Content-Digest on HEAD: hash what GET serves */
			struct reg_manifest cur = { 0 };
			if (reg_manifest_get(p->target_repo, p->tags[i].tag, &cur, err) < 0)
				goto fail;
			d = TAKE_PTR(cur.digest);
			reg_manifest_release(&cur);
		}
		p->tags[i].current = h == 1 && d && !strcmp(d, p->index_digest);
		p->up_to_date = p->up_to_date && p->tags[i].current;
	}
	free(heads);
	return 0;
fail:
	for (size_t i = 0; heads && i < p->n_tags; i++)
		free(heads[i].digest);
	free(heads);
	reg_asm_plan_release(p);
	return -1;
}

static int child_job(size_t i, void *ud, oci_error *err)
{
	struct reg_asm_plan *p = ud;
	struct reg_asm_child *ch = &p->children[i];
	return reg_manifest_put(p->target_repo, ch->raw.digest, ch->desc.media_type, ch->raw.data,
	                        ch->raw.len, err);
}

/* The blob step ran during the plan (early_start): its outcome, told to
 * progress as if it ran now. */
static int replay_blobs(const struct reg_asm_plan *p, const struct reg_progress *progress)
{
	for (size_t i = 0; i < p->n_blobs; i++) {
		const struct reg_asm_blob *b = &p->blobs[i];
		reg_progress_emit(progress, REG_PROGRESS_START, b->d.digest, b->d.size);
		if (b->how == REG_BLOB_TRANSFERRED)
			reg_progress_emit(progress, REG_PROGRESS_BYTES, b->d.digest, b->d.size);
		reg_progress_emit(progress, REG_PROGRESS_DONE, b->d.digest, b->how);
	}
	return 0;
}

int reg_asm_execute(struct reg_asm_plan *p, const struct reg_progress *progress,
                    oci_error *err)
{
	if (p->up_to_date)
		return 0;
	/* the tag holding the index means its children are there already */
	if (!p->tags[0].current) {
		if ((p->blobs_ready ? replay_blobs(p, progress) : copy_blobs(p, progress, err)) < 0 ||
		    reg_parallel(p->n_children, p->jobs, child_job, p, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < p->n_tags; i++) {
		if (p->tags[i].current)
			continue;
		if (reg_manifest_put(p->target_repo, p->tags[i].tag, p->index.media_type,
		                     p->index_bytes, p->index_len, err) < 0)
			return -1;
		p->tags[i].current = true;
	}
	return 0;
}

void reg_asm_plan_release(struct reg_asm_plan *p)
{
	oci_ref_release(&p->target);
	free(p->target_name);
	for (size_t i = 0; i < p->n_children; i++)
		child_release(&p->children[i]);
	free(p->children);
	for (size_t i = 0; i < p->n_blobs; i++)
		oci_descriptor_release(&p->blobs[i].d);
	free(p->blobs);
	oci_index_release(&p->index);
	free(p->index_bytes);
	for (size_t i = 0; i < p->n_tags; i++)
		free(p->tags[i].tag);
	free(p->tags);
	reg_repo_free(p->target_repo);
	for (size_t i = 0; i < p->n_source_repos; i++)
		reg_repo_free(p->source_repos[i]);
	free(p->source_repos);
	memset(p, 0, sizeof *p);
}
