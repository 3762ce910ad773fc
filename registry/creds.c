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
#include <stdio.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

#include "oci/cleanup.h"
#include "oci/file.h"
#include "oci/util.h"
#include "registry/creds.h"
#include "registry/internal.h"
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

/* Run `docker-credential-HELPER action` with input on stdin; its stdout
 * (at most 64 KiB) goes to *out.  Returns the exit status (≥ 0), or -1 when
 * it could not be run (err filled). */
static int helper_run(const char *helper, const char *action, const char *input,
                      struct oci_buf *out, oci_error *err)
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
	/* the helper gets no signal mask of ours (the CLI blocks SIGINT and
	 * SIGTERM in every thread but the one that handles them) */
	posix_spawnattr_t at;
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	char *argv[] = { prog, (char *)action, NULL };
	pid_t pid;
	int rc = posix_spawnp(&pid, prog, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(in[0]);
	close(outp[1]);
	if (rc != 0) {
		close(in[1]);
		close(outp[0]);
		return oci_err(err, OCI_E_AUTH, "credential helper %s not found on PATH", prog);
	}
	/* SIGPIPE is ignored process-wide (reg_global_init): a helper that
	 * exits without reading gives EPIPE here, and its status says why */
	for (size_t off = 0, len = strlen(input); off < len;) {
		ssize_t w = write(in[1], input + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(in[1]);
	char buf[4096];
	ssize_t n;
	while ((n = read(outp[0], buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (out->len < 65536)
			oci_buf_append(out, buf, (size_t)n);
	}
	close(outp[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void buf_wipe(struct oci_buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->len);
	oci_buf_release(b);
}

int reg_creds_from_helper(const char *helper, const char *domain, struct reg_creds *out,
                          oci_error *err)
{
	struct oci_buf b = { 0 };
	int st = helper_run(helper, "get", reg_creds_key(domain), &b, err);
	if (st < 0)
		return -1;
	if (st != 0) {
		/* "credentials not found" is an exit 1 with a message: no creds */
		bool notfound = b.data && strstr(b.data, "not found");
		buf_wipe(&b);
		if (notfound)
			return 0;
		return oci_err(err, OCI_E_AUTH, "credential helper docker-credential-%s failed for %s",
		               helper, domain);
	}
	json_error_t jerr;
	_cleanup_json_ json_t *j = json_loadb(b.data ? b.data : "", b.len, 0, &jerr);
	buf_wipe(&b);
	const char *user = json_string_value(json_object_get(j, "Username"));
	const char *secret = json_string_value(json_object_get(j, "Secret"));
	if (!secret)
		return oci_err(err, OCI_E_AUTH,
		               "credential helper docker-credential-%s gave no Secret for %s", helper,
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

/* jansson's reason without the text it quotes ("invalid escape near
 * '"hunter2\\q'"): a credentials file's text is secret, so a malformed one
 * is reported by file, line and column only. */
static const char *json_reason(json_error_t *e)
{
	char *near = strstr(e->text, " near ");
	if (near)
		*near = '\0';
	return e->text;
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
				             jerr.column, json_reason(&jerr));
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

/* --- storing (ccreg login / logout) ---------------------------------------- */

/* The helper that holds domain's secret in this file, if any. */
static const char *file_helper(json_t *j, const char *domain)
{
	json_t *helpers = json_object_get(j, "credHelpers");
	json_t *h = json_is_object(helpers) ? find_entry(helpers, domain, NULL) : NULL;
	if (json_is_string(h) && *json_string_value(h))
		return json_string_value(h);
	const char *store = json_string_value(json_object_get(j, "credsStore"));
	return store && *store ? store : NULL;
}

/* Load an auth file for editing: missing → empty object. */
static json_t *load_for_edit(const char *path, oci_error *err)
{
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);
	if (!j) {
		if (errno == ENOENT && access(path, F_OK) != 0)
			return json_object();
		oci_err(err, OCI_E_USAGE, "%s:%d:%d: %s", path, jerr.line, jerr.column,
		        json_reason(&jerr));
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		oci_err(err, OCI_E_USAGE, "%s: not a JSON object", path);
		return NULL;
	}
	return j;
}

/* Write j to path atomically (oci/file.h), mode 0600; the directory is
 * created (0700) when missing.  A symlink is followed, so a linked config
 * stays linked. */
static int save_file(const char *path, json_t *j, oci_error *err)
{
	_cleanup_free_ char *dir = oci_xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (oci_mkdir_p(dir, 0700) < 0)
			return oci_err(err, OCI_E_IO, "%s: cannot create the directory: %s", dir,
			               strerror(errno));
	}
	_cleanup_(oci_file_abortp) struct oci_file_writer w = { 0 };
	if (oci_file_begin(&w, path, 0600, err) < 0)
		return -1;
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	size_t len = strlen(text);
	int rc = oci_file_write(&w, text, len, err) < 0 || oci_file_write(&w, "\n", 1, err) < 0
	                 ? -1
	                 : oci_file_commit(&w, err);
	explicit_bzero(text, len);
	free(text);
	return rc;
}

/* Remove every key of obj that names domain; returns how many. */
static int drop_entries(json_t *obj, const char *domain)
{
	int n = 0;
	const char *key;
	while (json_is_object(obj) && find_entry(obj, domain, &key)) {
		json_object_del(obj, key);
		n++;
	}
	return n;
}

int reg_creds_store(const char *path, const char *domain, const char *username,
                    const char *password, oci_error *err)
{
	_cleanup_json_ json_t *j = load_for_edit(path, err);
	if (!j)
		return -1;
	const char *key = reg_creds_key(domain);
	json_t *auths = json_object_get(j, "auths");
	if (!json_is_object(auths)) {
		auths = json_object();
		json_object_set_new(j, "auths", auths);
	}
	drop_entries(auths, domain);
	json_t *entry = json_object();
	const char *helper = file_helper(j, domain);
	if (helper) {
		/* the helper keeps the secret; the file only records the login, as docker does */
		_cleanup_json_ json_t *in = json_pack("{s:s, s:s, s:s}", "ServerURL", key,
		                                      "Username", username, "Secret", password);
		char *text = json_dumps(in, JSON_COMPACT);
		struct oci_buf out = { 0 };
		int st = helper_run(helper, "store", text, &out, err);
		explicit_bzero(text, strlen(text));
		free(text);
		buf_wipe(&out);
		if (st != 0) {
			json_decref(entry);
			if (st > 0)
				oci_err(err, OCI_E_AUTH,
				        "credential helper docker-credential-%s could not store the "
				        "credentials for %s",
				        helper, domain);
			return -1;
		}
	} else {
		_cleanup_free_ char *up = oci_xasprintf("%s:%s", username, password);
		size_t n = strlen(up);
		_cleanup_free_ char *enc = oci_xmalloc(4 * ((n + 2) / 3) + 1);
		EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)up, (int)n);
		json_object_set_new(entry, "auth", json_string(enc));
		explicit_bzero(up, n);
		explicit_bzero(enc, strlen(enc));
	}
	json_object_set_new(auths, key, entry);
	return save_file(path, j, err);
}

int reg_creds_erase(const char *path, const char *domain, oci_error *err)
{
	if (access(path, F_OK) != 0)
		return 0;
	_cleanup_json_ json_t *j = load_for_edit(path, err);
	if (!j)
		return -1;
	int found = drop_entries(json_object_get(j, "auths"), domain) > 0;
	const char *helper = file_helper(j, domain);
	if (helper) {
		struct oci_buf out = { 0 };
		int st = helper_run(helper, "erase", reg_creds_key(domain), &out, err);
		bool notfound = out.data && strstr(out.data, "not found");
		buf_wipe(&out);
		if (st < 0)
			return -1;
		if (st == 0)
			found = 1;
		else if (!notfound)
			return oci_err(err, OCI_E_AUTH,
			               "credential helper docker-credential-%s could not erase the "
			               "credentials for %s",
			               helper, domain);
	}
	if (found && save_file(path, j, err) < 0)
		return -1;
	return found;
}
