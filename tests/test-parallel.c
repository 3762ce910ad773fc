/* tests/test-parallel.c: the shared parallel runner (registry/parallel.h):
 * every job once, in index order, never more than `jobs` at once (and that
 * many when there is work for them), no new job after a failure, the first
 * failure's error, and run-all semantics. */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "registry/parallel.h"
#include "tests/tap.h"

#define MAX_N 64

struct rec {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int calls[MAX_N];
	size_t order[MAX_N], n_order;
	int active, max_active;
	int gather;     /* hold the first jobs until this many run at once */
	bool fail[MAX_N];
};

static void rec_init(struct rec *r, int gather)
{
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->gather = gather;
}

static void rec_release(struct rec *r)
{
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
}

static int job(size_t i, void *ud, oci_error *err)
{
	struct rec *r = ud;
	pthread_mutex_lock(&r->lock);
	r->calls[i]++;
	r->order[r->n_order++] = i;
	if (++r->active > r->max_active)
		r->max_active = r->active;
	pthread_cond_broadcast(&r->cond);
	/* the deadline only keeps a broken runner from hanging the test */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	while (r->max_active < r->gather &&
	       pthread_cond_timedwait(&r->cond, &r->lock, &until) == 0)
		;
	r->active--;
	pthread_mutex_unlock(&r->lock);
	if (r->fail[i])
		return oci_err(err, OCI_E_REGISTRY, "job %zu failed", i);
	return 0;
}

static bool each_once(const struct rec *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (r->calls[i] != 1)
			return false;
	return true;
}

int main(void)
{
	struct rec r;
	oci_error err = { 0 };

	rec_init(&r, 0);
	is_int(reg_parallel(0, 4, job, &r, &err), 0, "no jobs: success");
	is_int(r.n_order, 0, "no jobs: fn never called");
	rec_release(&r);

	rec_init(&r, 0);
	is_int(reg_parallel(10, 1, job, &r, &err), 0, "jobs 1: success");
	ok(each_once(&r, 10), "jobs 1: every job once");
	bool in_order = r.n_order == 10;
	for (size_t i = 0; in_order && i < 10; i++)
		in_order = r.order[i] == i;
	ok(in_order, "jobs 1: in index order");
	is_int(r.max_active, 1, "jobs 1: one at a time");
	rec_release(&r);

	rec_init(&r, 3);
	is_int(reg_parallel(30, 3, job, &r, &err), 0, "jobs 3: success");
	ok(each_once(&r, 30), "jobs 3: every job once");
	is_int(r.max_active, 3, "jobs 3: three at once, never more");
	rec_release(&r);

	rec_init(&r, REG_JOBS_DEFAULT);
	is_int(reg_parallel(20, 0, job, &r, &err), 0, "jobs 0: success");
	ok(each_once(&r, 20), "jobs 0: every job once");
	is_int(r.max_active, REG_JOBS_DEFAULT, "jobs 0: the default, REG_JOBS_DEFAULT at once");
	rec_release(&r);

	rec_init(&r, 0);
	is_int(reg_parallel(3, 16, job, &r, &err), 0, "more threads than jobs: success");
	ok(each_once(&r, 3), "more threads than jobs: every job once");
	ok(r.max_active <= 3, "more threads than jobs: at most n at once");
	rec_release(&r);

	/* stop at the first failure */
	rec_init(&r, 0);
	r.fail[3] = r.fail[6] = true;
	err = (oci_error){ 0 };
	is_int(reg_parallel(10, 1, job, &r, &err), -1, "a failure fails the run");
	is_str(err.msg, "job 3 failed", "the first failure's error");
	is_int(err.code, OCI_E_REGISTRY, "with its code");
	is_int(r.n_order, 4, "no job starts after the failure");
	rec_release(&r);

	rec_init(&r, 4);
	for (size_t i = 0; i < 8; i++)
		r.fail[i] = true;
	err = (oci_error){ 0 };
	is_int(reg_parallel(8, 4, job, &r, &err), -1, "concurrent failures fail the run");
	ok(strncmp(err.msg, "job ", 4) == 0 && strstr(err.msg, " failed"), "err holds one of them");
	ok(r.n_order < 8, "jobs queued behind the failures never start");
	rec_release(&r);

	rec_init(&r, 0);
	r.fail[0] = true;
	is_int(reg_parallel(2, 1, job, &r, NULL), -1, "err may be NULL");
	rec_release(&r);

	/* run-all: every job, the failures counted */
	rec_init(&r, 0);
	r.fail[3] = r.fail[6] = true;
	err = (oci_error){ 0 };
	is_int(reg_parallel_all(10, 1, job, &r, &err), 2, "run-all returns the number failed");
	ok(each_once(&r, 10), "run-all: every job ran");
	is_str(err.msg, "job 3 failed", "run-all: the first failure's error");
	rec_release(&r);

	rec_init(&r, 4);
	for (size_t i = 1; i < 40; i += 2)
		r.fail[i] = true;
	is_int(reg_parallel_all(40, 4, job, &r, &err), 20, "run-all, 4 threads: 20 of 40 failed");
	ok(each_once(&r, 40), "run-all, 4 threads: every job ran once");
	is_int(r.max_active, 4, "run-all, 4 threads: four at once");
	rec_release(&r);

	rec_init(&r, 0);
	is_int(reg_parallel_all(5, 2, job, &r, &err), 0, "run-all without failures: 0");
	rec_release(&r);
	return tap_done();
}
