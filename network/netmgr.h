/* The network configuration manager (netmgr.c): running/safe configurations, the
 * single-flight setupNetworks transaction with connectivity-check rollback,
 * setSafeNetworkConfig, and the restore of the safe configuration at start. */
#ifndef VD_NETMGR_H
#define VD_NETMGR_H

#include <stdbool.h>

#include "netconf.h"

struct netmgr_opts {
	const char *state_root;         /* prefix of /var/lib/vdsm-c/netconf */
	const char *sysroot;            /* prefix of /sys */
	struct net_filter filter;
	/* monotonic seconds of the manager's last call (the dispatcher's "client seen") */
	double (*client_seen)(void);
	const char *dhcp_client;        /* dhcpcd path (bootproto dhcp) */
	int dhcp_timeout;               /* seconds a blockingdhcp network waits for a lease */
	/* TEST ONLY (env VDSMC_TEST_NET_KILL_AT_STEP): setupNetworks raises SIGKILL before
	 * applying step k; -1 = off. */
	int stop_after_step;
};

struct netmgr_check {
	bool enabled;
	int timeout;                    /* seconds */
};

/* Loads the persisted configurations and, when a setupNetworks did not finish or
 * running differs from safe, restores safe in the kernel; then (re)starts the DHCP
 * client of every running network with bootproto dhcp (in the background). Returns 0
 * or -1 (logged). */
int netmgr_start(const struct netmgr_opts *o);
void netmgr_stop(void);

/* setupNetworks: merge, validate, apply, connectivity check, persist running. Returns
 * 0, or -1 with err set (40 busy, 21–31 validation, 29 apply failure after rollback,
 * 10 connectivity check failed after rollback); the kernel is unchanged on failure. */
int netmgr_setup(const struct netconf *req, const struct netmgr_check *check,
		 struct vd_error *err) _wur_;
/* setSafeNetworkConfig: running → safe. 0 or -1 with err set (40 busy). */
int netmgr_set_safe(struct vd_error *err) _wur_;

/* A copy of the running configuration (empty before start); 0 or -1 (out of memory). */
int netmgr_running_copy(struct netconf *ret) _wur_;
bool netmgr_dirty(void);               /* running ≠ safe (netConfigDirty) */
unsigned long netmgr_generation(void); /* bumped by every change of running/safe */

#endif
