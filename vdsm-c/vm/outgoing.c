/* Outgoing migration, source side: the VM's status around it and the libvirt calls
 * (peer-to-peer virDomainMigrateToURI3, job stats, abort, max downtime) that the
 * migration module's threads make through vm.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libvirt/virterror.h>

#include "../util/log.h"
#include "../util/util.h"
#include "vm-internal.h"

int vm_outgoing_begin(const char *id, char **ret_conf_blob, struct vd_error *err)
{
	_cleanup_(vm_unrefp) struct vm *vm = vm_registry_find(id);

	if (!vm)
		return vd_error_set(err, VD_ERR_NOVM, "Virtual machine does not exist: '%s'", id);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 30;
	pthread_mutex_lock(&vm->lock);
	/* libvirt's started event can make a VM Up before its starter thread is done
	 * reading the domain back: let it finish first. */
	while (vm->starting)
		if (pthread_cond_timedwait(&vm->cond, &vm->lock, &ts) == ETIMEDOUT)
			break;
	enum vm_status st = vm->status;
	bool ok = !vm->removed && !vm->starting && !vm->destroy_requested &&
		  (st == VM_ST_UP || st == VM_ST_POWERING_UP || st == VM_ST_PAUSED);
	if (ok) {
		*ret_conf_blob = vm->conf_blob ? strdup(vm->conf_blob) : NULL;
		if (vm->conf_blob && !*ret_conf_blob)
			ok = false;
	}
	if (ok) {
		vm->pre_migration = st;
		vm_set_status_locked(vm, VM_ST_MIGRATION_SOURCE);
	}
	pthread_mutex_unlock(&vm->lock);
	if (ok)
		return 0;
	if (st == VM_ST_MIGRATION_SOURCE || st == VM_ST_MIGRATION_DESTINATION)
		return vd_error_set(err, VD_ERR_EXIST,
				    "Virtual machine already exists: VM '%s' is already migrating", id);
	return vd_error_set(err, VD_ERR_NOVM, "Virtual machine does not exist: VM '%s' is %s", id,
			    vm_status_to_string(st));
}

void vm_outgoing_end(const char *id, bool migrated)
{
	_cleanup_(vm_unrefp) struct vm *vm = vm_registry_find(id);
	bool save = false;

	if (!vm)
		return;
	pthread_mutex_lock(&vm->lock);
	if (vm->status == VM_ST_MIGRATION_SOURCE) {
		if (migrated)
			save = vm_set_down_locked(vm, VM_EXIT_CODE_NORMAL,
						  VM_EXIT_MIGRATION_SUCCEEDED, NULL);
		else
			vm_set_status_locked(vm, vm->pre_migration);
	}
	pthread_mutex_unlock(&vm->lock);
	if (save)
		vm_state_save(vm);
}

/* The domain of id on a new connection reference; both released by the caller. */
static virDomainPtr domain(const char *id, virConnectPtr *ret_c, struct vd_error *err,
			   int code)
{
	virConnectPtr c = vm_conn_get();
	if (!c) {
		vd_error_set(err, code, "%s: no connection to libvirt", vd_code_message(code));
		return NULL;
	}
	virDomainPtr dom = virDomainLookupByUUIDString(c, id);
	if (!dom) {
		vd_error_set(err, code, "%s: %s", vd_code_message(code), vm_virt_error());
		virConnectClose(c);
		return NULL;
	}
	*ret_c = c;
	return dom;
}

int vm_outgoing_migrate(const char *id, const struct vm_migrate_args *a, struct vd_error *err)
{
	virConnectPtr c = NULL;
	virDomainPtr dom = domain(id, &c, err, VD_ERR_MIGRATEERR);
	virTypedParameterPtr params = NULL;
	int n = 0, max = 0, r = 0;
	unsigned int flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER;

	if (!dom)
		return -1;
	if (a->migrate_uri && *a->migrate_uri)
		r = virTypedParamsAddString(&params, &n, &max, VIR_MIGRATE_PARAM_URI, a->migrate_uri);
	if (r == 0 && a->bandwidth_mib > 0)
		r = virTypedParamsAddULLong(&params, &n, &max, VIR_MIGRATE_PARAM_BANDWIDTH,
					    (unsigned long long)a->bandwidth_mib);
	if (r < 0) {
		vd_error_set(err, VD_ERR_MIGRATEERR, "Fatal error during migration: %s",
			     vm_virt_error());
		goto out;
	}
	if (a->compressed)
		flags |= VIR_MIGRATE_COMPRESSED;
	if (a->auto_converge)
		flags |= VIR_MIGRATE_AUTO_CONVERGE;
	if (a->abort_on_error)
		flags |= VIR_MIGRATE_ABORT_ON_ERROR;
	log_info("VM %s: virDomainMigrateToURI3 %s (migrate URI %s, bandwidth %d MiB/s, flags 0x%x)",
		 id, a->dconnuri, a->migrate_uri ? a->migrate_uri : "-", a->bandwidth_mib, flags);
	if (virDomainMigrateToURI3(dom, a->dconnuri, params, n, flags) < 0) {
		if (vm_virt_error_code() == VIR_ERR_OPERATION_ABORTED)
			vd_error_set(err, VD_ERR_MIGCANCELERR, "Migration canceled: %s",
				     vm_virt_error());
		else
			vd_error_set(err, VD_ERR_MIGRATEERR, "Fatal error during migration: %s",
				     vm_virt_error());
		r = -1;
	}
out:
	virTypedParamsFree(params, n);
	virDomainFree(dom);
	virConnectClose(c);
	return r < 0 ? -1 : 0;
}

static unsigned long long ull_param(virTypedParameterPtr p, int n, const char *name)
{
	unsigned long long v = 0;
	return virTypedParamsGetULLong(p, n, name, &v) == 1 ? v : 0;
}

int vm_outgoing_job(const char *id, bool completed, struct vm_job_info *ret)
{
	virConnectPtr c = NULL;
	struct vd_error err = { 0 };
	virDomainPtr dom = domain(id, &c, &err, VD_ERR_MIGRATEERR);
	virTypedParameterPtr p = NULL;
	int n = 0, type = 0;

	memset(ret, 0, sizeof(*ret));
	if (!dom)
		return -ENOENT;
	int r = virDomainGetJobStats(dom, &type, &p, &n,
				     completed ? VIR_DOMAIN_JOB_STATS_COMPLETED | VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED : 0);
	if (r == 0) {
		ret->active = type == VIR_DOMAIN_JOB_UNBOUNDED || type == VIR_DOMAIN_JOB_BOUNDED;
		ret->elapsed_ms = ull_param(p, n, VIR_DOMAIN_JOB_TIME_ELAPSED);
		ret->data_total = ull_param(p, n, VIR_DOMAIN_JOB_DATA_TOTAL);
		ret->data_processed = ull_param(p, n, VIR_DOMAIN_JOB_DATA_PROCESSED);
		ret->data_remaining = ull_param(p, n, VIR_DOMAIN_JOB_DATA_REMAINING);
		ret->mem_bps = ull_param(p, n, VIR_DOMAIN_JOB_MEMORY_BPS);
		ret->iteration = ull_param(p, n, VIR_DOMAIN_JOB_MEMORY_ITERATION);
		ret->downtime_ms = ull_param(p, n, VIR_DOMAIN_JOB_DOWNTIME);
		virTypedParamsFree(p, n);
	} else {
		r = vm_virt_error_code() == VIR_ERR_OPERATION_INVALID ? -ESRCH : -EIO;
	}
	virDomainFree(dom);
	virConnectClose(c);
	return r;
}

int vm_outgoing_abort(const char *id, struct vd_error *err)
{
	virConnectPtr c = NULL;
	virDomainPtr dom = domain(id, &c, err, VD_ERR_MIGCANCELERR);
	int r = 0;

	if (!dom)
		return -1;
	if (virDomainAbortJob(dom) < 0) {
		r = vd_error_set(err, VD_ERR_MIGCANCELERR, "Migration not in progress: %s",
				 vm_virt_error());
	}
	virDomainFree(dom);
	virConnectClose(c);
	return r;
}

int vm_outgoing_set_downtime(const char *id, int ms)
{
	virConnectPtr c = NULL;
	struct vd_error err = { 0 };
	virDomainPtr dom = domain(id, &c, &err, VD_ERR_MIGRATEERR);

	if (!dom)
		return -ENOENT;
	int r = virDomainMigrateSetMaxDowntime(dom, (unsigned long long)ms, 0) < 0 ? -EIO : 0;
	if (r < 0)
		log_info("VM %s: cannot set the migration downtime to %d ms: %s", id, ms,
			 vm_virt_error());
	virDomainFree(dom);
	virConnectClose(c);
	return r;
}
