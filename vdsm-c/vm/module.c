/* The VM module's start and stop (wired by vdsm-c/modules.c) and the counts other
 * modules get through it. Start: libvirt and its event thread, one connection attempt
 * with recovery, then the sampler (which reconnects when libvirtd goes away). */
#include "../util/log.h"
#include "vm-internal.h"

void vm_counts_get(struct vm_counts *out)
{
	struct vm **vms;
	size_t n;

	if (vm_registry_snapshot(&vms, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&vms[i]->lock);
		enum vm_status st = vms[i]->status;
		long long mem = vms[i]->mem_mib;
		pthread_mutex_unlock(&vms[i]->lock);
		out->total++;
		if (st == VM_ST_UP)
			out->active++;
		if (st == VM_ST_MIGRATION_SOURCE) {
			out->migrating++;
			out->outgoing++;
		} else if (st == VM_ST_MIGRATION_DESTINATION) {
			out->migrating++;
			out->incoming++;
			out->incoming_mem_mib += mem + vm_opts.guest_ram_overhead;
		}
		if (st != VM_ST_DOWN)
			out->mem_committed_mib += mem + vm_opts.guest_ram_overhead;
	}
	vm_registry_free_snapshot(vms, n);
}

int vm_start(const struct vm_module_opts *o)
{
	vm_opts = *o;
	if (vm_conn_start(vm_recover) < 0)
		return -1;
	/* One attempt here: when libvirtd is not there yet the sampler keeps trying, and
	 * the VM verbs answer 99 until the first recovery (host verbs are not held). */
	if (vm_conn_reconnect() < 0)
		log_err("no libvirt connection at '%s' yet; VM verbs answer code 99 until it comes",
			vm_opts.libvirt_uri);
	if (vm_sampler_start() < 0) {
		vm_stop();
		return -1;
	}
	return 0;
}

void vm_stop(void)
{
	vm_sampler_stop();
	vm_starters_wait(30);
	vm_conn_stop();
	vm_registry_clear();
	vm_recovery_reset();
}
