/* tests/test-opt.c: the option parser and help printer of cli/opt.c. */
#include <stdlib.h>
#include <string.h>

#include "cli/opt.h"
#include "tests/tap.h"

enum { O_FLAG = 256, O_LIST, O_DOC, O_SUBA, O_SUBB };

static const struct cli_opt t_opts[] = {
	{ O_FLAG, 0, "flag", CLI_OPT_FLAG, NULL, "a flag" },
	{ 'o', 'o', "out", CLI_OPT_VALUE, "FILE", "where to write" },
	{ O_LIST, 0, "plat", CLI_OPT_LIST, "P", "a platform (repeatable)" },
	{ 'q', 'q', "quick", CLI_OPT_FLAG, NULL,
	  "a long help text that goes on and on so that it must be wrapped at the right margin "
	  "of the terminal, more than once" },
	{ O_DOC, 0, "json", CLI_OPT_FLAG, NULL, "documented here, parsed globally", CLI_OPT_GLOBAL },
	{ 0 },
};

static const struct cli_cmd_spec t_spec = {
	.name = "t",
	.summary = "a test command",
	.synopsis = (const char *const[]){ "t [OPTIONS] ARG...", "t --other", NULL },
	.description = "Does nothing.\n",
	.args = (const struct cli_arg[]){ { "ARG", "an argument" }, { 0 } },
	.opts = t_opts,
	.epilog = "The end.\n",
};

static const struct cli_cmd_spec t_sub_a = {
	.name = "a",
	.summary = "sub a",
	.synopsis = (const char *const[]){ "a [--alpha V]", NULL },
	.opts = (const struct cli_opt[]){ { O_SUBA, 0, "alpha", CLI_OPT_VALUE, "V", "alpha" },
	                                  { 'x', 0, "shared", CLI_OPT_FLAG, NULL, "in both" },
	                                  { 0 } },
};
static const struct cli_cmd_spec t_sub_b = {
	.name = "b",
	.summary = "sub b",
	.synopsis = (const char *const[]){ "b [--beta]", NULL },
	.opts = (const struct cli_opt[]){ { O_SUBB, 0, "beta", CLI_OPT_FLAG, NULL, "beta" },
	                                  { 'x', 0, "shared", CLI_OPT_FLAG, NULL, "in both" },
	                                  { 0 } },
};
static const struct cli_cmd_spec t_parent = {
	.name = "parent",
	.summary = "has subcommands",
	.synopsis = (const char *const[]){ "parent SUB", NULL },
	.subcommands = (const struct cli_cmd_spec *const[]){ &t_sub_a, &t_sub_b, NULL },
};

/* Parse a space-separated command line (argv[0] "t"); returns what was
 * seen, "name[=value] ... | args" or "ERR:bad". */
static char *parse(const struct cli_cmd_spec *spec, const char *line)
{
	static char out[512];
	char *copy = strdup(line), *argv[32], *save = NULL;
	int argc = 0;
	argv[argc++] = "t";
	for (char *t = strtok_r(copy, " ", &save); t && argc < 31; t = strtok_r(NULL, " ", &save))
		argv[argc++] = strcmp(t, "''") == 0 ? "" : t;
	argv[argc] = NULL;

	struct cli_opt_parser p;
	int ch;
	out[0] = '\0';
	cli_opt_init(&p, spec, argc, argv);
	while ((ch = cli_opt_next(&p)) != CLI_OPT_DONE) {
		size_t l = strlen(out);
		if (ch == CLI_OPT_UNKNOWN) {
			snprintf(out, sizeof out, "ERR:%s", p.bad);
			free(copy);
			return out;
		}
		if (p.opt->id != ch)
			snprintf(out + l, sizeof out - l, "(id mismatch) ");
		l = strlen(out);
		snprintf(out + l, sizeof out - l, p.value ? "%s=%s " : "%s ", p.opt->long_name,
		         p.value);
	}
	size_t l = strlen(out);
	snprintf(out + l, sizeof out - l, "|");
	for (int i = optind; i < argc; i++) {
		l = strlen(out);
		snprintf(out + l, sizeof out - l, " %s", argv[i]);
	}
	free(copy);
	return out;
}

static void test_parse(void)
{
	is_str(parse(&t_spec, "x y"), "| x y", "arguments only");
	is_str(parse(&t_spec, "--flag x -o f y"), "flag out=f | x y", "options before and after arguments");
	is_str(parse(&t_spec, "x y --flag"), "flag | x y", "option after every argument");
	is_str(parse(&t_spec, "--out=a --out b -oc -o d"), "out=a out=b out=c out=d |",
	       "--opt=V, --opt V, -oV, -o V");
	is_str(parse(&t_spec, "--out=--flag"), "out=--flag |", "a value that looks like an option");
	is_str(parse(&t_spec, "--out ''"), "out= |", "an empty value");
	is_str(parse(&t_spec, "--plat a x --plat=b"), "plat=a plat=b | x", "repeatable value: every one");
	is_str(parse(&t_spec, "-qo f"), "quick out=f |", "short flag bundled with a short value");
	is_str(parse(&t_spec, "--fl --pl=a"), "flag plat=a |", "unique prefixes of long names (getopt)");
	is_str(parse(&t_spec, "x -- --flag -o"), "| x --flag -o", "-- ends options");
	is_str(parse(&t_spec, "--flag -- x"), "flag | x", "-- itself is not an argument");
	is_str(parse(&t_spec, "- x"), "| - x", "a lone - is an argument");

	is_str(parse(&t_spec, "x --bogus y"), "ERR:--bogus", "unknown long option");
	is_str(parse(&t_spec, "--bogus=1"), "ERR:--bogus=1", "unknown long option with a value");
	is_str(parse(&t_spec, "-z"), "ERR:-z", "unknown short option");
	is_str(parse(&t_spec, "-qz"), "ERR:-z", "unknown short option in a bundle is named alone");
	is_str(parse(&t_spec, "x --out"), "ERR:--out", "value missing at the end");
	is_str(parse(&t_spec, "x -o"), "ERR:-o", "short value missing at the end");
	is_str(parse(&t_spec, "--flag=1"), "ERR:--flag=1", "a flag given a value");
	is_str(parse(&t_spec, "--json"), "ERR:--json", "a CLI_OPT_GLOBAL entry is not parsed here");
	is_str(parse(&t_spec, "--alpha=1"), "ERR:--alpha=1", "another command's option is unknown");

	/* the state is reset between parsers */
	is_str(parse(&t_spec, "a b --flag"), "flag | a b", "a second parse starts afresh");

	is_str(parse(&t_parent, "a --alpha=1 --shared"), "alpha=1 shared | a", "subcommand options");
	is_str(parse(&t_parent, "b --beta --shared"), "beta shared | b", "every subcommand's options");
	is_str(parse(&t_parent, "--flag"), "ERR:--flag", "the parent's spec alone counts");
}

/* --- cli_opt_extract ------------------------------------------------------- */

enum { G_CAT = 'C', G_VERB = 'v', G_QUIET = 'q', G_REG = 256, G_JSON };
static const struct cli_opt g_opts[] = {
	{ G_CAT, 'C', "catalog", CLI_OPT_VALUE, "FILE", "catalog" },
	{ G_REG, 0, "registry", CLI_OPT_VALUE, "HOST", "registry" },
	{ G_JSON, 0, "json", CLI_OPT_FLAG, NULL, "json" },
	{ G_VERB, 'v', "verbose", CLI_OPT_COUNT, NULL, "verbose" },
	{ G_QUIET, 'q', "quiet", CLI_OPT_FLAG, NULL, "quiet" },
	{ 0 },
};

struct seen {
	char log[256];
	int stop_at; /* id that makes fn stop */
};

static int record(void *ud, const struct cli_opt *o, const char *value)
{
	struct seen *s = ud;
	size_t l = strlen(s->log);
	snprintf(s->log + l, sizeof s->log - l, value ? "%s=%s " : "%s ", o->long_name, value);
	return o->id == s->stop_at ? -1 : 0;
}

static char *extract(const char *line, int *rc, const char **bad, int stop_at)
{
	static char out[512];
	static char buf[512];
	char *argv[32], *save = NULL;
	int argc = 0;
	struct seen s = { .stop_at = stop_at };
	snprintf(buf, sizeof buf, "%s", line);
	for (char *t = strtok_r(buf, " ", &save); t && argc < 31; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	*bad = NULL;
	*rc = cli_opt_extract(g_opts, &argc, argv, record, &s, bad);
	snprintf(out, sizeof out, "%s|", s.log);
	for (int i = 0; i < argc; i++) {
		size_t l = strlen(out);
		snprintf(out + l, sizeof out - l, " %s", argv[i]);
	}
	ok(argv[argc] == NULL, "argv stays NULL-terminated (%s)", line);
	return out;
}

static void test_extract(void)
{
	int rc;
	const char *bad;
	is_str(extract("cmd -C f x --json y", &rc, &bad, 0), "catalog=f json | cmd x y",
	       "globals before and after arguments are taken out");
	is_str(extract("--catalog=a -Cb --registry h cmd", &rc, &bad, 0),
	       "catalog=a catalog=b registry=h | cmd", "--opt=V, -OV, --opt V");
	is_str(extract("-vvq cmd -v", &rc, &bad, 0), "verbose verbose quiet verbose | cmd",
	       "bundled short flags");
	is_str(extract("cmd -vx --jsonx --json=1 --js", &rc, &bad, 0), "| cmd -vx --jsonx --json=1 --js",
	       "no prefixes, no mixed bundles, no value on a flag: left for the command");
	is_str(extract("cmd -- --json -v", &rc, &bad, 0), "| cmd -- --json -v", "nothing after --");
	is_int(rc, 0, "extract returns 0");
	is_str(extract("cmd --catalog", &rc, &bad, 0), "| cmd", "a missing value stops");
	is_int(rc, -1, "and returns -1");
	is_str(bad, "--catalog", "naming the option");
	is_str(extract("-v --json -q cmd", &rc, &bad, G_JSON), "verbose json |", "fn stops the walk");
	is_int(rc, -1, "fn's refusal returns -1");
	ok(bad == NULL, "with no option to blame");
}

/* --- help ------------------------------------------------------------------ */

static char *help(const struct cli_cmd_spec *spec)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	cli_opt_usage_fprint(f, spec);
	fclose(f);
	return buf;
}

/* The column at which text starts on its line. */
static long column(const char *h, const char *text)
{
	const char *t = strstr(h, text);
	if (!t)
		return -1;
	const char *start = t;
	while (start > h && start[-1] != '\n')
		start--;
	return (long)(t - start);
}

static void test_help(void)
{
	char *h = help(&t_spec);
	const char *top = "Usage: ccreg t [OPTIONS] ARG...\n       ccreg t --other\n\nDoes nothing.\n";
	ok(strncmp(h, top, strlen(top)) == 0, "synopsis lines, then the description");
	ok(strstr(h, "\nArguments:\n  ARG  an argument\n") != NULL, "arguments listed");
	ok(strstr(h, "\nOptions:\n      --flag ") != NULL, "long-only options indented past the short column");
	ok(strstr(h, "\n  -o, --out FILE  ") != NULL, "short, long and value name");
	ok(strstr(h, "\n      --plat P  ") != NULL, "value name of a repeatable option");
	ok(strstr(h, "\n      --json  ") != NULL, "a CLI_OPT_GLOBAL entry is documented");
	ok(strstr(h, "\n\nThe end.\n") != NULL, "epilog last");
	/* every help starts in one column; lines fit in 80 */
	is_int(column(h, "a flag"), column(h, "where to write"), "help in one column (--flag, -o)");
	is_int(column(h, "a flag"), column(h, "a platform"), "help in one column (--flag, --plat)");
	is_int(column(h, "a flag"), strlen("  -o, --out FILE  "), "two spaces after the widest option");
	size_t longest = 0, cur = 0, wrapped = 0;
	for (const char *c = h; *c; c++) {
		if (*c == '\n') {
			longest = cur > longest ? cur : longest;
			cur = 0;
		} else {
			cur++;
		}
	}
	ok(longest <= 80, "no line over 80 columns (longest %zu)", longest);
	const char *q = strstr(h, "a long help text");
	const char *nl = strchr(q, '\n');
	while (nl && nl[1] == ' ' && nl[2] == ' ' && strncmp(nl + 1, "  -", 3) != 0 &&
	       strncmp(nl + 1, "      --", 8) != 0) {
		wrapped++;
		nl = strchr(nl + 1, '\n');
	}
	ok(wrapped >= 1, "a long help wraps onto %zu continuation lines", wrapped);
	free(h);

	h = help(&t_parent);
	ok(strstr(h, "\nSubcommands:\n  a [--alpha V]  sub a\n  b [--beta]     sub b\n") != NULL,
	   "subcommands listed with their synopsis");
	ok(strstr(h, "--alpha V") && strstr(h, "--beta ") && strstr(h, "--shared"),
	   "every subcommand's options listed");
	const char *first = strstr(h, "      --shared");
	ok(first && !strstr(first + 1, "      --shared"), "an option shared by subcommands is listed once");
	free(h);
}

int main(void)
{
	test_parse();
	test_extract();
	test_help();
	return tap_done();
}
