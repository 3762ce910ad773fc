/* cli/cmd_login.c: `ccreg login REGISTRY -u USER --password-stdin` and
 * `ccreg logout REGISTRY`. */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/commands.h"
#include "oci/cleanup.h"
#include "oci/util.h"
#include "registry/client.h"
#include "registry/creds.h"
#include "registry/login.h"

static const struct cli_opt login_opts[] = {
	{ 'u', 'u', "username", CLI_OPT_VALUE, "USER", "the user name" },
	{ 'P', 0, "password-stdin", CLI_OPT_FLAG, NULL,
	  "read the password (or token) from standard input" },
	{ 'p', 'p', "password", CLI_OPT_VALUE, "PASSWORD",
	  "refused: a password on the command line is visible to other users" },
	{ 0 },
};

const struct cli_cmd_spec cmd_login_spec = {
	.name = "login",
	.summary = "store credentials for a registry",
	.synopsis = (const char *const[]){ "login [REGISTRY] -u USER --password-stdin", NULL },
	.description =
		"Check USER and the password read from standard input against REGISTRY\n"
		"(default docker.io), then store them in the auth file: --auth-file, else\n"
		"$REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json, ~/.docker/config.json.\n"
		"When that file names a credential helper for the registry (credHelpers,\n"
		"credsStore), the helper stores them.  The file is written with mode 0600;\n"
		"its other entries are kept.  Docker Hub is stored under\n"
		"https://index.docker.io/v1/.  Refused credentials exit 4 and store nothing.\n",
	.opts = login_opts,
};

const struct cli_cmd_spec cmd_logout_spec = {
	.name = "logout",
	.summary = "remove stored credentials for a registry",
	.synopsis = (const char *const[]){ "logout [REGISTRY]", NULL },
	.description =
		"Remove the credentials stored for REGISTRY (default docker.io) from the\n"
		"auth file (see 'ccreg help login') and its credential helper.  Not being\n"
		"logged in is not an error.\n",
};

/* "https://index.docker.io/v1/" → "docker.io"; "HOST[:PORT][/…]" → "HOST[:PORT]". */
static char *registry_arg(const char *cmd, const char *arg, int *rc)
{
	const char *p = arg;
	if (strncasecmp(p, "https://", 8) == 0)
		p += 8;
	else if (strncasecmp(p, "http://", 7) == 0)
		p += 7;
	size_t n = strcspn(p, "/");
	const char *rest = p + n;
	static const char *const tails[] = { "", "/", "/v1", "/v1/", "/v2", "/v2/" };
	bool tail_ok = false;
	for (size_t i = 0; i < ARRAY_SIZE(tails) && !tail_ok; i++)
		tail_ok = strcmp(rest, tails[i]) == 0;
	if (!tail_ok) {
		*rc = cli_usage_error(cmd, "'%s' is not a registry host name (HOST[:PORT])", arg);
		return NULL;
	}
	char *host = oci_xstrndup(p, n);
	if (!*host || strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                           "0123456789.-:[]") != n) {
		*rc = cli_usage_error(cmd, "'%s' is not a registry host name (HOST[:PORT])", arg);
		free(host);
		return NULL;
	}
	if (reg_is_docker_hub(host)) {
		free(host);
		host = oci_xstrdup("docker.io");
	}
	return host;
}

static char *auth_file(struct cli_ctx *ctx)
{
	if (ctx->g.auth_file)
		return oci_xstrdup(ctx->g.auth_file);
	return reg_auth_file_default();
}

/* The password from stdin, without the trailing newline. */
static char *read_password(oci_error *err)
{
	struct oci_buf b = { 0 };
	char buf[4096];
	for (;;) {
		ssize_t n = read(0, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			oci_err(err, OCI_E_USAGE, "reading the password from standard input: %s",
			        strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > 65536) {
			oci_err(err, OCI_E_USAGE, "the password on standard input is too long");
			goto fail;
		}
		oci_buf_append(&b, buf, (size_t)n);
	}
	explicit_bzero(buf, sizeof buf);
	while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		b.data[--b.len] = '\0';
	if (!b.len) {
		oci_err(err, OCI_E_USAGE, "login: the password on standard input is empty");
		goto fail;
	}
	return b.data;
fail:
	explicit_bzero(buf, sizeof buf);
	if (b.data)
		explicit_bzero(b.data, b.len);
	oci_buf_release(&b);
	return NULL;
}

int cmd_login(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_opt_parser p;
	const char *user = NULL;
	bool from_stdin = false;
	int ch, rc = 0;
	cli_opt_init(&p, &cmd_login_spec, argc, argv);
	while ((ch = cli_opt_next(&p)) != CLI_OPT_DONE) {
		switch (ch) {
		case 'u': user = p.value; break;
		case 'P': from_stdin = true; break;
		case 'p':
			return cli_usage_error("login", "a password on the command line is visible to "
			                                "other users: use --password-stdin");
		default: return cli_bad_option(&p);
		}
	}
	if (argc - optind > 1)
		return cli_usage_error("login", "expected one registry");
	if (!user || !*user)
		return cli_usage_error("login", "--username is required");
	if (!from_stdin)
		return cli_usage_error("login", "--password-stdin is required (the password is "
		                                "read from standard input)");
	_cleanup_free_ char *domain = registry_arg("login", optind < argc ? argv[optind] : "docker.io", &rc);
	if (!domain)
		return rc;
	_cleanup_free_ char *path = auth_file(ctx);
	if (!path)
		return cli_usage_error("login", "no auth file: pass --auth-file (HOME is not set)");

	oci_error err = { 0 };
	char *password = read_password(&err);
	if (!password)
		return cli_fail(&err);
	struct reg_client *c = cli_client(ctx, &err);
	if (!c || reg_login_check(c, domain, user, password, &err) < 0 ||
	    reg_creds_store(path, domain, user, password, &err) < 0)
		rc = cli_fail(&err);
	else
		cli_info(ctx, "Login to %s succeeded; credentials stored in %s", domain, path);
	explicit_bzero(password, strlen(password));
	free(password);
	return rc;
}

int cmd_logout(struct cli_ctx *ctx, int argc, char **argv)
{
	int rc = cli_no_options(&cmd_logout_spec, &argc, &argv);
	if (rc)
		return rc;
	if (argc - optind > 1)
		return cli_usage_error("logout", "expected one registry");
	_cleanup_free_ char *domain = registry_arg("logout", optind < argc ? argv[optind] : "docker.io", &rc);
	if (!domain)
		return rc;
	_cleanup_free_ char *path = auth_file(ctx);
	if (!path)
		return cli_usage_error("logout", "no auth file: pass --auth-file (HOME is not set)");
	oci_error err = { 0 };
	int r = reg_creds_erase(path, domain, &err);
	if (r < 0)
		return cli_fail(&err);
	if (r == 0)
		cli_info(ctx, "Not logged in to %s", domain);
	else
		cli_info(ctx, "Removed the credentials for %s from %s", domain, path);
	return 0;
}
