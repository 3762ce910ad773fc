/* cli/common.c: helpers shared by the commands. */
#include <errno.h>
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

json_t *cli_ratelimit_json(const struct reg_repo *r)
{
	struct reg_ratelimit rl;
	if (!r || !reg_repo_ratelimit(r, &rl) || !rl.known)
		return NULL;
	json_t *j = json_object();
	json_object_set_new(j, "limit", rl.limit >= 0 ? json_integer(rl.limit) : json_null());
	json_object_set_new(j, "remaining", rl.exhausted ? json_integer(0)
	                                    : rl.remaining >= 0 ? json_integer(rl.remaining) : json_null());
	json_object_set_new(j, "windowSeconds", rl.window_s >= 0 ? json_integer(rl.window_s) : json_null());
	return j;
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

int cli_ref_platform_args(const struct cli_cmd_spec *spec, int argc, char **argv,
                          const char **ref, const char **platform)
{
	struct cli_opt_parser p;
	int ch;
	*platform = NULL;
	cli_opt_init(&p, spec, argc, argv);
	while ((ch = cli_opt_next(&p)) != CLI_OPT_DONE) {
		if (ch != 'p')
			return cli_bad_option(&p);
		*platform = p.value;
	}
	if (argc - optind != 1)
		return cli_usage_error(spec->name, "expected one reference");
	*ref = argv[optind];
	return 0;
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

int cli_parse_number(const char *cmd, const char *opt, const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > 1e6)
		return cli_usage_error(cmd, "%s: '%s' is not a non-negative number", opt, s);
	*out = v;
	return 0;
}
