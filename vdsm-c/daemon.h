/* Process-wide runtime context, set up by main before any thread starts and
 * read-only afterwards (STYLE.md: mutable globals are config and log state only). */
#ifndef VD_DAEMON_H
#define VD_DAEMON_H

#include "config.h"
#include "util/macros.h"

struct vd_runtime {
	const struct vd_config *conf;
	const char *root;        /* state root prefix ("" = /) */
	const char *host_root;   /* prefix for /proc, /sys, /dev, /etc host facts ("" = /) */
	double start_mono;       /* monotonic start time, seconds */
	char generation_id[37];  /* changes on every start (getVdsStats generationID) */
};

extern struct vd_runtime vd_rt;

/* Path of a host fact file (/proc, /sys, /dev, /etc/...) under host_root; caller frees. */
char *vd_host_path(const char *abs_path);
/* Path of a state file under the state root; caller frees. */
char *vd_state_path(const char *abs_path);

/* Creates the state directories under the root (/run/vdsm-c, /run/vdsm-c/vm,
 * /var/lib/vdsm-c) and writes and removes a 4 KiB probe file in each, so a full or
 * read-only filesystem stops the start instead of losing the pid/port files and VM
 * records later. Returns 0, or -1 with err naming the directory and the errno. */
int vd_state_dirs_check(struct vd_error *err) _wur_;

#endif
