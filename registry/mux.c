/* registry/mux.c: the mux thread (see mux.h).  Workers queue a job and
 * sleep on a condition variable of their own; the thread adds queued
 * handles to its multi, drives the transfers, and marks each job done as
 * it completes (waking its worker only).
 * curl_multi_wakeup interrupts the thread's curl_multi_poll when a job
 * arrives or the mux stops. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "oci/util.h"
#include "registry/mux.h"

struct job {
	CURL *h;
	CURLcode rc;
	bool done;            /* under lock */
	pthread_cond_t woken; /* signalled when done: only its worker wakes */
	struct job *next;
};

struct reg_mux {
	CURLM *multi; /* touched by the thread only (but for curl_multi_wakeup) */
	pthread_t thread;
	/* under lock: the queue of jobs not yet handed to the multi and the
	 * stop request */
	pthread_mutex_t lock;
	struct job *head, *tail;
	bool stop;
};

static void finish(struct reg_mux *m, struct job *j, CURLcode rc)
{
	pthread_mutex_lock(&m->lock);
	j->rc = rc;
	j->done = true;
	pthread_cond_signal(&j->woken);
	pthread_mutex_unlock(&m->lock);
}

static void *run(void *ud)
{
	struct reg_mux *m = ud;
	int active = 0; /* handles in the multi */

	for (;;) {
		pthread_mutex_lock(&m->lock);
		struct job *q = m->head;
		m->head = m->tail = NULL;
		bool stop = m->stop;
		pthread_mutex_unlock(&m->lock);

		while (q) {
			struct job *next = q->next;
			curl_easy_setopt(q->h, CURLOPT_PRIVATE, q);
			if (curl_multi_add_handle(m->multi, q->h) == CURLM_OK)
				active++;
			else
				finish(m, q, CURLE_FAILED_INIT);
			q = next;
		}
		/* reg_mux_free runs once every worker is done: nothing is in flight */
		if (stop && active == 0)
			return NULL;

		int running;
		curl_multi_perform(m->multi, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m->multi, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			CURL *h = msg->easy_handle;
			CURLcode rc = msg->data.result; /* msg dies with the removal */
			struct job *j = NULL;
			curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&j);
			curl_multi_remove_handle(m->multi, h);
			active--;
			finish(m, j, rc);
		}
		/* the timeout only bounds a lost wakeup; curl's own timers wake it too */
		curl_multi_poll(m->multi, NULL, 0, 1000, NULL);
	}
}

struct reg_mux *reg_mux_new(long max_host_conns)
{
	struct reg_mux *m = oci_xcalloc(1, sizeof *m);
	m->multi = curl_multi_init();
	if (!m->multi)
		abort();
	curl_multi_setopt(m->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_host_conns);
	/* keep idle connections for every worker and a few hosts (registry,
	 * token server): the default cache shrinks with the handles added */
	curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, 2 * max_host_conns + 8);
	pthread_mutex_init(&m->lock, NULL);
	if (pthread_create(&m->thread, NULL, run, m) != 0)
		abort();
	return m;
}

void reg_mux_free(struct reg_mux *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	pthread_mutex_unlock(&m->lock);
	curl_multi_wakeup(m->multi);
	pthread_join(m->thread, NULL);
	curl_multi_cleanup(m->multi);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

CURLcode reg_mux_perform(struct reg_mux *m, CURL *h)
{
	struct job j = { .h = h };
	pthread_cond_init(&j.woken, NULL);
	pthread_mutex_lock(&m->lock);
	if (m->tail)
		m->tail->next = &j;
	else
		m->head = &j;
	m->tail = &j;
	pthread_mutex_unlock(&m->lock);
	curl_multi_wakeup(m->multi);
	pthread_mutex_lock(&m->lock);
	while (!j.done)
		pthread_cond_wait(&j.woken, &m->lock);
	pthread_mutex_unlock(&m->lock);
	pthread_cond_destroy(&j.woken);
	return j.rc;
}
