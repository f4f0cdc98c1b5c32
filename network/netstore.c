/* Persisted network configuration: text format, parser (untrusted: read back at
 * start) and the running/safe files, written atomically. */
#include "netconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../vdsm-c/util/buf.h"
#include "../vdsm-c/util/util.h"

#define NETSTORE_MAX (4 << 20)

static void add_value(struct util_buf *b, const char *key, const char *v)
{
	util_buf_printf(b, " %s=", key);
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		if (isalnum(c) || strchr("._:,/-", c))
			util_buf_addc(b, (char)c);
		else
			util_buf_printf(b, "%%%02X", c);
	}
}

int netconf_format(const struct netconf *c, char **ret)
{
	_cleanup_(util_buf_reset) struct util_buf b = UTIL_BUF_INIT;
	char num[16];

	util_buf_addlit(&b, "# vdsm-c network configuration v1\n");
	for (size_t i = 0; i < c->n_bonds; i++) {
		const struct netconf_bond *x = &c->bonds[i];
		util_buf_printf(&b, "bond %s", x->name);
		char nics[NETCONF_BOND_NICS_MAX * IFNAMSIZ] = "";
		for (size_t j = 0; j < x->n_nics; j++) {
			if (j)
				strcat(nics, ",");
			strcat(nics, x->nics[j]);
		}
		add_value(&b, "nics", nics);   /* a name may hold '%' */
		add_value(&b, "options", x->options);
		util_buf_addc(&b, '\n');
	}
	for (size_t i = 0; i < c->n_nets; i++) {
		const struct netconf_net *n = &c->nets[i];
		util_buf_printf(&b, "net %s", n->name);
		if (n->nic[0])
			add_value(&b, "nic", n->nic);
		if (n->bonding[0])
			add_value(&b, "bonding", n->bonding);
		if (n->vlan >= 0) {
			snprintf(num, sizeof(num), "%d", n->vlan);
			add_value(&b, "vlan", num);
		}
		add_value(&b, "bridged", n->bridged ? "true" : "false");
		if (n->stp)
			add_value(&b, "stp", "true");
		snprintf(num, sizeof(num), "%d", n->mtu);
		add_value(&b, "mtu", num);
		if (n->ipaddr[0]) {
			add_value(&b, "ipaddr", n->ipaddr);
			snprintf(num, sizeof(num), "%d", n->prefix);
			add_value(&b, "prefix", num);
		}
		if (n->gateway[0])
			add_value(&b, "gateway", n->gateway);
		if (n->ipv6addr[0]) {
			add_value(&b, "ipv6addr", n->ipv6addr);
			snprintf(num, sizeof(num), "%d", n->ipv6prefix);
			add_value(&b, "ipv6prefix", num);
		}
		if (n->ipv6gateway[0])
			add_value(&b, "ipv6gateway", n->ipv6gateway);
		if (n->default_route)
			add_value(&b, "defaultRoute", "true");
		if (n->bridge_opts[0])
			add_value(&b, "bridge_opts", n->bridge_opts);
		if (n->dhcpv4)
			add_value(&b, "bootproto", "dhcp");
		if (n->dhcpv6)
			add_value(&b, "dhcpv6", "true");
		if (n->ipv6autoconf)
			add_value(&b, "ipv6autoconf", "true");
		if (n->blocking_dhcp)
			add_value(&b, "blockingdhcp", "true");
		if (n->qos.set) {
			char q[NETQOS_N * 72];
			netqos_format(&n->qos, q, sizeof(q));
			add_value(&b, "hostQos", q);
		}
		util_buf_addc(&b, '\n');
	}
	*ret = util_buf_steal(&b, NULL);
	return *ret ? 0 : -ENOMEM;
}

static int unescape(char *s)
{
	char *o = s;

	for (char *p = s; *p; p++) {
		if (*p != '%') {
			*o++ = *p;
			continue;
		}
		if (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]))
			return -1;
		char h[3] = { p[1], p[2], 0 };
		unsigned long v = strtoul(h, NULL, 16);
		if (v == 0)
			return -1;
		*o++ = (char)v;
		p += 2;
	}
	*o = '\0';
	return 0;
}

static int parse_line(char *line, unsigned lineno, struct netconf *c, struct vd_error *err)
{
	char *save = NULL;
	char *kind = strtok_r(line, " ", &save), *name = strtok_r(NULL, " ", &save);
	struct netconf_net *n = NULL;
	struct netconf_bond *b = NULL;

	if (!kind || !name)
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "line %u: expected 'net NAME' or "
				    "'bond NAME'", lineno);
	if (!strcmp(kind, "net")) {
		if (netconf_find_net(c, name))
			return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "line %u: network '%.16s' "
					    "listed twice", lineno, name);
		if (netconf_add_net(c, name, &n, err) < 0)
			return -1;
	} else if (!strcmp(kind, "bond")) {
		if (netconf_find_bond(c, name))
			return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "line %u: bond '%.16s' "
					    "listed twice", lineno, name);
		if (netconf_add_bond(c, name, &b, err) < 0)
			return -1;
	} else {
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "line %u: unknown entry '%.16s'",
				    lineno, kind);
	}
	for (char *kv = strtok_r(NULL, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq || unescape(eq + 1) < 0)
			return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "line %u: bad attribute "
					    "'%.32s'", lineno, kv);
		*eq = '\0';
		if (n && (!strcmp(kv, "remove") || !strcmp(kv, "custom")))
			return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "line %u: bad attribute "
					    "'%.32s'", lineno, kv);
		if (n ? netconf_net_set(n, kv, eq + 1, err) : netconf_bond_set(b, kv, eq + 1, err))
			return -1;
	}
	if (n) {
		n->seen = 0;
		if (!n->mtu)
			n->mtu = NETCONF_MTU_DEFAULT;
	}
	if (b) {
		if (!b->n_nics || !b->options[0] || b->remove)
			return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "line %u: bond '%s' needs "
					    "nics and options", lineno, b->name);
		b->seen = 0;
	}
	return 0;
}

int netconf_parse(const char *text, size_t len, struct netconf *ret, struct vd_error *err)
{
	struct netconf c = { 0 };
	_cleanup_free_ char *copy = malloc(len + 1);
	unsigned lineno = 0;

	if (!copy)
		return vd_error_set(err, VD_ERR_UNEXPECTED, "out of memory");
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (strlen(copy) != len)
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "NUL byte in network configuration");
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (line[0] == '#')
			continue;
		if (parse_line(line, lineno, &c, err) < 0) {
			netconf_free(&c);
			return -1;
		}
	}
	/* the same checks a request gets, so a saved file cannot hold what the wire cannot */
	struct netconf empty = { 0 }, merged;
	if (netconf_merge(&empty, &c, &merged, err) < 0) {
		netconf_free(&c);
		return -1;
	}
	netconf_free(&c);
	*ret = merged;
	return 0;
}

bool netconf_equal(const struct netconf *a, const struct netconf *b)
{
	_cleanup_free_ char *x = NULL, *y = NULL;

	if (netconf_format(a, &x) < 0 || netconf_format(b, &y) < 0)
		return false;
	return strcmp(x, y) == 0;
}

static char *store_path(const char *state_root, const char *which, bool dir)
{
	char rel[96];

	snprintf(rel, sizeof(rel), "/var/lib/vdsm-c/netconf/%s%s", which, dir ? "" : "/networks");
	return util_path(state_root, rel);
}

int netstore_load(const char *state_root, const char *which, struct netconf *ret,
		  struct vd_error *err)
{
	_cleanup_free_ char *path = store_path(state_root, which, false), *text = NULL;
	size_t len = 0;

	if (!path)
		return vd_error_set(err, VD_ERR_UNEXPECTED, "out of memory");
	int r = util_read_file(path, NETSTORE_MAX, &text, &len);
	if (r == -ENOENT) {
		memset(ret, 0, sizeof(*ret));
		return 0;
	}
	if (r < 0)
		return vd_error_set(err, VD_ERR_UNEXPECTED, "%s: %s", path, strerror(-r));
	return netconf_parse(text, len, ret, err);   /* the caller names the file */
}

int netstore_save(const char *state_root, const char *which, const struct netconf *c)
{
	_cleanup_free_ char *dir = store_path(state_root, which, true);
	_cleanup_free_ char *path = store_path(state_root, which, false), *text = NULL;
	int r;

	if (!dir || !path)
		return -ENOMEM;
	if ((r = util_mkdir_p(dir, 0755)) < 0)
		return r;
	if ((r = netconf_format(c, &text)) < 0)
		return r;
	return util_write_atomic(path, text, strlen(text), 0644);
}
