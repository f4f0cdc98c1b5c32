/* storage/mpath: see mpath.h. */
#include "mpath.h"
#include "json.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `events` on fd until the deadline. 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r > 0)
			return 0;
	}
}

static int send_all(int fd, const void *buf, size_t len, int64_t deadline)
{
	while (len) {
		int r = wait_fd(fd, POLLOUT, deadline);
		if (r < 0)
			return r;
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		buf = (const char *)buf + n;
		len -= (size_t)n;
	}
	return 0;
}

static int recv_all(int fd, void *buf, size_t len, int64_t deadline)
{
	while (len) {
		int r = wait_fd(fd, POLLIN, deadline);
		if (r < 0)
			return r;
		ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPROTO;
		buf = (char *)buf + n;
		len -= (size_t)n;
	}
	return 0;
}

int stg_mpathd_query(const char *name, const char *cmd, int timeout_ms, char **ret,
		     size_t *ret_len)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t nlen = strlen(name);
	int64_t deadline = now_ms() + timeout_ms;
	char *reply = NULL;
	int r;

	*ret = NULL;
	*ret_len = 0;
	if (nlen + 1 > sizeof(a.sun_path) || nlen == 0)
		return -ENAMETOOLONG;
	memcpy(a.sun_path + 1, name, nlen);   /* abstract: leading NUL, no trailing one */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + nlen)) < 0) {
		r = -errno;
		if (r == -EINPROGRESS || r == -EAGAIN)
			r = wait_fd(fd, POLLOUT, deadline);
		if (r < 0)
			goto out;
	}
	size_t clen = strlen(cmd) + 1;
	if ((r = send_all(fd, &clen, sizeof(clen), deadline)) < 0 ||
	    (r = send_all(fd, cmd, clen, deadline)) < 0)
		goto out;
	size_t len;
	if ((r = recv_all(fd, &len, sizeof(len), deadline)) < 0)
		goto out;
	if (len == 0 || len > STG_MPATHD_REPLY_MAX) {
		r = -EPROTO;
		goto out;
	}
	reply = malloc(len + 1);
	if (!reply) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = recv_all(fd, reply, len, deadline)) < 0)
		goto out;
	reply[len] = '\0';
	*ret_len = strnlen(reply, len);    /* the sender's NUL ends it */
	*ret = reply;
	reply = NULL;
	r = 0;
out:
	free(reply);
	close(fd);
	return r;
}

/* A JSON string member into buf: printable ASCII, fits. */
static bool get_str(const struct stg_json *doc, int32_t obj, const char *key, char *buf,
		    size_t size)
{
	int32_t v = stg_json_get_type(doc, obj, key, STG_JSON_STRING);
	if (v < 0 || stg_json_string(doc, v, buf, size) < 0)
		return false;
	for (const char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return false;
	return true;
}

void stg_mpath_maps_free(struct stg_mpath_map *maps, size_t n)
{
	for (size_t i = 0; maps && i < n; i++)
		free(maps[i].paths);
	free(maps);
}

int stg_mpath_parse_maps(const char *text, size_t len, struct stg_mpath_map **ret,
			 size_t *ret_n)
{
	struct stg_json doc;
	int r = stg_json_parse(text, len, &doc);

	*ret = NULL;
	*ret_n = 0;
	if (r < 0)
		return r;
	int32_t maps = stg_json_get_type(&doc, 0, "maps", STG_JSON_ARRAY);
	if (maps < 0) {
		stg_json_free(&doc);
		return -EINVAL;
	}
	struct stg_mpath_map *out = calloc((size_t)doc.nodes[maps].count + 1, sizeof(*out));
	size_t n = 0;
	if (!out) {
		stg_json_free(&doc);
		return -ENOMEM;
	}
	for (int32_t m = doc.nodes[maps].child; m >= 0; m = doc.nodes[m].next) {
		struct stg_mpath_map *mp = &out[n];
		if (!get_str(&doc, m, "uuid", mp->wwid, sizeof(mp->wwid)) || !mp->wwid[0])
			continue;
		int32_t pgs = stg_json_get_type(&doc, m, "path_groups", STG_JSON_ARRAY);
		size_t cap = 0;
		for (int32_t g = pgs >= 0 ? doc.nodes[pgs].child : -1; g >= 0; g = doc.nodes[g].next) {
			int32_t ps = stg_json_get_type(&doc, g, "paths", STG_JSON_ARRAY);
			for (int32_t p = ps >= 0 ? doc.nodes[ps].child : -1; p >= 0;
			     p = doc.nodes[p].next) {
				struct stg_mpath_path pp = { 0 };
				if (!get_str(&doc, p, "dev", pp.dev, sizeof(pp.dev)) || !pp.dev[0] ||
				    !get_str(&doc, p, "dm_st", pp.state, sizeof(pp.state)))
					continue;
				if (mp->npaths == cap) {
					size_t nc = cap ? cap * 2 : 4;
					struct stg_mpath_path *np = realloc(mp->paths, nc * sizeof(*np));
					if (!np) {
						stg_mpath_maps_free(out, n + 1);
						stg_json_free(&doc);
						return -ENOMEM;
					}
					mp->paths = np;
					cap = nc;
				}
				mp->paths[mp->npaths++] = pp;
			}
		}
		n++;
	}
	stg_json_free(&doc);
	*ret = out;
	*ret_n = n;
	return 0;
}
