/* Transport of the RPC server: TLS sessions with a mandatory, verified client
 * certificate (GnuTLS), or plain TCP when ssl = false. See tls.h. */
#include <errno.h>
#include <gnutls/x509.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tls.h"
#include "../vdsm-c/util/log.h"
#include "../vdsm-c/util/util.h"

struct rpc_tls_ctx {
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
	gnutls_datum_t ticket_key;         /* TLS session tickets: resumption without RSA */
};

static bool io_expired(const struct rpc_io *io)
{
	return io->deadline > 0 && util_now_monotonic() > io->deadline;
}

static ssize_t tls_pull(gnutls_transport_ptr_t ptr, void *buf, size_t n)
{
	struct rpc_io *io = ptr;

	if (io->ra_pos == io->ra_len) {
		ssize_t r;
		if (io_expired(io)) {
			/* as for SO_RCVTIMEO: GnuTLS returns GNUTLS_E_AGAIN */
			gnutls_transport_set_errno(io->tls, EAGAIN);
			return -1;
		}
		do {
			r = recv(io->fd, io->ra, sizeof(io->ra), 0);
		} while (r < 0 && errno == EINTR);
		if (r <= 0) {
			gnutls_transport_set_errno(io->tls, r < 0 ? errno : 0);
			return r;
		}
		io->ra_pos = 0;
		io->ra_len = r;
	}
	size_t take = io->ra_len - io->ra_pos < n ? io->ra_len - io->ra_pos : n;
	memcpy(buf, io->ra + io->ra_pos, take);
	io->ra_pos += take;
	return take;
}

/* GnuTLS requires a pull-timeout function with a custom pull function (it is used when
 * a handshake or record timeout is set, or for DTLS): data already read ahead counts. */
static int tls_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	struct rpc_io *io = ptr;
	struct pollfd pf = { io->fd, POLLIN, 0 };
	int r;

	if (io->ra_pos < io->ra_len)
		return 1;
	do {
		r = poll(&pf, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
	} while (r < 0 && errno == EINTR);
	return r;
}

static ssize_t tls_push(gnutls_transport_ptr_t ptr, const void *buf, size_t n)
{
	struct rpc_io *io = ptr;
	ssize_t r = send(io->fd, buf, n, MSG_NOSIGNAL);

	if (r < 0)
		gnutls_transport_set_errno(io->tls, errno);
	return r;
}

static ssize_t tls_push_vec(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	struct rpc_io *io = ptr;
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt };
	ssize_t r = sendmsg(io->fd, &m, MSG_NOSIGNAL);

	if (r < 0)
		gnutls_transport_set_errno(io->tls, errno);
	return r;
}

ssize_t rpc_io_recv(struct rpc_io *io, char *buf, size_t n)
{
	for (;;) {
		ssize_t r;
		if (io->tls) {
			r = gnutls_record_recv(io->tls, buf, n);
			if (r == GNUTLS_E_INTERRUPTED)
				continue;
			if (r == GNUTLS_E_AGAIN)
				return -ETIMEDOUT; /* blocking socket: SO_RCVTIMEO expired */
			if (r == GNUTLS_E_PREMATURE_TERMINATION)
				return 0;
			return r < 0 ? -EPROTO : r;
		}
		if (io_expired(io))
			return -ETIMEDOUT;
		r = recv(io->fd, buf, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		return r;
	}
}

int rpc_io_send_all(struct rpc_io *io, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t r;
		if (io->tls) {
			r = gnutls_record_send(io->tls, buf, n);
			if (r == GNUTLS_E_INTERRUPTED)
				continue;
			/* blocking socket: SO_SNDTIMEO expired, the peer is not reading */
			if (r == GNUTLS_E_AGAIN)
				return -ETIMEDOUT;
			if (r < 0)
				return -EPIPE;
		} else {
			r = send(io->fd, buf, n, MSG_NOSIGNAL);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -errno;
		}
		buf += r;
		n -= r;
	}
	return 0;
}

int rpc_io_send2(struct rpc_io *io, const char *h, size_t hn, const char *b, size_t bn)
{
	int r;

	if (!io->tls) {
		struct iovec iov[2] = { { (void *)h, hn }, { (void *)b, bn } };
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = bn ? 2 : 1 };
		ssize_t w = sendmsg(io->fd, &m, MSG_NOSIGNAL);
		if (w < 0 && errno != EINTR)
			return -errno;
		if (w < 0)
			w = 0;
		/* short write: finish the rest the simple way */
		if ((size_t)w < hn)
			return rpc_io_send_all(io, h + w, hn - w) < 0 ? -EPIPE : rpc_io_send_all(io, b, bn);
		return rpc_io_send_all(io, b + (w - hn), bn - (w - hn));
	}
	gnutls_record_cork(io->tls);
	r = rpc_io_send_all(io, h, hn);
	if (r == 0 && bn)
		r = rpc_io_send_all(io, b, bn);
	/* Not GNUTLS_RECORD_WAIT: it retries GNUTLS_E_AGAIN (SO_SNDTIMEO expired)
	 * forever, so a peer that stops reading would hold this thread. */
	for (;;) {
		ssize_t u = gnutls_record_uncork(io->tls, 0);
		if (u == GNUTLS_E_INTERRUPTED)
			continue;
		if (u < 0)
			r = u == GNUTLS_E_AGAIN ? -ETIMEDOUT : -EPIPE;
		break;
	}
	return r;
}

void rpc_io_set_timeout(int fd, int seconds)
{
	struct timeval tv = { .tv_sec = seconds };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

void rpc_io_linger(struct rpc_io *io, size_t max_bytes, int max_seconds)
{
	char buf[16384];
	double end = util_now_monotonic() + max_seconds;
	size_t got = 0;

	if (io->tls)
		gnutls_bye(io->tls, GNUTLS_SHUT_WR);
	shutdown(io->fd, SHUT_WR);
	rpc_io_set_timeout(io->fd, 1);
	/* Raw bytes: what the client still sends is discarded, not decrypted. */
	while (got < max_bytes && util_now_monotonic() < end) {
		ssize_t r = recv(io->fd, buf, sizeof(buf), 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += r;
	}
}

void rpc_io_close(struct rpc_io *io, bool graceful)
{
	if (io->tls) {
		if (graceful)
			gnutls_bye(io->tls, GNUTLS_SHUT_WR);
		gnutls_deinit(io->tls);
		io->tls = NULL;
	}
	if (io->fd >= 0)
		close(io->fd);
	io->fd = -1;
}

/* GnuTLS calls this during the handshake once the client sent its certificate:
 * refusing here ends the connection before any HTTP is read. The certificate must
 * chain to our CA and, when it carries an extended key usage, allow TLS client use
 * (certificates without the extension stay accepted, as OpenSSL-based servers do). */
static int verify_client(gnutls_session_t s)
{
	struct rpc_io *io = gnutls_session_get_ptr(s);
	gnutls_typed_vdata_st purpose = {
		.type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT,
	};
	unsigned status = 0;
	int r = gnutls_certificate_verify_peers(s, &purpose, 1, &status);

	if (r == 0 && status == 0)
		return 0;
	if (r < 0) {
		log_warning("TLS: refused client %s: certificate check failed: %s", io->peer_addr,
			    gnutls_strerror(r));
	} else {
		gnutls_datum_t out = { 0 };
		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0) {
			log_warning("TLS: refused client %s: %s", io->peer_addr, (char *)out.data);
			gnutls_free(out.data);
		} else {
			log_warning("TLS: refused client %s: certificate status 0x%x", io->peer_addr,
				    status);
		}
	}
	return GNUTLS_E_CERTIFICATE_ERROR;
}

int rpc_io_peer_subject(struct rpc_io *io, bool check_name, char *cn, size_t cnlen, char *dn,
			size_t dnlen)
{
	const gnutls_datum_t *certs;
	unsigned n = 0;
	gnutls_x509_crt_t crt;
	size_t sz;
	int r = 0;

	certs = gnutls_certificate_get_peers(io->tls, &n);
	if (!certs || n == 0 || gnutls_x509_crt_init(&crt) < 0)
		return -EACCES;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(crt);
		return -EACCES;
	}
	sz = dnlen;
	if (gnutls_x509_crt_get_dn(crt, dn, &sz) < 0)
		dn[0] = '\0';
	sz = cnlen;
	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &sz) < 0)
		cn[0] = '\0';
	/* VDSM verify_client_cert: the certificate must name the peer address; loopback
	 * excepted. */
	if (check_name && strcmp(io->peer_addr, "127.0.0.1") != 0 &&
	    strcmp(io->peer_addr, "::1") != 0 &&
	    gnutls_x509_crt_check_hostname(crt, io->peer_addr) == 0) {
		log_warning("refused client %s: certificate '%s' does not name this address",
			    io->peer_addr, dn);
		r = -EACCES;
	}
	gnutls_x509_crt_deinit(crt);
	return r;
}

int rpc_io_tls_begin(struct rpc_io *io, struct rpc_tls_ctx *t)
{
	if (gnutls_init(&io->tls, GNUTLS_SERVER | GNUTLS_NONBLOCK) < 0) {
		io->tls = NULL;
		return -ENOMEM;
	}
	gnutls_session_set_ptr(io->tls, io);
	if (gnutls_priority_set(io->tls, t->prio) < 0 ||
	    gnutls_credentials_set(io->tls, GNUTLS_CRD_CERTIFICATE, t->cred) < 0)
		return -EINVAL;
	gnutls_certificate_server_set_request(io->tls, GNUTLS_CERT_REQUIRE);
	gnutls_session_set_verify_function(io->tls, verify_client);
	if (t->ticket_key.data)
		gnutls_session_ticket_enable_server(io->tls, &t->ticket_key);
	gnutls_transport_set_ptr(io->tls, io);
	gnutls_transport_set_pull_function(io->tls, tls_pull);
	gnutls_transport_set_pull_timeout_function(io->tls, tls_pull_timeout);
	gnutls_transport_set_push_function(io->tls, tls_push);
	gnutls_transport_set_vec_push_function(io->tls, tls_push_vec);
	return 0;
}

int rpc_io_handshake(struct rpc_io *io)
{
	int r;

	do {
		r = gnutls_handshake(io->tls);
	} while (r < 0 && r != GNUTLS_E_AGAIN && !gnutls_error_is_fatal(r));
	if (r == GNUTLS_E_AGAIN)
		return -EAGAIN;
	if (r < 0) {
		log_info("TLS handshake with %s failed: %s", io->peer_addr, gnutls_strerror(r));
		return -EPROTO;
	}
	return 0;
}

short rpc_io_poll_events(const struct rpc_io *io)
{
	return gnutls_record_get_direction(io->tls) ? POLLOUT : POLLIN;
}

void rpc_tls_ctx_free(struct rpc_tls_ctx *t)
{
	if (!t)
		return;
	if (t->cred)
		gnutls_certificate_free_credentials(t->cred);
	if (t->prio)
		gnutls_priority_deinit(t->prio);
	if (t->ticket_key.data)
		gnutls_free(t->ticket_key.data);
	free(t);
}

int rpc_tls_ctx_new(const char *cert_pem, const char *key_pem, const char *ca_pem,
		    const char *priorities, struct rpc_tls_ctx **ret, struct vd_error *err)
{
	struct rpc_tls_ctx *t = calloc(1, sizeof(*t));
	gnutls_datum_t cert = { (unsigned char *)cert_pem, strlen(cert_pem) };
	gnutls_datum_t key = { (unsigned char *)key_pem, strlen(key_pem) };
	gnutls_datum_t ca = { (unsigned char *)ca_pem, strlen(ca_pem) };
	const char *errpos = NULL;
	int r;

	if (!t || gnutls_certificate_allocate_credentials(&t->cred) < 0) {
		rpc_tls_ctx_free(t);
		vd_error_set(err, VD_ERR_GENERAL, "TLS: out of memory");
		return -ENOMEM;
	}
	r = gnutls_certificate_set_x509_key_mem(t->cred, &cert, &key, GNUTLS_X509_FMT_PEM);
	if (r < 0) {
		vd_error_set(err, VD_ERR_GENERAL, "TLS: host certificate or key unusable: %s", gnutls_strerror(r));
		goto fail;
	}
	r = gnutls_certificate_set_x509_trust_mem(t->cred, &ca, GNUTLS_X509_FMT_PEM);
	if (r <= 0) {
		vd_error_set(err, VD_ERR_GENERAL, "TLS: CA certificate unusable: %s",
			 r < 0 ? gnutls_strerror(r) : "no certificate found");
		goto fail;
	}
	r = gnutls_priority_init(&t->prio, priorities, &errpos);
	if (r < 0) {
		t->prio = NULL;
		vd_error_set(err, VD_ERR_GENERAL, "TLS: bad priority string '%s' near '%s'", priorities,
			 errpos ? errpos : "");
		goto fail;
	}
	if (gnutls_session_ticket_key_generate(&t->ticket_key) < 0)
		t->ticket_key.data = NULL;
	*ret = t;
	return 0;
fail:
	rpc_tls_ctx_free(t);
	return -EINVAL;
}
