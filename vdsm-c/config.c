#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "util/util.h"

enum conf_type { T_BOOL, T_INT, T_STR, T_LEVEL };

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

/* Defaults follow VDSM's lib/vdsm/config.py.in where the key exists there (API.md §6). */
static const struct conf_key keys[] = {
	STR("addresses", management_ip, "0.0.0.0"),
	INT("addresses", management_port, 0, 65535, "54321"),
	BOOL("vars", ssl, "true"),
	STR("vars", trust_store_path, "/etc/pki/vdsm"),
	STR("vars", ssl_protocol, "tlsv1_2"),
	STR("vars", ssl_excludes, ""),
	STR("vars", ssl_ciphers, ""),
	BOOL("vars", verify_client_cert, "false"),
	STR("vars", libvirt_uri, "qemu:///system"),
	STR("vars", root, ""),
	STR("vars", host_root, ""),
	{ "vars", "log_level", T_LEVEL, offsetof(struct vd_config, log_level),
	  sizeof(((struct vd_config *)0)->log_level), 0, 0, "info" },
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
	BOOL("vars", report_host_threads_as_cores, "false"),
	STR("vars", dpkg_query, "/usr/bin/dpkg-query"),
	/* Domain type: VDSM always asks for kvm; "qemu" (TCG) for hosts and tests without
	 * /dev/kvm, "auto" picks by opening /dev/kvm, "test" is libvirt's test driver
	 * (benchmarks; host checks are skipped). kvmEnable=false in a VM forces qemu. */
	STR("vars", vm_domain_type, "kvm"),
	INT("vars", vm_sample_interval, 1, 3600, "2"),
	STR("vars", vm_console_log_dir, ""),
	INT("devel", startup_delay, 0, 3600, "0"),
};

/* Sections we know; keys of other VDSM sections are accepted with a warning. */
static const char *const known_sections[] = { "vars", "addresses", "irs", "rpc", "devel",
					      "sampling", "gluster", "mom" };

/* Where each effective value came from, for vd_config_log(). */
static char origins[ELEMENTSOF(keys)][VD_CONF_STR_MAX + 16];

static int parse_value(struct vd_config *c, const struct conf_key *k, const char *val,
		       char *why, size_t whylen)
{
	char *field = (char *)c + k->offset;
	long long ll;
	bool b;
	int r;

	switch (k->type) {
	case T_BOOL:
		if (util_parse_bool(val, &b) < 0 || !*val) {
			snprintf(why, whylen, "'%s' is not a boolean (true/false)", val);
			return -1;
		}
		*(bool *)field = b;
		return 0;
	case T_INT:
		r = util_parse_ll(val, k->min, k->max, &ll);
		if (r < 0) {
			snprintf(why, whylen, "'%s' is not an integer in %lld..%lld", val, k->min,
				 k->max);
			return -1;
		}
		*(int *)field = (int)ll;
		return 0;
	case T_LEVEL:
		if (vd_log_level_from_string(val) < 0) {
			snprintf(why, whylen, "'%s' is not a log level (err, warning, notice, info, debug)",
				 val);
			return -1;
		}
		/* fallthrough */
	case T_STR:
		if (strlen(val) >= k->size) {
			snprintf(why, whylen, "value longer than %zu characters", k->size - 1);
			return -1;
		}
		strcpy(field, val);
		return 0;
	}
	return -1;
}

void vd_config_defaults(struct vd_config *c)
{
	char why[128];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		if (parse_value(c, &keys[i], keys[i].def, why, sizeof(why)) < 0)
			abort(); /* a broken built-in default is a programming error */
		snprintf(origins[i], sizeof(origins[i]), "default");
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

static bool section_known(const char *s)
{
	for (size_t i = 0; i < ELEMENTSOF(known_sections); i++)
		if (strcmp(known_sections[i], s) == 0)
			return true;
	return false;
}

int vd_config_load(struct vd_config *c, const char *path, char *errbuf, size_t errlen)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char section[64] = "";
	char line[4096];
	unsigned lineno = 0;

	if (!f) {
		snprintf(errbuf, errlen, "%s: cannot read config: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(errbuf, errlen, "%s:%u: line too long", path, lineno);
			return -1;
		}
		char *s = util_strstrip(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *e = strchr(s, ']');
			if (!e || e[1] != '\0' || e - s - 1 <= 0 || e - s - 1 >= (long)sizeof(section)) {
				snprintf(errbuf, errlen, "%s:%u: malformed section header '%s'", path,
					 lineno, s);
				return -1;
			}
			*e = '\0';
			snprintf(section, sizeof(section), "%s", util_strstrip(s + 1));
			if (!section_known(section))
				log_warning("%s:%u: unknown section [%s], ignoring its keys", path,
					    lineno, section);
			continue;
		}
		char *eq = strpbrk(s, "=:");
		if (!eq) {
			snprintf(errbuf, errlen, "%s:%u: expected 'key = value', got '%s'", path,
				 lineno, s);
			return -1;
		}
		*eq = '\0';
		char *key = util_strstrip(s), *val = util_strstrip(eq + 1);
		if (!*section) {
			snprintf(errbuf, errlen, "%s:%u: key '%s' outside of any [section]", path,
				 lineno, key);
			return -1;
		}
		size_t idx;
		const struct conf_key *k = find_key(section, key, &idx);
		if (!k) {
			if (section_known(section))
				log_warning("%s:%u: unknown key '%s' in [%s], ignoring", path, lineno,
					    key, section);
			continue;
		}
		char why[256];
		if (parse_value(c, k, val, why, sizeof(why)) < 0) {
			snprintf(errbuf, errlen, "%s:%u: bad value for %s.%s: %s", path, lineno,
				 section, key, why);
			return -1;
		}
		snprintf(origins[idx], sizeof(origins[idx]), "%s:%u", path, lineno);
	}
	if (ferror(f)) {
		snprintf(errbuf, errlen, "%s: read error", path);
		return -1;
	}
	return 0;
}

int vd_config_set(struct vd_config *c, const char *assignment, char *errbuf, size_t errlen)
{
	char buf[VD_CONF_STR_MAX + 128];
	char *dot, *eq;
	size_t idx;

	if (strlen(assignment) >= sizeof(buf)) {
		snprintf(errbuf, errlen, "--set: assignment too long");
		return -1;
	}
	strcpy(buf, assignment);
	eq = strchr(buf, '=');
	dot = strchr(buf, '.');
	if (!eq || !dot || dot > eq) {
		snprintf(errbuf, errlen, "--set '%s': expected section.key=value", assignment);
		return -1;
	}
	*dot = *eq = '\0';
	const struct conf_key *k = find_key(buf, dot + 1, &idx);
	if (!k) {
		snprintf(errbuf, errlen, "--set: unknown key %s.%s", buf, dot + 1);
		return -1;
	}
	char why[256];
	if (parse_value(c, k, eq + 1, why, sizeof(why)) < 0) {
		snprintf(errbuf, errlen, "--set: bad value for %s.%s: %s", buf, dot + 1, why);
		return -1;
	}
	snprintf(origins[idx], sizeof(origins[idx]), "command line");
	return 0;
}

int vd_config_validate(const struct vd_config *c, char *errbuf, size_t errlen)
{
	static const char *const protos[] = { "tlsv1", "tlsv1_2", "sslv23" };
	bool ok = false;

	for (size_t i = 0; i < ELEMENTSOF(protos); i++)
		ok |= strcmp(c->ssl_protocol, protos[i]) == 0;
	if (!ok) {
		snprintf(errbuf, errlen, "vars.ssl_protocol: '%s' is not one of tlsv1, tlsv1_2, sslv23",
			 c->ssl_protocol);
		return -1;
	}
	if (c->ssl_excludes[0]) {
		char buf[sizeof(c->ssl_excludes)], *save = NULL;
		strcpy(buf, c->ssl_excludes);
		for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
			if (strcmp(t, "OP_NO_TLSv1") && strcmp(t, "OP_NO_TLSv1_1") &&
			    strcmp(t, "OP_NO_TLSv1_2") && strcmp(t, "OP_NO_SSLv2") &&
			    strcmp(t, "OP_NO_SSLv3")) {
				snprintf(errbuf, errlen, "vars.ssl_excludes: unknown option '%s'", t);
				return -1;
			}
		}
	}
	if (strcmp(c->vm_domain_type, "kvm") && strcmp(c->vm_domain_type, "qemu") &&
	    strcmp(c->vm_domain_type, "auto") && strcmp(c->vm_domain_type, "test")) {
		snprintf(errbuf, errlen, "vars.vm_domain_type: '%s' is not one of kvm, qemu, auto, test",
			 c->vm_domain_type);
		return -1;
	}
	if (c->vm_console_log_dir[0] && c->vm_console_log_dir[0] != '/') {
		snprintf(errbuf, errlen, "vars.vm_console_log_dir: '%s' is not an absolute path",
			 c->vm_console_log_dir);
		return -1;
	}
	if (c->host_root[0] && c->host_root[0] != '/') {
		snprintf(errbuf, errlen, "vars.host_root: '%s' is not an absolute path", c->host_root);
		return -1;
	}
	if (c->root[0] && c->root[0] != '/') {
		snprintf(errbuf, errlen, "vars.root: '%s' is not an absolute path", c->root);
		return -1;
	}
	if (c->trust_store_path[0] != '/') {
		snprintf(errbuf, errlen, "vars.trust_store_path: '%s' is not an absolute path",
			 c->trust_store_path);
		return -1;
	}
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
	size_t off = (size_t)(field - (const char *)c);

	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		if (keys[i].offset == off && strcmp(origins[i], "default") == 0)
			return util_path(c->root, field);
	return strdup(field);
}
