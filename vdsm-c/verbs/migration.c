/* Migration verbs (API.md §5.3): migrationCreate (destination side, called by the
 * source agent), migrate / migrateStatus / migrateCancel (source side), and the source
 * agent's calls to the destination agent over mTLS (rpc/client). Conversion only:
 * vdsm-c/migration does the work. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mig_params.h"
#include "verbs.h"
#include "vm_params.h"
#include "../migration/migration.h"
#include "../util/log.h"
#include "../util/util.h"
#include "../../rpc/client.h"

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

/* ---- source side: migrate, migrateStatus, migrateCancel ---- */

/* A bool parameter as the engine sends it: "true"/"false" strings or booleans. */
static int opt_bool(xmlrpc_value *p, const char *key, bool *ret, struct vd_error *err)
{
	xmlrpc_value *v = rpc_struct_get(p, key);
	*ret = false;
	if (v && rpc_to_bool(v, ret) == RPC_BADTYPE)
		return vd_error_set(err, VD_ERR_MIGRATEERR,
				    "Fatal error during migration: '%s' is not a boolean", key);
	return 0;
}

static int opt_int(xmlrpc_value *p, const char *key, int lo, int hi, int *ret,
		   struct vd_error *err)
{
	xmlrpc_value *v = rpc_struct_get(p, key);
	long long ll = 0;
	*ret = 0;
	if (!v)
		return 0;
	int r = rpc_to_ll(v, &ll);
	if (r == RPC_ABSENT)
		return 0;
	if (r != RPC_OK || ll < lo || ll > hi)
		return vd_error_set(err, VD_ERR_MIGRATEERR,
				    "Fatal error during migration: '%s' is not an integer in %d..%d", key,
				    lo, hi);
	*ret = (int)ll;
	return 0;
}

static int parse_dst(const char *s, struct migration_request *r, struct vd_error *err)
{
	return migration_parse_dst(s, r->dst_host, sizeof(r->dst_host), &r->dst_port, err);
}

xmlrpc_value *verb_migrate(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	xmlrpc_value *p = NULL;
	struct migration_request r = { 0 };

	(void)env;
	if (!vm_is_recovered()) {
		vd_error_set(err, VD_ERR_RECOVERY, NULL);
		return NULL;
	}
	if (vd_arg_struct(c, 0, "params", &p, err) < 0)
		return NULL;
	_cleanup_free_ char *id = rpc_to_string(rpc_struct_get(p, "vmId"));
	snprintf(c->audit_obj, sizeof(c->audit_obj), "%.64s", id ? id : "");
	if (!id || util_uuid_normalize(id, r.vm_id) < 0) {
		vd_error_set(err, VD_ERR_NOVM, "Virtual machine does not exist: '%.64s'",
			     id ? id : "");
		return NULL;
	}
	_cleanup_free_ char *dst = rpc_to_string(rpc_struct_get(p, "dst"));
	if (!dst || !*dst) {
		vd_error_set(err, VD_ERR_MISSPARAM, "Missing required parameter: dst");
		return NULL;
	}
	if (parse_dst(dst, &r, err) < 0)
		return NULL;
	_cleanup_free_ char *dq = rpc_to_string(rpc_struct_get(p, "dstqemu"));
	if (dq && *dq) {
		struct in6_addr a;
		if (strlen(dq) >= sizeof(r.dst_qemu) || (inet_pton(AF_INET, dq, &a) != 1 &&
							 inet_pton(AF_INET6, dq, &a) != 1)) {
			vd_error_set(err, VD_ERR_MIGRATEERR,
				     "Fatal error during migration: dstqemu '%.64s' is not an IP address", dq);
			return NULL;
		}
		snprintf(r.dst_qemu, sizeof(r.dst_qemu), "%s", dq);
	}
	bool tunneled;
	if (opt_bool(p, "tunneled", &tunneled, err) < 0 ||
	    opt_bool(p, "compressed", &r.compressed, err) < 0 ||
	    opt_bool(p, "autoConverge", &r.auto_converge, err) < 0 ||
	    opt_bool(p, "abortOnError", &r.abort_on_error, err) < 0 ||
	    opt_int(p, "downtime", 1, 3600 * 1000, &r.downtime, err) < 0 ||
	    opt_int(p, "maxBandwidth", 1, 1 << 20, &r.bandwidth, err) < 0)
		return NULL;
	xmlrpc_value *conv = rpc_struct_get(p, "convergenceSchedule");
	if (conv && mig_params_conv_schedule(conv, &r.conv, err) < 0)
		return NULL;
	if (tunneled) {
		vd_error_set(err, VD_ERR_MIGRATEERR,
			     "Fatal error during migration: tunneled migration is not supported");
		return NULL;
	}
	_cleanup_free_ char *mode = rpc_to_string(rpc_struct_get(p, "mode"));
	if (mode && *mode && strcmp(mode, "remote") != 0) {
		vd_error_set(err, VD_ERR_MIGRATEERR,
			     "Fatal error during migration: mode '%.16s' is not supported", mode);
		return NULL;
	}
	snprintf(c->audit_obj, sizeof(c->audit_obj), "%s dst=%.64s:%d", r.vm_id, r.dst_host,
		 r.dst_port);
	if (migration_migrate(&r, err) < 0)
		return NULL;
	c->ok_message = "Migration in progress";
	return NULL;
}

xmlrpc_value *verb_migrate_status(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	struct migration_status st;
	char id[37];

	if (vd_arg_uuid(c, 0, "vmId", id, VD_ERR_NOVM, err) < 0)
		return NULL;
	if (migration_status(id, &st, err) < 0)
		return NULL;
	xmlrpc_value *s = rpc_struct_new(env);
	xmlrpc_value *status = rpc_struct_new(env);
	rpc_set_int(env, status, "code", st.code);
	rpc_set_str(env, status, "message", st.message);
	rpc_set_take(env, s, "status", status);
	rpc_set_int(env, s, "progress", st.progress);
	rpc_set_i64(env, s, "dataRemaining", st.data_remaining);
	rpc_set_i64(env, s, "dataTotal", st.data_total);
	rpc_set_i64(env, s, "rate", st.rate);
	xmlrpc_value *payload = rpc_struct_new(env);
	rpc_set_take(env, payload, "migrationStats", s);
	return payload;
}

xmlrpc_value *verb_migrate_cancel(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	char id[37];

	(void)env;
	if (vd_arg_uuid(c, 0, "vmId", id, VD_ERR_NOVM, err) < 0)
		return NULL;
	snprintf(c->audit_obj, sizeof(c->audit_obj), "%s", id);
	if (migration_cancel(id, err) < 0)
		return NULL;
	c->ok_message = "Migration process cancelled";
	return NULL;
}

/* ---- the source agent's calls to the destination agent (rpc/client, mTLS) ---- */

static struct rpc_client *peer_client(const struct migration_peer *p)
{
	const struct rpc_client_opts o = {
		.host = p->host, .port = p->port, .plain = !p->tls, .cert_file = p->cert_file,
		.key_file = p->key_file, .ca_file = p->ca_file, .verify_host = false,
		.timeout = p->timeout, .connect_timeout = p->timeout < 10 ? p->timeout : 10,
	};
	return rpc_client_new(&o);
}

/* Calls method(params) on the peer; 0 with the reply's status code/message in err
 * when it is not 0. */
static int peer_call(const struct migration_peer *p, const char *method, xmlrpc_value *params,
		     struct vd_error *err)
{
	struct rpc_client *cl = peer_client(p);
	xmlrpc_value *reply = NULL;
	struct vd_error cerr = { 0 };   /* the client's, worded again for the manager */
	int fcode = 0;

	if (!cl)
		return vd_error_set(err, VD_ERR_NOCONPEER, "Could not connect to peer VDS: %s:%d",
				    p->host, p->port);
	int r = rpc_client_call(cl, method, params, NULL, &reply, &fcode, &cerr);
	rpc_client_free(cl);
	if (r == RPC_CALL_TRANSPORT)
		return vd_error_set(err, VD_ERR_NOCONPEER, "Could not connect to peer VDS %s:%d: %s",
				    p->host, p->port, cerr.msg);
	if (r == RPC_CALL_FAULT)
		return vd_error_set(err, VD_ERR_MIGRATEERR,
				    "Fatal error during migration: %s on %s:%d: fault %d: %s", method,
				    p->host, p->port, fcode, cerr.msg);
	xmlrpc_value *st = rpc_struct_get(reply, "status");
	long long code = -1;
	_cleanup_free_ char *msg = rpc_to_string(rpc_struct_get(st, "message"));
	if (!st || rpc_to_ll(rpc_struct_get(st, "code"), &code) != RPC_OK)
		r = vd_error_set(err, VD_ERR_MIGRATEERR,
				 "Fatal error during migration: %s on %s:%d: reply without a status",
				 method, p->host, p->port);
	else if (code != 0)
		r = vd_error_set(err, (int)code, "%s (destination %s:%d)", msg ? msg : "", p->host,
				 p->port);
	xmlrpc_DECREF(reply);
	return r;
}

int verbs_migration_dest_create(const struct migration_peer *p, const char *vm_id,
				const char *conf_blob, struct vd_error *err)
{
	xmlrpc_env env;
	xmlrpc_env_init(&env);
	xmlrpc_value *conf = conf_blob ? vm_conf_from_blob(&env, conf_blob) : NULL;
	if (!conf) {
		xmlrpc_env_clean(&env);
		return vd_error_set(err, VD_ERR_MIGRATEERR,
				    "Fatal error during migration: VM '%s' has no stored conf", vm_id);
	}
	rpc_set_str(&env, conf, "migrationDest", "libvirt");
	xmlrpc_value *params = rpc_array_new(&env);
	rpc_append_take(&env, params, conf);
	if (p->incoming_limit > 0)
		rpc_append_int(&env, params, p->incoming_limit);
	int r;
	if (env.fault_occurred)
		r = vd_error_set(err, VD_ERR_MIGRATEERR, "Fatal error during migration: %s",
				 env.fault_string);
	else
		r = peer_call(p, "migrationCreate", params, err);
	xmlrpc_DECREF(params);
	xmlrpc_env_clean(&env);
	return r;
}

void verbs_migration_dest_destroy(const struct migration_peer *p, const char *vm_id)
{
	xmlrpc_env env;
	struct vd_error err = { 0 };

	xmlrpc_env_init(&env);
	xmlrpc_value *params = rpc_array_new(&env);
	rpc_append_str(&env, params, vm_id);
	if (!env.fault_occurred && peer_call(p, "destroy", params, &err) < 0 && err.code != 1)
		log_warning("VM %s: destroy on the destination %s:%d failed: %s", vm_id, p->host,
			    p->port, err.msg);
	xmlrpc_DECREF(params);
	xmlrpc_env_clean(&env);
}

int verbs_migration_dest_ping(const struct migration_peer *p)
{
	xmlrpc_env env;
	struct vd_error err = { 0 };

	xmlrpc_env_init(&env);
	xmlrpc_value *params = rpc_array_new(&env);
	int r = env.fault_occurred ? -1 : peer_call(p, "ping", params, &err);
	/* any reply shows the agent alive (99 while it recovers, say); only a transport
	 * failure or a timeout is "not answering" */
	if (r < 0 && err.code != VD_ERR_NOCONPEER)
		r = 0;
	if (r < 0)
		log_info("destination agent %s:%d: ping: %s", p->host, p->port, err.msg);
	if (params)
		xmlrpc_DECREF(params);
	xmlrpc_env_clean(&env);
	return r < 0 ? -1 : 0;
}
