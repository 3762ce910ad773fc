/* registry/pipeline.c: pipelined HTTP/1.1 for small requests (see
 * pipeline.h).  Workers queue a job and sleep on a condition variable of
 * their own; the thread hands jobs to connections, writes them, parses
 * the answers in order and marks each job done, waking its worker only.
 * A byte on the wake pipe interrupts its poll when a job arrives or the
 * pipeline stops. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "oci/cleanup.h"
#include "oci/util.h"
#include "registry/pipeline.h"

#define PIPE_DEPTH 32        /* requests in flight on one connection at most */
#define PIPE_TRIES 3         /* sends of one request that its connections may lose */
#define PIPE_MAX_HEAD 65536  /* bytes of one answer's status line and headers */
#define PIPE_READ 16384

struct job {
	const char *authority, *req;
	size_t len;
	bool head, exclusive; /* REG_PIPE_HEAD, REG_PIPE_ALONE */
	curl_write_callback on_header, on_body;
	void *ud;
	struct reg_pipe_result *res;
	int tries;      /* sends that were lost with their connection */
	bool answering; /* a byte of its answer arrived (this send) */
	bool alone;     /* written with nothing ahead of it unanswered */
	int64_t written_us;
	bool done;            /* under lock */
	pthread_cond_t woken; /* signalled when done: only its worker wakes */
	struct job *next;
};

/* Where the answer to q[0] stands. */
enum parse { P_STATUS, P_HEADERS, P_BODY, P_BODY_EOF, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_END,
	     P_TRAILERS };

struct host;

struct conn {
	struct host *host;
	int fd;
	bool connecting;
	const struct addrinfo *next_ai; /* the address to try if this one fails */
	int64_t deadline_us;            /* while connecting */
	int64_t progress_us;            /* the last byte moved either way */
	struct job **q;                 /* assigned, in the order sent; q[0] is being answered */
	size_t nq, cap, nsent, wr_off;  /* q[0..nsent) written, wr_off bytes of q[nsent] */
	char *in;
	size_t in_len, in_cap;
	enum parse st;
	long status;
	bool chunked, has_len;
	bool close_after; /* the answer being read is the connection's last */
	int64_t left;
	size_t answers;   /* answered on this connection */
	bool exclusive;   /* a REG_PIPE_ALONE request is queued: nothing may join */
	bool dead;
};

struct host {
	char *authority;
	struct addrinfo *ai;
	struct conn **conns;
	size_t n;
	/* requests in flight on one connection at most: PIPE_DEPTH, fewer
	 * for a host whose connections end sooner (Connection: close after
	 * a few answers: that many; a close without a word: 1) */
	size_t depth;
	struct host *next;
};

struct reg_pipeline {
	pthread_t thread;
	pthread_mutex_t lock;
	int wake[2];
	struct job *head, *tail; /* under lock: submitted, not yet taken */
	bool stop;               /* under lock */
	/* the thread's own */
	struct job *wait, *wait_tail; /* taken, waiting for a connection */
	struct host *hosts;
	long max_conns, connect_ms, stall_ms;
};

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void finish(struct reg_pipeline *p, struct job *j, CURLcode rc, const char *why)
{
	j->res->rc = rc;
	if (why && !j->res->error[0])
		snprintf(j->res->error, sizeof j->res->error, "%s", why);
	pthread_mutex_lock(&p->lock);
	j->done = true; /* the worker may free j once the lock is let go */
	pthread_cond_signal(&j->woken);
	pthread_mutex_unlock(&p->lock);
}

static void wait_push(struct reg_pipeline *p, struct job *j, bool front)
{
	if (front) {
		j->next = p->wait;
		p->wait = j;
		if (!p->wait_tail)
			p->wait_tail = j;
		return;
	}
	j->next = NULL;
	if (p->wait_tail)
		p->wait_tail->next = j;
	else
		p->wait = j;
	p->wait_tail = j;
}

/* --- hosts and connections ---------------------------------------------------- */

static struct host *host_get(struct reg_pipeline *p, const char *authority)
{
	for (struct host *h = p->hosts; h; h = h->next)
		if (strcmp(h->authority, authority) == 0)
			return h;
	struct host *h = oci_xcalloc(1, sizeof *h);
	h->authority = oci_xstrdup(authority);
	h->depth = PIPE_DEPTH;
	h->next = p->hosts;
	p->hosts = h;
	return h;
}

/* Resolve "host:port" / "[v6]:port" (port 80 when absent).  0, or an
 * error message in why. */
static int resolve(struct host *h, char *why, size_t whylen)
{
	if (h->ai)
		return 0;
	_cleanup_free_ char *name = NULL;
	const char *a = h->authority, *port = "80";
	if (*a == '[') {
		const char *e = strchr(a, ']');
		if (!e)
			return snprintf(why, whylen, "bad host %s", a), -1;
		name = oci_xstrndup(a + 1, (size_t)(e - a - 1));
		if (e[1] == ':')
			port = e + 2;
	} else {
		const char *colon = strrchr(a, ':');
		name = colon ? oci_xstrndup(a, (size_t)(colon - a)) : oci_xstrdup(a);
		if (colon)
			port = colon + 1;
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC };
	int rc = getaddrinfo(name, port, &hints, &h->ai);
	if (rc != 0) {
		h->ai = NULL;
		snprintf(why, whylen, "could not resolve %s: %s", name, gai_strerror(rc));
		return -1;
	}
	return 0;
}

/* Start a non-blocking connect to ai or the addresses after it: 0, or -1
 * with errno when none could even start. */
static int conn_start(struct reg_pipeline *p, struct conn *k, const struct addrinfo *ai)
{
	for (; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
			if (k->fd >= 0)
				close(k->fd);
			k->fd = fd;
			k->connecting = true;
			k->next_ai = ai->ai_next;
			k->deadline_us = now_us() + p->connect_ms * 1000;
			return 0;
		}
		int e = errno;
		close(fd);
		errno = e;
	}
	return -1;
}

static struct conn *conn_open(struct reg_pipeline *p, struct host *h, char *why, size_t whylen)
{
	if (resolve(h, why, whylen) < 0)
		return NULL;
	struct conn *k = oci_xcalloc(1, sizeof *k);
	k->fd = -1;
	k->host = h;
	if (conn_start(p, k, h->ai) < 0) {
		snprintf(why, whylen, "connect to %s: %s", h->authority, strerror(errno));
		free(k);
		return NULL;
	}
	h->conns = oci_xrealloc(h->conns, (h->n + 1) * sizeof *h->conns);
	h->conns[h->n++] = k;
	return k;
}

static void conn_push(struct conn *k, struct job *j)
{
	if (k->nq == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 8;
		k->q = oci_xrealloc(k->q, k->cap * sizeof *k->q);
	}
	j->answering = false;
	k->exclusive |= j->exclusive;
	if (k->nq == 0)
		k->progress_us = now_us(); /* the stall clock starts with work */
	k->q[k->nq++] = j;
}

/* The connection for j: the least busy one of its host, a new one while
 * every open one is busy and the host has fewer than max_conns; for a
 * REG_PIPE_ALONE request only an idle one.  NULL when none will do yet (j
 * waits), or with why set when none can open. */
static struct conn *pick(struct reg_pipeline *p, struct job *j, char *why, size_t whylen)
{
	struct host *h = host_get(p, j->authority);
	struct conn *best = NULL;
	for (size_t i = 0; i < h->n; i++) {
		struct conn *k = h->conns[i];
		if (!k->dead && !k->exclusive && (!best || k->nq < best->nq))
			best = k;
	}
	size_t depth = j->exclusive ? 1 : h->depth;
	if ((!best || best->nq > 0) && (long)h->n < p->max_conns) {
		struct conn *k = conn_open(p, h, why, whylen);
		if (k) {
			j->res->new_conns++;
			return k;
		}
		if (h->n)
			why[0] = '\0'; /* the open ones will do */
	}
	return best && best->nq < depth ? best : NULL;
}

/* The connection is done for: its unanswered jobs go back to the front
 * of the queue in order (they are idempotent), but for the first one
 * when fail_first is set (it gets rc: its answer broke off, or it timed
 * out), and any lost without warning PIPE_TRIES times. */
static void conn_drop(struct reg_pipeline *p, struct conn *k, bool fail_first, CURLcode rc,
                      const char *why)
{
	for (size_t i = k->nq; i-- > 0;) {
		struct job *j = k->q[i];
		bool written = i < k->nsent;
		if (i == 0 && fail_first)
			finish(p, j, rc, why);
		else if (written && j->exclusive && (k->answers == 0 || j->tries > 0))
			finish(p, j, CURLE_GOT_NOTHING, why); /* it may have been done */
		else if (written && !k->close_after && ++j->tries >= PIPE_TRIES)
			finish(p, j, CURLE_GOT_NOTHING, why);
		else
			wait_push(p, j, true);
	}
	k->exclusive = false;
	k->nq = k->nsent = k->wr_off = 0;
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	k->dead = true;
}

/* --- writing ------------------------------------------------------------------- */

static void conn_write(struct reg_pipeline *p, struct conn *k)
{
	while (k->nsent < k->nq) {
		struct job *j = k->q[k->nsent];
		ssize_t n = send(k->fd, j->req + k->wr_off, j->len - k->wr_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			char why[128];
			snprintf(why, sizeof why, "send to %s: %s", k->host->authority, strerror(errno));
			/* the request being written counts a lost send too: a host
			 * that resets every connection ends it after PIPE_TRIES */
			if (++j->tries >= PIPE_TRIES) {
				memmove(k->q + k->nsent, k->q + k->nsent + 1,
				        (k->nq - k->nsent - 1) * sizeof *k->q);
				k->nq--;
				finish(p, j, CURLE_SEND_ERROR, why);
			}
			conn_drop(p, k, false, CURLE_SEND_ERROR, why);
			return;
		}
		k->progress_us = now_us();
		k->wr_off += (size_t)n;
		if (k->wr_off == j->len) {
			j->written_us = k->progress_us;
			j->alone = k->nsent == 0;
			j->res->sent = true;
			k->nsent++;
			k->wr_off = 0;
		}
	}
}

/* --- reading ------------------------------------------------------------------- */

/* q[0]'s answer is complete.  false when it was the connection's last
 * (the server said so): then the connection is dropped. */
static bool answered(struct reg_pipeline *p, struct conn *k)
{
	struct job *j = k->q[0];
	memmove(k->q, k->q + 1, (k->nq - 1) * sizeof *k->q);
	k->nq--;
	if (k->nsent)
		k->nsent--;
	else /* answered before it was all written (a 431, a 413): the rest of
	      * it would be read as the next request; the connection ends */
		k->close_after = true;
	k->answers++;
	k->exclusive = false; /* it was alone: nothing else is queued */
	k->st = P_STATUS;
	finish(p, j, CURLE_OK, NULL);
	if (!k->close_after)
		return true;
	/* requests queued behind the last answer are sent again: queue no
	 * more than the host answers on a connection */
	if (k->nq > 0 && k->answers < k->host->depth)
		k->host->depth = k->answers;
	conn_drop(p, k, false, CURLE_OK, NULL);
	return false;
}

static bool header_is(const char *line, size_t n, const char *name, const char **v, size_t *vl)
{
	size_t kl = strlen(name);
	if (n <= kl || line[kl] != ':' || strncasecmp(line, name, kl) != 0)
		return false;
	const char *s = line + kl + 1, *e = line + n;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*v = s;
	*vl = (size_t)(e - s);
	return true;
}

static bool has_token(const char *v, size_t vl, const char *tok)
{
	size_t tl = strlen(tok);
	for (size_t i = 0; i + tl <= vl; i++)
		if (strncasecmp(v + i, tok, tl) == 0 && (i == 0 || v[i - 1] == ' ' || v[i - 1] == ',') &&
		    (i + tl == vl || v[i + tl] == ' ' || v[i + tl] == ','))
			return true;
	return false;
}

/* The number that is all of v[0..vl), in base 10 or 16; -1 when it is
 * not one (signs, "0x", spaces inside, more than 15 digits). */
static int64_t number(const char *v, size_t vl, int base)
{
	if (vl == 0 || vl > 15)
		return -1;
	int64_t n = 0;
	for (size_t i = 0; i < vl; i++) {
		int c = (unsigned char)v[i], d = c >= '0' && c <= '9' ? c - '0'
		                               : base == 16 && c >= 'a' && c <= 'f' ? c - 'a' + 10
		                               : base == 16 && c >= 'A' && c <= 'F' ? c - 'A' + 10
		                                                                    : -1;
		if (d < 0)
			return -1;
		n = n * base + d;
	}
	return n;
}

/* A status or header line of q[0]'s answer (n bytes with its line end):
 * 1 when it ended a bodyless answer, 0 when more is to come, -1 on a
 * malformed answer, -2 when the callback refused it (*why says). */
static int head_line(struct conn *k, char *line, size_t n, const char **why)
{
	struct job *j = k->q[0];
	size_t bare = n;
	while (bare && (line[bare - 1] == '\r' || line[bare - 1] == '\n'))
		bare--;
	int done = 0;
	if (k->st == P_STATUS) {
		if (bare == 0)
			return 0; /* a stray line end between answers */
		if (bare < 12 || strncmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ' ||
		    (k->status = strtol(line + 9, NULL, 10)) < 100 || k->status > 999)
			return *why = "malformed status line", -1;
		k->chunked = k->has_len = false;
		k->left = 0;
		j->answering = true;
		if (line[7] == '0')
			k->close_after = true; /* an HTTP/1.0 answer ends its connection */
		k->st = P_HEADERS;
	} else if (bare == 0) {
		if (k->status < 200)
			k->st = P_STATUS; /* 100 Continue and friends: the answer follows */
		else if (j->head || k->status == 204 || k->status == 304)
			done = 1;
		else if (k->chunked)
			k->st = P_CHUNK_SIZE;
		else if (k->has_len)
			k->st = P_BODY, done = k->left == 0;
		else
			k->st = P_BODY_EOF, k->close_after = true;
	} else {
		const char *v;
		size_t vl;
		if (header_is(line, bare, "content-length", &v, &vl)) {
			int64_t len = number(v, vl, 10);
			if (len < 0 || (k->has_len && len != k->left))
				return *why = "bad Content-Length", -1;
			k->has_len = true;
			k->left = len;
		} else if (header_is(line, bare, "transfer-encoding", &v, &vl)) {
			if (!has_token(v, vl, "chunked"))
				return *why = "unsupported Transfer-Encoding", -1;
			k->chunked = true;
		} else if (header_is(line, bare, "connection", &v, &vl) && has_token(v, vl, "close")) {
			k->close_after = true;
		}
	}
	/* every line goes on, interim answers' too (as libcurl does: its
	 * header callbacks start over at each status line) */
	if (j->on_header(line, 1, n, j->ud) != n)
		return *why = "aborted by the header callback", -2;
	return done;
}

/* Parse what has arrived; 0, or -1 when the connection was dropped. */
static int parse(struct reg_pipeline *p, struct conn *k)
{
	size_t off = 0;
	const char *why = NULL;
	int rc = 0;
	while (k->nq > 0 && rc == 0) {
		struct job *j = k->q[0];
		char *s = k->in + off;
		size_t avail = k->in_len - off;
		if (k->st == P_STATUS && k->nsent == 0 && k->wr_off == 0 && avail > 0) {
			/* not a byte of q[0] is out: an answer to nothing we sent
			 * (a 408 on an idle connection); q[0] goes to a new one */
			conn_drop(p, k, false, CURLE_OK, NULL);
			return -1;
		}
		if (k->st == P_BODY || k->st == P_BODY_EOF || k->st == P_CHUNK_DATA) {
			size_t n = avail;
			if (k->st != P_BODY_EOF && (int64_t)n > k->left)
				n = (size_t)k->left;
			if (n && j->on_body(s, 1, n, j->ud) != n) {
				why = "aborted by the body callback";
				rc = -2;
				break;
			}
			off += n;
			if (k->st == P_BODY_EOF)
				break; /* until the close */
			k->left -= (int64_t)n;
			if (k->left > 0)
				break;
			if (k->st == P_CHUNK_DATA)
				k->st = P_CHUNK_END;
			else if (!answered(p, k))
				return -1;
			continue;
		}
		char *nl = memchr(s, '\n', avail);
		if (!nl) {
			if (avail > PIPE_MAX_HEAD) {
				why = "answer header too long";
				rc = -1;
			}
			break;
		}
		size_t n = (size_t)(nl - s) + 1;
		off += n;
		if (k->st == P_STATUS || k->st == P_HEADERS) {
			rc = head_line(k, s, n, &why);
			if (rc == 1) {
				rc = 0;
				if (!answered(p, k))
					return -1;
			}
		} else if (k->st == P_CHUNK_SIZE) {
			size_t hl = strspn(s, "0123456789abcdefABCDEF");
			int64_t size = strchr(";\r\n \t", s[hl]) ? number(s, hl, 16) : -1;
			if (size < 0) {
				why = "bad chunk size";
				rc = -1;
			} else {
				k->left = size;
				k->st = size ? P_CHUNK_DATA : P_TRAILERS;
			}
		} else if (k->st == P_CHUNK_END) {
			if (n > 2 || (n == 2 && s[0] != '\r')) {
				why = "bad chunk end";
				rc = -1;
			} else {
				k->st = P_CHUNK_SIZE;
			}
		} else if (k->st == P_TRAILERS) {
			if (j->on_header(s, 1, n, j->ud) != n) {
				why = "aborted by the header callback";
				rc = -2;
			} else if (n <= 2 && !answered(p, k)) {
				return -1;
			}
		}
	}
	if (rc == 0 && k->nq == 0 && off < k->in_len) {
		why = "an answer to no request";
		rc = -1;
	}
	if (rc < 0) {
		char msg[160];
		snprintf(msg, sizeof msg, "%s: %s", k->host->authority, why);
		conn_drop(p, k, k->nq > 0, rc == -2 ? CURLE_WRITE_ERROR : CURLE_WEIRD_SERVER_REPLY,
		          msg);
		return -1;
	}
	memmove(k->in, k->in + off, k->in_len - off);
	k->in_len -= off;
	return 0;
}

static void conn_read(struct reg_pipeline *p, struct conn *k)
{
	for (;;) {
		if (k->in_cap - k->in_len < PIPE_READ) {
			k->in_cap = k->in_len + 2 * PIPE_READ;
			k->in = oci_xrealloc(k->in, k->in_cap);
		}
		ssize_t n = recv(k->fd, k->in + k->in_len, k->in_cap - k->in_len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0) {
			/* an answer framed by the close is complete now */
			if (n == 0 && k->nq > 0 && k->st == P_BODY_EOF && !answered(p, k))
				return;
			char why[128];
			if (n < 0)
				snprintf(why, sizeof why, "receive from %s: %s", k->host->authority,
				         strerror(errno));
			else
				snprintf(why, sizeof why, "%s closed the connection", k->host->authority);
			/* a host that hangs up on pipelined requests without a word
			 * (no Connection: close), before any keep-alive limit of a
			 * sane size, gets one request at a time from now on */
			if (k->nsent > 1 && !k->close_after && k->answers < PIPE_DEPTH)
				k->host->depth = 1;
			bool partial = k->nq > 0 && k->q[0]->answering;
			conn_drop(p, k, partial, n < 0 ? CURLE_RECV_ERROR : CURLE_PARTIAL_FILE, why);
			return;
		}
		k->progress_us = now_us();
		if (k->nq > 0 && !k->q[0]->answering) {
			struct job *j = k->q[0];
			j->answering = true;
			if (j->alone && j->written_us)
				j->res->wait_us = k->progress_us - j->written_us;
		}
		k->in_len += (size_t)n;
		if (parse(p, k) < 0)
			return;
	}
}

/* k's connect failed (why): the next address, or else every job of k
 * fails (nothing was sent; reg_http retries) and k is dropped. */
static void conn_unreachable(struct reg_pipeline *p, struct conn *k, const char *why)
{
	if (k->next_ai && conn_start(p, k, k->next_ai) == 0)
		return;
	for (size_t i = 0; i < k->nq; i++)
		finish(p, k->q[i], CURLE_COULDNT_CONNECT, why);
	k->nq = 0;
	conn_drop(p, k, false, CURLE_OK, NULL);
}

static void conn_connected(struct reg_pipeline *p, struct conn *k)
{
	int e = 0;
	socklen_t el = sizeof e;
	if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
		e = errno;
	if (e == 0) {
		k->connecting = false;
		k->progress_us = now_us();
		return;
	}
	char why[160];
	snprintf(why, sizeof why, "connect to %s: %s", k->host->authority, strerror(e));
	conn_unreachable(p, k, why);
}

/* Nothing moved on k for stall_ms with requests in flight.  If q[0] was
 * written behind requests that were answered, the server may read one
 * request at a time and ignore what came with it (some proxies do): the
 * host gets one at a time from now on and q[0] goes again.  Else q[0]
 * timed out (a slow server) and the rest go again. */
static void conn_stalled(struct reg_pipeline *p, struct conn *k)
{
	struct job *j = k->q[0];
	bool ignored = k->nsent > 0 && !j->alone && !j->answering && !j->exclusive;
	if (k->nsent > 1 || ignored)
		k->host->depth = 1;
	char why[160];
	snprintf(why, sizeof why, "%s: no answer for %ld s", k->host->authority,
	         p->stall_ms / 1000);
	conn_drop(p, k, !ignored, CURLE_OPERATION_TIMEDOUT, why);
}

/* --- the thread ------------------------------------------------------------------ */

/* Hand waiting jobs to connections, in order, as far as they go. */
static void assign(struct reg_pipeline *p)
{
	struct job *keep = NULL, *keep_tail = NULL;
	while (p->wait) {
		struct job *j = p->wait;
		p->wait = j->next;
		if (!p->wait)
			p->wait_tail = NULL;
		char why[160] = "";
		struct conn *k = pick(p, j, why, sizeof why);
		if (k) {
			conn_push(k, j);
			continue;
		}
		if (why[0]) {
			finish(p, j, strncmp(why, "could not resolve", 17) == 0 ?
			                     CURLE_COULDNT_RESOLVE_HOST : CURLE_COULDNT_CONNECT, why);
			continue;
		}
		j->next = NULL; /* every connection of its host is full */
		if (keep_tail)
			keep_tail->next = j;
		else
			keep = j;
		keep_tail = j;
	}
	p->wait = keep;
	p->wait_tail = keep_tail;
}

/* Free dead connections; true when any request is in flight or waiting. */
static bool sweep(struct reg_pipeline *p)
{
	bool busy = p->wait != NULL;
	for (struct host *h = p->hosts; h; h = h->next) {
		size_t w = 0;
		for (size_t i = 0; i < h->n; i++) {
			struct conn *k = h->conns[i];
			if (k->dead) {
				free(k->q);
				free(k->in);
				free(k);
				continue;
			}
			busy |= k->nq > 0;
			h->conns[w++] = k;
		}
		h->n = w;
	}
	return busy;
}

static void *run(void *ud)
{
	struct reg_pipeline *p = ud;
	struct pollfd *fds = NULL;
	struct conn **who = NULL;
	size_t cap = 0;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		struct job *q = p->head;
		p->head = p->tail = NULL;
		bool stop = p->stop;
		pthread_mutex_unlock(&p->lock);
		for (struct job *next; q; q = next) {
			next = q->next;
			wait_push(p, q, false);
		}
		sweep(p); /* dead connections leave room for new ones */
		assign(p);
		bool busy = sweep(p);
		/* reg_pipeline_free runs once every worker is done */
		if (stop && !busy)
			break;

		size_t n = 1;
		for (struct host *h = p->hosts; h; h = h->next)
			n += h->n;
		if (n > cap) {
			cap = 2 * n;
			fds = oci_xrealloc(fds, cap * sizeof *fds);
			who = oci_xrealloc(who, cap * sizeof *who);
		}
		fds[0] = (struct pollfd){ .fd = p->wake[0], .events = POLLIN };
		n = 1;
		int64_t now = now_us(), next = now + 1000000;
		for (struct host *h = p->hosts; h; h = h->next)
			for (size_t i = 0; i < h->n; i++) {
				struct conn *k = h->conns[i];
				short ev = k->connecting ? POLLOUT
				                         : (short)(POLLIN | (k->nsent < k->nq ? POLLOUT : 0));
				int64_t due = k->connecting ? k->deadline_us
				              : k->nq   ? k->progress_us + p->stall_ms * 1000
				                        : next;
				if (due < next)
					next = due;
				who[n] = k;
				fds[n++] = (struct pollfd){ .fd = k->fd, .events = ev };
			}
		int ms = next > now ? (int)((next - now + 999) / 1000) : 0;
		if (poll(fds, (nfds_t)n, ms) < 0 && errno != EINTR)
			abort();
		if (fds[0].revents) {
			char buf[64];
			while (read(p->wake[0], buf, sizeof buf) > 0)
				;
		}
		now = now_us();
		for (size_t i = 1; i < n; i++) {
			struct conn *k = who[i];
			short re = fds[i].revents;
			if (k->dead)
				continue;
			if (k->connecting) {
				if (re)
					conn_connected(p, k);
				else if (now >= k->deadline_us) {
					char why[160];
					snprintf(why, sizeof why, "connect to %s: timed out after %ld ms",
					         k->host->authority, p->connect_ms);
					conn_unreachable(p, k, why);
				}
				if (k->dead || k->connecting)
					continue;
			}
			if (re & (POLLIN | POLLHUP | POLLERR))
				conn_read(p, k);
			if (!k->dead && k->nsent < k->nq)
				conn_write(p, k); /* also for newly assigned jobs */
			if (!k->dead && k->nq && now - k->progress_us > p->stall_ms * 1000)
				conn_stalled(p, k);
		}
	}
	free(fds);
	free(who);
	return NULL;
}

struct reg_pipeline *reg_pipeline_new(long max_host_conns, long connect_ms, long stall_ms)
{
	struct reg_pipeline *p = oci_xcalloc(1, sizeof *p);
	p->max_conns = max_host_conns > 0 ? max_host_conns : 1;
	p->connect_ms = connect_ms;
	p->stall_ms = stall_ms;
	if (pipe2(p->wake, O_NONBLOCK | O_CLOEXEC) < 0)
		abort();
	pthread_mutex_init(&p->lock, NULL);
	if (pthread_create(&p->thread, NULL, run, p) != 0)
		abort();
	return p;
}

static void wake(struct reg_pipeline *p)
{
	ssize_t rc;
	do
		rc = write(p->wake[1], "", 1);
	while (rc < 0 && errno == EINTR);
	/* EAGAIN: the pipe is full of wake-ups already */
}

void reg_pipeline_free(struct reg_pipeline *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_mutex_unlock(&p->lock);
	wake(p);
	pthread_join(p->thread, NULL);
	for (struct host *h = p->hosts, *next; h; h = next) {
		next = h->next;
		for (size_t i = 0; i < h->n; i++) {
			if (h->conns[i]->fd >= 0)
				close(h->conns[i]->fd);
			free(h->conns[i]->q);
			free(h->conns[i]->in);
			free(h->conns[i]);
		}
		free(h->conns);
		if (h->ai)
			freeaddrinfo(h->ai);
		free(h->authority);
		free(h);
	}
	close(p->wake[0]);
	close(p->wake[1]);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void reg_pipeline_perform(struct reg_pipeline *p, const char *authority, const char *req,
                          size_t len, unsigned flags, curl_write_callback on_header,
                          curl_write_callback on_body, void *ud, struct reg_pipe_result *res)
{
	memset(res, 0, sizeof *res);
	struct job j = { .authority = authority, .req = req, .len = len,
		         .head = flags & REG_PIPE_HEAD, .exclusive = flags & REG_PIPE_ALONE,
		         .on_header = on_header, .on_body = on_body, .ud = ud, .res = res };
	pthread_cond_init(&j.woken, NULL);
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = &j;
	else
		p->head = &j;
	p->tail = &j;
	pthread_mutex_unlock(&p->lock);
	wake(p);
	pthread_mutex_lock(&p->lock);
	while (!j.done)
		pthread_cond_wait(&j.woken, &p->lock);
	pthread_mutex_unlock(&p->lock);
	pthread_cond_destroy(&j.woken);
}
