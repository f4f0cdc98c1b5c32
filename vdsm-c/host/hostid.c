/* Host identity: hardware UUID, operating system, kernel. */
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <stdbool.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>

#include "hostinfo.h"
#include "../util/util.h"

/* Firmware placeholders that are not a machine's identity. */
static bool uuid_placeholder(const char *u)
{
	static const char *const bad[] = {
		"00000000-0000-0000-0000-000000000000",
		"ffffffff-ffff-ffff-ffff-ffffffffffff",
		"03000200-0400-0500-0006-000700080009",
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		if (strcasecmp(u, bad[i]) == 0)
			return true;
	return false;
}

int vd_host_uuid(const char *host_root, const char *state_root, char ret[37],
		 const char **ret_source)
{
	_cleanup_free_ char *dmi = util_path(host_root, "/sys/class/dmi/id/product_uuid");
	_cleanup_free_ char *saved = util_path(state_root, "/var/lib/vdsm-c/host-uuid");
	char buf[128];
	int r;

	if (!dmi || !saved)
		return -ENOMEM;
	if (util_read_line(dmi, buf, sizeof(buf)) > 0) {
		char *u = util_strstrip(buf);
		if (util_uuid_valid(u) && !uuid_placeholder(u) && util_uuid_normalize(u, ret) == 0) {
			*ret_source = "dmi";
			return 0;
		}
	}
	if (util_read_line(saved, buf, sizeof(buf)) > 0 && util_uuid_valid(util_strstrip(buf))) {
		memcpy(ret, util_strstrip(buf), 37);
		*ret_source = "persisted";
		return 0;
	}
	if ((r = util_uuid_generate(ret)) < 0)
		return r;
	_cleanup_free_ char *dir = strdup(saved);
	if (!dir)
		return -ENOMEM;
	*strrchr(dir, '/') = '\0';
	if ((r = util_mkdir_p(dir, 0755)) < 0)
		return r;
	char line[40];
	snprintf(line, sizeof(line), "%s\n", ret);
	if ((r = util_write_atomic(saved, line, strlen(line), 0644)) < 0)
		return r;
	*ret_source = "generated";
	return 0;
}

/* One KEY=value of os-release, unquoted. */
static void os_value(const char *text, const char *key, char *out, size_t size)
{
	size_t kl = strlen(key);

	out[0] = '\0';
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, kl) != 0 || l[kl] != '=')
			continue;
		const char *v = l + kl + 1;
		size_t n = strcspn(v, "\n");
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			v++;
			n -= 2;
		}
		snprintf(out, size, "%.*s", (int)n, v);
		return;
	}
}

/* VDSM's OSName values (lib/vdsm/osinfo.py), decided as VDSM does by which release file
 * exists, in this order; the engine reads `name` as one of them, the full name is in
 * pretty_name. */
static const struct {
	const char *pattern;
	const char *name;
} os_names[] = {
	{ "/etc/rhev-hypervisor-release", "RHEV Hypervisor" },
	{ "/etc/ovirt-node-*-release", "oVirt Node" },
	{ "/etc/fedora-release", "Fedora" },
	{ "/etc/redhat-release", "RHEL" },
	{ "/etc/debian_version", "Debian" },   /* Ubuntu too */
	{ "/etc/ibm_powerkvm-release", "PowerKVM" },
};

static const char *os_name(const char *host_root)
{
	for (size_t i = 0; i < ELEMENTSOF(os_names); i++) {
		_cleanup_free_ char *p = util_path(host_root, os_names[i].pattern);
		glob_t g;
		bool found;
		if (!p)
			continue;
		if (!strchr(p, '*')) {
			found = access(p, F_OK) == 0;
		} else {
			found = glob(p, GLOB_NOSORT, NULL, &g) == 0 && g.gl_pathc > 0;
			globfree(&g);
		}
		if (found)
			return os_names[i].name;
	}
	return "unknown";
}

int vd_os_read(const char *host_root, struct vd_os *ret)
{
	_cleanup_free_ char *p1 = util_path(host_root, "/etc/os-release");
	_cleanup_free_ char *p2 = util_path(host_root, "/usr/lib/os-release");
	_cleanup_free_ char *dv = util_path(host_root, "/etc/debian_version");
	_cleanup_free_ char *text = NULL;
	char buf[64];
	int r;

	if (!p1 || !p2 || !dv)
		return -ENOMEM;
	r = util_read_file(p1, 1 << 16, &text, NULL);
	if (r == -ENOENT)
		r = util_read_file(p2, 1 << 16, &text, NULL);
	if (r < 0 && r != -ENOENT)
		return r;
	memset(ret, 0, sizeof(*ret));
	snprintf(ret->name, sizeof(ret->name), "%s", os_name(host_root));
	if (text)
		os_value(text, "PRETTY_NAME", ret->pretty_name, sizeof(ret->pretty_name));
	/* Debian: version from /etc/debian_version, no release (as VDSM). Others: VDSM reads
	 * the release package's rpm version and release; without rpm, VERSION_ID. */
	if (strcmp(ret->name, "Debian") == 0 && util_read_line(dv, buf, sizeof(buf)) > 0)
		snprintf(ret->version, sizeof(ret->version), "%s", util_strstrip(buf));
	else if (text)
		os_value(text, "VERSION_ID", ret->version, sizeof(ret->version));
	return 0;
}

static long long parse_build_date(const char *v)
{
	struct tm tm;
	const char *p;

	/* Debian: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01)" */
	if ((p = strrchr(v, '(')) && strlen(p) >= 12) {
		memset(&tm, 0, sizeof(tm));
		const char *e = strptime(p + 1, "%Y-%m-%d)", &tm);
		if (e)
			return (long long)timegm(&tm);
	}
	/* Most others end with a date: "#1 SMP Tue Nov 5 12:34:56 UTC 2024". */
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char *wd[6] = { 0 };
	int n = 0;
	for (const char *s = v + strlen(v); s > v && n < 6;) {
		while (s > v && s[-1] == ' ')
			s--;
		const char *e = s;
		while (s > v && s[-1] != ' ')
			s--;
		if (s < e)
			wd[5 - n++] = s;
	}
	char mon[4];
	int day, hh, mm, ss, year;
	if (n == 6 && sscanf(wd[1], "%3s", mon) == 1 && sscanf(wd[2], "%d", &day) == 1 &&
	    sscanf(wd[3], "%d:%d:%d", &hh, &mm, &ss) == 3 && sscanf(wd[5], "%d", &year) == 1) {
		const char *m = strstr(months, mon);
		if (m && (m - months) % 3 == 0 && year > 1990) {
			memset(&tm, 0, sizeof(tm));
			tm.tm_year = year - 1900;
			tm.tm_mon = (int)((m - months) / 3);
			tm.tm_mday = day;
			tm.tm_hour = hh;
			tm.tm_min = mm;
			tm.tm_sec = ss;
			return (long long)timegm(&tm);
		}
	}
	return -1;
}

int vd_kernel_pkg_parse(const char *release, const char *version, struct vd_pkg *ret)
{
	size_t n = strcspn(release, "-");

	memset(ret, 0, sizeof(*ret));
	snprintf(ret->name, sizeof(ret->name), "kernel");
	snprintf(ret->version, sizeof(ret->version), "%.*s", (int)n, release);
	snprintf(ret->release, sizeof(ret->release), "%s", release[n] ? release + n + 1 : "");
	ret->buildtime = parse_build_date(version);
	return 0;
}

int vd_kernel_pkg(struct vd_pkg *ret)
{
	struct utsname u;

	if (uname(&u) < 0)
		return -errno;
	return vd_kernel_pkg_parse(u.release, u.version, ret);
}
