/* The applier: runs a plan's steps through libnl-route-3 (links, masters, MTU, flags,
 * addresses, routes) and sysfs where libnl 3.7 has no API (bond options:
 * <sys>/class/net/<bond>/bonding/<key>; bridge STP: <sys>/class/net/<br>/bridge/
 * stp_state), tc through netshape.c (hostQos). On a failure, the applied steps are undone in reverse. */
#include "netconf.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netlink/addr.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <linux/rtnetlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bonding.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/vlan.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "../vdsm-c/util/log.h"
#include "../vdsm-c/util/util.h"

/* Returns 0, a negative libnl error (NLE_*), or -1000 - errno for sysfs failures. */
#define SYS_ERR(e) (-1000 - (e))

static const char *step_strerror(int r)
{
	if (r == SYS_ERR(ETIME))   /* only a DHCP client waiting for its lease */
		return "no DHCP lease in time";
	return r <= -1000 ? strerror(-r - 1000) : nl_geterror(r);
}

static int dhcp_start(const struct netdhcp_opts *o, const struct netstep *st, int flags)
{
	int r = o ? netdhcp_start(o, st->dev, flags) : -ENOTSUP;
	return r < 0 ? SYS_ERR(-r) : 0;
}

static int dhcp_stop(const struct netdhcp_opts *o, const struct netstep *st)
{
	int r = o ? netdhcp_stop(o, st->dev, st->value) : -ENOTSUP;
	return r < 0 ? SYS_ERR(-r) : 0;
}

/* SLAAC on (router advertisements accepted, addresses configured from them) or off. */
static int autoconf6(const char *sysroot, const char *dev, bool on)
{
	static const char *const keys[] = { "accept_ra", "autoconf" };
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		char rel[96];
		_cleanup_free_ char *path = NULL;
		snprintf(rel, sizeof(rel), "/proc/sys/net/ipv6/conf/%s/%s", dev, keys[i]);
		if (!(path = util_path(sysroot, rel)))
			return SYS_ERR(ENOMEM);
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return SYS_ERR(errno);
		ssize_t n = write(fd, on ? "1" : "0", 1);
		int e = n < 0 ? errno : 0;
		close(fd);
		if (e)
			return SYS_ERR(e);
	}
	return 0;
}

static int sysfs_write(const char *sysroot, const char *dev, const char *sub, const char *key,
		       const char *value)
{
	char rel[160];
	_cleanup_free_ char *path = NULL;

	snprintf(rel, sizeof(rel), "/sys/class/net/%s/%s/%s", dev, sub, key);
	if (!(path = util_path(sysroot, rel)))
		return SYS_ERR(ENOMEM);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return SYS_ERR(errno);
	ssize_t n = write(fd, value, strlen(value));
	int e = n < 0 ? errno : 0;
	close(fd);
	return e ? SYS_ERR(e) : 0;
}

/* "mode=4 miimon=100" into bonding/ (mode first: only settable while down without
 * slaves), or bridge_opts "k=v ..." into bridge/; validated by netconf. */
static int dev_options(const char *sysroot, const char *dev, const char *sub,
		       const char *options)
{
	char copy[NETCONF_BOND_OPTS_MAX], *save = NULL;

	snprintf(copy, sizeof(copy), "%s", options);
	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(t, '=');
		if (!eq)
			continue;
		*eq = '\0';
		/* active_slave needs slaves: applied by the kernel's primary instead */
		if (!strcmp(sub, "bonding") && !strcmp(t, "active_slave"))
			t = (char *)"primary";
		int r = sysfs_write(sysroot, dev, sub, t, eq + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

static int ifindex(const char *name)
{
	unsigned i = if_nametoindex(name);
	return i ? (int)i : SYS_ERR(ENODEV);
}

static int link_del(struct nl_sock *sk, const char *dev);

static int link_add(struct nl_sock *sk, const struct netstep *st, const char *sysroot)
{
	struct rtnl_link *l;
	int r;

	if (!strcmp(st->kind, "bridge"))
		l = rtnl_link_bridge_alloc();
	else if (!strcmp(st->kind, "bond"))
		l = rtnl_link_bond_alloc();
	else
		l = rtnl_link_vlan_alloc();
	if (!l)
		return -NLE_NOMEM;
	rtnl_link_set_name(l, st->dev);
	if (!strcmp(st->kind, "vlan")) {
		int base = ifindex(st->base);
		if (base < 0) {
			rtnl_link_put(l);
			return base;
		}
		rtnl_link_set_link(l, base);
		rtnl_link_vlan_set_id(l, (uint16_t)st->vlan);
	}
	if (st->value)
		rtnl_link_set_flags(l, IFF_UP);
	r = rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(l);
	if (r == 0 && st->options[0]) {
		r = dev_options(sysroot, st->dev, !strcmp(st->kind, "bond") ? "bonding" : "bridge",
				st->options);
		if (r < 0)   /* the step is all or nothing: its undo is not run when it fails */
			(void)link_del(sk, st->dev);
	}
	return r;
}

static int link_del(struct nl_sock *sk, const char *dev)
{
	struct rtnl_link *l = rtnl_link_alloc();
	if (!l)
		return -NLE_NOMEM;
	rtnl_link_set_name(l, dev);
	int r = rtnl_link_delete(sk, l);
	rtnl_link_put(l);
	return r;
}

enum change { CH_MASTER, CH_MTU, CH_UP, CH_GROUP };

static int link_change(struct nl_sock *sk, const char *dev, enum change what, int value,
		       const char *master)
{
	int idx = ifindex(dev), r;
	if (idx < 0)
		return idx;
	struct rtnl_link *orig = rtnl_link_alloc(), *ch = rtnl_link_alloc();
	if (!orig || !ch) {
		r = -NLE_NOMEM;
		goto out;
	}
	rtnl_link_set_ifindex(orig, idx);
	switch (what) {
	case CH_MASTER: {
		int m = master[0] ? ifindex(master) : 0;
		if (m < 0) {
			r = m;
			goto out;
		}
		rtnl_link_set_master(ch, m);
		break;
	}
	case CH_MTU:
		rtnl_link_set_mtu(ch, (unsigned)value);
		break;
	case CH_GROUP:
		rtnl_link_set_group(ch, (uint32_t)value);
		break;
	case CH_UP:
		if (value)
			rtnl_link_set_flags(ch, IFF_UP);
		else
			rtnl_link_unset_flags(ch, IFF_UP);
		break;
	}
	r = rtnl_link_change(sk, orig, ch, 0);
out:
	if (orig)
		rtnl_link_put(orig);
	if (ch)
		rtnl_link_put(ch);
	return r;
}

static int addr_op(struct nl_sock *sk, const struct netstep *st, bool add)
{
	char text[INET6_ADDRSTRLEN + 8];
	struct nl_addr *local = NULL;
	int idx = ifindex(st->dev), r;

	if (idx < 0)
		return idx;
	snprintf(text, sizeof(text), "%s/%d", st->addr, st->value);
	if ((r = nl_addr_parse(text, st->family, &local)) < 0)
		return r;
	struct rtnl_addr *a = rtnl_addr_alloc();
	if (!a) {
		nl_addr_put(local);
		return -NLE_NOMEM;
	}
	rtnl_addr_set_ifindex(a, idx);
	rtnl_addr_set_family(a, st->family);
	r = rtnl_addr_set_local(a, local);
	if (r == 0)
		r = add ? rtnl_addr_add(sk, a, NLM_F_CREATE | NLM_F_EXCL) : rtnl_addr_delete(sk, a, 0);
	rtnl_addr_put(a);
	nl_addr_put(local);
	return r;
}

static int route_op(struct nl_sock *sk, const struct netstep *st, bool add)
{
	struct nl_addr *dst = NULL, *gw = NULL;
	struct rtnl_route *rt = NULL;
	struct rtnl_nexthop *nh = NULL;
	int idx = ifindex(st->dev), r;

	if (idx < 0)
		return idx;
	if ((r = nl_addr_parse(st->family == AF_INET ? "0.0.0.0/0" : "::/0", st->family, &dst)) < 0 ||
	    (r = nl_addr_parse(st->addr, st->family, &gw)) < 0)
		goto out;
	if (!(rt = rtnl_route_alloc()) || !(nh = rtnl_route_nh_alloc())) {
		r = -NLE_NOMEM;
		goto out;
	}
	rtnl_route_set_family(rt, (uint8_t)st->family);
	rtnl_route_set_table(rt, RT_TABLE_MAIN);
	/* ours are static; a deletion matches any protocol (the host's own default route,
	 * taken over by a bridge, is often "boot" or "dhcp"; libnl's default is static) */
	rtnl_route_set_protocol(rt, add ? RTPROT_STATIC : RTPROT_UNSPEC);
	rtnl_route_set_scope(rt, RT_SCOPE_UNIVERSE);
	rtnl_route_set_type(rt, RTN_UNICAST);
	if ((r = rtnl_route_set_dst(rt, dst)) < 0)
		goto out;
	rtnl_route_nh_set_ifindex(nh, idx);
	rtnl_route_nh_set_gateway(nh, gw);
	rtnl_route_add_nexthop(rt, nh);
	nh = NULL;
	r = add ? rtnl_route_add(sk, rt, NLM_F_CREATE | NLM_F_EXCL) : rtnl_route_delete(sk, rt, 0);
out:
	if (nh)
		rtnl_route_nh_free(nh);
	if (rt)
		rtnl_route_put(rt);
	nl_addr_put(dst);
	nl_addr_put(gw);
	return r;
}

/* Batched deletion: every device of the run is moved to a scratch device group, then
 * one RTM_DELLINK for the group removes them all with one unregistration (the kernel
 * waits for RCU grace periods once per request: ~35 ms per device on this host's kernel
 * when deleted one by one). All or nothing: on a failure the groups are put back. */
#define NETAPPLY_SCRATCH_GROUP 0x76647363   /* "vdsc"; never a group of ours otherwise */

static int group_delete(struct nl_sock *sk)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct nl_msg *m = nlmsg_alloc_simple(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK);
	int r;

	if (!m)
		return -NLE_NOMEM;
	if ((r = nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO)) < 0 ||
	    (r = nla_put_u32(m, IFLA_GROUP, NETAPPLY_SCRATCH_GROUP)) < 0 ||
	    (r = nl_send_auto(sk, m)) < 0) {
		nlmsg_free(m);
		return r;
	}
	nlmsg_free(m);
	return nl_wait_for_ack(sk);
}

static int delete_run(struct nl_sock *sk, const struct netstep *steps, size_t n)
{
	size_t i;
	int r = 0;

	for (i = 0; i < n; i++)
		if ((r = link_change(sk, steps[i].dev, CH_GROUP, NETAPPLY_SCRATCH_GROUP, NULL)) < 0)
			break;
	if (r == 0 && (r = group_delete(sk)) == 0)
		return 0;
	while (i-- > 0)
		(void)link_change(sk, steps[i].dev, CH_GROUP, 0, NULL);
	return r;
}

/* Length of the run of LINK_DEL steps of bridges/VLANs starting at i. */
static size_t del_run_len(const struct netplan *p, size_t i)
{
	size_t n = 0;
	while (i + n < p->n && p->steps[i + n].op == NETSTEP_LINK_DEL &&
	       strcmp(p->steps[i + n].kind, "bond") != 0)
		n++;
	return n;
}

static int run_step(struct nl_sock *sk, const struct netstep *st, const char *sysroot,
		    const struct netdhcp_opts *dhcp)
{
	switch (st->op) {
	case NETSTEP_LINK_ADD:
		return link_add(sk, st, sysroot);
	case NETSTEP_LINK_DEL:
		return link_del(sk, st->dev);
	case NETSTEP_SET_MASTER:
		return link_change(sk, st->dev, CH_MASTER, 0, st->base);
	case NETSTEP_SET_MTU:
		return link_change(sk, st->dev, CH_MTU, st->value, NULL);
	case NETSTEP_SET_UP:
		return link_change(sk, st->dev, CH_UP, st->value, NULL);
	case NETSTEP_SET_STP:
		return sysfs_write(sysroot, st->dev, "bridge", "stp_state", st->value ? "1" : "0");
	case NETSTEP_ADDR_ADD:
	case NETSTEP_ADDR_DEL:
		return addr_op(sk, st, st->op == NETSTEP_ADDR_ADD);
	case NETSTEP_ROUTE_ADD:
	case NETSTEP_ROUTE_DEL:
		return route_op(sk, st, st->op == NETSTEP_ROUTE_ADD);
	case NETSTEP_DHCP_START:
		return dhcp_start(dhcp, st, st->value);
	case NETSTEP_DHCP_STOP:
		return dhcp_stop(dhcp, st);
	case NETSTEP_AUTOCONF6:
		return autoconf6(sysroot, st->dev, st->value);
	case NETSTEP_QOS_ROOT_ADD:
		return netshape_root_add(sk, st->dev, &st->qos);
	case NETSTEP_QOS_ROOT_DEL:
		return netshape_root_del(sk, st->dev);
	case NETSTEP_QOS_CLASS_ADD:
		return netshape_class_add(sk, st->dev, st->vlan, &st->qos);
	case NETSTEP_QOS_CLASS_DEL:
		return netshape_class_del(sk, st->dev, st->vlan);
	}
	return -NLE_INVAL;
}

/* The inverse of st (a LINK_DEL's undo recreates the device, then its MTU and flag). */
static int undo_step(struct nl_sock *sk, const struct netstep *st, const char *sysroot,
		     const struct netdhcp_opts *dhcp)
{
	struct netstep u = *st;
	int r;

	switch (st->op) {
	case NETSTEP_LINK_ADD:
		return link_del(sk, st->dev);
	case NETSTEP_LINK_DEL:
		u.op = NETSTEP_LINK_ADD;
		u.value = 0;   /* up only after the MTU, as it was */
		if ((r = link_add(sk, &u, sysroot)) < 0 ||
		    (r = link_change(sk, st->dev, CH_MTU, st->prev_mtu, NULL)) < 0 ||
		    (st->prev_master[0] &&
		     (r = link_change(sk, st->dev, CH_MASTER, 0, st->prev_master)) < 0))
			return r;
		return st->prev_up ? link_change(sk, st->dev, CH_UP, 1, NULL) : 0;
	case NETSTEP_SET_MASTER:
		return link_change(sk, st->dev, CH_MASTER, 0, st->prev_master);
	case NETSTEP_SET_MTU:
		return link_change(sk, st->dev, CH_MTU, st->prev_value, NULL);
	case NETSTEP_SET_UP:
		return link_change(sk, st->dev, CH_UP, st->prev_value, NULL);
	case NETSTEP_SET_STP:
		return sysfs_write(sysroot, st->dev, "bridge", "stp_state", st->prev_value ? "1" : "0");
	case NETSTEP_ADDR_ADD:
	case NETSTEP_ADDR_DEL:
		return addr_op(sk, st, st->op == NETSTEP_ADDR_DEL);
	case NETSTEP_ROUTE_ADD:
	case NETSTEP_ROUTE_DEL:
		return route_op(sk, st, st->op == NETSTEP_ROUTE_DEL);
	case NETSTEP_DHCP_START:
		return dhcp_stop(dhcp, st);
	case NETSTEP_DHCP_STOP:   /* the client again, in the background: undo never waits */
		return dhcp_start(dhcp, st, st->value & ~NETSTEP_DHCP_WAIT);
	case NETSTEP_AUTOCONF6:
		return autoconf6(sysroot, st->dev, !st->value);
	case NETSTEP_QOS_ROOT_ADD:
		return netshape_root_del(sk, st->dev);
	case NETSTEP_QOS_ROOT_DEL:
		return netshape_root_add(sk, st->dev, &st->qos);
	case NETSTEP_QOS_CLASS_ADD:
		return netshape_class_del(sk, st->dev, st->vlan);
	case NETSTEP_QOS_CLASS_DEL:
		return netshape_class_add(sk, st->dev, st->vlan, &st->qos);
	}
	return -NLE_INVAL;
}

static struct nl_sock *open_sock(struct vd_error *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk) {
		vd_error_set(err, VD_ERR_UNEXPECTED, "out of memory");
		return NULL;
	}
	if ((r = nl_connect(sk, NETLINK_ROUTE)) < 0) {
		vd_error_set(err, VD_ERR_NET_FAILED_IFUP, "cannot open rtnetlink: %s", nl_geterror(r));
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

/* Undoes steps [0, n) in reverse; logs each failure. Returns the number that failed. */
static size_t undo_range(struct nl_sock *sk, const struct netplan *p, size_t n,
			 const char *sysroot, const struct netdhcp_opts *dhcp)
{
	size_t failed = 0;
	char what[128];

	while (n-- > 0) {
		int r = undo_step(sk, &p->steps[n], sysroot, dhcp);
		if (r < 0) {
			netstep_describe(&p->steps[n], what, sizeof(what));
			log_err("network: undo of '%s' failed: %s", what, step_strerror(r));
			failed++;
		}
	}
	return failed;
}

int netplan_apply(const struct netplan *p, const char *sysroot, const struct netdhcp_opts *dhcp,
		  int stop_after, struct vd_error *err)
{
	struct nl_sock *sk = open_sock(err);
	char what[128];

	if (!sk)
		return -1;
	for (size_t i = 0; i < p->n;) {
		size_t run = del_run_len(p, i);
		if (run < 2)
			run = 1;
		if (stop_after >= 0 && (size_t)stop_after >= i && (size_t)stop_after < i + run) {
			log_warning("network: test hook: SIGKILL after %zu steps", i);
			raise(SIGKILL);
		}
		int r = run > 1 ? delete_run(sk, &p->steps[i], run) : run_step(sk, &p->steps[i], sysroot, dhcp);
		if (r < 0) {
			netstep_describe(&p->steps[i], what, sizeof(what));
			log_err("network: step %zu '%s' failed: %s; rolling back", i, what,
				step_strerror(r));
			size_t failed = undo_range(sk, p, i, sysroot, dhcp);
			vd_error_set(err, VD_ERR_NET_FAILED_IFUP, "'%s' failed: %s; %s", what,
				     step_strerror(r), failed ? "rollback incomplete (see log)" :
				     "rolled back");
			nl_socket_free(sk);
			return -1;
		}
		i += run;
	}
	nl_socket_free(sk);
	return 0;
}

int netplan_undo(const struct netplan *p, const char *sysroot, const struct netdhcp_opts *dhcp,
		 struct vd_error *err)
{
	struct nl_sock *sk = open_sock(err);

	if (!sk)
		return -1;
	size_t failed = undo_range(sk, p, p->n, sysroot, dhcp);
	nl_socket_free(sk);
	if (failed)
		return vd_error_set(err, VD_ERR_NET_FAILED_IFDOWN, "rollback: %zu steps could not "
				    "be undone (see log)", failed);
	return 0;
}
