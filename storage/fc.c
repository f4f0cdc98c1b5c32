/* storage/fc: see fc.h. */
#include "fc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../vdsm-c/util/log.h"

/* One line of sysfs text, trimmed, printable ASCII, fits; else "". */
static void read_attr(const char *dir, const char *name, char *buf, size_t size)
{
	char path[PATH_MAX], tmp[128];
	ssize_t n = -1;

	buf[0] = '\0';
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		n = read(fd, tmp, sizeof(tmp) - 1);
		close(fd);
	}
	if (n <= 0)
		return;
	while (n > 0 && (tmp[n - 1] == '\n' || tmp[n - 1] == ' '))
		n--;
	for (ssize_t k = 0; k < n; k++)
		if ((unsigned char)tmp[k] < 0x20 || (unsigned char)tmp[k] > 0x7e)
			return;
	if ((size_t)n >= size)
		return;
	memcpy(buf, tmp, (size_t)n);
	buf[n] = '\0';
}

/* "hostN" with N a decimal number (no sign, no leading garbage). */
static bool host_name(const char *s, unsigned long *num)
{
	char *end;
	if (strncmp(s, "host", 4) != 0 || s[4] < '0' || s[4] > '9' || strlen(s) > 20)
		return false;
	errno = 0;
	*num = strtoul(s + 4, &end, 10);
	return !errno && !*end;
}

static int cmp_host(const void *a, const void *b)
{
	unsigned long x, y;
	if (!host_name(((const struct stg_fc_host *)a)->host, &x) ||
	    !host_name(((const struct stg_fc_host *)b)->host, &y))
		return 0;
	return x < y ? -1 : x > y;
}

static const char *root_of(const char *root)
{
	return root && strcmp(root, "/") != 0 ? root : "";
}

int stg_fc_hosts(const char *root, struct stg_fc_host **ret)
{
	char dir[PATH_MAX];
	struct stg_fc_host *hosts = NULL;
	size_t n = 0, cap = 0;

	*ret = NULL;
	if (snprintf(dir, sizeof(dir), "%s/sys/class/fc_host", root_of(root)) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	DIR *dp = opendir(dir);
	if (!dp)
		return errno == ENOENT ? 0 : -errno;
	struct dirent *e;
	while ((e = readdir(dp))) {
		unsigned long num;
		char hdir[PATH_MAX];
		if (!host_name(e->d_name, &num) ||
		    snprintf(hdir, sizeof(hdir), "%s/%s", dir, e->d_name) >= (int)sizeof(hdir))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 4;
			struct stg_fc_host *nh = realloc(hosts, nc * sizeof(*nh));
			if (!nh) {
				closedir(dp);
				free(hosts);
				return -ENOMEM;
			}
			hosts = nh;
			cap = nc;
		}
		struct stg_fc_host *h = &hosts[n++];
		*h = (struct stg_fc_host){ 0 };
		snprintf(h->host, sizeof(h->host), "%.31s", e->d_name);
		read_attr(hdir, "port_name", h->port_name, sizeof(h->port_name));
		read_attr(hdir, "node_name", h->node_name, sizeof(h->node_name));
		read_attr(hdir, "port_state", h->port_state, sizeof(h->port_state));
		read_attr(hdir, "speed", h->speed, sizeof(h->speed));
	}
	closedir(dp);
	if (n)
		qsort(hosts, n, sizeof(*hosts), cmp_host);
	*ret = hosts;
	return (int)n;
}

/* Shared by the caller and the scanning threads; the last one out frees it. */
struct scan_job {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs;
	size_t done, failed;
};

struct scan_arg {
	struct scan_job *job;
	char path[PATH_MAX];
};

static void job_put(struct scan_job *job)
{
	pthread_mutex_lock(&job->lock);
	bool last = --job->refs == 0;
	pthread_mutex_unlock(&job->lock);
	if (last) {
		pthread_mutex_destroy(&job->lock);
		pthread_cond_destroy(&job->cond);
		free(job);
	}
}

static void *scan_run(void *p)
{
	struct scan_arg *a = p;
	int r = 0;
	int fd = open(a->path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 || write(fd, "- - -", 5) != 5)
		r = -errno;
	if (fd >= 0)
		close(fd);
	if (r < 0)
		log_warning("storage: FC rescan: %s: %s", a->path, strerror(-r));
	pthread_mutex_lock(&a->job->lock);
	if (r < 0)
		a->job->failed++;
	else
		a->job->done++;
	pthread_cond_signal(&a->job->cond);
	pthread_mutex_unlock(&a->job->lock);
	job_put(a->job);
	free(a);
	return NULL;
}

int stg_fc_rescan(const char *root, double timeout, struct stg_fc_scan *ret)
{
	struct stg_fc_host *hosts;
	struct scan_job *job;
	struct timespec deadline;
	size_t started = 0;

	*ret = (struct stg_fc_scan){ 0 };
	int n = stg_fc_hosts(root, &hosts);
	if (n <= 0)
		return n;
	job = calloc(1, sizeof(*job));
	if (!job) {
		free(hosts);
		return -ENOMEM;
	}
	pthread_mutex_init(&job->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&job->cond, &ca);
	pthread_condattr_destroy(&ca);
	job->refs = 1;
	ret->hosts = (size_t)n;

	for (int i = 0; i < n; i++) {
		struct scan_arg *a = calloc(1, sizeof(*a));
		pthread_attr_t at;
		pthread_t t;
		if (!a)
			break;
		if (snprintf(a->path, sizeof(a->path), "%s/sys/class/scsi_host/%s/scan",
			     root_of(root), hosts[i].host) >= (int)sizeof(a->path)) {
			free(a);
			continue;
		}
		a->job = job;
		pthread_mutex_lock(&job->lock);
		job->refs++;
		pthread_mutex_unlock(&job->lock);
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &at, scan_run, a) == 0) {
			started++;
		} else {
			job_put(job);
			free(a);
		}
		pthread_attr_destroy(&at);
	}
	free(hosts);

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)timeout;
	deadline.tv_nsec += (long)((timeout - (double)(time_t)timeout) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&job->lock);
	while (job->done + job->failed < started &&
	       pthread_cond_timedwait(&job->cond, &job->lock, &deadline) != ETIMEDOUT)
		;
	ret->done = job->done;
	ret->failed = job->failed + ((size_t)n - started);
	pthread_mutex_unlock(&job->lock);
	job_put(job);
	if (ret->done + ret->failed < ret->hosts)
		log_warning("storage: FC rescan: %zu of %zu HBA scan(s) still running after %.0f s; "
			    "left to finish in the background",
			    ret->hosts - ret->done - ret->failed, ret->hosts, timeout);
	return 0;
}

static struct {
	char *sysroot;
	double timeout;
} fc;

int stg_fc_start(const struct stg_fc_opts *o)
{
	if (o->rescan_timeout <= 0)
		return -EINVAL;
	free(fc.sysroot);
	fc.sysroot = strdup(root_of(o->sysroot));
	fc.timeout = o->rescan_timeout;
	return fc.sysroot ? 0 : -ENOMEM;
}

void stg_fc_stop(void)
{
	free(fc.sysroot);
	fc.sysroot = NULL;
}

int stg_fc_connect(struct stg_fc_scan *ret)
{
	if (!fc.sysroot) {
		*ret = (struct stg_fc_scan){ 0 };
		return -EINVAL;
	}
	return stg_fc_rescan(fc.sysroot, fc.timeout, ret);
}
