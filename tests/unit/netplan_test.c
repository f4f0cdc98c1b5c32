/* network/: the setupNetworks model, validation and planner from hand-made kernel
 * snapshots (no kernel), and the persisted text format. */
#include "../../network/netconf.h"
#include "../../vdsm-c/util/buf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "testutil.h"

/* ---- fixtures ---- */

struct fdev {
	const char *name;
	enum net_kind kind;
	int mtu;
	const char *master;
	const char *addr;       /* "a/p" IPv4 */
	const char *gw;         /* the default route through it */
};

static int cmp_dev(const void *a, const void *b)
{
	return strcmp(((const struct net_dev *)a)->name, ((const struct net_dev *)b)->name);
}

static struct net_snapshot *snap(const struct fdev *f, size_t n)
{
	struct net_snapshot *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->ref = 1;
	s->devs = calloc(n + 1, sizeof(*s->devs));
	s->n_devs = n;
	for (size_t i = 0; i < n; i++) {
		struct net_dev *d = &s->devs[i];
		snprintf(d->name, sizeof(d->name), "%s", f[i].name);
		d->kind = f[i].kind;
		d->mtu = f[i].mtu ? f[i].mtu : 1500;
		d->up = true;
		d->ifindex = (int)i + 2;
		if (f[i].master)
			snprintf(d->master_name, sizeof(d->master_name), "%s", f[i].master);
		if (f[i].gw)
			snprintf(d->gateway, sizeof(d->gateway), "%s", f[i].gw);
		if (f[i].addr) {
			d->addrs = calloc(1, sizeof(*d->addrs));
			d->n_addrs = 1;
			d->addrs[0].family = AF_INET;
			sscanf(f[i].addr, "%45[^/]/%d", d->addrs[0].addr, &d->addrs[0].prefixlen);
		}
	}
	qsort(s->devs, n, sizeof(*s->devs), cmp_dev);
	return s;
}

static const struct fdev nics3[] = {
	{ "eth0", NET_KIND_NIC, 0, NULL, NULL, NULL },
	{ "eth1", NET_KIND_NIC, 0, NULL, NULL, NULL },
	{ "eth2", NET_KIND_NIC, 0, NULL, NULL, NULL },
	{ "lo", NET_KIND_OTHER, 65536, NULL, NULL, NULL },
	{ "foreignbr", NET_KIND_BRIDGE, 0, NULL, NULL, NULL },
	{ "eth3", NET_KIND_NIC, 0, "foreignbr", NULL, NULL },
};

/* A request from lines "net NAME k=v ..." / "bond NAME k=v ..." (nics=a,b). */
static int req(struct netconf *r, const char *spec, struct vd_error *err)
{
	char *copy = strdup(spec), *save = NULL;
	int ret = 0;

	memset(r, 0, sizeof(*r));
	for (char *line = strtok_r(copy, "\n", &save); line && ret == 0;
	     line = strtok_r(NULL, "\n", &save)) {
		char *s2 = NULL, *kind = strtok_r(line, " ", &s2), *name = strtok_r(NULL, " ", &s2);
		struct netconf_net *n = NULL;
		struct netconf_bond *b = NULL;
		ret = !strcmp(kind, "net") ? netconf_add_net(r, name, &n, err) :
		      netconf_add_bond(r, name, &b, err);
		for (char *kv = strtok_r(NULL, " ", &s2); kv && ret == 0; kv = strtok_r(NULL, " ", &s2)) {
			char *eq = strchr(kv, '=');
			*eq = '\0';
			for (char *p = eq + 1; *p; p++)
				if (*p == '+')
					*p = ' ';
			ret = n ? netconf_net_set(n, kv, eq + 1, err) : netconf_bond_set(b, kv, eq + 1, err);
		}
	}
	free(copy);
	return ret;
}

/* Runs merge + validate + plan; returns the steps joined by "; " or the error. */
static char *plan(const struct fdev *f, size_t nf, const char *running, const char *request)
{
	struct net_snapshot *s = snap(f, nf);
	struct netconf old = { 0 }, r = { 0 }, new = { 0 };
	struct netplan p = { 0 };
	struct vd_error err = { 0 };
	char *out = calloc(1, 8192);

	if (running)
		assert_int_equal(req(&old, running, &err), 0);
	if (req(&r, request, &err) == 0 && netconf_merge(&old, &r, &new, &err) == 0 &&
	    netconf_validate(&new, &old, s, &err) == 0 && netplan_build(s, &old, &new, &p, &err) == 0) {
		for (size_t i = 0; i < p.n; i++) {
			char buf[128];
			netstep_describe(&p.steps[i], buf, sizeof(buf));
			strcat(out, i ? "; " : "");
			strcat(out, buf);
		}
	} else {
		snprintf(out, 8192, "E%d %s", err.code, err.msg);
	}
	netplan_free(&p);
	netconf_free(&old);
	netconf_free(&r);
	netconf_free(&new);
	net_snapshot_unref(s);
	return out;
}

#define PLAN(running, request) plan(nics3, ELEMENTSOF(nics3), running, request)

static void expect_err(const char *running, const char *request, int code, const char *needle)
{
	char *out = PLAN(running, request);
	char prefix[8];
	snprintf(prefix, sizeof(prefix), "E%d ", code);
	if (strncmp(out, prefix, strlen(prefix)) || !strstr(out, needle))
		fail_msg("request '%s': want code %d with '%s', got '%s'", request, code, needle, out);
	free(out);
}

static void expect_plan(const char *running, const char *request, const char *want)
{
	char *out = PLAN(running, request);
	if (strcmp(out, want))
		fail_msg("request '%s':\n want %s\n got  %s", request, want, out);
	free(out);
}

/* ---- validation: every rule of API.md §4.2 with its code ---- */

static void test_validation_codes(void **state)
{
	(void)state;
	expect_err(NULL, "net bad.name nic=eth0", 27, "'bad.name'");
	expect_err(NULL, "net -lead nic=eth0", 27, "bad name");
	expect_err(NULL, "net averyveryverylongname nic=eth0", 27, "bad name");
	expect_err(NULL, "net n1 nic=eth0 vlan=4095", 26, "network 'n1': vlan");
	expect_err(NULL, "net n1 nic=eth0 vlan=x", 26, "vlan");
	expect_err(NULL, "net n1 nic=eth9", 23, "network 'n1': unknown nic 'eth9'");
	expect_err(NULL, "net n1 nic=lo", 23, "unknown nic 'lo'");
	expect_err(NULL, "net n1 nic=eth3", 24, "'eth3' is already used by 'foreignbr'");
	expect_err(NULL, "net n1 nic=eth0\nnet n2 nic=eth0", 24, "network 'n2': 'eth0' already "
		   "carries the untagged network 'n1'");
	expect_err(NULL, "net n1 nic=eth0 vlan=5\nnet n2 nic=eth0 vlan=5", 26, "vlan 5 on 'eth0'");
	expect_err(NULL, "net n1 nic=eth0 bonding=bond0", 21, "mutually exclusive");
	expect_err(NULL, "net n1 bridged=false", 21, "bridgeless");
	expect_err(NULL, "net n1 nic=eth0 ipaddr=10.0.0.300 netmask=255.0.0.0", 22, "ipaddr");
	expect_err(NULL, "net n1 nic=eth0 ipaddr=10.0.0.1 netmask=255.0.255.0", 22, "netmask");
	expect_err(NULL, "net n1 nic=eth0 gateway=10.0.0.254", 22, "gateway without ipaddr");
	expect_err(NULL, "net n1 nic=eth0 ipaddr=10.0.0.1", 22, "without netmask");
	expect_err(NULL, "net n1 nic=eth0 ipv6addr=zz::1/64", 22, "IPv6");
	expect_err(NULL, "net n1 nic=eth0 mtu=50", 21, "network 'n1': mtu");
	expect_err(NULL, "net n1 nic=eth0 mtu=abc", 21, "mtu");
	expect_err(NULL, "net n1 nic=eth0 bootproto=bootp", 21, "network 'n1': bootproto 'bootp'");
	expect_err(NULL, "net n1 nic=eth0 bootproto=dhcp ipaddr=10.0.0.1 prefix=8", 22,
		   "mutually exclusive");
	expect_err(NULL, "net n1 nic=eth0 bootproto=dhcp gateway=10.0.0.254", 22, "gateway without");
	expect_err(NULL, "net n1 nic=eth0 bootproto=dhcp blockingdhcp=perhaps", 21, "blockingdhcp");
	expect_err(NULL, "net n1 nic=eth0 hostQos=x", 21, "hostQos");
	expect_err(NULL, "net n1 remove=true", 27, "does not exist");
	expect_err("net n1 nic=eth0", "net n1 remove=true nic=eth0", 21, "remove with other");
	expect_err(NULL, "net foreignbr nic=eth0", 27, "not managed");
	expect_err(NULL, "net eth1 nic=eth0", 27, "exists and is not a bridge");
	expect_err(NULL, "bond bondx nics=eth0", 25, "bond<digits>");
	expect_err(NULL, "bond bond0 nics=eth0 options=mode=9", 25, "unknown mode");
	expect_err(NULL, "bond bond0 nics=eth0 options=mode=1+frobnicate=1", 25, "frobnicate");
	expect_err(NULL, "bond bond0 options=mode=1", 21, "nics");
	expect_err(NULL, "bond bond0 nics=eth0,eth9", 23, "bond 'bond0': unknown nic 'eth9'");
	expect_err(NULL, "bond bond0 remove=true", 25, "does not exist");
	expect_err(NULL, "bond bond0 nics=eth0\nbond bond1 nics=eth0", 24, "slave of 'bond0'");
	expect_err(NULL, "bond bond0 nics=eth0\nnet n1 nic=eth0", 24, "slave of bond 'bond0'");
	expect_err(NULL, "net n1 bonding=bond7", 21, "unknown bond 'bond7'");
	expect_err(NULL, "bond bond0 nics=eth0,eth1 options=mode=1+primary=eth2", 25, "primary");
	expect_err(NULL, "net n1 nic=eth0 vlan=4000 bonding=", 25, "bad device name");
	expect_err(NULL, "net n1 nic=eth0 bridge_opts=frob=1", 21,
		   "network 'n1': bridge_opts: unknown bridge option 'frob'");
	expect_err(NULL, "net n1 nic=eth0 bridge_opts=stp_state=1", 21, "'stp_state'");
	expect_err(NULL, "net n1 nic=eth0 bridge_opts=ageing_time", 21, "ageing_time: bad value");
	expect_err(NULL, "net n1 nic=eth0 bridge_opts=ageing_time=1;reboot", 21,
		   "ageing_time: bad value '1;reboot'");
	expect_err(NULL, "net n1 nic=eth0 bridge_opts=priority=0xzz", 21, "bad value");
	expect_err(NULL, "net n1 nic=eth0 bridge_opts=group_addr=01:80:c2:00:00:z1", 21, "group_addr");
	expect_err(NULL, "net n1 nic=eth0 bridge_opts=priority=1+priority=2", 21,
		   "priority given twice");
}

static void test_bridge_opts(void **state)
{
	(void)state;
	/* normalised (whitespace collapsed), written right after the bridge is created */
	expect_plan(NULL, "net b nic=eth1 bridge_opts=++forward_delay=1500+++multicast_snooping=0+",
		    "link-add bridge b forward_delay=1500 multicast_snooping=0; master eth1 b; "
		    "mtu b 1500");
	/* a change of options alone is an edit: the bridge is recreated with the new ones */
	char *out = PLAN("net b nic=eth1 bridge_opts=priority=7", "net b nic=eth1 bridge_opts=priority=9");
	assert_non_null(strstr(out, "link-add bridge b priority=9"));
	free(out);
}

/* ---- planner ---- */

static void test_plan_dhcp(void **state)
{
	(void)state;
	/* the client starts last (after the MTUs); defaultRoute without a gateway is the
	 * lease's router */
	expect_plan(NULL, "net d nic=eth0 vlan=3 mtu=9000 bootproto=dhcp blockingdhcp=true "
		    "defaultRoute=true",
		    "link-add vlan eth0.3 eth0.3; link-add bridge d; master eth0.3 d; mtu eth0 9000; "
		    "mtu eth0.3 9000; mtu d 9000; dhcp-start d wait gateway");
	expect_plan(NULL, "net d bridged=false nic=eth1 bootproto=dhcp", "dhcp-start eth1");
	/* removal: the client is stopped first; its route and address are not ours to delete */
	expect_plan("net d bridged=false nic=eth1 bootproto=dhcp defaultRoute=true",
		    "net d remove=true", "dhcp-stop eth1 gateway");
	/* dhcp → static is an edit: stop, then the address */
	expect_plan("net d bridged=false nic=eth1 bootproto=dhcp",
		    "net d bridged=false nic=eth1 ipaddr=192.0.2.3 prefix=24",
		    "dhcp-stop eth1; addr-add eth1 192.0.2.3/24");
	/* DHCPv6 after DHCPv4, each its own client; SLAAC with the addresses */
	expect_plan(NULL, "net d nic=eth0 bootproto=dhcp dhcpv6=true ipv6autoconf=true",
		    "link-add bridge d; master eth0 d; ipv6-autoconf d on; mtu d 1500; "
		    "dhcp-start d; dhcpv6-start d");
	expect_plan("net d bridged=false nic=eth1 dhcpv6=true ipv6autoconf=true mtu=1500",
		    "net d remove=true", "dhcpv6-stop eth1; ipv6-autoconf eth1 off");
	expect_err(NULL, "net n1 nic=eth0 dhcpv6=true ipv6addr=fd00::1", 22, "dhcpv6 and a static");
	expect_err(NULL, "net n1 nic=eth0 ipv6autoconf=1 ipv6addr=fd00::1", 22, "ipv6autoconf and");
	/* unchanged networks keep their client */
	expect_plan("net d bridged=false nic=eth1 bootproto=dhcp mtu=1500",
		    "net d bridged=false nic=eth1 bootproto=dhcp", "");
}

static void test_plan_vlan_bridge(void **state)
{
	(void)state;
	expect_plan(NULL, "net red nic=eth0 vlan=10 mtu=9000 ipaddr=192.0.2.1 netmask=255.255.255.0",
		    "link-add vlan eth0.10 eth0.10; link-add bridge red; master eth0.10 red; "
		    "addr-add red 192.0.2.1/24; mtu eth0 9000; mtu eth0.10 9000; mtu red 9000");
}

static void test_plan_bridgeless_and_stp(void **state)
{
	(void)state;
	expect_plan(NULL, "net m bridged=false nic=eth1 ipaddr=192.0.2.1 prefix=24 "
		    "gateway=192.0.2.254 defaultRoute=true",
		    "addr-add eth1 192.0.2.1/24; route-add eth1 default via 192.0.2.254");
	expect_plan(NULL, "net v6 bridged=false nic=eth2 ipv6addr=fd00::5/64 ipv6gateway=fd00::1",
		    "addr-add eth2 fd00::5/64; route-add eth2 default via fd00::1");
	expect_plan(NULL, "net s nic=eth1 stp=yes", "link-add bridge s; stp s on; master eth1 s; "
		    "mtu s 1500");
}

static void test_plan_bond(void **state)
{
	(void)state;
	expect_plan(NULL, "bond bond0 nics=eth0,eth1 options=mode=802.3ad+miimon=100\n"
		    "net b bonding=bond0 vlan=7",
		    "link-add bond bond0 mode=4 miimon=100; down eth0; master eth0 bond0; up eth0; "
		    "down eth1; master eth1 bond0; up eth1; up bond0; link-add vlan bond0.7 bond0.7; "
		    "link-add bridge b; master bond0.7 b; mtu bond0 1500; "
		    "mtu bond0.7 1500; mtu b 1500");
}

/* MTU down across bridge/VLAN/NIC: top first. Removal: ports released, devices gone. */
static void test_plan_mtu_down_and_remove(void **state)
{
	(void)state;
	static const struct fdev k[] = {
		{ "eth0", NET_KIND_NIC, 9000, NULL, NULL, NULL },
		{ "eth0.10", NET_KIND_VLAN, 9000, "red", NULL, NULL },
		{ "red", NET_KIND_BRIDGE, 9000, NULL, "192.0.2.1/24", NULL },
		{ "eth1", NET_KIND_NIC, 0, NULL, NULL, NULL },
	};
	const char *running = "net red nic=eth0 vlan=10 mtu=9000 ipaddr=192.0.2.1 prefix=24";
	char *out;

	/* nothing changes: empty plan */
	out = plan(k, ELEMENTSOF(k), running, running);
	assert_string_equal(out, "");
	free(out);
	out = plan(k, ELEMENTSOF(k), running, "net red nic=eth0 vlan=10 mtu=1500 "
		   "ipaddr=192.0.2.1 prefix=24");
	/* edit = teardown + add; the MTU phase lowers the NIC last */
	assert_non_null(strstr(out, "addr-del red 192.0.2.1/24; link-del vlan eth0.10; "
			       "link-del bridge red; "));
	assert_non_null(strstr(out, "mtu red 1500; mtu eth0.10 1500; mtu eth0 1500"));
	free(out);
	out = plan(k, ELEMENTSOF(k), running, "net red remove=true");
	/* the freed NIC goes back to the default MTU */
	assert_string_equal(out, "addr-del red 192.0.2.1/24; link-del vlan eth0.10; "
			    "link-del bridge red; mtu eth0 1500");
	free(out);
	/* move the network from eth0 to eth1 */
	out = plan(k, ELEMENTSOF(k), running, "net red nic=eth1 vlan=10 mtu=9000 ipaddr=192.0.2.1 "
		   "prefix=24");
	assert_non_null(strstr(out, "link-del bridge red; link-add vlan eth1.10 eth1.10; "));
	assert_non_null(strstr(out, "mtu eth1 9000; mtu eth1.10 9000; mtu red 9000"));
	free(out);
}

/* The management bridge made from the NIC that carries the host's address and default
 * route (vdsm-c-setup): the NIC hands both over first; a VLAN network leaves them. */
static void test_plan_bridge_takes_over_nic_ip(void **state)
{
	(void)state;
	static const struct fdev k[] = {
		{ "eth0", NET_KIND_NIC, 0, NULL, "192.0.2.5/24", "192.0.2.254" },
		{ "eth1", NET_KIND_NIC, 0, NULL, "198.51.100.7/24", NULL },
	};
	char *out = plan(k, ELEMENTSOF(k), NULL, "net ovirtmgmt nic=eth0 ipaddr=192.0.2.5 "
			 "prefix=24 gateway=192.0.2.254 defaultRoute=true");
	assert_string_equal(out, "route-del eth0 default via 192.0.2.254; "
			    "addr-del eth0 192.0.2.5/24; link-add bridge ovirtmgmt; "
			    "master eth0 ovirtmgmt; addr-add ovirtmgmt 192.0.2.5/24; "
			    "route-add ovirtmgmt default via 192.0.2.254; mtu ovirtmgmt 1500");
	free(out);
	out = plan(k, ELEMENTSOF(k), NULL, "net v nic=eth1 vlan=5");
	assert_null(strstr(out, "addr-del"));
	free(out);
	out = plan(k, ELEMENTSOF(k), NULL, "net m bridged=false nic=eth1 ipaddr=198.51.100.7 prefix=24");
	assert_null(strstr(out, "addr-del"));
	free(out);
}

/* Removing several networks: routes/addresses, then ports, then every deletion as one
 * run of consecutive steps (the applier batches it). */
static void test_plan_deletions_are_consecutive(void **state)
{
	(void)state;
	static const struct fdev k[] = {
		{ "eth0", NET_KIND_NIC, 0, NULL, NULL, NULL },
		{ "eth0.10", NET_KIND_VLAN, 0, "a", NULL, NULL },
		{ "a", NET_KIND_BRIDGE, 0, NULL, NULL, NULL },
		{ "eth1", NET_KIND_NIC, 0, "b", NULL, NULL },
		{ "b", NET_KIND_BRIDGE, 0, NULL, NULL, NULL },
	};
	char *out = plan(k, ELEMENTSOF(k), "net a nic=eth0 vlan=10\nnet b nic=eth1",
			 "net a remove=true\nnet b remove=true");
	assert_string_equal(out, "master eth1 -; link-del vlan eth0.10; link-del bridge a; "
			    "link-del bridge b");
	free(out);
}

/* ---- persisted text ---- */

/* ---- hostQos: text form, rules, persistence; refused until the apply side exists ---- */

static void expect_qos(const char *text, int code, const char *want)
{
	struct netqos q = { 0 };
	struct vd_error err = { 0 };
	char buf[256];

	int r = netqos_parse("n1", text, &q, &err);
	if (code) {
		if (r == 0 || err.code != code || !strstr(err.msg, want))
			fail_msg("hostQos '%s': want code %d with '%s', got %d '%s'", text, code,
				 want, err.code, err.msg);
		return;
	}
	if (r < 0)
		fail_msg("hostQos '%s': refused: %s", text, err.msg);
	netqos_format(&q, buf, sizeof(buf));
	if (strcmp(buf, want))
		fail_msg("hostQos '%s': want '%s', got '%s'", text, want, buf);
}

static void test_host_qos(void **state)
{
	(void)state;
	/* canonical order ls ul rt, whatever the input order */
	expect_qos("rt:0,0,1000000 ul:0,0,2000000  ls:8000000,500,50", 0,
		   "ls:8000000,500,50 ul:0,0,2000000 rt:0,0,1000000");
	expect_qos("", 0, "");
	expect_qos("ls:0,0,34359738360", 0, "ls:0,0,34359738360");
	expect_qos("ls:0,0,34359738361", 21, "network 'n1': hostQos: ls: m1 and m2 must be");
	expect_qos("ls:0,4294967296,1", 21, "ls: m1 and m2");
	expect_qos("ls:0,0,99999999999999999999999", 21, "ls: m1 and m2");
	expect_qos("ls:0,0,0", 21, "ls: m2 must be at least 1 bit/s");
	expect_qos("ls:1000,0,5", 21, "ls: m1 needs a duration d");
	expect_qos("ul:0,0,5", 21, "link-share curve ls is required");
	expect_qos("ls:0,0,5 ls:0,0,6", 21, "ls given twice");
	expect_qos("sc:0,0,5", 21, "unknown service curve 'sc:0,0,5'");
	expect_qos("ls:0,0", 21, "ls: m1 and m2");
	expect_qos("ls:0,0,5x", 21, "ls: m1 and m2");
	expect_qos("ls:-1,0,5", 21, "ls: m1 and m2");
	expect_qos("ls:0,0,5,", 21, "ls: m1 and m2");
	expect_qos("ls:0,0,10 ul:0,0,100 rt:0,0,101", 21, "rt m2 101 exceeds ul m2 100");

	/* through the network attributes */
	expect_err(NULL, "net n1 nic=eth0 hostQos=ls:0,0,-5", 21, "network 'n1': hostQos: ls");
	expect_err(NULL, "net n1 hostQos=ls:0,0,5", 21, "hostQos needs a nic or a bonding");
}

#define QNET "net n1 nic=eth0 vlan=10 mtu=1500 hostQos=ls:0,0,5"

/* The kernel with QNET applied. */
static const struct fdev qk[] = {
	{ "eth0", NET_KIND_NIC, 0, NULL, NULL, NULL },
	{ "eth1", NET_KIND_NIC, 0, NULL, NULL, NULL },
	{ "eth0.10", NET_KIND_VLAN, 0, "n1", NULL, NULL },
	{ "n1", NET_KIND_BRIDGE, 0, NULL, NULL, NULL },
};

static void expect_qplan(const char *request, const char *want)
{
	char *out = plan(qk, ELEMENTSOF(qk), QNET, request);
	if (strcmp(out, want))
		fail_msg("request '%s':\n want %s\n got  %s", request, want, out);
	free(out);
}

static void test_plan_host_qos(void **state)
{
	(void)state;
	/* a new network: root and default class on the NIC, then its class (minor = tag
	 * in hex, as VDSM), after the devices */
	expect_plan(NULL, QNET, "link-add vlan eth0.10 eth0.10; link-add bridge n1; "
		    "master eth0.10 n1; mtu eth0.10 1500; mtu n1 1500; "
		    "qos-root-add eth0 1389: default 1388 ls:0,0,5; qos-class-add eth0 1389:a ls:0,0,5");
	/* an edit of hostQos alone: only the class */
	expect_qplan("net n1 nic=eth0 vlan=10 hostQos=ls:0,0,5+ul:0,0,800",
		    "qos-class-del eth0 1389:a ls:0,0,5; qos-class-add eth0 1389:a ls:0,0,5 ul:0,0,800");
	expect_qplan(QNET, "");
	/* removal: class and root go before the devices */
	expect_qplan("net n1 remove=true",
		    "qos-class-del eth0 1389:a ls:0,0,5; qos-root-del eth0 1389: default 1388 ls:0,0,5; "
		    "link-del vlan eth0.10; link-del bridge n1");
	/* removing hostQos keeps the network */
	expect_qplan("net n1 nic=eth0 vlan=10",
		    "qos-class-del eth0 1389:a ls:0,0,5; qos-root-del eth0 1389: default 1388 ls:0,0,5");
	/* a second shaped network with a larger link share changes the default class: the
	 * root is made again, with both classes */
	expect_qplan(QNET "\nnet n2 nic=eth0 vlan=20 hostQos=ls:0,0,9",
		    "qos-class-del eth0 1389:a ls:0,0,5; qos-root-del eth0 1389: default 1388 ls:0,0,5; "
		    "link-add vlan eth0.20 eth0.20; link-add bridge n2; master eth0.20 n2; "
		    "mtu eth0.20 1500; mtu n2 1500; qos-root-add eth0 1389: default 1388 ls:0,0,9; "
		    "qos-class-add eth0 1389:a ls:0,0,5; qos-class-add eth0 1389:14 ls:0,0,9");
	/* moved to another NIC: off eth0, onto eth1 */
	expect_qplan("net n1 nic=eth1 vlan=10 hostQos=ls:0,0,5",
		    "qos-class-del eth0 1389:a ls:0,0,5; qos-root-del eth0 1389: default 1388 ls:0,0,5; "
		    "link-del vlan eth0.10; link-del bridge n1; link-add vlan eth1.10 eth1.10; link-add bridge n1; master eth1.10 n1; "
		    "mtu eth1.10 1500; mtu n1 1500; qos-root-add eth1 1389: default 1388 ls:0,0,5; "
		    "qos-class-add eth1 1389:a ls:0,0,5");

	/* an untagged network on the NIC owns the default class 1389:1388 (its curves, not
	 * the largest ls): the root is made again with it, the VLAN class put back */
	expect_qplan(QNET "\nnet n0 nic=eth0 hostQos=ls:0,0,3+ul:0,0,100",
		    "qos-class-del eth0 1389:a ls:0,0,5; qos-root-del eth0 1389: default 1388 ls:0,0,5; "
		    "link-add bridge n0; master eth0 n0; mtu n0 1500; "
		    "qos-root-add eth0 1389: default 1388 ls:0,0,3 ul:0,0,100; "
		    "qos-class-add eth0 1389:a ls:0,0,5");
	/* its removal gives the default class back to the largest ls (VDSM would delete
	 * class 1388 and leave unclassified traffic without a class); the fixture kernel
	 * has no bridge n0, so no link-del */
	char *out = plan(qk, ELEMENTSOF(qk), QNET "\nnet n0 nic=eth0 hostQos=ls:0,0,3+ul:0,0,100",
			 "net n0 remove=true");
	assert_string_equal(out, "qos-class-del eth0 1389:a ls:0,0,5; "
			    "qos-root-del eth0 1389: default 1388 ls:0,0,3 ul:0,0,100; "
			    "qos-root-add eth0 1389: default 1388 ls:0,0,5; "
			    "qos-class-add eth0 1389:a ls:0,0,5");
	free(out);
	/* persisted text round trip (values %-escaped) */
	struct netconf r = { 0 }, c = { 0 }, back = { 0 }, empty = { 0 };
	struct vd_error err = { 0 };
	char *text = NULL;
	assert_int_equal(req(&r, "net n1 nic=eth0 vlan=10 hostQos=ul:0,0,2000+ls:8000,100,50", &err),
			 0);
	assert_int_equal(netconf_merge(&empty, &r, &c, &err), 0);
	assert_int_equal(netconf_format(&c, &text), 0);
	assert_non_null(strstr(text, " hostQos=ls:8000,100,50%20ul:0,0,2000\n"));
	assert_int_equal(netconf_parse(text, strlen(text), &back, &err), 0);
	assert_true(netconf_equal(&c, &back));
	assert_true(back.nets[0].qos.set && back.nets[0].qos.c[NETQOS_UL].m2 == 2000);
	free(text);
	netconf_free(&r);
	netconf_free(&c);
	netconf_free(&back);
}

/* Capabilities' hostQos from a kernel class: a curve equal to what the configuration
 * maps to (bytes/s) is reported as configured, any other as the kernel has it. */
static void test_qos_from_kernel(void **state)
{
	(void)state;
	struct netqos cfg, got;
	struct vd_error err = { 0 };
	char text[NETQOS_N * 72];

	assert_int_equal(netqos_parse("n", "ls:0,0,50 ul:0,0,2000000 rt:8000000,500,1000000",
				      &cfg, &err), 0);
	struct net_tc_class k = { .minor = 10, .c = {
		{ true, 0, 0, 6 },             /* ls: 50 bit/s → 6 bytes/s */
		{ true, 0, 0, 375000 },        /* ul changed behind our back: 3 Mbit/s */
		{ true, 1000000, 500, 125000 },/* rt as configured */
	} };
	netqos_from_kernel(&k, &cfg, &got);
	netqos_format(&got, text, sizeof(text));
	assert_string_equal(text, "ls:0,0,50 ul:0,0,3000000 rt:8000000,500,1000000");
	/* a curve the configuration lacks, or no configuration: the kernel's, × 8 */
	netqos_from_kernel(&k, NULL, &got);
	netqos_format(&got, text, sizeof(text));
	assert_string_equal(text, "ls:0,0,48 ul:0,0,3000000 rt:8000000,500,1000000");
	/* a class without curves stands for no hostQos */
	struct net_tc_class none = { .minor = 10 };
	netqos_from_kernel(&none, &cfg, &got);
	assert_false(got.set);
}

/* ---- drift between the persisted configuration and the kernel (netdrift.c) ---- */

#define DRIFT_CONF "bond bond0 nics=eth1,eth2 options=mode=1\n" \
	"net v10 bonding=bond0 vlan=10 mtu=9000 ipaddr=10.1.1.1 prefix=24\n" \
	"net m nic=eth0 bridged=false ipv6addr=fd00::1/64"

static struct net_dev *dev_of(struct net_snapshot *s, const char *name)
{
	struct net_dev *d = (struct net_dev *)net_snapshot_find(s, name);
	assert_non_null(d);
	return d;
}

/* The kernel carrying DRIFT_CONF exactly. */
static struct net_snapshot *drift_kernel(void)
{
	static const struct fdev k[] = {
		{ "eth0", NET_KIND_NIC, 0, NULL, NULL, NULL },
		{ "eth1", NET_KIND_NIC, 9000, "bond0", NULL, NULL },
		{ "eth2", NET_KIND_NIC, 9000, "bond0", NULL, NULL },
		{ "bond0", NET_KIND_BOND, 9000, NULL, NULL, NULL },
		{ "bond0.10", NET_KIND_VLAN, 9000, "v10", NULL, NULL },
		{ "v10", NET_KIND_BRIDGE, 9000, NULL, "10.1.1.1/24", NULL },
	};
	struct net_snapshot *s = snap(k, ELEMENTSOF(k));
	struct net_dev *b = dev_of(s, "bond0"), *v = dev_of(s, "bond0.10"), *e = dev_of(s, "eth0");

	b->ports = calloc(2, sizeof(char *));
	b->ports[0] = strdup("eth1");
	b->ports[1] = strdup("eth2");
	b->n_ports = 2;
	b->opts = calloc(1, sizeof(*b->opts));
	b->opts[0] = (struct net_opt){ strdup("mode"), strdup("1") };
	b->n_opts = 1;
	v->vlan_id = 10;
	snprintf(v->vlan_base, sizeof(v->vlan_base), "bond0");
	e->addrs = calloc(1, sizeof(*e->addrs));
	e->addrs[0] = (struct net_addr){ .family = AF_INET6, .addr = "fd00::1", .prefixlen = 64 };
	e->n_addrs = 1;
	return s;
}

/* The drifted entries ("bond0 v10 ...") and the reasons of DRIFT_CONF against s. */
static void expect_drift(struct net_snapshot *s, const char *entries, const char *why_part)
{
	struct netconf c = { 0 }, r = { 0 }, empty = { 0 }, got = { 0 };
	struct vd_error err = { 0 };
	char names[128] = "";
	_cleanup_(util_buf_reset) struct util_buf buf = UTIL_BUF_INIT;

	assert_int_equal(req(&r, DRIFT_CONF, &err), 0);
	assert_int_equal(netconf_merge(&empty, &r, &c, &err), 0);
	assert_int_equal(netconf_drift(s, &c, &got, &buf, &err), 0);
	const char *why = util_buf_cstr(&buf);
	for (size_t i = 0; i < got.n_bonds; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			 names[0] ? " " : "", got.bonds[i].name);
	for (size_t i = 0; i < got.n_nets; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			 names[0] ? " " : "", got.nets[i].name);
	if (strcmp(names, entries) || !strstr(why, why_part))
		fail_msg("want '%s' (%s)\n got '%s' (%s)", entries, why_part, names, why);
	netconf_free(&c);
	netconf_free(&r);
	netconf_free(&got);
	net_snapshot_unref(s);
}

static void test_drift(void **state)
{
	(void)state;
	struct net_snapshot *s;

	expect_drift(drift_kernel(), "", "");
	s = drift_kernel();
	dev_of(s, "v10")->mtu = 1500;
	expect_drift(s, "v10", "network 'v10': 'v10' mtu 1500, configured 9000");
	s = drift_kernel();
	free(dev_of(s, "bond0")->opts[0].value);
	dev_of(s, "bond0")->opts[0].value = strdup("4");
	expect_drift(s, "bond0 v10", "bond 'bond0': mode 4, configured 1; network 'v10': its bond");
	s = drift_kernel();
	dev_of(s, "eth2")->master_name[0] = '\0';
	expect_drift(s, "bond0 v10", "bond 'bond0': 'eth2' not a slave");
	s = drift_kernel();
	dev_of(s, "bond0.10")->vlan_id = 11;
	expect_drift(s, "v10", "network 'v10': 'bond0.10' is not VLAN 10 on 'bond0'");
	s = drift_kernel();
	dev_of(s, "bond0.10")->master_name[0] = '\0';
	expect_drift(s, "v10", "'bond0.10' not a port of the bridge");
	s = drift_kernel();
	dev_of(s, "v10")->kind = NET_KIND_NIC;
	expect_drift(s, "v10", "'v10' is not a bridge");
	s = drift_kernel();
	snprintf(dev_of(s, "v10")->addrs[0].addr, INET6_ADDRSTRLEN, "10.1.1.2");
	expect_drift(s, "v10", "address 10.1.1.1 missing on 'v10'");
	s = drift_kernel();
	dev_of(s, "eth0")->n_addrs = 0;
	expect_drift(s, "m", "network 'm': address fd00::1 missing on 'eth0'");
	/* the untagged bridgeless network's NIC may carry a larger MTU, not a smaller one */
	s = drift_kernel();
	dev_of(s, "eth0")->mtu = 9000;
	expect_drift(s, "", "");
	s = drift_kernel();
	dev_of(s, "eth0")->mtu = 1400;
	expect_drift(s, "m", "'eth0' mtu 1400, configured 1500");
}

static void test_drift_host_qos(void **state)
{
	(void)state;
	static const struct fdev k[] = {
		{ "eth0", NET_KIND_NIC, 0, NULL, NULL, NULL },
		{ "eth0.10", NET_KIND_VLAN, 0, "q", NULL, NULL },
		{ "q", NET_KIND_BRIDGE, 0, NULL, NULL, NULL },
	};
	struct netconf c = { 0 }, r = { 0 }, empty = { 0 }, got = { 0 };
	struct vd_error err = { 0 };

	assert_int_equal(req(&r, "net q nic=eth0 vlan=10 hostQos=ls:0,0,50+ul:0,0,2000000", &err), 0);
	assert_int_equal(netconf_merge(&empty, &r, &c, &err), 0);
	for (int variant = 0; variant < 3; variant++) {
		struct net_snapshot *s = snap(k, ELEMENTSOF(k));
		struct net_dev *v = dev_of(s, "eth0.10"), *e = dev_of(s, "eth0");
		v->vlan_id = 10;
		snprintf(v->vlan_base, sizeof(v->vlan_base), "eth0");
		if (variant > 0) {   /* 1: as configured (bytes/s); 2: ul changed by tc */
			e->tc_classes = calloc(1, sizeof(*e->tc_classes));
			e->tc_classes[0] = (struct net_tc_class){ .minor = 10, .c = {
				{ true, 0, 0, 6 }, { true, 0, 0, variant == 1 ? 250000 : 375000 } } };
			e->n_tc_classes = 1;
		}
		_cleanup_(util_buf_reset) struct util_buf buf = UTIL_BUF_INIT;
		assert_int_equal(netconf_drift(s, &c, &got, &buf, &err), 0);
		const char *why = util_buf_cstr(&buf);
		assert_int_equal(got.n_nets, variant == 1 ? 0 : 1);
		if (variant == 2)
			assert_non_null(strstr(why, "hostQos on 'eth0' is 'ls:0,0,50 ul:0,0,3000000', "
					       "configured 'ls:0,0,50 ul:0,0,2000000'"));
		netconf_free(&got);
		net_snapshot_unref(s);
	}
	netconf_free(&c);
	netconf_free(&r);
}

static void test_format_parse_roundtrip(void **state)
{
	(void)state;
	struct netconf c = { 0 }, back = { 0 }, merged = { 0 }, empty = { 0 };
	struct vd_error err = { 0 };
	char *text = NULL;

	assert_int_equal(req(&c, "bond bond0 nics=eth0,eth1 options=mode=1+miimon=100+primary=eth1\n"
			     "net a bonding=bond0 vlan=3 mtu=9000 ipaddr=10.1.1.1 prefix=8 "
			     "gateway=10.0.0.1 defaultRoute=true ipv6addr=fd00::1/48 stp=on "
			     "bridge_opts=priority=7+group_addr=01:80:c2:00:00:0e\n"
			     "net b nic=eth2 bridged=false bootproto=dhcp blockingdhcp=true dhcpv6=true "
			     "ipv6autoconf=true", &err), 0);
	assert_int_equal(netconf_merge(&empty, &c, &merged, &err), 0);
	assert_int_equal(netconf_format(&merged, &text), 0);
	assert_int_equal(netconf_parse(text, strlen(text), &back, &err), 0);
	assert_true(netconf_equal(&merged, &back));
	assert_non_null(strstr(text, "options=mode%3D1%20miimon%3D100%20primary%3Deth1"));
	assert_non_null(strstr(text, "bootproto=dhcp dhcpv6=true ipv6autoconf=true blockingdhcp=true"));
	free(text);
	netconf_free(&c);
	netconf_free(&back);
	netconf_free(&merged);
}

static void test_parse_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"net", "net a vlan=99999", "net a nic=eth0 ipaddr=1.2.3.4", "bond bond0",
		"net a nic=%zz", "net a nic=a%00b", "frob a", "net a remove=true",
		"net a nic=eth0\nnet a nic=eth1", "net a nic=eth0 mtu",
		"net a nic=eth0 bridge_opts=hash_max%3D1%2Fx", "bond bond1 nics=x options=mode%3D9",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct netconf c = { 0 };
		struct vd_error err = { 0 };
		if (netconf_parse(bad[i], strlen(bad[i]), &c, &err) == 0)
			fail_msg("accepted '%s'", bad[i]);
		assert_true(err.code != 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validation_codes),
		cmocka_unit_test(test_plan_vlan_bridge),
		cmocka_unit_test(test_plan_bridgeless_and_stp),
		cmocka_unit_test(test_plan_bond),
		cmocka_unit_test(test_plan_mtu_down_and_remove),
		cmocka_unit_test(test_plan_deletions_are_consecutive),
		cmocka_unit_test(test_plan_bridge_takes_over_nic_ip),
		cmocka_unit_test(test_bridge_opts),
		cmocka_unit_test(test_plan_dhcp),
		cmocka_unit_test(test_host_qos),
		cmocka_unit_test(test_plan_host_qos),
		cmocka_unit_test(test_qos_from_kernel),
		cmocka_unit_test(test_drift),
		cmocka_unit_test(test_drift_host_qos),
		cmocka_unit_test(test_format_parse_roundtrip),
		cmocka_unit_test(test_parse_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
