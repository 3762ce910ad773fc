/* registry/creds.h: where credentials come from (see creds.c's comment for
 * the lookup order) and how they are stored by `ccreg login`. */
#ifndef CCREG_REGISTRY_CREDS_H
#define CCREG_REGISTRY_CREDS_H

#include <stdbool.h>

#include "oci/error.h"

struct reg_creds;

/* docker.io, index.docker.io, registry-1.docker.io */
bool reg_is_docker_hub(const char *domain);
/* The key a registry is stored under in auth files ("https://index.docker.io/v1/"
 * for Docker Hub, else the domain). */
const char *reg_creds_key(const char *domain);
/* Ask docker-credential-HELPER for domain: 1 found, 0 none, -1 error. */
int reg_creds_from_helper(const char *helper, const char *domain, struct reg_creds *out,
                          oci_error *err);
/* The file `login` writes when no --auth-file is given: $REGISTRY_AUTH_FILE,
 * else $DOCKER_CONFIG/config.json, else ~/.docker/config.json.  Caller frees. */
char *reg_auth_file_default(void);

/* Store username/password for domain in the auth file at path, under
 * reg_creds_key(domain): in the file's credential helper when it names one
 * (credHelpers, credsStore; the file then records an empty entry, as docker
 * does), else as auths[key].auth.  Other entries and keys are kept; the file
 * is written atomically with mode 0600.  0 or -1. */
int reg_creds_store(const char *path, const char *domain, const char *username,
                    const char *password, oci_error *err);
/* Remove domain's credentials from the file (and its helper): 1 removed,
 * 0 there were none, -1 error. */
int reg_creds_erase(const char *path, const char *domain, oci_error *err);

/* Check username/password against the registry at domain (GET /v2/ with
 * them, through the token flow when the registry uses one).  0 accepted,
 * -1 refused (OCI_E_AUTH) or unreachable (OCI_E_REGISTRY). */
struct reg_client;
int reg_login_check(struct reg_client *c, const char *domain, const char *username,
                    const char *password, oci_error *err);

#endif
