/* The one way vdsm-c runs external programs (STYLE.md "External programs").
 *
 * argv[0] must be an absolute path. The child gets its own process group, stdin
 * /dev/null, PATH=/usr/sbin:/usr/bin:/sbin:/bin, LC_ALL=C, no other inherited fds;
 * stdout and stderr are captured (each capped at cap bytes, default 1 MiB). Every run
 * has a timeout: on expiry the group gets SIGTERM, then SIGKILL after a grace, and
 * the child is reaped. Blocks the calling thread for at most timeout + grace. */
#ifndef VD_UTIL_EXEC_H
#define VD_UTIL_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include "macros.h"

struct util_exec_opts {
	double timeout;             /* seconds, > 0 (0 = 30 s default) */
	double grace;               /* seconds between SIGTERM and SIGKILL (0 = 2 s) */
	size_t cap;                 /* per-stream capture cap (0 = 1 MiB) */
	const char *const *env;     /* extra NAME=value entries, NULL-terminated, or NULL */
};

struct util_exec_result {
	int status;                 /* exit status (0..255) when exited */
	int signal;                 /* terminating signal, 0 if exited */
	bool timed_out;
	char *out;                  /* captured stdout, NUL-terminated, caller frees */
	char *err;                  /* captured stderr, NUL-terminated, caller frees */
	size_t out_len, err_len;
};

/* Runs argv. Returns 0 when the program ran and exited with status 0; -ETIME on
 * timeout; -ECHILD when it exited non-zero or was killed (details in ret); other
 * -errno when it could not be started. ret is filled in every case where the
 * child ran; release it with util_exec_result_clear(). */
int util_exec(const char *const *argv, const struct util_exec_opts *o,
	      struct util_exec_result *ret) _wur_;

void util_exec_result_clear(struct util_exec_result *r);

/* Last non-empty line of r->err (or r->out), for error messages; never NULL. */
const char *util_exec_last_line(const struct util_exec_result *r, char *buf, size_t size);

/* Test seam: when set, util_exec() calls hook instead of running anything. The hook
 * fills ret (out/err malloc'ed) and returns what util_exec would return. */
typedef int (*util_exec_hook_fn)(const char *const *argv, struct util_exec_result *ret,
				 void *userdata);
void util_exec_set_hook(util_exec_hook_fn hook, void *userdata);

#endif
