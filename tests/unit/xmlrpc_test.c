/* rpc/xmlrpc.c: codec round trips of every type, coercion rules, envelope, prechecks. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <xmlrpc-c/base.h>

#include "../../rpc/xmlrpc.h"
#include "../../rpc/json.h"

/* Serialize v as a response, parse it back as a call's param, return the parsed value. */
static xmlrpc_value *round_trip(xmlrpc_value *v)
{
	struct rpc_blob *b = rpc_serialize_response(v);
	xmlrpc_env env;
	xmlrpc_value *out = NULL;
	int fcode = 0;
	const char *fstr = NULL;

	assert_non_null(b);
	xmlrpc_env_init(&env);
	xmlrpc_parse_response2(&env, b->data, b->len, &out, &fcode, &fstr);
	assert_false(env.fault_occurred);
	assert_null(fstr);
	xmlrpc_env_clean(&env);
	rpc_blob_unref(b);
	return out;
}

static void test_round_trip_scalars(void **state)
{
	xmlrpc_env env;
	(void)state;
	xmlrpc_env_init(&env);

	xmlrpc_value *st = rpc_struct_new(&env);
	rpc_set_int(&env, st, "int", -42);
	rpc_set_i64(&env, st, "small64", 7);
	rpc_set_i64(&env, st, "big64", 5000000000LL);
	rpc_set_i64(&env, st, "minint", INT_MIN);
	rpc_set_bool(&env, st, "t", true);
	rpc_set_bool(&env, st, "f", false);
	rpc_set_double(&env, st, "d", 1.5);
	rpc_set_str(&env, st, "s", "a<b>&c\"d'");
	rpc_set_str(&env, st, "empty", "");
	rpc_set_str(&env, st, "null", NULL);
	rpc_set_str(&env, st, "utf8", "caf\xc3\xa9");
	rpc_set_str(&env, st, "badutf8", "x\xff\x01y");
	xmlrpc_value *arr = rpc_array_new(&env);
	rpc_append_int(&env, arr, 1);
	rpc_append_str(&env, arr, "two");
	rpc_set_take(&env, st, "arr", arr);
	rpc_set_take(&env, st, "nested", rpc_struct_new(&env));
	assert_false(env.fault_occurred);
	assert_false(rpc_value_has_forbidden(st));

	xmlrpc_value *o = round_trip(st);
	long long ll;
	bool b;
	double d;
	assert_int_equal(rpc_to_ll(rpc_struct_get(o, "int"), &ll), RPC_OK);
	assert_int_equal(ll, -42);
	assert_int_equal(xmlrpc_value_type(rpc_struct_get(o, "small64")), XMLRPC_TYPE_INT);
	/* Over 32 bits: a string on the wire (API.md §3.2), still readable as a number. */
	assert_int_equal(xmlrpc_value_type(rpc_struct_get(o, "big64")), XMLRPC_TYPE_STRING);
	assert_int_equal(rpc_to_ll(rpc_struct_get(o, "big64"), &ll), RPC_OK);
	assert_true(ll == 5000000000LL);
	assert_int_equal(rpc_to_ll(rpc_struct_get(o, "minint"), &ll), RPC_OK);
	assert_true(ll == INT_MIN);
	assert_int_equal(rpc_to_bool(rpc_struct_get(o, "t"), &b), RPC_OK);
	assert_true(b);
	assert_int_equal(rpc_to_bool(rpc_struct_get(o, "f"), &b), RPC_OK);
	assert_false(b);
	assert_int_equal(rpc_to_double(rpc_struct_get(o, "d"), &d), RPC_OK);
	assert_true(d == 1.5);
	char *s = rpc_to_string(rpc_struct_get(o, "s"));
	assert_string_equal(s, "a<b>&c\"d'");
	free(s);
	s = rpc_to_string(rpc_struct_get(o, "empty"));
	assert_string_equal(s, "");
	free(s);
	s = rpc_to_string(rpc_struct_get(o, "null"));
	assert_string_equal(s, "");
	free(s);
	s = rpc_to_string(rpc_struct_get(o, "utf8"));
	assert_string_equal(s, "caf\xc3\xa9");
	free(s);
	s = rpc_to_string(rpc_struct_get(o, "badutf8"));
	assert_string_equal(s, "x??y"); /* invalid UTF-8 and control chars made safe */
	free(s);
	xmlrpc_value *a2 = rpc_struct_get(o, "arr");
	assert_int_equal(xmlrpc_array_size(&env, a2), 2);
	assert_int_equal(xmlrpc_value_type(rpc_struct_get(o, "nested")), XMLRPC_TYPE_STRUCT);
	xmlrpc_DECREF(o);
	xmlrpc_DECREF(st);
	xmlrpc_env_clean(&env);
}

static xmlrpc_value *parse_param(const char *xmlval)
{
	char body[2048];
	char *method = NULL;
	xmlrpc_value *params = NULL, *v = NULL;
	char why[256];
	xmlrpc_env env;

	snprintf(body, sizeof(body),
		 "<?xml version='1.0'?><methodCall><methodName>m</methodName><params><param>"
		 "<value>%s</value></param></params></methodCall>", xmlval);
	assert_int_equal(rpc_parse_call(body, strlen(body), &method, &params, why, sizeof(why)), 0);
	assert_string_equal(method, "m");
	free(method);
	xmlrpc_env_init(&env);
	xmlrpc_array_read_item(&env, params, 0, &v);
	assert_false(env.fault_occurred);
	xmlrpc_env_clean(&env);
	xmlrpc_DECREF(params);
	return v;
}

static void test_parse_types(void **state)
{
	static const struct {
		const char *xml;
		xmlrpc_type type;
	} cases[] = {
		{ "<i4>5</i4>", XMLRPC_TYPE_INT },
		{ "<int>-5</int>", XMLRPC_TYPE_INT },
		{ "<boolean>1</boolean>", XMLRPC_TYPE_BOOL },
		{ "<double>2.25</double>", XMLRPC_TYPE_DOUBLE },
		{ "<string>s</string>", XMLRPC_TYPE_STRING },
		{ "untyped", XMLRPC_TYPE_STRING },
		{ "", XMLRPC_TYPE_STRING },
		{ "<array><data><value>1</value></data></array>", XMLRPC_TYPE_ARRAY },
		{ "<struct><member><name>k</name><value>v</value></member></struct>", XMLRPC_TYPE_STRUCT },
		{ "<base64>aGk=</base64>", XMLRPC_TYPE_BASE64 },
		{ "<dateTime.iso8601>20260101T00:00:00</dateTime.iso8601>", XMLRPC_TYPE_DATETIME },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		xmlrpc_value *v = parse_param(cases[i].xml);
		assert_int_equal(xmlrpc_value_type(v), cases[i].type);
		xmlrpc_DECREF(v);
	}
}

static void test_coercion_rules(void **state)
{
	static const struct {
		const char *xml;
		int r;
		bool val;
	} bools[] = {
		{ "<boolean>1</boolean>", RPC_OK, true }, { "<boolean>0</boolean>", RPC_OK, false },
		{ "true", RPC_OK, true },   { "TRUE", RPC_OK, true },   { "False", RPC_OK, false },
		{ "yes", RPC_OK, true },    { "no", RPC_OK, false },    { "1", RPC_OK, true },
		{ "0", RPC_OK, false },     { "on", RPC_OK, true },     { "off", RPC_OK, false },
		{ "", RPC_OK, false },      { " true ", RPC_OK, true }, { "<i4>1</i4>", RPC_OK, true },
		{ "maybe", RPC_BADTYPE, false }, { "<i4>2</i4>", RPC_BADTYPE, false },
		{ "<double>1.0</double>", RPC_BADTYPE, false },
	};
	static const struct {
		const char *xml;
		int r;
		long long val;
	} ints[] = {
		{ "<i4>7</i4>", RPC_OK, 7 },   { "7", RPC_OK, 7 },        { " -12 ", RPC_OK, -12 },
		{ "", RPC_ABSENT, 0 },         { "  ", RPC_ABSENT, 0 },   { "4096", RPC_OK, 4096 },
		{ "9999999999", RPC_OK, 9999999999LL }, { "7x", RPC_BADTYPE, 0 },
		{ "1.5", RPC_BADTYPE, 0 },     { "<boolean>1</boolean>", RPC_BADTYPE, 0 },
		{ "<i8>5000000000</i8>", RPC_OK, 5000000000LL },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		xmlrpc_value *v = parse_param(bools[i].xml);
		bool b = !bools[i].val;
		int r = rpc_to_bool(v, &b);
		if (r != bools[i].r)
			fail_msg("bool case '%s': got %d, want %d", bools[i].xml, r, bools[i].r);
		if (r == RPC_OK && b != bools[i].val)
			fail_msg("bool case '%s': wrong value", bools[i].xml);
		xmlrpc_DECREF(v);
	}
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		xmlrpc_value *v = parse_param(ints[i].xml);
		long long ll = -1;
		int r = rpc_to_ll(v, &ll);
		if (r != ints[i].r)
			fail_msg("int case '%s': got %d, want %d", ints[i].xml, r, ints[i].r);
		if (r == RPC_OK && ll != ints[i].val)
			fail_msg("int case '%s': got %lld", ints[i].xml, ll);
		xmlrpc_DECREF(v);
	}
	/* Strings from numbers, for ids the engine may send as <i4>. */
	xmlrpc_value *v = parse_param("<i4>12</i4>");
	char *s = rpc_to_string(v);
	assert_string_equal(s, "12");
	free(s);
	xmlrpc_DECREF(v);
	v = parse_param("<boolean>1</boolean>");
	assert_null(rpc_to_string(v));
	xmlrpc_DECREF(v);
	/* Absent values. */
	long long ll;
	bool b;
	assert_int_equal(rpc_to_ll(NULL, &ll), RPC_ABSENT);
	assert_int_equal(rpc_to_bool(NULL, &b), RPC_ABSENT);
}

/* The serializer puts CRLF between elements: compare without line breaks. */
static char *flat(const struct rpc_blob *b)
{
	char *o = malloc(b->len + 1), *q = o;
	for (size_t i = 0; i < b->len; i++)
		if (b->data[i] != '\r' && b->data[i] != '\n')
			*q++ = b->data[i];
	*q = '\0';
	return o;
}

static void test_envelope(void **state)
{
	xmlrpc_env env;
	(void)state;
	xmlrpc_env_init(&env);

	xmlrpc_value *payload = rpc_struct_new(&env);
	rpc_set_str(&env, payload, "key", "v");
	xmlrpc_value *r = rpc_envelope(&env, payload, 0, "Done");
	assert_non_null(r);
	struct rpc_blob *b = rpc_serialize_response(r);
	assert_non_null(b);
	char *t = flat(b);
	assert_non_null(strstr(t, "<name>status</name>"));
	assert_non_null(strstr(t, "<name>code</name><value><i4>0</i4></value>"));
	assert_non_null(strstr(t, "<name>message</name><value><string>Done</string></value>"));
	assert_non_null(strstr(t, "<name>key</name>"));
	assert_null(strstr(t, "<i8>"));
	free(t);
	rpc_blob_unref(b);
	xmlrpc_DECREF(r);

	r = rpc_envelope(&env, NULL, 16, "Unexpected exception");
	xmlrpc_value *o = round_trip(r);
	xmlrpc_value *st = rpc_struct_get(o, "status");
	long long code;
	assert_int_equal(rpc_to_ll(rpc_struct_get(st, "code"), &code), RPC_OK);
	assert_int_equal(code, 16);
	assert_int_equal(xmlrpc_struct_size(&env, o), 1);
	xmlrpc_DECREF(o);
	xmlrpc_DECREF(r);

	b = rpc_serialize_fault(1, "method \"x\" is not supported");
	t = flat(b);
	assert_non_null(strstr(t, "<name>faultCode</name><value><i4>1</i4></value>"));
	free(t);
	rpc_blob_unref(b);
	xmlrpc_env_clean(&env);
}

static void test_body_check(void **state)
{
	char why[200];
	(void)state;
	const char *ok = "<?xml version='1.0'?><methodCall><methodName>ping</methodName>"
			 "<params/></methodCall>";
	assert_int_equal(rpc_body_check(ok, strlen(ok), 64, why, sizeof(why)), 0);
	const char *comment = "<methodCall><!-- c --><methodName>ping</methodName></methodCall>";
	assert_int_equal(rpc_body_check(comment, strlen(comment), 64, why, sizeof(why)), 0);
	const char *cdata = "<methodCall><methodName><![CDATA[<<<<]]></methodName></methodCall>";
	assert_int_equal(rpc_body_check(cdata, strlen(cdata), 1, why, sizeof(why)), 0);
	const char *dt = "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><methodCall/>";
	assert_int_equal(rpc_body_check(dt, strlen(dt), 64, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "DOCTYPE"));

	/* Depth: 4 elements per value nesting level + 8. */
	char deep[8192] = "";
	for (int i = 0; i < 300; i++)
		strcat(deep, "<a>");
	assert_int_equal(rpc_body_check(deep, strlen(deep), 64, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "nested deeper than 264"));
	deep[264 * 3] = '\0';
	assert_int_equal(rpc_body_check(deep, strlen(deep), 64, why, sizeof(why)), 0);
	/* Closed elements do not add up. */
	char flat[8192] = "";
	for (int i = 0; i < 500; i++)
		strcat(flat, "<a></a><b/>");
	assert_int_equal(rpc_body_check(flat, strlen(flat), 64, why, sizeof(why)), 0);
}

/* Markup that only looks like tags must not hide real nesting from the check: fake end
 * tags inside a comment or a processing instruction, and a '/>' or '>' inside an
 * attribute value (legal XML) are not the end of an element. Each of these let a body
 * nest deep enough to overflow xmlrpc-c's recursive tree free. */
static void test_body_check_not_fooled(void **state)
{
	char why[200];
	size_t cap = 64 * 1024;
	char *b = malloc(cap);
	(void)state;
	assert_non_null(b);

	static const char *const hide[][2] = {
		{ "<!--", "-->" },              /* comment holding '</a>' */
		{ "<?pi ", "?>" },              /* processing instruction holding '</a>' */
	};
	for (size_t k = 0; k < sizeof(hide) / sizeof(hide[0]); k++) {
		strcpy(b, hide[k][0]);
		for (int i = 0; i < 1000; i++)
			strcat(b, "</a>");
		strcat(b, hide[k][1]);
		for (int i = 0; i < 600; i++)
			strcat(b, "<a>");
		assert_int_equal(rpc_body_check(b, strlen(b), 64, why, sizeof(why)), -1);
		assert_non_null(strstr(why, "nested deeper"));
	}
	for (const char *const *t = (const char *const[]){ "<a x=\"/>\">", "<a x='/>'>",
							   "<a x='>' y=\"/>\">", NULL }; *t; t++) {
		b[0] = '\0';
		for (int i = 0; i < 600; i++)
			strcat(b, *t);
		assert_int_equal(rpc_body_check(b, strlen(b), 64, why, sizeof(why)), -1);
		assert_non_null(strstr(why, "nested deeper"));
	}
	/* Still accepted: comments, PIs and attributes with markup characters, flat. */
	const char *ok = "<?xml version='1.0'?><!-- <a><a><a> --><?pi <b> ?>"
			 "<methodCall x='a>b' y=\"/>\"><methodName>ping</methodName><a/><b x='/'/>"
			 "</methodCall>";
	assert_int_equal(rpc_body_check(ok, strlen(ok), 1, why, sizeof(why)), 0);
	free(b);
}

static void test_parse_errors(void **state)
{
	char why[200], *m = NULL;
	xmlrpc_value *p = NULL;
	(void)state;
	assert_int_equal(rpc_parse_call("junk", 4, &m, &p, why, sizeof(why)), -1);
	assert_true(strlen(why) > 0);
	const char *trunc = "<methodCall><methodName>ping</methodName><params>";
	assert_int_equal(rpc_parse_call(trunc, strlen(trunc), &m, &p, why, sizeof(why)), -1);
}

/* The fast path for parameterless calls must agree with the full parser. */
static void test_parse_fast_path(void **state)
{
	static const char *const good[] = {
		"<?xml version='1.0'?>\n<methodCall>\n<methodName>ping</methodName>\n<params>\n</params>\n</methodCall>\n",
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?><methodCall><methodName>getAllVmStats</methodName><params/></methodCall>",
		"<methodCall><methodName>list</methodName></methodCall>",
		"  <methodCall> <methodName>system.listMethods</methodName> <params> </params> </methodCall>  ",
	};
	static const char *const names[] = { "ping", "getAllVmStats", "list", "system.listMethods" };
	static const char *const slow_or_bad[] = {
		"<methodCall><methodName>ping</methodName><params><param><value>x</value></param></params></methodCall>",
		"<methodCall><methodName>pi ng</methodName></methodCall>",
		"<methodCall><methodName>ping</methodName></methodCall>trailing",
		"<methodCall><methodName></methodName></methodCall>",
		"<methodCall><methodName>ping</methodName>",
		"<?xml <bad?><methodCall><methodName>ping</methodName></methodCall>",
	};
	char why[256], *m;
	xmlrpc_value *p;
	xmlrpc_env env;
	(void)state;
	xmlrpc_env_init(&env);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(rpc_parse_call(good[i], strlen(good[i]), &m, &p, why, sizeof(why)), 0);
		assert_string_equal(m, names[i]);
		assert_int_equal(xmlrpc_array_size(&env, p), 0);
		free(m);
		xmlrpc_DECREF(p);
	}
	/* Not the fast shape: the full parser decides (params, or a fault). */
	assert_int_equal(rpc_parse_call(slow_or_bad[0], strlen(slow_or_bad[0]), &m, &p, why, sizeof(why)), 0);
	assert_int_equal(xmlrpc_array_size(&env, p), 1);
	free(m);
	xmlrpc_DECREF(p);
	for (size_t i = 1; i < sizeof(slow_or_bad) / sizeof(slow_or_bad[0]); i++) {
		int r = rpc_parse_call(slow_or_bad[i], strlen(slow_or_bad[i]), &m, &p, why, sizeof(why));
		if (r == 0) {
			/* whatever the full parser accepts must not be a mangled name */
			assert_true(strcmp(m, "ping") != 0 || i == 2);
			free(m);
			xmlrpc_DECREF(p);
		}
	}
	xmlrpc_env_clean(&env);
}

static void test_json(void **state)
{
	xmlrpc_env env;
	char *buf = NULL;
	size_t len = 0;
	(void)state;
	xmlrpc_env_init(&env);
	xmlrpc_value *v = rpc_json_parse(&env, "{\"a\": 1, \"b\": [true, \"x\"], \"c\": 6000000000}");
	assert_false(env.fault_occurred);
	assert_false(rpc_value_has_forbidden(v));
	assert_int_equal(xmlrpc_value_type(rpc_struct_get(v, "a")), XMLRPC_TYPE_INT);
	assert_int_equal(xmlrpc_value_type(rpc_struct_get(v, "c")), XMLRPC_TYPE_STRING);
	FILE *f = open_memstream(&buf, &len);
	rpc_json_write(f, v, 0);
	fclose(f);
	assert_string_equal(buf, "{\"a\":1,\"b\":[true,\"x\"],\"c\":\"6000000000\"}");
	free(buf);
	xmlrpc_DECREF(v);
	assert_null(rpc_json_parse(&env, "{bad"));
	xmlrpc_env_clean(&env);
}

static void test_struct_copy(void **state)
{
	xmlrpc_env env;
	(void)state;
	xmlrpc_env_init(&env);
	xmlrpc_value *a = rpc_struct_new(&env);
	rpc_set_str(&env, a, "x", "1");
	xmlrpc_value *b = rpc_struct_copy_shallow(&env, a);
	rpc_set_str(&env, b, "y", "2");
	assert_int_equal(xmlrpc_struct_size(&env, a), 1);
	assert_int_equal(xmlrpc_struct_size(&env, b), 2);
	xmlrpc_DECREF(a);
	xmlrpc_DECREF(b);
	xmlrpc_env_clean(&env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_scalars), cmocka_unit_test(test_parse_types),
		cmocka_unit_test(test_coercion_rules),     cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_body_check),         cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_body_check_not_fooled),
		cmocka_unit_test(test_json), cmocka_unit_test(test_parse_fast_path),               cmocka_unit_test(test_struct_copy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
