/* registry/traffic.c: what a client's requests cost: how many, over how
 * many new connections, and how deep (see reg_client_traffic in client.h).
 * Part of the transport floor: transport.c notes every exchange. */
#include <stdlib.h>
#include <time.h>

#include "registry/internal.h"
#include "registry/transport.h"

#define SPANS_MAX (1 << 20) /* 16 MiB of spans: more is not counted for depth */

int64_t reg_traffic_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void reg_traffic_note(struct reg_client *c, int64_t start_us, int64_t end_us, long new_conns)
{
	pthread_mutex_lock(&c->lock);
	c->traffic.requests++;
	c->traffic.connections += new_conns;
	if (c->o.verbose && c->n_spans < SPANS_MAX) {
		if (c->n_spans == c->cap_spans) {
			c->cap_spans = c->cap_spans ? 2 * c->cap_spans : 64;
			c->spans = oci_xrealloc(c->spans, c->cap_spans * sizeof *c->spans);
		}
		c->spans[c->n_spans++] = (struct reg_span){ start_us, end_us };
	}
	pthread_mutex_unlock(&c->lock);
}

static int by_start(const void *a, const void *b)
{
	const struct reg_span *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

static int by_end(const void *a, const void *b, void *spans)
{
	const struct reg_span *s = spans;
	const struct reg_span *x = &s[*(const size_t *)a], *y = &s[*(const size_t *)b];
	return x->end < y->end ? -1 : x->end > y->end;
}

/* The longest chain of spans each starting at or after the previous one's
 * end.  Spans in start order; a span's depth is one more than the deepest
 * span that ended before it began (those all come earlier in start order,
 * and a sweep over end order keeps their running maximum). */
static int longest_chain(struct reg_span *s, size_t n)
{
	if (!n)
		return 0;
	qsort(s, n, sizeof *s, by_start);
	size_t *e = oci_xcalloc(n, sizeof *e);
	int *depth = oci_xcalloc(n, sizeof *depth);
	for (size_t i = 0; i < n; i++)
		e[i] = i;
	qsort_r(e, n, sizeof *e, by_end, s);
	int best = 0, deepest = 0;
	size_t p = 0;
	for (size_t i = 0; i < n; i++) {
		while (p < n && s[e[p]].end <= s[i].start && e[p] < i)
			best = depth[e[p]] > best ? depth[e[p]] : best, p++;
		depth[i] = best + 1;
		deepest = depth[i] > deepest ? depth[i] : deepest;
	}
	free(e);
	free(depth);
	return deepest;
}

void reg_client_traffic(struct reg_client *c, struct reg_traffic *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->traffic;
	out->depth = longest_chain(c->spans, c->n_spans);
	pthread_mutex_unlock(&c->lock);
}
