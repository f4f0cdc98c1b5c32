/* getVmStats / getAllVmStats replies written with rpc/'s streaming writer.
 *
 * The manager polls getAllVmStats every few seconds; with 1000 VMs the reply is a few
 * MB. Building ~100 000 xmlrpc-c values and serializing them took ~30 ms per call
 * (bench/vm_bench.py); writing the same values straight into the reply text is several
 * times cheaper. Wire types as VDSM sends them: counters and sizes as decimal strings,
 * rates and percentages as fixed-decimal strings, exit codes as ints (API.md §3.2,
 * §5.2). */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

#include "vm_wire.h"
#include "../vm/vm.h"
#include "../../rpc/writer.h"

/* The last full reply's size: the next one gets its buffer in one allocation. */
static _Atomic size_t last_size;

static void write_vm(struct rpc_writer *w, const struct vm_view *v)
{
	rpc_write_struct_begin(w, NULL);
	rpc_write_string(w, "vmId", v->id);
	rpc_write_string(w, "status", vm_status_to_string(v->status));
	rpc_write_string_u64(w, "statusTime", v->status_time_ms);
	rpc_write_string(w, "vmName", v->name);
	rpc_write_string(w, "vmType", "kvm");
	rpc_write_string(w, "kvmEnable", v->kvm_enable ? "true" : "false");
	rpc_write_string(w, "acpiEnable", v->acpi ? "true" : "false");
	rpc_write_string_i64(w, "elapsedTime", (long long)v->elapsed);
	rpc_write_string(w, "monitorResponse", "0");
	rpc_write_string_i64(w, "timeOffset", v->time_offset);
	rpc_write_string(w, "clientIp", "");
	rpc_write_string_fixed(w, "cpuUser", v->cpu_user, 2);
	rpc_write_string_fixed(w, "cpuSys", v->cpu_sys, 2);
	rpc_write_string_u64(w, "cpuUsage", v->cpu_time_ns);
	rpc_write_string_i64(w, "memUsage", v->mem_usage);
	rpc_write_string_i64(w, "vcpuCount", v->vcpu_count);
	rpc_write_struct_begin(w, "balloonInfo");
	if (v->balloon_cur >= 0) {
		rpc_write_string_i64(w, "balloon_max", v->mem_mib * 1024);
		rpc_write_string(w, "balloon_min", "0");
		rpc_write_string_i64(w, "balloon_cur", v->balloon_cur);
		rpc_write_string_i64(w, "balloon_target",
				     v->balloon_max > 0 ? v->balloon_max : v->mem_mib * 1024);
	}
	rpc_write_struct_end(w);
	rpc_write_struct_begin(w, "network");
	for (size_t i = 0; i < v->n_nics; i++) {
		const struct vm_nic_stats *n = &v->nics[i];
		rpc_write_struct_begin(w, n->name);
		rpc_write_string(w, "macAddr", n->mac);
		rpc_write_string(w, "name", n->name);
		rpc_write_string_i64(w, "speed", n->speed);
		rpc_write_string(w, "state", "unknown");
		rpc_write_string_fixed(w, "rxRate", n->rx_rate, 1);
		rpc_write_string_fixed(w, "txRate", n->tx_rate, 1);
		rpc_write_string_u64(w, "rxErrors", n->rx_errs);
		rpc_write_string_u64(w, "rxDropped", n->rx_drop);
		rpc_write_string_u64(w, "txErrors", n->tx_errs);
		rpc_write_string_u64(w, "txDropped", n->tx_drop);
		rpc_write_string_u64(w, "rx", n->rx);
		rpc_write_string_u64(w, "tx", n->tx);
		rpc_write_double_fixed(w, "sampleTime", n->sample_time, 6);
		rpc_write_struct_end(w);
	}
	rpc_write_struct_end(w);
	rpc_write_struct_begin(w, "disks");
	for (size_t i = 0; i < v->n_disks; i++) {
		const struct vm_disk_stats *d = &v->disks[i];
		rpc_write_struct_begin(w, d->name);
		rpc_write_string_fixed(w, "readRate", d->read_rate, 1);
		rpc_write_string_fixed(w, "writeRate", d->write_rate, 1);
		rpc_write_string_fixed(w, "readLatency", d->read_latency, 9);
		rpc_write_string_fixed(w, "writeLatency", d->write_latency, 9);
		rpc_write_string_fixed(w, "flushLatency", d->flush_latency, 9);
		rpc_write_string_u64(w, "readBytes", d->read_bytes);
		rpc_write_string_u64(w, "writtenBytes", d->write_bytes);
		rpc_write_string_u64(w, "readOps", d->read_ops);
		rpc_write_string_u64(w, "writeOps", d->write_ops);
		rpc_write_string_u64(w, "truesize", d->truesize);
		rpc_write_string_u64(w, "apparentsize", d->apparentsize);
		if (d->image_id)
			rpc_write_string(w, "imageID", d->image_id);
		if (d->lun_guid)
			rpc_write_string(w, "lunGUID", d->lun_guid);
		rpc_write_struct_end(w);
	}
	rpc_write_struct_end(w);
	rpc_write_array_begin(w, "disksUsage");
	rpc_write_array_end(w);
	rpc_write_array_begin(w, "displayInfo");
	rpc_write_array_end(w);
	rpc_write_string(w, "guestIPs", "");
	rpc_write_string_u64(w, "hash", v->hash >> 1);
	if (v->status == VM_ST_DOWN) {
		rpc_write_int(w, "exitCode", v->exit_code);
		rpc_write_int(w, "exitReason", v->exit_reason);
		rpc_write_string(w, "exitMessage", v->exit_message);
	}
	rpc_write_struct_end(w);
}

static int write_cb(const struct vm_view *v, void *ud)
{
	struct rpc_writer *w = ud;

	write_vm(w, v);
	return rpc_writer_error(w);
}

int vm_wire_write_stats(struct rpc_writer *w, const char *id)
{
	rpc_write_array_begin(w, "statsList");
	int r = vm_foreach(id, write_cb, w);
	rpc_write_array_end(w);
	return r < 0 ? r : rpc_writer_error(w);
}

int vm_wire_stats_reply(const char *id, struct rpc_blob **ret)
{
	size_t hint = id ? 8192 : last_size + last_size / 8;
	struct rpc_writer *w = rpc_writer_new(RPC_WIRE_XMLRPC, hint);

	if (!w)
		return -ENOMEM;
	int r = vm_wire_write_stats(w, id);
	if (r < 0) {
		rpc_writer_free(w);
		return r;
	}
	r = rpc_writer_finish(w, 0, "Done", ret);
	if (r == 0 && !id)
		last_size = (*ret)->len;
	return r;
}
