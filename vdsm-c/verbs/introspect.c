/* system.listMethods / methodHelp / methodSignature, answered from the verb table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verbs.h"

xmlrpc_value *verb_list_methods(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	unsigned n = c->n_verbs;
	const struct vd_verb *t = c->verbs;
	xmlrpc_value *arr = rpc_array_new(env);

	(void)err;
	for (unsigned i = 0; i < n; i++)
		rpc_append_str(env, arr, t[i].name);
	/* Introspection answers like Python's server: the bare value, no envelope. The
	 * dispatcher wraps payload structs, so return it under a key the CLI unwraps. */
	xmlrpc_value *payload = rpc_struct_new(env);
	rpc_set_take(env, payload, "methods", arr);
	return payload;
}

static const struct vd_verb *verb_arg(struct vd_call *c, struct vd_error *err)
{
	char *name = NULL;
	const struct vd_verb *v;

	if (vd_arg_string(c, 0, "methodName", &name, err) < 0)
		return NULL;
	/* from the call's table: handlers do not call back into the dispatcher */
	v = NULL;
	for (unsigned i = 0; i < c->n_verbs && !v; i++)
		if (strcmp(c->verbs[i].name, name) == 0)
			v = &c->verbs[i];
	if (!v)
		vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: no method '%.100s'",
			     name);
	free(name);
	return v;
}

xmlrpc_value *verb_method_help(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	const struct vd_verb *v = verb_arg(c, err);
	xmlrpc_value *payload;

	if (!v)
		return NULL;
	payload = rpc_struct_new(env);
	rpc_set_strf(env, payload, "help", "%s(%s)\n%s", v->name, v->args, v->help);
	rpc_set_str(env, payload, "args", v->args);
	return payload;
}

xmlrpc_value *verb_method_signature(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	const struct vd_verb *v = verb_arg(c, err);
	xmlrpc_value *sigs, *payload;

	if (!v)
		return NULL;
	/* One signature per accepted arity: return type then untyped params. */
	sigs = rpc_array_new(env);
	for (int n = v->min_args; n <= v->max_args; n++) {
		xmlrpc_value *sig = rpc_array_new(env);
		rpc_append_str(env, sig, "struct");
		for (int i = 0; i < n; i++)
			rpc_append_str(env, sig, "undef");
		rpc_append_take(env, sigs, sig);
	}
	payload = rpc_struct_new(env);
	rpc_set_take(env, payload, "signatures", sigs);
	return payload;
}
