/* network/: the report model. Snapshots built from hand-made libnl caches and a
 * fixture sysfs tree (tests/data/network/), the hiding rules, and — when run as root
 * with network namespaces — the live rtnetlink path in a private namespace: a
 * bridge and a veth pair appear and disappear from the next snapshot. */
#include "../../network/net.h"

#include <errno.h>
#include <linux/if_arp.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vlan.h>
#include <netlink/route/route.h>

static char *sysroot(void)
{
	return test_data("network");
}

static const struct net_filter filter = {
	.fake_nics = "dummy_*,veth_*",
	.hidden_bonds = "",
	.hidden_vlans = "hid.*, other",
};

static void test_glob(void **state)
{
	(void)state;
	assert_true(net_glob_list_match("dummy_*,veth_*", "veth_a"));
	assert_true(net_glob_list_match(" dummy_* , veth_* ", "dummy_1"));
	assert_false(net_glob_list_match("dummy_*,veth_*", "veth0"));
	assert_false(net_glob_list_match("", "eth0"));
	assert_false(net_glob_list_match(NULL, "eth0"));
	assert_true(net_glob_list_match("a,,b", "b"));
	for (int k = 0; k < _NET_KIND_MAX; k++)
		assert_non_null(net_kind_to_string(k));
}

static void add_link(struct nl_cache *c, const char *name, int idx, const char *type,
		     unsigned arptype, int master, int link, int vlan, const char *mac)
{
	struct rtnl_link *l = rtnl_link_alloc();

	rtnl_link_set_name(l, name);
	rtnl_link_set_ifindex(l, idx);
	if (type)
		assert_int_equal(rtnl_link_set_type(l, type), 0);
	rtnl_link_set_arptype(l, arptype);
	rtnl_link_set_flags(l, IFF_UP | IFF_LOWER_UP | (arptype == ARPHRD_LOOPBACK ? IFF_LOOPBACK : 0));
	rtnl_link_set_operstate(l, IF_OPER_UP);
	rtnl_link_set_mtu(l, 1500);
	if (master)
		rtnl_link_set_master(l, master);
	if (link)
		rtnl_link_set_link(l, link);
	if (vlan)
		assert_int_equal(rtnl_link_vlan_set_id(l, vlan), 0);
	if (mac) {
		struct nl_addr *a;
		assert_int_equal(nl_addr_parse(mac, AF_LLC, &a), 0);
		rtnl_link_set_addr(l, a);
		nl_addr_put(a);
	}
	assert_int_equal(nl_cache_add(c, (struct nl_object *)l), 0);
	rtnl_link_put(l);
}

static void add_addr(struct nl_cache *c, int idx, const char *cidr, int family, unsigned flags,
		     int scope)
{
	struct rtnl_addr *a = rtnl_addr_alloc();
	struct nl_addr *local;

	assert_int_equal(nl_addr_parse(cidr, family, &local), 0);
	rtnl_addr_set_ifindex(a, idx);
	rtnl_addr_set_family(a, family);
	assert_int_equal(rtnl_addr_set_local(a, local), 0);
	rtnl_addr_set_prefixlen(a, nl_addr_get_prefixlen(local));
	rtnl_addr_set_flags(a, flags);
	rtnl_addr_set_scope(a, scope);
	nl_addr_put(local);
	assert_int_equal(nl_cache_add(c, (struct nl_object *)a), 0);
	rtnl_addr_put(a);
}

static void add_default_route(struct nl_cache *c, int family, const char *dst, const char *gw,
			      int idx)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *d, *g;

	assert_int_equal(nl_addr_parse(dst, family, &d), 0);
	assert_int_equal(nl_addr_parse(gw, family, &g), 0);
	rtnl_route_set_family(r, family);
	rtnl_route_set_table(r, RT_TABLE_MAIN);
	rtnl_route_set_type(r, RTN_UNICAST);
	rtnl_route_set_dst(r, d);
	rtnl_route_nh_set_ifindex(nh, idx);
	rtnl_route_nh_set_gateway(nh, g);
	rtnl_route_add_nexthop(r, nh);
	nl_addr_put(d);
	nl_addr_put(g);
	assert_int_equal(nl_cache_add(c, (struct nl_object *)r), 0);
	rtnl_route_put(r);
}

static void test_snapshot_build(void **state)
{
	struct nl_cache *links, *addrs, *routes;
	_cleanup_free_ char *root = sysroot();
	_cleanup_(net_snapshot_unrefp) struct net_snapshot *s = NULL;
	const struct net_dev *d;

	(void)state;
	assert_int_equal(nl_cache_alloc_name("route/link", &links), 0);
	assert_int_equal(nl_cache_alloc_name("route/addr", &addrs), 0);
	assert_int_equal(nl_cache_alloc_name("route/route", &routes), 0);
	add_link(links, "lo", 1, NULL, ARPHRD_LOOPBACK, 0, 0, 0, NULL);
	add_link(links, "eth0", 2, NULL, ARPHRD_ETHER, 0, 0, 0, "52:54:00:00:00:01");
	add_link(links, "eth1", 3, NULL, ARPHRD_ETHER, 6, 0, 0, "52:54:00:00:00:11");
	add_link(links, "eth2", 4, NULL, ARPHRD_ETHER, 6, 0, 0, "52:54:00:00:00:11");
	add_link(links, "br0", 5, "bridge", ARPHRD_ETHER, 0, 0, 0, "52:54:00:00:00:05");
	add_link(links, "bond0", 6, "bond", ARPHRD_ETHER, 0, 0, 0, "52:54:00:00:00:11");
	add_link(links, "eth0.100", 7, "vlan", ARPHRD_ETHER, 5, 2, 100, "52:54:00:00:00:01");
	add_link(links, "veth_a", 8, "veth", ARPHRD_ETHER, 5, 0, 0, "aa:00:00:00:00:08");
	add_link(links, "veth0", 9, "veth", ARPHRD_ETHER, 0, 0, 0, "aa:00:00:00:00:09");
	add_link(links, "dummy_1", 10, "dummy", ARPHRD_ETHER, 0, 0, 0, "aa:00:00:00:00:0a");
	add_link(links, "hid.5", 11, "vlan", ARPHRD_ETHER, 0, 2, 5, "52:54:00:00:00:01");
	add_link(links, "tun0", 12, "tun", ARPHRD_NONE, 0, 0, 0, NULL);
	add_addr(addrs, 2, "10.0.0.6/24", AF_INET, IFA_F_PERMANENT | IFA_F_SECONDARY, RT_SCOPE_UNIVERSE);
	add_addr(addrs, 2, "fe80::5054:ff:fe00:1/64", AF_INET6, IFA_F_PERMANENT, RT_SCOPE_LINK);
	add_addr(addrs, 2, "10.0.0.5/24", AF_INET, IFA_F_PERMANENT, RT_SCOPE_UNIVERSE);
	add_addr(addrs, 5, "192.168.1.2/24", AF_INET, 0, RT_SCOPE_UNIVERSE);
	add_addr(addrs, 5, "2001:db8::5/128", AF_INET6, 0, RT_SCOPE_UNIVERSE);
	add_default_route(routes, AF_INET, "0.0.0.0/0", "10.0.0.1", 2);
	add_default_route(routes, AF_INET, "10.9.0.0/16", "10.0.0.254", 5);  /* not default */
	add_default_route(routes, AF_INET6, "::/0", "fe80::1", 5);

	assert_int_equal(net_snapshot_build(links, addrs, routes, &filter, root, 7, &s), 0);
	assert_int_equal(s->generation, 7);
	assert_int_equal(s->n_devs, 12);
	for (size_t i = 1; i < s->n_devs; i++)
		assert_true(strcmp(s->devs[i - 1].name, s->devs[i].name) < 0);

	d = net_snapshot_find(s, "lo");
	assert_int_equal(d->kind, NET_KIND_OTHER);
	d = net_snapshot_find(s, "tun0");
	assert_int_equal(d->kind, NET_KIND_OTHER);

	d = net_snapshot_find(s, "eth0");
	assert_int_equal(d->kind, NET_KIND_NIC);
	assert_false(d->hidden);
	assert_string_equal(d->hwaddr, "52:54:00:00:00:01");
	assert_int_equal(d->mtu, 1500);
	assert_int_equal(d->speed, 10000);
	assert_string_equal(d->operstate, "up");
	assert_int_equal(d->n_addrs, 3);
	assert_string_equal(d->addrs[0].addr, "10.0.0.5");   /* primary first */
	assert_int_equal(d->addrs[0].prefixlen, 24);
	assert_string_equal(d->addrs[1].addr, "10.0.0.6");
	assert_string_equal(d->addrs[2].addr, "fe80::5054:ff:fe00:1");
	assert_true(d->addrs[2].link_local);
	assert_false(d->dhcpv4);
	assert_false(d->dhcpv6);
	assert_string_equal(d->gateway, "10.0.0.1");
	assert_string_equal(d->ipv6gateway, "::");

	d = net_snapshot_find(s, "eth1");
	assert_int_equal(d->speed, 0);                      /* sysfs says -1 */
	assert_string_equal(d->master_name, "bond0");
	assert_string_equal(d->permhwaddr, "52:54:00:00:00:11");
	d = net_snapshot_find(s, "eth2");
	assert_string_equal(d->permhwaddr, "52:54:00:00:00:12");

	d = net_snapshot_find(s, "br0");
	assert_int_equal(d->kind, NET_KIND_BRIDGE);
	assert_true(d->stp);
	assert_int_equal(d->n_ports, 2);
	assert_string_equal(d->ports[0], "eth0.100");
	assert_string_equal(d->ports[1], "veth_a");
	assert_int_equal(d->n_opts, 4);
	assert_string_equal(d->opts[0].key, "forward_delay");
	assert_string_equal(d->opts[0].value, "1500");
	assert_string_equal(d->opts[2].key, "stp_state");
	assert_true(d->dhcpv4);
	assert_true(d->dhcpv6);
	assert_string_equal(d->gateway, "");
	assert_string_equal(d->ipv6gateway, "fe80::1");

	d = net_snapshot_find(s, "bond0");
	assert_int_equal(d->kind, NET_KIND_BOND);
	assert_int_equal(d->n_ports, 2);
	assert_string_equal(d->ports[0], "eth1");
	assert_string_equal(d->ports[1], "eth2");
	assert_string_equal(d->active_slave, "eth1");
	/* mode and miimon always, downdelay because it is not the default */
	assert_int_equal(d->n_opts, 3);
	assert_string_equal(d->opts[0].key, "mode");
	assert_string_equal(d->opts[0].value, "1");
	assert_string_equal(d->opts[1].key, "miimon");
	assert_string_equal(d->opts[1].value, "100");
	assert_string_equal(d->opts[2].key, "downdelay");
	assert_string_equal(d->opts[2].value, "200");

	d = net_snapshot_find(s, "eth0.100");
	assert_int_equal(d->kind, NET_KIND_VLAN);
	assert_int_equal(d->vlan_id, 100);
	assert_string_equal(d->vlan_base, "eth0");
	assert_false(d->hidden);
	d = net_snapshot_find(s, "hid.5");
	assert_int_equal(d->kind, NET_KIND_VLAN);
	assert_true(d->hidden);

	d = net_snapshot_find(s, "veth_a");
	assert_int_equal(d->kind, NET_KIND_NIC);           /* listed in fake_nics */
	assert_string_equal(d->master_name, "br0");
	d = net_snapshot_find(s, "dummy_1");
	assert_int_equal(d->kind, NET_KIND_NIC);
	d = net_snapshot_find(s, "veth0");
	assert_int_equal(d->kind, NET_KIND_OTHER);         /* a veth not in fake_nics */
	assert_true(d->hidden);
	assert_null(net_snapshot_find(s, "nope"));

	/* the lighter levels: the same devices, less of sysfs */
	struct net_snapshot *st = NULL, *nl = NULL;
	assert_int_equal(net_snapshot_build_level(links, addrs, routes, &filter, root,
						  NET_DETAIL_STATS, 7, &st), 0);
	assert_int_equal(net_snapshot_build_level(links, addrs, routes, &filter, root,
						  NET_DETAIL_NETLINK, 7, &nl), 0);
	assert_int_equal(st->n_devs, s->n_devs);
	assert_int_equal(nl->n_devs, s->n_devs);
	assert_int_equal(net_snapshot_find(st, "br0")->n_opts, 0);   /* no bridge files */
	assert_int_equal(net_snapshot_find(st, "eth0")->speed, 10000);
	assert_int_equal(net_snapshot_find(st, "bond0")->n_opts, 3);
	assert_int_equal(net_snapshot_find(nl, "eth0")->speed, 0);   /* no sysfs at all */
	assert_int_equal(net_snapshot_find(nl, "bond0")->n_opts, 0);
	assert_string_equal(net_snapshot_find(nl, "veth_a")->master_name, "br0");
	net_snapshot_unref(st);
	net_snapshot_unref(nl);

	nl_cache_free(links);
	nl_cache_free(addrs);
	nl_cache_free(routes);
}

static void test_bond_permaddr_missing(void **state)
{
	_cleanup_free_ char *root = sysroot();
	char mac[18];

	(void)state;
	assert_int_equal(net_bond_slave_permaddr(root, "bond0", "eth9", mac), -ENOENT);
	assert_int_equal(net_bond_slave_permaddr(root, "bond9", "eth1", mac), -ENOENT);
}

/* ---- live: a private network namespace ---- */

static int live_setup(void **state)
{
	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
		return 0;   /* the test skips itself */
	*state = (void *)1;
	return 0;
}

static struct nl_sock *nl(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	assert_non_null(sk);
	assert_int_equal(nl_connect(sk, NETLINK_ROUTE), 0);
	return sk;
}

static void test_live_netns(void **state)
{
	const struct net_filter f = { .fake_nics = "veth_*" };
	struct net_snapshot *s = NULL, *s2 = NULL;
	struct nl_sock *sk;
	const struct net_dev *d;

	if (!*state)
		skip();
	assert_int_equal(net_monitor_start(), 0);
	assert_int_equal(net_snapshot_get(&f, "", &s), 0);
	assert_non_null(net_snapshot_find(s, "lo"));
	assert_null(net_snapshot_find(s, "vdtbr0"));
	unsigned long g0 = s->generation;
	/* unchanged: the same snapshot object comes back */
	assert_int_equal(net_snapshot_get(&f, "", &s2), 0);
	assert_ptr_equal(s, s2);
	net_snapshot_unref(s2);

	sk = nl();
	assert_int_equal(rtnl_link_bridge_add(sk, "vdtbr0"), 0);
	assert_int_equal(rtnl_link_veth_add(sk, "veth_t0", "veth_t1", getpid()), 0);
	struct nl_cache *lc;
	assert_int_equal(rtnl_link_alloc_cache(sk, AF_UNSPEC, &lc), 0);
	struct rtnl_link *br = rtnl_link_get_by_name(lc, "vdtbr0");
	struct rtnl_link *v0 = rtnl_link_get_by_name(lc, "veth_t0");
	struct rtnl_link *chg = rtnl_link_alloc();
	rtnl_link_set_master(chg, rtnl_link_get_ifindex(br));
	assert_int_equal(rtnl_link_change(sk, v0, chg, 0), 0);
	rtnl_link_put(chg);

	/* No wait, no poll: the events are queued before the calls above returned. */
	assert_int_equal(net_snapshot_get(&f, "", &s2), 0);
	assert_true(s2->generation > g0);
	d = net_snapshot_find(s2, "vdtbr0");
	assert_non_null(d);
	assert_int_equal(d->kind, NET_KIND_BRIDGE);
	assert_int_equal(d->n_ports, 1);
	assert_string_equal(d->ports[0], "veth_t0");
	d = net_snapshot_find(s2, "veth_t1");
	assert_non_null(d);
	assert_int_equal(d->kind, NET_KIND_NIC);
	/* a less detailed level is served by the current full snapshot */
	struct net_snapshot *s3 = NULL;
	assert_int_equal(net_snapshot_get_level(&f, "", NET_DETAIL_NETLINK, &s3), 0);
	assert_ptr_equal(s3, s2);
	net_snapshot_unref(s3);
	net_snapshot_unref(s2);

	/* after a change: each level is built and cached on its own (this namespace's
	 * devices are not in the test's /sys: the sysfs part is tested with fixtures) */
	assert_int_equal(rtnl_link_bridge_add(sk, "vdtbr1"), 0);
	assert_int_equal(net_snapshot_get_level(&f, "", NET_DETAIL_STATS, &s3), 0);
	assert_non_null(net_snapshot_find(s3, "vdtbr1"));
	assert_int_equal(net_snapshot_get_level(&f, "", NET_DETAIL_NETLINK, &s2), 0);
	assert_ptr_equal(s2, s3);   /* the current STATS one is more detailed */
	net_snapshot_unref(s2);
	assert_int_equal(net_snapshot_get(&f, "", &s2), 0);   /* FULL: built, not the STATS one */
	assert_ptr_not_equal(s2, s3);
	assert_non_null(net_snapshot_find(s2, "vdtbr1"));
	net_snapshot_unref(s2);
	net_snapshot_unref(s3);
	struct rtnl_link *br1 = rtnl_link_alloc();
	rtnl_link_set_name(br1, "vdtbr1");
	assert_int_equal(rtnl_link_delete(sk, br1), 0);
	rtnl_link_put(br1);

	assert_int_equal(rtnl_link_delete(sk, v0), 0);   /* takes its peer along */
	assert_int_equal(rtnl_link_delete(sk, br), 0);
	assert_int_equal(net_snapshot_get(&f, "", &s2), 0);
	assert_null(net_snapshot_find(s2, "vdtbr0"));
	assert_null(net_snapshot_find(s2, "veth_t0"));
	assert_null(net_snapshot_find(s2, "veth_t1"));
	net_snapshot_unref(s2);
	net_snapshot_unref(s);
	rtnl_link_put(br);
	rtnl_link_put(v0);
	nl_cache_free(lc);
	nl_socket_free(sk);
	net_monitor_stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_snapshot_build),
		cmocka_unit_test(test_bond_permaddr_missing),
		cmocka_unit_test_setup(test_live_netns, live_setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
