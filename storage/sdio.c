/* Orphanable workers: a file operation on a storage mount runs in its own thread and
 * the caller waits for it with a deadline. A thread blocked in the kernel on a dead NFS
 * server cannot be killed; it is left behind (abandoned) and frees its job when the
 * kernel lets it go. While an abandoned job on a mount is still stuck, new jobs on that
 * mount fail at once (-EBUSY), so a dead server costs one thread, not one per call. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sd-internal.h"
#include "../vdsm-c/util/log.h"

#define STUCK_MAX 64

struct job {
	sd_io_fn fn;
	void *arg;
	void (*free_fn)(void *);
	char key[SD_PATH_MAX];
	int result;
	bool done;
	bool abandoned;
	pthread_cond_t cond;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;   /* jobs' state, stuck[] */
static struct {
	char key[SD_PATH_MAX];
	unsigned n;
} stuck[STUCK_MAX];
static unsigned n_abandoned;

static bool key_stuck_locked(const char *key)
{
	for (size_t i = 0; i < STUCK_MAX; i++)
		if (stuck[i].n && strcmp(stuck[i].key, key) == 0)
			return true;
	return false;
}

static void stuck_add_locked(const char *key)
{
	size_t free_slot = STUCK_MAX;

	for (size_t i = 0; i < STUCK_MAX; i++) {
		if (stuck[i].n && strcmp(stuck[i].key, key) == 0) {
			stuck[i].n++;
			return;
		}
		if (!stuck[i].n && free_slot == STUCK_MAX)
			free_slot = i;
	}
	if (free_slot < STUCK_MAX) {
		snprintf(stuck[free_slot].key, sizeof(stuck[free_slot].key), "%s", key);
		stuck[free_slot].n = 1;
	}
}

static void stuck_del_locked(const char *key)
{
	for (size_t i = 0; i < STUCK_MAX; i++)
		if (stuck[i].n && strcmp(stuck[i].key, key) == 0) {
			stuck[i].n--;
			return;
		}
}

static void job_free(struct job *j)
{
	if (j->free_fn)
		j->free_fn(j->arg);
	pthread_cond_destroy(&j->cond);
	free(j);
}

static void *worker(void *p)
{
	struct job *j = p;
	int r = j->fn(j->arg);
	bool orphan;

	pthread_mutex_lock(&lock);
	j->result = r;
	j->done = true;
	orphan = j->abandoned;
	if (orphan) {
		stuck_del_locked(j->key);
		n_abandoned--;
	} else {
		pthread_cond_signal(&j->cond);
	}
	pthread_mutex_unlock(&lock);
	if (orphan) {
		log_info("storage: a late file operation on '%s' ended (%d)", j->key, r);
		job_free(j);
	}
	return NULL;
}

int sd_io_run(const char *key, sd_io_fn fn, void *arg, void (*free_fn)(void *),
	      double timeout)
{
	struct job *j = calloc(1, sizeof(*j));
	pthread_condattr_t ca;
	pthread_attr_t a;
	pthread_t t;
	struct timespec deadline;
	int r;

	if (!j)
		return -ENOMEM;
	snprintf(j->key, sizeof(j->key), "%s", key);
	j->fn = fn;
	j->arg = arg;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cond, &ca);
	pthread_condattr_destroy(&ca);

	pthread_mutex_lock(&lock);
	if (key_stuck_locked(key)) {
		pthread_mutex_unlock(&lock);
		pthread_cond_destroy(&j->cond);
		free(j);
		return -EBUSY;
	}
	pthread_mutex_unlock(&lock);

	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 256 * 1024);
	r = pthread_create(&t, &a, worker, j);
	pthread_attr_destroy(&a);
	if (r != 0) {
		pthread_cond_destroy(&j->cond);
		free(j);
		return -EAGAIN;
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)timeout;
	deadline.tv_nsec += (long)((timeout - (double)(time_t)timeout) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&lock);
	while (!j->done) {
		if (pthread_cond_timedwait(&j->cond, &lock, &deadline) == ETIMEDOUT && !j->done)
			break;
	}
	if (!j->done) {
		/* The worker owns the job (and arg) from now on. */
		j->abandoned = true;
		j->free_fn = free_fn;
		stuck_add_locked(key);
		n_abandoned++;
		pthread_mutex_unlock(&lock);
		log_warning("storage: file operation on '%s' did not finish in %.0f s; abandoned",
			    key, timeout);
		return -ETIME;
	}
	r = j->result;
	pthread_mutex_unlock(&lock);
	pthread_cond_destroy(&j->cond);
	free(j);
	return r;
}

unsigned sd_io_abandoned(void)
{
	pthread_mutex_lock(&lock);
	unsigned n = n_abandoned;
	pthread_mutex_unlock(&lock);
	return n;
}
