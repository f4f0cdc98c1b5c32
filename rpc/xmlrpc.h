/* XML-RPC codec helpers on top of xmlrpc-c: request prechecks, parsing, VDSM envelope
 * and fault building, serialization to refcounted blobs, tolerant coercion of
 * incoming scalars (API.md §3.1) and value builders that only emit the types the
 * manager accepts (API.md §3.2: never <i8>, <nil> or <dateTime.iso8601>).
 *
 * Builders take a sticky xmlrpc_env: once a fault is set, later calls do nothing, so
 * a handler builds a whole struct and checks env once at the end. */
#ifndef RPC_XMLRPC_H
#define RPC_XMLRPC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <xmlrpc-c/base.h>

#include "../vdsm-c/util/error.h"
#include "../vdsm-c/util/macros.h"

/* XML-RPC fault code VDSM uses for unknown methods and unparsable requests (§1.1). */
#define RPC_FAULT_CODE 1

/* An immutable, refcounted byte buffer (a serialized reply), shareable by threads. */
struct rpc_blob {
	atomic_int ref;
	size_t len;
	char data[];
};

struct rpc_blob *rpc_blob_new(const char *data, size_t len);
struct rpc_blob *rpc_blob_ref(struct rpc_blob *b);
void rpc_blob_unref(struct rpc_blob *b);     /* accepts NULL */

/* Process-global codec limits (xmlrpc-c's are global too). */
void rpc_codec_init(size_t max_body, int max_depth);

/* Rejects what must never reach the parser: '<!' markup other than comments and CDATA
 * (a DOCTYPE can define entities: expansion bomb), element nesting deeper than
 * 4 * max_depth + 8 (parser stack), NUL bytes (UTF-16/32 text, which would hide all
 * of this), and scalar values that rpc_scalar_check() refuses, with the element's text
 * read as the parser reads it (references, CDATA, comments, line ends). Linear in
 * len. Returns 0, or -1 with err set (code VD_ERR_GENERAL). */
int rpc_body_check(const char *body, size_t len, int max_depth, struct vd_error *err) _wur_;

/* Checks the text of one scalar element, type being its name without brackets (int,
 * i4, i1, i2, ex:i1, ex:i2, i8, ex:i8, boolean, double, dateTime.iso8601, base64):
 * refuses exactly what xmlrpc-c 1.33 would refuse, and besides an <i8> it cannot read
 * (it crashes formatting that fault), a <double> that is infinite or NaN (it cannot
 * serialize them) and non-ASCII <base64>. Returns 0 (also for other types) or -1 with
 * err set to "<type> value 'text' is ...". */
int rpc_scalar_check(const char *type, const char *text, struct vd_error *err) _wur_;

#define RPC_METHOD_MAX 128

/* Recognises a parameterless call of the one shape the manager's polls take (optional
 * XML declaration, methodCall, methodName of [A-Za-z0-9_.:], empty or no params) without
 * an XML parser. Returns true and the name, or false: use rpc_parse_call(). */
bool rpc_parse_call_noparams(const char *body, size_t len, char name[RPC_METHOD_MAX + 1]);

/* Checks (rpc_body_check() with xmlrpc-c's nesting limit) and parses a methodCall. On
 * success returns 0, *ret_method (caller frees with free()) and *ret_params (array;
 * caller DECREFs). On failure, err set and -EBADMSG (refused by the check: never
 * parsed) or -EINVAL (xmlrpc-c could not parse it). */
int rpc_parse_call(const char *body, size_t len, char **ret_method, xmlrpc_value **ret_params,
		   struct vd_error *err) _wur_;

/* Serializes value as a methodResponse. NULL on failure (OOM or bad value). */
struct rpc_blob *rpc_serialize_response(xmlrpc_value *value);
/* Serializes a fault with code and message. NULL only on OOM. */
struct rpc_blob *rpc_serialize_fault(int code, const char *message);

/* {status:{code, message}} merged into payload (a struct; may be NULL for a status-only
 * reply). Consumes the caller's reference to payload; returns a new reference. */
xmlrpc_value *rpc_envelope(xmlrpc_env *env, xmlrpc_value *payload, int code, const char *message);

/* rpc_envelope() then rpc_serialize_response(): the whole reply as a blob, or NULL on
 * failure. Consumes the caller's reference to payload (may be NULL). */
struct rpc_blob *rpc_serialize_envelope(xmlrpc_env *env, xmlrpc_value *payload, int code,
					const char *message);

/* ---- Incoming values (tolerant coercion, API.md §3.1) ---- */

enum rpc_coerce {
	RPC_OK = 0,
	RPC_ABSENT = 1,   /* empty string: "not given" for ints, false for bools */
	RPC_BADTYPE = -1,
};

/* int: <i4>/<int>, <i8> within range, or a decimal string; "" → RPC_ABSENT. */
int rpc_to_ll(xmlrpc_value *v, long long *ret) _wur_;
/* bool: <boolean>, or true/false yes/no 1/0 on/off in any case, int 0/1; "" → false. */
int rpc_to_bool(xmlrpc_value *v, bool *ret) _wur_;
/* string: <string>; numbers are formatted. Returns a malloc'ed copy or NULL on bad type. */
char *rpc_to_string(xmlrpc_value *v);
/* double: <double>, <i4>, or decimal string. */
int rpc_to_double(xmlrpc_value *v, double *ret) _wur_;

/* Borrowed member of a struct, NULL when absent or when v is not a struct. */
xmlrpc_value *rpc_struct_get(xmlrpc_value *st, const char *key);

/* ---- Outgoing values ---- */

xmlrpc_value *rpc_struct_new(xmlrpc_env *env);
xmlrpc_value *rpc_array_new(xmlrpc_env *env);
/* Sets st[key] = v and drops the caller's reference to v (v may be NULL after a fault). */
void rpc_set_take(xmlrpc_env *env, xmlrpc_value *st, const char *key, xmlrpc_value *v);
/* Appends v to arr and drops the caller's reference. */
void rpc_append_take(xmlrpc_env *env, xmlrpc_value *arr, xmlrpc_value *v);
/* String values are made safe for XML 1.0 and the manager's parser: bytes that are not
 * valid UTF-8 (bad or truncated sequences, overlong forms, surrogates, above U+10FFFF),
 * U+FFFE/U+FFFF and control characters other than tab/newline become '?'; characters
 * outside the Basic Multilingual Plane go out as they are. NULL is sent as "". */
xmlrpc_value *rpc_str(xmlrpc_env *env, const char *s);
xmlrpc_value *rpc_int(xmlrpc_env *env, int i);
/* A 64-bit integer: <int> when it fits in 32 bits, else a decimal string (rule §3.2). */
xmlrpc_value *rpc_i64(xmlrpc_env *env, long long v);
xmlrpc_value *rpc_bool(xmlrpc_env *env, bool b);
/* A finite double; infinity or NaN set a fault in env (xmlrpc-c cannot write them). */
xmlrpc_value *rpc_double(xmlrpc_env *env, double d);

void rpc_set_str(xmlrpc_env *env, xmlrpc_value *st, const char *key, const char *s);
void rpc_set_strf(xmlrpc_env *env, xmlrpc_value *st, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void rpc_set_int(xmlrpc_env *env, xmlrpc_value *st, const char *key, int v);
void rpc_set_i64(xmlrpc_env *env, xmlrpc_value *st, const char *key, long long v);
void rpc_set_bool(xmlrpc_env *env, xmlrpc_value *st, const char *key, bool v);
void rpc_set_double(xmlrpc_env *env, xmlrpc_value *st, const char *key, double v);
void rpc_append_str(xmlrpc_env *env, xmlrpc_value *arr, const char *s);
void rpc_append_int(xmlrpc_env *env, xmlrpc_value *arr, int v);

/* New struct holding the same members as st (members shared, not copied). */
xmlrpc_value *rpc_struct_copy_shallow(xmlrpc_env *env, xmlrpc_value *st);

/* True when v or anything inside it is of a type the manager rejects (i8, nil,
 * datetime, C pointer). For tests and debug checks. */
bool rpc_value_has_forbidden(xmlrpc_value *v);

#endif
