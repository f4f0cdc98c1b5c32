/* The network configuration manager: the running and safe configurations, the
 * single-flight setupNetworks transaction (validate → plan → journal → apply →
 * connectivity check → persist, or roll back), setSafeNetworkConfig, and the restore
 * of the safe configuration at start after a crash or an unsaved change.
 *
 * Journal: before the first kernel change the configuration being applied is written
 * to netconf/pending; it is removed once running is written (or the change is rolled
 * back). At start, a pending file or running ≠ safe means the kernel may hold
 * something else than safe: every network and bond that differs is torn down (in the
 * running and the pending version) and safe is applied again. */
#include "netmgr.h"

#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../vdsm-c/util/buf.h"
#include "../vdsm-c/util/log.h"
#include "../vdsm-c/util/util.h"

static pthread_mutex_t busy = PTHREAD_MUTEX_INITIALIZER;   /* single flight */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;   /* running, safe */
static struct netmgr_opts opts;
static struct netdhcp_opts dhcp;
static char *dhcp_conf;
static struct netconf running, safe;
static atomic_bool dirty;
static atomic_ulong generation = 1;
static bool started;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int snapshot(struct net_snapshot **ret, struct vd_error *err)
{
	/* the planner and the validation read nothing that comes from sysfs */
	int r = net_snapshot_get_level(&opts.filter, opts.sysroot, NET_DETAIL_NETLINK, ret);
	if (r < 0)
		return vd_error_set(err, VD_ERR_UNEXPECTED, "cannot read the network state: %s",
				    strerror(-r));
	return 0;
}

static int save(const char *which, const struct netconf *c, struct vd_error *err)
{
	int r = netstore_save(opts.state_root, which, c);
	if (r < 0)
		return vd_error_set(err, VD_ERR_UNEXPECTED, "cannot write the %s network "
				    "configuration: %s", which, strerror(-r));
	return 0;
}

static void drop_pending(void)
{
	_cleanup_free_ char *p = util_path(opts.state_root,
					    "/var/lib/vdsm-c/netconf/pending/networks");
	if (p && unlink(p) < 0 && errno != ENOENT)
		log_err("network: cannot remove %s: %m", p);
}

/* One transaction from `from` to `to` on the current kernel state. */
static int transact(const struct netconf *from, const struct netconf *to, bool validate,
		    int stop_after, struct netplan *ret, struct vd_error *err)
{
	struct net_snapshot *s = NULL;
	double t0 = now(), t1, t2;
	int r;

	if (snapshot(&s, err) < 0)
		return -1;
	t1 = now();
	r = validate ? netconf_validate(to, from, s, err) : 0;
	if (r == 0)
		r = netplan_build(s, from, to, ret, err);
	net_snapshot_unref(s);
	if (r < 0)
		return -1;
	if (!validate)   /* restore and teardown at start: never wait for a lease */
		for (size_t i = 0; i < ret->n; i++)
			if (ret->steps[i].op == NETSTEP_DHCP_START)
				ret->steps[i].value &= ~NETSTEP_DHCP_WAIT;
	t2 = now();
	r = netplan_apply(ret, opts.sysroot, &dhcp, stop_after, err);
	log_info("network: %zu steps %s: state read %.1f ms, validation and plan %.1f ms, "
		 "apply %.1f ms", ret->n, r < 0 ? "failed" : "applied", (t1 - t0) * 1e3,
		 (t2 - t1) * 1e3, (now() - t2) * 1e3);
	return r;
}

static bool bond_eq(const struct netconf *a, const struct netconf *b, const char *name)
{
	const struct netconf_bond *x = netconf_find_bond(a, name), *y = netconf_find_bond(b, name);
	if (!x || !y)
		return x == y;
	struct netconf one = { .bonds = (struct netconf_bond *)x, .n_bonds = 1 };
	struct netconf two = { .bonds = (struct netconf_bond *)y, .n_bonds = 1 };
	return netconf_equal(&one, &two);
}

/* The entries of a that differ from b (or are absent in b). */
static int differing(const struct netconf *a, const struct netconf *b, struct netconf *ret)
{
	struct vd_error err = { 0 };
	memset(ret, 0, sizeof(*ret));
	for (size_t i = 0; i < a->n_nets; i++) {
		const struct netconf_net *o = netconf_find_net(b, a->nets[i].name);
		struct netconf one = { .nets = &a->nets[i], .n_nets = 1 }, other = { 0 };
		if (o) {
			other.nets = (struct netconf_net *)o;
			other.n_nets = 1;
		}
		bool bond_differs = a->nets[i].bonding[0] && !bond_eq(a, b, a->nets[i].bonding);
		if (o && netconf_equal(&one, &other) && !bond_differs)
			continue;
		struct netconf_net *n;
		if (netconf_add_net(ret, a->nets[i].name, &n, &err) < 0)
			return -1;
		*n = a->nets[i];
	}
	for (size_t i = 0; i < a->n_bonds; i++) {
		const struct netconf_bond *o = netconf_find_bond(b, a->bonds[i].name);
		struct netconf one = { .bonds = &a->bonds[i], .n_bonds = 1 };
		struct netconf other = { .bonds = (struct netconf_bond *)o, .n_bonds = o ? 1 : 0 };
		if (o && netconf_equal(&one, &other))
			continue;
		struct netconf_bond *x;
		if (netconf_add_bond(ret, a->bonds[i].name, &x, &err) < 0)
			return -1;
		*x = a->bonds[i];
	}
	return 0;
}

/* Tears down what c describes (whatever of it exists in the kernel). */
static int teardown(const struct netconf *c, struct vd_error *err)
{
	struct netconf empty = { 0 };
	struct netplan p = { 0 };
	int r = transact(c, &empty, false, -1, &p, err);
	netplan_free(&p);
	return r;
}

/* The device that stands for a network in the kernel: its bridge, its VLAN device,
 * or NULL for an untagged bridgeless network (its NIC or bond is there anyway). */
static const char *top_device(const struct netconf_net *n, char *buf, size_t len)
{
	const char *base = n->nic[0] ? n->nic : n->bonding;
	if (n->bridged)
		return n->name;
	if (n->vlan < 0)
		return NULL;
	snprintf(buf, len, "%s.%d", base, n->vlan & 0xfff);
	return buf;
}

/* The bonds and networks of c the kernel does not carry as configured (netdrift.c):
 * after a reboot the persisted running configuration equals safe, yet none of it
 * exists; or something was changed behind the agent's back. One FULL state read (bond
 * modes from sysfs, hostQos classes). */
static int drifted(const struct netconf *c, struct netconf *ret, struct util_buf *report,
		   struct vd_error *err)
{
	struct net_snapshot *s = NULL;
	int r = net_snapshot_get_level(&opts.filter, opts.sysroot, NET_DETAIL_FULL, &s);

	memset(ret, 0, sizeof(*ret));
	if (r < 0)
		return vd_error_set(err, VD_ERR_UNEXPECTED, "cannot read the network state: %s",
				    strerror(-r));
	r = netconf_drift(s, c, ret, report, err);
	net_snapshot_unref(s);
	return r;
}

/* Every entry that differs between safe and running or pending, or whose device is
 * drifted from the kernel (gone: see drifted()), is torn down in each of its versions (whatever
 * of it exists in the kernel), then safe is applied with the untouched entries taken
 * as present. */
static int restore_safe(const struct netconf *pending, const struct netconf *gone,
			struct vd_error *err)
{
	struct netconf d[5] = { { 0 } }, keep = { 0 }, none = { 0 };
	struct netplan p = { 0 };
	int r = -1;

	if (differing(pending, &safe, &d[0]) < 0 || differing(&running, &safe, &d[1]) < 0 ||
	    differing(&safe, &running, &d[2]) < 0 || differing(&safe, pending, &d[3]) < 0 ||
	    differing(gone, &none, &d[4]) < 0) {
		vd_error_set(err, VD_ERR_UNEXPECTED, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < safe.n_nets; i++) {
		const char *nm = safe.nets[i].name;
		bool differs = false;
		for (size_t k = 0; k < ELEMENTSOF(d); k++)
			differs |= netconf_find_net(&d[k], nm) != NULL;
		struct netconf_net *n;
		if (differs)
			continue;
		if (netconf_add_net(&keep, nm, &n, err) < 0)
			goto out;
		*n = safe.nets[i];
	}
	for (size_t i = 0; i < safe.n_bonds; i++) {
		const char *nm = safe.bonds[i].name;
		bool differs = false;
		for (size_t k = 0; k < ELEMENTSOF(d); k++)
			differs |= netconf_find_bond(&d[k], nm) != NULL;
		struct netconf_bond *b;
		if (differs)
			continue;
		if (netconf_add_bond(&keep, nm, &b, err) < 0)
			goto out;
		*b = safe.bonds[i];
	}
	log_notice("network: restoring the safe configuration (%zu of %zu networks kept)",
		   keep.n_nets, safe.n_nets);
	for (size_t k = 0; k < ELEMENTSOF(d); k++)
		if (teardown(&d[k], err) < 0)
			goto out;
	r = transact(&keep, &safe, false, -1, &p, err);
out:
	netplan_free(&p);
	for (size_t k = 0; k < ELEMENTSOF(d); k++)
		netconf_free(&d[k]);
	netconf_free(&keep);
	return r;
}

/* The clients of the running DHCP networks (after a reboot, or one that died). A
 * failure is logged: the network itself is up, and the manager sees no address. */
static void start_dhcp_clients(void)
{
	for (size_t i = 0; i < running.n_nets; i++) {
		const struct netconf_net *n = &running.nets[i];
		char buf[32];
		if (!n->dhcpv4 && !n->dhcpv6)
			continue;
		const char *top = top_device(n, buf, sizeof(buf));
		if (!top)
			top = n->nic[0] ? n->nic : n->bonding;
		int gw = n->default_route ? NETSTEP_DHCP_GATEWAY : 0;
		if (n->dhcpv4 && netdhcp_start(&dhcp, top, gw) < 0)
			log_err("network '%s': the DHCP client on %s did not start", n->name, top);
		int v6 = gw | NETSTEP_DHCP_V6 | (n->ipv6autoconf ? NETSTEP_DHCP_SLAAC : 0);
		if (n->dhcpv6 && netdhcp_start(&dhcp, top, v6) < 0)
			log_err("network '%s': the DHCPv6 client on %s did not start", n->name, top);
	}
}

int netmgr_start(const struct netmgr_opts *o)
{
	struct vd_error err = { 0 };
	struct netconf pending = { 0 };
	_cleanup_free_ char *pend_path = NULL;

	opts = *o;
	free(dhcp_conf);
	_cleanup_free_ char *dir = util_path(o->state_root, "/var/lib/vdsm-c/netconf");
	dhcp_conf = util_path(o->state_root, "/var/lib/vdsm-c/netconf/dhcpcd.conf");
	int wr = !dir || !dhcp_conf ? -ENOMEM : util_mkdir_p(dir, 0755);
	if (wr == 0)
		wr = netdhcp_write_conf(dhcp_conf);
	if (wr < 0) {
		log_err("network: cannot write %s: %s", dhcp_conf ? dhcp_conf : "dhcpcd.conf",
			strerror(-wr));
		return -1;
	}
	dhcp = (struct netdhcp_opts){ .client = o->dhcp_client, .conf = dhcp_conf,
				      .timeout = o->dhcp_timeout };
	if (netstore_load(o->state_root, "safe", &safe, &err) < 0 ||
	    netstore_load(o->state_root, "running", &running, &err) < 0 ||
	    netstore_load(o->state_root, "pending", &pending, &err) < 0) {
		log_err("network: persisted configuration under %s/var/lib/vdsm-c/netconf: %s",
			o->state_root ? o->state_root : "", err.msg);
		netconf_free(&safe);
		netconf_free(&running);
		return -1;
	}
	pend_path = util_path(o->state_root, "/var/lib/vdsm-c/netconf/pending/networks");
	bool crashed = pend_path && access(pend_path, F_OK) == 0;
	struct netconf gone = { 0 };
	_cleanup_(util_buf_reset) struct util_buf why = UTIL_BUF_INIT;
	if (drifted(&safe, &gone, &why, &err) < 0) {
		log_err("network: %s", err.msg);
		netconf_free(&pending);
		netconf_free(&safe);
		netconf_free(&running);
		return -1;
	}
	if (crashed || !netconf_equal(&running, &safe) || gone.n_nets || gone.n_bonds) {
		if (crashed || !netconf_equal(&running, &safe))
			log_notice("network: %s; restoring the safe configuration",
				   crashed ? "a setupNetworks did not finish" :
					     "running differs from safe");
		else
			log_notice("network: %zu network(s) and %zu bond(s) of the safe configuration "
				   "differ from the kernel (%s); restoring them",
				   gone.n_nets, gone.n_bonds, util_buf_cstr(&why));
		int rr = restore_safe(&pending, &gone, &err);
		netconf_free(&gone);
		if (rr < 0 || save("running", &safe, &err) < 0) {
			log_err("network: restore failed: %s", err.msg);
			netconf_free(&pending);
			netconf_free(&safe);
			netconf_free(&running);
			return -1;
		}
		drop_pending();
		netconf_free(&running);
		running = safe;
		struct vd_error e2 = { 0 };
		if (netstore_load(o->state_root, "safe", &safe, &e2) < 0) {
			log_err("network: %s", e2.msg);
			return -1;
		}
	}
	netconf_free(&pending);
	start_dhcp_clients();
	atomic_store(&dirty, !netconf_equal(&running, &safe));
	started = true;
	return 0;
}

void netmgr_stop(void)
{
	pthread_mutex_lock(&lock);
	netconf_free(&running);
	netconf_free(&safe);
	started = false;
	pthread_mutex_unlock(&lock);
	free(dhcp_conf);
	dhcp_conf = NULL;
}

bool netmgr_dirty(void)
{
	return atomic_load(&dirty);
}

unsigned long netmgr_generation(void)
{
	return atomic_load(&generation);
}

/* Waits for a "client seen" mark after t0; polls every 100 ms up to timeout s. */
static bool wait_client(double t0, int timeout)
{
	double deadline = t0 + timeout;
	while (now() < deadline) {
		if (opts.client_seen && opts.client_seen() > t0)
			return true;
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return opts.client_seen && opts.client_seen() > t0;
}

int netmgr_setup(const struct netconf *req, const struct netmgr_check *check,
		 struct vd_error *err)
{
	struct netconf new = { 0 };
	struct netplan p = { 0 };
	int r = -1;

	if (!started)
		return vd_error_set(err, VD_ERR_UNAVAIL, "network configuration is not available");
	if (pthread_mutex_trylock(&busy) != 0)
		return vd_error_set(err, VD_ERR_UNAVAIL, "another network operation is running");
	if (netconf_merge(&running, req, &new, err) < 0)
		goto out;
	if (save("pending", &new, err) < 0)
		goto out;
	if (transact(&running, &new, true, opts.stop_after_step, &p, err) < 0) {
		drop_pending();
		goto out;
	}
	if (check && check->enabled && p.n > 0) {
		double t0 = now();
		log_info("network: waiting up to %d s for the manager (connectivity check)",
			 check->timeout);
		if (!wait_client(t0, check->timeout)) {
			struct vd_error uerr = { 0 };
			if (netplan_undo(&p, opts.sysroot, &dhcp, &uerr) < 0)
				log_err("network: %s", uerr.msg);
			drop_pending();
			vd_error_set(err, VD_ERR_NOCONPEER, "connectivity check failed: no call from "
				     "the manager within %d s; configuration rolled back%s",
				     check->timeout, uerr.code ? " (incompletely, see log)" : "");
			goto out;
		}
	}
	if (save("running", &new, err) < 0) {
		struct vd_error uerr = { 0 };
		if (netplan_undo(&p, opts.sysroot, &dhcp, &uerr) < 0)
			log_err("network: %s", uerr.msg);
		drop_pending();
		goto out;
	}
	drop_pending();
	pthread_mutex_lock(&lock);
	netconf_free(&running);
	running = new;
	memset(&new, 0, sizeof(new));
	atomic_store(&dirty, !netconf_equal(&running, &safe));
	pthread_mutex_unlock(&lock);
	atomic_fetch_add(&generation, 1);
	r = 0;
out:
	netplan_free(&p);
	netconf_free(&new);
	pthread_mutex_unlock(&busy);
	return r;
}

int netmgr_set_safe(struct vd_error *err)
{
	struct netconf copy = { 0 };
	int r = -1;

	if (!started)
		return vd_error_set(err, VD_ERR_UNAVAIL, "network configuration is not available");
	if (pthread_mutex_trylock(&busy) != 0)
		return vd_error_set(err, VD_ERR_UNAVAIL, "another network operation is running");
	struct netconf empty = { 0 };
	pthread_mutex_lock(&lock);
	r = netconf_merge(&running, &empty, &copy, err);
	pthread_mutex_unlock(&lock);
	if (r == 0 && (r = save("safe", &copy, err)) == 0) {
		pthread_mutex_lock(&lock);
		netconf_free(&safe);
		safe = copy;
		memset(&copy, 0, sizeof(copy));
		atomic_store(&dirty, false);
		pthread_mutex_unlock(&lock);
		atomic_fetch_add(&generation, 1);
	}
	netconf_free(&copy);
	pthread_mutex_unlock(&busy);
	return r;
}

int netmgr_running_copy(struct netconf *ret)
{
	struct netconf empty = { 0 };
	int r;

	memset(ret, 0, sizeof(*ret));
	pthread_mutex_lock(&lock);
	r = started ? netconf_merge(&running, &empty, ret, NULL) : 0;
	pthread_mutex_unlock(&lock);
	return r;
}
