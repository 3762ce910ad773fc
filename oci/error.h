/* oci/error.h: the error object every library call fills.
 *
 * Functions return 0 on success and -1 on failure, filling the oci_error
 * passed last (which may be NULL).  `code` maps to the CLI exit code
 * (see ../shared/design/cli.md); `msg` is one line, no trailing newline,
 * with context prepended on the way up by oci_err_wrap():
 *   "127.0.0.1:5000/a/b:1.0: manifest unknown".
 * Library code never prints: only cli/ turns an oci_error into output.
 */
#ifndef CCREG_OCI_ERROR_H
#define CCREG_OCI_ERROR_H

#include <stdarg.h>

enum oci_errcode {
	OCI_E_OK = 0,
	OCI_E_CHECK = 1,    /* a check ran and found problems */
	OCI_E_USAGE = 2,    /* bad arguments, invalid reference, bad catalog */
	OCI_E_REGISTRY = 3, /* network, not found, server error, digest mismatch */
	OCI_E_AUTH = 4,     /* authentication or authorization refused */
	OCI_E_IO = 5,       /* a local file could not be written or read after the
	                     * arguments were accepted: disk full, I/O error,
	                     * permission denied, output closed (a missing input
	                     * path is OCI_E_USAGE) */
};

typedef struct oci_error {
	int code;
	int http_status; /* last HTTP status behind the error, 0 if none */
	char msg[2048];
} oci_error;

/* Set code and message; returns -1 so callers can `return oci_err(...)`. */
int oci_err(oci_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prepend "CONTEXT: " to the message; keeps the code; returns -1. */
int oci_err_wrap(oci_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void oci_err_clear(oci_error *err);

#endif
