/* tests/test-slots.c: the client's blob GET slots (registry/rangeget.h):
 * at most `jobs` held at once, a thread entering past them waits until one
 * is given back and is told it waited (counted in blob_waiting meanwhile,
 * which ranged GETs leave their slots to); single flight: a second GET of
 * the same digest waits for the first even with slots free (not counted as
 * waiting for a slot), another digest does not. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry/internal.h"
#include "registry/rangeget.h"
#include "tests/tap.h"

struct entrant {
	struct reg_client *c;
	const char *one;
	pthread_t t;
	pthread_mutex_t lock;
	bool in, waited;
};

static void *enter_main(void *arg)
{
	struct entrant *e = arg;
	bool w = reg_blob_slots_enter(e->c, e->one);
	pthread_mutex_lock(&e->lock);
	e->in = true;
	e->waited = w;
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

static void start(struct entrant *e, struct reg_client *c, const char *one)
{
	*e = (struct entrant){ .c = c, .one = one };
	pthread_mutex_init(&e->lock, NULL);
	if (pthread_create(&e->t, NULL, enter_main, e) != 0)
		abort();
}

static bool is_in(struct entrant *e)
{
	pthread_mutex_lock(&e->lock);
	bool in = e->in;
	pthread_mutex_unlock(&e->lock);
	return in;
}

static void nap(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Up to 5 s for e to get in; true when it did. */
static bool gets_in(struct entrant *e)
{
	for (int i = 0; i < 500 && !is_in(e); i++)
		nap(10);
	return is_in(e);
}

static int counter(struct reg_client *c, const int *field)
{
	pthread_mutex_lock(&c->lock);
	int v = *field;
	pthread_mutex_unlock(&c->lock);
	return v;
}

static void test_bound(void)
{
	struct reg_options o = { .jobs = 2 };
	oci_error err = { 0 };
	struct reg_client *c = reg_client_new(&o, &err);
	struct entrant e;

	ok(!reg_blob_slots_enter(c, NULL), "jobs 2: the first slot without a wait");
	ok(!reg_blob_slots_enter(c, NULL), "the second without a wait");
	start(&e, c, NULL);
	for (int i = 0; i < 500 && counter(c, &c->blob_waiting) == 0; i++)
		nap(10);
	is_int(counter(c, &c->blob_waiting), 1, "a third waits while both are held");
	ok(!is_in(&e), "  and is not in");
	reg_blob_slots_leave(c, 1, NULL);
	ok(gets_in(&e), "and gets in when one is given back");
	pthread_join(e.t, NULL);
	ok(e.waited, "  told it waited");
	is_int(counter(c, &c->blob_waiting), 0, "  no longer counted as waiting");
	is_int(counter(c, &c->blob_busy), 2, "two slots held");
	reg_blob_slots_leave(c, 2, NULL);
	is_int(counter(c, &c->blob_busy), 0, "all given back (leave of n)");
	reg_client_free(c);
}

static void test_single_flight(void)
{
	struct reg_options o = { .jobs = 4 };
	oci_error err = { 0 };
	struct reg_client *c = reg_client_new(&o, &err);
	/* distinct strings: the digest is compared, not the pointer */
	char a1[] = "sha256:aaaa", a2[] = "sha256:aaaa", b[] = "sha256:bbbb";
	struct entrant ea, eb;

	ok(!reg_blob_slots_enter(c, a1), "a GET of digest a takes a slot");
	start(&ea, c, a2);
	start(&eb, c, b);
	ok(gets_in(&eb), "a GET of digest b goes ahead");
	pthread_join(eb.t, NULL);
	ok(!eb.waited, "  without a wait");
	nap(100);
	ok(!is_in(&ea), "a second GET of digest a waits for the first, slots free");
	is_int(counter(c, &c->blob_waiting), 0, "  not counted as waiting for a slot");
	reg_blob_slots_leave(c, 1, a1);
	ok(gets_in(&ea), "and goes when the first gives its slot back");
	pthread_join(ea.t, NULL);
	ok(ea.waited, "  told it waited (it looks in the cache again)");
	reg_blob_slots_leave(c, 1, a2);
	reg_blob_slots_leave(c, 1, b);
	is_int(counter(c, &c->blob_busy), 0, "all given back");
	ok(!reg_blob_slots_enter(c, a1), "digest a again: no GET of it under way, no wait");
	reg_blob_slots_leave(c, 1, a1);
	reg_client_free(c);
}

int main(void)
{
	test_bound();
	test_single_flight();
	return tap_done();
}
