/* cli/cmd_assemble.c: `ccreg assemble IMAGE:TAG` and `ccreg assemble --to
 * TARGET SOURCE...`: the multi-arch index from per-arch images. */
#include <getopt.h>
#include <jansson.h>
#include <string.h>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "oci/cleanup.h"
#include "oci/text.h"
#include "oci/mediatype.h"
#include "oci/platform.h"
#include "oci/util.h"
#include "cli/release.h"
#include "registry/assemble.h"

enum { O_TO = 256, O_ALL, O_ARCH, O_FORMAT, O_ANNOT, O_ALSO, O_NOATT, O_DRY, O_JSON };

static const struct cli_opt assemble_opts[] = {
	{ O_TO, 0, "to", CLI_OPT_VALUE, "TARGET", "explicit mode: the reference to write" },
	{ O_ALL, 0, "all", CLI_OPT_FLAG, NULL,
	  "every catalog version whose per-arch images all exist and whose target is missing or "
	  "stale; the others are listed with the reason they were skipped" },
	{ O_ARCH, 0, "arch", CLI_OPT_VALUE, "LIST",
	  "catalog mode: arches to assemble instead of the catalog's (comma-separated: x86_64,arm64)" },
	{ O_FORMAT, 0, "format", CLI_OPT_VALUE, "oci|docker",
	  "index type (default: Docker manifest list when every child is Docker schema2 and there "
	  "are no annotations, else OCI index)" },
	{ O_ANNOT, 0, "annotation", CLI_OPT_LIST, "KEY=VALUE", "annotation on the index (repeatable)" },
	{ O_ALSO, 0, "also-tag", CLI_OPT_LIST, "TAG", "also point TAG at the index (repeatable)" },
	{ O_NOATT, 0, "no-attestations", CLI_OPT_FLAG, NULL, "leave out the sources' attestation manifests" },
	{ O_DRY, 0, "dry-run", CLI_OPT_FLAG, NULL, "print the plan and the index JSON, write nothing" },
	{ O_JSON, 0, "json", CLI_OPT_FLAG, NULL, "print {target, digest, mediaType, children, ...}",
	  CLI_OPT_GLOBAL },
	{ 0 },
};

const struct cli_cmd_spec cmd_assemble_spec = {
	.name = "assemble",
	.summary = "build and push a multi-arch index from per-arch images",
	.synopsis = (const char *const[]){ "assemble IMAGE[:TAG] [OPTIONS]",
	                                   "assemble --to TARGET SOURCE... [OPTIONS]",
	                                   "assemble --all [--dry-run] [--json]", NULL },
	.description =
		"Build and push the multi-arch index of a catalog image from its per-arch\n"
		"images <package>-x86_64:TAG and <package>-arm64:TAG on --registry, into\n"
		"<package>:TAG (TAG defaults to the catalog's last version).  With --to,\n"
		"the index TARGET is made of the given SOURCE references instead.\n\n"
		"Each platform is read from the image config; a source whose config\n"
		"contradicts the catalog's arch, or two sources of the same platform, are\n"
		"refused.  A source that is an index (buildx) is flattened to its image\n"
		"for the wanted platform (with --to: every image it holds) and the\n"
		"attestation manifests that point at it.  Blobs are mounted from the\n"
		"sources' repositories, or copied when that is not possible; child\n"
		"manifests are pushed by digest; the index is written last, so a failure\n"
		"leaves the tag as it was.  When the tag already holds the same index,\n"
		"nothing is written.  Prints the index digest.\n\n"
		"--all does this, concurrently, for every version of every enabled catalog\n"
		"image that `ccreg status` calls built or stale, and prints one line per\n"
		"version: assembled (with the digest), or skipped and why (missing,\n"
		"partial, already assembled, disabled, single-arch, wrong platform).  A\n"
		"rerun writes nothing.  Exit 3 (4) when a registry failure stopped one\n"
		"version; the others still run.\n",
	.opts = assemble_opts,
};

struct args {
	const char *to;
	bool all;
	const char *arch;
	enum reg_asm_format format;
	json_t *annotations;
	char **also; /* NULL-terminated */
	size_t n_also;
	bool no_att, dry;
};

/* Catalog mode: sources and target from the catalog entry. */
struct catalog_sources {
	struct cat_target ct;
	struct reg_asm_source *src;
	size_t n;
	const char *target; /* ct's */
};

static void catalog_sources_release(struct catalog_sources *cs)
{
	cat_target_release(&cs->ct);
	free(cs->src);
}

static int from_catalog(struct cli_ctx *ctx, const char *arg, const char *arch_list,
                        struct catalog_sources *cs, oci_error *err)
{
	struct cat_catalog *cat = NULL;
	struct cat_image *img;
	struct cat_version *ver;
	_cleanup_strv_ char **arches = NULL;
	size_t n = 0;
	int rc = -1;

	if (cat_load(ctx->g.catalog, &cat, err) < 0 ||
	    cat_parse_image_tag(cat, arg, &img, &ver, err) < 0)
		goto out;
	const char *tag = ver ? ver->tag : cat_last_tag(img);
	if (!tag) {
		oci_err(err, OCI_E_USAGE, "%s has no version to assemble", img->key);
		goto out;
	}
	if (arch_list) {
		_cleanup_free_ char *copy = oci_xstrdup(arch_list);
		char *save = NULL;
		for (char *a = strtok_r(copy, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
			const char *name = cat_arch_from_oci(a);
			arches = oci_xrealloc(arches, (n + 2) * sizeof *arches);
			arches[n++] = oci_xstrdup(name ? name : a);
			arches[n] = NULL;
		}
		if (!n) {
			oci_err(err, OCI_E_USAGE, "--arch: empty list");
			goto out;
		}
	} else if (!cat_image_multiarch(img)) {
		const struct cat_image *other = cat_package_shared(cat, img);
		const char *one = img->n_arches ? img->arches[0] : "one arch";
		/* never advise a push that would replace another image's tag */
		if (other)
			oci_err(err, OCI_E_USAGE,
			        "%s is built for %s only: nothing to assemble (its package %s is also %s's: "
			        "a push to %s:%s would replace %s's image; give %s its own package)",
			        img->key, one, img->package, other->key, img->package, tag, other->key,
			        img->key);
		else
			oci_err(err, OCI_E_USAGE,
			        "%s is built for %s only: nothing to assemble (it is pushed directly as %s:%s)",
			        img->key, one, img->package, tag);
		goto out;
	}
	/* assemble names the arches it knows */
	for (char *const *a = arches ? arches : img->arches; *a; a++)
		if (!cat_arch_to_oci(*a)) {
			oci_err(err, OCI_E_USAGE, "%s: unknown arch \"%s\" (x86_64 or arm64)", img->key, *a);
			goto out;
		}
	if (cat_target_init(&cs->ct, img, tag, ctx->g.registry, arches, err) < 0)
		goto out;
	cs->n = cs->ct.n;
	cs->target = cs->ct.reference;
	cs->src = cli_target_sources(&cs->ct);
	rc = 0;
out:
	cat_free(cat);
	return rc;
}

static void print_plan(const struct reg_asm_plan *p)
{
	char size[32];
	printf("Target:     %s:%s", p->target_name, p->tags[0].tag);
	for (size_t i = 1; i < p->n_tags; i++)
		printf(" (+ %s)", p->tags[i].tag);
	printf("\nMedia type: %s\nDigest:     %s\nStatus:     %s\n\n", p->index.media_type,
	       p->index_digest, p->up_to_date ? "already up to date: nothing to write"
	                                      : "would write");
	printf("%-16s %-73s %s\n", "PLATFORM", "MANIFEST", "SOURCE");
	for (size_t i = 0; i < p->n_children; i++) {
		const struct reg_asm_child *ch = &p->children[i];
		char plat[256];
		oci_text_escape_buf(ch->attests ? "attestation" : ch->platform, plat, sizeof plat);
		printf("%-16s %-73s %s%s\n", plat,
		       ch->desc.digest, ch->source_ref, ch->attests ? " (attestation)" : "");
	}
	cli_human_size(p->blob_bytes, size, sizeof size);
	printf("\nBlobs: %zu (%s) to make available in %s\n", p->n_blobs, size, p->target_name);
	for (size_t i = 0; i < p->n_tags; i++)
		printf("Tag %s: %s\n", p->tags[i].tag,
		       p->tags[i].current ? "already holds this index" : "would be written");
	printf("\n");
}

static json_t *plan_json(const struct reg_asm_plan *p, bool dry)
{
	json_t *children = json_array(), *tags = json_array();
	size_t n_att = 0;
	for (size_t i = 0; i < p->n_children; i++) {
		const struct reg_asm_child *ch = &p->children[i];
		if (ch->attests) {
			n_att++;
			continue;
		}
		json_array_append_new(children, json_pack("{s:s, s:s, s:s, s:s}", "platform",
			ch->platform, "digest", ch->desc.digest, "source", ch->source_ref,
			"mediaType", ch->desc.media_type));
	}
	for (size_t i = 0; i < p->n_tags; i++)
		json_array_append_new(tags, json_string(p->tags[i].tag));
	_cleanup_free_ char *target = oci_xasprintf("%s:%s", p->target_name, p->tags[0].tag);
	json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:I, s:o, s:b, s:b}", "target", target,
		"digest", p->index_digest, "mediaType", p->index.media_type, "children", children,
		"attestations", (json_int_t)n_att, "tags", tags, "upToDate", p->up_to_date,
		"dryRun", dry);
	if (dry)
		json_object_set_new(j, "index", json_loadb(p->index_bytes, p->index_len, 0, NULL));
	return j;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	struct cli_opt_parser p;
	int ch;
	cli_opt_init(&p, &cmd_assemble_spec, argc, argv);
	while ((ch = cli_opt_next(&p)) != CLI_OPT_DONE) {
		switch (ch) {
		case O_TO:
			a->to = p.value;
			break;
		case O_ALL:
			a->all = true;
			break;
		case O_ARCH:
			a->arch = p.value;
			break;
		case O_FORMAT:
			if (!strcmp(p.value, "oci"))
				a->format = REG_ASM_OCI;
			else if (!strcmp(p.value, "docker"))
				a->format = REG_ASM_DOCKER;
			else
				return cli_usage_error("assemble", "--format: \"%s\" is not oci or docker",
				                       p.value);
			break;
		case O_ANNOT: {
			const char *eq = strchr(p.value, '=');
			if (!eq || eq == p.value)
				return cli_usage_error("assemble", "--annotation: expected KEY=VALUE, got \"%s\"",
				                       p.value);
			_cleanup_free_ char *key = oci_xstrndup(p.value, (size_t)(eq - p.value));
			if (!a->annotations)
				a->annotations = json_object();
			json_object_set_new(a->annotations, key, json_string(eq + 1));
			break;
		}
		case O_ALSO:
			a->also = oci_xrealloc(a->also, (a->n_also + 2) * sizeof *a->also);
			a->also[a->n_also++] = oci_xstrdup(p.value);
			a->also[a->n_also] = NULL;
			break;
		case O_NOATT:
			a->no_att = true;
			break;
		case O_DRY:
			a->dry = true;
			break;
		default:
			return cli_bad_option(&p);
		}
	}
	if (a->all && (a->to || a->arch || a->n_also || optind < argc))
		return cli_usage_error("assemble", "--all takes no IMAGE:TAG, --to, --arch or --also-tag");
	if (a->all)
		return 0;
	if (a->to && a->arch)
		return cli_usage_error("assemble", "--arch is for catalog mode, not with --to");
	if (a->to && optind >= argc)
		return cli_usage_error("assemble", "--to needs at least one SOURCE");
	if (!a->to && argc - optind != 1)
		return cli_usage_error("assemble", "expected IMAGE:TAG, or --to TARGET SOURCE...");
	return 0;
}

int cmd_assemble(struct cli_ctx *ctx, int argc, char **argv)
{
	struct args a = { 0 };
	struct catalog_sources cs = { 0 };
	struct reg_asm_source *explicit_src = NULL;
	struct reg_asm_plan plan = { 0 };
	oci_error err = { 0 };
	int rc = parse_args(argc, argv, &a);
	if (rc)
		goto out;
	if (a.all) {
		rc = cli_assemble_all(ctx, a.dry);
		goto out;
	}

	struct reg_asm_options o = {
		.also_tags = (const char *const *)a.also,
		.annotations = a.annotations,
		.format = a.format,
		.no_attestations = a.no_att,
		.jobs = ctx->g.jobs,
		.early_blobs = !a.dry,
	};
	if (a.to) {
		size_t n = (size_t)(argc - optind);
		explicit_src = oci_xcalloc(n, sizeof *explicit_src);
		for (size_t i = 0; i < n; i++)
			explicit_src[i].ref = argv[optind + (int)i];
		o.target = a.to;
		o.sources = explicit_src;
		o.n_sources = n;
	} else {
		if (from_catalog(ctx, argv[optind], a.arch, &cs, &err) < 0) {
			rc = cli_fail(&err);
			goto out;
		}
		o.target = cs.target;
		o.sources = cs.src;
		o.n_sources = cs.n;
	}

	struct reg_client *c = cli_client(ctx, &err);
	if (!c || reg_asm_plan(c, &o, &plan, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (a.dry) {
		if (ctx->g.json) {
			cli_print_json(plan_json(&plan, true));
		} else {
			print_plan(&plan);
			fwrite(plan.index_bytes, 1, plan.index_len, stdout);
			fputc('\n', stdout);
		}
		goto out;
	}
	if (plan.up_to_date) {
		cli_info(ctx, "%s:%s: already up to date (%s)", plan.target_name, plan.tags[0].tag,
		         plan.index_digest);
	} else {
		/* progress as copy shows it; the summary is the line below */
		struct cli_progress *prog = cli_progress_new(ctx, "assemble", plan.blob_bytes,
		                                             plan.n_blobs);
		struct reg_progress hook = cli_progress_hook(prog);
		struct cli_progress_stats st = { 0 };
		int r = reg_asm_execute(&plan, &hook, &err);
		cli_progress_finish(prog, false, &st);
		cli_progress_free(prog);
		if (r < 0) {
			rc = cli_fail(&err);
			goto out;
		}
		size_t n_att = plan.n_children - plan.n_images;
		cli_info(ctx, "%s:%s: %zu image%s, %zu attestation%s; blobs: %zu present, %zu mounted, %zu copied",
		         plan.target_name, plan.tags[0].tag, plan.n_images,
		         plan.n_images == 1 ? "" : "s", n_att, n_att == 1 ? "" : "s", st.existed,
		         st.mounted, st.transferred);
	}
	if (ctx->g.json)
		cli_print_json(plan_json(&plan, false));
	else
		printf("%s\n", plan.index_digest);
out:
	reg_asm_plan_release(&plan);
	catalog_sources_release(&cs);
	free(explicit_src);
	if (a.annotations)
		json_decref(a.annotations);
	for (size_t i = 0; i < a.n_also; i++)
		free(a.also[i]);
	free(a.also);
	return rc;
}
