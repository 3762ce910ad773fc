/* cli/cmd_tags.c: `ccreg tags REPO`, every page. */
#include <jansson.h>

#include "cli/commands.h"
#include "oci/cleanup.h"
#include "oci/ref.h"
#include "registry/client.h"

const struct cli_cmd_spec cmd_tags_spec = {
	.name = "tags",
	.summary = "list every tag of a repository",
	.synopsis = (const char *const[]){ "tags REPO [--json]", NULL },
	.description =
		"List every tag of a repository, following the registry's pagination.\n",
};

int cmd_tags(struct cli_ctx *ctx, int argc, char **argv)
{
	int r = cli_no_options(&cmd_tags_spec, &argc, &argv);
	if (r)
		return r;
	if (argc != 2)
		return cli_usage_error("tags", "expected one repository");
	oci_error err = { 0 };
	_cleanup_(oci_ref_releasep) struct oci_ref ref = { 0 };
	_cleanup_strv_ char **tags = NULL;
	size_t n = 0;

	if (oci_ref_parse_repo(&ref, argv[1], &err) < 0)
		return cli_fail(&err);
	struct reg_client *c = cli_client(ctx, &err);
	if (!c)
		return cli_fail(&err);
	_cleanup_(reg_repo_freep) struct reg_repo *repo = reg_repo_new(c, &ref, false);
	if (reg_tags_list(repo, &tags, &n, &err) < 0)
		return cli_fail(&err);
	if (ctx->g.json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_string(tags[i]));
		_cleanup_free_ char *name = oci_ref_name(&ref);
		cli_print_json(json_pack("{s:s, s:o}", "name", name, "tags", arr));
	} else {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", tags[i]);
	}
	return 0;
}
