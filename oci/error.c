#include "oci/error.h"

#include <stdio.h>
#include <string.h>

int oci_err(oci_error *err, int code, const char *fmt, ...)
{
	if (!err)
		return -1;
	/* format aside first: callers may pass err->msg itself as an argument */
	char msg[sizeof err->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	err->code = code;
	err->http_status = 0;
	memcpy(err->msg, msg, sizeof msg);
	return -1;
}

int oci_err_wrap(oci_error *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char prefix[512], old[sizeof err->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof old);
	/* an over-long message is cut at the buffer's end, on purpose */
	if (snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old) < 0)
		err->msg[0] = '\0';
	if (!err->code)
		err->code = OCI_E_REGISTRY;
	return -1;
}

void oci_err_clear(oci_error *err)
{
	if (err) {
		err->code = 0;
		err->http_status = 0;
		err->msg[0] = '\0';
	}
}
