/* Readiness of storage: each storage server connection reachable (a TCP connect to the
 * NFS server or the iSCSI portal, all probed at once within one deadline), and
 * dm-multipath maps with every path active (the maps come from the caller, which asks
 * multipathd). readiness.h documents the spec forms. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "readiness.h"
#include "readiness-internal.h"
#include "../util/exec.h"
#include "../util/util.h"

#define SLOW_MS 1000

/* A name through getent (NSS: /etc/hosts, DNS) in a child with a deadline. */
static int resolve(struct rd_storage *s, double timeout_s)
{
	unsigned char buf[sizeof(struct in6_addr)];
	struct util_exec_result res = { 0 };

	if (inet_pton(AF_INET, s->host, buf) == 1 || inet_pton(AF_INET6, s->host, buf) == 1) {
		snprintf(s->addr, sizeof(s->addr), "%s", s->host);
		return 0;
	}
	const char *argv[] = { "/usr/bin/getent", "ahosts", s->host, NULL };
	const struct util_exec_opts o = { .timeout = timeout_s > 0.2 ? timeout_s : 0.2,
					  .grace = 0.5, .cap = 64 << 10 };
	int rc = util_exec(argv, &o, &res);
	if (rc == 0)
		rc = rd_getent_parse(res.out, s->addr);
	else if (rc != -ETIME)
		rc = -ENOENT;
	else
		rc = -ETIMEDOUT;
	util_exec_result_clear(&res);
	return rc;
}

static int start_connect(const struct rd_storage *s)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	if (inet_pton(AF_INET, s->addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)s->port);
		len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, s->addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)s->port);
		len = sizeof(*in6);
	} else {
		return -EINVAL;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, len) == 0)
		return fd;   /* connected at once (loopback): poll reports it writable */
	if (errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

void rd_storage_probe(struct rd_storage *s, size_t n, int timeout_ms)
{
	struct pollfd pfd[RD_MAX_STORAGE];
	double t0 = util_now_monotonic(), deadline = t0 + timeout_ms / 1000.0;
	size_t open_n = 0;

	if (n > RD_MAX_STORAGE)
		n = RD_MAX_STORAGE;
	for (size_t i = 0; i < n; i++) {
		pfd[i].fd = -1;
		pfd[i].events = POLLOUT;
		s[i].addr[0] = '\0';
		s[i].rc = resolve(&s[i], deadline - util_now_monotonic());
		if (s[i].rc == 0) {
			int fd = start_connect(&s[i]);
			if (fd < 0)
				s[i].rc = fd;
			else
				pfd[i].fd = fd, open_n++;
		}
		s[i].ms = (util_now_monotonic() - t0) * 1000;
	}
	while (open_n > 0) {
		double left = deadline - util_now_monotonic();
		int r = left > 0 ? poll(pfd, n, (int)(left * 1000) + 1) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (pfd[i].fd < 0)
				continue;
			if (r > 0 && !pfd[i].revents)
				continue;
			int soerr = 0;
			socklen_t sl = sizeof(soerr);
			if (r <= 0)   /* deadline (or poll failed): whatever is still open */
				s[i].rc = -ETIMEDOUT;
			else if (getsockopt(pfd[i].fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
				s[i].rc = -errno;
			else
				s[i].rc = -soerr;
			s[i].ms = (util_now_monotonic() - t0) * 1000;
			close(pfd[i].fd);
			pfd[i].fd = -1;
			open_n--;
		}
	}
}

void rd_check_storage(const struct rd_input *in, struct rd_report *r)
{
	for (size_t i = 0; i < in->n_storage; i++) {
		const struct rd_storage *s = &in->storage[i];
		const char *what = s->kind == RD_STORAGE_NFS ? "NFS server" : "iSCSI portal";
		char label[32], where[640];
		bool v6 = strchr(s->addr[0] ? s->addr : s->host, ':') != NULL;

		snprintf(label, sizeof(label), "storage:%.23s", s->spec);
		snprintf(where, sizeof(where), "%s %s%s%s:%d%s%s%s", what, v6 ? "[" : "",
			 s->addr[0] ? s->addr : s->host, v6 ? "]" : "", s->port,
			 strcmp(s->host, s->addr) && s->addr[0] ? " (" : "",
			 strcmp(s->host, s->addr) && s->addr[0] ? s->host : "",
			 strcmp(s->host, s->addr) && s->addr[0] ? ")" : "");
		switch (s->rc) {
		case 0:
			if (s->ms > SLOW_MS)
				rd_hint(rd_add(r, label, RD_WARN, "%s answers, but only after %.0f ms",
					       where, s->ms),
					"check the storage network (latency, packet loss, MTU)");
			else
				rd_add(r, label, RD_OK, "%s reachable (TCP connect in %.0f ms)", where,
				       s->ms);
			break;
		case -ENOENT:
			rd_hint(rd_add(r, label, RD_FAIL, "cannot resolve '%s'", s->host),
				"check DNS or /etc/hosts on this host, or use the server's address");
			break;
		case -ETIMEDOUT:
			rd_hint(rd_add(r, label, RD_FAIL, "%s: no answer within %.1f s", where,
				       in->storage_timeout_ms / 1000.0),
				"check routing and firewalls between this host and the server "
				"(TCP port %d)", s->port);
			break;
		case -ECONNREFUSED:
			rd_hint(rd_add(r, label, RD_FAIL, "%s refuses connections: nothing listens on "
				       "port %d", where, s->port),
				s->kind == RD_STORAGE_NFS ? "start the NFS server there, or check the "
				"connection's server address" : "start the iSCSI target there, or check "
				"the portal's address and port");
			break;
		case -EHOSTUNREACH:
		case -ENETUNREACH:
			rd_hint(rd_add(r, label, RD_FAIL, "%s is unreachable: %s", where,
				       strerror(-s->rc)),
				"check this host's storage network: addresses, routes, link");
			break;
		default:
			rd_hint(rd_add(r, label, RD_FAIL, "%s: %s", where, strerror(-s->rc)),
				"check the storage network between this host and the server");
		}
	}
}

void rd_check_mpath(const struct rd_input *in, struct rd_report *r)
{
	size_t degraded = 0, dead = 0, paths = 0;
	char list[400] = "";
	size_t off = 0;

	if (!in->mpath_asked)
		return;
	if (in->mpath_rc == -ECONNREFUSED || in->mpath_rc == -ENOENT) {
		rd_hint(rd_add(r, "multipath", RD_WARN, "multipathd is not running: SAN LUNs (iSCSI, "
			       "FC) get no multipath maps and block storage domains cannot be used"),
			"install multipath-tools, put the agent's multipath.conf in place "
			"(vdsm-c-setup) and start multipathd");
		return;
	}
	if (in->mpath_rc < 0) {
		rd_hint(rd_add(r, "multipath", RD_FAIL, "multipathd does not answer: %s",
			       in->mpath_rc == -ETIMEDOUT ? "no reply in time (hung?)" :
			       strerror(-in->mpath_rc)),
			"check multipathd (journalctl -u multipathd) and restart it");
		return;
	}
	for (size_t i = 0; i < in->n_mpath; i++) {
		const struct rd_mpath_map *m = &in->mpath[i];
		paths += m->n_paths;
		if (m->n_active == m->n_paths)
			continue;
		if (m->n_active == 0)
			dead++;
		else
			degraded++;
		if (off < sizeof(list))
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s %zu/%zu active%s%s",
						off ? "; " : "", m->wwid, m->n_active, m->n_paths,
						m->failed[0] ? ", " : "", m->failed);
	}
	if (dead)
		rd_hint(rd_add(r, "multipath", RD_FAIL, "%zu of %zu map(s) without an active path, "
			       "%zu degraded: %s", dead, in->n_mpath, degraded, list),
			"the LUN is unreachable: check the SAN paths (iscsiadm -m session, cabling, "
			"zoning) and multipathd -k'show paths'");
	else if (degraded)
		rd_hint(rd_add(r, "multipath", RD_WARN, "%zu of %zu map(s) with failed paths: %s",
			       degraded, in->n_mpath, list),
			"one path left is no redundancy: check the failed paths (iscsiadm -m session, "
			"cabling, zoning)");
	else if (in->n_mpath == 0)
		rd_add(r, "multipath", RD_OK, "multipathd runs; no multipath maps (no SAN LUN "
		       "connected)");
	else
		rd_add(r, "multipath", RD_OK, "%zu map(s), all %zu path(s) active", in->n_mpath, paths);
}
