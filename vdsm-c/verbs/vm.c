/* VM verbs (API.md §5.2): create, destroy, list, getVmStats, getAllVmStats.
 * Conversion only: the VM module (vdsm-c/vm.h) does the work and keeps the data. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verbs.h"
#include "vm_params.h"
#include "vm_wire.h"
#include "../util/log.h"
#include "../vm/vm.h"
#include "../util/util.h"

/* VM verbs answer 99 until the VM module found the running VMs again (API.md §2.2):
 * an empty list before that would make the manager think they are down. */
static bool not_recovered(struct vd_error *err)
{
	if (vm_is_recovered())
		return false;
	vd_error_set(err, VD_ERR_RECOVERY, NULL);
	return true;
}

static void add_exit(xmlrpc_env *env, xmlrpc_value *st, const struct vm_view *v)
{
	if (v->status != VM_ST_DOWN)
		return;
	rpc_set_int(env, st, "exitCode", v->exit_code);
	rpc_set_int(env, st, "exitReason", v->exit_reason);
	rpc_set_str(env, st, "exitMessage", v->exit_message);
}

struct collect {
	xmlrpc_env *env;
	xmlrpc_value *arr;
	bool full;
	xmlrpc_value *filter;   /* array of vmIds or NULL */
};

int verb_get_vm_stats(struct vd_call *c, struct rpc_writer *w, struct vd_error *err)
{
	char id[37];

	if (not_recovered(err))
		return -1;
	if (vd_arg_uuid(c, 0, "vmId", id, VD_ERR_NOVM, err) < 0)
		return -1;
	int r = vm_wire_write_stats(w, id);
	if (r == -ENOENT)
		return vd_error_set(err, VD_ERR_NOVM, "Virtual machine does not exist: '%.64s'", id);
	if (r < 0)
		return vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: out of memory");
	return 0;
}

int verb_get_all_vm_stats(struct vd_call *c, struct rpc_writer *w, struct vd_error *err)
{
	(void)c;
	if (not_recovered(err))
		return -1;
	if (vm_wire_write_stats(w, NULL) < 0)
		return vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: out of memory");
	return 0;
}

/* ---- list ---- */

static const struct vm_dev_info *match_dev(const struct vm_view *v, xmlrpc_value *d)
{
	_cleanup_free_ char *type = rpc_to_string(rpc_struct_get(d, "type"));
	_cleanup_free_ char *id = rpc_to_string(rpc_struct_get(d, "deviceId"));
	_cleanup_free_ char *mac = rpc_to_string(rpc_struct_get(d, "macAddr"));
	_cleanup_free_ char *path = rpc_to_string(rpc_struct_get(d, "path"));
	char m[18] = "";

	if (mac && vm_mac_parse(mac, m) < 0)
		m[0] = '\0'; /* not a MAC: matches no device by address */
	for (size_t i = 0; i < v->n_devs; i++) {
		const struct vm_dev_info *x = &v->devs[i];
		if (id && x->device_id && strcasecmp(id, x->device_id) == 0)
			return x;
	}
	for (size_t i = 0; i < v->n_devs; i++) {
		const struct vm_dev_info *x = &v->devs[i];
		if (type && strcmp(type, "interface") == 0 && x->kind == 'n' && *m &&
		    strcmp(x->mac, m) == 0)
			return x;
		if (type && strcmp(type, "disk") == 0 && x->kind == 'd' && path && *path && x->path &&
		    strcmp(x->path, path) == 0)
			return x;
	}
	return NULL;
}

/* Puts libvirt's alias and address on the manager's devices (list(full), §5.2). */
static void fill_devices(xmlrpc_env *env, xmlrpc_value *conf, const struct vm_view *v)
{
	xmlrpc_value *devs = rpc_struct_get(conf, "devices");

	if (!devs || xmlrpc_value_type(devs) != XMLRPC_TYPE_ARRAY)
		return;
	int n = xmlrpc_array_size(env, devs);
	for (int i = 0; i < n && !env->fault_occurred; i++) {
		xmlrpc_value *d = NULL;
		xmlrpc_array_read_item(env, devs, i, &d);
		if (!d)
			continue;
		const struct vm_dev_info *x =
			xmlrpc_value_type(d) == XMLRPC_TYPE_STRUCT ? match_dev(v, d) : NULL;
		if (x && x->alias)
			rpc_set_str(env, d, "alias", x->alias);
		if (x && x->n_addr) {
			xmlrpc_value *a = rpc_struct_new(env);
			for (size_t k = 0; k < x->n_addr; k++)
				rpc_set_str(env, a, x->addr_keys[k], x->addr_vals[k]);
			rpc_set_take(env, d, "address", a);
		}
		if (x && x->kind == 'n' && x->target)
			rpc_set_str(env, d, "name", x->target);
		xmlrpc_DECREF(d);
	}
}

static bool wanted(xmlrpc_value *filter, const char *id)
{
	xmlrpc_env env;
	bool yes = false;

	if (!filter)
		return true;
	xmlrpc_env_init(&env);
	int n = xmlrpc_array_size(&env, filter);
	for (int i = 0; i < n && !yes; i++) {
		xmlrpc_value *x = NULL;
		xmlrpc_array_read_item(&env, filter, i, &x);
		_cleanup_free_ char *s = x ? rpc_to_string(x) : NULL;
		yes = s && strcasecmp(s, id) == 0;
		if (x)
			xmlrpc_DECREF(x);
	}
	xmlrpc_env_clean(&env);
	return yes;
}

static int collect_list(const struct vm_view *v, void *ud)
{
	struct collect *c = ud;
	xmlrpc_value *s;

	if (!wanted(c->filter, v->id))
		return 0;
	if (c->full) {
		xmlrpc_env penv;
		xmlrpc_env_init(&penv);
		s = vm_conf_from_blob(&penv, v->conf_blob);
		if (!s) {
			log_warning("VM %s: stored conf unreadable (%s); listing the short form", v->id,
				    penv.fault_string);
			s = rpc_struct_new(c->env);
			rpc_set_str(c->env, s, "vmId", v->id);
		}
		xmlrpc_env_clean(&penv);
		fill_devices(c->env, s, v);
		rpc_set_take(c->env, s, "guestDiskMapping", rpc_struct_new(c->env));
		rpc_set_strf(c->env, s, "elapsedTime", "%lld", (long long)v->elapsed);
		add_exit(c->env, s, v);
	} else {
		s = rpc_struct_new(c->env);
		rpc_set_str(c->env, s, "vmId", v->id);
	}
	rpc_set_str(c->env, s, "status", vm_status_to_string(v->status));
	rpc_set_strf(c->env, s, "statusTime", "%llu", (unsigned long long)v->status_time_ms);
	rpc_append_take(c->env, c->arr, s);
	return c->env->fault_occurred ? -1 : 0;
}

xmlrpc_value *verb_list(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	struct collect col = { env, NULL, false, NULL };

	if (not_recovered(err))
		return NULL;
	/* API.md §3.1 rule 4: the engine sends "true"; any non-empty, non-false value
	 * means full. */
	xmlrpc_value *full = vd_arg(c, 0);
	if (full && rpc_to_bool(full, &col.full) == RPC_BADTYPE) {
		_cleanup_free_ char *s = rpc_to_string(full);
		col.full = s && *s;
	}
	if (c->nparams > 1 && vd_arg_array(c, 1, "vmList", &col.filter, err) < 0)
		return NULL;
	col.arr = rpc_array_new(env);
	if (vm_foreach(NULL, collect_list, &col) < 0 && !env->fault_occurred)
		xmlrpc_faultf(env, "listing the VMs failed");
	xmlrpc_value *payload = rpc_struct_new(env);
	rpc_set_take(env, payload, "vmList", col.arr);
	return payload;
}

/* ---- create / destroy ---- */

xmlrpc_value *verb_create(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	xmlrpc_value *params = NULL, *stored = NULL;
	struct vm_conf *conf = NULL;
	struct vm_brief brief;
	char id[37];

	if (not_recovered(err))
		return NULL;
	if (vd_arg_struct(c, 0, "vmParams", &params, err) < 0)
		return NULL;
	int r = vm_params_parse(params, &conf, &stored, id, err);
	snprintf(c->audit_obj, sizeof(c->audit_obj), "%s", id);
	if (r < 0)
		return NULL;
	if (vm_create(conf, &brief, err) < 0) {
		xmlrpc_DECREF(stored);
		return NULL;
	}
	rpc_set_str(env, stored, "status", vm_status_to_string(brief.status));
	rpc_set_strf(env, stored, "statusTime", "%llu", (unsigned long long)brief.status_time_ms);
	xmlrpc_value *payload = rpc_struct_new(env);
	rpc_set_take(env, payload, "vmList", stored);
	return payload;
}

xmlrpc_value *verb_destroy(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	_cleanup_free_ char *raw = NULL;
	char id[37];

	if (not_recovered(err))
		return NULL;

	(void)env;
	if (vd_arg_string(c, 0, "vmId", &raw, err) < 0)
		return NULL;
	snprintf(c->audit_obj, sizeof(c->audit_obj), "%.64s", raw);
	if (util_uuid_normalize(raw, id) < 0) {
		vd_error_set(err, VD_ERR_NOVM, "Virtual machine does not exist: '%.64s'", raw);
		return NULL;
	}
	if (vm_destroy(id, err) < 0)
		return NULL;
	c->ok_message = "Machine destroyed";
	return NULL;
}
