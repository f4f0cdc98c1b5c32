/* The module table: add a subsystem here (one row) to have it started and stopped. */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "modules.h"
#include "daemon.h"
#include "util/macros.h"
#include "vm/vm.h"
#include "migration/migration.h"
#include "verbs/verbs.h"
#include "config.h"
#include "host/hostcaps.h"
#include "host/hoststats.h"
#include "../network/net.h"
#include "../storage/dev.h"
#include "../storage/fc.h"
#include "../storage/vg.h"
#include "../storage/stg.h"
#include "../storage/sd.h"
#include "../network/netmgr.h"
#include "api.h"

/* Each module gets what it needs from the configuration here, at start; modules never
 * read the daemon's globals nor call each other (the VM counts reach the host stats
 * sampler through vm_counter below). */

static int hostcaps_module_start(void)
{
	const struct vd_config *c = vd_rt.conf;
	const struct hostcaps_src src = { vd_rt.host_root, vd_rt.root, c->libvirt_uri,
					  c->dpkg_query, c->host_uuid };
	return hostcaps_start(&src);
}

static void vm_counter(struct hoststats_vm_counts *out)
{
	struct vm_counts v = { 0 };

	vm_counts_get(&v);
	out->total = v.total;
	out->active = v.active;
	out->migrating = v.migrating;
	out->incoming = v.incoming;
	out->outgoing = v.outgoing;
	out->mem_committed_mib = v.mem_committed_mib;
}

static int hoststats_module_start(void)
{
	const struct vd_config *c = vd_rt.conf;
	const struct hoststats_opts o = {
		.host_root = vd_rt.host_root,
		.state_root = vd_rt.root,
		.interval = c->host_sample_stats_interval,
		.host_mem_reserve = c->host_mem_reserve,
		.filter = { c->fake_nics, c->hidden_bonds, c->hidden_vlans },
	};
	return hoststats_start(&o);
}

/* The VM module's drive resolver: VDSM images through prepareImage, plain paths
 * checked against the storage roots (the VM module never includes storage/). */
static int vm_drive_resolve(const struct vm_drive_src *s, char **ret_path, struct vd_error *err)
{
	if (s->volume_id) {
		struct sd_image *im = calloc(1, sizeof(*im));
		int r;

		if (!im)
			return vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: out of memory");
		r = sd_prepare_image(s->pool_id, s->domain_id, s->image_id, s->volume_id, im, err);
		if (r == 0 && !(*ret_path = strdup(im->path)))
			r = vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: out of memory");
		free(im);
		return r;
	}
	return sd_drive_path_check(s->path, ret_path, err);
}

static int vm_module_start(void)
{
	const struct vd_config *c = vd_rt.conf;
	const struct vm_module_opts o = {
		.libvirt_uri = c->libvirt_uri,
		.domain_type = c->vm_domain_type,
		.console_log_dir = c->vm_console_log_dir,
		.sample_interval = c->vm_sample_interval,
		.guest_ram_overhead = c->guest_ram_overhead,
		.host_root = vd_rt.host_root,
		.state_root = vd_rt.root,
		.drive_resolve = vm_drive_resolve,
	};
	if (vm_start(&o) < 0)
		return -1;
	hoststats_set_vm_counter(vm_counter);
	return 0;
}

/* The host certificate the source agent presents to the destination agent. */
static char *mig_cert, *mig_key, *mig_ca;

/* The host module's facts for the migration destination checks (no sibling calls). */
static int mig_cpu_load(double *used_pct, int *n_cpus)
{
	struct hoststats_sample *s = hoststats_sample_get();

	if (!s)
		return -ENODATA;
	*used_pct = 100.0 - s->cpu_idle;
	*n_cpus = (int)s->n_cpus;
	hoststats_sample_unref(s);
	return *n_cpus > 0 ? 0 : -ENODATA;
}

static int migration_module_start(void)
{
	const struct vd_config *c = vd_rt.conf;
	_cleanup_free_ char *ts = vd_config_state_path(c, c->trust_store_path);

	if (!ts || asprintf(&mig_cert, "%s/certs/vdsmcert.pem", ts) < 0 ||
	    asprintf(&mig_key, "%s/keys/vdsmkey.pem", ts) < 0 ||
	    asprintf(&mig_ca, "%s/certs/cacert.pem", ts) < 0)
		return -1;
	const struct migration_opts o = {
		.host_root = vd_rt.host_root,
		.max_incoming = c->max_incoming_migrations,
		.destination_timeout = c->migration_destination_timeout,
		.incoming_start_timeout = c->migration_incoming_start_timeout,
		.host_mem_reserve = c->host_mem_reserve,
		.guest_ram_overhead = c->guest_ram_overhead,
		.max_cpu_load = c->migration_max_cpu_load,
		.cpu_compare = hostcaps_cpu_compare,
		.cpu_load = mig_cpu_load,
		.max_outgoing = c->max_outgoing_migrations,
		.tcp_transport = strcmp(c->migration_transport, "tcp") == 0,
		.max_bandwidth = c->migration_max_bandwidth,
		.downtime = c->migration_downtime,
		.downtime_steps = c->migration_downtime_steps,
		.downtime_delay = c->migration_downtime_delay,
		.max_time_per_gib = c->migration_max_time_per_gib_mem,
		.progress_timeout = c->migration_progress_timeout,
		.monitor_interval = c->migration_monitor_interval,
		.create_timeout = c->migration_create_timeout,
		.retry_timeout = c->migration_retry_timeout,
		.dest_ping_interval = c->migration_dest_ping_interval,
		.dest_ping_timeout = c->migration_dest_ping_timeout,
		.tls = c->ssl,
		.cert_file = mig_cert, .key_file = mig_key, .ca_file = mig_ca,
		.dest_create = verbs_migration_dest_create,
		.dest_destroy = verbs_migration_dest_destroy,
		.dest_ping = verbs_migration_dest_ping,
	};
	return migration_start(&o);
}

static void migration_module_stop(void)
{
	migration_stop();
	free(mig_cert);
	free(mig_key);
	free(mig_ca);
	mig_cert = mig_key = mig_ca = NULL;
}

static void vm_module_stop(void)
{
	hoststats_set_vm_counter(NULL);
	vm_stop();
}

static int storage_module_start(void)
{
	const struct vd_config *c = vd_rt.conf;
	_cleanup_free_ char *repo = vd_state_path(c->repository);
	_cleanup_free_ char *mountinfo = vd_host_path("/proc/self/mountinfo");
	const struct stg_opts o = {
		.repository = repo,
		.mountinfo = mountinfo,
		.mount = c->mount_cmd,
		.umount = c->umount_cmd,
		.mount_timeout = c->mount_timeout,
		.access_uid = c->storage_access_uid,
		.access_gid = c->storage_access_gid,
		.setpriv = c->setpriv_cmd,
	};

	const struct stg_iscsi_opts io = {
		.iscsiadm = c->iscsiadm_cmd,
		.timeout = c->iscsi_timeout,
	};

	const struct stg_devlist_opts dlo = {
		.sysroot = vd_rt.host_root,
		.mpathd_socket = c->multipathd_socket,
		.lvm = c->lvm_cmd,
		.blkid = c->blkid_cmd,
		.timeout = c->lvm_timeout,
	};

	if (!repo || !mountinfo)
		return -1;
	const struct stg_fc_opts fo = {
		.sysroot = vd_rt.host_root,
		.rescan_timeout = c->scsi_rescan_maximal_timeout,
	};
	const struct stg_vg_opts vo = {
		.sysroot = vd_rt.host_root,
		.lvm = c->lvm_cmd,
		.timeout = c->lvm_timeout,
	};
	if (stg_iscsi_start(&io) < 0 || stg_devlist_start(&dlo) < 0 || stg_fc_start(&fo) < 0 ||
	    stg_vg_start(&vo) < 0)
		return -1;
	return stg_start(&o) < 0 ? -1 : 0;
}

/* Storage domains on the connections' mounts; their monitors (getVdsStats). */
static int sd_module_start(void)
{
	const struct vd_config *c = vd_rt.conf;
	_cleanup_free_ char *repo = vd_state_path(c->repository);
	_cleanup_free_ char *mountinfo = vd_host_path("/proc/self/mountinfo");
	_cleanup_free_ char *run_dir = vd_state_path("/run/vdsm/storage");
	const struct sd_opts o = {
		.repository = repo,
		.mountinfo = mountinfo,
		.run_dir = run_dir,
		.io_timeout = c->process_pool_timeout,
		.check_interval = c->sd_health_check_delay,
		/* a read slower than the period is a failure: a dead server shows within
		 * two periods (API.md §5.1: the engine's limit is 30 s) */
		.check_timeout = c->sd_health_check_delay,
		.drive_roots = c->drive_roots,
	};

	if (!repo || !mountinfo || !run_dir)
		return -1;
	return sd_start(&o) < 0 ? -1 : 0;
}

static void storage_module_stop(void)
{
	stg_stop();
	stg_devlist_stop();
	stg_fc_stop();
	stg_vg_stop();
}

/* setupNetworks: persisted configurations, restore of the safe one at start. */
static int netmgr_module_start(void)
{
	const struct vd_config *c = vd_rt.conf;
	const char *kill_at = getenv("VDSMC_TEST_NET_KILL_AT_STEP");   /* test only */
	const struct netmgr_opts o = {
		.state_root = vd_rt.root,
		.sysroot = vd_rt.host_root,
		.filter = { c->fake_nics, c->hidden_bonds, c->hidden_vlans },
		.client_seen = vd_client_seen_last,
		.dhcp_client = c->dhcp_client,
		.dhcp_timeout = c->dhcp_timeout,
		.stop_after_step = kill_at && *kill_at ? atoi(kill_at) : -1,
	};
	return netmgr_start(&o);
}

static const struct vd_module modules[] = {
	/* rtnetlink caches for the network report (getVdsCapabilities, stats) */
	{ "network", net_module_start, net_module_stop, 0 },
	/* host networks: running/safe configuration, restore at start (setupNetworks) */
	{ "netconf", netmgr_module_start, netmgr_stop, 0 },
	/* static capabilities: CPU, NUMA, libvirt models and machines, identity */
	{ "hostcaps", hostcaps_module_start, hostcaps_stop, 0 },
	/* host statistics sampler (getVdsStats) */
	{ "hoststats", hoststats_module_start, hoststats_stop, 0 },
	/* libvirt connection, VM recovery (API.md §2.2: verbs answer 99 until done) */
	{ "vm", vm_module_start, vm_module_stop, 1 },
	/* storage server connections (mount root under the state root) */
	{ "storage", storage_module_start, storage_module_stop, 0 },
	/* storage domains and their monitors (after the connections' mount root) */
	{ "domains", sd_module_start, sd_stop, 0 },
	/* live migration (destination side: migrationCreate) */
	{ "migration", migration_module_start, migration_module_stop, 1 },
	{ NULL, NULL, NULL, 0 },
};

enum mod_state { MOD_PENDING, MOD_STARTED, MOD_FAILED, MOD_STOPPED };
static const char *const mod_state_names[] = {
	[MOD_PENDING] = "pending", [MOD_STARTED] = "started", [MOD_FAILED] = "failed",
	[MOD_STOPPED] = "stopped",
};

/* Written by the init thread (start) and main (stop), read by the state dump. */
static atomic_int state[ELEMENTSOF(modules)];

int vd_modules_start(void)
{
	for (size_t i = 0; modules[i].name; i++) {
		if (modules[i].start() < 0) {
			atomic_store(&state[i], MOD_FAILED);
			log_err("module %s failed to start%s", modules[i].name,
				modules[i].required ? "" : "; continuing without it");
			if (modules[i].required)
				return -1;
			continue;
		}
		atomic_store(&state[i], MOD_STARTED);
		log_info("module %s started", modules[i].name);
	}
	return 0;
}

void vd_modules_stop(void)
{
	for (size_t i = ELEMENTSOF(modules); i-- > 0;) {
		if (atomic_load(&state[i]) != MOD_STARTED)
			continue;
		if (modules[i].stop)
			modules[i].stop();
		atomic_store(&state[i], MOD_STOPPED);
	}
}

void vd_modules_describe(char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; modules[i].name && n < size; i++) {
		int st = atomic_load(&state[i]);
		int w = snprintf(buf + n, size - n, "%s%s=%s", n ? " " : "", modules[i].name,
				 mod_state_names[st]);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}
