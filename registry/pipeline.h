/* registry/pipeline.h: HTTP/1.1 pipelining of small bodyless requests to
 * plain-HTTP registries (private to registry/; transport.c is its only
 * user).
 *
 * Why: over HTTP/1.1 a connection carries one request at a time with
 * libcurl (it dropped pipelining in 7.65), so on a far registry every
 * HEAD costs a round trip per connection, and a verify of 150 tags (450
 * HEADs: each target and its per-arch sources) took over a hundred round
 * trips on the `--jobs` connections it may open.  Over TLS, HTTP/2
 * multiplexes (the mux); on plain HTTP, where there is no h2, requests
 * are written back to back on a keep-alive connection and the answers
 * read in order (RFC 9112 section 9.3.2), which every HTTP/1.1 server
 * must accept.  Idempotent bodyless requests (HEAD, GET) are the ones
 * pipelined: one that is not answered when its connection closes is sent
 * again.  Other small requests with their bodies in memory (manifest PUTs,
 * mount POSTs, DELETEs) use the same connections one at a time
 * (REG_PIPE_ALONE): each waits for an idle connection, nothing is queued
 * behind it, and once written it is not sent again but for the one case
 * curl also resends: a reused keep-alive connection that closed before
 * any byte of the answer.  So a run's small requests to a plain-HTTP host
 * share at most max_host_conns connections.
 *
 * One thread owns the sockets: at most max_host_conns connections per
 * host, each with at most a few dozen requests in flight, a new
 * connection opened only when every open one is busy.  A host whose
 * connections end after a few answers ("Connection: close") gets no more
 * than that many in flight on one; a host that closes a connection with
 * pipelined requests pending without a word, or leaves them unanswered
 * until the stall timeout, gets one at a time (and the unanswered ones
 * are sent again).
 * Answers are framed by Content-Length, chunked encoding or the close,
 * as RFC 9112 section 6.3 says; 1xx answers are skipped.
 *
 * reg_pipeline_new starts the thread; reg_pipeline_free stops and joins
 * it (no request may be in flight) and closes the connections.
 */
#ifndef CCREG_REGISTRY_PIPELINE_H
#define CCREG_REGISTRY_PIPELINE_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct reg_pipeline;

/* max_host_conns: connections to one host at most; connect_ms: the
 * connect timeout; stall_ms: how long a connection may stay silent with
 * requests in flight before the first of them fails (timed out). */
struct reg_pipeline *reg_pipeline_new(long max_host_conns, long connect_ms, long stall_ms);
void reg_pipeline_free(struct reg_pipeline *p);

struct reg_pipe_result {
	CURLcode rc;      /* as curl_easy_perform would say */
	long new_conns;   /* connections opened for this request (0 or 1) */
	bool sent;        /* the request reached a connected socket */
	int64_t wait_us;  /* written -> first byte of the answer when nothing
	                   * was ahead of it on the connection (a round
	                   * trip); 0 when not known */
	char error[CURL_ERROR_SIZE];
};

#define REG_PIPE_HEAD 1  /* a HEAD: its answer has no body */
#define REG_PIPE_ALONE 2 /* not idempotent: alone on an idle connection */

/* Send the request `req` (len bytes: request line, headers, blank line,
 * and the body if any) to authority ("host:port", "[::1]:port") and wait
 * for its answer (flags: REG_PIPE_*).  Header lines, the status line first, go to on_header as
 * libcurl's CURLOPT_HEADERFUNCTION gives them; body bytes to on_body.
 * Both run on the pipeline's thread (keep them cheap); one returning
 * less than it was given ends the request with CURLE_WRITE_ERROR. */
void reg_pipeline_perform(struct reg_pipeline *p, const char *authority, const char *req,
                          size_t len, unsigned flags, curl_write_callback on_header,
                          curl_write_callback on_body, void *ud, struct reg_pipe_result *res);

#endif
