/* The libvirt side of the VM module: the connection, the event-loop thread and its
 * lifecycle events, module start (with recovery) and stop. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>

#include "../daemon.h"
#include "../host/hoststats.h"
#include "../util/log.h"
#include "vm-internal.h"
#include "../util/util.h"

static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static virConnectPtr conn;           /* conn_lock */
static int lifecycle_cb = -1;        /* conn_lock */
/* Set by the close callback without conn_lock: libvirt may run that callback while
 * holding its own lock. No libvirt call is made under conn_lock (see connect_conn). */
static atomic_bool conn_is_broken;

static pthread_t event_tid;
static atomic_bool event_run;
static int wake_timer = -1;

/* ---- errors ---- */

static void quiet_error(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e; /* libvirt would print to stderr; callers report errors themselves */
}

const char *vm_virt_error(void)
{
	virErrorPtr e = virGetLastError();

	return e && e->message ? e->message : "unknown libvirt error";
}

int vm_virt_error_code(void)
{
	virErrorPtr e = virGetLastError();

	return e ? e->code : VIR_ERR_OK;
}

/* ---- connection ---- */

virConnectPtr vm_conn_get(void)
{
	virConnectPtr c = NULL;

	pthread_mutex_lock(&conn_lock);
	if (conn && !atomic_load(&conn_is_broken) && virConnectRef(conn) == 0)
		c = conn;
	pthread_mutex_unlock(&conn_lock);
	return c;
}

void vm_conn_broken(void)
{
	atomic_store(&conn_is_broken, true);
}

static void on_close(virConnectPtr c, int reason, void *opaque)
{
	(void)c;
	(void)opaque;
	log_warning("libvirt connection closed (reason %d); reconnecting from the sampler",
		    reason);
	vm_conn_broken();
}

static enum vm_status status_of_state(int state, int reason)
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
static int on_lifecycle(virConnectPtr c, virDomainPtr dom, int event, int detail, void *opaque)
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
	switch (event) {
	case VIR_DOMAIN_EVENT_STARTED:
	case VIR_DOMAIN_EVENT_RESUMED:
		vm_set_status_locked(vm, VM_ST_UP);
		break;
	case VIR_DOMAIN_EVENT_SUSPENDED:
		vm_set_status_locked(vm, VM_ST_PAUSED);
		break;
	case VIR_DOMAIN_EVENT_SHUTDOWN:
		if (!vm->destroy_requested)
			vm_set_status_locked(vm, VM_ST_POWERING_DOWN);
		break;
	case VIR_DOMAIN_EVENT_STOPPED: {
		int code, reason;
		stopped_exit(vm, detail, &code, &reason);
		save = vm_set_down_locked(vm, code, reason, NULL);
		break;
	}
	default:
		break;
	}
	pthread_mutex_unlock(&vm->lock);
	if (save)
		vm_state_save(vm);
	return 0;
}

/* Opens a connection and registers the callbacks, then installs it. conn_lock is NOT
 * held while libvirt is asked: virConnectOpen has no timeout and waits forever for a
 * libvirtd that accepts but does not answer (stopped, deadlocked), and the create and
 * destroy verbs take conn_lock (vm_conn_get) — they must get "no connection" then, not
 * wait with it. Only one thread connects at a time (module start, then the sampler). */
static int connect_conn(void)
{
	const char *uri = vd_rt.conf->libvirt_uri;
	virConnectPtr c = virConnectOpen(uri);

	if (!c) {
		/* The sampler retries every interval: say it once, then at debug level. */
		static bool said;
		if (!said)
			log_warning("cannot connect to libvirt at '%s': %s", uri, vm_virt_error());
		else
			log_debug("cannot connect to libvirt at '%s': %s", uri, vm_virt_error());
		said = true;
		return -ECONNREFUSED;
	}
	if (virConnectRegisterCloseCallback(c, on_close, NULL, NULL) < 0)
		log_debug("libvirt close callback: %s", vm_virt_error());
	if (virConnectSetKeepAlive(c, 5, 3) < 0)
		log_debug("libvirt keepalive: %s", vm_virt_error());
	int id = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						  VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), NULL, NULL);
	if (id < 0) {
		log_err("cannot register for libvirt lifecycle events: %s", vm_virt_error());
		virConnectUnregisterCloseCallback(c, on_close);
		virConnectClose(c);
		return -EIO;
	}
	pthread_mutex_lock(&conn_lock);
	virConnectPtr old = conn;
	int old_cb = lifecycle_cb;
	conn = c;
	lifecycle_cb = id;
	atomic_store(&conn_is_broken, false);
	pthread_mutex_unlock(&conn_lock);
	if (old) {
		/* Calls on the old connection may wait too: after the swap, unlocked. */
		if (old_cb >= 0)
			virConnectDomainEventDeregisterAny(old, old_cb);
		virConnectUnregisterCloseCallback(old, on_close);
		virConnectClose(old);
	}
	log_notice("connected to libvirt at '%s'", uri);
	return 0;
}

static void disconnect(void)
{
	pthread_mutex_lock(&conn_lock);
	virConnectPtr old = conn;
	int old_cb = lifecycle_cb;
	conn = NULL;
	lifecycle_cb = -1;
	pthread_mutex_unlock(&conn_lock);
	if (old) {
		if (old_cb >= 0)
			virConnectDomainEventDeregisterAny(old, old_cb);
		virConnectUnregisterCloseCallback(old, on_close);
		virConnectClose(old);
	}
}

/* ---- recovery ---- */

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
	enum vm_status st = status_of_state(state, reason);
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

	vm_state_load_all(recover_state_file, &down);
	atomic_store(&recovered, true);
	log_notice("VM recovery: %d running VM(s) found in libvirt, %d Down record(s), %.0f ms",
		   running < 0 ? 0 : running, down, (util_now_monotonic() - t0) * 1000);
}

int vm_conn_reconnect(void)
{
	int r = connect_conn();
	if (r < 0)
		return r;
	virConnectPtr c = vm_conn_get();
	if (c) {
		if (!vm_is_recovered())
			recover_all(c);
		else
			recover_domains(c); /* libvirtd restarted: anything new? */
		virConnectClose(c);
	}
	return 0;
}

/* ---- event loop ---- */

static void wake_cb(int timer, void *opaque)
{
	(void)opaque;
	virEventUpdateTimeout(timer, -1);
}

static void *event_loop(void *arg)
{
	(void)arg;
	while (atomic_load(&event_run))
		if (virEventRunDefaultImpl() < 0)
			log_warning("libvirt event loop: %s", vm_virt_error());
	return NULL;
}

/* ---- module ---- */

/* getVdsStats vmCount/vmActive/vmMigrating (hoststats sampler thread; no I/O). */
static void hoststats_counter(struct hoststats_vm_counts *out)
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
		}
		if (st != VM_ST_DOWN)
			out->mem_committed_mib += mem + vd_rt.conf->guest_ram_overhead;
	}
	vm_registry_free_snapshot(vms, n);
}

int vm_start(void)
{
	xmlInitParser();
	virSetErrorFunc(NULL, quiet_error);
	if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
		log_err("cannot initialise libvirt: %s", vm_virt_error());
		return -1;
	}
	wake_timer = virEventAddTimeout(-1, wake_cb, NULL, NULL);
	atomic_store(&event_run, true);
	if (pthread_create(&event_tid, NULL, event_loop, NULL) != 0) {
		log_err("cannot start the libvirt event thread");
		return -1;
	}
	/* One attempt here: when libvirtd is not there yet the sampler keeps trying, and
	 * the VM verbs answer 99 until the first recovery (host verbs are not held). */
	int r = connect_conn();
	if (r < 0) {
		log_err("no libvirt connection at '%s' yet; VM verbs answer code 99 until it comes",
			vd_rt.conf->libvirt_uri);
	} else {
		virConnectPtr c = vm_conn_get();
		if (c) {
			recover_all(c);
			virConnectClose(c);
		}
	}
	if (vm_sampler_start() < 0) {
		vm_stop();
		return -1;
	}
	hoststats_set_vm_counter(hoststats_counter);
	return 0;
}

void vm_stop(void)
{
	hoststats_set_vm_counter(NULL);
	vm_sampler_stop();
	vm_starters_wait(30);
	disconnect();
	if (atomic_exchange(&event_run, false)) {
		if (wake_timer >= 0)
			virEventUpdateTimeout(wake_timer, 0);
		pthread_join(event_tid, NULL);
	}
	if (wake_timer >= 0) {
		virEventRemoveTimeout(wake_timer);
		wake_timer = -1;
	}
	vm_registry_clear();
	atomic_store(&recovered, false);
}
