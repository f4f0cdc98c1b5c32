#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "util/util.h"

struct vd_runtime vd_rt = { .root = "", .host_root = "" };

char *vd_host_path(const char *abs_path)
{
	return util_path(vd_rt.host_root, abs_path);
}

char *vd_state_path(const char *abs_path)
{
	return util_path(vd_rt.root, abs_path);
}

/* Every directory the agent writes state into while it runs, with the mode it creates
 * it with (the writers use the same). */
static const struct {
	const char *path;
	mode_t mode;
} state_dirs[] = {
	{ "/run/vdsm-c", 0755 },     /* vdsmd.pid, vdsmd.port (main.c) */
	{ "/run/vdsm-c/vm", 0700 },  /* VM state files (vm_state.c) */
	{ "/var/lib/vdsm-c", 0755 }, /* generated host UUID (hostid.c) */
};

/* A VM state file is a few KiB: a directory that cannot take this much cannot take
 * the first VM's record either. */
#define PROBE_BYTES 4096

int vd_state_dirs_check(struct vd_error *err)
{
	static const char probe_data[PROBE_BYTES];

	for (size_t i = 0; i < ELEMENTSOF(state_dirs); i++) {
		_cleanup_free_ char *dir = vd_state_path(state_dirs[i].path), *probe = NULL;
		int r = dir ? util_mkdir_p(dir, state_dirs[i].mode) : -ENOMEM;
		if (r == 0 && asprintf(&probe, "%s/.vdsmd-write-test", dir) < 0) {
			probe = NULL;
			r = -ENOMEM;
		}
		if (r == 0) {
			r = util_write_atomic(probe, probe_data, sizeof(probe_data), 0600);
			unlink(probe);
		}
		if (r < 0) {
			return vd_error_set(err, VD_ERR_GENERAL, "state directory %s is not writable: %s",
					    dir ? dir : state_dirs[i].path, strerror(-r));
		}
	}
	return 0;
}
