/* The verb layer: one table (api.c) maps every XML-RPC method name to its handler,
 * argument count, audit flag and readiness gate; the dispatcher turns a request body
 * into a serialized reply (API.md §1.1–§2).
 *
 * Handlers never see HTTP or XML text. A handler receives the call, returns a payload
 * struct (its reply keys, or NULL for a status-only reply) and, on failure, sets err
 * (VDSM code + message) and returns NULL. The dispatcher adds `status`, and keeps the
 * serialized reply of verbs with a cache_key (struct vd_verb) while their key holds. */
#ifndef VD_API_H
#define VD_API_H

#include <stdbool.h>
#include <xmlrpc-c/base.h>

#include "util/error.h"
#include "../rpc/xmlrpc.h"
#include "util/macros.h"

struct vd_peer;

struct vd_call {
	const char *verb;
	xmlrpc_value *params;          /* the call's param array (borrowed) */
	int nparams;
	const char *client_cn;         /* CN of the client certificate ("" with plain HTTP) */
	const char *client_dn;
	const char *client_addr;       /* peer IP address */
	const char *local_addr;        /* our address the request came in on */
	const char *flow;              /* FlowID header or NULL */
	const struct vd_verb *verbs;   /* the verb table, sorted by name (introspection) */
	unsigned n_verbs;
	/* Set by the handler: */
	const char *ok_message;        /* success message instead of "Done" */
	char audit_obj[160];           /* ids of the objects the verb touched, for the audit line */
};

typedef xmlrpc_value *(*vd_verb_fn)(struct vd_call *call, xmlrpc_env *env, struct vd_error *err);

#define VD_CACHE_KEY_MAX 192

/* Cacheable verbs: writes into key (NUL-terminated, at most VD_CACHE_KEY_MAX bytes)
 * what the reply depends on — the generations the modules bump when their data change,
 * plus any per-request input the reply shows — and returns 0; a negative return means
 * "do not cache this call". Runs on every call before the cache lookup; must not block.
 * The key is taken before the handler runs, so a cached reply is never older than its
 * key (a change during the build only causes one more rebuild). */
/* A handler that streams its payload (replies too big for a value tree: getAllVmStats
 * with 1000 VMs) into the writer the dispatcher made for the request's wire encoding;
 * the dispatcher adds the status and finishes it. Returns 0 or -1 with err set. */
struct rpc_writer;
typedef int (*vd_write_fn)(struct vd_call *call, struct rpc_writer *w, struct vd_error *err);
typedef int (*vd_cache_key_fn)(const struct vd_call *call, char *key, size_t size);

enum {
	VD_VERB_AUDIT = 1 << 0,        /* state-changing: one audit line per call */
	VD_VERB_NEEDS_READY = 1 << 1,  /* answers 99 until the agent has initialised */
	VD_VERB_CLIENT_SEEN = 1 << 2,  /* marks "client seen" (API.md §5.1 ping), cached or not */
};

struct vd_verb {
	const char *name;
	vd_verb_fn fn;                 /* a value tree ... */
	vd_write_fn write;             /* ... or a streamed payload (one of the two) */
	int min_args, max_args;
	unsigned flags;
	const char *args;              /* parameter names, e.g. "vmId" or "[fullStatus], [vmList]" */
	const char *help;
	/* Non-NULL: the dispatcher keeps the last successful reply and serves it again
	 * while the key is unchanged, without calling fn. */
	vd_cache_key_fn cache_key;
};

/* Looks a verb up by name (binary search over the sorted table). NULL if unknown. */
const struct vd_verb *vd_api_lookup(const char *name);
/* The whole table, sorted by name, and its length. */
const struct vd_verb *vd_api_table(unsigned *ret_n);

/* Initialisation gate (API.md §2.2): verbs flagged NEEDS_READY answer code 99 while
 * any hold is outstanding. The daemon starts with one hold per start-up task. */
void vd_ready_hold(const char *what);
void vd_ready_release(const char *what);
bool vd_is_ready(void);

/* "Client seen" time (API.md §5.1 ping): ping, getVdsCapabilities and list mark it;
 * the setupNetworks connectivity check waits for a mark after its start. */
void vd_client_seen_mark(void);
double vd_client_seen_last(void);   /* monotonic seconds, 0 = never */

/* Parses, dispatches and serializes one request. Never returns NULL unless out of
 * memory. *ret_is_fault tells whether the reply is an XML-RPC fault. */
struct rpc_blob *vd_api_handle(const char *body, size_t len, const struct vd_call *ctx,
			       bool *ret_is_fault);

/* Called once at start (builds the sorted table and the static replies). */
int vd_api_init(void) _wur_;
void vd_api_fini(void);

#endif
