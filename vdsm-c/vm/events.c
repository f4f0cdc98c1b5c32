/* Domain lifecycle events from libvirt (delivered on the event-loop thread of
 * connection.c): the VM's status follows them, Down records get their exit reason. */
#include <string.h>
#include <libvirt/virterror.h>

#include "../util/log.h"
#include "vm-internal.h"

enum vm_status vm_status_of_state(int state, int reason)
{
	(void)reason;
	switch (state) {
	case VIR_DOMAIN_PAUSED:
	case VIR_DOMAIN_PMSUSPENDED:
		return VM_ST_PAUSED;
	case VIR_DOMAIN_SHUTDOWN:
		return VM_ST_POWERING_DOWN;
	case VIR_DOMAIN_SHUTOFF:
	case VIR_DOMAIN_CRASHED:
		return VM_ST_DOWN;
	default:
		return VM_ST_UP;
	}
}

/* Exit info for a STOPPED event (API.md §7.3). */
static void stopped_exit(const struct vm *vm, int detail, int *code, int *reason)
{
	*code = VM_EXIT_CODE_NORMAL;
	if (vm->destroy_requested) {
		*reason = VM_EXIT_ADMIN_SHUTDOWN;
		return;
	}
	switch (detail) {
	case VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN:
		*reason = VM_EXIT_USER_SHUTDOWN;
		break;
	case VIR_DOMAIN_EVENT_STOPPED_MIGRATED:
		*reason = VM_EXIT_MIGRATION_SUCCEEDED;
		break;
	case VIR_DOMAIN_EVENT_STOPPED_SAVED:
		*reason = VM_EXIT_SAVE_STATE_SUCCEEDED;
		break;
	case VIR_DOMAIN_EVENT_STOPPED_DESTROYED:
		/* Killed on the host by someone else (virsh destroy, an admin). */
		*code = VM_EXIT_CODE_ERROR;
		*reason = VM_EXIT_HOST_SHUTDOWN;
		break;
	default: /* CRASHED, FAILED: QEMU died */
		*code = VM_EXIT_CODE_ERROR;
		*reason = VM_EXIT_LOST_QEMU_CONNECTION;
		break;
	}
}

/* Runs on the event-loop thread: only memory updates, the state file after unlock. */
int vm_on_lifecycle(virConnectPtr c, virDomainPtr dom, int event, int detail, void *opaque)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	bool save = false;

	(void)c;
	(void)opaque;
	if (virDomainGetUUIDString(dom, uuid) < 0)
		return 0;
	_cleanup_(vm_unrefp) struct vm *vm = vm_registry_find(uuid);
	if (!vm)
		return 0; /* not ours, or already destroyed */
	log_debug("VM %s: libvirt event %d detail %d", uuid, event, detail);
	pthread_mutex_lock(&vm->lock);
	/* An incoming VM: libvirt starts the domain paused and fills it; only its resume
	 * at the end of the migration makes it Up; a stop before is a failed migration. */
	bool incoming = vm->status == VM_ST_MIGRATION_DESTINATION;
	/* An outgoing VM stays `Migration Source` through libvirt's pause of the final
	 * phase and its resume after a failure: vm_outgoing_end() decides (as VDSM). */
	bool outgoing = vm->status == VM_ST_MIGRATION_SOURCE;
	switch (event) {
	case VIR_DOMAIN_EVENT_STARTED:
		if (!incoming && !outgoing)
			vm_set_status_locked(vm, VM_ST_UP);
		break;
	case VIR_DOMAIN_EVENT_RESUMED:
		if (!outgoing)
			vm_set_status_locked(vm, VM_ST_UP);
		save = incoming;   /* the state file loses its `incoming` mark */
		break;
	case VIR_DOMAIN_EVENT_SUSPENDED:
		if (!incoming && !outgoing)
			vm_set_status_locked(vm, VM_ST_PAUSED);
		break;
	case VIR_DOMAIN_EVENT_SHUTDOWN:
		if (!vm->destroy_requested)
			vm_set_status_locked(vm, VM_ST_POWERING_DOWN);
		break;
	case VIR_DOMAIN_EVENT_STOPPED: {
		int code, reason;
		stopped_exit(vm, detail, &code, &reason);
		if (incoming && !vm->destroy_requested) {
			code = VM_EXIT_CODE_ERROR;
			reason = VM_EXIT_MIGRATION_FAILED;
		}
		save = vm_set_down_locked(vm, code, reason, NULL);
		break;
	}
	default:
		break;
	}
	pthread_cond_broadcast(&vm->cond); /* vm_incoming_wait() */
	pthread_mutex_unlock(&vm->lock);
	if (save)
		vm_state_save(vm);
	return 0;
}

