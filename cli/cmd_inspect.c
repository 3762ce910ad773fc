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
		"Children of an index are fetched concurrently (--jobs).\n",
};

struct row {
	char *platform, *digest, *media_type, *config;
	size_t layers;
	long long bytes;
	bool attestation;
};

/* false when the sizes overflow when summed */
static bool fill_row(struct row *r, const struct reg_walk_node *n, const char *platform,
                     const char *media_type)
{
	const struct oci_manifest *m = &n->m;
	r->platform = oci_xstrdup(platform);
	r->digest = oci_xstrdup(n->raw.digest);
	r->media_type = oci_xstrdup(media_type);
	r->attestation = n->attests != NULL;
	r->config = oci_xstrdup(m->config.digest);
	r->layers = m->n_layers;
	int64_t sum = m->config.size;
	bool ok = true;
	for (size_t i = 0; i < m->n_layers && ok; i++)
		ok = oci_add_checked(&sum, m->layers[i].size);
	r->bytes = sum;
	return ok;
}

/* One row per entry of an index (fetched concurrently), or the manifest's
 * own row with the platform from its config. */
static int fill_rows(struct reg_repo *repo, struct reg_walk *w, struct row **rows, size_t *n,
                     oci_error *err)
{
	struct reg_walk_node *top = &w->top;
	if (top->kind == OCI_DOC_MANIFEST) {
		struct oci_config cfg = { 0 };
		if (reg_config_get(repo, &top->m.config, &cfg, NULL, err) < 0)
			return -1;
		_cleanup_free_ char *p = oci_platform_string(&cfg.platform);
		oci_config_release(&cfg);
		*rows = oci_xcalloc(1, sizeof **rows);
		*n = 1;
		if (!fill_row(&(*rows)[0], top, p, top->raw.media_type))
			return oci_err(err, OCI_E_REGISTRY, "%s@%s: the blob sizes overflow when summed",
			               reg_repo_name(repo), top->raw.digest);
		return 0;
	}
	*rows = oci_xcalloc(top->n_children + 1, sizeof **rows);
	for (size_t i = 0; i < top->n_children; i++) {
		struct reg_walk_node *c = &top->children[i];
		_cleanup_free_ char *p = c->desc.platform ? oci_platform_string(c->desc.platform)
		                                          : oci_xstrdup("-");
		if (!fill_row(&(*rows)[(*n)++], c, p, c->desc.media_type))
			return oci_err(err, OCI_E_REGISTRY, "%s@%s: the blob sizes overflow when summed",
			               reg_repo_name(repo), c->raw.digest);
	}
	return 0;
}

static void print_rows(struct row *rows, size_t n)
{
	printf("\n%-16s %-20s %-20s %6s %12s\n", "PLATFORM", "MANIFEST", "CONFIG", "LAYERS",
	       "COMPRESSED");
	for (size_t i = 0; i < n; i++) {
		char size[32], plat[256];
		cli_human_size(rows[i].bytes, size, sizeof size);
		/* what the server named: shown, never obeyed by the terminal */
		oci_text_escape_buf(rows[i].platform, plat, sizeof plat);
		printf("%-16s %-20.19s %-20.19s %6zu %12s%s\n", plat, rows[i].digest,
		       rows[i].config ? rows[i].config : "-", rows[i].layers, size,
		       rows[i].attestation ? "  (attestation)" : "");
	}
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
	             &(struct reg_walk_opts){ .pick = REG_PICK_ALL, .jobs = ctx->g.jobs }, &w,
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
			json_array_append_new(plats, json_pack("{s:s, s:s, s:s, s:s?, s:I, s:I, s:b}",
				"platform", rows[i].platform, "digest", rows[i].digest,
				"mediaType", rows[i].media_type ? rows[i].media_type : "",
				"config", rows[i].config, "layers", (json_int_t)rows[i].layers,
				"compressedBytes", (json_int_t)rows[i].bytes,
				"attestation", rows[i].attestation));
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
