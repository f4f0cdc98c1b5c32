/* Internals of the VM module shared by the files of vdsm-c/vm/; nothing outside that
 * folder includes it.
 *
 * Locking (STYLE.md "Threads"): the registry lock covers only lookup/insert/remove;
 * each struct vm has its own mutex; never two VM locks at once; no libvirt call or
 * file I/O while a VM lock is held. */
#ifndef VD_VM_INTERNAL_H
#define VD_VM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <libvirt/libvirt.h>

#include "vm.h"
#include "../util/macros.h"

/* The module's options (set by vm_start, read-only afterwards). */
extern struct vm_module_opts vm_opts;
/* abs_path under the host root / the state root; caller frees. */
char *vm_host_path(const char *abs_path);
char *vm_state_path(const char *abs_path);

/* Raw counters of one sample, kept to compute rates at the next one. */
struct vm_nic_raw {
	char name[32];
	uint64_t rx, tx;
};

struct vm_disk_raw {
	char name[16];
	uint64_t rd_bytes, wr_bytes, rd_reqs, wr_reqs, fl_reqs, rd_ns, wr_ns, fl_ns;
};

struct vm_drive_id {
	char target[16];
	char *image_id, *lun_guid;
};

struct vm {
	atomic_int ref;
	pthread_mutex_t lock;
	pthread_cond_t cond;             /* signalled when `starting` clears */
	pthread_mutex_t state_lock;      /* orders state-file writes with vm_forget() */
	char id[37];
	/* Identity and config echo (set before the VM is published, then read-only) */
	char *name;
	long long mem_mib;
	int vcpus;
	bool kvm_enable, acpi;
	long long time_offset;
	char *conf_blob;
	struct vm_drive_id *drives;
	size_t n_drives;
	double start_time;               /* wall clock, seconds */
	/* State (lock) */
	enum vm_status status;
	uint64_t status_time_ms;
	int exit_code, exit_reason;
	char *exit_message;
	bool starting;                   /* the starter thread runs virDomainCreateXML */
	int missing;                     /* samples in a row without its domain (sampler) */
	bool destroy_requested;          /* destroy() in progress: STOPPED = admin shutdown */
	bool removed;                    /* out of the registry */
	enum vm_status pre_migration;    /* status to return to when an outgoing one fails */
	struct vm_dev_info *devs;        /* from the live XML */
	size_t n_devs;
	uint64_t hash;
	/* Stats (lock; written by the sampler) */
	bool have_sample;
	double sample_mono;
	uint64_t cpu_time, cpu_user, cpu_sys;
	double cpu_user_pct, cpu_sys_pct;
	int mem_usage;
	long long balloon_cur, balloon_max;
	int vcpu_count;
	struct vm_nic_raw *nic_raw;
	size_t n_nic_raw;
	struct vm_disk_raw *disk_raw;
	size_t n_disk_raw;
	struct vm_nic_stats *nic_stats;
	size_t n_nic_stats;
	struct vm_disk_stats *disk_stats;
	size_t n_disk_stats;
};

/* ---- registry.c ---- */
struct vm *vm_obj_new(const char *id);
struct vm *vm_ref(struct vm *vm);
void vm_unref(struct vm *vm);        /* accepts NULL */
DEFINE_CLEANUP(struct vm, vm_unref)

/* -EEXIST when the id is taken. Takes a reference for the registry. */
int vm_registry_add(struct vm *vm) _wur_;
/* A new reference, or NULL. */
struct vm *vm_registry_find(const char *id);
/* Drops the registry's reference; no-op when already removed. */
void vm_registry_remove(struct vm *vm);
/* New references to every VM, in insertion order; caller unrefs each and frees *ret. */
int vm_registry_snapshot(struct vm ***ret, size_t *ret_n) _wur_;
void vm_registry_free_snapshot(struct vm **vms, size_t n);
/* Drops every VM (module stop). */
void vm_registry_clear(void);

/* Status changes (caller holds vm->lock). Down with exit info; logs one notice line.
 * Returns true when the state changed (the caller then saves the state file). */
void vm_set_status_locked(struct vm *vm, enum vm_status st);
bool vm_set_down_locked(struct vm *vm, int code, int reason, const char *msg);
/* Replaces the runtime devices (takes devs) and recomputes the hash. */
void vm_set_devs_locked(struct vm *vm, struct vm_dev_info *devs, size_t n);

void vm_dev_info_free_array(struct vm_dev_info *devs, size_t n);

/* ---- state files: /run/vdsm-c/vm/<id>.xml (state.c) ---- */
/* Writes the VM's metadata and exit info; takes the VM lock itself.
 * vm_state_save() logs a failure as a warning (for callers that go on anyway);
 * vm_state_write() returns 0 or -errno, does not log, and gives the file's path in
 * *ret_path (caller frees; may be NULL on OOM). */
void vm_state_save(struct vm *vm);
int vm_state_write(struct vm *vm, char **ret_path) _wur_;
void vm_state_remove(const char *id);
/* Removes the VM from the registry and its state file, ordered with vm_state_save()
 * (a late save from the event thread cannot resurrect the file). */
void vm_forget(struct vm *vm);
/* Calls fn for every readable state file (parsed metadata); unreadable files are
 * logged and skipped. 0 (also when the directory does not exist yet) or -errno. */
struct vm_meta;
int vm_state_load_all(int (*fn)(struct vm_meta *m, void *ud), void *ud) _wur_;

/* ---- parse.c: domain XML / metadata / state file parsing (libxml2) ---- */
struct vm_meta {
	char id[37];
	double start_time;
	char *conf_blob;
	struct vm_drive_id *drives;
	size_t n_drives;
	/* From the live domain XML (absent in state files): */
	char *name;
	long long mem_kib;
	int vcpus;
	struct vm_dev_info *devs;
	size_t n_devs;
	/* From state files only: */
	bool incoming;          /* written in `Migration Destination` (not resumed here yet) */
	bool has_exit;
	int exit_code, exit_reason;
	char *exit_message;
};

void vm_meta_clear(struct vm_meta *m);
/* Parses a whole domain XML (live) or a state file. Returns 0, -ENOENT when the XML
 * has no metadata element of our namespace (not our VM), -EINVAL when malformed. */
int vm_meta_parse(const char *xml, struct vm_meta *ret) _wur_;
/* Writes a state file document for vm (caller holds the lock); malloc'ed or NULL. */
char *vm_state_xml_locked(const struct vm *vm);

/* ---- connection.c ---- */
/* libvirt, its error handler and the event-loop thread; stop also closes the
 * connection. connected runs after every successful (re)connect. */
int vm_conn_start(void (*connected)(virConnectPtr c)) _wur_;
void vm_conn_stop(void);
/* A new reference to the libvirt connection (virConnectClose() it), or NULL when it
 * is down. */
virConnectPtr vm_conn_get(void);
/* Marks the connection broken (the sampler reconnects). */
void vm_conn_broken(void);
/* (Re)connects, then calls the connected hook given to vm_conn_start(). Module
 * start, then the sampler when the connection was lost. */
int vm_conn_reconnect(void) _wur_;

/* ---- events.c ---- */
/* libvirt's domain lifecycle callback (registered by connection.c). */
int vm_on_lifecycle(virConnectPtr c, virDomainPtr dom, int event, int detail, void *opaque);
enum vm_status vm_status_of_state(int state, int reason);

/* ---- recovery.c ---- */
/* After a (re)connect: the first time, every running VM of ours and the Down records
 * of the state files; later, running domains the registry does not know yet. */
void vm_recover(virConnectPtr c);
void vm_recovery_reset(void);
/* Last libvirt error message of this thread ("unknown libvirt error" if none). */
const char *vm_virt_error(void);
int vm_virt_error_code(void);

/* ---- lifecycle.c ---- */
/* The checks of a new VM, for create and an incoming migration alike: device targets
 * assigned, no VM with its id here (4), conf->domain_type set, drives resolved through
 * vm_opts.drive_resolve and the host-side checks (bridges, disk paths, kernel/initrd;
 * API.md §5.2) unless libvirt's test driver, no libvirt domain with its UUID (4). */
int vm_admit(struct vm_conf *conf, struct vd_error *err) _wur_;
/* Registers conf as a new VM in status st (WAIT_FOR_LAUNCH: starting) and writes its
 * record before anything else happens; *ret = a reference. Takes conf's conf_blob and
 * drive ids. On any error nothing is left registered. */
int vm_admit_register(struct vm_conf *conf, enum vm_status st, double start_time,
		      struct vm **ret, struct vd_error *err) _wur_;
/* The reply of create/migrationCreate: id, status, status time. */
void vm_brief_of(struct vm *vm, struct vm_brief *ret);
/* kvm | qemu | test for c (vars.vm_domain_type, kvmEnable). */
const char *vm_domain_type_for(const struct vm_conf *c);
/* Waits up to timeout seconds for running starter threads (module stop). */
void vm_starters_wait(int timeout);

/* ---- sampler.c ---- */
int vm_sampler_start(void) _wur_;
void vm_sampler_stop(void);
/* Applies one bulk stats record to its VM (exposed for the unit tests). */
void vm_sample_apply(struct vm *vm, const virTypedParameter *params, int n, double mono);

#endif
