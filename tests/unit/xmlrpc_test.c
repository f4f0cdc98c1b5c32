/* rpc/xmlrpc.c: codec round trips of every type, coercion rules, envelope, prechecks. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
	struct vd_error why = { 0 };
	xmlrpc_env env;

	snprintf(body, sizeof(body),
		 "<?xml version='1.0'?><methodCall><methodName>m</methodName><params><param>"
		 "<value>%s</value></param></params></methodCall>", xmlval);
	assert_int_equal(rpc_parse_call(body, strlen(body), &method, &params, vd_error_fresh(&why)), 0);
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
	struct vd_error why = { 0 };
	(void)state;
	const char *ok = "<?xml version='1.0'?><methodCall><methodName>ping</methodName>"
			 "<params/></methodCall>";
	assert_int_equal(rpc_body_check(ok, strlen(ok), 64, vd_error_fresh(&why)), 0);
	const char *comment = "<methodCall><!-- c --><methodName>ping</methodName></methodCall>";
	assert_int_equal(rpc_body_check(comment, strlen(comment), 64, vd_error_fresh(&why)), 0);
	const char *cdata = "<methodCall><methodName><![CDATA[<<<<]]></methodName></methodCall>";
	assert_int_equal(rpc_body_check(cdata, strlen(cdata), 1, vd_error_fresh(&why)), 0);
	const char *dt = "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><methodCall/>";
	assert_int_equal(rpc_body_check(dt, strlen(dt), 64, vd_error_fresh(&why)), -1);
	assert_non_null(strstr(why.msg, "DOCTYPE"));

	/* Depth: 4 elements per value nesting level + 8. */
	char deep[8192] = "";
	for (int i = 0; i < 300; i++)
		strcat(deep, "<a>");
	assert_int_equal(rpc_body_check(deep, strlen(deep), 64, vd_error_fresh(&why)), -1);
	assert_non_null(strstr(why.msg, "nested deeper than 264"));
	deep[264 * 3] = '\0';
	assert_int_equal(rpc_body_check(deep, strlen(deep), 64, vd_error_fresh(&why)), 0);
	/* Closed elements do not add up. */
	char flat[8192] = "";
	for (int i = 0; i < 500; i++)
		strcat(flat, "<a></a><b/>");
	assert_int_equal(rpc_body_check(flat, strlen(flat), 64, vd_error_fresh(&why)), 0);
}

/* Markup that only looks like tags must not hide real nesting from the check: fake end
 * tags inside a comment or a processing instruction, and a '/>' or '>' inside an
 * attribute value (legal XML) are not the end of an element. Each of these let a body
 * nest deep enough to overflow xmlrpc-c's recursive tree free. */
static void test_body_check_not_fooled(void **state)
{
	struct vd_error why = { 0 };
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
		assert_int_equal(rpc_body_check(b, strlen(b), 64, vd_error_fresh(&why)), -1);
		assert_non_null(strstr(why.msg, "nested deeper"));
	}
	for (const char *const *t = (const char *const[]){ "<a x=\"/>\">", "<a x='/>'>",
							   "<a x='>' y=\"/>\">", NULL }; *t; t++) {
		b[0] = '\0';
		for (int i = 0; i < 600; i++)
			strcat(b, *t);
		assert_int_equal(rpc_body_check(b, strlen(b), 64, vd_error_fresh(&why)), -1);
		assert_non_null(strstr(why.msg, "nested deeper"));
	}
	/* Still accepted: comments, PIs and attributes with markup characters, flat. */
	const char *ok = "<?xml version='1.0'?><!-- <a><a><a> --><?pi <b> ?>"
			 "<methodCall x='a>b' y=\"/>\"><methodName>ping</methodName><a/><b x='/'/>"
			 "</methodCall>";
	assert_int_equal(rpc_body_check(ok, strlen(ok), 1, vd_error_fresh(&why)), 0);
	free(b);
}

static void test_parse_errors(void **state)
{
	struct vd_error why = { 0 };
	char *m = NULL;
	xmlrpc_value *p = NULL;
	(void)state;
	assert_int_equal(rpc_parse_call("junk", 4, &m, &p, vd_error_fresh(&why)), -EINVAL);
	assert_true(strlen(why.msg) > 0);
	const char *trunc = "<methodCall><methodName>ping</methodName><params>";
	assert_int_equal(rpc_parse_call(trunc, strlen(trunc), &m, &p, vd_error_fresh(&why)), -EINVAL);
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
	struct vd_error why = { 0 };
	char *m;
	xmlrpc_value *p;
	xmlrpc_env env;
	(void)state;
	xmlrpc_env_init(&env);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(rpc_parse_call(good[i], strlen(good[i]), &m, &p, vd_error_fresh(&why)), 0);
		assert_string_equal(m, names[i]);
		assert_int_equal(xmlrpc_array_size(&env, p), 0);
		free(m);
		xmlrpc_DECREF(p);
	}
	/* Not the fast shape: the full parser decides (params, or a fault). */
	assert_int_equal(rpc_parse_call(slow_or_bad[0], strlen(slow_or_bad[0]), &m, &p, vd_error_fresh(&why)), 0);
	assert_int_equal(xmlrpc_array_size(&env, p), 1);
	free(m);
	xmlrpc_DECREF(p);
	for (size_t i = 1; i < sizeof(slow_or_bad) / sizeof(slow_or_bad[0]); i++) {
		int r = rpc_parse_call(slow_or_bad[i], strlen(slow_or_bad[i]), &m, &p, vd_error_fresh(&why));
		if (r == 0) {
			/* whatever the full parser accepts must not be a mangled name */
			assert_true(strcmp(m, "ping") != 0 || i == 2);
			free(m);
			xmlrpc_DECREF(p);
		}
	}
	xmlrpc_env_clean(&env);
}

/* ---- scalar values (issue 9 item 1) ---- */

static char *call_body(const char *type, const char *text)
{
	char *b = NULL;
	assert_true(asprintf(&b, "<?xml version='1.0'?><methodCall><methodName>m</methodName><params>"
				 "<param><value><%s>%s</%s></value></param></params></methodCall>",
			     type, text, type) > 0);
	return b;
}

/* What xmlrpc-c 1.33 itself says of a body (no check of ours in front). */
static bool library_accepts(const char *body)
{
	xmlrpc_env env;
	const char *m = NULL;
	xmlrpc_value *p = NULL;
	bool ok;

	xmlrpc_env_init(&env);
	xmlrpc_parse_call(&env, body, strlen(body), &m, &p);
	ok = !env.fault_occurred;
	if (ok) {
		free((char *)m);
		xmlrpc_DECREF(p);
	}
	xmlrpc_env_clean(&env);
	return ok;
}

/* The reading xmlrpc-c 1.33 gives an <i8> text (parseI8 + xmlrpc_parse_int64), for
 * texts without markup. Never given to the library when it fails: that crashes it. */
static bool i8_oracle(const char *s)
{
	char *end;
	if (!*s || isspace((unsigned char)*s))
		return false;
	errno = 0;
	(void)strtoll(s, &end, 10);
	return errno == 0 && !*end;
}

static const char *const int_texts[] = {
	"0", "-0", "+0", "1", "-1", "+5", "007", "2147483647", "2147483648", "-2147483648",
	"-2147483649", "99999999999", "4294967296", "9223372036854775807", "9223372036854775808",
	"-9223372036854775808", "-9223372036854775809", "18446744073709551616",
	"99999999999999999999", "-99999999999999999999", "0000000000000000000000000000000000001",
	"", " 1", "1 ", "\t1", "12x", "x", "+", "-", "+-1", "--1", "0x10", "1.0", "1e3",
	"\xd9\xa1", "1&#x30;", "&#x31;2", "<![CDATA[42]]>", "4<!-- c -->2", "4<?pi x?>2",
	"&#x39;223372036854775808", "9<![CDATA[223372036854775808]]>",
};
static const char *const double_texts[] = {
	"0", "1.5", "-1.5", ".5", "5.", "+.5", "-.5", ".", "-", "+", "", "1.2.3", "1,5", "abc",
	"1e", "e5", "1e300", "-1e300", "1e308", "1.7976931348623157e308", "1e309", "-1e400",
	"1e-300", "1e-400", "4e-320", "inf", "-inf", "+INF", "Infinity", "nan", "-nan", "NAN(12)",
	"0x1p3", "0x1p99999", " 1.5", "\n1.5", "1.5 ", "1e5 ",
	"179769313486231570814527423731704356798070567525844996598917476803157260780028538760589"
	"558632766878171540458953514382464234321326889464182768467546703537516986049910576551282"
	"076245490090389328944075868508455133942304583236903222948165808559332123348274797826204"
	"144723168738177180919299881250404026184124858368",
	"179769313486231570814527423731704356798070567525844996598917476803157260780028538760589"
	"558632766878171540458953514382464234321326889464182768467546703537516986049910576551282"
	"076245490090389328944075868508455133942304583236903222948165808559332123348274797826204"
	"1447231687381771809192998812504040261841248583680",
	"1797693134862315807937289714053034150799341327100378269361737789804449682927647509466490"
	"179775872070963302864166928879109465555478519404026306574886715058206819089020007083836"
	"762738548458177115317644757302700698555713669596228429148198608349364752927190741684443"
	"65510704342711559699508093042880177904174497792",
	"0.0000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000000000000000000000000000000000000000001",
	"1&#x2e;5", "&#x69;nf",
};
static const char *const datetime_texts[] = {
	"20260101T00:00:00", "2026-01-01T00:00:00", "2026-0101T00:00:00", "20260101t00:00:00",
	"20260101T000000", "20260101T00:00:00.", "20260101T00:00:00.5", "20260101T00:00:001234",
	"20260101T00:00:00.1234567890123", "20260101T00:00:00Z", "20260101T00:00:00z",
	"20260101T00:00:00+01", "20260101T00:00:00-0130", "20260101T00:00:00+013",
	"20260101T00:00:00+1", "20260101T00:00:00+01234", "20260101T00:00:00\\01",
	"20260101T00:00:00\\", "20260101T00:00:00Z01", "20260101T00:00:00.5Z", "20261301T00:00:00",
	"20260001T00:00:00", "20260100T00:00:00", "20260132T00:00:00", "20260131T23:59:59",
	"20260101T24:00:00", "20260101T00:60:00", "20260101T00:00:60", "00000101T00:00:00",
	"99991231T23:59:59", "99999999T99:99:99", "garbage", "", "20260101 00:00:00",
	"20260101T00:00:00 ", " 20260101T00:00:00", "2026010T00:00:00", "202601011T00:00:00",
	"20260101T00:00", "2026&#x2d;01-01T00:00:00",
};
static const char *const base64_texts[] = {
	"", "aGk=", "aGVsbG8=", "aGk", "a", "ab", "abc", "aGk===", "=aGk", "aGk=\n", "aG\nk=",
	"a G k =", "\taGk=", "!!!", "aGk=!!", "====", "aG==", "a===", "aGk=aGk=", "aGVs\nbG8=\n",
	"&#x61;Gk=", "aGk&#x3d;",
};
static const char *const bool_texts[] = { "0", "1", "2", "01", "true", "", " 1", "1 ", "&#x31;" };

/* rpc_body_check() says exactly what the library says, for every scalar type, except
 * where the library would crash (<i8> it cannot read) or take a value it cannot write
 * back (infinite or NaN <double>). */
static void test_scalar_check_agrees_with_library(void **state)
{
	static const struct {
		const char *type;
		const char *const *texts;
		size_t n;
	} sets[] = {
#define SET(type, list) { type, list, sizeof(list) / sizeof(list[0]) }
		SET("int", int_texts),		    SET("i4", int_texts),
		SET("ex:i2", int_texts),	    SET("i8", int_texts),
		SET("ex:i8", int_texts),	    SET("double", double_texts),
		SET("dateTime.iso8601", datetime_texts), SET("base64", base64_texts),
		SET("boolean", bool_texts),	    SET("boolean", int_texts),
		SET("double", int_texts),
#undef SET
	};
	struct vd_error why = { 0 };
	size_t checked = 0, i8_refused = 0, nonfinite = 0;
	(void)state;

	for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
		for (size_t i = 0; i < sets[s].n; i++) {
			const char *text = sets[s].texts[i];
			char *body = call_body(sets[s].type, text);
			bool ours = rpc_body_check(body, strlen(body), 64, vd_error_fresh(&why)) == 0;
			bool is_i8 = strstr(sets[s].type, "i8") != NULL;
			if (is_i8 && !ours) {
				/* never given to the library: it crashes on these */
				if (!strchr(text, '&') && !strchr(text, '<') && i8_oracle(text))
					fail_msg("<%s>%s</%s>: refused, library reads it", sets[s].type, text,
						 sets[s].type);
				i8_refused++;
				free(body);
				continue;
			}
			bool lib = library_accepts(body);
			if (ours != lib) {
				if (lib && strcmp(sets[s].type, "double") == 0 &&
				    strstr(why.msg, "not a finite number")) {
					nonfinite++;
				} else {
					fail_msg("<%s>%s</%s>: ours %s (%s), library %s", sets[s].type, text,
						 sets[s].type, ours ? "accepts" : "refuses", ours ? "" : why.msg,
						 lib ? "accepts" : "refuses");
				}
			}
			if (!ours) {
				/* the message names the type and quotes the value */
				char tag[40];
				snprintf(tag, sizeof(tag), "<%s> value '", sets[s].type);
				if (strncmp(why.msg, tag, strlen(tag)) != 0)
					fail_msg("<%s>%s</%s>: message '%s'", sets[s].type, text, sets[s].type, why.msg);
			}
			checked++;
			free(body);
		}
	}
	assert_true(checked > 250);
	assert_true(i8_refused > 20);
	assert_int_equal(nonfinite, 8); /* inf -inf +INF Infinity nan -nan NAN(12) &#x69;nf */
}

static void assert_refused(const char *type, const char *text, const char *msg)
{
	struct vd_error why = { 0 };
	char *body = call_body(type, text);
	if (rpc_body_check(body, strlen(body), 64, vd_error_fresh(&why)) != -1)
		fail_msg("<%s>%s</%s> accepted", type, text, type);
	if (!strstr(why.msg, msg))
		fail_msg("<%s>%s</%s>: '%s' does not contain '%s'", type, text, type, why.msg, msg);
	free(body);
}

static void assert_accepted(const char *type, const char *text)
{
	struct vd_error why = { 0 };
	char *body = call_body(type, text);
	if (rpc_body_check(body, strlen(body), 64, vd_error_fresh(&why)) != 0)
		fail_msg("<%s>%s</%s> refused: %s", type, text, type, why.msg);
	free(body);
}

/* Boundaries, and each type's out-of-range and malformed text named in the message. */
static void test_scalar_check_messages(void **state)
{
	(void)state;
	assert_refused("i8", "9223372036854775808",
		       "<i8> value '9223372036854775808' is out of the 64-bit range");
	assert_refused("i8", "-9223372036854775809", "<i8> value '-9223372036854775809' is out of");
	assert_refused("i8", "99999999999999999999", "'99999999999999999999' is out of");
	assert_refused("ex:i8", "12x", "<ex:i8> value '12x' is not an integer");
	assert_refused("i8", "", "<i8> value '' is not an integer");
	assert_refused("i8", " 1", "value ' 1' is not an integer");
	assert_accepted("i8", "-9223372036854775808");
	assert_accepted("i8", "9223372036854775807");
	assert_accepted("i8", "+0009223372036854775807");
	assert_refused("int", "2147483648", "<int> value '2147483648' is out of the 32-bit range");
	assert_refused("i4", "-2147483649", "<i4> value '-2147483649' is out of the 32-bit range");
	assert_refused("int", "1x", "<int> value '1x' is not an integer");
	assert_accepted("int", "-2147483648");
	assert_accepted("i4", "2147483647");
	assert_refused("double", "1e400", "<double> value '1e400' is out of the range of a double");
	assert_refused("double", "inf", "<double> value 'inf' is not a finite number");
	assert_refused("double", "nan", "<double> value 'nan' is not a finite number");
	assert_refused("double", "1.2.3", "<double> value '1.2.3' is not a number");
	assert_accepted("double", "1e300");
	assert_accepted("double", "-1.7976931348623157e308");
	assert_refused("boolean", "true", "<boolean> value 'true' is not 0 or 1");
	assert_accepted("boolean", "0");
	assert_refused("dateTime.iso8601", "20261301T00:00:00",
		       "<dateTime.iso8601> value '20261301T00:00:00' is not a date and time");
	assert_refused("dateTime.iso8601", "yesterday", "value 'yesterday' is not a date");
	assert_accepted("dateTime.iso8601", "20261231T23:59:59");
	assert_refused("base64", "aGk", "<base64> value 'aGk' is not base64");
	assert_refused("base64", "aGk=\xc3\xa9", "is not base64"); /* the library masks to 7 bits */
	assert_accepted("base64", "aGk=");
	/* Long values are cut on a character boundary. */
	assert_refused("i8", "1234567890123456789012345678901234567\xf0\x9f\x98\x80xyz",
		       "'1234567890123456789012345678901234567...' is not an integer");
	/* rpc_scalar_check() on its own, and types it leaves alone. */
	struct vd_error why = { 0 };
	assert_int_equal(rpc_scalar_check("i8", "1e3", vd_error_fresh(&why)), -1);
	assert_string_equal(why.msg, "<i8> value '1e3' is not an integer");
	assert_int_equal(rpc_scalar_check("string", "anything", vd_error_fresh(&why)), 0);
	assert_int_equal(rpc_scalar_check("I8", "x", vd_error_fresh(&why)), 0); /* not a type name */
}

/* The text is read as expat delivers it: references, CDATA, comments and PIs inside the
 * element, attributes on the tag, self-closing tags, CR LF. */
static void test_scalar_check_reads_xml_text(void **state)
{
	static const struct {
		const char *body_part;
		const char *refused; /* NULL: accepted */
	} cases[] = {
		{ "<i8>&#x39;223372036854775808</i8>", "'9223372036854775808' is out of" },
		{ "<i8>&#57;223372036854775808</i8>", "'9223372036854775808' is out of" },
		{ "<i8>&#0000057;223372036854775808</i8>", "'9223372036854775808' is out of" },
		{ "<i8>9<!-- - -->223372036854775808</i8>", "'9223372036854775808' is out of" },
		{ "<i8>9<?x ?>223372036854775808</i8>", "'9223372036854775808' is out of" },
		{ "<i8><![CDATA[9223372036854775808]]></i8>", "'9223372036854775808' is out of" },
		{ "<i8 a='1' b=\"/>\">9223372036854775808</i8 >", "'9223372036854775808' is out of" },
		{ "<i8\n>x</i8>", "'x' is not an integer" },
		{ "<i8/>", "<i8> value '' is not an integer" },
		{ "<i8 />", "<i8> value '' is not an integer" },
		{ "<i8> 1</i8>", "' 1' is not an integer" },
		{ "<i8>1\r\n</i8>", "'1?' is not an integer" },
		{ "<i8>1\r</i8>", "'1?' is not an integer" },
		{ "<i8>1&#13;\x1b</i8>", "'1?" "?' is not an integer" },
		{ "<i8>&bogus;</i8>", "<i8> value '&bogus;' has an undefined entity" },
		{ "<i8>&#1;</i8>", "has an undefined entity or an invalid character reference" },
		{ "<i8>&#xD800;</i8>", "invalid character reference" },
		{ "<i8>&#x110000;</i8>", "invalid character reference" },
		{ "<i8>&#X31;</i8>", "invalid character reference" },
		{ "<i8>&#;</i8>", "invalid character reference" },
		{ "<i8>&#x31</i8>", "invalid character reference" },
		{ "<i8>&#x31;&#x32;</i8>", NULL },
		{ "<i8>&#x2d;1</i8>", NULL },
		{ "<boolean>&#x31;</boolean>", NULL },
		{ "<double><![CDATA[1.5]]></double>", NULL },
		{ "<base64>aG<!-- x -->k=</base64>", NULL },
		{ "<base64/>", NULL },
		/* not scalar elements: their text is the library's business */
		{ "<string>9223372036854775808</string>", NULL },
		{ "<i8x>9223372036854775808</i8x>", NULL },
		{ "<I8>9223372036854775808</I8>", NULL },
		/* markup that only looks like the element */
		{ "<string><!-- <i8>x</i8> --></string>", NULL },
		{ "<string><![CDATA[<i8>x</i8>]]></string>", NULL },
		/* a child element: the library refuses the value without reading its text */
		{ "<i8>x<b/></i8>", NULL },
		{ "<i8><i8>1</i8></i8>", NULL },
		{ "<i8><i8>x</i8></i8>", "'x' is not an integer" },
	};
	struct vd_error why = { 0 };
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *body = NULL;
		assert_true(asprintf(&body, "<methodCall><methodName>m</methodName><params><param>"
					    "<value>%s</value></param></params></methodCall>",
				     cases[i].body_part) > 0);
		int r = rpc_body_check(body, strlen(body), 64, vd_error_fresh(&why));
		if (cases[i].refused && (r != -1 || !strstr(why.msg, cases[i].refused)))
			fail_msg("%s: got %d '%s', want '%s'", cases[i].body_part, r, r ? why.msg : "",
				 cases[i].refused);
		if (!cases[i].refused && r != 0)
			fail_msg("%s: refused: %s", cases[i].body_part, why.msg);
		free(body);
	}
	/* Unterminated: the parser reports it. */
	const char *trunc = "<methodCall><methodName>m</methodName><params><param><value><i8>99999";
	assert_int_equal(rpc_body_check(trunc, strlen(trunc), 64, vd_error_fresh(&why)), 0);
}

/* Text in UTF-16 (expat reads it) hides markup from a byte scan: NUL bytes refused. */
static void test_body_check_refuses_nul(void **state)
{
	const char *ascii = "<?xml version='1.0' encoding='UTF-16'?><methodCall><methodName>m"
			    "</methodName><params><param><value><i8>x</i8></value></param></params>"
			    "</methodCall>";
	size_t n = strlen(ascii);
	char *u16 = malloc(2 * n + 2);
	struct vd_error why = { 0 };
	(void)state;

	u16[0] = (char)0xff;
	u16[1] = (char)0xfe;
	for (size_t i = 0; i < n; i++) {
		u16[2 + 2 * i] = ascii[i];
		u16[3 + 2 * i] = '\0';
	}
	assert_int_equal(rpc_body_check(u16, 2 * n + 2, 64, vd_error_fresh(&why)), -1);
	assert_non_null(strstr(why.msg, "NUL bytes"));
	char *m = NULL;
	xmlrpc_value *p = NULL;
	assert_int_equal(rpc_parse_call(u16, 2 * n + 2, &m, &p, vd_error_fresh(&why)), -EBADMSG);
	assert_int_equal(rpc_body_check("<a>\0</a>", 8, 64, vd_error_fresh(&why)), -1);
	free(u16);
}

/* rpc_parse_call() checks on its own: an <i8> the library cannot read never reaches it. */
static void test_parse_call_checks_scalars(void **state)
{
	struct vd_error why = { 0 };
	char *m = NULL;
	xmlrpc_value *p = NULL;
	(void)state;
	char *body = call_body("i8", "9223372036854775808");
	assert_int_equal(rpc_parse_call(body, strlen(body), &m, &p, vd_error_fresh(&why)), -EBADMSG);
	assert_non_null(strstr(why.msg, "<i8> value '9223372036854775808' is out of the 64-bit range"));
	assert_null(m);
	free(body);
	body = call_body("i8", "-9223372036854775808");
	assert_int_equal(rpc_parse_call(body, strlen(body), &m, &p, vd_error_fresh(&why)), 0);
	xmlrpc_value *v = NULL;
	xmlrpc_env env;
	xmlrpc_env_init(&env);
	xmlrpc_array_read_item(&env, p, 0, &v);
	long long ll = 0;
	assert_int_equal(rpc_to_ll(v, &ll), RPC_OK);
	assert_true(ll == LLONG_MIN);
	xmlrpc_DECREF(v);
	xmlrpc_DECREF(p);
	free(m);
	free(body);
	xmlrpc_env_clean(&env);
}

/* Infinity and NaN cannot be written by xmlrpc-c (endless recursion; NaN as 0). */
static void test_double_not_finite(void **state)
{
	xmlrpc_env env;
	(void)state;
	xmlrpc_env_init(&env);
	assert_null(rpc_double(&env, 1.0 / 0.0));
	assert_true(env.fault_occurred);
	xmlrpc_env_clean(&env);
	xmlrpc_env_init(&env);
	assert_null(rpc_double(&env, nan("")));
	assert_true(env.fault_occurred);
	xmlrpc_env_clean(&env);
	xmlrpc_env_init(&env);
	xmlrpc_value *v = rpc_double(&env, -1.7976931348623157e308);
	assert_non_null(v);
	xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);
}

/* ---- UTF-8 (issue 9 item 4) ---- */

#define EMOJI "\xf0\x9f\x98\x80" /* U+1F600, outside the Basic Multilingual Plane */

/* xmlrpc_validate_utf8() is ours (rpc/xmlrpc.c overrides the library's): every valid
 * sequence, 4-byte ones included; nothing invalid. */
static void test_utf8_validate(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
		{ "plain", true },
		{ "caf\xc3\xa9", true },
		{ "\xe2\x82\xac", true },		/* U+20AC */
		{ "\xef\xbf\xbd", true },		/* U+FFFD */
		{ EMOJI, true },
		{ "\xf0\x90\x80\x80", true },		/* U+10000 */
		{ "\xf4\x8f\xbf\xbf", true },		/* U+10FFFF */
		{ "probe-" EMOJI "-x", true },
		{ "\x7f\x01\t", true },			/* as the library: control bytes pass */
		{ "\xc0\xaf", false },			/* overlong '/' */
		{ "\xc1\xbf", false },
		{ "\xe0\x80\xaf", false },		/* overlong, 3 bytes */
		{ "\xf0\x80\x80\xaf", false },		/* overlong, 4 bytes */
		{ "\xf0\x8f\xbf\xbf", false },		/* overlong U+FFFF */
		{ "\xed\xa0\x80", false },		/* U+D800 */
		{ "\xed\xbf\xbf", false },		/* U+DFFF */
		{ "\xed\xa0\xbd\xed\xb8\x80", false },	/* CESU-8 surrogate pair */
		{ "\xf4\x90\x80\x80", false },		/* U+110000 */
		{ "\xf5\x80\x80\x80", false },
		{ "\xf8\x88\x80\x80\x80", false },	/* 5-byte form */
		{ "\xef\xbf\xbe", false },		/* U+FFFE */
		{ "\xef\xbf\xbf", false },		/* U+FFFF */
		{ "\xf0\x9f\x98", false },		/* truncated */
		{ "\xf0\x9f\x98x", false },
		{ "\x80", false },
		{ "a\xff", false },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		xmlrpc_env env;
		xmlrpc_env_init(&env);
		xmlrpc_validate_utf8(&env, cases[i].s, strlen(cases[i].s));
		if (env.fault_occurred == cases[i].ok)
			fail_msg("case %zu: %s", i, env.fault_occurred ? env.fault_string : "accepted");
		if (env.fault_occurred)
			assert_int_equal(env.fault_code, XMLRPC_INVALID_UTF8_ERROR);
		xmlrpc_env_clean(&env);
		/* and so every string constructor of the library */
		xmlrpc_env_init(&env);
		xmlrpc_value *v = xmlrpc_string_new_lp(&env, strlen(cases[i].s), cases[i].s);
		assert_int_equal(!env.fault_occurred, cases[i].ok);
		if (!env.fault_occurred) /* v is not set on failure */
			xmlrpc_DECREF(v);
		xmlrpc_env_clean(&env);
	}
}

/* A 4-byte character comes in (as raw UTF-8 and as a character reference, in a value
 * and in a struct key) and goes out byte-identical, in a reply and in a fault. */
static void test_utf8_outside_bmp_round_trip(void **state)
{
	xmlrpc_env env;
	(void)state;
	xmlrpc_env_init(&env);

	xmlrpc_value *v = parse_param("<string>probe-" EMOJI "</string>");
	char *s = rpc_to_string(v);
	assert_string_equal(s, "probe-" EMOJI);
	free(s);
	xmlrpc_DECREF(v);
	v = parse_param("probe-&#x1F600;&#128512;");
	s = rpc_to_string(v);
	assert_string_equal(s, "probe-" EMOJI EMOJI);
	free(s);
	xmlrpc_DECREF(v);
	v = parse_param("<struct><member><name>k" EMOJI "</name><value>v</value></member></struct>");
	assert_non_null(rpc_struct_get(v, "k" EMOJI));
	xmlrpc_DECREF(v);

	xmlrpc_value *st = rpc_struct_new(&env);
	rpc_set_str(&env, st, "vmName", "probe-" EMOJI);
	rpc_set_str(&env, st, "k" EMOJI, "x");
	assert_false(env.fault_occurred);
	struct rpc_blob *b = rpc_serialize_response(st);
	assert_non_null(b);
	assert_non_null(strstr(b->data, "<string>probe-" EMOJI "</string>"));
	assert_non_null(strstr(b->data, "<name>k" EMOJI "</name>"));
	rpc_blob_unref(b);
	xmlrpc_value *o = round_trip(st);
	s = rpc_to_string(rpc_struct_get(o, "vmName"));
	assert_string_equal(s, "probe-" EMOJI);
	free(s);
	xmlrpc_DECREF(o);
	xmlrpc_DECREF(st);

	b = rpc_serialize_fault(1, "method \"probe-" EMOJI "\" is not supported");
	assert_non_null(strstr(b->data, "<string>method \"probe-" EMOJI "\" is not supported</string>"));
	rpc_blob_unref(b);
	xmlrpc_env_clean(&env);
}

/* Our fault writer (fault string set by hand) writes what xmlrpc-c's own did. */
static void test_fault_bytes_unchanged(void **state)
{
	const char *msg = "<type 'exceptions.Exception'>:method \"x\" & y is not supported";
	xmlrpc_env env, fenv;
	(void)state;
	xmlrpc_env_init(&env);
	xmlrpc_env_init(&fenv);
	xmlrpc_env_set_fault(&fenv, 1, msg);
	xmlrpc_mem_block *mb = XMLRPC_MEMBLOCK_NEW(char, &env, 0);
	xmlrpc_serialize_fault(&env, mb, &fenv);
	assert_false(env.fault_occurred);
	struct rpc_blob *b = rpc_serialize_fault(1, msg);
	assert_int_equal(b->len, XMLRPC_MEMBLOCK_SIZE(char, mb));
	assert_memory_equal(b->data, XMLRPC_MEMBLOCK_CONTENTS(char, mb), b->len);
	rpc_blob_unref(b);
	XMLRPC_MEMBLOCK_FREE(char, mb);
	xmlrpc_env_clean(&fenv);
	xmlrpc_env_clean(&env);
}

/* The outgoing cleaner: every invalid byte becomes '?', 4-byte characters stay. */
static void test_utf8_outgoing_cleaner(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "probe-" EMOJI, "probe-" EMOJI },
		{ "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf" },
		{ "caf\xc3\xa9\t\n", "caf\xc3\xa9\t\n" },
		{ "x\xff\x01y", "x??y" },
		{ "a\x7f" "b\rc", "a?b\nc" },   /* CR kept by the cleaner; xmlrpc-c makes it LF */
		{ "\xc0\xaf", "??" },
		{ "\xe0\x80\xaf", "???" },
		{ "\xf0\x80\x80\xaf", "????" },
		{ "\xed\xa0\x80", "???" },
		{ "\xf4\x90\x80\x80", "????" },
		{ "\xf5\x80\x80\x80", "????" },
		{ "\xef\xbf\xbe|\xef\xbf\xbf", "???|???" },
		{ "\xf0\x9f\x98", "???" },
		{ "\xf0\x9f\x98x" EMOJI, "???x" EMOJI },
		{ "\xe2\x82", "??" },
	};
	xmlrpc_env env;
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		xmlrpc_env_init(&env);
		xmlrpc_value *v = rpc_str(&env, cases[i].in);
		assert_false(env.fault_occurred);
		const char *s = NULL;
		xmlrpc_read_string(&env, v, &s);
		if (strcmp(s, cases[i].out) != 0)
			fail_msg("case %zu: got '%s'", i, s);
		free((char *)s);
		xmlrpc_DECREF(v);
		/* and in a fault */
		struct rpc_blob *b = rpc_serialize_fault(1, cases[i].in);
		char *want = NULL;
		assert_true(asprintf(&want, "<string>%s</string>", cases[i].out) > 0);
		if (!strstr(b->data, want))
			fail_msg("fault case %zu: %s", i, b->data);
		free(want);
		rpc_blob_unref(b);
		xmlrpc_env_clean(&env);
	}
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
		cmocka_unit_test(test_scalar_check_agrees_with_library),
		cmocka_unit_test(test_scalar_check_messages),
		cmocka_unit_test(test_scalar_check_reads_xml_text),
		cmocka_unit_test(test_body_check_refuses_nul),
		cmocka_unit_test(test_parse_call_checks_scalars),
		cmocka_unit_test(test_double_not_finite),
		cmocka_unit_test(test_utf8_validate),
		cmocka_unit_test(test_utf8_outside_bmp_round_trip),
		cmocka_unit_test(test_fault_bytes_unchanged),
		cmocka_unit_test(test_utf8_outgoing_cleaner),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
