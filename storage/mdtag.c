/* storage/mdtag: see mdtag.h. */
#include "mdtag.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../vdsm-c/util/utf8.h"

static bool plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("_+.-/=!:#", c) != NULL;
}

/* The code point of the well-formed sequence s[0..len). */
static uint32_t code_point(const unsigned char *s, size_t len)
{
	if (len == 1)
		return s[0];
	uint32_t cp = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++)
		cp = (cp << 6) | (s[i] & 0x3f);
	return cp;
}

static size_t put_utf8(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A character a metadata line may hold: no C0 control, no DEL, no C1 control, and
 * nothing util/utf8 refuses (surrogates, U+FFFE, U+FFFF: XML cannot carry them). */
static bool line_char_ok(uint32_t cp)
{
	return cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f) &&
	       !(cp >= 0xd800 && cp <= 0xdfff) && cp != 0xfffe && cp != 0xffff &&
	       cp <= 0x10ffff;
}

int stg_mdtag_encode(const char *line, char *buf, size_t size)
{
	size_t max = size < STG_MDTAG_MAX + 1 ? size : STG_MDTAG_MAX + 1, pos;
	const unsigned char *s = (const unsigned char *)line;

	if (max < sizeof(STG_MDTAG_PREFIX))
		return -ENAMETOOLONG;
	memcpy(buf, STG_MDTAG_PREFIX, sizeof(STG_MDTAG_PREFIX));
	pos = sizeof(STG_MDTAG_PREFIX) - 1;
	while (*s) {
		if (plain(*s)) {
			if (pos + 1 >= max)
				return -ENAMETOOLONG;
			buf[pos++] = (char)*s++;
			continue;
		}
		size_t len = util_utf8_char_len((const char *)s);
		if (len == 0)
			return -EINVAL;
		uint32_t cp = code_point(s, len);
		if (!line_char_ok(cp))
			return -EINVAL;
		int r = snprintf(buf + pos, max - pos, "&%u&", (unsigned)cp);
		if (r < 0 || (size_t)r >= max - pos)
			return -ENAMETOOLONG;
		pos += (size_t)r;
		s += len;
	}
	buf[pos] = '\0';
	return (int)pos;
}

int stg_mdtag_decode(const char *tag, char *buf, size_t size)
{
	const size_t plen = sizeof(STG_MDTAG_PREFIX) - 1;
	size_t pos = 0;

	if (strncmp(tag, STG_MDTAG_PREFIX, plen) != 0)
		return -ENOENT;
	if (strnlen(tag, STG_MDTAG_MAX + 1) > STG_MDTAG_MAX)
		return -ENAMETOOLONG;
	if (size == 0)
		return -ENAMETOOLONG;
	for (const char *s = tag + plen; *s;) {
		unsigned char c = (unsigned char)*s;
		uint32_t cp;

		if (c < 0x21 || c > 0x7e)
			return -EINVAL;
		if (c != '&') {
			cp = c;
			s++;
		} else {
			const char *d = s + 1;
			cp = 0;
			if (*d < '0' || *d > '9')
				return -EINVAL;
			for (int n = 0; *d >= '0' && *d <= '9'; d++, n++) {
				if (n == 7)
					return -EINVAL;   /* more digits than U+10FFFF has */
				cp = cp * 10 + (uint32_t)(*d - '0');
			}
			if (*d != '&' || !line_char_ok(cp))
				return -EINVAL;
			s = d + 1;
		}
		char u[4];
		size_t len = put_utf8(cp, u);
		if (pos + len >= size)
			return -ENAMETOOLONG;
		memcpy(buf + pos, u, len);
		pos += len;
	}
	buf[pos] = '\0';
	return (int)pos;
}
