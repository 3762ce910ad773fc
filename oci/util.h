/* oci/util.h: the allocator, a growable byte buffer, and a clock.
 *
 * Allocation failure is not recoverable in a CLI tool: the oci_x* functions
 * print "ccreg: out of memory" and abort instead of returning NULL.  What
 * they return belongs to the caller (free()).  An oci_buf owns its data;
 * oci_buf_release frees it and leaves an empty buffer (zeroed = empty).
 */
#ifndef CCREG_OCI_UTIL_H
#define CCREG_OCI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *oci_xmalloc(size_t n);
void *oci_xcalloc(size_t n, size_t sz);
void *oci_xrealloc(void *p, size_t n);
char *oci_xstrdup(const char *s);   /* NULL stays NULL */
char *oci_xstrndup(const char *s, size_t n);
char *oci_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable byte buffer (always NUL-terminated past len). */
struct oci_buf {
	char *data;
	size_t len, cap;
};
void oci_buf_append(struct oci_buf *b, const void *p, size_t n);
void oci_buf_release(struct oci_buf *b);

/* *sum += v; false when that overflows (sizes a server sent, summed). */
static inline bool oci_add_checked(int64_t *sum, int64_t v)
{
	return !__builtin_add_overflow(*sum, v, sum);
}

/* Milliseconds on the monotonic clock (for durations, not dates). */
int64_t oci_now_ms(void);

#endif
