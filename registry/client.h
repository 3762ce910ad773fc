/* registry/client.h: a client for the Docker Registry HTTP API v2 / OCI
 * distribution API, on libcurl.
 *
 * One reg_client holds the transport state (connection cache, DNS and TLS
 * sessions shared between threads, token cache, credentials).  It is safe to
 * call from several threads at once; each call borrows its own curl handle.
 * A reg_repo names one repository on one registry and carries the token
 * scopes its operations need.  Both are the caller's: reg_client_free,
 * reg_repo_free.  Behind this header the client is built in floors
 * (transport, creds, auth, these operations, login; see internal.h).
 *
 * Every call returns 0 on success, -1 on failure with the oci_error filled:
 * OCI_E_REGISTRY (unreachable, not found, server error after retries, digest
 * mismatch; err->http_status holds the status when there was one) or
 * OCI_E_AUTH (401/403 after authenticating).  Messages name the reference
 * and host: "127.0.0.1:5000/a/b:1.0: manifest unknown".
 *
 * Transport rules (../shared/design/cli.md): HTTPS with verification; plain
 * HTTP only for loopback and insecure hosts, and only when the server does not
 * speak TLS (never after a certificate failure).  Retries: connection errors,
 * 429, 502, 503, 504 with capped exponential backoff and Retry-After; a
 * request body is retried only when it can be rewound.
 */
#ifndef CCREG_REGISTRY_CLIENT_H
#define CCREG_REGISTRY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/digest.h"
#include "oci/error.h"
#include "oci/ref.h"

struct reg_options {
	bool insecure_all;                 /* plain HTTP and unverified TLS everywhere */
	const char *const *insecure_hosts; /* NULL-terminated; plain HTTP allowed */
	const char *ca_file;               /* extra CA bundle (PEM) */
	const char *auth_file;             /* credentials file; NULL: default lookup */
	int verbose;                       /* log each request through `log` */
	void (*log)(void *ud, const char *line);
	void *log_ud;
	long connect_timeout_ms; /* 0: 10 s */
	long low_speed_secs;     /* abort a transfer below 1 KB/s for this long; 0: 30 s */
	long request_timeout_s;  /* whole request for API calls (not blob bodies); 0: 120 s */
	int max_retries;         /* 0: 4 */
	long retry_base_ms;      /* first backoff; 0: 500 ms (capped at 8 s) */
};

struct reg_client;
struct reg_repo;

void reg_global_init(void);    /* curl_global_init; call once from main */
void reg_global_cleanup(void);
const char *reg_versions(void); /* "libcurl/7.88.1 OpenSSL/3.0 ..." */

struct reg_client *reg_client_new(const struct reg_options *o, oci_error *err);
void reg_client_free(struct reg_client *c);

/* A repository: ref's domain and path (tag/digest ignored).  push: the
 * operations will write (token scope pull,push). */
struct reg_repo *reg_repo_new(struct reg_client *c, const struct oci_ref *ref, bool push);
void reg_repo_free(struct reg_repo *r);
static inline void reg_repo_freep(struct reg_repo **r) { reg_repo_free(*r); }
/* "127.0.0.1:5000/a/b", for messages. */
const char *reg_repo_name(const struct reg_repo *r);
/* Ask that tokens for this repo also carry pull on another repository of
 * the same registry (a mount's `from`), so one token request covers both.
 * Call it before the first request of a copy or assemble: the widened set
 * is remembered for the host, so reads through the source repositories'
 * own reg_repo (pull only) ask for the whole set too, and one token serves
 * the source pulls, the target push and the mounts. */
void reg_repo_add_pull_scope(struct reg_repo *r, const char *other_path);
/* true when a and b are on the same registry (same API host). */
bool reg_repo_same_registry(const struct reg_repo *a, const struct reg_repo *b);

/* GET /v2/ (authenticating as needed). */
int reg_ping(struct reg_repo *r, oci_error *err);

/* --- manifests ----------------------------------------------------------- */

struct reg_manifest {
	char *data; /* exact bytes as served, NUL-terminated past len */
	size_t len;
	char *media_type; /* Content-Type as served */
	char *digest;     /* of the bytes (verified against the request and
	                   * Docker-Content-Digest) */
};
void reg_manifest_release(struct reg_manifest *m);

/* GET manifests/<reference> with every manifest type accepted.  When the
 * reference is a digest the bytes must hash to it. */
int reg_manifest_get(struct reg_repo *r, const char *reference, struct reg_manifest *out,
                     oci_error *err);
/* HEAD manifests/<reference>: 1 found (digest/media_type/size filled when
 * non-NULL; caller frees the strings), 0 not found, -1 error. */
int reg_manifest_head(struct reg_repo *r, const char *reference, char **digest,
                      char **media_type, int64_t *size, oci_error *err);
/* PUT manifests/<reference> with Content-Type media_type. */
int reg_manifest_put(struct reg_repo *r, const char *reference, const char *media_type,
                     const void *data, size_t len, oci_error *err);
int reg_manifest_delete(struct reg_repo *r, const char *digest, oci_error *err);

/* --- blobs --------------------------------------------------------------- */

/* HEAD blobs/<digest>: 1 exists (*size set if non-NULL), 0 missing, -1 error. */
int reg_blob_head(struct reg_repo *r, const char *digest, int64_t *size, oci_error *err);

/* Receives a blob's bytes in order, each byte once.  Return 0 to go on, -1 to
 * abort (the callback fills err if it wants to say why). */
typedef int (*reg_sink_fn)(void *ud, const void *p, size_t n, oci_error *err);

/* GET blobs/<digest>, streamed into sink as it arrives; the digest (and the
 * size, when expected_size >= 0) is verified as it streams: on mismatch the
 * call fails after the last byte (OCI_E_REGISTRY, "digest mismatch") and the
 * sink must discard what it got.  Redirects to other hosts are followed
 * without the registry's Authorization.  A broken body is resumed with a
 * Range request from where it stopped.  With expected_size < 0 the response
 * must declare its length (Content-Length), which then bounds it. */
int reg_blob_get(struct reg_repo *r, const char *digest, int64_t expected_size,
                 reg_sink_fn sink, void *ud, oci_error *err);
/* The same for a blob whose size is not known: more than max_size bytes is
 * an error (a server streaming without end stops there). */
int reg_blob_get_max(struct reg_repo *r, const char *digest, int64_t max_size, reg_sink_fn sink,
                     void *ud, oci_error *err);
/* GET a byte range [off, off+len) of a blob into buf (not verified: used for
 * gzip trailers).  *got set to the bytes received. */
int reg_blob_get_range(struct reg_repo *r, const char *digest, int64_t off, size_t len,
                       void *buf, size_t *got, oci_error *err);

/* Supplies upload bytes: fill up to n bytes, return the count, 0 at the end,
 * -1 on failure (filling err). */
typedef ssize_t (*reg_source_fn)(void *ud, void *buf, size_t n, oci_error *err);
/* Rewind a source to its start for a retry; -1 when it cannot. */
typedef int (*reg_rewind_fn)(void *ud);

/* Upload a blob of known digest and size: POST, then one PUT with the body
 * (monolithic); when the registry refuses the single request, chunked PATCH
 * then PUT.  rewind may be NULL (then no retry after the body started). */
int reg_blob_upload(struct reg_repo *r, const char *digest, int64_t size, reg_source_fn src,
                    reg_rewind_fn rewind, void *ud, oci_error *err);
/* Upload a blob whose digest is not known in advance (computed on the way):
 * POST, PATCH streaming chunks, PUT ?digest=.  Fills digest_out and *size_out. */
int reg_blob_upload_stream(struct reg_repo *r, reg_source_fn src, void *ud,
                           char digest_out[OCI_DIGEST_MAX], int64_t *size_out, oci_error *err);
/* POST blobs/uploads/?mount=<digest>&from=<from_path>: 1 mounted (201),
 * 0 not mounted (202: the caller uploads instead), -1 error. */
int reg_blob_mount(struct reg_repo *r, const char *digest, const char *from_path,
                   oci_error *err);

/* --- tags ---------------------------------------------------------------- */

#define REG_TAGS_MAX_PAGES 10000 /* 1,000,000 tags at 100 a page */
#define REG_TAGS_MAX 1000000

/* Receives one page of tags (valid until it returns): 0 to go on, -1 to
 * stop (filling err). */
typedef int (*reg_tags_fn)(void *ud, const char *const *tags, size_t n, oci_error *err);
/* GET tags/list following Link pagination, each page handed to fn as it
 * arrives, so memory holds one page whatever the repository holds.  A Link
 * back to a page already read, more than REG_TAGS_MAX_PAGES pages or more
 * than REG_TAGS_MAX tags is an error (fn has had the pages before it). */
int reg_tags_each(struct reg_repo *r, reg_tags_fn fn, void *ud, oci_error *err);

/* --- helpers exposed for tests and fuzzers -------------------------------- */

/* Parse a Link header value; returns the URL of rel="next" (caller frees) or NULL. */
char *reg_link_next(const char *link);

#endif
