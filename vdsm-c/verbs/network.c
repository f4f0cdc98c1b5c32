/* setupNetworks and setSafeNetworkConfig (API.md §5.4): wire structs → network/
 * request (attribute strings through netconf_net_set / netconf_bond_set), then the
 * network manager does the transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verbs.h"
#include "../../network/netmgr.h"
#include "../util/log.h"
#include "../util/util.h"

/* A scalar wire value as the attribute string the setters take. */
static char *attr_string(xmlrpc_value *v)
{
	if (xmlrpc_value_type(v) == XMLRPC_TYPE_BOOL) {
		bool b = false;
		if (rpc_to_bool(v, &b) < 0)
			return NULL;
		return strdup(b ? "true" : "false");
	}
	return rpc_to_string(v);
}

/* custom: {bridge_opts: "k=v ..."}; any other custom property is refused by name. */
static int custom_attrs(struct netconf_net *n, xmlrpc_value *st, xmlrpc_env *env,
			struct vd_error *err)
{
	if (xmlrpc_value_type(st) != XMLRPC_TYPE_STRUCT)
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': custom: not a "
				    "struct", n->name);
	int size = xmlrpc_struct_size(env, st), r = 0;
	for (int i = 0; i < size && !env->fault_occurred && r == 0; i++) {
		xmlrpc_value *k = NULL, *v = NULL;
		const char *key = NULL;
		xmlrpc_struct_read_member(env, st, (unsigned)i, &k, &v);
		if (env->fault_occurred)
			break;
		xmlrpc_read_string(env, k, &key);
		if (env->fault_occurred) {
			r = vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': custom: bad "
					 "property name", n->name);
		} else if (strcmp(key, "bridge_opts")) {
			r = vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': custom property "
					 "'%.32s' is not supported by this agent", n->name, key);
		} else {
			_cleanup_free_ char *s = attr_string(v);
			r = s ? netconf_net_set(n, "bridge_opts", s, err) :
				vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': custom: "
					     "bridge_opts: not a string", n->name);
		}
		free((char *)key);
		xmlrpc_DECREF(k);
		xmlrpc_DECREF(v);
	}
	if (r == 0 && env->fault_occurred)
		r = vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': custom: bad struct",
				 n->name);
	return r;
}

/* Every member name of struct st is one of names (NULL-terminated); else -1 with err. */
static int known_keys(const char *net, const char *where, xmlrpc_value *st,
		      const char *const *names, xmlrpc_env *env, struct vd_error *err)
{
	if (xmlrpc_value_type(st) != XMLRPC_TYPE_STRUCT)
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': %s: not a struct",
				    net, where);
	int size = xmlrpc_struct_size(env, st), r = 0;
	for (int i = 0; i < size && !env->fault_occurred && r == 0; i++) {
		xmlrpc_value *k = NULL, *v = NULL;
		const char *key = NULL;
		xmlrpc_struct_read_member(env, st, (unsigned)i, &k, &v);
		if (!env->fault_occurred)
			xmlrpc_read_string(env, k, &key);
		if (!env->fault_occurred) {
			const char *const *p = names;
			while (*p && strcmp(*p, key))
				p++;
			if (!*p)
				r = vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': %s: unknown "
						 "key '%.32s'", net, where, key);
		}
		free((char *)key);
		if (k)
			xmlrpc_DECREF(k);
		if (v)
			xmlrpc_DECREF(v);
	}
	if (r == 0 && env->fault_occurred)
		r = vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': %s: bad struct", net,
				 where);
	return r;
}

/* hostQos: {out: {ls|ul|rt: {m1, d, m2}}} (integers, or decimal strings) → the text
 * form netconf_net_set checks ("ls:M1,D,M2 ..."; absent m1/d = 0). Only digits reach
 * the text, so a value cannot smuggle another curve in. */
static int qos_attrs(struct netconf_net *n, xmlrpc_value *st, xmlrpc_env *env,
		     struct vd_error *err)
{
	static const char *const top[] = { "out", NULL };
	static const char *const curves[] = { "ls", "ul", "rt", NULL };
	static const char *const params[] = { "m1", "d", "m2", NULL };
	char text[3 * 72] = "", where[32];
	size_t len = 0;

	if (known_keys(n->name, "hostQos", st, top, env, err) < 0)
		return -1;
	xmlrpc_value *out = rpc_struct_get(st, "out");
	if (!out)
		return netconf_net_set(n, "hostQos", "", err);
	if (known_keys(n->name, "hostQos: out", out, curves, env, err) < 0)
		return -1;
	for (size_t i = 0; curves[i]; i++) {
		xmlrpc_value *c = rpc_struct_get(out, curves[i]);
		long long x[3] = { 0, 0, -1 };
		if (!c)
			continue;
		snprintf(where, sizeof(where), "hostQos: %s", curves[i]);
		if (known_keys(n->name, where, c, params, env, err) < 0)
			return -1;
		for (size_t j = 0; params[j]; j++) {
			xmlrpc_value *v = rpc_struct_get(c, params[j]);
			int r = v ? rpc_to_ll(v, &x[j]) : RPC_ABSENT;
			if (r == RPC_BADTYPE || (r == RPC_OK && x[j] < 0))
				return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': %s: %s "
						    "is not a non-negative integer", n->name, where,
						    params[j]);
		}
		if (x[2] < 0)
			return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': %s: m2 is "
					    "required", n->name, where);
		int w = snprintf(text + len, sizeof(text) - len, "%s%s:%lld,%lld,%lld",
				 len ? " " : "", curves[i], x[0], x[1], x[2]);
		if (w < 0 || (size_t)w >= sizeof(text) - len)
			return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': hostQos: too "
					    "long", n->name);
		len += (size_t)w;
	}
	return netconf_net_set(n, "hostQos", text, err);
}

/* One attribute key = v of a network or bond entry; 0 or -1 with err. */
typedef int attr_fn(void *obj, const char *key, xmlrpc_value *v, xmlrpc_env *env,
		    struct vd_error *err);

/* Every member of the entry struct st of what ("network"/"bond") name through fn. */
static int each_attr(const char *what, const char *name, xmlrpc_value *st, attr_fn *fn,
		     void *obj, xmlrpc_env *env, struct vd_error *err)
{
	int size = xmlrpc_struct_size(env, st);

	for (int i = 0; i < size && !env->fault_occurred; i++) {
		xmlrpc_value *k = NULL, *v = NULL;
		const char *key = NULL;
		xmlrpc_struct_read_member(env, st, (unsigned)i, &k, &v);
		if (env->fault_occurred)
			break;
		xmlrpc_read_string(env, k, &key);
		int r = env->fault_occurred ?
			vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "%s '%s': bad attribute name",
				     what, name) :
			fn(obj, key, v, env, err);
		free((char *)key);
		xmlrpc_DECREF(k);
		xmlrpc_DECREF(v);
		if (r < 0)
			return -1;
	}
	if (env->fault_occurred)
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "%s '%s': bad attributes", what,
				    name);
	return 0;
}

static int net_attr(void *obj, const char *key, xmlrpc_value *v, xmlrpc_env *env,
		    struct vd_error *err)
{
	struct netconf_net *n = obj;

	if (!strcmp(key, "custom"))
		return custom_attrs(n, v, env, err);
	if (!strcmp(key, "hostQos"))
		return qos_attrs(n, v, env, err);
	_cleanup_free_ char *s = attr_string(v);
	return s ? netconf_net_set(n, key, s, err) :
		   vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': attribute '%.32s' is "
				"not supported by this agent or has a bad type", n->name, key);
}

static int bond_attr(void *obj, const char *key, xmlrpc_value *v, xmlrpc_env *env,
		     struct vd_error *err)
{
	struct netconf_bond *b = obj;
	int r = 0;

	if (strcmp(key, "nics")) {
		_cleanup_free_ char *s = attr_string(v);
		return s ? netconf_bond_set(b, key, s, err) :
			   vd_error_set(err, VD_ERR_NET_BAD_BONDING, "bond '%s': attribute '%.32s' "
					"has a bad type", b->name, key);
	}
	int n = xmlrpc_value_type(v) == XMLRPC_TYPE_ARRAY ? xmlrpc_array_size(env, v) : -1;
	if (n < 0)
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "bond '%s': nics: not an array",
				    b->name);
	b->seen |= NETCONF_A_NICS;
	for (int j = 0; j < n && r == 0; j++) {
		xmlrpc_value *item = NULL;
		xmlrpc_array_read_item(env, v, (unsigned)j, &item);
		_cleanup_free_ char *s = item ? rpc_to_string(item) : NULL;
		r = s ? netconf_bond_add_nic(b, s, err) :
			vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "bond '%s': nics: item %d is not "
				     "a string", b->name, j);
		if (item)
			xmlrpc_DECREF(item);
	}
	return r;
}

/* networks or bondings: name → struct. */
static int read_entries(xmlrpc_value *top, bool bonds, struct netconf *req, xmlrpc_env *env,
			struct vd_error *err)
{
	int size = xmlrpc_struct_size(env, top);

	for (int i = 0; i < size; i++) {
		xmlrpc_value *k = NULL, *v = NULL;
		const char *name = NULL;
		int r;
		xmlrpc_struct_read_member(env, top, (unsigned)i, &k, &v);
		if (env->fault_occurred)
			return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "bad %s struct",
					    bonds ? "bondings" : "networks");
		xmlrpc_read_string(env, k, &name);
		if (env->fault_occurred || xmlrpc_value_type(v) != XMLRPC_TYPE_STRUCT) {
			r = vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "%s: every entry must be a struct",
					 bonds ? "bondings" : "networks");
		} else if (bonds) {
			struct netconf_bond *b;
			r = netconf_add_bond(req, name, &b, err);
			if (r == 0)
				r = each_attr("bond", b->name, v, bond_attr, b, env, err);
		} else {
			struct netconf_net *n;
			r = netconf_add_net(req, name, &n, err);
			if (r == 0)
				r = each_attr("network", n->name, v, net_attr, n, env, err);
		}
		free((char *)name);
		xmlrpc_DECREF(k);
		xmlrpc_DECREF(v);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int read_options(xmlrpc_value *o, struct netmgr_check *check, struct vd_error *err)
{
	xmlrpc_value *v;
	long long t;

	check->enabled = true;
	check->timeout = 4;
	if ((v = rpc_struct_get(o, "connectivityCheck")) && rpc_to_bool(v, &check->enabled) < 0)
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "options: connectivityCheck: not "
				    "a boolean");
	if ((v = rpc_struct_get(o, "connectivityTimeout"))) {
		int r = rpc_to_ll(v, &t);
		if (r < 0 || (r == RPC_OK && (t < 0 || t > 3600)))
			return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "options: connectivityTimeout: "
					    "not an integer in 0-3600");
		if (r == RPC_OK)
			check->timeout = (int)t;
	}
	return 0;
}

xmlrpc_value *verb_setup_networks(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	xmlrpc_value *nets, *bonds, *options;
	struct netconf req = { 0 };
	struct netmgr_check check;

	if (vd_arg_struct(c, 0, "networks", &nets, err) < 0 ||
	    vd_arg_struct(c, 1, "bondings", &bonds, err) < 0 ||
	    vd_arg_struct(c, 2, "options", &options, err) < 0)
		return NULL;
	if (read_entries(nets, false, &req, env, err) < 0 ||
	    read_entries(bonds, true, &req, env, err) < 0 ||
	    read_options(options, &check, err) < 0)
		goto out;
	netconf_names(&req, c->audit_obj, sizeof(c->audit_obj));
	if (netmgr_setup(&req, &check, err) < 0)
		log_debug("setupNetworks: %s", err->msg);
out:
	netconf_free(&req);
	return NULL;
}

xmlrpc_value *verb_set_safe_network_config(struct vd_call *c, xmlrpc_env *env,
					   struct vd_error *err)
{
	(void)c;
	(void)env;
	if (netmgr_set_safe(err) < 0)
		log_debug("setSafeNetworkConfig: %s", err->msg);
	return NULL;   /* status-only reply; err carries a failure */
}
