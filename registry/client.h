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
 *
 * Manifests and configs by digest (Docker Hub meters every manifest GET,
 * HEAD is free): with options.cache_dir, reg_manifest_get HEADs a tag for
 * its digest and reads the bytes from the cache (oci/mcache.h); a digest is
 * looked up in the cache first; only a miss costs a GET, and what a GET
 * brings is stored.  A tag the cache has never seen is read with a GET at
 * once (the HEAD would only delay it by a round trip), unless the caller
 * reads many tags that may share a digest (reg_manifest_get_shared).  reg_blob_read (registry/image.h) does the same for
 * configs (reg_blob_get_cached).  So every caller (verify, audit,
 * inspect, assemble, copy, pull, the image walk) reads each document once
 * per machine.  A cached document
 * says nothing about whether a repository still holds it: callers that
 * check existence HEAD it (verify does).
 *
 * Rate limits: the latest ratelimit-limit / ratelimit-remaining /
 * docker-ratelimit-source a host sent are kept (reg_client_ratelimit).  A
 * 429 whose body says TOOMANYREQUESTS and that has no Retry-After is not
 * retried: the host's pulls are spent (rl.exhausted), and from then on every
 * manifest GET to it fails at once with OCI_E_REGISTRY, err->http_status
 * 429 and "HOST: pull rate limit reached (0 of 100 per 6 h left)" — callers
 * that go on with other targets get each answer without a request.
 */
#ifndef CCREG_REGISTRY_CLIENT_H
#define CCREG_REGISTRY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/digest.h"
#include "oci/error.h"
#include "oci/mcache.h"
#include "oci/ref.h"
#include "registry/parallel.h"

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
	const char *cache_dir;   /* $XDG_CACHE_HOME/ccreg: manifests and configs by
	                          * digest (oci/mcache.h), known blob locations
	                          * (oci/bloblocs.h); NULL: no cache */
	int64_t cache_max_bytes; /* 0: oci_mcache_max_bytes() */
	bool no_cache;           /* read nothing from the caches (results still
	                          * refresh them; blob locations are recorded but
	                          * not consulted) */
	int jobs;                /* blob GETs at once, each on a connection of its own
	                          * (a big blob's ranges count one each; more
	                          * wait); 0: 4 */
	int64_t range_min;       /* blobs from this size are fetched in ranges; 0: 32 MiB */
	int64_t range_chunk;     /* bytes per range (and per range buffer); 0: 8 MiB */
	int64_t range_near_ms;   /* a registry whose round trip is under this is near:
	                          * big blobs in one stream (< 0: 10 ms; 0: never) */
	bool no_pipeline;        /* plain-HTTP hosts: one request per connection at a
	                          * time, all on curl (registry/pipeline.h) */
};

/* What a registry host said about its pull quota (Docker Hub). */
struct reg_ratelimit {
	bool known;       /* a ratelimit-limit or -remaining header came */
	long limit;       /* pulls per window; -1 unknown */
	long remaining;   /* -1 unknown */
	long window_s;    /* -1 unknown */
	char source[64];  /* docker-ratelimit-source ("" when absent) */
	bool exhausted;   /* a 429 TOOMANYREQUESTS without Retry-After came */
};

struct reg_client;
struct reg_repo;

void reg_global_init(void);    /* curl_global_init; call once from main */
void reg_global_cleanup(void);
const char *reg_versions(void); /* "libcurl/7.88.1 OpenSSL/3.0 ..." */

struct reg_client *reg_client_new(const struct reg_options *o, oci_error *err);
void reg_client_free(struct reg_client *c);

/* What the client's requests cost so far. */
struct reg_traffic {
	long requests;    /* HTTP exchanges, retries and redirect hops included */
	long connections; /* new connections they opened */
	int depth;        /* with -v (else 0): the longest chain of requests each
	                   * begun after the one before ended, i.e. round trips
	                   * that did not overlap */
};
void reg_client_traffic(struct reg_client *c, struct reg_traffic *out);

/* The latest rate-limit state of an API host ("registry-1.docker.io",
 * "127.0.0.1:5000"); false (and *out zeroed, known false) when the host sent
 * none.  reg_repo_ratelimit: of the repository's host. */
bool reg_client_ratelimit(struct reg_client *c, const char *host, struct reg_ratelimit *out);
bool reg_repo_ratelimit(const struct reg_repo *r, struct reg_ratelimit *out);
/* "0 of 100 per 6 h left" (what is known of it), for messages and -v. */
void reg_ratelimit_describe(const struct reg_ratelimit *rl, char *buf, size_t n);

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
/* Open the way to r's registry while other work goes on: on a thread of its
 * own, the first contact (the scheme probe, a connection kept for the
 * requests that follow) with a bare GET /v2/, no credentials, no retries;
 * its errors are left to the first real request.  finish joins it. */
struct reg_warm;
struct reg_warm *reg_warm_start(struct reg_repo *r);
void reg_warm_finish(struct reg_warm *w);

/* --- manifests ----------------------------------------------------------- */

struct reg_manifest {
	char *data; /* exact bytes as served, NUL-terminated past len */
	size_t len;
	char *media_type; /* Content-Type as served */
	char *digest;     /* of the bytes (verified against the request and
	                   * Docker-Content-Digest) */
};
void reg_manifest_release(struct reg_manifest *m);

/* The manifest a reference names, every manifest type accepted.  When the
 * reference is a digest the bytes must hash to it.  With a cache: a tag is
 * HEADed first and its digest looked up; a digest is looked up directly;
 * a miss (or a HEAD without Docker-Content-Digest) is a GET, whose digest
 * must then agree with the HEAD's ("digest mismatch", naming both).
 * From the cache, media_type is the document's own mediaType (the HEAD's
 * Content-Type for a tag). */
int reg_manifest_get(struct reg_repo *r, const char *reference, struct reg_manifest *out,
                     oci_error *err);
/* The same, always HEADing a tag first when there is a cache: for callers
 * that read many tags of which several may point to one digest (verify,
 * status), whose bytes the first GET brings into the cache. */
int reg_manifest_get_shared(struct reg_repo *r, const char *reference, struct reg_manifest *out,
                            oci_error *err);
/* HEAD manifests/<reference>: 1 found (digest/media_type/size filled when
 * non-NULL; caller frees the strings), 0 not found, -1 error. */
int reg_manifest_head(struct reg_repo *r, const char *reference, char **digest,
                      char **media_type, int64_t *size, oci_error *err);
/* PUT manifests/<reference> with Content-Type media_type. */
int reg_manifest_put(struct reg_repo *r, const char *reference, const char *media_type,
                     const void *data, size_t len, oci_error *err);
/* reg_manifest_put, and *subject_indexed says whether the registry answered
 * with OCI-Subject (it indexed the manifest's subject for the referrers API;
 * without it a client keeps the fallback tag, registry/referrers.h). */
int reg_manifest_put_subject(struct reg_repo *r, const char *reference, const char *media_type,
                             const void *data, size_t len, bool *subject_indexed, oci_error *err);
int reg_manifest_delete(struct reg_repo *r, const char *digest, oci_error *err);

/* --- referrers (OCI distribution 1.1) -------------------------------------- */

struct oci_index;
#define REG_REFERRERS_MAX 10000 /* entries a registry may list for one subject */

/* GET referrers/<digest>[?artifactType=T], every page (Link): 1 with *out
 * the descriptors listed (caller releases) and *filtered true when every
 * page carried OCI-Filters-Applied: artifactType; 0 when the registry has
 * no referrers API (404); -1 on error. */
int reg_referrers_get(struct reg_repo *r, const char *digest, const char *artifact_type,
                      struct oci_index *out, bool *filtered, oci_error *err);

/* --- the document cache --------------------------------------------------- */

/* Read and fill the client's cache (oci/mcache.h; kind OCI_MCACHE_MANIFESTS
 * or OCI_MCACHE_CONFIGS) for documents fetched by digest outside
 * reg_manifest_get and reg_blob_get_cached.  get: false on a miss,
 * without a cache, or with no_cache.  put: best effort; a cache that cannot
 * be written is said once with -v and not written again in this client. */
bool reg_cache_get(struct reg_repo *r, const char *kind, const char *digest, size_t max,
                   struct oci_buf *out);
void reg_cache_put(struct reg_repo *r, const char *kind, const char *digest, const void *data,
                   size_t len);

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
 * must declare its length (Content-Length), which then bounds it.
 *
 * Every blob GET of the client (these, reg_blob_get_range,
 * reg_blob_get_cached) takes one of `jobs` slots, waiting until one is
 * free, and holds it until it returns: a caller may run more threads
 * (small requests) without opening more than `jobs` blob connections.  So
 * a sink must not wait for another blob GET of the same client to start. */
int reg_blob_get(struct reg_repo *r, const char *digest, int64_t expected_size,
                 reg_sink_fn sink, void *ud, oci_error *err);
/* Make the sink's consumer start over (truncate its file, reset its
 * analyzer): 0, or -1 with err filled. */
typedef int (*reg_restart_fn)(void *ud, oci_error *err);
/* reg_blob_get, and a blob whose bytes do not hash to its digest (a bad
 * CDN edge or proxy) is fetched again from zero, up to twice, after
 * restart(ud) let the consumer start over.
 *
 * A blob of known size from `range_min` bytes on is fetched as bounded
 * ranges over the connections of the client's `jobs` that no other blob
 * GET is using, and still reaches the sink in order; memory: one
 * `range_chunk` buffer per connection (registry/rangeget.h).  A server that
 * ignores Range or answers other ranges than asked is read as one stream. */
int reg_blob_get_restart(struct reg_repo *r, const char *digest, int64_t expected_size,
                         reg_sink_fn sink, reg_restart_fn restart, void *ud, oci_error *err);
/* The same for a blob whose size is not known: more than max_size bytes is
 * an error (a server streaming without end stops there). */
int reg_blob_get_max(struct reg_repo *r, const char *digest, int64_t max_size, reg_sink_fn sink,
                     void *ud, oci_error *err);

/* Run fn over n blob transfers (sizes[i]: blob i's size, -1 unknown):
 * the big ones `jobs` at once, the small ones (up to REG_SMALL_BLOB,
 * registry/parallel.h) first and beside them (up to `jobs` more).  Until
 * a big one has ended, a ranged download (above) counts it as a blob GET
 * to come and leaves it its connection.  So a copy of as many big layers
 * as jobs gives each layer one stream (no range gaps) while the config
 * moves beside them, and a pull of one big layer still gets every
 * connection. */
int reg_blob_batch(struct reg_repo *r, size_t n, const int64_t *sizes, int jobs, reg_job_fn fn,
                   void *ud, oci_error *err);
/* GET a byte range [off, off+len) of a blob into buf (not verified: used for
 * gzip trailers).  *got set to the bytes received. */
int reg_blob_get_range(struct reg_repo *r, const char *digest, int64_t off, size_t len,
                       void *buf, size_t *got, oci_error *err);
/* A small blob (configs: kind OCI_MCACHE_CONFIGS) into memory through the
 * client's cache: from the cache when it holds the blob (size bytes; -1:
 * any), else a GET as reg_blob_get_restart's (at most max bytes), and
 * stored.  With a cache to answer them, concurrent reads of one digest in
 * the client make one GET: the others wait for it, then read the cache. */
int reg_blob_get_cached(struct reg_repo *r, const char *kind, const char *digest, int64_t size,
                        size_t max, struct oci_buf *out, oci_error *err);

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

/* --- known blob locations ----------------------------------------------- */

/* Every blob the calls above read and verify, find (HEAD), upload or mount
 * is noted as being in that repository (oci/bloblocs.h, under the options'
 * cache_dir).  These read the notes back. */

/* Other repositories of r's registry where digest was seen, most recent
 * first: NULL-terminated (free with oci_strvfreep), or NULL when none is
 * known (or no cache, or no_cache). */
char **reg_blob_locations(struct reg_repo *r, const char *digest);
/* A mount of digest from repository path of r's registry did not take:
 * the note was stale; drop it. */
void reg_blob_location_stale(struct reg_repo *r, const char *digest, const char *path);

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
