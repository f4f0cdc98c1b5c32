#include <string.h>

#include "utf8.h"

static inline bool cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/* Second-byte ranges exclude overlongs (E0 80–9F, F0 80–8F), surrogates (ED A0–BF)
 * and code points past U+10FFFF (F4 90–BF): RFC 3629 §4, "UTF8-3"/"UTF8-4". */
size_t util_utf8_char_len(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned c = s[0];

	if (c < 0x80)
		return c >= 0x20 ? (c != 0x7f) : (c == '\t' || c == '\n' || c == '\r');
	if (c < 0xc2)
		return 0; /* continuation byte, or C0/C1: an overlong 2-byte form */
	if (c < 0xe0)
		return cont(s[1]) ? 2 : 0;
	if (c < 0xf0) {
		unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		if (s[1] < lo || s[1] > hi || !cont(s[2]))
			return 0;
		if (c == 0xef && s[1] == 0xbf && s[2] >= 0xbe)
			return 0; /* U+FFFE, U+FFFF */
		return 3;
	}
	if (c < 0xf5) {
		unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		if (s[1] < lo || s[1] > hi || !cont(s[2]) || !cont(s[3]))
			return 0;
		return 4;
	}
	return 0;
}

bool util_utf8_is_clean(const char *s, unsigned flags)
{
	if (!s)
		return true;
	while (*s) {
		/* printable ASCII is the common case: skip it without the decoder */
		if ((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f) {
			s++;
			continue;
		}
		size_t n = util_utf8_char_len(s);
		if (n == 0 || (n == 4 && (flags & UTIL_UTF8_BMP)))
			return false;
		s += n;
	}
	return true;
}

char *util_utf8_clean(char *s, unsigned flags)
{
	const char *p = s;
	char *o = s;

	if (!s)
		return NULL;
	while (*p) {
		size_t n = util_utf8_char_len(p);
		if (n == 0 || (n == 4 && (flags & UTIL_UTF8_BMP))) {
			*o++ = '?';
			p += n ? n : 1;
			continue;
		}
		memmove(o, p, n);
		o += n;
		p += n;
	}
	*o = '\0';
	return s;
}
