/* registry/creds.c: credentials for a registry, found where docker and
 * podman users keep them.
 *
 * Lookup order (../shared/design/cli.md): --auth-file alone when given; else
 * $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
 * $DOCKER_CONFIG/config.json, ~/.docker/config.json; the first file that
 * names the registry wins.  In a file: credHelpers[registry], then
 * auths[registry] (auth = base64 user:password, or identitytoken), then
 * credsStore.  Helpers speak the docker-credential-helpers protocol: server
 * URL on stdin, {"Username","Secret"} on stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

#include "registry/creds.h"
#include "registry/transport.h"

extern char **environ;

void reg_creds_release(struct reg_creds *cr)
{
	if (!cr)
		return;
	if (cr->secret)
		explicit_bzero(cr->secret, strlen(cr->secret));
	free(cr->username);
	free(cr->secret);
	memset(cr, 0, sizeof *cr);
}

bool reg_is_docker_hub(const char *domain)
{
	return strcmp(domain, "docker.io") == 0 || strcmp(domain, "index.docker.io") == 0 ||
	       strcmp(domain, "registry-1.docker.io") == 0;
}

const char *reg_creds_key(const char *domain)
{
	return reg_is_docker_hub(domain) ? "https://index.docker.io/v1/" : domain;
}

/* The keys under which a file may store this registry. */
static json_t *find_entry(json_t *obj, const char *domain, const char **key_out)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		const char *k = key;
		if (strncmp(k, "https://", 8) == 0)
			k += 8;
		else if (strncmp(k, "http://", 7) == 0)
			k += 7;
		size_t l = strcspn(k, "/");
		bool hub_key = (l == 15 && strncmp(k, "index.docker.io", 15) == 0) ||
		               (l == 9 && strncmp(k, "docker.io", 9) == 0) ||
		               (l == 20 && strncmp(k, "registry-1.docker.io", 20) == 0);
		bool match = reg_is_docker_hub(domain) ? hub_key
		                                       : strlen(domain) == l && strncmp(k, domain, l) == 0;
		/* podman's per-namespace keys ("host/ns") are not ours to match */
		if (match && (k[l] == '\0' || strcmp(k + l, "/v1/") == 0 || strcmp(k + l, "/v2/") == 0 ||
		              strcmp(k + l, "/") == 0)) {
			if (key_out)
				*key_out = key;
			return v;
		}
	}
	return NULL;
}

int reg_creds_from_helper(const char *helper, const char *domain, struct reg_creds *out,
                          oci_error *err)
{
	_cleanup_free_ char *prog = oci_xasprintf("docker-credential-%s", helper);
	int in[2], outp[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return oci_err(err, OCI_E_AUTH, "%s: %s", prog, strerror(errno));
	if (pipe2(outp, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return oci_err(err, OCI_E_AUTH, "%s: %s", prog, strerror(errno));
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	char *argv[] = { prog, "get", NULL };
	pid_t pid;
	int rc = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(outp[1]);
	if (rc != 0) {
		close(in[1]);
		close(outp[0]);
		return oci_err(err, OCI_E_AUTH, "credential helper %s not found on PATH", prog);
	}
	const char *server = reg_creds_key(domain);
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	ssize_t w = write(in[1], server, strlen(server));
	(void)w;
	close(in[1]);
	signal(SIGPIPE, old);
	struct oci_buf b = { 0 };
	char buf[4096];
	ssize_t n;
	while ((n = read(outp[0], buf, sizeof buf)) > 0 && b.len < 65536)
		oci_buf_append(&b, buf, (size_t)n);
	close(outp[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* "credentials not found" is an exit 1 with a message: no creds */
		bool notfound = b.data && strstr(b.data, "not found");
		oci_buf_release(&b);
		if (notfound)
			return 0;
		return oci_err(err, OCI_E_AUTH, "credential helper %s failed for %s", prog, domain);
	}
	json_error_t jerr;
	_cleanup_json_ json_t *j = json_loadb(b.data ? b.data : "", b.len, 0, &jerr);
	if (b.data)
		explicit_bzero(b.data, b.len);
	oci_buf_release(&b);
	const char *user = json_string_value(json_object_get(j, "Username"));
	const char *secret = json_string_value(json_object_get(j, "Secret"));
	if (!secret)
		return oci_err(err, OCI_E_AUTH, "credential helper %s gave no Secret for %s", prog,
		               domain);
	out->identity_token = user && strcmp(user, "<token>") == 0;
	out->username = oci_xstrdup(out->identity_token ? "" : user ? user : "");
	out->secret = oci_xstrdup(secret);
	return 1;
}

/* Credentials for domain in one parsed file: 1 found, 0 none, -1 error. */
static int creds_in_file(json_t *j, const char *path, const char *domain, struct reg_creds *out,
                         oci_error *err)
{
	json_t *helpers = json_object_get(j, "credHelpers");
	json_t *h = json_is_object(helpers) ? find_entry(helpers, domain, NULL) : NULL;
	if (json_is_string(h))
		return reg_creds_from_helper(json_string_value(h), domain, out, err);

	json_t *auths = json_object_get(j, "auths");
	json_t *e = json_is_object(auths) ? find_entry(auths, domain, NULL) : NULL;
	if (json_is_object(e)) {
		const char *idt = json_string_value(json_object_get(e, "identitytoken"));
		const char *auth = json_string_value(json_object_get(e, "auth"));
		const char *user = json_string_value(json_object_get(e, "username"));
		const char *pass = json_string_value(json_object_get(e, "password"));
		_cleanup_free_ char *dec = NULL;
		if (auth && *auth) {
			size_t al = strlen(auth);
			dec = oci_xcalloc(1, al + 4);
			int dl = EVP_DecodeBlock((unsigned char *)dec, (const unsigned char *)auth, (int)al);
			if (dl < 0)
				return oci_err(err, OCI_E_AUTH, "%s: auths[%s].auth is not base64", path,
				               domain);
			while (al && auth[al - 1] == '=') /* EVP counts padding as zero bytes */
				al--, dl--;
			dec[dl < 0 ? 0 : dl] = '\0';
			char *colon = strchr(dec, ':');
			if (!colon)
				return oci_err(err, OCI_E_AUTH, "%s: auths[%s].auth is not user:password",
				               path, domain);
			*colon = '\0';
			user = dec;
			pass = colon + 1;
		}
		if (idt && *idt) {
			out->identity_token = true;
			out->username = oci_xstrdup(user ? user : "");
			out->secret = oci_xstrdup(idt);
			return 1;
		}
		if (user && pass) {
			out->username = oci_xstrdup(user);
			out->secret = oci_xstrdup(pass);
			if (dec)
				explicit_bzero(dec, strlen(dec) + strlen(pass) + 1);
			return 1;
		}
	}
	const char *store = json_string_value(json_object_get(j, "credsStore"));
	if (store && *store)
		return reg_creds_from_helper(store, domain, out, err);
	return 0;
}

char *reg_auth_file_default(void)
{
	const char *e;
	if ((e = getenv("REGISTRY_AUTH_FILE")) && *e)
		return oci_xstrdup(e);
	if ((e = getenv("DOCKER_CONFIG")) && *e)
		return oci_xasprintf("%s/config.json", e);
	if ((e = getenv("HOME")) && *e)
		return oci_xasprintf("%s/.docker/config.json", e);
	return NULL;
}

int reg_creds_lookup(struct reg_client *c, const char *domain, struct reg_creds *out,
                     oci_error *err)
{
	char *cands[5] = { 0 };
	int n = 0;
	const char *e;
	if (c->auth_file) {
		cands[n++] = oci_xstrdup(c->auth_file);
	} else {
		if ((e = getenv("REGISTRY_AUTH_FILE")) && *e)
			cands[n++] = oci_xstrdup(e);
		if ((e = getenv("XDG_RUNTIME_DIR")) && *e)
			cands[n++] = oci_xasprintf("%s/containers/auth.json", e);
		if ((e = getenv("DOCKER_CONFIG")) && *e)
			cands[n++] = oci_xasprintf("%s/config.json", e);
		if ((e = getenv("HOME")) && *e)
			cands[n++] = oci_xasprintf("%s/.docker/config.json", e);
	}
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		json_error_t jerr;
		_cleanup_json_ json_t *j = json_load_file(cands[i], 0, &jerr);
		if (!j) {
			if (access(cands[i], F_OK) == 0) {
				rc = oci_err(err, OCI_E_USAGE, "%s:%d:%d: %s", cands[i], jerr.line,
				             jerr.column, jerr.text);
			} else if (c->auth_file) {
				rc = oci_err(err, OCI_E_USAGE, "%s: cannot read the auth file",
				             cands[i]);
			}
			continue;
		}
		rc = creds_in_file(j, cands[i], domain, out, err);
		if (rc == 1)
			reg_log(c, "credentials for %s from %s", domain, cands[i]);
	}
	for (int i = 0; i < n; i++)
		free(cands[i]);
	return rc;
}
