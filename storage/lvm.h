/* storage/lvm: the lvm2 CLI runner and the reader of its JSON reports.
 *
 * Every lvm command runs through util/exec with a timeout ([irs] lvm_timeout) and a
 * `--config` whose device filter accepts exactly the given /dev/mapper devices and
 * rejects everything else, so lvm never scans (or hangs on) other disks. Reports are
 * requested with `--reportformat json --units b --nosuffix` and are child-process
 * output, hence untrusted: they are read with storage/json and every field is checked
 * (printable, bounded, sizes decimal) before anyone uses it. */
#ifndef VD_STG_LVM_H
#define VD_STG_LVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../vdsm-c/util/error.h"
#include "../vdsm-c/util/exec.h"
#include "../vdsm-c/util/macros.h"

#define STG_LVM_MAX_DEVS 256          /* devices in one filter (maximum_allowed_pvs bound) */
#define STG_LVM_MAX_ROWS 4096         /* rows in one report */

struct stg_lvm {
	const char *cmd;              /* absolute path of lvm(8), e.g. /usr/sbin/lvm */
	double timeout;               /* seconds, > 0 */
};

/* A multipath GUID usable in a filter and a /dev/mapper path: 1..127 bytes of
 * [A-Za-z0-9_:-], not starting with - (no regex or shell metacharacters). */
bool stg_lvm_guid_ok(const char *guid);

/* The --config text for guids[0..n): a devices filter/global_filter that accepts only
 * ^/dev/mapper/<guid>$ for each and rejects the rest, no devices file, no udev wait.
 * n == 0 rejects every device (for reports on nothing). Returns 0 and a malloc'ed
 * string; -EINVAL (bad GUID, n > STG_LVM_MAX_DEVS) or -ENOMEM. */
int stg_lvm_config(const char *const *guids, size_t n, char **ret) _wur_;

/* Runs `lvm <args[0]> --config <filter> <args[1]...>` (args NULL-terminated, args[0]
 * the subcommand). Returns 0; otherwise sets err (VOLUME_GROUP_ACTION with lvm's last
 * stderr line, or the timeout) and returns -1. res is filled when the command ran
 * (clear it with util_exec_result_clear in every case). */
int stg_lvm_run(const struct stg_lvm *l, const char *const *guids, size_t n,
		const char *const *args, struct util_exec_result *res,
		struct vd_error *err) _wur_;

struct stg_lvm_vg {
	char name[128], uuid[64], attr[16], tags[1024];
	int64_t size, free, extent_size, extent_count, free_count, pv_count;
};

struct stg_lvm_pv {
	char name[256], uuid[64], vg_name[128], vg_uuid[64];
	int64_t size, free, mda_size, pe_start, pe_count, pe_alloc_count;
};

struct stg_lvm_lv {
	char name[128], vg_name[128], attr[16], tags[1024];
	int64_t size;
};

/* The report columns each parser needs (pass to -o). */
extern const char STG_LVM_VG_COLUMNS[], STG_LVM_PV_COLUMNS[], STG_LVM_LV_COLUMNS[];

/* Parse `vgs|pvs|lvs --reportformat json --units b --nosuffix -o <COLUMNS>` output.
 * Returns 0 with a malloc'ed array (*n rows, possibly 0, *ret NULL then), -EINVAL for
 * anything else (bad JSON, missing/overlong/unprintable field, non-decimal size, more
 * than STG_LVM_MAX_ROWS rows), -ENOMEM. */
int stg_lvm_parse_vgs(const char *text, size_t len, struct stg_lvm_vg **ret, size_t *n) _wur_;
int stg_lvm_parse_pvs(const char *text, size_t len, struct stg_lvm_pv **ret, size_t *n) _wur_;
int stg_lvm_parse_lvs(const char *text, size_t len, struct stg_lvm_lv **ret, size_t *n) _wur_;

/* VDSM's layout of a domain VG: 128 MiB extents, 128 MiB PV metadata areas (two
 * copies, ignored but on the first PV), the VG tagged "not yet a domain". */
#define STG_LVM_EXTENT_MB 128
#define STG_LVM_PV_MDA_MB 128
#define STG_LVM_TAG_UNREADY "RHAT_storage_domain_UNREADY"

/* Makes the PVs /dev/mapper/<guid> (pvcreate; force = -ff --yes, which overwrites a
 * PV of another VG), enables the metadata area of the first PV only, and makes the VG
 * `name` on them with STG_LVM_TAG_UNREADY. Nothing half-made: when a later step fails, the PVs
 * this call made are removed again. The caller validates name and devices first.
 * Returns 0 and the new VG's UUID in uuid[64]; -1 with err set
 * (PHYS_DEV_INITIALIZATION: pvcreate, VOLUME_GROUP_CREATE: the rest). */
int stg_lvm_create_vg(const struct stg_lvm *l, const char *name,
		      const char *const *guids, size_t n, bool force, char uuid[64],
		      struct vd_error *err) _wur_;

/* VDSM's special LVs of a block domain, in the order they are made (sizes in MiB, each
 * rounded up to the 128 MiB extent by lvm): metadata 2048 (on the first PV), leases
 * 2048, ids 8, inbox 16, outbox 16, xleases 1024 (domain version 4 and later), master
 * 1024. */
struct stg_lvm_special {
	const char *name;
	int mb;
	int since_version;
};
extern const struct stg_lvm_special STG_LVM_SPECIAL[];
extern const size_t STG_LVM_NSPECIAL;

/* Makes the special LVs of domain version `version` in the VG `vg` whose PVs are
 * /dev/mapper/<guid> for guids[0..n) (the filter; the metadata LV goes on guids[0]):
 * `lvcreate --autobackup n --contiguous n --size <mb>m --name <lv> <vg> [<pv>]` each.
 * When one fails, the LVs this call made are removed again (`lvremove -f vg/lv`, newest
 * first). The caller validated vg (a UUID) and the GUIDs. Returns 0; -1 with err set
 * (STORAGE_DOMAIN_CREATION with lvm's message; 1000 for a bad device list). Building
 * block of block createStorageDomain, not yet called by a verb. */
int stg_lvm_create_special_lvs(const struct stg_lvm *l, const char *vg,
			       const char *const *guids, size_t n, int version,
			       struct vd_error *err) _wur_;

#endif
