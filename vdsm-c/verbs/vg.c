/* createVG(vgname, devlist, [force]) and getVGInfo(vgUUID) (API.md §5.5): argument
 * checks and the wire replies; storage/vg.c does the checks on the devices and the
 * bounded lvm runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verbs.h"
#include "../util/log.h"
#include "../util/macros.h"
#include "../util/util.h"
#include "../../storage/vg.h"

xmlrpc_value *verb_create_vg(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	_cleanup_free_ char *raw = NULL;
	char name[37] = "", uuid[64];
	char **guids = NULL;
	size_t n = 0;
	bool force = false;
	xmlrpc_value *payload = NULL;

	if (vd_arg_string(c, 0, "vgname", &raw, err) < 0)
		return NULL;
	if (util_uuid_normalize(raw, name) < 0) {
		vd_error_set(err, VD_ERR_INVALID_PARAMETER, "Invalid parameter: 'vgname=%.64s'", raw);
		return NULL;
	}
	snprintf(c->audit_obj, sizeof(c->audit_obj), "%s", name);
	if (vd_arg(c, 2) && rpc_to_bool(vd_arg(c, 2), &force) == RPC_BADTYPE) {
		vd_error_set(err, VD_ERR_INVALID_PARAMETER, "Invalid parameter: 'force' is not a boolean");
		goto out;
	}
	/* unknown strings are the storage layer's to refuse (606) */
	if (vd_arg_strings(c, 1, "devlist", 1, STG_LVM_MAX_DEVS, 0, &guids, &n, err) < 0)
		goto out;
	if (stg_vg_create(name, (const char *const *)guids, n, force, uuid, err) < 0)
		goto out;
	payload = rpc_struct_new(env);
	rpc_set_str(env, payload, "uuid", uuid);
out:
	if (!payload)
		log_warning("storage: createVG %s: %d %s", name, err->code, err->msg);
	vd_strv_free(guids);
	return payload;
}

/* An LVM UUID: 1..63 of [A-Za-z0-9-] (lvm prints 6-4-4-4-4-4-6). */
static bool lvm_uuid_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 63)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* vg_attr's six characters as VDSM names them. */
static xmlrpc_value *attr_struct(xmlrpc_env *env, const char *attr)
{
	static const char *const names[] = { "permission", "resizeable", "exported",
					     "partial", "allocation", "clustered" };
	xmlrpc_value *st = rpc_struct_new(env);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char v[2] = { i < strlen(attr) ? attr[i] : '-', 0 };
		rpc_set_str(env, st, names[i], v);
	}
	return st;
}

xmlrpc_value *verb_get_vg_info(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	_cleanup_free_ char *id = NULL;
	struct stg_vg_info vi;

	if (vd_arg_string(c, 0, "vgUUID", &id, err) < 0)
		return NULL;
	if (!lvm_uuid_ok(id)) {
		vd_error_set(err, VD_ERR_VOLUME_GROUP_DOES_NOT_EXIST, "%s: '%.64s'",
			     vd_code_message(VD_ERR_VOLUME_GROUP_DOES_NOT_EXIST), id);
		return NULL;
	}
	if (stg_vg_info(id, &vi, err) < 0)
		return NULL;

	xmlrpc_value *payload = rpc_struct_new(env), *info = rpc_struct_new(env),
		     *pvs = rpc_array_new(env);
	rpc_set_str(env, info, "name", vi.vg.name);
	rpc_set_str(env, info, "vgUUID", vi.vg.uuid);
	rpc_set_strf(env, info, "vgsize", "%lld", (long long)vi.vg.size);
	rpc_set_strf(env, info, "vgfree", "%lld", (long long)vi.vg.free);
	rpc_set_int(env, info, "type", vi.type);
	rpc_set_take(env, info, "attr", attr_struct(env, vi.vg.attr));
	rpc_set_str(env, info, "state", vi.partial ? "PARTIAL" : "OK");
	for (size_t i = 0; i < vi.devs.n; i++) {
		const struct stg_dev *d = &vi.devs.devs[i];
		xmlrpc_value *e = vd_dev_struct(env, &vi.devs, d);
		/* capacity = the PV, devcapacity = the device (VDSM's pvlist entry) */
		rpc_set_str(env, e, "capacity", d->pv_size);
		rpc_set_strf(env, e, "devcapacity", "%lld", (long long)d->size);
		rpc_append_take(env, pvs, e);
	}
	rpc_set_take(env, info, "pvlist", pvs);
	rpc_set_take(env, payload, "info", info);
	stg_vg_info_free(&vi);
	return payload;
}
