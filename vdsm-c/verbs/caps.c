/* getVdsCapabilities (API.md §0, §5.1).
 *
 * Two layers here, one in the dispatcher: the static struct built once per hostcaps
 * generation (CPU, memory, NUMA, libvirt, identity, software); the network report from
 * the current net_snapshot; and the serialized reply, which vdsm-c/api.c keeps under
 * the key verbs_caps_cache_key() gives. A netlink change bumps net_generation() and the
 * next call rebuilds. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "verbs.h"
#include "host-internal.h"
#include "../daemon.h"
#include "../host/hostcaps.h"
#include "../../network/netmgr.h"
#include "../util/log.h"
#include "../version.h"
#include "../util/util.h"

static void pkg(xmlrpc_env *env, xmlrpc_value *pk, const char *name, const char *version,
		const char *release, long long buildtime)
{
	xmlrpc_value *p = rpc_struct_new(env);

	rpc_set_str(env, p, "version", version);
	rpc_set_str(env, p, "release", release);
	if (buildtime >= 0)
		rpc_set_i64(env, p, "buildtime", buildtime); /* <int> as VDSM; a string past 2^31 */
	rpc_set_take(env, pk, name, p);
}

static void packages(xmlrpc_env *env, xmlrpc_value *info, const struct hostcaps *c)
{
	xmlrpc_value *pk = rpc_struct_new(env);
	struct stat st;
	long long self_time = stat("/proc/self/exe", &st) == 0 ? (long long)st.st_mtime : -1;
	bool have_qemu = false, have_libvirt = false;

	/* The manager derives the host's VDSM version from packages2.vdsm (API.md §5.1). */
	pkg(env, pk, "vdsm", VDSM_COMPAT_VERSION, VDSM_COMPAT_RELEASE, self_time);
	pkg(env, pk, "vdsm-c", VDSM_C_VERSION, "1", self_time);
	pkg(env, pk, "kernel", c->kernel.version, c->kernel.release, c->kernel.buildtime);
	for (size_t i = 0; i < c->n_pkgs; i++) {
		const struct vd_pkg *p = &c->pkgs[i];
		pkg(env, pk, p->name, p->version, p->release, p->buildtime);
		have_qemu |= strcmp(p->name, "qemu-kvm") == 0;
		have_libvirt |= strcmp(p->name, "libvirt") == 0;
	}
	/* No package database (not Debian): the running versions libvirt reports. */
	if (c->virt && !have_qemu && c->virt->hv_version) {
		unsigned long v = c->virt->hv_version;
		char buf[32];
		snprintf(buf, sizeof(buf), "%lu.%lu.%lu", v / 1000000, v / 1000 % 1000, v % 1000);
		pkg(env, pk, "qemu-kvm", buf, "", -1);
	}
	if (c->virt && !have_libvirt && c->virt->lib_version) {
		unsigned long v = c->virt->lib_version;
		char buf[32];
		snprintf(buf, sizeof(buf), "%lu.%lu.%lu", v / 1000000, v / 1000 % 1000, v % 1000);
		pkg(env, pk, "libvirt", buf, "", -1);
	}
	rpc_set_take(env, info, "packages2", pk);
}

static void cpu_keys(xmlrpc_env *env, xmlrpc_value *info, const struct hostcaps *c)
{
	const struct cpu_info *ci = c->cpu;
	size_t len = 1;
	_cleanup_free_ const char **usable = NULL;
	size_t n_usable = 0;

	if (c->virt && cpu_virt_usable_models(c->virt, &usable, &n_usable) < 0) {
		xmlrpc_faultf(env, "out of memory listing the usable CPU models");
		return;
	}
	for (size_t i = 0; i < ci->n_flags; i++)
		len += strlen(ci->flags[i]) + 1;
	for (size_t i = 0; i < n_usable; i++)
		len += strlen(usable[i]) + 7;
	_cleanup_free_ char *flags = malloc(len);
	if (!flags)
		return;
	size_t off = 0;
	flags[0] = '\0';
	for (size_t i = 0; i < ci->n_flags; i++)
		off += snprintf(flags + off, len - off, "%s%s", off ? "," : "", ci->flags[i]);
	/* model_<Name>: every model libvirt says this host can run (cluster CPU check) */
	for (size_t i = 0; i < n_usable; i++)
		off += snprintf(flags + off, len - off, "%smodel_%s", off ? "," : "", usable[i]);
	rpc_set_str(env, info, "cpuFlags", flags);
	rpc_set_str(env, info, "cpuModel", ci->model_name);
	rpc_set_strf(env, info, "cpuCores", "%d",
		     vd_rt.conf->report_host_threads_as_cores ? ci->threads : ci->cores);
	rpc_set_strf(env, info, "cpuSockets", "%d", ci->sockets);
	rpc_set_strf(env, info, "cpuThreads", "%d", ci->threads);
	rpc_set_str(env, info, "cpuSpeed", ci->speed);
	rpc_set_str(env, info, "onlineCpus", ci->online);

	xmlrpc_value *nodes = rpc_struct_new(env), *dist = rpc_struct_new(env);
	for (size_t i = 0; i < c->numa->n_nodes; i++) {
		const struct cpu_numa_node *nd = &c->numa->nodes[i];
		char key[16];
		xmlrpc_value *node = rpc_struct_new(env), *cpus = rpc_array_new(env);
		xmlrpc_value *d = rpc_array_new(env);
		snprintf(key, sizeof(key), "%d", nd->id);
		for (size_t j = 0; j < nd->n_cpus; j++)
			rpc_append_int(env, cpus, nd->cpus[j]);
		rpc_set_take(env, node, "cpus", cpus);
		rpc_set_strf(env, node, "totalMemory", "%lld", nd->total_kib / 1024);
		rpc_set_take(env, nodes, key, node);
		for (size_t j = 0; j < nd->n_distance; j++)
			rpc_append_int(env, d, nd->distance[j]);
		rpc_set_take(env, dist, key, d);
	}
	rpc_set_take(env, info, "numaNodes", nodes);
	rpc_set_take(env, info, "numaNodeDistance", dist);
	rpc_set_int(env, info, "autoNumaBalancing", c->auto_numa);
}

static xmlrpc_value *build_static(xmlrpc_env *env, const struct hostcaps *c)
{
	const struct vd_config *conf = vd_rt.conf;
	static const char *const levels[] = VDSM_SUPPORTED_LEVELS;
	xmlrpc_value *info = rpc_struct_new(env);

	cpu_keys(env, info, c);
	rpc_set_strf(env, info, "memSize", "%lld", c->mem_total_kib / 1024);
	rpc_set_strf(env, info, "reservedMem", "%d", conf->host_mem_reserve + conf->extra_mem_reserve);
	rpc_set_strf(env, info, "guestOverhead", "%d", conf->guest_ram_overhead);
	/* /dev/kvm opened and answered KVM_GET_API_VERSION with the one stable version */
	rpc_set_str(env, info, "kvmEnabled", c->kvm_api == 12 ? "true" : "false");
	xmlrpc_value *em = rpc_array_new(env);
	for (size_t i = 0; c->virt && i < c->virt->n_machines; i++)
		rpc_append_str(env, em, c->virt->machines[i]);
	rpc_set_take(env, info, "emulatedMachines", em);

	/* HBAInventory is mandatory (the manager iterates it without a null check). */
	rpc_set_str(env, info, "ISCSIInitiatorName", c->iscsi_initiator);
	xmlrpc_value *hba = rpc_struct_new(env), *iscsi = rpc_array_new(env), *fc = rpc_array_new(env);
	if (c->iscsi_initiator[0]) {
		xmlrpc_value *e = rpc_struct_new(env);
		rpc_set_str(env, e, "InitiatorName", c->iscsi_initiator);
		rpc_append_take(env, iscsi, e);
	}
	for (size_t i = 0; i < c->n_fc; i++) {
		xmlrpc_value *e = rpc_struct_new(env);
		rpc_set_str(env, e, "wwnn", c->fc[i].wwnn);
		rpc_set_str(env, e, "wwpn", c->fc[i].wwpn);
		rpc_set_str(env, e, "model", c->fc[i].model);
		rpc_append_take(env, fc, e);
	}
	rpc_set_take(env, hba, "iSCSI", iscsi);
	rpc_set_take(env, hba, "FC", fc);
	rpc_set_take(env, info, "HBAInventory", hba);

	xmlrpc_value *eng = rpc_array_new(env), *cl = rpc_array_new(env);
	for (size_t i = 0; i < ELEMENTSOF(levels); i++) {
		rpc_append_str(env, eng, levels[i]);
		rpc_append_str(env, cl, levels[i]);
	}
	rpc_set_take(env, info, "supportedENGINEs", eng);
	rpc_set_take(env, info, "clusterLevels", cl);
	rpc_set_str(env, info, "software_version", VDSM_COMPAT_VERSION);
	rpc_set_str(env, info, "software_revision", VDSM_COMPAT_RELEASE);
	rpc_set_str(env, info, "version_name", VDSM_COMPAT_VERSION_NAME);
	packages(env, info, c);

	xmlrpc_value *os = rpc_struct_new(env);
	rpc_set_str(env, os, "name", c->os.name);
	rpc_set_str(env, os, "version", c->os.version);
	rpc_set_str(env, os, "release", c->os.release);
	rpc_set_str(env, os, "pretty_name", c->os.pretty_name);
	rpc_set_take(env, info, "operatingSystem", os);
	rpc_set_str(env, info, "uuid", c->uuid);

	xmlrpc_value *rng = rpc_array_new(env);
	rpc_append_str(env, rng, "random");
	if (c->hwrng)
		rpc_append_str(env, rng, "hwrng");
	rpc_set_take(env, info, "rngSources", rng);
	rpc_set_take(env, info, "hooks", rpc_struct_new(env));   /* no hook scripts run */
	rpc_set_int(env, info, "kdumpStatus", c->kdump);
	xmlrpc_value *se = rpc_struct_new(env);
	rpc_set_strf(env, se, "mode", "%d", c->selinux);
	rpc_set_take(env, info, "selinux", se);
	/* Live snapshot and live merge are not implemented by this agent yet: say so,
	 * rather than let the manager assume them (an absent liveSnapshot means true). */
	rpc_set_str(env, info, "liveSnapshot", "false");
	rpc_set_str(env, info, "liveMerge", "false");
	rpc_set_str(env, info, "hostdevPassthrough", c->hostdev ? "true" : "false");
	rpc_set_take(env, info, "additionalFeatures", rpc_array_new(env));
	xmlrpc_value *vt = rpc_array_new(env);
	rpc_append_str(env, vt, "kvm");
	rpc_set_take(env, info, "vmTypes", vt);
	if (c->boot_time >= 0)
		rpc_set_strf(env, info, "bootTime", "%lld", c->boot_time);
	return info;
}

static pthread_mutex_t caps_lock = PTHREAD_MUTEX_INITIALIZER;
static xmlrpc_value *caps_static;
static unsigned long caps_static_gen;

void verbs_caps_fini(void)
{
	pthread_mutex_lock(&caps_lock);
	if (caps_static)
		xmlrpc_DECREF(caps_static);
	caps_static = NULL;
	pthread_mutex_unlock(&caps_lock);
}

/* The reply shows two per-request fields, lastClient (the caller's address) and
 * lastClientIface (the device owning the address the call came in on). They are part
 * of the key rather than making the reply uncachable: the manager polls from one
 * address to one address, so its polls hit, and a call from elsewhere rebuilds (one
 * slot: a second client alternating with the manager costs a rebuild per call, as
 * before this cache moved to the dispatcher). Pending netlink events are applied
 * first: a change made before this call must show. */
int verbs_caps_cache_key(const struct vd_call *c, char *key, size_t size)
{
	unsigned long net_gen = net_sync();
	unsigned long static_gen = hostcaps_generation();
	int n = snprintf(key, size, "%lu %lu %lu %s %s", static_gen, net_gen, netmgr_generation(),
			 c->client_addr ? c->client_addr : "", c->local_addr ? c->local_addr : "");

	return n >= 0 && (size_t)n < size ? 0 : -1;
}

xmlrpc_value *verb_get_vds_capabilities(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	const struct vd_config *conf = vd_rt.conf;
	_cleanup_(hostcaps_unrefp) struct hostcaps *hc = NULL;
	_cleanup_(net_snapshot_unrefp) struct net_snapshot *ns = NULL;
	int r;

	if (!(hc = hostcaps_get())) {
		vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: host capabilities "
			     "were not collected (module hostcaps did not start)");
		return NULL;
	}
	const struct net_filter f = { conf->fake_nics, conf->hidden_bonds, conf->hidden_vlans };
	if ((r = net_snapshot_get(&f, vd_rt.host_root, &ns)) < 0) {
		vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: network report: %s",
			     strerror(-r));
		return NULL;
	}

	pthread_mutex_lock(&caps_lock);
	if (!caps_static || caps_static_gen != hc->generation) {
		xmlrpc_value *st = build_static(env, hc);
		if (env->fault_occurred) {
			pthread_mutex_unlock(&caps_lock);
			if (st)
				xmlrpc_DECREF(st);
			return NULL;
		}
		if (caps_static)
			xmlrpc_DECREF(caps_static);
		caps_static = st;
		caps_static_gen = hc->generation;
	}
	xmlrpc_value *info = rpc_struct_copy_shallow(env, caps_static);
	pthread_mutex_unlock(&caps_lock);
	if (!info)
		return NULL;
	netinfo_report(env, info, ns);
	/* per call: the key (verbs_caps_cache_key) carries netmgr_generation() */
	rpc_set_str(env, info, "netConfigDirty", netmgr_dirty() ? "True" : "False");
	rpc_set_str(env, info, "lastClient", c->client_addr ? c->client_addr : "");
	rpc_set_str(env, info, "lastClientIface",
		    netinfo_iface_of(ns, c->local_addr ? c->local_addr : ""));
	xmlrpc_value *payload = rpc_struct_new(env);
	rpc_set_take(env, payload, "info", info);
	return payload;
}
