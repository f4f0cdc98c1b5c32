/* getDeviceList([storageType], [guids], [checkStatus]) (API.md §5.5): the host's
 * multipath devices as the engine reads them. storage/devlist.c gathers them (one
 * sysfs scan, one multipathd query, one pvs and — for checkStatus — one blkid run,
 * each bounded); this adapter checks the arguments and writes devList with the wire
 * types API.md lists (sizes as strings, lun and the discard fields as ints). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verbs.h"
#include "../util/log.h"
#include "../util/macros.h"
#include "../util/util.h"
#include "../../storage/dev.h"
#include "../../storage/stg.h"

#define GUIDS_MAX 4096

/* storageType: absent/"" = any; 3 iSCSI and 2 FCP filter, other domain types list all
 * (as VDSM); anything else 468. */
static int arg_type(struct vd_call *c, unsigned *ret, struct vd_error *err)
{
	xmlrpc_value *v = vd_arg(c, 0);
	long long t = 0;

	*ret = 0;
	if (!v)
		return 0;
	int r = rpc_to_ll(v, &t);
	if (r == RPC_ABSENT)
		return 0;
	if (r != RPC_OK || (t != 0 && !stg_type_to_string((int)t)) || t < 0 || t > 7) {
		_cleanup_free_ char *s = rpc_to_string(v);
		return vd_error_set(err, VD_ERR_STORAGE_TYPE, "%s: storageType '%.32s'",
				    vd_code_message(VD_ERR_STORAGE_TYPE), s ? s : "?");
	}
	*ret = t == STG_TYPE_ISCSI ? STG_TR_ISCSI : t == STG_TYPE_FCP ? STG_TR_FCP : 0;
	return 0;
}

static void set_size(xmlrpc_env *env, xmlrpc_value *st, const char *key, int64_t v)
{
	rpc_set_strf(env, st, key, "%lld", (long long)v);
}

static const char *transport_name(enum stg_transport t)
{
	return t == STG_TR_ISCSI ? "iSCSI" : t == STG_TR_FCP ? "FCP" : "";
}

xmlrpc_value *vd_dev_struct(xmlrpc_env *env, const struct stg_devlist *l,
			    const struct stg_dev *d)
{
	xmlrpc_value *st = rpc_struct_new(env), *ps = rpc_array_new(env),
		     *pl = rpc_array_new(env);

	rpc_set_str(env, st, "GUID", d->guid);
	set_size(env, st, "capacity", d->size);
	/* MIXED when paths of both transports lead to the map (VDSM 3.6 meant to and
	 * never did, API.md §8); the engine reads anything but FCP as iSCSI */
	rpc_set_str(env, st, "devtype", stg_dev_type(d));
	rpc_set_str(env, st, "vendorID", d->vendor);
	rpc_set_str(env, st, "productID", d->product);
	rpc_set_str(env, st, "fwrev", d->fwrev);
	rpc_set_str(env, st, "serial", d->serial);
	rpc_set_str(env, st, "pvUUID", d->pv_uuid);
	rpc_set_str(env, st, "vgUUID", d->vg_uuid);
	rpc_set_str(env, st, "pvsize", d->pv_size);
	rpc_set_strf(env, st, "logicalblocksize", "%d", d->logical_bs);
	rpc_set_strf(env, st, "physicalblocksize", "%d", d->physical_bs);
	rpc_set_str(env, st, "status", d->status);
	rpc_set_int(env, st, "discard_max_bytes",
		    d->discard_max_bytes > INT32_MAX ? INT32_MAX : (int)d->discard_max_bytes);
	rpc_set_int(env, st, "discard_zeroes_data", d->discard_zeroes_data);
	for (size_t k = 0; k < d->npaths; k++) {
		const struct stg_path *p = &d->paths[k];
		xmlrpc_value *e = rpc_struct_new(env);
		rpc_set_str(env, e, "physdev", p->dev);
		rpc_set_str(env, e, "state", p->state);
		set_size(env, e, "capacity", p->size);
		rpc_set_int(env, e, "lun", p->lun >= 0 && p->lun <= INT32_MAX ? (int)p->lun : 0);
		rpc_set_str(env, e, "type", transport_name(p->transport));
		rpc_append_take(env, ps, e);

		/* pathlist: each iSCSI session once per device */
		bool seen = false;
		for (size_t j = 0; j < k && !seen; j++)
			seen = d->paths[j].session == p->session;
		const struct stg_iscsi_session *s = seen ? NULL : stg_devlist_session(l, p->session);
		if (!s)
			continue;
		e = rpc_struct_new(env);
		rpc_set_str(env, e, "connection", s->address);
		rpc_set_strf(env, e, "port", "%d", s->port);
		rpc_set_str(env, e, "iqn", s->iqn);
		rpc_set_strf(env, e, "portal", "%d", s->tpgt);
		rpc_set_str(env, e, "initiatorname", s->iface);
		/* the engine keeps these to reconnect (API.md §5.5); never logged */
		if (s->user[0]) {
			rpc_set_str(env, e, "user", s->user);
			rpc_set_str(env, e, "password", s->password);
		}
		rpc_append_take(env, pl, e);
	}
	rpc_set_take(env, st, "pathstatus", ps);
	rpc_set_take(env, st, "pathlist", pl);
	return st;
}

xmlrpc_value *verb_get_device_list(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	struct stg_devlist l;
	unsigned transport;
	bool check = true;
	char **guids = NULL;
	size_t nguids = 0;
	double t0 = util_now_monotonic();

	if (arg_type(c, &transport, err) < 0)
		return NULL;
	if (vd_arg(c, 2) && rpc_to_bool(vd_arg(c, 2), &check) == RPC_BADTYPE) {
		vd_error_set(err, VD_ERR_INVALID_PARAMETER, "%s: 'checkStatus' is not a boolean",
			     vd_code_message(VD_ERR_INVALID_PARAMETER));
		return NULL;
	}
	/* guids: absent or an array of device GUIDs */
	if (vd_arg(c, 1) && vd_arg_strings(c, 1, "guids", 0, GUIDS_MAX,
					   sizeof(((struct stg_dev *)0)->guid), &guids, &nguids,
					   err) < 0)
		return NULL;
	int r = stg_devlist_get(transport, (const char *const *)guids, nguids, check, &l, err);
	vd_strv_free(guids);
	if (r < 0)
		return NULL;

	xmlrpc_value *payload = rpc_struct_new(env), *list = rpc_array_new(env);
	for (size_t i = 0; i < l.n; i++)
		rpc_append_take(env, list, vd_dev_struct(env, &l, &l.devs[i]));
	rpc_set_take(env, payload, "devList", list);
	log_info("storage: getDeviceList: %zu device(s) in %.0f ms%s%s", l.n,
		 (util_now_monotonic() - t0) * 1000,
		 l.mpathd_ok ? "" : ", multipathd not answering (path states from sysfs)",
		 l.pvs_ok || !l.n ? "" : ", no LVM report");
	stg_devlist_free(&l);
	return payload;
}
