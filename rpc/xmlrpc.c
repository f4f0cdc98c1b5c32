#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xmlrpc.h"
#include "../vdsm-c/util/utf8.h"
#include "../vdsm-c/util/util.h"

struct rpc_blob *rpc_blob_new(const char *data, size_t len)
{
	struct rpc_blob *b = malloc(sizeof(*b) + len + 1);

	if (!b)
		return NULL;
	atomic_init(&b->ref, 1);
	b->len = len;
	if (data)
		memcpy(b->data, data, len);
	b->data[len] = '\0';
	return b;
}

struct rpc_blob *rpc_blob_ref(struct rpc_blob *b)
{
	if (b)
		atomic_fetch_add_explicit(&b->ref, 1, memory_order_relaxed);
	return b;
}

void rpc_blob_unref(struct rpc_blob *b)
{
	if (b && atomic_fetch_sub_explicit(&b->ref, 1, memory_order_acq_rel) == 1)
		free(b);
}

void rpc_codec_init(size_t max_body, int max_depth)
{
	xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, max_body);
	xmlrpc_limit_set(XMLRPC_NESTING_LIMIT_ID, (size_t)max_depth);
}

/* ---- UTF-8 ---- */

/* Length of the UTF-8 sequence at p (left > 0 bytes readable) when it is valid UTF-8
 * for a character XML 1.0 can carry, else 0: a bad lead or continuation byte, a
 * truncated sequence, an overlong form, a UTF-16 surrogate (U+D800-U+DFFF), a code
 * point above U+10FFFF, or U+FFFE/U+FFFF (not XML characters). ASCII, control bytes
 * included, is 1: callers decide about those. Characters outside the Basic
 * Multilingual Plane (4 bytes, U+10000-U+10FFFF) are valid. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	static const uint32_t min_cp[] = { 0, 0, 0x80, 0x800, 0x10000 };
	unsigned c = p[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe ||
	    cp == 0xffff)
		return 0;
	return n;
}

/* xmlrpc-c 1.33 checks every string value it creates with this function: the strings
 * it parses (<string>, untyped <value>, struct member names, the method name) and the
 * ones we build (rpc_str). Its own version decodes to UCS-2 and so refuses every
 * character outside the Basic Multilingual Plane ("UTF-8 string contains a character
 * not in the Basic Multilingual Plane"): a vmName with an emoji got fault 1 although it
 * is valid UTF-8 and valid XML. libxmlrpc calls it through its PLT, so this definition
 * in the program takes its place (ELF symbol interposition); the serializer copies
 * string bytes unchanged, so such characters go out intact. Still refused: everything
 * utf8_seq() refuses. Embedded NUL and control bytes are accepted, as by the library
 * (expat never delivers them; readers refuse NUL). */
void xmlrpc_validate_utf8(xmlrpc_env *const envP, const char *const utf8_data, size_t const utf8_len)
{
	const unsigned char *p = (const unsigned char *)utf8_data;

	for (size_t i = 0; i < utf8_len;) {
		size_t n = utf8_seq(p + i, utf8_len - i);
		if (n == 0) {
			xmlrpc_env_set_fault_formatted(envP, XMLRPC_INVALID_UTF8_ERROR,
						       "%zu-byte string is not valid UTF-8: byte 0x%02x at offset %zu",
						       utf8_len, p[i], i);
			return;
		}
		i += n;
	}
}

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

int rpc_parse_call(const char *body, size_t len, char **ret_method, xmlrpc_value **ret_params,
		   struct vd_error *err)
{
	xmlrpc_env env;
	const char *method = NULL;
	xmlrpc_value *params = NULL;

	/* The body check is part of parsing: nothing reaches xmlrpc-c's parser unchecked.
	 * (The parameterless fast path is the caller's: vd_api_handle tries it first.) */
	if (rpc_body_check(body, len, (int)xmlrpc_limit_get(XMLRPC_NESTING_LIMIT_ID), err) < 0)
		return -EBADMSG;
	xmlrpc_env_init(&env);
	xmlrpc_parse_call(&env, body, len, &method, &params);
	if (env.fault_occurred) {
		vd_error_set(err, VD_ERR_GENERAL, "%s", env.fault_string ? env.fault_string : "parse error");
		xmlrpc_env_clean(&env);
		return -EINVAL;
	}
	xmlrpc_env_clean(&env);
	*ret_method = (char *)method;
	*ret_params = params;
	return 0;
}

static struct rpc_blob *blob_from_memblock(xmlrpc_mem_block *mb)
{
	struct rpc_blob *b = rpc_blob_new(XMLRPC_MEMBLOCK_CONTENTS(char, mb),
					  XMLRPC_MEMBLOCK_SIZE(char, mb));
	XMLRPC_MEMBLOCK_FREE(char, mb);
	return b;
}

struct rpc_blob *rpc_serialize_response(xmlrpc_value *value)
{
	xmlrpc_env env;
	xmlrpc_mem_block *mb;

	xmlrpc_env_init(&env);
	mb = XMLRPC_MEMBLOCK_NEW(char, &env, 0);
	if (env.fault_occurred)
		goto fail;
	/* The i8 dialect only matters for i8 values, which our builders never create. */
	xmlrpc_serialize_response2(&env, mb, value, xmlrpc_dialect_i8);
	if (env.fault_occurred) {
		XMLRPC_MEMBLOCK_FREE(char, mb);
		goto fail;
	}
	xmlrpc_env_clean(&env);
	return blob_from_memblock(mb);
fail:
	xmlrpc_env_clean(&env);
	return NULL;
}

/* NULL when s is clean already, else a cleaned copy: util/utf8.h is the one cleaner
 * (characters outside the BMP kept: xmlrpc_validate_utf8 above lets them through). */
static char *sanitize(const char *s)
{
	char *copy;

	if (util_utf8_is_clean(s, 0) || !(copy = strdup(s)))
		return NULL;
	return util_utf8_clean(copy, 0);
}

struct rpc_blob *rpc_serialize_fault(int code, const char *message)
{
	xmlrpc_env env;
	xmlrpc_mem_block *mb;
	char *clean = sanitize(message);
	/* Filled by hand, not by xmlrpc_env_set_fault(): that one rewrites every byte of a
	 * character outside the Basic Multilingual Plane to DEL, so a fault naming such a
	 * value would not show it. sanitize() already made the text safe. */
	xmlrpc_env fenv = { .fault_occurred = 1, .fault_code = code,
			    .fault_string = clean ? clean : (char *)message };

	xmlrpc_env_init(&env);
	mb = XMLRPC_MEMBLOCK_NEW(char, &env, 0);
	if (!env.fault_occurred)
		xmlrpc_serialize_fault(&env, mb, &fenv);
	free(clean);
	if (env.fault_occurred) {
		if (mb)
			XMLRPC_MEMBLOCK_FREE(char, mb);
		xmlrpc_env_clean(&env);
		return NULL;
	}
	xmlrpc_env_clean(&env);
	return blob_from_memblock(mb);
}

xmlrpc_value *rpc_envelope(xmlrpc_env *env, xmlrpc_value *payload, int code, const char *message)
{
	if (env->fault_occurred) {
		if (payload)
			xmlrpc_DECREF(payload);
		return NULL;
	}
	if (!payload)
		payload = rpc_struct_new(env);
	xmlrpc_value *status = rpc_struct_new(env);
	rpc_set_int(env, status, "code", code);
	rpc_set_str(env, status, "message", message);
	rpc_set_take(env, payload, "status", status);
	if (env->fault_occurred) {
		if (payload)
			xmlrpc_DECREF(payload);
		return NULL;
	}
	return payload;
}

struct rpc_blob *rpc_serialize_envelope(xmlrpc_env *env, xmlrpc_value *payload, int code,
					const char *message)
{
	xmlrpc_value *r = rpc_envelope(env, payload, code, message);
	struct rpc_blob *b;

	if (!r)
		return NULL;
	b = rpc_serialize_response(r);
	xmlrpc_DECREF(r);
	return b;
}

/* ---- incoming ---- */

static bool string_blank(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return *s == '\0';
}

int rpc_to_ll(xmlrpc_value *v, long long *ret)
{
	xmlrpc_env env;
	int r = RPC_BADTYPE;

	if (!v)
		return RPC_ABSENT;
	xmlrpc_env_init(&env);
	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_INT: {
		int i;
		xmlrpc_read_int(&env, v, &i);
		if (!env.fault_occurred) {
			*ret = i;
			r = RPC_OK;
		}
		break;
	}
	case XMLRPC_TYPE_I8: {
		xmlrpc_int64 i;
		xmlrpc_read_i8(&env, v, &i);
		if (!env.fault_occurred) {
			*ret = i;
			r = RPC_OK;
		}
		break;
	}
	case XMLRPC_TYPE_STRING: {
		const char *s = NULL;
		xmlrpc_read_string(&env, v, &s);
		if (!env.fault_occurred) {
			if (string_blank(s))
				r = RPC_ABSENT;
			else if (util_parse_ll(s, LLONG_MIN, LLONG_MAX, ret) == 0)
				r = RPC_OK;
			free((char *)s);
		}
		break;
	}
	default:
		break;
	}
	xmlrpc_env_clean(&env);
	return r;
}

int rpc_to_bool(xmlrpc_value *v, bool *ret)
{
	xmlrpc_env env;
	int r = RPC_BADTYPE;

	if (!v)
		return RPC_ABSENT;
	xmlrpc_env_init(&env);
	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_BOOL: {
		xmlrpc_bool b;
		xmlrpc_read_bool(&env, v, &b);
		if (!env.fault_occurred) {
			*ret = b;
			r = RPC_OK;
		}
		break;
	}
	case XMLRPC_TYPE_INT: {
		int i;
		xmlrpc_read_int(&env, v, &i);
		if (!env.fault_occurred && (i == 0 || i == 1)) {
			*ret = i;
			r = RPC_OK;
		}
		break;
	}
	case XMLRPC_TYPE_STRING: {
		const char *s = NULL;
		xmlrpc_read_string(&env, v, &s);
		if (!env.fault_occurred) {
			if (util_parse_bool(s, ret) == 0)
				r = RPC_OK;
			free((char *)s);
		}
		break;
	}
	default:
		break;
	}
	xmlrpc_env_clean(&env);
	return r;
}

char *rpc_to_string(xmlrpc_value *v)
{
	xmlrpc_env env;
	char *out = NULL;

	if (!v)
		return NULL;
	xmlrpc_env_init(&env);
	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_STRING: {
		const char *s = NULL;
		xmlrpc_read_string(&env, v, &s);
		if (!env.fault_occurred)
			out = (char *)s;
		break;
	}
	case XMLRPC_TYPE_INT: {
		int i;
		xmlrpc_read_int(&env, v, &i);
		if (!env.fault_occurred && asprintf(&out, "%d", i) < 0)
			out = NULL;
		break;
	}
	case XMLRPC_TYPE_I8: {
		xmlrpc_int64 i;
		xmlrpc_read_i8(&env, v, &i);
		if (!env.fault_occurred && asprintf(&out, "%lld", (long long)i) < 0)
			out = NULL;
		break;
	}
	default:
		break;
	}
	xmlrpc_env_clean(&env);
	return out;
}

int rpc_to_double(xmlrpc_value *v, double *ret)
{
	xmlrpc_env env;
	int r = RPC_BADTYPE;
	long long ll;

	if (!v)
		return RPC_ABSENT;
	if (xmlrpc_value_type(v) != XMLRPC_TYPE_DOUBLE && xmlrpc_value_type(v) != XMLRPC_TYPE_STRING) {
		r = rpc_to_ll(v, &ll);
		if (r == RPC_OK)
			*ret = (double)ll;
		return r;
	}
	xmlrpc_env_init(&env);
	if (xmlrpc_value_type(v) == XMLRPC_TYPE_DOUBLE) {
		xmlrpc_read_double(&env, v, ret);
		if (!env.fault_occurred)
			r = RPC_OK;
	} else {
		const char *s = NULL;
		xmlrpc_read_string(&env, v, &s);
		if (!env.fault_occurred) {
			char *end;
			if (string_blank(s)) {
				r = RPC_ABSENT;
			} else {
				errno = 0;
				double d = strtod(s, &end);
				while (isspace((unsigned char)*end))
					end++;
				if (!*end && errno == 0) {
					*ret = d;
					r = RPC_OK;
				}
			}
			free((char *)s);
		}
	}
	xmlrpc_env_clean(&env);
	return r;
}

xmlrpc_value *rpc_struct_get(xmlrpc_value *st, const char *key)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;

	if (!st || xmlrpc_value_type(st) != XMLRPC_TYPE_STRUCT)
		return NULL;
	xmlrpc_env_init(&env);
	xmlrpc_struct_find_value(&env, st, key, &v);
	xmlrpc_env_clean(&env);
	if (v)
		xmlrpc_DECREF(v); /* the struct keeps its own reference: hand out a borrowed one */
	return v;
}

/* ---- outgoing ---- */

xmlrpc_value *rpc_struct_new(xmlrpc_env *env)
{
	return env->fault_occurred ? NULL : xmlrpc_struct_new(env);
}

xmlrpc_value *rpc_array_new(xmlrpc_env *env)
{
	return env->fault_occurred ? NULL : xmlrpc_array_new(env);
}

void rpc_set_take(xmlrpc_env *env, xmlrpc_value *st, const char *key, xmlrpc_value *v)
{
	if (!env->fault_occurred && st && v)
		xmlrpc_struct_set_value(env, st, key, v);
	if (v)
		xmlrpc_DECREF(v);
}

void rpc_append_take(xmlrpc_env *env, xmlrpc_value *arr, xmlrpc_value *v)
{
	if (!env->fault_occurred && arr && v)
		xmlrpc_array_append_item(env, arr, v);
	if (v)
		xmlrpc_DECREF(v);
}

xmlrpc_value *rpc_str(xmlrpc_env *env, const char *s)
{
	if (env->fault_occurred)
		return NULL;
	if (!s)
		s = "";
	char *clean = sanitize(s);
	xmlrpc_value *v = xmlrpc_string_new(env, clean ? clean : s);
	free(clean);
	return v;
}

xmlrpc_value *rpc_int(xmlrpc_env *env, int i)
{
	return env->fault_occurred ? NULL : xmlrpc_int_new(env, i);
}

xmlrpc_value *rpc_i64(xmlrpc_env *env, long long v)
{
	char buf[24];

	if (v >= INT_MIN && v <= INT_MAX)
		return rpc_int(env, (int)v);
	snprintf(buf, sizeof(buf), "%lld", v);
	return rpc_str(env, buf);
}

xmlrpc_value *rpc_bool(xmlrpc_env *env, bool b)
{
	return env->fault_occurred ? NULL : xmlrpc_bool_new(env, b);
}

xmlrpc_value *rpc_double(xmlrpc_env *env, double d)
{
	if (env->fault_occurred)
		return NULL;
	/* xmlrpc-c 1.33 serializes an infinite double by recursing without end
	 * (xmlrpc_formatFloat: a stack overflow) and NaN as 0: fail the reply instead. */
	if (!isfinite(d)) {
		xmlrpc_env_set_fault_formatted(env, XMLRPC_TYPE_ERROR, "double %g is not finite", d);
		return NULL;
	}
	return xmlrpc_double_new(env, d);
}

void rpc_set_str(xmlrpc_env *env, xmlrpc_value *st, const char *key, const char *s)
{
	rpc_set_take(env, st, key, rpc_str(env, s));
}

void rpc_set_strf(xmlrpc_env *env, xmlrpc_value *st, const char *key, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	rpc_set_str(env, st, key, buf);
}

void rpc_set_int(xmlrpc_env *env, xmlrpc_value *st, const char *key, int v)
{
	rpc_set_take(env, st, key, rpc_int(env, v));
}

void rpc_set_i64(xmlrpc_env *env, xmlrpc_value *st, const char *key, long long v)
{
	rpc_set_take(env, st, key, rpc_i64(env, v));
}

void rpc_set_bool(xmlrpc_env *env, xmlrpc_value *st, const char *key, bool v)
{
	rpc_set_take(env, st, key, rpc_bool(env, v));
}

void rpc_set_double(xmlrpc_env *env, xmlrpc_value *st, const char *key, double v)
{
	rpc_set_take(env, st, key, rpc_double(env, v));
}

void rpc_append_str(xmlrpc_env *env, xmlrpc_value *arr, const char *s)
{
	rpc_append_take(env, arr, rpc_str(env, s));
}

void rpc_append_int(xmlrpc_env *env, xmlrpc_value *arr, int v)
{
	rpc_append_take(env, arr, rpc_int(env, v));
}

xmlrpc_value *rpc_struct_copy_shallow(xmlrpc_env *env, xmlrpc_value *st)
{
	xmlrpc_value *out = rpc_struct_new(env);
	int n = env->fault_occurred ? 0 : xmlrpc_struct_size(env, st);

	for (int i = 0; i < n && !env->fault_occurred; i++) {
		xmlrpc_value *k = NULL, *item = NULL;
		xmlrpc_struct_read_member(env, st, i, &k, &item);
		if (!env->fault_occurred)
			xmlrpc_struct_set_value_v(env, out, k, item);
		if (k)
			xmlrpc_DECREF(k);
		if (item)
			xmlrpc_DECREF(item);
	}
	if (env->fault_occurred && out) {
		xmlrpc_DECREF(out);
		return NULL;
	}
	return out;
}

bool rpc_value_has_forbidden(xmlrpc_value *v)
{
	xmlrpc_env env;
	bool bad = false;

	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_I8:
	case XMLRPC_TYPE_NIL:
	case XMLRPC_TYPE_DATETIME:
	case XMLRPC_TYPE_C_PTR:
	case XMLRPC_TYPE_DEAD:
		return true;
	case XMLRPC_TYPE_ARRAY: {
		xmlrpc_env_init(&env);
		int n = xmlrpc_array_size(&env, v);
		for (int i = 0; i < n && !bad && !env.fault_occurred; i++) {
			xmlrpc_value *item = NULL;
			xmlrpc_array_read_item(&env, v, i, &item);
			if (item) {
				bad = rpc_value_has_forbidden(item);
				xmlrpc_DECREF(item);
			}
		}
		xmlrpc_env_clean(&env);
		return bad;
	}
	case XMLRPC_TYPE_STRUCT: {
		xmlrpc_env_init(&env);
		int n = xmlrpc_struct_size(&env, v);
		for (int i = 0; i < n && !bad && !env.fault_occurred; i++) {
			xmlrpc_value *k = NULL, *item = NULL;
			xmlrpc_struct_read_member(&env, v, i, &k, &item);
			if (item) {
				bad = rpc_value_has_forbidden(item);
				xmlrpc_DECREF(item);
			}
			if (k)
				xmlrpc_DECREF(k);
		}
		xmlrpc_env_clean(&env);
		return bad;
	}
	default:
		return false;
	}
}
