/* The setupNetworks model: attribute setters (wire and persisted text), merge of a
 * request into the running configuration, validation against the kernel snapshot,
 * and the persisted text format. Pure code: no netlink, no files. */
#include "netconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vdsm-c/util/buf.h"
#include "../vdsm-c/util/util.h"

void netconf_free(struct netconf *c)
{
	free(c->nets);
	free(c->bonds);
	memset(c, 0, sizeof(*c));
}

/* API.md §5.4: 1–15 chars, none of ':' '.' space tab, no leading '-'. */
static bool net_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= IFNAMSIZ || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == ':' || ch == '.' || ch == '/' || ch <= ' ' || ch >= 0x7f)
			return false;
	}
	return true;
}

static bool bond_name_ok(const char *s)
{
	if (strncmp(s, "bond", 4) != 0 || !s[4] || strlen(s) >= IFNAMSIZ)
		return false;
	for (const char *p = s + 4; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return true;
}

/* A device name from the wire: a NIC or bond we look up; the same charset as names. */
static bool dev_name_ok(const char *s)
{
	return net_name_ok(s);
}

int netconf_add_net(struct netconf *c, const char *name, struct netconf_net **ret,
		    struct vd_error *err)
{
	if (!net_name_ok(name))
		return vd_error_set(err, VD_ERR_NET_BAD_BRIDGE,
				    "network '%.64s': bad name (1-15 characters, no ':', '.', "
				    "space or tab, not starting with '-')", name);
	for (size_t i = 0; i < c->n_nets; i++)
		if (strcmp(c->nets[i].name, name) == 0) {
			*ret = &c->nets[i];
			return 0;
		}
	struct netconf_net *v = realloc(c->nets, (c->n_nets + 1) * sizeof(*v));
	if (!v)
		return vd_error_set(err, VD_ERR_UNEXPECTED, "out of memory");
	c->nets = v;
	struct netconf_net *n = &v[c->n_nets++];
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->vlan = -1;
	n->bridged = true;
	n->prefix = -1;
	n->ipv6prefix = -1;
	*ret = n;
	return 0;
}

int netconf_add_bond(struct netconf *c, const char *name, struct netconf_bond **ret,
		     struct vd_error *err)
{
	if (!bond_name_ok(name))
		return vd_error_set(err, VD_ERR_NET_BAD_BONDING,
				    "bond '%.64s': bad name (must be bond<digits>)", name);
	for (size_t i = 0; i < c->n_bonds; i++)
		if (strcmp(c->bonds[i].name, name) == 0) {
			*ret = &c->bonds[i];
			return 0;
		}
	struct netconf_bond *v = realloc(c->bonds, (c->n_bonds + 1) * sizeof(*v));
	if (!v)
		return vd_error_set(err, VD_ERR_UNEXPECTED, "out of memory");
	c->bonds = v;
	struct netconf_bond *b = &v[c->n_bonds++];
	memset(b, 0, sizeof(*b));
	snprintf(b->name, sizeof(b->name), "%s", name);
	*ret = b;
	return 0;
}

static int parse_bool(const char *net, const char *key, const char *v, bool *ret,
		      struct vd_error *err)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1") ||
	    !strcasecmp(v, "on"))
		*ret = true;
	else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcmp(v, "0") ||
		 !strcasecmp(v, "off"))
		*ret = false;
	else
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': %s: not a boolean: "
				    "'%.32s'", net, key, v);
	return 0;
}

static int copy_addr(const char *net, const char *key, const char *v, int family,
		     char *dst, size_t size, struct vd_error *err)
{
	unsigned char bin[sizeof(struct in6_addr)];

	if (strlen(v) >= size || inet_pton(family, v, bin) != 1)
		return vd_error_set(err, VD_ERR_NET_BAD_ADDR, "network '%s': %s: bad %s address "
				    "'%.64s'", net, key, family == AF_INET ? "IPv4" : "IPv6", v);
	inet_ntop(family, bin, dst, (socklen_t)size);   /* canonical spelling */
	return 0;
}

/* Dotted netmask → prefix; -1 unless contiguous. */
static int mask_to_prefix(const char *v)
{
	struct in_addr a;

	if (inet_pton(AF_INET, v, &a) != 1)
		return -1;
	uint32_t m = ntohl(a.s_addr);
	int p = 0;
	while (p < 32 && (m & (0x80000000u >> p)))
		p++;
	return (p < 32 && (m << p)) ? -1 : p;
}

/* The bridge options the kernel exposes as writable files under
 * /sys/class/net/BRIDGE/bridge/ (stp_state excluded: it is the `stp` attribute). */
static const char *const bridge_opt_names[] = {
	"ageing_time", "default_pvid", "forward_delay", "group_addr", "group_fwd_mask",
	"hash_elasticity", "hash_max", "hello_time", "max_age", "multicast_igmp_version",
	"multicast_last_member_count", "multicast_last_member_interval",
	"multicast_membership_interval", "multicast_mld_version", "multicast_querier",
	"multicast_querier_interval", "multicast_query_interval",
	"multicast_query_response_interval", "multicast_query_use_ifaddr",
	"multicast_router", "multicast_snooping", "multicast_startup_query_count",
	"multicast_startup_query_interval", "multicast_stats_enabled", "nf_call_arptables",
	"nf_call_ip6tables", "nf_call_iptables", "no_linklocal_learn", "priority",
	"vlan_filtering", "vlan_protocol", "vlan_stats_enabled", "vlan_stats_per_port",
};

/* A value the sysfs file parses: decimal, 0x-hex, or a MAC (group_addr). */
static bool bridge_opt_value_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 17) {   /* xx:xx:xx:xx:xx:xx */
		for (size_t i = 0; i < n; i++)
			if (i % 3 == 2 ? v[i] != ':' : !isxdigit((unsigned char)v[i]))
				return false;
		return true;
	}
	bool hex = n > 2 && v[0] == '0' && v[1] == 'x';
	if (n == 0 || n > 20)
		return false;
	for (const char *p = v + (hex ? 2 : 0); *p; p++)
		if (hex ? !isxdigit((unsigned char)*p) : !isdigit((unsigned char)*p))
			return false;
	return true;
}

/* "k=v k=v" (whitespace separated) → checked, normalised into n->bridge_opts. */
static int bridge_opts_set(struct netconf_net *n, const char *v, struct vd_error *err)
{
	char copy[NETCONF_BOND_OPTS_MAX], out[NETCONF_BOND_OPTS_MAX] = "", *save = NULL;
	const size_t nnames = sizeof(bridge_opt_names) / sizeof(*bridge_opt_names);
	size_t len = 0;

	if (strlen(v) >= sizeof(copy))
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': bridge_opts: "
				    "longer than %zu bytes", n->name, sizeof(copy) - 1);
	snprintf(copy, sizeof(copy), "%s", v);
	for (char *t = strtok_r(copy, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
		char *eq = strchr(t, '=');
		size_t i = 0;
		if (eq)
			*eq = '\0';
		while (i < nnames && strcmp(t, bridge_opt_names[i]))
			i++;
		if (i == nnames)
			return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': bridge_opts: "
					    "unknown bridge option '%.32s'", n->name, t);
		if (!eq || !bridge_opt_value_ok(eq + 1))
			return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': bridge_opts: "
					    "%s: bad value '%.32s'", n->name, t, eq ? eq + 1 : "");
		/* a name given twice is refused: the result would depend on write order */
		for (const char *p = out; (p = strstr(p, t)); p++)
			if ((p == out || p[-1] == ' ') && p[strlen(t)] == '=')
				return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': "
						    "bridge_opts: %s given twice", n->name, t);
		/* normalising only drops whitespace: it fits */
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s=%s", len ? " " : "",
					t, eq + 1);
	}
	memcpy(n->bridge_opts, out, sizeof(out));
	return 0;
}

int netconf_net_set(struct netconf_net *n, const char *key, const char *v,
		    struct vd_error *err)
{
	const char *nm = n->name;
	long long x;

	if (!strcmp(key, "remove")) {
		if (parse_bool(nm, key, v, &n->remove, err) < 0)
			return -1;
		n->seen |= NETCONF_A_REMOVE;
		return 0;
	}
	n->seen |= NETCONF_A_OTHER;
	if (!strcmp(key, "bridge_opts"))   /* from custom {bridge_opts} or the persisted text */
		return bridge_opts_set(n, v, err);
	if (!strcmp(key, "hostQos"))       /* text form (netqos.c): persisted or from the verb */
		return netqos_parse(nm, v, &n->qos, err);
	if (!strcmp(key, "nic") || !strcmp(key, "bonding")) {
		if (!dev_name_ok(v))
			return vd_error_set(err, !strcmp(key, "nic") ? VD_ERR_NET_BAD_NIC :
					    VD_ERR_NET_BAD_BONDING, "network '%s': %s: bad device "
					    "name '%.32s'", nm, key, v);
		if (!strcmp(key, "bonding") && !bond_name_ok(v))
			return vd_error_set(err, VD_ERR_NET_BAD_BONDING, "network '%s': bonding: "
					    "bad bond name '%.32s' (must be bond<digits>)", nm, v);
		snprintf(!strcmp(key, "nic") ? n->nic : n->bonding, IFNAMSIZ, "%s", v);
	} else if (!strcmp(key, "vlan")) {
		if (util_parse_ll(v, 0, 4094, &x) < 0)
			return vd_error_set(err, VD_ERR_NET_BAD_VLAN, "network '%s': vlan: '%.32s' "
					    "is not an integer in 0-4094", nm, v);
		n->vlan = (int)x;
	} else if (!strcmp(key, "bridged")) {
		return parse_bool(nm, key, v, &n->bridged, err);
	} else if (!strcmp(key, "stp") || !strcmp(key, "STP")) {
		return parse_bool(nm, key, v, &n->stp, err);
	} else if (!strcmp(key, "mtu")) {
		if (util_parse_ll(v, 68, 65535, &x) < 0)
			return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': mtu: '%.32s' "
					    "is not an integer in 68-65535", nm, v);
		n->mtu = (int)x;
	} else if (!strcmp(key, "bootproto")) {
		if (!strcmp(v, "dhcp"))
			n->dhcpv4 = true;
		else if (!strcmp(v, "none") || !strcmp(v, "") || !strcmp(v, "static"))
			n->dhcpv4 = false;
		else
			return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': bootproto "
					    "'%.32s' is not one of dhcp, none", nm, v);
	} else if (!strcmp(key, "blockingdhcp")) {
		return parse_bool(nm, key, v, &n->blocking_dhcp, err);
	} else if (!strcmp(key, "ipaddr")) {
		return copy_addr(nm, key, v, AF_INET, n->ipaddr, sizeof(n->ipaddr), err);
	} else if (!strcmp(key, "netmask")) {
		int p = mask_to_prefix(v);
		if (p < 0)
			return vd_error_set(err, VD_ERR_NET_BAD_ADDR, "network '%s': netmask: bad "
					    "netmask '%.32s'", nm, v);
		n->prefix = p;
	} else if (!strcmp(key, "prefix")) {
		if (util_parse_ll(v, 0, 32, &x) < 0)
			return vd_error_set(err, VD_ERR_NET_BAD_ADDR, "network '%s': prefix: "
					    "'%.32s' is not an integer in 0-32", nm, v);
		n->prefix = (int)x;
	} else if (!strcmp(key, "gateway")) {
		return copy_addr(nm, key, v, AF_INET, n->gateway, sizeof(n->gateway), err);
	} else if (!strcmp(key, "ipv6addr")) {
		char a[INET6_ADDRSTRLEN + 8];
		snprintf(a, sizeof(a), "%s", v);
		char *slash = strchr(a, '/');
		n->ipv6prefix = 64;
		if (slash) {
			*slash = '\0';
			if (util_parse_ll(slash + 1, 1, 128, &x) < 0)
				return vd_error_set(err, VD_ERR_NET_BAD_ADDR, "network '%s': ipv6addr: "
						    "bad prefix in '%.64s'", nm, v);
			n->ipv6prefix = (int)x;
		}
		return copy_addr(nm, key, a, AF_INET6, n->ipv6addr, sizeof(n->ipv6addr), err);
	} else if (!strcmp(key, "ipv6prefix")) {   /* persisted text only */
		if (util_parse_ll(v, 1, 128, &x) < 0)
			return vd_error_set(err, VD_ERR_NET_BAD_ADDR, "network '%s': ipv6prefix: "
					    "'%.32s' is not an integer in 1-128", nm, v);
		n->ipv6prefix = (int)x;
	} else if (!strcmp(key, "ipv6gateway")) {
		return copy_addr(nm, key, v, AF_INET6, n->ipv6gateway, sizeof(n->ipv6gateway), err);
	} else if (!strcmp(key, "defaultRoute")) {
		return parse_bool(nm, key, v, &n->default_route, err);
	} else if (!strcmp(key, "ipv6autoconf")) {
		return parse_bool(nm, key, v, &n->ipv6autoconf, err);
	} else if (!strcmp(key, "dhcpv6")) {
		return parse_bool(nm, key, v, &n->dhcpv6, err);
	} else if (!strcmp(key, "switch")) {
		if (strcmp(v, "legacy"))
			return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': switch "
					    "'%.32s' is not supported (legacy only)", nm, v);
	} else {
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': attribute '%.32s' "
				    "is not supported by this agent", nm, key);
	}
	return 0;
}

/* ---- bond options (API.md §5.4: validated like the sysfs bonding options) ---- */

static const char *const bond_modes[] = {
	"balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb",
	"balance-alb",
};

static const char *const bond_keys[] = {
	"mode", "miimon", "updelay", "downdelay", "lacp_rate", "xmit_hash_policy",
	"arp_interval", "arp_ip_target", "arp_validate", "arp_all_targets", "primary",
	"primary_reselect", "ad_select", "fail_over_mac", "all_slaves_active", "min_links",
	"num_grat_arp", "num_unsol_na", "use_carrier", "resend_igmp", "tlb_dynamic_lb",
	"lp_interval", "packets_per_slave", "ad_actor_sys_prio", "ad_user_port_key",
	"active_slave",
};

static bool bond_value_ok(const char *v)
{
	if (!*v || strlen(v) > 64)
		return false;
	for (; *v; v++)
		if (!isalnum((unsigned char)*v) && !strchr("._:,-+", *v))
			return false;
	return true;
}

/* Parses "mode=4 miimon=100" (mode by name or number); writes the normalised form
 * (mode first, as a number) into b->options. */
static int bond_options_set(struct netconf_bond *b, const char *v, struct vd_error *err)
{
	_cleanup_free_ char *copy = strdup(v);
	char *save = NULL, mode[4] = "0";
	_cleanup_(util_buf_reset) struct util_buf out = UTIL_BUF_INIT;

	if (!copy)
		return vd_error_set(err, VD_ERR_UNEXPECTED, "out of memory");
	for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq)
			return vd_error_set(err, VD_ERR_NET_BAD_BONDING, "bond '%s': options: "
					    "'%.32s' is not key=value", b->name, tok);
		*eq = '\0';
		const char *k = tok, *val = eq + 1;
		size_t i;
		for (i = 0; i < ELEMENTSOF(bond_keys); i++)
			if (!strcmp(k, bond_keys[i]))
				break;
		if (i == ELEMENTSOF(bond_keys))
			return vd_error_set(err, VD_ERR_NET_BAD_BONDING, "bond '%s': options: "
					    "unknown option '%.32s'", b->name, k);
		if (!bond_value_ok(val))
			return vd_error_set(err, VD_ERR_NET_BAD_BONDING, "bond '%s': options: bad "
					    "value for %s", b->name, k);
		if (!strcmp(k, "mode")) {
			long long m;
			size_t j;
			for (j = 0; j < ELEMENTSOF(bond_modes); j++)
				if (!strcmp(val, bond_modes[j]))
					break;
			if (j < ELEMENTSOF(bond_modes))
				m = (long long)j;
			else if (util_parse_ll(val, 0, 6, &m) < 0)
				return vd_error_set(err, VD_ERR_NET_BAD_BONDING, "bond '%s': options: "
						    "unknown mode '%.32s'", b->name, val);
			snprintf(mode, sizeof(mode), "%lld", m);
			continue;
		}
		util_buf_printf(&out, " %s=%s", k, val);
	}
	if (util_buf_error(&out))
		return vd_error_set(err, VD_ERR_UNEXPECTED, "out of memory");
	int w = snprintf(b->options, sizeof(b->options), "mode=%s%s", mode, util_buf_cstr(&out));
	if (w < 0 || (size_t)w >= sizeof(b->options))
		return vd_error_set(err, VD_ERR_NET_BAD_BONDING, "bond '%s': options too long",
				    b->name);
	return 0;
}

int netconf_bond_add_nic(struct netconf_bond *b, const char *nic, struct vd_error *err)
{
	if (!dev_name_ok(nic))
		return vd_error_set(err, VD_ERR_NET_BAD_NIC, "bond '%s': nics: bad name '%.32s'",
				    b->name, nic);
	for (size_t i = 0; i < b->n_nics; i++)
		if (!strcmp(b->nics[i], nic))
			return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "bond '%s': nics: '%s' "
					    "listed twice", b->name, nic);
	if (b->n_nics == NETCONF_BOND_NICS_MAX)
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "bond '%s': more than %d nics",
				    b->name, NETCONF_BOND_NICS_MAX);
	snprintf(b->nics[b->n_nics++], IFNAMSIZ, "%s", nic);
	b->seen |= NETCONF_A_NICS;
	return 0;
}

int netconf_bond_set(struct netconf_bond *b, const char *key, const char *v,
		     struct vd_error *err)
{
	if (!strcmp(key, "remove")) {
		bool r;
		if (parse_bool(b->name, key, v, &r, err) < 0)
			return -1;
		b->remove = r;
		b->seen |= NETCONF_A_REMOVE;
		return 0;
	}
	if (!strcmp(key, "options")) {
		b->seen |= NETCONF_A_OPTIONS;
		return bond_options_set(b, v, err);
	}
	if (!strcmp(key, "nics")) {   /* persisted text: comma-separated */
		_cleanup_free_ char *copy = strdup(v);
		char *save = NULL;
		if (!copy)
			return vd_error_set(err, VD_ERR_UNEXPECTED, "out of memory");
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			if (netconf_bond_add_nic(b, t, err) < 0)
				return -1;
		return 0;
	}
	if (!strcmp(key, "switch") || !strcmp(key, "hwaddr"))
		return 0;
	return vd_error_set(err, VD_ERR_NET_BAD_BONDING, "bond '%s': attribute '%.32s' is not "
			    "supported", b->name, key);
}

const struct netconf_net *netconf_find_net(const struct netconf *c, const char *name)
{
	for (size_t i = 0; i < c->n_nets; i++)
		if (!strcmp(c->nets[i].name, name))
			return &c->nets[i];
	return NULL;
}

const struct netconf_bond *netconf_find_bond(const struct netconf *c, const char *name)
{
	for (size_t i = 0; i < c->n_bonds; i++)
		if (!strcmp(c->bonds[i].name, name))
			return &c->bonds[i];
	return NULL;
}
