/* The host verbs' conversion: getVdsHardwareInfo on a fixture DMI tree
 * (tests/data/hostinfo/a), and the network report structs (API.md §5.1 network
 * sub-structs) of a snapshot built from hand-made libnl caches and the network fixture. */
#include "../../network/net.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"
#include <linux/if_arp.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vlan.h>

#include "../../vdsm-c/api.h"
#include "../../vdsm-c/config.h"
#include "../../vdsm-c/daemon.h"
#include "../../vdsm-c/verbs/verbs.h"
#include "../../vdsm-c/verbs/host-internal.h"

static char *fixture(const char *rel)
{
	return test_data("%s", rel);
}

static const char *get_str(xmlrpc_value *st, const char *key)
{
	xmlrpc_value *v = rpc_struct_get(st, key);
	const char *s = NULL;
	xmlrpc_env env;

	assert_non_null(v);
	assert_int_equal(xmlrpc_value_type(v), XMLRPC_TYPE_STRING);
	xmlrpc_env_init(&env);
	xmlrpc_read_string(&env, v, &s);
	assert_false(env.fault_occurred);
	static char buf[8][256];
	static int k;
	char *out = buf[k++ % 8];
	snprintf(out, 256, "%s", s);
	free((void *)s);
	return out;
}

static int get_int(xmlrpc_value *st, const char *key)
{
	xmlrpc_value *v = rpc_struct_get(st, key);
	xmlrpc_env env;
	int i;

	assert_non_null(v);
	assert_int_equal(xmlrpc_value_type(v), XMLRPC_TYPE_INT);
	xmlrpc_env_init(&env);
	xmlrpc_read_int(&env, v, &i);
	return i;
}

static void test_hardware_info_fixture(void **state)
{
	char *root = fixture("hostinfo/a");
	struct vd_call call = { .verb = "getVdsHardwareInfo" };
	struct vd_error err = { 0 };
	xmlrpc_env env;

	(void)state;
	vd_rt.host_root = root;
	xmlrpc_env_init(&env);
	xmlrpc_value *p = verb_get_vds_hardware_info(&call, &env, &err);
	assert_false(env.fault_occurred);
	assert_int_equal(err.code, 0);
	xmlrpc_value *info = rpc_struct_get(p, "info");
	assert_string_equal(get_str(info, "systemManufacturer"), "Dell Inc.");
	assert_string_equal(get_str(info, "systemProductName"), "PowerEdge R630");
	assert_string_equal(get_str(info, "systemVersion"), "");
	assert_string_equal(get_str(info, "systemSerialNumber"), "B5RJK2");
	assert_string_equal(get_str(info, "systemUUID"), "4C4C4544-0042-3510-8052-B4C04F4A4B32");
	assert_string_equal(get_str(info, "systemFamily"), "");   /* absent file */
	assert_false(rpc_value_has_forbidden(p));
	xmlrpc_DECREF(p);
	xmlrpc_env_clean(&env);
	vd_rt.host_root = "";
	free(root);
}

static void link_(struct nl_cache *c, const char *name, int idx, const char *type, int master,
		  int link, int vlan, const char *mac)
{
	struct rtnl_link *l = rtnl_link_alloc();
	struct nl_addr *a;

	rtnl_link_set_name(l, name);
	rtnl_link_set_ifindex(l, idx);
	if (type)
		rtnl_link_set_type(l, type);
	rtnl_link_set_arptype(l, ARPHRD_ETHER);
	rtnl_link_set_flags(l, IFF_UP | IFF_LOWER_UP);
	rtnl_link_set_mtu(l, 9000);
	if (master)
		rtnl_link_set_master(l, master);
	if (link)
		rtnl_link_set_link(l, link);
	if (vlan)
		rtnl_link_vlan_set_id(l, vlan);
	nl_addr_parse(mac, AF_LLC, &a);
	rtnl_link_set_addr(l, a);
	nl_addr_put(a);
	nl_cache_add(c, (struct nl_object *)l);
	rtnl_link_put(l);
}

static void test_network_report(void **state)
{
	char *root = fixture("network");
	struct nl_cache *links, *addrs;
	struct net_snapshot *s;
	const struct net_filter f = { "veth_*", "", "" };
	xmlrpc_env env;

	(void)state;
	nl_cache_alloc_name("route/link", &links);
	nl_cache_alloc_name("route/addr", &addrs);
	link_(links, "eth0", 2, NULL, 0, 0, 0, "52:54:00:00:00:01");
	link_(links, "eth1", 3, NULL, 6, 0, 0, "52:54:00:00:00:11");
	link_(links, "eth2", 4, NULL, 6, 0, 0, "52:54:00:00:00:11");
	link_(links, "br0", 5, "bridge", 0, 0, 0, "52:54:00:00:00:05");
	link_(links, "bond0", 6, "bond", 0, 0, 0, "52:54:00:00:00:11");
	link_(links, "bond0.42", 7, "vlan", 5, 6, 42, "52:54:00:00:00:11");
	struct rtnl_addr *ra = rtnl_addr_alloc();
	struct nl_addr *local;
	nl_addr_parse("192.168.7.9/23", AF_INET, &local);
	rtnl_addr_set_ifindex(ra, 5);
	rtnl_addr_set_family(ra, AF_INET);
	rtnl_addr_set_local(ra, local);
	rtnl_addr_set_prefixlen(ra, 23);
	rtnl_addr_set_flags(ra, 0);
	nl_addr_put(local);
	nl_cache_add(addrs, (struct nl_object *)ra);
	rtnl_addr_put(ra);
	assert_int_equal(net_snapshot_build(links, addrs, NULL, &f, root, 1, &s), 0);

	xmlrpc_env_init(&env);
	xmlrpc_value *info = rpc_struct_new(&env);
	netinfo_report(&env, info, s);
	assert_false(env.fault_occurred);
	assert_false(rpc_value_has_forbidden(info));
	assert_int_equal(xmlrpc_struct_size(&env, rpc_struct_get(info, "networks")), 0);

	xmlrpc_value *nics = rpc_struct_get(info, "nics");
	assert_int_equal(xmlrpc_struct_size(&env, nics), 3);
	xmlrpc_value *e0 = rpc_struct_get(nics, "eth0");
	assert_string_equal(get_str(e0, "hwaddr"), "52:54:00:00:00:01");
	assert_int_equal(get_int(e0, "speed"), 10000);
	assert_string_equal(get_str(e0, "mtu"), "9000");
	assert_string_equal(get_str(e0, "addr"), "");
	assert_null(rpc_struct_get(e0, "permhwaddr"));
	xmlrpc_value *e2 = rpc_struct_get(nics, "eth2");
	assert_string_equal(get_str(e2, "permhwaddr"), "52:54:00:00:00:12");

	xmlrpc_value *br = rpc_struct_get(rpc_struct_get(info, "bridges"), "br0");
	assert_string_equal(get_str(br, "stp"), "on");
	assert_string_equal(get_str(br, "addr"), "192.168.7.9");
	assert_string_equal(get_str(br, "netmask"), "255.255.254.0");
	assert_string_equal(get_str(br, "ipv6gateway"), "::");
	assert_string_equal(get_str(rpc_struct_get(br, "cfg"), "BOOTPROTO"), "dhcp");
	assert_int_equal(xmlrpc_value_type(rpc_struct_get(br, "dhcpv4")), XMLRPC_TYPE_BOOL);
	assert_string_equal(get_str(rpc_struct_get(br, "opts"), "forward_delay"), "1500");

	xmlrpc_value *v = rpc_struct_get(rpc_struct_get(info, "vlans"), "bond0.42");
	assert_string_equal(get_str(v, "iface"), "bond0");
	assert_int_equal(get_int(v, "vlanid"), 42);

	xmlrpc_value *b = rpc_struct_get(rpc_struct_get(info, "bondings"), "bond0");
	assert_string_equal(get_str(b, "active_slave"), "eth1");
	assert_string_equal(get_str(rpc_struct_get(b, "opts"), "mode"), "1");
	assert_string_equal(get_str(rpc_struct_get(b, "cfg"), "BONDING_OPTS"),
			    "mode=1 miimon=100 downdelay=200");
	xmlrpc_value *slaves = rpc_struct_get(b, "slaves");
	assert_int_equal(xmlrpc_array_size(&env, slaves), 2);

	assert_string_equal(netinfo_iface_of(s, "192.168.7.9"), "br0");
	assert_string_equal(netinfo_iface_of(s, "::ffff:192.168.7.9"), "br0");
	assert_string_equal(netinfo_iface_of(s, "10.1.1.1"), "");
	xmlrpc_DECREF(info);
	xmlrpc_env_clean(&env);
	net_snapshot_unref(s);
	nl_cache_free(links);
	nl_cache_free(addrs);
	free(root);
}

/* Valid UTF-8 over the whole text, and no raw control bytes. */
static bool utf8_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t k = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 :
			   (c & 0xf8) == 0xf0 ? 3 : 9;
		if (k == 9 || i + k >= n + (k ? 0 : 1))
			return false;
		if (k == 1 && c < 0xc2)
			return false;
		for (size_t j = 1; j <= k; j++)
			if (((unsigned char)s[i + j] & 0xc0) != 0x80)
				return false;
		i += k + 1;
	}
	return true;
}

/* Interface names are bytes: the kernel accepts anything but '/', ':' and spaces, so
 * a name with bytes >= 0x80 that are not UTF-8 can exist. As a struct key it must not
 * fail the whole report nor put invalid UTF-8 on the wire. */
static void test_network_report_odd_name(void **state)
{
	char *root = fixture("network");
	struct nl_cache *links;
	struct net_snapshot *s;
	const struct net_filter f = { "", "", "" };
	xmlrpc_env env;

	(void)state;
	nl_cache_alloc_name("route/link", &links);
	link_(links, "eth0", 2, NULL, 0, 0, 0, "52:54:00:00:00:01");
	link_(links, "br\xff\xfe", 5, "bridge", 0, 0, 0, "52:54:00:00:00:05");
	link_(links, "eth\xe9", 3, NULL, 5, 0, 0, "52:54:00:00:00:03");
	/* a character outside the BMP: as a key it crashed xmlrpc-c (struct_set_value) */
	link_(links, "em\xf0\x9f\x98\x80", 4, NULL, 0, 0, 0, "52:54:00:00:00:04");
	assert_int_equal(net_snapshot_build(links, NULL, NULL, &f, root, 1, &s), 0);

	xmlrpc_env_init(&env);
	xmlrpc_value *info = rpc_struct_new(&env);
	netinfo_report(&env, info, s);
	assert_false(env.fault_occurred);
	assert_int_equal(xmlrpc_struct_size(&env, rpc_struct_get(info, "nics")), 3);
	assert_non_null(rpc_struct_get(rpc_struct_get(info, "nics"), "eth0"));
	assert_non_null(rpc_struct_get(rpc_struct_get(info, "nics"), "em?"));
	assert_int_equal(xmlrpc_struct_size(&env, rpc_struct_get(info, "bridges")), 1);
	struct rpc_blob *b = rpc_serialize_envelope(&env, info, 0, "Done");
	assert_false(env.fault_occurred);
	assert_non_null(b);
	assert_true(utf8_ok(b->data, b->len));
	assert_non_null(strstr(b->data, "<name>eth0</name>"));
	rpc_blob_unref(b);
	xmlrpc_env_clean(&env);
	net_snapshot_unref(s);
	nl_cache_free(links);
	free(root);
}

/* Struct keys from interface names: the one cleaner, after the cut to IFNAMSIZ - 1. */
static void test_netinfo_key(void **state)
{
	char k[IFNAMSIZ];
	(void)state;

	assert_string_equal(netinfo_key("eth0", k), "eth0");
	assert_string_equal(netinfo_key("br\xff\xfe", k), "br??");
	assert_string_equal(netinfo_key("caf\xc3\xa9\x7f", k), "caf\xc3\xa9?");
	/* outside the BMP: one '?' (xmlrpc-c cannot take it as a key) */
	assert_string_equal(netinfo_key("n\xf0\x9f\x98\x80x", k), "n?x");
	/* 14 bytes then a 2-byte character: the cut leaves half of it */
	assert_string_equal(netinfo_key("abcdefghijklmn\xc3\xa9", k), "abcdefghijklmn?");
	assert_string_equal(netinfo_key("abcdefghijklmnopq", k), "abcdefghijklmno");
}

int main(void)
{
	static struct vd_config conf;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hardware_info_fixture),
		cmocka_unit_test(test_network_report),
		cmocka_unit_test(test_network_report_odd_name),
		cmocka_unit_test(test_netinfo_key),
	};

	vd_config_defaults(&conf);
	vd_rt.conf = &conf;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
