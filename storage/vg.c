/* storage/vg: see vg.h. */
#include "vg.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vdsm-c/util/log.h"

/* One createVG at a time: between the name check and vgcreate no other createVG of this
 * agent may make a VG (each call is bounded by its lvm timeouts). */
static pthread_mutex_t create_lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
	char *sysroot;
	struct stg_lvm lvm;
	char *cmd;
} vs;

void stg_vg_stop(void)
{
	free(vs.sysroot);
	free(vs.cmd);
	vs.sysroot = vs.cmd = NULL;
}

int stg_vg_start(const struct stg_vg_opts *o)
{
	if (!o->lvm || o->lvm[0] != '/' || o->timeout <= 0)
		return -EINVAL;
	vs.sysroot = strdup(o->sysroot && strcmp(o->sysroot, "/") != 0 ? o->sysroot : "");
	vs.cmd = strdup(o->lvm);
	if (!vs.sysroot || !vs.cmd) {
		stg_vg_stop();
		return -ENOMEM;
	}
	vs.lvm.cmd = vs.cmd;
	vs.lvm.timeout = o->timeout;
	return 0;
}

bool stg_vg_partitioned(const char *sysroot, const char *dm)
{
	char dir[512], path[1024], buf[16];
	struct dirent *e;
	bool part = false;

	if (!dm[0] || strchr(dm, '/'))
		return false;
	snprintf(dir, sizeof(dir), "%s/sys/block/%s/holders", sysroot, dm);
	DIR *d = opendir(dir);
	if (!d)
		return false;
	while (!part && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/dm/uuid", dir, e->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		part = fgets(buf, sizeof(buf), f) && strncmp(buf, "part", 4) == 0;
		fclose(f);
	}
	closedir(d);
	return part;
}

static bool has_active_path(const struct stg_dev *d)
{
	for (size_t k = 0; k < d->npaths; k++)
		if (strcmp(d->paths[k].state, "active") == 0)
			return true;
	return false;
}

static const struct stg_dev *find(const struct stg_devlist *l, const char *guid)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->devs[i].guid, guid) == 0)
			return &l->devs[i];
	return NULL;
}

/* The VGs on the maps in l that are PVs of a VG (one bounded vgs run); *n 0 when none. */
static int host_vgs(const struct stg_devlist *l, struct stg_lvm_vg **ret, size_t *n,
		    struct vd_error *err)
{
	const char **g = calloc(l->n + 1, sizeof(*g));
	size_t ng = 0;
	struct util_exec_result res;
	int r;

	*ret = NULL;
	*n = 0;
	if (!g)
		return vd_error_set(err, VD_ERR_VOLUME_GROUP_ACTION, "vgs: out of memory");
	for (size_t i = 0; i < l->n && ng < STG_LVM_MAX_DEVS; i++)
		if (l->devs[i].vg_uuid[0] && has_active_path(&l->devs[i]) &&
		    stg_lvm_guid_ok(l->devs[i].guid))
			g[ng++] = l->devs[i].guid;
	if (ng == 0) {
		free(g);
		return 0;
	}
	const char *args[] = { "vgs", "--reportformat", "json", "--units", "b", "--nosuffix",
			       "-o", STG_LVM_VG_COLUMNS, NULL };
	r = stg_lvm_run(&vs.lvm, g, ng, args, &res, err);
	if (r == 0 && stg_lvm_parse_vgs(res.out, res.out_len, ret, n) < 0)
		r = vd_error_set(err, VD_ERR_VOLUME_GROUP_ACTION, "vgs: unusable report");
	util_exec_result_clear(&res);
	free(g);
	return r;
}

/* Every check of createVG, before anything is written. */
static int check_devices(const char *const *guids, size_t n, bool force,
			 const struct stg_devlist *l, struct vd_error *err)
{
	/* every device first: an unknown one is reported before a used one */
	for (size_t i = 0; i < n; i++) {
		const struct stg_dev *d = find(l, guids[i]);

		if (!d || !has_active_path(d))
			return vd_error_set(err, VD_ERR_INACCESSIBLE_PHYS_DEV,
					    "%s: ['%.128s']%s",
					    vd_code_message(VD_ERR_INACCESSIBLE_PHYS_DEV), guids[i],
					    d ? " (no active path)" : "");
		for (size_t k = 0; k < i; k++)
			if (strcmp(guids[k], guids[i]) == 0)
				return vd_error_set(err, VD_ERR_INVALID_PARAMETER,
						    "Invalid parameter: 'devlist' names %s twice",
						    guids[i]);
	}
	for (size_t i = 0; i < n; i++) {
		const struct stg_dev *d = find(l, guids[i]);

		if (stg_vg_partitioned(vs.sysroot, d->dm))
			return vd_error_set(err, VD_ERR_PARTITIONED_PHYS_DEV, "%s: %s",
					    vd_code_message(VD_ERR_PARTITIONED_PHYS_DEV), d->guid);
		if (!force && (d->pv_uuid[0] || strcmp(d->status, "free") != 0))
			return vd_error_set(err, VD_ERR_PHYS_DEV_INITIALIZATION,
					    "%s: %s is in use (%s%s%s), force not given",
					    vd_code_message(VD_ERR_PHYS_DEV_INITIALIZATION), d->guid,
					    d->pv_uuid[0] ? "LVM PV" : d->status,
					    d->vg_uuid[0] ? " of VG " : "", d->vg_uuid);
	}
	return 0;
}

static int check_size(const char *name, const char *const *guids, size_t n,
		      const struct stg_devlist *l, struct vd_error *err)
{
	int64_t total = 0;

	for (size_t i = 0; i < n; i++)
		total += find(l, guids[i])->size;
	if (total < STG_VG_MIN_SIZE)
		return vd_error_set(err, VD_ERR_VOLUME_GROUP_SIZE,
				    "%s: %s has %lld bytes, %lld needed",
				    vd_code_message(VD_ERR_VOLUME_GROUP_SIZE), name,
				    (long long)total, (long long)STG_VG_MIN_SIZE);
	return 0;
}

int stg_vg_create(const char *name, const char *const *guids, size_t n, bool force,
		  char uuid[64], struct vd_error *err)
{
	struct stg_devlist l;
	struct stg_lvm_vg *vgs = NULL;
	size_t nvg = 0;
	int r;

	uuid[0] = '\0';
	if (n == 0 || n > STG_LVM_MAX_DEVS)
		return vd_error_set(err, VD_ERR_INVALID_PARAMETER,
				    "Invalid parameter: 'devlist' has %zu devices (1..%d)", n,
				    STG_LVM_MAX_DEVS);
	for (size_t i = 0; i < n; i++)
		if (!stg_lvm_guid_ok(guids[i]))
			return vd_error_set(err, VD_ERR_INACCESSIBLE_PHYS_DEV, "%s: ['%.128s']",
					    vd_code_message(VD_ERR_INACCESSIBLE_PHYS_DEV),
					    guids[i]);
	pthread_mutex_lock(&create_lock);
	/* all maps: the requested ones with their status, the others for the name check */
	if (stg_devlist_get(0, NULL, 0, true, &l, err) < 0) {
		pthread_mutex_unlock(&create_lock);
		return -1;
	}
	r = check_devices(guids, n, force, &l, err);
	if (r == 0)
		r = host_vgs(&l, &vgs, &nvg, err);
	for (size_t i = 0; r == 0 && i < nvg; i++)
		if (strcmp(vgs[i].name, name) == 0)
			r = vd_error_set(err, VD_ERR_VOLUME_GROUP_EXISTS, "%s: %s (%s)",
					 vd_code_message(VD_ERR_VOLUME_GROUP_EXISTS), name,
					 vgs[i].uuid);
	if (r == 0)
		r = check_size(name, guids, n, &l, err);
	free(vgs);
	stg_devlist_free(&l);
	if (r == 0)
		r = stg_lvm_create_vg(&vs.lvm, name, guids, n, force, uuid, err);
	pthread_mutex_unlock(&create_lock);
	if (r == 0)
		log_info("storage: createVG %s: %zu PV(s), VG UUID %s", name, n, uuid);
	return r;
}

int stg_vg_info(const char *vg_uuid, struct stg_vg_info *ret, struct vd_error *err)
{
	struct stg_lvm_vg *vgs = NULL;
	size_t nvg = 0, o = 0;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (stg_devlist_get(0, NULL, 0, false, &ret->devs, err) < 0)
		return -1;
	r = host_vgs(&ret->devs, &vgs, &nvg, err);
	if (r < 0)
		goto fail;
	size_t k = 0;
	while (k < nvg && strcmp(vgs[k].uuid, vg_uuid) != 0)
		k++;
	if (k == nvg) {
		vd_error_set(err, VD_ERR_VOLUME_GROUP_DOES_NOT_EXIST, "%s: %.64s",
			     vd_code_message(VD_ERR_VOLUME_GROUP_DOES_NOT_EXIST), vg_uuid);
		goto fail;
	}
	ret->vg = vgs[k];
	free(vgs);
	ret->partial = strlen(ret->vg.attr) > 3 && ret->vg.attr[3] == 'p';
	/* keep the VG's PVs only */
	bool fcp = true;
	for (size_t i = 0; i < ret->devs.n; i++) {
		struct stg_dev *d = &ret->devs.devs[i];
		if (strcmp(d->vg_uuid, vg_uuid) != 0) {
			free(d->paths);
			continue;
		}
		fcp = fcp && d->transports == STG_TR_FCP;
		ret->devs.devs[o++] = *d;
	}
	ret->devs.n = o;
	ret->type = o && fcp ? 2 : 3;
	return 0;
fail:
	free(vgs);
	stg_devlist_free(&ret->devs);
	return -1;
}

void stg_vg_info_free(struct stg_vg_info *i)
{
	stg_devlist_free(&i->devs);
}
