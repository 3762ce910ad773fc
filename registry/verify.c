/* registry/verify.c: checking tags in rounds of flat, parallel request lists. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/cleanup.h"
#include "oci/manifest.h"
#include "oci/mediatype.h"
#include "oci/util.h"
#include "registry/image.h"
#include "registry/parallel.h"
#include "registry/verify.h"

#define TOP SIZE_MAX /* a task about the top manifest itself, not a child */

struct child {
	struct oci_manifest m; /* deep: the child as parsed */
	bool have_m;
	const struct oci_manifest *mp; /* m, or the same child's m in another target */
};

struct state {
	struct reg_manifest top;
	enum oci_doc_kind kind;
	struct oci_index ix;
	struct oci_manifest m; /* top, when it is a plain manifest */
	struct child *children;
};

enum task_kind { T_TOP, T_CHILD, T_CONFIG, T_LAYER };

struct task {
	enum task_kind kind;
	size_t t, c, l; /* target, child (or TOP), layer */
	int code;       /* 0 ok, else OCI_E_CHECK / OCI_E_REGISTRY / OCI_E_AUTH */
	char *reason;
	struct oci_platform found; /* T_CONFIG of a plain manifest */
	size_t same;    /* an earlier task asking the same question, or SIZE_MAX */
};

struct run {
	struct reg_verify_target *t;
	struct state *st;
	struct task *tasks;
	size_t n_tasks, cap;
	bool deep;
};

static void add_task(struct run *r, enum task_kind kind, size_t t, size_t c, size_t l)
{
	if (r->n_tasks == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->tasks = oci_xrealloc(r->tasks, r->cap * sizeof *r->tasks);
	}
	r->tasks[r->n_tasks++] = (struct task){ .kind = kind, .t = t, .c = c, .l = l, .same = SIZE_MAX };
}

/* What a task asks of the registry, when another task may ask the same: many
 * tags share children, configs and layers, and one request answers them
 * all.  NULL when the answer is the target's own (the tag). */
static char *task_key(const struct run *r, const struct task *tk)
{
	const struct state *st = &r->st[tk->t];
	const void *repo = r->t[tk->t].repo;
	const struct oci_descriptor *d = tk->c == TOP ? NULL : &st->ix.manifests[tk->c];
	const struct oci_manifest *m = d ? (st->children ? st->children[tk->c].mp : NULL) : &st->m;

	switch (tk->kind) {
	case T_TOP:
		return NULL;
	case T_CHILD:
		return oci_xasprintf("%c %p %s", r->deep ? 'D' : 'C', repo, d->digest);
	case T_CONFIG:
		if (!d)
			return oci_xasprintf("P %p %s", repo, m->config.digest);
		if (!d->platform || oci_descriptor_attests(d))
			return oci_xasprintf("H %p %s", repo, m->config.digest);
		return oci_xasprintf("K %p %s %s/%s", repo, m->config.digest, d->platform->os,
		                     d->platform->architecture);
	case T_LAYER:
		return oci_xasprintf("L %p %s", repo, m->layers[tk->l].digest);
	}
	return NULL;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Point every task that repeats an earlier one's question at that one. */
static void dedupe(struct run *r)
{
	size_t cap = 16;

	while (cap < 2 * r->n_tasks)
		cap *= 2;
	char **keys = oci_xcalloc(cap, sizeof *keys);
	size_t *first = oci_xcalloc(cap, sizeof *first);
	for (size_t i = 0; i < r->n_tasks; i++) {
		char *k = task_key(r, &r->tasks[i]);
		if (!k)
			continue;
		size_t h = (size_t)fnv1a(k) & (cap - 1);
		while (keys[h] && strcmp(keys[h], k) != 0)
			h = (h + 1) & (cap - 1);
		if (keys[h]) {
			r->tasks[i].same = first[h];
			free(k);
		} else {
			keys[h] = k;
			first[h] = i;
		}
	}
	for (size_t h = 0; h < cap; h++)
		free(keys[h]);
	free(keys);
	free(first);
}

static int problem(struct task *tk, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int problem(struct task *tk, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&tk->reason, fmt, ap) < 0)
		abort();
	va_end(ap);
	tk->code = OCI_E_CHECK;
	return 0;
}

/* A failed request: missing (404) is the check failing, anything else means
 * the registry could not tell us. */
static int request_failed(struct task *tk, const oci_error *e, const char *missing)
{
	if (e->code == OCI_E_REGISTRY && e->http_status == 404)
		return problem(tk, "%s", missing);
	tk->code = e->code ? e->code : OCI_E_REGISTRY;
	tk->reason = oci_xstrdup(e->msg);
	return 0;
}

static char *plat_str(const struct oci_descriptor *d)
{
	if (oci_descriptor_attests(d))
		return oci_xstrdup("attestation");
	return d->platform ? oci_platform_string(d->platform) : oci_xstrdup("no platform");
}

#define NEST_MAX 8         /* index levels followed, as the image walker */
#define NEST_ENTRIES 10000 /* entries of one flattened tree */

/* Replace each nested index among st->ix's entries by its own entries (its
 * platforms are the tag's), NEST_MAX levels deep, level by level: every
 * later round then checks them as children of the top.  0, with the task's
 * problem set when a nested index is missing or wrong. */
static int flatten(struct reg_verify_target *t, struct state *st, struct task *tk)
{
	struct oci_index *ix = &st->ix;
	for (int level = 0;; level++) {
		bool nested = false;
		for (size_t i = 0; i < ix->n_manifests && !nested; i++)
			nested = oci_mt_is_index(ix->manifests[i].media_type);
		if (!nested)
			return 0;
		if (level == NEST_MAX)
			return problem(tk, "indexes nested more than %d deep", NEST_MAX);
		struct oci_index flat = { 0 };
		for (size_t i = 0; i < ix->n_manifests && !tk->code; i++) {
			const struct oci_descriptor *d = &ix->manifests[i];
			if (!oci_mt_is_index(d->media_type)) {
				oci_index_add(&flat, d);
				continue;
			}
			struct reg_manifest raw = { 0 };
			struct oci_index in = { 0 };
			_cleanup_free_ char *mt = NULL;
			_cleanup_free_ char *missing = oci_xasprintf("nested index %s not found", d->digest);
			oci_error e = { 0 };
			if (reg_manifest_get(t->repo, d->digest, &raw, &e) < 0) {
				request_failed(tk, &e, missing);
				break;
			}
			if (oci_doc_kind(raw.data, raw.len, raw.media_type, &mt, &e) != OCI_DOC_INDEX ||
			    oci_index_parse(&in, raw.data, raw.len, mt, &e) < 0)
				problem(tk, "nested index %s: %s", d->digest,
				        e.msg[0] ? e.msg : "not an index");
			for (size_t k = 0; k < in.n_manifests && flat.n_manifests < NEST_ENTRIES; k++)
				oci_index_add(&flat, &in.manifests[k]);
			oci_index_release(&in);
			reg_manifest_release(&raw);
		}
		if (!tk->code && flat.n_manifests >= NEST_ENTRIES)
			problem(tk, "more than %d entries in nested indexes", NEST_ENTRIES);
		/* the flat entries (copies) take the place of the index's */
		for (size_t i = 0; i < ix->n_manifests; i++)
			oci_descriptor_release(&ix->manifests[i]);
		free(ix->manifests);
		ix->manifests = TAKE_PTR(flat.manifests);
		ix->n_manifests = flat.n_manifests;
		flat.n_manifests = 0;
		oci_index_release(&flat);
		if (tk->code)
			return 0;
	}
}

static int do_top(struct run *r, struct task *tk)
{
	struct reg_verify_target *t = &r->t[tk->t];
	struct state *st = &r->st[tk->t];
	_cleanup_free_ char *mt = NULL;
	oci_error e = { 0 };

	if (reg_manifest_get_shared(t->repo, t->tag, &st->top, &e) < 0)
		return request_failed(tk, &e, "tag not found");
	st->kind = oci_doc_kind(st->top.data, st->top.len, st->top.media_type, &mt, &e);
	if (st->kind == OCI_DOC_INDEX &&
	    oci_index_parse(&st->ix, st->top.data, st->top.len, mt, &e) == 0)
		return flatten(t, st, tk);
	if (st->kind == OCI_DOC_MANIFEST &&
	    oci_manifest_parse(&st->m, st->top.data, st->top.len, mt, &e) == 0)
		return 0;
	st->kind = OCI_DOC_UNKNOWN;
	return problem(tk, "not an image manifest or index: %s", e.msg);
}

static int do_child(struct run *r, struct task *tk)
{
	struct reg_verify_target *t = &r->t[tk->t];
	struct state *st = &r->st[tk->t];
	const struct oci_descriptor *d = &st->ix.manifests[tk->c];
	_cleanup_free_ char *what = plat_str(d);
	_cleanup_free_ char *missing = oci_xasprintf("child manifest %s (%s) not found",
	                                             d->digest, what);
	oci_error e = { 0 };

	/* HEAD: the repository holds it (free on Docker Hub; and the bytes
	 * that deep reads may come from the client's cache, which cannot tell) */
	int rc = reg_manifest_head(t->repo, d->digest, NULL, NULL, NULL, &e);
	if (rc < 0)
		return request_failed(tk, &e, missing);
	if (!rc || !r->deep)
		return rc ? 0 : problem(tk, "%s", missing);
	struct reg_manifest raw = { 0 };
	struct child *ch = &st->children[tk->c];
	if (reg_manifest_get(t->repo, d->digest, &raw, &e) < 0)
		return request_failed(tk, &e, missing);
	/* An index whose entry type said manifest: it resolves; flatten() followed
	 * the entries that say index. */
	_cleanup_free_ char *mt = NULL;
	if (oci_doc_kind(raw.data, raw.len, raw.media_type, &mt, &e) == OCI_DOC_INDEX) {
		reg_manifest_release(&raw);
		return 0;
	}
	if (oci_manifest_parse(&ch->m, raw.data, raw.len, mt, &e) < 0)
		problem(tk, "child manifest %s (%s): %s", d->digest, what, e.msg);
	else
		ch->have_m = true, ch->mp = &ch->m;
	reg_manifest_release(&raw);
	return 0;
}

static int do_config(struct run *r, struct task *tk)
{
	struct reg_verify_target *t = &r->t[tk->t];
	struct state *st = &r->st[tk->t];
	const struct oci_descriptor *d = tk->c == TOP ? NULL : &st->ix.manifests[tk->c];
	const struct oci_descriptor *cfgd = d ? &st->children[tk->c].mp->config : &st->m.config;
	_cleanup_free_ char *what = d ? plat_str(d) : NULL;
	_cleanup_free_ char *missing = d ? oci_xasprintf("config %s of %s not found", cfgd->digest, what)
	                                 : oci_xasprintf("config %s not found", cfgd->digest);
	struct oci_config cfg = { 0 };
	oci_error e = { 0 };

	if (d) {
		/* deep: it has to exist (its bytes may come from the cache) */
		int rc = reg_blob_head(t->repo, cfgd->digest, NULL, &e);
		if (rc < 0)
			return request_failed(tk, &e, missing);
		if (!rc)
			return problem(tk, "%s", missing);
		if (!d->platform || oci_descriptor_attests(d) ||
		    !oci_manifest_is_image(st->children[tk->c].mp))
			return 0; /* nothing to compare with (an artifact has no platform config) */
	}
	if (reg_config_get(t->repo, cfgd, &cfg, NULL, &e) < 0)
		return request_failed(tk, &e, missing);
	if (!d) {
		oci_platform_copy(&tk->found, &cfg.platform);
	} else if (!cfg.platform.os || !cfg.platform.architecture ||
	           strcmp(cfg.platform.os, d->platform->os) != 0 ||
	           strcmp(cfg.platform.architecture, d->platform->architecture) != 0) {
		problem(tk, "config %s of %s says %s/%s", cfgd->digest, what,
		        cfg.platform.os ? cfg.platform.os : "?",
		        cfg.platform.architecture ? cfg.platform.architecture : "?");
	}
	oci_config_release(&cfg);
	return 0;
}

static int do_layer(struct run *r, struct task *tk)
{
	struct reg_verify_target *t = &r->t[tk->t];
	struct state *st = &r->st[tk->t];
	const struct oci_descriptor *d = tk->c == TOP ? NULL : &st->ix.manifests[tk->c];
	const struct oci_manifest *m = d ? st->children[tk->c].mp : &st->m;
	const char *dg = m->layers[tk->l].digest;
	_cleanup_free_ char *what = d ? plat_str(d) : NULL;
	_cleanup_free_ char *missing = d ? oci_xasprintf("layer %s of %s not found", dg, what)
	                                 : oci_xasprintf("layer %s not found", dg);
	oci_error e = { 0 };
	int rc = reg_blob_head(t->repo, dg, NULL, &e);

	if (rc < 0)
		return request_failed(tk, &e, missing);
	return rc ? 0 : problem(tk, "%s", missing);
}

static int job(size_t i, void *ud, oci_error *err)
{
	struct run *r = ud;
	struct task *tk = &r->tasks[i];

	(void)err;
	if (tk->same != SIZE_MAX)
		return 0;
	switch (tk->kind) {
	case T_TOP: return do_top(r, tk);
	case T_CHILD: return do_child(r, tk);
	case T_CONFIG: return do_config(r, tk);
	case T_LAYER: return do_layer(r, tk);
	}
	return 0;
}

static void fail(struct reg_verify_target *t, int code, char *reason)
{
	t->status = code == OCI_E_CHECK ? REG_VERIFY_FAILED : REG_VERIFY_ERROR;
	t->code = code;
	t->reason = reason;
}

/* Run the round's tasks and record each target's first problem.  A round
 * of manifest and blob HEADs and manifest GETs (everything but configs)
 * runs REG_SMALL_WIDTH x jobs requests at once (registry/parallel.h).  A
 * round with config reads keeps to `jobs`.  Not for the connections: the
 * client's blob GET slots would hold the config GETs to `jobs` in a wide
 * round too.  But such a round (deep: a plain manifest's config beside
 * the children read by digest) also reads manifests through the cache,
 * and 4 x as many lookups at once miss together more often: a deep verify
 * of 30 indexes and 30 single-arch tags sharing their per-arch images in
 * 20 repositories, cold cache, made 40.4 manifest GETs on average (12
 * runs) in wide rounds against 37.2, no faster on loopback; on Docker Hub
 * every manifest GET is metered. */
static void round_run(struct run *r, int jobs)
{
	oci_error e = { 0 };
	int width = jobs > 0 ? jobs : REG_JOBS_DEFAULT;

	dedupe(r);
	bool small = true;
	for (size_t i = 0; i < r->n_tasks && small; i++)
		small = r->tasks[i].kind != T_CONFIG;
	if (small)
		width *= REG_SMALL_WIDTH;
	if (r->n_tasks)
		reg_parallel_all(r->n_tasks, width, job, r, &e);
	for (size_t i = 0; i < r->n_tasks; i++) {
		struct task *tk = &r->tasks[i];
		const struct task *o = &r->tasks[tk->same == SIZE_MAX ? i : tk->same];
		if (o == tk)
			continue;
		tk->code = o->code;
		tk->reason = oci_xstrdup(o->reason);
		if (o->found.architecture)
			oci_platform_copy(&tk->found, &o->found);
		if (tk->kind == T_CHILD) {
			const struct child *oc = &r->st[o->t].children[o->c];
			struct child *ch = &r->st[tk->t].children[tk->c];
			ch->have_m = oc->have_m;
			ch->mp = oc->mp;
		}
	}
	for (size_t i = 0; i < r->n_tasks; i++) {
		struct task *tk = &r->tasks[i];
		struct reg_verify_target *t = &r->t[tk->t];
		if (tk->code && t->status == REG_VERIFY_OK)
			fail(t, tk->code, TAKE_PTR(tk->reason));
		free(tk->reason);
	}
}

static void add_platform(struct reg_verify_target *t, char *s)
{
	t->platforms = oci_xrealloc(t->platforms, (t->n_platforms + 2) * sizeof *t->platforms);
	t->platforms[t->n_platforms++] = s;
	t->platforms[t->n_platforms] = NULL;
}

/* After round 1: the index holds every wanted platform. */
static void check_index(struct reg_verify_target *t, struct state *st)
{
	struct oci_buf lacks = { 0 };

	for (size_t i = 0; i < st->ix.n_manifests; i++) {
		const struct oci_descriptor *d = &st->ix.manifests[i];
		if (d->platform && !oci_descriptor_attests(d))
			add_platform(t, oci_platform_string(d->platform));
	}
	for (size_t w = 0; w < t->n_want; w++) {
		bool have = false;
		for (size_t i = 0; i < st->ix.n_manifests && !have; i++) {
			const struct oci_descriptor *d = &st->ix.manifests[i];
			have = d->platform && !oci_descriptor_attests(d) &&
			       oci_platform_match(&t->want[w], d->platform);
		}
		if (!have) {
			_cleanup_free_ char *s = oci_platform_string(&t->want[w]);
			if (lacks.len)
				oci_buf_append(&lacks, ", ", 2);
			oci_buf_append(&lacks, s, strlen(s));
		}
	}
	if (lacks.len) {
		oci_buf_append(&lacks, "", 1);
		fail(t, OCI_E_CHECK, oci_xasprintf("index lacks %s", lacks.data));
	}
	oci_buf_release(&lacks);
}

/* After round 2: a plain manifest is the one wanted platform. */
static void check_plain(struct reg_verify_target *t, const struct oci_platform *found)
{
	_cleanup_free_ char *s = oci_platform_string(found);
	_cleanup_free_ char *w = t->n_want ? oci_platform_string(&t->want[0]) : NULL;

	add_platform(t, oci_xstrdup(s));
	if (t->status != REG_VERIFY_OK)
		return;
	if (!t->single_arch)
		fail(t, OCI_E_CHECK, oci_xasprintf("a single %s manifest, not a multi-arch index", s));
	else if (t->n_want && !oci_platform_match(&t->want[0], found))
		fail(t, OCI_E_CHECK, oci_xasprintf("a %s manifest, not %s", s, w));
}

size_t reg_verify(struct reg_verify_target *t, size_t n, bool deep, int jobs)
{
	struct run r = { .t = t, .deep = deep };
	size_t bad = 0;

	r.st = oci_xcalloc(n ? n : 1, sizeof *r.st);
	for (size_t i = 0; i < n; i++) {
		t[i].status = REG_VERIFY_OK;
		add_task(&r, T_TOP, i, TOP, 0);
	}
	round_run(&r, jobs);

	r.n_tasks = 0;
	for (size_t i = 0; i < n; i++) {
		struct state *st = &r.st[i];
		if (st->top.digest)
			t[i].digest = oci_xstrdup(st->top.digest);
		if (t[i].status != REG_VERIFY_OK)
			continue;
		if (st->kind == OCI_DOC_INDEX) {
			check_index(&t[i], st);
			if (t[i].status != REG_VERIFY_OK)
				continue;
			st->children = oci_xcalloc(st->ix.n_manifests + 1, sizeof *st->children);
			for (size_t c = 0; c < st->ix.n_manifests; c++)
				add_task(&r, T_CHILD, i, c, 0);
		} else {
			add_task(&r, T_CONFIG, i, TOP, 0);
		}
	}
	round_run(&r, jobs);
	for (size_t k = 0; k < r.n_tasks; k++) {
		struct task *tk = &r.tasks[k];
		if (tk->kind != T_CONFIG || tk->code)
			continue;
		if (tk->found.os && tk->found.architecture)
			check_plain(&t[tk->t], &tk->found);
		else if (t[tk->t].status == REG_VERIFY_OK)
			fail(&t[tk->t], OCI_E_CHECK, oci_xstrdup("config names no os/architecture"));
	}

	if (deep) {
		for (size_t k = 0; k < r.n_tasks; k++)
			oci_platform_release(&r.tasks[k].found);
		r.n_tasks = 0;
		for (size_t i = 0; i < n; i++) {
			struct state *st = &r.st[i];
			if (t[i].status != REG_VERIFY_OK)
				continue;
			if (st->kind == OCI_DOC_MANIFEST) {
				for (size_t l = 0; l < st->m.n_layers; l++)
					add_task(&r, T_LAYER, i, TOP, l);
				continue;
			}
			for (size_t c = 0; c < st->ix.n_manifests; c++) {
				if (!st->children[c].have_m)
					continue;
				add_task(&r, T_CONFIG, i, c, 0);
				for (size_t l = 0; l < st->children[c].mp->n_layers; l++)
					add_task(&r, T_LAYER, i, c, l);
			}
		}
		round_run(&r, jobs);
	}

	for (size_t k = 0; k < r.n_tasks; k++)
		oci_platform_release(&r.tasks[k].found);
	for (size_t i = 0; i < n; i++) {
		struct state *st = &r.st[i];
		for (size_t c = 0; st->children && c < st->ix.n_manifests; c++)
			oci_manifest_release(&st->children[c].m);
		free(st->children);
		if (st->kind == OCI_DOC_INDEX && t[i].digest) {
			/* handed out: a caller asking more of the index reads it again for nothing */
			t[i].index = st->ix;
			t[i].has_index = true;
			memset(&st->ix, 0, sizeof st->ix);
		}
		oci_index_release(&st->ix);
		oci_manifest_release(&st->m);
		reg_manifest_release(&st->top);
		if (!t[i].platforms)
			t[i].platforms = oci_xcalloc(1, sizeof *t[i].platforms);
		bad += t[i].status != REG_VERIFY_OK;
	}
	free(r.st);
	free(r.tasks);
	return bad;
}

int reg_verify_one(struct reg_verify_target *t, bool deep, int jobs, const char *name,
                   oci_error *err)
{
	if (reg_ping(t->repo, err) < 0)
		return -1;
	if (reg_verify(t, 1, deep, jobs) == 0)
		return 0;
	return oci_err(err, t->code, "%s: %s", name, t->reason);
}

void reg_verify_target_release(struct reg_verify_target *t)
{
	if (!t)
		return;
	free(t->reason);
	free(t->digest);
	for (size_t i = 0; i < t->n_platforms; i++)
		free(t->platforms[i]);
	free(t->platforms);
	oci_index_release(&t->index);
	t->has_index = false;
	t->reason = t->digest = NULL;
	t->platforms = NULL;
	t->n_platforms = 0;
	t->status = REG_VERIFY_OK;
	t->code = 0;
}
