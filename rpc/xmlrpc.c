#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xmlrpc.h"
#include "../vdsm-c/util/utf8.h"
#include "../vdsm-c/util/util.h"

struct rpc_blob *rpc_blob_new(const char *data, size_t len)
{
	struct rpc_blob *b = malloc(sizeof(*b) + len + 1);

	if (!b)
		return NULL;
	atomic_init(&b->ref, 1);
	b->len = len;
	if (data)
		memcpy(b->data, data, len);
	b->data[len] = '\0';
	return b;
}

struct rpc_blob *rpc_blob_ref(struct rpc_blob *b)
{
	if (b)
		atomic_fetch_add_explicit(&b->ref, 1, memory_order_relaxed);
	return b;
}

void rpc_blob_unref(struct rpc_blob *b)
{
	if (b && atomic_fetch_sub_explicit(&b->ref, 1, memory_order_acq_rel) == 1)
		free(b);
}

void rpc_codec_init(size_t max_body, int max_depth)
{
	xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, max_body);
	xmlrpc_limit_set(XMLRPC_NESTING_LIMIT_ID, (size_t)max_depth);
}

/* ---- UTF-8 ---- */

/* Length of the UTF-8 sequence at p (left > 0 bytes readable) when it is valid UTF-8
 * for a character XML 1.0 can carry, else 0: a bad lead or continuation byte, a
 * truncated sequence, an overlong form, a UTF-16 surrogate (U+D800-U+DFFF), a code
 * point above U+10FFFF, or U+FFFE/U+FFFF (not XML characters). ASCII, control bytes
 * included, is 1: callers decide about those. Characters outside the Basic
 * Multilingual Plane (4 bytes, U+10000-U+10FFFF) are valid. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	static const uint32_t min_cp[] = { 0, 0, 0x80, 0x800, 0x10000 };
	unsigned c = p[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe ||
	    cp == 0xffff)
		return 0;
	return n;
}

/* xmlrpc-c 1.33 checks every string value it creates with this function: the strings
 * it parses (<string>, untyped <value>, struct member names, the method name) and the
 * ones we build (rpc_str). Its own version decodes to UCS-2 and so refuses every
 * character outside the Basic Multilingual Plane ("UTF-8 string contains a character
 * not in the Basic Multilingual Plane"): a vmName with an emoji got fault 1 although it
 * is valid UTF-8 and valid XML. libxmlrpc calls it through its PLT, so this definition
 * in the program takes its place (ELF symbol interposition); the serializer copies
 * string bytes unchanged, so such characters go out intact. Still refused: everything
 * utf8_seq() refuses. Embedded NUL and control bytes are accepted, as by the library
 * (expat never delivers them; readers refuse NUL). */
void xmlrpc_validate_utf8(xmlrpc_env *const envP, const char *const utf8_data, size_t const utf8_len)
{
	const unsigned char *p = (const unsigned char *)utf8_data;

	for (size_t i = 0; i < utf8_len;) {
		size_t n = utf8_seq(p + i, utf8_len - i);
		if (n == 0) {
			xmlrpc_env_set_fault_formatted(envP, XMLRPC_INVALID_UTF8_ERROR,
						       "%zu-byte string is not valid UTF-8: byte 0x%02x at offset %zu",
						       utf8_len, p[i], i);
			return;
		}
		i += n;
	}
}

int rpc_parse_call(const char *body, size_t len, char **ret_method, xmlrpc_value **ret_params,
		   struct vd_error *err)
{
	xmlrpc_env env;
	const char *method = NULL;
	xmlrpc_value *params = NULL;

	/* The body check is part of parsing: nothing reaches xmlrpc-c's parser unchecked.
	 * (The parameterless fast path is the caller's: vd_api_handle tries it first.) */
	if (rpc_body_check(body, len, (int)xmlrpc_limit_get(XMLRPC_NESTING_LIMIT_ID), err) < 0)
		return -EBADMSG;
	xmlrpc_env_init(&env);
	xmlrpc_parse_call(&env, body, len, &method, &params);
	if (env.fault_occurred) {
		vd_error_set(err, VD_ERR_GENERAL, "%s", env.fault_string ? env.fault_string : "parse error");
		xmlrpc_env_clean(&env);
		return -EINVAL;
	}
	xmlrpc_env_clean(&env);
	*ret_method = (char *)method;
	*ret_params = params;
	return 0;
}

static struct rpc_blob *blob_from_memblock(xmlrpc_mem_block *mb)
{
	struct rpc_blob *b = rpc_blob_new(XMLRPC_MEMBLOCK_CONTENTS(char, mb),
					  XMLRPC_MEMBLOCK_SIZE(char, mb));
	XMLRPC_MEMBLOCK_FREE(char, mb);
	return b;
}

struct rpc_blob *rpc_serialize_response(xmlrpc_value *value)
{
	xmlrpc_env env;
	xmlrpc_mem_block *mb;

	xmlrpc_env_init(&env);
	mb = XMLRPC_MEMBLOCK_NEW(char, &env, 0);
	if (env.fault_occurred)
		goto fail;
	/* The i8 dialect only matters for i8 values, which our builders never create. */
	xmlrpc_serialize_response2(&env, mb, value, xmlrpc_dialect_i8);
	if (env.fault_occurred) {
		XMLRPC_MEMBLOCK_FREE(char, mb);
		goto fail;
	}
	xmlrpc_env_clean(&env);
	return blob_from_memblock(mb);
fail:
	xmlrpc_env_clean(&env);
	return NULL;
}

/* NULL when s is clean already, else a cleaned copy: util/utf8.h is the one cleaner
 * (characters outside the BMP kept: xmlrpc_validate_utf8 above lets them through). */
static char *sanitize(const char *s)
{
	char *copy;

	if (util_utf8_is_clean(s, 0) || !(copy = strdup(s)))
		return NULL;
	return util_utf8_clean(copy, 0);
}

struct rpc_blob *rpc_serialize_fault(int code, const char *message)
{
	xmlrpc_env env;
	xmlrpc_mem_block *mb;
	char *clean = sanitize(message);
	/* Filled by hand, not by xmlrpc_env_set_fault(): that one rewrites every byte of a
	 * character outside the Basic Multilingual Plane to DEL, so a fault naming such a
	 * value would not show it. sanitize() already made the text safe. */
	xmlrpc_env fenv = { .fault_occurred = 1, .fault_code = code,
			    .fault_string = clean ? clean : (char *)message };

	xmlrpc_env_init(&env);
	mb = XMLRPC_MEMBLOCK_NEW(char, &env, 0);
	if (!env.fault_occurred)
		xmlrpc_serialize_fault(&env, mb, &fenv);
	free(clean);
	if (env.fault_occurred) {
		if (mb)
			XMLRPC_MEMBLOCK_FREE(char, mb);
		xmlrpc_env_clean(&env);
		return NULL;
	}
	xmlrpc_env_clean(&env);
	return blob_from_memblock(mb);
}

xmlrpc_value *rpc_envelope(xmlrpc_env *env, xmlrpc_value *payload, int code, const char *message)
{
	if (env->fault_occurred) {
		if (payload)
			xmlrpc_DECREF(payload);
		return NULL;
	}
	if (!payload)
		payload = rpc_struct_new(env);
	xmlrpc_value *status = rpc_struct_new(env);
	rpc_set_int(env, status, "code", code);
	rpc_set_str(env, status, "message", message);
	rpc_set_take(env, payload, "status", status);
	if (env->fault_occurred) {
		if (payload)
			xmlrpc_DECREF(payload);
		return NULL;
	}
	return payload;
}

struct rpc_blob *rpc_serialize_envelope(xmlrpc_env *env, xmlrpc_value *payload, int code,
					const char *message)
{
	xmlrpc_value *r = rpc_envelope(env, payload, code, message);
	struct rpc_blob *b;

	if (!r)
		return NULL;
	b = rpc_serialize_response(r);
	xmlrpc_DECREF(r);
	return b;
}

/* ---- incoming ---- */

static bool string_blank(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return *s == '\0';
}

int rpc_to_ll(xmlrpc_value *v, long long *ret)
{
	xmlrpc_env env;
	int r = RPC_BADTYPE;

	if (!v)
		return RPC_ABSENT;
	xmlrpc_env_init(&env);
	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_INT: {
		int i;
		xmlrpc_read_int(&env, v, &i);
		if (!env.fault_occurred) {
			*ret = i;
			r = RPC_OK;
		}
		break;
	}
	case XMLRPC_TYPE_I8: {
		xmlrpc_int64 i;
		xmlrpc_read_i8(&env, v, &i);
		if (!env.fault_occurred) {
			*ret = i;
			r = RPC_OK;
		}
		break;
	}
	case XMLRPC_TYPE_STRING: {
		const char *s = NULL;
		xmlrpc_read_string(&env, v, &s);
		if (!env.fault_occurred) {
			if (string_blank(s))
				r = RPC_ABSENT;
			else if (util_parse_ll(s, LLONG_MIN, LLONG_MAX, ret) == 0)
				r = RPC_OK;
			free((char *)s);
		}
		break;
	}
	default:
		break;
	}
	xmlrpc_env_clean(&env);
	return r;
}

int rpc_to_bool(xmlrpc_value *v, bool *ret)
{
	xmlrpc_env env;
	int r = RPC_BADTYPE;

	if (!v)
		return RPC_ABSENT;
	xmlrpc_env_init(&env);
	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_BOOL: {
		xmlrpc_bool b;
		xmlrpc_read_bool(&env, v, &b);
		if (!env.fault_occurred) {
			*ret = b;
			r = RPC_OK;
		}
		break;
	}
	case XMLRPC_TYPE_INT: {
		int i;
		xmlrpc_read_int(&env, v, &i);
		if (!env.fault_occurred && (i == 0 || i == 1)) {
			*ret = i;
			r = RPC_OK;
		}
		break;
	}
	case XMLRPC_TYPE_STRING: {
		const char *s = NULL;
		xmlrpc_read_string(&env, v, &s);
		if (!env.fault_occurred) {
			if (util_parse_bool(s, ret) == 0)
				r = RPC_OK;
			free((char *)s);
		}
		break;
	}
	default:
		break;
	}
	xmlrpc_env_clean(&env);
	return r;
}

char *rpc_to_string(xmlrpc_value *v)
{
	xmlrpc_env env;
	char *out = NULL;

	if (!v)
		return NULL;
	xmlrpc_env_init(&env);
	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_STRING: {
		const char *s = NULL;
		xmlrpc_read_string(&env, v, &s);
		if (!env.fault_occurred)
			out = (char *)s;
		break;
	}
	case XMLRPC_TYPE_INT: {
		int i;
		xmlrpc_read_int(&env, v, &i);
		if (!env.fault_occurred && asprintf(&out, "%d", i) < 0)
			out = NULL;
		break;
	}
	case XMLRPC_TYPE_I8: {
		xmlrpc_int64 i;
		xmlrpc_read_i8(&env, v, &i);
		if (!env.fault_occurred && asprintf(&out, "%lld", (long long)i) < 0)
			out = NULL;
		break;
	}
	default:
		break;
	}
	xmlrpc_env_clean(&env);
	return out;
}

int rpc_to_double(xmlrpc_value *v, double *ret)
{
	xmlrpc_env env;
	int r = RPC_BADTYPE;
	long long ll;

	if (!v)
		return RPC_ABSENT;
	if (xmlrpc_value_type(v) != XMLRPC_TYPE_DOUBLE && xmlrpc_value_type(v) != XMLRPC_TYPE_STRING) {
		r = rpc_to_ll(v, &ll);
		if (r == RPC_OK)
			*ret = (double)ll;
		return r;
	}
	xmlrpc_env_init(&env);
	if (xmlrpc_value_type(v) == XMLRPC_TYPE_DOUBLE) {
		xmlrpc_read_double(&env, v, ret);
		if (!env.fault_occurred)
			r = RPC_OK;
	} else {
		const char *s = NULL;
		xmlrpc_read_string(&env, v, &s);
		if (!env.fault_occurred) {
			char *end;
			if (string_blank(s)) {
				r = RPC_ABSENT;
			} else {
				errno = 0;
				double d = strtod(s, &end);
				while (isspace((unsigned char)*end))
					end++;
				if (!*end && errno == 0) {
					*ret = d;
					r = RPC_OK;
				}
			}
			free((char *)s);
		}
	}
	xmlrpc_env_clean(&env);
	return r;
}

xmlrpc_value *rpc_struct_get(xmlrpc_value *st, const char *key)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;

	if (!st || xmlrpc_value_type(st) != XMLRPC_TYPE_STRUCT)
		return NULL;
	xmlrpc_env_init(&env);
	xmlrpc_struct_find_value(&env, st, key, &v);
	xmlrpc_env_clean(&env);
	if (v)
		xmlrpc_DECREF(v); /* the struct keeps its own reference: hand out a borrowed one */
	return v;
}

/* ---- outgoing ---- */

xmlrpc_value *rpc_struct_new(xmlrpc_env *env)
{
	return env->fault_occurred ? NULL : xmlrpc_struct_new(env);
}

xmlrpc_value *rpc_array_new(xmlrpc_env *env)
{
	return env->fault_occurred ? NULL : xmlrpc_array_new(env);
}

void rpc_set_take(xmlrpc_env *env, xmlrpc_value *st, const char *key, xmlrpc_value *v)
{
	if (!env->fault_occurred && st && v)
		xmlrpc_struct_set_value(env, st, key, v);
	if (v)
		xmlrpc_DECREF(v);
}

void rpc_append_take(xmlrpc_env *env, xmlrpc_value *arr, xmlrpc_value *v)
{
	if (!env->fault_occurred && arr && v)
		xmlrpc_array_append_item(env, arr, v);
	if (v)
		xmlrpc_DECREF(v);
}

xmlrpc_value *rpc_str(xmlrpc_env *env, const char *s)
{
	if (env->fault_occurred)
		return NULL;
	if (!s)
		s = "";
	char *clean = sanitize(s);
	xmlrpc_value *v = xmlrpc_string_new(env, clean ? clean : s);
	free(clean);
	return v;
}

xmlrpc_value *rpc_int(xmlrpc_env *env, int i)
{
	return env->fault_occurred ? NULL : xmlrpc_int_new(env, i);
}

xmlrpc_value *rpc_i64(xmlrpc_env *env, long long v)
{
	char buf[24];

	if (v >= INT_MIN && v <= INT_MAX)
		return rpc_int(env, (int)v);
	snprintf(buf, sizeof(buf), "%lld", v);
	return rpc_str(env, buf);
}

xmlrpc_value *rpc_bool(xmlrpc_env *env, bool b)
{
	return env->fault_occurred ? NULL : xmlrpc_bool_new(env, b);
}

xmlrpc_value *rpc_double(xmlrpc_env *env, double d)
{
	if (env->fault_occurred)
		return NULL;
	/* xmlrpc-c 1.33 serializes an infinite double by recursing without end
	 * (xmlrpc_formatFloat: a stack overflow) and NaN as 0: fail the reply instead. */
	if (!isfinite(d)) {
		xmlrpc_env_set_fault_formatted(env, XMLRPC_TYPE_ERROR, "double %g is not finite", d);
		return NULL;
	}
	return xmlrpc_double_new(env, d);
}

void rpc_set_str(xmlrpc_env *env, xmlrpc_value *st, const char *key, const char *s)
{
	rpc_set_take(env, st, key, rpc_str(env, s));
}

void rpc_set_strf(xmlrpc_env *env, xmlrpc_value *st, const char *key, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	rpc_set_str(env, st, key, buf);
}

void rpc_set_int(xmlrpc_env *env, xmlrpc_value *st, const char *key, int v)
{
	rpc_set_take(env, st, key, rpc_int(env, v));
}

void rpc_set_i64(xmlrpc_env *env, xmlrpc_value *st, const char *key, long long v)
{
	rpc_set_take(env, st, key, rpc_i64(env, v));
}

void rpc_set_bool(xmlrpc_env *env, xmlrpc_value *st, const char *key, bool v)
{
	rpc_set_take(env, st, key, rpc_bool(env, v));
}

void rpc_set_double(xmlrpc_env *env, xmlrpc_value *st, const char *key, double v)
{
	rpc_set_take(env, st, key, rpc_double(env, v));
}

void rpc_append_str(xmlrpc_env *env, xmlrpc_value *arr, const char *s)
{
	rpc_append_take(env, arr, rpc_str(env, s));
}

void rpc_append_int(xmlrpc_env *env, xmlrpc_value *arr, int v)
{
	rpc_append_take(env, arr, rpc_int(env, v));
}

xmlrpc_value *rpc_struct_copy_shallow(xmlrpc_env *env, xmlrpc_value *st)
{
	xmlrpc_value *out = rpc_struct_new(env);
	int n = env->fault_occurred ? 0 : xmlrpc_struct_size(env, st);

	for (int i = 0; i < n && !env->fault_occurred; i++) {
		xmlrpc_value *k = NULL, *item = NULL;
		xmlrpc_struct_read_member(env, st, i, &k, &item);
		if (!env->fault_occurred)
			xmlrpc_struct_set_value_v(env, out, k, item);
		if (k)
			xmlrpc_DECREF(k);
		if (item)
			xmlrpc_DECREF(item);
	}
	if (env->fault_occurred && out) {
		xmlrpc_DECREF(out);
		return NULL;
	}
	return out;
}

bool rpc_value_has_forbidden(xmlrpc_value *v)
{
	xmlrpc_env env;
	bool bad = false;

	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_I8:
	case XMLRPC_TYPE_NIL:
	case XMLRPC_TYPE_DATETIME:
	case XMLRPC_TYPE_C_PTR:
	case XMLRPC_TYPE_DEAD:
		return true;
	case XMLRPC_TYPE_ARRAY: {
		xmlrpc_env_init(&env);
		int n = xmlrpc_array_size(&env, v);
		for (int i = 0; i < n && !bad && !env.fault_occurred; i++) {
			xmlrpc_value *item = NULL;
			xmlrpc_array_read_item(&env, v, i, &item);
			if (item) {
				bad = rpc_value_has_forbidden(item);
				xmlrpc_DECREF(item);
			}
		}
		xmlrpc_env_clean(&env);
		return bad;
	}
	case XMLRPC_TYPE_STRUCT: {
		xmlrpc_env_init(&env);
		int n = xmlrpc_struct_size(&env, v);
		for (int i = 0; i < n && !bad && !env.fault_occurred; i++) {
			xmlrpc_value *k = NULL, *item = NULL;
			xmlrpc_struct_read_member(&env, v, i, &k, &item);
			if (item) {
				bad = rpc_value_has_forbidden(item);
				xmlrpc_DECREF(item);
			}
			if (k)
				xmlrpc_DECREF(k);
		}
		xmlrpc_env_clean(&env);
		return bad;
	}
	default:
		return false;
	}
}
