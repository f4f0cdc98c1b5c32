/* HTTPS listener for XML-RPC: our own HTTP/1.1 server (rpc/http.c parses, rpc/tls.c
 * carries) over GnuTLS with a mandatory, verified client certificate.
 *
 * TLS handshakes run in a stage of their own (bounded in number, per source address and
 * in time) so unauthenticated connections never take the slots of authenticated ones.
 * POST on "/" or "/RPC2" only (else 404/405); bodies over max_body get 413 before
 * they are read (Content-Length) or when a chunk size passes the limit (chunked);
 * authenticated connections beyond max_connections get 503 and are closed. Requests on
 * one connection are served one after another; connections run in parallel, so a slow
 * verb never delays ping on another connection. docs/rpc-server.md has the details. */
#ifndef RPC_SERVER_H
#define RPC_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "xmlrpc.h"
#include "../vdsm-c/util/macros.h"

struct rpc_peer {
	char addr[64];          /* peer IP */
	char local_addr[64];    /* our IP the connection came in on */
	char cn[256];           /* client certificate subject CN */
	char dn[512];           /* full subject DN */
};

/* Serves one request body; returns the reply (never NULL except on OOM, then 500). */
typedef struct rpc_blob *(*rpc_dispatch_fn)(const char *body, size_t len,
					    const struct rpc_peer *peer, const char *flow,
					    void *userdata);

struct rpc_server_opts {
	const char *ip;           /* "0.0.0.0", "::", "127.0.0.1", ... */
	int port;                 /* 0 = any free port (see rpc_server_port) */
	bool tls;
	const char *cert_pem;     /* PEM contents, not file names */
	const char *key_pem;
	const char *ca_pem;
	const char *priorities;   /* GnuTLS priority string */
	bool verify_peer_name;    /* client cert must name the peer address (VDSM verify_client_cert) */
	int max_connections;      /* authenticated connections (one thread each) */
	int max_handshakes;       /* TLS handshakes in progress at once */
	int max_handshakes_per_addr; /* of them, from one source address */
	int handshake_timeout;    /* seconds for a TLS handshake */
	size_t max_body;
	int idle_timeout;         /* seconds */
	rpc_dispatch_fn dispatch;
	void *userdata;
};

struct rpc_server;

/* Starts listening. Returns 0, or -errno with err set (VD_ERR_GENERAL, what failed). */
int rpc_server_start(const struct rpc_server_opts *o, struct rpc_server **ret,
		     struct vd_error *err) _wur_;
int rpc_server_port(const struct rpc_server *s);
/* Stops accepting, closes connections after their current request, frees s. */
void rpc_server_stop(struct rpc_server *s);

struct rpc_server_counters {
	unsigned long connections, requests, refused_limit, refused_size, tls_refused,
		handshakes_refused;
};
void rpc_server_get_counters(const struct rpc_server *s, struct rpc_server_counters *ret);

#endif
