#include "oci/ref.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "oci/cleanup.h"
#include "oci/digest.h"
#include "oci/util.h"

#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)* over s[0..n) */
static bool component_valid(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0)
		return false;
	while (i < n) {
		if (!is_lower_alnum(s[i]))
			return false;
		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == n)
			return true;
		size_t sep = i;
		while (i < n && !is_lower_alnum(s[i]))
			i++;
		size_t len = i - sep;
		bool ok = (len == 1 && (s[sep] == '.' || s[sep] == '_' || s[sep] == '-')) ||
		          (len == 2 && s[sep] == '_' && s[sep + 1] == '_');
		if (!ok && strspn(s + sep, "-") < len)
			return false;
		if (i == n)
			return false; /* trailing separator */
	}
	return true;
}

/* Checks path components; on failure returns the reason in *why (static or
 * written into buf). */
static bool path_check(const char *path, const char **why, char *buf, size_t bufsz)
{
	const char *p = path;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0) {
			*why = "empty path component";
			return false;
		}
		if (!component_valid(p, n)) {
			bool upper = false;
			for (size_t i = 0; i < n; i++)
				upper |= (p[i] >= 'A' && p[i] <= 'Z');
			if (upper) {
				*why = "repository name must be lowercase";
			} else {
				snprintf(buf, bufsz, "invalid path component \"%.*s\"",
				         (int)(n > 200 ? 200 : n), p);
				*why = buf;
			}
			return false;
		}
		if (!slash)
			return true;
		p = slash + 1;
	}
}

bool oci_path_valid(const char *path)
{
	char buf[256];
	const char *why;
	return path && strlen(path) <= NAME_MAX_LEN && path_check(path, &why, buf, sizeof buf);
}

bool oci_tag_valid(const char *tag)
{
	size_t n = tag ? strlen(tag) : 0;
	if (n == 0 || n > TAG_MAX_LEN)
		return false;
	if (!is_alnum(tag[0]) && tag[0] != '_')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(tag[i]) && !strchr("_.-", tag[i]))
			return false;
	return true;
}

static bool port_valid(const char *s)
{
	if (!*s)
		return false;
	return strspn(s, "0123456789") == strlen(s);
}

/* host (":" port)?, host = domain name components or "[" ipv6 "]" */
static bool domain_valid(const char *d)
{
	const char *p = d;
	if (*p == '[') {
		const char *close = strchr(p, ']');
		if (!close || close == p + 1)
			return false;
		for (const char *q = p + 1; q < close; q++)
			if (!isxdigit((unsigned char)*q) && *q != ':')
				return false;
		p = close + 1;
		if (!*p)
			return true;
		return *p == ':' && port_valid(p + 1);
	}
	for (;;) {
		size_t n = 0;
		while (is_alnum(p[n]) || p[n] == '-')
			n++;
		if (n == 0 || p[0] == '-' || p[n - 1] == '-')
			return false;
		p += n;
		if (*p == '.') {
			p++;
			continue;
		}
		if (!*p)
			return true;
		return *p == ':' && port_valid(p + 1);
	}
}

static bool is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

static int ref_parse(struct oci_ref *ref, const char *s, bool repo_only, oci_error *err)
{
	const char *what = repo_only ? "repository name" : "reference";
	_cleanup_free_ char *name = NULL, *tag = NULL, *digest = NULL;
	_cleanup_free_ char *domain = NULL, *path = NULL;
	char why_buf[300];
	const char *why = NULL;

	if (!s || !*s)
		return oci_err(err, OCI_E_USAGE, "invalid %s \"\": empty", what);
	if (is_hex64(s))
		return oci_err(err, OCI_E_USAGE,
		               "invalid %s \"%s\": cannot be a 64-character hexadecimal string",
		               what, s);

	const char *at = strchr(s, '@');
	name = oci_xstrndup(s, at ? (size_t)(at - s) : strlen(s));
	if (at) {
		oci_error derr = { 0 };
		if (oci_digest_validate(at + 1, &derr) < 0)
			return oci_err(err, OCI_E_USAGE, "invalid %s \"%.300s\": %s", what, s,
			               derr.msg);
		digest = oci_xstrdup(at + 1);
	}

	char *slash = strrchr(name, '/');
	char *colon = strrchr(slash ? slash : name, ':');
	if (colon) {
		*colon = '\0';
		const char *t = colon + 1;
		if (!*t)
			why = "empty tag";
		else if (strlen(t) > TAG_MAX_LEN)
			why = "tag longer than 128 characters";
		else if (!oci_tag_valid(t)) {
			snprintf(why_buf, sizeof why_buf, "invalid tag \"%.200s\"", t);
			why = why_buf;
		}
		if (why)
			return oci_err(err, OCI_E_USAGE, "invalid %s \"%.300s\": %s", what, s,
			               why);
		tag = oci_xstrdup(t);
	}
	if (!*name)
		return oci_err(err, OCI_E_USAGE, "invalid %s \"%.300s\": missing repository name",
		               what, s);

	/* distribution/reference splitDockerDomain */
	char *first = strchr(name, '/');
	bool has_domain = false;
	if (first) {
		size_t n = (size_t)(first - name);
		bool upper = false;
		for (size_t i = 0; i < n; i++)
			upper |= (name[i] >= 'A' && name[i] <= 'Z');
		has_domain = memchr(name, '.', n) || memchr(name, ':', n) ||
		             (n == 9 && memcmp(name, "localhost", 9) == 0) || upper;
	}
	if (has_domain) {
		domain = oci_xstrndup(name, (size_t)(first - name));
		path = oci_xstrdup(first + 1);
	} else {
		domain = oci_xstrdup("docker.io");
		path = oci_xstrdup(name);
	}
	if (strcmp(domain, "index.docker.io") == 0 || strcmp(domain, "registry-1.docker.io") == 0) {
		free(domain);
		domain = oci_xstrdup("docker.io");
	}
	if (strcmp(domain, "docker.io") == 0 && !strchr(path, '/')) {
		char *p = oci_xasprintf("library/%s", path);
		free(path);
		path = p;
	}

	if (!domain_valid(domain)) {
		snprintf(why_buf, sizeof why_buf, "invalid domain \"%.200s\"", domain);
		why = why_buf;
	} else if (!path_check(path, &why, why_buf, sizeof why_buf)) {
		/* why set */
	} else if (strlen(domain) + 1 + strlen(path) > NAME_MAX_LEN) {
		why = "name longer than 255 characters";
	}
	if (why)
		return oci_err(err, OCI_E_USAGE, "invalid %s \"%.300s\": %s", what, s, why);

	if (repo_only && (tag || digest))
		return oci_err(err, OCI_E_USAGE, "invalid %s \"%.300s\": %s not allowed", what, s,
		               tag ? "a tag is" : "a digest is");
	if (!repo_only && !tag && !digest)
		tag = oci_xstrdup("latest");

	ref->domain = TAKE_PTR(domain);
	ref->path = TAKE_PTR(path);
	ref->tag = TAKE_PTR(tag);
	ref->digest = TAKE_PTR(digest);
	return 0;
}

int oci_ref_parse(struct oci_ref *ref, const char *s, oci_error *err)
{
	return ref_parse(ref, s, false, err);
}

int oci_ref_parse_repo(struct oci_ref *ref, const char *s, oci_error *err)
{
	return ref_parse(ref, s, true, err);
}

void oci_ref_release(struct oci_ref *ref)
{
	if (!ref)
		return;
	free(ref->domain);
	free(ref->path);
	free(ref->tag);
	free(ref->digest);
	memset(ref, 0, sizeof *ref);
}

void oci_ref_copy(struct oci_ref *dst, const struct oci_ref *src)
{
	dst->domain = oci_xstrdup(src->domain);
	dst->path = oci_xstrdup(src->path);
	dst->tag = oci_xstrdup(src->tag);
	dst->digest = oci_xstrdup(src->digest);
}

const char *oci_ref_api_host(const struct oci_ref *ref)
{
	if (ref->domain && strcmp(ref->domain, "docker.io") == 0)
		return "registry-1.docker.io";
	return ref->domain;
}

const char *oci_ref_reference(const struct oci_ref *ref)
{
	if (ref->digest)
		return ref->digest;
	return ref->tag ? ref->tag : "latest";
}

char *oci_ref_string(const struct oci_ref *ref)
{
	return oci_xasprintf("%s/%s%s%s%s%s", ref->domain, ref->path, ref->tag ? ":" : "",
	                     ref->tag ? ref->tag : "", ref->digest ? "@" : "",
	                     ref->digest ? ref->digest : "");
}

char *oci_ref_name(const struct oci_ref *ref)
{
	return oci_xasprintf("%s/%s", ref->domain, ref->path);
}

bool oci_host_is_loopback(const char *domain)
{
	if (!domain || !*domain)
		return false;
	_cleanup_free_ char *host = NULL;
	if (domain[0] == '[') {
		const char *close = strchr(domain, ']');
		if (!close || (close[1] && (close[1] != ':' || !port_valid(close + 2))))
			return false;
		host = oci_xstrndup(domain + 1, (size_t)(close - domain - 1));
	} else {
		const char *colon = strchr(domain, ':');
		if (colon && strchr(colon + 1, ':')) {
			host = oci_xstrdup(domain); /* bare IPv6, no port */
		} else {
			if (colon && !port_valid(colon + 1))
				return false;
			host = oci_xstrndup(domain, colon ? (size_t)(colon - domain) : strlen(domain));
		}
	}
	if (strcasecmp(host, "localhost") == 0)
		return true;
	struct in_addr a4;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	struct in6_addr a6;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return memcmp(&a6, &in6addr_loopback, sizeof a6) == 0;
	return false;
}
