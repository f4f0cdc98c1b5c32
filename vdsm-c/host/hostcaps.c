/* Static host capabilities: collection, the libvirt retry thread, the CPU check. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hostcaps.h"
#include "../util/log.h"
#include "../util/util.h"

void hostcaps_unref(struct hostcaps *c)
{
	if (!c || atomic_fetch_sub(&c->ref, 1) != 1)
		return;
	cpu_info_free(c->cpu);
	cpu_numa_free(c->numa);
	cpu_virt_free(c->virt);
	free(c->pkgs);
	free(c->fc);
	free(c);
}

static long long read_ll(const char *root, const char *abs, long long def)
{
	_cleanup_free_ char *p = util_path(root, abs);
	char buf[64];
	long long v;

	if (!p || util_read_line(p, buf, sizeof(buf)) <= 0 ||
	    util_parse_ll(util_strstrip(buf), -1000000, 1LL << 62, &v) < 0)
		return def;
	return v;
}

static bool exists(const char *root, const char *abs)
{
	_cleanup_free_ char *p = util_path(root, abs);

	return p && access(p, F_OK) == 0;
}

/* kdumpStatus (API.md §5.1): 1 only when a crash kernel is loaded and kdump is set to
 * notify the manager through fence_kdump; 0 when not; -1 when the kernel does not say. */
static int kdump_status(const char *root)
{
	long long loaded = read_ll(root, "/sys/kernel/kexec_crash_loaded", -1);
	_cleanup_free_ char *conf = util_path(root, "/etc/kdump.conf"), *text = NULL;

	if (loaded < 0)
		return -1;
	if (loaded == 0)
		return 0;
	if (conf && util_read_file(conf, 1 << 20, &text, NULL) == 0)
		for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
			if (strncmp(l, "fence_kdump_nodes", 17) == 0)
				return 1;
	return 0;
}

static bool dir_nonempty(const char *root, const char *abs)
{
	_cleanup_free_ char *p = util_path(root, abs);
	DIR *d = p ? opendir(p) : NULL;
	bool any = false;

	if (!d)
		return false;
	for (struct dirent *de; !any && (de = readdir(d));)
		any = de->d_name[0] != '.';
	closedir(d);
	return any;
}

static bool hw_rng(const char *root)
{
	_cleanup_free_ char *p = util_path(root, "/sys/devices/virtual/misc/hw_random/rng_current");
	char buf[64];

	return p && util_read_line(p, buf, sizeof(buf)) > 0 && strcmp(util_strstrip(buf), "none") != 0;
}

int hostcaps_collect(const struct hostcaps_src *src, struct hostcaps **ret)
{
	_cleanup_(hostcaps_unrefp) struct hostcaps *c = calloc(1, sizeof(*c));
	struct cpu_meminfo mi;
	int r;

	if (!c)
		return -ENOMEM;
	atomic_init(&c->ref, 1);
	if ((r = cpu_info_read(src->host_root, &c->cpu)) < 0) {
		log_err("cannot read /proc/cpuinfo under '%s': %s", src->host_root, strerror(-r));
		return r;
	}
	if ((r = cpu_meminfo_read(src->host_root, &mi)) < 0) {
		log_err("cannot read /proc/meminfo under '%s': %s", src->host_root, strerror(-r));
		return r;
	}
	c->mem_total_kib = mi.total;
	if ((r = cpu_numa_read(src->host_root, &c->numa)) < 0) {
		log_err("cannot read the NUMA topology: %s", strerror(-r));
		return r;
	}
	_cleanup_free_ char *kvm = util_path(src->host_root, "/dev/kvm");
	c->kvm_api = kvm ? cpu_kvm_probe(kvm) : -ENOMEM;
	if (src->libvirt_uri) {
		r = cpu_virt_query(src->libvirt_uri, &c->virt, &c->virt_error);
		if (r < 0)
			c->virt = NULL;
	} else {
		vd_error_set(&c->virt_error, VD_ERR_GENERAL, "libvirt not asked");
	}
	if (src->host_uuid && *src->host_uuid) {
		snprintf(c->uuid, sizeof(c->uuid), "%s", src->host_uuid); /* normalised by config */
		c->uuid_source = "config";
	} else if ((r = vd_host_uuid(src->host_root, src->state_root, c->uuid,
				     &c->uuid_source)) < 0) {
		log_err("cannot determine or persist the host UUID: %s", strerror(-r));
		return r;
	}
	if (vd_os_read(src->host_root, &c->os) < 0)
		memset(&c->os, 0, sizeof(c->os));
	if ((r = vd_kernel_pkg(&c->kernel)) < 0)
		log_warning("kernel version: %s, reporting it empty", strerror(-r));
	if ((r = vd_packages_query(src->dpkg_query, &c->pkgs, &c->n_pkgs)) < 0)
		log_warning("package versions: %s failed: %s, ignoring", src->dpkg_query, strerror(-r));
	if ((r = vd_iscsi_initiator(src->host_root, c->iscsi_initiator,
				    sizeof(c->iscsi_initiator))) < 0)
		log_warning("cannot read the iSCSI initiator name: %s, reporting none", strerror(-r));
	if ((r = vd_fc_hbas(src->host_root, &c->fc, &c->n_fc)) < 0)
		log_warning("cannot list FC HBAs: %s, reporting none", strerror(-r));
	long long nb = read_ll(src->host_root, "/proc/sys/kernel/numa_balancing", -1);
	c->auto_numa = nb < 0 ? 2 : nb > 0;
	c->kdump = kdump_status(src->host_root);
	if (exists(src->host_root, "/sys/fs/selinux/enforce"))
		c->selinux = (int)read_ll(src->host_root, "/sys/fs/selinux/enforce", 0) == 1;
	else
		c->selinux = -1;
	c->hostdev = dir_nonempty(src->host_root, "/sys/kernel/iommu_groups");
	c->hwrng = hw_rng(src->host_root);
	_cleanup_(cpu_stat_freep) struct cpu_stat *st = NULL;
	c->boot_time = cpu_stat_read(src->host_root, &st) == 0 ? st->btime : -1;
	*ret = TAKE_PTR(c);
	return 0;
}

/* ---- the module ---- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct hostcaps *current;
static atomic_ulong generation;
static struct cpu_map *cpumap;
static bool cpumap_tried;

static pthread_t retry_thread;
static bool retry_running, stopping;
static pthread_cond_t stop_cond;

static struct hostcaps_src module_src;   /* set by hostcaps_start() */

static void replace(struct hostcaps *c)
{
	pthread_mutex_lock(&lock);
	c->generation = atomic_fetch_add(&generation, 1) + 1;
	struct hostcaps *old = current;
	current = c;
	pthread_mutex_unlock(&lock);
	hostcaps_unref(old);
}

static void log_virt(const struct hostcaps *c)
{
	if (!c->virt) {
		log_warning("libvirt '%s' did not answer (%s): no model_X flags or machines until "
			    "it does; retrying every 10 s", module_src.libvirt_uri, c->virt_error.msg);
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < c->virt->n_models; i++)
		n += c->virt->models[i].usable;
	log_notice("libvirt: %s domains, host-model %s, %zu usable CPU models, %zu machine types",
		   c->virt->domain_type, c->virt->host_model ? c->virt->host_model : "none", n,
		   c->virt->n_machines);
}

static void *retry_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (!stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 10;
		while (!stopping && pthread_cond_timedwait(&stop_cond, &lock, &ts) != ETIMEDOUT)
			;
		if (stopping)
			break;
		pthread_mutex_unlock(&lock);
		struct hostcaps *c = NULL;
		int r = hostcaps_collect(&module_src, &c);
		pthread_mutex_lock(&lock);
		if (r == 0 && c->virt) {
			pthread_mutex_unlock(&lock);
			log_virt(c);
			replace(c);
			return NULL;
		}
		hostcaps_unref(c);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int hostcaps_start(const struct hostcaps_src *o)
{
	struct hostcaps *c;
	pthread_condattr_t ca;
	int r;

	module_src = *o;
	if ((r = hostcaps_collect(&module_src, &c)) < 0)
		return -1;
	log_notice("host %s (uuid from %s): %s, %d sockets, %d cores, %d threads, %lld MiB, "
		   "KVM %s", c->uuid, c->uuid_source, c->cpu->model_name, c->cpu->sockets,
		   c->cpu->cores, c->cpu->threads, c->mem_total_kib / 1024,
		   c->kvm_api == 12 ? "API 12" : c->kvm_api > 0 ? "unexpected API version" :
		   strerror(-c->kvm_api));
	if (c->kvm_api == 12 && !cpu_info_has_flag(c->cpu, "vmx") && !cpu_info_has_flag(c->cpu, "svm"))
		log_notice("/dev/kvm answers although /proc/cpuinfo shows no vmx/svm "
			   "(nested or paravirtual KVM): reporting kvmEnabled=true");
	log_virt(c);
	bool need_retry = !c->virt;
	replace(c);
	if (!need_retry)
		return 0;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&stop_cond, &ca);
	pthread_condattr_destroy(&ca);
	stopping = false;
	if ((r = pthread_create(&retry_thread, NULL, retry_main, NULL)) != 0) {
		log_err("hostcaps: cannot start the libvirt retry thread: %s", strerror(r));
		return 0;   /* caps are served; only the retry is lost */
	}
	retry_running = true;
	return 0;
}

void hostcaps_stop(void)
{
	if (retry_running) {
		pthread_mutex_lock(&lock);
		stopping = true;
		pthread_cond_signal(&stop_cond);
		pthread_mutex_unlock(&lock);
		pthread_join(retry_thread, NULL);
		pthread_cond_destroy(&stop_cond);
		retry_running = false;
	}
	pthread_mutex_lock(&lock);
	struct hostcaps *old = current;
	current = NULL;
	cpu_map_free(cpumap);
	cpumap = NULL;
	cpumap_tried = false;
	pthread_mutex_unlock(&lock);
	hostcaps_unref(old);
}

struct hostcaps *hostcaps_get(void)
{
	struct hostcaps *c;

	pthread_mutex_lock(&lock);
	c = current;
	if (c)
		atomic_fetch_add(&c->ref, 1);
	pthread_mutex_unlock(&lock);
	return c;
}

unsigned long hostcaps_generation(void)
{
	return atomic_load(&generation);
}

int hostcaps_cpu_compare(const char *model, char ***ret_missing, size_t *ret_n)
{
	_cleanup_(hostcaps_unrefp) struct hostcaps *c = hostcaps_get();
	int r;

	if (!c || !c->virt)
		return -ENOTCONN;
	pthread_mutex_lock(&lock);
	if (!cpumap && !cpumap_tried) {
		_cleanup_free_ char *dir = util_path(module_src.host_root, "/usr/share/libvirt/cpu_map");
		const char *fam = cpu_map_arch_family(c->virt->arch);
		cpumap_tried = true;
		if (dir && fam && (r = cpu_map_load(dir, fam, &cpumap)) < 0)
			log_warning("cannot load libvirt's CPU map from %s: %s", dir, strerror(-r));
	}
	if (!cpumap) {
		pthread_mutex_unlock(&lock);
		return -ENOENT;
	}
	r = cpu_compare_model(cpumap, c->virt, model, ret_missing, ret_n);
	pthread_mutex_unlock(&lock);
	return r;
}
