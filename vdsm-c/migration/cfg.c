/* The migration module's options: a leaf the module's files share (no call circle). */
#include "migration-internal.h"

struct migration_opts migration_cfg;
