/* cli/release.c: catalog versions as registry/status targets, and the next
 * step in words. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/sizing.h"
#include "cli/release.h"
#include "oci/auditcache.h"
#include "oci/cleanup.h"
#include "oci/util.h"
#include "registry/client.h"

static struct reg_repo *repo_for(struct cli_ctx *ctx, struct cli_release *r, const char *refstr,
                                 oci_error *err)
{
	struct oci_ref ref = { 0 };
	if (oci_ref_parse(&ref, refstr, err) < 0)
		return NULL;
	_cleanup_free_ char *name = oci_ref_name(&ref);
	for (size_t i = 0; i < r->n_repos; i++)
		if (strcmp(r->repos[i].name, name) == 0) {
			oci_ref_release(&ref);
			return r->repos[i].repo;
		}
	struct reg_client *c = cli_client(ctx, err);
	if (!c) {
		oci_ref_release(&ref);
		return NULL;
	}
	r->repos = oci_xrealloc(r->repos, (r->n_repos + 1) * sizeof *r->repos);
	r->repos[r->n_repos].name = TAKE_PTR(name);
	r->repos[r->n_repos].repo = reg_repo_new(c, &ref, false);
	oci_ref_release(&ref);
	return r->repos[r->n_repos++].repo;
}

void cli_release_add(struct cli_ctx *ctx, struct cli_release *r, const struct cat_image *img,
                     const struct cat_version *ver, const char *skip)
{
	oci_error err = { 0 };

	r->rows = oci_xrealloc(r->rows, (r->n + 1) * sizeof *r->rows);
	struct cli_release_row *row = &r->rows[r->n++];
	memset(row, 0, sizeof *row);
	row->img = img;
	row->ver = ver;
	if (skip) {
		row->skip = oci_xstrdup(skip);
		return;
	}
	if (!ver->tag) {
		row->skip = oci_xstrdup("no tag");
		return;
	}
	if (!oci_tag_valid(ver->tag)) {
		row->skip = oci_xasprintf("invalid tag \"%s\"", ver->tag);
		return;
	}
	if (cat_target_init(&row->ct, img, ver->tag, ctx->g.registry, NULL, &err) < 0) {
		row->skip = oci_xstrdup(err.msg);
		return;
	}
	row->repos = oci_xcalloc(row->ct.n + 1, sizeof *row->repos);
	row->tags = oci_xcalloc(row->ct.n + 1, sizeof *row->tags);
	for (size_t i = 0; i < row->ct.n; i++)
		row->tags[i] = row->ct.tag;
}

void cli_release_add_image(struct cli_ctx *ctx, struct cli_release *r,
                           const struct cat_image *img, const char *skip)
{
	for (size_t k = img->n_versions; k-- > 0;)
		cli_release_add(ctx, r, img, &img->versions[k], skip);
}

static void all_error(struct cli_release *r, const oci_error *e)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->rows[i].skip)
			continue;
		r->t[i].sources = oci_xcalloc(r->t[i].n + 1, sizeof *r->t[i].sources);
		r->t[i].held = oci_xcalloc(r->t[i].n + 1, sizeof *r->t[i].held);
		r->t[i].state = REG_STATUS_ERROR;
		r->t[i].code = e->code ? e->code : OCI_E_REGISTRY;
		r->t[i].problem = oci_xstrdup(e->msg);
	}
}

int cli_release_run(struct cli_ctx *ctx, struct cli_release *r, bool ping, bool disk)
{
	oci_error err = { 0 };
	struct reg_status_target *todo = oci_xcalloc(r->n + 1, sizeof *todo);
	size_t *back = oci_xcalloc(r->n + 1, sizeof *back);
	size_t n = 0;
	int code = 0;

	r->t = oci_xcalloc(r->n + 1, sizeof *r->t);
	for (size_t i = 0; i < r->n; i++) {
		struct cli_release_row *row = &r->rows[i];
		struct reg_status_target *t = &r->t[i];
		if (row->skip)
			continue;
		t->target_repo = repo_for(ctx, r, row->ct.reference, &err);
		for (size_t k = 0; t->target_repo && k < row->ct.n; k++)
			if (!(row->repos[k] = repo_for(ctx, r, row->ct.sources[k], &err)))
				t->target_repo = NULL;
		if (!t->target_repo) {
			free(row->skip);
			row->skip = oci_xstrdup(err.msg);
			continue;
		}
		t->target_name = row->ct.reference;
		t->tag = row->ct.tag;
		t->n = row->ct.n;
		t->source_repos = row->repos;
		t->source_names = (const char *const *)row->ct.sources;
		t->source_tags = (const char *const *)row->tags;
		t->want = row->ct.want;
		t->single_arch = row->ct.single_arch;
		t->tested = row->ver->tested;
		t->known_target = row->known_target;
		t->known_index = row->known_index;
	}
	if (disk && !r->cache_dir)
		r->cache_dir = oci_auditcache_dir();
	/* One registry serves the catalog: when it does not answer, say so for
	 * every version at once instead of retrying each request. */
	if (ping && r->n_repos && reg_ping(r->repos[0].repo, &err) < 0) {
		all_error(r, &err);
	} else {
		/* status works on a packed array; the rows keep their order */
		for (size_t i = 0; i < r->n; i++)
			if (!r->rows[i].skip) {
				back[n] = i;
				todo[n++] = r->t[i];
			}
		reg_status(todo, n, disk ? r->cache_dir : NULL, ctx->g.jobs);
		for (size_t k = 0; k < n; k++)
			r->t[back[k]] = todo[k];
	}
	for (size_t i = 0; i < r->n; i++) {
		int c = r->rows[i].skip || r->t[i].state != REG_STATUS_ERROR ? 0 : r->t[i].code;
		if (c == OCI_E_AUTH || (c == OCI_E_REGISTRY && code != OCI_E_AUTH))
			code = c;
	}
	free(todo);
	free(back);
	return code;
}

void cli_release_free(struct cli_release *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct cli_release_row *row = &r->rows[i];
		if (r->t)
			reg_status_target_release(&r->t[i]);
		cat_target_release(&row->ct);
		free(row->skip);
		free(row->repos);
		free(row->tags);
	}
	for (size_t i = 0; i < r->n_repos; i++) {
		free(r->repos[i].name);
		reg_repo_free(r->repos[i].repo);
	}
	free(r->repos);
	free(r->rows);
	free(r->t);
	free(r->cache_dir);
	memset(r, 0, sizeof *r);
}

const char *cli_release_short(const char *reference)
{
	static const char hub[] = "docker.io/";
	return strncmp(reference, hub, sizeof hub - 1) == 0 ? reference + sizeof hub - 1 : reference;
}

bool cli_release_recommend(const struct cli_release *r, size_t i, int *min_disk_gb,
                           int *docker_size_gb)
{
	const struct reg_status_target *t = &r->t[i];
	struct cat_sizing_opts o;
	size_t n = t->single_arch ? 1 : t->n;

	if (r->rows[i].skip || !t->have_disk)
		return false;
	cat_sizing_defaults(&o);
	*min_disk_gb = *docker_size_gb = 0;
	for (size_t k = 0; k < n; k++) {
		struct cat_sizing s;
		cat_sizing_compute(&o, r->rows[i].img->gpu, t->disk[k].on_disk_bytes,
		                   t->disk[k].compressed_bytes, cat_unpacked_bytes(&t->disk[k]), &s);
		if (s.min_disk_gb > *min_disk_gb)
			*min_disk_gb = s.min_disk_gb;
		if (s.docker_size_gb > *docker_size_gb)
			*docker_size_gb = s.docker_size_gb;
	}
	return true;
}

/* "docker push A, docker push B" for the arches not built (all: every arch). */
static char *pushes(const struct cli_release_row *row, const struct reg_status_target *t,
                    bool all)
{
	struct oci_buf names = { 0 }, cmds = { 0 };
	for (size_t k = 0; k < row->ct.n; k++) {
		if (!all && t->sources && t->sources[k])
			continue;
		if (names.len) {
			oci_buf_append(&names, " and ", 5);
			oci_buf_append(&cmds, ", ", 2);
		}
		oci_buf_append(&names, row->ct.arches[k], strlen(row->ct.arches[k]));
		const char *s = cli_release_short(row->ct.sources[k]);
		oci_buf_append(&cmds, "docker push ", 12);
		oci_buf_append(&cmds, s, strlen(s));
	}
	oci_buf_append(&names, "", 1);
	oci_buf_append(&cmds, "", 1);
	char *out = oci_xasprintf("build %s: %s", names.data, cmds.data);
	oci_buf_release(&names);
	oci_buf_release(&cmds);
	return out;
}

char *cli_release_stale_reason(const struct cli_release *r, size_t i)
{
	const struct cli_release_row *row = &r->rows[i];
	const struct reg_status_target *t = &r->t[i];
	size_t k;

	if (row->skip || t->state != REG_STATUS_STALE)
		return NULL;
	k = reg_status_stale_arch(t);
	if (k == SIZE_MAX)
		return oci_xasprintf("%s:%s: %s is not an index of the current per-arch images; "
		                     "ccreg assemble %s:%s", row->img->key, row->ct.tag,
		                     cli_release_short(row->ct.reference), row->img->key, row->ct.tag);
	if (!t->held[k])
		return oci_xasprintf("%s:%s: the index holds no %s image, %s is %s; ccreg assemble %s:%s",
		                     row->img->key, row->ct.tag, row->ct.arches[k],
		                     cli_release_short(row->ct.sources[k]), t->sources[k],
		                     row->img->key, row->ct.tag);
	return oci_xasprintf("%s:%s: %s is now %s, the index holds %s; ccreg assemble %s:%s",
	                     row->img->key, row->ct.tag, cli_release_short(row->ct.sources[k]),
	                     t->sources[k], t->held[k], row->img->key, row->ct.tag);
}

char *cli_release_next(const struct cli_release *r, size_t i)
{
	const struct cli_release_row *row = &r->rows[i];
	const struct reg_status_target *t = &r->t[i];
	const char *key = row->img->key, *tag = row->ver->tag;
	int min_gb, docker_gb;

	if (row->skip)
		return oci_xasprintf("skipped: %s", row->skip);
	switch (t->state) {
	case REG_STATUS_MISSING:
		if (row->ct.single_arch)
			return oci_xasprintf("build %s: docker push %s", row->ct.arches[0],
			                     cli_release_short(row->ct.reference));
		return pushes(row, t, true);
	case REG_STATUS_PARTIAL:
		return pushes(row, t, false);
	case REG_STATUS_BUILT:
		return oci_xasprintf("ccreg assemble %s:%s", key, tag);
	case REG_STATUS_STALE: {
		if (reg_status_assemble_skip(t)) {
			_cleanup_free_ char *p = pushes(row, t, false);
			return oci_xasprintf("%s, then ccreg assemble %s:%s", p, key, tag);
		}
		size_t k = reg_status_stale_arch(t);
		return oci_xasprintf("%s rebuilt since the index was assembled: ccreg assemble %s:%s",
		                     k == SIZE_MAX ? "per-arch images" : row->ct.arches[k], key, tag);
	}
	case REG_STATUS_ASSEMBLED:
		return oci_xasprintf("test it, then ccreg catalog mark-tested %s %s", key, tag);
	case REG_STATUS_RELEASED:
		if (cli_release_recommend(r, i, &min_gb, &docker_gb) &&
		    (row->img->min_disk_gb < min_gb || row->img->docker_size_gb < docker_gb)) {
			if (row->img->min_disk_gb < 0)
				return oci_xasprintf("minDiskSizeGb is not set, the recommendation is %d: "
				                     "ccreg audit --write %s:%s", min_gb, key, tag);
			if (row->img->min_disk_gb < min_gb)
				return oci_xasprintf("minDiskSizeGb %d is below the recommended %d: "
				                     "ccreg audit --write %s:%s", row->img->min_disk_gb,
				                     min_gb, key, tag);
			return oci_xasprintf("dockerSizeGb %d is below the recommended %d: "
			                     "ccreg audit --write %s:%s", row->img->docker_size_gb,
			                     docker_gb, key, tag);
		}
		return oci_xstrdup("nothing: released");
	case REG_STATUS_ERROR:
		if (t->code == OCI_E_USAGE)
			return oci_xasprintf("rebuild: %s", t->problem);
		return oci_xasprintf("could not tell: %s", t->problem);
	}
	return oci_xstrdup("?");
}
