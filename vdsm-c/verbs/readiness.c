/* getHostReadiness (an extension of ours, not a VDSM verb): the host-readiness report
 * (vdsm-c/host/readiness.h) as a value, and the same collection for vdsm-c-ready.
 *
 *   getHostReadiness([clusterCpu], [networks], [storage]) →
 *	{status, readiness: {verdict: "ok"|"warn"|"fail",
 *			     checks: [{name, verdict, detail, hint}, ...]}} */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "verbs.h"
#include "ready.h"
#include "../daemon.h"
#include "../host/hostcaps.h"
#include "../util/log.h"
#include "../util/util.h"
#include "../../rpc/xmlrpc.h"
#include "../../storage/mpath.h"

#define MPATHD_TIMEOUT_MS 5000
#define STORAGE_TIMEOUT_MS 3000

int readiness_mpath_read(const char *socket_name, int timeout_ms, struct rd_mpath_map **ret,
			 size_t *ret_n)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0, n = 0;
	struct stg_mpath_map *maps = NULL;
	int rc = stg_mpathd_query(socket_name, "show maps json", timeout_ms, &text, &len);

	*ret = NULL;
	*ret_n = 0;
	if (rc < 0)
		return rc;
	if ((rc = stg_mpath_parse_maps(text, len, &maps, &n)) < 0)
		return rc == -EINVAL ? -EPROTO : rc;
	struct rd_mpath_map *out = calloc(n ? n : 1, sizeof(*out));
	if (!out) {
		stg_mpath_maps_free(maps, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		size_t off = 0;
		snprintf(out[i].wwid, sizeof(out[i].wwid), "%s", maps[i].wwid);
		out[i].n_paths = maps[i].npaths;
		for (size_t j = 0; j < maps[i].npaths; j++) {
			const struct stg_mpath_path *p = &maps[i].paths[j];
			if (!strcmp(p->state, "active")) {
				out[i].n_active++;
			} else if (off < sizeof(out[i].failed)) {
				off += (size_t)snprintf(out[i].failed + off, sizeof(out[i].failed) - off,
							"%s%s:%s", off ? " " : "", p->dev, p->state);
			}
		}
	}
	stg_mpath_maps_free(maps, n);
	*ret = out;
	*ret_n = n;
	return 0;
}

int readiness_collect(const char *cluster_cpu, const char *const *networks, size_t n_networks,
		      struct rd_storage *storage, size_t n_storage, struct rd_report *ret)
{
	const struct vd_config *conf = vd_rt.conf;
	_cleanup_(hostcaps_unrefp) struct hostcaps *hc = hostcaps_get();
	_cleanup_(net_snapshot_unrefp) struct net_snapshot *ns = NULL;
	_cleanup_free_ char *ts = conf->ssl ? vd_config_state_path(conf, conf->trust_store_path) : NULL;
	const struct net_filter f = { conf->fake_nics, conf->hidden_bonds, conf->hidden_vlans };

	if (conf->ssl && !ts)
		return -ENOMEM;
	if (net_snapshot_get(&f, vd_rt.host_root, &ns) < 0)
		ns = NULL; /* reported by the network checks */
	_cleanup_free_ struct rd_mpath_map *maps = NULL;
	size_t n_maps = 0;
	int mrc = readiness_mpath_read(STG_MPATHD_SOCKET, MPATHD_TIMEOUT_MS, &maps, &n_maps);
	if (mrc == -ENOMEM)
		return mrc;
	if (n_storage)
		rd_storage_probe(storage, n_storage, STORAGE_TIMEOUT_MS);
	/* the persisted running networks: their VLAN and MTU are what the kernel should show;
	 * an unreadable file only loses that comparison (logged) */
	_cleanup_(netconf_free) struct netconf running = { 0 };
	struct vd_error nerr = { 0 };
	if (n_networks && netstore_load(vd_rt.root, "running", &running, &nerr) < 0) {
		log_warning("readiness: running network configuration: %s", nerr.msg);
		memset(&running, 0, sizeof(running));
	}
	struct rd_input in = {
		.running = &running,
		.caps = hc,
		.net = ns,
		.host_root = vd_rt.host_root,
		.trust_store = ts,
		.host_mem_reserve_mib = conf->host_mem_reserve,
		.extra_mem_reserve_mib = conf->extra_mem_reserve,
		.cluster_cpu = cluster_cpu,
		.networks = networks,
		.n_networks = n_networks,
		.cert_warn_days = 30,
		.storage = storage,
		.n_storage = n_storage,
		.storage_timeout_ms = STORAGE_TIMEOUT_MS,
		.mpath_asked = true,
		.mpath_rc = mrc,
		.mpath = maps,
		.n_mpath = n_maps,
		.now = (double)time(NULL),
	};
	readiness_run(&in, ret);
	return 0;
}

xmlrpc_value *readiness_value(xmlrpc_env *env, const struct rd_report *r)
{
	xmlrpc_value *v = rpc_struct_new(env), *checks = rpc_array_new(env);

	rpc_set_str(env, v, "verdict", rd_verdict_name(r->verdict));
	for (size_t i = 0; i < r->n && !env->fault_occurred; i++) {
		const struct rd_check *c = &r->checks[i];
		xmlrpc_value *s = rpc_struct_new(env);
		rpc_set_str(env, s, "name", c->name);
		rpc_set_str(env, s, "verdict", rd_verdict_name(c->verdict));
		rpc_set_str(env, s, "detail", c->detail);
		rpc_set_str(env, s, "hint", c->hint);
		rpc_append_take(env, checks, s);
	}
	rpc_set_take(env, v, "checks", checks);
	return v;
}

xmlrpc_value *verb_get_host_readiness(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	_cleanup_free_ char *cpu = NULL;
	const char *nets[RD_MAX_NETWORKS];
	char *owned[RD_MAX_NETWORKS];
	size_t n = 0;
	xmlrpc_value *arr = NULL, *sarr = NULL, *payload = NULL;
	struct rd_storage stg[RD_MAX_STORAGE];
	_cleanup_free_ struct rd_report *r = calloc(1, sizeof(*r));

	if (!r) {
		vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: out of memory");
		return NULL;
	}
	if (c->nparams > 0 && vd_arg_string(c, 0, "clusterCpu", &cpu, err) < 0)
		return NULL;
	if (c->nparams > 1 && vd_arg_array(c, 1, "networks", &arr, err) < 0)
		return NULL;
	if (c->nparams > 2 && vd_arg_array(c, 2, "storage", &sarr, err) < 0)
		return NULL;
	int ssize = sarr ? xmlrpc_array_size(env, sarr) : 0;
	if (ssize > RD_MAX_STORAGE) {
		vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: storage: %d "
			     "connections, at most %d", ssize, RD_MAX_STORAGE);
		return NULL;
	}
	for (int i = 0; i < ssize; i++) {
		xmlrpc_value *item = NULL;
		xmlrpc_array_read_item(env, sarr, i, &item);
		_cleanup_free_ char *spec = item ? rpc_to_string(item) : NULL;
		if (item)
			xmlrpc_DECREF(item);
		if (!spec) {
			vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: storage[%d] is "
				     "not a string", i);
			return NULL;
		}
		if (rd_storage_parse(spec, &stg[i], err) < 0)
			return NULL;
	}
	int size = arr ? xmlrpc_array_size(env, arr) : 0;
	if (size > RD_MAX_NETWORKS) {
		vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: networks: %d names, at "
			     "most %d", size, RD_MAX_NETWORKS);
		return NULL;
	}
	for (int i = 0; i < size; i++) {
		xmlrpc_value *item = NULL;
		xmlrpc_array_read_item(env, arr, i, &item);
		char *s = item ? rpc_to_string(item) : NULL;
		if (item)
			xmlrpc_DECREF(item);
		if (!s || !*s || strlen(s) >= 16) {
			vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: networks[%d] is "
				     "not a network name (1 to 15 characters)", i);
			free(s);
			goto out;
		}
		owned[n] = s;
		nets[n++] = s;
	}
	if (readiness_collect(cpu, nets, n, stg, (size_t)ssize, r) < 0) {
		vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: out of memory");
		goto out;
	}
	payload = rpc_struct_new(env);
	rpc_set_take(env, payload, "readiness", readiness_value(env, r));
out:
	for (size_t i = 0; i < n; i++)
		free(owned[i]);
	return payload;
}
