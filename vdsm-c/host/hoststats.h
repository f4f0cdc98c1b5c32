/* Host statistics sampler (getVdsStats, API.md §5.1).
 *
 * One thread samples the host every vars.host_sample_stats_interval seconds (default
 * 2): /proc/stat, /proc/meminfo, /proc/loadavg, per-NIC counters, NUMA free memory,
 * KSM, THP, free space of the watched directories, and the VM counts from the VM
 * module's callback. Each sample is an immutable, refcounted object; getVdsStats
 * converts the latest one and does no I/O (DESIGN.md "Samplers").
 *
 * Rates and percentages are computed between two consecutive samples, as VDSM does:
 * cpuUser/cpuSys in percent of all CPUs, NIC rx/txRate in percent of the link speed
 * (1000 Mb/s when the speed is unknown). The first sample has zero rates. */
#ifndef VD_HOSTSTATS_H
#define VD_HOSTSTATS_H

#include "../../network/net.h"

#include <net/if.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include "../util/macros.h"

/* Filled by the VM module's callback; every field the module does not know stays 0. */
struct hoststats_vm_counts {
	int total;                   /* vmCount: every VM the agent knows */
	int active;                  /* vmActive: status Up */
	int migrating;               /* vmMigrating: incoming + outgoing */
	int incoming;                /* incomingVmMigrations */
	int outgoing;                /* outgoingVmMigrations */
	long long mem_committed_mib; /* sum of (memSize + guest_ram_overhead) of running VMs */
	long long rss_mib;           /* sum of the qemu processes' resident memory */
};

/* Registers the VM counter. It is called from the sampler thread once per interval,
 * with *out zeroed; it must not block (read the VM registry, no libvirt calls that
 * wait). NULL unregisters (counts become 0); once that call returns the callback is
 * not running and will not run again. The callback runs under the hook's lock, so do
 * not call hoststats_set_vm_counter() while holding a lock the callback takes. */
void hoststats_set_vm_counter(void (*fn)(struct hoststats_vm_counts *out));

/* Module entry points (vdsm-c/modules.c). start takes a first sample synchronously,
 * so getVdsStats has data once the agent is ready, then starts the thread. */
struct hoststats_opts {
	const char *host_root;        /* prefix of /proc, /sys, disk paths ("" = /) */
	const char *state_root;       /* prefix of /run/vdsm-c ("" = /) */
	int interval;                 /* seconds between samples */
	int host_mem_reserve;         /* MiB */
	struct net_filter filter;     /* which network devices are reported */
};
/* o is copied; its strings must outlive the module (the config does). */
int hoststats_start(const struct hoststats_opts *o) _wur_;
void hoststats_stop(void);

struct hoststats_nic {
	char name[IFNAMSIZ];
	int speed;                   /* Mb/s used for rates: link speed, or 1000 if unknown */
	bool up;                     /* operstate up (or unknown with carrier) */
	double rx_rate, tx_rate;     /* percent of speed, capped at 100 */
	unsigned long long rx, tx;   /* byte counters */
	unsigned long long rx_dropped, tx_dropped, rx_errors, tx_errors;
	double sample_time;          /* monotonic seconds */
};

struct hoststats_cpu {
	int id;
	int node;                    /* NUMA node of the CPU */
	double user, sys, idle;      /* percent of this CPU */
};

struct hoststats_numa {
	int node;
	long long mem_free_mib;
	int mem_percent;             /* used percent of the node's memory */
};

struct hoststats_disk {
	char *path;                  /* watched directory as reported (host path) */
	long long free_bytes;
};

/* One sample; immutable once published. Get it with hoststats_sample_get(). */
struct hoststats_sample {
	atomic_int ref;
	double mono;                 /* monotonic time of the sample, seconds */
	double interval;             /* seconds since the previous sample (0 = first) */
	double cpu_user, cpu_sys, cpu_idle;   /* percent of all CPUs */
	double cpu_load;             /* 5-minute load average */
	double cpu_user_vdsmd, cpu_sys_vdsmd; /* the agent's own CPU, percent of one CPU */
	int mem_used;                /* percent of RAM used */
	long long mem_total_mib, mem_available_mib, mem_committed_mib, mem_free_mib;
	long long mem_shared_mib;    /* KSM pages_sharing in MiB */
	long long swap_total_mib, swap_free_mib;
	long long anon_huge_pages_mib;
	bool ksm_state;              /* /sys/kernel/mm/ksm/run == 1 */
	long long ksm_pages;         /* pages_to_scan */
	int ksm_cpu;                 /* ksmd CPU percent of one CPU */
	bool ksm_merge_across_nodes;
	char thp_state[16];          /* always | madvise | never | "" */
	long long boot_time;         /* epoch seconds */
	struct hoststats_vm_counts vms;
	double rx_rate, tx_rate;     /* host aggregate, percent of the summed link speeds */
	unsigned long long rx_dropped, tx_dropped;
	size_t n_nics, n_cpus, n_numa, n_disks;
	struct hoststats_nic *nics;
	struct hoststats_cpu *cpus;
	struct hoststats_numa *numa;
	struct hoststats_disk *disks;
};

/* The latest sample with a reference taken (never blocks on I/O), or NULL before the
 * first sample. Release with hoststats_sample_unref(). */
struct hoststats_sample *hoststats_sample_get(void);
void hoststats_sample_unref(struct hoststats_sample *s);   /* accepts NULL */

/* Bumped each time a sample is published (0 before the first): a reply built from the
 * latest sample stays valid while this is unchanged. Never blocks. */
unsigned long hoststats_generation(void);

#endif
