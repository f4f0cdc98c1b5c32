/* Virtual machines through libvirt (API.md §5.2, §7.2–7.3).
 *
 * The verb layer (vdsm-c/verbs/vm.c) turns vmParams into a struct vm_conf and calls
 * vm_create(); everything else (domain XML, libvirt, events, sampling, recovery)
 * lives behind this header and never sees XML-RPC.
 *
 * Domains are TRANSIENT (virDomainCreateXML), as in VDSM: the manager owns every VM
 * definition, so nothing is left defined on the host after a VM stops, crashes or
 * migrates away, and a host reboot never starts a VM behind the manager's back (it may
 * already run elsewhere: HA restart). What the agent needs to find a running VM again
 * after its own restart travels with the domain in a libvirt <metadata> element of
 * our namespace (VM_METADATA_NS); a small state file per VM under /run/vdsm-c/vm
 * keeps the Down record (exit code/reason) until the manager calls destroy.
 *
 * Threads: one libvirt event-loop thread (lifecycle events update the status at
 * once), one sampler thread (virConnectGetAllDomainStats every vm_sample_interval
 * seconds), one short-lived starter thread per create. Readers (getVmStats,
 * getAllVmStats, list) never do I/O: they read what the sampler and the events left. */
#ifndef VD_VM_H
#define VD_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"
#include "../util/macros.h"

#define VM_METADATA_NS "urn:x-vdsm-c:vm:1"
#define VM_METADATA_PREFIX "vdsmc"

/* VM status strings (API.md §7.3); vm_status_to_string() gives the wire form. */
enum vm_status {
	VM_ST_WAIT_FOR_LAUNCH,
	VM_ST_POWERING_UP,
	VM_ST_UP,
	VM_ST_POWERING_DOWN,
	VM_ST_PAUSED,
	VM_ST_MIGRATION_SOURCE,
	VM_ST_MIGRATION_DESTINATION,
	VM_ST_SAVING_STATE,
	VM_ST_RESTORING_STATE,
	VM_ST_REBOOT_IN_PROGRESS,
	VM_ST_DOWN,
	_VM_ST_MAX,
};

/* Exit reasons (API.md §7.3). */
enum vm_exit_reason {
	VM_EXIT_SUCCESS = 0,
	VM_EXIT_GENERIC_ERROR = 1,
	VM_EXIT_LOST_QEMU_CONNECTION = 2,
	VM_EXIT_LIBVIRT_START_FAILED = 3,
	VM_EXIT_MIGRATION_SUCCEEDED = 4,
	VM_EXIT_SAVE_STATE_SUCCEEDED = 5,
	VM_EXIT_ADMIN_SHUTDOWN = 6,
	VM_EXIT_USER_SHUTDOWN = 7,
	VM_EXIT_MIGRATION_FAILED = 8,
	VM_EXIT_LIBVIRT_DOMAIN_MISSING = 9,
	VM_EXIT_DESTROYED_ON_STARTUP = 10,
	VM_EXIT_HOST_SHUTDOWN = 11,
	VM_EXIT_POSTCOPY_MIGRATION_FAILED = 12,
	_VM_EXIT_MAX,
};

/* exitCode values. */
#define VM_EXIT_CODE_NORMAL 0
#define VM_EXIT_CODE_ERROR 1

const char *vm_status_to_string(enum vm_status s);
/* Default exitMessage of a reason ("" for an unknown one). */
const char *vm_exit_reason_message(int reason);

enum vm_cpu_mode {
	VM_CPU_DEFAULT,          /* no <cpu> model: the hypervisor's default */
	VM_CPU_CUSTOM,           /* cluster baseline model, match='exact' */
	VM_CPU_HOST_PASSTHROUGH,
	VM_CPU_HOST_MODEL,
};

enum vm_disk_device { VM_DISK_DISK, VM_DISK_CDROM, VM_DISK_FLOPPY, VM_DISK_LUN, _VM_DISK_MAX };
enum vm_disk_bus { VM_BUS_VIRTIO, VM_BUS_IDE, VM_BUS_SCSI, VM_BUS_SATA, VM_BUS_FDC, _VM_BUS_MAX };
enum vm_disk_kind { VM_DISK_KIND_AUTO, VM_DISK_KIND_FILE, VM_DISK_KIND_BLOCK };

struct vm_nic {
	char mac[18];            /* aa:bb:cc:dd:ee:ff, lower case (vm_mac_parse) */
	char *network;           /* host bridge; "" = not connected (type ethernet) */
	char *model;             /* libvirt model: virtio, e1000, rtl8139, ... */
	bool link_down;
	char *device_id;         /* deviceId (a UUID) or NULL */
	int boot_order;          /* 0 = none */
};

struct vm_disk {
	enum vm_disk_device device;
	enum vm_disk_bus bus;
	enum vm_disk_kind kind;  /* AUTO: decided by stat() in vm_create */
	char *path;              /* "" only for an empty cdrom/floppy */
	char *format;            /* raw | qcow2 */
	int index;               /* position on its bus, -1 = next free */
	bool readonly, shareable, propagate_errors;
	char *device_id, *image_id, *lun_guid;  /* NULL when not given */
	/* A VDSM image drive (poolID/domainID/imageID/volumeID all given as UUIDs): the
	 * ids, resolved into path by the module's drive resolver; NULL otherwise. */
	char *pool_id, *domain_id, *volume_id;
	int boot_order;
	char target[16];         /* set by vm_conf_assign_targets(): vda, hdc, ... */
};

/* A VM request, filled by the verb layer; vm_create() takes it. Strings are owned. */
struct vm_conf {
	char id[37];             /* lower case */
	char *name;
	long long mem_mib;
	int vcpus, max_vcpus, sockets, cores, threads;
	enum vm_cpu_mode cpu_mode;
	char *cpu_model;         /* VM_CPU_CUSTOM only */
	char **cpu_features;     /* "+name" require, "-name" disable */
	size_t n_cpu_features;
	char *machine;           /* NULL = libvirt default */
	bool kvm_enable;         /* false: plain emulation (domain type qemu), as VDSM */
	bool acpi;
	long long time_offset;
	char *smbios_serial;
	char boot[8];            /* legacy boot devices: c d n */
	char *kernel, *initrd, *cmdline;
	bool balloon;
	struct vm_nic *nics;
	size_t n_nics;
	struct vm_disk *disks;
	size_t n_disks;
	/* Set by vm_create() from the configuration: */
	char *domain_type;       /* kvm | qemu | test */
	char *console_log;       /* serial console log file or NULL */
	/* The creation conf as the verb layer serialized it (opaque here): stored in the
	 * domain metadata and handed back for list(full) after a restart. */
	char *conf_blob;
};

struct vm_conf *vm_conf_new(void);
struct vm_conf *vm_conf_free(struct vm_conf *c);   /* accepts NULL; returns NULL */
DEFINE_CLEANUP(struct vm_conf, vm_conf_free)

/* "aa:bb:cc:dd:ee:ff" (either case, also '-' separators) → canonical lower case.
 * Refuses multicast/broadcast and all-zero addresses. Returns 0 or -EINVAL. */
int vm_mac_parse(const char *s, char out[18]) _wur_;
/* A Linux bridge/interface name: 1–15 chars, no '/', ':', whitespace, not "." "..". */
bool vm_ifname_valid(const char *s);
/* Sets disks[i].target from bus and index; duplicates → -EEXIST with err set. */
int vm_conf_assign_targets(struct vm_conf *c, struct vd_error *err) _wur_;

/* Domain XML for c (c->domain_type must be set), with the metadata element holding
 * the id, start time and conf blob. Returns a malloc'ed string or NULL (OOM/XML
 * writer failure). Pure: no I/O, used by the unit tests with fixtures. */
char *vm_domxml_build(const struct vm_conf *c, double start_time);

/* ---- module start and stop (wired by vdsm-c/modules.c) ---- */

/* What the module needs from the configuration; copied by vm_start(), its strings
 * must outlive the module (the config does). */
/* A drive's source as the manager gave it (API.md §5.2 drive keys). */
struct vm_drive_src {
	const char *pool_id, *domain_id, *image_id, *volume_id;  /* a VDSM image, or NULL */
	const char *path;                                         /* else a plain path */
};

/* Given at module start (modules.c wires the storage module): a VDSM image → the path
 * prepareImage gives it; a plain path → checked to lie under the storage roots.
 * *ret_path (malloc'ed) is what libvirt gets. 0, or -1 with err set. */
typedef int (*vm_drive_resolve_fn)(const struct vm_drive_src *s, char **ret_path,
				   struct vd_error *err);

struct vm_module_opts {
	const char *libvirt_uri;
	const char *domain_type;      /* kvm | qemu | auto | test (vars.vm_domain_type) */
	const char *console_log_dir;  /* guest serial logs, "" = none */
	int sample_interval;          /* seconds between bulk stats samples */
	int guest_ram_overhead;       /* MiB added per running VM to committed memory */
	const char *host_root;        /* prefix of /dev, /sys reads ("" = /) */
	const char *state_root;       /* prefix of /run/vdsm-c state ("" = /) */
	vm_drive_resolve_fn drive_resolve;  /* NULL: drive paths are used as given */
};

int vm_start(const struct vm_module_opts *o) _wur_;
void vm_stop(void);

/* Counts for getVdsStats (vmCount, vmActive, ...). Reads the registry only: never
 * blocks, callable from another module's sampler thread. */
struct vm_counts {
	int total;                   /* every VM the agent knows */
	int active;                  /* status Up */
	int migrating;               /* incoming + outgoing */
	int incoming, outgoing;
	long long mem_committed_mib; /* sum of (memSize + guest_ram_overhead), not Down */
	long long incoming_mem_mib;  /* the same, of the incoming VMs only */
};
void vm_counts_get(struct vm_counts *out);
/* False until running VMs were found again after start (no libvirt yet, or still
 * recovering): the VM verbs then answer code 99. */
bool vm_is_recovered(void);

/* Snapshot of one VM for replies, filled under the VM lock. */
struct vm_brief {
	char id[37];
	enum vm_status status;
	uint64_t status_time_ms;
};

/* Validates c against the host (bridges, disk paths, duplicate id), registers the VM
 * as WaitForLaunch and starts the domain in the background. Takes c in every case.
 * Errors: 4 exist, 9 createErr (no such bridge, unreadable kernel, no libvirt
 * connection), 13 imageErr (no such disk path). Nothing is left in libvirt on error:
 * a start that libvirt refuses later turns the VM Down with exitReason 3. */
int vm_create(struct vm_conf *c, struct vm_brief *ret, struct vd_error *err) _wur_;

/* Stops the domain (graceful SIGTERM, then force) and forgets the VM; a Down VM is
 * only forgotten. Errors: 1 noVM, 42 destroyErr. Blocks up to libvirt's kill wait. */
int vm_destroy(const char *id, struct vd_error *err) _wur_;

/* ---- incoming migration (destination side; incoming.c) ---- */

/* Registers c as an incoming VM in `Migration Destination` after the same host checks
 * as vm_create() (bridges, disk paths, kernel/initrd, duplicate id in the registry and
 * in libvirt); starts nothing: libvirt's peer-to-peer migration brings the domain
 * (with the source's XML: same UUID, MACs, devices). Takes c in every case. Errors
 * as vm_create(). */
int vm_incoming_create(struct vm_conf *c, struct vm_brief *ret, struct vd_error *err);

enum vm_incoming_result {
	VM_INCOMING_UP, VM_INCOMING_FAILED, VM_INCOMING_TIMEOUT, VM_INCOMING_CANCELLED,
};

/* Blocks until the incoming VM id runs here (libvirt resumed it: `Up`, its devices
 * read from the live XML), failed (its domain stopped, or the VM was destroyed), or
 * timeout seconds passed, or libvirt has no incoming domain start_timeout seconds
 * after the call (the source never started; 0 = no such check). On either timeout the
 * domain, if libvirt has one, is destroyed and the VM goes Down with exitReason 8 "VM
 * failed to migrate", so no half VM is left.
 * cancelled (may be NULL) is asked about once a second: true (agent stopping) returns
 * VM_INCOMING_CANCELLED with nothing changed (recovery finds the VM after a restart).
 * For a thread of the migration module, never an RPC thread. */
enum vm_incoming_result vm_incoming_wait(const char *id, int timeout, int start_timeout,
					 bool (*cancelled)(void));

/* ---- outgoing migration (source side; outgoing.c) ---- */

/* Marks a running VM (Up, Powering up, Paused) `Migration Source` and copies its conf
 * blob into *ret_conf_blob (caller frees; NULL when the VM has none). Errors: 1 when
 * unknown or not running (WaitForLaunch, Down, ...), 4 when already migrating. The
 * status stays `Migration Source` through libvirt's pause and resume until
 * vm_outgoing_end(). */
int vm_outgoing_begin(const char *id, char **ret_conf_blob, struct vd_error *err) _wur_;
/* migrated: Down with exitReason 4 (if libvirt's stop event did not already do it);
 * else back to the status before vm_outgoing_begin(). */
void vm_outgoing_end(const char *id, bool migrated);

struct vm_migrate_args {
	const char *dconnuri;         /* destination libvirt, opened by the source libvirtd */
	const char *migrate_uri;      /* tcp://host where the destination QEMU listens, or NULL */
	int bandwidth_mib;            /* MiB/s, 0 = libvirt's default */
	bool compressed, auto_converge, abort_on_error;
};

/* Peer-to-peer live migration (virDomainMigrateToURI3, LIVE|PEER2PEER); blocks until
 * libvirt finished or failed. Errors: 47 "Migration canceled" after an abort, 12
 * with libvirt's message otherwise. For migration threads, never an RPC thread. */
int vm_outgoing_migrate(const char *id, const struct vm_migrate_args *a, struct vd_error *err) _wur_;

struct vm_job_info {
	bool active;
	unsigned long long elapsed_ms, data_total, data_processed, data_remaining, mem_bps,
		iteration, downtime_ms;
};
/* libvirt's job stats of the VM's domain (completed: the last finished job's).
 * 0, -ENOENT no domain/connection, -ESRCH domain not running, -EIO other. */
int vm_outgoing_job(const char *id, bool completed, struct vm_job_info *ret);
/* Aborts the domain's job. Error 47 when libvirt has none (or no domain). */
int vm_outgoing_abort(const char *id, struct vd_error *err) _wur_;
/* virDomainMigrateSetMaxDowntime; 0 or -errno (logged). */
int vm_outgoing_set_downtime(const char *id, int ms);

/* ---- read side (no I/O; data borrowed while the VM lock is held) ---- */

struct vm_nic_stats {
	char name[32];           /* host tap (vnet0): the key of the network map */
	char mac[18];
	int speed;               /* Mb/s as VDSM: 1000 for virtio/e1000, else 100 */
	double rx_rate, tx_rate; /* % of speed over the last interval */
	uint64_t rx, tx, rx_errs, rx_drop, tx_errs, tx_drop;
	double sample_time;      /* monotonic seconds */
};

struct vm_disk_stats {
	char name[16];           /* target: vda */
	const char *image_id, *lun_guid;  /* borrowed, may be NULL */
	double read_rate, write_rate;     /* bytes/s */
	double read_latency, write_latency, flush_latency;  /* seconds per op */
	uint64_t read_bytes, write_bytes, read_ops, write_ops;
	uint64_t truesize, apparentsize;
};

/* One device as libvirt runs it (from the live domain XML). */
struct vm_dev_info {
	char kind;               /* 'n' NIC, 'd' disk, 'o' other */
	char *alias;             /* libvirt alias (ua-<deviceId> when the manager gave one) */
	char *device_id;         /* deviceId from the alias, or NULL */
	char mac[18];            /* NIC */
	char *target;            /* NIC tap or disk target */
	char *path;              /* disk source */
	char *model;             /* NIC model (virtio, e1000, ...) */
	char **addr_keys, **addr_vals;   /* <address> attributes */
	size_t n_addr;
};

struct vm_view {
	const char *id;
	const char *name;
	enum vm_status status;
	uint64_t status_time_ms;
	int exit_code, exit_reason;
	const char *exit_message;        /* "" unless Down */
	double elapsed;                  /* seconds since start */
	long long mem_mib;
	int vcpus;
	bool kvm_enable, acpi;
	long long time_offset;
	bool have_sample;
	double cpu_user, cpu_sys;        /* % */
	uint64_t cpu_time_ns;            /* cpuUsage: cumulative user+system ns */
	int mem_usage;                   /* % (guest balloon stats), 0 unknown */
	long long balloon_cur, balloon_max;  /* KiB, -1 unknown */
	int vcpu_count;
	const struct vm_nic_stats *nics;
	size_t n_nics;
	const struct vm_disk_stats *disks;
	size_t n_disks;
	const struct vm_dev_info *devs;
	size_t n_devs;
	const char *conf_blob;
	uint64_t hash;
};

/* Number of VMs the agent knows and of those Up (the SIGUSR1 state dump); any
 * thread, takes the registry lock and each VM lock briefly. */
void vm_counts(int *ret_total, int *ret_up);

typedef int (*vm_view_fn)(const struct vm_view *v, void *userdata);

/* Calls fn for one VM (id) or every VM (id NULL), each under its lock; stops at the
 * first negative return and passes it back. -ENOENT when id is unknown. */
int vm_foreach(const char *id, vm_view_fn fn, void *userdata) _wur_;

#endif
