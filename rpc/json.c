#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xmlrpc-c/json.h>

#include "json.h"
#include "xmlrpc.h"

static void write_string(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];
		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (c < 0x20)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

static void newline(FILE *f, int indent, int level)
{
	if (!indent)
		return;
	fputc('\n', f);
	for (int i = 0; i < indent * level; i++)
		fputc(' ', f);
}

static void write_value(FILE *f, xmlrpc_value *v, int indent, int level)
{
	xmlrpc_env env;

	xmlrpc_env_init(&env);
	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_INT: {
		int i = 0;
		xmlrpc_read_int(&env, v, &i);
		fprintf(f, "%d", i);
		break;
	}
	case XMLRPC_TYPE_I8: {
		xmlrpc_int64 i = 0;
		xmlrpc_read_i8(&env, v, &i);
		fprintf(f, "%lld", (long long)i);
		break;
	}
	case XMLRPC_TYPE_BOOL: {
		xmlrpc_bool b = 0;
		xmlrpc_read_bool(&env, v, &b);
		fputs(b ? "true" : "false", f);
		break;
	}
	case XMLRPC_TYPE_DOUBLE: {
		double d = 0;
		xmlrpc_read_double(&env, v, &d);
		fprintf(f, "%.17g", d);
		break;
	}
	case XMLRPC_TYPE_STRING: {
		const char *s = NULL;
		size_t len = 0;
		xmlrpc_read_string_lp(&env, v, &len, &s);
		write_string(f, s ? s : "", s ? len : 0);
		free((char *)s);
		break;
	}
	case XMLRPC_TYPE_DATETIME: {
		const char *s = NULL;
		xmlrpc_read_datetime_str(&env, v, &s);
		write_string(f, s ? s : "", s ? strlen(s) : 0);
		free((char *)s);
		break;
	}
	case XMLRPC_TYPE_BASE64: {
		fputs("\"<base64>\"", f);
		break;
	}
	case XMLRPC_TYPE_ARRAY: {
		int n = xmlrpc_array_size(&env, v);
		fputc('[', f);
		for (int i = 0; i < n; i++) {
			xmlrpc_value *item = NULL;
			xmlrpc_array_read_item(&env, v, i, &item);
			if (i)
				fputc(',', f);
			newline(f, indent, level + 1);
			if (item) {
				write_value(f, item, indent, level + 1);
				xmlrpc_DECREF(item);
			}
		}
		if (n > 0)
			newline(f, indent, level);
		fputc(']', f);
		break;
	}
	case XMLRPC_TYPE_STRUCT: {
		int n = xmlrpc_struct_size(&env, v);
		fputc('{', f);
		for (int i = 0; i < n; i++) {
			xmlrpc_value *k = NULL, *item = NULL;
			xmlrpc_struct_read_member(&env, v, i, &k, &item);
			if (i)
				fputc(',', f);
			newline(f, indent, level + 1);
			if (k) {
				write_value(f, k, indent, level + 1);
				fputs(indent ? ": " : ":", f);
				xmlrpc_DECREF(k);
			}
			if (item) {
				write_value(f, item, indent, level + 1);
				xmlrpc_DECREF(item);
			}
		}
		if (n > 0)
			newline(f, indent, level);
		fputc('}', f);
		break;
	}
	default:
		fputs("null", f);
	}
	xmlrpc_env_clean(&env);
}

void rpc_json_write(FILE *f, xmlrpc_value *v, int indent)
{
	write_value(f, v, indent, 0);
}

/* xmlrpc-c's JSON parser makes every integer an i8 (RPC-STACK.md §4): rebuild. */
static xmlrpc_value *fix_ints(xmlrpc_env *env, xmlrpc_value *v)
{
	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_I8: {
		xmlrpc_int64 i = 0;
		xmlrpc_read_i8(env, v, &i);
		return rpc_i64(env, (long long)i);
	}
	case XMLRPC_TYPE_ARRAY: {
		xmlrpc_value *out = rpc_array_new(env);
		int n = env->fault_occurred ? 0 : xmlrpc_array_size(env, v);
		for (int i = 0; i < n && !env->fault_occurred; i++) {
			xmlrpc_value *item = NULL;
			xmlrpc_array_read_item(env, v, i, &item);
			if (item) {
				rpc_append_take(env, out, fix_ints(env, item));
				xmlrpc_DECREF(item);
			}
		}
		return out;
	}
	case XMLRPC_TYPE_STRUCT: {
		xmlrpc_value *out = rpc_struct_new(env);
		int n = env->fault_occurred ? 0 : xmlrpc_struct_size(env, v);
		for (int i = 0; i < n && !env->fault_occurred; i++) {
			xmlrpc_value *k = NULL, *item = NULL;
			xmlrpc_struct_read_member(env, v, i, &k, &item);
			if (k && item) {
				xmlrpc_value *fixed = fix_ints(env, item);
				if (fixed && !env->fault_occurred)
					xmlrpc_struct_set_value_v(env, out, k, fixed);
				if (fixed)
					xmlrpc_DECREF(fixed);
			}
			if (k)
				xmlrpc_DECREF(k);
			if (item)
				xmlrpc_DECREF(item);
		}
		return out;
	}
	case XMLRPC_TYPE_NIL:
		return rpc_str(env, "");
	default:
		xmlrpc_INCREF(v);
		return v;
	}
}

xmlrpc_value *rpc_json_parse(xmlrpc_env *env, const char *text)
{
	xmlrpc_value *raw = xmlrpc_parse_json(env, text);
	xmlrpc_value *out;

	if (env->fault_occurred || !raw)
		return NULL;
	out = fix_ints(env, raw);
	xmlrpc_DECREF(raw);
	if (env->fault_occurred && out) {
		xmlrpc_DECREF(out);
		return NULL;
	}
	return out;
}
