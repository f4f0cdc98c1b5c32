/* Storage domain verbs (API.md §5.5): createStorageDomain, getStorageDomainsList,
 * getStorageDomainInfo, getStorageDomainStats; and the storageDomains member of
 * getVdsStats (§5.1). The work and every check are in storage/sd.h; this file only
 * converts wire values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verbs.h"
#include "../util/log.h"
#include "../util/macros.h"
#include "../util/util.h"
#include "../../storage/sd.h"
#include "../../storage/stg.h"

#define BLANK_UUID "00000000-0000-0000-0000-000000000000"

/* An int that may come as <int> or as a decimal string (engines send both); "" or an
 * absent optional argument gives def. Returns 0, or -1 with err (code, the name). */
static int arg_int(struct vd_call *c, int idx, const char *name, int def, int code,
		   int *ret, struct vd_error *err)
{
	xmlrpc_value *v = vd_arg(c, idx);
	long long x;
	int r;

	*ret = def;
	if (!v)
		return 0;
	r = rpc_to_ll(v, &x);
	if (r == RPC_ABSENT)
		return 0;
	if (r != RPC_OK || x < -1000000 || x > 1000000) {
		_cleanup_free_ char *s = rpc_to_string(v);
		return vd_error_set(err, code, "%s: %s='%.40s'", vd_code_message(code), name,
				    s ? s : "?");
	}
	*ret = (int)x;
	return 0;
}

xmlrpc_value *verb_create_storage_domain(struct vd_call *c, xmlrpc_env *env,
					 struct vd_error *err)
{
	_cleanup_free_ char *name = NULL, *remote = NULL;
	char uuid[37];
	int type, cls, version;

	if (arg_int(c, 0, "storageType", 0, VD_ERR_STORAGE_DOMAIN_TYPE, &type, err) < 0 ||
	    vd_arg_uuid(c, 1, "sdUUID", uuid, VD_ERR_INVALID_PARAMETER, err) < 0)
		return NULL;
	snprintf(c->audit_obj, sizeof(c->audit_obj), "%s", uuid);
	if (vd_arg_string(c, 2, "domainName", &name, err) < 0 ||
	    vd_arg_string(c, 3, "typeSpecificArg", &remote, err) < 0 ||
	    arg_int(c, 4, "domClass", 0, VD_ERR_STORAGE_DOMAIN_CLASS, &cls, err) < 0 ||
	    arg_int(c, 5, "domVersion", 3, VD_ERR_UNSUPPORTED_DOMAIN_VERSION, &version, err) < 0)
		goto fail;
	const struct sd_create_req req = {
		.storage_type = type, .uuid = uuid, .name = name, .remote = remote,
		.domain_class = cls, .version = version,
	};
	if (sd_create(&req, err) < 0)
		goto fail;
	return NULL;    /* status only */
fail:
	log_warning("storage: createStorageDomain %s: %d %s", uuid, err->code, err->msg);
	return NULL;
}

xmlrpc_value *verb_get_storage_domains_list(struct vd_call *c, xmlrpc_env *env,
					    struct vd_error *err)
{
	_cleanup_free_ char *pool_s = NULL, *remote = NULL;
	char (*ids)[37] = NULL, pool[37] = "";
	xmlrpc_value *payload, *list;
	size_t n = 0;
	int cls, type;

	if (vd_arg(c, 0) && (pool_s = rpc_to_string(vd_arg(c, 0))) && *pool_s &&
	    util_uuid_normalize(pool_s, pool) < 0) {
		vd_error_set(err, VD_ERR_INVALID_PARAMETER, "Invalid parameter: 'spUUID=%.40s'",
			     pool_s);
		return NULL;
	}
	if (arg_int(c, 1, "domainClass", 0, VD_ERR_STORAGE_DOMAIN_CLASS, &cls, err) < 0 ||
	    arg_int(c, 2, "storageType", 0, VD_ERR_STORAGE_DOMAIN_TYPE, &type, err) < 0)
		return NULL;
	if (vd_arg(c, 3) && !(remote = rpc_to_string(vd_arg(c, 3)))) {
		vd_error_set(err, VD_ERR_ILLEGAL_REMOTE_PATH, "%s: remotePath is no string",
			     vd_code_message(VD_ERR_ILLEGAL_REMOTE_PATH));
		return NULL;
	}
	if (sd_list(pool[0] && strcmp(pool, BLANK_UUID) ? pool : NULL, cls, type, remote, &ids,
		    &n) < 0) {
		vd_error_set(err, VD_ERR_STORAGE, "out of memory");
		return NULL;
	}
	payload = rpc_struct_new(env);
	list = rpc_array_new(env);
	for (size_t i = 0; i < n; i++)
		rpc_append_str(env, list, ids[i]);
	rpc_set_take(env, payload, "domlist", list);
	free(ids);
	return payload;
}

xmlrpc_value *verb_get_storage_domain_info(struct vd_call *c, xmlrpc_env *env,
					   struct vd_error *err)
{
	struct sd_info *in = NULL;
	xmlrpc_value *payload = NULL, *info, *pools;
	char uuid[37];

	if (vd_arg_uuid(c, 0, "sdUUID", uuid, VD_ERR_INVALID_PARAMETER, err) < 0)
		return NULL;
	if (!(in = calloc(1, sizeof(*in)))) {
		vd_error_set(err, VD_ERR_STORAGE, "out of memory");
		return NULL;
	}
	if (sd_get_info(uuid, in, err) < 0)
		goto out;
	payload = rpc_struct_new(env);
	info = rpc_struct_new(env);
	rpc_set_str(env, info, "uuid", in->meta.uuid);
	rpc_set_str(env, info, "name", in->meta.description);
	rpc_set_str(env, info, "type", in->meta.type);
	rpc_set_str(env, info, "class", in->meta.class_name);
	rpc_set_str(env, info, "role", in->meta.role);
	rpc_set_strf(env, info, "version", "%d", in->meta.version);
	rpc_set_str(env, info, "remotePath", in->remote_path);
	pools = rpc_array_new(env);
	for (char *save = NULL, *p = strtok_r(in->meta.pools, ",", &save); p;
	     p = strtok_r(NULL, ",", &save)) {
		char id[37];
		if (util_uuid_normalize(util_strstrip(p), id) == 0)
			rpc_append_str(env, pools, id);
	}
	rpc_set_take(env, info, "pool", pools);
	rpc_set_take(env, payload, "info", info);
out:
	free(in);
	return payload;
}

xmlrpc_value *verb_get_storage_domain_stats(struct vd_call *c, xmlrpc_env *env,
					    struct vd_error *err)
{
	xmlrpc_value *payload, *stats;
	struct sd_stats st;
	char uuid[37];

	if (vd_arg_uuid(c, 0, "sdUUID", uuid, VD_ERR_INVALID_PARAMETER, err) < 0 ||
	    sd_get_stats(uuid, &st, err) < 0)
		return NULL;
	payload = rpc_struct_new(env);
	stats = rpc_struct_new(env);
	rpc_set_strf(env, stats, "disktotal", "%llu", st.total);
	rpc_set_strf(env, stats, "diskfree", "%llu", st.free);
	/* Block domains' metadata area; a file domain's is always fine (as VDSM). */
	rpc_set_bool(env, stats, "mdavalid", true);
	rpc_set_bool(env, stats, "mdathreshold", true);
	rpc_set_int(env, stats, "mdasize", 0);
	rpc_set_int(env, stats, "mdafree", 0);
	rpc_set_take(env, payload, "stats", stats);
	return payload;
}

/* The leaf's entry of prepareImage's reply (VDSM's getVolumeInfo keys). */
static xmlrpc_value *volume_info(xmlrpc_env *env, const char *pool, const struct sd_volume *v)
{
	xmlrpc_value *i = rpc_struct_new(env);

	rpc_set_str(env, i, "uuid", v->uuid);
	rpc_set_str(env, i, "domain", v->domain);
	rpc_set_str(env, i, "image", v->image);
	rpc_set_str(env, i, "parent", v->parent);
	rpc_set_str(env, i, "pool", pool);
	rpc_set_str(env, i, "format", v->format);
	rpc_set_str(env, i, "type", v->type);
	rpc_set_str(env, i, "voltype", v->voltype);
	rpc_set_str(env, i, "disktype", v->disktype);
	rpc_set_str(env, i, "description", v->description);
	rpc_set_str(env, i, "legality", v->legality);
	rpc_set_str(env, i, "status", "OK");
	rpc_set_strf(env, i, "capacity", "%lld", v->size * 512);
	rpc_set_strf(env, i, "apparentsize", "%lld", v->apparent);
	rpc_set_strf(env, i, "truesize", "%lld", v->allocated);
	rpc_set_strf(env, i, "ctime", "%lld", v->ctime);
	return i;
}

/* prepareImage(spUUID, sdUUID, imgUUID, leafUUID): spUUID first on the wire. */
xmlrpc_value *verb_prepare_image(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	char pool[37] = "", uuid[37], img[37], leaf[37];
	_cleanup_free_ char *pool_s = NULL;
	xmlrpc_value *payload = NULL, *vols;
	struct sd_image *im = NULL;

	pool_s = rpc_to_string(vd_arg(c, 0));
	if (!pool_s || (*pool_s && util_uuid_normalize(pool_s, pool) < 0)) {
		vd_error_set(err, VD_ERR_INVALID_PARAMETER, "Invalid parameter: 'spUUID=%.40s'",
			     pool_s ? pool_s : "?");
		return NULL;
	}
	if (!pool[0])
		snprintf(pool, sizeof(pool), "%s", SD_BLANK_UUID);
	if (vd_arg_uuid(c, 1, "sdUUID", uuid, VD_ERR_INVALID_PARAMETER, err) < 0 ||
	    vd_arg_uuid(c, 2, "imgUUID", img, VD_ERR_INVALID_PARAMETER, err) < 0 ||
	    vd_arg_uuid(c, 3, "leafUUID", leaf, VD_ERR_INVALID_PARAMETER, err) < 0)
		return NULL;
	snprintf(c->audit_obj, sizeof(c->audit_obj), "%s/%s/%s", uuid, img, leaf);
	if (!(im = calloc(1, sizeof(*im)))) {
		vd_error_set(err, VD_ERR_STORAGE, "out of memory");
		return NULL;
	}
	if (sd_prepare_image(pool, uuid, img, leaf, im, err) < 0) {
		log_warning("storage: prepareImage %s/%s/%s: %d %s", uuid, img, leaf, err->code,
			    err->msg);
		goto out;
	}
	payload = rpc_struct_new(env);
	rpc_set_str(env, payload, "path", im->path);
	rpc_set_take(env, payload, "info", volume_info(env, pool, &im->chain[0]));
	vols = rpc_array_new(env);
	/* base first, as VDSM lists the chain */
	for (size_t i = im->n; i-- > 0;) {
		xmlrpc_value *v = rpc_struct_new(env);
		rpc_set_str(env, v, "domainID", uuid);
		rpc_set_str(env, v, "imageID", img);
		rpc_set_str(env, v, "volumeID", im->chain[i].uuid);
		rpc_set_strf(env, v, "path", "%s/%s", im->dir, im->chain[i].uuid);
		rpc_set_str(env, v, "volType", "path");
		rpc_set_strf(env, v, "leasePath", "%s/%s.lease", im->dir, im->chain[i].uuid);
		rpc_set_int(env, v, "leaseOffset", 0);
		rpc_append_take(env, vols, v);
	}
	rpc_set_take(env, payload, "imgVolumesInfo", vols);
out:
	free(im);
	return payload;
}

/* teardownImage(spUUID, sdUUID, imgUUID[, volUUID]) */
xmlrpc_value *verb_teardown_image(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	char uuid[37], img[37];

	if (vd_arg_uuid(c, 1, "sdUUID", uuid, VD_ERR_INVALID_PARAMETER, err) < 0 ||
	    vd_arg_uuid(c, 2, "imgUUID", img, VD_ERR_INVALID_PARAMETER, err) < 0)
		return NULL;
	snprintf(c->audit_obj, sizeof(c->audit_obj), "%s/%s", uuid, img);
	if (sd_teardown_image(uuid, img, err) < 0)
		log_warning("storage: teardownImage %s/%s: %d %s", uuid, img, err->code, err->msg);
	return NULL;
}

xmlrpc_value *verbs_storage_domains_stats(xmlrpc_env *env)
{
	struct sd_monitor_status *s = NULL;
	xmlrpc_value *all = rpc_struct_new(env);
	size_t n = 0;

	if (sd_monitor_list(&s, &n) < 0)
		return all;
	for (size_t i = 0; i < n; i++) {
		xmlrpc_value *m = rpc_struct_new(env);
		rpc_set_int(env, m, "code", s[i].code);
		rpc_set_strf(env, m, "lastCheck", "%.1f", s[i].last_check);
		rpc_set_strf(env, m, "delay", "%.6f", s[i].delay);
		rpc_set_bool(env, m, "valid", s[i].valid);
		rpc_set_int(env, m, "version", s[i].version);
		rpc_set_bool(env, m, "acquired", s[i].acquired);
		rpc_set_bool(env, m, "actual", s[i].actual);
		rpc_set_take(env, all, s[i].uuid, m);
	}
	free(s);
	return all;
}
