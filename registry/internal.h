/* registry/internal.h: the structures the floors of the registry client
 * share (private to registry/; everyone else sees opaque pointers through
 * client.h).
 *
 * Floors, bottom up; a floor calls only the floors below it:
 *
 *   transport.c  HTTP exchanges: pooled curl handles, the per-host scheme
 *                probe, retries, -v logging                  (transport.h)
 *   mux.c        transport's thread for small requests: one curl multi,
 *                shared connections, HTTP/2 streams          (mux.h)
 *   pipeline.c   transport's thread for small requests over plain
 *                HTTP: pipelined HTTP/1.1                     (pipeline.h)
 *   creds.c      credentials: auth file lookup, credential helpers, and
 *                login/logout storage                        (creds.h)
 *   auth.c       challenges, tokens, scope sets; plugs into transport
 *                through reg_auth_hook                       (auth.h)
 *   client.c     reg_client / reg_repo and the distribution API
 *                operations (manifests, blobs, uploads, mounts, tags)
 *                                                            (client.h)
 *   login.c      the login check                             (login.h)
 *
 * Ownership: reg_client_new (client.c) allocates the client and copies its
 * options; reg_transport_init and reg_auth_init set up their own parts, and
 * reg_client_free releases them top down (auth, then transport).  Hosts
 * are created and freed by transport; auth hangs its per-host state on
 * them and frees it first.  reg_repo belongs to whoever called
 * reg_repo_new.
 */
#ifndef CCREG_REGISTRY_INTERNAL_H
#define CCREG_REGISTRY_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>

#include "oci/mcache.h"
#include "registry/client.h"

struct reg_auth_hook;
struct reg_auth_state;
struct reg_host_auth;

enum reg_scheme { REG_SCHEME_UNKNOWN, REG_SCHEME_HTTPS, REG_SCHEME_HTTP };

/* Idle curl easy handles (transport.c). */
struct reg_pool {
	CURL **idle;
	size_t n, cap;
};

/* Keys that threads are at work on, for single flight: a thread finding
 * its key here waits for the other, then reads what that one cached.
 * The keys are the adding thread's own strings, removed by identity;
 * under reg_client.lock (client.c). */
struct reg_flights {
	const char **keys;
	size_t n, cap;
};
bool reg_flights_has(const struct reg_flights *f, const char *key);
void reg_flights_add(struct reg_flights *f, const char *key);
void reg_flights_del(struct reg_flights *f, const char *key);

/* Per-host state, created on first use (reg_host_get) and kept for the
 * client's life. */
struct reg_host {
	char *host;
	/* transport.c */
	pthread_mutex_t probe_lock; /* one thread decides the scheme; others wait */
	enum reg_scheme scheme;     /* written under probe_lock */
	/* auth.c's (challenge, credentials, scope hints), under reg_client.lock;
	 * NULL until auth first needs it */
	struct reg_host_auth *auth;
	/* transport.c: the latest rate-limit headers the host sent, and whether
	 * a 429 TOOMANYREQUESTS without Retry-After said its pulls are spent
	 * (rl.exhausted); under reg_client.lock, read through
	 * reg_client_ratelimit() */
	struct reg_ratelimit rl;
	/* transport.c, under reg_client.lock: the shortest wait from a small
	 * request sent to its answer's first byte (µs; 0: none yet), the
	 * host's round trip as near as we can tell (rangeget.c reads it) */
	int64_t rtt_us;
};

struct reg_client {
	/* client.c: the options, with owned copies of their strings */
	struct reg_options o;
	char **insecure_hosts;
	char *ca_file, *auth_file, *cache_dir;
	/* short critical sections of every floor: the pool and host list
	 * (transport), the tokens and per-host auth state (auth), and
	 * reg_repo.scopes */
	pthread_mutex_t lock;
	/* rangeget.c: signalled under lock when blob GET slots come free
	 * (blob_busy below) */
	pthread_cond_t blob_free;
	/* transport.c (reg_transport_init / reg_transport_release) */
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	struct reg_pool pool;     /* idle easy handles for blob bodies, under lock */
	struct reg_pool mux_pool; /* idle easy handles for the mux, under lock */
	struct reg_mux *mux;      /* small requests (mux.h); started on first use, under lock */
	struct reg_pipeline *pipeline; /* small plain-HTTP requests (pipeline.h); as mux */
	struct reg_host **hosts;
	size_t n_hosts;
	const struct reg_auth_hook *auth_hook; /* installed by reg_auth_init */
	pthread_mutex_t secrets_lock; /* secrets: reg_secret_add / reg_redact */
	char **secrets;
	size_t n_secrets;
	/* auth.c (reg_auth_init / reg_auth_release) */
	struct reg_auth_state *auth;
	/* client.c: manifests and configs by digest (NULL: no cache); after a
	 * write fails, cache_broken stops further writes (said once with -v) */
	struct oci_mcache *mcache;
	bool cache_broken;

	/* rangeget.c, under lock: the client's blob GET slots, at most `jobs`
	 * taken: blob GETs under way and the extra connections of ranged ones
	 * (blob_busy), and threads waiting in reg_blob_slots_enter for one
	 * (blob_waiting; ranged GETs leave them the slots that come free);
	 * and the digests of the GETs under way that take single flight
	 * (blob_one: the callers' strings, see reg_blob_slots_enter) */
	int blob_busy, blob_waiting;
	long blob_coming; /* jobs of blob batches not ended (reg_blob_batch) */
	struct reg_flights blob_one;
	/* client.c, under lock: manifest GETs under way by digest (single
	 * flight: tags that share a digest cost one GET, a pull on Docker
	 * Hub); manifest_done is signalled when one ends */
	struct reg_flights manifest_one;
	pthread_cond_t manifest_done;

	/* traffic.c, under lock: counts, and each exchange's span with -v */
	struct reg_traffic traffic;
	struct reg_span {
		int64_t start, end; /* µs, monotonic */
	} *spans;
	size_t n_spans, cap_spans;
};

/* client.c creates and frees it; the other floors read it. */
struct reg_repo {
	struct reg_client *c;
	char *domain;   /* as referenced: docker.io, 127.0.0.1:5000 */
	char *host;     /* API host: registry-1.docker.io, 127.0.0.1:5000 */
	char *path;     /* a/b */
	char *name;     /* domain/path for messages */
	char *scopes;   /* space-separated token scopes, sorted; swapped under c->lock */
};

#endif
