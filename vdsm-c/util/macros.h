/* Scope cleanup and ownership helpers (see STYLE.md "Memory and ownership").
 *
 * _cleanup_(f) runs f(&var) when var leaves scope; DEFINE_CLEANUP(type, fn) makes
 * a pointer cleanup named fn##p for "type *" that calls fn(ptr) when non-NULL.
 * TAKE_PTR / TAKE_FD move ownership out of a cleanup variable. */
#ifndef VD_UTIL_MACROS_H
#define VD_UTIL_MACROS_H

#include <stdlib.h>
#include <stdio.h>
#include <unistd.h>
#include <errno.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _wur_ __attribute__((warn_unused_result))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

#define DEFINE_CLEANUP(type, fn)                  \
	static inline void fn##p(type **p)        \
	{                                         \
		if (*p)                           \
			fn(*p);                   \
	}

#define TAKE_PTR(p)                         \
	({                                  \
		__typeof__(p) _tp_ = (p);   \
		(p) = NULL;                 \
		_tp_;                       \
	})

#define TAKE_FD(fd)                  \
	({                           \
		int _tf_ = (fd);     \
		(fd) = -1;           \
		_tf_;                \
	})

#endif
