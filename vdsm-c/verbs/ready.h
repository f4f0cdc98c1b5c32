/* The readiness report as served by getHostReadiness and printed by vdsm-c-ready
 * (verbs/readiness.c): both collect through the running modules (hostcaps, network),
 * probe the storage connections and ask multipathd (storage/mpath). */
#ifndef VD_VERBS_READY_H
#define VD_VERBS_READY_H

#include <stddef.h>
#include <xmlrpc-c/base.h>

#include "../host/readiness.h"
#include "../util/macros.h"

/* Runs every check with the agent's config (vd_rt.conf) and the modules' current
 * facts: hostcaps_get() (NULL before the hostcaps module started: the checks say so)
 * and a network snapshot. 0, or -ENOMEM. */
int readiness_collect(const char *cluster_cpu, const char *const *networks, size_t n_networks,
		      struct rd_storage *storage, size_t n_storage, struct rd_report *ret) _wur_;

/* multipathd's maps (`show maps json` on the abstract socket socket_name, within
 * timeout_ms) as readiness input: 0 with *ret (free()) and *ret_n; -ECONNREFUSED or
 * -ENOENT when no multipathd listens, -ETIMEDOUT, -EPROTO (a reply that is not its
 * JSON), -ENOMEM, -errno. */
int readiness_mpath_read(const char *socket_name, int timeout_ms, struct rd_mpath_map **ret,
			 size_t *ret_n) _wur_;

/* {verdict, checks: [{name, verdict, detail, hint}]} */
xmlrpc_value *readiness_value(xmlrpc_env *env, const struct rd_report *r);

#endif
