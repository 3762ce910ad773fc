/* registry/mux.h: one thread that runs the client's small HTTP requests on a
 * curl multi handle (private to registry/; transport.c is its only user).
 *
 * Why: an easy handle keeps its own connections, and libcurl's shared
 * connection cache is not thread-safe, so with worker threads every
 * concurrent request needed a connection of its own and HTTP/2 could never
 * multiplex.  Here the multi handle, and so the connection cache, belongs
 * to the mux thread alone: plain-HTTP keep-alive connections are reused by
 * every worker, and over TLS with HTTP/2 the small requests of all workers
 * share one connection as streams.
 *
 * A worker configures an easy handle as for curl_easy_perform and hands it
 * over with reg_mux_perform, which blocks until the transfer is over (its
 * callbacks run on the mux thread meanwhile, so they must be cheap); the
 * handle is the worker's again afterwards.  Blob bodies do not come here
 * (big bodies, heavy sinks, and separate connections to beat
 * per-connection caps): transport keeps them on easy handles of their own.
 *
 * reg_mux_new starts the thread; reg_mux_free stops and joins it (no
 * transfer may be in flight) and frees the multi with its connections.
 * The curl share the handles use must outlive the mux.
 */
#ifndef CCREG_REGISTRY_MUX_H
#define CCREG_REGISTRY_MUX_H

#include <curl/curl.h>

struct reg_mux;

/* max_host_conns: connections to one host at most (the client's jobs). */
struct reg_mux *reg_mux_new(long max_host_conns);
void reg_mux_free(struct reg_mux *m);

/* Run h's transfer on the mux thread and wait for it: what
 * curl_easy_perform would have returned. */
CURLcode reg_mux_perform(struct reg_mux *m, CURL *h);

#endif
