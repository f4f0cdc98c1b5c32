/* storage/vg: createVG and getVGInfo (API.md §5.5) over the host's multipath maps.
 *
 * Every check is made before anything is written: the devices must be multipath maps
 * this host sees with an active path (606), not partitioned (607), not in use without
 * force (601), no VG of that name may exist on the host's maps (505), and together
 * they must have at least 10 GiB (504). Then storage/lvm makes the PVs and the VG, undoing its own steps
 * when a later one fails. Every lvm run is bounded and filtered (storage/lvm). */
#ifndef VD_STG_VG_H
#define VD_STG_VG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev.h"
#include "lvm.h"
#include "../vdsm-c/util/error.h"
#include "../vdsm-c/util/macros.h"

#define STG_VG_MIN_SIZE ((int64_t)10 << 30)   /* VDSM's minimal domain VG */

struct stg_vg_opts {
	const char *sysroot;          /* "" or "/" = the host; a tree for tests */
	const char *lvm;              /* absolute path of lvm(8) */
	double timeout;               /* seconds, one lvm run */
};
int stg_vg_start(const struct stg_vg_opts *o) _wur_;
void stg_vg_stop(void);

/* Creates the VG `name` (the caller checked it is a UUID) on /dev/mapper/<guid> for
 * each of guids[0..n). 0 with the VG's LVM UUID in uuid[64]; -1 with err set
 * (606, 607, 601, 505, 504, then 601/502 from lvm). */
int stg_vg_create(const char *name, const char *const *guids, size_t n, bool force,
		  char uuid[64], struct vd_error *err) _wur_;

struct stg_vg_info {
	struct stg_lvm_vg vg;
	bool partial;                 /* vg_attr: a PV is missing */
	int type;                     /* 2 FCP (every PV behind FC only), else 3 iSCSI */
	struct stg_devlist devs;      /* the VG's PVs (pv_uuid, pv_size filled) */
};

/* The VG whose LVM UUID is vg_uuid. 0, or -1 with err set (506 no such VG on this
 * host's maps, 500 lvm failed). Free with stg_vg_info_free. */
int stg_vg_info(const char *vg_uuid, struct stg_vg_info *ret, struct vd_error *err) _wur_;
void stg_vg_info_free(struct stg_vg_info *i);

/* True when one of the dm device's holders is a partition map (its dm/uuid starts with
 * "part", as kpartx names them). dm is "dm-N"; sysroot "" = the host. */
bool stg_vg_partitioned(const char *sysroot, const char *dm);

#endif
