/* The RPC server's transport: a TCP connection, plain or TLS (GnuTLS) with a verified
 * client certificate. Internal to rpc/.
 *
 * The handshake runs on a non-blocking socket, one step at a time (rpc_io_handshake),
 * so that one thread can drive many pending handshakes; once it completes the socket is
 * made blocking and the connection's own thread does the I/O (rpc_io_recv/send). */
#ifndef RPC_TLS_H
#define RPC_TLS_H

#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../vdsm-c/util/error.h"
#include "../vdsm-c/util/macros.h"

struct rpc_tls_ctx;

/* Server credentials from PEM contents (not file names) and a GnuTLS priority string.
 * Returns 0 or -EINVAL/-ENOMEM with err set (VD_ERR_GENERAL, what is unusable). */
int rpc_tls_ctx_new(const char *cert_pem, const char *key_pem, const char *ca_pem,
		    const char *priorities, struct rpc_tls_ctx **ret, struct vd_error *err) _wur_;
void rpc_tls_ctx_free(struct rpc_tls_ctx *t);

struct rpc_io {
	int fd;
	gnutls_session_t tls;       /* NULL: plain TCP */
	const char *peer_addr;      /* for log lines; owned by the connection */
	/* Requests must end by this monotonic time (0 = no bound): SO_RCVTIMEO bounds one
	 * recv only, a peer sending a byte now and then would never trip it. */
	double deadline;
	/* TLS read-ahead: GnuTLS asks for one record at a time; reading what the socket has
	 * lets the header and body records of a request arrive in one recv(). */
	size_t ra_pos, ra_len;
	char ra[16384 + 512];
};

/* Starts a server session on io->fd (which the caller made non-blocking). 0 or -errno. */
int rpc_io_tls_begin(struct rpc_io *io, struct rpc_tls_ctx *t) _wur_;
/* Advances the handshake. 0 when complete (client certificate verified, including its
 * extended key usage), -EAGAIN when it waits for the socket (poll for
 * rpc_io_poll_events()), another -errno when it failed (logged). */
int rpc_io_handshake(struct rpc_io *io) _wur_;
short rpc_io_poll_events(const struct rpc_io *io);

/* Subject DN and CN of the verified client certificate; with check_name, the
 * certificate must also name io->peer_addr (loopback excepted). -EACCES otherwise. */
int rpc_io_peer_subject(struct rpc_io *io, bool check_name, char *cn, size_t cnlen, char *dn,
			size_t dnlen) _wur_;

/* Blocking I/O once the handshake is done. recv returns bytes, 0 at EOF, -ETIMEDOUT
 * (socket timeout or io->deadline passed) or another -errno. */
ssize_t rpc_io_recv(struct rpc_io *io, char *buf, size_t n) _wur_;
int rpc_io_send_all(struct rpc_io *io, const char *buf, size_t n) _wur_;
/* Header and body in as few TLS records (and syscalls) as possible. */
int rpc_io_send2(struct rpc_io *io, const char *h, size_t hn, const char *b, size_t bn) _wur_;

/* Ends the connection after a refusal the client must see (a 413 sent while it is still
 * writing its body): close_notify, FIN, then read and discard what the client still
 * sends — up to max_bytes or max_seconds — so the kernel does not answer its writes
 * with an RST that destroys the reply before it is read. */
void rpc_io_linger(struct rpc_io *io, size_t max_bytes, int max_seconds);

/* Frees the session and closes the fd (sends close_notify when graceful). */
void rpc_io_close(struct rpc_io *io, bool graceful);

void rpc_io_set_timeout(int fd, int seconds);

#endif
