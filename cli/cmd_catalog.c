/* cli/cmd_catalog.c: `ccreg catalog list|tag|version|add-version|mark-tested|lint`. */
#include <getopt.h>
#include <jansson.h>
#include <string.h>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "oci/cleanup.h"
#include "oci/platform.h"
#include "oci/util.h"
#include "registry/verify.h"

static const struct cli_opt add_version_opts[] = {
	{ 'l', 0, "label", CLI_OPT_VALUE, "L", "label of the added version" },
	{ 'V', 0, "version", CLI_OPT_VALUE, "V", "version field of the added version" },
	{ 0 },
};

static const struct cli_opt mark_tested_opts[] = {
	{ 'n', 0, "no-verify", CLI_OPT_FLAG, NULL, "set \"tested\" without checking the registry" },
	{ 0 },
};

static const struct cli_cmd_spec sub_list = {
	.name = "list",
	.summary = "container images, their arches and newest tag",
	.synopsis = (const char *const[]){ "list", NULL },
};

static const struct cli_cmd_spec sub_tag = {
	.name = "tag",
	.summary = "tag of the last version",
	.synopsis = (const char *const[]){ "tag IMAGE", NULL },
};

static const struct cli_cmd_spec sub_version = {
	.name = "version",
	.summary = "version (else tag) of the last version, or of TAG",
	.synopsis = (const char *const[]){ "version IMAGE [TAG]", NULL },
};

static const struct cli_cmd_spec sub_add_version = {
	.name = "add-version",
	.summary = "append an untested version",
	.synopsis = (const char *const[]){ "add-version IMAGE TAG [--label L] [--version V]", NULL },
	.opts = add_version_opts,
};

static const struct cli_cmd_spec sub_mark_tested = {
	.name = "mark-tested",
	.summary = "check the tag in the registry as `ccreg verify IMAGE:TAG` does, then set "
	           "\"tested\": true; a failed check changes nothing (exit 1); --no-verify "
	           "skips the check",
	.synopsis = (const char *const[]){ "mark-tested IMAGE TAG [--no-verify]", NULL },
	.opts = mark_tested_opts,
};

static const struct cli_cmd_spec sub_lint = {
	.name = "lint",
	.summary = "problems in the catalog file itself, one per line; exits 1 when there are any",
	.synopsis = (const char *const[]){ "lint", NULL },
};

const struct cli_cmd_spec cmd_catalog_spec = {
	.name = "catalog",
	.summary = "read and edit the catalog (images.json)",
	.synopsis = (const char *const[]){ "catalog SUBCOMMAND [ARGS]", NULL },
	.description = "Read and edit the catalog (-C FILE, default $CCREG_CATALOG or ./images.json).\n",
	.subcommands = (const struct cli_cmd_spec *const[]){ &sub_list, &sub_tag, &sub_version,
		&sub_add_version, &sub_mark_tested, &sub_lint, NULL },
	.epilog =
		"Edits change only the bytes they must and replace the file atomically.\n"
		"With --json, list and lint print one JSON document.\n",
};

static int load(const struct cli_ctx *ctx, struct cat_catalog **cat)
{
	oci_error err = { 0 };

	if (cat_load(ctx->g.catalog, cat, &err) < 0)
		return cli_fail(&err);
	return 0;
}

/* Any entry (images and npm packages both have versions). */
static int find_entry(const struct cat_catalog *cat, const char *key, struct cat_image **img)
{
	oci_error err = { 0 };

	*img = cat_image_find(cat, key);
	if (*img)
		return 0;
	oci_err(&err, OCI_E_USAGE, "unknown catalog image \"%s\" in %s", key, cat->path);
	return cli_fail(&err);
}

static json_t *strv_json(char **v, size_t n, bool oci)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		const char *name = oci ? cat_arch_to_oci(v[i]) : v[i];
		if (!name)
			continue;
		json_array_append_new(a, oci ? json_sprintf("linux/%s", name) : json_string(name));
	}
	return a;
}

static int do_list(struct cli_ctx *ctx, struct cat_catalog *cat)
{
	json_t *arr = ctx->g.json ? json_array() : NULL;

	if (!ctx->g.json)
		printf("%-20s %-32s %-14s %-20s %s\n", "IMAGE", "PACKAGE", "ARCHES", "TAG", "NOTES");
	for (size_t i = 0; i < cat->n_images; i++) {
		const struct cat_image *img = &cat->images[i];
		const struct cat_version *last =
			img->n_versions ? &img->versions[img->n_versions - 1] : NULL;

		if (!img->is_image)
			continue;
		if (arr) {
			json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:b, s:b}",
			                      "image", img->key, "package", img->package,
			                      "arches", strv_json(img->arches, img->n_arches, false),
			                      "platforms", strv_json(img->arches, img->n_arches, true),
			                      "multiArch", cat_image_multiarch(img),
			                      "disabled", img->disabled);
			json_object_set_new(o, "tag", last && last->tag ? json_string(last->tag) : json_null());
			json_object_set_new(o, "version", last && (last->version || last->tag)
			                    ? json_string(last->version ? last->version : last->tag)
			                    : json_null());
			json_object_set_new(o, "tested", json_boolean(last && last->tested));
			json_object_set_new(o, "versions", json_integer((json_int_t)img->n_versions));
			if (img->min_disk_gb >= 0)
				json_object_set_new(o, "minDiskSizeGb", json_integer(img->min_disk_gb));
			if (img->docker_size_gb >= 0)
				json_object_set_new(o, "dockerSizeGb", json_integer(img->docker_size_gb));
			json_array_append_new(arr, o);
			continue;
		}
		_cleanup_free_ char *arches = NULL;
		struct oci_buf b = { 0 };
		for (size_t a = 0; a < img->n_arches; a++) {
			if (a)
				oci_buf_append(&b, ",", 1);
			oci_buf_append(&b, img->arches[a], strlen(img->arches[a]));
		}
		arches = b.data ? b.data : oci_xstrdup("-");
		printf("%-20s %-32s %-14s %-20s %s%s%s\n", img->key, img->package, arches,
		       last && last->tag ? last->tag : "-",
		       !last ? "no versions" : last->tested ? "" : "untested",
		       img->disabled && (!last || !last->tested) ? ", " : "",
		       img->disabled ? "disabled" : "");
	}
	if (arr)
		cli_print_json(json_pack("{s:o}", "images", arr));
	return 0;
}

static int do_lint(struct cli_ctx *ctx, struct cat_catalog *cat)
{
	_cleanup_strv_ char **probs = NULL;
	int n = cat_lint(cat, &probs);

	if (ctx->g.json) {
		json_t *a = json_array();
		for (int i = 0; i < n; i++)
			json_array_append_new(a, json_string(probs[i]));
		cli_print_json(json_pack("{s:s, s:o, s:i}", "catalog", cat->path,
		                         "problems", a, "count", n));
	} else {
		for (int i = 0; i < n; i++)
			printf("%s\n", probs[i]);
	}
	if (n)
		cli_info(ctx, "%s: %d problem%s", cat->path, n, n == 1 ? "" : "s");
	return n ? OCI_E_CHECK : 0;
}

/* mark-tested's check: the version's target tag holds, as `verify IMAGE:TAG`. */
static int verify_tag(struct cli_ctx *ctx, const struct cat_catalog *cat, const char *key,
                      const char *tag)
{
	_cleanup_free_ char *arg = oci_xasprintf("%s:%s", key, tag), *name = NULL;
	struct cat_image *img;
	struct cat_version *ver;
	struct cat_target ct = { 0 };
	struct reg_client *c;
	oci_error err = { 0 }, e2 = { 0 };
	int rc = -1;

	if (cat_parse_image_tag(cat, arg, &img, &ver, &err) < 0)
		return cli_fail(&err);
	if (cat_target_init(&ct, img, tag, ctx->g.registry, NULL, &err) == 0 &&
	    (c = cli_client(ctx, &err))) {
		struct reg_verify_target t = { .repo = reg_repo_new(c, &ct.ref, false), .tag = ct.tag,
		                               .want = ct.want, .n_want = ct.n,
		                               .single_arch = ct.single_arch };
		name = oci_xasprintf("%s:%s (%s)", key, tag, ct.reference);
		rc = reg_verify_one(&t, false, ctx->g.jobs, name, &err);
		reg_verify_target_release(&t);
		reg_repo_free(t.repo);
	}
	cat_target_release(&ct);
	if (rc == 0)
		return 0;
	oci_err(&e2, err.code, "%s; not marked tested", err.msg);
	return cli_fail(&e2);
}

int cmd_catalog(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_opt_parser p;
	const char *label = NULL, *version = NULL, *sub;
	bool no_verify = false;
	struct cat_catalog *cat = NULL;
	oci_error err = { 0 };
	struct cat_image *img;
	int ch, rc = 0, nargs;
	char **args;

	if (argc < 2)
		return cli_usage_error("catalog", "expected a subcommand: list, tag, version, "
		                                  "add-version, mark-tested or lint");
	sub = argv[1];
	argc--, argv++;
	cli_opt_init(&p, &cmd_catalog_spec, argc, argv);
	while ((ch = cli_opt_next(&p)) != CLI_OPT_DONE) {
		if (ch == 'l')
			label = p.value;
		else if (ch == 'V')
			version = p.value;
		else if (ch == 'n')
			no_verify = true;
		else
			return cli_bad_option(&p);
	}
	args = argv + optind;
	nargs = argc - optind;

	/* which arguments and options each subcommand takes */
	static const struct {
		const char *name;
		int min, max;
		bool label_version, no_verify;
	} subs[] = {
		{ "list", 0, 0, false, false },       { "tag", 1, 1, false, false },
		{ "version", 1, 2, false, false },    { "add-version", 2, 2, true, false },
		{ "mark-tested", 2, 2, false, true }, { "lint", 0, 0, false, false },
	};
	size_t s;
	for (s = 0; s < ARRAY_SIZE(subs) && strcmp(subs[s].name, sub) != 0; s++)
		;
	if (s == ARRAY_SIZE(subs))
		return cli_usage_error("catalog", "unknown subcommand '%s'", sub);
	if (nargs < subs[s].min || nargs > subs[s].max)
		return cli_usage_error("catalog", "%s takes %s", sub,
		                       subs[s].max == 0 ? "no arguments" :
		                       subs[s].min == 2 ? "IMAGE TAG" :
		                       subs[s].max == 2 ? "IMAGE [TAG]" : "IMAGE");
	if ((label || version) && !subs[s].label_version)
		return cli_usage_error("catalog", "--label and --version go with add-version");
	if (no_verify && !subs[s].no_verify)
		return cli_usage_error("catalog", "--no-verify goes with mark-tested");

	if ((rc = load(ctx, &cat)) != 0)
		return rc;
	if (strcmp(sub, "list") == 0) {
		rc = do_list(ctx, cat);
	} else if (strcmp(sub, "lint") == 0) {
		rc = do_lint(ctx, cat);
	} else if ((rc = find_entry(cat, args[0], &img)) != 0) {
		/* reported */
	} else if (strcmp(sub, "tag") == 0) {
		const char *tag = cat_last_tag(img);
		if (tag)
			printf("%s\n", tag);
		else
			rc = cli_fail((oci_err(&err, OCI_E_USAGE, "%s has no versions with a tag",
			                       img->key), &err));
	} else if (strcmp(sub, "version") == 0) {
		const char *v;
		if (cat_version_of(img, nargs > 1 ? args[1] : NULL, &v, &err) < 0)
			rc = cli_fail(&err);
		else
			printf("%s\n", v);
	} else if (strcmp(sub, "add-version") == 0) {
		if (cat_add_version(cat, args[0], args[1], label, version, &err) < 0)
			rc = cli_fail(&err);
		else
			cli_info(ctx, "%s: added %s:%s (untested)", cat->path, args[0], args[1]);
	} else if (!no_verify && (rc = verify_tag(ctx, cat, args[0], args[1])) != 0) {
		/* reported; the file is untouched */
	} else {
		if (cat_set_tested(cat, args[0], args[1], &err) < 0)
			rc = cli_fail(&err);
		else
			cli_info(ctx, "%s: %s:%s marked tested%s", cat->path, args[0], args[1],
			         no_verify ? " (not verified)" : "");
	}
	cat_free(cat);
	return rc;
}
