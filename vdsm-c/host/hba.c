/* HBAInventory: the iSCSI initiator name and Fibre Channel HBAs. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostinfo.h"
#include "../util/util.h"

int vd_iscsi_initiator(const char *host_root, char *buf, size_t size)
{
	_cleanup_free_ char *path = util_path(host_root, "/etc/iscsi/initiatorname.iscsi");
	_cleanup_fclose_ FILE *f = NULL;
	char line[512];

	buf[0] = '\0';
	if (!path)
		return -ENOMEM;
	if (!(f = fopen(path, "re")))
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		char *s = util_strstrip(line);
		if (strncmp(s, "InitiatorName=", 14) == 0)
			snprintf(buf, size, "%s", util_strstrip(s + 14));
	}
	return 0;
}

static void read_attr(const char *dir, const char *leaf, char *buf, size_t size)
{
	_cleanup_free_ char *p = NULL;

	buf[0] = '\0';
	if (asprintf(&p, "%s/%s", dir, leaf) < 0 || util_read_line(p, buf, size) < 0)
		buf[0] = '\0';
	util_strstrip(buf);
}

static void hex_no_prefix(const char *in, char *out, size_t size)
{
	if (strncmp(in, "0x", 2) == 0 || strncmp(in, "0X", 2) == 0)
		in += 2;
	snprintf(out, size, "%s", in);
}

int vd_fc_hbas(const char *host_root, struct vd_fc_hba **ret, size_t *ret_n)
{
	_cleanup_free_ char *base = util_path(host_root, "/sys/class/fc_host");
	struct vd_fc_hba *v = NULL;
	size_t n = 0;
	DIR *d;

	*ret = NULL;
	*ret_n = 0;
	if (!base)
		return -ENOMEM;
	if (!(d = opendir(base)))
		return errno == ENOENT ? 0 : -errno;
	for (struct dirent *de; (de = readdir(d));) {
		if (strncmp(de->d_name, "host", 4) != 0)
			continue;
		_cleanup_free_ char *dir = NULL, *scsi = NULL;
		char wwnn[64], wwpn[64], model[128], desc[128];
		if (asprintf(&dir, "%s/%s", base, de->d_name) < 0 ||
		    asprintf(&scsi, "%s/../scsi_host/%s", base, de->d_name) < 0)
			break;
		read_attr(dir, "node_name", wwnn, sizeof(wwnn));
		read_attr(dir, "port_name", wwpn, sizeof(wwpn));
		if (!*wwnn || !*wwpn)
			continue;
		/* The SCSI host of the same name carries the adapter's model. */
		read_attr(scsi, "model_name", model, sizeof(model));
		read_attr(scsi, "model_desc", desc, sizeof(desc));
		struct vd_fc_hba *nv = realloc(v, (n + 1) * sizeof(*nv));
		if (!nv)
			break;
		v = nv;
		hex_no_prefix(wwnn, v[n].wwnn, sizeof(v[n].wwnn));
		hex_no_prefix(wwpn, v[n].wwpn, sizeof(v[n].wwpn));
		if (*model || *desc)
			snprintf(v[n].model, sizeof(v[n].model), "%s - %s", model, desc);
		else
			v[n].model[0] = '\0';
		n++;
	}
	closedir(d);
	*ret = v;
	*ret_n = n;
	return 0;
}
