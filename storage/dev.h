/* storage/dev: multipath devices as sysfs shows them (API.md §5.5 getDeviceList).
 *
 * One pass over <root>/sys/block: every dm-N whose dm/uuid is "mpath-<WWID>" is a
 * multipath map; its slaves are the paths (sdX), whose SCSI inquiry data (vendor,
 * model, rev, VPD page 0x80 serial), size and transport (iSCSI session or FC remote
 * port in the device path) come from sysfs too. sysfs text is validated (printable,
 * bounded) before use. Path states and LVM facts are added by the caller. */
#ifndef VD_STG_DEV_H
#define VD_STG_DEV_H

#include <stddef.h>
#include <stdint.h>

#include "../vdsm-c/util/macros.h"

enum stg_transport {
	STG_TR_UNKNOWN = 0,
	STG_TR_ISCSI = 1,
	STG_TR_FCP = 2,
};

struct stg_path {
	char dev[32];                 /* "sdb" */
	int64_t lun;                  /* L of H:C:T:L, -1 unknown */
	int64_t size;                 /* bytes */
	enum stg_transport transport;
	char state[16];               /* multipathd's dm state ("active", "failed"), "" unknown */
};

struct stg_dev {
	char guid[128];               /* WWID from dm/uuid "mpath-<WWID>" */
	char dm[32];                  /* "dm-3" */
	int64_t size;                 /* bytes */
	int logical_bs, physical_bs;
	char vendor[64], product[64], fwrev[32], serial[256];   /* first path; "" unknown */
	unsigned transports;          /* bitwise OR of the paths' stg_transport */
	struct stg_path *paths;
	size_t npaths;
	char pv_uuid[64], vg_uuid[64], pv_size[24];   /* "" when not an LVM PV / not in a VG */
};

struct stg_mpath_map;
struct stg_pv;

/* Joins multipathd's view and lvm's report into the scanned maps: each path's state
 * from the map of the same WWID (paths multipathd does not list keep ""), PV facts
 * from the pvs entry named /dev/mapper/<GUID>. */
void stg_dev_merge(struct stg_dev *devs, size_t n, const struct stg_mpath_map *maps,
		   size_t nmaps, const struct stg_pv *pvs, size_t npvs);

/* Keeps, in order, the maps of the given storage type (STG_TR_ISCSI or STG_TR_FCP
 * keeps maps with any path of that transport, as VDSM does; 0 = any) whose GUID is
 * in guids[0..nguids) (nguids 0 = any). Returns the new count; dropped maps freed. */
size_t stg_dev_filter(struct stg_dev *devs, size_t n, unsigned transport,
		      const char *const *guids, size_t nguids);

/* "iSCSI", "FCP" or "MIXED" (API.md: devtype); "" when no path has a known transport. */
const char *stg_dev_type(const struct stg_dev *d);

/* Scans <root>/sys/block (root "" or "/" = the host). Returns the number of maps with
 * *ret a malloc'ed array (free with stg_devs_free), or a negative errno. */
int stg_dev_scan(const char *root, struct stg_dev **ret) _wur_;
void stg_devs_free(struct stg_dev *devs, size_t n);

/* Serial number from the bytes of a VPD page 0x80 (unit serial number) as sysfs's
 * vpd_pg80 gives them: header (4 bytes, length in byte 3), then the ASCII serial;
 * blanks around it removed. Returns the length, or -EINVAL for a page that is not
 * 0x80, is truncated, or holds non-printable bytes. */
int stg_vpd80_serial(const unsigned char *page, size_t len, char *buf, size_t size) _wur_;

#endif
