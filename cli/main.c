/* cli/main.c: the command table, global options, and dispatch. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "config.h"
#include "oci/cleanup.h"
#include "oci/util.h"
#include "registry/client.h"

static int cmd_version(struct cli_ctx *ctx, int argc, char **argv);
static int cmd_help(struct cli_ctx *ctx, int argc, char **argv);
static const char cmd_version_usage[] = "Usage: ccreg version\n\nPrint ccreg's version and its libraries'.\n";
static const char cmd_help_usage[] = "Usage: ccreg help [COMMAND]\n\nList commands, or show one command's usage.\n";

static const struct cli_command commands[] = {
	{ "assemble", cmd_assemble, "build and push a multi-arch index from per-arch images", cmd_assemble_usage },
	{ "push", cmd_push, "push an OCI layout or docker-archive to a registry", cmd_push_usage },
	{ "copy", cmd_copy, "copy an image between repositories or registries", cmd_copy_usage },
	{ "pull", cmd_pull, "pull an image into an OCI image layout", cmd_pull_usage },
	{ "manifest", cmd_manifest, "print a manifest or index exactly as served", cmd_manifest_usage },
	{ "digest", cmd_digest, "print the digest a reference points to", cmd_digest_usage },
	{ "inspect", cmd_inspect, "media type, digest, platforms, layers and sizes", cmd_inspect_usage },
	{ "config", cmd_config, "print an image config", cmd_config_usage },
	{ "tags", cmd_tags, "list every tag of a repository", cmd_tags_usage },
	{ "blob", cmd_blob, "fetch one blob, verified", cmd_blob_usage },
	{ "audit", cmd_audit, "measure unpacked sizes and recommend minDiskSizeGb", cmd_audit_usage },
	{ "verify", cmd_verify, "check the catalog against the registry", cmd_verify_usage },
	{ "catalog", cmd_catalog, "read and edit the catalog (images.json)", cmd_catalog_usage },
	{ "login", cmd_login, "store credentials for a registry", cmd_login_usage },
	{ "logout", cmd_logout, "remove stored credentials for a registry", cmd_logout_usage },
	{ "version", cmd_version, "print the version", cmd_version_usage },
	{ "help", cmd_help, "list commands or show a command's usage", cmd_help_usage },
};

static const struct cli_command *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static const char global_usage[] =
	"Global options (before or after COMMAND):\n"
	"  -C, --catalog FILE            catalog file (default $CCREG_CATALOG, else ./images.json)\n"
	"      --registry HOST[:PORT]    registry of catalog packages (default $CCREG_REGISTRY, else docker.io)\n"
	"      --auth-file FILE          credentials file (docker config.json or containers auth.json)\n"
	"      --insecure-registry HOST  allow plain HTTP for HOST (repeatable)\n"
	"      --insecure                allow plain HTTP and unverified TLS for every host\n"
	"      --ca-file FILE            extra trusted CA certificates (PEM)\n"
	"  -j, --jobs N                  parallel transfers/requests (default 4)\n"
	"      --json                    machine-readable output\n"
	"  -v, --verbose                 log every HTTP request to stderr (secrets redacted)\n"
	"  -q, --quiet                   no progress, no informational lines\n"
	"\nEnvironment (timeouts and retries; unset or 0: the default):\n"
	"  CCREG_TIMEOUT_CONNECT_MS      connect timeout in ms (10000)\n"
	"  CCREG_TIMEOUT_LOW_SPEED       abort a transfer slower than 1 KB/s for this many s (30)\n"
	"  CCREG_TIMEOUT                 whole-request limit for API calls, s (120; blob bodies: none)\n"
	"  CCREG_MAX_RETRIES             retries after connection errors, 429, 502-504 (4)\n"
	"  CCREG_RETRY_BASE_MS           first retry backoff in ms, doubling, capped at 8 s (500)\n";

static void print_overview(FILE *f)
{
	fprintf(f, "Usage: ccreg [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\n"
	           "A daemonless container-registry tool.\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n%s\nRun 'ccreg help COMMAND' for a command's options.\n", global_usage);
}

int cli_help(const char *cmd)
{
	const struct cli_command *c = find_command(cmd);
	if (!c)
		return cli_usage_error("help", "unknown command '%s'", cmd);
	fputs(c->usage, stdout);
	printf("\n%s", global_usage);
	return 0;
}

int cli_wants_help(const char *cmd, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			cli_help(cmd);
			return 1;
		}
	}
	return 0;
}

int cli_fail(const oci_error *err)
{
	fprintf(stderr, "ccreg: %s\n", err->msg[0] ? err->msg : "failed");
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
	fprintf(stderr, "%s\n", line);
}

struct reg_client *cli_client(struct cli_ctx *ctx, oci_error *err)
{
	if (ctx->client)
		return ctx->client;
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

/* Remove global options from anywhere in argv (before "--").  Returns -1 on
 * a bad global option (message printed). */
static int take_globals(struct cli_global *g, int *argc, char **argv)
{
	int out = 0;
	bool ended = false;
	for (int i = 0; i < *argc; i++) {
		char *a = argv[i];
		const char *val = NULL;
		if (ended || a[0] != '-' || strcmp(a, "-") == 0) {
			argv[out++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			ended = true;
			argv[out++] = a;
			continue;
		}
		/* options taking a value: --opt VAL, --opt=VAL, -C VAL, -CVAL */
		static const struct { const char *lng; char shrt; } valued[] = {
			{ "--catalog", 'C' }, { "--registry", 0 }, { "--auth-file", 0 },
			{ "--insecure-registry", 0 }, { "--ca-file", 0 }, { "--jobs", 'j' },
		};
		int which = -1;
		for (size_t k = 0; k < ARRAY_SIZE(valued) && which < 0; k++) {
			size_t l = strlen(valued[k].lng);
			if (strncmp(a, valued[k].lng, l) == 0 && (a[l] == '\0' || a[l] == '=')) {
				which = (int)k;
				val = a[l] == '=' ? a + l + 1 : NULL;
			} else if (valued[k].shrt && a[1] == valued[k].shrt && a[0] == '-' && a[1] != '-') {
				which = (int)k;
				val = a[2] ? a + 2 : NULL;
			}
		}
		if (which >= 0) {
			if (!val) {
				if (i + 1 >= *argc) {
					fprintf(stderr, "ccreg: option %s needs a value\n", a);
					return -1;
				}
				val = argv[++i];
			}
			switch (which) {
			case 0: g->catalog = val; break;
			case 1: g->registry = val; break;
			case 2: g->auth_file = val; break;
			case 3: strv_push(&g->insecure_hosts, val); break;
			case 4: g->ca_file = val; break;
			case 5: {
				char *end;
				long n = strtol(val, &end, 10);
				if (*end || n < 1 || n > 64) {
					fprintf(stderr, "ccreg: --jobs: '%s' is not a number from 1 to 64\n", val);
					return -1;
				}
				g->jobs = (int)n;
				break;
			}
			}
			continue;
		}
		if (strcmp(a, "--insecure") == 0)
			g->insecure_all = true;
		else if (strcmp(a, "--json") == 0)
			g->json = true;
		else if (strcmp(a, "--verbose") == 0)
			g->verbose++;
		else if (strcmp(a, "--quiet") == 0)
			g->quiet = true;
		else if (a[1] != '-' && a[1] && strspn(a + 1, "vq") == strlen(a + 1)) {
			for (const char *p = a + 1; *p; p++)
				*p == 'v' ? g->verbose++ : (g->quiet = true);
		} else
			argv[out++] = a;
	}
	argv[out] = NULL;
	*argc = out;
	return 0;
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
	(void)ctx;
	if (cli_wants_help("version", argc, argv))
		return 0;
	printf("ccreg %s\n", CCREG_VERSION);
	if (ctx->g.verbose)
		printf("%s\n", reg_versions());
	return 0;
}

static int cmd_help(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	if (argc > 1)
		return cli_help(argv[1]);
	print_overview(stdout);
	return 0;
}

/* A closed standard descriptor would be handed to the next file or socket
 * opened, and output meant for stdout would land there: hold each closed
 * one with /dev/null, read-only for stdout so that writing still fails. */
static void hold_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int n = open("/dev/null", fd == 1 ? O_RDONLY : O_RDWR);
		if (n >= 0 && n != fd) {
			dup2(n, fd);
			close(n);
		}
	}
}

/* Output that could not be written is a local I/O failure (exit 5), not
 * success: check what is still buffered and the stream's error flag. */
static int close_stdout(int rc)
{
	errno = 0;
	bool failed = fflush(stdout) != 0;
	int e = errno;
	failed |= ferror(stdout) != 0;
	if (fclose(stdout) != 0 && !failed) {
		failed = true;
		e = errno;
	}
	/* a failed command has said why already; one error line is enough */
	if (!failed || (rc != 0 && rc != OCI_E_CHECK))
		return rc;
	fprintf(stderr, "ccreg: write error on standard output: %s\n", strerror(e ? e : EIO));
	return OCI_E_IO;
}

int main(int argc, char **argv)
{
	struct cli_ctx ctx = { 0 };
	int rc;

	hold_std_fds();
	argc--, argv++; /* drop program name */
	if (take_globals(&ctx.g, &argc, argv) < 0)
		return OCI_E_USAGE;
	defaults(&ctx.g);
	if (argc == 0) {
		print_overview(stderr);
		return OCI_E_USAGE;
	}
	if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
		print_overview(stdout);
		return 0;
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
	if (cli_wants_help(c->name, argc, argv))
		return 0;
	reg_global_init();
	rc = c->fn(&ctx, argc, argv);
	reg_client_free(ctx.client);
	oci_strvfreep(&ctx.g.insecure_hosts);
	reg_global_cleanup();
	return close_stdout(rc);
}
