#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "utf8.h"

void util_buf_fail(struct util_buf *b, int err)
{
	if (b->error)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->error = err < 0 ? err : -EINVAL;
}

/* Room for n more bytes plus the terminator; false (and b in error) when impossible. */
static bool grow(struct util_buf *b, size_t n)
{
	if (b->error)
		return false;
	if (n < b->cap - b->len)
		return true;
	if (n > SIZE_MAX / 2 - b->len) {
		util_buf_fail(b, -ENOMEM);
		return false;
	}
	size_t need = b->len + n + 1, cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	char *d = realloc(b->data, cap);
	if (!d) {
		util_buf_fail(b, -ENOMEM);
		return false;
	}
	b->data = d;
	b->cap = cap;
	return true;
}

void util_buf_reserve(struct util_buf *b, size_t n)
{
	grow(b, n);
}

void util_buf_add_slow(struct util_buf *b, const void *s, size_t n)
{
	if (n == 0 || !grow(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

void util_buf_adds(struct util_buf *b, const char *s)
{
	if (s)
		util_buf_add(b, s, strlen(s));
}

void util_buf_vprintf(struct util_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (b->error)
		return;
	/* Straight into the free space; a second pass only when it did not fit. */
	va_copy(ap2, ap);
	n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? b->cap - b->len : 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		util_buf_fail(b, -EINVAL);
		return;
	}
	if ((size_t)n >= b->cap - b->len || !b->data) {
		if (!grow(b, (size_t)n))
			return;
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void util_buf_printf(struct util_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	util_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void util_buf_add_u64(struct util_buf *b, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	util_buf_add(b, tmp + i, sizeof(tmp) - i);
}

void util_buf_add_i64(struct util_buf *b, int64_t v)
{
	if (v < 0) {
		util_buf_addc(b, '-');
		util_buf_add_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		util_buf_add_u64(b, (uint64_t)v);
	}
}

void util_buf_add_fixed(struct util_buf *b, double v, int dec)
{
	static const double scale[] = { 1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9 };

	dec = dec < 0 ? 0 : dec > 9 ? 9 : dec;
	if (!isfinite(v))
		v = 0;
	/* The fast path needs |v| * 10^dec in a uint64_t; printf for the rest. */
	if (fabs(v) * scale[dec] >= 1.8e19) {
		util_buf_printf(b, "%.*f", dec, v);
		return;
	}
	if (v < 0) {
		util_buf_addc(b, '-');
		v = -v;
	}
	uint64_t units = (uint64_t)(v * scale[dec] + 0.5), div = (uint64_t)scale[dec];
	util_buf_add_u64(b, units / div);
	if (dec == 0)
		return;
	char tmp[10];
	uint64_t frac = units % div;
	tmp[0] = '.';
	for (int i = dec; i > 0; i--) {
		tmp[i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	util_buf_add(b, tmp, (size_t)dec + 1);
}

void util_buf_add_double(struct util_buf *b, double v)
{
	char e[40], digits[20];
	int prec, nd = 0;

	if (!isfinite(v) || v == 0) {
		util_buf_addc(b, '0');
		return;
	}
	/* "%.*e" with the fewest digits that read back as v, then rewritten positionally */
	for (prec = 15;; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, v);
		if (prec == 17 || strtod(e, NULL) == v)
			break;
	}
	const char *p = e;
	if (*p == '-') {
		util_buf_addc(b, '-');
		p++;
	}
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9' && nd < (int)sizeof(digits))
			digits[nd++] = *p;
	int exp = *p == 'e' ? atoi(p + 1) : 0;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (exp >= 0) {
		for (int i = 0; i <= exp; i++)
			util_buf_addc(b, i < nd ? digits[i] : '0');
		if (nd > exp + 1) {
			util_buf_addc(b, '.');
			util_buf_add(b, digits + exp + 1, (size_t)(nd - exp - 1));
		}
	} else {
		util_buf_addlit(b, "0.");
		for (int i = 0; i < -exp - 1; i++)
			util_buf_addc(b, '0');
		util_buf_add(b, digits, (size_t)nd);
	}
}

/* Bytes copied as they are in XML text: printable ASCII but '&', '<', '>'; a bit per
 * byte value 0–127. */
static const uint64_t xml_plain[2] = {
	0xffffffff00000000ULL & ~(1ULL << '&' | 1ULL << '<' | 1ULL << '>'),
	0x7fffffffffffffffULL,
};

static inline bool is_xml_plain(unsigned char c)
{
	return c < 0x80 && (xml_plain[c >> 6] >> (c & 63) & 1);
}

void util_buf_add_xml(struct util_buf *b, const char *s)
{
	const char *p = s;

	if (!s)
		return;
	for (;;) {
		const char *run = p;
		while (is_xml_plain((unsigned char)*p))
			p++;
		util_buf_add(b, run, (size_t)(p - run));
		switch (*p) {
		case '\0':
			return;
		case '&':
			util_buf_addlit(b, "&amp;");
			p++;
			continue;
		case '<':
			util_buf_addlit(b, "&lt;");
			p++;
			continue;
		case '>':
			util_buf_addlit(b, "&gt;");
			p++;
			continue;
		case '\r':
			util_buf_addc(b, '\n');
			p += p[1] == '\n' ? 2 : 1;
			continue;
		default:
			break;
		}
		size_t n = util_utf8_char_len(p);
		if (n == 0) {
			util_buf_addc(b, '?');
			p++;
		} else {
			util_buf_add(b, p, n);
			p += n;
		}
	}
}

const char *util_buf_cstr(struct util_buf *b)
{
	if (!b->data)
		return "";
	b->data[b->len] = '\0';
	return b->data;
}

char *util_buf_steal(struct util_buf *b, size_t *ret_len)
{
	if (b->error)
		return NULL;
	if (!b->data && !grow(b, 0))
		return NULL;
	char *d = b->data;
	d[b->len] = '\0';
	if (ret_len)
		*ret_len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}

void util_buf_clear(struct util_buf *b)
{
	b->len = 0;
	b->error = 0;
}

void util_buf_reset(struct util_buf *b)
{
	free(b->data);
	*b = (struct util_buf)UTIL_BUF_INIT;
}
