/* hoststats internals: one raw reading of the host and the computation of a sample
 * from two readings (hoststats_calc.c, pure and testable on fixture trees). */
#ifndef VD_HOSTSTATS_INTERNAL_H
#define VD_HOSTSTATS_INTERNAL_H

#include "hoststats.h"
#include "../../cpu/cpu.h"
#include "../util/macros.h"

struct hs_nic_raw {
	char name[IFNAMSIZ];
	int speed;                   /* Mb/s, 0 unknown */
	bool up;
	bool have_counters;          /* found in /proc/net/dev */
	unsigned long long rx, tx, rx_dropped, tx_dropped, rx_errors, tx_errors;
};

struct hs_raw {
	double mono;
	struct cpu_stat *stat;
	struct cpu_meminfo mem;
	double load5;
	struct cpu_numa *numa;
	unsigned long long self_ticks_user, self_ticks_sys;
	long long ksmd_ticks;        /* -1 without ksmd */
	bool ksm_run, ksm_merge;
	long long ksm_pages_to_scan, ksm_pages_sharing;
	char thp[16];
	size_t n_nics;
	struct hs_nic_raw *nics;
	size_t n_disks;
	struct hoststats_disk *disks;
	struct hoststats_vm_counts vms;
};

struct hs_params {
	const char *root;            /* host facts prefix (/proc, /sys) */
	const char *const *disk_paths;   /* reported paths, NULL-terminated */
	const char *const *disk_real;    /* where to statvfs them, same order */
	int ksmd_pid;                /* 0 = none */
	int host_mem_reserve;        /* MiB */
	long clk_tck;
	long page_size;
};

/* Reads everything but the NIC list, which the caller passes (names, speeds, states:
 * the network snapshot in the agent, a fixture in tests). Copies nics. */
int hs_raw_read(const struct hs_params *p, const struct hs_nic_raw *nics, size_t n_nics,
		struct hs_raw *ret) _wur_;
void hs_raw_clear(struct hs_raw *r);

/* Fills the counters of the named NICs from /proc/net/dev text. */
void hs_netdev_parse(const char *text, struct hs_nic_raw *nics, size_t n);
/* "[always] madvise never" → "always" */
void hs_thp_parse(const char *text, char *out, size_t size);
/* ksmd's utime+stime from /proc/<pid>/stat text, -1 on error */
long long hs_proc_ticks(const char *text, unsigned long long *ret_user, unsigned long long *ret_sys);
/* PID of the kernel thread named comm under <root>/proc, 0 if none */
int hs_find_kthread(const char *root, const char *comm) _wur_;

/* A new sample (ref 1) from two readings; prev NULL for the first (zero rates). */
struct hoststats_sample *hs_compute(const struct hs_params *p, const struct hs_raw *prev,
				    const struct hs_raw *cur);

#endif
