/* getVmStats/getAllVmStats replies written with rpc/writer.h (no value tree): see
 * vm_wire.c for why. */
#ifndef VD_VERBS_VM_WIRE_H
#define VD_VERBS_VM_WIRE_H

#include "../../rpc/writer.h"
#include "../util/macros.h"

/* Writes the payload {statsList: [...]} for one VM (id) or every VM (id NULL) into w.
 * Returns 0, -ENOENT for an unknown id, or the writer's error. */
int vm_wire_write_stats(struct rpc_writer *w, const char *id) _wur_;

/* The complete reply {statsList:[...], status:{0,"Done"}} as an XML-RPC blob.
 * Returns 0 with a new blob, -ENOENT for an unknown id, -ENOMEM. */
int vm_wire_stats_reply(const char *id, struct rpc_blob **ret) _wur_;

#endif
