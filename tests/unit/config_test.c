/* vdsm-c/config.c: defaults, good file, bad values (file:line, key), unknown keys,
 * TLS settings and the trust store checked at load (issue 9 item 6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../vdsm-c/config.h"
#include "../../vdsm-c/util/log.h"
#include "../../vdsm-c/util/util.h"

#define DATA "tests/data/config/"

static void test_defaults(void **state)
{
	struct vd_config c;
	struct vd_error err = { 0 };
	(void)state;
	vd_config_defaults(&c);
	assert_int_equal(c.management_port, 54321);
	assert_string_equal(c.management_ip, "0.0.0.0");
	assert_true(c.ssl);
	assert_string_equal(c.trust_store_path, "/etc/pki/vdsm");
	assert_string_equal(c.libvirt_uri, "qemu:///system");
	assert_int_equal(c.host_mem_reserve + c.extra_mem_reserve, 321);
	assert_int_equal(c.guest_ram_overhead, 65);
	assert_int_equal(vd_config_validate(&c, vd_error_fresh(&err)), 0);
	/* Default paths go under the root prefix; configured ones are used as written. */
	strcpy(c.root, "/tmp/r");
	char *p = vd_config_state_path(&c, c.trust_store_path);
	assert_string_equal(p, "/tmp/r/etc/pki/vdsm");
	free(p);
}

static void test_good_file(void **state)
{
	struct vd_config c;
	struct vd_error err = { 0 };
	(void)state;
	vd_config_defaults(&c);
	assert_int_equal(vd_config_load(&c, DATA "good.conf", vd_error_fresh(&err)), 0);
	assert_false(c.ssl);
	assert_string_equal(c.trust_store_path, "/srv/pki");
	assert_string_equal(c.libvirt_uri, "test:///default");
	assert_int_equal(c.max_connections, 10);
	assert_string_equal(c.log_level, "debug");
	assert_string_equal(c.management_ip, "::");
	assert_int_equal(c.management_port, 5432);
	assert_int_equal(vd_config_validate(&c, vd_error_fresh(&err)), 0);
	strcpy(c.root, "/tmp/r");
	char *p = vd_config_state_path(&c, c.trust_store_path);
	assert_string_equal(p, "/srv/pki");
	free(p);
}

static void test_vars_alias(void **state)
{
	struct vd_config c;
	struct vd_error err = { 0 };
	(void)state;
	vd_config_defaults(&c);
	assert_int_equal(vd_config_load(&c, DATA "vars-alias.conf", vd_error_fresh(&err)), 0);
	assert_int_equal(c.management_port, 1234);
	assert_string_equal(c.management_ip, "10.0.0.1");
}

static void test_unknown_keys_are_warnings(void **state)
{
	struct vd_config c;
	struct vd_error err = { 0 };
	(void)state;
	vd_config_defaults(&c);
	assert_int_equal(vd_config_load(&c, DATA "unknown.conf", vd_error_fresh(&err)), 0);
	assert_true(c.ssl);
}

static void expect_error(const char *file, const char *needle1, const char *needle2)
{
	struct vd_config c;
	struct vd_error err = { 0 };

	vd_config_defaults(&c);
	int r = vd_config_load(&c, file, vd_error_fresh(&err));
	if (r == 0)
		r = vd_config_validate(&c, vd_error_fresh(&err));
	assert_int_equal(r, -1);
	if (!strstr(err.msg, needle1) || (needle2 && !strstr(err.msg, needle2)))
		fail_msg("%s: message '%s' lacks '%s'/'%s'", file, err.msg, needle1, needle2 ? needle2 : "");
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
	expect_error(DATA "bad-proto.conf", "bad-proto.conf:2: bad value for vars.ssl_protocol",
		     "sslv2");
	expect_error(DATA "does-not-exist.conf", "does-not-exist.conf", "cannot read");
}

/* Checked while reading, so they carry file:line like any bad value (they used to be
 * found only by the listener: exit 1, no line). */
static void test_tls_values_checked_at_load(void **state)
{
	(void)state;
	expect_error(DATA "bad-ciphers.conf", "bad-ciphers.conf:3: bad value for vars.ssl_ciphers",
		     "NO-SUCH-THING");
	expect_error(DATA "bad-ip.conf", "bad-ip.conf:3: bad value for addresses.management_ip",
		     "'1.2.3' is not a numeric IPv4 or IPv6 address");
	/* The section named is the one the key was written in. */
	expect_error(DATA "bad-ip-vars.conf", "bad-ip-vars.conf:2: bad value for vars.management_ip",
		     "ovirt.example");

	struct vd_config c;
	struct vd_error err = { 0 };
	vd_config_defaults(&c);
	assert_int_equal(vd_config_load(&c, DATA "good-ciphers.conf", vd_error_fresh(&err)), 0);
	assert_string_equal(c.ssl_ciphers, "NORMAL:-VERS-ALL:+VERS-TLS1.2");
	assert_int_equal(vd_config_set(&c, "addresses.management_ip=fe80::1", vd_error_fresh(&err)), 0);
	assert_int_equal(vd_config_set(&c, "vars.management_ip=10.0.0.300", vd_error_fresh(&err)), -1);
	assert_non_null(strstr(err.msg, "--set: bad value for vars.management_ip"));
	assert_int_equal(vd_config_set(&c, "vars.ssl_ciphers=SECURE256:%%BOGUS", vd_error_fresh(&err)), -1);
	assert_non_null(strstr(err.msg, "vars.ssl_ciphers"));
}

/* vars.host_uuid: "" by default, a UUID stored lower case, anything else refused. */
static void test_host_uuid(void **state)
{
	struct vd_config c;
	struct vd_error err = { 0 };

	(void)state;
	vd_config_defaults(&c);
	assert_string_equal(c.host_uuid, "");
	assert_int_equal(vd_config_set(&c, "vars.host_uuid=0000000A-0000-4000-8000-00000000000A",
				       vd_error_fresh(&err)), 0);
	assert_string_equal(c.host_uuid, "0000000a-0000-4000-8000-00000000000a");
	assert_int_equal(vd_config_set(&c, "vars.host_uuid=not-a-uuid", vd_error_fresh(&err)), -1);
	assert_non_null(strstr(err.msg, "'not-a-uuid' is not a UUID"));
	assert_string_equal(c.host_uuid, "0000000a-0000-4000-8000-00000000000a");
	assert_int_equal(vd_config_set(&c, "vars.host_uuid=", vd_error_fresh(&err)), 0);
	assert_string_equal(c.host_uuid, "");
}

static int tls_load(struct vd_config *c, struct vd_error *err)
{
	struct vd_config_tls t;
	int r = vd_config_tls_load(c, &t, err);
	if (r == 0 && c->ssl) {
		assert_non_null(t.cert_pem);
		assert_non_null(t.key_pem);
		assert_non_null(t.ca_pem);
	}
	vd_config_tls_clear(&t);
	return r;
}

static void test_trust_store_checked_at_start(void **state)
{
	struct vd_config c;
	struct vd_error err = { 0 };
	(void)state;

	/* Missing files: the key's file:line, the file that is missing. */
	vd_config_defaults(&c);
	assert_int_equal(vd_config_load(&c, DATA "no-trust-store.conf", vd_error_fresh(&err)), 0);
	assert_int_equal(vd_config_validate(&c, vd_error_fresh(&err)), 0);
	assert_int_equal(tls_load(&c, vd_error_fresh(&err)), -1);
	if (!strstr(err.msg, "no-trust-store.conf:4: bad value for vars.trust_store_path") ||
	    !strstr(err.msg, "/nonexistent/vdsm-c-pki/certs/vdsmcert.pem"))
		fail_msg("message: %s", err.msg);

	/* ssl = false needs no trust store. */
	vd_config_defaults(&c);
	assert_int_equal(vd_config_load(&c, DATA "plain-no-trust-store.conf", vd_error_fresh(&err)), 0);
	assert_int_equal(tls_load(&c, vd_error_fresh(&err)), 0);

	/* The built-in default, under the root prefix, says it is the default. */
	vd_config_defaults(&c);
	strcpy(c.root, "/nonexistent-root");
	assert_int_equal(tls_load(&c, vd_error_fresh(&err)), -1);
	if (!strstr(err.msg, "vars.trust_store_path (built-in default") ||
	    !strstr(err.msg, "/nonexistent-root/etc/pki/vdsm/certs/vdsmcert.pem"))
		fail_msg("message: %s", err.msg);

	/* Files that are there but are not PEM certificates and keys. */
	char dir[] = "/tmp/config_test.XXXXXX", p[256], set[300];
	assert_non_null(mkdtemp(dir));
	const char *files[] = { "certs/vdsmcert.pem", "keys/vdsmkey.pem", "certs/cacert.pem" };
	snprintf(p, sizeof(p), "%s/certs", dir);
	assert_int_equal(util_mkdir_p(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/keys", dir);
	assert_int_equal(util_mkdir_p(p, 0700), 0);
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		assert_int_equal(util_write_atomic(p, "not a PEM file\n", 15, 0600), 0);
	}
	vd_config_defaults(&c);
	snprintf(set, sizeof(set), "vars.trust_store_path=%s", dir);
	assert_int_equal(vd_config_set(&c, set, vd_error_fresh(&err)), 0);
	assert_int_equal(tls_load(&c, vd_error_fresh(&err)), -1);
	if (!strstr(err.msg, "--set: bad value for vars.trust_store_path") ||
	    !strstr(err.msg, "not a usable certificate and key"))
		fail_msg("message: %s", err.msg);
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/certs", dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/keys", dir);
	rmdir(p);
	rmdir(dir);
}

static void test_root_flag_origin(void **state)
{
	struct vd_config c;
	struct vd_error err = { 0 };
	(void)state;
	vd_config_defaults(&c);
	strcpy(c.root, "relative/root");
	vd_config_set_origin(&c, c.root, "--root");
	assert_int_equal(vd_config_validate(&c, vd_error_fresh(&err)), -1);
	assert_non_null(strstr(err.msg, "--root: bad value for vars.root"));
}

static void test_set_override(void **state)
{
	struct vd_config c;
	struct vd_error err = { 0 };
	(void)state;
	vd_config_defaults(&c);
	assert_int_equal(vd_config_set(&c, "vars.max_connections=7", vd_error_fresh(&err)), 0);
	assert_int_equal(c.max_connections, 7);
	assert_int_equal(vd_config_set(&c, "addresses.management_port=99999", vd_error_fresh(&err)), -1);
	assert_non_null(strstr(err.msg, "management_port"));
	assert_int_equal(vd_config_set(&c, "nonsense", vd_error_fresh(&err)), -1);
	assert_int_equal(vd_config_set(&c, "vars.nokey=1", vd_error_fresh(&err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),   cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_vars_alias), cmocka_unit_test(test_unknown_keys_are_warnings),
		cmocka_unit_test(test_bad_files),  cmocka_unit_test(test_set_override),
		cmocka_unit_test(test_tls_values_checked_at_load),
		cmocka_unit_test(test_host_uuid),
		cmocka_unit_test(test_trust_store_checked_at_start),
		cmocka_unit_test(test_root_flag_origin),
	};
	vd_log_set_level(VD_LOG_ERR); /* the warnings are expected */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
