/* cli/common.c: helpers shared by the commands. */
#include <jansson.h>
#include <string.h>

#include "cli/cli.h"
#include "oci/ref.h"
#include "oci/util.h"
#include "registry/client.h"

int cli_open_repo(struct cli_ctx *ctx, const char *refstr, bool push, struct oci_ref *ref,
                  struct reg_repo **repo, oci_error *err)
{
	if (oci_ref_parse(ref, refstr, err) < 0)
		return -1;
	struct reg_client *c = cli_client(ctx, err);
	if (!c) {
		oci_ref_release(ref);
		return -1;
	}
	*repo = reg_repo_new(c, ref, push);
	return 0;
}

void cli_print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(j);
}

void cli_human_size(long long bytes, char *out, size_t n)
{
	static const char *units[] = { "B", "kB", "MB", "GB", "TB" };
	double v = (double)bytes;
	size_t u = 0;
	while (v >= 1000 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(out, n, "%lld B", bytes);
	else
		snprintf(out, n, "%.*f %s", v < 10 ? 2 : v < 100 ? 1 : 0, v, units[u]);
}

int cli_bad_option(const struct cli_opt_parser *p)
{
	return cli_usage_error(p->spec->name, "option '%s' is unknown or needs a value", p->bad);
}

int cli_no_options(const struct cli_cmd_spec *spec, int *argc, char ***argv)
{
	struct cli_opt_parser p;
	cli_opt_init(&p, spec, *argc, *argv);
	if (cli_opt_next(&p) != CLI_OPT_DONE)
		return cli_bad_option(&p);
	/* argv[optind - 1] becomes the new argv[0]: the arguments follow */
	*argc -= optind - 1;
	*argv += optind - 1;
	optind = 1;
	return 0;
}
