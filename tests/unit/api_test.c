/* vdsm-c/api.c dispatcher and errors table: faults vs status codes (API.md §1.1),
 * readiness gate, argument helpers, the reply cache and the client-seen flag.
 *
 * api_test.wrap replaces the host-stats sampler and the clocks, so that getVdsStats
 * (a cacheable verb) runs on a fake sample at a time the test chooses. */
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../vdsm-c/api.h"
#include "../../vdsm-c/util/error.h"
#include "../../vdsm-c/host/hoststats.h"
#include "../../vdsm-c/util/log.h"

/* ---- fakes (api_test.wrap) ---- */

static struct hoststats_sample fake_sample = { .ref = 1, .boot_time = -1 };
static bool have_sample;
static int sample_gets;                 /* how often the handler asked for a sample */
static unsigned long stats_gen = 1;
static time_t mock_time = 1700000000;
static double mock_mono = 5000;

struct hoststats_sample *__wrap_hoststats_sample_get(void);
unsigned long __wrap_hoststats_generation(void);
time_t __wrap_time(time_t *t);
double __wrap_util_now_monotonic(void);

struct hoststats_sample *__wrap_hoststats_sample_get(void)
{
	sample_gets++;
	if (!have_sample)
		return NULL;
	atomic_fetch_add(&fake_sample.ref, 1);   /* never freed: the test keeps one */
	return &fake_sample;
}

unsigned long __wrap_hoststats_generation(void)
{
	return stats_gen;
}

time_t __wrap_time(time_t *t)
{
	if (t)
		*t = mock_time;
	return mock_time;
}

double __wrap_util_now_monotonic(void)
{
	return mock_mono;
}

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
		assert_true((t[i].fn != NULL) != (t[i].write != NULL)); /* exactly one kind */
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

static struct rpc_blob *raw_call(const char *body)
{
	bool f = true;
	struct rpc_blob *b = vd_api_handle(body, strlen(body), &ctx, &f);

	assert_non_null(b);
	assert_false(f);
	return b;
}

static int blob_code(const struct rpc_blob *b)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;
	int fc = 0;
	const char *fs = NULL;

	xmlrpc_env_init(&env);
	xmlrpc_parse_response2(&env, b->data, b->len, &v, &fc, &fs);
	assert_false(env.fault_occurred);
	xmlrpc_env_clean(&env);
	int code = status_code(v);
	xmlrpc_DECREF(v);
	return code;
}

/* getVdsStats is cached by the dispatcher under (sample generation, second, elapsed
 * seconds): served again without running the handler while those stay, rebuilt when
 * any changes; failures are never cached; the readiness gate comes first. */
static void test_reply_cache(void **state)
{
	(void)state;
	have_sample = true;
	sample_gets = 0;
	struct rpc_blob *b1 = raw_call(CALL("getVdsStats", ""));
	assert_int_equal(blob_code(b1), 0);
	assert_int_equal(sample_gets, 1);
	struct rpc_blob *b2 = raw_call(CALL("getVdsStats", ""));
	assert_ptr_equal(b2, b1);               /* the cached reply itself */
	assert_int_equal(sample_gets, 1);
	rpc_blob_unref(b2);

	stats_gen++;                            /* a new sample */
	b2 = raw_call(CALL("getVdsStats", ""));
	assert_ptr_not_equal(b2, b1);
	assert_int_equal(sample_gets, 2);
	rpc_blob_unref(b1);
	mock_time++;                            /* dateTime changes */
	b1 = raw_call(CALL("getVdsStats", ""));
	assert_int_equal(sample_gets, 3);
	rpc_blob_unref(b1);
	mock_mono += 1;                         /* elapsedTime changes */
	b1 = raw_call(CALL("getVdsStats", ""));
	assert_int_equal(sample_gets, 4);
	assert_ptr_not_equal(b1, b2);
	rpc_blob_unref(b2);
	b2 = raw_call(CALL("getVdsStats", ""));
	assert_ptr_equal(b2, b1);
	assert_int_equal(sample_gets, 4);
	rpc_blob_unref(b2);

	vd_ready_hold("test");
	b2 = raw_call(CALL("getVdsStats", ""));
	assert_int_equal(blob_code(b2), 99);
	rpc_blob_unref(b2);
	vd_ready_release("test");

	/* no sample: an error each time, and the handler runs each time */
	have_sample = false;
	stats_gen++;
	for (int i = 0; i < 2; i++) {
		b2 = raw_call(CALL("getVdsStats", ""));
		assert_int_equal(blob_code(b2), 16);
		rpc_blob_unref(b2);
	}
	assert_int_equal(sample_gets, 6);
	have_sample = true;
	b2 = raw_call(CALL("getVdsStats", ""));
	assert_int_equal(blob_code(b2), 0);
	assert_int_equal(sample_gets, 7);
	rpc_blob_unref(b2);
	rpc_blob_unref(b1);
}

/* Verbs flagged VD_VERB_CLIENT_SEEN mark the client seen in the dispatcher (ping here);
 * others do not. */
static void test_client_seen(void **state)
{
	bool f;
	int fc;
	(void)state;
	mock_mono = 7000;
	xmlrpc_value *v = call(CALL("ping", ""), &f, &fc);
	xmlrpc_DECREF(v);
	assert_true(vd_client_seen_last() == 7000);
	mock_mono = 7001;
	v = call(CALL("system.listMethods", ""), &f, &fc);
	xmlrpc_DECREF(v);
	assert_true(vd_client_seen_last() == 7000);
	assert_true(vd_api_lookup("getVdsCapabilities")->flags & VD_VERB_CLIENT_SEEN);
	assert_true(vd_api_lookup("list")->flags & VD_VERB_CLIENT_SEEN);
	assert_non_null(vd_api_lookup("getVdsCapabilities")->cache_key);
	assert_non_null(vd_api_lookup("getVdsStats")->cache_key);
	assert_null(vd_api_lookup("getAllVmStats")->cache_key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping_and_faults),
		cmocka_unit_test(test_ready_gate),
		cmocka_unit_test(test_table_sorted_and_complete),
		cmocka_unit_test(test_error_table),
		cmocka_unit_test(test_reply_cache),
		cmocka_unit_test(test_client_seen),
	};
	vd_log_set_level(VD_LOG_ERR);
	rpc_codec_init(2 << 20, 64);
	if (vd_api_init() < 0)
		return 1;
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	vd_api_fini();
	return r;
}
