/* convergenceSchedule: the wire decoding (vdsm-c/verbs/mig_params.c) and the monitor's
 * walk through the stalling list (migration_conv_sample, vdsm-c/migration/schedule.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <string.h>
#include <cmocka.h>

#include "../../rpc/xmlrpc.h"
#include "../../vdsm-c/verbs/mig_params.h"

/* A value from an XML-RPC <value> text, through the request parser as the wire does. */
static xmlrpc_value *value(const char *xml)
{
	char body[16384];
	char *method = NULL;
	xmlrpc_value *params = NULL, *v = NULL;
	struct vd_error err = { 0 };
	xmlrpc_env env;

	snprintf(body, sizeof(body),
		 "<?xml version='1.0'?><methodCall><methodName>migrate</methodName>"
		 "<params><param>%s</param></params></methodCall>", xml);
	assert_int_equal(rpc_parse_call(body, strlen(body), &method, &params, &err), 0);
	xmlrpc_env_init(&env);
	xmlrpc_array_read_item(&env, params, 0, &v);
	assert_false(env.fault_occurred);
	xmlrpc_env_clean(&env);
	xmlrpc_DECREF(params);
	free(method);
	return v;
}

#define ACT_DT(ms) "<value><struct><member><name>name</name><value><string>setDowntime</string></value></member>" \
	"<member><name>params</name><value><array><data>" ms "</data></array></value></member></struct></value>"
#define ACT_ABORT "<value><struct><member><name>name</name><value><string>abort</string></value></member>" \
	"<member><name>params</name><value><array><data></data></array></value></member></struct></value>"
#define STALL(limit, act) "<value><struct><member><name>limit</name>" limit "</member>" \
	"<member><name>action</name>" act "</member></struct></value>"
#define SCHED(init, stalling) "<value><struct><member><name>init</name><value><array><data>" init \
	"</data></array></value></member><member><name>stalling</name><value><array><data>" stalling \
	"</data></array></value></member></struct></value>"

/* What the manager's "Minimal downtime" policy sends (ints and strings both accepted). */
static void test_parse_policy(void **state)
{
	(void)state;
	struct migration_conv_schedule s;
	struct vd_error err = { 0 };
	xmlrpc_value *v = value(SCHED(
		ACT_DT("<value><int>100</int></value>"),
		STALL("<value><int>1</int></value>", ACT_DT("<value><string>150</string></value>"))
		STALL("<value><int>2</int></value>", ACT_DT("<value><int>300</int></value>"))
		STALL("<value><int>-1</int></value>", ACT_ABORT)));
	assert_int_equal(mig_params_conv_schedule(v, &s, &err), 0);
	xmlrpc_DECREF(v);
	assert_true(s.set);
	assert_int_equal(s.n_init, 1);
	assert_int_equal(s.init[0].kind, MIGRATION_CONV_SET_DOWNTIME);
	assert_int_equal(s.init[0].downtime_ms, 100);
	assert_int_equal(s.n_stalling, 3);
	assert_int_equal(s.stalling[0].limit, 1);
	assert_int_equal(s.stalling[0].action.downtime_ms, 150);
	assert_int_equal(s.stalling[1].limit, 2);
	assert_int_equal(s.stalling[1].action.downtime_ms, 300);
	assert_int_equal(s.stalling[2].limit, -1);
	assert_int_equal(s.stalling[2].action.kind, MIGRATION_CONV_ABORT);

	/* empty lists: a schedule that only switches the stepped default off */
	v = value(SCHED("", ""));
	assert_int_equal(mig_params_conv_schedule(v, &s, &err), 0);
	xmlrpc_DECREF(v);
	assert_true(s.set);
	assert_int_equal(s.n_init + s.n_stalling, 0);
}

static void expect_bad(const char *xml, const char *msg)
{
	struct migration_conv_schedule s = { .set = false, .n_init = 7 };
	struct vd_error err = { 0 };
	xmlrpc_value *v = value(xml);
	assert_int_equal(mig_params_conv_schedule(v, &s, &err), -1);
	xmlrpc_DECREF(v);
	assert_int_equal(err.code, 12);
	if (!strstr(err.msg, msg))
		fail_msg("'%s' not in '%s'", msg, err.msg);
	assert_false(s.set);            /* nothing filled on a refusal */
	assert_int_equal(s.n_init, 7);
}

static void test_parse_bad(void **state)
{
	(void)state;
	expect_bad("<value><string>fast</string></value>", "not a struct");
	expect_bad("<value><struct><member><name>init</name><value><array><data></data></array>"
		   "</value></member></struct></value>", "stalling: missing");
	expect_bad("<value><struct><member><name>stalling</name><value><array><data></data></array>"
		   "</value></member></struct></value>", "init: missing");
	expect_bad(SCHED("<value><string>setDowntime</string></value>", ""),
		   "init[0]: an action is a struct");
	expect_bad(SCHED(ACT_DT(""), ""), "setDowntime takes one parameter");
	expect_bad(SCHED(ACT_DT("<value><string>soon</string></value>"), ""),
		   "setDowntime takes one parameter");
	expect_bad(SCHED(ACT_DT("<value><int>0</int></value>"), ""), "1..3600000");
	expect_bad(SCHED(ACT_DT("<value><int>5</int></value><value><int>6</int></value>"), ""),
		   "setDowntime takes one parameter");
	expect_bad(SCHED("", STALL("<value><int>-2</int></value>", ACT_ABORT)),
		   "stalling[0]: limit");
	expect_bad(SCHED("", STALL("<value><string>x</string></value>", ACT_ABORT)),
		   "stalling[0]: limit");
	expect_bad(SCHED("", "<value><struct><member><name>action</name>" ACT_ABORT
			 "</member></struct></value>"), "stalling[0]: limit");
	expect_bad(SCHED("", STALL("<value><int>1</int></value>", ACT_ABORT)
			 STALL("<value><int>2</int></value>", "<value><int>3</int></value>")),
		   "stalling[1]: an action is a struct");
	expect_bad(SCHED("", STALL("<value><int>1</int></value>",
				   "<value><struct><member><name>name</name><value><string>postcopy"
				   "</string></value></member></struct></value>")),
		   "postcopy action is not supported");
	expect_bad(SCHED("<value><struct><member><name>name</name><value><string>dropSpeed"
			 "</string></value></member></struct></value>", ""),
		   "unknown action 'dropSpeed'");
	expect_bad(SCHED("<value><struct><member><name>name</name><value><string>abort</string>"
			 "</value></member><member><name>params</name><value><array><data><value>"
			 "<int>1</int></value></data></array></value></member></struct></value>", ""),
		   "abort takes no parameters");
	/* more than MIGRATION_CONV_MAX actions */
	char big[8192] = "";
	for (int i = 0; i < MIGRATION_CONV_MAX + 1; i++)
		strcat(big, ACT_ABORT);
	char xml[9000];
	snprintf(xml, sizeof(xml), SCHED("%s", ""), big);
	expect_bad(xml, "more than 32 actions");
}

static struct migration_conv_schedule sched3(void)
{
	struct migration_conv_schedule s = { .set = true, .n_stalling = 3 };
	s.stalling[0].limit = 1;
	s.stalling[0].action = (struct migration_conv_action){ MIGRATION_CONV_SET_DOWNTIME, 150 };
	s.stalling[1].limit = 2;
	s.stalling[1].action = (struct migration_conv_action){ MIGRATION_CONV_SET_DOWNTIME, 300 };
	s.stalling[2].limit = -1;
	s.stalling[2].action = (struct migration_conv_action){ MIGRATION_CONV_ABORT, 0 };
	return s;
}

/* VDSM's counting: a new iteration when the remaining data grew since the last sample;
 * the head runs once its limit is below the count, one action per sample. */
static void test_stalling_walk(void **state)
{
	(void)state;
	struct migration_conv_schedule s = sched3();
	struct migration_conv_state st = { 0 };
	const struct migration_conv_action *a;

	assert_null(migration_conv_sample(&s, &st, 1000));   /* first sample: no iteration */
	assert_null(migration_conv_sample(&s, &st, 600));    /* converging */
	assert_null(migration_conv_sample(&s, &st, 600));    /* equal: no new iteration */
	assert_null(migration_conv_sample(&s, &st, 700));    /* iteration 1: limit 1 not below */
	assert_int_equal(st.iterations, 1);
	a = migration_conv_sample(&s, &st, 800);             /* iteration 2 > 1 */
	assert_non_null(a);
	assert_int_equal(a->downtime_ms, 150);
	assert_null(migration_conv_sample(&s, &st, 100));
	a = migration_conv_sample(&s, &st, 200);             /* iteration 3 > 2 */
	assert_non_null(a);
	assert_int_equal(a->downtime_ms, 300);
	a = migration_conv_sample(&s, &st, 300);             /* iteration 4 > -1 */
	assert_non_null(a);
	assert_int_equal(a->kind, MIGRATION_CONV_ABORT);
	assert_null(migration_conv_sample(&s, &st, 400));    /* list exhausted */
	assert_int_equal(st.iterations, 5);

	/* limit -1 runs at the first new iteration; an empty list never acts */
	struct migration_conv_schedule one = { .set = true, .n_stalling = 1 };
	one.stalling[0].limit = -1;
	one.stalling[0].action = (struct migration_conv_action){ MIGRATION_CONV_ABORT, 0 };
	struct migration_conv_state s1 = { 0 };
	assert_null(migration_conv_sample(&one, &s1, 10));
	assert_non_null(migration_conv_sample(&one, &s1, 11));
	struct migration_conv_schedule none = { .set = true };
	struct migration_conv_state s0 = { 0 };
	for (unsigned long long r = 1; r < 20; r++)
		assert_null(migration_conv_sample(&none, &s0, r));
	assert_int_equal(s0.iterations, 18);
}

int main(void)
{
	rpc_codec_init(1 << 20, 64);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_policy),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_stalling_walk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
