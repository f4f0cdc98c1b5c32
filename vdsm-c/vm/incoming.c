/* Incoming migration, destination side (API.md §7.1 steps 5–10): the VM is registered
 * in `Migration Destination` without starting anything; libvirt's peer-to-peer
 * migration defines and starts the domain from the source's XML, and its resume event
 * (events.c) makes the VM Up. vm_incoming_wait() is the migration module's waiter. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libvirt/virterror.h>

#include "../util/log.h"
#include "../util/util.h"
#include "vm-internal.h"

int vm_incoming_create(struct vm_conf *c, struct vm_brief *ret, struct vd_error *err)
{
	_cleanup_(vm_conf_freep) struct vm_conf *conf = c;
	_cleanup_(vm_unrefp) struct vm *vm = NULL;

	if (vm_admit(conf, err) < 0 ||
	    vm_admit_register(conf, VM_ST_MIGRATION_DESTINATION, util_now_real(), &vm, err) < 0)
		return -1;
	log_notice("VM %s ('%s'): incoming migration prepared, %lld MiB, %d vCPU, %zu NIC(s), "
		   "%zu disk(s)", vm->id, vm->name, conf->mem_mib, conf->vcpus, conf->n_nics,
		   conf->n_disks);
	vm_brief_of(vm, ret);
	return 0;
}

/* The devices as libvirt runs them here (MACs, aliases, addresses from the source). */
static void read_devices(struct vm *vm)
{
	virConnectPtr c = vm_conn_get();
	virDomainPtr dom = c ? virDomainLookupByUUIDString(c, vm->id) : NULL;
	_cleanup_free_ char *xml = dom ? virDomainGetXMLDesc(dom, 0) : NULL;
	struct vm_meta m = { 0 };

	if (!xml || vm_meta_parse(xml, &m) < 0) {
		log_warning("VM %s: cannot read the migrated domain's XML: %s", vm->id,
			    vm_virt_error());
	} else {
		pthread_mutex_lock(&vm->lock);
		vm_set_devs_locked(vm, TAKE_PTR(m.devs), m.n_devs);
		m.n_devs = 0;
		pthread_mutex_unlock(&vm->lock);
	}
	vm_meta_clear(&m);
	if (dom)
		virDomainFree(dom);
	if (c)
		virConnectClose(c);
}

/* True when libvirt has a domain with the VM's UUID (or cannot be asked). */
static bool has_domain(const char *id)
{
	virConnectPtr c = vm_conn_get();
	if (!c)
		return true;   /* unknown: not a reason to give up */
	virDomainPtr dom = virDomainLookupByUUIDString(c, id);
	bool found = dom != NULL || vm_virt_error_code() != VIR_ERR_NO_DOMAIN;
	if (dom)
		virDomainFree(dom);
	virConnectClose(c);
	return found;
}

/* Timeout: nothing half-migrated stays in libvirt; the VM is Down, reason 8. */
static void give_up(struct vm *vm, const char *msg)
{
	virConnectPtr c = vm_conn_get();
	virDomainPtr dom = c ? virDomainLookupByUUIDString(c, vm->id) : NULL;

	if (dom) {
		if (virDomainDestroy(dom) < 0)
			log_warning("VM %s: cannot destroy the incoming domain: %s", vm->id,
				    vm_virt_error());
		virDomainFree(dom);
	}
	if (c)
		virConnectClose(c);
	pthread_mutex_lock(&vm->lock);
	bool save = vm->status == VM_ST_MIGRATION_DESTINATION &&
		    vm_set_down_locked(vm, VM_EXIT_CODE_ERROR, VM_EXIT_MIGRATION_FAILED, msg);
	pthread_mutex_unlock(&vm->lock);
	if (save)
		vm_state_save(vm);
}

enum vm_incoming_result vm_incoming_wait(const char *id, int timeout, int start_timeout,
					 bool (*cancelled)(void))
{
	_cleanup_(vm_unrefp) struct vm *vm = vm_registry_find(id);
	struct timespec deadline, slice;
	double start_by = util_now_monotonic() + start_timeout;
	bool started = start_timeout <= 0;   /* libvirt's incoming domain seen */
	char msg[128];

	if (!vm)
		return VM_INCOMING_FAILED;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout;
	pthread_mutex_lock(&vm->lock);
	for (;;) {
		if (vm->status != VM_ST_MIGRATION_DESTINATION || vm->removed)
			break;
		if (cancelled && cancelled()) {
			pthread_mutex_unlock(&vm->lock);
			return VM_INCOMING_CANCELLED;
		}
		if (!started && util_now_monotonic() >= start_by) {
			/* The source calls libvirt right after migrationCreate, whose first step
			 * here defines the incoming domain: none by now means the source never
			 * started (its agent died in between, say), and nobody will. */
			pthread_mutex_unlock(&vm->lock);
			started = has_domain(id);
			if (!started) {
				log_err("VM %s: no incoming domain %d s after migrationCreate; cleaning up",
					id, start_timeout);
				snprintf(msg, sizeof(msg),
					 "VM failed to migrate: the source did not start it within %d s",
					 start_timeout);
				give_up(vm, msg);
				return VM_INCOMING_TIMEOUT;
			}
			pthread_mutex_lock(&vm->lock);
			continue;
		}
		/* Wake up every second anyway: vm_destroy() forgets the VM without a signal. */
		clock_gettime(CLOCK_REALTIME, &slice);
		if (slice.tv_sec > deadline.tv_sec ||
		    (slice.tv_sec == deadline.tv_sec && slice.tv_nsec >= deadline.tv_nsec))
			break;
		slice.tv_sec++;
		if (slice.tv_sec > deadline.tv_sec ||
		    (slice.tv_sec == deadline.tv_sec && slice.tv_nsec > deadline.tv_nsec))
			slice = deadline;
		pthread_cond_timedwait(&vm->cond, &vm->lock, &slice);
	}
	enum vm_status st = vm->status;
	bool removed = vm->removed;
	pthread_mutex_unlock(&vm->lock);
	if (removed || st == VM_ST_DOWN) {
		log_notice("VM %s: incoming migration failed", id);
		return VM_INCOMING_FAILED;
	}
	if (st == VM_ST_MIGRATION_DESTINATION) {
		log_err("VM %s: incoming migration did not finish within %d s; cleaning up", id,
			timeout);
		snprintf(msg, sizeof(msg), "VM failed to migrate: not resumed here within %d s", timeout);
		give_up(vm, msg);
		return VM_INCOMING_TIMEOUT;
	}
	read_devices(vm);
	log_notice("VM %s: incoming migration finished, %s", id, vm_status_to_string(st));
	return VM_INCOMING_UP;
}
