/* network/ apply side: the host network configuration the manager asks for
 * (setupNetworks, API.md §5.4), its validation, the planner that turns
 * (kernel snapshot + running config + request) into ordered steps with their undo,
 * the libnl applier, and the persisted running/safe copies.
 *
 * Nothing here knows XML-RPC: vdsm-c/verbs/network.c turns the wire structs into
 * attribute strings (netconf_net_set / netconf_bond_set), the same setters the
 * persisted text goes through (netconf_parse). */
#ifndef VD_NETCONF_H
#define VD_NETCONF_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>

#include "../vdsm-c/util/error.h"
#include "../vdsm-c/util/macros.h"
#include "net.h"

#define NETCONF_BOND_OPTS_MAX 256
#define NETCONF_BOND_NICS_MAX 32
#define NETCONF_MTU_DEFAULT 1500

/* hostQos (API.md §5.4): outbound HFSC service curves of the network's class on its
 * underlying device. Rates in bit/s as the manager sends them (VDSM passes them to
 * tc as "bit"), d in µs. ls is required; ul needs ls (the kernel refuses an upper
 * limit without a link-share curve); rt m2 may not exceed ul m2. */
enum { NETQOS_LS, NETQOS_UL, NETQOS_RT, NETQOS_N };
#define NETQOS_RATE_MAX 34359738360ULL   /* UINT32_MAX bytes/s, the kernel's limit */

struct netqos_curve {
	bool set;
	unsigned long long m1, m2;      /* bit/s */
	unsigned long long d;           /* µs */
};

struct netqos {
	bool set;
	struct netqos_curve c[NETQOS_N];
};

/* Text form, used on the persisted text and built by the verb from the wire struct:
 * "ls:M1,D,M2 ul:M1,D,M2 rt:M1,D,M2" (curves in any order, each at most once;
 * "" = no hostQos). Checks every value and the rules above; 0 or -1 with err (21)
 * naming network and curve. */
int netqos_parse(const char *net, const char *text, struct netqos *ret,
		 struct vd_error *err) _wur_;
/* The canonical text (ls, ul, rt order) into buf; "" when q->set is false. */
void netqos_format(const struct netqos *q, char *buf, size_t size);
extern const char *const netqos_curve_names[NETQOS_N];
/* A curve in the kernel's units (bytes/s, at least 1 for m2). */
void netqos_to_kernel(const struct netqos_curve *c, struct net_tc_curve *k);
/* The hostQos a kernel class k stands for: a curve that is what cfg's maps to is
 * reported as cfg has it (the kernel keeps bytes/s: 50 bit/s is 6 bytes/s), any other
 * as the kernel has it (bit/s = 8 × bytes/s). ret->set false: k has no curve. */
void netqos_from_kernel(const struct net_tc_class *k, const struct netqos *cfg,
			struct netqos *ret);

/* One logical network: optional bridge (named like the network) over an optional
 * VLAN device over a NIC or a bond. */
struct netconf_net {
	char name[IFNAMSIZ];
	bool remove;
	char nic[IFNAMSIZ];
	char bonding[IFNAMSIZ];
	int vlan;                       /* -1: untagged */
	bool bridged;                   /* default true */
	bool stp;
	int mtu;                        /* 0: not given (NETCONF_MTU_DEFAULT) */
	char ipaddr[INET_ADDRSTRLEN];
	int prefix;                     /* IPv4 prefix length, -1 unset */
	char gateway[INET_ADDRSTRLEN];
	char ipv6addr[INET6_ADDRSTRLEN];
	int ipv6prefix;                 /* -1 unset (64 when an address is given) */
	char ipv6gateway[INET6_ADDRSTRLEN];
	bool default_route;
	char bridge_opts[NETCONF_BOND_OPTS_MAX];   /* custom bridge_opts, normalised "k=v k=v" */
	bool dhcpv4;                    /* bootproto dhcp: a DHCP client on the top device */
	bool dhcpv6;                    /* dhcpv6: a DHCPv6 client on the top device */
	bool ipv6autoconf;              /* SLAAC: accept_ra and autoconf set on the top device */
	bool blocking_dhcp;             /* blockingdhcp: the call waits for the first lease(s) */
	struct netqos qos;              /* hostQos */
	unsigned seen;                  /* NETCONF_A_* bits: attributes given */
};

struct netconf_bond {
	char name[IFNAMSIZ];
	bool remove;
	char nics[NETCONF_BOND_NICS_MAX][IFNAMSIZ];
	size_t n_nics;
	char options[NETCONF_BOND_OPTS_MAX];   /* normalised "mode=N key=value ..." */
	unsigned seen;
};

/* A configuration: the desired networks and bonds (persisted), or a request. */
struct netconf {
	struct netconf_net *nets;
	size_t n_nets;
	struct netconf_bond *bonds;
	size_t n_bonds;
};

enum {
	NETCONF_A_REMOVE = 1 << 0,
	NETCONF_A_OTHER = 1 << 1,       /* any attribute except remove and custom */
	NETCONF_A_NICS = 1 << 2,
	NETCONF_A_OPTIONS = 1 << 3,
};

void netconf_free(struct netconf *c);

/* Adds (or finds) the entry called name; the name is checked (27 networks, 25 bonds).
 * Returns 0 or -1 with err set. */
int netconf_add_net(struct netconf *c, const char *name, struct netconf_net **ret,
		    struct vd_error *err) _wur_;
int netconf_add_bond(struct netconf *c, const char *name, struct netconf_bond **ret,
		     struct vd_error *err) _wur_;

/* One attribute from the wire or the persisted text, validated in itself (syntax,
 * ranges; the code API.md §4.2 names and a message naming network and attribute).
 * Unknown keys are refused (21), except `custom` which the verb skips. */
int netconf_net_set(struct netconf_net *n, const char *key, const char *value,
		    struct vd_error *err) _wur_;
int netconf_bond_set(struct netconf_bond *b, const char *key, const char *value,
		     struct vd_error *err) _wur_;
int netconf_bond_add_nic(struct netconf_bond *b, const char *nic, struct vd_error *err) _wur_;

const struct netconf_net *netconf_find_net(const struct netconf *c, const char *name);
const struct netconf_bond *netconf_find_bond(const struct netconf *c, const char *name);

/* The networks and bonds of c the kernel (snapshot s, NET_DETAIL_FULL for bond modes
 * and hostQos) does not carry as configured: device missing or of another kind, VLAN
 * id/base, bond slaves/mode, bridge port, MTU, static addresses, hostQos. A network
 * over a drifted bond drifts too. The reasons, "; "-separated, appended to report
 * (a log text, not an error). 0, or -1 with err (out of memory). Pure
 * (network/netdrift.c). */
struct util_buf;
int netconf_drift(const struct net_snapshot *s, const struct netconf *c, struct netconf *ret,
		  struct util_buf *report, struct vd_error *err) _wur_;

/* Checks each request entry in itself (remove alone, nic xor bonding, gateway needs an
 * address, bond nics given) and merges it into a copy of running: the configuration
 * after the call. Returns 0 or -1 with err set. */
int netconf_merge(const struct netconf *running, const struct netconf *req,
		  struct netconf *ret, struct vd_error *err) _wur_;

/* Validates a whole configuration c (the running one after the call; old before it)
 * against the kernel (NICs exist, are not shared, bonds known, names free). Pure:
 * reads only the snapshot. */
int netconf_validate(const struct netconf *c, const struct netconf *old,
		     const struct net_snapshot *s, struct vd_error *err) _wur_;

/* Persisted text: one line per network or bond, `net NAME key=value ...` /
 * `bond NAME nics=a,b options=mode%3D4%20miimon%3D100`; values %-escaped. The text
 * is untrusted (read back at start): every value goes through the setters above. */
int netconf_format(const struct netconf *c, char **ret);
int netconf_parse(const char *text, size_t len, struct netconf *ret, struct vd_error *err) _wur_;
bool netconf_equal(const struct netconf *a, const struct netconf *b);

/* Names of the networks and bonds a request touches, "a,b,bond0", for the audit line. */
void netconf_names(const struct netconf *req, char *buf, size_t size);

/* ---- planner (netplan.c) ---- */

enum netstep_op {
	NETSTEP_LINK_ADD,       /* kind bridge/vlan/bond: name, base, vlan, bond options */
	NETSTEP_LINK_DEL,
	NETSTEP_SET_MASTER,     /* dev → master ("" = release) */
	NETSTEP_SET_MTU,
	NETSTEP_SET_UP,         /* dev up (value 1) or down (0) */
	NETSTEP_SET_STP,        /* bridge stp on/off (sysfs bridge/stp_state) */
	NETSTEP_ADDR_ADD,       /* dev, family, addr/prefix */
	NETSTEP_ADDR_DEL,
	NETSTEP_ROUTE_ADD,      /* default route via gw on dev */
	NETSTEP_ROUTE_DEL,
	NETSTEP_DHCP_START,     /* DHCP client on dev; value: NETSTEP_DHCP_* flags */
	NETSTEP_DHCP_STOP,      /* release the lease, stop the client (value: its flags) */
	NETSTEP_AUTOCONF6,      /* <proc>/sys/net/ipv6/conf/dev/{accept_ra,autoconf} = value */
	NETSTEP_QOS_ROOT_ADD,   /* hfsc 1389: on dev, default class 1388 with qos (its ls) */
	NETSTEP_QOS_ROOT_DEL,   /* qos: the default class to recreate on undo */
	NETSTEP_QOS_CLASS_ADD,  /* class 1389:<vlan> on dev with qos, leaf, filter */
	NETSTEP_QOS_CLASS_DEL,  /* qos: the curves to recreate on undo */
};

enum {
	NETSTEP_DHCP_WAIT = 1 << 0,     /* wait for the first lease (blockingdhcp) */
	NETSTEP_DHCP_GATEWAY = 1 << 1,  /* the lease's router becomes the default route */
	NETSTEP_DHCP_V6 = 1 << 2,       /* the DHCPv6 client (else DHCPv4) */
	NETSTEP_DHCP_SLAAC = 1 << 3,    /* v6: the client may autoconfigure (ipv6autoconf) */
};

struct netstep {
	enum netstep_op op;
	char dev[IFNAMSIZ];
	/* LINK_ADD/LINK_DEL: kind "bridge", "vlan", "bond"; SET_MASTER: master */
	char kind[8];
	char base[IFNAMSIZ];           /* vlan base; SET_MASTER: the new master */
	int vlan;
	/* LINK_ADD/LINK_DEL of a bond: its options; of a bridge: its bridge_opts (written to
	 * sysfs after creation, so a LINK_DEL's undo recreates the bridge as it was) */
	char options[NETCONF_BOND_OPTS_MAX];
	int value;                     /* mtu, up, stp, prefix */
	int family;
	char addr[INET6_ADDRSTRLEN];
	struct netqos qos;             /* QOS_* steps */
	/* undo data: what the kernel had before this step */
	char prev_master[IFNAMSIZ];
	int prev_value;
	int prev_mtu;                  /* LINK_DEL: to recreate */
	bool prev_up;
};

struct netplan {
	struct netstep *steps;
	size_t n;
};

void netplan_free(struct netplan *p);

/* Steps that take the kernel from snapshot s (running config old applied) to config
 * new: teardown of removed and edited networks, then bonds, then new networks, then
 * MTUs in the order that keeps every lower device ≥ its uppers. Pure. */
int netplan_build(const struct net_snapshot *s, const struct netconf *old,
		  const struct netconf *new, struct netplan *ret, struct vd_error *err) _wur_;
/* "link-add bridge br0" etc. into buf (tests, logs). */
void netstep_describe(const struct netstep *st, char *buf, size_t size);

/* ---- DHCP client (dhcp.c) ---- */

/* dhcpcd (Debian 12 dhcpcd-base), run through util/exec with a timeout. It daemonises
 * once started (with the lease when waiting), so a lease outlives an agent restart,
 * and is stopped through its control socket (-k: release, then exit). */
struct netdhcp_opts {
	const char *client;             /* absolute path of dhcpcd */
	const char *conf;               /* its configuration file (netdhcp_write_conf) */
	int timeout;                    /* seconds to wait for the first lease */
};

/* Writes the client configuration: no hook script (no resolv.conf, hostname, NTP
 * changes), no IPv4 link-local fallback. Atomic. 0 or -errno. */
int netdhcp_write_conf(const char *path) _wur_;
/* Starts the IPv4 (or with NETSTEP_DHCP_V6 the DHCPv6) client on dev (flags
 * NETSTEP_DHCP_*). With NETSTEP_DHCP_WAIT:
 * returns once a lease is bound, -ETIME if none came within o->timeout (no client left
 * running). Without: returns once the client runs in the background. Starting it
 * where it already runs is harmless. 0 or -errno. */
int netdhcp_start(const struct netdhcp_opts *o, const char *dev, int flags) _wur_;
/* Releases the lease and stops the client of dev (family from NETSTEP_DHCP_V6 in
 * flags); 0 also when none ran. */
int netdhcp_stop(const struct netdhcp_opts *o, const char *dev, int flags) _wur_;

/* ---- applier (netapply.c) ---- */

/* Applies the steps in order; on a failure undoes the applied ones in reverse and
 * returns -1 with err naming the step and the kernel's reason (29). stop_after >= 0
 * is a test hook: after that many steps the process raises SIGKILL on itself. */
int netplan_apply(const struct netplan *p, const char *sysroot, const struct netdhcp_opts *dhcp,
		  int stop_after, struct vd_error *err) _wur_;
/* Undoes all steps of an applied plan, in reverse (connectivity-check rollback).
 * Best effort: every step is tried; returns -1 with err set if any failed. */
int netplan_undo(const struct netplan *p, const char *sysroot, const struct netdhcp_opts *dhcp,
		 struct vd_error *err) _wur_;

/* ---- HFSC shaping (netshape.c), used by the applier ---- */

#define NETSHAPE_ROOT 0x1389            /* root qdisc handle 1389: (VDSM's) */
#define NETSHAPE_DEFAULT 0x1388         /* default class 1389:1388 */
#define NETSHAPE_ENODEV (-1000 - ENODEV)
struct nl_sock;
/* Class minor of a network: its VLAN tag, or the default class when untagged. */
uint32_t netshape_minor(int vlan);
/* Replaces dev's root qdisc by hfsc 1389: with default class 1388 (curves of deflt)
 * and its fq_codel leaf. 0 or a negative libnl error. */
int netshape_root_add(struct nl_sock *sk, const char *dev, const struct netqos *deflt) _wur_;
/* Deletes the root qdisc (the kernel puts its default back) and every class with it. */
int netshape_root_del(struct nl_sock *sk, const char *dev) _wur_;
int netshape_class_add(struct nl_sock *sk, const char *dev, int vlan,
		       const struct netqos *q) _wur_;
int netshape_class_del(struct nl_sock *sk, const char *dev, int vlan) _wur_;

/* ---- persistence (netstore.c) ---- */

/* <state>/var/lib/vdsm-c/netconf/{running,safe}/networks. Missing file = empty. */
int netstore_load(const char *state_root, const char *which, struct netconf *ret,
		  struct vd_error *err) _wur_;
int netstore_save(const char *state_root, const char *which, const struct netconf *c) _wur_;

#endif
