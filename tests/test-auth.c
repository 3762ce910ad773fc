/* tests/test-auth.c: WWW-Authenticate and Link parsing, token scope sets,
 * URL redaction, and the auth file (lookup, login/logout storage). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/cleanup.h"
#include "registry/auth.h"
#include "oci/util.h"
#include "registry/client.h"
#include "registry/creds.h"
#include "registry/transport.h"
#include "tests/tap.h"

struct want {
	const char *scheme, *realm, *service, *scope, *error;
};

static const struct {
	const char *name, *header;
	int n; /* -1: malformed */
	struct want c[3];
} challenges[] = {
	{ "Docker Hub form",
	  "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
	  "scope=\"repository:samalba/my-app:pull,push\"",
	  1, { { "bearer", "https://auth.docker.io/token", "registry.docker.io",
	         "repository:samalba/my-app:pull,push", NULL } } },
	{ "unquoted parameters with spaces after commas",
	  "Bearer realm=https://a.example/token, service=svc",
	  1, { { "bearer", "https://a.example/token", "svc", NULL, NULL } } },
	{ "spaces around =", "Bearer realm = \"r\" , service= \"s\"",
	  1, { { "bearer", "r", "s", NULL, NULL } } },
	{ "commas and spaces inside quotes, insufficient_scope",
	  "Bearer realm=\"http://127.0.0.1:1/token\",service=\"t\",scope=\"repository:a/b:pull,push "
	  "repository:a/c:pull\",error=\"insufficient_scope\"",
	  1, { { "bearer", "http://127.0.0.1:1/token", "t", "repository:a/b:pull,push repository:a/c:pull",
	         "insufficient_scope" } } },
	{ "several challenges in one header",
	  "Basic realm=\"Registry Realm\", Bearer realm=\"https://t/token\",service=\"s\"",
	  2, { { "basic", "Registry Realm", NULL, NULL, NULL },
	       { "bearer", "https://t/token", "s", NULL, NULL } } },
	{ "scheme and parameter names are case-insensitive", "BEARER REALM=\"x\",Service=\"y\"",
	  1, { { "bearer", "x", "y", NULL, NULL } } },
	{ "escaped quotes and backslashes", "Bearer realm=\"a\\\"b\",service=\"c\\\\d\"",
	  1, { { "bearer", "a\"b", "c\\d", NULL, NULL } } },
	{ "empty quoted value", "Bearer realm=\"\",service=\"s\"", 1, { { "bearer", "", "s", NULL, NULL } } },
	{ "unknown parameters are skipped, even with commas in quotes",
	  "Bearer realm=\"r\",foo=\"bar,baz\",service=\"s\"", 1, { { "bearer", "r", "s", NULL, NULL } } },
	{ "Basic alone", "Basic realm=\"basic-realm\"", 1, { { "basic", "basic-realm", NULL, NULL, NULL } } },
	{ "bare scheme", "Basic", 1, { { "basic", NULL, NULL, NULL, NULL } } },
	{ "three challenges, two kept", "Basic realm=a, Bearer realm=b, Digest realm=c",
	  2, { { "basic", "a", NULL, NULL, NULL }, { "bearer", "b", NULL, NULL, NULL } } },
	{ "empty header", "", 0, { { 0 } } },
	{ "only commas", " , ,", 0, { { 0 } } },
	{ "unterminated quote", "Bearer realm=\"https://t/token", -1, { { 0 } } },
	{ "parameter before any scheme", "realm=\"x\"", -1, { { 0 } } },
	{ "junk after a value", "Bearer realm=\"x\" junk", -1, { { 0 } } },
	{ "bad scheme character", "(Bearer) realm=x", -1, { { 0 } } },
};

static void test_challenges(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(challenges); i++) {
		struct reg_challenge out[2];
		int n = reg_parse_challenges(challenges[i].header, out, 2);
		is_int(n, challenges[i].n, challenges[i].name);
		for (int k = 0; k < n && k < challenges[i].n; k++) {
			const struct want *w = &challenges[i].c[k];
			char name[256];
			snprintf(name, sizeof name, "%s: challenge %d", challenges[i].name, k + 1);
			ok(strcmp(out[k].scheme, w->scheme) == 0 &&
			           (!w->realm == !out[k].realm) && (!w->realm || strcmp(out[k].realm, w->realm) == 0) &&
			           (!w->service == !out[k].service) &&
			           (!w->service || strcmp(out[k].service, w->service) == 0) &&
			           (!w->scope == !out[k].scope) && (!w->scope || strcmp(out[k].scope, w->scope) == 0) &&
			           (!w->error == !out[k].error) && (!w->error || strcmp(out[k].error, w->error) == 0),
			   "%s", name);
		}
		for (int k = 0; k < n; k++)
			reg_challenge_release(&out[k]);
	}
	is_int(reg_parse_challenges(NULL, NULL, 0), 0, "NULL header: no challenge");
}

static void test_link(void)
{
	static const struct {
		const char *link, *next, *name;
	} cases[] = {
		{ "</v2/a/tags/list?n=2&last=b>; rel=\"next\"", "/v2/a/tags/list?n=2&last=b", "registry form" },
		{ "<https://r/v2/a/tags/list?last=x>; rel=\"prev\", </v2/a/tags/list?last=y>; rel=\"next\"",
		  "/v2/a/tags/list?last=y", "next after prev" },
		{ "<u1>; rel=next", "u1", "unquoted rel" },
		{ "<u1>; REL=\"NEXT\"", "u1", "case-insensitive rel" },
		{ "<u1>; title=\"x\"; rel=\"prev next\"", "u1", "several relation types" },
		{ "<http://x/?a=1,2>; rel=\"next\"", "http://x/?a=1,2", "comma inside the URL" },
		{ "<u1>; rel=\"prev\"", NULL, "prev only" },
		{ "<u1>; rel=\"nextpage\"", NULL, "rel that only starts with next" },
		{ "<u1; rel=\"next\"", NULL, "unterminated URL" },
		{ "", NULL, "empty" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *got = reg_link_next(cases[i].link);
		is_str(got, cases[i].next, cases[i].name);
	}
}

static void test_scopes(void)
{
	char *u = reg_scopes_union("repository:a:pull", "repository:a:push");
	is_str(u, "repository:a:pull,push", "union merges actions of one repository");
	free(u);
	u = reg_scopes_union("repository:b:pull repository:a:push,pull", "repository:b:pull repository:c:pull");
	is_str(u, "repository:a:pull,push repository:b:pull repository:c:pull", "union is sorted and deduplicated");
	free(u);
	u = reg_scopes_union("repository:a:pull", NULL);
	is_str(u, "repository:a:pull", "union with nothing");
	free(u);
	u = reg_scopes_union("repository:host/a:b:pull", "");
	is_str(u, "repository:host/a:b:pull", "names with a colon keep it (actions after the last)");
	free(u);

	const char *wide = "repository:t:pull,push repository:s1:pull repository:s2:pull";
	ok(reg_scopes_cover(wide, "repository:s1:pull"), "a copy's token covers the source pull");
	ok(reg_scopes_cover(wide, "repository:t:push,pull"), "…and the target push, in any order");
	ok(reg_scopes_cover(wide, "repository:s2:pull repository:t:pull"), "…and a mount");
	ok(!reg_scopes_cover(wide, "repository:s1:push"), "not a push on the source");
	ok(!reg_scopes_cover(wide, "repository:s:pull"), "not another repository");
	ok(!reg_scopes_cover("repository:ab:pull", "repository:a:pull"), "no prefix matches");
	ok(reg_scopes_cover("repository:a:*", "repository:a:pull,push,delete"), "* covers every action");
	ok(reg_scopes_cover(wide, ""), "every set covers the empty one");
	ok(!reg_scopes_cover("", "repository:a:pull"), "the empty set covers nothing");
}

static void test_redact(void)
{
	static const struct {
		const char *url, *want, *name;
	} cases[] = {
		{ "https://s3.example/b/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc123&partNumber=1",
		  "https://s3.example/b/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&partNumber=1",
		  "pre-signed S3 URL" },
		{ "https://cdn.example/x?sig=zzz&se=2030&token=ttt#frag", "https://cdn.example/x?sig=REDACTED&se=2030&token=REDACTED#frag",
		  "signature and token parameters, fragment kept" },
		{ "https://user:pw@host:5000/v2/", "https://host:5000/v2/", "userinfo dropped" },
		{ "http://127.0.0.1:5000/v2/a/blobs/uploads/u?_state=abc&digest=sha256:00",
		  "http://127.0.0.1:5000/v2/a/blobs/uploads/u?_state=abc&digest=sha256:00", "upload URL unchanged" },
		{ "/v2/a/tags/list?n=10", "/v2/a/tags/list?n=10", "relative URL unchanged" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *got = reg_redact_url(cases[i].url);
		is_str(got, cases[i].want, cases[i].name);
	}
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	struct oci_buf b = { 0 };
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		oci_buf_append(&b, buf, n);
	fclose(f);
	return b.data ? b.data : oci_xstrdup("");
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static int lookup(const char *file, const char *domain, struct reg_creds *cr)
{
	struct reg_options o = { .auth_file = file };
	oci_error err = { 0 };
	struct reg_client *c = reg_client_new(&o, &err);
	int r = reg_creds_lookup(c, domain, cr, &err);
	reg_client_free(c);
	return r;
}

static void test_creds(void)
{
	char dir[] = "/tmp/ccreg-test-auth.XXXXXX";
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	_cleanup_free_ char *file = oci_xasprintf("%s/sub/config.json", dir);
	oci_error err = { 0 };

	is_str(reg_creds_key("docker.io"), "https://index.docker.io/v1/", "Docker Hub key");
	is_str(reg_creds_key("registry-1.docker.io"), "https://index.docker.io/v1/", "Docker Hub API host key");
	is_str(reg_creds_key("ghcr.io"), "ghcr.io", "other registries by host");

	/* store into a file that does not exist yet (its directory neither) */
	is_int(reg_creds_store(file, "docker.io", "u1", "p:w1", &err), 0, "store Docker Hub credentials");
	struct stat st;
	is_int(stat(file, &st) == 0 ? (long long)(st.st_mode & 0777) : -1, 0600, "file mode 0600");
	struct reg_creds cr = { 0 };
	is_int(lookup(file, "docker.io", &cr), 1, "lookup finds them");
	ok(cr.username && strcmp(cr.username, "u1") == 0 && strcmp(cr.secret, "p:w1") == 0 && !cr.identity_token,
	   "user and a password containing ':' survive the round trip");
	reg_creds_release(&cr);
	_cleanup_free_ char *text = slurp(file);
	ok(text && strstr(text, "\"https://index.docker.io/v1/\""), "stored under https://index.docker.io/v1/");

	/* other keys and entries are kept; an old key form for the same host is replaced */
	spit(file, "{\"auths\": {\"https://r.example:5000/v1/\": {\"auth\": \"b2xkOm9sZA==\"},"
	           " \"keep.example\": {\"auth\": \"a2VlcDprZWVw\"}}, \"psFormat\": \"table\"}");
	is_int(reg_creds_store(file, "r.example:5000", "new", "pw", &err), 0, "store over an old key form");
	free(text);
	text = slurp(file);
	ok(text && strstr(text, "\"r.example:5000\"") && !strstr(text, "https://r.example:5000/v1/") &&
	           strstr(text, "keep.example") && strstr(text, "psFormat"),
	   "one entry for the host; other entries and keys kept");
	is_int(lookup(file, "r.example:5000", &cr), 1, "lookup after the update");
	is_str(cr.username, "new", "the new user is found");
	reg_creds_release(&cr);

	is_int(reg_creds_erase(file, "r.example:5000", &err), 1, "erase removes the entry");
	is_int(reg_creds_erase(file, "r.example:5000", &err), 0, "erase again: nothing there");
	is_int(lookup(file, "keep.example", &cr), 1, "the other entry is still there");
	reg_creds_release(&cr);
	_cleanup_free_ char *missing = oci_xasprintf("%s/missing.json", dir);
	is_int(reg_creds_erase(missing, "r.example:5000", &err), 0, "erase from a missing file");

	/* lookup forms */
	spit(file, "{\"auths\": {\"http://h1:5000\": {\"username\": \"a\", \"password\": \"b\"},"
	           " \"h2\": {\"identitytoken\": \"refresh-me\"},"
	           " \"h3/ns\": {\"auth\": \"bnM6bnM=\"}, \"h4\": {\"auth\": \"!!!\"}}}");
	is_int(lookup(file, "h1:5000", &cr), 1, "username/password entry under an http:// key");
	is_str(cr.secret, "b", "its password");
	reg_creds_release(&cr);
	is_int(lookup(file, "h2", &cr), 1, "identity token entry");
	ok(cr.identity_token && strcmp(cr.secret, "refresh-me") == 0, "marked as an identity token");
	reg_creds_release(&cr);
	is_int(lookup(file, "h3", &cr), 0, "a namespace key does not match the bare host");
	is_int(lookup(file, "h4", &cr), -1, "bad base64 is an error");
	is_int(lookup(file, "nothing.example", &cr), 0, "unknown host: none");

	spit(file, "{not json");
	is_int(reg_creds_store(file, "h1", "u", "p", &err), -1, "store refuses to overwrite a malformed file");
	free(text);
	text = slurp(file);
	is_str(text, "{not json", "…and leaves it untouched");

	_cleanup_free_ char *cmd = oci_xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		ok(0, "cleanup");
}

int main(void)
{
	reg_global_init();
	test_challenges();
	test_link();
	test_scopes();
	test_redact();
	test_creds();
	reg_global_cleanup();
	return tap_done();
}
