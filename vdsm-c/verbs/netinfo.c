/* network/ snapshot → getVdsCapabilities network structs (API.md §5.1). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "verbs.h"
#include "host-internal.h"
#include "../util/utf8.h"
#include "../../network/netmgr.h"

static void prefix_to_mask(int prefix, char *buf, size_t size)
{
	struct in_addr a;

	a.s_addr = prefix <= 0 ? 0 : htonl(0xffffffffu << (32 - (prefix > 32 ? 32 : prefix)));
	inet_ntop(AF_INET, &a, buf, size);
}

/* Keys every device struct carries: addresses, gateways, MTU, DHCP, cfg. */
static void common_keys(xmlrpc_env *env, xmlrpc_value *st, const struct net_dev *d,
			xmlrpc_value *cfg)
{
	xmlrpc_value *v4 = rpc_array_new(env), *v6 = rpc_array_new(env);
	const struct net_addr *primary = NULL;
	char mask[INET_ADDRSTRLEN] = "";

	for (size_t i = 0; i < d->n_addrs; i++) {
		const struct net_addr *a = &d->addrs[i];
		char buf[INET6_ADDRSTRLEN + 8];
		snprintf(buf, sizeof(buf), "%s/%d", a->addr, a->prefixlen);
		if (a->family == AF_INET) {
			if (!primary)
				primary = a;
			rpc_append_str(env, v4, buf);
		} else {
			rpc_append_str(env, v6, buf);
		}
	}
	if (primary)
		prefix_to_mask(primary->prefixlen, mask, sizeof(mask));
	rpc_set_str(env, st, "addr", primary ? primary->addr : "");
	rpc_set_str(env, st, "netmask", mask);
	rpc_set_take(env, st, "ipv4addrs", v4);
	rpc_set_take(env, st, "ipv6addrs", v6);
	rpc_set_str(env, st, "gateway", d->gateway);
	rpc_set_str(env, st, "ipv6gateway", d->ipv6gateway);
	rpc_set_strf(env, st, "mtu", "%d", d->mtu);
	rpc_set_bool(env, st, "dhcpv4", d->dhcpv4);
	rpc_set_bool(env, st, "dhcpv6", d->dhcpv6);
	/* cfg: the ifcfg keys older managers read (boot protocol) */
	rpc_set_str(env, cfg, "BOOTPROTO", d->dhcpv4 ? "dhcp" : "none");
	rpc_set_take(env, st, "cfg", cfg);
}

static xmlrpc_value *str_array(xmlrpc_env *env, char **v, size_t n)
{
	xmlrpc_value *a = rpc_array_new(env);

	for (size_t i = 0; i < n; i++)
		rpc_append_str(env, a, v[i]);
	return a;
}

static xmlrpc_value *opts_struct(xmlrpc_env *env, const struct net_dev *d)
{
	xmlrpc_value *o = rpc_struct_new(env);

	for (size_t i = 0; i < d->n_opts; i++)
		rpc_set_str(env, o, d->opts[i].key, d->opts[i].value);
	return o;
}

static xmlrpc_value *nic(xmlrpc_env *env, const struct net_dev *d)
{
	xmlrpc_value *st = rpc_struct_new(env);

	rpc_set_str(env, st, "hwaddr", d->hwaddr);
	if (d->permhwaddr[0])
		rpc_set_str(env, st, "permhwaddr", d->permhwaddr);
	rpc_set_int(env, st, "speed", d->speed);
	common_keys(env, st, d, rpc_struct_new(env));
	return st;
}

static xmlrpc_value *bridge(xmlrpc_env *env, const struct net_dev *d)
{
	xmlrpc_value *st = rpc_struct_new(env);

	rpc_set_take(env, st, "ports", str_array(env, d->ports, d->n_ports));
	rpc_set_str(env, st, "stp", d->stp ? "on" : "off");
	rpc_set_take(env, st, "opts", opts_struct(env, d));
	xmlrpc_value *cfg = rpc_struct_new(env);
	rpc_set_str(env, cfg, "STP", d->stp ? "on" : "off");
	common_keys(env, st, d, cfg);
	return st;
}

static xmlrpc_value *vlan(xmlrpc_env *env, const struct net_dev *d)
{
	xmlrpc_value *st = rpc_struct_new(env);

	rpc_set_str(env, st, "iface", d->vlan_base);
	rpc_set_int(env, st, "vlanid", d->vlan_id);
	common_keys(env, st, d, rpc_struct_new(env));
	return st;
}

static xmlrpc_value *bond(xmlrpc_env *env, const struct net_dev *d)
{
	xmlrpc_value *st = rpc_struct_new(env), *cfg = rpc_struct_new(env);
	char bo[512] = "";
	size_t off = 0;

	rpc_set_str(env, st, "hwaddr", d->hwaddr);
	rpc_set_take(env, st, "slaves", str_array(env, d->ports, d->n_ports));
	rpc_set_str(env, st, "active_slave", d->active_slave);
	rpc_set_take(env, st, "opts", opts_struct(env, d));
	for (size_t i = 0; i < d->n_opts && off < sizeof(bo); i++)
		off += snprintf(bo + off, sizeof(bo) - off, "%s%s=%s", i ? " " : "", d->opts[i].key,
				d->opts[i].value);
	rpc_set_str(env, cfg, "BONDING_OPTS", bo);
	common_keys(env, st, d, cfg);
	return st;
}

/* hostQos on the wire: {out: {ls|ul|rt: {m1, d, m2}}} (bit/s, µs). */
static xmlrpc_value *host_qos(xmlrpc_env *env, const struct netqos *q)
{
	xmlrpc_value *top = rpc_struct_new(env), *out = rpc_struct_new(env);

	for (int i = 0; i < NETQOS_N; i++) {
		const struct netqos_curve *c = &q->c[i];
		if (!c->set)
			continue;
		xmlrpc_value *v = rpc_struct_new(env);
		rpc_set_i64(env, v, "m1", (long long)c->m1);
		rpc_set_i64(env, v, "d", (long long)c->d);
		rpc_set_i64(env, v, "m2", (long long)c->m2);
		rpc_set_take(env, out, netqos_curve_names[i], v);
	}
	rpc_set_take(env, top, "out", out);
	return top;
}

/* networks[name] (API.md §5.1) from the running configuration and the kernel state of
 * the device carrying the network's addresses. */
static xmlrpc_value *network(xmlrpc_env *env, const struct netconf_net *n,
			     const struct net_snapshot *s)
{
	xmlrpc_value *st = rpc_struct_new(env), *cfg = rpc_struct_new(env);
	const char *base = n->nic[0] ? n->nic : n->bonding;
	char top[32];

	if (n->bridged)
		snprintf(top, sizeof(top), "%s", n->name);
	else if (n->vlan >= 0)
		snprintf(top, sizeof(top), "%s.%d", base, n->vlan & 0xfff);
	else
		snprintf(top, sizeof(top), "%s", base);
	const struct net_dev *d = s ? net_snapshot_find(s, top) : NULL;
	rpc_set_str(env, st, "iface", top);
	rpc_set_bool(env, st, "bridged", n->bridged);
	if (n->bridged) {
		rpc_set_take(env, st, "ports", d ? str_array(env, d->ports, d->n_ports) :
			     rpc_array_new(env));
		rpc_set_str(env, st, "stp", d && d->stp ? "on" : "off");
		rpc_set_str(env, cfg, "STP", d && d->stp ? "on" : "off");
	} else {
		rpc_set_str(env, st, "interface", top);
	}
	rpc_set_str(env, cfg, "DEFROUTE", n->default_route ? "yes" : "no");
	if (n->ipaddr[0])
		rpc_set_str(env, cfg, "IPADDR", n->ipaddr);
	rpc_set_strf(env, cfg, "MTU", "%d", n->mtu);
	/* bootproto dhcp: reported as configured (VDSM: a client runs), lease or not */
	rpc_set_str(env, st, "bootproto4", n->dhcpv4 ? "dhcp" : "none");
	struct net_dev dev = { .mtu = n->mtu };
	if (d)
		dev = *d;   /* shallow: only read below */
	else
		snprintf(dev.ipv6gateway, sizeof(dev.ipv6gateway), "::");
	dev.dhcpv4 |= n->dhcpv4;
	dev.dhcpv6 |= n->dhcpv6;
	rpc_set_bool(env, st, "ipv6autoconf", n->ipv6autoconf);
	/* hostQos as the kernel has it: the VLAN network's class 1389:<tag>, the untagged
	 * shaped network's default class 1389:1388, on the NIC or bond */
	const struct net_dev *bd = s ? net_snapshot_find(s, base) : NULL;
	const struct net_tc_class *k = NULL;
	if (n->vlan >= 0)
		k = net_dev_tc_class(bd, netshape_minor(n->vlan));
	else if (n->qos.set)
		k = net_dev_tc_class(bd, NETSHAPE_DEFAULT);
	struct netqos kq = { 0 };
	if (k)
		netqos_from_kernel(k, &n->qos, &kq);
	if (kq.set)
		rpc_set_take(env, st, "hostQos", host_qos(env, &kq));
	common_keys(env, st, &dev, cfg);
	return st;
}

static xmlrpc_value *networks(xmlrpc_env *env, const struct net_snapshot *s)
{
	xmlrpc_value *nets = rpc_struct_new(env);
	struct netconf c;
	char key[IFNAMSIZ];

	if (netmgr_running_copy(&c) < 0)
		return nets;
	for (size_t i = 0; i < c.n_nets; i++)
		rpc_set_take(env, nets, netinfo_key(c.nets[i].name, key), network(env, &c.nets[i], s));
	netconf_free(&c);
	return nets;
}

const char *netinfo_key(const char *name, char out[IFNAMSIZ])
{
	snprintf(out, IFNAMSIZ, "%s", name);
	return util_utf8_clean(out, UTIL_UTF8_BMP);
}

void netinfo_report(xmlrpc_env *env, xmlrpc_value *info, const struct net_snapshot *s)
{
	xmlrpc_value *nics = rpc_struct_new(env), *bridges = rpc_struct_new(env);
	xmlrpc_value *vlans = rpc_struct_new(env), *bonds = rpc_struct_new(env);

	for (size_t i = 0; s && i < s->n_devs; i++) {
		const struct net_dev *d = &s->devs[i];
		char key[IFNAMSIZ];
		if (d->hidden)
			continue;
		netinfo_key(d->name, key);
		switch (d->kind) {
		case NET_KIND_NIC:
			rpc_set_take(env, nics, key, nic(env, d));
			break;
		case NET_KIND_BRIDGE:
			rpc_set_take(env, bridges, key, bridge(env, d));
			break;
		case NET_KIND_VLAN:
			rpc_set_take(env, vlans, key, vlan(env, d));
			break;
		case NET_KIND_BOND:
			rpc_set_take(env, bonds, key, bond(env, d));
			break;
		default:
			break;
		}
	}
	rpc_set_take(env, info, "nics", nics);
	rpc_set_take(env, info, "bridges", bridges);
	rpc_set_take(env, info, "vlans", vlans);
	rpc_set_take(env, info, "bondings", bonds);
	rpc_set_take(env, info, "networks", networks(env, s));
}

const char *netinfo_iface_of(const struct net_snapshot *s, const char *addr)
{
	/* "::ffff:1.2.3.4" from a dual-stack socket is the IPv4 address */
	if (addr && strncmp(addr, "::ffff:", 7) == 0 && strchr(addr, '.'))
		addr += 7;
	for (size_t i = 0; s && addr && *addr && i < s->n_devs; i++)
		for (size_t j = 0; j < s->devs[i].n_addrs; j++)
			if (strcmp(s->devs[i].addrs[j].addr, addr) == 0)
				return s->devs[i].name;
	return "";
}
