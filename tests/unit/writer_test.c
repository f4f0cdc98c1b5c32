/* rpc/writer.c + rpc/writer_xmlrpc.c: the streaming reply writer.
 *
 * A golden reply with every type (tests/data/writer/all_types.xml;
 * VDSM_TEST_REGENERATE=1 rewrites it); byte equality with rpc_serialize_envelope() for
 * the same value tree; the writer's output parsed back by xmlrpc-c equals the tree;
 * escaping, 4-byte UTF-8, the i64 rule at its boundaries, and the
 * sticky error. */
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

#include "testutil.h"
#include "../../rpc/writer.h"
#include "../../rpc/xmlrpc.h"
#include "../../vdsm-c/util/util.h"

static struct rpc_blob *finish_ok(struct rpc_writer *w)
{
	struct rpc_blob *b = NULL;

	assert_int_equal(rpc_writer_finish(w, 0, "Done", &b), 0);
	assert_non_null(b);
	assert_int_equal(strlen(b->data), b->len);
	return b;
}

static xmlrpc_value *parse(const struct rpc_blob *b)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;
	int fcode = 0;
	const char *fstr = NULL;

	xmlrpc_env_init(&env);
	xmlrpc_parse_response2(&env, b->data, b->len, &v, &fcode, &fstr);
	if (env.fault_occurred)
		fail_msg("reply does not parse: %s", env.fault_string);
	assert_null(fstr);
	xmlrpc_env_clean(&env);
	assert_false(rpc_value_has_forbidden(v));
	return v;
}

/* Deep equality of two xmlrpc-c values (struct member order ignored). */
static bool same(xmlrpc_value *a, xmlrpc_value *b)
{
	xmlrpc_env env;
	bool eq = true;

	if (xmlrpc_value_type(a) != xmlrpc_value_type(b))
		return false;
	xmlrpc_env_init(&env);
	switch (xmlrpc_value_type(a)) {
	case XMLRPC_TYPE_INT: {
		int x, y;
		xmlrpc_read_int(&env, a, &x);
		xmlrpc_read_int(&env, b, &y);
		eq = x == y;
		break;
	}
	case XMLRPC_TYPE_BOOL: {
		xmlrpc_bool x, y;
		xmlrpc_read_bool(&env, a, &x);
		xmlrpc_read_bool(&env, b, &y);
		eq = !x == !y;
		break;
	}
	case XMLRPC_TYPE_DOUBLE: {
		/* xmlrpc-c's own decimal parser is off in the last digits (it reads
		 * 0.30000000000000004 as 0.3000000000000001, and long texts such as
		 * -2.5e-300 written out further off); that our text reads back exactly is
		 * checked with strtod in buf_test. */
		double x, y;
		xmlrpc_read_double(&env, a, &x);
		xmlrpc_read_double(&env, b, &y);
		eq = x == y || fabs(x - y) <= 1e-12 * (fabs(x) > fabs(y) ? fabs(x) : fabs(y));
		break;
	}
	case XMLRPC_TYPE_STRING: {
		const char *x = NULL, *y = NULL;
		size_t lx = 0, ly = 0;
		xmlrpc_read_string_lp(&env, a, &lx, &x);
		xmlrpc_read_string_lp(&env, b, &ly, &y);
		eq = lx == ly && memcmp(x, y, lx) == 0;
		free((char *)x);
		free((char *)y);
		break;
	}
	case XMLRPC_TYPE_ARRAY: {
		int n = xmlrpc_array_size(&env, a);
		eq = n == xmlrpc_array_size(&env, b);
		for (int i = 0; eq && i < n; i++) {
			xmlrpc_value *x = NULL, *y = NULL;
			xmlrpc_array_read_item(&env, a, i, &x);
			xmlrpc_array_read_item(&env, b, i, &y);
			eq = x && y && same(x, y);
			if (x)
				xmlrpc_DECREF(x);
			if (y)
				xmlrpc_DECREF(y);
		}
		break;
	}
	case XMLRPC_TYPE_STRUCT: {
		int n = xmlrpc_struct_size(&env, a);
		eq = n == xmlrpc_struct_size(&env, b);
		for (int i = 0; eq && i < n; i++) {
			xmlrpc_value *k = NULL, *x = NULL;
			const char *key = NULL;
			xmlrpc_struct_read_member(&env, a, i, &k, &x);
			xmlrpc_read_string(&env, k, &key);
			xmlrpc_value *y = rpc_struct_get(b, key);
			eq = y && same(x, y);
			if (!eq)
				print_message("member '%s' differs\n", key);
			free((char *)key);
			xmlrpc_DECREF(k);
			xmlrpc_DECREF(x);
		}
		break;
	}
	default:
		eq = false;
	}
	assert_false(env.fault_occurred);
	xmlrpc_env_clean(&env);
	return eq;
}

/* One payload written twice: with the writer, and as a value tree. Only what both
 * paths write the same way (doubles xmlrpc-c formats exactly; no CR, no characters
 * outside the BMP, no malformed 3-byte sequences: xmlrpc-c and rpc_str differ there). */
static void write_sample(struct rpc_writer *w)
{
	rpc_write_int(w, "int", -42);
	rpc_write_i64(w, "small64", 7);
	rpc_write_i64(w, "big64", 5000000000LL);
	rpc_write_bool(w, "t", true);
	rpc_write_bool(w, "f", false);
	rpc_write_double(w, "d", 1.5);
	rpc_write_double(w, "whole", 3.0);
	rpc_write_string(w, "s", "a<b>&c\"d' ]]>");
	rpc_write_string(w, "empty", "");
	rpc_write_string(w, "null", NULL);
	rpc_write_string(w, "utf8", "caf\xc3\xa9 \xe2\x82\xac");
	rpc_write_string(w, "badutf8", "x\xff\x01y\tz\n");
	rpc_write_string(w, "esc<&>name", "v");
	rpc_write_string_u64(w, "u64", 18446744073709551615ULL);
	rpc_write_string_i64(w, "neg", -5);
	rpc_write_string_fixed(w, "pct", 12.3456, 2);
	rpc_write_array_begin(w, "arr");
	rpc_write_int(w, NULL, 1);
	rpc_write_string(w, NULL, "two");
	rpc_write_struct_begin(w, NULL);
	rpc_write_string(w, "k", "v");
	rpc_write_struct_end(w);
	rpc_write_array_begin(w, NULL);
	rpc_write_array_end(w);
	rpc_write_array_end(w);
	rpc_write_struct_begin(w, "nested");
	rpc_write_struct_begin(w, "inner");
	rpc_write_bool(w, "deep", true);
	rpc_write_struct_end(w);
	rpc_write_struct_begin(w, "emptyStruct");
	rpc_write_struct_end(w);
	rpc_write_array_begin(w, "emptyArray");
	rpc_write_array_end(w);
	rpc_write_struct_end(w);
}

static xmlrpc_value *sample_tree(xmlrpc_env *env)
{
	xmlrpc_value *st = rpc_struct_new(env);

	rpc_set_int(env, st, "int", -42);
	rpc_set_i64(env, st, "small64", 7);
	rpc_set_i64(env, st, "big64", 5000000000LL);
	rpc_set_bool(env, st, "t", true);
	rpc_set_bool(env, st, "f", false);
	rpc_set_double(env, st, "d", 1.5);
	rpc_set_double(env, st, "whole", 3.0);
	rpc_set_str(env, st, "s", "a<b>&c\"d' ]]>");
	rpc_set_str(env, st, "empty", "");
	rpc_set_str(env, st, "null", NULL);
	rpc_set_str(env, st, "utf8", "caf\xc3\xa9 \xe2\x82\xac");
	rpc_set_str(env, st, "badutf8", "x\xff\x01y\tz\n");
	rpc_set_str(env, st, "esc<&>name", "v");
	rpc_set_strf(env, st, "u64", "%llu", 18446744073709551615ULL);
	rpc_set_strf(env, st, "neg", "%lld", -5LL);
	rpc_set_strf(env, st, "pct", "%.2f", 12.3456);
	xmlrpc_value *arr = rpc_array_new(env);
	rpc_append_int(env, arr, 1);
	rpc_append_str(env, arr, "two");
	xmlrpc_value *k = rpc_struct_new(env);
	rpc_set_str(env, k, "k", "v");
	rpc_append_take(env, arr, k);
	rpc_append_take(env, arr, rpc_array_new(env));
	rpc_set_take(env, st, "arr", arr);
	xmlrpc_value *nested = rpc_struct_new(env), *inner = rpc_struct_new(env);
	rpc_set_bool(env, inner, "deep", true);
	rpc_set_take(env, nested, "inner", inner);
	rpc_set_take(env, nested, "emptyStruct", rpc_struct_new(env));
	rpc_set_take(env, nested, "emptyArray", rpc_array_new(env));
	rpc_set_take(env, st, "nested", nested);
	assert_false(env->fault_occurred);
	return st;
}

static void test_same_bytes_as_value_tree(void **state)
{
	xmlrpc_env env;
	(void)state;

	struct rpc_writer *w = rpc_writer_new(RPC_WIRE_XMLRPC, 0);
	assert_non_null(w);
	write_sample(w);
	struct rpc_blob *mine = finish_ok(w);

	xmlrpc_env_init(&env);
	struct rpc_blob *theirs = rpc_serialize_envelope(&env, sample_tree(&env), 0, "Done");
	assert_non_null(theirs);
	if (mine->len != theirs->len || memcmp(mine->data, theirs->data, mine->len) != 0)
		fail_msg("writer:\n%s\nvalue tree:\n%s", mine->data, theirs->data);

	/* and an error envelope (status only) */
	w = rpc_writer_new(RPC_WIRE_XMLRPC, 0);
	struct rpc_blob *e1 = NULL;
	assert_int_equal(rpc_writer_finish(w, 16, "Unexpected exception: 'x' <bad>", &e1), 0);
	struct rpc_blob *e2 = rpc_serialize_envelope(&env, NULL, 16, "Unexpected exception: 'x' <bad>");
	assert_non_null(e2);
	assert_int_equal(e1->len, e2->len);
	assert_memory_equal(e1->data, e2->data, e1->len);
	assert_false(env.fault_occurred);
	xmlrpc_env_clean(&env);
	rpc_blob_unref(mine);
	rpc_blob_unref(theirs);
	rpc_blob_unref(e1);
	rpc_blob_unref(e2);
}

/* Parsed back by xmlrpc-c, the writer's reply is the tree rpc_envelope() would send,
 * including doubles the two write differently (0.1 + 0.2, 1e308, 2.5e-300). */
static void test_parses_as_value_tree(void **state)
{
	static const double doubles[] = { 0.1 + 0.2, 1.0 / 3, 1e-7, 123456.789012345, -2.5e-300,
					  1.7976931348623157e308, 0 };
	xmlrpc_env env;
	char key[16];
	(void)state;

	xmlrpc_env_init(&env);
	struct rpc_writer *w = rpc_writer_new(RPC_WIRE_XMLRPC, 0);
	write_sample(w);
	xmlrpc_value *tree = sample_tree(&env);
	for (size_t i = 0; i < sizeof(doubles) / sizeof(doubles[0]); i++) {
		snprintf(key, sizeof(key), "dbl%zu", i);
		rpc_write_double(w, key, doubles[i]);
		rpc_set_double(&env, tree, key, doubles[i]);
	}
	rpc_write_double_fixed(w, "fixed", 1234.5678, 6);
	rpc_set_double(&env, tree, "fixed", 1234.5678);
	struct rpc_blob *b = finish_ok(w);
	xmlrpc_value *want = rpc_envelope(&env, tree, 0, "Done");
	assert_non_null(want);
	xmlrpc_value *got = parse(b);
	assert_true(same(got, want));
	assert_true(same(want, got));
	xmlrpc_DECREF(got);
	xmlrpc_DECREF(want);
	rpc_blob_unref(b);
	assert_false(env.fault_occurred);
	xmlrpc_env_clean(&env);
}

static void test_golden(void **state)
{
	_cleanup_free_ char *path = test_data("writer/all_types.xml");
	(void)state;

	struct rpc_writer *w = rpc_writer_new(RPC_WIRE_XMLRPC, 0);
	write_sample(w);
	rpc_write_double(w, "third", 1.0 / 3);
	rpc_write_double_fixed(w, "sampleTime", 4321.5, 6);
	rpc_write_string(w, "cr", "a\r\nb\rc");
	rpc_write_string(w, "smiley \xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");
	rpc_write_string(w, "bad3", "\xed\xa0\x80\xe0\x80\xaf\xef\xbf\xbf");
	struct rpc_blob *b = finish_ok(w);
	if (getenv("VDSM_TEST_REGENERATE")) {
		assert_int_equal(util_write_atomic(path, b->data, b->len, 0644), 0);
	} else {
		_cleanup_free_ char *want = NULL;
		size_t len = 0;
		assert_int_equal(util_read_file(path, 1 << 20, &want, &len), 0);
		if (len != b->len || memcmp(want, b->data, len) != 0)
			fail_msg("differs from %s:\n%s", path, b->data);
	}
	rpc_blob_unref(b);
}

static void test_utf8_4byte_intact(void **state)
{
	(void)state;
	struct rpc_writer *w = rpc_writer_new(RPC_WIRE_XMLRPC, 0);
	rpc_write_string(w, "grin\xf0\x9f\x98\x80", "x\xf0\x9f\x98\x80y \xf4\x8f\xbf\xbf");
	rpc_write_string(w, "bad", "\xf4\x90\x80\x80\xf0\x9f\x98");
	struct rpc_blob *b = finish_ok(w);
	assert_non_null(strstr(b->data, "<member><name>grin\xf0\x9f\x98\x80</name>\r\n"
				       "<value><string>x\xf0\x9f\x98\x80y \xf4\x8f\xbf\xbf</string>"));
	assert_non_null(strstr(b->data, "<name>bad</name>\r\n<value><string>??????" "?</string>"));
	rpc_blob_unref(b);
}

static void test_i64_boundaries(void **state)
{
	static const struct {
		long long v;
		const char *want;
	} rows[] = {
		{ 0, "<i4>0</i4>" },
		{ INT_MAX, "<i4>2147483647</i4>" },
		{ INT_MIN, "<i4>-2147483648</i4>" },
		{ (long long)INT_MAX + 1, "<string>2147483648</string>" },
		{ (long long)INT_MIN - 1, "<string>-2147483649</string>" },
		{ LLONG_MAX, "<string>9223372036854775807</string>" },
		{ LLONG_MIN, "<string>-9223372036854775808</string>" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct rpc_writer *w = rpc_writer_new(RPC_WIRE_XMLRPC, 0);
		rpc_write_i64(w, "v", rows[i].v);
		struct rpc_blob *b = finish_ok(w);
		char want[128];
		snprintf(want, sizeof(want), "<name>v</name>\r\n<value>%s</value>", rows[i].want);
		if (!strstr(b->data, want))
			fail_msg("%lld: no '%s' in\n%s", rows[i].v, want, b->data);
		/* and the value path agrees */
		xmlrpc_env env;
		xmlrpc_env_init(&env);
		xmlrpc_value *st = rpc_struct_new(&env);
		rpc_set_i64(&env, st, "v", rows[i].v);
		struct rpc_blob *t = rpc_serialize_envelope(&env, st, 0, "Done");
		assert_int_equal(t->len, b->len);
		assert_memory_equal(t->data, b->data, b->len);
		xmlrpc_env_clean(&env);
		rpc_blob_unref(t);
		rpc_blob_unref(b);
	}
}

typedef void (*misuse_fn)(struct rpc_writer *w);

static void m_no_name(struct rpc_writer *w) { rpc_write_int(w, NULL, 1); }
static void m_name_in_array(struct rpc_writer *w)
{
	rpc_write_array_begin(w, "a");
	rpc_write_int(w, "x", 1);
	rpc_write_array_end(w);
}
static void m_status(struct rpc_writer *w) { rpc_write_string(w, "status", "x"); }
static void m_end_envelope(struct rpc_writer *w) { rpc_write_struct_end(w); }
static void m_wrong_end(struct rpc_writer *w)
{
	rpc_write_array_begin(w, "a");
	rpc_write_struct_end(w);
}
static void m_left_open(struct rpc_writer *w) { rpc_write_struct_begin(w, "s"); }
static void m_too_deep(struct rpc_writer *w)
{
	rpc_write_array_begin(w, "a");
	for (int i = 1; i <= RPC_WRITER_MAX_DEPTH; i++)
		rpc_write_array_begin(w, NULL);
}

static void test_sticky_error(void **state)
{
	static const misuse_fn fns[] = { m_no_name, m_name_in_array, m_status, m_end_envelope,
					 m_wrong_end, m_left_open, m_too_deep };
	(void)state;

	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		struct rpc_writer *w = rpc_writer_new(RPC_WIRE_XMLRPC, 0);
		struct rpc_blob *b = NULL;
		fns[i](w);
		if (fns[i] != m_left_open) {
			assert_int_equal(rpc_writer_error(w), -EINVAL);
			/* everything after is a no-op, even correct use */
			rpc_write_string(w, "later", "x");
			rpc_write_struct_begin(w, "s");
			rpc_write_struct_end(w);
			assert_int_equal(rpc_writer_error(w), -EINVAL);
		}
		assert_int_equal(rpc_writer_finish(w, 0, "Done", &b), -EINVAL);
		assert_null(b);
	}
	/* nesting up to the limit is fine */
	struct rpc_writer *w = rpc_writer_new(RPC_WIRE_XMLRPC, 0);
	rpc_write_array_begin(w, "a");
	for (int i = 1; i < RPC_WRITER_MAX_DEPTH; i++)
		rpc_write_array_begin(w, NULL);
	for (int i = 0; i < RPC_WRITER_MAX_DEPTH; i++)
		rpc_write_array_end(w);
	struct rpc_blob *b = finish_ok(w);
	xmlrpc_value *v = parse(b);
	xmlrpc_DECREF(v);
	rpc_blob_unref(b);
	/* dropping an unfinished writer, and NULL */
	w = rpc_writer_new(RPC_WIRE_XMLRPC, 1 << 20);
	rpc_write_struct_begin(w, "s");
	rpc_writer_free(w);
	rpc_writer_free(NULL);
	assert_null(rpc_writer_new(_RPC_WIRE_MAX, 0));
}

/* A reply of a few MB, as getAllVmStats with 1000 VMs: the buffer grows past its hint. */
static void test_big(void **state)
{
	(void)state;
	struct rpc_writer *w = rpc_writer_new(RPC_WIRE_XMLRPC, 100);
	rpc_write_array_begin(w, "list");
	for (int i = 0; i < 50000; i++) {
		rpc_write_struct_begin(w, NULL);
		rpc_write_string_u64(w, "n", (unsigned long long)i);
		rpc_write_string_fixed(w, "r", i / 7.0, 2);
		rpc_write_struct_end(w);
	}
	rpc_write_array_end(w);
	struct rpc_blob *b = finish_ok(w);
	assert_true(b->len > 4000000);
	xmlrpc_env env;
	xmlrpc_env_init(&env);
	xmlrpc_value *v = parse(b);
	xmlrpc_value *list = rpc_struct_get(v, "list");
	assert_int_equal(xmlrpc_array_size(&env, list), 50000);
	xmlrpc_value *last = NULL;
	xmlrpc_array_read_item(&env, list, 49999, &last);
	_cleanup_free_ char *n = rpc_to_string(rpc_struct_get(last, "n"));
	_cleanup_free_ char *r = rpc_to_string(rpc_struct_get(last, "r"));
	assert_string_equal(n, "49999");
	assert_string_equal(r, "7142.71");
	xmlrpc_DECREF(last);
	xmlrpc_DECREF(v);
	xmlrpc_env_clean(&env);
	rpc_blob_unref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_bytes_as_value_tree),
		cmocka_unit_test(test_parses_as_value_tree),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_utf8_4byte_intact),
		cmocka_unit_test(test_i64_boundaries),
		cmocka_unit_test(test_sticky_error),
		cmocka_unit_test(test_big),
	};
	rpc_codec_init(64 << 20, 100);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
