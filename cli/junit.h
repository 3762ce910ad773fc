/* cli/junit.h: a JUnit XML report (what CI systems publish), written
 * atomically through oci/file.h.  The cases and their strings stay the
 * caller's. */
#ifndef CCREG_CLI_JUNIT_H
#define CCREG_CLI_JUNIT_H

#include <stddef.h>

#include "oci/error.h"

enum cli_junit_result { CLI_JUNIT_PASS, CLI_JUNIT_FAILURE, CLI_JUNIT_ERROR, CLI_JUNIT_SKIPPED };

struct cli_junit_case {
	const char *classname, *name;
	enum cli_junit_result result;
	const char *type;    /* failure/error type attribute */
	const char *message; /* failure/error/skipped message */
	const char *text;    /* failure/error body */
	const char *out;     /* system-out */
};

/* Replace path with a report of one suite named `suite`: 0, or -1 with err
 * (OCI_E_IO). */
int cli_junit_write(const char *path, const char *suite, const struct cli_junit_case *cases,
                    size_t n, double secs, oci_error *err);

#endif
