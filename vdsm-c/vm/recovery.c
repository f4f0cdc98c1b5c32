/* Recovery: after the agent starts (and after libvirtd comes back), the VMs that run
 * are found again from libvirt and their metadata, and the Down records from the
 * state files (API.md §2.2: VM verbs answer 99 until this has run once). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/virterror.h>

#include "../util/log.h"
#include "../util/util.h"
#include "vm-internal.h"

static struct vm *vm_from_meta(struct vm_meta *m)
{
	struct vm *vm = vm_obj_new(m->id);

	if (!vm)
		return NULL;
	vm->name = TAKE_PTR(m->name);
	vm->mem_mib = m->mem_kib / 1024;
	vm->vcpus = m->vcpus > 0 ? m->vcpus : 1;
	vm->kvm_enable = vm->acpi = true;
	vm->conf_blob = TAKE_PTR(m->conf_blob);
	vm->drives = TAKE_PTR(m->drives);
	vm->n_drives = m->n_drives;
	m->n_drives = 0;
	vm->start_time = m->start_time;
	vm_set_devs_locked(vm, TAKE_PTR(m->devs), m->n_devs);
	m->n_devs = 0;
	return vm;
}

/* A domain paused for a migration is either the source in the final phase or the
 * destination of an incoming migration that libvirt is still filling: only for the
 * latter does libvirt refuse job statistics ("available only on the source host"). */
static bool incoming_migration(virDomainPtr dom, int state, int reason)
{
	virTypedParameterPtr p = NULL;
	int n = 0, type = 0;

	if (state != VIR_DOMAIN_PAUSED || reason != VIR_DOMAIN_PAUSED_MIGRATION)
		return false;
	if (virDomainGetJobStats(dom, &type, &p, &n, 0) == 0) {
		virTypedParamsFree(p, n);
		return false;
	}
	return vm_virt_error_code() == VIR_ERR_OPERATION_UNSUPPORTED;
}

/* Registers one running domain if it is ours and unknown. Returns 1 when added. */
static int recover_one(virDomainPtr dom)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	struct vm_meta m;

	if (virDomainGetUUIDString(dom, uuid) < 0)
		return 0;
	_cleanup_(vm_unrefp) struct vm *known = vm_registry_find(uuid);
	if (known)
		return 0;
	_cleanup_free_ char *xml = virDomainGetXMLDesc(dom, 0);
	int r = xml ? vm_meta_parse(xml, &m) : -EIO;
	if (r == -ENOENT)
		return 0; /* not created by vdsm-c */
	if (r < 0) {
		log_warning("recovery: domain %s: unreadable XML or metadata, ignoring", uuid);
		return 0;
	}
	if (strcmp(m.id, uuid) != 0) {
		log_warning("recovery: domain %s carries metadata of VM %s, ignoring", uuid, m.id);
		vm_meta_clear(&m);
		return 0;
	}
	int state = VIR_DOMAIN_NOSTATE, reason = 0;
	virDomainGetState(dom, &state, &reason, 0);
	_cleanup_(vm_unrefp) struct vm *vm = vm_from_meta(&m);
	vm_meta_clear(&m);
	if (!vm)
		return 0;
	enum vm_status st = vm_status_of_state(state, reason);
	/* An incoming migration that went on while this agent was away (as VDSM, the
	 * domain is adopted): `Migration Destination` until libvirt resumes it here (Up)
	 * or stops it (Down, exitReason 8), through the lifecycle events. */
	if (incoming_migration(dom, state, reason))
		st = VM_ST_MIGRATION_DESTINATION;
	if (st == VM_ST_DOWN)
		vm_set_down_locked(vm, VM_EXIT_CODE_ERROR, VM_EXIT_LOST_QEMU_CONNECTION, NULL);
	else
		vm->status = st;
	if (vm_registry_add(vm) < 0)
		return 0;
	log_notice("recovered VM %s ('%s'): %s", vm->id, vm->name ? vm->name : "",
		   vm_status_to_string(vm->status));
	vm_state_save(vm);
	return 1;
}

/* Registers every running domain of ours that the registry does not know yet. */
static int recover_domains(virConnectPtr c)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(c, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	int found = 0;

	if (n < 0) {
		log_err("recovery: cannot list libvirt domains: %s", vm_virt_error());
		return -EIO;
	}
	for (int i = 0; i < n; i++) {
		found += recover_one(doms[i]);
		virDomainFree(doms[i]);
	}
	free(doms);
	return found;
}

static int recover_state_file(struct vm_meta *m, void *ud)
{
	int *count = ud;
	_cleanup_(vm_unrefp) struct vm *known = vm_registry_find(m->id);

	if (known)
		return 0;
	if (m->incoming && !m->has_exit) {
		/* An incoming migration that libvirt did not finish here while the agent was
		 * away (no domain: the source aborted it, or libvirt gave up): the VM is the
		 * source's, so this host has nothing to report or keep. */
		log_notice("recovery: VM %s: incoming migration did not complete here; dropping its record",
			   m->id);
		vm_state_remove(m->id);
		return 0;
	}
	_cleanup_(vm_unrefp) struct vm *vm = vm_from_meta(m);
	if (!vm)
		return -ENOMEM;
	if (m->has_exit)
		vm_set_down_locked(vm, m->exit_code, m->exit_reason, m->exit_message);
	else /* it ran (or was starting) when the agent stopped, and is gone now */
		vm_set_down_locked(vm, VM_EXIT_CODE_ERROR, VM_EXIT_LIBVIRT_DOMAIN_MISSING, NULL);
	if (vm_registry_add(vm) == 0) {
		(*count)++;
		vm_state_save(vm);
	}
	return 0;
}

static atomic_bool recovered;

bool vm_is_recovered(void)
{
	return atomic_load(&recovered);
}

/* Finds the running VMs again (libvirt + metadata), then the Down records of the
 * state files; VM verbs answer 99 until this has run once (API.md §2.2). */
static void recover_all(virConnectPtr c)
{
	double t0 = util_now_monotonic();
	int running = recover_domains(c), down = 0;

	int r = vm_state_load_all(recover_state_file, &down);
	if (r < 0)
		log_err("VM recovery: cannot read the VM state directory: %s; Down VMs of the "
			"previous run are not reported", strerror(-r));
	atomic_store(&recovered, true);
	log_notice("VM recovery: %d running VM(s) found in libvirt, %d Down record(s), %.0f ms",
		   running < 0 ? 0 : running, down, (util_now_monotonic() - t0) * 1000);
}

void vm_recover(virConnectPtr c)
{
	if (!vm_is_recovered())
		recover_all(c);
	else
		recover_domains(c); /* libvirtd restarted: anything new? */
}

void vm_recovery_reset(void)
{
	atomic_store(&recovered, false);
}
