/* registry/creds.h: where credentials come from (see creds.c's comment for
 * the lookup order) and how they are stored by `ccreg login`.
 *
 * Creds sits above transport (it logs through the client) and below auth,
 * which asks it for a host's credentials on first need (see internal.h).
 * A struct reg_creds filled here belongs to the caller: reg_creds_release
 * wipes the secret and frees it.  Strings returned are the caller's unless
 * said otherwise. */
#ifndef CCREG_REGISTRY_CREDS_H
#define CCREG_REGISTRY_CREDS_H

#include <stdbool.h>

#include "oci/error.h"

struct reg_client;

struct reg_creds {
	char *username;
	char *secret;         /* password, or identity token */
	bool identity_token;  /* secret is an OAuth2 refresh token */
};
void reg_creds_release(struct reg_creds *cr);

/* Credentials for a registry domain from the auth file lookup (c's
 * --auth-file alone when given) or a credential helper.  Returns 1 found,
 * 0 none, -1 error (bad file). */
int reg_creds_lookup(struct reg_client *c, const char *domain, struct reg_creds *out,
                     oci_error *err);

/* docker.io, index.docker.io, registry-1.docker.io */
bool reg_is_docker_hub(const char *domain);
/* The key a registry is stored under in auth files ("https://index.docker.io/v1/"
 * for Docker Hub, else the domain; not allocated). */
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

#endif
