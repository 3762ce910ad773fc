/* oci/cleanup.h: scoped cleanup helpers, systemd/crun style.
 *
 *   _cleanup_free_ char *s = strdup("x");   freed at scope exit
 *   return TAKE_PTR(s);                     hands ownership out
 */
#ifndef CCREG_OCI_CLEANUP_H
#define CCREG_OCI_CLEANUP_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void oci_freep(void *p) { free(*(void **)p); }
static inline void oci_json_decrefp(json_t **p) { if (*p) json_decref(*p); }
static inline void oci_fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void oci_closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void oci_strvfreep(char ***v)
{
	if (*v) {
		for (char **p = *v; *p; p++)
			free(*p);
		free(*v);
	}
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(oci_freep)
#define _cleanup_json_ _cleanup_(oci_json_decrefp)
#define _cleanup_fclose_ _cleanup_(oci_fclosep)
#define _cleanup_close_ _cleanup_(oci_closep)
#define _cleanup_strv_ _cleanup_(oci_strvfreep)

#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation failure is not recoverable in a CLI tool: abort loudly. */
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
static inline void oci_buf_releasep(struct oci_buf *b) { oci_buf_release(b); }
#define _cleanup_buf_ _cleanup_(oci_buf_releasep)

#endif
