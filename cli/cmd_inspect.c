/* cli/cmd_inspect.c: `ccreg inspect REF`: media type, digest, and per
 * platform the manifest, config, layer count and compressed size. */
#include <jansson.h>
#include <string.h>

#include "cli/commands.h"
#include "oci/cleanup.h"
#include "oci/mediatype.h"
#include "oci/ref.h"
#include "oci/text.h"
#include "oci/util.h"
#include "registry/image.h"

const struct cli_cmd_spec cmd_inspect_spec = {
	.name = "inspect",
	.summary = "media type, digest, platforms, layers and sizes",
	.synopsis = (const char *const[]){ "inspect REF [--json]", NULL },
	.description =
		"Show what REF points to: media type, digest, and for each platform the\n"
		"manifest digest, config digest, layer count and compressed size.\n"
		"Children of an index are fetched concurrently (--jobs).  A nested index is\n"
		"shown with its entries indented under it; an OCI artifact (a config that is\n"
		"not an image config) with its artifactType and config media type.\n",
};

struct row {
	char *platform, *digest, *media_type, *config;
	size_t layers;
	long long bytes;
	bool attestation;
	int depth;                 /* 0: an entry of the top index; deeper: nested */
	bool index;                /* a nested index (its entries follow it) */
	const char *artifact_type; /* borrowed from the walk; NULL for an image */
	const char *config_type;   /* borrowed */
};

/* false when the sizes overflow when summed */
static bool fill_row(struct row *r, const struct reg_walk_node *n, const char *platform,
                     const char *media_type, int depth)
{
	const struct oci_manifest *m = &n->m;
	r->platform = oci_xstrdup(platform);
	r->digest = oci_xstrdup(n->raw.digest);
	r->media_type = oci_xstrdup(media_type);
	r->depth = depth;
	if (n->kind == OCI_DOC_INDEX) {
		r->index = true;
		r->layers = n->index.n_manifests;
		r->bytes = (long long)n->raw.len;
		return true;
	}
	r->attestation = n->attests != NULL;
	r->config = oci_xstrdup(m->config.digest);
	r->config_type = m->config.media_type;
	if (!oci_manifest_is_image(m))
		r->artifact_type = oci_manifest_artifact_type(m);
	r->layers = m->n_layers;
	int64_t sum = m->config.size;
	bool ok = true;
	for (size_t i = 0; i < m->n_layers && ok; i++)
		ok = oci_add_checked(&sum, m->layers[i].size);
	r->bytes = sum;
	return ok;
}

/* The entries of index node n, depth first: a nested index's row is
 * followed by its own entries' rows.  Returns the first node whose sizes
 * overflow when summed, or NULL. */
static const struct reg_walk_node *add_children(const struct reg_walk_node *n, int depth,
                                                struct row **rows, size_t *n_rows, size_t *cap)
{
	for (size_t i = 0; i < n->n_children; i++) {
		const struct reg_walk_node *c = &n->children[i];
		if (*n_rows == *cap) {
			*cap = *cap * 2 + 8;
			*rows = oci_xrealloc(*rows, *cap * sizeof **rows);
		}
		memset(&(*rows)[*n_rows], 0, sizeof **rows);
		_cleanup_free_ char *p = c->desc.platform ? oci_platform_string(c->desc.platform)
		                                          : oci_xstrdup("-");
		const char *mt = c->kind == OCI_DOC_INDEX ? c->index.media_type : c->m.media_type;
		if (!fill_row(&(*rows)[(*n_rows)++], c, p, mt ? mt : c->desc.media_type, depth))
			return c;
		const struct reg_walk_node *bad = add_children(c, depth + 1, rows, n_rows, cap);
		if (bad)
			return bad;
	}
	return NULL;
}

/* One row per entry of an index (nested indexes' entries under theirs), or
 * the manifest's own row with the platform from its config (an artifact has
 * none). */
static int fill_rows(struct reg_repo *repo, struct reg_walk *w, struct row **rows, size_t *n,
                     oci_error *err)
{
	struct reg_walk_node *top = &w->top;
	if (top->kind == OCI_DOC_MANIFEST) {
		_cleanup_free_ char *p = NULL;
		if (oci_manifest_is_image(&top->m)) {
			struct oci_config cfg = { 0 };
			if (reg_config_get(repo, &top->m.config, &cfg, NULL, err) < 0)
				return -1;
			p = oci_platform_string(&cfg.platform);
			oci_config_release(&cfg);
		}
		*rows = oci_xcalloc(1, sizeof **rows);
		*n = 1;
		if (!fill_row(&(*rows)[0], top, p ? p : "-", top->m.media_type, 0))
			return oci_err(err, OCI_E_REGISTRY, "%s@%s: the blob sizes overflow when summed",
			               reg_repo_name(repo), top->raw.digest);
		return 0;
	}
	size_t cap = 0;
	const struct reg_walk_node *bad = add_children(top, 0, rows, n, &cap);
	if (bad)
		return oci_err(err, OCI_E_REGISTRY, "%s@%s: the blob sizes overflow when summed",
		               reg_repo_name(repo), bad->raw.digest);
	return 0;
}

static void print_rows(struct row *rows, size_t n)
{
	printf("\n%-16s %-20s %-20s %6s %12s\n", "PLATFORM", "MANIFEST", "CONFIG", "LAYERS",
	       "COMPRESSED");
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		char size[32], plat[320], shown[256];
		cli_human_size(r->bytes, size, sizeof size);
		/* what the server named: shown, never obeyed by the terminal */
		oci_text_escape_buf(r->platform, shown, sizeof shown);
		snprintf(plat, sizeof plat, "%*s%s", 2 * r->depth, "", shown);
		if (r->index) {
			printf("%-16s %-20.19s %-20s %6s %12s  (index, %zu entries)\n", plat, r->digest,
			       "-", "-", size, r->layers);
			continue;
		}
		printf("%-16s %-20.19s %-20.19s %6zu %12s", plat, r->digest,
		       r->config ? r->config : "-", r->layers, size);
		if (r->attestation)
			printf("  (attestation)");
		else if (r->artifact_type) {
			_cleanup_free_ char *at = oci_text_escape(r->artifact_type);
			_cleanup_free_ char *ct = oci_text_escape(r->config_type ? r->config_type : "-");
			printf("  (artifact %s, config %s)", at, ct);
		}
		putchar('\n');
	}
}

static json_t *row_json(const struct row *r)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:I, s:I, s:b}",
		"platform", r->platform, "digest", r->digest,
		"mediaType", r->media_type ? r->media_type : "",
		"config", r->config, "layers", (json_int_t)(r->index ? 0 : r->layers),
		"compressedBytes", (json_int_t)r->bytes,
		"attestation", r->attestation);
	/* added for nested indexes and artifacts; the fields above keep their meaning */
	json_object_set_new(o, "depth", json_integer(r->depth));
	if (r->index) {
		json_object_set_new(o, "index", json_true());
		json_object_set_new(o, "entries", json_integer((json_int_t)r->layers));
	}
	if (r->config_type)
		json_object_set_new(o, "configMediaType", json_string(r->config_type));
	if (r->artifact_type)
		json_object_set_new(o, "artifactType", json_string(r->artifact_type));
	json_object_set_new(o, "artifact", json_boolean(r->artifact_type != NULL));
	return o;
}

int cmd_inspect(struct cli_ctx *ctx, int argc, char **argv)
{
	int r = cli_no_options(&cmd_inspect_spec, &argc, &argv);
	if (r)
		return r;
	if (argc != 2)
		return cli_usage_error("inspect", "expected one reference");
	oci_error err = { 0 };
	struct oci_ref ref = { 0 };
	struct reg_repo *repo = NULL;
	struct reg_walk w = { 0 };
	struct row *rows = NULL;
	size_t n = 0;
	int rc = 0;
	_cleanup_free_ char *name = NULL;

	if (cli_open_repo(ctx, argv[1], false, &ref, &repo, &err) < 0 ||
	    reg_walk(&(struct reg_walk_source){ .repo = repo }, oci_ref_reference(&ref),
	             &(struct reg_walk_opts){ .pick = REG_PICK_ALL, .nested = true,
	                                          .jobs = ctx->g.jobs }, &w,
	             &err) < 0 ||
	    fill_rows(repo, &w, &rows, &n, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}

	name = oci_ref_string(&ref);
	const char *mt = w.top.desc.media_type;
	const char *digest = w.top.raw.digest;
	if (ctx->g.json) {
		json_t *plats = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(plats, row_json(&rows[i]));
		cli_print_json(json_pack("{s:s, s:s, s:s, s:o}", "reference", name, "mediaType",
		                         mt ? mt : "", "digest", digest, "platforms", plats));
	} else {
		_cleanup_free_ char *mts = oci_text_escape(mt ? mt : "");
		printf("Reference:  %s\nMedia type: %s\nDigest:     %s\n", name, mts, digest);
		print_rows(rows, n);
	}
out:
	for (size_t i = 0; i < n && rows; i++) {
		free(rows[i].platform);
		free(rows[i].digest);
		free(rows[i].media_type);
		free(rows[i].config);
	}
	free(rows);
	reg_walk_release(&w);
	reg_repo_free(repo);
	oci_ref_release(&ref);
	return rc;
}
