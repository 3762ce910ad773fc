/* tests/test-pipeline.c: the HTTP/1.1 pipeline (registry/pipeline.h)
 * against a scripted server on 127.0.0.1, no registry.  The server reads
 * request heads, notes per answer how many complete heads it already had
 * buffered (more than one: the client pipelined) and answers by path:
 * framing by Content-Length, chunked (extensions, trailers) and the close,
 * 1xx before the answer, a HEAD with a Content-Length and no body,
 * answers written one byte at a time ("/1b/..."), Connection: close and
 * silent hang-ups with requests pending, malformed answers, a silent
 * server, an answer that comes before the request head is all written.
 * Each check looks at rc, the header lines (status line first, one line a
 * call, as libcurl's CURLOPT_HEADERFUNCTION) and the exact body bytes. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "oci/util.h"
#include "registry/pipeline.h"
#include "tests/tap.h"

static void nap(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* --- the scripted server ---------------------------------------------------------- */

#define MAX_CONNS 128

struct server {
	int lfd, port;
	char authority[32];
	pthread_t thread;
	pthread_mutex_t lock;
	/* under lock */
	int accepted, max_buffered;
	char **log; /* paths answered, in order */
	size_t nlog;
	pthread_t conn_threads[MAX_CONNS];
	int conn_fds[MAX_CONNS];
};

struct sconn {
	struct server *s;
	int fd, id;
	char *buf;
	size_t len, cap;
	int answered; /* answers written on this connection */
	bool onebyte; /* the answer being written goes a byte at a time */
};

static size_t head_len(const char *b, size_t len)
{
	const char *e = memmem(b, len, "\r\n\r\n", 4);
	return e ? (size_t)(e - b) + 4 : 0;
}

static int heads(const struct sconn *c)
{
	int n = 0;
	for (const char *b = c->buf, *end = c->buf + c->len, *e;
	     (e = memmem(b, (size_t)(end - b), "\r\n\r\n", 4)); b = e + 4)
		n++;
	return n;
}

/* Read what is there (wait: block for at least a byte); the recv result. */
static ssize_t sc_fill(struct sconn *c, bool wait)
{
	if (c->cap - c->len < 65536) {
		c->cap = c->len + 131072;
		c->buf = oci_xrealloc(c->buf, c->cap);
	}
	ssize_t n;
	do
		n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, wait ? 0 : MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		c->len += (size_t)n;
	c->buf[c->len] = '\0'; /* for sscanf */
	return n;
}

static void sc_drain(struct sconn *c)
{
	while (sc_fill(c, false) > 0)
		;
}

/* Until n complete heads are buffered, at most ms. */
static bool sc_wait_heads(struct sconn *c, int n, int ms)
{
	long until = now_ms() + ms;
	while (heads(c) < n) {
		struct pollfd pf = { .fd = c->fd, .events = POLLIN };
		long left = until - now_ms();
		if (left <= 0 || poll(&pf, 1, (int)left) <= 0 || sc_fill(c, false) <= 0)
			return heads(c) >= n;
	}
	return true;
}

static void sc_consume(struct sconn *c)
{
	size_t hl = head_len(c->buf, c->len);
	memmove(c->buf, c->buf + hl, c->len - hl + 1);
	c->len -= hl;
}

static void sc_send(struct sconn *c, const char *data, size_t len)
{
	for (size_t off = 0; off < len;) {
		size_t n = c->onebyte ? 1 : len - off;
		ssize_t w = send(c->fd, data + off, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		off += (size_t)w;
		if (c->onebyte) {
			struct timespec ts = { 0, 200000 };
			nanosleep(&ts, NULL);
		}
	}
}

static void sc_sends(struct sconn *c, const char *s)
{
	sc_send(c, s, strlen(s));
}

/* The path answered (for "answered once" checks). */
static void note(struct sconn *c, const char *path)
{
	pthread_mutex_lock(&c->s->lock);
	c->s->log = oci_xrealloc(c->s->log, (c->s->nlog + 1) * sizeof *c->s->log);
	c->s->log[c->s->nlog++] = oci_xstrdup(path);
	pthread_mutex_unlock(&c->s->lock);
	c->answered++;
}

/* A graceful close: FIN, then read until the client closes too (no RST
 * that could take the answer with it). */
static void sc_close(struct sconn *c)
{
	shutdown(c->fd, SHUT_WR);
	char scratch[65536];
	struct pollfd pf = { .fd = c->fd, .events = POLLIN };
	while (poll(&pf, 1, 3000) > 0 && recv(c->fd, scratch, sizeof scratch, 0) > 0)
		;
}

/* Read and drop until the client closes. */
static void sc_hold(struct sconn *c)
{
	char scratch[65536];
	while (recv(c->fd, scratch, sizeof scratch, 0) > 0)
		;
}

/* Drop bytes up to the end of the head being read; false at EOF. */
static bool sc_skip_head(struct sconn *c)
{
	for (;;) {
		size_t hl = head_len(c->buf, c->len);
		if (hl) {
			sc_consume(c);
			return true;
		}
		if (c->len > 3) { /* keep what could start the "\r\n\r\n" */
			memmove(c->buf, c->buf + c->len - 3, 4);
			c->len = 3;
		}
		if (sc_fill(c, true) <= 0)
			return false;
	}
}

enum act { KEEP, CLOSE, HOLD, RESET };

static const char ok_answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

static const char timeout_408[] = "HTTP/1.1 408 Request Timeout\r\n"
				  "Content-Length: 0\r\n"
				  "Connection: close\r\n"
				  "\r\n";

static const char chunked_answer[] = "HTTP/1.1 200 OK\r\n"
				     "Transfer-Encoding: chunked\r\n"
				     "X-A: b\r\n"
				     "\r\n"
				     "4;x=y\r\nWiki\r\n"
				     "5\r\npedia\r\n"
				     "E; name=\"q\"\r\n in\r\n\r\nchunks.\r\n"
				     "a\r\n0123456789\r\n"
				     "0\r\n"
				     "X-Trailer: t\r\n"
				     "X-Other: u\r\n"
				     "\r\n";

static const char continue_answer[] = "HTTP/1.1 100 Continue\r\n"
				      "\r\n"
				      "HTTP/1.1 103 Early Hints\r\n"
				      "Link: </a>; rel=preload\r\n"
				      "\r\n"
				      "HTTP/1.1 200 OK\r\n"
				      "Content-Length: 5\r\n"
				      "\r\n"
				      "hello";

/* The answer to the request at the front of c->buf (already consumed);
 * what to do with the connection next. */
static enum act answer(struct sconn *c, const char *method, const char *path)
{
	char buf[4096];
	c->onebyte = strncmp(path, "/1b/", 4) == 0;
	if (c->onebyte)
		path += 3;
	int i;
	if (sscanf(path, "/n/%d", &i) == 1) {
		note(c, path);
		snprintf(buf, sizeof buf,
		         "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-N: %d\r\n\r\n%d",
		         snprintf(NULL, 0, "%d", i), i, i);
		sc_sends(c, buf);
	} else if (sscanf(path, "/cc/%d", &i) == 1) {
		/* Connection: close on each connection's third answer, with more
		 * requests waiting behind it */
		note(c, path);
		bool last = c->answered == 3;
		snprintf(buf, sizeof buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\ncc%d",
		         2 + snprintf(NULL, 0, "%d", i), last ? "Connection: close\r\n" : "", i);
		sc_sends(c, buf);
		if (last)
			return CLOSE;
	} else if (sscanf(path, "/eof/%d", &i) == 1) {
		/* two answers a connection, then the close, saying nothing */
		if (c->answered == 2)
			return CLOSE;
		note(c, path);
		snprintf(buf, sizeof buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\neof%d",
		         3 + snprintf(NULL, 0, "%d", i), i);
		sc_sends(c, buf);
	} else if (sscanf(path, "/first/%d", &i) == 1) {
		/* a server (or a proxy before it) that reads one request at a
		 * time and drops whatever came with it: pipelined requests are
		 * never answered, requests sent one at a time are */
		note(c, path);
		snprintf(buf, sizeof buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\nfirst%d",
		         5 + snprintf(NULL, 0, "%d", i), i);
		sc_sends(c, buf);
		c->len = 0;
	} else if (strcmp(path, "/alwayseof") == 0) {
		return CLOSE;
	} else if (strcmp(path, "/alwaysrst") == 0) {
		return RESET;
	} else if (strncmp(path, "/ok5", 4) == 0) { /* "/ok50", "/ok51": ok, 50 ms late */
		note(c, path);
		nap(50);
		sc_sends(c, ok_answer);
	} else if (strcmp(path, "/slowhdr") == 0) {
		/* the head now, the body in 400 ms; meanwhile, at 50 ms, every
		 * other connection (idle) gets a 408 and Connection: close, as
		 * servers send when they give up an idle keep-alive connection */
		note(c, path);
		sc_sends(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n");
		nap(50);
		pthread_mutex_lock(&c->s->lock);
		for (int k = 0; k < c->s->accepted; k++)
			if (k != c->id && c->s->conn_fds[k] >= 0)
				send(c->s->conn_fds[k], timeout_408, strlen(timeout_408),
				     MSG_NOSIGNAL);
		pthread_mutex_unlock(&c->s->lock);
		nap(350);
		sc_sends(c, "slow");
	} else if (strcmp(path, "/ok") == 0) {
		note(c, path);
		sc_sends(c, ok_answer);
	} else if (strcmp(path, "/chunked") == 0) {
		note(c, path);
		sc_sends(c, chunked_answer);
	} else if (strcmp(path, "/continue") == 0) {
		note(c, path);
		sc_sends(c, continue_answer);
	} else if (strncmp(path, "/pair/", 6) == 0 && strcmp(path, "/pair/get") != 0) {
		/* an answer without a body that says a length (a HEAD's with
		 * Content-Length: 1000, a 304's with Content-Length: 100, a 204),
		 * the GET's answer behind it in the same write */
		const char *first =
			strcmp(path, "/pair/head") == 0 ?
				"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nX-Kind: head\r\n\r\n" :
			strcmp(path, "/pair/304") == 0 ?
				"HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n" :
				"HTTP/1.1 204 No Content\r\n\r\n";
		note(c, path);
		bool two = sc_wait_heads(c, 1, 3000);
		snprintf(buf, sizeof buf, "%s%s", first,
		         two ? "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Kind: get\r\n\r\nget"
		             : "");
		if (two) { /* noted before the answer goes: the client may look at once */
			sc_consume(c);
			note(c, "/pair/get");
			note(c, "/pair/both");
		}
		sc_sends(c, buf);
	} else if (strcmp(path, "/eofbody") == 0) {
		/* framed by the close: no Content-Length, not chunked */
		note(c, path);
		sc_sends(c, "HTTP/1.1 200 OK\r\nX-Framing: close\r\n\r\n");
		for (int k = 0; k < 3000; k++)
			buf[k] = (char)('a' + k % 26);
		sc_send(c, buf, 1500);
		nap(20);
		sc_send(c, buf + 1500, 1500);
		return CLOSE;
	} else if (strcmp(path, "/bad/status") == 0) {
		note(c, path);
		sc_sends(c, "HTXP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
		return HOLD;
	} else if (strcmp(path, "/bad/chunk") == 0) {
		note(c, path);
		sc_sends(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		            "zz\r\nabc\r\n0\r\n\r\n");
		return HOLD;
	} else if (strcmp(path, "/bad/cl2") == 0) {
		note(c, path);
		sc_sends(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
		            "hello!");
		return HOLD;
	} else if (strcmp(path, "/bad/short") == 0) {
		note(c, path);
		sc_sends(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello");
		return CLOSE;
	} else if (strcmp(path, "/silent") == 0) {
		return HOLD;
	} else {
		note(c, path);
		sc_sends(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	}
	return KEEP;
}

static void *conn_main(void *arg)
{
	struct sconn *c = arg;
	for (;;) {
		while (!head_len(c->buf, c->len)) {
			/* a huge request head is answered before it has all come
			 * (431), and the connection kept: the client must not take
			 * the rest of the stream for the next request */
			if (c->len >= 4096 && strncmp(c->buf, "GET /big431 ", 12) == 0) {
				note(c, "/big431");
				sc_sends(c, "HTTP/1.1 431 Request Header Fields Too Large\r\n"
				            "Content-Length: 0\r\n\r\n");
				nap(300);
				/* then the rest of that head is read and dropped, and
				 * the connection serves on: a client may as well finish
				 * the head and go on, or close */
				if (!sc_skip_head(c))
					goto out;
				continue;
			}
			if (sc_fill(c, true) <= 0)
				goto out;
		}
		/* a connection's first answer waits a moment, so that requests
		 * written back to back are all buffered when it goes */
		if (c->answered == 0 && (strncmp(c->buf, "GET /n/", 7) == 0 ||
		                         strncmp(c->buf, "GET /cc/", 8) == 0 ||
		                         strncmp(c->buf, "GET /eof/", 9) == 0 ||
		                         strncmp(c->buf, "GET /first/", 11) == 0))
			nap(30);
		sc_drain(c);
		int nb = heads(c);
		pthread_mutex_lock(&c->s->lock);
		if (nb > c->s->max_buffered)
			c->s->max_buffered = nb;
		pthread_mutex_unlock(&c->s->lock);
		char method[16] = "", path[512] = "";
		if (sscanf(c->buf, "%15s %511s", method, path) != 2)
			break;
		sc_consume(c);
		enum act a = answer(c, method, path);
		if (a == CLOSE) {
			sc_close(c);
			break;
		}
		if (a == HOLD) {
			sc_hold(c);
			break;
		}
		if (a == RESET) { /* an RST: the client's next send or receive fails */
			struct linger l = { .l_onoff = 1, .l_linger = 0 };
			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
			break;
		}
	}
out:
	pthread_mutex_lock(&c->s->lock);
	c->s->conn_fds[c->id] = -1;
	pthread_mutex_unlock(&c->s->lock);
	close(c->fd);
	free(c->buf);
	free(c);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct server *s = arg;
	for (;;) {
		int fd = accept(s->lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL; /* shut down */
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		pthread_mutex_lock(&s->lock);
		if (s->accepted == MAX_CONNS) {
			pthread_mutex_unlock(&s->lock);
			close(fd);
			continue;
		}
		struct sconn *c = oci_xcalloc(1, sizeof *c);
		*c = (struct sconn){ .s = s, .fd = fd, .id = s->accepted, .cap = 131072 };
		c->buf = oci_xmalloc(c->cap);
		c->buf[0] = '\0';
		s->conn_fds[s->accepted] = fd;
		if (pthread_create(&s->conn_threads[s->accepted], NULL, conn_main, c) != 0)
			abort();
		s->accepted++;
		pthread_mutex_unlock(&s->lock);
	}
}

static struct server *srv_start(void)
{
	struct server *s = oci_xcalloc(1, sizeof *s);
	pthread_mutex_init(&s->lock, NULL);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
		                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(s->lfd, 64) < 0 || getsockname(s->lfd, (struct sockaddr *)&sa, &sl) < 0)
		abort();
	s->port = ntohs(sa.sin_port);
	snprintf(s->authority, sizeof s->authority, "127.0.0.1:%d", s->port);
	if (pthread_create(&s->thread, NULL, accept_main, s) != 0)
		abort();
	return s;
}

/* Run after the client is gone (reg_pipeline_free closed its sockets). */
static void srv_stop(struct server *s)
{
	shutdown(s->lfd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->lfd);
	for (int i = 0; i < s->accepted; i++)
		pthread_join(s->conn_threads[i], NULL);
	for (size_t i = 0; i < s->nlog; i++)
		free(s->log[i]);
	free(s->log);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int srv_get(struct server *s, const int *field)
{
	pthread_mutex_lock(&s->lock);
	int v = *field;
	pthread_mutex_unlock(&s->lock);
	return v;
}

static void srv_reset_stats(struct server *s)
{
	pthread_mutex_lock(&s->lock);
	s->max_buffered = 0;
	pthread_mutex_unlock(&s->lock);
}

/* Times path was answered. */
static int srv_count(struct server *s, const char *path)
{
	int n = 0;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nlog; i++)
		n += strcmp(s->log[i], path) == 0;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* --- the client side -------------------------------------------------------------- */

struct rec {
	char hdr[8192];
	size_t hl;
	int bad_lines;   /* header calls that were not exactly one line */
	char body[8192];
	size_t bl;
	bool limited;    /* the body callback takes limit bytes in all, then refuses */
	size_t limit;
	int hdr_limit;   /* > 0: the header callback refuses its hdr_limit-th line */
	int nhdr;
	int block_ms;    /* the header callback's first call takes that long */
};

static size_t rec_header(char *b, size_t size, size_t n, void *ud)
{
	struct rec *r = ud;
	size_t len = size * n;
	if (len == 0 || b[len - 1] != '\n' || memchr(b, '\n', len - 1))
		r->bad_lines++;
	if (++r->nhdr == 1 && r->block_ms)
		nap(r->block_ms);
	if (r->nhdr == r->hdr_limit)
		return 0;
	if (r->hl + len < sizeof r->hdr) {
		memcpy(r->hdr + r->hl, b, len);
		r->hl += len;
		r->hdr[r->hl] = '\0';
	}
	return len;
}

static size_t rec_body(char *b, size_t size, size_t n, void *ud)
{
	struct rec *r = ud;
	size_t len = size * n;
	if (r->limited && r->bl + len > r->limit)
		len = r->limit - r->bl;
	if (r->bl + len < sizeof r->body) {
		memcpy(r->body + r->bl, b, len);
		r->bl += len;
		r->body[r->bl] = '\0';
	}
	return len;
}

/* One request through p: rc; the answer in *r, the result in *res. */
static CURLcode perform(struct reg_pipeline *p, const char *authority, const char *method,
                        const char *path, struct rec *r, struct reg_pipe_result *res)
{
	char *req = oci_xasprintf("%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: test-pipeline\r\n\r\n",
	                          method, path, authority);
	reg_pipeline_perform(p, authority, req, strlen(req), strcmp(method, "HEAD") == 0,
	                     rec_header, rec_body, r, res);
	free(req);
	return res->rc;
}

/* A TAP comment showing s with its line ends escaped. */
static void diag_str(const char *label, const char *s, size_t n)
{
	printf("# %s: [", label);
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\r')
			printf("\\r");
		else if (s[i] == '\n')
			printf("\\n");
		else
			putchar(s[i]);
	printf("]\n");
}

/* is_str for strings with line ends: shown escaped, as TAP comments. */
static void is_esc(const char *got, const char *want, const char *name)
{
	bool same = strcmp(got, want) == 0;
	tap_ok(same, "%s", name);
	if (!same) {
		diag_str("  got", got, strlen(got));
		diag_str(" want", want, strlen(want));
	}
}

/* The header lines from the last status line on. */
static const char *final_head(const struct rec *r)
{
	const char *last = r->hdr;
	for (const char *s = r->hdr; (s = strstr(s, "HTTP/1.")); s++)
		if (s == r->hdr || s[-1] == '\n')
			last = s;
	return last;
}

struct worker {
	struct reg_pipeline *p;
	const char *authority, *method;
	char path[64];
	pthread_barrier_t *go;
	struct rec r;
	struct reg_pipe_result res;
	pthread_t t;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	if (w->go)
		pthread_barrier_wait(w->go);
	perform(w->p, w->authority, w->method, w->path, &w->r, &w->res);
	return NULL;
}

/* n GETs of prefix + first.. at once, from n threads. */
static struct worker *run_workers(struct reg_pipeline *p, struct server *s, const char *prefix,
                                  int first, int n)
{
	struct worker *w = oci_xcalloc((size_t)n, sizeof *w);
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, (unsigned)n);
	for (int i = 0; i < n; i++) {
		w[i] = (struct worker){ .p = p, .authority = s->authority, .method = "GET",
			                .go = &go };
		snprintf(w[i].path, sizeof w[i].path, "%s%d", prefix, first + i);
		if (pthread_create(&w[i].t, NULL, worker_main, &w[i]) != 0)
			abort();
	}
	for (int i = 0; i < n; i++)
		pthread_join(w[i].t, NULL);
	pthread_barrier_destroy(&go);
	return w;
}

/* --- the cases ---------------------------------------------------------------------- */

static void test_many(void)
{
	struct server *s = srv_start();
	struct reg_pipeline *p = reg_pipeline_new(2, 2000, 3000);
	enum { N = 64 };
	struct worker *w = run_workers(p, s, "/n/", 0, N);
	int good = 0, bad_lines = 0, sent = 0;
	long conns = 0;
	for (int i = 0; i < N; i++) {
		char want_h[128], want_b[16];
		snprintf(want_b, sizeof want_b, "%d", i);
		snprintf(want_h, sizeof want_h, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nX-N: %d\r\n\r\n",
		         strlen(want_b), i);
		bool same = w[i].res.rc == CURLE_OK && strcmp(w[i].r.hdr, want_h) == 0 &&
		            strcmp(w[i].r.body, want_b) == 0;
		if (!same) {
			printf("# /n/%d: rc %d (%s)\n", i, w[i].res.rc, w[i].res.error);
			diag_str("headers", w[i].r.hdr, w[i].r.hl);
			diag_str("body", w[i].r.body, w[i].r.bl);
		}
		good += same;
		bad_lines += w[i].r.bad_lines;
		sent += w[i].res.sent;
		conns += w[i].res.new_conns;
	}
	is_int(good, N, "64 concurrent GETs: each its own status line, headers and body");
	is_int(bad_lines, 0, "  every header call one whole line");
	is_int(sent, N, "  every request sent");
	int accepted = srv_get(s, &s->accepted);
	ok(accepted >= 1 && accepted <= 2, "  max_host_conns 2: at most 2 connections (%d)", accepted);
	is_int(conns, accepted, "  new_conns adds up to the connections accepted");
	int mb = srv_get(s, &s->max_buffered);
	ok(mb > 1, "  pipelined: the server had %d requests buffered at once", mb);
	int twice = 0;
	for (int i = 0; i < N; i++) {
		char path[32];
		snprintf(path, sizeof path, "/n/%d", i);
		twice += srv_count(s, path) != 1;
	}
	is_int(twice, 0, "  each answered once");
	free(w);

	/* more than 2 connections x 32 in flight: the rest wait their turn */
	enum { M = 100 };
	w = run_workers(p, s, "/n/", 1000, M);
	good = 0;
	for (int i = 0; i < M; i++) {
		char want[16];
		snprintf(want, sizeof want, "%d", 1000 + i);
		good += w[i].res.rc == CURLE_OK && strcmp(w[i].r.body, want) == 0 &&
		        w[i].r.hl == strlen("HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-N: 1000\r\n\r\n");
	}
	is_int(good, M, "then 100 at once: each its own answer");
	accepted = srv_get(s, &s->accepted);
	ok(accepted <= 2, "  still at most 2 connections (%d)", accepted);
	free(w);
	reg_pipeline_free(p);
	srv_stop(s);
}

static const char chunked_head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n";
static const char chunked_body[] = "Wikipedia in\r\n\r\nchunks.0123456789";

/* Headers of the chunked answer: the head, then (libcurl gives them too)
 * maybe the trailers. */
static bool chunked_headers_ok(const char *h)
{
	size_t n = strlen(chunked_head);
	if (strncmp(h, chunked_head, n) != 0)
		return false;
	h += n;
	return !*h || strcmp(h, "X-Trailer: t\r\nX-Other: u\r\n") == 0 ||
	       strcmp(h, "X-Trailer: t\r\nX-Other: u\r\n\r\n") == 0;
}

/* The framing cases, the answers written whole or a byte at a time. */
static void test_framing(bool onebyte)
{
	struct server *s = srv_start();
	struct reg_pipeline *p = reg_pipeline_new(1, 2000, 3000);
	const char *pre = onebyte ? "/1b" : "", *how = onebyte ? " (a byte at a time)" : "";
	char path[64], name[128];
	struct rec r;
	struct reg_pipe_result res;

	/* chunked */
	memset(&r, 0, sizeof r);
	snprintf(path, sizeof path, "%s/chunked", pre);
	snprintf(name, sizeof name, "chunked%s: rc", how);
	is_int(perform(p, s->authority, "GET", path, &r, &res), CURLE_OK, name);
	ok(chunked_headers_ok(r.hdr), "  the head's lines, status line first, trailers after the blank line if at all");
	if (!chunked_headers_ok(r.hdr))
		diag_str("got", r.hdr, r.hl);
	is_int(r.bad_lines, 0, "  one line a call");
	is_esc(r.body, chunked_body, "  the body without chunk sizes, extensions or trailers");
	is_int((long long)r.bl, (long long)strlen(chunked_body), "  its length");

	/* 100 Continue and 103 before the answer */
	memset(&r, 0, sizeof r);
	snprintf(path, sizeof path, "%s/continue", pre);
	snprintf(name, sizeof name, "100 Continue and 103 first%s: rc", how);
	is_int(perform(p, s->authority, "GET", path, &r, &res), CURLE_OK, name);
	is_esc(final_head(&r), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
	       "  the final status is the 200, its headers exact");
	ok(strncmp(r.hdr, "HTTP/1.1 ", 9) == 0, "  the first header line is a status line");
	is_int(r.bad_lines, 0, "  one line a call");
	is_esc(r.body, "hello", "  the 200's body");
	if (strcmp(final_head(&r), r.hdr) != 0)
		diag_str("interim lines given to the header callback", r.hdr,
		         (size_t)(final_head(&r) - r.hdr));

	/* a HEAD answered with Content-Length: 1000 and no body, a GET's
	 * answer right behind it on the same connection; the same after a 304
	 * with a Content-Length and after a 204 */
	static const struct {
		const char *kind, *method, *head, *name;
	} firsts[] = {
		{ "head", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nX-Kind: head\r\n\r\n",
		  "HEAD answered with Content-Length: 1000, no body" },
		{ "304", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n",
		  "GET answered 304 with Content-Length: 100, no body" },
		{ "204", "GET", "HTTP/1.1 204 No Content\r\n\r\n", "GET answered 204" },
	};
	for (size_t k = 0; k < sizeof firsts / sizeof *firsts; k++) {
		struct worker fw = { .p = p, .authority = s->authority, .method = firsts[k].method };
		struct worker gw = { .p = p, .authority = s->authority, .method = "GET" };
		snprintf(fw.path, sizeof fw.path, "%s/pair/%s", pre, firsts[k].kind);
		snprintf(gw.path, sizeof gw.path, "%s/pair/get", pre);
		snprintf(path, sizeof path, "/pair/%s", firsts[k].kind);
		int before = srv_count(s, "/pair/both"), got = srv_count(s, path);
		pthread_create(&fw.t, NULL, worker_main, &fw);
		/* the GET goes once the server has the first request (it holds
		 * its answer until the GET is there too) */
		for (int i = 0; i < 300 && srv_count(s, path) == got; i++)
			nap(5);
		pthread_create(&gw.t, NULL, worker_main, &gw);
		pthread_join(fw.t, NULL);
		pthread_join(gw.t, NULL);
		snprintf(name, sizeof name, "%s%s: rc", firsts[k].name, how);
		is_int(fw.res.rc, CURLE_OK, name);
		is_esc(fw.r.hdr, firsts[k].head, "  its header lines");
		is_int((long long)fw.r.bl, 0, "  no body bytes");
		is_int(gw.res.rc, CURLE_OK, "  the GET behind it on the same connection: rc");
		is_esc(gw.r.hdr, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Kind: get\r\n\r\n",
		       "  its header lines (not taken for the first one's body)");
		is_esc(gw.r.body, "get", "  its body");
		is_int(srv_count(s, "/pair/both") - before, 1, "  the server wrote both answers at once");
	}
	is_int(srv_get(s, &s->accepted), 1, "  all on one connection");

	/* framed by the close */
	memset(&r, 0, sizeof r);
	snprintf(path, sizeof path, "%s/eofbody", pre);
	snprintf(name, sizeof name, "close-delimited body%s: rc", how);
	is_int(perform(p, s->authority, "GET", path, &r, &res), CURLE_OK, name);
	is_esc(r.hdr, "HTTP/1.1 200 OK\r\nX-Framing: close\r\n\r\n", "  its header lines");
	bool same = r.bl == 3000;
	for (size_t i = 0; same && i < 3000; i++)
		same = r.body[i] == (char)('a' + i % 26);
	ok(same, "  all 3000 body bytes, in order (%zu)", r.bl);

	/* and the pipeline goes on, on a new connection */
	memset(&r, 0, sizeof r);
	is_int(perform(p, s->authority, "GET", "/ok", &r, &res), CURLE_OK, "  a GET after it: rc");
	is_esc(r.body, "ok", "  its body");
	is_int(res.new_conns, 1, "  on a new connection");

	reg_pipeline_free(p);
	srv_stop(s);
}

/* Connection: close on the third answer of each connection, requests
 * pipelined behind it. */
static void test_connection_close(void)
{
	struct server *s = srv_start();
	struct reg_pipeline *p = reg_pipeline_new(1, 2000, 3000);
	enum { N = 12 };
	struct worker *w = run_workers(p, s, "/cc/", 0, N);
	int good = 0, once = 0;
	for (int i = 0; i < N; i++) {
		char want[16], path[32];
		snprintf(want, sizeof want, "cc%d", i);
		snprintf(path, sizeof path, "/cc/%d", i);
		bool g = w[i].res.rc == CURLE_OK && strcmp(w[i].r.body, want) == 0 &&
		         strncmp(w[i].r.hdr, "HTTP/1.1 200 OK\r\n", 17) == 0;
		if (!g)
			printf("# /cc/%d: rc %d (%s), body [%s]\n", i, w[i].res.rc, w[i].res.error,
			       w[i].r.body);
		good += g;
		once += srv_count(s, path) == 1;
	}
	int mb = srv_get(s, &s->max_buffered), accepted = srv_get(s, &s->accepted);
	ok(mb > 1, "Connection: close: requests were pipelined behind it (%d buffered)", mb);
	is_int(good, N, "  every request answered, the ones behind the close sent again");
	is_int(once, N, "  nothing answered twice");
	ok(accepted >= (N + 2) / 3, "  a new connection after each close (%d)", accepted);
	free(w);

	/* the host said Connection: close; it did not hang up on pipelined
	 * requests: it keeps getting them (pipeline.h) */
	srv_reset_stats(s);
	w = run_workers(p, s, "/n/", 100, N);
	good = 0;
	for (int i = 0; i < N; i++) {
		char want[16];
		snprintf(want, sizeof want, "%d", 100 + i);
		good += w[i].res.rc == CURLE_OK && strcmp(w[i].r.body, want) == 0;
	}
	is_int(good, N, "  then 12 more GETs: all answered");
	mb = srv_get(s, &s->max_buffered);
	ok(mb > 1, "  and still pipelined after Connection: close (%d buffered at most)", mb);
	free(w);
	reg_pipeline_free(p);
	srv_stop(s);
}

/* The server hangs up without an answer, requests pending. */
static void test_eof(void)
{
	struct server *s = srv_start();
	struct reg_pipeline *p = reg_pipeline_new(1, 2000, 3000);
	enum { N = 8 };
	struct worker *w = run_workers(p, s, "/eof/", 0, N);
	int good = 0, once = 0;
	for (int i = 0; i < N; i++) {
		char want[16], path[32];
		snprintf(want, sizeof want, "eof%d", i);
		snprintf(path, sizeof path, "/eof/%d", i);
		bool g = w[i].res.rc == CURLE_OK && strcmp(w[i].r.body, want) == 0;
		if (!g)
			printf("# /eof/%d: rc %d (%s), body [%s]\n", i, w[i].res.rc, w[i].res.error,
			       w[i].r.body);
		good += g;
		once += srv_count(s, path) == 1;
	}
	int mb = srv_get(s, &s->max_buffered);
	ok(mb > 2, "silent close after 2 answers: requests were pending on it (%d buffered)", mb);
	is_int(good, N, "  every request answered, the lost ones sent again");
	is_int(once, N, "  nothing answered twice");
	free(w);
	reg_pipeline_free(p);
	srv_stop(s);

	/* a server that always does that */
	s = srv_start();
	p = reg_pipeline_new(2, 2000, 3000);
	struct rec r = { 0 };
	struct reg_pipe_result res;
	long t0 = now_ms();
	CURLcode rc = perform(p, s->authority, "GET", "/alwayseof", &r, &res);
	long ms = now_ms() - t0;
	ok(rc != CURLE_OK, "always closed unanswered: the request fails (%d: %s)", rc, res.error);
	is_int(rc, CURLE_GOT_NOTHING, "  with CURLE_GOT_NOTHING");
	int accepted = srv_get(s, &s->accepted);
	ok(accepted >= 2 && accepted <= 5, "  after a few tries (%d connections)", accepted);
	ok(ms < 3000, "  without a hang (%ld ms)", ms);
	is_int((long long)r.hl, 0, "  no header lines given");
	reg_pipeline_free(p);
	srv_stop(s);

	/* one that answers the first request of each connection and ignores
	 * the rest: after one stall the host gets one request at a time, and
	 * every request is answered */
	s = srv_start();
	p = reg_pipeline_new(1, 2000, 300);
	enum { F = 6 };
	t0 = now_ms();
	w = run_workers(p, s, "/first/", 0, F);
	ms = now_ms() - t0;
	good = 0;
	for (int i = 0; i < F; i++) {
		char want[16];
		snprintf(want, sizeof want, "first%d", i);
		bool g = w[i].res.rc == CURLE_OK && strcmp(w[i].r.body, want) == 0;
		if (!g)
			printf("# /first/%d: rc %d (%s), body [%s]\n", i, w[i].res.rc, w[i].res.error,
			       w[i].r.body);
		good += g;
	}
	mb = srv_get(s, &s->max_buffered);
	ok(mb > 1, "ignored pipelined requests: some were pipelined (%d buffered)", mb);
	is_int(good, F, "  every request answered in the end, one at a time");
	ok(ms < 2000, "  after one stall (%ld ms)", ms);
	free(w);
	reg_pipeline_free(p);
	srv_stop(s);

	/* one that resets every connection: a send or a receive fails, and
	 * either way the request ends after a few tries */
	s = srv_start();
	p = reg_pipeline_new(2, 2000, 3000);
	memset(&r, 0, sizeof r);
	t0 = now_ms();
	rc = perform(p, s->authority, "GET", "/alwaysrst", &r, &res);
	ms = now_ms() - t0;
	ok(rc != CURLE_OK, "always reset: the request fails (%d: %s)", rc, res.error);
	accepted = srv_get(s, &s->accepted);
	ok(accepted >= 2 && accepted <= 5, "  after a few tries (%d connections)", accepted);
	ok(ms < 3000, "  without a hang (%ld ms)", ms);
	reg_pipeline_free(p);
	srv_stop(s);
}

/* Malformed answers, a refusing callback; each leaves the next request a
 * fresh connection. */
static void test_errors(void)
{
	struct server *s = srv_start();
	struct reg_pipeline *p = reg_pipeline_new(2, 2000, 3000);
	static const struct {
		const char *path, *name;
		CURLcode want;
		bool limited;
		size_t limit;
		int hdr_limit;
	} cases[] = {
		{ "/bad/status", "malformed status line (HTXP/1.1 200)", CURLE_WEIRD_SERVER_REPLY },
		{ "/bad/chunk", "bad chunk size (zz)", CURLE_WEIRD_SERVER_REPLY },
		{ "/bad/cl2", "Content-Length 5 and 6", CURLE_WEIRD_SERVER_REPLY },
		{ "/bad/short", "Content-Length 10, 5 bytes, then the close", CURLE_PARTIAL_FILE },
		{ "/chunked", "body callback refusing after 3 bytes", CURLE_WRITE_ERROR, true, 3 },
		{ "/ok", "body callback refusing the first byte", CURLE_WRITE_ERROR, true, 0 },
		{ "/ok", "header callback refusing the second line", CURLE_WRITE_ERROR, false, 0, 2 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct rec r = { .limited = cases[i].limited, .limit = cases[i].limit,
		                 .hdr_limit = cases[i].hdr_limit };
		struct reg_pipe_result res;
		CURLcode rc = perform(p, s->authority, "GET", cases[i].path, &r, &res);
		is_int(rc, cases[i].want, cases[i].name);
		if (rc != cases[i].want)
			printf("# error: %s\n", res.error);
		ok(res.error[0] || rc == CURLE_OK, "  with a message (%s)", res.error);
		if (i == 0)
			is_int((long long)r.hl, 0, "  no header line given");
		if (i == 1) {
			is_esc(r.hdr, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "  the head's lines");
			is_int((long long)r.bl, 0, "  no body bytes");
		}
		if (i == 3)
			is_esc(r.body, "hello", "  the 5 bytes given");
		if (i == 4)
			is_esc(r.body, "Wik", "  the 3 bytes taken");
		if (i == 6)
			is_int((long long)r.bl, 0, "  no body bytes given");

		struct rec r2 = { 0 };
		rc = perform(p, s->authority, "GET", "/ok", &r2, &res);
		ok(rc == CURLE_OK && strcmp(r2.body, "ok") == 0 &&
		           strcmp(r2.hdr, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n") == 0,
		   "  then a GET answered right (rc %d, body [%s])", rc, r2.body);
		is_int(res.new_conns, 1, "  on a fresh connection");
	}
	reg_pipeline_free(p);
	srv_stop(s);
}

static void test_connect_and_stall(void)
{
	/* a port nobody listens on */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
		abort();
	char closed[32];
	snprintf(closed, sizeof closed, "127.0.0.1:%d", ntohs(sa.sin_port));
	close(fd);

	struct reg_pipeline *p = reg_pipeline_new(2, 2000, 300);
	struct rec r = { 0 };
	struct reg_pipe_result res;
	long t0 = now_ms();
	CURLcode rc = perform(p, closed, "GET", "/ok", &r, &res);
	long ms = now_ms() - t0;
	is_int(rc, CURLE_COULDNT_CONNECT, "a closed port: CURLE_COULDNT_CONNECT");
	ok(ms < 1000, "  at once (%ld ms)", ms);
	ok(!res.sent, "  not sent");

	struct server *s = srv_start();
	memset(&r, 0, sizeof r);
	t0 = now_ms();
	rc = perform(p, s->authority, "GET", "/silent", &r, &res);
	ms = now_ms() - t0;
	is_int(rc, CURLE_OPERATION_TIMEDOUT, "a silent server, stall_ms 300: CURLE_OPERATION_TIMEDOUT");
	ok(ms >= 250 && ms < 3000, "  after about 300 ms (%ld ms)", ms);
	ok(res.sent, "  it was sent");
	reg_pipeline_free(p);
	srv_stop(s);
}

/* An answer that comes before the request head is all written (a 431 to
 * a head too big for the socket buffers, the connection kept open). */
static void test_early_answer(void)
{
	struct server *s = srv_start();
	struct reg_pipeline *p = reg_pipeline_new(1, 2000, 1000);
	size_t big = 32u << 20;
	char *req = oci_xmalloc(big);
	int n = snprintf(req, big, "GET /big431 HTTP/1.1\r\nHost: %s\r\nX-Big: ", s->authority);
	memset(req + n, 'x', big - (size_t)n - 4);
	memcpy(req + big - 4, "\r\n\r\n", 4);
	struct rec r = { 0 };
	struct reg_pipe_result res;
	reg_pipeline_perform(p, s->authority, req, big, false, rec_header, rec_body, &r, &res);
	free(req);
	is_int(res.rc, CURLE_OK, "a 431 before the request head is all written: rc");
	ok(strncmp(r.hdr, "HTTP/1.1 431 ", 13) == 0, "  the 431 given");

	/* that connection's stream is cut mid-request: the next GET must not
	 * go after it on the same connection */
	memset(&r, 0, sizeof r);
	long t0 = now_ms();
	CURLcode rc = perform(p, s->authority, "GET", "/ok", &r, &res);
	long ms = now_ms() - t0;
	is_int(rc, CURLE_OK, "  then a GET: rc");
	if (rc != CURLE_OK)
		printf("# error: %s (%ld ms)\n", res.error, ms);
	is_esc(r.body, "ok", "  its body");
	reg_pipeline_free(p);
	srv_stop(s);
}

/* A 408 that a server sends on an idle keep-alive connection as it gives
 * it up, arriving just as a request is handed to that connection, before
 * the request is written: it answers nothing that was sent.  To make the
 * moment certain, the pipeline's thread is held in a header callback on
 * the other connection while the 408 comes and the request is made. */
static void test_unsolicited(void)
{
	struct server *s = srv_start();
	struct reg_pipeline *p = reg_pipeline_new(2, 2000, 3000);
	/* two connections, idle */
	struct worker *w = run_workers(p, s, "/ok", 50, 2); /* /ok50, /ok51 */
	is_int(w[0].res.rc + w[1].res.rc, CURLE_OK, "two GETs at once: rc");
	is_int(srv_get(s, &s->accepted), 2, "  on two connections");
	free(w);

	/* A on the first: its head comes, its body 400 ms later */
	struct worker a = { .p = p, .authority = s->authority, .method = "GET", .path = "/slowhdr" };
	a.r.block_ms = 200;
	pthread_create(&a.t, NULL, worker_main, &a);
	for (int i = 0; i < 300 && srv_count(s, "/slowhdr") == 0; i++)
		nap(5);
	nap(100); /* the 408 came on the other connection; the thread is still held */
	struct worker b = { .p = p, .authority = s->authority, .method = "GET", .path = "/ok" };
	pthread_create(&b.t, NULL, worker_main, &b);
	pthread_join(a.t, NULL);
	pthread_join(b.t, NULL);
	is_int(a.res.rc, CURLE_OK, "a GET while the other connection gets an unasked 408: rc");
	is_esc(a.r.body, "slow", "  its body");
	is_int(b.res.rc, CURLE_OK, "a GET handed to the connection with the 408 waiting: rc");
	is_esc(b.r.hdr, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
	       "  its own answer, not the 408 that came before it was written");
	is_esc(b.r.body, "ok", "  its body");
	is_int(srv_count(s, "/ok"), 1, "  the server answered it");
	reg_pipeline_free(p);
	srv_stop(s);
}

static void test_free_idle(void)
{
	struct reg_pipeline *p = reg_pipeline_new(4, 1000, 1000);
	reg_pipeline_free(p);
	ok(1, "reg_pipeline_free right after reg_pipeline_new");
	reg_pipeline_free(NULL);
	ok(1, "reg_pipeline_free(NULL)");

	/* with an idle keep-alive connection open */
	struct server *s = srv_start();
	p = reg_pipeline_new(4, 1000, 1000);
	struct rec r = { 0 };
	struct reg_pipe_result res;
	is_int(perform(p, s->authority, "GET", "/ok", &r, &res), CURLE_OK, "a GET, its connection kept");
	reg_pipeline_free(p);
	ok(1, "reg_pipeline_free with an idle connection");
	srv_stop(s);
}

int main(void)
{
	test_many();
	test_framing(false);
	test_framing(true);
	test_connection_close();
	test_eof();
	test_errors();
	test_connect_and_stall();
	test_early_answer();
	test_unsolicited();
	test_free_idle();
	return tap_done();
}
