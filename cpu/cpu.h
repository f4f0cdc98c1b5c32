/* cpu/: what this host's processors, memory and hypervisor can do (API.md §5.1
 * getVdsCapabilities: cpu*, memSize, numaNodes, kvmEnabled, emulatedMachines,
 * model_<Name> flags) and the raw counters the stats sampler turns into percentages.
 *
 * Every reader takes a root prefix (vd_rt.host_root at run time, a fixture tree in
 * tests) and returns 0 or a negative errno; none logs above debug. Results are
 * malloc'ed and freed with the matching *_free() (which accepts NULL). Nothing here
 * knows XML-RPC. */
#ifndef VD_CPU_H
#define VD_CPU_H

#include <stdbool.h>
#include <stddef.h>

#include "../vdsm-c/util/error.h"
#include "../vdsm-c/util/macros.h"

/* ---- /proc/cpuinfo (cpuinfo.c) ---- */

struct cpu_info {
	char vendor[64];        /* vendor_id: GenuineIntel, AuthenticAMD, ... */
	char model_name[128];   /* "model name" of the first CPU */
	char speed[32];         /* "cpu MHz" of the first CPU as the kernel wrote it, "" if absent */
	int family, model, stepping;   /* -1 when absent */
	int sockets;            /* distinct physical ids */
	int cores;              /* distinct (physical id, core id) pairs */
	int threads;            /* logical CPUs listed */
	char *online;           /* online CPUs as "0,1,2,3" (sys/devices/system/cpu/online) */
	char **flags;           /* flags of the first CPU, NULL-terminated, kernel order */
	size_t n_flags;
};

int cpu_info_read(const char *root, struct cpu_info **ret) _wur_;
/* Parses cpuinfo text; online_list is the kernel's range list ("0-3,6") or NULL
 * (then the processor numbers of cpuinfo are used). */
int cpu_info_parse(const char *text, const char *online_list, struct cpu_info **ret) _wur_;
void cpu_info_free(struct cpu_info *ci);
DEFINE_CLEANUP(struct cpu_info, cpu_info_free)
bool cpu_info_has_flag(const struct cpu_info *ci, const char *flag);

/* Kernel CPU list ("0-3,8,10-11") → sorted array of ids. Returns 0 or -EINVAL/-ENOMEM. */
int cpu_list_parse(const char *s, int **ret, size_t *ret_n) _wur_;

/* ---- /proc/meminfo (meminfo.c); every value in KiB, -1 when the key is absent ---- */

struct cpu_meminfo {
	long long total, free, available, buffers, cached, shmem, sreclaimable;
	long long swap_total, swap_free, anon_huge_pages, committed_as;
};

int cpu_meminfo_parse(const char *text, struct cpu_meminfo *ret) _wur_;
int cpu_meminfo_read(const char *root, struct cpu_meminfo *ret) _wur_;

/* ---- NUMA topology (numa.c), /sys/devices/system/node ---- */

struct cpu_numa_node {
	int id;
	int *cpus;
	size_t n_cpus;
	long long total_kib, free_kib;
	int *distance;          /* one entry per node, in node order */
	size_t n_distance;
};

struct cpu_numa {
	size_t n_nodes;
	struct cpu_numa_node *nodes;   /* sorted by id */
};

/* Reads every node; a kernel without NUMA sysfs yields one node 0 holding the online
 * CPUs and /proc/meminfo totals, distance [10]. */
int cpu_numa_read(const char *root, struct cpu_numa **ret) _wur_;
void cpu_numa_free(struct cpu_numa *n);
DEFINE_CLEANUP(struct cpu_numa, cpu_numa_free)
/* Node of a CPU, or -1. */
int cpu_numa_node_of(const struct cpu_numa *n, int cpu);

/* ---- /proc/stat (procstat.c) ---- */

struct cpu_times {
	unsigned long long user, nice, sys, idle, iowait, irq, softirq, steal;
};

struct cpu_stat {
	struct cpu_times total;
	size_t n_cpus;
	int *ids;               /* cpuN numbers, in file order */
	struct cpu_times *cpus;
	long long btime;        /* boot time, epoch seconds (-1 if absent) */
};

int cpu_stat_parse(const char *text, struct cpu_stat **ret) _wur_;
int cpu_stat_read(const char *root, struct cpu_stat **ret) _wur_;
void cpu_stat_free(struct cpu_stat *s);
DEFINE_CLEANUP(struct cpu_stat, cpu_stat_free)

/* Percentages of one CPU (or of all, for the total line) between two readings:
 * user = user+nice, sys = system+irq+softirq, idle = 100 - user - sys (never < 0).
 * Uses shares of the elapsed jiffies, so it does not depend on USER_HZ. A zero
 * interval gives 0/0/100. */
void cpu_times_percent(const struct cpu_times *a, const struct cpu_times *b, double *ret_user,
		       double *ret_sys, double *ret_idle);

/* ---- KVM (kvm.c) ---- */

/* Opens dev_path (normally <host_root>/dev/kvm) read-write and asks KVM_GET_API_VERSION.
 * Returns the API version (12 for every kernel since 2.6.22), or -errno when the device
 * is absent or cannot be opened, or -ENOTTY when it does not answer the ioctl. */
int cpu_kvm_probe(const char *dev_path) _wur_;

/* ---- libvirt capabilities (virtcaps.c: parsing; libvirt.c: querying) ---- */

struct cpu_virt_model {
	char *name;             /* libvirt model name, e.g. "Haswell-noTSX" */
	char *vendor;           /* "Intel", "AMD", "unknown" */
	bool usable;            /* domcapabilities usable='yes' */
};

struct cpu_virt {
	char *arch;             /* host arch from capabilities, e.g. "x86_64" */
	char *domain_type;      /* domcapabilities <domain>: "kvm" or "qemu" */
	char **machines;        /* emulatedMachines (names and aliases), NULL-terminated */
	size_t n_machines;
	char *host_model;       /* host-model mode: base model, vendor, features */
	char *host_vendor;
	char **host_required;   /* features policy='require' */
	size_t n_host_required;
	char **host_disabled;   /* features policy='disable' */
	size_t n_host_disabled;
	struct cpu_virt_model *models;   /* custom mode models, in libvirt's order */
	size_t n_models;
	unsigned long hv_version;   /* virConnectGetVersion (qemu), major*1e6+minor*1e3+rel */
	unsigned long lib_version;  /* virConnectGetLibVersion */
};

/* Parses virConnectGetCapabilities XML into arch and machines (the host arch's guest
 * machines of every domain type, names and aliases, without duplicates). */
int cpu_virt_parse_caps(const char *xml, struct cpu_virt *v) _wur_;
/* Parses virConnectGetDomainCapabilities XML into domain_type, host-model, models. */
int cpu_virt_parse_domcaps(const char *xml, struct cpu_virt *v) _wur_;
/* Connects to uri, reads both XMLs and both versions, disconnects. May block for as
 * long as libvirtd takes to answer (its first domcapabilities call probes qemu, a few
 * seconds): call it from a module thread, never from an RPC thread. On failure
 * returns -errno with err set (VD_ERR_GENERAL, libvirt's message). */
int cpu_virt_query(const char *uri, struct cpu_virt **ret, struct vd_error *err) _wur_;
void cpu_virt_free(struct cpu_virt *v);
DEFINE_CLEANUP(struct cpu_virt, cpu_virt_free)
/* Usable model names ("model_" not included), in libvirt's order; borrowed pointers
 * into v, array freed by the caller. */
int cpu_virt_usable_models(const struct cpu_virt *v, const char ***ret, size_t *ret_n) _wur_;

/* ---- libvirt's CPU map and the cluster CPU check (cpumap.c) ---- */

struct cpu_map;

/* Loads the models and their features of one arch family ("x86", "ppc64", "arm")
 * from dir/index.xml and its includes (libvirt's cpu_map directory). */
int cpu_map_load(const char *dir, const char *arch, struct cpu_map **ret) _wur_;
void cpu_map_free(struct cpu_map *m);
DEFINE_CLEANUP(struct cpu_map, cpu_map_free)
/* Arch family of a libvirt arch name: x86_64/i686 → "x86", ppc64(le) → "ppc64",
 * aarch64 → "arm"; NULL if unknown. */
const char *cpu_map_arch_family(const char *arch);
/* Features of a model, parents expanded, sorted; borrowed from m, NULL-terminated. */
int cpu_map_model_features(const struct cpu_map *m, const char *model, const char *const **ret,
			   size_t *ret_n) _wur_;

/* Compares this host with a cluster CPU model (libvirt name, "model_" prefix
 * accepted). ret_missing (caller frees the array and its strings) gets the model's
 * features the host cannot give a guest: the model's features minus those of the
 * host-model CPU libvirt reported (its base model's features plus the required ones,
 * less the disabled ones). Compatibility is libvirt's own verdict (usable='yes') when
 * the model is listed, else an empty missing list.
 * Returns 1 compatible, 0 incompatible, -ENOENT unknown model, other -errno. */
int cpu_compare_model(const struct cpu_map *m, const struct cpu_virt *v, const char *model,
		      char ***ret_missing, size_t *ret_n) _wur_;

void cpu_strv_free(char **v);

#endif
