/* storage/mpath: multipathd's command socket (the protocol of libmpathcmd: a size_t
 * length, then the NUL-terminated command; the reply likewise) and the readers of its
 * `show maps json` reply (lvm's pvs report is read by storage/lvm). Every wait
 * is bounded: connect, send and receive share one deadline (poll). */
#ifndef VD_STG_MPATH_H
#define VD_STG_MPATH_H

#include <stddef.h>
#include <stdint.h>

#include "../vdsm-c/util/macros.h"

/* multipathd's abstract socket name (without the leading NUL). */
#define STG_MPATHD_SOCKET "/org/kernel/linux/storage/multipathd"
#define STG_MPATHD_REPLY_MAX ((size_t)32 << 20)

/* Sends cmd to the abstract socket `name` and returns multipathd's reply (malloc'ed,
 * NUL-terminated, *ret_len without the NUL). Waits at most timeout_ms in all.
 * 0, or -ETIMEDOUT, -ECONNREFUSED/-ENOENT (no daemon), -EPROTO (reply too long or
 * cut short), other -errno. */
int stg_mpathd_query(const char *name, const char *cmd, int timeout_ms, char **ret,
		     size_t *ret_len) _wur_;

struct stg_mpath_path {
	char dev[32];             /* "sdb" */
	char state[16];           /* dm state: "active", "failed", ... */
};

struct stg_mpath_map {
	char wwid[128];           /* "uuid" member */
	struct stg_mpath_path *paths;
	size_t npaths;
};

/* Parses the reply of `show maps json`. Maps or paths with members that are missing or
 * not sane (non-printable, too long) are skipped. 0 with *ret and *ret_n (free with
 * stg_mpath_maps_free), or -EINVAL (not JSON / no "maps" array), -ENOMEM. */
int stg_mpath_parse_maps(const char *text, size_t len, struct stg_mpath_map **ret,
			 size_t *ret_n) _wur_;
void stg_mpath_maps_free(struct stg_mpath_map *maps, size_t n);

#endif
