#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "server.h"
#include "../vdsm-c/log.h"
#include "../vdsm-c/util/macros.h"

#define FLOW_MAX 128
#define RPC_CONN_POOL 4096

struct rpc_server {
	struct MHD_Daemon *mhd;
	struct rpc_server_opts o;
	int port;
	atomic_int active;                /* open connections */
	atomic_ulong n_conn, n_req, n_limit, n_size, n_tls;
	gnutls_datum_t ticket_key;        /* TLS session tickets: resumption without a full handshake */
	struct MHD_Response *resp_404, *resp_405, *resp_413, *resp_503, *resp_500;
};

/* Per connection; requests on one connection are serial (thread per connection), so the
 * body buffer is reused from request to request. */
struct conn {
	struct rpc_server *srv;
	struct rpc_peer peer;
	bool peer_checked;        /* client certificate read on the first request */
	bool peer_ok;
	bool over_limit;
	unsigned long requests;
	/* current request */
	char *body;
	size_t len, cap;
	bool too_big;
	bool in_request;
	char flow[FLOW_MAX];
};

static void sockaddr_to_str(const struct sockaddr *sa, char *buf, size_t size)
{
	buf[0] = '\0';
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, size);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], buf, size);
		else
			inet_ntop(AF_INET6, a, buf, size);
	}
}

static void fd_peer_str(int fd, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	buf[0] = '\0';
	if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		sockaddr_to_str((struct sockaddr *)&ss, buf, size);
}

/* GnuTLS calls this during the handshake once the client sent its certificate.
 * Refusing here ends the handshake before any HTTP is read (RPC-STACK.md §3.2). */
static int verify_client(gnutls_session_t s)
{
	unsigned status = 0;
	int r = gnutls_certificate_verify_peers2(s, &status);

	if (r == 0 && status == 0)
		return 0;
	char peer[64];
	fd_peer_str(gnutls_transport_get_int(s), peer, sizeof(peer));
	if (r < 0) {
		log_warning("TLS: refused client %s: certificate check failed: %s", peer,
			    gnutls_strerror(r));
	} else {
		gnutls_datum_t out = { 0 };
		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0) {
			log_warning("TLS: refused client %s: %s", peer, (char *)out.data);
			gnutls_free(out.data);
		} else {
			log_warning("TLS: refused client %s: certificate status 0x%x", peer, status);
		}
	}
	return GNUTLS_E_CERTIFICATE_ERROR;
}

static void notify_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
			      enum MHD_ConnectionNotificationCode toe)
{
	struct rpc_server *srv = cls;
	const union MHD_ConnectionInfo *ci;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		struct conn *c = calloc(1, sizeof(*c));
		*socket_context = c;
		if (!c)
			return; /* the access handler answers 500 */
		c->srv = srv;
		atomic_fetch_add(&srv->n_conn, 1);
		if (atomic_fetch_add(&srv->active, 1) >= srv->o.max_connections)
			c->over_limit = true;
		ci = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci)
			sockaddr_to_str(ci->client_addr, c->peer.addr, sizeof(c->peer.addr));
		ci = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			if (getsockname(ci->connect_fd, (struct sockaddr *)&ss, &sl) == 0)
				sockaddr_to_str((struct sockaddr *)&ss, c->peer.local_addr,
						sizeof(c->peer.local_addr));
		}
		if (srv->o.tls) {
			ci = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
			if (ci && ci->tls_session) {
				gnutls_session_t s = (gnutls_session_t)ci->tls_session;
				/* MHD_OPTION_HTTPS_MEM_TRUST only *requests* a certificate. */
				gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
				gnutls_session_set_verify_function(s, verify_client);
				if (srv->ticket_key.data)
					gnutls_session_ticket_enable_server(s, &srv->ticket_key);
			}
		}
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		struct conn *c = *socket_context;
		if (!c)
			return;
		if (srv->o.tls && c->requests == 0 && !c->over_limit) {
			atomic_fetch_add(&srv->n_tls, 1);
			log_info("connection from %s closed before any request (TLS handshake refused or idle)",
				 c->peer.addr);
		}
		atomic_fetch_sub(&srv->active, 1);
		free(c->body);
		free(c);
		*socket_context = NULL;
	}
}

/* Reads the verified client certificate's subject once per connection. */
static bool check_peer(struct rpc_server *srv, struct MHD_Connection *connection, struct conn *c)
{
	const union MHD_ConnectionInfo *ci;
	gnutls_session_t s;
	const gnutls_datum_t *certs;
	unsigned n = 0, status = 0;
	gnutls_x509_crt_t crt;
	size_t sz;

	c->peer_checked = true;
	if (!srv->o.tls)
		return c->peer_ok = true;
	ci = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session)
		return false;
	s = (gnutls_session_t)ci->tls_session;
	/* Second check: the handshake already verified the chain. */
	if (gnutls_certificate_verify_peers2(s, &status) < 0 || status != 0)
		return false;
	certs = gnutls_certificate_get_peers(s, &n);
	if (!certs || n == 0 || gnutls_x509_crt_init(&crt) < 0)
		return false;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(crt);
		return false;
	}
	sz = sizeof(c->peer.dn);
	if (gnutls_x509_crt_get_dn(crt, c->peer.dn, &sz) < 0)
		c->peer.dn[0] = '\0';
	sz = sizeof(c->peer.cn);
	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, c->peer.cn, &sz) < 0)
		c->peer.cn[0] = '\0';
	bool ok = true;
	if (srv->o.verify_peer_name) {
		/* VDSM: the certificate must name the peer (IP in CN/SAN), loopback excepted. */
		ok = strcmp(c->peer.addr, "127.0.0.1") == 0 || strcmp(c->peer.addr, "::1") == 0 ||
		     gnutls_x509_crt_check_hostname(crt, c->peer.addr) != 0;
		if (!ok)
			log_warning("refused client %s: certificate '%s' does not name this address",
				    c->peer.addr, c->peer.dn);
	}
	gnutls_x509_crt_deinit(crt);
	return c->peer_ok = ok;
}

static enum MHD_Result queue_static(struct MHD_Connection *connection, unsigned code,
				    struct MHD_Response *r)
{
	return MHD_queue_response(connection, code, r);
}

static void blob_free_cb(void *cls)
{
	rpc_blob_unref(cls);
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *connection,
				      const char *url, const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **req_cls)
{
	struct rpc_server *srv = cls;
	const union MHD_ConnectionInfo *ci;
	struct conn *c;

	(void)version;
	ci = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	c = ci ? ci->socket_context : NULL;
	if (!c)
		return queue_static(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, srv->resp_500);

	if (*req_cls == NULL) {
		/* First call for a new request: headers only. */
		*req_cls = c;
		c->len = 0;
		c->too_big = false;
		c->in_request = true;
		c->requests++;
		atomic_fetch_add(&srv->n_req, 1);
		if (c->over_limit) {
			atomic_fetch_add(&srv->n_limit, 1);
			log_warning("refused connection from %s: more than %d connections open",
				    c->peer.addr, srv->o.max_connections);
			return queue_static(connection, MHD_HTTP_SERVICE_UNAVAILABLE, srv->resp_503);
		}
		if (!c->peer_checked && !check_peer(srv, connection, c))
			return MHD_NO; /* close without an HTTP reply */
		if (!c->peer_ok)
			return MHD_NO;
		if (strcmp(url, "/") != 0 && strcmp(url, "/RPC2") != 0)
			return queue_static(connection, MHD_HTTP_NOT_FOUND, srv->resp_404);
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
			return queue_static(connection, MHD_HTTP_METHOD_NOT_ALLOWED, srv->resp_405);
		const char *cl = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(cl, &end, 10);
			if (errno || *end || n > srv->o.max_body) {
				atomic_fetch_add(&srv->n_size, 1);
				log_warning("refused request from %s: body of %s bytes over the %zu-byte limit",
					    c->peer.addr, cl, srv->o.max_body);
				return queue_static(connection, MHD_HTTP_CONTENT_TOO_LARGE, srv->resp_413);
			}
		}
		const char *flow = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "FlowID");
		snprintf(c->flow, sizeof(c->flow), "%s", flow ? flow : "");
		return MHD_YES;
	}

	if (*upload_data_size != 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (c->too_big)
			return MHD_YES;
		if (c->len + n > srv->o.max_body) {
			/* Chunked body over the limit: stop buffering, answer 413 at the end. */
			c->too_big = true;
			return MHD_YES;
		}
		if (c->len + n + 1 > c->cap) {
			size_t ncap = c->cap ? c->cap : 4096;
			while (ncap < c->len + n + 1)
				ncap *= 2;
			char *nb = realloc(c->body, ncap);
			if (!nb)
				return MHD_NO;
			c->body = nb;
			c->cap = ncap;
		}
		memcpy(c->body + c->len, upload_data, n);
		c->len += n;
		return MHD_YES;
	}

	/* Body complete. */
	c->in_request = false;
	if (c->too_big) {
		atomic_fetch_add(&srv->n_size, 1);
		log_warning("refused request from %s: chunked body over the %zu-byte limit",
			    c->peer.addr, srv->o.max_body);
		return queue_static(connection, MHD_HTTP_CONTENT_TOO_LARGE, srv->resp_413);
	}
	if (!c->body) {
		c->body = malloc(1);
		if (!c->body)
			return MHD_NO;
		c->cap = 1;
	}
	c->body[c->len] = '\0';
	vd_log_set_flow(c->flow[0] ? c->flow : NULL);
	struct rpc_blob *reply = srv->o.dispatch(c->body, c->len, &c->peer,
						 c->flow[0] ? c->flow : NULL, srv->o.userdata);
	vd_log_set_flow(NULL);
	if (!reply)
		return queue_static(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, srv->resp_500);
	/* A large body keeps its buffer only while it is being served. */
	if (c->cap > 65536) {
		free(c->body);
		c->body = NULL;
		c->cap = 0;
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback_cls(
		reply->len, reply->data, blob_free_cb, reply);
	if (!resp) {
		rpc_blob_unref(reply);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/xml");
	enum MHD_Result r = MHD_queue_response(connection, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return r;
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	size_t n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_debug("libmicrohttpd: %s", buf);
}

static struct MHD_Response *text_response(const char *text, bool close)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								 MHD_RESPMEM_PERSISTENT);
	if (r) {
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
		if (close)
			MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	}
	return r;
}

static void free_responses(struct rpc_server *s)
{
	struct MHD_Response **all[] = { &s->resp_404, &s->resp_405, &s->resp_413, &s->resp_503,
					&s->resp_500 };
	for (size_t i = 0; i < ELEMENTSOF(all); i++)
		if (*all[i]) {
			MHD_destroy_response(*all[i]);
			*all[i] = NULL;
		}
}

int rpc_server_start(const struct rpc_server_opts *o, struct rpc_server **ret,
		     char *errbuf, size_t errlen)
{
	struct rpc_server *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	unsigned flags;

	if (!s)
		return -ENOMEM;
	s->o = *o;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, o->ip, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(o->port);
	} else if (inet_pton(AF_INET6, o->ip, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(o->port);
	} else {
		snprintf(errbuf, errlen, "management_ip '%s' is not an IPv4 or IPv6 address", o->ip);
		free(s);
		return -EINVAL;
	}
	s->resp_404 = text_response("Not Found\n", false);
	s->resp_405 = text_response("Only POST is served here\n", false);
	s->resp_413 = text_response("Request body too large\n", true);
	s->resp_503 = text_response("Too many connections\n", true);
	s->resp_500 = text_response("Internal error\n", true);
	if (!s->resp_404 || !s->resp_405 || !s->resp_413 || !s->resp_503 || !s->resp_500) {
		free_responses(s);
		free(s);
		return -ENOMEM;
	}
	if (o->tls && gnutls_session_ticket_key_generate(&s->ticket_key) < 0)
		s->ticket_key.data = NULL;

	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
		MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (o->tls)
		flags |= MHD_USE_TLS;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct MHD_OptionItem opts[16];
	int n = 0;
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &ss };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, o->idle_timeout, NULL };
	/* MHD's own hard cap silently closes; below it we answer 503 (clean refusal). */
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, o->max_connections + 16, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)notify_connection, s };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_logger, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1, NULL };
	/* MHD clears a connection's memory pool for every request: with the default 32 KiB
	 * that memset was 40 % of the CPU of a ping (callgrind). Requests are small (the
	 * body is copied out as it arrives) and replies are sent from our buffer, so a small
	 * pool suffices for the request line and headers. */
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, RPC_CONN_POOL, NULL };
	if (o->tls) {
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->key_pem };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)o->cert_pem };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, (void *)o->ca_pem };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)o->priorities };
	}
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, access_handler, s, MHD_OPTION_ARRAY, opts,
				  MHD_OPTION_END);
	if (!s->mhd) {
		snprintf(errbuf, errlen,
			 "cannot listen on %s port %d (address in use, bad certificate/key, or bad TLS priorities)",
			 o->ip, o->port);
		free_responses(s);
		if (s->ticket_key.data)
			gnutls_free(s->ticket_key.data);
		free(s);
		return -EADDRINUSE;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : o->port;
	*ret = s;
	return 0;
}

int rpc_server_port(const struct rpc_server *s)
{
	return s->port;
}

void rpc_server_stop(struct rpc_server *s)
{
	if (!s)
		return;
	MHD_socket lsock = MHD_quiesce_daemon(s->mhd);
	if (lsock != MHD_INVALID_SOCKET)
		close(lsock);
	MHD_stop_daemon(s->mhd);
	free_responses(s);
	if (s->ticket_key.data)
		gnutls_free(s->ticket_key.data);
	free(s);
}

void rpc_server_get_counters(const struct rpc_server *s, struct rpc_server_counters *ret)
{
	ret->connections = atomic_load(&s->n_conn);
	ret->requests = atomic_load(&s->n_req);
	ret->refused_limit = atomic_load(&s->n_limit);
	ret->refused_size = atomic_load(&s->n_size);
	ret->tls_refused = atomic_load(&s->n_tls);
}
