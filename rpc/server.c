/* HTTPS (or plain HTTP) listener for XML-RPC: our own small HTTP/1.1 server on GnuTLS
 * (docs/rpc-server.md says why not libmicrohttpd).
 *
 * Two stages:
 *  - the accept thread accepts connections and drives their TLS handshakes, all of
 *    them at once on non-blocking sockets (poll). At most max_handshakes are pending,
 *    under pressure at most max_handshakes_per_addr from one address, each for handshake_timeout
 *    seconds (pend_admit() has the exact rule). Nothing unauthenticated holds a
 *    thread or a connection slot.
 *  - a connection whose client certificate has been verified gets a slot (up to
 *    max_connections; 16 more are answered 503) and its own thread, which serves its
 *    requests one after another (VDSM's model: a slow verb never delays ping on
 *    another connection).
 * The bytes of a request are parsed by rpc/http.c; the transport is rpc/tls.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"
#include "http.h"
#include "tls.h"
#include "../vdsm-c/util/log.h"
#include "../vdsm-c/util/buf.h"
#include "../vdsm-c/util/macros.h"
#include "../vdsm-c/util/util.h"

#define RPC_HARD_EXTRA 16        /* connections over max_connections still answered 503 */
#define RPC_ACCEPT_BATCH 64      /* connections accepted per wake-up of the accept thread */
#define RPC_LINGER_BYTES (16u << 20) /* discarded after a refusal, so the client reads it */
#define RPC_LINGER_SECONDS 3
#define RPC_FLOOD_LOG_INTERVAL 10.0

struct conn;

struct rpc_server {
	struct rpc_server_opts o;
	int lfd;
	int port;
	int wake[2];                       /* pipe: wakes the accept loop at stop */
	pthread_t accept_tid;
	struct rpc_tls_ctx *tls;
	atomic_bool stopping;
	pthread_mutex_t lock;              /* guards conns list and nconns */
	pthread_cond_t idle;
	struct conn *conns;                /* authenticated connections, one thread each */
	int nconns;
	/* handshake stage: used by the accept thread only */
	struct conn **pend;
	struct pollfd *pfds;
	int npend;
	double flood_logged;
	atomic_ulong n_conn, n_req, n_limit, n_size, n_tls, n_hs_refused;
};

struct conn {
	struct rpc_server *srv;
	struct conn *next, *prev;
	double hs_deadline;                /* handshake stage: drop after this time */
	bool over_limit;
	struct rpc_peer peer;
	/* receive buffer: bytes [rpos, rlen) not consumed yet */
	char *rbuf;
	size_t rpos, rlen, rcap;
	struct util_buf body;              /* request body */
	struct rpc_io io;
};

/* ---- connections ---- */

static void sockaddr_to_str(const struct sockaddr *sa, char *buf, size_t size)
{
	buf[0] = '\0';
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

static void conn_free(struct conn *c, bool graceful)
{
	rpc_io_close(&c->io, graceful);
	free(c->rbuf);
	util_buf_reset(&c->body);
	free(c);
}

static struct conn *conn_new(struct rpc_server *s, int fd, const char *addr)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c || !(c->rbuf = malloc(RPC_HTTP_MAX_HEAD + 8192))) {
		free(c);
		return NULL;
	}
	c->srv = s;
	c->io.fd = fd;
	c->io.peer_addr = c->peer.addr;
	c->rcap = RPC_HTTP_MAX_HEAD + 8192;
	snprintf(c->peer.addr, sizeof(c->peer.addr), "%s", addr);
	struct sockaddr_storage ls;
	socklen_t ll = sizeof(ls);
	if (getsockname(fd, (struct sockaddr *)&ls, &ll) == 0)
		sockaddr_to_str((struct sockaddr *)&ls, c->peer.local_addr, sizeof(c->peer.local_addr));
	return c;
}

/* ---- HTTP ---- */

/* Makes at least `want` unconsumed bytes available (or fewer at EOF). Returns the
 * number available, 0 at EOF, or -errno. */
static ssize_t fill(struct conn *c, size_t want)
{
	while (c->rlen - c->rpos < want) {
		if (c->rpos > 0) {
			memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
			c->rlen -= c->rpos;
			c->rpos = 0;
		}
		if (c->rlen == c->rcap)
			return -ENOBUFS;
		ssize_t r = rpc_io_recv(&c->io, c->rbuf + c->rlen, c->rcap - c->rlen);
		if (r < 0)
			return r;
		if (r == 0)
			return c->rlen - c->rpos;
		c->rlen += r;
	}
	return c->rlen - c->rpos;
}

static int send_status(struct conn *c, int code, const char *text, bool close)
{
	char h[256];
	int n = snprintf(h, sizeof(h),
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n",
			 code, rpc_http_reason(code), strlen(text), close ? "Connection: close\r\n" : "");
	return rpc_io_send2(&c->io, h, n, text, strlen(text));
}

/* A refusal that ends the connection: the reply, then a lingering close so that a
 * client still writing its request reads the status instead of a reset. */
static void refuse(struct conn *c, int code, const char *text)
{
	if (send_status(c, code, text, true) == 0)
		rpc_io_linger(&c->io, RPC_LINGER_BYTES, RPC_LINGER_SECONDS);
}

static int body_append(struct conn *c, const char *data, size_t n)
{
	util_buf_add(&c->body, data, n);
	return util_buf_error(&c->body);
}

/* Moves n bytes of the stream into the body (n was checked against max_body). */
static int read_body_bytes(struct conn *c, size_t n)
{
	while (n > 0) {
		ssize_t have = fill(c, 1);
		if (have <= 0)
			return have == 0 ? -EPIPE : (int)have;
		size_t take = (size_t)have < n ? (size_t)have : n;
		if (body_append(c, c->rbuf + c->rpos, take) < 0)
			return -ENOMEM;
		c->rpos += take;
		n -= take;
	}
	return 0;
}

/* Reads a chunked body. 0, or -errno; -EPROTO with *status set to the HTTP status to
 * refuse with when the body is malformed or over the limit. */
static int read_chunked(struct conn *c, int *status)
{
	struct rpc_http_chunked ch;

	rpc_http_chunked_init(&ch, c->srv->o.max_body);
	for (;;) {
		size_t have = c->rlen - c->rpos, used, off, dlen;
		int r = rpc_http_chunked_step(&ch, c->rbuf + c->rpos, have, &used, &off, &dlen);
		if (r < 0) {
			*status = -r;
			return -EPROTO;
		}
		if (r == RPC_HTTP_DATA && body_append(c, c->rbuf + c->rpos + off, dlen) < 0)
			return -ENOMEM;
		c->rpos += used;
		if (r == RPC_HTTP_DONE)
			return 0;
		if (used == 0) {
			ssize_t f = fill(c, have + 1);
			if (f <= (ssize_t)have)
				return f < 0 ? (int)f : -EPIPE;
		}
	}
}

static void serve(struct conn *c)
{
	struct rpc_server *s = c->srv;
	static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";

	for (;;) {
		struct rpc_http_request rq;
		ssize_t hlen;

		/* Wait for the next request head (idle timeout between requests: one recv).
		 * From its first byte, head and body must arrive within idle_timeout. */
		c->io.deadline = 0;
		for (;;) {
			size_t have = c->rlen - c->rpos;
			hlen = have ? rpc_http_parse_head(c->rbuf + c->rpos, have, &rq) : 0;
			if (hlen != 0)
				break;
			if (have > 0 && c->io.deadline == 0)
				c->io.deadline = util_now_monotonic() + s->o.idle_timeout;
			ssize_t r = fill(c, have + 1);
			if (r <= (ssize_t)have || atomic_load(&s->stopping))
				return; /* EOF, timeout or error: close */
		}
		if (c->io.deadline == 0)
			c->io.deadline = util_now_monotonic() + s->o.idle_timeout;
		atomic_fetch_add(&s->n_req, 1);
		if (hlen < 0) {
			log_info("refused request from %s: HTTP %d %s", c->peer.addr, (int)-hlen,
				 rpc_http_reason(-hlen));
			refuse(c, -hlen, -hlen == 431 ? "Request headers too large\n" : "Malformed request\n");
			return;
		}
		c->rpos += hlen;
		bool keep = rpc_http_keep_alive(&rq);

		if (c->over_limit) {
			atomic_fetch_add(&s->n_limit, 1);
			log_warning("refused connection from %s: more than %d connections open",
				    c->peer.addr, s->o.max_connections);
			refuse(c, 503, "Too many connections\n");
			return;
		}
		if (rq.content_length > (long long)s->o.max_body) {
			atomic_fetch_add(&s->n_size, 1);
			log_warning("refused request from %s: body of %lld bytes over the %zu-byte limit",
				    c->peer.addr, rq.content_length, s->o.max_body);
			refuse(c, 413, "Request body too large\n");
			return;
		}
		if (rq.expect_continue && strcmp(rq.method, "POST") == 0 &&
		    rpc_io_send_all(&c->io, continue_line, sizeof(continue_line) - 1) < 0)
			return;
		/* Read the body whatever the verdict, so keep-alive stays in step. */
		util_buf_clear(&c->body);
		int r = 0, status = 0;
		if (rq.chunked)
			r = read_chunked(c, &status);
		else if (rq.content_length > 0)
			r = read_body_bytes(c, rq.content_length);
		if (status == 413) {
			atomic_fetch_add(&s->n_size, 1);
			log_warning("refused request from %s: chunked body over the %zu-byte limit",
				    c->peer.addr, s->o.max_body);
			refuse(c, 413, "Request body too large\n");
			return;
		}
		if (status) {
			log_info("refused request from %s: malformed chunked body", c->peer.addr);
			refuse(c, status, "Malformed chunked body\n");
			return;
		}
		if (r < 0)
			return;
		if (strcmp(rq.path, "/") != 0 && strcmp(rq.path, "/RPC2") != 0) {
			r = send_status(c, 404, "Not Found\n", !keep);
		} else if (strcmp(rq.method, "POST") != 0) {
			r = send_status(c, 405, "Only POST is served here\n", !keep);
		} else {
			if (util_buf_error(&c->body) < 0)
				return;
			size_t blen = util_buf_len(&c->body);
			const char *body = util_buf_cstr(&c->body); /* NUL-terminated */
			const char *flow = rq.flow[0] ? rq.flow : NULL;
			vd_log_set_flow(flow);
			struct rpc_blob *reply = s->o.dispatch(body, blen, &c->peer, flow,
							       s->o.userdata);
			vd_log_set_flow(NULL);
			if (!reply) {
				send_status(c, 500, "Internal error\n", true);
				return;
			}
			char h[160];
			int n = snprintf(h, sizeof(h),
					 "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %zu\r\n%s\r\n",
					 reply->len, keep ? "" : "Connection: close\r\n");
			r = rpc_io_send2(&c->io, h, n, reply->data, reply->len);
			rpc_blob_unref(reply);
		}
		if (r < 0)
			return;
		/* A large body keeps its buffer only while it is being served. */
		if (util_buf_len(&c->body) > 65536)
			util_buf_reset(&c->body);
		if (!keep || atomic_load(&s->stopping))
			return;
	}
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct rpc_server *s = c->srv;

	serve(c);
	pthread_mutex_lock(&s->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (--s->nconns == 0)
		pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
	conn_free(c, true);
	return NULL;
}

/* An authenticated (or plain) connection gets a slot and its thread. */
static void hand_over(struct rpc_server *s, struct conn *c)
{
	int fl = fcntl(c->io.fd, F_GETFL);

	if (fl < 0 || fcntl(c->io.fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		conn_free(c, false);
		return;
	}
	rpc_io_set_timeout(c->io.fd, s->o.idle_timeout);
	if (c->io.tls && rpc_io_peer_subject(&c->io, s->o.verify_peer_name, c->peer.cn,
					     sizeof(c->peer.cn), c->peer.dn, sizeof(c->peer.dn)) < 0) {
		conn_free(c, true);
		return;
	}
	pthread_mutex_lock(&s->lock);
	int n = s->nconns;
	if (n >= s->o.max_connections + RPC_HARD_EXTRA) {
		/* Far over the limit: not even a thread for a 503. */
		pthread_mutex_unlock(&s->lock);
		atomic_fetch_add(&s->n_limit, 1);
		conn_free(c, false);
		return;
	}
	c->over_limit = n >= s->o.max_connections;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	pthread_mutex_unlock(&s->lock);

	pthread_attr_t attr;
	pthread_t tid;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Default 8 MiB stacks (virtual): xmlrpc-c's parser recursion needs them (RPC-STACK §7). */
	if (pthread_create(&tid, &attr, conn_main, c) != 0) {
		log_warning("cannot start a connection thread for %s", c->peer.addr);
		pthread_mutex_lock(&s->lock);
		s->conns = c->next;
		if (c->next)
			c->next->prev = NULL;
		if (--s->nconns == 0)
			pthread_cond_broadcast(&s->idle);
		pthread_mutex_unlock(&s->lock);
		conn_free(c, false);
	}
	pthread_attr_destroy(&attr);
}

/* ---- handshake stage (accept thread) ---- */

static void pend_remove(struct rpc_server *s, int i)
{
	s->pend[i] = s->pend[--s->npend];
}

/* Runs one handshake step; false when the connection left the stage. */
static bool pend_step(struct rpc_server *s, int i)
{
	struct conn *c = s->pend[i];
	int r = rpc_io_handshake(&c->io);

	if (r == -EAGAIN)
		return true;
	pend_remove(s, i);
	if (r == 0) {
		hand_over(s, c);
	} else {
		atomic_fetch_add(&s->n_tls, 1);
		conn_free(c, false);
	}
	return false;
}

static void flood_log(struct rpc_server *s, const char *addr, const char *why)
{
	double now = util_now_monotonic();

	if (now - s->flood_logged < RPC_FLOOD_LOG_INTERVAL && s->flood_logged > 0)
		return;
	s->flood_logged = now;
	log_warning("refusing TLS handshakes from %s: %s (%lu refused so far)", addr, why,
		    atomic_load(&s->n_hs_refused));
}

static int pend_count_addr(const struct rpc_server *s, const char *addr)
{
	int n = 0;

	for (int i = 0; i < s->npend; i++)
		n += strcmp(s->pend[i]->peer.addr, addr) == 0;
	return n;
}

/* The oldest pending handshake of the address that has the most of them. */
static int pend_victim(const struct rpc_server *s)
{
	int victim = -1, most = 0;

	for (int i = 0; i < s->npend; i++) {
		int n = pend_count_addr(s, s->pend[i]->peer.addr);
		if (n > most || (n == most && s->pend[i]->hs_deadline < s->pend[victim]->hs_deadline)) {
			most = n;
			victim = i;
		}
	}
	return victim;
}

/* Admits a new connection to the handshake stage, or refuses it.
 * Below half of max_handshakes any address may start handshakes (a manager opening many
 * connections at once); above it, an address with max_handshakes_per_addr pending gets
 * no more, so a flood from one address fills at most half the stage. When the stage is
 * full, the oldest handshake of the address with the most pending is dropped: a real
 * client completes in milliseconds, a flood keeps no place for long. */
static void pend_admit(struct rpc_server *s, int fd, const char *addr)
{
	if (s->npend >= s->o.max_handshakes / 2 &&
	    pend_count_addr(s, addr) >= s->o.max_handshakes_per_addr) {
		atomic_fetch_add(&s->n_hs_refused, 1);
		flood_log(s, addr, "max_handshakes_per_addr pending from that address");
		close(fd);
		return;
	}
	if (s->npend >= s->o.max_handshakes) {
		int v = pend_victim(s);
		struct conn *old = s->pend[v];
		atomic_fetch_add(&s->n_hs_refused, 1);
		flood_log(s, old->peer.addr, "max_handshakes pending; dropping the oldest of the busiest address");
		pend_remove(s, v);
		conn_free(old, false);
	}
	struct conn *c = conn_new(s, fd, addr);
	if (!c) {
		close(fd);
		return;
	}
	if (rpc_io_tls_begin(&c->io, s->tls) < 0) {
		conn_free(c, false);
		return;
	}
	c->hs_deadline = util_now_monotonic() + s->o.handshake_timeout;
	s->pend[s->npend++] = c;
	/* The ClientHello is often here already. */
	pend_step(s, s->npend - 1);
}

/* Accepts one connection; false when there is none to accept. */
static bool accept_one(struct rpc_server *s)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
	char addr[64];

	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE) {
			log_warning("accept: %s; pausing", strerror(errno));
			usleep(100000);
			return false;
		}
		return errno == ECONNABORTED || errno == EINTR;
	}
	atomic_fetch_add(&s->n_conn, 1);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	sockaddr_to_str((struct sockaddr *)&ss, addr, sizeof(addr));
	if (s->tls) {
		pend_admit(s, fd, addr);
		return true;
	}
	struct conn *c = conn_new(s, fd, addr);
	if (c)
		hand_over(s, c);
	else
		close(fd);
	return true;
}

static void *accept_main(void *arg)
{
	struct rpc_server *s = arg;
	struct pollfd *pf = s->pfds;

	while (!atomic_load(&s->stopping)) {
		double now = util_now_monotonic(), next = 0;
		int timeout = -1, n = s->npend;

		pf[0] = (struct pollfd){ s->lfd, POLLIN, 0 };
		pf[1] = (struct pollfd){ s->wake[0], POLLIN, 0 };
		for (int i = 0; i < n; i++) {
			pf[2 + i] = (struct pollfd){ s->pend[i]->io.fd, rpc_io_poll_events(&s->pend[i]->io), 0 };
			if (next == 0 || s->pend[i]->hs_deadline < next)
				next = s->pend[i]->hs_deadline;
		}
		if (n)
			timeout = next <= now ? 0 : (int)((next - now) * 1000) + 1;
		if (poll(pf, 2 + n, timeout) < 0)
			continue;
		if (pf[1].revents)
			break;
		now = util_now_monotonic();
		/* Backwards: pend_remove() moves the last entry, already looked at, into i. */
		for (int i = n - 1; i >= 0; i--) {
			/* The deadline first: a client sending a byte now and then always has
			 * something to read, and must not keep its handshake alive that way. */
			if (now > s->pend[i]->hs_deadline) {
				struct conn *c = s->pend[i];
				log_info("TLS handshake with %s timed out", c->peer.addr);
				atomic_fetch_add(&s->n_tls, 1);
				pend_remove(s, i);
				conn_free(c, false);
			} else if (pf[2 + i].revents) {
				pend_step(s, i);
			}
		}
		if (pf[0].revents & POLLIN)
			for (int k = 0; k < RPC_ACCEPT_BATCH && accept_one(s); k++)
				;
	}
	while (s->npend > 0) {
		struct conn *c = s->pend[0];
		pend_remove(s, 0);
		conn_free(c, false);
	}
	return NULL;
}

/* ---- start and stop ---- */

static void server_free(struct rpc_server *s)
{
	if (s->lfd >= 0)
		close(s->lfd);
	for (int i = 0; i < 2; i++)
		if (s->wake[i] >= 0)
			close(s->wake[i]);
	rpc_tls_ctx_free(s->tls);
	free(s->pend);
	free(s->pfds);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->idle);
	free(s);
}

int rpc_server_start(const struct rpc_server_opts *o, struct rpc_server **ret,
		     struct vd_error *err)
{
	struct rpc_server *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	socklen_t sl;
	int r, one = 1;

	if (!s)
		return -ENOMEM;
	s->o = *o;
	if (s->o.max_handshakes < 1)
		s->o.max_handshakes = 1;
	if (s->o.max_handshakes_per_addr < 1)
		s->o.max_handshakes_per_addr = 1;
	if (s->o.handshake_timeout < 1)
		s->o.handshake_timeout = 1;
	s->lfd = s->wake[0] = s->wake[1] = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	s->pend = calloc(s->o.max_handshakes, sizeof(*s->pend));
	s->pfds = calloc(s->o.max_handshakes + 2, sizeof(*s->pfds));
	if (!s->pend || !s->pfds) {
		server_free(s);
		return -ENOMEM;
	}
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, o->ip, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(o->port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, o->ip, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(o->port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		vd_error_set(err, VD_ERR_GENERAL, "management_ip '%s' is not an IPv4 or IPv6 address", o->ip);
		server_free(s);
		return -EINVAL;
	}
	if (o->tls && (r = rpc_tls_ctx_new(o->cert_pem, o->key_pem, o->ca_pem, o->priorities,
					   &s->tls, err)) < 0) {
		server_free(s);
		return r;
	}
	s->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->lfd < 0 || setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s->lfd, (struct sockaddr *)&ss, sl) < 0 || listen(s->lfd, 511) < 0) {
		r = -errno;
		vd_error_set(err, VD_ERR_GENERAL, "cannot listen on %s port %d: %s", o->ip, o->port, strerror(errno));
		server_free(s);
		return r;
	}
	sl = sizeof(ss);
	getsockname(s->lfd, (struct sockaddr *)&ss, &sl);
	s->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						: ((struct sockaddr_in6 *)&ss)->sin6_port);
	if (pipe2(s->wake, O_CLOEXEC) < 0 || pthread_create(&s->accept_tid, NULL, accept_main, s) != 0) {
		vd_error_set(err, VD_ERR_GENERAL, "cannot start the accept thread");
		server_free(s);
		return -EAGAIN;
	}
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
	atomic_store(&s->stopping, true);
	ssize_t w = write(s->wake[1], "x", 1);
	(void)w;
	pthread_join(s->accept_tid, NULL);
	close(s->lfd);
	s->lfd = -1;
	/* Wake connection threads blocked in recv; a request being served finishes first. */
	pthread_mutex_lock(&s->lock);
	for (struct conn *c = s->conns; c; c = c->next)
		shutdown(c->io.fd, SHUT_RD);
	double deadline = util_now_monotonic() + 10;
	while (s->nconns > 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&s->idle, &s->lock, &ts);
		if (util_now_monotonic() > deadline) {
			log_warning("%d connection(s) still busy at shutdown; not waiting for them", s->nconns);
			pthread_mutex_unlock(&s->lock);
			return; /* their threads still use s: leak it rather than free it under them */
		}
	}
	pthread_mutex_unlock(&s->lock);
	server_free(s);
}

void rpc_server_get_counters(const struct rpc_server *s, struct rpc_server_counters *ret)
{
	ret->connections = atomic_load(&s->n_conn);
	ret->requests = atomic_load(&s->n_req);
	ret->refused_limit = atomic_load(&s->n_limit);
	ret->refused_size = atomic_load(&s->n_size);
	ret->tls_refused = atomic_load(&s->n_tls);
	ret->handshakes_refused = atomic_load(&s->n_hs_refused);
}
