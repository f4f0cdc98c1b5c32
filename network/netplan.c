/* The planner: (kernel snapshot + running config + new config) → ordered steps, each
 * carrying what its undo needs. Pure code: a small model of the devices ("sim"),
 * seeded from the snapshot and updated as steps are emitted, gives every step the
 * previous value its undo restores.
 *
 * Order: (1) tear down removed/edited networks (default route, addresses, bridge
 * ports, bridge, VLAN device), (2) removed/edited bonds, (3) new bonds and their
 * slaves, (4) new networks (VLAN device, bridge, port, up, addresses, default route),
 * (5) MTUs: raises bottom-up (NIC/bond, VLAN, bridge), then lowerings top-down, so a
 * lower device is never below an upper one. An edit is a removal plus an addition.
 * hostQos: its classes and roots that go are removed first (0), those that come are
 * added last (7); an edit of hostQos alone touches only the class (and the root when
 * the device's default class changes). */
#include "netconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct sim {
	char name[IFNAMSIZ];
	bool exists;
	bool created;           /* by this plan */
	char master[IFNAMSIZ];
	int mtu;
	bool up;
};

struct planner {
	struct netplan *p;
	struct sim *sims;
	size_t n_sims;
	struct vd_error *err;
	bool oom;
};

void netplan_free(struct netplan *p)
{
	free(p->steps);
	p->steps = NULL;
	p->n = 0;
}

static struct sim *sim_get(struct planner *pl, const char *name)
{
	for (size_t i = 0; i < pl->n_sims; i++)
		if (!strcmp(pl->sims[i].name, name))
			return &pl->sims[i];
	struct sim *v = realloc(pl->sims, (pl->n_sims + 1) * sizeof(*v));
	if (!v) {
		pl->oom = true;
		return NULL;
	}
	pl->sims = v;
	struct sim *s = &v[pl->n_sims++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	return s;
}

static struct netstep *emit(struct planner *pl, enum netstep_op op, const char *dev)
{
	if (pl->oom)
		return NULL;
	struct netstep *v = realloc(pl->p->steps, (pl->p->n + 1) * sizeof(*v));
	if (!v) {
		pl->oom = true;
		return NULL;
	}
	pl->p->steps = v;
	struct netstep *st = &v[pl->p->n++];
	memset(st, 0, sizeof(*st));
	st->op = op;
	snprintf(st->dev, sizeof(st->dev), "%s", dev);
	return st;
}

static void set_master(struct planner *pl, const char *dev, const char *master)
{
	struct sim *s = sim_get(pl, dev);
	if (!s || !strcmp(s->master, master))
		return;
	struct netstep *st = emit(pl, NETSTEP_SET_MASTER, dev);
	if (!st)
		return;
	snprintf(st->base, sizeof(st->base), "%s", master);
	snprintf(st->prev_master, sizeof(st->prev_master), "%s", s->master);
	snprintf(s->master, sizeof(s->master), "%s", master);
}

static void set_up(struct planner *pl, const char *dev, bool up)
{
	struct sim *s = sim_get(pl, dev);
	if (!s || s->up == up)
		return;
	struct netstep *st = emit(pl, NETSTEP_SET_UP, dev);
	if (!st)
		return;
	st->value = up;
	st->prev_value = s->up;
	s->up = up;
}

static struct netstep *link_del(struct planner *pl, const char *dev, const char *kind)
{
	struct sim *s = sim_get(pl, dev);
	if (!s || !s->exists)
		return NULL;
	/* release whatever is enslaved to it first, so undo re-enslaves after recreating */
	for (size_t i = 0; i < pl->n_sims; i++)
		if (!strcmp(pl->sims[i].master, dev))
			set_master(pl, pl->sims[i].name, "");
	s = sim_get(pl, dev);   /* set_master may have moved the array */
	struct netstep *st = emit(pl, NETSTEP_LINK_DEL, dev);
	if (!st)
		return NULL;
	snprintf(st->kind, sizeof(st->kind), "%s", kind);
	st->prev_mtu = s->mtu;
	st->prev_up = s->up;
	snprintf(st->prev_master, sizeof(st->prev_master), "%s", s->master);
	s->exists = false;
	s->up = false;
	s->master[0] = '\0';
	return st;
}

static struct netstep *link_add(struct planner *pl, const char *dev, const char *kind, int mtu)
{
	struct sim *s = sim_get(pl, dev);
	if (!s)
		return NULL;
	struct netstep *st = emit(pl, NETSTEP_LINK_ADD, dev);
	if (!st)
		return NULL;
	snprintf(st->kind, sizeof(st->kind), "%s", kind);
	/* bridges and VLANs are created up (one request less each); a bond gets its
	 * options while down, then its slaves, then up */
	st->value = strcmp(kind, "bond") != 0;
	s->exists = true;
	s->created = true;
	s->up = st->value;
	s->mtu = mtu;
	s->master[0] = '\0';
	return st;
}

static void addr_step(struct planner *pl, enum netstep_op op, const char *dev, int family,
		      const char *addr, int prefix)
{
	struct netstep *st = emit(pl, op, dev);
	if (!st)
		return;
	st->family = family;
	snprintf(st->addr, sizeof(st->addr), "%s", addr);
	st->value = prefix;
}

static bool net_same(const struct netconf_net *a, const struct netconf_net *b)
{
	return !strcmp(a->nic, b->nic) && !strcmp(a->bonding, b->bonding) && a->vlan == b->vlan &&
	       a->bridged == b->bridged && a->stp == b->stp && a->mtu == b->mtu &&
	       !strcmp(a->ipaddr, b->ipaddr) && a->prefix == b->prefix &&
	       !strcmp(a->gateway, b->gateway) && !strcmp(a->ipv6addr, b->ipv6addr) &&
	       a->ipv6prefix == b->ipv6prefix && !strcmp(a->ipv6gateway, b->ipv6gateway) &&
	       a->default_route == b->default_route && !strcmp(a->bridge_opts, b->bridge_opts) &&
	       a->dhcpv4 == b->dhcpv4 && a->dhcpv6 == b->dhcpv6 &&
	       a->ipv6autoconf == b->ipv6autoconf && a->blocking_dhcp == b->blocking_dhcp;
}

static bool bond_same(const struct netconf_bond *a, const struct netconf_bond *b)
{
	if (strcmp(a->options, b->options) || a->n_nics != b->n_nics)
		return false;
	for (size_t i = 0; i < a->n_nics; i++)
		if (strcmp(a->nics[i], b->nics[i]))
			return false;
	return true;
}

/* A bond that is removed, edited, or new in place of a kernel bond we did not make. */
static bool bond_changed(const struct netconf *old, const struct netconf *new, const char *name)
{
	const struct netconf_bond *o = netconf_find_bond(old, name), *n = netconf_find_bond(new, name);
	return !o || !n || !bond_same(o, n);
}

static bool net_changed(const struct netconf *old, const struct netconf *new,
			const struct netconf_net *n)
{
	const struct netconf_net *o = netconf_find_net(old, n->name);
	const struct netconf_net *m = netconf_find_net(new, n->name);
	if (!o || !m || !net_same(o, m))
		return true;
	return m->bonding[0] && bond_changed(old, new, m->bonding);
}

static const char *base_of(const struct netconf_net *n)
{
	return n->nic[0] ? n->nic : n->bonding;
}

static void vlan_name(const struct netconf_net *n, char buf[IFNAMSIZ])
{
	char t[32];   /* validation keeps "<base>.<vlan>" within IFNAMSIZ */

	snprintf(t, sizeof(t), "%s.%d", base_of(n), n->vlan & 0xfff);
	snprintf(buf, IFNAMSIZ, "%.15s", t);
}

/* The device carrying the network's addresses. */
static void top_name(const struct netconf_net *n, char buf[IFNAMSIZ])
{
	if (n->bridged)
		snprintf(buf, IFNAMSIZ, "%s", n->name);
	else if (n->vlan >= 0)
		vlan_name(n, buf);
	else
		snprintf(buf, IFNAMSIZ, "%s", base_of(n));
}

static int dhcp_flags(const struct netconf_net *n, bool v6)
{
	return (n->blocking_dhcp ? NETSTEP_DHCP_WAIT : 0) |
	       (n->default_route ? NETSTEP_DHCP_GATEWAY : 0) | (v6 ? NETSTEP_DHCP_V6 : 0) |
	       (v6 && n->ipv6autoconf ? NETSTEP_DHCP_SLAAC : 0);
}

/* Pass 0: DHCP client, default routes and addresses; 1: NIC/bond bridge ports released; 2: VLAN
 * devices deleted (a bridge port goes with its device; the undo recreates it and puts it
 * back in the bridge the later undo recreated first); 3: bridges deleted. The deletions
 * of all networks are consecutive steps, which the applier sends as one batch (one
 * unregistration in the kernel). */
static void teardown_net(struct planner *pl, const struct net_snapshot *s,
			 const struct netconf_net *n, int pass)
{
	char top[IFNAMSIZ], vdev[IFNAMSIZ] = "";
	const struct net_dev *d;

	top_name(n, top);
	if (n->vlan >= 0)
		vlan_name(n, vdev);
	if (pass == 1) {   /* a VLAN port goes with its deletion (its undo re-enslaves it) */
		for (size_t i = 0; i < pl->n_sims; i++)
			if (n->bridged && !strcmp(pl->sims[i].master, n->name) &&
			    strcmp(pl->sims[i].name, vdev))
				set_master(pl, pl->sims[i].name, "");
		return;
	}
	for (int v6 = 0; pass == 0 && v6 < 2; v6++) {   /* first: the clients release */
		struct netstep *st;
		if ((v6 ? n->dhcpv6 : n->dhcpv4) && (st = emit(pl, NETSTEP_DHCP_STOP, top)))
			st->value = dhcp_flags(n, v6);
	}
	/* SLAAC off again on a device that stays (bridgeless, untagged) */
	if (pass == 0 && n->ipv6autoconf && !n->bridged && n->vlan < 0)
		emit(pl, NETSTEP_AUTOCONF6, top);   /* value 0, undo 1 */
	if (pass == 0 && (d = net_snapshot_find(s, top)) && sim_get(pl, top) && sim_get(pl, top)->exists) {
		/* the addresses go with a deleted device; the ones of a NIC/bond are ours only */
		bool deleted = n->bridged || n->vlan >= 0;
		if (n->default_route && d->gateway[0] && !n->dhcpv4) {   /* the client's own */
			struct netstep *st = emit(pl, NETSTEP_ROUTE_DEL, top);
			if (st) {
				st->family = AF_INET;
				snprintf(st->addr, sizeof(st->addr), "%s", d->gateway);
			}
		}
		if (n->ipv6gateway[0] && d->ipv6gateway[0] && strcmp(d->ipv6gateway, "::")) {
			struct netstep *st = emit(pl, NETSTEP_ROUTE_DEL, top);
			if (st) {
				st->family = AF_INET6;
				snprintf(st->addr, sizeof(st->addr), "%s", d->ipv6gateway);
			}
		}
		for (size_t i = 0; i < d->n_addrs; i++) {
			const struct net_addr *a = &d->addrs[i];
			if (a->link_local || a->dynamic)
				continue;
			if (!deleted && strcmp(a->addr, n->ipaddr) && strcmp(a->addr, n->ipv6addr))
				continue;
			addr_step(pl, NETSTEP_ADDR_DEL, top, a->family, a->addr, a->prefixlen);
		}
	}
	struct netstep *st;
	if (pass == 2 && vdev[0] && (st = link_del(pl, vdev, "vlan"))) {   /* undo recreates it */
		snprintf(st->base, sizeof(st->base), "%s", base_of(n));
		st->vlan = n->vlan;
	}
	if (pass == 3 && n->bridged && (st = link_del(pl, n->name, "bridge")))
		snprintf(st->options, sizeof(st->options), "%s", n->bridge_opts);
}

/* A NIC/bond that becomes a bridge port hands its own IP configuration over: its static
 * addresses and the default route through it are deleted (the undo restores them), as
 * VDSM replaces the device's configuration. Without this, the management bridge made
 * from the NIC that carries the host's address would duplicate the address and fail
 * on the default route. */
static void release_port_ip(struct planner *pl, const struct net_snapshot *s, const char *base)
{
	const struct net_dev *d = net_snapshot_find(s, base);
	struct sim *x = sim_get(pl, base);

	if (!d || !x || !x->exists || x->created)
		return;
	if (d->gateway[0]) {
		struct netstep *st = emit(pl, NETSTEP_ROUTE_DEL, base);
		if (st) {
			st->family = AF_INET;
			snprintf(st->addr, sizeof(st->addr), "%s", d->gateway);
		}
	}
	for (size_t i = 0; i < d->n_addrs; i++) {
		const struct net_addr *a = &d->addrs[i];
		if (!a->link_local && !a->dynamic)
			addr_step(pl, NETSTEP_ADDR_DEL, base, a->family, a->addr, a->prefixlen);
	}
}

static void add_net(struct planner *pl, const struct net_snapshot *s, const struct netconf_net *n)
{
	char top[IFNAMSIZ], port[IFNAMSIZ] = "";
	const char *base = base_of(n);
	struct sim *bs;

	if (base[0] && n->bridged && n->vlan < 0)
		release_port_ip(pl, s, base);
	if (base[0]) {
		set_up(pl, base, true);
		snprintf(port, sizeof(port), "%s", base);
	}
	if (n->vlan >= 0 && (bs = sim_get(pl, base))) {
		int mtu = bs->mtu;
		char vdev[IFNAMSIZ];
		vlan_name(n, vdev);
		struct netstep *st = link_add(pl, vdev, "vlan", mtu);
		if (st) {
			snprintf(st->base, sizeof(st->base), "%s", base);
			st->vlan = n->vlan;
		}
		set_up(pl, vdev, true);
		snprintf(port, sizeof(port), "%s", vdev);
	}
	if (n->bridged) {
		struct netstep *bst = link_add(pl, n->name, "bridge", NETCONF_MTU_DEFAULT);
		if (bst)
			snprintf(bst->options, sizeof(bst->options), "%s", n->bridge_opts);
		if (n->stp) {
			struct netstep *st = emit(pl, NETSTEP_SET_STP, n->name);
			if (st)
				st->value = 1;
		}
		if (port[0])
			set_master(pl, port, n->name);
		set_up(pl, n->name, true);
	}
	top_name(n, top);
	if (n->ipaddr[0])
		addr_step(pl, NETSTEP_ADDR_ADD, top, AF_INET, n->ipaddr, n->prefix);
	if (n->ipv6addr[0])
		addr_step(pl, NETSTEP_ADDR_ADD, top, AF_INET6, n->ipv6addr, n->ipv6prefix);
	struct netstep *ac;
	if (n->ipv6autoconf && (ac = emit(pl, NETSTEP_AUTOCONF6, top)))
		ac->value = 1;
	if (n->default_route && n->gateway[0]) {
		struct netstep *st = emit(pl, NETSTEP_ROUTE_ADD, top);
		if (st) {
			st->family = AF_INET;
			snprintf(st->addr, sizeof(st->addr), "%s", n->gateway);
		}
	}
	if (n->ipv6gateway[0]) {   /* the IPv6 default route, as VDSM */
		struct netstep *st = emit(pl, NETSTEP_ROUTE_ADD, top);
		if (st) {
			st->family = AF_INET6;
			snprintf(st->addr, sizeof(st->addr), "%s", n->ipv6gateway);
		}
	}
}

struct want_mtu {
	char dev[IFNAMSIZ];
	int mtu;
	int rank;               /* 0 NIC/bond, 1 VLAN, 2 bridge */
};

static void want(struct want_mtu *w, size_t *n, const char *dev, int mtu, int rank)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(w[i].dev, dev)) {
			if (mtu > w[i].mtu)
				w[i].mtu = mtu;
			return;
		}
	snprintf(w[*n].dev, IFNAMSIZ, "%s", dev);
	w[*n].mtu = mtu;
	w[*n].rank = rank;
	(*n)++;
}

static void plan_mtus(struct planner *pl, const struct netconf *old, const struct netconf *new)
{
	struct want_mtu *w = calloc(new->n_nets * 3 + old->n_nets + 1, sizeof(*w));
	size_t n = 0;

	if (!w) {
		pl->oom = true;
		return;
	}
	for (size_t i = 0; i < new->n_nets; i++) {
		const struct netconf_net *net = &new->nets[i];
		int mtu = net->mtu ? net->mtu : NETCONF_MTU_DEFAULT;
		char vdev[IFNAMSIZ];
		if (base_of(net)[0])
			want(w, &n, base_of(net), mtu, 0);
		if (net->vlan >= 0) {
			vlan_name(net, vdev);
			want(w, &n, vdev, mtu, 1);
		}
		if (net->bridged)
			want(w, &n, net->name, mtu, 2);
	}
	/* a NIC or bond no network uses any more goes back to the default */
	for (size_t i = 0; i < old->n_nets; i++) {
		const char *b = base_of(&old->nets[i]);
		struct sim *s = b[0] ? sim_get(pl, b) : NULL;
		bool used = false;
		for (size_t j = 0; j < n && !used; j++)
			used = !strcmp(w[j].dev, b);
		if (s && s->exists && !used)
			want(w, &n, b, NETCONF_MTU_DEFAULT, 0);
	}
	for (int pass = 0; pass < 2; pass++) {
		for (int r = 0; r < 3; r++) {
			int rank = pass == 0 ? r : 2 - r;
			for (size_t i = 0; i < n; i++) {
				struct sim *s;
				if (w[i].rank != rank || !(s = sim_get(pl, w[i].dev)))
					continue;
				bool raise = w[i].mtu > s->mtu || (s->created && w[i].mtu == s->mtu);
				if (pass == 0 ? !raise : (raise || w[i].mtu == s->mtu))
					continue;
				struct netstep *st = emit(pl, NETSTEP_SET_MTU, w[i].dev);
				if (!st)
					break;
				st->value = w[i].mtu;
				st->prev_value = s->mtu;
				s->mtu = w[i].mtu;
				s->created = false;   /* set explicitly now */
			}
		}
	}
	free(w);
}

/* ---- hostQos ---- */

static bool qos_same(const struct netqos *a, const struct netqos *b)
{
	char x[NETQOS_N * 72], y[NETQOS_N * 72];
	netqos_format(a, x, sizeof(x));
	netqos_format(b, y, sizeof(y));
	return !strcmp(x, y);
}

/* Default class curves on dev in c. A shaped untagged network on dev owns the default
 * class (its traffic is what no VLAN filter matches): its curves, as VDSM's class
 * 1389:1388 of the non-VLAN network. Otherwise the link share of the largest ls among
 * the VLAN classes (VDSM's rule), so unclassified traffic keeps a fair share. False:
 * no shaped network on dev. */
static bool dev_default(const struct netconf *c, const char *dev, struct netqos *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (size_t i = 0; i < c->n_nets; i++) {
		const struct netconf_net *n = &c->nets[i];
		if (n->qos.set && n->vlan < 0 && !strcmp(base_of(n), dev)) {
			*ret = n->qos;
			return true;
		}
	}
	for (size_t i = 0; i < c->n_nets; i++) {
		const struct netconf_net *n = &c->nets[i];
		if (!n->qos.set || strcmp(base_of(n), dev))
			continue;
		ret->set = true;
		if (n->qos.c[NETQOS_LS].m2 > ret->c[NETQOS_LS].m2)
			ret->c[NETQOS_LS] = (struct netqos_curve){ .set = true,
								   .m2 = n->qos.c[NETQOS_LS].m2 };
	}
	return ret->set;
}

/* dev's root qdisc stays: shaped before and after with the same default class, and
 * dev is not a bond this call recreates. */
static bool root_kept(const struct netconf *old, const struct netconf *new, const char *dev)
{
	struct netqos a, b;
	return dev_default(old, dev, &a) && dev_default(new, dev, &b) && qos_same(&a, &b) &&
	       !(netconf_find_bond(old, dev) && bond_changed(old, new, dev));
}

/* The class of network n stays as it is: same device, tag and curves, the network not
 * torn down, and its root kept. */
static bool qos_kept(const struct netconf *old, const struct netconf *new,
		     const struct netconf_net *n)
{
	const struct netconf_net *o = netconf_find_net(old, n->name);
	const struct netconf_net *m = netconf_find_net(new, n->name);
	return o && m && o->qos.set && m->qos.set && !net_changed(old, new, n) &&
	       qos_same(&o->qos, &m->qos) && root_kept(old, new, base_of(o));
}

/* First shaped network of c on dev is c->nets[i] (one root step per device). */
static bool first_on_dev(const struct netconf *c, size_t i)
{
	const char *dev = base_of(&c->nets[i]);
	if (!c->nets[i].qos.set)
		return false;
	for (size_t k = 0; k < i; k++)
		if (c->nets[k].qos.set && !strcmp(base_of(&c->nets[k]), dev))
			return false;
	return true;
}

/* Removal, before any teardown (a device deleted later takes its qdisc along, but a
 * kept device must lose it): classes that go or change, then roots that do. */
static void plan_qos_removal(struct planner *pl, const struct netconf *old,
			     const struct netconf *new)
{
	struct netstep *st;

	for (size_t i = 0; i < old->n_nets; i++) {
		const struct netconf_net *o = &old->nets[i];
		/* an untagged network's class is the default class: the root's */
		if (o->qos.set && o->vlan >= 0 && !qos_kept(old, new, o) &&
		    (st = emit(pl, NETSTEP_QOS_CLASS_DEL, base_of(o)))) {
			st->vlan = o->vlan;
			st->qos = o->qos;
		}
	}
	for (size_t i = 0; i < old->n_nets; i++) {
		const char *dev = base_of(&old->nets[i]);
		if (first_on_dev(old, i) && !root_kept(old, new, dev) &&
		    (st = emit(pl, NETSTEP_QOS_ROOT_DEL, dev)))
			(void)dev_default(old, dev, &st->qos);
	}
}

/* Addition, last (devices exist, MTUs final): roots, then classes. */
static void plan_qos_addition(struct planner *pl, const struct netconf *old,
			      const struct netconf *new)
{
	struct netstep *st;

	for (size_t i = 0; i < new->n_nets; i++) {
		const char *dev = base_of(&new->nets[i]);
		if (first_on_dev(new, i) && !root_kept(old, new, dev) &&
		    (st = emit(pl, NETSTEP_QOS_ROOT_ADD, dev)))
			(void)dev_default(new, dev, &st->qos);
	}
	for (size_t i = 0; i < new->n_nets; i++) {
		const struct netconf_net *n = &new->nets[i];
		if (n->qos.set && n->vlan >= 0 && !qos_kept(old, new, n) &&
		    (st = emit(pl, NETSTEP_QOS_CLASS_ADD, base_of(n)))) {
			st->vlan = n->vlan;
			st->qos = n->qos;
		}
	}
}

int netplan_build(const struct net_snapshot *s, const struct netconf *old,
		  const struct netconf *new, struct netplan *ret, struct vd_error *err)
{
	struct netplan p = { 0 };
	struct planner pl = { .p = &p, .err = err };

	for (size_t i = 0; i < s->n_devs; i++) {
		const struct net_dev *d = &s->devs[i];
		struct sim *x = sim_get(&pl, d->name);
		if (!x)
			break;
		x->exists = true;
		x->mtu = d->mtu;
		x->up = d->up;
		snprintf(x->master, sizeof(x->master), "%s", d->master_name);
	}
	/* (0) hostQos classes and roots that go or change */
	plan_qos_removal(&pl, old, new);
	/* (1) networks removed or edited */
	for (int pass = 0; pass < 4; pass++)
		for (size_t i = 0; i < old->n_nets; i++)
			if (net_changed(old, new, &old->nets[i]))
				teardown_net(&pl, s, &old->nets[i], pass);
	/* (2) bonds removed or edited, and kernel bonds the new config takes over */
	for (size_t i = 0; i < old->n_bonds; i++) {
		if (!bond_changed(old, new, old->bonds[i].name))
			continue;
		struct netstep *st = link_del(&pl, old->bonds[i].name, "bond");
		if (st)   /* to recreate it on undo */
			snprintf(st->options, sizeof(st->options), "%s", old->bonds[i].options);
	}
	for (size_t i = 0; i < new->n_bonds; i++)
		if (!netconf_find_bond(old, new->bonds[i].name))
			link_del(&pl, new->bonds[i].name, "bond");
	/* (3) new or edited bonds */
	for (size_t i = 0; i < new->n_bonds; i++) {
		const struct netconf_bond *b = &new->bonds[i];
		if (!bond_changed(old, new, b->name))
			continue;
		struct netstep *st = link_add(&pl, b->name, "bond", NETCONF_MTU_DEFAULT);
		if (st)
			snprintf(st->options, sizeof(st->options), "%s", b->options);
		for (size_t j = 0; j < b->n_nics; j++) {
			set_up(&pl, b->nics[j], false);   /* a slave is enslaved while down */
			set_master(&pl, b->nics[j], b->name);
			set_up(&pl, b->nics[j], true);
		}
		set_up(&pl, b->name, true);
	}
	/* (4) new or edited networks */
	for (size_t i = 0; i < new->n_nets; i++)
		if (net_changed(old, new, &new->nets[i]))
			add_net(&pl, s, &new->nets[i]);
	/* (5) MTUs */
	plan_mtus(&pl, old, new);
	/* (6) DHCP clients, once the devices have their final MTU */
	for (size_t i = 0; i < new->n_nets; i++) {
		const struct netconf_net *n = &new->nets[i];
		char top[IFNAMSIZ];
		if (!(n->dhcpv4 || n->dhcpv6) || !net_changed(old, new, n))
			continue;
		top_name(n, top);
		for (int v6 = 0; v6 < 2; v6++) {
			struct netstep *st;
			if ((v6 ? n->dhcpv6 : n->dhcpv4) && (st = emit(&pl, NETSTEP_DHCP_START, top)))
				st->value = dhcp_flags(n, v6);
		}
	}
	/* (7) hostQos roots and classes that come or change */
	plan_qos_addition(&pl, old, new);
	free(pl.sims);
	if (pl.oom) {
		netplan_free(&p);
		return vd_error_set(err, VD_ERR_UNEXPECTED, "out of memory");
	}
	*ret = p;
	return 0;
}

void netstep_describe(const struct netstep *st, char *buf, size_t size)
{
	switch (st->op) {
	case NETSTEP_LINK_ADD:
		if (st->vlan || st->base[0])
			snprintf(buf, size, "link-add %s %s %s.%d", st->kind, st->dev, st->base, st->vlan);
		else
			snprintf(buf, size, "link-add %s %s%s%s", st->kind, st->dev,
				 st->options[0] ? " " : "", st->options);
		break;
	case NETSTEP_LINK_DEL:
		snprintf(buf, size, "link-del %s %s", st->kind, st->dev);
		break;
	case NETSTEP_SET_MASTER:
		snprintf(buf, size, "master %s %s", st->dev, st->base[0] ? st->base : "-");
		break;
	case NETSTEP_SET_MTU:
		snprintf(buf, size, "mtu %s %d", st->dev, st->value);
		break;
	case NETSTEP_SET_UP:
		snprintf(buf, size, "%s %s", st->value ? "up" : "down", st->dev);
		break;
	case NETSTEP_SET_STP:
		snprintf(buf, size, "stp %s %s", st->dev, st->value ? "on" : "off");
		break;
	case NETSTEP_ADDR_ADD:
	case NETSTEP_ADDR_DEL:
		snprintf(buf, size, "addr-%s %s %s/%d", st->op == NETSTEP_ADDR_ADD ? "add" : "del",
			 st->dev, st->addr, st->value);
		break;
	case NETSTEP_ROUTE_ADD:
	case NETSTEP_ROUTE_DEL:
		snprintf(buf, size, "route-%s %s default via %s",
			 st->op == NETSTEP_ROUTE_ADD ? "add" : "del", st->dev, st->addr);
		break;
	case NETSTEP_DHCP_START:
	case NETSTEP_DHCP_STOP:
		snprintf(buf, size, "dhcp%s-%s %s%s%s", st->value & NETSTEP_DHCP_V6 ? "v6" : "",
			 st->op == NETSTEP_DHCP_START ? "start" : "stop",
			 st->dev, st->value & NETSTEP_DHCP_WAIT ? " wait" : "",
			 st->value & NETSTEP_DHCP_GATEWAY ? " gateway" : "");
		break;
	case NETSTEP_AUTOCONF6:
		snprintf(buf, size, "ipv6-autoconf %s %s", st->dev, st->value ? "on" : "off");
		break;
	case NETSTEP_QOS_ROOT_ADD:
	case NETSTEP_QOS_ROOT_DEL:
	case NETSTEP_QOS_CLASS_ADD:
	case NETSTEP_QOS_CLASS_DEL: {
		char q[NETQOS_N * 72];
		bool root = st->op == NETSTEP_QOS_ROOT_ADD || st->op == NETSTEP_QOS_ROOT_DEL;
		bool add = st->op == NETSTEP_QOS_ROOT_ADD || st->op == NETSTEP_QOS_CLASS_ADD;
		netqos_format(&st->qos, q, sizeof(q));
		if (root)
			snprintf(buf, size, "qos-root-%s %s %x: default %x %s", add ? "add" : "del",
				 st->dev, NETSHAPE_ROOT, NETSHAPE_DEFAULT, q);
		else
			snprintf(buf, size, "qos-class-%s %s %x:%x %s", add ? "add" : "del", st->dev,
				 NETSHAPE_ROOT, netshape_minor(st->vlan), q);
		break;
	}
	}
}
