/* libFuzzer target: storage/conn.c and storage/iscsi.c, the validation of connection
 * structs from the wire, the mountinfo reader and the parser of iscsiadm's sendtargets
 * output (every accepted target has a valid IQN and a "host:port,tpgt" portal). Input: first byte = domType (mod 8), then lines
 * "key=value". Whatever is accepted must be safe to hand to mount(8) and to use as a
 * path: an absolute or server:/ path without '.'/'..' components or blanks, a mount
 * point name without '/', not "." or "..", options from the allow-list only (never
 * "hard"), and an escaped name that never overflows. */
#include "fuzzcommon.h"

#include "../../storage/stg.h"

static void check_accepted(const struct stg_conn *c)
{
	char opts[STG_OPTS_MAX + 128];

	if (c->type == STG_TYPE_FCP) {
		/* id only (the connect is an HBA rescan): nothing reaches argv or a path */
		if (c->connection[0] || c->escaped[0])
			abort();
		return;
	}
	if (c->type == STG_TYPE_ISCSI) {
		/* values that go into argv and into the node record file */
		if (!stg_iqn_valid(c->iqn) || c->connection[0] == '-' || c->iface[0] == '-' ||
		    c->port < 1 || c->port > 65535 || strchr(c->user, '\n') ||
		    strchr(c->password, '\n'))
			abort();
		return;
	}

	if (strchr(c->escaped, '/') || !c->escaped[0] || strcmp(c->escaped, ".") == 0 ||
	    strcmp(c->escaped, "..") == 0)
		abort();
	if (strstr(c->connection, "/../") || strstr(c->connection, "/./") ||
	    strstr(c->connection, "//") || c->connection[0] == '-')
		abort();
	size_t len = strlen(c->connection);
	if (len >= 3 && strcmp(c->connection + len - 3, "/..") == 0)
		abort();
	for (const char *p = c->connection; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '\\')
			abort();
	if (c->type == STG_TYPE_NFS) {
		if (stg_nfs_options(c, opts, sizeof(opts)) < 0)
			abort();
		int timeo = 0, retrans = 0;
		if (strchr(opts, ' '))
			abort();
		for (char *save = NULL, *t = strtok_r(opts, ",", &save); t;
		     t = strtok_r(NULL, ",", &save)) {
			if (strcmp(t, "hard") == 0)
				abort();
			timeo += strncmp(t, "timeo=", 6) == 0;
			retrans += strncmp(t, "retrans=", 8) == 0;
		}
		if (timeo != 1 || retrans != 1)
			abort();
	}
	for (const char *p = c->mnt_options; *p; p++)
		if ((unsigned char)*p <= ' ')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stg_kv kv[16];
	struct stg_conn c;
	struct vd_error err = { 0 };
	size_t n = 0;
	char *buf, *p;

	if (size < 1 || size > 8192)
		return 0;
	if (!(buf = fuzz_cstr(data, size, 1)))
		return 0;
	(void)stg_mountinfo_has(buf, size - 1, "/rhev/data-center/mnt/a:_b");
	struct stg_target t[8];
	size_t nt = stg_iscsi_parse_targets(buf, t, 8);
	for (size_t i = 0; i < nt; i++)
		if (!stg_iqn_valid(t[i].iqn) || !strchr(t[i].portal, ',') || strchr(t[i].portal, ' '))
			abort();
	for (p = buf; p && *p && n < 16;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		char *eq = strchr(p, '=');
		if (eq) {
			*eq = '\0';
			kv[n++] = (struct stg_kv){ p, eq + 1 };
		}
		p = nl ? nl + 1 : NULL;
	}
	if (stg_conn_parse(data[0] % 8, kv, n, &c, &err) == 0)
		check_accepted(&c);
	else if (!err.code)
		abort();
	free(buf);
	return 0;
}
