/* Builds a net_snapshot from libnl link/address/route caches plus sysfs. */
#include "net.h"   /* first: <net/if.h> before the kernel headers */

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_arp.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vlan.h>
#include <netlink/route/route.h>

void net_dev_clear(struct net_dev *d)
{
	for (size_t i = 0; i < d->n_ports; i++)
		free(d->ports[i]);
	free(d->ports);
	for (size_t i = 0; i < d->n_opts; i++) {
		free(d->opts[i].key);
		free(d->opts[i].value);
	}
	free(d->opts);
	free(d->addrs);
	free(d->tc_classes);
	memset(d, 0, sizeof(*d));
}

static void snapshot_free(struct net_snapshot *s)
{
	for (size_t i = 0; i < s->n_devs; i++)
		net_dev_clear(&s->devs[i]);
	free(s->devs);
	free(s);
}

struct net_snapshot *net_snapshot_ref(struct net_snapshot *s)
{
	if (s)
		atomic_fetch_add(&s->ref, 1);
	return s;
}

void net_snapshot_unref(struct net_snapshot *s)
{
	if (s && atomic_fetch_sub(&s->ref, 1) == 1)
		snapshot_free(s);
}

static int cmp_dev(const void *a, const void *b)
{
	return strcmp(((const struct net_dev *)a)->name, ((const struct net_dev *)b)->name);
}

const struct net_dev *net_snapshot_find(const struct net_snapshot *s, const char *name)
{
	struct net_dev key;

	snprintf(key.name, sizeof(key.name), "%s", name);
	return bsearch(&key, s->devs, s->n_devs, sizeof(key), cmp_dev);
}

static struct net_dev *find_index(struct net_snapshot *s, int ifindex)
{
	for (size_t i = 0; i < s->n_devs; i++)
		if (s->devs[i].ifindex == ifindex)
			return &s->devs[i];
	return NULL;
}

static enum net_kind classify(struct rtnl_link *l, const char *type, const struct net_filter *f,
			      const char *name, bool *hidden)
{
	*hidden = false;
	if ((rtnl_link_get_flags(l) & IFF_LOOPBACK) || rtnl_link_get_arptype(l) == ARPHRD_LOOPBACK)
		return NET_KIND_OTHER;
	if (strcmp(type, "bridge") == 0)
		return NET_KIND_BRIDGE;
	if (strcmp(type, "vlan") == 0) {
		*hidden = net_glob_list_match(f->hidden_vlans, name);
		return NET_KIND_VLAN;
	}
	if (strcmp(type, "bond") == 0) {
		*hidden = net_glob_list_match(f->hidden_bonds, name);
		return NET_KIND_BOND;
	}
	if (strcmp(type, "dummy") == 0 || strcmp(type, "veth") == 0) {
		/* Fake NICs: reported only when fake_nics lists them (API.md §5.1). */
		if (net_glob_list_match(f->fake_nics, name))
			return NET_KIND_NIC;
		*hidden = true;
		return NET_KIND_OTHER;
	}
	if (!*type && rtnl_link_get_arptype(l) == ARPHRD_ETHER)
		return NET_KIND_NIC;
	return NET_KIND_OTHER;
}

static int strv_add_sorted(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(char *));
	size_t i;

	if (!nv)
		return -ENOMEM;
	*v = nv;
	for (i = *n; i > 0 && strcmp(nv[i - 1], s) > 0; i--)
		nv[i] = nv[i - 1];
	if (!(nv[i] = strdup(s))) {
		memmove(&nv[i], &nv[i + 1], (*n - i) * sizeof(char *));
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

static int fill_link(struct rtnl_link *l, const struct net_filter *f, struct net_dev *d)
{
	const char *type = rtnl_link_get_type(l);
	struct nl_addr *a = rtnl_link_get_addr(l);
	unsigned flags = rtnl_link_get_flags(l);
	bool hidden;

	snprintf(d->name, sizeof(d->name), "%s", rtnl_link_get_name(l) ?: "");
	d->ifindex = rtnl_link_get_ifindex(l);
	snprintf(d->type, sizeof(d->type), "%s", type ?: "");
	d->kind = classify(l, d->type, f, d->name, &hidden);
	d->hidden = hidden;
	if (a && nl_addr_get_len(a) == 6) {
		const unsigned char *m = nl_addr_get_binary_addr(a);
		snprintf(d->hwaddr, sizeof(d->hwaddr), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
			 m[2], m[3], m[4], m[5]);
	}
	d->mtu = (int)rtnl_link_get_mtu(l);
	d->up = flags & IFF_UP;
	d->carrier = flags & IFF_LOWER_UP;
	rtnl_link_operstate2str(rtnl_link_get_operstate(l), d->operstate, sizeof(d->operstate));
	d->master = rtnl_link_get_master(l);
	snprintf(d->ipv6gateway, sizeof(d->ipv6gateway), "::");
	if (d->kind == NET_KIND_VLAN) {
		int id = rtnl_link_vlan_get_id(l);
		d->vlan_id = id > 0 ? id : 0;
	}
	return 0;
}

static int add_addr(struct net_dev *d, struct rtnl_addr *ra)
{
	struct nl_addr *local = rtnl_addr_get_local(ra);
	int family = rtnl_addr_get_family(ra);
	unsigned flags = rtnl_addr_get_flags(ra);

	if (!local || (family != AF_INET && family != AF_INET6))
		return 0;
	struct net_addr *na = realloc(d->addrs, (d->n_addrs + 1) * sizeof(*na));
	if (!na)
		return -ENOMEM;
	d->addrs = na;
	struct net_addr *x = &na[d->n_addrs];
	memset(x, 0, sizeof(*x));
	x->family = family;
	if (!inet_ntop(family, nl_addr_get_binary_addr(local), x->addr, sizeof(x->addr)))
		return 0;
	x->prefixlen = rtnl_addr_get_prefixlen(ra);
	x->dynamic = !(flags & IFA_F_PERMANENT);
	x->link_local = rtnl_addr_get_scope(ra) == RT_SCOPE_LINK;
	x->secondary = (flags & IFA_F_SECONDARY) != 0;
	d->n_addrs++;
	if (family == AF_INET && !x->link_local && x->dynamic)
		d->dhcpv4 = true;
	if (family == AF_INET6 && !x->link_local && x->dynamic && x->prefixlen == 128)
		d->dhcpv6 = true;
	return 0;
}

static int addr_rank(const struct net_addr *a)
{
	return a->family == AF_INET6 ? 2 : a->secondary;
}

static int cmp_addr(const void *a, const void *b)
{
	const struct net_addr *x = a, *y = b;

	/* IPv4 primaries, IPv4 secondaries, then IPv6; the caller's insertion sort
	 * keeps the kernel's order within each group. */
	return addr_rank(x) - addr_rank(y);
}

static void route_gateways(struct nl_cache *routes, struct net_snapshot *s)
{
	for (struct nl_object *o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;
		struct nl_addr *dst = rtnl_route_get_dst(r);
		int family = rtnl_route_get_family(r);

		if (rtnl_route_get_table(r) != RT_TABLE_MAIN || rtnl_route_get_type(r) != RTN_UNICAST)
			continue;
		if (dst && nl_addr_get_prefixlen(dst) != 0)
			continue;
		if (rtnl_route_get_nnexthops(r) < 1)
			continue;
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, 0);
		struct nl_addr *gw = rtnl_route_nh_get_gateway(nh);
		struct net_dev *d = find_index(s, rtnl_route_nh_get_ifindex(nh));
		if (!d || !gw)
			continue;
		if (family == AF_INET && !d->gateway[0])
			inet_ntop(AF_INET, nl_addr_get_binary_addr(gw), d->gateway, sizeof(d->gateway));
		else if (family == AF_INET6 && strcmp(d->ipv6gateway, "::") == 0)
			inet_ntop(AF_INET6, nl_addr_get_binary_addr(gw), d->ipv6gateway,
				  sizeof(d->ipv6gateway));
	}
}

static int build(struct nl_cache *links, struct nl_cache *addrs, struct nl_cache *routes,
		 const struct net_filter *f, const char *sysroot, enum net_detail level,
		 unsigned long generation, struct net_snapshot **ret)
{
	struct net_snapshot *s = calloc(1, sizeof(*s));
	int n = nl_cache_nitems(links), r = 0;

	if (!s)
		return -ENOMEM;
	atomic_init(&s->ref, 1);
	s->generation = generation;
	if (n > 0 && !(s->devs = calloc(n, sizeof(*s->devs)))) {
		free(s);
		return -ENOMEM;
	}
	for (struct nl_object *o = nl_cache_get_first(links); o && (int)s->n_devs < n;
	     o = nl_cache_get_next(o)) {
		fill_link((struct rtnl_link *)o, f, &s->devs[s->n_devs++]);
	}

	/* Masters, ports and slaves; VLAN bases. */
	for (size_t i = 0; i < s->n_devs; i++) {
		struct net_dev *d = &s->devs[i];
		if (d->master) {
			struct net_dev *m = find_index(s, d->master);
			if (m) {
				snprintf(d->master_name, sizeof(d->master_name), "%s", m->name);
				if ((m->kind == NET_KIND_BRIDGE || m->kind == NET_KIND_BOND) &&
				    (r = strv_add_sorted(&m->ports, &m->n_ports, d->name)) < 0)
					goto fail;
			}
		}
		if (d->kind == NET_KIND_VLAN) {
			struct rtnl_link *l = rtnl_link_get(links, d->ifindex);
			struct net_dev *b = l ? find_index(s, rtnl_link_get_link(l)) : NULL;
			if (b)
				snprintf(d->vlan_base, sizeof(d->vlan_base), "%s", b->name);
			rtnl_link_put(l);
		}
	}
	for (struct nl_object *o = addrs ? nl_cache_get_first(addrs) : NULL; o;
	     o = nl_cache_get_next(o)) {
		struct rtnl_addr *ra = (struct rtnl_addr *)o;
		struct net_dev *d = find_index(s, rtnl_addr_get_ifindex(ra));
		if (d && (r = add_addr(d, ra)) < 0)
			goto fail;
	}
	if (routes)
		route_gateways(routes, s);

	/* sysfs: only for what is reported. */
	for (size_t i = 0; i < s->n_devs; i++) {
		struct net_dev *d = &s->devs[i];
		if (d->n_addrs > 1) {
			/* insertion sort keeps kernel order within a family */
			for (size_t a = 1; a < d->n_addrs; a++) {
				struct net_addr t = d->addrs[a];
				size_t b = a;
				while (b > 0 && cmp_addr(&d->addrs[b - 1], &t) > 0) {
					d->addrs[b] = d->addrs[b - 1];
					b--;
				}
				d->addrs[b] = t;
			}
		}
		if (d->kind == NET_KIND_OTHER || d->hidden || level == NET_DETAIL_NETLINK)
			continue;
		if (d->kind == NET_KIND_NIC)
			d->speed = net_sysfs_speed(sysroot, d->name);
		else if (d->kind == NET_KIND_BRIDGE && level == NET_DETAIL_FULL)
			net_sysfs_bridge(sysroot, d);   /* a bridge without sysfs keeps defaults */
		else if (d->kind == NET_KIND_BOND)
			net_sysfs_bond(sysroot, d);
		if (d->master && d->master_name[0]) {
			const struct net_dev *m = find_index(s, d->master);
			if (m && m->kind == NET_KIND_BOND &&
			    net_bond_slave_permaddr(sysroot, m->name, d->name, d->permhwaddr) < 0)
				d->permhwaddr[0] = '\0'; /* bond gone meanwhile: none reported */
		}
	}
	qsort(s->devs, s->n_devs, sizeof(*s->devs), cmp_dev);
	*ret = s;
	return 0;
fail:
	snapshot_free(s);
	return r;
}

int net_snapshot_build(struct nl_cache *links, struct nl_cache *addrs, struct nl_cache *routes,
		       const struct net_filter *f, const char *sysroot, unsigned long generation,
		       struct net_snapshot **ret)
{
	return build(links, addrs, routes, f, sysroot, NET_DETAIL_FULL, generation, ret);
}

int net_snapshot_build_level(struct nl_cache *links, struct nl_cache *addrs,
			     struct nl_cache *routes, const struct net_filter *f,
			     const char *sysroot, enum net_detail level, unsigned long generation,
			     struct net_snapshot **ret)
{
	return build(links, addrs, routes, f, sysroot, level, generation, ret);
}
