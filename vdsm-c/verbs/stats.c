/* getVdsStats (API.md §0, §5.1): converts the sampler's latest sample; no I/O.
 *
 * The reply depends only on the sample, the storage domain monitors' generation and
 * the current second (dateTime, elapsedTime): verbs_stats_cache_key() says so, and the
 * dispatcher serves the manager's polls and any number of clients within a second from
 * one conversion. */
#include <stdio.h>
#include <time.h>

#include "verbs.h"
#include "host-internal.h"
#include "../daemon.h"
#include "../host/hoststats.h"
#include "../../network/netmgr.h"
#include "../../storage/sd.h"
#include "../util/util.h"

static void nic_stats(xmlrpc_env *env, xmlrpc_value *info, const struct hoststats_sample *s)
{
	xmlrpc_value *net = rpc_struct_new(env);

	for (size_t i = 0; i < s->n_nics; i++) {
		const struct hoststats_nic *n = &s->nics[i];
		xmlrpc_value *st = rpc_struct_new(env);
		char key[IFNAMSIZ];
		rpc_set_str(env, st, "name", n->name);
		rpc_set_strf(env, st, "speed", "%d", n->speed);
		rpc_set_strf(env, st, "rxRate", "%.1f", n->rx_rate);
		rpc_set_strf(env, st, "txRate", "%.1f", n->tx_rate);
		rpc_set_strf(env, st, "rxDropped", "%llu", n->rx_dropped);
		rpc_set_strf(env, st, "txDropped", "%llu", n->tx_dropped);
		rpc_set_strf(env, st, "rxErrors", "%llu", n->rx_errors);
		rpc_set_strf(env, st, "txErrors", "%llu", n->tx_errors);
		rpc_set_strf(env, st, "rx", "%llu", n->rx);
		rpc_set_strf(env, st, "tx", "%llu", n->tx);
		rpc_set_str(env, st, "state", n->up ? "up" : "down");
		rpc_set_double(env, st, "sampleTime", n->sample_time);
		rpc_set_take(env, net, netinfo_key(n->name, key), st);
	}
	rpc_set_take(env, info, "network", net);
}

static xmlrpc_value *build(xmlrpc_env *env, struct hoststats_sample *s, time_t now,
			   long long elapsed);

static long long elapsed_now(void)
{
	return (long long)(util_now_monotonic() - vd_rt.start_mono);
}

int verbs_stats_cache_key(const struct vd_call *c, char *key, size_t size)
{
	int n = snprintf(key, size, "%lu %lu %lu %lld %lld", hoststats_generation(),
			 netmgr_generation(), sd_generation(), (long long)time(NULL), elapsed_now());

	(void)c;
	return n >= 0 && (size_t)n < size ? 0 : -1;
}

xmlrpc_value *verb_get_vds_stats(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	struct hoststats_sample *s = hoststats_sample_get();

	(void)c;
	if (!s) {
		vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: no host statistics "
			     "sample yet (module hoststats did not start)");
		return NULL;
	}
	xmlrpc_value *payload = build(env, s, time(NULL), elapsed_now());
	hoststats_sample_unref(s);
	return payload;
}

static xmlrpc_value *build(xmlrpc_env *env, struct hoststats_sample *s, time_t now,
			   long long elapsed)
{
	xmlrpc_value *info, *payload;
	char buf[64], key[16];
	struct tm tm;

	info = rpc_struct_new(env);
	/* VDSM's formats: percentages "%.2f" strings, sizes in MiB as ints (API.md §3.2) */
	rpc_set_strf(env, info, "cpuUser", "%.2f", s->cpu_user);
	rpc_set_strf(env, info, "cpuSys", "%.2f", s->cpu_sys);
	rpc_set_strf(env, info, "cpuIdle", "%.2f", s->cpu_idle);
	rpc_set_strf(env, info, "cpuLoad", "%.2f", s->cpu_load);
	rpc_set_strf(env, info, "cpuUserVdsmd", "%.2f", s->cpu_user_vdsmd);
	rpc_set_strf(env, info, "cpuSysVdsmd", "%.2f", s->cpu_sys_vdsmd);
	rpc_set_strf(env, info, "memUsed", "%d", s->mem_used);
	rpc_set_i64(env, info, "memAvailable", s->mem_available_mib);
	rpc_set_i64(env, info, "memCommitted", s->mem_committed_mib);
	rpc_set_i64(env, info, "memFree", s->mem_free_mib);
	rpc_set_i64(env, info, "memShared", s->mem_shared_mib);
	rpc_set_i64(env, info, "swapTotal", s->swap_total_mib);
	rpc_set_i64(env, info, "swapFree", s->swap_free_mib);
	rpc_set_bool(env, info, "ksmState", s->ksm_state);
	rpc_set_i64(env, info, "ksmPages", s->ksm_pages);
	rpc_set_int(env, info, "ksmCpu", s->ksm_cpu);
	rpc_set_bool(env, info, "ksmMergeAcrossNodes", s->ksm_merge_across_nodes);
	rpc_set_str(env, info, "thpState", s->thp_state);
	rpc_set_strf(env, info, "anonHugePages", "%lld", s->anon_huge_pages_mib);
	rpc_set_int(env, info, "vmCount", s->vms.total);
	rpc_set_int(env, info, "vmActive", s->vms.active);
	rpc_set_int(env, info, "vmMigrating", s->vms.migrating);
	rpc_set_int(env, info, "incomingVmMigrations", s->vms.incoming);
	rpc_set_int(env, info, "outgoingVmMigrations", s->vms.outgoing);
	rpc_set_strf(env, info, "elapsedTime", "%lld", elapsed);
	if (s->boot_time >= 0)
		rpc_set_strf(env, info, "bootTime", "%lld", s->boot_time);
	gmtime_r(&now, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S GMT", &tm);
	rpc_set_str(env, info, "dateTime", buf);
	rpc_set_strf(env, info, "rxRate", "%.2f", s->rx_rate);
	rpc_set_strf(env, info, "txRate", "%.2f", s->tx_rate);
	rpc_set_strf(env, info, "rxDropped", "%llu", s->rx_dropped);
	rpc_set_strf(env, info, "txDropped", "%llu", s->tx_dropped);
	nic_stats(env, info, s);

	xmlrpc_value *disks = rpc_struct_new(env);
	for (size_t i = 0; i < s->n_disks; i++) {
		xmlrpc_value *d = rpc_struct_new(env);
		rpc_set_strf(env, d, "free", "%lld", s->disks[i].free_bytes);
		rpc_set_take(env, disks, s->disks[i].path, d);
	}
	rpc_set_take(env, info, "diskStats", disks);
	xmlrpc_value *numa = rpc_struct_new(env);
	for (size_t i = 0; i < s->n_numa; i++) {
		xmlrpc_value *n = rpc_struct_new(env);
		rpc_set_strf(env, n, "memFree", "%lld", s->numa[i].mem_free_mib);
		rpc_set_int(env, n, "memPercent", s->numa[i].mem_percent);
		snprintf(key, sizeof(key), "%d", s->numa[i].node);
		rpc_set_take(env, numa, key, n);
	}
	rpc_set_take(env, info, "numaNodeMemFree", numa);
	xmlrpc_value *cpus = rpc_struct_new(env);
	for (size_t i = 0; i < s->n_cpus; i++) {
		xmlrpc_value *cs = rpc_struct_new(env);
		rpc_set_int(env, cs, "nodeIndex", s->cpus[i].node);
		rpc_set_strf(env, cs, "cpuUser", "%.2f", s->cpus[i].user);
		rpc_set_strf(env, cs, "cpuSys", "%.2f", s->cpus[i].sys);
		rpc_set_strf(env, cs, "cpuIdle", "%.2f", s->cpus[i].idle);
		snprintf(key, sizeof(key), "%d", s->cpus[i].id);
		rpc_set_take(env, cpus, key, cs);
	}
	rpc_set_take(env, info, "cpuStatistics", cpus);

	/* Storage domain monitors: their last results, from memory. */
	rpc_set_take(env, info, "storageDomains", verbs_storage_domains_stats(env));
	rpc_set_str(env, info, "netConfigDirty", netmgr_dirty() ? "True" : "False");
	rpc_set_str(env, info, "generationID", vd_rt.generation_id);
	rpc_set_str(env, info, "momStatus", "inactive");   /* no MOM here */
	/* Hosted engine is not configured by this agent. */
	xmlrpc_value *ha = rpc_struct_new(env);
	rpc_set_bool(env, ha, "configured", false);
	rpc_set_bool(env, ha, "active", false);
	rpc_set_int(env, ha, "score", 0);
	rpc_set_bool(env, ha, "globalMaintenance", false);
	rpc_set_bool(env, ha, "localMaintenance", false);
	rpc_set_take(env, info, "haStats", ha);
	rpc_set_take(env, info, "v2vJobs", rpc_struct_new(env));
	payload = rpc_struct_new(env);
	rpc_set_take(env, payload, "info", info);
	return payload;
}
