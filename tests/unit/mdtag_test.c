/* storage/mdtag: block-domain metadata lines as lvm tags, both ways. */
#include "../../storage/mdtag.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static void test_encode(void **state)
{
	char buf[STG_MDTAG_MAX + 1];
	(void)state;

	assert_int_equal(stg_mdtag_encode("VERSION=5", buf, sizeof(buf)), 13);
	assert_string_equal(buf, "MDT_VERSION=5");
	/* ',' is outside lvm's tag alphabet too: a PV entry carries &44& */
	assert_int_equal(stg_mdtag_encode("PV0=pv:3600a,uuid:Ab-1,pestart:0", buf, sizeof(buf)), 42);
	assert_string_equal(buf, "MDT_PV0=pv:3600a&44&uuid:Ab-1&44&pestart:0");
	/* blank, '&' itself and non-ASCII (é U+00E9, € U+20AC, 😀 U+1F600) are escaped */
	assert_true(stg_mdtag_encode("DESCRIPTION=my dom & caf\xc3\xa9 \xe2\x82\xac\xf0\x9f\x98\x80",
				     buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "MDT_DESCRIPTION=my&32&dom&32&&38&&32&caf&233&&32&&8364&&128512&");
	assert_int_equal(stg_mdtag_encode("", buf, sizeof(buf)), 4);
	assert_string_equal(buf, "MDT_");

	/* invalid UTF-8, control characters */
	assert_int_equal(stg_mdtag_encode("A=\xc3", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(stg_mdtag_encode("A=\xed\xa0\x80", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(stg_mdtag_encode("A=x\ny", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(stg_mdtag_encode("A=\x7f", buf, sizeof(buf)), -EINVAL);
	/* too long: the buffer, then lvm's tag bound */
	assert_int_equal(stg_mdtag_encode("VERSION=5", buf, 13), -ENAMETOOLONG);
	assert_int_equal(stg_mdtag_encode("VERSION=5", buf, 14), 13);
	char big[STG_MDTAG_MAX];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	char out[2 * STG_MDTAG_MAX];
	assert_int_equal(stg_mdtag_encode(big, out, sizeof(out)), -ENAMETOOLONG);
	big[STG_MDTAG_MAX - 4] = '\0';
	assert_int_equal(stg_mdtag_encode(big, out, sizeof(out)), STG_MDTAG_MAX);
}

static void test_decode(void **state)
{
	char buf[STG_MDTAG_MAX + 1];
	(void)state;

	assert_int_equal(stg_mdtag_decode("MDT_VERSION=5", buf, sizeof(buf)), 9);
	assert_string_equal(buf, "VERSION=5");
	assert_true(stg_mdtag_decode("MDT_DESCRIPTION=my&32&dom&32&&38&&32&caf&233&&32&&8364&&128512&",
				     buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "DESCRIPTION=my dom & caf\xc3\xa9 \xe2\x82\xac\xf0\x9f\x98\x80");
	assert_int_equal(stg_mdtag_decode("RHAT_storage_domain", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(stg_mdtag_decode("MDT", buf, sizeof(buf)), -ENOENT);

	static const char *const bad[] = {
		"MDT_A=&", "MDT_A=&&", "MDT_A=&x&", "MDT_A=&65", "MDT_A=&0&", "MDT_A=&10&",
		"MDT_A=&127&", "MDT_A=&55296&", "MDT_A=&1114112&", "MDT_A=&00000065&",
		"MDT_A=&65534&", "MDT_A=&65535&",
		"MDT_A=b c", "MDT_A=\xc3\xa9", "MDT_A=\t",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(stg_mdtag_decode(bad[i], buf, sizeof(buf)), -EINVAL);
	assert_int_equal(stg_mdtag_decode("MDT_A=&1114111&", buf, sizeof(buf)), 6);
	assert_int_equal(stg_mdtag_decode("MDT_A=&0065&", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "A=A");

	/* the line does not fit; the tag is longer than lvm's bound */
	assert_int_equal(stg_mdtag_decode("MDT_VERSION=5", buf, 9), -ENAMETOOLONG);
	assert_int_equal(stg_mdtag_decode("MDT_VERSION=5", buf, 10), 9);
	char big[STG_MDTAG_MAX + 2];
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "MDT_", 4);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(stg_mdtag_decode(big, buf, sizeof(buf)), -ENAMETOOLONG);
}

static void test_round_trip(void **state)
{
	static const char *const lines[] = {
		"CLASS=Data", "DESCRIPTION=\xd0\xb4\xd0\xbe\xd0\xbc\xd0\xb5\xd0\xbd (1)",
		"POOL_UUID=", "_SHA_CKSUM=0a1b2c", "ROLE=Regular", "LEASETIMESEC=60",
	};
	char tag[STG_MDTAG_MAX + 1], line[STG_MDTAG_MAX + 1];
	(void)state;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		assert_true(stg_mdtag_encode(lines[i], tag, sizeof(tag)) > 0);
		assert_int_equal(stg_mdtag_decode(tag, line, sizeof(line)), (int)strlen(lines[i]));
		assert_string_equal(line, lines[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
