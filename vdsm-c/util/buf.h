/* The one growable text buffer (after libvirt's virBuffer).
 *
 * Errors are sticky: the first failure (out of memory, size overflow, or one a caller
 * reports with util_buf_fail()) frees the contents, every later call does nothing, and
 * the caller checks once with util_buf_error() or util_buf_steal() at the end.
 *
 *	_cleanup_(util_buf_reset) struct util_buf b = UTIL_BUF_INIT;
 *	util_buf_addlit(&b, "<x>");
 *	util_buf_add_xml(&b, name);
 *	char *text = util_buf_steal(&b, &len);   (NULL on error; caller frees)
 *
 * The struct is on the caller's stack; its fields are private (util_buf_add is inline
 * for the reply writers' sake). One buffer is used by one thread at a time. Nothing
 * here logs or blocks. */
#ifndef VD_UTIL_BUF_H
#define VD_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "macros.h"

struct util_buf {
	char *data;      /* cap bytes; len of them used; cap > len whenever data != NULL */
	size_t len, cap;
	int error;       /* 0 or a negative errno, sticky */
};

#define UTIL_BUF_INIT { .data = NULL }

/* Makes room for n more bytes, so that many adds that follow do not reallocate. */
void util_buf_reserve(struct util_buf *b, size_t n);

void util_buf_add_slow(struct util_buf *b, const void *s, size_t n);

/* Appends n bytes (may contain NUL). */
static inline void util_buf_add(struct util_buf *b, const void *s, size_t n)
{
	if (_likely_(n < b->cap - b->len)) {
		memcpy(b->data + b->len, s, n);
		b->len += n;
	} else {
		util_buf_add_slow(b, s, n);
	}
}

static inline void util_buf_addc(struct util_buf *b, char c)
{
	util_buf_add(b, &c, 1);
}

/* A string literal, without strlen. */
#define util_buf_addlit(b, lit) util_buf_add((b), "" lit, sizeof(lit) - 1)

/* A NUL-terminated string; NULL adds nothing. */
void util_buf_adds(struct util_buf *b, const char *s);

void util_buf_printf(struct util_buf *b, const char *fmt, ...) _printf_(2, 3);
void util_buf_vprintf(struct util_buf *b, const char *fmt, va_list ap) _printf_(2, 0);

/* Decimal integers, without printf's cost (a getAllVmStats reply carries ~60 000). */
void util_buf_add_u64(struct util_buf *b, uint64_t v);
void util_buf_add_i64(struct util_buf *b, int64_t v);

/* v with exactly decimals digits after the point, as printf "%.*f" writes it for the
 * values statistics carry (ties may round up where printf rounds to even); decimals is
 * clamped to 0–9. NaN and infinities, which neither XML-RPC nor JSON can carry, are
 * written as 0. */
void util_buf_add_fixed(struct util_buf *b, double v, int decimals);

/* v in positional notation (no exponent: XML-RPC's <double> has none) with the fewest
 * significant digits (15 to 17) that read back as v: 0.1 → "0.1", 3.0 → "3",
 * 1e20 → "100000000000000000000", -0.0 → "0". NaN and infinities are written as 0. */
void util_buf_add_double(struct util_buf *b, double v);

/* s as XML character data (element content; also fine in a quoted attribute value
 * except for '"'): cleaned by util/utf8 (invalid UTF-8, controls → '?'), '&' '<' '>'
 * escaped, and CR LF or a lone CR written as LF — what an XML parser reads them as
 * (XML 1.0 §2.11) and what xmlrpc-c writes. NULL adds nothing. */
void util_buf_add_xml(struct util_buf *b, const char *s);

/* Records err (a negative errno) as the buffer's error unless one is set; frees the
 * contents. For writers on top of the buffer that detect misuse. */
void util_buf_fail(struct util_buf *b, int err);

/* 0, or the sticky negative errno (-ENOMEM, or what util_buf_fail() recorded). */
static inline int util_buf_error(const struct util_buf *b)
{
	return b->error;
}

static inline size_t util_buf_len(const struct util_buf *b)
{
	return b->len;
}

/* The contents, NUL-terminated (borrowed until the next change); "" when empty or
 * after an error. */
const char *util_buf_cstr(struct util_buf *b);

/* Hands the contents (NUL-terminated, malloc'ed: caller frees) and their length to
 * the caller and empties b. NULL when b is in error (the error stays set) or on OOM. */
char *util_buf_steal(struct util_buf *b, size_t *ret_len);

/* Empties b and clears the error, keeping its memory for the next use (a connection's
 * request body, request after request). */
void util_buf_clear(struct util_buf *b);

/* Frees the contents and clears the error: b is as UTIL_BUF_INIT. Usable with
 * _cleanup_(util_buf_reset). */
void util_buf_reset(struct util_buf *b);

#endif
