/* Drift between a persisted configuration and the kernel snapshot: which networks and
 * bonds of the configuration the kernel does not carry as configured (after a reboot,
 * or a change behind the agent's back). The module restores them at start. Compared:
 * device present and of its kind, VLAN id and base, bond slaves and mode, bridge port,
 * the network's MTU on its top device, static IPv4/IPv6 addresses, hostQos classes.
 * Pure code over the snapshot (bond mode and hostQos need a NET_DETAIL_FULL one). */
#include "netconf.h"
#include "../vdsm-c/util/buf.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Appends one reason to the report ("; "-separated); returns true. */
__attribute__((format(printf, 2, 3)))
static bool reason(struct util_buf *d, const char *fmt, ...)
{
	va_list ap;

	if (util_buf_len(d))
		util_buf_adds(d, "; ");
	va_start(ap, fmt);
	util_buf_vprintf(d, fmt, ap);
	va_end(ap);
	return true;
}

static bool has_addr(const struct net_dev *dev, int family, const char *want)
{
	unsigned char bin[sizeof(struct in6_addr)];
	char canon[INET6_ADDRSTRLEN];

	if (inet_pton(family, want, bin) != 1 || !inet_ntop(family, bin, canon, sizeof(canon)))
		return false;
	for (size_t k = 0; k < dev->n_addrs; k++)
		if (dev->addrs[k].family == family && !strcmp(dev->addrs[k].addr, canon))
			return true;
	return false;
}

static const char *opt(const struct net_dev *dev, const char *key)
{
	for (size_t i = 0; i < dev->n_opts; i++)
		if (!strcmp(dev->opts[i].key, key))
			return dev->opts[i].value;
	return NULL;
}

static bool bond_drifted(const struct net_snapshot *s, const struct netconf_bond *b,
			 struct util_buf *d)
{
	const struct net_dev *dev = net_snapshot_find(s, b->name);
	char mode[8] = "";

	if (!dev)
		return reason(d, "bond '%s' missing", b->name);
	if (dev->kind != NET_KIND_BOND)
		return reason(d, "'%s' is not a bond", b->name);
	for (size_t i = 0; i < b->n_nics; i++) {
		const struct net_dev *nic = net_snapshot_find(s, b->nics[i]);
		if (!nic || strcmp(nic->master_name, b->name))
			return reason(d, "bond '%s': '%s' not a slave", b->name, b->nics[i]);
	}
	if (dev->n_ports != b->n_nics)
		return reason(d, "bond '%s': %zu slaves, configured %zu", b->name, dev->n_ports,
			      b->n_nics);
	/* options are normalised "mode=N ..."; the snapshot has it with sysfs (FULL) */
	const char *kmode = opt(dev, "mode");
	if (kmode && sscanf(b->options, "mode=%7[0-9]", mode) == 1 && strcmp(kmode, mode))
		return reason(d, "bond '%s': mode %s, configured %s", b->name, kmode, mode);
	return false;
}

static bool qos_drifted(const struct net_snapshot *s, const struct netconf_net *n,
			const char *base, struct util_buf *d)
{
	const struct net_dev *bd = net_snapshot_find(s, base);
	const struct net_tc_class *k = net_dev_tc_class(bd, netshape_minor(n->vlan));
	struct netqos kq = { 0 };
	char want[NETQOS_N * 72], got[NETQOS_N * 72];

	if (!n->qos.set)
		return false;
	if (k)
		netqos_from_kernel(k, &n->qos, &kq);
	netqos_format(&n->qos, want, sizeof(want));
	netqos_format(&kq, got, sizeof(got));
	if (strcmp(want, got))
		return reason(d, "network '%s': hostQos on '%s' is '%s', configured '%s'", n->name,
			      base, got, want);
	return false;
}

static bool net_drifted(const struct net_snapshot *s, const struct netconf *drifted,
			const struct netconf_net *n, struct util_buf *d)
{
	const char *base = n->nic[0] ? n->nic : n->bonding;
	char vlan[32] = "";
	const struct net_dev *bdev = net_snapshot_find(s, base), *vdev = NULL, *top;

	if (n->bonding[0] && netconf_find_bond(drifted, n->bonding))
		return reason(d, "network '%s': its bond is restored", n->name);
	if (!bdev)
		return reason(d, "network '%s': '%s' missing", n->name, base);
	if (n->vlan >= 0) {
		snprintf(vlan, sizeof(vlan), "%s.%d", base, n->vlan & 0xfff);
		if (!(vdev = net_snapshot_find(s, vlan)))
			return reason(d, "network '%s': '%s' missing", n->name, vlan);
		if (vdev->kind != NET_KIND_VLAN || vdev->vlan_id != n->vlan ||
		    strcmp(vdev->vlan_base, base))
			return reason(d, "network '%s': '%s' is not VLAN %d on '%s'", n->name, vlan,
				      n->vlan, base);
	}
	const struct net_dev *port = vdev ? vdev : bdev;
	top = port;
	if (n->bridged) {
		if (!(top = net_snapshot_find(s, n->name)))
			return reason(d, "network '%s': bridge missing", n->name);
		if (top->kind != NET_KIND_BRIDGE)
			return reason(d, "network '%s': '%s' is not a bridge", n->name, n->name);
		if (strcmp(port->master_name, n->name))
			return reason(d, "network '%s': '%s' not a port of the bridge", n->name,
				      port->name);
	}
	/* the top device has the network's MTU; an untagged bridgeless network's device is
	 * the NIC/bond, which carries the largest MTU of its networks */
	int mtu = n->mtu > 0 ? n->mtu : NETCONF_MTU_DEFAULT;
	if (top == bdev ? top->mtu < mtu : top->mtu != mtu)
		return reason(d, "network '%s': '%s' mtu %d, configured %d", n->name, top->name,
			      top->mtu, mtu);
	if (n->ipaddr[0] && !has_addr(top, AF_INET, n->ipaddr))
		return reason(d, "network '%s': address %s missing on '%s'", n->name, n->ipaddr,
			      top->name);
	if (n->ipv6addr[0] && !has_addr(top, AF_INET6, n->ipv6addr))
		return reason(d, "network '%s': address %s missing on '%s'", n->name, n->ipv6addr,
			      top->name);
	return qos_drifted(s, n, base, d);
}

int netconf_drift(const struct net_snapshot *s, const struct netconf *c, struct netconf *ret,
		  struct util_buf *report, struct vd_error *err)
{
	memset(ret, 0, sizeof(*ret));
	for (size_t i = 0; i < c->n_bonds; i++) {
		struct netconf_bond *b;
		if (!bond_drifted(s, &c->bonds[i], report))
			continue;
		if (netconf_add_bond(ret, c->bonds[i].name, &b, err) < 0)
			goto fail;
		*b = c->bonds[i];
	}
	for (size_t i = 0; i < c->n_nets; i++) {
		struct netconf_net *x;
		if (!net_drifted(s, ret, &c->nets[i], report))
			continue;
		if (netconf_add_net(ret, c->nets[i].name, &x, err) < 0)
			goto fail;
		*x = c->nets[i];
	}
	return 0;
fail:
	netconf_free(ret);
	return -1;
}
