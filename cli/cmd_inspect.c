/* cli/cmd_inspect.c: `ccreg inspect REF`: media type, digest, and per
 * platform the manifest, config, layer count and compressed size. */
#include <jansson.h>
#include <string.h>

#include "cli/commands.h"
#include "oci/cleanup.h"
#include "oci/mediatype.h"
#include "oci/ref.h"
#include "oci/util.h"
#include "registry/image.h"
#include "registry/parallel.h"

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

struct job {
	struct reg_repo *repo;
	const struct oci_index *ix;
	struct row *rows;
};

static void fill_row(struct row *r, const struct oci_manifest *m)
{
	r->config = oci_xstrdup(m->config.digest);
	r->layers = m->n_layers;
	r->bytes = m->config.size;
	for (size_t i = 0; i < m->n_layers; i++)
		r->bytes += m->layers[i].size;
}

static int child_job(size_t i, void *ud, oci_error *err)
{
	struct job *j = ud;
	const struct oci_descriptor *d = &j->ix->manifests[i];
	struct row *r = &j->rows[i];
	struct reg_manifest rm = { 0 };
	struct oci_manifest m = { 0 };
	r->platform = d->platform ? oci_platform_string(d->platform) : oci_xstrdup("-");
	r->digest = oci_xstrdup(d->digest);
	r->media_type = oci_xstrdup(d->media_type);
	r->attestation = oci_descriptor_attests(d) != NULL;
	int rc = reg_manifest_get(j->repo, d->digest, &rm, err);
	if (rc == 0 && (rc = oci_manifest_parse(&m, rm.data, rm.len, rm.media_type, err)) == 0)
		fill_row(r, &m);
	oci_manifest_release(&m);
	reg_manifest_release(&rm);
	return rc;
}

static void print_rows(struct row *rows, size_t n)
{
	printf("\n%-16s %-20s %-20s %6s %12s\n", "PLATFORM", "MANIFEST", "CONFIG", "LAYERS",
	       "COMPRESSED");
	for (size_t i = 0; i < n; i++) {
		char size[32];
		cli_human_size(rows[i].bytes, size, sizeof size);
		printf("%-16s %-20.19s %-20.19s %6zu %12s%s\n", rows[i].platform, rows[i].digest,
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
	struct reg_image img = { 0 };
	struct row *rows = NULL;
	size_t n = 0;
	int rc = 0;
	_cleanup_free_ char *name = NULL;

	if (cli_open_repo(ctx, argv[1], false, &ref, &repo, &err) < 0 ||
	    reg_image_get(repo, oci_ref_reference(&ref), NULL, &img, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (img.kind == OCI_DOC_INDEX) {
		n = img.index.n_manifests;
		rows = oci_xcalloc(n, sizeof *rows);
		struct job j = { repo, &img.index, rows };
		if (reg_parallel(n, ctx->g.jobs, child_job, &j, &err) < 0) {
			rc = cli_fail(&err);
			goto out;
		}
	} else {
		struct oci_config cfg = { 0 };
		n = 1;
		rows = oci_xcalloc(1, sizeof *rows);
		if (reg_config_get(repo, &img.m.config, &cfg, NULL, &err) < 0) {
			rc = cli_fail(&err);
			goto out;
		}
		rows[0].platform = oci_platform_string(&cfg.platform);
		rows[0].digest = oci_xstrdup(img.top.digest);
		rows[0].media_type = oci_xstrdup(img.top.media_type);
		fill_row(&rows[0], &img.m);
		oci_config_release(&cfg);
	}

	name = oci_ref_string(&ref);
	const char *mt = img.kind == OCI_DOC_INDEX ? img.index.media_type : img.m.media_type;
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
		                         mt ? mt : "", "digest", img.top.digest, "platforms", plats));
	} else {
		printf("Reference:  %s\nMedia type: %s\nDigest:     %s\n", name, mt ? mt : "",
		       img.top.digest);
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
	reg_image_release(&img);
	reg_repo_free(repo);
	oci_ref_release(&ref);
	return rc;
}
