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
