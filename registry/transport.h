/* registry/transport.h: one HTTP exchange with retries, on libcurl (private
 * to registry/).
 *
 * reg_http() performs a request against a registry host: it picks the scheme
 * (HTTPS; plain HTTP only for loopback/insecure hosts whose port does not
 * speak TLS), adds the Authorization the auth layer provides, retries
 * connection errors and 429/502/503/504 with capped backoff (honouring
 * Retry-After) while the body can be replayed, and logs with -v.  Redirects
 * are not followed here: callers that accept them (blob GETs) follow
 * Location themselves, dropping Authorization for other hosts.
 */
#ifndef CCREG_REGISTRY_TRANSPORT_H
#define CCREG_REGISTRY_TRANSPORT_H

#include <curl/curl.h>
#include <pthread.h>
#include <time.h>

#include "oci/util.h"
#include "registry/client.h"

#define REG_MAX_BODY (4 << 20) /* cap on bodies kept in memory (manifests, errors) */

enum reg_scheme { REG_SCHEME_UNKNOWN, REG_SCHEME_HTTPS, REG_SCHEME_HTTP };
enum reg_auth_kind { REG_AUTH_UNKNOWN, REG_AUTH_NONE, REG_AUTH_BASIC, REG_AUTH_BEARER };

/* Per-host state, created on first use and kept for the client's life;
 * fields are guarded by reg_client.lock. */
struct reg_host {
	char *host;
	pthread_mutex_t probe_lock; /* one thread decides the scheme; others wait */
	enum reg_scheme scheme;     /* written under probe_lock */
	enum reg_auth_kind auth;
	char *realm, *service; /* bearer challenge */
	bool creds_loaded;
	bool have_creds;
	struct reg_creds *creds;
	char **hints; /* scope sets to request whole (see reg_auth_hint_locked) */
	size_t n_hints;
};

struct reg_token {
	struct reg_token *next;
	char *host, *scopes;
	char *header; /* "Bearer …" */
	time_t expires;
};

struct reg_client {
	struct reg_options o;
	char **insecure_hosts; /* owned copy */
	char *ca_file, *auth_file;
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t token_lock; /* one token request at a time */
	pthread_mutex_t lock; /* guards everything below, and reg_repo.scopes */
	CURL **idle;          /* pooled easy handles */
	size_t n_idle, cap_idle;
	struct reg_host **hosts;
	size_t n_hosts;
	struct reg_token *tokens;
};

struct reg_repo {
	struct reg_client *c;
	char *domain;   /* as referenced: docker.io, 127.0.0.1:5000 */
	char *host;     /* API host: registry-1.docker.io, 127.0.0.1:5000 */
	char *path;     /* a/b */
	char *name;     /* domain/path for messages */
	char *scopes;   /* space-separated token scopes, sorted */
};

struct reg_request {
	const char *method; /* GET HEAD PUT POST PATCH DELETE */
	const char *url;    /* absolute URL, or a path ("/v2/…") on the repo's host */
	const char *accept;
	const char *content_type;
	const char *const *headers; /* extra "Name: value" lines, NULL-terminated */
	/* request body: a buffer, or a source (size -1: chunked) */
	const void *body;
	size_t body_len;
	reg_source_fn src;
	reg_rewind_fn rewind;
	void *src_ud;
	int64_t src_len;
	/* response body: into sink when the status is 2xx, else kept in resp.body */
	reg_sink_fn sink;
	void *sink_ud;
	bool no_auth;      /* do not send the registry's credentials */
	bool blob_timeout; /* no whole-request timeout (long blob bodies) */
	bool no_retry;     /* the caller handles retries (blob resume) */
};

struct reg_response {
	long status;
	struct oci_buf body;
	char *content_type;
	char *docker_digest;
	char *location;
	char *www_authenticate; /* all challenges, joined with ", " */
	char *link;
	char *range;
	char *content_range;
	char *retry_after;
	char *ratelimit_remaining;
	int64_t content_length; /* -1 when absent */
	int64_t received;       /* body bytes that reached the sink */
	CURLcode curl_code;
	char curl_error[CURL_ERROR_SIZE]; /* libcurl's detail ("SSL certificate problem: …") */
};

void reg_response_release(struct reg_response *r);

/* The host's state, created on first use. */
struct reg_host *reg_host_get(struct reg_client *c, const char *host);

/* Perform req on repo's registry.  Returns 0 when an HTTP response arrived
 * (any status: callers judge it), -1 on transport failure after retries
 * (err filled, OCI_E_REGISTRY).  Authentication (401 → token → retry) is
 * handled inside: a final 401/403 is returned as a response. */
int reg_http(struct reg_repo *repo, const struct reg_request *req, struct reg_response *resp,
             oci_error *err);

/* Turn a non-success response into an error: registry error bodies
 * ({"errors":[{"code","message"}]}) become "WHAT: message on HOST";
 * 401/403 give OCI_E_AUTH.  Always returns -1. */
int reg_http_error(struct reg_repo *repo, const char *what, const struct reg_response *resp,
                   oci_error *err);

/* Resolve a Location (absolute or relative) against the repo's base URL. */
char *reg_resolve_url(struct reg_repo *repo, const char *location);

/* url with credentials (userinfo, signature/token query values) replaced,
 * for logs and messages.  Caller frees. */
char *reg_redact_url(const char *url);

/* Sleep before retry number `attempt` (0-based): the capped exponential
 * backoff, or Retry-After when given.  Returns the milliseconds slept.
 * For callers that retry themselves (blob GETs resume with Range). */
long reg_backoff(struct reg_client *c, int attempt, const char *retry_after);

/* Log one line through the client's logger (when verbose). */
void reg_log(struct reg_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --- auth.c ---------------------------------------------------------------- */

/* Authorization header value for a request to repo ("Bearer …"/"Basic …"),
 * from cache or by fetching a token when the host's challenge is known;
 * NULL when none is known yet.  Caller frees. */
char *reg_auth_header(struct reg_repo *repo, oci_error *err);
/* React to a 401 (sent_auth: the request carried an Authorization): record
 * the challenge(s), fetch credentials/token.  Returns 1 when a retry may
 * succeed, 0 when not, -1 on error. */
int reg_auth_challenge(struct reg_repo *repo, const char *www_authenticate, bool sent_auth,
                       oci_error *err);
void reg_auth_free_all(struct reg_client *c);

/* Scope sets: space-separated "type:name:action,…".  The union merges the
 * actions per resource (sorted; caller frees); cover: every action of
 * `want` is in `have`. */
char *reg_scopes_union(const char *a, const char *b);
bool reg_scopes_cover(const char *have, const char *want);
/* Ask for `scopes` whole whenever a subset of it is needed on hs's host
 * (so one token serves a copy's source, target and mounts).  Call with
 * c->lock held. */
void reg_auth_hint_locked(struct reg_host *hs, const char *scopes);

struct reg_challenge {
	char *scheme; /* "bearer", "basic" (lowercased) */
	char *realm, *service, *scope, *error;
};
/* Parse a WWW-Authenticate value (several challenges, quoted/unquoted
 * parameters, commas inside quotes).  Returns the number parsed (≤ max),
 * -1 on malformed input. */
int reg_parse_challenges(const char *value, struct reg_challenge *out, int max);
void reg_challenge_release(struct reg_challenge *c);

/* Credentials for a registry host from the auth file lookup or a
 * credential helper.  Returns 1 found, 0 none, -1 error (bad file). */
struct reg_creds {
	char *username;
	char *secret;         /* password, or identity token */
	bool identity_token;  /* secret is an OAuth2 refresh token */
};
int reg_creds_lookup(struct reg_client *c, const char *domain, struct reg_creds *out,
                     oci_error *err);
void reg_creds_release(struct reg_creds *cr);

#endif
