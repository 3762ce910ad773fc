/* registry/login.h: the check `ccreg login` makes before storing
 * credentials.  The top floor of the registry client (see internal.h): it
 * uses the client's operations and hands the credentials to auth.
 * Nothing returned is owned by the caller. */
#ifndef CCREG_REGISTRY_LOGIN_H
#define CCREG_REGISTRY_LOGIN_H

#include "oci/error.h"

struct reg_client;

/* Check username/password against the registry at domain (GET /v2/ with
 * them, through the token flow when the registry uses one).  0 accepted,
 * -1 refused (OCI_E_AUTH) or unreachable (OCI_E_REGISTRY).  The
 * credentials stay in use for domain on c afterwards. */
int reg_login_check(struct reg_client *c, const char *domain, const char *username,
                    const char *password, oci_error *err);

#endif
