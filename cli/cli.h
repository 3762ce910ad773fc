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
	bool no_cache;         /* --no-cache: read no cache (fetches still refresh it) */
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
/* The global options (before or after COMMAND). */
extern const struct cli_cmd_spec cli_global_spec;
/* The environment variables ccreg reads, and its exit codes, for help and
 * the man page. */
extern const struct cli_arg cli_environment[];
extern const struct cli_arg cli_exit_codes[];

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
/* {"limit", "remaining", "windowSeconds"} of r's registry (null for what it
 * did not say), or NULL when it sent no rate-limit headers. */
json_t *cli_ratelimit_json(const struct reg_repo *r);
/* "1.2 MB" style (decimal units, as registries and docker show). */
void cli_human_size(long long bytes, char *out, size_t n);
/* CLI_OPT_UNKNOWN from cli_opt_next: the one-line error, exit code 2. */
int cli_bad_option(const struct cli_opt_parser *p);
/* For a command with no options of its own: 0 with the arguments moved to
 * (*argv)[1] on (optind 1), or the exit code of a reported unknown option. */
int cli_no_options(const struct cli_cmd_spec *spec, int *argc, char ***argv);
/* An option's number from 0 to 1e6: 0 with *out set, or the exit code of a
 * reported usage error ("CMD: OPT: 'S' is not a non-negative number"). */
int cli_parse_number(const char *cmd, const char *opt, const char *s, double *out);
/* For `manifest` and `config`: one reference and an optional -p/--platform.
 * 0 with *ref and *platform (NULL when absent) set, or the exit code of a
 * reported usage error. */
int cli_ref_platform_args(const struct cli_cmd_spec *spec, int argc, char **argv,
                          const char **ref, const char **platform);

/* --- cli/cmd_referrers.c ----------------------------------------------------- */

struct reg_walk_source;
struct reg_plan;
#define CLI_OPT_REFERRERS 300 /* the --referrers option's id in copy, pull and push */
/* copy/pull/push --referrers, after the image: its referrers (and theirs)
 * from src into dst (a registry repository) or dir (an OCI layout).  0, or
 * the exit code of a reported failure. */
int cli_referrers_carry(struct cli_ctx *ctx, const struct reg_walk_source *src,
                        const struct reg_plan *image, struct reg_repo *dst, const char *dir);

#endif
