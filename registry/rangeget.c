/* registry/rangeget.c: a big blob as bounded ranges over several
 * connections, delivered in order (see rangeget.h). */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/cleanup.h"
#include "registry/internal.h"
#include "registry/parallel.h"
#include "registry/rangeget.h"

#define RANGE_MIN_DEFAULT ((int64_t)32 << 20)
#define RANGE_CHUNK_DEFAULT ((int64_t)8 << 20)
/* A registry whose round trip (its small requests' shortest wait for a
 * first byte) is under this is near (the same host or LAN): no
 * per-connection cap to beat, and ranges would only add copies and threads
 * (bench/transfer on loopback: copy 0.84 -> 0.96 of skopeo, 3x the RSS).
 * Far ones (bench/wan: 40 ms) get ranges. */
#define RANGE_NEAR_US_DEFAULT 10000

static int blob_jobs(const struct reg_client *c)
{
	return c->o.jobs > 0 ? c->o.jobs : REG_JOBS_DEFAULT;
}

bool reg_blob_slots_enter(struct reg_client *c, const char *one)
{
	int jobs = blob_jobs(c);
	bool waited = false;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		bool same = one && reg_flights_has(&c->blob_one, one);
		if (!same && c->blob_busy < jobs)
			break;
		/* only a wait for a slot keeps ranged GETs from taking more */
		int for_slot = !same;
		waited = true;
		c->blob_waiting += for_slot;
		pthread_cond_wait(&c->blob_free, &c->lock);
		c->blob_waiting -= for_slot;
	}
	c->blob_busy++;
	if (one)
		reg_flights_add(&c->blob_one, one);
	pthread_mutex_unlock(&c->lock);
	return waited;
}

void reg_blob_slots_leave(struct reg_client *c, int n, const char *one)
{
	if (n <= 0)
		return;
	pthread_mutex_lock(&c->lock);
	c->blob_busy -= n;
	if (one)
		reg_flights_del(&c->blob_one, one);
	pthread_cond_broadcast(&c->blob_free);
	pthread_mutex_unlock(&c->lock);
}

/* Take up to want more slots without waiting; returns how many.  A thread
 * waiting in reg_blob_slots_enter comes first: the slots left to it are
 * not taken (a ranged GET must not starve the small blobs). */
static int slots_take(struct reg_client *c, int want)
{
	int jobs = blob_jobs(c);
	pthread_mutex_lock(&c->lock);
	/* a batch's jobs still to come need a slot each too (reg_blob_batch) */
	long held = c->blob_busy + c->blob_waiting;
	if (held < c->blob_coming)
		held = c->blob_coming;
	int n = jobs - (int)(held < jobs ? held : jobs);
	n = n > want ? want : n;
	c->blob_busy += n;
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* One range buffer: chunk `idx` of the blob, `filled` bytes of it so far
 * (only its worker writes; the consumer reads below filled).  busy: a
 * worker has it (until its request is over, even when the consumer has
 * taken every byte already). */
struct slot {
	char *buf;
	int64_t idx;
	int64_t filled;
	bool busy;
};

enum { RG_RUNNING, RG_FALLBACK, RG_FAILED };

struct rg {
	struct reg_repo *r;
	const char *path, *what;
	int64_t size, chunk, nchunks;
	int nslots;
	struct slot *slots;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	struct reg_blob_loc loc; /* the resolved redirect (url NULL: the registry) */
	bool go;                 /* the first range was answered as asked */
	int state;
	const char *why; /* of a fallback, for -v */
	oci_error err;   /* of RG_FAILED */
	int64_t next;    /* next chunk to hand out */
	int64_t head;    /* chunk the consumer is on */
};

static int64_t chunk_len(const struct rg *g, int64_t idx)
{
	int64_t left = g->size - idx * g->chunk;
	return left < g->chunk ? left : g->chunk;
}

/* Stop everything (first reason wins).  Called with mu held. */
static void stop_locked(struct rg *g, int state, const char *why, const oci_error *e)
{
	if (g->state == RG_RUNNING) {
		g->state = state;
		g->why = why;
		if (e)
			g->err = *e;
	}
	pthread_cond_broadcast(&g->cv);
}

static void stop(struct rg *g, int state, const char *why, const oci_error *e)
{
	pthread_mutex_lock(&g->mu);
	stop_locked(g, state, why, e);
	pthread_mutex_unlock(&g->mu);
}

/* One range request under way. */
struct req {
	struct rg *g;
	struct slot *s;
	int64_t from, to; /* asked for, inclusive */
	bool publish;     /* went through the registry: its final URL is the new redirect */
	bool checked;
	struct reg_response *resp;
	struct reg_blob_loc loc;
};

/* Is the answer the range we asked for?  0 yes, else stops g. */
static int check_answer(struct req *q)
{
	struct rg *g = q->g;
	const struct reg_response *resp = q->resp;
	long long a, b, total;
	char star;
	if (resp->status == 200) {
		stop(g, RG_FALLBACK, "the server ignores Range", NULL);
		return -1;
	}
	if (resp->status != 206 || !resp->content_range ||
	    sscanf(resp->content_range, "bytes %lld-%lld/%lld", &a, &b, &total) != 3) {
		if (resp->status == 206 && resp->content_range &&
		    sscanf(resp->content_range, "bytes %lld-%lld/%c", &a, &b, &star) == 3 && star == '*')
			total = g->size;
		else {
			stop(g, RG_FALLBACK, "a range answer without a usable Content-Range", NULL);
			return -1;
		}
	}
	if (total != g->size) {
		oci_error e = { 0 };
		oci_err(&e, OCI_E_REGISTRY,
		        "%s: %s says the blob has %lld bytes (Content-Range), the descriptor %" PRId64,
		        q->g->what, q->g->r->host, total, g->size);
		stop(g, RG_FAILED, NULL, &e);
		return -1;
	}
	if (a != q->from || b != q->to) {
		stop(g, RG_FALLBACK, "the server answered another range than asked", NULL);
		return -1;
	}
	pthread_mutex_lock(&g->mu);
	if (q->publish && q->loc.url) {
		free(g->loc.url);
		g->loc.url = oci_xstrdup(q->loc.url);
		g->loc.foreign = q->loc.foreign;
	}
	g->go = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	return 0;
}

static int range_sink(void *ud, const void *p, size_t n, oci_error *err)
{
	struct req *q = ud;
	struct rg *g = q->g;
	struct slot *s = q->s;
	if (!q->checked) {
		q->checked = true;
		if (check_answer(q) < 0)
			return oci_err(err, OCI_E_REGISTRY, "range stopped");
	}
	int64_t len = chunk_len(g, s->idx);
	if (s->filled + (int64_t)n > len) {
		stop(g, RG_FALLBACK, "a range answer longer than asked", NULL);
		return oci_err(err, OCI_E_REGISTRY, "range stopped");
	}
	memcpy(s->buf + s->filled, p, n);
	pthread_mutex_lock(&g->mu);
	s->filled += (int64_t)n;
	bool stopped = g->state != RG_RUNNING;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	return stopped ? oci_err(err, OCI_E_REGISTRY, "range stopped") : 0;
}

/* Fetch one chunk into its slot, retrying alone and resuming. */
static void fetch_chunk(struct rg *g, struct slot *s)
{
	struct reg_client *c = g->r->c;
	int max_retries = c->o.max_retries ? c->o.max_retries : 4;
	int64_t base = s->idx * g->chunk, to = base + chunk_len(g, s->idx) - 1;

	for (int attempt = 0;; attempt++) {
		struct req q = { .g = g, .s = s, .from = base + s->filled, .to = to };
		struct reg_response resp = { 0 };
		oci_error e = { 0 };
		pthread_mutex_lock(&g->mu);
		bool running = g->state == RG_RUNNING;
		if (running && g->loc.url) {
			q.loc.url = oci_xstrdup(g->loc.url);
			q.loc.foreign = g->loc.foreign;
		}
		pthread_mutex_unlock(&g->mu);
		if (!running)
			return;
		q.publish = q.loc.url == NULL;
		_cleanup_free_ char *started_at = q.loc.url ? oci_xstrdup(q.loc.url) : NULL;
		bool was_foreign = q.loc.foreign;
		_cleanup_free_ char *range = oci_xasprintf("bytes=%" PRId64 "-%" PRId64, q.from, q.to);
		q.resp = &resp;
		int64_t before = s->filled;
		int rc = reg_blob_fetch(g->r, g->path, range, range_sink, &q, &resp, &q.loc, &e);
		long status = resp.status;
		CURLcode cc = resp.curl_code;
		_cleanup_free_ char *retry_after = resp.retry_after ? oci_xstrdup(resp.retry_after) : NULL;
		reg_response_release(&resp);
		free(q.loc.url);
		if (rc == 0 && status == 206 && s->filled == to - base + 1)
			return;
		if (rc == 0 && status == 206 && q.checked) {
			/* a complete 206 that was short: resume it */
		} else if (rc == 0 && !q.checked) {
			if (status == 200 || status == 206) {
				if (check_answer(&q) < 0) /* an empty body: judge the headers */
					return;
			} else if (was_foreign && status >= 400 && status < 500 && attempt < max_retries) {
				/* the resolved URL expired: a fresh redirect from the registry */
				reg_log(c, "%s: %ld from the redirect target; asking %s again", g->what,
				        status, g->r->host);
				pthread_mutex_lock(&g->mu);
				if (g->loc.url && started_at && strcmp(g->loc.url, started_at) == 0) {
					free(g->loc.url);
					g->loc.url = NULL;
				}
				pthread_mutex_unlock(&g->mu);
				continue;
			} else if (!((status == 429 || status >= 502) && attempt < max_retries)) {
				stop(g, RG_FALLBACK, "a range request failed", NULL);
				return;
			}
		} else if (rc < 0) {
			pthread_mutex_lock(&g->mu);
			running = g->state == RG_RUNNING;
			pthread_mutex_unlock(&g->mu);
			if (!running)
				return;
			if (cc == CURLE_OK || cc == CURLE_WRITE_ERROR || attempt >= max_retries) {
				stop(g, RG_FALLBACK, "a range request failed", NULL);
				return;
			}
		}
		if (attempt >= max_retries) {
			stop(g, RG_FALLBACK, "a range request failed", NULL);
			return;
		}
		if (s->filled == before)
			reg_backoff(c, attempt, retry_after); /* no progress: do not hammer */
		reg_log(c, "%s: range %s retried from byte %" PRId64, g->what, range, base + s->filled);
	}
}

struct worker {
	struct rg *g;
	bool first; /* takes chunk 0 and resolves the redirect for the others */
	pthread_t t;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct rg *g = w->g;
	for (bool first = w->first;; first = false) {
		pthread_mutex_lock(&g->mu);
		while (g->state == RG_RUNNING && !g->go && !first)
			pthread_cond_wait(&g->cv, &g->mu);
		int64_t idx = first ? 0 : g->next++;
		struct slot *s = &g->slots[idx % g->nslots];
		while (g->state == RG_RUNNING && idx < g->nchunks &&
		       (idx >= g->head + g->nslots || s->busy))
			pthread_cond_wait(&g->cv, &g->mu);
		if (g->state != RG_RUNNING || idx >= g->nchunks) {
			pthread_mutex_unlock(&g->mu);
			return NULL;
		}
		s->idx = idx;
		s->filled = 0;
		s->busy = true;
		pthread_mutex_unlock(&g->mu);
		if (!s->buf) /* only this worker touches a busy slot's buffer */
			s->buf = oci_xmalloc((size_t)g->chunk);
		fetch_chunk(g, s);
		pthread_mutex_lock(&g->mu);
		s->busy = false;
		pthread_cond_broadcast(&g->cv);
		pthread_mutex_unlock(&g->mu);
	}
}

struct workers {
	struct worker *w;
	int started, extra; /* threads running; slots taken beyond the caller's */
};

/* Start a worker for each of the client's connections that has come free
 * (another blob GET ended: a config read alongside a big layer), up to one
 * per ring slot. */
static void grow(struct rg *g, struct workers *ws)
{
	int more = ws->started < g->nslots ? slots_take(g->r->c, g->nslots - ws->started) : 0;
	ws->extra += more;
	for (; more > 0; more--) {
		struct worker *w = &ws->w[ws->started];
		*w = (struct worker){ .g = g, .first = ws->started == 0 };
		if (pthread_create(&w->t, NULL, worker_main, w) != 0)
			break;
		ws->started++;
	}
}

/* Hand the chunks to sink in order as they fill.  0 all done, else stops g. */
static int consume(struct rg *g, struct workers *ws, reg_sink_fn sink, void *ud,
                   int64_t *delivered, oci_error *err)
{
	for (int64_t head = 0; head < g->nchunks; head++) {
		grow(g, ws);
		struct slot *s = &g->slots[head % g->nslots];
		int64_t len = chunk_len(g, head), done = 0;
		while (done < len) {
			pthread_mutex_lock(&g->mu);
			while (g->state == RG_RUNNING && !(s->idx == head && s->filled > done))
				pthread_cond_wait(&g->cv, &g->mu);
			int64_t avail = s->filled;
			bool running = g->state == RG_RUNNING;
			pthread_mutex_unlock(&g->mu);
			if (!running)
				return -1;
			if (sink(ud, s->buf + done, (size_t)(avail - done), err) < 0) {
				stop(g, RG_FAILED, NULL, err);
				return -1;
			}
			*delivered += avail - done;
			done = avail;
		}
		pthread_mutex_lock(&g->mu);
		g->head = head + 1;
		pthread_cond_broadcast(&g->cv);
		pthread_mutex_unlock(&g->mu);
	}
	return 0;
}

int reg_ranged_get(struct reg_repo *r, const char *path, const char *what, int64_t size,
                   reg_sink_fn sink, void *ud, int64_t *delivered, oci_error *err)
{
	struct reg_client *c = r->c;
	int64_t min = c->o.range_min > 0 ? c->o.range_min : RANGE_MIN_DEFAULT;
	int64_t chunk = c->o.range_chunk > 0 ? c->o.range_chunk : RANGE_CHUNK_DEFAULT;
	if (size < min || size < 2 * chunk)
		return 1;
	int64_t nchunks = (size + chunk - 1) / chunk;
	int want = blob_jobs(c);
	if (want > nchunks)
		want = (int)nchunks;
	int64_t near_us = c->o.range_near_ms < 0 ? RANGE_NEAR_US_DEFAULT : c->o.range_near_ms * 1000;
	struct reg_host *hs = reg_host_get(c, r->host);
	pthread_mutex_lock(&c->lock);
	int64_t rtt = hs->rtt_us;
	pthread_mutex_unlock(&c->lock);
	if (rtt && rtt < near_us) {
		reg_log(c, "%s: %s is near (round trip %.1f ms): one stream", what, r->host, rtt / 1000.0);
		return 1;
	}
	/* the caller's own GET holds one slot already; more may come free later */
	int extra = slots_take(c, want - 1);
	if (extra < 1)
		return 1;
	struct rg g = {
		.r = r, .path = path, .what = what, .size = size, .chunk = chunk,
		.nchunks = nchunks, .nslots = want, .next = 1,
	};
	pthread_mutex_init(&g.mu, NULL);
	pthread_cond_init(&g.cv, NULL);
	/* a ring of one slot per connection the blob may get; buffers are
	 * allocated as workers first use them */
	g.slots = oci_xcalloc((size_t)g.nslots, sizeof *g.slots);
	for (int i = 0; i < g.nslots; i++)
		g.slots[i].idx = -1;
	struct workers ws = { .w = oci_xcalloc((size_t)g.nslots, sizeof *ws.w), .extra = extra };
	reg_log(c, "%s: %" PRId64 " ranges of %" PRId64 " bytes over %d connections", what, nchunks,
	        chunk, 1 + extra);
	/* the slots taken above: start their workers (grow takes no more) */
	for (int i = 0; i <= extra; i++) {
		struct worker *w = &ws.w[ws.started];
		*w = (struct worker){ .g = &g, .first = i == 0 };
		if (pthread_create(&w->t, NULL, worker_main, w) != 0)
			break;
		ws.started++;
	}
	int rc = 0;
	if (ws.started == 0)
		stop(&g, RG_FALLBACK, "no thread", NULL);
	else
		rc = consume(&g, &ws, sink, ud, delivered, err);
	if (rc == 0)
		stop(&g, RG_FALLBACK, NULL, NULL); /* done: release any worker still waiting */
	for (int i = 0; i < ws.started; i++)
		pthread_join(ws.w[i].t, NULL);
	if (rc < 0) {
		if (g.state == RG_FALLBACK) {
			reg_log(c, "%s: %s; one stream from byte %" PRId64, what, g.why, *delivered);
			rc = 1;
		} else if (err && err != &g.err)
			*err = g.err;
	}
	for (int i = 0; i < g.nslots; i++)
		free(g.slots[i].buf);
	free(g.slots);
	free(ws.w);
	free(g.loc.url);
	pthread_mutex_destroy(&g.mu);
	pthread_cond_destroy(&g.cv);
	reg_blob_slots_leave(c, ws.extra, NULL);
	return rc;
}

/* --- batches ------------------------------------------------------------------ */

struct batch {
	struct reg_client *c;
	reg_job_fn fn;
	void *ud;
	size_t *order;   /* the small blobs first */
	size_t n_small;
	int jobs;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int big_running; /* under mu: at most jobs (the workers are more) */
	long big_ended;  /* under mu */
};

static void coming_add(struct reg_client *c, long n)
{
	pthread_mutex_lock(&c->lock);
	c->blob_coming += n;
	pthread_mutex_unlock(&c->lock);
}

static int batch_job(size_t i, void *ud, oci_error *err)
{
	struct batch *b = ud;
	bool big = i >= b->n_small;
	if (big) {
		pthread_mutex_lock(&b->mu);
		while (b->big_running >= b->jobs)
			pthread_cond_wait(&b->cv, &b->mu);
		b->big_running++;
		pthread_mutex_unlock(&b->mu);
	}
	int rc = b->fn(b->order[i], b->ud, err);
	if (big) {
		pthread_mutex_lock(&b->mu);
		b->big_running--;
		b->big_ended++;
		pthread_cond_signal(&b->cv);
		pthread_mutex_unlock(&b->mu);
		coming_add(b->c, -1);
	}
	return rc;
}

static bool is_small(int64_t size)
{
	return size >= 0 && size <= REG_SMALL_BLOB;
}

int reg_blob_batch(struct reg_repo *r, size_t n, const int64_t *sizes, int jobs, reg_job_fn fn,
                   void *ud, oci_error *err)
{
	struct batch b = { .c = r->c, .fn = fn, .ud = ud };
	b.order = oci_xcalloc(n ? n : 1, sizeof *b.order);
	for (size_t i = 0; i < n; i++)
		if (is_small(sizes[i]))
			b.order[b.n_small++] = i;
	for (size_t i = 0, k = b.n_small; i < n; i++)
		if (!is_small(sizes[i]))
			b.order[k++] = i;
	long big = (long)(n - b.n_small);
	int width = jobs > 0 ? jobs : REG_JOBS_DEFAULT;
	b.jobs = width;
	pthread_mutex_init(&b.mu, NULL);
	pthread_cond_init(&b.cv, NULL);
	/* the small ones beside the big: at most jobs more connections */
	size_t extra = b.n_small < (size_t)width ? b.n_small : (size_t)width;
	coming_add(b.c, big);
	int rc = reg_parallel(n, width + (int)extra, batch_job, &b, err);
	/* after a failure the big ones not started end here */
	coming_add(b.c, -(big - b.big_ended));
	pthread_mutex_destroy(&b.mu);
	pthread_cond_destroy(&b.cv);
	free(b.order);
	return rc;
}
