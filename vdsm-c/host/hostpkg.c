/* Installed package versions (packages2) from dpkg-query. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostinfo.h"
#include "../util/log.h"
#include "../util/exec.h"
#include "../util/util.h"

/* Report name → Debian packages that provide it, first installed one wins. */
static const struct {
	const char *report;
	const char *debs[3];
} pkg_map[] = {
	{ "qemu-kvm", { "qemu-system-x86", "qemu-kvm", "qemu-system-ppc" } },
	{ "qemu-img", { "qemu-utils", "qemu-img", NULL } },
	{ "libvirt", { "libvirt-daemon", "libvirt0", NULL } },
	{ "spice-server", { "libspice-server1", NULL, NULL } },
	{ "librbd1", { "librbd1", NULL, NULL } },
	{ "glusterfs", { "glusterfs-client", "glusterfs-common", NULL } },
	{ "glusterfs-cli", { "glusterfs-cli", NULL, NULL } },
};

int vd_packages_parse(const char *out, struct vd_pkg **ret, size_t *ret_n)
{
	_cleanup_free_ struct vd_pkg *pk = calloc(ELEMENTSOF(pkg_map), sizeof(*pk));
	size_t n = 0;

	if (!pk)
		return -ENOMEM;
	for (size_t i = 0; i < ELEMENTSOF(pkg_map); i++) {
		for (size_t j = 0; j < 3 && pkg_map[i].debs[j]; j++) {
			char want[80];
			const char *line = NULL;
			int wl = snprintf(want, sizeof(want), "%s\t", pkg_map[i].debs[j]);
			for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
				if (strncmp(l, want, wl) == 0) {
					line = l + wl;
					break;
				}
			if (!line)
				continue;
			char ver[120] = "", status[64] = "";
			size_t vl = strcspn(line, "\t\n");
			snprintf(ver, sizeof(ver), "%.*s", (int)vl, line);
			if (line[vl] == '\t')
				snprintf(status, sizeof(status), "%.*s", (int)strcspn(line + vl + 1, "\t\n"),
					 line + vl + 1);
			/* dpkg-query also lists removed packages whose config files remain */
			if (!*ver || (strcmp(status, "installed") != 0 && *status))
				continue;
			char *up = strchr(ver, ':') ? strchr(ver, ':') + 1 : ver;
			char *dash = strrchr(up, '-');
			struct vd_pkg *p = &pk[n++];
			snprintf(p->name, sizeof(p->name), "%s", pkg_map[i].report);
			if (dash) {
				*dash = '\0';
				snprintf(p->release, sizeof(p->release), "%s", dash + 1);
			}
			snprintf(p->version, sizeof(p->version), "%s", up);
			p->buildtime = -1;
			break;
		}
	}
	*ret = TAKE_PTR(pk);
	*ret_n = n;
	return 0;
}

int vd_packages_query(const char *dpkg_query, struct vd_pkg **ret, size_t *ret_n)
{
	const char *argv[4 + 3 * ELEMENTSOF(pkg_map)];
	struct util_exec_opts o = { .timeout = 10 };
	struct util_exec_result res = { 0 };
	size_t a = 0;
	int r;

	*ret = NULL;
	*ret_n = 0;
	if (!dpkg_query || !*dpkg_query || access(dpkg_query, X_OK) != 0)
		return 0;
	argv[a++] = dpkg_query;
	argv[a++] = "-W";
	argv[a++] = "-f=${Package}\\t${Version}\\t${db:Status-Status}\\n";
	for (size_t i = 0; i < ELEMENTSOF(pkg_map); i++)
		for (size_t j = 0; j < 3 && pkg_map[i].debs[j]; j++)
			argv[a++] = pkg_map[i].debs[j];
	argv[a] = NULL;
	/* Exit status 1 just means some of the names are unknown. */
	r = util_exec(argv, &o, &res);
	if (r < 0 && !(r == -ECHILD && res.signal == 0 && res.status == 1)) {
		char buf[256];
		log_debug("%s failed: %s", dpkg_query, util_exec_last_line(&res, buf, sizeof(buf)));
		util_exec_result_clear(&res);
		return r;
	}
	r = vd_packages_parse(res.out ? res.out : "", ret, ret_n);
	util_exec_result_clear(&res);
	return r;
}
