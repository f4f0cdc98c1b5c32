/* The migration module's start and stop (wired by vdsm-c/modules.c). */
#include "migration-internal.h"

int migration_start(const struct migration_opts *o)
{
	migration_cfg = *o;
	migration_dest_start();
	return 0;
}

void migration_stop(void)
{
	migration_dest_stop();   /* first: no new incoming VM while the rest stops */
	migration_src_stop();
}
