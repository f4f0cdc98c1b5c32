/* vdsm-c/api.c dispatcher and errors table: faults vs status codes (API.md §1.1),
 * readiness gate, argument helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../vdsm-c/api.h"
#include "../../vdsm-c/errors.h"
#include "../../vdsm-c/log.h"

static struct vd_call ctx = { .client_addr = "127.0.0.1", .client_cn = "test" };

static xmlrpc_value *call(const char *body, bool *is_fault, int *fault_code)
{
	struct rpc_blob *b = vd_api_handle(body, strlen(body), &ctx, is_fault);
	xmlrpc_env env;
	xmlrpc_value *v = NULL;
	const char *fstr = NULL;

	assert_non_null(b);
	xmlrpc_env_init(&env);
	xmlrpc_parse_response2(&env, b->data, b->len, &v, fault_code, &fstr);
	assert_false(env.fault_occurred);
	assert_int_equal(*is_fault, fstr != NULL);
	free((char *)fstr);
	xmlrpc_env_clean(&env);
	rpc_blob_unref(b);
	return v;
}

static int status_code(xmlrpc_value *v)
{
	long long c = -1;
	assert_int_equal(rpc_to_ll(rpc_struct_get(rpc_struct_get(v, "status"), "code"), &c), RPC_OK);
	return (int)c;
}

#define CALL(m, params) "<?xml version='1.0'?><methodCall><methodName>" m \
	"</methodName><params>" params "</params></methodCall>"

static void test_ping_and_faults(void **state)
{
	bool f;
	int fc = 0;
	(void)state;
	xmlrpc_value *v = call(CALL("ping", ""), &f, &fc);
	assert_false(f);
	assert_int_equal(status_code(v), 0);
	xmlrpc_DECREF(v);

	v = call(CALL("nope", ""), &f, &fc);
	assert_true(f);
	assert_int_equal(fc, 1);
	assert_null(v);

	v = call("<methodCall>", &f, &fc);
	assert_true(f);
	assert_int_equal(fc, 1);

	v = call(CALL("ping", "<param><value>x</value></param>"), &f, &fc);
	assert_false(f);
	assert_int_equal(status_code(v), 16);
	xmlrpc_DECREF(v);
}

static void test_ready_gate(void **state)
{
	bool f;
	int fc;
	(void)state;
	vd_ready_hold("test");
	assert_false(vd_is_ready());
	xmlrpc_value *v = call(CALL("ping", ""), &f, &fc);
	assert_int_equal(status_code(v), 99);
	xmlrpc_DECREF(v);
	/* Introspection is never gated. */
	v = call(CALL("system.listMethods", ""), &f, &fc);
	assert_int_equal(status_code(v), 0);
	xmlrpc_DECREF(v);
	vd_ready_release("test");
	v = call(CALL("ping", ""), &f, &fc);
	assert_int_equal(status_code(v), 0);
	xmlrpc_DECREF(v);
}

static void test_table_sorted_and_complete(void **state)
{
	unsigned n;
	const struct vd_verb *t = vd_api_table(&n);
	(void)state;
	assert_true(n > 0);
	for (unsigned i = 0; i < n; i++) {
		assert_non_null(t[i].fn);
		assert_non_null(t[i].help);
		assert_true(t[i].min_args <= t[i].max_args);
		assert_ptr_equal(vd_api_lookup(t[i].name), &t[i]);
		if (i)
			assert_true(strcmp(t[i - 1].name, t[i].name) < 0);
	}
	assert_null(vd_api_lookup("zzz"));
}

static void test_error_table(void **state)
{
	struct vd_error e = { 0 };
	(void)state;
	/* Every row has a message; codes are unique; a few anchors from API.md §4. */
	for (unsigned i = 0; i < vd_code_count(); i++) {
		const char *name, *msg;
		int code = vd_code_at(i, &name, &msg);
		assert_non_null(msg);
		assert_true(strlen(msg) > 0);
		for (unsigned j = i + 1; j < vd_code_count(); j++)
			assert_int_not_equal(code, vd_code_at(j, NULL, NULL));
	}
	assert_string_equal(vd_code_message(99), "Recovering from crash or Initializing");
	assert_string_equal(vd_code_message(1), "Virtual machine does not exist");
	assert_string_equal(vd_code_message(16), "Unexpected exception");
	assert_null(vd_code_message(12345));
	/* First error wins. */
	vd_error_set(&e, 11, "Missing required parameter vmId");
	vd_error_set(&e, 16, NULL);
	assert_int_equal(e.code, 11);
	assert_string_equal(e.msg, "Missing required parameter vmId");
	vd_error_clear(&e);
	vd_error_set(&e, 4, NULL);
	assert_string_equal(e.msg, "Virtual machine already exists");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping_and_faults),
		cmocka_unit_test(test_ready_gate),
		cmocka_unit_test(test_table_sorted_and_complete),
		cmocka_unit_test(test_error_table),
	};
	vd_log_set_level(VD_LOG_ERR);
	rpc_codec_init(2 << 20, 64);
	if (vd_api_init() < 0)
		return 1;
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	vd_api_fini();
	return r;
}
