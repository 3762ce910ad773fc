/* tests/test-platform.c: platform parsing, normalization and matching. */
#include <stdlib.h>
#include <string.h>

#include "oci/platform.h"
#include "tests/tap.h"

static void parse_case(const char *in, const char *want)
{
	struct oci_platform p = { 0 };
	oci_error err = { 0 };
	int r = oci_platform_parse(&p, in, &err);
	if (want) {
		char *s = r == 0 ? oci_platform_string(&p) : NULL;
		is_str(s, want, in);
		if (r)
			printf("#   error: %s\n", err.msg);
		free(s);
	} else {
		ok(r == -1 && err.code == OCI_E_USAGE && strstr(err.msg, "invalid platform"),
		   "invalid platform \"%s\": %s", in, err.msg);
	}
	oci_platform_release(&p);
}

static int match(const char *want, const char *have)
{
	struct oci_platform w = { 0 }, h = { 0 };
	if (oci_platform_parse(&w, want, NULL) || oci_platform_parse(&h, have, NULL))
		return -1;
	int m = oci_platform_match(&w, &h);
	oci_platform_release(&w);
	oci_platform_release(&h);
	return m;
}

static int equal(const char *a, const char *b)
{
	struct oci_platform x = { 0 }, y = { 0 };
	if (oci_platform_parse(&x, a, NULL) || oci_platform_parse(&y, b, NULL))
		return -1;
	int m = oci_platform_equal(&x, &y);
	oci_platform_release(&x);
	oci_platform_release(&y);
	return m;
}

int main(void)
{
	parse_case("linux/amd64", "linux/amd64");
	parse_case("linux/arm64/v8", "linux/arm64/v8");
	parse_case("linux/arm64", "linux/arm64");
	parse_case("linux/x86_64", "linux/amd64");
	parse_case("linux/x86-64", "linux/amd64");
	parse_case("linux/aarch64", "linux/arm64");
	parse_case("linux/aarch64/8", "linux/arm64/v8");
	parse_case("Linux/AMD64", "linux/amd64");
	parse_case("linux/armhf", "linux/arm/v7");
	parse_case("linux/armel", "linux/arm/v6");
	parse_case("linux/arm/7", "linux/arm/v7");
	parse_case("linux/i686", "linux/386");
	parse_case("linux/386", "linux/386");
	parse_case("amd64", "linux/amd64");
	parse_case("aarch64", "linux/arm64");
	parse_case("windows/amd64", "windows/amd64");
	parse_case("linux/ppc64le", "linux/ppc64le");
	parse_case("linux/riscv64", "linux/riscv64");
	parse_case("", NULL);
	parse_case("linux", NULL);
	parse_case("linux/", NULL);
	parse_case("/amd64", NULL);
	parse_case("linux//v8", NULL);
	parse_case("linux/arm64/v8/x", NULL);
	parse_case("linux/amd 64", NULL);

	/* set copies and normalizes; os_version survives copy */
	struct oci_platform p = { 0 }, q = { 0 };
	oci_platform_set(&p, "linux", "x86_64", NULL);
	is_str(p.architecture, "amd64", "set normalizes x86_64");
	ok(p.variant == NULL, "no variant");
	oci_platform_set(&p, "linux", "aarch64", "v8");
	is_str(p.architecture, "arm64", "set again normalizes aarch64");
	is_str(p.variant, "v8", "variant v8 kept");
	p.os_version = strdup("10.0.17763.1234");
	oci_platform_copy(&q, &p);
	oci_platform_release(&p);
	ok(p.os == NULL && p.architecture == NULL, "release zeroes");
	is_str(q.os_version, "10.0.17763.1234", "copy keeps os.version");
	char *s = oci_platform_string(&q);
	is_str(s, "linux/arm64/v8", "string of copy");
	free(s);
	oci_platform_release(&q);

	struct oci_platform raw = { .os = strdup("LINUX"), .architecture = strdup("x86_64") };
	oci_platform_normalize(&raw);
	is_str(raw.architecture, "amd64", "normalize in place");
	is_str(raw.os, "linux", "normalize lowercases os");
	oci_platform_release(&raw);

	/* matching: want, have, expected */
	static const struct {
		const char *want, *have;
		int m;
	} mc[] = {
		{ "linux/amd64", "linux/amd64", 1 },
		{ "linux/amd64", "linux/x86_64", 1 },
		{ "linux/amd64", "linux/amd64/v3", 1 },
		{ "linux/amd64/v3", "linux/amd64", 0 },
		{ "linux/amd64/v2", "linux/amd64/v2", 1 },
		{ "linux/amd64", "linux/arm64", 0 },
		{ "linux/amd64", "windows/amd64", 0 },
		{ "linux/arm64", "linux/arm64/v8", 1 },
		{ "linux/arm64/v8", "linux/arm64", 1 },
		{ "linux/arm64/v8", "linux/arm64/v8", 1 },
		{ "linux/arm64/v7", "linux/arm64/v8", 0 },
		{ "linux/arm64/v8", "linux/arm64/v9", 0 },
		{ "linux/arm/v7", "linux/arm64/v8", 0 },
		{ "linux/arm/v7", "linux/arm64", 0 },
		{ "linux/aarch64", "linux/arm64/v8", 1 },
		{ "linux/arm/v7", "linux/arm", 1 },
		{ "linux/arm/v6", "linux/arm/v7", 0 },
		{ "arm64", "linux/arm64/v8", 1 },
	};
	for (size_t i = 0; i < sizeof mc / sizeof mc[0]; i++)
		is_int(match(mc[i].want, mc[i].have), mc[i].m, mc[i].want);

	/* the unknown/unknown of attestations never matches a real platform */
	struct oci_platform unk = { .os = "unknown", .architecture = "unknown" };
	struct oci_platform amd = { .os = "linux", .architecture = "amd64" };
	ok(!oci_platform_match(&amd, &unk), "unknown/unknown does not match linux/amd64");

	struct oci_platform win = { .os = "windows", .architecture = "amd64",
		                    .os_version = "10.0.17763.1" };
	struct oci_platform win2 = { .os = "windows", .architecture = "amd64",
		                     .os_version = "10.0.20348.1" };
	struct oci_platform winany = { .os = "windows", .architecture = "amd64" };
	ok(!oci_platform_match(&win, &win2), "os.version must match when wanted");
	ok(oci_platform_match(&winany, &win2), "no os.version wanted matches any");
	ok(!oci_platform_equal(&win, &win2), "different os.version not equal");

	is_int(equal("linux/arm64", "linux/arm64/v8"), 1, "arm64 equals arm64/v8");
	is_int(equal("linux/arm64/v8", "linux/aarch64"), 1, "arm64/v8 equals aarch64");
	is_int(equal("linux/amd64", "linux/x86_64"), 1, "amd64 equals x86_64");
	is_int(equal("linux/amd64", "linux/amd64/v3"), 0, "amd64 differs from amd64/v3");
	is_int(equal("linux/arm64/v8", "linux/arm64/v9"), 0, "v8 differs from v9");
	is_int(equal("linux/amd64", "linux/arm64"), 0, "amd64 differs from arm64");
	return tap_done();
}
