/* Start-up and shutdown of the agent's subsystems (samplers, libvirt connection, VM
 * recovery, ...). One table in modules.c lists them in start order; each entry is
 * started from the initialisation thread while the RPC server already answers (gated
 * verbs answer code 99 until every start function has returned, API.md §2.2), and
 * stopped in reverse order at shutdown. */
#ifndef VD_MODULES_H
#define VD_MODULES_H

#include "util/macros.h"

struct vd_module {
	const char *name;
	/* Returns 0, or -1 after logging why; a failing module is logged and the agent
	 * keeps serving without it unless `required` is set (then the agent exits 1). */
	int (*start)(void);
	void (*stop)(void);   /* may be NULL; must not block for long */
	int required;
};

/* Starts every module in order; returns -1 if a required one failed. */
int vd_modules_start(void) _wur_;
/* Stops the started modules in reverse order. */
void vd_modules_stop(void);
/* "network=started hostcaps=failed ..." (pending, started, failed, stopped) into buf,
 * truncated to size; any thread. */
void vd_modules_describe(char *buf, size_t size);

#endif
