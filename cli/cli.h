/* cli/cli.h: what every command shares: global options, the registry client,
 * error reporting and option parsing helpers.  Only cli/ prints or exits.
 *
 * A command is `int cmd_NAME(struct cli_ctx *ctx, int argc, char **argv)`,
 * returning the process exit code.  argv[0] is the command name; global
 * options have already been removed from argv wherever they appeared, and
 * `--help` anywhere has printed the usage instead.  Each cmd_NAME.c also
 * defines `const struct cli_cmd_spec cmd_NAME_spec` (cli/opt.h): its options,
 * parsed with cli_opt_next, and its help, generated from the same table.
 */
#ifndef CCREG_CLI_H
#define CCREG_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "cli/opt.h"
#include "oci/error.h"

struct reg_client;
struct cat_catalog;

struct cli_global {
	const char *catalog;   /* -C/--catalog, $CCREG_CATALOG, ./images.json */
	const char *registry;  /* --registry, $CCREG_REGISTRY, docker.io */
	const char *auth_file; /* --auth-file (lookup order in registry/auth) */
	char **insecure_hosts; /* --insecure-registry, $CCREG_INSECURE_REGISTRIES; NULL-terminated */
	bool insecure_all;     /* --insecure */
	const char *ca_file;   /* --ca-file */
	int jobs;              /* -j/--jobs, default 4 */
	bool json;             /* --json */
	int verbose;           /* -v (repeatable) */
	bool quiet;            /* -q */
	bool help;             /* -h/--help */
};

struct cli_ctx {
	struct cli_global g;
	struct reg_client *client; /* created on first cli_client() */
};

/* The command table (cli/main.c), as data for help, man pages and
 * completion: each command's spec names its options and subcommands. */
struct cli_command {
	const char *name;
	int (*fn)(struct cli_ctx *ctx, int argc, char **argv);
	const struct cli_cmd_spec *spec;
};
extern const struct cli_command cli_commands[];
extern const size_t cli_n_commands;
/* The global options (before or after COMMAND) and the environment. */
extern const struct cli_cmd_spec cli_global_spec;

/* The registry client, created on first use from the global options. */
struct reg_client *cli_client(struct cli_ctx *ctx, oci_error *err);

/* Print "ccreg: MSG" on stderr and return err->code (3 when unset). */
int cli_fail(const oci_error *err);
/* Print "ccreg: CMD: MSG" and "Try 'ccreg CMD --help'." and return 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print the usage of a command on stdout; returns 0 (2 for an unknown
 * command, reported). */
int cli_help(const char *cmd);
/* Informational line on stderr unless -q. */
void cli_info(const struct cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --- cli/common.c ----------------------------------------------------------- */

struct oci_ref;
struct oci_platform;
struct reg_repo;
typedef struct json_t json_t;

/* Parse a reference and open its repository on the client (push: the
 * operations will write).  On failure returns -1 with err filled. */
int cli_open_repo(struct cli_ctx *ctx, const char *refstr, bool push, struct oci_ref *ref,
                  struct reg_repo **repo, oci_error *err);
/* Print a JSON document on stdout (2-space indent, newline). Steals j. */
void cli_print_json(json_t *j);
/* "1.2 MB" style (decimal units, as registries and docker show). */
void cli_human_size(long long bytes, char *out, size_t n);
/* CLI_OPT_UNKNOWN from cli_opt_next: the one-line error, exit code 2. */
int cli_bad_option(const struct cli_opt_parser *p);
/* For a command with no options of its own: 0 with the arguments moved to
 * (*argv)[1] on (optind 1), or the exit code of a reported unknown option. */
int cli_no_options(const struct cli_cmd_spec *spec, int *argc, char ***argv);

#endif
