/* Storage connection verbs (API.md §5.5): connectStorageServer (NFS, POSIXFS, LOCALFS,
 * iSCSI, FCP),
 * disconnectStorageServer, validateStorageServerConnection.
 *
 * The adapter turns each conList entry into key/value strings and lets storage/ parse
 * and validate it. A conList that is not an array of structs, or an entry without a
 * UUID id, makes the whole call fail with 451 before anything runs (the statuslist
 * needs the ids). Any other problem of one entry becomes that entry's status; the
 * other entries are connected anyway, each in its own thread so that a dead server
 * costs the call one mount timeout, not one per connection. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verbs.h"
#include "../util/log.h"
#include "../util/macros.h"
#include "../util/util.h"
#include "../../storage/fc.h"
#include "../../storage/stg.h"

#define CONLIST_MAX 64
#define MEMBERS_MAX 32

struct entry {
	struct stg_conn conn;
	bool valid;                 /* parsed; run the operation */
	bool disconnect;
	struct vd_error err;        /* the entry's outcome (code 0 = success) */
	pthread_t thread;
	bool thread_started;
};

/* Copies the members of one conList struct into kv (strings owned by the caller's
 * arrays). Returns the number of members, or -1 with err set. */
static int entry_members(xmlrpc_value *st, int idx, struct stg_kv *kv, char **keys,
			 char **vals, struct vd_error *err)
{
	xmlrpc_env env;
	int n, r = 0;

	if (xmlrpc_value_type(st) != XMLRPC_TYPE_STRUCT)
		return vd_error_set(err, VD_ERR_STORAGE_SERVER_CONNECTION,
				    "%s: conList[%d] is not a struct",
				    vd_code_message(VD_ERR_STORAGE_SERVER_CONNECTION), idx);
	xmlrpc_env_init(&env);
	n = xmlrpc_struct_size(&env, st);
	if (env.fault_occurred || n > MEMBERS_MAX) {
		xmlrpc_env_clean(&env);
		return vd_error_set(err, VD_ERR_STORAGE_SERVER_CONNECTION,
				    "%s: conList[%d] has more than %d members",
				    vd_code_message(VD_ERR_STORAGE_SERVER_CONNECTION), idx,
				    MEMBERS_MAX);
	}
	for (int i = 0; i < n; i++) {
		xmlrpc_value *k = NULL, *v = NULL;
		const char *key = NULL;

		xmlrpc_struct_read_member(&env, st, (unsigned)i, &k, &v);
		if (!env.fault_occurred)
			xmlrpc_read_string(&env, k, &key);
		if (!env.fault_occurred) {
			keys[i] = (char *)key;
			key = NULL;
			/* Members of other types (structs, arrays) become NULL: a key we use
			 * with such a value is then refused as a missing/empty member. */
			vals[i] = rpc_to_string(v);
			kv[i].key = keys[i];
			kv[i].value = vals[i];
		}
		free((char *)key);
		if (k)
			xmlrpc_DECREF(k);
		if (v)
			xmlrpc_DECREF(v);
		if (env.fault_occurred) {
			r = vd_error_set(err, VD_ERR_STORAGE_SERVER_CONNECTION,
					 "%s: conList[%d] unreadable",
					 vd_code_message(VD_ERR_STORAGE_SERVER_CONNECTION), idx);
			break;
		}
	}
	xmlrpc_env_clean(&env);
	return r < 0 ? r : n;
}

static void *entry_run(void *arg)
{
	struct entry *e = arg;

	/* The outcome is in e->err (statuslist); nothing else to do with the return. */
	int r = e->disconnect ? stg_disconnect(&e->conn, &e->err) : stg_connect(&e->conn, &e->err);

	(void)r;
	return NULL;
}

/* Frees an entries array, CHAP secrets wiped first. */
static void entries_free(struct entry *entries, int n)
{
	for (int i = 0; entries && i < n; i++)
		explicit_bzero(entries[i].conn.password, sizeof(entries[i].conn.password));
	free(entries);
}

/* Parses params (domType, spUUID, conList) into a malloc'ed entries array. */
static struct entry *parse_call(struct vd_call *c, bool disconnect, int *ret_type, int *ret_n,
				struct vd_error *err)
{
	int code = disconnect ? VD_ERR_STORAGE_SERVER_DISCONNECTION
			      : VD_ERR_STORAGE_SERVER_CONNECTION;
	xmlrpc_value *list = NULL;
	struct entry *entries = NULL;
	long long type;
	xmlrpc_env env;
	int n;

	if (rpc_to_ll(vd_arg(c, 0), &type) != RPC_OK || !stg_type_to_string((int)type)) {
		_cleanup_free_ char *s = rpc_to_string(vd_arg(c, 0));
		vd_error_set(err, VD_ERR_STORAGE_TYPE, "%s: domType '%.32s'",
			     vd_code_message(VD_ERR_STORAGE_TYPE), s ? s : "?");
		return NULL;
	}
	if (!stg_type_supported((int)type)) {
		vd_error_set(err, VD_ERR_STORAGE_TYPE, "%s: domType %lld (%s) is not supported by this host",
			     vd_code_message(VD_ERR_STORAGE_TYPE), type, stg_type_to_string((int)type));
		return NULL;
	}
	if (vd_arg_array(c, 2, "conList", &list, err) < 0)
		return NULL;
	xmlrpc_env_init(&env);
	n = xmlrpc_array_size(&env, list);
	xmlrpc_env_clean(&env);
	if (n < 0 || n > CONLIST_MAX) {
		vd_error_set(err, code, "%s: conList has more than %d entries", vd_code_message(code),
			     CONLIST_MAX);
		return NULL;
	}
	entries = calloc((size_t)n + 1, sizeof(*entries));
	if (!entries) {
		vd_error_set(err, code, "out of memory");
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		struct stg_kv kv[MEMBERS_MAX] = { { 0 } };
		char *keys[MEMBERS_MAX] = { 0 }, *vals[MEMBERS_MAX] = { 0 };
		xmlrpc_value *st = NULL;
		struct entry *e = &entries[i];
		int m;

		xmlrpc_env_init(&env);
		xmlrpc_array_read_item(&env, list, i, &st);
		xmlrpc_env_clean(&env);
		m = st ? entry_members(st, i, kv, keys, vals, err) : -1;
		if (st)
			xmlrpc_DECREF(st);
		if (m >= 0) {
			e->disconnect = disconnect;
			if (stg_conn_parse((int)type, kv, (size_t)m, &e->conn, &e->err) == 0)
				e->valid = true;
			else if (!e->conn.id[0])
				/* no usable id: the call's parameters are unusable */
				vd_error_set(err, code, "conList[%d]: %s", i, e->err.msg);
		}
		for (int j = 0; j < MEMBERS_MAX; j++) {
			free(keys[j]);
			free(vals[j]);
		}
		if (m < 0 || vd_error_is_set(err)) {
			vd_error_set(err, code, "%s: conList[%d] unusable", vd_code_message(code), i);
			entries_free(entries, i + 1);
			return NULL;
		}
	}
	*ret_type = (int)type;
	*ret_n = n;
	return entries;
}

/* "NFS id1,id2,..." for the audit line (ids only: connections may carry credentials). */
static void audit_obj(struct vd_call *c, int type, const struct entry *e, int n)
{
	size_t o = (size_t)snprintf(c->audit_obj, sizeof(c->audit_obj), "%s",
				    stg_type_to_string(type));
	for (int i = 0; i < n && o < sizeof(c->audit_obj); i++) {
		size_t left = sizeof(c->audit_obj) - o;
		int w = snprintf(c->audit_obj + o, left, "%s%s", i ? "," : " ", e[i].conn.id);
		if (w < 0 || (size_t)w >= left) {
			snprintf(c->audit_obj + o, left, "...+%d", n - i);
			break;
		}
		o += (size_t)w;
	}
}

/* After a connect of block storage, once per call (as VDSM): FCP rescans every FC
 * HBA (bounded by irs.scsi_rescan_maximal_timeout; HBAs still scanning are left to
 * finish); iSCSI rescans the sessions for LUNs added since their login. Neither
 * changes an entry's status: the connection itself is made; a failed rescan is
 * logged, and getDeviceList shows what the host sees. */
static void rescan(int type, const struct entry *entries, int n)
{
	bool any = false;
	for (int i = 0; i < n && !any; i++)
		any = entries[i].valid && !entries[i].err.code;
	if (!any)
		return;
	if (type == STG_TYPE_FCP) {
		struct stg_fc_scan s;
		int r = stg_fc_connect(&s);
		if (r < 0)
			log_warning("storage: FC rescan: %s", strerror(-r));
		else
			log_info("storage: FC rescan: %zu HBA(s), %zu done, %zu failed, %zu still scanning",
				 s.hosts, s.done, s.failed, s.hosts - s.done - s.failed);
	} else if (type == STG_TYPE_ISCSI) {
		struct vd_error e = { 0 };
		if (stg_iscsi_rescan(&e) < 0)
			log_warning("storage: %s", e.msg);
	}
}

static xmlrpc_value *run_conlist(struct vd_call *c, xmlrpc_env *env, struct vd_error *err,
				 bool disconnect)
{
	const char *what = disconnect ? "disconnect" : "connect";
	struct entry *entries;
	xmlrpc_value *payload, *list;
	int type = 0, n = 0;

	entries = parse_call(c, disconnect, &type, &n, err);
	if (!entries)
		return NULL;
	audit_obj(c, type, entries, n);
	for (int i = 0; i < n; i++) {
		struct entry *e = &entries[i];
		if (!e->valid)
			continue;
		if (n > 1 && pthread_create(&e->thread, NULL, entry_run, e) == 0)
			e->thread_started = true;
		else
			entry_run(e);
	}
	for (int i = 0; i < n; i++)
		if (entries[i].thread_started)
			pthread_join(entries[i].thread, NULL);
	if (!disconnect)
		rescan(type, entries, n);

	payload = rpc_struct_new(env);
	list = rpc_array_new(env);
	for (int i = 0; i < n; i++) {
		struct entry *e = &entries[i];
		xmlrpc_value *st = rpc_struct_new(env);

		/* One line per connection with its outcome: never the struct itself
		 * (iSCSI entries carry a password). */
		if (e->err.code)
			log_warning("storage: %s %s id=%s connection='%s': %d %s", what,
				    stg_type_to_string(type), e->conn.id, e->conn.connection,
				    e->err.code, e->err.msg);
		else
			log_notice("storage: %s %s id=%s connection='%s': done", what,
				   stg_type_to_string(type), e->conn.id, e->conn.connection);
		rpc_set_str(env, st, "id", e->conn.id);
		rpc_set_int(env, st, "status", e->err.code);
		rpc_append_take(env, list, st);
	}
	rpc_set_take(env, payload, "statuslist", list);
	entries_free(entries, n);
	return payload;
}

xmlrpc_value *verb_connect_storage_server(struct vd_call *c, xmlrpc_env *env,
					  struct vd_error *err)
{
	return run_conlist(c, env, err, false);
}

xmlrpc_value *verb_disconnect_storage_server(struct vd_call *c, xmlrpc_env *env,
					     struct vd_error *err)
{
	return run_conlist(c, env, err, true);
}

/* discoverSendTargets(con) (API.md §5.5): targets = the distinct IQNs, fullTargets =
 * "<host>:<port>,<tpgt> <iqn>" per portal, as the engine parses it. */
xmlrpc_value *verb_discover_send_targets(struct vd_call *c, xmlrpc_env *env,
					 struct vd_error *err)
{
	struct stg_kv kv[MEMBERS_MAX] = { { 0 } };
	char *keys[MEMBERS_MAX] = { 0 }, *vals[MEMBERS_MAX] = { 0 };
	xmlrpc_value *con = NULL, *payload = NULL, *targets, *full;
	struct stg_target *t = NULL;
	struct stg_portal portal;
	size_t n = 0;
	int m;

	if (vd_arg_struct(c, 0, "con", &con, err) < 0)
		return NULL;
	m = entry_members(con, 0, kv, keys, vals, err);
	if (m >= 0 && stg_iscsi_portal_parse(kv, (size_t)m, &portal, err) == 0) {
		snprintf(c->audit_obj, sizeof(c->audit_obj), "%.100s:%d", portal.host, portal.port);
		if (stg_iscsi_discover(&portal, &t, &n, err) == 0) {
			payload = rpc_struct_new(env);
			targets = rpc_array_new(env);
			full = rpc_array_new(env);
			for (size_t i = 0; i < n; i++) {
				bool seen = false;
				for (size_t j = 0; j < i && !seen; j++)
					seen = strcmp(t[j].iqn, t[i].iqn) == 0;
				if (!seen)
					rpc_append_str(env, targets, t[i].iqn);
				char line[sizeof(t[i].portal) + sizeof(t[i].iqn) + 2];
				snprintf(line, sizeof(line), "%s %s", t[i].portal, t[i].iqn);
				rpc_append_str(env, full, line);
			}
			rpc_set_take(env, payload, "targets", targets);
			rpc_set_take(env, payload, "fullTargets", full);
			log_info("storage: sendtargets discovery on %s:%d: %zu portal(s)", portal.host,
				 portal.port, n);
		}
	}
	if (vd_error_is_set(err))
		log_warning("storage: discoverSendTargets: %d %s", err->code, err->msg);
	for (int j = 0; j < MEMBERS_MAX; j++) {
		free(keys[j]);
		free(vals[j]);
	}
	free(t);
	return payload;
}

/* A no-op since VDSM ~3.3 (API.md §5.5, §8): status 0 for every entry with an id. */
xmlrpc_value *verb_validate_storage_server_connection(struct vd_call *c, xmlrpc_env *env,
						      struct vd_error *err)
{
	xmlrpc_value *list = NULL, *payload, *out;
	xmlrpc_env e;
	int n;

	if (vd_arg_array(c, 2, "conList", &list, err) < 0)
		return NULL;
	xmlrpc_env_init(&e);
	n = xmlrpc_array_size(&e, list);
	xmlrpc_env_clean(&e);
	if (n < 0 || n > CONLIST_MAX) {
		vd_error_set(err, VD_ERR_STORAGE_SERVER_CONNECTION,
			     "%s: conList has more than %d entries",
			     vd_code_message(VD_ERR_STORAGE_SERVER_CONNECTION), CONLIST_MAX);
		return NULL;
	}
	payload = rpc_struct_new(env);
	out = rpc_array_new(env);
	for (int i = 0; i < n; i++) {
		xmlrpc_value *item = NULL, *st;
		_cleanup_free_ char *raw = NULL;
		char id[37] = "";

		xmlrpc_env_init(&e);
		xmlrpc_array_read_item(&e, list, i, &item);
		xmlrpc_env_clean(&e);
		raw = item ? rpc_to_string(rpc_struct_get(item, "id")) : NULL;
		if (item)
			xmlrpc_DECREF(item);
		if (!raw || util_uuid_normalize(raw, id) < 0)
			continue;
		st = rpc_struct_new(env);
		rpc_set_str(env, st, "id", id);
		rpc_set_int(env, st, "status", 0);
		rpc_append_take(env, out, st);
	}
	rpc_set_take(env, payload, "statuslist", out);
	return payload;
}
