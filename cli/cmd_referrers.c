/* cli/cmd_referrers.c: `ccreg referrers REF [--artifact-type T]`: what refers
 * to an image (signatures, SBOMs, attestations). */
#include <getopt.h>
#include <jansson.h>
#include <string.h>

#include "cli/commands.h"
#include "oci/cleanup.h"
#include "oci/ref.h"
#include "oci/text.h"
#include "registry/referrers.h"

#define OPT_ARTIFACT_TYPE 256

static const struct cli_opt referrers_opts[] = {
	{ OPT_ARTIFACT_TYPE, 0, "artifact-type", CLI_OPT_VALUE, "T",
	  "only referrers of this artifact type (application/vnd.dev.cosign.artifact.sig.v1+json, "
	  "application/spdx+json, ...)" },
	{ 0 },
};

const struct cli_cmd_spec cmd_referrers_spec = {
	.name = "referrers",
	.summary = "list the signatures, SBOMs and attestations that refer to an image",
	.synopsis = (const char *const[]){ "referrers [--artifact-type T] [--json] REF",
	                                   "referrers [--artifact-type T] [--json] oci:DIR[:NAME]",
	                                   NULL },
	.description =
		"List the manifests whose subject is REF's manifest (OCI distribution\n"
		"1.1): through the registry's referrers API, or on a registry without it\n"
		"(docker-registry) through the fallback tag sha256-<hex>.  cosign's own\n"
		"tags (sha256-<hex>.sig, .att, .sbom) are listed too.  In an OCI layout:\n"
		"the index.json entry named sha256-<hex> and the entries whose manifest\n"
		"has that subject.  Which path answered is said on stderr (-q: not).\n"
		"copy, pull and push --referrers carry them along.\n",
	.opts = referrers_opts,
	.epilog = "Columns: ARTIFACT TYPE, DIGEST, SIZE and the referrer's annotations;\n"
	          "--json: {\"reference\", \"subject\", \"via\": \"api\" | \"tag\" | \"layout\",\n"
	          "\"filtersApplied\": bool, \"referrers\": [descriptor], \"cosign\": [{\"tag\",\n"
	          "\"digest\", \"mediaType\", \"size\"}]}.\n",
};

static const char *const via_names[] = { "api", "tag", "layout" };

static void print_table(const struct reg_referrers *r)
{
	printf("%-48s  %-71s  %s\n", "ARTIFACT TYPE", "DIGEST", "SIZE");
	/* artifact types, annotations and tags are the server's words: escaped */
	for (size_t i = 0; i < r->found.n_manifests; i++) {
		const struct oci_descriptor *d = &r->found.manifests[i];
		_cleanup_free_ char *type = oci_text_escape(d->artifact_type ? d->artifact_type : "-");
		printf("%-48s  %-71s  %lld", type, d->digest, (long long)d->size);
		const char *k;
		json_t *v;
		json_object_foreach(d->annotations, k, v) {
			_cleanup_free_ char *ek = oci_text_escape(k);
			_cleanup_free_ char *ev = oci_text_escape(json_string_value(v) ? json_string_value(v) : "");
			printf("  %s=%s", ek, ev);
		}
		printf("\n");
	}
	for (size_t i = 0; i < r->n_cosign; i++) {
		_cleanup_free_ char *tag = oci_text_escape(r->cosign[i].tag);
		printf("%-48s  %-71s  %lld  tag=%s\n", "(cosign tag)", r->cosign[i].digest,
		       (long long)r->cosign[i].size, tag);
	}
}

static json_t *to_json(const char *reference, const char *subject, const struct reg_referrers *r)
{
	json_t *list = json_array(), *cosign = json_array();
	for (size_t i = 0; i < r->found.n_manifests; i++)
		json_array_append_new(list, oci_descriptor_to_json(&r->found.manifests[i]));
	for (size_t i = 0; i < r->n_cosign; i++)
		json_array_append_new(cosign, json_pack("{s:s, s:s, s:s?, s:I}", "tag", r->cosign[i].tag,
		                                        "digest", r->cosign[i].digest, "mediaType",
		                                        r->cosign[i].media_type, "size",
		                                        (json_int_t)r->cosign[i].size));
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:o}", "reference", reference, "subject",
	                 subject, "via", via_names[r->via], "tag", r->tag, "filtersApplied",
	                 r->filtered, "referrers", list, "cosign", cosign);
}

int cmd_referrers(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_opt_parser p;
	const char *type = NULL;
	int ch;
	cli_opt_init(&p, &cmd_referrers_spec, argc, argv);
	while ((ch = cli_opt_next(&p)) != CLI_OPT_DONE) {
		if (ch != OPT_ARTIFACT_TYPE)
			return cli_bad_option(&p);
		if (!*p.value)
			return cli_usage_error("referrers", "--artifact-type: empty");
		type = p.value;
	}
	if (argc - optind != 1)
		return cli_usage_error("referrers", "expected one reference");
	const char *arg = argv[optind];

	oci_error err = { 0 };
	struct oci_ref ref = { 0 };
	struct reg_repo *repo = NULL;
	struct oci_layout layout = { 0 };
	struct reg_walk_source src = { 0 };
	struct reg_referrers r = { 0 };
	_cleanup_free_ char *dir = NULL, *name = NULL, *subject = NULL;
	int rc = 0;

	if (strncmp(arg, "oci:", 4) == 0) {
		const struct oci_descriptor *d;
		if (oci_layout_parse_spec(arg + 4, &dir, &name, &err) < 0 ||
		    oci_layout_open(&layout, dir, &err) < 0 ||
		    !(d = oci_layout_find(&layout, name, &err))) {
			rc = cli_fail(&err);
			goto out;
		}
		subject = oci_xstrdup(d->digest);
		src.layout = &layout;
	} else {
		if (cli_open_repo(ctx, arg, false, &ref, &repo, &err) < 0) {
			rc = cli_fail(&err);
			goto out;
		}
		src.repo = repo;
		if (ref.digest) {
			subject = oci_xstrdup(ref.digest);
		} else {
			struct reg_manifest m = { 0 };
			if (reg_manifest_get(repo, ref.tag, &m, &err) < 0) {
				rc = cli_fail(&err);
				goto out;
			}
			subject = TAKE_PTR(m.digest);
			reg_manifest_release(&m);
		}
	}
	if (reg_referrers_list(&src, subject, type, src.repo != NULL, &r, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (r.via == REG_REFERRERS_TAG)
		cli_info(ctx, "%s: no referrers API on the registry; read the fallback tag %s", arg,
		         r.tag);
	else if (r.via == REG_REFERRERS_API)
		cli_info(ctx, "%s: listed by the referrers API%s", arg,
		         type ? (r.filtered ? " (filtered by the registry)" : " (filtered here)") : "");
	if (ctx->g.json)
		cli_print_json(to_json(arg, subject, &r));
	else
		print_table(&r);
out:
	reg_referrers_release(&r);
	oci_layout_release(&layout);
	reg_repo_free(repo);
	oci_ref_release(&ref);
	return rc;
}

int cli_referrers_carry(struct cli_ctx *ctx, const struct reg_walk_source *src,
                        const struct reg_plan *image, struct reg_repo *dst, const char *dir)
{
	oci_error err = { 0 };
	struct reg_referrer_set s = { 0 };
	struct reg_copy_opts o = { .jobs = ctx->g.jobs };
	int rc = 0;
	if (reg_referrers_collect(src, image, ctx->g.jobs, &s, &err) < 0 ||
	    (dst && reg_referrers_to_registry(&s, src, dst, &o, &err) < 0) ||
	    (dir && reg_referrers_to_layout(&s, src->repo, dir, &o, &err) < 0)) {
		rc = cli_fail(&err);
	} else {
		size_t n_blobs;
		int64_t bytes = reg_referrer_set_bytes(&s, &n_blobs);
		cli_info(ctx, "referrers: %zu (%zu blobs, %lld bytes) for %zu manifests", s.n_plans,
		         n_blobs, (long long)bytes, s.n_groups);
	}
	reg_referrer_set_release(&s);
	return rc;
}
