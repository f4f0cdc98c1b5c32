/* storage/devlist: getDeviceList's data (API.md §5.5): the sysfs scan of dev.c joined
 * with one multipathd query and one pvs run per request, and — for checkStatus — one
 * blkid run. Every wait is bounded: the multipathd socket by a poll() deadline, pvs
 * and blkid by util_exec's timeout. A map without an active path is never opened
 * (pvs and blkid do not see it; its status is "unknown"), so a dead LUN queueing I/O
 * does not cost the call a timeout. */
#include "dev.h"
#include "lvm.h"
#include "mpath.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../vdsm-c/util/exec.h"
#include "../vdsm-c/util/log.h"

#define MPATHD_CMD "show maps json"

static struct {
	char *sysroot;
	char *mpathd_socket;
	char *lvm;
	char *blkid;
	double timeout;
} dl;

void stg_devlist_stop(void)
{
	free(dl.sysroot);
	free(dl.mpathd_socket);
	free(dl.lvm);
	free(dl.blkid);
	dl.sysroot = dl.mpathd_socket = dl.lvm = dl.blkid = NULL;
}

int stg_devlist_start(const struct stg_devlist_opts *o)
{
	if (!o->lvm || o->lvm[0] != '/' || !o->blkid || o->blkid[0] != '/' || o->timeout <= 0)
		return -EINVAL;
	const char *root = o->sysroot && strcmp(o->sysroot, "/") != 0 ? o->sysroot : "";
	dl.sysroot = strdup(root);
	dl.mpathd_socket = strdup(o->mpathd_socket ? o->mpathd_socket : STG_MPATHD_SOCKET);
	dl.lvm = strdup(o->lvm);
	dl.blkid = strdup(o->blkid);
	dl.timeout = o->timeout;
	if (!dl.sysroot || !dl.mpathd_socket || !dl.lvm || !dl.blkid) {
		stg_devlist_stop();
		return -ENOMEM;
	}
	return 0;
}

/* A path's state: multipathd's dm state; without multipathd's word, the SCSI device's
 * sysfs state ("running" → active, anything else → failed). */
static void path_states(struct stg_dev *d)
{
	for (size_t k = 0; k < d->npaths; k++) {
		struct stg_path *p = &d->paths[k];
		if (p->state[0])
			continue;
		snprintf(p->state, sizeof(p->state), "%s",
			 strcmp(p->sdev_state, "running") == 0 ? "active" : "failed");
	}
}

/* A map pvs and blkid may open: one active path at least (a map without one may queue
 * the I/O for ever), and its node /dev/mapper/<GUID> (under the sysroot) exists: blkid
 * says nothing about a missing one, which would read as "free". stat() of a device
 * node does no I/O on the device. */
static bool probe_ok(const struct stg_dev *d)
{
	char node[PATH_MAX];
	struct stat st;
	bool active = false;

	for (size_t k = 0; k < d->npaths && !active; k++)
		active = strcmp(d->paths[k].state, "active") == 0;
	if (snprintf(node, sizeof(node), "%s/dev/mapper/%s", dl.sysroot, d->guid) >=
	    (int)sizeof(node))
		return false;
	return active && stat(node, &st) == 0;
}

/* argv = prefix... then one "<sysroot>/dev/mapper/<GUID>" per device selected by sel (or, when
 * joined, one comma-separated argument). NULL-terminated; the strings are malloc'ed. */
static char **dev_argv(const char *const *prefix, size_t np, const struct stg_dev *devs,
		       const bool *sel, size_t n, bool joined)
{
	char **argv = calloc(np + n + 2, sizeof(*argv));
	size_t a = 0;
	if (!argv)
		return NULL;
	for (; a < np; a++)
		if (!(argv[a] = strdup(prefix[a])))
			goto fail;
	if (joined) {
		size_t len = 1;
		for (size_t i = 0; i < n; i++)
			len += sel[i] ? strlen(dl.sysroot) + strlen(devs[i].guid) + 13 : 0;
		char *s = calloc(1, len);
		if (!(argv[a++] = s))
			goto fail;
		for (size_t i = 0; i < n; i++)
			if (sel[i]) {
				if (s[0])
					strcat(s, ",");
				strcat(s, dl.sysroot);
				strcat(s, "/dev/mapper/");
				strcat(s, devs[i].guid);
			}
		return argv;
	}
	for (size_t i = 0; i < n; i++)
		if (sel[i] && asprintf(&argv[a++], "%s/dev/mapper/%s", dl.sysroot, devs[i].guid) < 0) {
			argv[a - 1] = NULL;
			goto fail;
		}
	return argv;
fail:
	for (size_t k = 0; argv[k]; k++)
		free(argv[k]);
	free(argv);
	return NULL;
}

static void argv_free(char **argv)
{
	for (size_t k = 0; argv && argv[k]; k++)
		free(argv[k]);
	free(argv);
}

/* One pvs over the selected maps only (--devices: nothing else is scanned, and the
 * filter keeps lvm off every other device even if it looked). The device list is not
 * taken from udev: lvm would wait up to 10 s for each device udev has not processed yet
 * (a busy udev queue after a rescan), and the nodes are given anyway. 0, or -1 when the report
 * is unusable (the caller then knows nothing about PVs). */
static int run_pvs(struct stg_dev *devs, size_t n, const bool *sel, struct stg_lvm_pv **pvs,
		   size_t *npvs)
{
	const char *pre[] = { dl.lvm, "pvs", "--reportformat", "json", "--units", "b",
			      "--nosuffix", "-o", STG_LVM_PV_COLUMNS, "--config",
			      "devices { filter = [ \"a|/dev/mapper/|\", \"r|.*|\" ] "
			      "use_devicesfile = 0 obtain_device_list_from_udev = 0 "
			      "external_device_info_source = \"none\" } "
			      "global { use_lvmpolld = 0 }",
			      "--devices" };
	char **argv = dev_argv(pre, sizeof(pre) / sizeof(pre[0]), devs, sel, n, true);
	struct util_exec_opts o = { .timeout = dl.timeout, .cap = (size_t)16 << 20 };
	struct util_exec_result res = { 0 };
	char line[256];

	if (!argv)
		return -1;
	int r = util_exec((const char *const *)argv, &o, &res);
	argv_free(argv);
	/* pvs exits 5 when one of the devices is no PV; the report is complete anyway */
	if (r == 0 || (r == -ECHILD && !res.signal && !res.timed_out))
		r = stg_lvm_parse_pvs(res.out, res.out_len, pvs, npvs);
	if (r < 0)
		log_warning("storage: getDeviceList: pvs %s: %s",
			    res.timed_out ? "timed out" : "failed",
			    res.err ? util_exec_last_line(&res, line, sizeof(line)) : strerror(-r));
	util_exec_result_clear(&res);
	return r < 0 ? -1 : 0;
}

/* One blkid -p over the selected maps: a file system, partition table, LVM or RAID
 * signature makes a device "used" (pvcreate would refuse it without force). Devices
 * blkid did not answer for (timeout) stay "unknown". */
static void run_blkid(struct stg_dev *devs, size_t n, const bool *sel)
{
	const char *pre[] = { dl.blkid, "-p", "-o", "export" };
	char **argv = dev_argv(pre, sizeof(pre) / sizeof(pre[0]), devs, sel, n, false);
	struct util_exec_opts o = { .timeout = dl.timeout, .cap = (size_t)4 << 20 };
	struct util_exec_result res = { 0 };
	char line[256];

	if (!argv)
		return;
	int r = util_exec((const char *const *)argv, &o, &res);
	argv_free(argv);
	/* exit status 2: nothing found on (the last) device; the output still counts */
	if (r == 0 || (r == -ECHILD && !res.signal && !res.timed_out && res.status == 2)) {
		stg_blkid_mark_used(res.out, res.out_len, devs, n);
		for (size_t i = 0; i < n; i++)
			if (sel[i] && strcmp(devs[i].status, "used") != 0)
				snprintf(devs[i].status, sizeof(devs[i].status), "free");
	} else {
		log_warning("storage: getDeviceList: blkid %s: %s",
			    res.timed_out ? "timed out" : "failed",
			    res.err ? util_exec_last_line(&res, line, sizeof(line)) : strerror(-r));
	}
	util_exec_result_clear(&res);
}

void stg_devlist_free(struct stg_devlist *l)
{
	stg_devs_free(l->devs, l->n);
	for (size_t i = 0; l->sessions && i < l->nsessions; i++)
		explicit_bzero(l->sessions[i].password, sizeof(l->sessions[i].password));
	free(l->sessions);
	*l = (struct stg_devlist){ 0 };
}

/* The iSCSI sessions behind the paths, each read once. */
static int read_sessions(struct stg_devlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		for (size_t k = 0; k < l->devs[i].npaths; k++) {
			int id = l->devs[i].paths[k].session;
			bool seen = id < 0;
			for (size_t s = 0; s < l->nsessions && !seen; s++)
				seen = l->sessions[s].id == id;
			if (seen)
				continue;
			struct stg_iscsi_session *ns = realloc(l->sessions,
							       (l->nsessions + 1) * sizeof(*ns));
			if (!ns)
				return -ENOMEM;
			l->sessions = ns;
			if (stg_iscsi_session_read(dl.sysroot, id, &ns[l->nsessions]) == 0)
				l->nsessions++;
			else
				log_warning("storage: getDeviceList: iSCSI session%d unreadable", id);
		}
	return 0;
}

const struct stg_iscsi_session *stg_devlist_session(const struct stg_devlist *l, int id)
{
	for (size_t s = 0; s < l->nsessions; s++)
		if (l->sessions[s].id == id)
			return &l->sessions[s];
	return NULL;
}

int stg_devlist_get(unsigned transport, const char *const *guids, size_t nguids,
		    bool check_status, struct stg_devlist *ret, struct vd_error *err)
{
	struct stg_mpath_map *maps = NULL;
	struct stg_lvm_pv *pvs = NULL;
	size_t nmaps = 0, npvs = 0, len = 0;
	char *reply = NULL;
	bool *sel = NULL;

	*ret = (struct stg_devlist){ 0 };
	if (!dl.lvm)
		return vd_error_set(err, VD_ERR_BLOCK_DEVICE_ACTION, "%s: storage not started",
				    vd_code_message(VD_ERR_BLOCK_DEVICE_ACTION));
	int n = stg_dev_scan(dl.sysroot, &ret->devs);
	if (n < 0)
		return vd_error_set(err, VD_ERR_BLOCK_DEVICE_ACTION, "%s: sysfs scan: %s",
				    vd_code_message(VD_ERR_BLOCK_DEVICE_ACTION), strerror(-n));
	ret->n = stg_dev_filter(ret->devs, (size_t)n, transport, guids, nguids);

	int r = stg_mpathd_query(dl.mpathd_socket, MPATHD_CMD, (int)(dl.timeout * 1000), &reply,
				 &len);
	if (r == 0)
		r = stg_mpath_parse_maps(reply, len, &maps, &nmaps);
	free(reply);
	ret->mpathd_ok = r == 0;
	if (r < 0)
		log_warning("storage: getDeviceList: multipathd: %s; path states from sysfs",
			    strerror(-r));

	sel = calloc(ret->n + 1, sizeof(*sel));
	if (!sel) {
		stg_mpath_maps_free(maps, nmaps);
		stg_devlist_free(ret);
		return vd_error_set(err, VD_ERR_BLOCK_DEVICE_ACTION, "out of memory");
	}
	stg_dev_merge(ret->devs, ret->n, maps, nmaps, NULL, 0);
	stg_mpath_maps_free(maps, nmaps);
	size_t nsel = 0;
	for (size_t i = 0; i < ret->n; i++) {
		path_states(&ret->devs[i]);
		snprintf(ret->devs[i].status, sizeof(ret->devs[i].status), "unknown");
		sel[i] = probe_ok(&ret->devs[i]);
		nsel += sel[i];
	}
	if (nsel && run_pvs(ret->devs, ret->n, sel, &pvs, &npvs) == 0) {
		stg_dev_merge(ret->devs, ret->n, NULL, 0, pvs, npvs);
		ret->pvs_ok = true;
	}
	free(pvs);
	if (check_status && nsel) {
		/* a PV or a device with holders (partitions, LVs) is used without asking */
		for (size_t i = 0; i < ret->n; i++)
			if (sel[i] && (ret->devs[i].pv_uuid[0] || ret->devs[i].holders)) {
				snprintf(ret->devs[i].status, sizeof(ret->devs[i].status), "used");
				sel[i] = false;
				nsel--;
			}
		if (nsel)
			run_blkid(ret->devs, ret->n, sel);
	}
	free(sel);
	if (read_sessions(ret) < 0) {
		stg_devlist_free(ret);
		return vd_error_set(err, VD_ERR_BLOCK_DEVICE_ACTION, "out of memory");
	}
	return 0;
}
