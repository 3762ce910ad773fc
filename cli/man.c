/* cli/man.c: `ccreg __man`, the ccreg(1) man page, generated from the same
 * tables as `ccreg help` (cli_commands, cli_global_spec, cli_environment,
 * cli_exit_codes) so the two cannot drift.  Meson runs it at build time
 * (doc/meson.build).  Only what no table holds is written here: the catalog
 * rules, the files, the examples (tests/integration/doctest.sh runs them).
 *
 * Text in the tables is plain: paragraphs separated by blank lines, and
 * lines indented by spaces are preformatted (formulas, lists); roff_block()
 * turns that into man(7) markup.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "config.h"

static const char man_description[] =
	"ccreg speaks the Docker Registry HTTP API v2 / OCI distribution API itself: "
	"no Docker or podman daemon, no docker CLI.  It assembles per-arch images into "
	"multi-arch indexes, audits the disk an image needs, checks a catalog of images "
	"(images.json) against the registry, and pushes, copies and pulls images in "
	"constant memory.\n\n"
	"Global options may come before or after COMMAND.  `ccreg help` lists the "
	"commands, `ccreg help COMMAND` (or `ccreg COMMAND --help`) shows one command's "
	"usage.\n";

static const char man_catalog[] =
	"The catalog (-C FILE, default $CCREG_CATALOG, else ./images.json) is a JSON "
	"object; each key names an entry.  An entry is a container image when it has a "
	"package that is a repository path (sagemathinc/julia); an npm package "
	"(@cocalc/compute-server) or an entry without package is not.\n\n"
	"versions[] holds the entry's versions: tag (required), label, version, tested "
	"(absent means false).  The last element is the newest version.\n\n"
	"Architectures: arch when present (\"x86_64\", or an array); else \"gpu\": true means "
	"x86_64 only; else x86_64 and arm64.  Catalog arch names map to OCI: "
	"x86_64 to amd64, arm64 to arm64.\n\n"
	"Multi-arch images are built as <package>-x86_64:<tag> and <package>-arm64:<tag> "
	"on --registry and assembled into <package>:<tag>; single-arch images are pushed "
	"directly as <package>:<tag>.  In catalog mode, audit and verify look at the "
	"assembled target <package>:<tag>.\n\n"
	"\"disabled\": true entries are skipped by verify and audit --all unless named.  "
	"minDiskSizeGb and dockerSizeGb are the disk figures audit checks and writes.\n";

static const char man_files[] =
	"$XDG_CACHE_HOME/ccreg (default ~/.cache/ccreg): the caches, audit results by "
	"layer digest among them; written atomically, safe to share between ccreg "
	"processes, safe to delete.  A CI job keeps it between runs.\n\n"
	"Credentials are read from the first of: --auth-file, $REGISTRY_AUTH_FILE, "
	"$XDG_RUNTIME_DIR/containers/auth.json, $DOCKER_CONFIG/config.json, "
	"~/.docker/config.json (docker config.json or containers auth.json format; "
	"auths entries, credHelpers and credsStore through docker-credential-NAME).  "
	"ccreg login writes --auth-file, else $REGISTRY_AUTH_FILE, else "
	"$DOCKER_CONFIG/config.json, else ~/.docker/config.json, with mode 0600.\n\n"
	"./images.json: the catalog, when neither -C nor $CCREG_CATALOG names one.\n";

/* The release workflow.  tests/integration/doctest.sh runs every line that
 * starts with "ccreg " against a demo registry, in this order. */
static const char man_examples[] =
	"Start a release: add the version to the catalog and, once the build machines "
	"have pushed <package>-x86_64:TAG and <package>-arm64:TAG, look at the plan and "
	"assemble the multi-arch image:\n\n"
	"    ccreg catalog list\n"
	"    ccreg catalog add-version julia 1.10.2 --label 1.10.2\n"
	"    ccreg assemble --dry-run julia:1.10.2\n"
	"    ccreg assemble julia:1.10.2\n"
	"\n"
	"Check what was pushed and the disk a VM needs for it, then mark the version "
	"tested:\n\n"
	"    ccreg verify --deep julia:1.10.2\n"
	"    ccreg audit --check julia:1.10.2\n"
	"    ccreg catalog mark-tested julia 1.10.2\n"
	"\n"
	"In CI, check every tested version and every image's disk figures:\n\n"
	"    ccreg verify --junit verify.xml\n"
	"    ccreg audit --all --check\n";

/* Write s escaped for roff: backslashes, minus signs (options are typed
 * with ASCII hyphens), and a control character at the start of a line. */
static void roff_text(FILE *f, const char *s, size_t n, bool line_start)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (line_start && (c == '.' || c == '\''))
			fputs("\\&", f);
		line_start = c == '\n';
		if (c == '\\')
			fputs("\\e", f);
		else if (c == '-')
			fputs("\\-", f);
		else
			fputc(c, f);
	}
}

static void roff_str(FILE *f, const char *s)
{
	roff_text(f, s, strlen(s), true);
}

/* Paragraphs of plain text as man(7): filled paragraphs (.PP), and
 * preformatted ones (.EX) where the first line is indented. */
static void roff_block(FILE *f, const char *text)
{
	const char *p = text;
	while (*p) {
		while (*p == '\n')
			p++;
		if (!*p)
			break;
		const char *end = strstr(p, "\n\n");
		size_t len = end ? (size_t)(end - p) : strlen(p);
		while (len && p[len - 1] == '\n')
			len--;
		bool pre = *p == ' ';
		fputs(pre ? ".PP\n.EX\n" : ".PP\n", f);
		for (const char *l = p; l < p + len;) {
			const char *nl = memchr(l, '\n', (size_t)(p + len - l));
			size_t ll = nl ? (size_t)(nl - l) : (size_t)(p + len - l);
			if (!pre) /* a leading space would break the filled line */
				while (ll && *l == ' ')
					l++, ll--;
			roff_text(f, l, ll, true);
			fputc('\n', f);
			l += ll + 1;
		}
		if (pre)
			fputs(".EE\n", f);
		p += len;
	}
}

static void roff_opt(FILE *f, const struct cli_opt *o)
{
	fputs(".TP\n", f);
	if (o->short_name)
		fprintf(f, "\\fB\\-%c\\fR%s", o->short_name, o->long_name ? ", " : "");
	if (o->long_name) {
		fputs("\\fB\\-\\-", f);
		roff_text(f, o->long_name, strlen(o->long_name), false);
		fputs("\\fR", f);
	}
	if ((o->kind == CLI_OPT_VALUE || o->kind == CLI_OPT_LIST) && o->value_name) {
		fputs(" \\fI", f);
		roff_text(f, o->value_name, strlen(o->value_name), false);
		fputs("\\fR", f);
	}
	fputc('\n', f);
	roff_str(f, o->help ? o->help : "");
	fputc('\n', f);
}

/* Each option once (catalog's subcommands may share one). */
static void roff_opts(FILE *f, const struct cli_cmd_spec *spec)
{
	const struct cli_opt *seen[CLI_OPT_MAX];
	size_t n = 0;
	const struct cli_opt *lists[CLI_OPT_MAX + 1] = { spec->opts };
	size_t nl = 1;
	for (const struct cli_cmd_spec *const *s = spec->subcommands; s && *s && nl < CLI_OPT_MAX; s++)
		lists[nl++] = (*s)->opts;
	for (size_t i = 0; i < nl; i++)
		for (const struct cli_opt *o = lists[i]; o && o->id; o++) {
			bool dup = false;
			for (size_t j = 0; j < n; j++)
				dup |= seen[j]->id == o->id;
			if (dup || n == CLI_OPT_MAX)
				continue;
			seen[n++] = o;
			roff_opt(f, o);
		}
}

static void roff_items(FILE *f, const struct cli_arg *args, bool bold)
{
	for (const struct cli_arg *a = args; a && a->name; a++) {
		if (!a->help)
			continue;
		fputs(bold ? ".TP\n\\fB" : ".TP\n\\fI", f);
		roff_text(f, a->name, strlen(a->name), false);
		fputs("\\fR\n", f);
		roff_str(f, a->help);
		fputc('\n', f);
	}
}

static void roff_synopsis(FILE *f, const struct cli_cmd_spec *spec)
{
	const char *const *syn = spec->synopsis;
	fputs(".nf\n", f);
	for (size_t i = 0; !i || (syn && syn[i]); i++) {
		fputs("\\fBccreg\\fR ", f);
		roff_text(f, syn && syn[i] ? syn[i] : spec->name, strlen(syn && syn[i] ? syn[i] : spec->name),
		          false);
		fputc('\n', f);
		if (!syn)
			break;
	}
	fputs(".fi\n", f);
}

static void roff_command(FILE *f, const struct cli_command *c)
{
	const struct cli_cmd_spec *spec = c->spec;
	fprintf(f, ".SS %s\n", c->name);
	roff_synopsis(f, spec);
	if (spec->description)
		roff_block(f, spec->description);
	else if (spec->summary) {
		fputs(".PP\n", f);
		roff_str(f, spec->summary);
		fputc('\n', f);
	}
	if (spec->subcommands) {
		fputs(".PP\nSubcommands:\n", f);
		for (const struct cli_cmd_spec *const *s = spec->subcommands; *s; s++) {
			const char *syn = (*s)->synopsis && (*s)->synopsis[0] ? (*s)->synopsis[0] : (*s)->name;
			fputs(".TP\n\\fB", f);
			roff_text(f, syn, strlen(syn), false);
			fputs("\\fR\n", f);
			roff_str(f, (*s)->summary ? (*s)->summary : "");
			fputc('\n', f);
		}
	}
	if (spec->args && spec->args->name) {
		fputs(".PP\nArguments:\n", f);
		roff_items(f, spec->args, false);
	}
	if ((spec->opts && spec->opts->id) || spec->subcommands) {
		fputs(".PP\nOptions:\n", f);
		roff_opts(f, spec);
	}
	if (spec->epilog)
		roff_block(f, spec->epilog);
}

static void section(FILE *f, const char *name, const char *text)
{
	fprintf(f, ".SH %s\n", name);
	if (text)
		roff_block(f, text);
}

static void man_fprint(FILE *f)
{
	fputs(".\\\" Generated by `ccreg __man` from ccreg's command table; do not edit.\n", f);
	fprintf(f, ".TH CCREG 1 \"\" \"ccreg %s\" \"User Commands\"\n", CCREG_VERSION);
	fputs(".nh\n.ad l\n", f); /* no hyphens inside names and paths */
	fputs(".SH NAME\nccreg \\- daemonless container\\-registry tool and image catalog checker\n", f);
	fputs(".SH SYNOPSIS\n", f);
	roff_synopsis(f, &cli_global_spec);
	for (size_t i = 0; i < cli_n_commands; i++)
		roff_synopsis(f, cli_commands[i].spec);
	section(f, "DESCRIPTION", cli_global_spec.description);
	roff_block(f, man_description);
	fputs(".SH GLOBAL OPTIONS\n", f);
	for (const struct cli_opt *o = cli_global_spec.opts; o && o->id; o++)
		roff_opt(f, o);
	section(f, "COMMANDS", NULL);
	for (size_t i = 0; i < cli_n_commands; i++)
		roff_command(f, &cli_commands[i]);
	section(f, "CATALOG", man_catalog);
	section(f, "ENVIRONMENT", NULL);
	roff_items(f, cli_environment, true);
	section(f, "FILES", man_files);
	section(f, "EXIT STATUS", NULL);
	roff_items(f, cli_exit_codes, true);
	fputs(".PP\nErrors are one line on standard error, \\(lqccreg: \\(rq then what failed and "
	      "why, naming the reference, host or file involved.\n", f);
	section(f, "EXAMPLES", man_examples);
	section(f, "SEE ALSO", "skopeo(1), podman(1), docker(1)\n");
}

const struct cli_cmd_spec cmd_man_spec = {
	.name = "__man",
	.summary = "print the ccreg(1) man page (roff), generated from the command table",
	.synopsis = (const char *const[]){ "__man", NULL },
};

int cmd_man(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	int rc = cli_no_options(&cmd_man_spec, &argc, &argv);
	if (rc)
		return rc;
	if (argc > 1)
		return cli_usage_error("__man", "no arguments expected");
	man_fprint(stdout);
	return 0;
}
