/* migrate's structured parameters from the wire (API.md §5.3): convergenceSchedule →
 * struct migration_conv_schedule. Used by verbs/migration.c, its unit test and the
 * migparams fuzz target. */
#ifndef VD_VERBS_MIG_PARAMS_H
#define VD_VERBS_MIG_PARAMS_H

#include <xmlrpc-c/base.h>

#include "../migration/migration.h"
#include "../util/error.h"
#include "../util/macros.h"

/* v = the convergenceSchedule value: a struct with the arrays `init` (actions) and
 * `stalling` (structs {limit: int ≥ -1, action}); an action is {name, params}:
 * "setDowntime" with params [ms] (int or decimal string, 1..3600000), "abort" with
 * params [] or none. Fills ret (ret->set = true) or returns -1 with err 12 naming what
 * is wrong; "postcopy" is refused as not supported (12) — nothing starts either way. */
int mig_params_conv_schedule(xmlrpc_value *v, struct migration_conv_schedule *ret,
			     struct vd_error *err) _wur_;

#endif
