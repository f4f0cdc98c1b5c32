/* vmParams (the create verb's struct, API.md §5.2) → struct vm_conf, and the stored
 * conf (what create and list(full) echo) to/from the opaque blob the VM module keeps
 * in the domain metadata. Used by verbs/vm.c and the unit tests. */
#ifndef VD_VERBS_VM_PARAMS_H
#define VD_VERBS_VM_PARAMS_H

#include <xmlrpc-c/base.h>

#include "../util/error.h"
#include "../vm/vm.h"
#include "../util/macros.h"

/* Validates params and fills a new conf (caller frees with vm_conf_free) and the
 * stored conf: params plus the defaults VDSM reports (new reference). On a bad
 * request returns -1 with err set: 11 for a missing or malformed vmId/memSize or a
 * missing macAddr/path, 9 for other bad values (memSize over 16 TiB, more than 64
 * NICs or 512 devices), 17 for an unknown disk format. Devices of a type VDSM does
 * not know are accepted and logged as a warning. The vmId is copied into ret_id as
 * soon as it is known (for the audit line), "" before. */
int vm_params_parse(xmlrpc_value *params, struct vm_conf **ret_conf, xmlrpc_value **ret_stored,
		    char ret_id[37], struct vd_error *err) _wur_;

/* Stored conf ↔ blob (an XML-RPC <value> document: types survive the round trip). */
char *vm_conf_to_blob(xmlrpc_value *stored);
xmlrpc_value *vm_conf_from_blob(xmlrpc_env *env, const char *blob);

#endif
