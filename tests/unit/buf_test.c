/* vdsm-c/util/buf.c: the one growable buffer (adds, printf, numbers, XML escaping,
 * sticky error, steal/reset). */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../vdsm-c/util/buf.h"

static void test_add_and_steal(void **state)
{
	struct util_buf b = UTIL_BUF_INIT;
	size_t len = 99;
	(void)state;

	assert_string_equal(util_buf_cstr(&b), "");
	util_buf_addlit(&b, "ab");
	util_buf_addc(&b, 'c');
	util_buf_adds(&b, "de");
	util_buf_adds(&b, NULL);
	util_buf_add(&b, "fgh", 1);
	util_buf_add(&b, "", 0);
	assert_int_equal(util_buf_len(&b), 6);
	assert_string_equal(util_buf_cstr(&b), "abcdef");
	char *s = util_buf_steal(&b, &len);
	assert_string_equal(s, "abcdef");
	assert_int_equal(len, 6);
	free(s);
	/* stolen: empty again, reusable */
	assert_int_equal(util_buf_len(&b), 0);
	s = util_buf_steal(&b, &len);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	util_buf_reset(&b);
}

static void test_growth(void **state)
{
	_cleanup_(util_buf_reset) struct util_buf b = UTIL_BUF_INIT;
	(void)state;

	/* many small adds across several reallocations, then one big one */
	for (int i = 0; i < 10000; i++)
		util_buf_addc(&b, (char)('a' + i % 26));
	char big[70000];
	memset(big, 'x', sizeof(big));
	util_buf_add(&b, big, sizeof(big));
	assert_int_equal(util_buf_error(&b), 0);
	assert_int_equal(util_buf_len(&b), 10000 + sizeof(big));
	const char *s = util_buf_cstr(&b);
	assert_int_equal(s[0], 'a');
	assert_int_equal(s[25], 'z');
	assert_int_equal(s[9999], 'a' + 9999 % 26);
	assert_int_equal(s[10000], 'x');
	assert_int_equal(strlen(s), 10000 + sizeof(big));
	util_buf_reserve(&b, 1 << 20);
	assert_int_equal(util_buf_error(&b), 0);
	assert_int_equal(util_buf_len(&b), 10000 + sizeof(big));
}

static void test_printf(void **state)
{
	_cleanup_(util_buf_reset) struct util_buf b = UTIL_BUF_INIT;
	char big[3000];
	(void)state;

	util_buf_printf(&b, "%s=%d", "x", 42);
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	util_buf_printf(&b, " %s.", big);      /* longer than the free space: second pass */
	util_buf_printf(&b, "%s", "");
	assert_int_equal(util_buf_len(&b), 4 + 1 + 2999 + 1);
	assert_memory_equal(util_buf_cstr(&b), "x=42 yyy", 8);
	assert_int_equal(util_buf_cstr(&b)[util_buf_len(&b) - 1], '.');
}

static void test_integers(void **state)
{
	_cleanup_(util_buf_reset) struct util_buf b = UTIL_BUF_INIT;
	(void)state;

	util_buf_add_u64(&b, 0);
	util_buf_addc(&b, ' ');
	util_buf_add_u64(&b, UINT64_MAX);
	util_buf_addc(&b, ' ');
	util_buf_add_i64(&b, INT64_MIN);
	util_buf_addc(&b, ' ');
	util_buf_add_i64(&b, INT64_MAX);
	util_buf_addc(&b, ' ');
	util_buf_add_i64(&b, -1);
	assert_string_equal(util_buf_cstr(&b),
			    "0 18446744073709551615 -9223372036854775808 9223372036854775807 -1");
}

/* util_buf_add_fixed against printf for the values statistics carry. */
static void test_fixed(void **state)
{
	/* no exact ties (0.5, 2.25): there the fast path rounds up, printf to even */
	static const double v[] = { 0, 1, 0.7, 12.345678, 99.99, 1234567.891, 0.000463,
				    35.0, 1e-9, 4e18, 9e18, 2.5e19, 1e300, -3.3, -1e20 };
	(void)state;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		for (int dec = 0; dec <= 9; dec++) {
			_cleanup_(util_buf_reset) struct util_buf b = UTIL_BUF_INIT;
			char want[400];
			snprintf(want, sizeof(want), "%.*f", dec, v[i]);
			util_buf_add_fixed(&b, v[i], dec);
			if (strcmp(util_buf_cstr(&b), want) != 0)
				fail_msg("%.17g with %d decimals: '%s', want '%s'", v[i], dec,
					 util_buf_cstr(&b), want);
		}
	_cleanup_(util_buf_reset) struct util_buf b = UTIL_BUF_INIT;
	util_buf_add_fixed(&b, NAN, 2);
	util_buf_addc(&b, ' ');
	util_buf_add_fixed(&b, INFINITY, 1);
	util_buf_addc(&b, ' ');
	util_buf_add_fixed(&b, 1.5, 12);   /* clamped to 9 */
	util_buf_addc(&b, ' ');
	util_buf_add_fixed(&b, 1.5, -1);   /* clamped to 0 */
	assert_string_equal(util_buf_cstr(&b), "0.00 0.0 1.500000000 2");
}

static void test_double(void **state)
{
	static const struct {
		double v;
		const char *want;
	} rows[] = {
		{ 0, "0" },
		{ -0.0, "0" },
		{ 1.5, "1.5" },
		{ 3, "3" },
		{ -1.5, "-1.5" },
		{ 0.1, "0.1" },
		{ 0.3, "0.3" },
		{ 0.1 + 0.2, "0.30000000000000004" },
		{ 1.0 / 3, "0.3333333333333333" },
		{ 1e-7, "0.0000001" },
		{ 0.000463, "0.000463" },
		{ 123456.789012345, "123456.789012345" },
		{ 1e20, "100000000000000000000" },
		{ 1e16 + 2, "10000000000000002" },
		{ NAN, "0" },
		{ INFINITY, "0" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		_cleanup_(util_buf_reset) struct util_buf b = UTIL_BUF_INIT;
		util_buf_add_double(&b, rows[i].v);
		if (strcmp(util_buf_cstr(&b), rows[i].want) != 0)
			fail_msg("%.17g: '%s', want '%s'", rows[i].v, util_buf_cstr(&b), rows[i].want);
	}
	/* the extremes read back exactly and never use an exponent */
	static const double ext[] = { DBL_MAX, -DBL_MAX, DBL_MIN, 4.9406564584124654e-324, 1e-300 };
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		_cleanup_(util_buf_reset) struct util_buf b = UTIL_BUF_INIT;
		util_buf_add_double(&b, ext[i]);
		assert_null(strpbrk(util_buf_cstr(&b), "eE"));
		assert_true(strtod(util_buf_cstr(&b), NULL) == ext[i]);
	}
}

static void test_xml(void **state)
{
	_cleanup_(util_buf_reset) struct util_buf b = UTIL_BUF_INIT;
	(void)state;

	util_buf_add_xml(&b, "a<b>&c \"q\" 'a' ]]>");
	util_buf_addc(&b, '|');
	/* line ends as an XML parser reads them; TAB and LF kept */
	util_buf_add_xml(&b, "1\r\n2\r3\n4\t5\r");
	util_buf_addc(&b, '|');
	/* the cleaner: controls and bad UTF-8 → '?', 4-byte characters intact */
	util_buf_add_xml(&b, "\x01\x7f\xff\xc0\xaf\xed\xa0\x80 \xf0\x9f\x98\x80 \xc3\xa9");
	util_buf_add_xml(&b, NULL);
	util_buf_add_xml(&b, "");
	assert_string_equal(util_buf_cstr(&b),
			    "a&lt;b&gt;&amp;c \"q\" 'a' ]]&gt;|1\n2\n3\n4\t5\n|"
			    "???????? \xf0\x9f\x98\x80 \xc3\xa9");
}

static void test_sticky_error(void **state)
{
	struct util_buf b = UTIL_BUF_INIT;
	size_t len = 7;
	(void)state;

	util_buf_addlit(&b, "before");
	/* a size that cannot be allocated */
	util_buf_reserve(&b, SIZE_MAX - 8);
	assert_int_equal(util_buf_error(&b), -ENOMEM);
	assert_int_equal(util_buf_len(&b), 0);
	util_buf_addlit(&b, "after");
	util_buf_printf(&b, "%d", 1);
	util_buf_add_u64(&b, 5);
	util_buf_add_xml(&b, "x");
	util_buf_add_double(&b, 1.5);
	util_buf_reserve(&b, 10);
	util_buf_add(&b, "xyz", 3);
	assert_int_equal(util_buf_len(&b), 0);
	assert_string_equal(util_buf_cstr(&b), "");
	assert_null(util_buf_steal(&b, &len));
	assert_int_equal(len, 7);
	assert_int_equal(util_buf_error(&b), -ENOMEM);
	/* the first error wins */
	util_buf_fail(&b, -EINVAL);
	assert_int_equal(util_buf_error(&b), -ENOMEM);
	/* reset clears it */
	util_buf_reset(&b);
	assert_int_equal(util_buf_error(&b), 0);
	util_buf_addlit(&b, "ok");
	assert_string_equal(util_buf_cstr(&b), "ok");
	util_buf_fail(&b, -EINVAL);
	assert_int_equal(util_buf_error(&b), -EINVAL);
	assert_int_equal(util_buf_len(&b), 0);
	util_buf_reset(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_steal),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_fixed),
		cmocka_unit_test(test_double),
		cmocka_unit_test(test_xml),
		cmocka_unit_test(test_sticky_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
