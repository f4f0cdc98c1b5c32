/* Migration verbs (API.md §5.3). This slice: migrationCreate, the destination side,
 * called by the source agent. Conversion only: vdsm-c/migration does the work. */
#include <stdio.h>

#include "verbs.h"
#include "vm_params.h"
#include "../migration/migration.h"
#include "../util/log.h"

xmlrpc_value *verb_migration_create(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	xmlrpc_value *params = NULL, *stored = NULL;
	struct vm_conf *conf = NULL;
	struct vm_brief brief;
	char id[37];

	if (!vm_is_recovered()) {
		vd_error_set(err, VD_ERR_RECOVERY, NULL);
		return NULL;
	}
	if (vd_arg_struct(c, 0, "params", &params, err) < 0)
		return NULL;
	/* incomingLimit (4.x): a source that passes it retries on 82; without it 82 would
	 * be fatal there, so the refusal is 12 (API.md §4.4). Its value is not used: the
	 * limit is this host's vars.max_incoming_migrations. */
	xmlrpc_value *limit = vd_arg(c, 1);
	long long lim = 0;
	bool source_passed_limit = limit && rpc_to_ll(limit, &lim) == RPC_OK && lim > 0;
	int r = vm_params_parse(params, &conf, &stored, id, err);
	snprintf(c->audit_obj, sizeof(c->audit_obj), "%s", id);
	if (r < 0)
		return NULL;
	if (migration_incoming(conf, source_passed_limit, &brief, err) < 0) {
		xmlrpc_DECREF(stored);
		return NULL;
	}
	rpc_set_str(env, stored, "status", vm_status_to_string(brief.status));
	rpc_set_strf(env, stored, "statusTime", "%llu", (unsigned long long)brief.status_time_ms);
	xmlrpc_value *payload = rpc_struct_new(env);
	rpc_set_int(env, payload, "migrationPort", 0);
	rpc_set_take(env, payload, "params", stored);
	return payload;
}
