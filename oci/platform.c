#include "oci/platform.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "oci/cleanup.h"
#include "oci/util.h"

static void set_str(char **dst, const char *v)
{
	if (*dst == v)
		return;
	free(*dst);
	*dst = (v && *v) ? oci_xstrdup(v) : NULL;
}

static bool streq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* containerd's normalizeArch: canonical architecture and variant. */
static void norm_arch(const char *arch, const char *variant, const char **oa, const char **ov)
{
	static const char *const v[] = { "v5", "v6", "v7", "v8" };
	*oa = arch ? arch : "";
	*ov = variant && *variant ? variant : NULL;
	if (!arch)
		return;
	if (!strcmp(arch, "x86_64") || !strcmp(arch, "x86-64") || !strcmp(arch, "amd64")) {
		*oa = "amd64";
	} else if (!strcmp(arch, "i386") || !strcmp(arch, "i486") || !strcmp(arch, "i586") ||
	           !strcmp(arch, "i686") || !strcmp(arch, "386")) {
		*oa = "386";
	} else if (!strcmp(arch, "aarch64") || !strcmp(arch, "arm64")) {
		*oa = "arm64";
		if (*ov && (!strcmp(*ov, "8") || !strcmp(*ov, "v8.0")))
			*ov = "v8";
	} else if (!strcmp(arch, "armhf")) {
		*oa = "arm";
		*ov = "v7";
	} else if (!strcmp(arch, "armel")) {
		*oa = "arm";
		*ov = "v6";
	} else if (!strcmp(arch, "arm")) {
		if (*ov && strlen(*ov) == 1 && **ov >= '5' && **ov <= '8')
			*ov = v[**ov - '5'];
	}
}

/* Variant with the architecture's default applied (arm64 → v8, arm → v7). */
static const char *eff_variant(const char *arch, const char *variant)
{
	if (variant)
		return variant;
	if (!strcmp(arch, "arm64"))
		return "v8";
	if (!strcmp(arch, "amd64"))
		return "v1";
	if (!strcmp(arch, "arm"))
		return "v7";
	return NULL;
}

static char *lower_dup(const char *s)
{
	if (!s || !*s)
		return NULL;
	char *d = oci_xstrdup(s);
	for (char *p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

void oci_platform_normalize(struct oci_platform *p)
{
	char *os = lower_dup(p->os);
	if (os && !strcmp(os, "macos")) {
		free(os);
		os = oci_xstrdup("darwin");
	}
	free(p->os);
	p->os = os;

	_cleanup_free_ char *arch = lower_dup(p->architecture);
	_cleanup_free_ char *variant = lower_dup(p->variant);
	const char *na, *nv;
	norm_arch(arch, variant, &na, &nv);
	char *a2 = *na ? oci_xstrdup(na) : NULL;
	char *v2 = oci_xstrdup(nv);
	free(p->architecture);
	free(p->variant);
	p->architecture = a2;
	p->variant = v2;
	if (p->os_version && !*p->os_version)
		set_str(&p->os_version, NULL);
}

void oci_platform_set(struct oci_platform *p, const char *os, const char *arch,
                      const char *variant)
{
	_cleanup_free_ char *o = oci_xstrdup(os), *a = oci_xstrdup(arch), *v = oci_xstrdup(variant);
	set_str(&p->os, o);
	set_str(&p->architecture, a);
	set_str(&p->variant, v);
	oci_platform_normalize(p);
}

static bool part_valid(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
			return false;
	return true;
}

static bool is_known_os(const char *s)
{
	static const char *const oses[] = { "linux", "windows", "darwin", "freebsd",
		                            "netbsd", "openbsd", "solaris", "illumos",
		                            "android", "ios", "aix", "plan9", "macos" };
	for (size_t i = 0; i < ARRAY_SIZE(oses); i++)
		if (!strcasecmp(s, oses[i]))
			return true;
	return false;
}

int oci_platform_parse(struct oci_platform *p, const char *s, oci_error *err)
{
	const char *part[4];
	size_t len[4], n = 0;
	if (!s || !*s)
		return oci_err(err, OCI_E_USAGE, "invalid platform \"\": empty");
	for (const char *q = s;;) {
		const char *slash = strchr(q, '/');
		if (n == 3)
			return oci_err(err, OCI_E_USAGE,
			               "invalid platform \"%.200s\": expected os/arch[/variant]", s);
		part[n] = q;
		len[n] = slash ? (size_t)(slash - q) : strlen(q);
		if (!part_valid(q, len[n]))
			return oci_err(err, OCI_E_USAGE,
			               "invalid platform \"%.200s\": %s component \"%.*s\"", s,
			               len[n] ? "invalid" : "empty", (int)len[n], q);
		n++;
		if (!slash)
			break;
		q = slash + 1;
	}
	_cleanup_free_ char *os = NULL, *arch = NULL, *variant = NULL;
	if (n == 1) {
		if (is_known_os(s))
			return oci_err(err, OCI_E_USAGE,
			               "invalid platform \"%.200s\": missing architecture", s);
		os = oci_xstrdup("linux");
		arch = oci_xstrdup(s);
	} else {
		os = oci_xstrndup(part[0], len[0]);
		arch = oci_xstrndup(part[1], len[1]);
		if (n == 3)
			variant = oci_xstrndup(part[2], len[2]);
	}
	struct oci_platform t = { 0 };
	oci_platform_set(&t, os, arch, variant);
	*p = t;
	return 0;
}

char *oci_platform_string(const struct oci_platform *p)
{
	return oci_xasprintf("%s/%s%s%s", p->os ? p->os : "unknown",
	                     p->architecture ? p->architecture : "unknown",
	                     p->variant ? "/" : "", p->variant ? p->variant : "");
}

/* Normalized, case-folded comparison values for os/arch/variant. */
struct norm {
	char *os, *arch, *variant;
	bool explicit_variant;
};

static void norm_init(struct norm *n, const struct oci_platform *p)
{
	struct oci_platform t = { 0 };
	oci_platform_set(&t, p->os, p->architecture, p->variant);
	n->os = t.os;
	n->arch = t.architecture ? t.architecture : oci_xstrdup("");
	n->explicit_variant = t.variant != NULL;
	n->variant = oci_xstrdup(eff_variant(n->arch, t.variant));
	free(t.variant);
}

static void norm_release(struct norm *n)
{
	free(n->os);
	free(n->arch);
	free(n->variant);
}

bool oci_platform_match(const struct oci_platform *want, const struct oci_platform *have)
{
	struct norm w, h;
	norm_init(&w, want);
	norm_init(&h, have);
	bool ok = streq(w.os, h.os) && streq(w.arch, h.arch);
	/* a want without an explicit variant accepts any variant */
	if (ok && w.explicit_variant)
		ok = streq(w.variant, h.variant);
	if (ok && want->os_version && *want->os_version)
		ok = streq(want->os_version, have->os_version);
	norm_release(&w);
	norm_release(&h);
	return ok;
}

bool oci_platform_equal(const struct oci_platform *a, const struct oci_platform *b)
{
	struct norm x, y;
	norm_init(&x, a);
	norm_init(&y, b);
	bool ok = streq(x.os, y.os) && streq(x.arch, y.arch) && streq(x.variant, y.variant) &&
	          streq(a->os_version, b->os_version);
	norm_release(&x);
	norm_release(&y);
	return ok;
}

void oci_platform_copy(struct oci_platform *dst, const struct oci_platform *src)
{
	dst->os = oci_xstrdup(src->os);
	dst->architecture = oci_xstrdup(src->architecture);
	dst->variant = oci_xstrdup(src->variant);
	dst->os_version = oci_xstrdup(src->os_version);
}

void oci_platform_release(struct oci_platform *p)
{
	if (!p)
		return;
	free(p->os);
	free(p->architecture);
	free(p->variant);
	free(p->os_version);
	memset(p, 0, sizeof *p);
}
