/* The checks every request body passes before any XML parser sees it (rpc_body_check,
 * rpc_scalar_check) and the parser-free fast path for the manager's parameterless
 * polls (rpc_parse_call_noparams). Declared in xmlrpc.h. Linear in the body, no
 * allocation except for a scalar's text longer than 127 bytes. */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xmlrpc.h"
#include "../vdsm-c/util/utf8.h"
#include "../vdsm-c/util/util.h"

/* ---- scalar values ---- */

/* The scalar elements whose text xmlrpc-c 1.33 converts (parse_value.c,
 * parseSimpleValueCdata), by the name it compares with strcmp (no namespaces). */
enum scalar_kind {
	SCALAR_INT,
	SCALAR_I8,
	SCALAR_BOOL,
	SCALAR_DOUBLE,
	SCALAR_DATETIME,
	SCALAR_BASE64,
};

static const struct {
	const char *name;
	enum scalar_kind kind;
} scalar_names[] = {
	{ "int", SCALAR_INT },	   { "i4", SCALAR_INT },	 { "i1", SCALAR_INT },
	{ "i2", SCALAR_INT },	   { "ex:i1", SCALAR_INT },	 { "ex:i2", SCALAR_INT },
	{ "i8", SCALAR_I8 },	   { "ex:i8", SCALAR_I8 },	 { "boolean", SCALAR_BOOL },
	{ "double", SCALAR_DOUBLE }, { "dateTime.iso8601", SCALAR_DATETIME },
	{ "base64", SCALAR_BASE64 },
};

static int scalar_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(scalar_names) / sizeof(scalar_names[0]); i++)
		if (strlen(scalar_names[i].name) == len && memcmp(scalar_names[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Integers: xmlrpc-c refuses empty text and a leading white-space character, then
 * takes strtol()/strtoll() in base 10 over the whole text (C locale): an optional sign
 * and decimal digits, any number of leading zeros. 1 malformed, 2 out of [min, max]. */
static int int_text_check(const char *s, long long min, long long max)
{
	const char *p = s + (*s == '+' || *s == '-');
	unsigned long long mag = 0, limit;
	const unsigned long long cap = (unsigned long long)LLONG_MAX + 1;

	if (!is_digit(*p))
		return 1;
	for (; is_digit(*p); p++)
		mag = mag > cap / 10 ? cap + 1 : mag * 10 + (unsigned)(*p - '0');
	if (*p)
		return 1;
	limit = *s == '-' ? (unsigned long long)(-(min + 1)) + 1 : (unsigned long long)max;
	return mag > limit ? 2 : 0;
}

/* Doubles: xmlrpc-c sums a plain decimal ([sign] digits [. digits], at least one digit)
 * digit by digit, and when that is not the form or the sum overflows, takes strtod()
 * if it consumes the whole non-empty text without an error (which also admits
 * exponents, leading white space, hex, "inf" and "nan"). The sum is redone here the
 * same way so that near-DBL_MAX decimals get the same verdict. Infinity and NaN are
 * refused although the library takes them: it serializes an infinite double by
 * recursing without end (xmlrpc_formatFloat; a crash when a verb echoes a parameter, as
 * create echoes vmParams) and NaN as 0. 1 malformed, 2 out of range, 3 not finite. */
static int double_text_check(const char *s)
{
	const char *m = s + (*s == '+' || *s == '-'), *p;
	size_t ndigits = 0;
	bool dot = false;

	for (p = m; *p; p++) {
		if (is_digit(*p))
			ndigits++;
		else if (*p == '.' && !dot)
			dot = true;
		else
			break;
	}
	if (!*p && ndigits > 0) {
		double sum = 0.0, weight = 0.1;
		for (p = m; *p && *p != '.'; p++) {
			sum *= 10;
			sum += *p - '0';
		}
		if (*p == '.')
			for (p++; *p; p++, weight *= 0.1)
				sum += (*p - '0') * weight;
		if (sum <= DBL_MAX)
			return 0;
	}
	if (!*s)
		return 1;
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (*end)
		return 1;
	if (errno == ERANGE)
		return 2;
	if (errno)
		return 1;
	return isfinite(d) ? 0 : 3;
}

static bool digits_at(const char *p, int n)
{
	for (int i = 0; i < n; i++)
		if (!is_digit(p[i]))
			return false;
	return true;
}

static unsigned two_digits(const char *p)
{
	return (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
}

/* dateTime.iso8601: xmlrpc-c takes the text when one of two case-insensitive regular
 * expressions matches the whole of it,
 *   YYYY[-]MM[-]DD T hh[:]mm[:]ss [.] [digits...]
 *   YYYY[-]MM[-]DD T hh[:]mm[:]ss (Z|+|-|\) [2 to 4 digits]
 * then refuses month outside 1-12, day outside 1-31, hour > 23, minute or second > 59. */
static bool datetime_text_ok(const char *p)
{
	unsigned mon, day, hour, min, sec;

	if (!digits_at(p, 4))
		return false;
	p += 4;
	p += *p == '-';
	if (!digits_at(p, 2))
		return false;
	mon = two_digits(p);
	p += 2;
	p += *p == '-';
	if (!digits_at(p, 2))
		return false;
	day = two_digits(p);
	p += 2;
	if (*p != 'T' && *p != 't')
		return false;
	p++;
	if (!digits_at(p, 2))
		return false;
	hour = two_digits(p);
	p += 2;
	p += *p == ':';
	if (!digits_at(p, 2))
		return false;
	min = two_digits(p);
	p += 2;
	p += *p == ':';
	if (!digits_at(p, 2))
		return false;
	sec = two_digits(p);
	p += 2;
	/* The library's bracket expression [Z\+\-] also matches a backslash (POSIX
	 * brackets take '\' literally). */
	if (*p == 'Z' || *p == 'z' || *p == '+' || *p == '-' || *p == '\\') {
		size_t n = strspn(++p, "0123456789");
		if ((n != 0 && (n < 2 || n > 4)) || p[n])
			return false;
	} else {
		p += *p == '.';
		p += strspn(p, "0123456789");
		if (*p)
			return false;
	}
	return mon >= 1 && mon <= 12 && day >= 1 && day <= 31 && hour <= 23 && min <= 59 && sec <= 59;
}

/* base64: xmlrpc-c's decoder skips CR, LF and space, ignores bytes outside the
 * alphabet, reads '=' as a zero digit and counts it as padding, and fails when the
 * digits do not make whole bytes or the padding exceeds 2 or the decoded length. It
 * looks at the low 7 bits of each byte, so what it makes of non-ASCII text depends on
 * the document's encoding: such text is refused here (it is never base64). */
static bool base64_text_ok(const char *s)
{
	size_t ndigits = 0, npad = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p >= 0x80)
			return false;
		if (*p == '=')
			npad++;
		if (isalnum(*p) || *p == '+' || *p == '/' || *p == '=')
			ndigits++;
	}
	return ndigits % 4 == 0 && npad <= ndigits / 4 * 3 && npad <= 2;
}

/* Sets err to "<type> value 'text' what", the text cut to 40 bytes on a character
 * boundary and its control characters shown as '?'. Returns -1. */
static int scalar_refuse(struct vd_error *err, const char *type, const char *text,
			 const char *what)
{
	size_t n = strlen(text), cut = n > 40 ? 40 : n;
	char shown[41];

	while (cut > 0 && cut < n && (text[cut] & 0xc0) == 0x80)
		cut--;
	for (size_t i = 0; i < cut; i++)
		shown[i] = (unsigned char)text[i] < 0x20 || text[i] == 0x7f ? '?' : text[i];
	shown[cut] = '\0';
	vd_error_set(err, VD_ERR_GENERAL, "<%s> value '%s%s' %s", type, shown, cut < n ? "..." : "", what);
	return -1;
}

static int scalar_check(int idx, const char *text, struct vd_error *err)
{
	const char *type = scalar_names[idx].name;
	int r;

	switch (scalar_names[idx].kind) {
	case SCALAR_INT:
		r = int_text_check(text, INT32_MIN, INT32_MAX);
		if (r)
			return scalar_refuse(err, type, text,
					     r == 1 ? "is not an integer" :
						      "is out of the 32-bit range (-2147483648 to 2147483647)");
		return 0;
	case SCALAR_I8:
		/* Every text xmlrpc-c 1.33 cannot read as a 64-bit integer must stop here: its
		 * fault message for those has two %s and one argument (parseI8), and formatting
		 * it reads a stray pointer (SIGSEGV in strlen). */
		r = int_text_check(text, INT64_MIN, INT64_MAX);
		if (r)
			return scalar_refuse(err, type, text,
					     r == 1 ? "is not an integer" :
						      "is out of the 64-bit range (-9223372036854775808 to 9223372036854775807)");
		return 0;
	case SCALAR_BOOL:
		if (strcmp(text, "0") != 0 && strcmp(text, "1") != 0)
			return scalar_refuse(err, type, text, "is not 0 or 1");
		return 0;
	case SCALAR_DOUBLE:
		r = double_text_check(text);
		if (r)
			return scalar_refuse(err, type, text,
					     r == 1 ? "is not a number" :
					     r == 2 ? "is out of the range of a double" :
						      "is not a finite number");
		return 0;
	case SCALAR_DATETIME:
		if (!datetime_text_ok(text))
			return scalar_refuse(err, type, text,
					     "is not a date and time (YYYYMMDDThh:mm:ss)");
		return 0;
	case SCALAR_BASE64:
		if (!base64_text_ok(text))
			return scalar_refuse(err, type, text, "is not base64");
		return 0;
	}
	return 0;
}

int rpc_scalar_check(const char *type, const char *text, struct vd_error *err)
{
	int idx = scalar_lookup(type, strlen(type));

	return idx < 0 ? 0 : scalar_check(idx, text, err);
}

/* End of the content of an element whose start tag ends just before p: the '<' of
 * the first end tag, past comments, CDATA sections and processing instructions. NULL
 * when a child element comes first (xmlrpc-c then refuses the element as a scalar
 * without reading its text) or the body ends (the parser reports that). */
static const char *content_end(const char *p, const char *end)
{
	while ((p = memchr(p, '<', end - p)) != NULL) {
		size_t left = end - p;
		const char *e;

		if (left >= 4 && memcmp(p, "<!--", 4) == 0) {
			if (!(e = memmem(p + 4, left - 4, "-->", 3)))
				return NULL;
			p = e + 3;
		} else if (left >= 9 && memcmp(p, "<![CDATA[", 9) == 0) {
			if (!(e = memmem(p + 9, left - 9, "]]>", 3)))
				return NULL;
			p = e + 3;
		} else if (left >= 2 && p[1] == '?') {
			if (!(e = memmem(p + 2, left - 2, "?>", 2)))
				return NULL;
			p = e + 2;
		} else if (left >= 2 && p[1] == '/') {
			return p;
		} else {
			return NULL;
		}
	}
	return NULL;
}

static bool xml_char(uint32_t cp)
{
	return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
	       (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

static char *utf8_put(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

/* The reference starting at p ('&'), before e: *ret_cp and the byte after its ';', or
 * NULL when expat would refuse it (not one of the five predefined entities — no DTD
 * gets this far — or a character reference that is malformed or not an XML
 * character). */
static const char *xml_ref(const char *p, const char *e, uint32_t *ret_cp)
{
	static const struct {
		const char *name;
		char c;
	} named[] = { { "lt;", '<' }, { "gt;", '>' }, { "amp;", '&' }, { "quot;", '"' }, { "apos;", '\'' } };
	size_t left = e - p - 1;

	p++;
	if (left > 0 && *p == '#') {
		bool hex = left > 1 && p[1] == 'x';
		const char *q = p + 1 + hex;
		uint32_t cp = 0;
		size_t n = 0;
		for (; q < e; q++, n++) {
			unsigned d;
			if (is_digit(*q))
				d = (unsigned)(*q - '0');
			else if (hex && *q >= 'a' && *q <= 'f')
				d = (unsigned)(*q - 'a' + 10);
			else if (hex && *q >= 'A' && *q <= 'F')
				d = (unsigned)(*q - 'A' + 10);
			else
				break;
			cp = cp > 0x10ffff ? cp : cp * (hex ? 16 : 10) + d;
		}
		if (n == 0 || q >= e || *q != ';' || !xml_char(cp))
			return NULL;
		*ret_cp = cp;
		return q + 1;
	}
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		size_t n = strlen(named[i].name);
		if (left >= n && memcmp(p, named[i].name, n) == 0) {
			*ret_cp = (unsigned char)named[i].c;
			return p + n;
		}
	}
	return NULL;
}

/* The text of [p, e) as expat hands it to xmlrpc-c: references replaced, CDATA
 * sections copied, comments and processing instructions dropped, CR LF and a lone CR
 * read as LF (XML line-end handling; a &#13; reference stays CR). out has room for
 * e - p + 1 bytes: every construct decodes to no more bytes than it takes. Returns
 * false for a reference expat refuses. */
static bool xml_text(const char *p, const char *e, char *out)
{
	char *o = out;
	uint32_t cp;

	while (p < e) {
		size_t left = e - p;
		if (*p == '&') {
			if (!(p = xml_ref(p, e, &cp)))
				return false;
			o = utf8_put(o, cp);
		} else if (*p == '<') {
			/* content_end() let only terminated comments, PIs and CDATA through */
			const char *ce;
			if (left >= 4 && memcmp(p, "<!--", 4) == 0) {
				if (!(ce = memmem(p + 4, left - 4, "-->", 3)))
					return false;
				p = ce + 3;
				continue;
			}
			if (left >= 2 && p[1] == '?') {
				if (!(ce = memmem(p + 2, left - 2, "?>", 2)))
					return false;
				p = ce + 2;
				continue;
			}
			if (left < 9 || memcmp(p, "<![CDATA[", 9) != 0 ||
			    !(ce = memmem(p + 9, left - 9, "]]>", 3)))
				return false;
			for (p += 9; p < ce; p++)
				if (*p != '\r')
					*o++ = *p;
				else if (p + 1 == ce || p[1] != '\n')
					*o++ = '\n';
			p = ce + 3;
		} else if (*p == '\r') {
			if (left < 2 || p[1] != '\n')
				*o++ = '\n';
			p++;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return true;
}

/* The start tag [tag, gt] (gt at its '>') of a scalar element: its text checked as
 * scalar_check() does. 0 for other elements and for content the parser refuses on its
 * own (child elements, end of body). */
static int scalar_element_check(const char *tag, const char *gt, const char *end, struct vd_error *err)
{
	const char *name = tag + 1, *ne = name;
	char small[128], *buf = small;
	int r;

	while (ne < gt && *ne != '/' && *ne != ' ' && *ne != '\t' && *ne != '\r' && *ne != '\n')
		ne++;
	int idx = scalar_lookup(name, ne - name);
	if (idx < 0)
		return 0;
	if (gt[-1] == '/')
		return scalar_check(idx, "", err);
	const char *ce = content_end(gt + 1, end);
	if (!ce)
		return 0;
	size_t raw = ce - (gt + 1);
	if (raw >= sizeof(small) && !(buf = malloc(raw + 1))) {
		vd_error_set(err, VD_ERR_GENERAL, "out of memory");
		return -1;
	}
	if (xml_text(gt + 1, ce, buf)) {
		r = scalar_check(idx, buf, err);
	} else {
		memcpy(buf, gt + 1, raw);
		buf[raw] = '\0';
		r = scalar_refuse(err, scalar_names[idx].name, buf,
				  "has an undefined entity or an invalid character reference");
	}
	if (buf != small)
		free(buf);
	return r;
}

int rpc_body_check(const char *body, size_t len, int max_depth, struct vd_error *err)
{
	const long limit = 4L * max_depth + 8;
	long depth = 0;
	const char *p = body, *end = body + len;

	/* Everything below reads the body as ASCII-compatible bytes. Expat also takes
	 * UTF-16 (by BOM or by the shape of "<?xml"), where every markup character
	 * comes with a NUL byte: that would carry any of the refused constructs past this
	 * check. NUL is never allowed in XML 1.0, so no valid UTF-8 call has one. */
	if (memchr(body, '\0', len)) {
		vd_error_set(err, VD_ERR_GENERAL, "NUL bytes (UTF-16 or UTF-32 text) are not accepted");
		return -1;
	}
	while ((p = memchr(p, '<', end - p)) != NULL) {
		size_t left = end - p;
		if (left >= 2 && p[1] == '!') {
			if (left >= 4 && memcmp(p, "<!--", 4) == 0) {
				/* skip the whole comment: a '</a>' inside it closes nothing */
				const char *e = memmem(p + 4, left - 4, "-->", 3);
				if (!e)
					break;
				p = e + 3;
				continue;
			}
			if (left >= 9 && memcmp(p, "<![CDATA[", 9) == 0) {
				/* skip to the end of the section: '<' inside it is text */
				const char *e = memmem(p + 9, end - p - 9, "]]>", 3);
				if (!e)
					break;
				p = e + 3;
				continue;
			}
			vd_error_set(err, VD_ERR_GENERAL, "XML declarations ('<!DOCTYPE', '<!ENTITY') are not accepted");
			return -1;
		}
		if (left >= 2 && p[1] == '?') {
			/* processing instruction (or the declaration): text up to '?>' */
			const char *e = memmem(p + 2, left - 2, "?>", 2);
			if (!e)
				break;
			p = e + 2;
			continue;
		}
		if (left >= 2 && p[1] == '/') {
			depth--;
		} else if (left >= 2) {
			/* The tag ends at the first '>' outside quotes: '>' and '/>' are legal in
			 * an attribute value and must not end (or self-close) the element. */
			const char *gt = NULL;
			char quote = 0;
			for (const char *q = p + 1; q < end && !gt; q++) {
				if (quote)
					quote = *q == quote ? 0 : quote;
				else if (*q == '"' || *q == '\'')
					quote = *q;
				else if (*q == '>')
					gt = q;
			}
			if (!gt)
				break; /* truncated: the parser reports it */
			if (gt[-1] != '/' && ++depth > limit) {
				vd_error_set(err, VD_ERR_GENERAL, "XML nested deeper than %ld elements", limit);
				return -1;
			}
			if (scalar_element_check(p, gt, end, err) < 0)
				return -1;
			p = gt;
		}
		p++;
	}
	return 0;
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

static const char *eat(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	p = skip_ws(p, end);
	if ((size_t)(end - p) < n || memcmp(p, lit, n) != 0)
		return NULL;
	return p + n;
}

/* The manager polls parameterless verbs (ping, list, getVdsStats, getAllVmStats) every
 * few seconds. Their calls have one shape: an optional XML declaration, then
 * <methodCall><methodName>NAME</methodName> with <params/>, <params></params> or no
 * params. Recognising exactly that shape avoids creating an XML parser per request
 * (xmlrpc-c's costs about 25 000 instructions, more than TLS for a ping); anything
 * else goes to the full parser. NAME is restricted to [A-Za-z0-9_.:]. */
bool rpc_parse_call_noparams(const char *body, size_t len, char name[RPC_METHOD_MAX + 1])
{
	const char *p = body, *end = body + len;

	p = skip_ws(p, end);
	if ((size_t)(end - p) >= 5 && memcmp(p, "<?xml", 5) == 0) {
		const char *q = memchr(p, '>', end - p);
		if (!q || q[-1] != '?' || memchr(p + 1, '<', q - p - 1))
			return false;
		p = q + 1;
	}
	if (!(p = eat(p, end, "<methodCall>")) || !(p = eat(p, end, "<methodName>")))
		return false;
	char *out = name;
	const char *nm = p;
	while (p < end && (isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == ':'))
		p++;
	size_t nlen = p - nm;
	if (nlen == 0 || nlen > RPC_METHOD_MAX || !(p = eat(p, end, "</methodName>")))
		return false;
	const char *q;
	if ((q = eat(p, end, "<params/>")) || ((q = eat(p, end, "<params>")) && (q = eat(q, end, "</params>"))))
		p = q;
	if (!(p = eat(p, end, "</methodCall>")) || skip_ws(p, end) != end)
		return false;
	memcpy(out, nm, nlen);
	out[nlen] = '\0';
	return true;
}
