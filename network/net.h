/* network/: the host's network devices as the agent reports and (later) changes them.
 *
 * Read side (this header): a snapshot of every link, its addresses, default gateways
 * and kind-specific facts (bridge ports/STP/options, VLAN id/base, bond slaves/options/
 * active slave), taken from libnl-route-3 caches that follow the kernel's rtnetlink
 * events, plus sysfs for what netlink does not carry (link speed, bridge and bond
 * option files). A snapshot is immutable and refcounted, so the caps verb, the stats
 * sampler and a future setupNetworks planner can hold one without locks.
 *
 * Freshness: net_sync() reads the pending rtnetlink events (non-blocking) before a
 * snapshot is built or reused; the kernel queues the event before the change's syscall
 * returns, so a snapshot taken after a change always shows it. Each batch of events
 * that changed something bumps net_generation(). Nothing here knows XML-RPC. */
#ifndef VD_NET_H
#define VD_NET_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../vdsm-c/util/macros.h"

enum net_kind {
	NET_KIND_NIC,           /* a physical NIC, or a fake one (dummy, veth) listed in fake_nics */
	NET_KIND_BRIDGE,
	NET_KIND_VLAN,
	NET_KIND_BOND,
	NET_KIND_OTHER,         /* loopback, tun, ifb, unlisted dummy/veth, ...: not reported */
	_NET_KIND_MAX,
};

const char *net_kind_to_string(enum net_kind k);

struct net_addr {
	int family;                     /* AF_INET or AF_INET6 */
	char addr[INET6_ADDRSTRLEN];
	int prefixlen;
	bool dynamic;                   /* not IFA_F_PERMANENT: has a lease lifetime */
	bool link_local;
	bool secondary;                 /* IFA_F_SECONDARY */
};

/* key=value from sysfs (bridge options, bond options); both strings owned. */
struct net_opt {
	char *key;
	char *value;
};

/* An HFSC service curve as the kernel keeps it (bytes/s, µs). */
struct net_tc_curve {
	bool set;
	uint32_t m1, d, m2;
};

/* A class under the hostQos root qdisc hfsc 1389: (NETSHAPE_ROOT) of a device:
 * minor = VLAN tag or 0x1388 (the default class); c[] in the order ls (fsc), ul (usc),
 * rt (rsc). */
struct net_tc_class {
	uint32_t minor;
	struct net_tc_curve c[3];
};

struct net_dev {
	char name[IFNAMSIZ];
	int ifindex;
	enum net_kind kind;
	char type[16];                  /* rtnetlink link kind ("" for physical) */
	char hwaddr[18];                /* aa:bb:cc:dd:ee:ff, "" if none */
	char permhwaddr[18];            /* bond slaves: the NIC's own address */
	int mtu;
	bool up;                        /* IFF_UP */
	bool carrier;                   /* IFF_LOWER_UP */
	char operstate[16];             /* up, down, unknown, dormant, ... */
	int speed;                      /* Mb/s from sysfs, 0 when unknown */
	int master;                     /* ifindex of the bridge/bond it is enslaved to, 0 */
	char master_name[IFNAMSIZ];
	/* vlan */
	int vlan_id;
	char vlan_base[IFNAMSIZ];
	/* bridge */
	bool stp;
	/* bridge ports / bond slaves, sorted */
	char **ports;
	size_t n_ports;
	/* bond */
	char active_slave[IFNAMSIZ];
	/* bridge: every readable file of <sysfs>/bridge; bond: the options that differ
	 * from the kernel default, plus mode and miimon (numeric values) */
	struct net_opt *opts;
	size_t n_opts;
	struct net_addr *addrs;         /* IPv4 first (primary first), then IPv6 */
	size_t n_addrs;
	char gateway[INET_ADDRSTRLEN];  /* default IPv4 route through this device, "" */
	char ipv6gateway[INET6_ADDRSTRLEN];   /* "::" when none (VDSM convention) */
	bool dhcpv4, dhcpv6;
	bool hidden;                    /* hidden by fake_nics/hidden_bonds/hidden_vlans */
	/* hostQos classes under hfsc 1389: (NET_DETAIL_FULL only), by minor */
	struct net_tc_class *tc_classes;
	size_t n_tc_classes;
};

struct net_snapshot {
	atomic_int ref;
	unsigned long generation;
	size_t n_devs;
	struct net_dev *devs;           /* sorted by name */
};

/* Which devices to hide (API.md §5.1): comma-separated shell globs. fake_nics lists
 * the dummy/veth names that count as NICs; every other dummy/veth is hidden. */
struct net_filter {
	const char *fake_nics;
	const char *hidden_bonds;
	const char *hidden_vlans;
};

/* True when name matches one of the comma-separated globs in list. */
bool net_glob_list_match(const char *list, const char *name);

/* Opens the rtnetlink socket and fills the link, address and route caches.
 * Returns 0 or -errno. Idempotent. */
int net_monitor_start(void) _wur_;
void net_monitor_stop(void);
/* Module-table wrappers (log the failure). */
int net_module_start(void) _wur_;
void net_module_stop(void);

/* Applies pending rtnetlink events; resynchronises everything after an overflow.
 * Non-blocking. Returns the generation afterwards. */
unsigned long net_sync(void);
unsigned long net_generation(void);

/* The current snapshot (after net_sync()), built anew only when the generation
 * changed or the filter differs. sysroot prefixes /sys (vd_rt.host_root). Returns 0
 * and a reference (release with net_snapshot_unref) or -errno (-ENOTCONN before
 * net_monitor_start). Reads sysfs when it rebuilds; never blocks on the network. */
int net_snapshot_get(const struct net_filter *f, const char *sysroot, struct net_snapshot **ret) _wur_;
/* How much of sysfs a snapshot reads (the rtnetlink facts are always there). */
enum net_detail {
	NET_DETAIL_FULL,        /* everything (getVdsCapabilities) */
	NET_DETAIL_STATS,       /* no bridge option files (~40 per bridge), no STP */
	NET_DETAIL_NETLINK,     /* no sysfs at all: no speed, bond options, permhwaddr */
	_NET_DETAIL_MAX,
};
/* net_snapshot_get at a level: a current cached snapshot of that level or a more
 * detailed one serves; each level has its own cache slot. */
int net_snapshot_get_level(const struct net_filter *f, const char *sysroot,
			   enum net_detail level, struct net_snapshot **ret) _wur_;
struct net_snapshot *net_snapshot_ref(struct net_snapshot *s);
void net_snapshot_unref(struct net_snapshot *s);
DEFINE_CLEANUP(struct net_snapshot, net_snapshot_unref)

/* Lookup by name in a snapshot; NULL if absent. */
const struct net_dev *net_snapshot_find(const struct net_snapshot *s, const char *name);

/* ---- building blocks, exposed for tests and the planner ---- */

struct nl_cache;
/* Builds a snapshot from libnl caches (links required; addresses and routes may be
 * NULL) and sysfs under sysroot. */
int net_snapshot_build(struct nl_cache *links, struct nl_cache *addrs, struct nl_cache *routes,
		       const struct net_filter *f, const char *sysroot, unsigned long generation,
		       struct net_snapshot **ret) _wur_;

/* sysfs readers (sysfs.c); dev is an interface name, sysroot the /sys prefix root.
 * Best effort (a device can vanish between the netlink dump and the read): on -errno
 * the fields keep their defaults, and the snapshot goes on without them. */
int net_sysfs_speed(const char *sysroot, const char *dev);          /* Mb/s, 0 unknown */
int net_sysfs_bridge(const char *sysroot, struct net_dev *d);       /* stp, opts */
int net_sysfs_bond(const char *sysroot, struct net_dev *d);         /* opts, active_slave */
/* Permanent address of a bond slave from <sysroot>/proc/net/bonding/<bond>. */
int net_bond_slave_permaddr(const char *sysroot, const char *bond, const char *slave,
			    char ret[18]) _wur_;

/* The same with only the sysfs reads of level (NET_DETAIL_FULL: net_snapshot_build). */
int net_snapshot_build_level(struct nl_cache *links, struct nl_cache *addrs,
			     struct nl_cache *routes, const struct net_filter *f,
			     const char *sysroot, enum net_detail level, unsigned long generation,
			     struct net_snapshot **ret) _wur_;

void net_dev_clear(struct net_dev *d);

struct nl_sock;
/* Adds the HFSC classes of every device whose root qdisc is hfsc 1389: to s: one
 * qdisc dump, then one class dump per such device. 0 or a negative errno. */
int net_snapshot_read_tc(struct nl_sock *sk, struct net_snapshot *s) _wur_;
/* The class minor of dev in s, or NULL. */
const struct net_tc_class *net_dev_tc_class(const struct net_dev *d, uint32_t minor);

#endif
