/* oci/platform.h: platforms ("linux/amd64", "linux/arm64/v8").
 *
 * Normalization (containerd's rules): x86_64/x86-64 → amd64, aarch64 → arm64,
 * armhf/armel → arm (v7/v6), i386/i686 → 386; os lowercased.  For arm64 the
 * variant "v8" is the default: a want without variant matches any have
 * (amd64 with no variant matches v1..v4 too), and arm64 with no variant
 * matches arm64/v8 in both directions.
 */
#ifndef CCREG_OCI_PLATFORM_H
#define CCREG_OCI_PLATFORM_H

#include <stdbool.h>

#include "oci/error.h"

struct oci_platform {
	char *os;           /* "linux" */
	char *architecture; /* "amd64" */
	char *variant;      /* NULL or "v8" */
	char *os_version;   /* NULL unless given (Windows) */
};

/* "os/arch[/variant]" or "arch" alone (os defaults to linux); normalizes.
 * OCI_E_USAGE on malformed input. */
int oci_platform_parse(struct oci_platform *p, const char *s, oci_error *err);
void oci_platform_set(struct oci_platform *p, const char *os, const char *arch,
                      const char *variant); /* copies and normalizes */
void oci_platform_normalize(struct oci_platform *p);
/* "linux/arm64/v8" or "linux/amd64"; caller frees. */
char *oci_platform_string(const struct oci_platform *p);
/* Does `have` (from a manifest/config) satisfy `want` (what a user asked for)? */
bool oci_platform_match(const struct oci_platform *want, const struct oci_platform *have);
/* Same platform, variants compared after arm64's v8 default is applied. */
bool oci_platform_equal(const struct oci_platform *a, const struct oci_platform *b);
void oci_platform_copy(struct oci_platform *dst, const struct oci_platform *src);
void oci_platform_release(struct oci_platform *p);
static inline void oci_platform_releasep(struct oci_platform *p) { oci_platform_release(p); }

#endif
