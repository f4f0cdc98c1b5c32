/* vdsm-c/util/utf8.c: the one UTF-8 cleaner. A table of inputs and what they must
 * become; every row is also checked to keep its length and to agree with
 * util_utf8_is_clean(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../vdsm-c/util/utf8.h"

static const struct {
	const char *what, *in, *out;
} rows[] = {
	{ "empty", "", "" },
	{ "ascii", "vm-01 ok", "vm-01 ok" },
	{ "tab, LF, CR pass", "a\tb\nc\rd", "a\tb\nc\rd" },
	{ "other C0 controls", "\x01\x08\x0b\x0c\x0e\x1b\x1f", "???????" },
	{ "DEL", "a\x7f" "b", "a?b" },
	{ "2-byte U+00E9", "caf\xc3\xa9", "caf\xc3\xa9" },
	{ "C1 control U+0080 passes", "\xc2\x80", "\xc2\x80" },
	{ "3-byte U+20AC", "\xe2\x82\xac", "\xe2\x82\xac" },
	{ "U+D7FF, last before surrogates", "\xed\x9f\xbf", "\xed\x9f\xbf" },
	{ "U+E000, first after surrogates", "\xee\x80\x80", "\xee\x80\x80" },
	{ "U+FFFD", "\xef\xbf\xbd", "\xef\xbf\xbd" },
	{ "4-byte U+1F600", "x\xf0\x9f\x98\x80y", "x\xf0\x9f\x98\x80y" },
	{ "U+10000, first outside the BMP", "\xf0\x90\x80\x80", "\xf0\x90\x80\x80" },
	{ "U+10FFFF, the last code point", "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf" },
	{ "noncharacter U+FFFE", "\xef\xbf\xbe", "???" },
	{ "noncharacter U+FFFF", "\xef\xbf\xbf", "???" },
	{ "overlong 2-byte '/' (C0 AF)", "\xc0\xaf", "??" },
	{ "overlong C1 BF", "\xc1\xbf", "??" },
	{ "overlong 3-byte (E0 80 AF)", "\xe0\x80\xaf", "???" },
	{ "overlong 3-byte (E0 9F BF)", "\xe0\x9f\xbf", "???" },
	{ "overlong 4-byte (F0 80 80 AF)", "\xf0\x80\x80\xaf", "????" },
	{ "overlong 4-byte (F0 8F BF BF)", "\xf0\x8f\xbf\xbf", "????" },
	{ "surrogate U+D800", "\xed\xa0\x80", "???" },
	{ "surrogate U+DFFF", "\xed\xbf\xbf", "???" },
	{ "surrogate pair as CESU-8", "\xed\xa0\xbd\xed\xb8\x80", "??????" },
	{ "past U+10FFFF (F4 90 80 80)", "\xf4\x90\x80\x80", "????" },
	{ "F5 lead", "\xf5\x80\x80\x80", "????" },
	{ "FF FE", "\xff\xfe", "??" },
	{ "stray continuation", "a\x80" "b", "a?b" },
	{ "truncated 3-byte then ASCII", "\xe2\x82" "A", "??A" },
	{ "truncated 3-byte at end", "ok\xe2\x82", "ok??" },
	{ "truncated 4-byte at end", "\xf0\x9f\x98", "???" },
	{ "2-byte lead then ASCII", "\xc3" "A", "?A" },
	{ "mixed", "a<b>&c \x01 \xff\xfe ok \xc3\xa9", "a<b>&c ? ?? ok \xc3\xa9" },
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *s = strdup(rows[i].in);
		assert_non_null(s);
		assert_ptr_equal(util_utf8_clean(s, 0), s);
		if (strcmp(s, rows[i].out) != 0)
			fail_msg("%s: got '%s'", rows[i].what, s);
		assert_int_equal(strlen(s), strlen(rows[i].in));
		if (util_utf8_is_clean(rows[i].in, 0) != (strcmp(rows[i].in, rows[i].out) == 0))
			fail_msg("%s: util_utf8_is_clean disagrees", rows[i].what);
		assert_true(util_utf8_is_clean(s, 0));
		free(s);
	}
}

/* UTIL_UTF8_BMP (for xmlrpc-c value trees): a character outside the BMP is one '?';
 * everything else as without the flag. */
static void test_bmp(void **state)
{
	char s[] = "a\xf0\x9f\x98\x80" "b\xf4\x8f\xbf\xbf\xc3\xa9\xef\xbf\xbd\xff\xf0\x9f\x98";
	(void)state;

	assert_true(util_utf8_is_clean("caf\xc3\xa9 \xef\xbf\xbd", UTIL_UTF8_BMP));
	assert_false(util_utf8_is_clean("\xf0\x9f\x98\x80", UTIL_UTF8_BMP));
	assert_true(util_utf8_is_clean("\xf0\x9f\x98\x80", 0));
	assert_true(util_utf8_is_clean(NULL, UTIL_UTF8_BMP));
	assert_null(util_utf8_clean(NULL, 0));
	util_utf8_clean(s, UTIL_UTF8_BMP);
	assert_string_equal(s, "a?b?\xc3\xa9\xef\xbf\xbd????");
	assert_true(util_utf8_is_clean(s, UTIL_UTF8_BMP));
}

static void test_char_len(void **state)
{
	(void)state;
	assert_int_equal(util_utf8_char_len("a"), 1);
	assert_int_equal(util_utf8_char_len("\r"), 1);
	assert_int_equal(util_utf8_char_len("\x1f"), 0);
	assert_int_equal(util_utf8_char_len("\xc3\xa9"), 2);
	assert_int_equal(util_utf8_char_len("\xe2\x82\xac"), 3);
	assert_int_equal(util_utf8_char_len("\xf0\x9f\x98\x80"), 4);
	/* stops at the terminator: "\xf0" then NUL is one bad byte, nothing read past it */
	assert_int_equal(util_utf8_char_len("\xf0"), 0);
}

/* Every 1-, 2- and 3-byte sequence against a decoder written from the definition:
 * the scalar value must be in range, in its shortest form, and allowed. */
static bool allowed(uint32_t cp)
{
	if (cp < 0x20)
		return cp == '\t' || cp == '\n' || cp == '\r';
	return cp != 0x7f && cp != 0xfffe && cp != 0xffff && (cp < 0xd800 || cp > 0xdfff) &&
	       cp <= 0x10ffff;
}

static void test_against_definition(void **state)
{
	(void)state;
	for (uint32_t a = 1; a < 256; a++)
		for (uint32_t b = 0; b < 256; b++)
			for (uint32_t c = 0; c < 256; c += (a >= 0xe0 && a < 0xf0) ? 1 : 255) {
				unsigned char s[5] = { (unsigned char)a, (unsigned char)b,
						       (unsigned char)c, 0, 0 };
				size_t want = 0;
				if (a < 0x80)
					want = allowed(a);
				else if (a >= 0xc0 && a < 0xe0 && (b & 0xc0) == 0x80)
					want = ((a & 0x1f) << 6 | (b & 0x3f)) >= 0x80 ? 2 : 0;
				else if (a >= 0xe0 && a < 0xf0 && (b & 0xc0) == 0x80 &&
					 (c & 0xc0) == 0x80) {
					uint32_t cp = (a & 0x0f) << 12 | (b & 0x3f) << 6 | (c & 0x3f);
					want = cp >= 0x800 && allowed(cp) ? 3 : 0;
				}
				if (a >= 0xf0)
					continue; /* 4-byte forms: the table above */
				size_t got = util_utf8_char_len((const char *)s);
				if (got != want)
					fail_msg("%02x %02x %02x: %zu, want %zu", a, b, c, got, want);
			}
	/* 4-byte leads with every second byte, and valid or invalid third/fourth bytes */
	static const unsigned char tail[] = { 0x80, 0xbf, 0x41, 0xc0 };
	for (uint32_t a = 0xf0; a < 256; a++)
		for (uint32_t b = 1; b < 256; b++)
			for (size_t i = 0; i < sizeof(tail); i++)
				for (size_t j = 0; j < sizeof(tail); j++) {
					uint32_t c = tail[i], d = tail[j];
					unsigned char s[5] = { (unsigned char)a, (unsigned char)b,
							       (unsigned char)c, (unsigned char)d, 0 };
					size_t want = 0;
					if (a < 0xf8 && (b & 0xc0) == 0x80 && (c & 0xc0) == 0x80 &&
					    (d & 0xc0) == 0x80) {
						uint32_t cp = (a & 0x07) << 18 | (b & 0x3f) << 12 |
							      (c & 0x3f) << 6 | (d & 0x3f);
						want = cp >= 0x10000 && allowed(cp) ? 4 : 0;
					}
					size_t got = util_utf8_char_len((const char *)s);
					if (got != want)
						fail_msg("%02x %02x %02x %02x: %zu, want %zu", a, b, c,
							 d, got, want);
				}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_char_len),
		cmocka_unit_test(test_bmp),
		cmocka_unit_test(test_against_definition),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
