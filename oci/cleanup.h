/* oci/cleanup.h: scoped cleanup helpers, systemd/crun style.
 *
 *   _cleanup_free_ char *s = strdup("x");   freed at scope exit
 *   return TAKE_PTR(s);                     hands ownership out
 *
 * Helpers for a module's own structs sit in its header beside the release
 * function, used as _cleanup_(oci_ref_releasep) (oci/ref.h and others).
 */
#ifndef CCREG_OCI_CLEANUP_H
#define CCREG_OCI_CLEANUP_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "oci/util.h"

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
static inline void oci_buf_releasep(struct oci_buf *b) { oci_buf_release(b); }

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(oci_freep)
#define _cleanup_json_ _cleanup_(oci_json_decrefp)
#define _cleanup_fclose_ _cleanup_(oci_fclosep)
#define _cleanup_close_ _cleanup_(oci_closep)
#define _cleanup_strv_ _cleanup_(oci_strvfreep)
#define _cleanup_buf_ _cleanup_(oci_buf_releasep)

#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })

#endif
