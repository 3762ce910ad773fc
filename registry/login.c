/* registry/login.c: the login check, above the client operations. */
#include "oci/cleanup.h"
#include "registry/auth.h"
#include "registry/client.h"
#include "registry/internal.h"
#include "registry/login.h"

int reg_login_check(struct reg_client *c, const char *domain, const char *username,
                    const char *password, oci_error *err)
{
	/* a repository object only to reach the registry: no scope, so the
	 * token server is asked to authenticate the user and nothing more */
	struct oci_ref ref = { .domain = (char *)domain, .path = (char *)"ccreg/login" };
	struct reg_repo *repo = reg_repo_new(c, &ref, false);
	free(repo->scopes);
	repo->scopes = oci_xstrdup("");
	reg_auth_use_creds(repo, username, password);
	int rc = reg_ping(repo, err);
	if (rc < 0 && err && err->code == OCI_E_AUTH)
		oci_err_wrap(err, "login to %s refused", domain);
	reg_repo_free(repo);
	return rc;
}
