/* vdsm-c/config.c: defaults, good file, bad values (file:line, key), unknown keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../vdsm-c/config.h"
#include "../../vdsm-c/log.h"

#define DATA "tests/data/config/"

static void test_defaults(void **state)
{
	struct vd_config c;
	char err[512];
	(void)state;
	vd_config_defaults(&c);
	assert_int_equal(c.management_port, 54321);
	assert_string_equal(c.management_ip, "0.0.0.0");
	assert_true(c.ssl);
	assert_string_equal(c.trust_store_path, "/etc/pki/vdsm");
	assert_string_equal(c.libvirt_uri, "qemu:///system");
	assert_int_equal(c.host_mem_reserve + c.extra_mem_reserve, 321);
	assert_int_equal(c.guest_ram_overhead, 65);
	assert_int_equal(vd_config_validate(&c, err, sizeof(err)), 0);
	/* Default paths go under the root prefix; configured ones are used as written. */
	strcpy(c.root, "/tmp/r");
	char *p = vd_config_state_path(&c, c.trust_store_path);
	assert_string_equal(p, "/tmp/r/etc/pki/vdsm");
	free(p);
}

static void test_good_file(void **state)
{
	struct vd_config c;
	char err[512];
	(void)state;
	vd_config_defaults(&c);
	assert_int_equal(vd_config_load(&c, DATA "good.conf", err, sizeof(err)), 0);
	assert_false(c.ssl);
	assert_string_equal(c.trust_store_path, "/srv/pki");
	assert_string_equal(c.libvirt_uri, "test:///default");
	assert_int_equal(c.max_connections, 10);
	assert_string_equal(c.log_level, "debug");
	assert_string_equal(c.management_ip, "::");
	assert_int_equal(c.management_port, 5432);
	assert_int_equal(vd_config_validate(&c, err, sizeof(err)), 0);
	strcpy(c.root, "/tmp/r");
	char *p = vd_config_state_path(&c, c.trust_store_path);
	assert_string_equal(p, "/srv/pki");
	free(p);
}

static void test_vars_alias(void **state)
{
	struct vd_config c;
	char err[512];
	(void)state;
	vd_config_defaults(&c);
	assert_int_equal(vd_config_load(&c, DATA "vars-alias.conf", err, sizeof(err)), 0);
	assert_int_equal(c.management_port, 1234);
	assert_string_equal(c.management_ip, "10.0.0.1");
}

static void test_unknown_keys_are_warnings(void **state)
{
	struct vd_config c;
	char err[512];
	(void)state;
	vd_config_defaults(&c);
	assert_int_equal(vd_config_load(&c, DATA "unknown.conf", err, sizeof(err)), 0);
	assert_true(c.ssl);
}

static void expect_error(const char *file, const char *needle1, const char *needle2)
{
	struct vd_config c;
	char err[512] = "";

	vd_config_defaults(&c);
	int r = vd_config_load(&c, file, err, sizeof(err));
	if (r == 0)
		r = vd_config_validate(&c, err, sizeof(err));
	assert_int_equal(r, -1);
	if (!strstr(err, needle1) || (needle2 && !strstr(err, needle2)))
		fail_msg("%s: message '%s' lacks '%s'/'%s'", file, err, needle1, needle2 ? needle2 : "");
}

static void test_bad_files(void **state)
{
	(void)state;
	expect_error(DATA "bad-port.conf", "bad-port.conf:3", "management_port");
	expect_error(DATA "bad-bool.conf", "bad-bool.conf:2", "vars.ssl");
	expect_error(DATA "no-section.conf", "no-section.conf:1", "outside of any");
	expect_error(DATA "bad-section.conf", "bad-section.conf:1", "section");
	expect_error(DATA "no-equals.conf", "no-equals.conf:2", "key = value");
	expect_error(DATA "bad-level.conf", "bad-level.conf:2", "log_level");
	expect_error(DATA "bad-proto.conf", "ssl_protocol", "sslv2");
	expect_error(DATA "does-not-exist.conf", "does-not-exist.conf", "cannot read");
}

static void test_set_override(void **state)
{
	struct vd_config c;
	char err[512];
	(void)state;
	vd_config_defaults(&c);
	assert_int_equal(vd_config_set(&c, "vars.max_connections=7", err, sizeof(err)), 0);
	assert_int_equal(c.max_connections, 7);
	assert_int_equal(vd_config_set(&c, "addresses.management_port=99999", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "management_port"));
	assert_int_equal(vd_config_set(&c, "nonsense", err, sizeof(err)), -1);
	assert_int_equal(vd_config_set(&c, "vars.nokey=1", err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),   cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_vars_alias), cmocka_unit_test(test_unknown_keys_are_warnings),
		cmocka_unit_test(test_bad_files),  cmocka_unit_test(test_set_override),
	};
	vd_log_set_level(VD_LOG_ERR); /* the warnings are expected */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
