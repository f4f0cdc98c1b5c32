/* The VM module's options, set once by vm_start() (module.c). */
#include "../util/util.h"
#include "vm-internal.h"

struct vm_module_opts vm_opts;

char *vm_host_path(const char *abs_path)
{
	return util_path(vm_opts.host_root, abs_path);
}

char *vm_state_path(const char *abs_path)
{
	return util_path(vm_opts.state_root, abs_path);
}
