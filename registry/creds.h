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

#endif
