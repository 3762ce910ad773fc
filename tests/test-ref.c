/* tests/test-ref.c: reference parsing and Docker normalization (oci/ref.h). */
#include <stdlib.h>
#include <string.h>

#include "oci/cleanup.h"
#include "oci/ref.h"
#include "oci/util.h"
#include "tests/tap.h"

#define H64 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define D256 "sha256:" H64

struct rcase {
	const char *in;
	const char *want; /* normalized oci_ref_string, or NULL when invalid */
	const char *err;  /* substring of the error for invalid ones */
};

static const struct rcase cases[] = {
	/* Docker normalization */
	{ "julia", "docker.io/library/julia:latest", NULL },
	{ "julia:1.10", "docker.io/library/julia:1.10", NULL },
	{ "sagemathinc/julia:1.10.1", "docker.io/sagemathinc/julia:1.10.1", NULL },
	{ "docker.io/foo", "docker.io/library/foo:latest", NULL },
	{ "docker.io/foo/bar", "docker.io/foo/bar:latest", NULL },
	{ "docker.io/library/foo:1", "docker.io/library/foo:1", NULL },
	{ "index.docker.io/foo", "docker.io/library/foo:latest", NULL },
	{ "index.docker.io/foo/bar:x", "docker.io/foo/bar:x", NULL },
	{ "registry-1.docker.io/foo", "docker.io/library/foo:latest", NULL },
	{ "a/b/c/d", "docker.io/a/b/c/d:latest", NULL },
	{ "docker.io", "docker.io/library/docker.io:latest", NULL },
	{ "localhost", "docker.io/library/localhost:latest", NULL },
	{ "localhost:5000", "docker.io/library/localhost:5000", NULL },
	/* explicit domains */
	{ "localhost/foo", "localhost/foo:latest", NULL },
	{ "localhost:5000/foo", "localhost:5000/foo:latest", NULL },
	{ "localhost:5000/foo/bar:v1", "localhost:5000/foo/bar:v1", NULL },
	{ "127.0.0.1:5000/a/b:t@" D256, "127.0.0.1:5000/a/b:t@" D256, NULL },
	{ "127.0.0.1:5000/a/b@" D256, "127.0.0.1:5000/a/b@" D256, NULL },
	{ "[::1]:5000/x", "[::1]:5000/x:latest", NULL },
	{ "[::1]/x:y", "[::1]/x:y", NULL },
	{ "[2001:db8::1]:443/a/b", "[2001:db8::1]:443/a/b:latest", NULL },
	{ "Foo.com/bar", "Foo.com/bar:latest", NULL },
	{ "Foo/bar", "Foo/bar:latest", NULL },
	{ "ghcr.io/org/img:sha-abc123", "ghcr.io/org/img:sha-abc123", NULL },
	{ "quay.io/a-b/c_d:e.f-g", "quay.io/a-b/c_d:e.f-g", NULL },
	{ "my-registry.example.com:8443/team/app", "my-registry.example.com:8443/team/app:latest", NULL },
	{ "host.com/a:TAG_Upper", "host.com/a:TAG_Upper", NULL },
	{ "host/a", "docker.io/host/a:latest", NULL },
	{ "foo:_tag", "docker.io/library/foo:_tag", NULL },
	{ "foo@" D256, "docker.io/library/foo@" D256, NULL },
	{ "foo:1@" D256, "docker.io/library/foo:1@" D256, NULL },
	{ "host:5000/a/b@sha512:"
	  "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
	  "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
	  "host:5000/a/b@sha512:"
	  "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
	  "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e", NULL },
	/* separators */
	{ "a__b", "docker.io/library/a__b:latest", NULL },
	{ "a--b", "docker.io/library/a--b:latest", NULL },
	{ "a---b", "docker.io/library/a---b:latest", NULL },
	{ "a.b", "docker.io/library/a.b:latest", NULL },
	{ "a_b", "docker.io/library/a_b:latest", NULL },
	{ "a-b.c_d__e", "docker.io/library/a-b.c_d__e:latest", NULL },
	{ "0/1", "docker.io/0/1:latest", NULL },
	{ "a___b", NULL, "invalid path component \"a___b\"" },
	{ "-a", NULL, "invalid path component" },
	{ "a-", NULL, "invalid path component" },
	{ "a..b", NULL, "invalid path component \"a..b\"" },
	{ "a._b", NULL, "invalid path component" },
	{ "_a", NULL, "invalid path component" },
	{ "a.", NULL, "invalid path component" },
	{ "host/a/.b", NULL, "invalid path component" },
	/* case */
	{ "Julia", NULL, "repository name must be lowercase" },
	{ "sagemathinc/Julia", NULL, "repository name must be lowercase" },
	{ "host:5000/A/b", NULL, "repository name must be lowercase" },
	/* empty parts */
	{ "", NULL, "empty" },
	{ "a//b", NULL, "empty path component" },
	{ "foo/", NULL, "empty path component" },
	{ "/foo", NULL, "empty path component" },
	{ "localhost:5000/", NULL, "empty path component" },
	{ ":tag", NULL, "missing repository name" },
	{ "foo:", NULL, "empty tag" },
	{ "@" D256, NULL, "missing repository name" },
	/* tags */
	{ "foo:-tag", NULL, "invalid tag \"-tag\"" },
	{ "foo:.tag", NULL, "invalid tag" },
	{ "foo:ta+g", NULL, "invalid tag" },
	{ "foo:a:b", NULL, "invalid" },
	/* digests */
	{ "foo@sha256:abc", NULL, "invalid digest \"sha256:abc\": sha256 needs 64 hex characters" },
	{ "foo@" "sha256:" "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", NULL,
	  "lowercase hex" },
	{ "foo@md5:d41d8cd98f00b204e9800998ecf8427e", NULL, "unsupported algorithm" },
	{ "foo@", NULL, "invalid digest" },
	{ "foo@" D256 "@" D256, NULL, "invalid digest" },
	{ "foo@" D256 ":tag", NULL, "invalid digest" },
	/* domains */
	{ "-host.com/a", NULL, "invalid domain \"-host.com\"" },
	{ "host-.com/a", NULL, "invalid domain" },
	{ "host..com/a", NULL, "invalid domain" },
	{ "host:port/a", NULL, "invalid domain \"host:port\"" },
	{ "host:/a", NULL, "invalid domain" },
	{ "[::1/a", NULL, "invalid" },
	{ "[::g]:5000/a", NULL, "invalid domain" },
	{ "[]:5000/a", NULL, "invalid domain" },
	{ "ho_st.com/a", NULL, "invalid domain" },
	{ "[::1]:5000", NULL, "invalid" },
	/* docker refuses bare image IDs */
	{ H64, NULL, "64-character hexadecimal" },
	{ "white space", NULL, "invalid" },
};

static char *repeat(char c, size_t n)
{
	char *s = oci_xmalloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void check(const char *in, const char *want, const char *errsub)
{
	struct oci_ref r = { 0 };
	oci_error err = { 0 };
	int rc = oci_ref_parse(&r, in, &err);
	if (want) {
		_cleanup_free_ char *s = rc == 0 ? oci_ref_string(&r) : NULL;
		ok(rc == 0 && s && strcmp(s, want) == 0, "valid: %.80s -> %.120s", in, want);
		if (rc != 0)
			printf("#   error: %s\n", err.msg);
		else if (strcmp(s, want))
			printf("#   got: %s\n", s);
	} else {
		ok(rc == -1 && err.code == OCI_E_USAGE && strstr(err.msg, "invalid reference \"") &&
		           strstr(err.msg, errsub),
		   "invalid: %.80s (%s)", in, errsub);
		if (rc == 0) {
			_cleanup_free_ char *s = oci_ref_string(&r);
			printf("#   parsed as: %s\n", s);
		} else if (!strstr(err.msg, errsub)) {
			printf("#   error: %s\n", err.msg);
		}
		ok(!r.domain && !r.path && !r.tag && !r.digest, "no output on failure: %.60s", in);
	}
	oci_ref_release(&r);
}

int main(void)
{
	size_t n = sizeof cases / sizeof cases[0];
	ok(n >= 70, "table has %zu cases", n);
	for (size_t i = 0; i < n; i++)
		check(cases[i].in, cases[i].want, cases[i].err);

	/* length limits */
	_cleanup_free_ char *t128 = repeat('t', 128), *t129 = repeat('t', 129);
	_cleanup_free_ char *in = oci_xasprintf("foo:%s", t128);
	_cleanup_free_ char *want = oci_xasprintf("docker.io/library/foo:%s", t128);
	check(in, want, NULL);
	free(in);
	in = oci_xasprintf("foo:%s", t129);
	check(in, NULL, "tag longer than 128 characters");
	ok(oci_tag_valid(t128) && !oci_tag_valid(t129), "oci_tag_valid 128 vs 129");

	/* "example.com/" is 12 characters: a path of 243 makes a 255 name */
	_cleanup_free_ char *p243 = repeat('a', 243), *p244 = repeat('a', 244);
	free(in);
	in = oci_xasprintf("example.com/%s", p243);
	free(want);
	want = oci_xasprintf("%s:latest", in);
	check(in, want, NULL);
	free(in);
	in = oci_xasprintf("example.com/%s", p244);
	check(in, NULL, "name longer than 255 characters");
	/* normalization counts: docker.io/library/ + 237 = 255 */
	_cleanup_free_ char *p237 = repeat('b', 237), *p238 = repeat('b', 238);
	free(want);
	want = oci_xasprintf("docker.io/library/%s:latest", p237);
	check(p237, want, NULL);
	check(p238, NULL, "name longer than 255 characters");

	/* fields */
	struct oci_ref r = { 0 };
	oci_error err = { 0 };
	ok(oci_ref_parse(&r, "127.0.0.1:5000/a/b:t@" D256, &err) == 0, "parse tag+digest");
	is_str(r.domain, "127.0.0.1:5000", "domain");
	is_str(r.path, "a/b", "path");
	is_str(r.tag, "t", "tag");
	is_str(r.digest, D256, "digest");
	is_str(oci_ref_reference(&r), D256, "reference prefers the digest");
	is_str(oci_ref_api_host(&r), "127.0.0.1:5000", "api host of explicit domain");
	char *s = oci_ref_name(&r);
	is_str(s, "127.0.0.1:5000/a/b", "name");
	free(s);
	struct oci_ref c = { 0 };
	oci_ref_copy(&c, &r);
	oci_ref_release(&r);
	s = oci_ref_string(&c);
	is_str(s, "127.0.0.1:5000/a/b:t@" D256, "copy survives release of the original");
	free(s);
	oci_ref_release(&c);
	ok(!c.domain && !c.path, "release zeroes");

	ok(oci_ref_parse(&r, "julia", &err) == 0, "parse julia");
	is_str(r.domain, "docker.io", "julia domain");
	is_str(r.path, "library/julia", "julia path");
	is_str(r.tag, "latest", "julia default tag");
	ok(r.digest == NULL, "julia has no digest");
	is_str(oci_ref_api_host(&r), "registry-1.docker.io", "docker.io api host");
	is_str(oci_ref_reference(&r), "latest", "reference is the tag");
	s = oci_ref_name(&r);
	is_str(s, "docker.io/library/julia", "julia name");
	free(s);
	oci_ref_release(&r);

	ok(oci_ref_parse(&r, "foo@" D256, &err) == 0 && r.tag == NULL,
	   "digest-only reference gets no default tag");
	oci_ref_release(&r);

	/* repositories */
	ok(oci_ref_parse_repo(&r, "sagemathinc/julia", &err) == 0, "repo parses");
	is_str(r.path, "sagemathinc/julia", "repo path");
	ok(r.tag == NULL && r.digest == NULL, "repo has no tag");
	s = oci_ref_name(&r);
	is_str(s, "docker.io/sagemathinc/julia", "repo name");
	free(s);
	oci_ref_release(&r);
	ok(oci_ref_parse_repo(&r, "localhost:5000/a/b", &err) == 0, "repo with port parses");
	is_str(r.domain, "localhost:5000", "repo domain with port");
	oci_ref_release(&r);
	ok(oci_ref_parse_repo(&r, "julia:1.0", &err) == -1 && err.code == OCI_E_USAGE &&
	           strstr(err.msg, "tag"),
	   "repo refuses a tag: %s", err.msg);
	ok(oci_ref_parse_repo(&r, "julia@" D256, &err) == -1 && strstr(err.msg, "digest"),
	   "repo refuses a digest: %s", err.msg);
	ok(oci_ref_parse_repo(&r, "Julia", &err) == -1 && strstr(err.msg, "lowercase"),
	   "repo validates the grammar");
	ok(!r.domain, "nothing written on refusal");

	/* helpers */
	ok(oci_path_valid("library/julia"), "path_valid library/julia");
	ok(oci_path_valid("a__b/c-d/e.f"), "path_valid separators");
	ok(!oci_path_valid("a//b"), "path_valid rejects empty component");
	ok(!oci_path_valid("A/b"), "path_valid rejects uppercase");
	ok(!oci_path_valid(""), "path_valid rejects empty");
	ok(!oci_tag_valid("") && !oci_tag_valid("-x") && oci_tag_valid("X_1.0-rc"), "tag_valid");

	static const struct {
		const char *host;
		int loop;
	} hosts[] = {
		{ "localhost", 1 },    { "localhost:5000", 1 },   { "LOCALHOST:5000", 1 },
		{ "127.0.0.1", 1 },    { "127.0.0.1:5000", 1 },   { "127.1.2.3:80", 1 },
		{ "::1", 1 },          { "[::1]", 1 },            { "[::1]:5000", 1 },
		{ "docker.io", 0 },    { "128.0.0.1:5000", 0 },   { "127.0.0.1.nip.io", 0 },
		{ "localhost.evil.com", 0 }, { "[::2]:5000", 0 }, { "10.0.0.1", 0 },
		{ "127.0.0.1:port", 0 }, { "", 0 },
	};
	for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++)
		ok(oci_host_is_loopback(hosts[i].host) == !!hosts[i].loop, "loopback(%s) = %d",
		   hosts[i].host, hosts[i].loop);
	ok(!oci_host_is_loopback(NULL), "loopback(NULL)");
	return tap_done();
}
