/* cli/cmd_assemble.c: `ccreg assemble IMAGE:TAG` and `ccreg assemble --to
 * TARGET SOURCE...`: the multi-arch index from per-arch images. */
#include <getopt.h>
#include <jansson.h>
#include <string.h>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "oci/cleanup.h"
#include "oci/mediatype.h"
#include "oci/platform.h"
#include "registry/assemble.h"

const char cmd_assemble_usage[] =
	"Usage: ccreg assemble IMAGE[:TAG] [OPTIONS]\n"
	"       ccreg assemble --to TARGET SOURCE... [OPTIONS]\n\n"
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
	"Options:\n"
	"      --to TARGET           explicit mode: the reference to write\n"
	"      --arch LIST           catalog mode: arches to assemble instead of the\n"
	"                            catalog's (comma-separated: x86_64,arm64)\n"
	"      --format oci|docker   index type (default: Docker manifest list when\n"
	"                            every child is Docker schema2 and there are no\n"
	"                            annotations, else OCI index)\n"
	"      --annotation KEY=VALUE  annotation on the index (repeatable)\n"
	"      --also-tag TAG        also point TAG at the index (repeatable)\n"
	"      --no-attestations     leave out the sources' attestation manifests\n"
	"      --dry-run             print the plan and the index JSON, write nothing\n"
	"      --json                print {target, digest, mediaType, children, ...}\n";

enum { O_TO = 256, O_ARCH, O_FORMAT, O_ANNOT, O_ALSO, O_NOATT, O_DRY };

struct args {
	const char *to;
	const char *arch;
	enum reg_asm_format format;
	json_t *annotations;
	char **also; /* NULL-terminated */
	size_t n_also;
	bool no_att, dry;
};

/* Catalog mode: sources and target from the catalog entry. */
struct catalog_sources {
	struct reg_asm_source *src;
	struct oci_platform *want;
	char **refs;
	size_t n;
	char *target;
};

static void catalog_sources_release(struct catalog_sources *cs)
{
	for (size_t i = 0; i < cs->n; i++) {
		oci_platform_release(&cs->want[i]);
		free(cs->refs[i]);
	}
	free(cs->src);
	free(cs->want);
	free(cs->refs);
	free(cs->target);
}

static const char *catalog_arch_name(const char *s)
{
	if (!strcmp(s, "amd64") || !strcmp(s, "x86-64"))
		return "x86_64";
	if (!strcmp(s, "aarch64"))
		return "arm64";
	return s;
}

static int from_catalog(struct cli_ctx *ctx, const char *arg, const char *arch_list,
                        struct catalog_sources *cs, oci_error *err)
{
	struct cat_catalog *cat = NULL;
	struct cat_image *img;
	struct cat_version *ver;
	struct oci_ref ref = { 0 };
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
			arches = oci_xrealloc(arches, (n + 2) * sizeof *arches);
			arches[n++] = oci_xstrdup(catalog_arch_name(a));
			arches[n] = NULL;
		}
		if (!n) {
			oci_err(err, OCI_E_USAGE, "--arch: empty list");
			goto out;
		}
	} else {
		if (!cat_image_multiarch(img)) {
			oci_err(err, OCI_E_USAGE,
			        "%s is built for %s only: nothing to assemble (it is pushed directly as %s:%s)",
			        img->key, img->n_arches ? img->arches[0] : "one arch", img->package, tag);
			goto out;
		}
		arches = oci_xcalloc(img->n_arches + 1, sizeof *arches);
		for (n = 0; n < img->n_arches; n++)
			arches[n] = oci_xstrdup(img->arches[n]);
	}
	cs->src = oci_xcalloc(n, sizeof *cs->src);
	cs->want = oci_xcalloc(n, sizeof *cs->want);
	cs->refs = oci_xcalloc(n, sizeof *cs->refs);
	for (size_t i = 0; i < n; i++) {
		const char *oci_arch = oci_arch_from_catalog(arches[i]);
		if (!oci_arch) {
			oci_err(err, OCI_E_USAGE, "%s: unknown arch \"%s\" (x86_64 or arm64)", img->key,
			        arches[i]);
			goto out;
		}
		if (cat_source_ref(img, arches[i], tag, ctx->g.registry, &ref, err) < 0)
			goto out;
		cs->refs[i] = oci_ref_string(&ref);
		oci_ref_release(&ref);
		oci_platform_set(&cs->want[i], "linux", oci_arch, NULL);
		cs->src[i].ref = cs->refs[i];
		cs->src[i].want = &cs->want[i];
		cs->n = i + 1;
	}
	if (cat_target_ref(img, tag, ctx->g.registry, &ref, err) < 0)
		goto out;
	cs->target = oci_ref_string(&ref);
	rc = 0;
out:
	oci_ref_release(&ref);
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
		printf("%-16s %-73s %s%s\n", ch->attests ? "attestation" : ch->platform,
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
	static const struct option opts[] = {
		{ "to", required_argument, NULL, O_TO },
		{ "arch", required_argument, NULL, O_ARCH },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "annotation", required_argument, NULL, O_ANNOT },
		{ "also-tag", required_argument, NULL, O_ALSO },
		{ "no-attestations", no_argument, NULL, O_NOATT },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ 0 },
	};
	int ch;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case O_TO:
			a->to = optarg;
			break;
		case O_ARCH:
			a->arch = optarg;
			break;
		case O_FORMAT:
			if (!strcmp(optarg, "oci"))
				a->format = REG_ASM_OCI;
			else if (!strcmp(optarg, "docker"))
				a->format = REG_ASM_DOCKER;
			else
				return cli_usage_error("assemble", "--format: \"%s\" is not oci or docker",
				                       optarg);
			break;
		case O_ANNOT: {
			const char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg)
				return cli_usage_error("assemble", "--annotation: expected KEY=VALUE, got \"%s\"",
				                       optarg);
			_cleanup_free_ char *key = oci_xstrndup(optarg, (size_t)(eq - optarg));
			if (!a->annotations)
				a->annotations = json_object();
			json_object_set_new(a->annotations, key, json_string(eq + 1));
			break;
		}
		case O_ALSO:
			a->also = oci_xrealloc(a->also, (a->n_also + 2) * sizeof *a->also);
			a->also[a->n_also++] = oci_xstrdup(optarg);
			a->also[a->n_also] = NULL;
			break;
		case O_NOATT:
			a->no_att = true;
			break;
		case O_DRY:
			a->dry = true;
			break;
		default:
			return cli_bad_option("assemble", argc, argv);
		}
	}
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

	struct reg_asm_options o = {
		.also_tags = (const char *const *)a.also,
		.annotations = a.annotations,
		.format = a.format,
		.no_attestations = a.no_att,
		.jobs = ctx->g.jobs,
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
