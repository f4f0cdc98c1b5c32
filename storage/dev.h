/* storage/dev: multipath devices as sysfs shows them (API.md §5.5 getDeviceList).
 *
 * One pass over <root>/sys/block: every dm-N whose dm/uuid is "mpath-<WWID>" is a
 * multipath map; its slaves are the paths (sdX), whose SCSI inquiry data (vendor,
 * model, rev, VPD page 0x80 serial), size and transport (iSCSI session or FC remote
 * port in the device path) come from sysfs too. sysfs text is validated (printable,
 * bounded) before use. Path states and LVM facts are added by the caller. */
#ifndef VD_STG_DEV_H
#define VD_STG_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../vdsm-c/util/error.h"
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
	int session;                  /* iSCSI session number (sessionN in the path), -1 none */
	char sdev_state[16];          /* the SCSI device's sysfs state ("running", "offline", ...) */
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
	int64_t discard_max_bytes;    /* queue/discard_max_bytes, 0 unknown */
	int discard_zeroes_data;      /* queue/discard_zeroes_data, 0 unknown */
	unsigned holders;             /* entries of holders/ (partitions, LVs on top) */
	char status[8];               /* "free", "used", "unknown" (getDeviceList checkStatus) */
};

struct stg_mpath_map;
struct stg_lvm_pv;

/* Joins multipathd's view and lvm's report into the scanned maps: each path's state
 * from the map of the same WWID (paths multipathd does not list keep ""), PV facts
 * from the pvs entry named /dev/mapper/<GUID>. */
void stg_dev_merge(struct stg_dev *devs, size_t n, const struct stg_mpath_map *maps,
		   size_t nmaps, const struct stg_lvm_pv *pvs, size_t npvs);

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

/* An iSCSI session as sysfs shows it (getDeviceList pathlist). */
struct stg_iscsi_session {
	int id;                       /* N of sessionN */
	char address[256];            /* portal address the session was made to */
	int port;
	char iqn[224];
	int tpgt;
	char iface[64];               /* iscsiadm iface ("default") */
	char user[256], password[256];   /* CHAP, "" none; the password is a secret */
};

/* Reads <root>/sys/class/iscsi_session/session<id> and its connection <id>:0. 0, or a
 * negative errno (no such session, text not sane). */
int stg_iscsi_session_read(const char *root, int id, struct stg_iscsi_session *ret) _wur_;

/* ---- getDeviceList (devlist.c) ---- */

struct stg_devlist_opts {
	const char *sysroot;          /* "" or "/" = the host; a tree for tests */
	const char *mpathd_socket;    /* abstract socket name, NULL = STG_MPATHD_SOCKET */
	const char *lvm;              /* absolute path of lvm(8) */
	const char *blkid;            /* absolute path of blkid(8) */
	double timeout;               /* seconds for the multipathd query, pvs, blkid each */
};
int stg_devlist_start(const struct stg_devlist_opts *o) _wur_;
void stg_devlist_stop(void);

struct stg_devlist {
	struct stg_dev *devs;
	size_t n;
	struct stg_iscsi_session *sessions;   /* behind the devices' iSCSI paths */
	size_t nsessions;
	bool mpathd_ok;               /* path states from multipathd (else from sysfs) */
	bool pvs_ok;                  /* PV fields from a usable pvs report */
};

/* The multipath maps of the given transport (0 = any) and GUIDs (nguids 0 = any), with
 * path states, PV facts (one pvs run over the maps with an active path) and, when
 * check_status, each device's status (one blkid run; maps without an active path stay
 * "unknown"). multipathd not answering is no error (states then from sysfs). 0, or -1
 * with err set (600: sysfs unreadable). Free with stg_devlist_free. */
int stg_devlist_get(unsigned transport, const char *const *guids, size_t nguids,
		    bool check_status, struct stg_devlist *ret, struct vd_error *err) _wur_;
void stg_devlist_free(struct stg_devlist *l);
const struct stg_iscsi_session *stg_devlist_session(const struct stg_devlist *l, int id);

/* Marks "used" each of devs whose block in `blkid -p -o export` output (DEVNAME=
 * [<root>]/dev/mapper/<GUID>, then NAME=value lines, blocks separated by blank lines) has a
 * TYPE or PTTYPE. Returns the number of devices newly marked. */
size_t stg_blkid_mark_used(const char *text, size_t len, struct stg_dev *devs, size_t n);

#endif
