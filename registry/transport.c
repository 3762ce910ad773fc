/* registry/transport.c: HTTP exchanges on pooled curl handles, with the
 * scheme rule, retries and -v logging; authentication through the hook
 * the floor above installs.  Small requests run on the mux thread (mux.h),
 * which shares connections between threads and multiplexes HTTP/2; blob
 * bodies run on easy handles of their own. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "oci/cleanup.h"
#include "oci/ref.h"
#include "oci/text.h"
#include "registry/internal.h"
#include "oci/util.h"
#include "registry/mux.h"
#include "registry/pipeline.h"
#include "registry/transport.h"

#define REG_USER_AGENT "ccreg/0.1"
#define REG_BLOB_BUFFER (128L << 10)

void reg_log(struct reg_client *c, const char *fmt, ...)
{
	if (!c->o.verbose || !c->o.log)
		return;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	reg_redact(c, line);
	c->o.log(c->o.log_ud, line);
}

void reg_secret_add(struct reg_client *c, const char *secret)
{
	if (!secret || strlen(secret) < 4)
		return;
	pthread_mutex_lock(&c->secrets_lock);
	bool have = false;
	for (size_t i = 0; i < c->n_secrets && !have; i++)
		have = strcmp(c->secrets[i], secret) == 0;
	if (!have) {
		c->secrets = oci_xrealloc(c->secrets, (c->n_secrets + 1) * sizeof *c->secrets);
		c->secrets[c->n_secrets++] = oci_xstrdup(secret);
	}
	pthread_mutex_unlock(&c->secrets_lock);
}

void reg_redact(struct reg_client *c, char *s)
{
	pthread_mutex_lock(&c->secrets_lock);
	for (size_t i = 0; i < c->n_secrets; i++)
		oci_text_redact(s, c->secrets[i]);
	pthread_mutex_unlock(&c->secrets_lock);
}

void reg_response_release(struct reg_response *r)
{
	oci_buf_release(&r->body);
	free(r->content_type);
	free(r->docker_digest);
	free(r->location);
	free(r->www_authenticate);
	free(r->link);
	free(r->range);
	free(r->content_range);
	free(r->retry_after);
	free(r->ratelimit_remaining);
	free(r->ratelimit_limit);
	free(r->ratelimit_source);
	free(r->oci_subject);
	free(r->oci_filters_applied);
	memset(r, 0, sizeof *r);
}

/* --- curl handle pools ----------------------------------------------------- */

/* Two pools of the same kind: blob handles (curl_easy_perform) and mux
 * handles.  They never mix: curl_easy_perform gives a handle a private
 * connection cache, which adding it to the mux's multi would throw away. */
static CURL *pool_get(struct reg_client *c, struct reg_pool *p)
{
	CURL *h = NULL;
	pthread_mutex_lock(&c->lock);
	if (p->n)
		h = p->idle[--p->n];
	pthread_mutex_unlock(&c->lock);
	if (!h) {
		h = curl_easy_init();
		if (!h)
			abort();
	}
	return h;
}

static void pool_put(struct reg_client *c, struct reg_pool *p, CURL *h)
{
	curl_easy_reset(h);
	pthread_mutex_lock(&c->lock);
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 8;
		p->idle = oci_xrealloc(p->idle, p->cap * sizeof *p->idle);
	}
	p->idle[p->n++] = h;
	pthread_mutex_unlock(&c->lock);
}

/* The client's mux, started on first use. */
static struct reg_mux *mux_get(struct reg_client *c)
{
	pthread_mutex_lock(&c->lock);
	if (!c->mux)
		c->mux = reg_mux_new(c->o.jobs > 0 ? c->o.jobs : 4);
	struct reg_mux *m = c->mux;
	pthread_mutex_unlock(&c->lock);
	return m;
}

static void pool_free(struct reg_pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		curl_easy_cleanup(p->idle[i]);
	free(p->idle);
	memset(p, 0, sizeof *p);
}

/* --- the client's transport state ------------------------------------------ */

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access a, void *ud)
{
	(void)h, (void)a;
	struct reg_client *c = ud;
	pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
	(void)h;
	struct reg_client *c = ud;
	pthread_mutex_unlock(&c->share_locks[data]);
}

void reg_transport_init(struct reg_client *c)
{
	pthread_mutex_init(&c->secrets_lock, NULL);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_locks[i], NULL);
	c->share = curl_share_init();
	curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	/* Not CURL_LOCK_DATA_CONNECT: libcurl does not support a connection
	 * cache shared by concurrent threads (CURLSHOPT_SHARE(3); curl
	 * KNOWN_BUGS "A shared connection cache is not thread-safe"), and
	 * valgrind caught one thread writing into a connection another had
	 * freed during parallel copies.  Small requests share connections
	 * through the mux's multi handle instead (one thread owns its cache);
	 * pooled blob handles keep their own connections. */
}

void reg_transport_release(struct reg_client *c)
{
	reg_pipeline_free(c->pipeline);
	c->pipeline = NULL;
	reg_mux_free(c->mux); /* before the share its handles use */
	c->mux = NULL;
	pool_free(&c->mux_pool);
	pool_free(&c->pool);
	if (c->share)
		curl_share_cleanup(c->share);
	c->share = NULL;
	for (size_t i = 0; i < c->n_hosts; i++) {
		struct reg_host *h = c->hosts[i];
		free(h->host);
		pthread_mutex_destroy(&h->probe_lock);
		free(h);
	}
	free(c->hosts);
	c->hosts = NULL;
	c->n_hosts = 0;
	for (size_t i = 0; i < c->n_secrets; i++)
		free(c->secrets[i]);
	free(c->secrets);
	c->secrets = NULL;
	c->n_secrets = 0;
	pthread_mutex_destroy(&c->secrets_lock);
}

/* --- per-host state --------------------------------------------------------- */

struct reg_host *reg_host_get(struct reg_client *c, const char *host)
{
	struct reg_host *h = NULL;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n_hosts && !h; i++)
		if (strcmp(c->hosts[i]->host, host) == 0)
			h = c->hosts[i];
	if (!h) {
		h = oci_xcalloc(1, sizeof *h);
		h->host = oci_xstrdup(host);
		pthread_mutex_init(&h->probe_lock, NULL);
		c->hosts = oci_xrealloc(c->hosts, (c->n_hosts + 1) * sizeof *c->hosts);
		c->hosts[c->n_hosts++] = h;
	}
	pthread_mutex_unlock(&c->lock);
	return h;
}

static bool host_is_insecure(struct reg_client *c, const char *host)
{
	if (c->o.insecure_all || oci_host_is_loopback(host))
		return true;
	for (char **p = c->insecure_hosts; p && *p; p++)
		if (strcasecmp(*p, host) == 0)
			return true;
	return false;
}

/* --- header and body callbacks ---------------------------------------------- */

struct xfer {
	struct reg_response *resp;
	const struct reg_request *req;
	oci_error *err;
	bool sink_failed;
	int64_t sent; /* request body bytes handed to curl */
};

static void set_header(char **dst, const char *v, size_t n, bool append)
{
	if (append && *dst) {
		char *s = oci_xasprintf("%s, %.*s", *dst, (int)n, v);
		free(*dst);
		*dst = s;
		return;
	}
	free(*dst);
	*dst = oci_xstrndup(v, n);
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	struct reg_response *r = x->resp;
	size_t len = size * nitems, n = len;

	while (n && (buf[n - 1] == '\r' || buf[n - 1] == '\n'))
		n--;
	if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* a new response (after 100-continue): forget the previous one's headers */
		struct reg_response keep = { .received = r->received };
		reg_response_release(r);
		*r = keep;
		r->content_length = -1;
		const char *sp = memchr(buf, ' ', n);
		r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		return len;
	}
	const char *colon = memchr(buf, ':', n);
	if (!colon)
		return len;
	size_t kl = (size_t)(colon - buf);
	const char *v = colon + 1;
	while (v < buf + n && (*v == ' ' || *v == '\t'))
		v++;
	size_t vl = (size_t)(buf + n - v);
#define IS(name) (kl == sizeof(name) - 1 && strncasecmp(buf, name, kl) == 0)
	if (IS("content-type"))
		set_header(&r->content_type, v, vl, false);
	else if (IS("docker-content-digest"))
		set_header(&r->docker_digest, v, vl, false);
	else if (IS("location"))
		set_header(&r->location, v, vl, false);
	else if (IS("www-authenticate"))
		set_header(&r->www_authenticate, v, vl, true);
	else if (IS("link"))
		set_header(&r->link, v, vl, true);
	else if (IS("range"))
		set_header(&r->range, v, vl, false);
	else if (IS("content-range"))
		set_header(&r->content_range, v, vl, false);
	else if (IS("retry-after"))
		set_header(&r->retry_after, v, vl, false);
	else if (IS("ratelimit-remaining"))
		set_header(&r->ratelimit_remaining, v, vl, false);
	else if (IS("ratelimit-limit"))
		set_header(&r->ratelimit_limit, v, vl, false);
	else if (IS("docker-ratelimit-source"))
		set_header(&r->ratelimit_source, v, vl, false);
	else if (IS("oci-subject"))
		set_header(&r->oci_subject, v, vl, false);
	else if (IS("oci-filters-applied"))
		set_header(&r->oci_filters_applied, v, vl, true);
	else if (IS("content-length"))
		r->content_length = strtoll(v, NULL, 10);
#undef IS
	return len;
}

static size_t on_body(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	struct reg_response *r = x->resp;
	size_t n = size * nmemb;

	if (x->req->sink && r->status >= 200 && r->status < 300) {
		if (x->req->sink(x->req->sink_ud, buf, n, x->err) < 0) {
			x->sink_failed = true;
			return 0; /* aborts the transfer */
		}
		r->received += (int64_t)n;
		return n;
	}
	if (r->body.len + n > REG_MAX_BODY) {
		x->sink_failed = true;
		oci_err(x->err, OCI_E_REGISTRY, "response body larger than %d MiB",
		        REG_MAX_BODY >> 20);
		return 0;
	}
	oci_buf_append(&r->body, buf, n);
	r->received += (int64_t)n;
	return n;
}

struct membody {
	const char *p;
	size_t len, off;
};

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	const struct reg_request *req = x->req;
	size_t want = size * nitems;

	if (req->src) {
		ssize_t got = req->src(req->src_ud, buf, want, x->err);
		if (got < 0) {
			x->sink_failed = true;
			return CURL_READFUNC_ABORT;
		}
		x->sent += got;
		return (size_t)got;
	}
	size_t left = req->body_len - (size_t)x->sent;
	size_t n = left < want ? left : want;
	memcpy(buf, (const char *)req->body + x->sent, n);
	x->sent += (int64_t)n;
	return n;
}

static int on_seek(void *ud, curl_off_t off, int origin)
{
	struct xfer *x = ud;
	if (origin != SEEK_SET || off != 0)
		return CURL_SEEKFUNC_CANTSEEK;
	if (x->req->src) {
		if (!x->req->rewind || x->req->rewind(x->req->src_ud) < 0)
			return CURL_SEEKFUNC_CANTSEEK;
	}
	x->sent = 0;
	return CURL_SEEKFUNC_OK;
}

/* --- rate limits ------------------------------------------------------------- */

static bool read_long(const char **p, long *out)
{
	char *end;
	if (!isdigit((unsigned char)**p))
		return false;
	errno = 0;
	long v = strtol(*p, &end, 10);
	if (errno || v > 1000000000L)
		return false;
	*out = v;
	*p = end;
	return true;
}

int reg_ratelimit_parse(const char *v, long *n, long *window_s)
{
	const char *p = v;
	*n = *window_s = -1;
	while (p && (*p == ' ' || *p == '\t'))
		p++;
	if (!p || !read_long(&p, n))
		return *n = -1, -1;
	/* "100;w=21600", "100, 100;w=21600": the first number, the first w= */
	for (; *p; p++) {
		if (*p == ';' || *p == ',' || *p == ' ' || *p == '\t' || isdigit((unsigned char)*p))
			continue;
		if (*p == 'w' && p[1] == '=') {
			p += 2;
			if (!read_long(&p, window_s))
				return *n = *window_s = -1, -1;
			p--;
			continue;
		}
		return *n = *window_s = -1, -1;
	}
	return 0;
}

/* A small request's wait for its first byte (no connect, no TLS set-up),
 * wait_us; the host's round trip is the shortest seen. */
static void note_rtt(struct reg_repo *repo, int64_t wait_us)
{
	struct reg_host *hs = reg_host_get(repo->c, repo->host);
	pthread_mutex_lock(&repo->c->lock);
	if (!hs->rtt_us || wait_us < hs->rtt_us)
		hs->rtt_us = wait_us > 0 ? wait_us : 1;
	pthread_mutex_unlock(&repo->c->lock);
}

/* Keep what the host said of its quota (headers that do not parse are
 * ignored: they are informational). */
static void note_ratelimit(struct reg_repo *repo, const struct reg_response *resp)
{
	long limit = -1, left = -1, w1 = -1, w2 = -1;
	bool have_l = resp->ratelimit_limit && reg_ratelimit_parse(resp->ratelimit_limit, &limit, &w1) == 0;
	bool have_r = resp->ratelimit_remaining &&
	              reg_ratelimit_parse(resp->ratelimit_remaining, &left, &w2) == 0;
	if (!have_l && !have_r)
		return;
	struct reg_host *hs = reg_host_get(repo->c, repo->host);
	pthread_mutex_lock(&repo->c->lock);
	struct reg_ratelimit *rl = &hs->rl;
	if (!rl->known)
		rl->limit = rl->remaining = rl->window_s = -1;
	rl->known = true;
	if (have_l)
		rl->limit = limit;
	if (have_r)
		rl->remaining = left;
	if (w1 >= 0 || w2 >= 0)
		rl->window_s = w1 >= 0 ? w1 : w2;
	if (resp->ratelimit_source)
		snprintf(rl->source, sizeof rl->source, "%s", resp->ratelimit_source);
	pthread_mutex_unlock(&repo->c->lock);
}

/* Docker Hub's "pull rate limit reached": a 429 with TOOMANYREQUESTS in the
 * body and no Retry-After.  Waiting a few seconds does not help (the window
 * is hours), so it is not retried and the host is marked spent. */
static bool pulls_spent(struct reg_repo *repo, const struct reg_response *resp)
{
	if (resp->status != 429 || (resp->retry_after && *resp->retry_after) || !resp->body.data ||
	    !memmem(resp->body.data, resp->body.len, "TOOMANYREQUESTS", 15))
		return false;
	struct reg_host *hs = reg_host_get(repo->c, repo->host);
	pthread_mutex_lock(&repo->c->lock);
	hs->rl.exhausted = true;
	pthread_mutex_unlock(&repo->c->lock);
	return true;
}

/* --- one attempt -------------------------------------------------------------- */

/* A URL fit for logs and messages: user:password@ dropped, and the values of
 * query parameters that look like credentials (pre-signed storage URLs
 * carry X-Amz-Signature, X-Amz-Credential, sig, token, …) replaced. */
char *reg_redact_url(const char *url)
{
	static const char *const secret[] = { "sig", "token", "cred", "key", "auth",
	                                      "secret", "pass", "policy", "session" };
	struct oci_buf b = { 0 };
	const char *p = url, *at, *scheme = strstr(url, "://");
	if (scheme) {
		const char *hend = scheme + 3 + strcspn(scheme + 3, "/?#");
		at = memchr(scheme + 3, '@', (size_t)(hend - scheme - 3));
		oci_buf_append(&b, url, (size_t)(scheme + 3 - url));
		p = at ? at + 1 : scheme + 3;
	}
	const char *q = strchr(p, '?');
	if (!q) {
		oci_buf_append(&b, p, strlen(p));
		return b.data;
	}
	oci_buf_append(&b, p, (size_t)(q + 1 - p));
	for (p = q + 1; *p;) {
		size_t pl = strcspn(p, "&#");
		const char *eq = memchr(p, '=', pl);
		bool hide = false;
		if (eq) {
			_cleanup_free_ char *name = oci_xstrndup(p, (size_t)(eq - p));
			for (char *c = name; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			for (size_t i = 0; i < ARRAY_SIZE(secret) && !hide; i++)
				hide = strstr(name, secret[i]) != NULL;
		}
		if (hide) {
			oci_buf_append(&b, p, (size_t)(eq + 1 - p));
			oci_buf_append(&b, "REDACTED", 8);
		} else
			oci_buf_append(&b, p, pl);
		p += pl;
		if (*p == '#') {
			oci_buf_append(&b, p, strlen(p));
			break;
		}
		if (*p == '&')
			oci_buf_append(&b, p++, 1);
	}
	return b.data;
}

static char *full_url(struct reg_repo *repo, enum reg_scheme scheme, const char *url)
{
	if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0)
		return oci_xstrdup(url);
	return oci_xasprintf("%s://%s%s", scheme == REG_SCHEME_HTTP ? "http" : "https",
	                     repo->host, url);
}

/* Is a URL on this repo's registry (same host; scheme is ours to pick)? */
static bool url_on_registry(struct reg_repo *repo, const char *url)
{
	const char *p = strstr(url, "://");
	if (!p)
		return true;
	p += 3;
	size_t hl = strlen(repo->host);
	return strncasecmp(p, repo->host, hl) == 0 && (p[hl] == '/' || p[hl] == '\0');
}

/* What one exchange left besides the response. */
struct outcome {
	CURLcode rc;
	long conns;      /* connections it opened */
	bool sent;       /* the request went out: a timeout after that is a stall */
	int64_t wait_us; /* a round trip it measured (0: none) */
	int64_t t0, t1;  /* reg_traffic_now_us */
};

/* The exchange on a curl easy handle: through the mux for small requests,
 * on a pooled handle of its own for streamed bodies. */
static void exchange_curl(struct reg_client *c, const struct reg_request *req, const char *url,
                          const char *auth, bool verify_tls, struct xfer *x, struct outcome *o)
{
	/* Bodies streamed from or to the caller (blobs) keep a handle and
	 * connection of their own; everything else is small and goes through
	 * the mux, whose callbacks (on_header, on_body into resp->body,
	 * on_read from a buffer) are cheap enough to run on its thread. */
	struct reg_mux *mux = req->sink || req->src ? NULL : mux_get(c);
	CURL *h = pool_get(c, mux ? &c->mux_pool : &c->pool);
	struct curl_slist *hdrs = NULL;
	_cleanup_free_ char *authline = NULL, *ctype = NULL, *acc = NULL;
	struct reg_response *resp = x->resp;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, resp->curl_error);
	curl_easy_setopt(h, CURLOPT_SHARE, c->share);
	curl_easy_setopt(h, CURLOPT_USERAGENT, REG_USER_AGENT);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	                 c->o.connect_timeout_ms ? c->o.connect_timeout_ms : 10000L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->o.low_speed_secs ? c->o.low_speed_secs : 30L);
	if (!req->blob_timeout)
		curl_easy_setopt(h, CURLOPT_TIMEOUT,
		                 c->o.request_timeout_s ? c->o.request_timeout_s : 120L);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, verify_tls ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, verify_tls ? 2L : 0L);
	/* libcurl ignores OpenSSL's environment variables: honour them here.
	 * --ca-file adds to the system CAs (the CA directory stays in use). */
	const char *cafile = c->ca_file, *capath = getenv("SSL_CERT_DIR");
	if (!cafile && (cafile = getenv("SSL_CERT_FILE")) && !*cafile)
		cafile = NULL;
	if (cafile)
		curl_easy_setopt(h, CURLOPT_CAINFO, cafile);
	if (capath && *capath)
		curl_easy_setopt(h, CURLOPT_CAPATH, capath);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	/* blob bodies: bigger buffers mean fewer syscalls and callbacks per GB
	 * (measured in bench/transfer); small requests keep curl's defaults */
	if (req->sink)
		curl_easy_setopt(h, CURLOPT_BUFFERSIZE, REG_BLOB_BUFFER);
	if (req->src)
		curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, REG_BLOB_BUFFER);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL);
	if (mux) {
		curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
		/* over TLS, wait for a connection being set up to say whether it
		 * multiplexes, rather than opening another; plain HTTP never
		 * does (HTTP/1.1), and waiting there serialized the first
		 * requests of a run behind the first one (a round trip each) */
		curl_easy_setopt(h, CURLOPT_PIPEWAIT, strncmp(url, "https://", 8) == 0 ? 1L : 0L);
	} else {
		/* a blob body gets a TCP connection of its own: HTTP/2's flow
		 * control windows (64 KiB by default at nginx) hold one stream to
		 * a window per round trip, 1.6 MB/s at 40 ms; measured in
		 * bench/wan --tls, a copy took 3x skopeo's time over h2 */
		curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	}

	const char *m = req->method;
	if (strcmp(m, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(m, "GET") != 0) {
		bool has_body = req->body || req->src;
		if (has_body) {
			curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(h, CURLOPT_READDATA, x);
			curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
			curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
			int64_t len = req->src ? req->src_len : (int64_t)req->body_len;
			if (len >= 0)
				curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
			/* no 100-continue round trip: registries answer the body anyway */
			hdrs = curl_slist_append(hdrs, "Expect:");
		} else if (strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
		           strcmp(m, "PATCH") == 0) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
		}
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
	}
	if (req->accept) {
		acc = oci_xasprintf("Accept: %s", req->accept);
		hdrs = curl_slist_append(hdrs, acc);
	}
	ctype = oci_xasprintf("Content-Type: %s",
	                      req->content_type ? req->content_type : "application/octet-stream");
	if (req->body || req->src || req->content_type)
		hdrs = curl_slist_append(hdrs, ctype);
	if (auth) {
		authline = oci_xasprintf("Authorization: %s", auth);
		hdrs = curl_slist_append(hdrs, authline);
	}
	for (const char *const *p = req->headers; p && *p; p++)
		hdrs = curl_slist_append(hdrs, *p);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);

	o->t0 = reg_traffic_now_us();
	o->rc = mux ? reg_mux_perform(mux, h) : curl_easy_perform(h);
	o->t1 = reg_traffic_now_us();
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &o->conns);
	if (o->rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_off_t pre = 0, start = 0;
	curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pre);
	o->sent = pre != 0;
	if (o->rc == CURLE_OK && mux &&
	    curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &start) == CURLE_OK && start >= pre)
		o->wait_us = start - pre > 0 ? (int64_t)(start - pre) : 1;
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	pool_put(c, mux ? &c->mux_pool : &c->pool, h);
}

/* --- pipelined requests ---------------------------------------------------- */

static bool proxy_set;
static pthread_once_t proxy_once = PTHREAD_ONCE_INIT;

/* A proxy in the environment: curl sends plain HTTP through it, the
 * pipeline does not, so then every request stays on curl. */
static void proxy_init(void)
{
	static const char *const vars[] = { "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY" };
	for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
		const char *v = getenv(vars[i]);
		proxy_set |= v && *v;
	}
}

static bool has_ctl(const char *s)
{
	return s && strpbrk(s, "\r\n") != NULL;
}

/* Is this a request the pipeline may send again when its connection
 * closes before the answer (pipeline.h)? */
static bool idempotent(const char *method)
{
	return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

/* The client's pipeline when this request may go through it (pipeline.h):
 * a small request (no streamed body either way) over plain HTTP to the
 * registry itself; else NULL. */
static struct reg_pipeline *pipeline_for(struct reg_repo *repo, const struct reg_request *req,
                                         const char *url, const char *auth)
{
	struct reg_client *c = repo->c;
	if (req->sink || req->src || strncmp(url, "http://", 7) != 0 ||
	    (idempotent(req->method) && req->body) || !url_on_registry(repo, url))
		return NULL;
	pthread_once(&proxy_once, proxy_init);
	if (c->o.no_pipeline || proxy_set || has_ctl(url) || has_ctl(auth) || has_ctl(req->accept) ||
	    has_ctl(req->content_type) || has_ctl(req->method))
		return NULL;
	for (const char *const *p = req->headers; p && *p; p++)
		if (has_ctl(*p))
			return NULL;
	pthread_mutex_lock(&c->lock);
	if (!c->pipeline)
		c->pipeline = reg_pipeline_new(c->o.jobs > 0 ? c->o.jobs : 4,
		                               c->o.connect_timeout_ms ? c->o.connect_timeout_ms : 10000L,
		                               (c->o.low_speed_secs ? c->o.low_speed_secs : 30L) * 1000);
	struct reg_pipeline *pl = c->pipeline;
	pthread_mutex_unlock(&c->lock);
	return pl;
}

/* The exchange through the pipeline: the request curl would send, the
 * answer through the same callbacks. */
static void exchange_pipe(struct reg_pipeline *pl, const struct reg_request *req, const char *url,
                          const char *auth, struct xfer *x, struct outcome *o)
{
	const char *authority = url + 7, *path = strchr(authority, '/');
	_cleanup_free_ char *host = oci_xstrndup(authority, path ? (size_t)(path - authority)
	                                                           : strlen(authority));
	bool idem = idempotent(req->method);
	struct oci_buf msg = { 0 };
	_cleanup_free_ char *first = oci_xasprintf(
		"%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: " REG_USER_AGENT "\r\nAccept: %s\r\n",
		req->method, path ? path : "/", host, req->accept ? req->accept : "*/*");
	oci_buf_append(&msg, first, strlen(first));
	const char *ctype = req->content_type;
	if (!ctype && req->body)
		ctype = "application/octet-stream";
	_cleanup_free_ char *clen = idem ? NULL : oci_xasprintf("%zu", req->body ? req->body_len : 0);
	const char *names[] = { "Content-Type", "Content-Length", "Authorization" };
	const char *values[] = { ctype, clen, auth };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (values[i]) {
			_cleanup_free_ char *l = oci_xasprintf("%s: %s\r\n", names[i], values[i]);
			oci_buf_append(&msg, l, strlen(l));
		}
	for (const char *const *p = req->headers; p && *p; p++) {
		oci_buf_append(&msg, *p, strlen(*p));
		oci_buf_append(&msg, "\r\n", 2);
	}
	oci_buf_append(&msg, "\r\n", 2);
	if (req->body && req->body_len)
		oci_buf_append(&msg, req->body, req->body_len);

	struct reg_pipe_result res;
	unsigned flags = (strcmp(req->method, "HEAD") == 0 ? REG_PIPE_HEAD : 0) |
	                 (idem ? 0 : REG_PIPE_ALONE);
	o->t0 = reg_traffic_now_us();
	reg_pipeline_perform(pl, host, (const char *)msg.data, msg.len, flags, on_header, on_body, x,
	                     &res);
	o->t1 = reg_traffic_now_us();
	oci_buf_release(&msg);
	o->rc = res.rc;
	o->conns = res.new_conns;
	o->sent = res.sent;
	o->wait_us = res.wait_us;
	if (res.rc == CURLE_OK && req->body)
		x->sent = (int64_t)req->body_len;
	snprintf(x->resp->curl_error, sizeof x->resp->curl_error, "%s", res.error);
}

static int perform(struct reg_repo *repo, const struct reg_request *req, const char *url,
                   const char *auth, bool verify_tls, struct reg_response *resp,
                   oci_error *err)
{
	struct reg_client *c = repo->c;
	struct xfer x = { .resp = resp, .req = req, .err = err };
	struct outcome out = { 0 };

	reg_response_release(resp);
	resp->content_length = -1;
	struct reg_pipeline *pl = pipeline_for(repo, req, url, auth);
	if (pl)
		exchange_pipe(pl, req, url, auth, &x, &out);
	else
		exchange_curl(c, req, url, auth, verify_tls, &x, &out);
	CURLcode rc = out.rc;
	const char *m = req->method;
	long ms = (long)((out.t1 - out.t0) / 1000);
	reg_traffic_note(c, out.t0, out.t1, out.conns);
	resp->curl_code = rc;

	if (c->o.verbose) {
		/* headers are never logged; the URL is redacted (pre-signed storage URLs) */
		_cleanup_free_ char *shown = reg_redact_url(url);
		char tail[256] = "";
		if (resp->ratelimit_remaining || resp->ratelimit_limit)
			snprintf(tail, sizeof tail, " ratelimit-remaining=%.40s ratelimit-limit=%.40s%s%.64s",
			         resp->ratelimit_remaining ? resp->ratelimit_remaining : "-",
			         resp->ratelimit_limit ? resp->ratelimit_limit : "-",
			         resp->ratelimit_source ? " source=" : "",
			         resp->ratelimit_source ? resp->ratelimit_source : "");
		if (rc == CURLE_OK)
			reg_log(c, "%s %s %ld %lldB %ldms%s%s", m, shown, resp->status,
			        (long long)(resp->received + x.sent), ms, auth ? " (auth)" : "", tail);
		else
			reg_log(c, "%s %s failed: %s (%ldms)", m, shown,
			        resp->curl_error[0] ? resp->curl_error : curl_easy_strerror(rc), ms);
	}
	if (rc == CURLE_OK && out.wait_us && url_on_registry(repo, url))
		note_rtt(repo, out.wait_us);
	if (rc == CURLE_OK && url_on_registry(repo, url))
		note_ratelimit(repo, resp);

	if (x.sink_failed) {
		if (!err || !err->msg[0])
			oci_err(err, OCI_E_REGISTRY, "%s %s: aborted", m, url);
		return -2; /* the caller's sink said stop: never retried */
	}
	if (rc != CURLE_OK) {
		/* a timeout before the request went out (connecting) is "cannot
		 * reach"; after it, the server accepted and then stalled */
		bool unreachable = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
		                   (rc == CURLE_OPERATION_TIMEDOUT && resp->status == 0 && !out.sent);
		_cleanup_free_ char *shown = reg_redact_url(url);
		const char *host = url_on_registry(repo, url) ? repo->host : shown;
		const char *why = resp->curl_error[0] ? resp->curl_error : curl_easy_strerror(rc);
		if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
		    rc == CURLE_SSL_CERTPROBLEM)
			oci_err(err, OCI_E_REGISTRY, "%s: TLS certificate verification failed: %s%s", host,
			        why, c->ca_file ? "" : " (use --ca-file to trust a private CA)");
		else if (unreachable)
			oci_err(err, OCI_E_REGISTRY, "cannot reach %s: %s", host, why);
		else
			oci_err(err, OCI_E_REGISTRY, "%s: %s", host, why);
		return -1;
	}
	return 0;
}

static bool retryable_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static bool retryable_status(long s)
{
	return s == 429 || s == 502 || s == 503 || s == 504;
}

static long backoff_ms(struct reg_client *c, int attempt, const char *retry_after)
{
	long base = c->o.retry_base_ms ? c->o.retry_base_ms : 500;
	long ms = base << (attempt < 5 ? attempt : 5);
	if (ms > 8000)
		ms = 8000;
	if (retry_after && *retry_after) {
		char *end;
		long s = strtol(retry_after, &end, 10);
		if (end != retry_after && s >= 0)
			ms = (s > 60 ? 60 : s) * 1000;
		else {
			struct tm tm = { 0 };
			if (strptime(retry_after, "%a, %d %b %Y %H:%M:%S GMT", &tm)) {
				long d = (long)(timegm(&tm) - time(NULL));
				ms = d <= 0 ? 0 : (d > 60 ? 60 : d) * 1000;
			}
		}
	}
	return ms;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

long reg_backoff(struct reg_client *c, int attempt, const char *retry_after)
{
	long ms = backoff_ms(c, attempt, retry_after);
	sleep_ms(ms);
	return ms;
}

/* Decide the scheme of a host on first contact: HTTPS, or HTTP when the
 * host may be plain and its port does not speak TLS. */
static int pick_scheme(struct reg_repo *repo, struct reg_host *hs, const struct reg_request *req,
                       struct reg_response *resp, bool *done, oci_error *err)
{
	struct reg_client *c = repo->c;
	bool insecure = host_is_insecure(c, repo->host);
	/* probe with a bodyless GET /v2/ unless the request itself is one */
	struct reg_request probe = { .method = "GET", .url = "/v2/" };
	*done = false;
	/* Where plain HTTP is allowed, the probe only asks whether the port
	 * speaks TLS: it skips verification (and so loading the CA bundle,
	 * ~1 MB of RSS) and, when TLS answers, the request is made again with
	 * verification, which then never falls back.  An unverified probe is
	 * always the bare GET /v2/: the request itself (its path, its body)
	 * never goes to a server whose certificate was not checked. */
	bool verify = !c->o.insecure_all && !insecure;
	const struct reg_request *r = req->body || req->src || !verify ? &probe : req;
	_cleanup_free_ char *purl = full_url(repo, REG_SCHEME_HTTPS, r->url);
	int rc = perform(repo, r, purl, NULL, verify, resp, err);
	if (rc == 0) {
		hs->scheme = REG_SCHEME_HTTPS;
		*done = r == req && (verify || c->o.insecure_all);
		return 0;
	}
	if (rc == -2)
		return -1;
	if (insecure && resp->curl_code == CURLE_SSL_CONNECT_ERROR) {
		reg_log(c, "%s does not speak TLS; using plain HTTP (allowed for this host)",
		        repo->host);
		hs->scheme = REG_SCHEME_HTTP;
		oci_err_clear(err);
		return 0;
	}
	if (resp->curl_code == CURLE_PEER_FAILED_VERIFICATION ||
	    resp->curl_code == CURLE_SSL_CACERT_BADFILE || resp->curl_code == CURLE_SSL_CERTPROBLEM)
		return oci_err(err, OCI_E_REGISTRY, "%s: TLS certificate verification failed: %s%s",
		               repo->host,
		               resp->curl_error[0] ? resp->curl_error : curl_easy_strerror(resp->curl_code),
		               c->ca_file ? "" : " (use --ca-file to trust a private CA)");
	if (resp->curl_code == CURLE_SSL_CONNECT_ERROR && !insecure)
		return oci_err(err, OCI_E_REGISTRY,
		               "%s: TLS handshake failed (plain HTTP is allowed only for loopback "
		               "and --insecure-registry hosts)",
		               repo->host);
	return -1; /* perform's error: unreachable etc. */
}

int reg_http(struct reg_repo *repo, const struct reg_request *req, struct reg_response *resp,
             oci_error *err)
{
	struct reg_client *c = repo->c;
	const struct reg_auth_hook *hook = c->auth_hook;
	struct reg_host *hs = reg_host_get(c, repo->host);
	bool on_registry = url_on_registry(repo, req->url);
	int max_retries = c->o.max_retries ? c->o.max_retries : 4;
	bool auth_retried = false;
	int attempt = 0;

	bool have_resp = false; /* resp already answers req (the scheme probe was req) */
	pthread_mutex_lock(&hs->probe_lock);
	if (on_registry && hs->scheme == REG_SCHEME_UNKNOWN) {
		/* first contact: parallel requests wait for one probe instead of
		 * each paying a TLS attempt */
		bool done = false;
		int rc;
		for (;;) {
			rc = pick_scheme(repo, hs, req, resp, &done, err);
			if (rc == 0 || req->no_retry || attempt >= max_retries ||
			    !retryable_curl(resp->curl_code))
				break;
			sleep_ms(backoff_ms(c, attempt++, NULL));
		}
		pthread_mutex_unlock(&hs->probe_lock);
		if (rc < 0)
			return -1;
		if (done && resp->status != 401 && !retryable_status(resp->status))
			return 0;
		have_resp = done && resp->status == 401;
	} else {
		pthread_mutex_unlock(&hs->probe_lock);
	}

	for (;;) {
		_cleanup_free_ char *auth = NULL;
		_cleanup_free_ char *url = full_url(repo, hs->scheme, req->url);
		if (hook && on_registry && !req->no_auth && !have_resp) {
			oci_error aerr = { 0 };
			auth = hook->header(repo, &aerr);
			if (!auth && aerr.code) {
				if (err)
					*err = aerr;
				return -1;
			}
		}
		int rc = have_resp ? 0 : perform(repo, req, url, auth, !c->o.insecure_all, resp, err);
		have_resp = false;
		if (rc == -2)
			return -1;
		/* a streamed body is replayed only when it can be rewound */
		bool replayable = !req->src || req->rewind;
		if (rc < 0) {
			if (req->no_retry || attempt >= max_retries || !retryable_curl(resp->curl_code) ||
			    !replayable || (req->sink && resp->received > 0))
				return -1;
			reg_log(c, "retrying after: %s", err ? err->msg : "error");
			sleep_ms(backoff_ms(c, attempt++, NULL));
			if (req->src && req->rewind(req->src_ud) < 0)
				return oci_err(err, OCI_E_REGISTRY, "%s: cannot rewind the upload body",
				               repo->name);
			continue;
		}
		if (hook && resp->status == 401 && on_registry && !req->no_auth && !auth_retried) {
			auth_retried = true;
			int r = hook->challenge(repo, resp->www_authenticate, auth != NULL, err);
			if (r < 0)
				return -1;
			if (r == 1 && (!req->src || (req->rewind && req->rewind(req->src_ud) == 0)))
				continue;
			return 0;
		}
		if (pulls_spent(repo, resp)) {
			reg_log(c, "%s: pull rate limit reached; not retried", repo->host);
			return 0;
		}
		if (retryable_status(resp->status) && !req->no_retry && attempt < max_retries &&
		    replayable && !(req->sink && resp->received > 0 && resp->status < 300)) {
			long ms = backoff_ms(c, attempt++, resp->retry_after);
			reg_log(c, "%s answered %ld; retrying in %ld ms", repo->host, resp->status, ms);
			sleep_ms(ms);
			if (req->rewind && req->src && req->rewind(req->src_ud) < 0)
				return 0;
			continue;
		}
		return 0;
	}
}

char *reg_resolve_url(struct reg_repo *repo, const char *location, const char *what,
                      oci_error *err)
{
	struct reg_host *hs = reg_host_get(repo->c, repo->host);
	_cleanup_free_ char *base = full_url(repo, hs->scheme, "/v2/");
	_cleanup_free_ char *shown = oci_text_escape(location);
	if (oci_text_has_ctl(location) || strchr(location, ' ')) {
		oci_err(err, OCI_E_REGISTRY, "%s: the %s \"%.300s\" holds control characters or spaces",
		        repo->host, what, shown);
		return NULL;
	}
	CURLU *u = curl_url();
	char *out = NULL, *scheme = NULL, *r = NULL;
	if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, location, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
	    curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK)
		r = oci_xstrdup(out);
	else
		oci_err(err, OCI_E_REGISTRY, "%s: the %s \"%.300s\" is not an http(s) URL", repo->host,
		        what, shown);
	curl_free(out);
	curl_free(scheme);
	curl_url_cleanup(u);
	return r;
}
