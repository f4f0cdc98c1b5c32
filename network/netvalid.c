/* Merge of a setupNetworks request into the running configuration, and validation of
 * the result against the kernel snapshot (API.md §4.2, §5.4). Pure code. */
#include "netconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int copy_conf(const struct netconf *src, struct netconf *dst, struct vd_error *err)
{
	memset(dst, 0, sizeof(*dst));
	if (src->n_nets) {
		dst->nets = malloc(src->n_nets * sizeof(*dst->nets));
		if (!dst->nets)
			return vd_error_set(err, VD_ERR_UNEXPECTED, "out of memory");
		memcpy(dst->nets, src->nets, src->n_nets * sizeof(*dst->nets));
		dst->n_nets = src->n_nets;
	}
	if (src->n_bonds) {
		dst->bonds = malloc(src->n_bonds * sizeof(*dst->bonds));
		if (!dst->bonds) {
			netconf_free(dst);
			return vd_error_set(err, VD_ERR_UNEXPECTED, "out of memory");
		}
		memcpy(dst->bonds, src->bonds, src->n_bonds * sizeof(*dst->bonds));
		dst->n_bonds = src->n_bonds;
	}
	return 0;
}

static void drop_net(struct netconf *c, const char *name)
{
	for (size_t i = 0; i < c->n_nets; i++)
		if (!strcmp(c->nets[i].name, name)) {
			memmove(&c->nets[i], &c->nets[i + 1], (c->n_nets - i - 1) * sizeof(c->nets[0]));
			c->n_nets--;
			return;
		}
}

static void drop_bond(struct netconf *c, const char *name)
{
	for (size_t i = 0; i < c->n_bonds; i++)
		if (!strcmp(c->bonds[i].name, name)) {
			memmove(&c->bonds[i], &c->bonds[i + 1],
				(c->n_bonds - i - 1) * sizeof(c->bonds[0]));
			c->n_bonds--;
			return;
		}
}

static int check_net_entry(const struct netconf_net *n, struct vd_error *err)
{
	if (n->nic[0] && n->bonding[0])
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': nic and bonding "
				    "are mutually exclusive", n->name);
	if (!n->bridged && !n->nic[0] && !n->bonding[0])
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': a bridgeless "
				    "network needs a nic or a bonding", n->name);
	if (n->vlan >= 0 && !n->nic[0] && !n->bonding[0])
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': vlan needs a nic "
				    "or a bonding", n->name);
	if (n->gateway[0] && !n->ipaddr[0])
		return vd_error_set(err, VD_ERR_NET_BAD_ADDR, "network '%s': gateway without "
				    "ipaddr", n->name);
	if (n->ipaddr[0] && n->prefix < 0)
		return vd_error_set(err, VD_ERR_NET_BAD_ADDR, "network '%s': ipaddr without "
				    "netmask or prefix", n->name);
	if (!n->ipaddr[0] && n->prefix >= 0)
		return vd_error_set(err, VD_ERR_NET_BAD_ADDR, "network '%s': netmask without "
				    "ipaddr", n->name);
	if (n->ipv6gateway[0] && !n->ipv6addr[0])
		return vd_error_set(err, VD_ERR_NET_BAD_ADDR, "network '%s': ipv6gateway without "
				    "ipv6addr", n->name);
	if (n->dhcpv4 && n->ipaddr[0])
		return vd_error_set(err, VD_ERR_NET_BAD_ADDR, "network '%s': bootproto dhcp "
				    "and a static ipaddr are mutually exclusive", n->name);
	if ((n->dhcpv6 || n->ipv6autoconf) && n->ipv6addr[0])
		return vd_error_set(err, VD_ERR_NET_BAD_ADDR, "network '%s': %s and a static "
				    "ipv6addr are mutually exclusive", n->name,
				    n->dhcpv6 ? "dhcpv6" : "ipv6autoconf");
	if (n->qos.set && !n->nic[0] && !n->bonding[0])
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': hostQos needs a "
				    "nic or a bonding (the device it shapes)", n->name);
	if (n->default_route && !n->gateway[0] && !n->dhcpv4)
		return vd_error_set(err, VD_ERR_NET_BAD_ADDR, "network '%s': defaultRoute without "
				    "gateway", n->name);
	return 0;
}

int netconf_merge(const struct netconf *running, const struct netconf *req,
		  struct netconf *ret, struct vd_error *err)
{
	struct netconf out;

	if (copy_conf(running, &out, err) < 0)
		return -1;
	for (size_t i = 0; i < req->n_bonds; i++) {
		const struct netconf_bond *b = &req->bonds[i];
		const struct netconf_bond *cur = netconf_find_bond(running, b->name);
		if (b->remove) {
			if (b->seen & (NETCONF_A_NICS | NETCONF_A_OPTIONS)) {
				vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "bond '%s': remove with "
					     "other attributes", b->name);
				goto fail;
			}
			if (!cur) {
				vd_error_set(err, VD_ERR_NET_BAD_BONDING, "bond '%s': cannot remove "
					     "a bond that does not exist", b->name);
				goto fail;
			}
			drop_bond(&out, b->name);
			continue;
		}
		struct netconf_bond *dst;
		if (netconf_add_bond(&out, b->name, &dst, err) < 0)
			goto fail;
		if (!cur) {
			*dst = *b;
		} else {
			if (b->seen & NETCONF_A_NICS) {
				memcpy(dst->nics, b->nics, sizeof(b->nics));
				dst->n_nics = b->n_nics;
			}
			if (b->seen & NETCONF_A_OPTIONS)
				memcpy(dst->options, b->options, sizeof(b->options));
		}
		if (!dst->options[0])
			snprintf(dst->options, sizeof(dst->options), "mode=0");
		dst->seen = 0;
		if (dst->n_nics == 0) {
			vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "bond '%s': nics: missing or empty",
				     b->name);
			goto fail;
		}
	}
	for (size_t i = 0; i < req->n_nets; i++) {
		const struct netconf_net *n = &req->nets[i];
		if (n->remove) {
			if (n->seen & NETCONF_A_OTHER) {
				vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': remove with "
					     "other attributes", n->name);
				goto fail;
			}
			if (!netconf_find_net(running, n->name)) {
				vd_error_set(err, VD_ERR_NET_BAD_BRIDGE, "network '%s': cannot remove "
					     "a network that does not exist", n->name);
				goto fail;
			}
			drop_net(&out, n->name);
			continue;
		}
		if (check_net_entry(n, err) < 0)
			goto fail;
		struct netconf_net *dst;
		if (netconf_add_net(&out, n->name, &dst, err) < 0)
			goto fail;
		*dst = *n;      /* edit = replace */
		dst->seen = 0;
		if (!dst->mtu)
			dst->mtu = NETCONF_MTU_DEFAULT;
	}
	*ret = out;
	return 0;
fail:
	netconf_free(&out);
	return -1;
}

/* The device a network's VLAN/bridge/address sits on: nic, bond, or "" (nicless). */
static const char *net_base(const struct netconf_net *n)
{
	return n->nic[0] ? n->nic : n->bonding;
}

static bool is_our_master(const struct netconf *c, const char *name)
{
	if (netconf_find_bond(c, name))
		return true;
	const struct netconf_net *n = netconf_find_net(c, name);
	return n && n->bridged;
}

static int check_nic(const struct net_snapshot *s, const struct netconf *c,
		     const struct netconf *old, const char *who, const char *nic,
		     struct vd_error *err)
{
	const struct net_dev *d = net_snapshot_find(s, nic);

	if (!d || d->kind != NET_KIND_NIC || d->hidden)
		return vd_error_set(err, VD_ERR_NET_BAD_NIC, "%s: unknown nic '%s'", who, nic);
	if (d->master_name[0] && !is_our_master(c, d->master_name) &&
	    !is_our_master(old, d->master_name))
		return vd_error_set(err, VD_ERR_NET_USED_NIC, "%s: nic '%s' is already used by "
				    "'%s'", who, nic, d->master_name);
	return 0;
}

int netconf_validate(const struct netconf *c, const struct netconf *old,
		     const struct net_snapshot *s, struct vd_error *err)
{
	char who[64];

	for (size_t i = 0; i < c->n_bonds; i++) {
		const struct netconf_bond *b = &c->bonds[i];
		const struct net_dev *d = net_snapshot_find(s, b->name);
		snprintf(who, sizeof(who), "bond '%s'", b->name);
		if (d && d->kind != NET_KIND_BOND)
			return vd_error_set(err, VD_ERR_NET_BAD_BONDING, "%s: a device of that name "
					    "exists and is not a bond", who);
		for (size_t j = 0; j < b->n_nics; j++) {
			if (check_nic(s, c, old, who, b->nics[j], err) < 0)
				return -1;
			for (size_t k = 0; k < i; k++)
				for (size_t m = 0; m < c->bonds[k].n_nics; m++)
					if (!strcmp(c->bonds[k].nics[m], b->nics[j]))
						return vd_error_set(err, VD_ERR_NET_USED_NIC, "%s: nic "
								    "'%s' is already a slave of '%s'",
								    who, b->nics[j], c->bonds[k].name);
		}
		/* primary/active_slave must name a slave */
		const char *opt = strstr(b->options, " primary=");
		if (!opt)
			opt = strstr(b->options, " active_slave=");
		if (opt) {
			char v[IFNAMSIZ + 1] = "";
			sscanf(strchr(opt, '=') + 1, "%16[^ ]", v);
			bool found = false;
			for (size_t j = 0; j < b->n_nics; j++)
				found |= !strcmp(b->nics[j], v);
			if (!found)
				return vd_error_set(err, VD_ERR_NET_BAD_BONDING, "%s: options: primary "
						    "slave '%s' is not one of its nics", who, v);
		}
	}
	for (size_t i = 0; i < c->n_nets; i++) {
		const struct netconf_net *n = &c->nets[i];
		const char *base = net_base(n);
		snprintf(who, sizeof(who), "network '%s'", n->name);
		if (n->nic[0]) {
			if (check_nic(s, c, old, who, n->nic, err) < 0)
				return -1;
			for (size_t k = 0; k < c->n_bonds; k++)
				for (size_t m = 0; m < c->bonds[k].n_nics; m++)
					if (!strcmp(c->bonds[k].nics[m], n->nic))
						return vd_error_set(err, VD_ERR_NET_USED_NIC, "%s: nic "
								    "'%s' is a slave of bond '%s'",
								    who, n->nic, c->bonds[k].name);
		} else if (n->bonding[0] && !netconf_find_bond(c, n->bonding)) {
			return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "%s: unknown bond '%s' "
					    "(not defined in bondings)", who, n->bonding);
		}
		if (n->vlan >= 0 && strlen(base) + 1 + (n->vlan >= 1000 ? 4 : n->vlan >= 100 ? 3 :
							 n->vlan >= 10 ? 2 : 1) >= IFNAMSIZ)
			return vd_error_set(err, VD_ERR_NET_BAD_VLAN, "%s: vlan device name "
					    "'%s.%d' is longer than 15 characters", who, base, n->vlan);
		if (n->bridged) {
			const struct net_dev *d = net_snapshot_find(s, n->name);
			if ((d && d->kind != NET_KIND_BRIDGE) || netconf_find_bond(c, n->name))
				return vd_error_set(err, VD_ERR_NET_BAD_BRIDGE, "%s: a device named "
						    "'%s' exists and is not a bridge", who, n->name);
			if (d && !netconf_find_net(old, n->name))
				return vd_error_set(err, VD_ERR_NET_BAD_BRIDGE, "%s: bridge '%s' "
						    "exists and is not managed by this agent",
						    who, n->name);
		}
		for (size_t k = 0; k < i && base[0]; k++) {
			const struct netconf_net *o = &c->nets[k];
			if (strcmp(net_base(o), base) || o->vlan != n->vlan)
				continue;
			if (n->vlan < 0)
				return vd_error_set(err, VD_ERR_NET_USED_NIC, "%s: '%s' already carries "
						    "the untagged network '%s'", who, base, o->name);
			return vd_error_set(err, VD_ERR_NET_BAD_VLAN, "%s: vlan %d on '%s' is "
					    "already used by network '%s'", who, n->vlan, base, o->name);
		}
		for (size_t k = 0; k < c->n_nets; k++)
			if (k != i && c->nets[k].bridged && base[0] &&
			    !strcmp(c->nets[k].name, base))
				return vd_error_set(err, VD_ERR_NET_BAD_BRIDGE, "%s: '%s' is a bridge",
						    who, base);
	}
	return 0;
}

void netconf_names(const struct netconf *req, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < req->n_nets + req->n_bonds && n < size; i++) {
		const char *name = i < req->n_nets ? req->nets[i].name :
				   req->bonds[i - req->n_nets].name;
		int w = snprintf(buf + n, size - n, "%s%s", n ? "," : "", name);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}
