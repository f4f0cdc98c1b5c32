/* Destination side of a live migration: migrationCreate's readiness checks, the
 * incoming VM's registration and the waiter threads (API.md §5.3, §7.1 steps 5–10). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "migration.h"
#include "migration-internal.h"
#include "../../cpu/cpu.h"
#include "../util/log.h"
#include "../util/util.h"

#define IFF_UP_FLAG 0x1

/* Check + register of one migrationCreate at a time: two concurrent ones cannot both
 * pass the incoming limit or reserve the same memory. */
static pthread_mutex_t incoming_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool stopping;
static pthread_mutex_t waiters_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t waiters_cond = PTHREAD_COND_INITIALIZER;
static int waiters;

/* <host_root>/sys/class/net/<name>/flags: 1 up, 0 down, -ENOENT no such device. */
static int link_up(const char *name)
{
	char rel[64], buf[32];

	snprintf(rel, sizeof(rel), "/sys/class/net/%s/flags", name);
	_cleanup_free_ char *p = util_path(migration_cfg.host_root, rel);
	if (!p)
		return -ENOMEM;
	int r = util_read_line(p, buf, sizeof(buf));
	if (r < 0)
		return r;
	unsigned long f = strtoul(util_strstrip(buf), NULL, 16);
	return (f & IFF_UP_FLAG) ? 1 : 0;
}

static int is_bridge(const char *name)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "/sys/class/net/%s/bridge", name);
	_cleanup_free_ char *p = util_path(migration_cfg.host_root, rel);
	return p && access(p, F_OK) == 0;
}

/* The VM's custom CPU model (the source's definition: cluster baseline, exact match)
 * must be runnable here; default, host-model and passthrough CPUs follow the host. */
static int check_cpu_model(const struct vm_conf *c, struct vd_error *err)
{
	char **missing = NULL;
	size_t n = 0;

	if (c->cpu_mode != VM_CPU_CUSTOM || !c->cpu_model || !migration_cfg.cpu_compare)
		return 0;
	int r = migration_cfg.cpu_compare(c->cpu_model, &missing, &n);
	if (r == 1) {
		cpu_strv_free(missing);
		return 0;
	}
	if (r == 0) {
		char list[256] = "";
		size_t len = 0;
		for (size_t i = 0; i < n && len + 1 < sizeof(list); i++) {
			int w = snprintf(list + len, sizeof(list) - len, "%s%s", i ? " " : "", missing[i]);
			if (w < 0)
				break;
			len += (size_t)w;
		}
		cpu_strv_free(missing);
		return vd_error_set(err, VD_ERR_CREATEERR,
				    "Error creating the requested VM: incoming migration: CPU model '%.64s' is not runnable on this host (missing: %s)",
				    c->cpu_model, n ? list : "libvirt reports it unusable");
	}
	cpu_strv_free(missing);
	if (r == -ENOENT)
		return vd_error_set(err, VD_ERR_CREATEERR,
				    "Error creating the requested VM: incoming migration: CPU model '%.64s' is unknown to this host's libvirt CPU map",
				    c->cpu_model);
	return vd_error_set(err, VD_ERR_CREATEERR,
			    "Error creating the requested VM: incoming migration: cannot compare CPU model '%.64s' with this host: %s",
			    c->cpu_model, strerror(-r));
}

int migration_check_incoming(const struct vm_conf *c, const struct migration_host_facts *f,
			     bool source_passed_limit, struct vd_error *err)
{
	if (f->incoming >= migration_cfg.max_incoming)
		return vd_error_set(err, source_passed_limit ? VD_ERR_MIGRATELIMIT : VD_ERR_MIGRATEERR,
				    "Incoming migration limit exceeded: %d of %d incoming migrations in progress on this host",
				    f->incoming, migration_cfg.max_incoming);
	long long need = c->mem_mib + migration_cfg.guest_ram_overhead;
	long long free_mib = f->mem_available_mib - migration_cfg.host_mem_reserve - f->incoming_mem_mib;
	if (need > free_mib)
		return vd_error_set(err, VD_ERR_OUTOFMEM,
				    "Not enough free memory to create VM: the incoming VM needs %lld MiB (memSize %lld + overhead %d), this host has %lld MiB (%lld available - %d reserve - %lld reserved by incoming migrations)",
				    need, c->mem_mib, migration_cfg.guest_ram_overhead, free_mib > 0 ? free_mib : 0,
				    f->mem_available_mib, migration_cfg.host_mem_reserve, f->incoming_mem_mib);
	for (size_t i = 0; i < c->n_nics; i++) {
		const char *br = c->nics[i].network;
		if (!br || !*br)
			continue;
		if (!vm_ifname_valid(br) || !is_bridge(br))
			return vd_error_set(err, VD_ERR_CREATEERR,
					    "Error creating the requested VM: incoming migration: network '%.32s' of NIC %s: no bridge '%.32s' on this host",
					    br, c->nics[i].mac, br);
		if (link_up(br) != 1)
			return vd_error_set(err, VD_ERR_CREATEERR,
					    "Error creating the requested VM: incoming migration: network '%s' of NIC %s: bridge '%s' is down on this host",
					    br, c->nics[i].mac, br);
	}
	if (check_cpu_model(c, err) < 0)
		return -1;
	if (migration_cfg.max_cpu_load > 0 && f->cpu_used_pct >= 0 && f->n_cpus > 0) {
		int vcpus = c->vcpus > 0 ? c->vcpus : 1;
		double with_vm = f->cpu_used_pct + 100.0 * vcpus / f->n_cpus;
		if (with_vm > migration_cfg.max_cpu_load)
			return vd_error_set(err, VD_ERR_UNAVAIL,
					    "Resource unavailable: incoming migration: host CPU load would reach %.0f%% with the VM (%.0f%% busy now + %d vCPU(s) of %d CPUs), over the maximum of %d%% (migration_max_cpu_load)",
					    with_vm, f->cpu_used_pct, vcpus, f->n_cpus,
					    migration_cfg.max_cpu_load);
	}
	return 0;
}

static void audit_refused(const char *id, const struct vd_error *err)
{
	char reason[VD_ERROR_MSG_MAX];
	migration_audit_text(reason, err->msg, sizeof(reason));
	log_notice("AUDIT event=migration-incoming-refused vm=%s code=%d reason=\"%s\"", id,
		   err->code, reason);
}

static bool is_stopping(void)
{
	return atomic_load(&stopping);
}

static void *waiter(void *arg)
{
	char *id = arg;
	double t0 = util_now_monotonic();

	enum vm_incoming_result r = vm_incoming_wait(id, migration_cfg.destination_timeout,
							 migration_cfg.incoming_start_timeout, is_stopping);
	static const char *const what[] = {
		[VM_INCOMING_UP] = "finished, VM Up",
		[VM_INCOMING_FAILED] = "failed",
		[VM_INCOMING_TIMEOUT] = "timed out",
		[VM_INCOMING_CANCELLED] = "left to recovery (agent stopping)",
	};
	/* libvirt resumes the domain before it records the completed job: ask for its
	 * downtime a few times (3 s at most; 0 in the audit line when still absent). */
	struct vm_job_info j = { 0 };
	const struct timespec step = { 0, 100 * 1000 * 1000 };
	for (int i = 0; r == VM_INCOMING_UP && i < 30 && !is_stopping(); i++) {
		if (vm_outgoing_job(id, true, &j) == 0 && j.downtime_ms > 0)
			break;
		j.downtime_ms = 0;
		nanosleep(&step, NULL);
	}
	static const char *const result[] = {
		[VM_INCOMING_UP] = "up", [VM_INCOMING_FAILED] = "failed",
		[VM_INCOMING_TIMEOUT] = "timeout", [VM_INCOMING_CANCELLED] = "agent-stopping",
	};
	log_notice("VM %s: incoming migration %s after %.1f s", id, what[r],
		   util_now_monotonic() - t0);
	log_notice("AUDIT event=migration-incoming-end vm=%s result=%s duration_ms=%.0f downtime_ms=%llu",
		   id, result[r], (util_now_monotonic() - t0) * 1000, j.downtime_ms);
	free(id);
	pthread_mutex_lock(&waiters_lock);
	waiters--;
	pthread_cond_broadcast(&waiters_cond);
	pthread_mutex_unlock(&waiters_lock);
	return NULL;
}

static int host_facts(struct migration_host_facts *f)
{
	struct cpu_meminfo mi;
	struct vm_counts v = { 0 };
	int r;

	if ((r = cpu_meminfo_read(migration_cfg.host_root, &mi)) < 0)
		return r;
	if (mi.available < 0)
		return -ENODATA;
	vm_counts_get(&v);
	f->mem_available_mib = mi.available / 1024;
	f->incoming = v.incoming;
	f->incoming_mem_mib = v.incoming_mem_mib;
	f->cpu_used_pct = -1;
	f->n_cpus = 0;
	if (migration_cfg.cpu_load && migration_cfg.cpu_load(&f->cpu_used_pct, &f->n_cpus) < 0) {
		log_warning("incoming migration: no host CPU sample yet, CPU load not checked");
		f->cpu_used_pct = -1;
	}
	return 0;
}

int migration_incoming(struct vm_conf *c, bool source_passed_limit, struct vm_brief *ret,
		       struct vd_error *err)
{
	_cleanup_(vm_conf_freep) struct vm_conf *conf = c;
	struct migration_host_facts f;
	char id[37];
	int r;

	if (atomic_load(&stopping))
		return vd_error_set(err, VD_ERR_RECOVERY, NULL);
	snprintf(id, sizeof(id), "%s", conf->id);
	pthread_mutex_lock(&incoming_lock);
	if ((r = host_facts(&f)) < 0) {
		pthread_mutex_unlock(&incoming_lock);
		return vd_error_set(err, VD_ERR_CREATEERR,
				    "Error creating the requested VM: cannot read /proc/meminfo: %s",
				    strerror(-r));
	}
	if (migration_check_incoming(conf, &f, source_passed_limit, err) < 0) {
		pthread_mutex_unlock(&incoming_lock);
		audit_refused(id, err);
		return -1;
	}
	r = vm_incoming_create(TAKE_PTR(conf), ret, err);
	pthread_mutex_unlock(&incoming_lock);
	if (r < 0) {
		audit_refused(id, err);
		return -1;
	}
	log_notice("AUDIT event=migration-incoming-start vm=%s", id);

	char *arg = strdup(id);
	pthread_t tid;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&waiters_lock);
	r = arg ? pthread_create(&tid, &attr, waiter, arg) : ENOMEM;
	if (r == 0)
		waiters++;
	pthread_mutex_unlock(&waiters_lock);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		free(arg);
		struct vd_error ignore = { 0 };
		if (vm_destroy(id, &ignore) < 0)
			log_warning("VM %s: cannot forget the incoming VM: %s", id, ignore.msg);
		return vd_error_set(err, VD_ERR_CREATEERR,
				    "Error creating the requested VM: cannot start a waiter thread: %s",
				    strerror(r));
	}
	return 0;
}

void migration_dest_start(void)
{
	atomic_store(&stopping, false);
}

void migration_dest_stop(void)
{
	struct timespec ts;

	atomic_store(&stopping, true);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&waiters_lock);
	while (waiters > 0)
		if (pthread_cond_timedwait(&waiters_cond, &waiters_lock, &ts) == ETIMEDOUT)
			break;
	if (waiters > 0)
		log_warning("%d incoming-migration waiter(s) still running at shutdown", waiters);
	pthread_mutex_unlock(&waiters_lock);
}
