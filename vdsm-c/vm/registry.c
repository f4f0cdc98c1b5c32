/* VM objects (refcounted, one mutex each) and the registry of known VMs. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../util/log.h"
#include "vm-internal.h"
#include "../util/utf8.h"
#include "../util/util.h"

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vm **reg;
static size_t reg_n, reg_cap;

struct vm *vm_obj_new(const char *id)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	atomic_init(&vm->ref, 1);
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	pthread_mutex_init(&vm->state_lock, NULL);
	snprintf(vm->id, sizeof(vm->id), "%s", id);
	vm->status = VM_ST_WAIT_FOR_LAUNCH;
	vm->status_time_ms = util_monotonic_ms();
	vm->balloon_cur = vm->balloon_max = -1;
	return vm;
}

struct vm *vm_ref(struct vm *vm)
{
	atomic_fetch_add(&vm->ref, 1);
	return vm;
}

void vm_dev_info_free_array(struct vm_dev_info *devs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(devs[i].alias);
		free(devs[i].device_id);
		free(devs[i].target);
		free(devs[i].path);
		free(devs[i].model);
		for (size_t k = 0; k < devs[i].n_addr; k++) {
			free(devs[i].addr_keys[k]);
			free(devs[i].addr_vals[k]);
		}
		free(devs[i].addr_keys);
		free(devs[i].addr_vals);
	}
	free(devs);
}

void vm_unref(struct vm *vm)
{
	if (!vm || atomic_fetch_sub(&vm->ref, 1) != 1)
		return;
	free(vm->name);
	free(vm->conf_blob);
	for (size_t i = 0; i < vm->n_drives; i++) {
		free(vm->drives[i].image_id);
		free(vm->drives[i].lun_guid);
	}
	free(vm->drives);
	free(vm->exit_message);
	vm_dev_info_free_array(vm->devs, vm->n_devs);
	free(vm->nic_raw);
	free(vm->disk_raw);
	free(vm->nic_stats);
	free(vm->disk_stats);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->state_lock);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

/* Caller holds reg_lock. */
static ssize_t find_locked(const char *id)
{
	for (size_t i = 0; i < reg_n; i++)
		if (strcmp(reg[i]->id, id) == 0)
			return (ssize_t)i;
	return -1;
}

int vm_registry_add(struct vm *vm)
{
	pthread_mutex_lock(&reg_lock);
	if (find_locked(vm->id) >= 0) {
		pthread_mutex_unlock(&reg_lock);
		return -EEXIST;
	}
	if (reg_n == reg_cap) {
		size_t ncap = reg_cap ? reg_cap * 2 : 64;
		struct vm **n = realloc(reg, ncap * sizeof(*n));
		if (!n) {
			pthread_mutex_unlock(&reg_lock);
			return -ENOMEM;
		}
		reg = n;
		reg_cap = ncap;
	}
	reg[reg_n++] = vm_ref(vm);
	pthread_mutex_unlock(&reg_lock);
	return 0;
}

struct vm *vm_registry_find(const char *id)
{
	struct vm *vm = NULL;

	pthread_mutex_lock(&reg_lock);
	ssize_t i = find_locked(id);
	if (i >= 0)
		vm = vm_ref(reg[i]);
	pthread_mutex_unlock(&reg_lock);
	return vm;
}

void vm_registry_remove(struct vm *vm)
{
	struct vm *drop = NULL;

	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < reg_n; i++)
		if (reg[i] == vm) {
			drop = vm;
			memmove(&reg[i], &reg[i + 1], (reg_n - i - 1) * sizeof(*reg));
			reg_n--;
			break;
		}
	pthread_mutex_unlock(&reg_lock);
	if (drop) {
		pthread_mutex_lock(&vm->lock);
		vm->removed = true;
		pthread_mutex_unlock(&vm->lock);
		vm_unref(drop);
	}
}

int vm_registry_snapshot(struct vm ***ret, size_t *ret_n)
{
	pthread_mutex_lock(&reg_lock);
	struct vm **arr = malloc((reg_n ? reg_n : 1) * sizeof(*arr));
	if (!arr) {
		pthread_mutex_unlock(&reg_lock);
		return -ENOMEM;
	}
	for (size_t i = 0; i < reg_n; i++)
		arr[i] = vm_ref(reg[i]);
	*ret_n = reg_n;
	pthread_mutex_unlock(&reg_lock);
	*ret = arr;
	return 0;
}

void vm_registry_free_snapshot(struct vm **vms, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vm_unref(vms[i]);
	free(vms);
}

void vm_counts(int *ret_total, int *ret_up)
{
	struct vm **vms;
	size_t n;
	int up = 0;

	*ret_total = *ret_up = 0;
	if (vm_registry_snapshot(&vms, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&vms[i]->lock);
		up += vms[i]->status == VM_ST_UP;
		pthread_mutex_unlock(&vms[i]->lock);
	}
	vm_registry_free_snapshot(vms, n);
	*ret_total = (int)n;
	*ret_up = up;
}

void vm_registry_clear(void)
{
	pthread_mutex_lock(&reg_lock);
	struct vm **arr = reg;
	size_t n = reg_n;
	reg = NULL;
	reg_n = reg_cap = 0;
	pthread_mutex_unlock(&reg_lock);
	vm_registry_free_snapshot(arr, n);
}

/* ---- status ---- */

void vm_set_status_locked(struct vm *vm, enum vm_status st)
{
	if (vm->status == st)
		return;
	if (vm->status == VM_ST_DOWN)
		return; /* Down is final: only destroy() forgets it */
	log_info("VM %s: %s -> %s", vm->id, vm_status_to_string(vm->status),
		 vm_status_to_string(st));
	vm->status = st;
	vm->status_time_ms = util_monotonic_ms();
}

/* A copy of s made fit for XML by util/utf8.h, the one cleaner: the exit message often
 * quotes QEMU's stderr through libvirt (escape sequences, any bytes), and it goes into
 * the state file (an XML document read back at restart) and on the wire. NULL on OOM. */
static char *clean_text(const char *s)
{
	char *copy = strdup(s);

	return copy ? util_utf8_clean(copy, 0) : NULL;
}

bool vm_set_down_locked(struct vm *vm, int code, int reason, const char *msg)
{
	if (vm->status == VM_ST_DOWN)
		return false;
	vm->status = VM_ST_DOWN;
	vm->status_time_ms = util_monotonic_ms();
	vm->exit_code = code;
	vm->exit_reason = reason;
	free(vm->exit_message);
	vm->exit_message = clean_text(msg && *msg ? msg : vm_exit_reason_message(reason));
	log_notice("VM %s is Down: exitCode=%d exitReason=%d (%s) exitMessage='%s'", vm->id, code,
		   reason, vm_exit_reason_message(reason), vm->exit_message ? vm->exit_message : "");
	return true;
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; s && *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

void vm_set_devs_locked(struct vm *vm, struct vm_dev_info *devs, size_t n)
{
	uint64_t h = fnv1a(14695981039346656037ULL, vm->conf_blob);

	vm_dev_info_free_array(vm->devs, vm->n_devs);
	vm->devs = devs;
	vm->n_devs = n;
	/* The manager re-reads list(full) when this changes (API.md §5.2 hash). */
	for (size_t i = 0; i < n; i++) {
		h = fnv1a(h, devs[i].alias);
		h = fnv1a(h, devs[i].target);
		for (size_t k = 0; k < devs[i].n_addr; k++) {
			h = fnv1a(h, devs[i].addr_keys[k]);
			h = fnv1a(h, devs[i].addr_vals[k]);
		}
	}
	vm->hash = h;
}

/* ---- public read side ---- */

static void fill_view(const struct vm *vm, struct vm_view *v)
{
	memset(v, 0, sizeof(*v));
	v->id = vm->id;
	v->name = vm->name ? vm->name : vm->id;
	v->status = vm->status;
	v->status_time_ms = vm->status_time_ms;
	v->exit_code = vm->exit_code;
	v->exit_reason = vm->exit_reason;
	v->exit_message = vm->status == VM_ST_DOWN && vm->exit_message ? vm->exit_message : "";
	v->elapsed = vm->start_time > 0 ? util_now_real() - vm->start_time : 0;
	if (v->elapsed < 0)
		v->elapsed = 0;
	v->mem_mib = vm->mem_mib;
	v->vcpus = vm->vcpus;
	v->kvm_enable = vm->kvm_enable;
	v->acpi = vm->acpi;
	v->time_offset = vm->time_offset;
	v->have_sample = vm->have_sample;
	v->cpu_user = vm->cpu_user_pct;
	v->cpu_sys = vm->cpu_sys_pct;
	v->cpu_time_ns = vm->cpu_user + vm->cpu_sys;
	v->mem_usage = vm->mem_usage;
	v->balloon_cur = vm->balloon_cur;
	v->balloon_max = vm->balloon_max;
	v->vcpu_count = vm->vcpu_count ? vm->vcpu_count : vm->vcpus;
	v->nics = vm->nic_stats;
	v->n_nics = vm->n_nic_stats;
	v->disks = vm->disk_stats;
	v->n_disks = vm->n_disk_stats;
	v->devs = vm->devs;
	v->n_devs = vm->n_devs;
	v->conf_blob = vm->conf_blob;
	v->hash = vm->hash;
}

int vm_foreach(const char *id, vm_view_fn fn, void *userdata)
{
	struct vm_view v;
	int r = 0;

	if (id) {
		_cleanup_(vm_unrefp) struct vm *vm = vm_registry_find(id);
		if (!vm)
			return -ENOENT;
		pthread_mutex_lock(&vm->lock);
		fill_view(vm, &v);
		r = fn(&v, userdata);
		pthread_mutex_unlock(&vm->lock);
		return r;
	}
	struct vm **vms;
	size_t n;
	if (vm_registry_snapshot(&vms, &n) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n && r >= 0; i++) {
		pthread_mutex_lock(&vms[i]->lock);
		fill_view(vms[i], &v);
		r = fn(&v, userdata);
		pthread_mutex_unlock(&vms[i]->lock);
	}
	vm_registry_free_snapshot(vms, n);
	return r;
}
