/* convergenceSchedule from the wire (API.md §5.3; the shape VDSM 4.x and the manager's
 * migration policies use): validated whole before the migration starts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mig_params.h"
#include "../../rpc/xmlrpc.h"

#define MAX_DOWNTIME_MS (3600 * 1000)

static int bad(struct vd_error *err, const char *where, const char *what)
{
	return vd_error_set(err, VD_ERR_MIGRATEERR,
			    "Fatal error during migration: convergenceSchedule %s: %s", where, what);
}

/* The length of an array, -1 when v is not one. */
static int array_len(xmlrpc_value *v)
{
	xmlrpc_env env;

	if (!v || xmlrpc_value_type(v) != XMLRPC_TYPE_ARRAY)
		return -1;
	xmlrpc_env_init(&env);
	int n = xmlrpc_array_size(&env, v);
	if (env.fault_occurred)
		n = -1;
	xmlrpc_env_clean(&env);
	return n;
}

/* Item i of an array: a new reference (caller DECREFs), NULL on error. */
static xmlrpc_value *array_item(xmlrpc_value *v, int i)
{
	xmlrpc_env env;
	xmlrpc_value *item = NULL;

	xmlrpc_env_init(&env);
	xmlrpc_array_read_item(&env, v, (unsigned)i, &item);
	if (env.fault_occurred)
		item = NULL;
	xmlrpc_env_clean(&env);
	return item;
}

static int parse_action(xmlrpc_value *v, const char *where, struct migration_conv_action *ret,
			struct vd_error *err)
{
	if (!v || xmlrpc_value_type(v) != XMLRPC_TYPE_STRUCT)
		return bad(err, where, "an action is a struct {name, params}");
	xmlrpc_value *name_v = rpc_struct_get(v, "name");
	if (!name_v || xmlrpc_value_type(name_v) != XMLRPC_TYPE_STRING)
		return bad(err, where, "the action's name is missing or not a string");
	char *name = rpc_to_string(name_v);
	if (!name)
		return bad(err, where, "the action's name is not a string");
	xmlrpc_value *params = rpc_struct_get(v, "params");
	int n = params ? array_len(params) : 0;
	int r = 0;
	if (n < 0) {
		r = bad(err, where, "the action's params is not an array");
	} else if (strcmp(name, "setDowntime") == 0) {
		long long ms = 0;
		xmlrpc_value *p0 = n == 1 ? array_item(params, 0) : NULL;
		int c = p0 ? rpc_to_ll(p0, &ms) : RPC_BADTYPE;
		if (p0)
			xmlrpc_DECREF(p0);
		if (n != 1 || c != RPC_OK || ms < 1 || ms > MAX_DOWNTIME_MS)
			r = bad(err, where, "setDowntime takes one parameter, the downtime in ms (1..3600000)");
		else
			*ret = (struct migration_conv_action){ .kind = MIGRATION_CONV_SET_DOWNTIME,
								.downtime_ms = (int)ms };
	} else if (strcmp(name, "abort") == 0) {
		if (n != 0)
			r = bad(err, where, "abort takes no parameters");
		else
			*ret = (struct migration_conv_action){ .kind = MIGRATION_CONV_ABORT };
	} else if (strcmp(name, "postcopy") == 0) {
		r = bad(err, where, "the postcopy action is not supported");
	} else {
		char what[96];
		snprintf(what, sizeof(what), "unknown action '%.32s'", name);
		for (char *p = what; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = '?';
		r = bad(err, where, what);
	}
	free(name);
	return r;
}

int mig_params_conv_schedule(xmlrpc_value *v, struct migration_conv_schedule *ret,
			     struct vd_error *err)
{
	struct migration_conv_schedule s = { .set = true };
	char where[32];

	if (!v || xmlrpc_value_type(v) != XMLRPC_TYPE_STRUCT)
		return bad(err, "", "not a struct {init, stalling}");
	xmlrpc_value *init = rpc_struct_get(v, "init"), *stalling = rpc_struct_get(v, "stalling");
	int ni = array_len(init), ns = array_len(stalling);
	if (ni < 0)
		return bad(err, "init", "missing or not an array");
	if (ns < 0)
		return bad(err, "stalling", "missing or not an array");
	if (ni > MIGRATION_CONV_MAX || ns > MIGRATION_CONV_MAX)
		return bad(err, ni > MIGRATION_CONV_MAX ? "init" : "stalling",
			   "more than 32 actions");
	for (int i = 0; i < ni; i++) {
		snprintf(where, sizeof(where), "init[%d]", i);
		xmlrpc_value *a = array_item(init, i);
		int r = parse_action(a, where, &s.init[i], err);
		if (a)
			xmlrpc_DECREF(a);
		if (r < 0)
			return -1;
	}
	s.n_init = ni;
	for (int i = 0; i < ns; i++) {
		snprintf(where, sizeof(where), "stalling[%d]", i);
		xmlrpc_value *st = array_item(stalling, i);
		int r = 0;
		long long limit = 0;
		if (!st || xmlrpc_value_type(st) != XMLRPC_TYPE_STRUCT)
			r = bad(err, where, "not a struct {limit, action}");
		else if (!rpc_struct_get(st, "limit") ||
			 rpc_to_ll(rpc_struct_get(st, "limit"), &limit) != RPC_OK || limit < -1 ||
			 limit > 1000000)
			r = bad(err, where, "limit is missing or not an integer in -1..1000000");
		else
			r = parse_action(rpc_struct_get(st, "action"), where, &s.stalling[i].action, err);
		s.stalling[i].limit = (int)limit;
		if (st)
			xmlrpc_DECREF(st);
		if (r < 0)
			return -1;
	}
	s.n_stalling = ns;
	*ret = s;
	return 0;
}
