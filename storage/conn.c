/* Connection structs from the manager: parsing, validation, mount point names.
 * Everything here is pure (no I/O), so it is unit-tested and fuzzed directly. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stg.h"
#include "../vdsm-c/util/util.h"

static const char *const type_names[] = {
	[STG_TYPE_NFS] = "NFS", [STG_TYPE_FCP] = "FCP", [STG_TYPE_ISCSI] = "ISCSI",
	[STG_TYPE_LOCALFS] = "LOCALFS", [STG_TYPE_CIFS] = "CIFS", [STG_TYPE_POSIXFS] = "POSIXFS",
	[STG_TYPE_GLUSTERFS] = "GLUSTERFS",
};

const char *stg_type_to_string(int type)
{
	if (type < 0 || (size_t)type >= ELEMENTSOF(type_names))
		return NULL;
	return type_names[type];
}

bool stg_type_supported(int type)
{
	return type == STG_TYPE_NFS || type == STG_TYPE_LOCALFS || type == STG_TYPE_POSIXFS ||
	       type == STG_TYPE_ISCSI || type == STG_TYPE_FCP;
}

/* Mount options a manager may add (mnt_options). Everything else is refused: options
 * that change what is mounted or how (remount, bind, loop, helper, x-*), the ones we
 * derive from the connection's own members (timeo, retrans, nfsvers, vers,
 * minorversion) and hard, which would let an NFS request hang for ever (API.md §8). */
static const char *const opt_flags[] = {
	"ro", "rw", "sync", "async", "noatime", "nodiratime", "relatime", "strictatime",
	"lazytime", "nodev", "nosuid", "noexec", "dirsync", "lock", "nolock", "ac", "noac",
	"cto", "nocto", "fsc", "nofsc", "resvport", "noresvport", "rdirplus", "nordirplus",
	"intr", "nointr", "_netdev", "acl", "noacl", "user_xattr", "discard", "nodiscard",
};
static const char *const opt_values[] = {
	"rsize", "wsize", "acregmin", "acregmax", "acdirmin", "acdirmax", "actimeo", "proto",
	"port", "mountport", "mountproto", "sec", "lookupcache", "local_lock", "nconnect",
	"clientaddr", "context", "fscontext", "defcontext", "rootcontext", "size", "mode",
	"uid", "gid", "nr_inodes", "mds_namespace", "backup-volfile-servers",
};

/* File system types a POSIXFS connection may mount. */
static const char *const vfs_types[] = {
	"nfs", "nfs4", "ceph", "glusterfs", "tmpfs", "ext2", "ext3", "ext4", "xfs", "btrfs",
	"ocfs2", "gfs2",
};

static bool in_list(const char *s, size_t len, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
			return true;
	return false;
}

static bool opt_value_ok(const char *v, size_t len)
{
	if (len == 0 || len > 256 || v[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)v[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || strchr("._:/+@-", ch)))
			return false;
	}
	return true;
}

static int check_mnt_options(const char *opts, struct vd_error *err)
{
	const char *p = opts;

	if (strlen(opts) >= STG_OPTS_MAX / 2)
		return vd_error_set(err, VD_ERR_MOUNT_PARSING, "%s: mnt_options longer than %d bytes",
				    vd_code_message(VD_ERR_MOUNT_PARSING), STG_OPTS_MAX / 2 - 1);
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t nlen = eq ? (size_t)(eq - p) : len;
		bool ok = eq ? in_list(p, nlen, opt_values, ELEMENTSOF(opt_values)) &&
				       opt_value_ok(eq + 1, len - nlen - 1)
			     : in_list(p, nlen, opt_flags, ELEMENTSOF(opt_flags));

		if (!ok)
			return vd_error_set(err, VD_ERR_MOUNT_PARSING,
					    "%s: option '%.*s' is not allowed in mnt_options",
					    vd_code_message(VD_ERR_MOUNT_PARSING),
					    (int)(len > 64 ? 64 : len), p);
		if (!end)
			break;
		p = end + 1;
		if (!*p)
			return vd_error_set(err, VD_ERR_MOUNT_PARSING, "%s: empty option in mnt_options",
					    vd_code_message(VD_ERR_MOUNT_PARSING));
	}
	return 0;
}

static int illegal_path(const char *what, const char *path, struct vd_error *err)
{
	return vd_error_set(err, VD_ERR_ILLEGAL_REMOTE_PATH, "%s: '%.200s' (%s)",
			    vd_code_message(VD_ERR_ILLEGAL_REMOTE_PATH), path, what);
}

/* An absolute path without '.'/'..' components, control characters, blanks or
 * backslashes, normalised into out ('//' collapsed, trailing '/' dropped). */
static int normalize_abs_path(const char *in, char *out, size_t size, struct vd_error *err)
{
	size_t o = 0;

	if (in[0] != '/')
		return illegal_path("not an absolute path", in, err);
	for (const char *p = in; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch < 0x21 || ch == 0x7f || ch == '\\')
			return illegal_path("control character, blank or backslash", in, err);
	}
	for (const char *p = in; *p;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return illegal_path("'.' or '..' component", in, err);
		if (o + 1 + len + 1 > size)
			return illegal_path("too long", in, err);
		out[o++] = '/';
		memcpy(out + o, p, len);
		o += len;
		p += len;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

static bool hostname_ok(const char *h, size_t len)
{
	if (len == 0 || len > 253 || h[0] == '-' || h[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)h[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'))
			return false;
	}
	return true;
}

/* "host:/path" with host a name, an IPv4 address or "[IPv6]". */
static int parse_server_path(const char *in, char *out, size_t size, struct vd_error *err)
{
	const char *colon;
	size_t hlen;

	if (in[0] == '[') {
		const char *rb = strchr(in, ']');
		char a6[INET6_ADDRSTRLEN];
		struct in6_addr tmp;
		size_t alen = rb ? (size_t)(rb - in - 1) : 0;

		if (!rb || rb[1] != ':' || alen == 0 || alen >= sizeof(a6))
			return vd_error_set(err, VD_ERR_INVALID_IP_ADDRESS, "%s: '%.200s'",
					    vd_code_message(VD_ERR_INVALID_IP_ADDRESS), in);
		memcpy(a6, in + 1, alen);
		a6[alen] = '\0';
		if (inet_pton(AF_INET6, a6, &tmp) != 1)
			return vd_error_set(err, VD_ERR_INVALID_IP_ADDRESS, "%s: '%s'",
					    vd_code_message(VD_ERR_INVALID_IP_ADDRESS), a6);
		colon = rb + 1;
	} else {
		colon = strchr(in, ':');
		if (!colon)
			return illegal_path("expected server:/path", in, err);
		if (!hostname_ok(in, (size_t)(colon - in)))
			return vd_error_set(err, VD_ERR_INVALID_IP_ADDRESS, "%s: '%.*s'",
					    vd_code_message(VD_ERR_INVALID_IP_ADDRESS),
					    (int)((colon - in) > 200 ? 200 : (colon - in)), in);
	}
	hlen = (size_t)(colon - in) + 1;
	if (colon[1] != '/')
		return illegal_path("expected server:/path", in, err);
	if (hlen >= size)
		return illegal_path("too long", in, err);
	memcpy(out, in, hlen);
	return normalize_abs_path(colon + 1, out + hlen, size - hlen, err);
}

/* POSIXFS spec: server:/path, an absolute path (a device), or one word ("tmpfs"). */
static int parse_posix_spec(const char *in, char *out, size_t size, struct vd_error *err)
{
	const char *sep = strstr(in, ":/");

	if (in[0] == '/')
		return normalize_abs_path(in, out, size, err);
	if (sep) {
		size_t hlen = (size_t)(sep - in) + 1;
		for (size_t i = 0; i + 1 < hlen; i++) {
			unsigned char ch = (unsigned char)in[i];
			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			      (ch >= '0' && ch <= '9') || strchr(".,:[]-", ch)))
				return illegal_path("bad character in the server part", in, err);
		}
		if (in[0] == '-' || hlen < 2 || hlen >= size)
			return illegal_path("bad server part", in, err);
		memcpy(out, in, hlen);
		return normalize_abs_path(sep + 1, out + hlen, size - hlen, err);
	}
	size_t len = strlen(in);
	if (len == 0 || len >= size || len > 64 || !((in[0] >= 'a' && in[0] <= 'z') ||
						      (in[0] >= 'A' && in[0] <= 'Z')))
		return illegal_path("expected server:/path, /path or a word", in, err);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || strchr("._-", ch)))
			return illegal_path("expected server:/path, /path or a word", in, err);
	}
	memcpy(out, in, len + 1);
	return 0;
}

int stg_escape_path(const char *remote, char *buf, size_t size)
{
	size_t o = 0;
	char prev = 0;

	for (const char *p = remote; *p; p++) {
		if (*p == '/' && prev == '/')
			continue;              /* collapse '//' */
		if (*p == '/' && p[1] == '\0' && o > 0)
			break;                 /* drop a trailing '/' */
		size_t need = *p == '_' ? 2 : 1;
		if (o + need + 1 > size || o + need > NAME_MAX)
			return -ENAMETOOLONG;
		if (*p == '_') {
			buf[o++] = '_';
			buf[o++] = '_';
		} else {
			buf[o++] = *p == '/' ? '_' : *p;
		}
		prev = *p;
	}
	if (size == 0)
		return -ENAMETOOLONG;
	buf[o] = '\0';
	if (o == 0 || strcmp(buf, ".") == 0 || strcmp(buf, "..") == 0)
		return -EINVAL;
	return (int)o;
}

static int parse_int_member(const char *name, const char *v, int lo, int hi, int *ret,
			    struct vd_error *err)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (!*v || *end || errno || n < lo || n > hi || !(v[0] >= '0' && v[0] <= '9'))
		return vd_error_set(err, VD_ERR_MOUNT_PARSING, "%s: %s '%.32s' is not in %d..%d",
				    vd_code_message(VD_ERR_MOUNT_PARSING), name, v, lo, hi);
	*ret = (int)n;
	return 0;
}

static const char *kv_get(const struct stg_kv *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (kv[i].key && strcmp(kv[i].key, key) == 0)
			return kv[i].value ? kv[i].value : "";
	return NULL;
}

void stg_conn_peek_id(const struct stg_kv *kv, size_t n, char ret[37])
{
	const char *id = kv_get(kv, n, "id");

	if (!id || util_uuid_normalize(id, ret) < 0)
		ret[0] = '\0';
}

int stg_conn_parse(int type, const struct stg_kv *kv, size_t n, struct stg_conn *ret,
		   struct vd_error *err)
{
	const char *id = kv_get(kv, n, "id");
	const char *con = kv_get(kv, n, "connection");
	const char *v;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->type = (enum stg_type)type;
	ret->retrans = -1;
	if (!id || util_uuid_normalize(id, ret->id) < 0)
		return vd_error_set(err, VD_ERR_STORAGE_SERVER_CONNECTION,
				    "%s: connection id '%.64s' is not a UUID",
				    vd_code_message(VD_ERR_STORAGE_SERVER_CONNECTION), id ? id : "");
	if (!stg_type_supported(type))
		return vd_error_set(err, VD_ERR_STORAGE_TYPE, "%s: domType %d is not supported",
				    vd_code_message(VD_ERR_STORAGE_TYPE), type);
	if (type == STG_TYPE_FCP)
		return 0;   /* id only: the connect is the HBA rescan, once per call (fc.c) */
	if (!con || !*con)
		return illegal_path("empty connection", "", err);
	if (strlen(con) >= STG_PATH_MAX)
		return illegal_path("too long", "...", err);

	if (type == STG_TYPE_ISCSI) {
		snprintf(ret->connection, sizeof(ret->connection), "%s", con);
		return stg_iscsi_conn_parse(kv, n, ret, err);
	}
	switch (type) {
	case STG_TYPE_NFS:
		r = parse_server_path(con, ret->connection, sizeof(ret->connection), err);
		break;
	case STG_TYPE_LOCALFS:
		r = normalize_abs_path(con, ret->connection, sizeof(ret->connection), err);
		if (r == 0 && strcmp(ret->connection, "/") == 0)
			r = illegal_path("the root directory", con, err);
		break;
	default:
		r = parse_posix_spec(con, ret->connection, sizeof(ret->connection), err);
		break;
	}
	if (r < 0)
		return -1;
	if (stg_escape_path(ret->connection, ret->escaped, sizeof(ret->escaped)) < 0)
		return illegal_path("mount point name too long", con, err);

	if (type == STG_TYPE_LOCALFS)
		return 0;   /* LOCALFS uses id and connection only (API.md §5.5) */

	v = kv_get(kv, n, "mnt_options");
	if (v && *v) {
		if (check_mnt_options(v, err) < 0)
			return -1;
		snprintf(ret->mnt_options, sizeof(ret->mnt_options), "%s", v);
	}

	if (type == STG_TYPE_POSIXFS) {
		v = kv_get(kv, n, "vfs_type");
		if (!v || !in_list(v, strlen(v), vfs_types, ELEMENTSOF(vfs_types)))
			return vd_error_set(err, VD_ERR_MOUNT_TYPE, "%s: vfs_type '%.32s' is not allowed",
					    vd_code_message(VD_ERR_MOUNT_TYPE), v ? v : "");
		snprintf(ret->vfs_type, sizeof(ret->vfs_type), "%s", v);
		return 0;
	}

	/* NFS */
	v = kv_get(kv, n, "protocol_version");
	if (v && *v) {
		static const char *const versions[] = { "3", "4", "4.0", "4.1", "4.2", "auto" };
		if (!in_list(v, strlen(v), versions, ELEMENTSOF(versions)))
			return vd_error_set(err, VD_ERR_MOUNT_PARSING,
					    "%s: protocol_version '%.16s' is not 3, 4, 4.0, 4.1, 4.2 or auto",
					    vd_code_message(VD_ERR_MOUNT_PARSING), v);
		snprintf(ret->nfs_version, sizeof(ret->nfs_version), "%s", v);
	}
	v = kv_get(kv, n, "timeout");
	if (v && *v && parse_int_member("timeout", v, 1, 6000, &ret->timeout, err) < 0)
		return -1;
	v = kv_get(kv, n, "retrans");
	if (v && *v && parse_int_member("retrans", v, 0, 100, &ret->retrans, err) < 0)
		return -1;
	return 0;
}

int stg_nfs_options(const struct stg_conn *c, char *buf, size_t size)
{
	char ver[32] = "";
	int n;

	if (!c->nfs_version[0])
		snprintf(ver, sizeof(ver), ",nfsvers=3");
	else if (strcmp(c->nfs_version, "auto") != 0) {
		const char *dot = strchr(c->nfs_version, '.');
		if (dot)
			snprintf(ver, sizeof(ver), ",nfsvers=%.*s,minorversion=%s",
				 (int)(dot - c->nfs_version), c->nfs_version, dot + 1);
		else
			snprintf(ver, sizeof(ver), ",nfsvers=%s", c->nfs_version);
	}
	n = snprintf(buf, size, "soft,nosharecache,timeo=%d,retrans=%d%s%s%s",
		     c->timeout > 0 ? c->timeout : 600, c->retrans >= 0 ? c->retrans : 6, ver,
		     c->mnt_options[0] ? "," : "", c->mnt_options);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return n;
}

/* Field 5 of a mountinfo line, octal escapes (\040 ...) decoded, compared to path. */
static bool mount_point_is(const char *f, size_t len, const char *path)
{
	size_t plen = strlen(path), o = 0;

	for (size_t i = 0; i < len; i++, o++) {
		char ch = f[i];
		if (ch == '\\' && i + 3 < len + 0 && f[i + 1] >= '0' && f[i + 1] <= '3' &&
		    f[i + 2] >= '0' && f[i + 2] <= '7' && f[i + 3] >= '0' && f[i + 3] <= '7') {
			ch = (char)((f[i + 1] - '0') * 64 + (f[i + 2] - '0') * 8 + (f[i + 3] - '0'));
			i += 3;
		}
		if (o >= plen || path[o] != ch)
			return false;
	}
	return o == plen;
}

bool stg_mountinfo_has(const char *text, size_t len, const char *path)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *f = p;
		/* fields: id parent maj:min root mountpoint ... */
		for (int field = 0; field < 4 && f < le; field++) {
			const char *sp = memchr(f, ' ', (size_t)(le - f));
			f = sp ? sp + 1 : le;
		}
		if (f < le) {
			const char *sp = memchr(f, ' ', (size_t)(le - f));
			const char *fe = sp ? sp : le;
			if (mount_point_is(f, (size_t)(fe - f), path))
				return true;
		}
		p = le + 1;
	}
	return false;
}
