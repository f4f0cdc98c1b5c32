/* XML-RPC client over HTTPS with a client certificate (libcurl, GnuTLS flavour),
 * one keep-alive connection per client object (RPC-STACK.md §5). Used by vdsm-client
 * and, later, by the source agent calling the destination during migration.
 * Not thread-safe: one client per thread. */
#ifndef RPC_CLIENT_H
#define RPC_CLIENT_H

#include <stdbool.h>
#include <xmlrpc-c/base.h>

#include "../vdsm-c/util/error.h"
#include "../vdsm-c/util/macros.h"

struct rpc_client_opts {
	const char *host;          /* name or address; IPv6 without brackets */
	int port;
	bool plain;                /* plain HTTP (agent started with ssl = false) */
	const char *cert_file;     /* client certificate (PEM) */
	const char *key_file;
	const char *ca_file;       /* CA that signed the server certificate */
	bool verify_host;          /* check the server certificate names `host` */
	double timeout;            /* whole call, seconds (0 = 180, the engine's vdsTimeout) */
	double connect_timeout;    /* seconds (0 = 20) */
};

struct rpc_client;

struct rpc_client *rpc_client_new(const struct rpc_client_opts *o);
void rpc_client_free(struct rpc_client *c);

enum rpc_call_result {
	RPC_CALL_OK = 0,         /* *ret_value is the method's result */
	RPC_CALL_FAULT = 1,      /* XML-RPC fault: *ret_fault_code; err: VD_ERR_GENERAL, the
				  * fault string */
	RPC_CALL_TRANSPORT = -1, /* could not connect / HTTP error / unparsable reply; err:
				  * VD_ERR_NOCONPEER and what failed */
};

/* Calls method(params). params is an array (borrowed). flow: FlowID header or NULL. */
int rpc_client_call(struct rpc_client *c, const char *method, xmlrpc_value *params,
		    const char *flow, xmlrpc_value **ret_value, int *ret_fault_code,
		    struct vd_error *err) _wur_;

#endif
