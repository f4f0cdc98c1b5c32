/* iSCSI through iscsiadm, the supported interface of open-iscsi: sendtargets
 * discovery for now (API.md §5.5 discoverSendTargets), the validation of portals and
 * iSCSI names, and the mapping of iscsiadm's exit statuses to the storage codes.
 * iscsiadm runs through util_exec with a timeout: a portal that does not answer costs
 * the caller at most that long. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stg.h"
#include "../vdsm-c/util/buf.h"
#include "../vdsm-c/util/exec.h"
#include "../vdsm-c/util/log.h"
#include "../vdsm-c/util/util.h"

/* open-iscsi include/iscsi_err.h */
enum {
	ISCSI_ERR_LOGIN = 5,
	ISCSI_ERR_SESS_EXISTS = 15,
	ISCSI_ERR_NO_OBJS_FOUND = 21,
	ISCSI_ERR_TRANS_TIMEOUT = 8,
	ISCSI_ERR_FATAL_LOGIN = 19,
	ISCSI_ERR_ISCSID_NOTCONN = 20,
	ISCSI_ERR_LOGIN_AUTH_FAILED = 24,
};

/* What an admin should read when iscsiadm could not talk to iscsid at all. */
static const char *iscsid_hint(int r, const struct util_exec_result *res)
{
	if (r == -ECHILD && !res->signal && res->status == ISCSI_ERR_ISCSID_NOTCONN)
		return " (iscsiadm cannot reach iscsid: is the iscsid service running?)";
	return "";
}

static struct {
	char *iscsiadm;
	char *nodes_dir;
	double timeout;
} isc;

int stg_iscsi_start(const struct stg_iscsi_opts *o)
{
	if (!o->iscsiadm || o->iscsiadm[0] != '/' || o->timeout <= 0)
		return -EINVAL;
	free(isc.iscsiadm);
	free(isc.nodes_dir);
	isc.iscsiadm = strdup(o->iscsiadm);
	isc.nodes_dir = strdup(o->nodes_dir ? o->nodes_dir : "/etc/iscsi/nodes");
	isc.timeout = o->timeout;
	return isc.iscsiadm && isc.nodes_dir ? 0 : -ENOMEM;
}

int stg_iscsi_code(enum stg_iscsi_op op, int st)
{
	switch (op) {
	case STG_ISCSI_DISCOVERY:
		return VD_ERR_ISCSI_DISCOVERY;
	case STG_ISCSI_LOGOUT:
		return VD_ERR_ISCSI_LOGOUT;
	case STG_ISCSI_NODE:
		return VD_ERR_ISCSI_SETUP;
	case STG_ISCSI_LOGIN:
		if (st == ISCSI_ERR_LOGIN_AUTH_FAILED)
			return VD_ERR_ISCSI_LOGIN_AUTH;
		if (st == ISCSI_ERR_LOGIN || st == ISCSI_ERR_TRANS_TIMEOUT ||
		    st == ISCSI_ERR_FATAL_LOGIN)
			return VD_ERR_ISCSI_LOGIN;
		return VD_ERR_ISCSI_SETUP;
	}
	return VD_ERR_ISCSI_SETUP;
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return s[n] == '\0';
}

bool stg_iqn_valid(const char *s)
{
	size_t len = strlen(s);

	if (len < 4 || len > 223)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch <= ' ' || ch >= 0x7f || ch == ',' || ch == '\\' || ch == '\'' || ch == '"')
			return false;
	}
	if (strncmp(s, "eui.", 4) == 0)
		return len == 20 && all_hex(s + 4, 16);
	if (strncmp(s, "naa.", 4) == 0)
		return (len == 20 || len == 36) && all_hex(s + 4, len - 4);
	/* iqn.YYYY-MM.<domain>... */
	if (strncmp(s, "iqn.", 4) != 0 || len < 13)
		return false;
	for (int i = 4; i < 11; i++)
		if (i == 8 ? s[i] != '-' : !(s[i] >= '0' && s[i] <= '9'))
			return false;
	return s[11] == '.' && s[12] != '.' && s[12] != ':';
}

static bool host_ok(const char *h)
{
	struct in6_addr a6;
	size_t len = strlen(h);

	if (strchr(h, ':'))
		return inet_pton(AF_INET6, h, &a6) == 1;
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

static const char *kv_get(const struct stg_kv *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (kv[i].key && strcmp(kv[i].key, key) == 0)
			return kv[i].value ? kv[i].value : "";
	return NULL;
}

int stg_iscsi_portal_parse(const struct stg_kv *kv, size_t n, struct stg_portal *ret,
			   struct vd_error *err)
{
	const char *host = kv_get(kv, n, "connection");
	const char *port = kv_get(kv, n, "port");
	const char *user = kv_get(kv, n, "user");
	const char *password = kv_get(kv, n, "password");
	long long p = 3260;

	memset(ret, 0, sizeof(*ret));
	if (!host || !*host || strlen(host) >= sizeof(ret->host))
		return vd_error_set(err, VD_ERR_INVALID_IP_ADDRESS, "%s: connection '%.64s'",
				    vd_code_message(VD_ERR_INVALID_IP_ADDRESS), host ? host : "");
	/* "[v6]" as some engines send it */
	size_t hl = strlen(host);
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		memcpy(ret->host, host + 1, hl - 2);
		ret->host[hl - 2] = '\0';
	} else {
		memcpy(ret->host, host, hl + 1);
	}
	if (!host_ok(ret->host))
		return vd_error_set(err, VD_ERR_INVALID_IP_ADDRESS, "%s: connection '%.64s'",
				    vd_code_message(VD_ERR_INVALID_IP_ADDRESS), host);
	if (port && *port && util_parse_ll(port, 1, 65535, &p) < 0)
		return vd_error_set(err, VD_ERR_INVALID_PARAMETER, "Invalid parameter: 'port=%.16s'",
				    port);
	ret->port = (int)p;
	if ((user && *user) || (password && *password))
		return vd_error_set(err, VD_ERR_ISCSI_DISCOVERY,
				    "%s: CHAP discovery is not supported (it would put the secret "
				    "on iscsiadm's command line)",
				    vd_code_message(VD_ERR_ISCSI_DISCOVERY));
	return 0;
}

/* "<host>:<port>,<tpgt> <iqn>" with host a name, IPv4, or "[IPv6]". */
static bool target_line(const char *line, size_t len, struct stg_target *t)
{
	const char *sp = memchr(line, ' ', len);
	char portal[300], host[256];
	size_t plen, ilen;

	if (!sp)
		return false;
	plen = (size_t)(sp - line);
	ilen = len - plen - 1;
	if (plen == 0 || plen >= sizeof(portal) || ilen == 0 || ilen >= sizeof(t->iqn))
		return false;
	memcpy(portal, line, plen);
	portal[plen] = '\0';
	memcpy(t->iqn, sp + 1, ilen);
	t->iqn[ilen] = '\0';
	if (!stg_iqn_valid(t->iqn))
		return false;

	char *comma = strrchr(portal, ',');
	char *colon;
	long long v;
	if (!comma || util_parse_ll(comma + 1, 0, 65535, &v) < 0)
		return false;
	*comma = '\0';
	colon = strrchr(portal, ':');
	if (!colon || util_parse_ll(colon + 1, 1, 65535, &v) < 0)
		return false;
	*colon = '\0';
	size_t hl = strlen(portal);
	if (portal[0] == '[') {
		if (hl < 3 || hl - 2 >= sizeof(host) || portal[hl - 1] != ']')
			return false;
		memcpy(host, portal + 1, hl - 2);
		host[hl - 2] = '\0';
		if (!strchr(host, ':'))
			return false;
	} else {
		if (strchr(portal, ':') || hl >= sizeof(host))
			return false;
		memcpy(host, portal, hl + 1);
	}
	if (!host_ok(host))
		return false;
	*colon = ':';
	*comma = ',';
	memcpy(t->portal, portal, plen + 1);
	return true;
}

size_t stg_iscsi_parse_targets(const char *text, struct stg_target *ret, size_t max)
{
	size_t n = 0;

	for (const char *p = text; *p && n < max;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (target_line(p, len, &ret[n]))
			n++;
		if (!nl)
			break;
		p = nl + 1;
	}
	return n;
}

#define TARGETS_MAX 1024

int stg_iscsi_discover(const struct stg_portal *p, struct stg_target **ret, size_t *ret_n,
		       struct vd_error *err)
{
	char portal[300], line[200];
	struct util_exec_opts o = { .timeout = isc.timeout, .cap = 1 << 20 };
	struct util_exec_result res = { 0 };
	struct stg_target *t;
	int r;

	if (!isc.iscsiadm)
		return vd_error_set(err, VD_ERR_ISCSI_DISCOVERY, "%s: iSCSI not started",
				    vd_code_message(VD_ERR_ISCSI_DISCOVERY));
	snprintf(portal, sizeof(portal), strchr(p->host, ':') ? "[%s]:%d" : "%s:%d", p->host,
		 p->port);
	const char *argv[] = { isc.iscsiadm, "-m", "discovery", "-t", "sendtargets", "-I",
			       "default", "-p", portal, NULL };
	r = util_exec(argv, &o, &res);
	if (r == -ETIME) {
		util_exec_result_clear(&res);
		return vd_error_set(err, VD_ERR_ISCSI_DISCOVERY, "%s: portal %s: no answer in %.0f s",
				    vd_code_message(VD_ERR_ISCSI_DISCOVERY), portal, isc.timeout);
	}
	if (r < 0) {
		vd_error_set(err, stg_iscsi_code(STG_ISCSI_DISCOVERY, res.status),
			     "%s: portal %s: iscsiadm exit status %d: %s%s",
			     vd_code_message(VD_ERR_ISCSI_DISCOVERY), portal, res.status,
			     util_exec_last_line(&res, line, sizeof(line)), iscsid_hint(r, &res));
		util_exec_result_clear(&res);
		return -1;
	}
	t = calloc(TARGETS_MAX, sizeof(*t));
	if (!t) {
		util_exec_result_clear(&res);
		return vd_error_set(err, VD_ERR_ISCSI_DISCOVERY, "out of memory");
	}
	*ret_n = stg_iscsi_parse_targets(res.out, t, TARGETS_MAX);
	*ret = t;
	util_exec_result_clear(&res);
	return 0;
}

/* ---- connections: node record, CHAP, login, logout ---- */

/* CHAP strings go into iscsiadm's record file as "key = value" lines: printable
 * ASCII, no blanks at either end, within open-iscsi's 256-byte limit. */
static bool chap_ok(const char *s)
{
	size_t len = strlen(s);

	if (len > 255 || (len && (s[0] == ' ' || s[len - 1] == ' ')))
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static int bad_member(const char *name, const char *v, struct vd_error *err)
{
	return vd_error_set(err, VD_ERR_INVALID_PARAMETER, "Invalid parameter: '%s=%.64s'", name, v);
}

int stg_iscsi_conn_parse(const struct stg_kv *kv, size_t n, struct stg_conn *c,
			 struct vd_error *err)
{
	struct stg_portal p;
	const char *iqn = kv_get(kv, n, "iqn");
	const char *tpgt = kv_get(kv, n, "tpgt");
	const char *iface = kv_get(kv, n, "ifaceName");
	const char *user = kv_get(kv, n, "user");
	const char *password = kv_get(kv, n, "password");
	struct stg_kv pkv[2] = { { "connection", c->connection }, { "port", kv_get(kv, n, "port") } };
	long long v;

	if (stg_iscsi_portal_parse(pkv, 2, &p, err) < 0)
		return -1;
	snprintf(c->connection, sizeof(c->connection), "%s", p.host);
	c->port = p.port;
	if (!iqn || !stg_iqn_valid(iqn))
		return bad_member("iqn", iqn ? iqn : "", err);
	snprintf(c->iqn, sizeof(c->iqn), "%s", iqn);
	c->tpgt = 1;
	if (tpgt && *tpgt) {
		if (util_parse_ll(tpgt, 0, 65535, &v) < 0)
			return bad_member("tpgt", tpgt, err);
		c->tpgt = (int)v;
	}
	snprintf(c->iface, sizeof(c->iface), "default");
	if (iface && *iface) {
		size_t len = strlen(iface);
		bool ok = len < sizeof(c->iface) && iface[0] != '-' && iface[0] != '.';
		for (size_t i = 0; ok && i < len; i++)
			ok = (iface[i] >= 'a' && iface[i] <= 'z') || (iface[i] >= 'A' && iface[i] <= 'Z') ||
			     (iface[i] >= '0' && iface[i] <= '9') || strchr("._-", iface[i]);
		if (!ok)
			return bad_member("ifaceName", iface, err);
		memcpy(c->iface, iface, len + 1);
	}
	if (user && !chap_ok(user))
		return bad_member("user", user, err);
	if (password && !chap_ok(password))
		return vd_error_set(err, VD_ERR_INVALID_PARAMETER,
				    "Invalid parameter: 'password' (not printable ASCII or too long)");
	snprintf(c->user, sizeof(c->user), "%s", user ? user : "");
	snprintf(c->password, sizeof(c->password), "%s", password ? password : "");
	snprintf(c->escaped, sizeof(c->escaped), "%.100s:%d,%d %.140s", c->connection, c->port,
		 c->tpgt, c->iqn);
	return 0;
}

static void portal_of(const struct stg_conn *c, char *buf, size_t size)
{
	snprintf(buf, size, strchr(c->connection, ':') ? "[%s]:%d,%d" : "%s:%d,%d",
		 c->connection, c->port, c->tpgt);
}

/* Runs iscsiadm on the node (T, p, I) with extra args; ok_status is an exit status
 * that counts as success (0 = none). Returns 0, or -1 with err set from op. */
static int node_run(const struct stg_conn *c, const char *const *extra, int ok_status,
		    enum stg_iscsi_op op, struct vd_error *err)
{
	char portal[300], line[160];
	const char *argv[16];
	size_t k = 0;
	struct util_exec_opts o = { .timeout = isc.timeout, .cap = 64 << 10 };
	struct util_exec_result res = { 0 };
	int r, code;

	portal_of(c, portal, sizeof(portal));
	argv[k++] = isc.iscsiadm;
	argv[k++] = "-m";
	argv[k++] = "node";
	argv[k++] = "-T";
	argv[k++] = c->iqn;
	argv[k++] = "-p";
	argv[k++] = portal;
	argv[k++] = "-I";
	argv[k++] = c->iface;
	for (size_t i = 0; extra[i] && k < ELEMENTSOF(argv) - 1; i++)
		argv[k++] = extra[i];
	argv[k] = NULL;
	r = util_exec(argv, &o, &res);
	if (r == 0 || (r == -ECHILD && !res.signal && ok_status && res.status == ok_status)) {
		util_exec_result_clear(&res);
		return 0;
	}
	code = op == STG_ISCSI_LOGIN && !res.timed_out && r == -ECHILD ?
		       stg_iscsi_code(op, res.status) : stg_iscsi_code(op, 0);
	if (op == STG_ISCSI_LOGIN && r != -ECHILD)
		code = VD_ERR_ISCSI_LOGIN;
	if (r == -ETIME)
		vd_error_set(err, code, "%s: %s %s (%s): no answer in %.0f s", vd_code_message(code),
			     portal, c->iqn, extra[0], isc.timeout);
	else
		vd_error_set(err, code, "%s: %s %s (%s): iscsiadm exit status %d: %s%s",
			     vd_code_message(code), portal, c->iqn, extra[0], res.status,
			     util_exec_last_line(&res, line, sizeof(line)), iscsid_hint(r, &res));
	util_exec_result_clear(&res);
	return -1;
}

/* Rewrites the node record file with the connection's CHAP settings (or none): the
 * secret goes from us to the file (0600, atomic) and from there to iscsid, never
 * through a command line. */
static int write_auth(const struct stg_conn *c, struct vd_error *err)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	struct util_buf b = UTIL_BUF_INIT;
	size_t len = 0, outlen = 0;
	char *out;
	int r;

	if (asprintf(&path, "%s/%s/%s,%d,%d/%s", isc.nodes_dir, c->iqn, c->connection, c->port,
		     c->tpgt, c->iface) < 0)
		return vd_error_set(err, VD_ERR_ISCSI_SETUP, "out of memory");
	r = util_read_file(path, 1 << 20, &text, &len);
	if (r < 0)
		return vd_error_set(err, VD_ERR_ISCSI_SETUP, "%s: node record '%s': %s",
				    vd_code_message(VD_ERR_ISCSI_SETUP), path, strerror(-r));
	for (char *p = text; *p;) {
		char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		if (strncmp(p, "node.session.auth.", 18) != 0)
			util_buf_printf(&b, "%.*s\n", (int)l, p);
		if (!nl)
			break;
		p = nl + 1;
	}
	if (c->user[0] || c->password[0])
		util_buf_printf(&b, "node.session.auth.authmethod = CHAP\n"
			       "node.session.auth.username = %s\nnode.session.auth.password = %s\n",
			       c->user, c->password);
	else
		util_buf_printf(&b, "node.session.auth.authmethod = None\n");
	explicit_bzero(text, len);
	out = util_buf_steal(&b, &outlen);
	if (!out)
		return vd_error_set(err, VD_ERR_ISCSI_SETUP, "out of memory");
	r = util_write_atomic(path, out, outlen, 0600);
	explicit_bzero(out, outlen);
	free(out);
	if (r < 0)
		return vd_error_set(err, VD_ERR_ISCSI_SETUP, "%s: cannot write node record '%s': %s",
				    vd_code_message(VD_ERR_ISCSI_SETUP), path, strerror(-r));
	return 0;
}

int stg_iscsi_login(const struct stg_conn *c, struct vd_error *err)
{
	static const char *const new_args[] = { "-o", "new", NULL };
	static const char *const login_args[] = { "--login", NULL };

	if (!isc.iscsiadm)
		return vd_error_set(err, VD_ERR_ISCSI_SETUP, "%s: iSCSI not started",
				    vd_code_message(VD_ERR_ISCSI_SETUP));
	if (node_run(c, new_args, 0, STG_ISCSI_NODE, err) < 0)
		return -1;
	if (write_auth(c, err) < 0)
		return -1;
	return node_run(c, login_args, ISCSI_ERR_SESS_EXISTS, STG_ISCSI_LOGIN, err);
}

int stg_iscsi_logout(const struct stg_conn *c, struct vd_error *err)
{
	static const char *const logout_args[] = { "--logout", NULL };
	static const char *const delete_args[] = { "-o", "delete", NULL };
	struct vd_error ignored = { 0 };

	if (!isc.iscsiadm)
		return vd_error_set(err, VD_ERR_ISCSI_LOGOUT, "%s: iSCSI not started",
				    vd_code_message(VD_ERR_ISCSI_LOGOUT));
	if (node_run(c, logout_args, ISCSI_ERR_NO_OBJS_FOUND, STG_ISCSI_LOGOUT, err) < 0)
		return -1;
	if (node_run(c, delete_args, ISCSI_ERR_NO_OBJS_FOUND, STG_ISCSI_LOGOUT, &ignored) < 0)
		log_warning("storage: %s, ignoring", ignored.msg);
	return 0;
}

int stg_iscsi_rescan(struct vd_error *err)
{
	struct util_exec_opts o = { .timeout = isc.timeout, .cap = 64 << 10 };
	struct util_exec_result res = { 0 };
	char line[160];

	if (!isc.iscsiadm)
		return vd_error_set(err, VD_ERR_ISCSI_SETUP, "%s: iSCSI not started",
				    vd_code_message(VD_ERR_ISCSI_SETUP));
	const char *argv[] = { isc.iscsiadm, "-m", "session", "-R", NULL };
	int r = util_exec(argv, &o, &res);
	if (r == 0 || (r == -ECHILD && !res.signal && res.status == ISCSI_ERR_NO_OBJS_FOUND)) {
		util_exec_result_clear(&res);
		return 0;
	}
	if (r == -ETIME)
		vd_error_set(err, VD_ERR_ISCSI_SETUP, "%s: session rescan: no answer in %.0f s",
			     vd_code_message(VD_ERR_ISCSI_SETUP), isc.timeout);
	else
		vd_error_set(err, VD_ERR_ISCSI_SETUP, "%s: session rescan: iscsiadm exit status %d: %s",
			     vd_code_message(VD_ERR_ISCSI_SETUP), res.status,
			     util_exec_last_line(&res, line, sizeof(line)));
	util_exec_result_clear(&res);
	return -1;
}
