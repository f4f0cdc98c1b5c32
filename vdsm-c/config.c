#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gnutls/gnutls.h>

#include "config.h"
#include "util/log.h"
#include "util/util.h"

/* T_LEVEL, T_IP, T_PRIO and T_UUID are strings whose syntax is checked while the file is
 * read, so a bad value is reported with its file:line: a log level, a numeric IPv4/IPv6
 * address (what the listener can bind), a GnuTLS priority string ("" = built-in), a UUID
 * (stored normalised to lower case; "" = unset). */
enum conf_type { T_BOOL, T_INT, T_STR, T_LEVEL, T_IP, T_PRIO, T_UUID };

struct conf_key {
	const char *section;  /* primary section; "*" = any of addresses/vars */
	const char *key;
	enum conf_type type;
	size_t offset;
	size_t size;          /* T_STR buffer size */
	long long min, max;   /* T_INT bounds */
	const char *def;
};

#define STR(sec, k, def) { sec, #k, T_STR, offsetof(struct vd_config, k), \
			   sizeof(((struct vd_config *)0)->k), 0, 0, def }
#define INT(sec, k, lo, hi, def) { sec, #k, T_INT, offsetof(struct vd_config, k), 0, lo, hi, def }
#define BOOL(sec, k, def) { sec, #k, T_BOOL, offsetof(struct vd_config, k), 0, 0, 0, def }
#define TYPED(sec, k, t, def) { sec, #k, t, offsetof(struct vd_config, k), \
				sizeof(((struct vd_config *)0)->k), 0, 0, def }

/* Defaults follow VDSM's lib/vdsm/config.py.in where the key exists there (API.md §6). */
static const struct conf_key keys[] = {
	TYPED("addresses", management_ip, T_IP, "0.0.0.0"),
	INT("addresses", management_port, 0, 65535, "54321"),
	BOOL("vars", ssl, "true"),
	STR("vars", trust_store_path, "/etc/pki/vdsm"),
	STR("vars", ssl_protocol, "tlsv1_2"),
	STR("vars", ssl_excludes, ""),
	TYPED("vars", ssl_ciphers, T_PRIO, ""),
	BOOL("vars", verify_client_cert, "false"),
	STR("vars", libvirt_uri, "qemu:///system"),
	STR("vars", root, ""),
	STR("vars", host_root, ""),
	TYPED("vars", log_level, T_LEVEL, "info"),
	STR("vars", syslog_socket, "/dev/log"),
	INT("vars", max_connections, 1, 4096, "64"),
	INT("vars", max_handshakes, 2, 4096, "128"),
	INT("vars", max_handshakes_per_addr, 1, 4096, "8"),
	INT("vars", handshake_timeout, 1, 600, "5"),
	INT("vars", max_request_bytes, 4096, 64 << 20, "2097152"),
	INT("vars", connection_timeout, 1, 86400, "60"),
	INT("vars", max_xml_depth, 4, 1000, "64"),
	INT("vars", host_mem_reserve, 0, 1 << 20, "256"),
	INT("vars", extra_mem_reserve, 0, 1 << 20, "65"),
	INT("vars", guest_ram_overhead, 0, 1 << 20, "65"),
	INT("vars", host_sample_stats_interval, 1, 3600, "2"),
	STR("vars", fake_nics, "dummy_*,veth_*"),
	STR("vars", hidden_bonds, ""),
	STR("vars", hidden_vlans, ""),
	/* Not VDSM keys: the DHCP client of bootproto dhcp networks (dhcpcd 9), and how long
	 * a blockingdhcp network's setupNetworks waits for the first lease. */
	STR("vars", dhcp_client, "/usr/sbin/dhcpcd"),
	INT("vars", dhcp_timeout, 1, 3600, "60"),
	BOOL("vars", report_host_threads_as_cores, "false"),
	STR("vars", dpkg_query, "/usr/bin/dpkg-query"),
	/* Host identity for getVdsCapabilities' uuid; "" = DMI, else generated and persisted.
	 * Set per host where several agents share one machine's DMI (test labs). */
	TYPED("vars", host_uuid, T_UUID, ""),
	/* Domain type: VDSM always asks for kvm; "qemu" (TCG) for hosts and tests without
	 * /dev/kvm, "auto" picks by opening /dev/kvm, "test" is libvirt's test driver
	 * (benchmarks; host checks are skipped). kvmEnable=false in a VM forces qemu. */
	STR("vars", vm_domain_type, "kvm"),
	INT("vars", vm_sample_interval, 1, 3600, "2"),
	STR("vars", vm_console_log_dir, ""),
	STR("irs", repository, "/rhev/data-center"),
	/* Not a VDSM key: VDSM waits for mount(8) without a bound; 60 s is its
	 * process_pool_timeout, the bound of its other NFS operations (API.md §6, §8). */
	INT("irs", mount_timeout, 1, 3600, "60"),
	STR("irs", mount_cmd, "/usr/bin/mount"),
	STR("irs", umount_cmd, "/usr/bin/umount"),
	/* Not VDSM keys: after an NFS/POSIXFS mount the mount root must give this user and
	 * group read, write and search access (VDSM checks vdsm:kvm = 36:36, code 469);
	 * -1 turns the check off. The check runs setpriv + test with the mount timeout. */
	INT("irs", storage_access_uid, -1, 2147483647, "36"),
	INT("irs", storage_access_gid, -1, 2147483647, "36"),
	STR("irs", setpriv_cmd, "/usr/bin/setpriv"),
	STR("irs", iscsiadm_cmd, "/usr/sbin/iscsiadm"),
	/* Not a VDSM key: the bound of one iscsiadm run (discovery of a dead portal). */
	INT("irs", iscsi_timeout, 1, 3600, "30"),
	STR("irs", lvm_cmd, "/usr/sbin/lvm"),
	/* Not a VDSM key: the bound of one lvm command (a report, pvcreate, vgcreate on a
	 * loaded host), of getDeviceList's blkid and of its multipathd query. */
	INT("irs", lvm_timeout, 1, 3600, "60"),
	/* Storage domain monitor period (API.md §6); each read is bounded by the same time. */
	INT("irs", sd_health_check_delay, 1, 3600, "10"),
	/* Bound of one file operation on a domain (create, scan, statvfs), as VDSM's. */
	INT("irs", process_pool_timeout, 1, 3600, "60"),
	/* Not a VDSM key: directories besides the repository (and the image run links) that
	 * VM drive paths may lie in, comma-separated absolute paths (ISO libraries, ...). */
	STR("irs", drive_roots, ""),
	/* getDeviceList (not VDSM keys): blkid(8) (bounded, like pvs and the multipathd
	 * query, by lvm_timeout above), multipathd's abstract socket name */
	INT("irs", scsi_rescan_maximal_timeout, 1, 3600, "30"),
	STR("irs", blkid_cmd, "/usr/sbin/blkid"),
	STR("irs", multipathd_socket, "/org/kernel/linux/storage/multipathd"),
	/* Live migration (API.md §6) */
	INT("vars", max_incoming_migrations, 1, 64, "2"),
	INT("vars", migration_destination_timeout, 1, 7 * 86400, "21600"),
	INT("vars", migration_incoming_start_timeout, 0, 86400, "120"),
	INT("vars", max_outgoing_migrations, 1, 64, "2"),
	/* tls: qemu+tls:// with the host certificates (as VDSM); tcp: qemu+tcp:// (labs) */
	STR("vars", migration_transport, "tls"),
	INT("vars", migration_max_bandwidth, 1, 1 << 20, "52"),
	INT("vars", migration_downtime, 1, 3600 * 1000, "500"),
	INT("vars", migration_downtime_steps, 1, 100, "5"),
	INT("vars", migration_downtime_delay, 0, 86400, "100"),
	INT("vars", migration_max_time_per_gib_mem, 0, 86400, "64"),
	INT("vars", migration_progress_timeout, 1, 86400, "240"),
	INT("vars", migration_monitor_interval, 0, 3600, "10"),
	INT("vars", migration_create_timeout, 1, 86400, "600"),
	INT("vars", migration_retry_timeout, 1, 3600, "10"),
	INT("vars", migration_max_cpu_load, 0, 100, "80"),
	INT("vars", migration_dest_ping_interval, 0, 3600, "5"),
	INT("vars", migration_dest_ping_timeout, 1, 86400, "30"),
	INT("devel", startup_delay, 0, 3600, "0"),
};

/* Sections we know; keys of other VDSM sections are accepted with a warning. */
static const char *const known_sections[] = { "vars", "addresses", "irs", "rpc", "devel",
					      "sampling", "gluster", "mom" };

/* Where each effective value came from ("default", "FILE:LINE", "--set", "--root"),
 * for vd_config_log() and for errors found after loading; and the section it was set
 * in (management_ip/port may be in [vars] or [addresses]). */
static char origins[ELEMENTSOF(keys)][VD_CONF_STR_MAX + 16];
static const char *origin_sections[ELEMENTSOF(keys)];

/* Errors of a value: "WHERE: reason", WHERE saying which key and where it was set. */
static int _printf_(3, 4) value_error(struct vd_error *err, const char *where, const char *fmt, ...)
{
	char reason[VD_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return vd_error_set(err, VD_ERR_GENERAL, "%s%s%s", where, *where ? ": " : "", reason);
}

static int check_priority(const char *val, const char *where, struct vd_error *err)
{
	gnutls_priority_t p;
	const char *pos = NULL;
	int r;

	if (!*val)
		return 0; /* built-in, from ssl_protocol/ssl_excludes */
	r = gnutls_priority_init(&p, val, &pos);
	if (r < 0) {
		if (pos)
			return value_error(err, where,
					   "'%s' is not a GnuTLS priority string (rejected at '%s')",
					   val, pos);
		return value_error(err, where, "'%s' is not a GnuTLS priority string (%s)", val,
				   gnutls_strerror(r));
	}
	gnutls_priority_deinit(p);
	return 0;
}

static int parse_value(struct vd_config *c, const struct conf_key *k, const char *val,
		       const char *where, struct vd_error *err)
{
	char *field = (char *)c + k->offset;
	struct in6_addr addr;
	long long ll;
	bool b;
	int r;

	switch (k->type) {
	case T_BOOL:
		if (util_parse_bool(val, &b) < 0 || !*val) {
			return value_error(err, where, "'%s' is not a boolean (true/false)", val);
		}
		*(bool *)field = b;
		return 0;
	case T_INT:
		r = util_parse_ll(val, k->min, k->max, &ll);
		if (r < 0) {
			return value_error(err, where, "'%s' is not an integer in %lld..%lld", val,
					   k->min, k->max);
		}
		*(int *)field = (int)ll;
		return 0;
	case T_STR:
	case T_LEVEL:
	case T_IP:
	case T_PRIO:
	case T_UUID:
		break;
	}
	if (strlen(val) >= k->size) {
		return value_error(err, where, "value longer than %zu characters", k->size - 1);
	}
	if (k->type == T_LEVEL && vd_log_level_from_string(val) < 0) {
		return value_error(err, where,
				   "'%s' is not a log level (err, warning, notice, info, debug)", val);
	}
	if (k->type == T_IP && inet_pton(AF_INET, val, &addr) != 1 &&
	    inet_pton(AF_INET6, val, &addr) != 1) {
		return value_error(err, where, "'%s' is not a numeric IPv4 or IPv6 address", val);
	}
	if (k->type == T_PRIO && check_priority(val, where, err) < 0)
		return -1;
	if (k->type == T_UUID && *val) {
		if (!util_uuid_valid(val) || util_uuid_normalize(val, field) < 0)
			return value_error(err, where, "'%s' is not a UUID", val);
		return 0;
	}
	strcpy(field, val);
	return 0;
}

void vd_config_defaults(struct vd_config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		if (parse_value(c, &keys[i], keys[i].def, "", NULL) < 0)
			abort(); /* a broken built-in default is a programming error */
		snprintf(origins[i], sizeof(origins[i]), "default");
		origin_sections[i] = keys[i].section;
	}
}

static const struct conf_key *find_key(const char *section, const char *key, size_t *idx)
{
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		if (strcmp(keys[i].key, key) != 0)
			continue;
		/* management_ip/port live in [addresses] in VDSM, but the issue and older
		 * configs put them in [vars]: accept both. */
		bool addr_alias = strcmp(keys[i].section, "addresses") == 0 &&
				  strcmp(section, "vars") == 0;
		if (strcmp(keys[i].section, section) == 0 || addr_alias) {
			*idx = i;
			return &keys[i];
		}
	}
	return NULL;
}

/* The section a key was found in, as a static string: its own or the [vars] alias. */
static const char *section_name(const struct conf_key *k, const char *section)
{
	return strcmp(k->section, section) == 0 ? k->section : "vars";
}

static bool section_known(const char *s)
{
	for (size_t i = 0; i < ELEMENTSOF(known_sections); i++)
		if (strcmp(known_sections[i], s) == 0)
			return true;
	return false;
}

int vd_config_load(struct vd_config *c, const char *path, struct vd_error *err)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");

	if (!f)
		return vd_error_set(err, VD_ERR_GENERAL, "%s: cannot read config: %s", path,
				    strerror(errno));
	return vd_config_read(c, f, path, err);
}

int vd_config_read(struct vd_config *c, FILE *f, const char *path, struct vd_error *err)
{
	char section[64] = "";
	char line[4096];
	unsigned lineno = 0;

	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f))
			return vd_error_set(err, VD_ERR_GENERAL, "%s:%u: line too long", path, lineno);
		char *s = util_strstrip(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *e = strchr(s, ']');
			if (!e || e[1] != '\0' || e - s - 1 <= 0 || e - s - 1 >= (long)sizeof(section))
				return vd_error_set(err, VD_ERR_GENERAL,
						    "%s:%u: malformed section header '%s'", path, lineno, s);
			*e = '\0';
			snprintf(section, sizeof(section), "%s", util_strstrip(s + 1));
			if (!section_known(section))
				log_warning("%s:%u: unknown section [%s], ignoring its keys", path,
					    lineno, section);
			continue;
		}
		char *eq = strpbrk(s, "=:");
		if (!eq)
			return vd_error_set(err, VD_ERR_GENERAL, "%s:%u: expected 'key = value', got '%s'",
					    path, lineno, s);
		*eq = '\0';
		char *key = util_strstrip(s), *val = util_strstrip(eq + 1);
		if (!*section)
			return vd_error_set(err, VD_ERR_GENERAL, "%s:%u: key '%s' outside of any [section]",
					    path, lineno, key);
		size_t idx;
		const struct conf_key *k = find_key(section, key, &idx);
		if (!k) {
			if (section_known(section))
				log_warning("%s:%u: unknown key '%s' in [%s], ignoring", path, lineno,
					    key, section);
			continue;
		}
		char where[VD_ERROR_MSG_MAX];
		snprintf(where, sizeof(where), "%s:%u: bad value for %s.%s", path, lineno, section, key);
		if (parse_value(c, k, val, where, err) < 0)
			return -1;
		snprintf(origins[idx], sizeof(origins[idx]), "%s:%u", path, lineno);
		origin_sections[idx] = section_name(k, section);
	}
	if (ferror(f))
		return vd_error_set(err, VD_ERR_GENERAL, "%s: read error", path);
	return 0;
}

int vd_config_set(struct vd_config *c, const char *assignment, struct vd_error *err)
{
	char buf[VD_CONF_STR_MAX + 128];
	char *dot, *eq;
	size_t idx;

	if (strlen(assignment) >= sizeof(buf))
		return vd_error_set(err, VD_ERR_GENERAL, "--set: assignment too long");
	strcpy(buf, assignment);
	eq = strchr(buf, '=');
	dot = strchr(buf, '.');
	if (!eq || !dot || dot > eq)
		return vd_error_set(err, VD_ERR_GENERAL, "--set '%s': expected section.key=value",
				    assignment);
	*dot = *eq = '\0';
	const struct conf_key *k = find_key(buf, dot + 1, &idx);
	if (!k)
		return vd_error_set(err, VD_ERR_GENERAL, "--set: unknown key %s.%s", buf, dot + 1);
	char where[VD_ERROR_MSG_MAX];
	snprintf(where, sizeof(where), "--set: bad value for %s.%s", section_name(k, buf), k->key);
	if (parse_value(c, k, eq + 1, where, err) < 0)
		return -1;
	snprintf(origins[idx], sizeof(origins[idx]), "--set");
	origin_sections[idx] = section_name(k, buf);
	return 0;
}

static ssize_t key_index(const struct vd_config *c, const void *field)
{
	size_t off = (size_t)((const char *)field - (const char *)c);

	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		if (keys[i].offset == off)
			return (ssize_t)i;
	return -1;
}

void vd_config_set_origin(const struct vd_config *c, const void *field, const char *origin)
{
	ssize_t i = key_index(c, field);

	if (i >= 0)
		snprintf(origins[i], sizeof(origins[i]), "%s", origin);
}

/* For a bad value found after loading, reported like one found while reading: where
 * the key was set (file:line, --set, --root) and section.key; a built-in default says
 * so (e.g. the default trust store is missing). */
static const char *key_where(const struct vd_config *c, const void *field, char *buf,
			     size_t size)
{
	ssize_t i = key_index(c, field);

	if (i < 0)
		snprintf(buf, size, "%s", "");
	else if (strcmp(origins[i], "default") == 0)
		snprintf(buf, size, "%s.%s (built-in default, not set in the config)",
			 origin_sections[i], keys[i].key);
	else
		snprintf(buf, size, "%s: bad value for %s.%s", origins[i], origin_sections[i],
			 keys[i].key);
	return buf;
}

static int _printf_(4, 5) key_error(struct vd_error *err, const struct vd_config *c,
				     const void *field, const char *fmt, ...)
{
	char where[VD_ERROR_MSG_MAX], reason[VD_ERROR_MSG_MAX];
	va_list ap;

	key_where(c, field, where, sizeof(where));
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return value_error(err, where, "%s", reason);
}

int vd_config_validate(const struct vd_config *c, struct vd_error *err)
{
	static const char *const protos[] = { "tlsv1", "tlsv1_2", "sslv23" };
	bool ok = false;

	for (size_t i = 0; i < ELEMENTSOF(protos); i++)
		ok |= strcmp(c->ssl_protocol, protos[i]) == 0;
	if (!ok)
		return key_error(err, c, c->ssl_protocol,
				 "'%s' is not one of tlsv1, tlsv1_2, sslv23", c->ssl_protocol);
	if (c->ssl_excludes[0]) {
		char buf[sizeof(c->ssl_excludes)], *save = NULL;
		strcpy(buf, c->ssl_excludes);
		for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
			if (strcmp(t, "OP_NO_TLSv1") && strcmp(t, "OP_NO_TLSv1_1") &&
			    strcmp(t, "OP_NO_TLSv1_2") && strcmp(t, "OP_NO_SSLv2") &&
			    strcmp(t, "OP_NO_SSLv3"))
				return key_error(err, c, c->ssl_excludes,
						 "unknown option '%s'", t);
		}
	}
	if (strcmp(c->vm_domain_type, "kvm") && strcmp(c->vm_domain_type, "qemu") &&
	    strcmp(c->vm_domain_type, "auto") && strcmp(c->vm_domain_type, "test"))
		return key_error(err, c, c->vm_domain_type,
				 "'%s' is not one of kvm, qemu, auto, test", c->vm_domain_type);
	if (strcmp(c->migration_transport, "tls") && strcmp(c->migration_transport, "tcp"))
		return key_error(err, c, c->migration_transport,
				 "'%s' is not one of tls, tcp", c->migration_transport);
	const char *const abs_paths[] = { c->vm_console_log_dir, c->host_root, c->root };
	for (size_t i = 0; i < ELEMENTSOF(abs_paths); i++)
		if (abs_paths[i][0] && abs_paths[i][0] != '/')
			return key_error(err, c, abs_paths[i],
					 "'%s' is not an absolute path", abs_paths[i]);
	if (c->dhcp_client[0] != '/')
		return key_error(err, c, c->dhcp_client, "'%s' is not an absolute path",
				 c->dhcp_client);
	if (c->trust_store_path[0] != '/')
		return key_error(err, c, c->trust_store_path,
				 "'%s' is not an absolute path", c->trust_store_path);
	return 0;
}

void vd_config_tls_priorities(const struct vd_config *c, char *buf, size_t size)
{
	if (c->ssl_ciphers[0]) {
		snprintf(buf, size, "%s", c->ssl_ciphers);
		return;
	}
	if (strcmp(c->ssl_protocol, "tlsv1_2") == 0)
		snprintf(buf, size, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
	else /* tlsv1 / sslv23: what a 3.6 engine configured for TLSv1 needs (API.md §1) */
		snprintf(buf, size, "NORMAL:-VERS-SSL3.0");
	if (strstr(c->ssl_excludes, "OP_NO_TLSv1_2"))
		strncat(buf, ":-VERS-TLS1.2", size - strlen(buf) - 1);
	if (strstr(c->ssl_excludes, "OP_NO_TLSv1_1"))
		strncat(buf, ":-VERS-TLS1.1", size - strlen(buf) - 1);
	/* "OP_NO_TLSv1" is a prefix of the others: match it as a whole word. */
	char tmp[sizeof(c->ssl_excludes) + 2];
	snprintf(tmp, sizeof(tmp), ",%s,", c->ssl_excludes);
	for (char *p = tmp; *p; p++)
		if (*p == ' ')
			*p = ',';
	if (strstr(tmp, ",OP_NO_TLSv1,"))
		strncat(buf, ":-VERS-TLS1.0", size - strlen(buf) - 1);
}

void vd_config_tls_clear(struct vd_config_tls *t)
{
	free(t->cert_pem);
	free(t->key_pem);
	free(t->ca_pem);
	memset(t, 0, sizeof(*t));
}

#define TLS_HINT " (create them with scripts/vdsm-c-certs, or set vars.ssl = false for tests)"

int vd_config_tls_load(const struct vd_config *c, struct vd_config_tls *ret,
		       struct vd_error *err)
{
	static const char *const rel[] = { "certs/vdsmcert.pem", "keys/vdsmkey.pem",
					   "certs/cacert.pem" };
	_cleanup_free_ char *ts = NULL;
	char *pem[ELEMENTSOF(rel)] = { NULL, NULL, NULL };
	gnutls_certificate_credentials_t cred = NULL;
	char prio[300];
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	if (!c->ssl)
		return 0;
	/* The effective priority string: ssl_ciphers was checked while reading; the one
	 * built from ssl_protocol/ssl_excludes is checked here so the listener cannot
	 * refuse it later. */
	vd_config_tls_priorities(c, prio, sizeof(prio));
	char where[VD_ERROR_MSG_MAX];
	key_where(c, c->ssl_ciphers[0] ? c->ssl_ciphers : c->ssl_protocol, where, sizeof(where));
	if (check_priority(prio, where, err) < 0)
		return -1;
	ts = vd_config_state_path(c, c->trust_store_path);
	if (!ts)
		return key_error(err, c, c->trust_store_path, "out of memory");
	for (size_t i = 0; i < ELEMENTSOF(rel) && r == 0; i++) {
		char p[VD_CONF_STR_MAX + 64];
		snprintf(p, sizeof(p), "%s/%s", ts, rel[i]);
		r = util_read_file(p, 1 << 20, &pem[i], NULL);
		if (r < 0)
			key_error(err, c, c->trust_store_path, "cannot read %s: %s" TLS_HINT,
				  p, strerror(-r));
	}
	if (r == 0 && gnutls_certificate_allocate_credentials(&cred) < 0)
		r = key_error(err, c, c->trust_store_path, "out of memory");
	if (r == 0) {
		gnutls_datum_t cert = { (unsigned char *)pem[0], (unsigned)strlen(pem[0]) };
		gnutls_datum_t key = { (unsigned char *)pem[1], (unsigned)strlen(pem[1]) };
		gnutls_datum_t ca = { (unsigned char *)pem[2], (unsigned)strlen(pem[2]) };
		int g = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
		if (g < 0)
			r = key_error(err, c, c->trust_store_path,
				      "%s/%s and %s/%s are not a usable certificate and key: %s", ts,
				      rel[0], ts, rel[1], gnutls_strerror(g));
		else if ((g = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM)) <= 0)
			r = key_error(err, c, c->trust_store_path,
				      "%s/%s holds no usable CA certificate%s%s", ts, rel[2],
				      g < 0 ? ": " : "", g < 0 ? gnutls_strerror(g) : "");
	}
	if (cred)
		gnutls_certificate_free_credentials(cred);
	if (r < 0) {
		for (size_t i = 0; i < ELEMENTSOF(pem); i++)
			free(pem[i]);
		return -1;
	}
	ret->cert_pem = pem[0];
	ret->key_pem = pem[1];
	ret->ca_pem = pem[2];
	return 0;
}

void vd_config_log(const struct vd_config *c)
{
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		const char *field = (const char *)c + keys[i].offset;
		switch (keys[i].type) {
		case T_BOOL:
			log_info("config %s = %s (%s)", keys[i].key,
				 *(const bool *)field ? "true" : "false", origins[i]);
			break;
		case T_INT:
			log_info("config %s = %d (%s)", keys[i].key, *(const int *)field, origins[i]);
			break;
		default:
			log_info("config %s = '%s' (%s)", keys[i].key, field, origins[i]);
		}
	}
}

char *vd_config_path(const struct vd_config *c, const char *abs_path)
{
	return util_path(c->root, abs_path);
}

char *vd_config_state_path(const struct vd_config *c, const char *field)
{
	ssize_t i = key_index(c, field);

	if (i >= 0 && strcmp(origins[i], "default") == 0)
		return util_path(c->root, field);
	return strdup(field);
}

int vd_config_setup(struct vd_config *c, const char *config_path, const char *root_flag,
		    const char *const *sets, int n_sets, struct vd_error *err)
{
	_cleanup_free_ char *default_conf = NULL;

	vd_config_defaults(c);
	if (!config_path) {
		default_conf = util_path(root_flag, "/etc/vdsm-c/vdsm.conf");
		if (!default_conf)
			return vd_error_set(err, VD_ERR_GENERAL, "out of memory");
		if (access(default_conf, F_OK) == 0)
			config_path = default_conf;
	}
	if (config_path && vd_config_load(c, config_path, err) < 0)
		return -1;
	for (int i = 0; i < n_sets; i++)
		if (vd_config_set(c, sets[i], err) < 0)
			return -1;
	if (root_flag) {
		if (strlen(root_flag) >= sizeof(c->root))
			return vd_error_set(err, VD_ERR_GENERAL, "--root: path too long");
		snprintf(c->root, sizeof(c->root), "%s", root_flag);
		vd_config_set_origin(c, c->root, "--root");
	}
	return vd_config_validate(c, err);
}
