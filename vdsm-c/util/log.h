/* Logging: syslog (LOG_DAEMON) and, in the foreground, stderr.
 *
 * Sending to syslog never blocks: lines go to the syslog datagram socket with
 * MSG_DONTWAIT and are dropped (and counted) when the socket is full or absent, so a
 * stuck log daemon cannot stall an RPC thread (API.md §8, BZ 1516831). Lines carry
 * the FlowID of the request the calling thread is serving, when there is one. */
#ifndef VD_LOG_H
#define VD_LOG_H

#include <stdbool.h>
#include <syslog.h>
#include "macros.h"

enum vd_log_level {
	VD_LOG_ERR = LOG_ERR,
	VD_LOG_WARNING = LOG_WARNING,
	VD_LOG_NOTICE = LOG_NOTICE,
	VD_LOG_INFO = LOG_INFO,
	VD_LOG_DEBUG = LOG_DEBUG,
};

/* ident: program name; syslog_path: datagram socket (NULL = no syslog);
 * to_stderr: also write to stderr. Safe to call again to reconfigure. */
void vd_log_open(const char *ident, const char *syslog_path, bool to_stderr);
void vd_log_close(void);
/* Starts the thread that drains the syslog queue. Call once the process is in its
 * final form (after daemonising: a thread does not survive fork). Until then lines are
 * sent directly, without blocking. */
void vd_log_start_writer(void);
void vd_log_set_level(int level);
int vd_log_get_level(void);
/* "err", "warning", "notice", "info", "debug" → level; -1 if unknown. */
int vd_log_level_from_string(const char *s) _wur_;

void vd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Thread-local FlowID attached to the lines of the calling thread (NULL clears).
 * The string is borrowed and must outlive the request. */
void vd_log_set_flow(const char *flow);
const char *vd_log_get_flow(void);

/* Lines dropped because syslog was absent or full, since start. */
unsigned long vd_log_dropped(void);

#define log_err(...) vd_log(VD_LOG_ERR, __VA_ARGS__)
#define log_warning(...) vd_log(VD_LOG_WARNING, __VA_ARGS__)
#define log_notice(...) vd_log(VD_LOG_NOTICE, __VA_ARGS__)
#define log_info(...) vd_log(VD_LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                      \
	do {                                                \
		if (vd_log_get_level() >= VD_LOG_DEBUG)    \
			vd_log(VD_LOG_DEBUG, __VA_ARGS__);  \
	} while (0)

#endif
