/* What the report takes from sysfs and procfs: link speed, bridge and bond options,
 * the active slave and a bond slave's permanent address. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "../vdsm-c/util/util.h"

/* <sysroot>/sys/class/net/<dev>/<sub><leaf> (sub "" or "bridge/" or "bonding/"). */
static int read_small(const char *sysroot, const char *dev, const char *sub, const char *leaf,
		      char *buf, size_t size)
{
	_cleanup_free_ char *rel = NULL, *path = NULL;

	if (asprintf(&rel, "/sys/class/net/%s/%s%s", dev, sub, leaf) < 0 ||
	    !(path = util_path(sysroot, rel)))
		return -ENOMEM;
	int r = util_read_line(path, buf, size);
	if (r >= 0)
		util_strstrip(buf);
	return r;
}

int net_sysfs_speed(const char *sysroot, const char *dev)
{
	char buf[32];
	long long v;

	/* A link without carrier, or a virtual one, answers EINVAL or -1. */
	if (read_small(sysroot, dev, "", "speed", buf, sizeof(buf)) < 0)
		return 0;
	if (util_parse_ll(buf, 0, 1000000000, &v) < 0)
		return 0;
	return (int)v;
}

static int opt_add(struct net_dev *d, const char *key, const char *value)
{
	struct net_opt *n = realloc(d->opts, (d->n_opts + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	d->opts = n;
	n[d->n_opts].key = strdup(key);
	n[d->n_opts].value = strdup(value);
	if (!n[d->n_opts].key || !n[d->n_opts].value) {
		free(n[d->n_opts].key);
		free(n[d->n_opts].value);
		return -ENOMEM;
	}
	d->n_opts++;
	return 0;
}

static int cmp_opt(const void *a, const void *b)
{
	return strcmp(((const struct net_opt *)a)->key, ((const struct net_opt *)b)->key);
}

int net_sysfs_bridge(const char *sysroot, struct net_dev *d)
{
	_cleanup_free_ char *rel = NULL, *dir = NULL;
	char buf[256];
	int r = 0;

	if (asprintf(&rel, "/sys/class/net/%s/bridge", d->name) < 0 ||
	    !(dir = util_path(sysroot, rel)))
		return -ENOMEM;
	DIR *dh = opendir(dir);
	if (!dh)
		return -errno;
	for (struct dirent *de; (de = readdir(dh));) {
		if (de->d_name[0] == '.')
			continue;
		/* Write-only files (flush) and unreadable ones are skipped. */
		if (read_small(sysroot, d->name, "bridge/", de->d_name, buf,
			       sizeof(buf)) < 0)
			continue;
		if (strcmp(de->d_name, "stp_state") == 0)
			d->stp = strcmp(buf, "0") != 0;
		if ((r = opt_add(d, de->d_name, buf)) < 0)
			break;
	}
	closedir(dh);
	if (d->n_opts > 1)
		qsort(d->opts, d->n_opts, sizeof(*d->opts), cmp_opt);
	return r;
}

/* Bond options reported when they differ from the kernel default (VDSM reports only
 * what was set); mode and miimon always. Values of the form "name N" become N. */
static const struct {
	const char *key, *def;
} bond_keys[] = {
	{ "mode", NULL },
	{ "miimon", NULL },
	{ "updelay", "0" },
	{ "downdelay", "0" },
	{ "arp_interval", "0" },
	{ "arp_ip_target", "" },
	{ "arp_validate", "0" },
	{ "arp_all_targets", "0" },
	{ "primary", "" },
	{ "primary_reselect", "0" },
	{ "fail_over_mac", "0" },
	{ "xmit_hash_policy", "0" },
	{ "lacp_rate", "0" },
	{ "ad_select", "0" },
	{ "use_carrier", "1" },
	{ "num_grat_arp", "1" },
	{ "num_unsol_na", "1" },
	{ "all_slaves_active", "0" },
	{ "resend_igmp", "1" },
	{ "min_links", "0" },
	{ "lp_interval", "1" },
	{ "packets_per_slave", "1" },
	{ "tlb_dynamic_lb", "1" },
};

int net_sysfs_bond(const char *sysroot, struct net_dev *d)
{
	char buf[512];
	int r;

	if (read_small(sysroot, d->name, "bonding/", "active_slave", buf,
		       sizeof(buf)) >= 0)
		snprintf(d->active_slave, sizeof(d->active_slave), "%.*s", IFNAMSIZ - 1, buf);
	for (size_t i = 0; i < ELEMENTSOF(bond_keys); i++) {
		if (read_small(sysroot, d->name, "bonding/", bond_keys[i].key,
			       buf, sizeof(buf)) < 0)
			continue;
		char *val = buf, *sp = strrchr(buf, ' ');
		/* "active-backup 1" → "1"; a list (arp_ip_target) keeps its spaces: only
		 * a trailing number after a single word is taken. */
		if (sp && sp == strchr(buf, ' ') && sp[1] && strspn(sp + 1, "0123456789") ==
		    strlen(sp + 1))
			val = sp + 1;
		if (bond_keys[i].def && strcmp(val, bond_keys[i].def) == 0)
			continue;
		if ((r = opt_add(d, bond_keys[i].key, val)) < 0)
			return r;
	}
	return 0;
}

int net_bond_slave_permaddr(const char *sysroot, const char *bond, const char *slave,
			    char ret[18])
{
	_cleanup_free_ char *rel = NULL, *path = NULL, *text = NULL;
	char want[IFNAMSIZ + 32];
	int r;

	if (asprintf(&rel, "/proc/net/bonding/%s", bond) < 0 || !(path = util_path(sysroot, rel)))
		return -ENOMEM;
	if ((r = util_read_file(path, 1 << 20, &text, NULL)) < 0)
		return r;
	snprintf(want, sizeof(want), "Slave Interface: %s\n", slave);
	char *p = strstr(text, want);
	if (!p)
		return -ENOENT;
	p += strlen(want);
	char *next = strstr(p, "Slave Interface: ");
	char *perm = strstr(p, "Permanent HW addr: ");
	if (!perm || (next && perm > next))
		return -ENOENT;
	perm += strlen("Permanent HW addr: ");
	size_t n = strcspn(perm, " \n");
	if (n != 17)
		return -EINVAL;
	memcpy(ret, perm, 17);
	ret[17] = '\0';
	return 0;
}
