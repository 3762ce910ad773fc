/* registry/auth.h: authentication to registries (private to registry/,
 * and to the tests and fuzzers of its parsers): WWW-Authenticate
 * challenges, Basic credentials and bearer tokens per the distribution
 * token-auth spec, and token scope sets.
 *
 * Auth sits above transport and creds (see internal.h): it plugs into
 * reg_http through the reg_auth_hook that reg_auth_init installs, fetches
 * tokens with reg_http, and takes credentials from reg_creds_lookup.
 * It owns the client's token cache and the per-host state it hangs on
 * reg_host (challenge, credentials, scope hints), all freed by
 * reg_auth_release.  Strings returned here belong to the caller.
 */
#ifndef CCREG_REGISTRY_AUTH_H
#define CCREG_REGISTRY_AUTH_H

#include <jansson.h>
#include <stdbool.h>

#include "oci/error.h"

struct reg_client;
struct reg_host;
struct reg_repo;

/* Set up c's token cache and install the auth hook into transport;
 * release frees the tokens and every host's auth state (before
 * reg_transport_release frees the hosts). */
void reg_auth_init(struct reg_client *c);
void reg_auth_release(struct reg_client *c);

/* Use username/password for repo's host instead of looking them up (the
 * login check: credentials that are not stored yet). */
void reg_auth_use_creds(struct reg_repo *repo, const char *username, const char *password);
/* true when the credential lookup for repo's host ran and found nothing,
 * so a refusal can say that the request was anonymous. */
bool reg_auth_anonymous(struct reg_repo *repo);

/* Scope sets: space-separated "type:name:action,…".  The union merges the
 * actions per resource (sorted; caller frees); cover: every action of
 * `want` is in `have`. */
char *reg_scopes_union(const char *a, const char *b);
bool reg_scopes_cover(const char *have, const char *want);
/* Ask for `scopes` whole whenever a subset of it is needed on hs's host
 * (so one token serves a copy's source, target and mounts).  Call with
 * c->lock held. */
void reg_auth_hint_locked(struct reg_host *hs, const char *scopes);

#define REG_TOKEN_MAX (1 << 20)  /* bytes: a token goes into every request's headers */
#define REG_TOKEN_TTL_MAX 86400  /* seconds a token is kept at most */

/* The token of a token server's answer ({"token" or "access_token",
 * "expires_in"}): *token points into answer; *ttl in seconds, 60 when
 * absent, at most a day.  A token with control characters (CR LF would
 * put a header of the server's choosing on every request) or over 1 MiB is
 * refused (OCI_E_AUTH). */
int reg_token_parse(const json_t *answer, const char **token, long *ttl, oci_error *err);

struct reg_challenge {
	char *scheme; /* "bearer", "basic" (lowercased) */
	char *realm, *service, *scope, *error;
};
/* Parse a WWW-Authenticate value (several challenges, quoted/unquoted
 * parameters, commas inside quotes).  Returns the number parsed (≤ max),
 * -1 on malformed input. */
int reg_parse_challenges(const char *value, struct reg_challenge *out, int max);
void reg_challenge_release(struct reg_challenge *c);

#endif
