/* cli/cli.h: what every command shares: global options, the registry client,
 * error reporting and option parsing helpers.  Only cli/ prints or exits.
 *
 * A command is `int cmd_NAME(struct cli_ctx *ctx, int argc, char **argv)`,
 * returning the process exit code.  argv[0] is the command name; global
 * options have already been removed from argv wherever they appeared.
 * Each cmd_NAME.c also defines `const char cmd_NAME_usage[]` (the text for
 * `ccreg help NAME` and `ccreg NAME --help`).
 */
#ifndef CCREG_CLI_H
#define CCREG_CLI_H

#include <stdbool.h>
#include <stdio.h>

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
};

struct cli_ctx {
	struct cli_global g;
	struct reg_client *client; /* created on first cli_client() */
};

struct cli_command {
	const char *name;
	int (*fn)(struct cli_ctx *ctx, int argc, char **argv);
	const char *summary;
	const char *usage;
};

/* The registry client, created on first use from the global options. */
struct reg_client *cli_client(struct cli_ctx *ctx, oci_error *err);

/* Print "ccreg: MSG" on stderr and return err->code (3 when unset). */
int cli_fail(const oci_error *err);
/* Print "ccreg: CMD: MSG" and "Try 'ccreg CMD --help'." and return 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print the usage of a command on stdout; returns 0. */
int cli_help(const char *cmd);
/* Informational line on stderr unless -q. */
void cli_info(const struct cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* getopt_long wrapper state is plain getopt_long; commands call this first
 * so that `--help` anywhere prints usage: returns 1 when help was printed. */
int cli_wants_help(const char *cmd, int argc, char **argv);

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
/* Unknown option in getopt_long's loop: the one-line error, exit code 2. */
int cli_bad_option(const char *cmd, int argc, char **argv);

#endif
