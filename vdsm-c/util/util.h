/* Small helpers shared by every module: paths under the root prefix, whole-file
 * reads, atomic writes, UUID checks, clocks. None of them logs above debug. */
#ifndef VD_UTIL_H
#define VD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macros.h"

/* root + path ("" or NULL root = path itself). path must be absolute.
 * Returns a malloc'ed string (caller frees) or NULL on OOM. */
char *util_path(const char *root, const char *path);

/* Reads a whole file (at most max bytes; larger files fail with -EFBIG) into a
 * NUL-terminated malloc'ed buffer. Returns 0 or -errno. */
int util_read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len) _wur_;

/* First line of a small file without the newline, into buf. Returns length or -errno. */
int util_read_line(const char *path, char *buf, size_t size) _wur_;

/* Writes data to path atomically: temp file in the same directory, fsync, rename,
 * fsync of the directory. mode applies to the new file. Returns 0 or -errno. */
int util_write_atomic(const char *path, const void *data, size_t len, mode_t mode) _wur_;

/* mkdir -p with mode for created components. Returns 0 or -errno. */
int util_mkdir_p(const char *path, mode_t mode) _wur_;

/* Canonical 8-4-4-4-12 hex UUID (either case). */
bool util_uuid_valid(const char *s);
/* The one UUID normaliser: s checked with util_uuid_valid() and written lower case
 * into out (which may be s itself), as VDSM and libvirt spell ids. 0 or -EINVAL. */
int util_uuid_normalize(const char *s, char out[37]) _wur_;
/* Random version-4 UUID, lower case, into out[37]. Returns 0 or -errno. */
int util_uuid_generate(char out[37]) _wur_;

/* Clocks in seconds. */
double util_now_monotonic(void);
double util_now_real(void);
uint64_t util_monotonic_ms(void);

/* Parse helpers for trusted-but-checked text: whole string must be a number in range.
 * Return 0 or -EINVAL/-ERANGE. */
int util_parse_ll(const char *s, long long min, long long max, long long *ret) _wur_;
int util_parse_bool(const char *s, bool *ret) _wur_;

/* Trim ASCII whitespace in place, returns s. */
char *util_strstrip(char *s);

#endif
