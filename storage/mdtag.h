/* storage/mdtag: one line of a block domain's metadata as an lvm tag (VDSM's VG-tag
 * metadata of domain versions 2-5: every "KEY=VALUE" line is the VG tag "MDT_" + the
 * line, every character outside [A-Za-z0-9_+.-/=!:#] written as "&<decimal code
 * point>&" so that UTF-8 descriptions survive lvm's tag alphabet).
 *
 * Tags come from lvm reports (child-process output): decoding validates everything
 * (escapes, code points, the UTF-8 it produces) before anyone uses the line. Pure
 * functions, no allocation. */
#ifndef VD_STG_MDTAG_H
#define VD_STG_MDTAG_H

#include <stddef.h>

#include "../vdsm-c/util/macros.h"

#define STG_MDTAG_PREFIX "MDT_"
#define STG_MDTAG_MAX 1024            /* bytes of one tag we write or read */

/* Encodes line (UTF-8, no control characters) as a tag into buf (NUL-terminated).
 * Returns the tag's length; -EINVAL for invalid UTF-8 or a control character,
 * -ENAMETOOLONG when the tag would not fit size or STG_MDTAG_MAX + 1. */
int stg_mdtag_encode(const char *line, char *buf, size_t size) _wur_;

/* Decodes tag into buf (the line, UTF-8, NUL-terminated). Returns the line's length;
 * -ENOENT when tag is no metadata tag (no "MDT_" prefix); -EINVAL for a byte outside
 * printable ASCII, a '&' that opens no well-formed escape, an escaped code point that
 * is 0, a control character, a surrogate or past U+10FFFF; -ENAMETOOLONG when the tag
 * is longer than STG_MDTAG_MAX or the line does not fit size. */
int stg_mdtag_decode(const char *tag, char *buf, size_t size) _wur_;

#endif
