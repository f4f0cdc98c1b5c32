#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xmlrpc.h"
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

int rpc_body_check(const char *body, size_t len, int max_depth, char *why, size_t whylen)
{
	const long limit = 4L * max_depth + 8;
	long depth = 0;
	const char *p = body, *end = body + len;

	while ((p = memchr(p, '<', end - p)) != NULL) {
		size_t left = end - p;
		if (left >= 2 && p[1] == '!') {
			if (left >= 4 && memcmp(p, "<!--", 4) == 0) {
				/* skip the whole comment: a '</a>' inside it closes nothing */
				const char *e = memmem(p + 4, left - 4, "-->", 3);
				if (!e)
					break;
				p = e + 3;
				continue;
			}
			if (left >= 9 && memcmp(p, "<![CDATA[", 9) == 0) {
				/* skip to the end of the section: '<' inside it is text */
				const char *e = memmem(p + 9, end - p - 9, "]]>", 3);
				if (!e)
					break;
				p = e + 3;
				continue;
			}
			snprintf(why, whylen, "XML declarations ('<!DOCTYPE', '<!ENTITY') are not accepted");
			return -1;
		}
		if (left >= 2 && p[1] == '?') {
			/* processing instruction (or the declaration): text up to '?>' */
			const char *e = memmem(p + 2, left - 2, "?>", 2);
			if (!e)
				break;
			p = e + 2;
			continue;
		}
		if (left >= 2 && p[1] == '/') {
			depth--;
		} else if (left >= 2) {
			/* The tag ends at the first '>' outside quotes: '>' and '/>' are legal in
			 * an attribute value and must not end (or self-close) the element. */
			const char *gt = NULL;
			char quote = 0;
			for (const char *q = p + 1; q < end && !gt; q++) {
				if (quote)
					quote = *q == quote ? 0 : quote;
				else if (*q == '"' || *q == '\'')
					quote = *q;
				else if (*q == '>')
					gt = q;
			}
			if (!gt)
				break; /* truncated: the parser reports it */
			if (gt[-1] != '/' && ++depth > limit) {
				snprintf(why, whylen, "XML nested deeper than %ld elements", limit);
				return -1;
			}
			p = gt;
		}
		p++;
	}
	return 0;
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

static const char *eat(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	p = skip_ws(p, end);
	if ((size_t)(end - p) < n || memcmp(p, lit, n) != 0)
		return NULL;
	return p + n;
}

/* The manager polls parameterless verbs (ping, list, getVdsStats, getAllVmStats) every
 * few seconds. Their calls have one shape: an optional XML declaration, then
 * <methodCall><methodName>NAME</methodName> with <params/>, <params></params> or no
 * params. Recognising exactly that shape avoids creating an XML parser per request
 * (xmlrpc-c's costs about 25 000 instructions, more than TLS for a ping); anything
 * else goes to the full parser. NAME is restricted to [A-Za-z0-9_.:]. */
bool rpc_parse_call_noparams(const char *body, size_t len, char name[RPC_METHOD_MAX + 1])
{
	const char *p = body, *end = body + len;

	p = skip_ws(p, end);
	if ((size_t)(end - p) >= 5 && memcmp(p, "<?xml", 5) == 0) {
		const char *q = memchr(p, '>', end - p);
		if (!q || q[-1] != '?' || memchr(p + 1, '<', q - p - 1))
			return false;
		p = q + 1;
	}
	if (!(p = eat(p, end, "<methodCall>")) || !(p = eat(p, end, "<methodName>")))
		return false;
	char *out = name;
	const char *nm = p;
	while (p < end && (isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == ':'))
		p++;
	size_t nlen = p - nm;
	if (nlen == 0 || nlen > RPC_METHOD_MAX || !(p = eat(p, end, "</methodName>")))
		return false;
	const char *q;
	if ((q = eat(p, end, "<params/>")) || ((q = eat(p, end, "<params>")) && (q = eat(q, end, "</params>"))))
		p = q;
	if (!(p = eat(p, end, "</methodCall>")) || skip_ws(p, end) != end)
		return false;
	memcpy(out, nm, nlen);
	out[nlen] = '\0';
	return true;
}

int rpc_parse_call(const char *body, size_t len, char **ret_method, xmlrpc_value **ret_params,
		   char *why, size_t whylen)
{
	xmlrpc_env env;
	const char *method = NULL;
	xmlrpc_value *params = NULL;

	char name[RPC_METHOD_MAX + 1];

	xmlrpc_env_init(&env);
	if (rpc_parse_call_noparams(body, len, name)) {
		params = xmlrpc_array_new(&env);
		method = strdup(name);
		if (!env.fault_occurred && method) {
			xmlrpc_env_clean(&env);
			*ret_method = (char *)method;
			*ret_params = params;
			return 0;
		}
		free((char *)method);
		if (params)
			xmlrpc_DECREF(params);
		snprintf(why, whylen, "out of memory");
		xmlrpc_env_clean(&env);
		return -1;
	}
	xmlrpc_parse_call(&env, body, len, &method, &params);
	if (env.fault_occurred) {
		snprintf(why, whylen, "%s", env.fault_string ? env.fault_string : "parse error");
		xmlrpc_env_clean(&env);
		return -1;
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

/* Copy of s safe for XML-RPC strings, or NULL when s is already safe. */
static char *sanitize(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	bool clean = true;

	for (; *p; p++)
		if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p >= 0x7f) {
			clean = false;
			break;
		}
	if (clean)
		return NULL;

	size_t n = strlen(s);
	unsigned char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p;
		int extra = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 :
			    (c & 0xf8) == 0xf0 ? 3 : -1;
		bool ok = extra >= 0;
		for (int i = 1; ok && i <= extra; i++)
			ok = (p[i] & 0xc0) == 0x80;
		if (ok && extra == 1 && c < 0xc2)
			ok = false; /* overlong */
		if (!ok) {
			*o++ = '?';
			p++;
			continue;
		}
		if (extra == 0) {
			*o++ = (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f ? '?' : c;
			p++;
			continue;
		}
		memcpy(o, p, extra + 1);
		o += extra + 1;
		p += extra + 1;
	}
	*o = '\0';
	return (char *)out;
}

struct rpc_blob *rpc_serialize_fault(int code, const char *message)
{
	xmlrpc_env env, fenv;
	xmlrpc_mem_block *mb;
	char *clean = sanitize(message);

	xmlrpc_env_init(&env);
	xmlrpc_env_init(&fenv);
	xmlrpc_env_set_fault(&fenv, code, clean ? clean : message);
	free(clean);
	mb = XMLRPC_MEMBLOCK_NEW(char, &env, 0);
	if (!env.fault_occurred)
		xmlrpc_serialize_fault(&env, mb, &fenv);
	xmlrpc_env_clean(&fenv);
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
	return env->fault_occurred ? NULL : xmlrpc_double_new(env, d);
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
