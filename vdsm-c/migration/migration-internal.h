/* Shared by the files of vdsm-c/migration/ only. */
#ifndef VD_MIGRATION_INTERNAL_H
#define VD_MIGRATION_INTERNAL_H

#include <stddef.h>

#include "migration.h"

/* The module's options (set by migration_start, read-only afterwards). */
extern struct migration_opts migration_cfg;

/* src as one double-quoted audit field: '"' → '\'', control characters → ' '. */
void migration_audit_text(char *dst, const char *src, size_t size);

/* Cancels and waits for the outgoing migrations (module stop; src.c). */
void migration_src_stop(void);
/* Refuses new incoming migrations and waits briefly for the waiters (dest.c). */
void migration_dest_start(void);
void migration_dest_stop(void);

#endif
