/* registry/transport.h: the bottom floor of the registry client: one HTTP
 * exchange with retries, on libcurl (private to registry/; see internal.h
 * for the floors).
 *
 * reg_http() performs a request against a registry host: it picks the scheme
 * (HTTPS; plain HTTP only for loopback/insecure hosts whose port does not
 * speak TLS), adds the Authorization the auth hook provides, retries
 * connection errors and 429/502/503/504 with capped backoff (honouring
 * Retry-After) while the body can be replayed, and logs with -v.  Redirects
 * are not followed here: callers that accept them (blob GETs) follow
 * Location themselves, dropping Authorization for other hosts.
 *
 * Transport owns the client's curl share, its pool of easy handles, its mux
 * thread for small requests (mux.h) and its hosts (reg_transport_init /
 * reg_transport_release); a reg_host lives as long as the client.  A reg_response's fields belong to the caller until
 * reg_response_release.  client.h is included for the stream callback types
 * and the options only.
 */
#ifndef CCREG_REGISTRY_TRANSPORT_H
#define CCREG_REGISTRY_TRANSPORT_H

#include <curl/curl.h>

#include "oci/util.h"
#include "registry/client.h"

#define REG_MAX_BODY (4 << 20) /* cap on bodies kept in memory (manifests, errors) */

struct reg_client;
struct reg_host;
struct reg_repo;

/* Authentication, supplied by the floor above (auth.c installs it in
 * reg_auth_init).  Transport never calls auth directly: it asks `header`
 * for each request to the registry, and hands a 401 to `challenge` once
 * before retrying.  A hook rather than a loop in reg_http's callers: the
 * retry budget, the scheme probe (whose answer may be the 401) and the
 * replay of a rewindable body stay in one loop, and callers keep making
 * one call.
 *
 * header: the Authorization value for a request to repo ("Bearer …",
 * "Basic …"; caller frees), or NULL when none is known yet (err left
 * clear) or on error (err filled).
 * challenge: react to a 401 (sent_auth: the request carried an
 * Authorization); 1 when a retry may succeed, 0 when not, -1 on error. */
struct reg_auth_hook {
	char *(*header)(struct reg_repo *repo, oci_error *err);
	int (*challenge)(struct reg_repo *repo, const char *www_authenticate, bool sent_auth,
	                 oci_error *err);
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
	char *ratelimit_limit;         /* "100;w=21600" (Docker Hub), as sent */
	char *ratelimit_source;        /* docker-ratelimit-source */
	char *oci_subject;             /* OCI-Subject: a manifest PUT's subject was indexed */
	char *oci_filters_applied;     /* OCI-Filters-Applied: the referrers filters honoured */
	int64_t content_length; /* -1 when absent */
	int64_t received;       /* body bytes that reached the sink */
	CURLcode curl_code;
	char curl_error[CURL_ERROR_SIZE]; /* libcurl's detail ("SSL certificate problem: …") */
};

void reg_response_release(struct reg_response *r);

/* Set up and release transport's part of c (the curl share and its locks,
 * the handle pool, the hosts).  Release frees the hosts: the floors above
 * free what they hung on them before. */
void reg_transport_init(struct reg_client *c);
void reg_transport_release(struct reg_client *c);

/* The host's state, created on first use. */
struct reg_host *reg_host_get(struct reg_client *c, const char *host);

/* Perform req on repo's registry.  Returns 0 when an HTTP response arrived
 * (any status: callers judge it), -1 on transport failure after retries
 * (err filled, OCI_E_REGISTRY).  Authentication (401 → token → retry) is
 * handled inside through c->auth_hook: a final 401/403 is returned as a
 * response. */
int reg_http(struct reg_repo *repo, const struct reg_request *req, struct reg_response *resp,
             oci_error *err);

/* Resolve a Location or Link target (absolute or relative) against the
 * repo's base URL.  NULL with err filled (OCI_E_REGISTRY, naming `what`:
 * "Location", "realm", …) when the server's value holds a control
 * character or names a scheme other than http(s): it is shown escaped,
 * never glued to the registry's URL, and never requested. */
char *reg_resolve_url(struct reg_repo *repo, const char *location, const char *what,
                      oci_error *err);

/* Secrets the client sends (passwords, tokens, Basic credentials), so that
 * reg_redact can take them out of what a server says back: a server that
 * echoes the Authorization it got must not get it printed.  Thread-safe. */
void reg_secret_add(struct reg_client *c, const char *secret);
/* Replace every known secret in s (in place). */
void reg_redact(struct reg_client *c, char *s);

/* url with credentials (userinfo, signature/token query values) replaced,
 * for logs and messages.  Caller frees. */
char *reg_redact_url(const char *url);

/* Sleep before retry number `attempt` (0-based): the capped exponential
 * backoff, or Retry-After when given.  Returns the milliseconds slept.
 * For callers that retry themselves (blob GETs resume with Range). */
long reg_backoff(struct reg_client *c, int attempt, const char *retry_after);

/* Parse a ratelimit-limit / ratelimit-remaining value ("100;w=21600", also
 * "100" or "100, 100;w=21600"): 0 with *n and *window_s (-1 when absent),
 * -1 when it does not parse (then it is ignored). */
int reg_ratelimit_parse(const char *v, long *n, long *window_s);

/* traffic.c: note one exchange (its start and end from reg_traffic_now_us,
 * the connections it opened) for reg_client_traffic. */
int64_t reg_traffic_now_us(void);
void reg_traffic_note(struct reg_client *c, int64_t start_us, int64_t end_us, long new_conns);

/* Log one line through the client's logger (when verbose), secrets
 * redacted. */
void reg_log(struct reg_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
