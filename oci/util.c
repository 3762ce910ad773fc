/* oci/util.c: the allocator, oci_buf and the clock (oci/util.h). */
/* vasprintf (meson already defines it for gnu11; plain gcc does not) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "oci/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *oom(void)
{
	fputs("ccreg: out of memory\n", stderr);
	abort();
}

void *oci_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	return p ? p : oom();
}

void *oci_xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	return p ? p : oom();
}

void *oci_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	return p ? p : oom();
}

char *oci_xstrdup(const char *s)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	return d ? d : oom();
}

char *oci_xstrndup(const char *s, size_t n)
{
	char *d = strndup(s, n);
	return d ? d : oom();
}

char *oci_xasprintf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? oom() : s;
}

void oci_buf_append(struct oci_buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = oci_xrealloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void oci_buf_release(struct oci_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int64_t oci_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
