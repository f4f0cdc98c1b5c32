/* The one UTF-8 cleaner: makes any byte string fit for an XML 1.0 document and for
 * the manager's parser (and, later, for JSON).
 *
 * What passes unchanged, byte for byte: well-formed UTF-8 (RFC 3629: shortest form,
 * at most U+10FFFF, no UTF-16 surrogates) including 4-byte sequences outside the BMP
 * (U+1F600), except the characters XML 1.0 cannot carry (§2.2 Char):
 *   - C0 controls U+0000–U+001F other than TAB (U+0009), LF (U+000A) and CR (U+000D),
 *   - DEL (U+007F) — allowed by XML, refused here as VDSM's manager never sees it,
 *   - the noncharacters U+FFFE and U+FFFF.
 * C1 controls U+0080–U+009F pass (XML 1.0 allows them).
 *
 * Everything else becomes '?', one '?' per byte that cannot start an allowed
 * character: an overlong form (C0 AF), an encoded surrogate (ED A0 80), a code point
 * past U+10FFFF (F4 90 80 80), a stray continuation byte, a truncated sequence (E2 82
 * then 'A' gives "??A"), F5–FF. So the cleaned text is never longer than the input
 * and cleaning works in place.
 *
 * UTIL_UTF8_BMP also replaces each character outside the BMP (U+10000 and up) by one
 * '?': xmlrpc-c 1.33 refuses them in a string (a fault) and crashes on them in a
 * struct key, so text for its value trees needs this; the streaming writer
 * (rpc/writer.h) does not.
 *
 * Pure functions, no allocation, no logging; safe from any thread. */
#ifndef VD_UTIL_UTF8_H
#define VD_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1–4) of the allowed character starting at s, or 0 when the byte at s is to
 * be replaced by '?'. s is NUL-terminated and *s != '\0'; never reads past the first
 * byte that ends the sequence, so never past the terminator. */
size_t util_utf8_char_len(const char *s);

#define UTIL_UTF8_BMP (1u << 0)

/* True when s (NUL-terminated; NULL counts as clean) needs no replacement. flags: 0 or
 * UTIL_UTF8_BMP. */
bool util_utf8_is_clean(const char *s, unsigned flags);

/* Cleans s in place and returns it; NULL gives NULL. Without UTIL_UTF8_BMP the length
 * is unchanged. For a const string: if (!util_utf8_is_clean(s, f)) clean a strdup(). */
char *util_utf8_clean(char *s, unsigned flags);

#endif
