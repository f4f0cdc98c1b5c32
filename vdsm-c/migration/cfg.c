/* The migration module's options and a text helper: a leaf the module's files share
 * (no call circle). */
#include "migration-internal.h"

struct migration_opts migration_cfg;

void migration_audit_text(char *dst, const char *src, size_t size)
{
	size_t i = 0;

	for (; src && *src && i + 1 < size; src++)
		dst[i++] = *src == '"' ? '\'' : ((unsigned char)*src < 0x20 ? ' ' : *src);
	dst[i] = '\0';
}
