/* registry/parallel.c: a fixed pool of threads over an index range. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "oci/util.h"
#include "registry/parallel.h"

struct par {
	pthread_mutex_t lock;
	size_t next, n, failed;
	bool stop_on_error;
	reg_job_fn fn;
	void *ud;
	oci_error first;
	bool have_first;
};

static void *worker(void *arg)
{
	struct par *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		bool stop = p->next >= p->n || (p->stop_on_error && p->failed);
		size_t i = p->next++;
		pthread_mutex_unlock(&p->lock);
		if (stop)
			return NULL;
		oci_error e = { 0 };
		if (p->fn(i, p->ud, &e) < 0) {
			pthread_mutex_lock(&p->lock);
			p->failed++;
			if (!p->have_first) {
				p->first = e;
				p->have_first = true;
			}
			pthread_mutex_unlock(&p->lock);
		}
	}
}

static size_t run(size_t n, int jobs, reg_job_fn fn, void *ud, oci_error *err, bool stop)
{
	struct par p = { .n = n, .fn = fn, .ud = ud, .stop_on_error = stop };
	pthread_mutex_init(&p.lock, NULL);
	if (jobs < 1)
		jobs = REG_JOBS_DEFAULT;
	if ((size_t)jobs > n)
		jobs = n ? (int)n : 1;
	pthread_t *t = oci_xcalloc((size_t)jobs, sizeof *t);
	int started = 0;
	for (int i = 1; i < jobs; i++)
		if (pthread_create(&t[i], NULL, worker, &p) == 0)
			started = i;
		else
			break;
	worker(&p); /* the calling thread works too */
	for (int i = 1; i <= started; i++)
		pthread_join(t[i], NULL);
	free(t);
	pthread_mutex_destroy(&p.lock);
	if (p.have_first && err)
		*err = p.first;
	return p.failed;
}

int reg_parallel(size_t n, int jobs, reg_job_fn fn, void *ud, oci_error *err)
{
	return run(n, jobs, fn, ud, err, true) ? -1 : 0;
}

size_t reg_parallel_all(size_t n, int jobs, reg_job_fn fn, void *ud, oci_error *err)
{
	return run(n, jobs, fn, ud, err, false);
}
