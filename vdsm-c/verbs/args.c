/* Argument helpers of the verb handlers: the call's positional parameters, checked. */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "../util/macros.h"
#include "../util/util.h"

xmlrpc_value *vd_arg(const struct vd_call *c, int idx)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;

	if (idx >= c->nparams)
		return NULL;
	xmlrpc_env_init(&env);
	xmlrpc_array_read_item(&env, c->params, idx, &v);
	xmlrpc_env_clean(&env);
	if (v)
		xmlrpc_DECREF(v); /* borrowed: the params array holds it */
	return v;
}

int vd_arg_string(const struct vd_call *c, int idx, const char *name, char **ret,
		  struct vd_error *err)
{
	xmlrpc_value *v = vd_arg(c, idx);
	char *s = v ? rpc_to_string(v) : NULL;

	if (!s)
		return vd_error_set(err, VD_ERR_UNEXPECTED,
				    "Unexpected exception: parameter '%s' of %s must be a string",
				    name, c->verb);
	*ret = s;
	return 0;
}

int vd_arg_uuid(const struct vd_call *c, int idx, const char *name, char ret[37], int code,
		struct vd_error *err)
{
	_cleanup_free_ char *s = NULL;

	if (vd_arg_string(c, idx, name, &s, err) < 0)
		return -1;
	if (util_uuid_normalize(s, ret) >= 0)
		return 0;
	if (code == VD_ERR_INVALID_PARAMETER)   /* VDSM's form: 'name=value' (API.md §4) */
		return vd_error_set(err, code, "Invalid parameter: '%s=%.64s'", name, s);
	return vd_error_set(err, code, "%s: '%.64s'",
			    vd_code_message(code) ? vd_code_message(code) : "Error", s);
}

static int arg_of_type(const struct vd_call *c, int idx, const char *name, xmlrpc_type t,
		       const char *what, xmlrpc_value **ret, struct vd_error *err)
{
	xmlrpc_value *v = vd_arg(c, idx);

	if (!v || xmlrpc_value_type(v) != t)
		return vd_error_set(err, VD_ERR_UNEXPECTED,
				    "Unexpected exception: parameter '%s' of %s must be %s", name,
				    c->verb, what);
	*ret = v;
	return 0;
}

int vd_arg_struct(const struct vd_call *c, int idx, const char *name, xmlrpc_value **ret,
		  struct vd_error *err)
{
	return arg_of_type(c, idx, name, XMLRPC_TYPE_STRUCT, "a struct", ret, err);
}

int vd_arg_array(const struct vd_call *c, int idx, const char *name, xmlrpc_value **ret,
		 struct vd_error *err)
{
	return arg_of_type(c, idx, name, XMLRPC_TYPE_ARRAY, "an array", ret, err);
}

void vd_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

int vd_arg_strings(const struct vd_call *c, int idx, const char *name, int min, int max,
		   size_t maxlen, char ***ret, size_t *ret_n, struct vd_error *err)
{
	xmlrpc_value *list = NULL;
	xmlrpc_env env;
	char **v;

	*ret = NULL;
	*ret_n = 0;
	if (vd_arg_array(c, idx, name, &list, err) < 0)
		return -1;
	xmlrpc_env_init(&env);
	int n = xmlrpc_array_size(&env, list);
	xmlrpc_env_clean(&env);
	if (n < min || n > max)
		return vd_error_set(err, VD_ERR_INVALID_PARAMETER,
				    "Invalid parameter: '%s' has %d entries (%d..%d)", name, n, min, max);
	if (!(v = calloc((size_t)n + 1, sizeof(*v))))
		return vd_error_set(err, VD_ERR_INVALID_PARAMETER, "%s: out of memory", name);
	for (int i = 0; i < n; i++) {
		xmlrpc_value *item = NULL;
		xmlrpc_env_init(&env);
		xmlrpc_array_read_item(&env, list, i, &item);
		xmlrpc_env_clean(&env);
		v[i] = item && xmlrpc_value_type(item) == XMLRPC_TYPE_STRING ? rpc_to_string(item) : NULL;
		if (item)
			xmlrpc_DECREF(item);
		if (!v[i] || (maxlen && strlen(v[i]) >= maxlen)) {
			bool str = v[i] != NULL;
			vd_strv_free(v);
			return vd_error_set(err, VD_ERR_INVALID_PARAMETER,
					    "Invalid parameter: '%s[%d]' %s", name, i,
					    str ? "is too long" : "is not a string");
		}
	}
	*ret = v;
	*ret_n = (size_t)n;
	return 0;
}
