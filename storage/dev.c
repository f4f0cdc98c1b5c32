/* storage/dev: see dev.h. */
#include "dev.h"
#include "lvm.h"
#include "mpath.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SYSFS_TEXT_MAX 4096

/* Reads <base>/<rel> (at most size-1 bytes) raw. Returns the byte count or -errno. */
static int read_raw(const char *base, const char *rel, void *buf, size_t size)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", base, rel) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	size_t got = 0;
	while (got < size) {
		ssize_t r = read(fd, (char *)buf + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;
			close(fd);
			return e;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	return (int)got;
}

/* A one-line sysfs attribute, blanks trimmed, printable ASCII only (else ""). */
static int read_text(const char *base, const char *rel, char *buf, size_t size)
{
	char tmp[SYSFS_TEXT_MAX];
	int n = read_raw(base, rel, tmp, sizeof(tmp) - 1);
	buf[0] = '\0';
	if (n < 0)
		return n;
	size_t b = 0, e = (size_t)n;
	while (b < e && (tmp[b] == ' ' || tmp[b] == '\t'))
		b++;
	while (e > b && (tmp[e - 1] == ' ' || tmp[e - 1] == '\t' || tmp[e - 1] == '\n'))
		e--;
	for (size_t k = b; k < e; k++)
		if ((unsigned char)tmp[k] < 0x20 || (unsigned char)tmp[k] > 0x7e)
			return -EINVAL;
	if (e - b >= size)
		return -ENAMETOOLONG;
	memcpy(buf, tmp + b, e - b);
	buf[e - b] = '\0';
	return (int)(e - b);
}

static int read_int(const char *base, const char *rel, int64_t *ret)
{
	char t[32], *end;
	int n = read_text(base, rel, t, sizeof(t));
	if (n <= 0)
		return n < 0 ? n : -EINVAL;
	if (t[0] < '0' || t[0] > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(t, &end, 10);
	if (errno || *end || v > INT64_MAX)
		return -EINVAL;
	*ret = (int64_t)v;
	return 0;
}

int stg_vpd80_serial(const unsigned char *page, size_t len, char *buf, size_t size)
{
	if (len < 4 || page[1] != 0x80 || size == 0)
		return -EINVAL;
	size_t n = ((size_t)page[2] << 8) | page[3];
	if (n > len - 4)
		return -EINVAL;
	const unsigned char *s = page + 4;
	while (n && (s[0] == ' ' || s[0] == '\0')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\0'))
		n--;
	for (size_t k = 0; k < n; k++)
		if (s[k] < 0x20 || s[k] > 0x7e)
			return -EINVAL;
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return (int)n;
}

const char *stg_dev_type(const struct stg_dev *d)
{
	switch (d->transports) {
	case STG_TR_ISCSI: return "iSCSI";
	case STG_TR_FCP: return "FCP";
	case STG_TR_ISCSI | STG_TR_FCP: return "MIXED";
	default: return "";
	}
}

/* The device's sysfs path (the /sys/block/<name> link): transport from the
 * iscsi_session ("/sessionN/") or fc remote port ("/rport-") in it, LUN from the
 * H:C:T:L component before "/block/". */
static void path_topology(const char *block, const char *name, struct stg_path *p)
{
	char link[PATH_MAX], path[PATH_MAX];
	p->transport = STG_TR_UNKNOWN;
	p->lun = -1;
	p->session = -1;
	if (snprintf(path, sizeof(path), "%s/%s", block, name) >= (int)sizeof(path))
		return;
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return;
	link[n] = '\0';
	const char *sess = strstr(link, "/session");
	int id;
	char slash;
	if (sess) {
		p->transport = STG_TR_ISCSI;
		if (sscanf(sess + 8, "%d%c", &id, &slash) == 2 && slash == '/' && id >= 0)
			p->session = id;
	}
	else if (strstr(link, "/rport-"))
		p->transport = STG_TR_FCP;
	char *b = strstr(link, "/block/");
	if (!b)
		return;
	*b = '\0';
	char *hctl = strrchr(link, '/');
	unsigned h, c, t;
	unsigned long long l;
	char tail;
	if (hctl && sscanf(hctl + 1, "%u:%u:%u:%llu%c", &h, &c, &t, &l, &tail) == 4 &&
	    l <= INT64_MAX)
		p->lun = (int64_t)l;
}

static bool dev_name_ok(const char *s)
{
	if (!s[0] || strlen(s) >= 32)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '!' || *s == '_' || (*s >= 'A' && *s <= 'Z')))
			return false;
	return true;
}

/* src into dst when it fits (callers checked the length), else "". */
static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (n >= size)
		n = 0;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct stg_path *)a)->dev, ((const struct stg_path *)b)->dev);
}

static int cmp_dev(const void *a, const void *b)
{
	return strcmp(((const struct stg_dev *)a)->guid, ((const struct stg_dev *)b)->guid);
}

/* Number of entries (other than . and ..) of <base>/<rel>; 0 when unreadable. */
static unsigned count_entries(const char *base, const char *rel)
{
	char dir[PATH_MAX];
	unsigned n = 0;
	if (snprintf(dir, sizeof(dir), "%s/%s", base, rel) >= (int)sizeof(dir))
		return 0;
	DIR *dp = opendir(dir);
	if (!dp)
		return 0;
	struct dirent *e;
	while ((e = readdir(dp)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

/* The slaves of a map and the inquiry data of its first path. */
static int read_paths(const char *block, struct stg_dev *d)
{
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof(dir), "%s/%s/slaves", block, d->dm) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	DIR *dp = opendir(dir);
	if (!dp)
		return errno == ENOENT ? 0 : -errno;
	size_t cap = 0;
	int r = 0;
	struct dirent *e;
	while ((e = readdir(dp))) {
		if (e->d_name[0] == '.' || !dev_name_ok(e->d_name))
			continue;
		if (d->npaths == cap) {
			size_t nc = cap ? cap * 2 : 4;
			struct stg_path *np = realloc(d->paths, nc * sizeof(*np));
			if (!np) {
				r = -ENOMEM;
				break;
			}
			d->paths = np;
			cap = nc;
		}
		struct stg_path *p = &d->paths[d->npaths++];
		*p = (struct stg_path){ 0 };
		copy_str(p->dev, sizeof(p->dev), e->d_name);
	}
	closedir(dp);
	if (r < 0)
		return r;
	qsort(d->paths, d->npaths, sizeof(*d->paths), cmp_path);
	for (size_t i = 0; i < d->npaths; i++) {
		struct stg_path *p = &d->paths[i];
		char base[PATH_MAX];
		int64_t sectors = 0;
		if (snprintf(base, sizeof(base), "%s/%s", block, p->dev) >= (int)sizeof(base))
			continue;
		if (read_int(base, "size", &sectors) == 0 && sectors <= INT64_MAX / 512)
			p->size = sectors * 512;
		path_topology(block, p->dev, p);
		(void)read_text(base, "device/state", p->sdev_state, sizeof(p->sdev_state));
		d->transports |= (unsigned)p->transport;
		if (i == 0) {
			unsigned char pg[260];
			(void)read_text(base, "device/vendor", d->vendor, sizeof(d->vendor));
			(void)read_text(base, "device/model", d->product, sizeof(d->product));
			(void)read_text(base, "device/rev", d->fwrev, sizeof(d->fwrev));
			int n = read_raw(base, "device/vpd_pg80", pg, sizeof(pg));
			if (n < 0 || stg_vpd80_serial(pg, (size_t)n, d->serial, sizeof(d->serial)) < 0)
				d->serial[0] = '\0';
		}
	}
	return 0;
}

void stg_devs_free(struct stg_dev *devs, size_t n)
{
	for (size_t i = 0; devs && i < n; i++)
		free(devs[i].paths);
	free(devs);
}

/* A WWID as multipath writes it: printable, no blanks, no '/'. */
static bool wwid_ok(const char *s)
{
	if (!s[0])
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s > 0x7e || *s == '/')
			return false;
	return true;
}

int stg_dev_scan(const char *root, struct stg_dev **ret)
{
	char block[PATH_MAX];
	const char *r = root && strcmp(root, "/") != 0 ? root : "";
	struct stg_dev *devs = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	*ret = NULL;
	if (snprintf(block, sizeof(block), "%s/sys/block", r) >= (int)sizeof(block))
		return -ENAMETOOLONG;
	DIR *dp = opendir(block);
	if (!dp)
		return -errno;
	struct dirent *e;
	while ((e = readdir(dp))) {
		char base[PATH_MAX], uuid[256];
		if (strncmp(e->d_name, "dm-", 3) != 0 || !dev_name_ok(e->d_name))
			continue;
		if (snprintf(base, sizeof(base), "%s/%s", block, e->d_name) >= (int)sizeof(base))
			continue;
		if (read_text(base, "dm/uuid", uuid, sizeof(uuid)) <= 0 ||
		    strncmp(uuid, "mpath-", 6) != 0 || !wwid_ok(uuid + 6) ||
		    strlen(uuid + 6) >= sizeof(devs->guid))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct stg_dev *nd = realloc(devs, nc * sizeof(*nd));
			if (!nd) {
				rc = -ENOMEM;
				break;
			}
			devs = nd;
			cap = nc;
		}
		struct stg_dev *d = &devs[n++];
		*d = (struct stg_dev){ .logical_bs = 512, .physical_bs = 512 };
		copy_str(d->guid, sizeof(d->guid), uuid + 6);
		copy_str(d->dm, sizeof(d->dm), e->d_name);
		int64_t v;
		if (read_int(base, "size", &v) == 0 && v <= INT64_MAX / 512)
			d->size = v * 512;
		if (read_int(base, "queue/logical_block_size", &v) == 0 && v > 0 && v <= 65536)
			d->logical_bs = (int)v;
		if (read_int(base, "queue/physical_block_size", &v) == 0 && v > 0 && v <= 65536)
			d->physical_bs = (int)v;
		if (read_int(base, "queue/discard_max_bytes", &v) == 0)
			d->discard_max_bytes = v;
		if (read_int(base, "queue/discard_zeroes_data", &v) == 0 && v <= 1)
			d->discard_zeroes_data = (int)v;
		d->holders = count_entries(base, "holders");
		if ((rc = read_paths(block, d)) < 0)
			break;
	}
	closedir(dp);
	if (rc < 0) {
		stg_devs_free(devs, n);
		return rc;
	}
	if (n)
		qsort(devs, n, sizeof(*devs), cmp_dev);
	*ret = devs;
	return (int)n;
}

void stg_dev_merge(struct stg_dev *devs, size_t n, const struct stg_mpath_map *maps,
		   size_t nmaps, const struct stg_lvm_pv *pvs, size_t npvs)
{
	for (size_t i = 0; i < n; i++) {
		struct stg_dev *d = &devs[i];
		for (size_t m = 0; m < nmaps; m++) {
			if (strcmp(maps[m].wwid, d->guid) != 0)
				continue;
			for (size_t p = 0; p < d->npaths; p++)
				for (size_t k = 0; k < maps[m].npaths; k++)
					if (strcmp(maps[m].paths[k].dev, d->paths[p].dev) == 0)
						copy_str(d->paths[p].state, sizeof(d->paths[p].state),
							 maps[m].paths[k].state);
			break;
		}
		char name[sizeof(d->guid) + 16];
		snprintf(name, sizeof(name), "/dev/mapper/%s", d->guid);
		for (size_t k = 0; k < npvs; k++) {
			if (strcmp(pvs[k].name, name) != 0)
				continue;
			copy_str(d->pv_uuid, sizeof(d->pv_uuid), pvs[k].uuid);
			copy_str(d->vg_uuid, sizeof(d->vg_uuid), pvs[k].vg_uuid);
			if (pvs[k].size >= 0)
				snprintf(d->pv_size, sizeof(d->pv_size), "%lld",
					 (long long)pvs[k].size);
			break;
		}
	}
}

size_t stg_dev_filter(struct stg_dev *devs, size_t n, unsigned transport,
		      const char *const *guids, size_t nguids)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		bool keep = !transport || (devs[i].transports & transport);
		if (keep && nguids) {
			keep = false;
			for (size_t g = 0; g < nguids && !keep; g++)
				keep = strcmp(guids[g], devs[i].guid) == 0;
		}
		if (keep)
			devs[o++] = devs[i];
		else
			free(devs[i].paths);
	}
	return o;
}

/* "(null)" is what the kernel shows for an unset session parameter. */
static void read_param(const char *base, const char *rel, char *buf, size_t size)
{
	if (read_text(base, rel, buf, size) < 0 || strcmp(buf, "(null)") == 0)
		buf[0] = '\0';
}

int stg_iscsi_session_read(const char *root, int id, struct stg_iscsi_session *ret)
{
	const char *r = root && strcmp(root, "/") != 0 ? root : "";
	char sbase[PATH_MAX], cbase[PATH_MAX];
	int64_t v;

	*ret = (struct stg_iscsi_session){ .id = id };
	if (id < 0 ||
	    snprintf(sbase, sizeof(sbase), "%s/sys/class/iscsi_session/session%d", r, id) >=
		    (int)sizeof(sbase) ||
	    snprintf(cbase, sizeof(cbase), "%s/sys/class/iscsi_connection/connection%d:0", r, id) >=
		    (int)sizeof(cbase))
		return -EINVAL;
	int n = read_text(sbase, "targetname", ret->iqn, sizeof(ret->iqn));
	if (n <= 0)
		return n < 0 ? n : -EINVAL;
	if (read_int(sbase, "tpgt", &v) < 0 || v > 65535)
		return -EINVAL;
	ret->tpgt = (int)v;
	read_param(sbase, "ifacename", ret->iface, sizeof(ret->iface));
	if (!ret->iface[0])
		copy_str(ret->iface, sizeof(ret->iface), "default");
	read_param(sbase, "username", ret->user, sizeof(ret->user));
	read_param(sbase, "password", ret->password, sizeof(ret->password));
	/* the address the session was made to (the portal), else the current one */
	read_param(cbase, "persistent_address", ret->address, sizeof(ret->address));
	if (read_int(cbase, "persistent_port", &v) < 0 || v < 1 || v > 65535)
		v = 0;
	if (!ret->address[0] || !v) {
		read_param(cbase, "address", ret->address, sizeof(ret->address));
		if (read_int(cbase, "port", &v) < 0)
			v = 0;
	}
	if (!ret->address[0] || v < 1 || v > 65535) {
		explicit_bzero(ret->password, sizeof(ret->password));
		return -EINVAL;
	}
	ret->port = (int)v;
	return 0;
}

size_t stg_blkid_mark_used(const char *text, size_t len, struct stg_dev *devs, size_t n)
{
	struct stg_dev *cur = NULL;
	size_t marked = 0;

	for (size_t pos = 0; pos < len;) {
		const char *l = text + pos;
		const char *nl = memchr(l, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - l) : len - pos;
		pos += ll + 1;
		if (ll == 0) {
			cur = NULL;          /* a blank line ends a device's block */
			continue;
		}
		if (ll > 8 && memcmp(l, "DEVNAME=", 8) == 0) {
			/* "[<root>]/dev/mapper/<GUID>": the name ends the value */
			cur = NULL;
			for (size_t i = 0; i < n && !cur; i++) {
				size_t g = strlen(devs[i].guid);
				if (g && ll >= 8 + 12 + g &&
				    memcmp(l + ll - g - 12, "/dev/mapper/", 12) == 0 &&
				    memcmp(l + ll - g, devs[i].guid, g) == 0)
					cur = &devs[i];
			}
			continue;
		}
		if (cur && ((ll > 5 && memcmp(l, "TYPE=", 5) == 0) ||
			    (ll > 7 && memcmp(l, "PTTYPE=", 7) == 0))) {
			if (strcmp(cur->status, "used") != 0)
				marked++;
			snprintf(cur->status, sizeof(cur->status), "used");
		}
	}
	return marked;
}
