/* Host statistics sampler: the thread, the published sample and the VM counter hook. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hoststats-internal.h"
#include "../util/log.h"
#include "../../network/net.h"
#include "../util/util.h"

static pthread_mutex_t vm_counter_lock = PTHREAD_MUTEX_INITIALIZER;
static void (*vm_counter)(struct hoststats_vm_counts *out);

void hoststats_set_vm_counter(void (*fn)(struct hoststats_vm_counts *out))
{
	pthread_mutex_lock(&vm_counter_lock);
	vm_counter = fn;
	pthread_mutex_unlock(&vm_counter_lock);
}

/* ---- published sample ---- */

static pthread_mutex_t sample_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hoststats_sample *latest;
static atomic_ulong generation;

unsigned long hoststats_generation(void)
{
	return atomic_load(&generation);
}

struct hoststats_sample *hoststats_sample_get(void)
{
	struct hoststats_sample *s;

	pthread_mutex_lock(&sample_lock);
	s = latest;
	if (s)
		atomic_fetch_add(&s->ref, 1);
	pthread_mutex_unlock(&sample_lock);
	return s;
}

static void publish(struct hoststats_sample *s)
{
	struct hoststats_sample *old;

	pthread_mutex_lock(&sample_lock);
	old = latest;
	latest = s;
	atomic_fetch_add(&generation, 1);
	pthread_mutex_unlock(&sample_lock);
	hoststats_sample_unref(old);
}

/* ---- the sampler ---- */

static pthread_t thread;
static bool running;
static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cond;
static bool stopping;
static struct hs_raw prev;
static struct hs_params params;
/* diskStats: the directories VDSM watches, by the paths the manager knows. */
static const char *const disk_paths[] = { "/tmp", "/var/log", "/var/log/core", "/var/run/vdsm/",
					  NULL };
static char *disk_real[ELEMENTSOF(disk_paths)];

static int dev_speed(const struct net_snapshot *s, const struct net_dev *d, int depth)
{
	if (depth > 4)
		return 0;
	switch (d->kind) {
	case NET_KIND_NIC:
		return d->speed;
	case NET_KIND_VLAN: {
		const struct net_dev *b = net_snapshot_find(s, d->vlan_base);
		return b ? dev_speed(s, b, depth + 1) : 0;
	}
	case NET_KIND_BOND: {
		/* active-backup carries traffic on one slave; other modes on all */
		if (d->active_slave[0]) {
			const struct net_dev *a = net_snapshot_find(s, d->active_slave);
			return a ? dev_speed(s, a, depth + 1) : 0;
		}
		int sum = 0;
		for (size_t i = 0; i < d->n_ports; i++) {
			const struct net_dev *p = net_snapshot_find(s, d->ports[i]);
			sum += p ? dev_speed(s, p, depth + 1) : 0;
		}
		return sum;
	}
	default:
		return 0;
	}
}

/* The reported devices (nics, bonds, vlans, bridges) with their speed and state. */
static struct hoststats_opts opts;

static int nic_list(struct hs_nic_raw **ret, size_t *ret_n)
{
	_cleanup_(net_snapshot_unrefp) struct net_snapshot *s = NULL;
	int r;

	*ret = NULL;
	*ret_n = 0;
	/* speeds and bond active slaves; no bridge option files (40 reads per bridge) */
	if ((r = net_snapshot_get_level(&opts.filter, opts.host_root, NET_DETAIL_STATS, &s)) < 0)
		return r;
	struct hs_nic_raw *v = calloc(s->n_devs ? s->n_devs : 1, sizeof(*v));
	size_t n = 0;
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_devs; i++) {
		const struct net_dev *d = &s->devs[i];
		if (d->kind == NET_KIND_OTHER || d->hidden)
			continue;
		snprintf(v[n].name, sizeof(v[n].name), "%s", d->name);
		v[n].speed = dev_speed(s, d, 0);
		/* veth, dummy and bridges often say "unknown" while they carry traffic */
		v[n].up = strcmp(d->operstate, "up") == 0 ||
			  (strcmp(d->operstate, "unknown") == 0 && d->up && d->carrier);
		n++;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static int take_sample(void)
{
	_cleanup_free_ struct hs_nic_raw *nics = NULL;
	size_t n_nics = 0;
	struct hs_raw cur;
	int r;

	if ((r = nic_list(&nics, &n_nics)) < 0)
		log_debug("hoststats: no network snapshot: %s", strerror(-r));
	if ((r = hs_raw_read(&params, nics, n_nics, &cur)) < 0)
		return r;
	pthread_mutex_lock(&vm_counter_lock);
	if (vm_counter)
		vm_counter(&cur.vms);
	pthread_mutex_unlock(&vm_counter_lock);
	struct hoststats_sample *s = hs_compute(&params, prev.stat ? &prev : NULL, &cur);
	hs_raw_clear(&prev);
	prev = cur;
	if (!s)
		return -ENOMEM;
	publish(s);
	return 0;
}

static void *sampler_main(void *arg)
{
	double interval = opts.interval;
	struct timespec next;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&stop_lock);
	while (!stopping) {
		next.tv_sec += (time_t)interval;
		while (!stopping && pthread_cond_timedwait(&stop_cond, &stop_lock, &next) != ETIMEDOUT)
			;
		if (stopping)
			break;
		pthread_mutex_unlock(&stop_lock);
		int r = take_sample();
		if (r < 0)
			log_warning("host statistics sample failed: %s, keeping the previous one",
				    strerror(-r));
		pthread_mutex_lock(&stop_lock);
	}
	pthread_mutex_unlock(&stop_lock);
	return NULL;
}

int hoststats_start(const struct hoststats_opts *o)
{
	pthread_condattr_t ca;
	int r;

	if (running)
		return 0;
	opts = *o;
	params.root = opts.host_root;
	params.host_mem_reserve = opts.host_mem_reserve;
	params.clk_tck = sysconf(_SC_CLK_TCK);
	params.page_size = sysconf(_SC_PAGESIZE);
	params.ksmd_pid = hs_find_kthread(opts.host_root, "ksmd");
	for (size_t i = 0; disk_paths[i]; i++) {
		free(disk_real[i]);
		disk_real[i] = strcmp(disk_paths[i], "/var/run/vdsm/") == 0 ?
			util_path(opts.state_root, "/run/vdsm-c") : util_path(opts.host_root, disk_paths[i]);
		if (!disk_real[i])
			return -1;
	}
	params.disk_paths = disk_paths;
	params.disk_real = (const char *const *)disk_real;
	if ((r = net_monitor_start()) < 0)
		log_warning("hoststats: rtnetlink unavailable (%s): no per-NIC statistics",
			    strerror(-r));
	/* The first sample now, so getVdsStats has one when the agent turns ready. */
	if ((r = take_sample()) < 0) {
		log_err("host statistics: first sample failed: %s", strerror(-r));
		return -1;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&stop_cond, &ca);
	pthread_condattr_destroy(&ca);
	stopping = false;
	if ((r = pthread_create(&thread, NULL, sampler_main, NULL)) != 0) {
		log_err("host statistics: cannot start the sampler thread: %s", strerror(r));
		return -1;
	}
	running = true;
	return 0;
}

void hoststats_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&stop_lock);
	stopping = true;
	pthread_cond_signal(&stop_cond);
	pthread_mutex_unlock(&stop_lock);
	pthread_join(thread, NULL);
	running = false;
	pthread_cond_destroy(&stop_cond);
	hs_raw_clear(&prev);
	publish(NULL);
	for (size_t i = 0; i < ELEMENTSOF(disk_real); i++) {
		free(disk_real[i]);
		disk_real[i] = NULL;
	}
}
