/* Argument helpers for the verb handlers (every handler takes its parameters with
 * these). */
#ifndef VD_VERBS_ARGS_H
#define VD_VERBS_ARGS_H

#include "../api.h"
#include "../util/macros.h"

/* All set err (code 16 unless noted, message naming the parameter) and return -1 on a
 * bad argument; 0 on success. Optional arguments beyond nparams take the default. */
xmlrpc_value *vd_arg(const struct vd_call *c, int idx);
int vd_arg_string(const struct vd_call *c, int idx, const char *name, char **ret,
		  struct vd_error *err) _wur_;
/* A UUID, normalised to lower case into ret; a malformed one sets code with the
 * code's default message and the value ("Virtual machine does not exist: 'x'"). */
int vd_arg_uuid(const struct vd_call *c, int idx, const char *name, char ret[37], int code,
		struct vd_error *err) _wur_;
int vd_arg_struct(const struct vd_call *c, int idx, const char *name, xmlrpc_value **ret,
		  struct vd_error *err) _wur_;
int vd_arg_array(const struct vd_call *c, int idx, const char *name, xmlrpc_value **ret,
		 struct vd_error *err) _wur_;
/* An array of min..max strings, each shorter than maxlen bytes (0: no limit), as a
 * NULL-terminated vector in *ret (vd_strv_free) of *ret_n entries; anything else is
 * code 1000 naming the parameter or the entry ("Invalid parameter: 'guids[2]' …"). */
int vd_arg_strings(const struct vd_call *c, int idx, const char *name, int min, int max,
		   size_t maxlen, char ***ret, size_t *ret_n, struct vd_error *err) _wur_;
void vd_strv_free(char **v);

#endif
