/* storage/fc: Fibre Channel HBAs and the SCSI rescan after connectStorageServer
 * (API.md §5.5: FCP connect = rescan of the HBAs, bounded by
 * irs.scsi_rescan_maximal_timeout). The HBAs are /sys/class/fc_host/hostN; a rescan
 * writes "- - -" (all channels, targets, LUNs) to /sys/class/scsi_host/hostN/scan.
 * That write blocks in the kernel while the HBA scans, for as long as the fabric
 * takes: each host is scanned by its own thread, the caller waits for all of them
 * until the deadline and leaves the ones still scanning behind (they end when the
 * kernel returns; nothing they touch is freed before). The sysfs root is a
 * parameter, so the unit test runs on a fixture tree. */
#ifndef VD_STG_FC_H
#define VD_STG_FC_H

#include <stddef.h>

#include "../vdsm-c/util/macros.h"

struct stg_fc_host {
	char host[32];            /* "host3" */
	char port_name[32];       /* WWPN, "0x21000024ff3a1b2c" */
	char node_name[32];       /* WWNN */
	char port_state[32];      /* "Online", "Linkdown", ... ("" unknown) */
	char speed[32];           /* "16 Gbit", "unknown" */
};

/* The FC HBAs under <root>/sys/class/fc_host (root "" or "/" = the host), sorted by
 * host number. Returns their number with *ret malloc'ed (NULL when none), or a
 * negative errno other than -ENOENT (no fc_host class = no HBA = 0). */
int stg_fc_hosts(const char *root, struct stg_fc_host **ret) _wur_;

struct stg_fc_scan {
	size_t hosts;             /* HBAs found */
	size_t done;              /* scans that returned within the timeout */
	size_t failed;            /* scans whose write failed (errno logged) */
};

/* Rescans every FC HBA's SCSI host, all in parallel, waiting at most timeout seconds
 * in all. Returns 0 with *ret filled (timed-out scans = hosts - done - failed), or a
 * negative errno when the HBAs cannot be listed. */
int stg_fc_rescan(const char *root, double timeout, struct stg_fc_scan *ret) _wur_;

/* Module options (storage_module_start): the sysfs root and
 * irs.scsi_rescan_maximal_timeout. */
struct stg_fc_opts {
	const char *sysroot;
	double rescan_timeout;
};
int stg_fc_start(const struct stg_fc_opts *o) _wur_;
void stg_fc_stop(void);
/* stg_fc_rescan with the module's options (connectStorageServer, domType FCP). */
int stg_fc_connect(struct stg_fc_scan *ret) _wur_;

#endif
