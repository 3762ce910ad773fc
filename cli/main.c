/* cli/main.c: the command table, global options, and dispatch. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/process.h"
#include "cli/version.h"
#include "config.h"
#include "oci/auditcache.h"
#include "oci/cleanup.h"
#include "oci/file.h"
#include "oci/text.h"
#include "oci/util.h"
#include "registry/client.h"

static int cmd_version(struct cli_ctx *ctx, int argc, char **argv);
static int cmd_help(struct cli_ctx *ctx, int argc, char **argv);

static const struct cli_cmd_spec cmd_version_spec = {
	.name = "version",
	.summary = "print the version",
	.synopsis = (const char *const[]){ "version", NULL },
	.description = "Print ccreg's version and its libraries'.\n",
};

static const struct cli_cmd_spec cmd_help_spec = {
	.name = "help",
	.summary = "list commands or show a command's usage",
	.synopsis = (const char *const[]){ "help [COMMAND]", NULL },
	.description = "List commands, or show one command's usage.\n",
};

const struct cli_command cli_commands[] = {
	{ "assemble", cmd_assemble, &cmd_assemble_spec },
	{ "push", cmd_push, &cmd_push_spec },
	{ "copy", cmd_copy, &cmd_copy_spec },
	{ "pull", cmd_pull, &cmd_pull_spec },
	{ "manifest", cmd_manifest, &cmd_manifest_spec },
	{ "digest", cmd_digest, &cmd_digest_spec },
	{ "inspect", cmd_inspect, &cmd_inspect_spec },
	{ "config", cmd_config, &cmd_config_spec },
	{ "tags", cmd_tags, &cmd_tags_spec },
	{ "referrers", cmd_referrers, &cmd_referrers_spec },
	{ "blob", cmd_blob, &cmd_blob_spec },
	{ "audit", cmd_audit, &cmd_audit_spec },
	{ "verify", cmd_verify, &cmd_verify_spec },
	{ "status", cmd_status, &cmd_status_spec },
	{ "catalog", cmd_catalog, &cmd_catalog_spec },
	{ "login", cmd_login, &cmd_login_spec },
	{ "logout", cmd_logout, &cmd_logout_spec },
	{ "version", cmd_version, &cmd_version_spec },
	{ "help", cmd_help, &cmd_help_spec },
};
const size_t cli_n_commands = ARRAY_SIZE(cli_commands);

/* Run by the build and the completion script; not listed by help. */
static const struct cli_command hidden_commands[] = {
	{ "__man", cmd_man, &cmd_man_spec },
	{ "__complete", cmd_complete, &cmd_complete_spec },
	{ "__completion", cmd_completion, &cmd_completion_spec },
};

static const struct cli_command *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(cli_commands); i++)
		if (strcmp(cli_commands[i].name, name) == 0)
			return &cli_commands[i];
	for (size_t i = 0; i < ARRAY_SIZE(hidden_commands); i++)
		if (strcmp(hidden_commands[i].name, name) == 0)
			return &hidden_commands[i];
	return NULL;
}

enum { G_CATALOG = 'C', G_JOBS = 'j', G_VERBOSE = 'v', G_QUIET = 'q', G_HELP = 'h',
       G_REGISTRY = 256, G_AUTH_FILE, G_INSECURE_REGISTRY, G_INSECURE, G_CA_FILE, G_JSON,
       G_NO_CACHE };

static const struct cli_opt global_opts[] = {
	{ G_CATALOG, 'C', "catalog", CLI_OPT_VALUE, "FILE",
	  "catalog file (default $CCREG_CATALOG, else ./images.json)" },
	{ G_REGISTRY, 0, "registry", CLI_OPT_VALUE, "HOST[:PORT]",
	  "registry of catalog packages (default $CCREG_REGISTRY, else docker.io)" },
	{ G_AUTH_FILE, 0, "auth-file", CLI_OPT_VALUE, "FILE",
	  "credentials file (docker config.json or containers auth.json)" },
	{ G_INSECURE_REGISTRY, 0, "insecure-registry", CLI_OPT_LIST, "HOST",
	  "allow plain HTTP for HOST (repeatable)" },
	{ G_INSECURE, 0, "insecure", CLI_OPT_FLAG, NULL,
	  "allow plain HTTP and unverified TLS for every host" },
	{ G_CA_FILE, 0, "ca-file", CLI_OPT_VALUE, "FILE", "extra trusted CA certificates (PEM)" },
	{ G_JOBS, 'j', "jobs", CLI_OPT_VALUE, "N", "parallel transfers/requests (default 4)" },
	{ G_JSON, 0, "json", CLI_OPT_FLAG, NULL, "machine-readable output" },
	{ G_NO_CACHE, 0, "no-cache", CLI_OPT_FLAG, NULL,
	  "read nothing from the caches in $XDG_CACHE_HOME/ccreg (manifests, configs, audit "
	  "results); what is fetched still refreshes them" },
	{ G_VERBOSE, 'v', "verbose", CLI_OPT_COUNT, NULL,
	  "log every HTTP request to stderr (secrets redacted), and at the end how many "
	  "requests, how many of them one after another, and how many connections" },
	{ G_QUIET, 'q', "quiet", CLI_OPT_FLAG, NULL, "no progress, no informational lines" },
	{ G_HELP, 'h', "help", CLI_OPT_FLAG, NULL, "show the usage of ccreg or of COMMAND" },
	{ 0 },
};

const struct cli_cmd_spec cli_global_spec = {
	.name = "ccreg",
	.synopsis = (const char *const[]){ "[GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]", NULL },
	.description = "A daemonless container-registry tool.\n",
	.opts = global_opts,
};

const struct cli_arg cli_environment[] = {
	{ "CCREG_CATALOG", "catalog file when -C is not given (else ./images.json)" },
	{ "CCREG_REGISTRY", "registry of catalog packages when --registry is not given (else docker.io)" },
	{ "CCREG_INSECURE_REGISTRIES", "comma-separated hosts allowed plain HTTP, as --insecure-registry" },
	{ "REGISTRY_AUTH_FILE", "the credentials file when --auth-file is not given; else "
	  "$XDG_RUNTIME_DIR/containers/auth.json, $DOCKER_CONFIG/config.json, ~/.docker/config.json" },
	{ "XDG_CACHE_HOME", "caches live in $XDG_CACHE_HOME/ccreg (default ~/.cache/ccreg)" },
	{ "SSL_CERT_FILE, SSL_CERT_DIR", "trusted CA certificates instead of the system's" },
	{ "CCREG_TIMEOUT_CONNECT_MS", "connect timeout in ms (10000; unset or 0: the default)" },
	{ "CCREG_TIMEOUT_LOW_SPEED", "abort a transfer slower than 1 KB/s for this many s (30)" },
	{ "CCREG_TIMEOUT", "whole-request limit for API calls, s (120; blob bodies: none)" },
	{ "CCREG_MAX_RETRIES", "retries after connection errors, 429, 502-504 (4)" },
	{ "CCREG_RETRY_BASE_MS", "first retry backoff in ms, doubling, capped at 8 s (500)" },
	{ "CCREG_CACHE_MAX_MB", "bound of the manifest and config cache, MiB (64)" },
	{ "CCREG_RANGE_MIN", "blobs from this size (bytes) download as parallel ranges (32 MiB)" },
	{ "CCREG_RANGE_CHUNK", "bytes per range; in flight: at most --jobs of them (8 MiB)" },
	{ "CCREG_HTTP_PIPELINE", "0: no HTTP/1.1 pipelining to plain-HTTP registries (on)" },
	{ 0 },
};

/* The contract's exit codes (../shared/design/cli.md), oci/error.h's values. */
const struct cli_arg cli_exit_codes[] = {
	{ "0", "done; for checks: everything holds" },
	{ "1", "a check ran and found problems (verify, audit --check, catalog lint, "
	       "catalog mark-tested)" },
	{ "2", "usage: bad arguments, invalid reference, unknown catalog image or tag, "
	       "malformed catalog, an input path that does not exist" },
	{ "3", "failure talking to a registry: unreachable, not found, server error after "
	       "retries, digest mismatch" },
	{ "4", "authentication or authorization refused" },
	{ "5", "a local file could not be written or read after the arguments were accepted: "
	       "disk full, I/O error, permission denied, output closed" },
	{ 0 },
};

static void print_globals(FILE *f)
{
	cli_opt_list_fprint(f, "Global options (before or after COMMAND):", cli_global_spec.opts);
	cli_opt_args_fprint(f, "Environment:", cli_environment);
}

static void print_overview(FILE *f)
{
	fprintf(f, "Usage: ccreg %s\n\n%s\nCommands:\n", cli_global_spec.synopsis[0],
	        cli_global_spec.description);
	for (size_t i = 0; i < ARRAY_SIZE(cli_commands); i++)
		fprintf(f, "  %-10s %s\n", cli_commands[i].name, cli_commands[i].spec->summary);
	print_globals(f);
	cli_opt_args_fprint(f, "Exit status:", cli_exit_codes);
	fprintf(f, "\nRun 'ccreg help COMMAND' for a command's options, 'man ccreg' for more.\n");
}

int cli_help(const char *cmd)
{
	const struct cli_command *c = find_command(cmd);
	if (!c)
		return cli_usage_error("help", "unknown command '%s'", cmd);
	cli_opt_usage_fprint(stdout, c->spec);
	print_globals(stdout);
	return 0;
}

/* Messages carry what servers said: escaped, a server cannot retitle the
 * terminal or overwrite lines (library messages escape it already; this
 * keeps anything else from getting through). */
int cli_fail(const oci_error *err)
{
	char shown[4 * sizeof err->msg];
	oci_text_escape_buf(err->msg[0] ? err->msg : "failed", shown, sizeof shown);
	fprintf(stderr, "ccreg: %s\n", shown);
	return err->code ? err->code : OCI_E_REGISTRY;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "ccreg: %s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'ccreg %s --help'.\n", cmd);
	va_end(ap);
	return OCI_E_USAGE;
}

void cli_info(const struct cli_ctx *ctx, const char *fmt, ...)
{
	if (ctx->g.quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* A positive number from the environment (tests shorten timeouts with
 * these), else 0: the library's default. */
static long env_num(const char *name)
{
	const char *e = getenv(name);
	char *end;
	if (!e || !*e)
		return 0;
	long v = strtol(e, &end, 10);
	return *end || v < 1 || v > 86400000 ? 0 : v;
}

static void log_line(void *ud, const char *line)
{
	(void)ud;
	_cleanup_free_ char *shown = oci_text_escape(line);
	fprintf(stderr, "%s\n", shown);
}

static bool pipeline_off(void)
{
	const char *e = getenv("CCREG_HTTP_PIPELINE");
	return e && strcmp(e, "0") == 0;
}

struct reg_client *cli_client(struct cli_ctx *ctx, oci_error *err)
{
	if (ctx->client)
		return ctx->client;
	_cleanup_free_ char *cache_dir = oci_auditcache_dir();
	struct reg_options o = {
		.insecure_all = ctx->g.insecure_all,
		.insecure_hosts = (const char *const *)ctx->g.insecure_hosts,
		.ca_file = ctx->g.ca_file,
		.auth_file = ctx->g.auth_file,
		.verbose = ctx->g.verbose,
		.log = log_line,
		.connect_timeout_ms = env_num("CCREG_TIMEOUT_CONNECT_MS"),
		.low_speed_secs = env_num("CCREG_TIMEOUT_LOW_SPEED"),
		.request_timeout_s = env_num("CCREG_TIMEOUT"),
		.max_retries = (int)env_num("CCREG_MAX_RETRIES"),
		.retry_base_ms = env_num("CCREG_RETRY_BASE_MS"),
		.cache_dir = cache_dir,
		.no_cache = ctx->g.no_cache,
		.jobs = ctx->g.jobs,
		.range_min = env_num("CCREG_RANGE_MIN"),
		.range_chunk = env_num("CCREG_RANGE_CHUNK"),
		.range_near_ms = getenv("CCREG_RANGE_NEAR_MS") ? env_num("CCREG_RANGE_NEAR_MS") : -1,
		.no_pipeline = pipeline_off(),
	};
	ctx->client = reg_client_new(&o, err);
	return ctx->client;
}

static void strv_push(char ***v, const char *s)
{
	size_t n = 0;
	while (*v && (*v)[n])
		n++;
	*v = oci_xrealloc(*v, (n + 2) * sizeof **v);
	(*v)[n] = oci_xstrdup(s);
	(*v)[n + 1] = NULL;
}

static int set_global(void *ud, const struct cli_opt *o, const char *val)
{
	struct cli_global *g = ud;
	switch (o->id) {
	case G_CATALOG: g->catalog = val; break;
	case G_REGISTRY: g->registry = val; break;
	case G_AUTH_FILE: g->auth_file = val; break;
	case G_INSECURE_REGISTRY: strv_push(&g->insecure_hosts, val); break;
	case G_INSECURE: g->insecure_all = true; break;
	case G_CA_FILE: g->ca_file = val; break;
	case G_JOBS: {
		char *end;
		long n = strtol(val, &end, 10);
		if (*end || n < 1 || n > 64) {
			fprintf(stderr, "ccreg: --jobs: '%s' is not a number from 1 to 64\n", val);
			return -1;
		}
		g->jobs = (int)n;
		break;
	}
	case G_JSON: g->json = true; break;
	case G_NO_CACHE: g->no_cache = true; break;
	case G_VERBOSE: g->verbose++; break;
	case G_QUIET: g->quiet = true; break;
	case G_HELP: g->help = true; break;
	}
	return 0;
}

/* Remove global options from anywhere in argv (before "--").  Returns -1 on
 * a bad global option (message printed). */
static int take_globals(struct cli_global *g, int *argc, char **argv)
{
	const char *bad = NULL;
	if (cli_opt_extract(global_opts, argc, argv, set_global, g, &bad) == 0)
		return 0;
	if (bad)
		fprintf(stderr, "ccreg: option %s needs a value\n", bad);
	return -1;
}

static void defaults(struct cli_global *g)
{
	const char *e;
	if (!g->catalog)
		g->catalog = (e = getenv("CCREG_CATALOG")) && *e ? e : "images.json";
	if (!g->registry)
		g->registry = (e = getenv("CCREG_REGISTRY")) && *e ? e : "docker.io";
	if (!g->jobs)
		g->jobs = 4;
	if ((e = getenv("CCREG_INSECURE_REGISTRIES")) && *e) {
		_cleanup_free_ char *copy = oci_xstrdup(e);
		char *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			if (*t)
				strv_push(&g->insecure_hosts, t);
	}
}

static int cmd_version(struct cli_ctx *ctx, int argc, char **argv)
{
	int rc = cli_no_options(&cmd_version_spec, &argc, &argv);
	if (rc)
		return rc;
	/* git describe when built from a git checkout (cli/version.h.in) */
	if (strcmp(CCREG_GIT_DESCRIBE, CCREG_VERSION) != 0)
		printf("ccreg %s (git %s)\n", CCREG_VERSION, CCREG_GIT_DESCRIBE);
	else
		printf("ccreg %s\n", CCREG_VERSION);
	if (ctx->g.verbose)
		printf("%s\n", reg_versions());
	return 0;
}

static int cmd_help(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	int rc = cli_no_options(&cmd_help_spec, &argc, &argv);
	if (rc)
		return rc;
	if (argc > 1)
		return cli_help(argv[1]);
	print_overview(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct cli_ctx ctx = { 0 };
	int rc;

	cli_hold_std_fds();
	argc--, argv++; /* drop program name */
	if (take_globals(&ctx.g, &argc, argv) < 0)
		return OCI_E_USAGE;
	defaults(&ctx.g);
	if (argc == 0) {
		print_overview(ctx.g.help ? stdout : stderr);
		return ctx.g.help ? 0 : OCI_E_USAGE;
	}
	if (strcmp(argv[0], "--version") == 0)
		argv[0] = "version";
	const struct cli_command *c = find_command(argv[0]);
	if (!c) {
		if (argv[0][0] == '-')
			fprintf(stderr, "ccreg: unknown option '%s'\nTry 'ccreg help'.\n", argv[0]);
		else
			fprintf(stderr, "ccreg: unknown command '%s'\nTry 'ccreg help'.\n", argv[0]);
		return OCI_E_USAGE;
	}
	if (ctx.g.help)
		return cli_help(c->name);
	cli_take_signals();
	reg_global_init();
	rc = c->fn(&ctx, argc, argv);
	if (ctx.client && ctx.g.verbose) {
		struct reg_traffic t;
		reg_client_traffic(ctx.client, &t);
		fprintf(stderr, "%ld requests (%d one after another), %ld connections opened\n",
		        t.requests, t.depth, t.connections);
	}
	reg_client_free(ctx.client);
	oci_strvfreep(&ctx.g.insecure_hosts);
	reg_global_cleanup();
	cli_release_signals();
	return cli_close_stdout(rc);
}
