/* getVmStats/getAllVmStats replies serialized directly (no xmlrpc-c values): see
 * vm_wire.c for why. */
#ifndef VD_VERBS_VM_WIRE_H
#define VD_VERBS_VM_WIRE_H

#include "../../rpc/xmlrpc.h"

/* The complete methodResponse {statsList:[...], status:{0,"Done"}} for one VM (id) or
 * every VM (id NULL). Returns 0 with a new blob, -ENOENT for an unknown id, -ENOMEM. */
int vm_wire_stats_reply(const char *id, struct rpc_blob **ret);

#endif
