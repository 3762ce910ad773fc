/* cli/opt.h: command-line options as data.  One table per command says
 * which options it takes, how they are spelled and what they mean; the
 * parser, `ccreg help` and (later) man pages and shell completion are all
 * generated from it, so the help cannot drift from what is accepted.
 *
 * Specs are static const data owned by the command that defines them.  The
 * parser wraps getopt_long (options before or after arguments, `--opt=V`
 * and `--opt V`, short options, unique prefixes of long names, `--` ends
 * options); it leaves `optind` at the first argument, as getopt does.
 * This file prints only usage text, never errors: callers report those.
 */
#ifndef CCREG_CLI_OPT_H
#define CCREG_CLI_OPT_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

enum cli_opt_kind {
	CLI_OPT_FLAG,  /* --name */
	CLI_OPT_COUNT, /* --name, repeatable and counted (-vv) */
	CLI_OPT_VALUE, /* --name VALUE; given twice, the last one wins */
	CLI_OPT_LIST,  /* --name VALUE, repeatable: every value counts */
};

enum cli_opt_flags {
	/* Documented in this command's help but taken out of argv with the
	 * global options before the command runs (assemble's --json). */
	CLI_OPT_GLOBAL = 1 << 0,
};

struct cli_opt {
	int id;                 /* what the parser returns: the short name when
	                           there is one, else a value from 256 up */
	char short_name;        /* 0: long only */
	const char *long_name;  /* without the dashes */
	enum cli_opt_kind kind;
	const char *value_name; /* VALUE and LIST: "FILE", "N", ... */
	const char *help;       /* one sentence or so, unwrapped */
	unsigned flags;         /* enum cli_opt_flags */
};

/* A positional argument, listed under "Arguments:" when it has help. */
struct cli_arg {
	const char *name;
	const char *help;
};

struct cli_cmd_spec {
	const char *name;               /* "blob"; for a subcommand "add-version" */
	const char *summary;            /* one line for `ccreg help` */
	const char *const *synopsis;    /* after "ccreg ", NULL-terminated */
	const char *description;        /* wrapped paragraphs, verbatim */
	const struct cli_arg *args;     /* NULL or ends with { 0 } */
	const struct cli_opt *opts;     /* NULL or ends with { 0 } */
	const char *epilog;             /* after the options list, or NULL */
	/* NULL or NULL-terminated.  The command's parser also accepts every
	 * subcommand's options (the command says which go together). */
	const struct cli_cmd_spec *const *subcommands;
};

#define CLI_OPT_MAX 32

struct cli_opt_parser {
	const struct cli_cmd_spec *spec;
	int argc;
	char **argv;
	const struct cli_opt *opt; /* the option just returned */
	const char *value;         /* its value (VALUE and LIST) */
	const char *bad;           /* the argument at fault after CLI_OPT_UNKNOWN */
	const struct cli_opt *table[CLI_OPT_MAX];
	struct option longs[CLI_OPT_MAX + 1];
	char shorts[2 * CLI_OPT_MAX + 1];
	char bad_short[3];
};

#define CLI_OPT_DONE (-1)
#define CLI_OPT_UNKNOWN (-2) /* unknown option, or a value missing */

/* Start parsing argv[1..argc-1] (argv[0] is the command name) against spec
 * and its subcommands' options.  Resets getopt's state. */
void cli_opt_init(struct cli_opt_parser *p, const struct cli_cmd_spec *spec, int argc, char **argv);
/* The next option's id (p->opt, p->value set), CLI_OPT_DONE when only
 * arguments remain (from argv[optind], permuted as getopt does), or
 * CLI_OPT_UNKNOWN (p->bad names the argument). */
int cli_opt_next(struct cli_opt_parser *p);

/* Take the options of opts out of argv wherever they appear before "--",
 * leaving the rest in order (the global options: exact names, no
 * prefixes; short flags may be bundled, -vvq).  Calls fn for each one
 * found; fn returns negative to stop.  Returns 0, or -1 when fn stopped or
 * a value is missing (then *bad is the option, for the message). */
int cli_opt_extract(const struct cli_opt *opts, int *argc, char **argv,
                    int (*fn)(void *ud, const struct cli_opt *o, const char *value), void *ud,
                    const char **bad);

/* The help of a command: "Usage:" with the synopsis lines, the
 * description, then aligned lists of subcommands, arguments and options,
 * then the epilog. */
void cli_opt_usage_fprint(FILE *f, const struct cli_cmd_spec *spec);
/* One aligned, wrapped option list under heading (no heading when NULL). */
void cli_opt_list_fprint(FILE *f, const char *heading, const struct cli_opt *opts);

#endif
