/* cli/cmd_tags.c: `ccreg tags REPO`, every page, printed as pages arrive. */
#include <jansson.h>
#include <stdio.h>

#include "cli/commands.h"
#include "oci/cleanup.h"
#include "oci/ref.h"
#include "oci/text.h"
#include "registry/client.h"

const struct cli_cmd_spec cmd_tags_spec = {
	.name = "tags",
	.summary = "list every tag of a repository",
	.synopsis = (const char *const[]){ "tags REPO [--json]", NULL },
	.description =
		"List every tag of a repository, following the registry's pagination.\n"
		"Tags are printed as the pages arrive (at most 1,000,000 tags in 10,000\n"
		"pages); a tag holding control characters is shown with them escaped\n"
		"(\\xHH), except in --json, which escapes them the JSON way.\n",
};

struct out {
	bool json;
	size_t n; /* tags printed */
};

static int print_page(void *ud, const char *const *tags, size_t n, oci_error *err)
{
	struct out *o = ud;
	(void)err;
	for (size_t i = 0; i < n; i++, o->n++) {
		if (o->json) {
			/* a tag that is not UTF-8 cannot be a JSON string as it is */
			json_t *s = json_string(tags[i]);
			_cleanup_free_ char *esc = s ? NULL : oci_text_escape(tags[i]);
			if (!s)
				s = json_string(esc);
			_cleanup_free_ char *enc = json_dumps(s, JSON_ENCODE_ANY);
			json_decref(s);
			printf("%s\n    %s", o->n ? "," : "", enc ? enc : "\"\"");
		} else {
			_cleanup_free_ char *esc = oci_text_escape(tags[i]);
			printf("%s\n", esc);
		}
	}
	return 0;
}

int cmd_tags(struct cli_ctx *ctx, int argc, char **argv)
{
	int r = cli_no_options(&cmd_tags_spec, &argc, &argv);
	if (r)
		return r;
	if (argc != 2)
		return cli_usage_error("tags", "expected one repository");
	oci_error err = { 0 };
	_cleanup_(oci_ref_releasep) struct oci_ref ref = { 0 };

	if (oci_ref_parse_repo(&ref, argv[1], &err) < 0)
		return cli_fail(&err);
	struct reg_client *c = cli_client(ctx, &err);
	if (!c)
		return cli_fail(&err);
	_cleanup_(reg_repo_freep) struct reg_repo *repo = reg_repo_new(c, &ref, false);
	struct out o = { .json = ctx->g.json };
	if (o.json) {
		_cleanup_free_ char *name = oci_ref_name(&ref);
		json_t *s = json_string(name);
		_cleanup_free_ char *enc = json_dumps(s, JSON_ENCODE_ANY);
		json_decref(s);
		printf("{\n  \"name\": %s,\n  \"tags\": [", enc);
	}
	int rc = reg_tags_each(repo, print_page, &o, &err);
	/* the JSON document is closed even after an error: stdout stays valid */
	if (o.json)
		printf("%s]\n}\n", o.n ? "\n  " : "");
	return rc < 0 ? cli_fail(&err) : 0;
}
