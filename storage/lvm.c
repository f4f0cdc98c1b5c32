/* storage/lvm: see lvm.h. */
#include "lvm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "../vdsm-c/util/log.h"

const char STG_LVM_VG_COLUMNS[] = "vg_name,vg_uuid,vg_attr,vg_tags,vg_size,vg_free,"
	"vg_extent_size,vg_extent_count,vg_free_count,pv_count";
const char STG_LVM_PV_COLUMNS[] = "pv_name,pv_uuid,vg_name,vg_uuid,pv_size,pv_free,"
	"pv_mda_size,pe_start,pv_pe_count,pv_pe_alloc_count";
const char STG_LVM_LV_COLUMNS[] = "lv_name,vg_name,lv_attr,lv_tags,lv_size";

bool stg_lvm_guid_ok(const char *guid)
{
	size_t len = guid ? strlen(guid) : 0;

	if (len == 0 || len > 127 || guid[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = guid[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == ':'))
			return false;
	}
	return true;
}

static int filter_list(const char *const *guids, size_t n, char *out, size_t size,
		       size_t *pos)
{
	int r;

	r = snprintf(out + *pos, size - *pos, "[");
	if (r < 0 || (size_t)r >= size - *pos)
		return -ENOMEM;
	*pos += (size_t)r;
	for (size_t i = 0; i < n; i++) {
		r = snprintf(out + *pos, size - *pos, "\"a|^/dev/mapper/%s$|\",", guids[i]);
		if (r < 0 || (size_t)r >= size - *pos)
			return -ENOMEM;
		*pos += (size_t)r;
	}
	r = snprintf(out + *pos, size - *pos, "\"r|.*|\"]");
	if (r < 0 || (size_t)r >= size - *pos)
		return -ENOMEM;
	*pos += (size_t)r;
	return 0;
}

int stg_lvm_config(const char *const *guids, size_t n, char **ret)
{
	size_t size = 512, pos = 0;
	char *out;
	int r;

	*ret = NULL;
	if (n > STG_LVM_MAX_DEVS)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!stg_lvm_guid_ok(guids[i]))
			return -EINVAL;
		size += 2 * (strlen(guids[i]) + 24);
	}
	out = malloc(size);
	if (!out)
		return -ENOMEM;
	/* The same list as filter and global_filter: global_filter also binds lvmdbusd
	 * and any cache; no devices file (it would add or hide devices behind the
	 * filter's back); device list from /dev, not udev, which may lag behind. */
	r = snprintf(out, size, "devices { preferred_names=[\"^/dev/mapper/\"] "
		     "ignore_suspended_devices=1 write_cache_state=0 "
		     "use_devicesfile=0 obtain_device_list_from_udev=0 filter=");
	if (r < 0 || (size_t)r >= size)
		goto nomem;
	pos = (size_t)r;
	if (filter_list(guids, n, out, size, &pos) < 0)
		goto nomem;
	r = snprintf(out + pos, size - pos, " global_filter=");
	if (r < 0 || (size_t)r >= size - pos)
		goto nomem;
	pos += (size_t)r;
	if (filter_list(guids, n, out, size, &pos) < 0)
		goto nomem;
	r = snprintf(out + pos, size - pos, " } global { use_lvmpolld=0 } "
		     "backup { retain_min=50 retain_days=0 }");
	if (r < 0 || (size_t)r >= size - pos)
		goto nomem;
	*ret = out;
	return 0;
nomem:
	free(out);
	return -ENOMEM;
}

static int run(const struct stg_lvm *l, const char *const *guids, size_t n,
	       const char *const *args, int code, struct util_exec_result *res,
	       struct vd_error *err)
{
	struct util_exec_opts o = { .timeout = l->timeout };
	const char *argv[STG_LVM_MAX_DEVS + 32];
	size_t argc = 0;
	char *cfg = NULL, line[256];
	int r;

	memset(res, 0, sizeof(*res));
	if (!args || !args[0])
		return vd_error_set(err, VD_ERR_VOLUME_GROUP_ACTION, "lvm: no command");
	r = stg_lvm_config(guids, n, &cfg);
	if (r < 0)
		return vd_error_set(err, r == -EINVAL ? VD_ERR_INVALID_PARAMETER :
				    VD_ERR_VOLUME_GROUP_ACTION,
				    "lvm %s: bad device list (%s)", args[0], strerror(-r));
	argv[argc++] = l->cmd;
	argv[argc++] = args[0];
	argv[argc++] = "--config";
	argv[argc++] = cfg;
	for (size_t i = 1; args[i]; i++) {
		if (argc + 1 >= sizeof(argv) / sizeof(argv[0])) {
			free(cfg);
			return vd_error_set(err, VD_ERR_VOLUME_GROUP_ACTION,
					    "lvm %s: too many arguments", args[0]);
		}
		argv[argc++] = args[i];
	}
	argv[argc] = NULL;
	r = util_exec(argv, &o, res);
	free(cfg);
	if (r == -ETIME)
		return vd_error_set(err, VD_ERR_VOLUME_GROUP_ACTION,
				    "lvm %s: no answer within %g s", args[0], l->timeout);
	if (r < 0)
		return vd_error_set(err, code, "lvm %s: %s", args[0],
				    r == -ECHILD ? util_exec_last_line(res, line, sizeof(line)) :
				    strerror(-r));
	return 0;
}

int stg_lvm_run(const struct stg_lvm *l, const char *const *guids, size_t n,
		const char *const *args, struct util_exec_result *res,
		struct vd_error *err)
{
	return run(l, guids, n, args, VD_ERR_VOLUME_GROUP_ACTION, res, err);
}

/* ---- reports ---- */

enum kind { F_STR, F_INT };

struct field {
	const char *key;
	enum kind kind;
	size_t off, size;             /* F_STR: char[size] at off; F_INT: int64_t at off */
};

#define S(type, key, member) { key, F_STR, offsetof(type, member), \
			       sizeof(((type *)0)->member) }
#define I(type, key, member) { key, F_INT, offsetof(type, member), 0 }

static const struct field vg_fields[] = {
	S(struct stg_lvm_vg, "vg_name", name), S(struct stg_lvm_vg, "vg_uuid", uuid),
	S(struct stg_lvm_vg, "vg_attr", attr), S(struct stg_lvm_vg, "vg_tags", tags),
	I(struct stg_lvm_vg, "vg_size", size), I(struct stg_lvm_vg, "vg_free", free),
	I(struct stg_lvm_vg, "vg_extent_size", extent_size),
	I(struct stg_lvm_vg, "vg_extent_count", extent_count),
	I(struct stg_lvm_vg, "vg_free_count", free_count),
	I(struct stg_lvm_vg, "pv_count", pv_count),
	{ NULL, F_STR, 0, 0 },
};

static const struct field pv_fields[] = {
	S(struct stg_lvm_pv, "pv_name", name), S(struct stg_lvm_pv, "pv_uuid", uuid),
	S(struct stg_lvm_pv, "vg_name", vg_name), S(struct stg_lvm_pv, "vg_uuid", vg_uuid),
	I(struct stg_lvm_pv, "pv_size", size), I(struct stg_lvm_pv, "pv_free", free),
	I(struct stg_lvm_pv, "pv_mda_size", mda_size),
	I(struct stg_lvm_pv, "pe_start", pe_start),
	I(struct stg_lvm_pv, "pv_pe_count", pe_count),
	I(struct stg_lvm_pv, "pv_pe_alloc_count", pe_alloc_count),
	{ NULL, F_STR, 0, 0 },
};

static const struct field lv_fields[] = {
	S(struct stg_lvm_lv, "lv_name", name), S(struct stg_lvm_lv, "vg_name", vg_name),
	S(struct stg_lvm_lv, "lv_attr", attr), S(struct stg_lvm_lv, "lv_tags", tags),
	I(struct stg_lvm_lv, "lv_size", size),
	{ NULL, F_STR, 0, 0 },
};

static int read_field(const struct stg_json *doc, int32_t row, const struct field *f,
		      char *rec)
{
	int32_t v = stg_json_get_type(doc, row, f->key, STG_JSON_STRING);
	char tmp[32];
	int64_t x;
	int r;

	if (v < 0)
		return -EINVAL;
	if (f->kind == F_STR) {
		char *s = rec + f->off;

		r = stg_json_string(doc, v, s, f->size);
		if (r < 0)
			return -EINVAL;
		for (int i = 0; i < r; i++)
			if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
				return -EINVAL;
		return 0;
	}
	/* lvm prints an empty string for a size it does not know (an orphan PV's
	 * extents, a missing PV): -1 */
	r = stg_json_string(doc, v, tmp, sizeof(tmp));
	if (r == 0) {
		x = -1;
	} else if (r < 0 || stg_json_uint(doc, v, &x) < 0) {
		return -EINVAL;
	}
	memcpy(rec + f->off, &x, sizeof(x));
	return 0;
}

/* {"report": [ {"<kind>": [ {row}, ... ]} ]} — lvm prints one report object per
 * command; anything around it (log sections) is ignored. */
static int parse_report(const char *text, size_t len, const char *kind,
			const struct field *fields, size_t recsize, void **ret, size_t *n)
{
	struct stg_json doc;
	int32_t reports, rep, rows, row;
	char *out = NULL;
	size_t count = 0;
	int r;

	*ret = NULL;
	*n = 0;
	r = stg_json_parse(text, len, &doc);
	if (r < 0)
		return r;
	r = -EINVAL;
	if (doc.nodes[0].type != STG_JSON_OBJECT)
		goto out;
	reports = stg_json_get_type(&doc, 0, "report", STG_JSON_ARRAY);
	if (reports < 0 || doc.nodes[reports].count < 1)
		goto out;
	rep = doc.nodes[reports].child;
	rows = stg_json_get_type(&doc, rep, kind, STG_JSON_ARRAY);
	if (rows < 0 || doc.nodes[rows].count > STG_LVM_MAX_ROWS)
		goto out;
	count = (size_t)doc.nodes[rows].count;
	if (count) {
		out = calloc(count, recsize);
		if (!out) {
			r = -ENOMEM;
			goto out;
		}
	}
	row = doc.nodes[rows].child;
	for (size_t i = 0; i < count; i++, row = doc.nodes[row].next) {
		if (row < 0 || doc.nodes[row].type != STG_JSON_OBJECT)
			goto out;
		for (const struct field *f = fields; f->key; f++)
			if (read_field(&doc, row, f, out + i * recsize) < 0)
				goto out;
	}
	*ret = out;
	*n = count;
	out = NULL;
	r = 0;
out:
	free(out);
	stg_json_free(&doc);
	return r;
}

int stg_lvm_parse_vgs(const char *text, size_t len, struct stg_lvm_vg **ret, size_t *n)
{
	return parse_report(text, len, "vg", vg_fields, sizeof(**ret), (void **)ret, n);
}

int stg_lvm_parse_pvs(const char *text, size_t len, struct stg_lvm_pv **ret, size_t *n)
{
	return parse_report(text, len, "pv", pv_fields, sizeof(**ret), (void **)ret, n);
}

int stg_lvm_parse_lvs(const char *text, size_t len, struct stg_lvm_lv **ret, size_t *n)
{
	return parse_report(text, len, "lv", lv_fields, sizeof(**ret), (void **)ret, n);
}

/* ---- createVG ---- */

#define MB(x) #x "m"
#define XMB(x) MB(x)

/* args[0..k) + /dev/mapper/<guid> for each guid; paths[] holds the strings. */
static int dev_args(const char **argv, size_t k, size_t max, const char *const *guids,
		    size_t n, char (*paths)[160])
{
	if (k + n + 1 > max)
		return -E2BIG;
	for (size_t i = 0; i < n; i++) {
		snprintf(paths[i], sizeof(paths[i]), "/dev/mapper/%s", guids[i]);
		argv[k++] = paths[i];
	}
	argv[k] = NULL;
	return 0;
}

static int step(const struct stg_lvm *l, const char *const *guids, size_t n,
		const char *const *argv, int code, struct vd_error *err)
{
	struct util_exec_result res;
	int r = run(l, guids, n, argv, code, &res, err);

	util_exec_result_clear(&res);
	return r;
}

int stg_lvm_create_vg(const struct stg_lvm *l, const char *name,
		      const char *const *guids, size_t n, bool force, char uuid[64],
		      struct vd_error *err)
{
	enum { MAX = STG_LVM_MAX_DEVS + 16 };
	const char *argv[MAX];
	char (*paths)[160] = NULL;
	struct util_exec_result res = { 0 };
	struct stg_lvm_vg *vg = NULL;
	size_t k = 0, nvg = 0;
	int r = -1;

	uuid[0] = 0;
	if (n == 0 || n > STG_LVM_MAX_DEVS)
		return vd_error_set(err, VD_ERR_INVALID_PARAMETER,
				    "createVG: %zu devices (1..%d)", n, STG_LVM_MAX_DEVS);
	paths = calloc(n, sizeof(*paths));
	if (!paths)
		return vd_error_set(err, VD_ERR_VOLUME_GROUP_CREATE, "createVG: out of memory");

	argv[k++] = "pvcreate";
	argv[k++] = "--metadatasize";
	argv[k++] = XMB(STG_LVM_PV_MDA_MB);
	argv[k++] = "--metadatacopies";
	argv[k++] = "2";
	argv[k++] = "--metadataignore";
	argv[k++] = "y";
	if (force) {
		argv[k++] = "-ff";
		argv[k++] = "--yes";
	}
	if (dev_args(argv, k, MAX, guids, n, paths) < 0 ||
	    step(l, guids, n, argv, VD_ERR_PHYS_DEV_INITIALIZATION, err) < 0)
		goto out;     /* pvcreate makes all or none of the PVs */

	/* the VG's metadata lives on the first PV only, as VDSM keeps it:
	 * enabled before vgcreate (lvm refuses to change it inside a VG whose
	 * areas would then all be ignored) */
	k = 0;
	argv[k++] = "pvchange";
	argv[k++] = "--metadataignore";
	argv[k++] = "n";
	argv[k++] = paths[0];
	argv[k] = NULL;
	if (step(l, guids, n, argv, VD_ERR_VOLUME_GROUP_CREATE, err) < 0)
		goto undo_pvs;

	k = 0;
	argv[k++] = "vgcreate";
	argv[k++] = "--physicalextentsize";
	argv[k++] = XMB(STG_LVM_EXTENT_MB);
	argv[k++] = "--addtag";
	argv[k++] = STG_LVM_TAG_UNREADY;
	argv[k++] = name;
	if (dev_args(argv, k, MAX, guids, n, paths) < 0 ||
	    step(l, guids, n, argv, VD_ERR_VOLUME_GROUP_CREATE, err) < 0)
		goto undo_pvs;

	k = 0;
	argv[k++] = "vgs";
	argv[k++] = "--reportformat";
	argv[k++] = "json";
	argv[k++] = "--units";
	argv[k++] = "b";
	argv[k++] = "--nosuffix";
	argv[k++] = "-o";
	argv[k++] = STG_LVM_VG_COLUMNS;
	argv[k++] = name;
	argv[k] = NULL;
	if (run(l, guids, n, argv, VD_ERR_VOLUME_GROUP_CREATE, &res, err) < 0)
		goto undo_vg;
	if (stg_lvm_parse_vgs(res.out, res.out_len, &vg, &nvg) < 0 || nvg != 1 ||
	    strcmp(vg[0].name, name) != 0 || !vg[0].uuid[0]) {
		vd_error_set(err, VD_ERR_VOLUME_GROUP_CREATE,
			     "createVG %s: vgs does not report the new VG", name);
		goto undo_vg;
	}
	snprintf(uuid, 64, "%s", vg[0].uuid);
	r = 0;
	goto out;

undo_vg:
	k = 0;
	argv[k++] = "vgremove";
	argv[k++] = "-f";
	argv[k++] = name;
	argv[k] = NULL;
	{
		struct vd_error e = { 0 };

		if (step(l, guids, n, argv, VD_ERR_VOLUME_GROUP_ACTION, &e) < 0)
			log_warning("createVG %s: undo: %s", name, e.msg);
	}
undo_pvs:
	/* without -ff: pvremove refuses a PV that is (still) in a VG */
	k = 0;
	argv[k++] = "pvremove";
	argv[k++] = "--yes";
	if (dev_args(argv, k, MAX, guids, n, paths) == 0) {
		struct vd_error e = { 0 };

		if (step(l, guids, n, argv, VD_ERR_VOLUME_GROUP_ACTION, &e) < 0)
			log_warning("createVG %s: undo: %s", name, e.msg);
	}
out:
	util_exec_result_clear(&res);
	free(vg);
	free(paths);
	return r;
}

/* ---- the special LVs of a block domain ---- */

const struct stg_lvm_special STG_LVM_SPECIAL[] = {
	{ "metadata", 2048, 0 },
	{ "leases", 2048, 0 },
	{ "ids", 8, 0 },
	{ "inbox", 16, 0 },
	{ "outbox", 16, 0 },
	{ "xleases", 1024, 4 },
	{ "master", 1024, 0 },
};
const size_t STG_LVM_NSPECIAL = sizeof(STG_LVM_SPECIAL) / sizeof(STG_LVM_SPECIAL[0]);

static void remove_lvs(const struct stg_lvm *l, const char *vg, const char *const *guids,
		       size_t n, const size_t *made, size_t nmade)
{
	for (size_t k = nmade; k-- > 0;) {
		char target[256];
		struct vd_error e = { 0 };

		snprintf(target, sizeof(target), "%s/%s", vg, STG_LVM_SPECIAL[made[k]].name);
		const char *argv[] = { "lvremove", "-f", "--autobackup", "n", target, NULL };
		if (step(l, guids, n, argv, VD_ERR_VOLUME_GROUP_ACTION, &e) < 0)
			log_warning("createStorageDomain %s: undo: %s", vg, e.msg);
	}
}

int stg_lvm_create_special_lvs(const struct stg_lvm *l, const char *vg,
			       const char *const *guids, size_t n, int version,
			       struct vd_error *err)
{
	size_t made[sizeof(STG_LVM_SPECIAL) / sizeof(STG_LVM_SPECIAL[0])], nmade = 0;
	char pv[160], size[16];

	if (n == 0 || n > STG_LVM_MAX_DEVS || !stg_lvm_guid_ok(guids[0]))
		return vd_error_set(err, VD_ERR_INVALID_PARAMETER,
				    "createStorageDomain %s: bad device list", vg);
	snprintf(pv, sizeof(pv), "/dev/mapper/%s", guids[0]);
	for (size_t i = 0; i < STG_LVM_NSPECIAL; i++) {
		const struct stg_lvm_special *s = &STG_LVM_SPECIAL[i];

		if (version < s->since_version)
			continue;
		snprintf(size, sizeof(size), "%dm", s->mb);
		const char *argv[] = { "lvcreate", "--autobackup", "n", "--contiguous", "n",
				       "--size", size, "--name", s->name, vg,
				       i == 0 ? pv : NULL, NULL };
		if (step(l, guids, n, argv, VD_ERR_STORAGE_DOMAIN_CREATION, err) < 0) {
			remove_lvs(l, vg, guids, n, made, nmade);
			return -1;
		}
		made[nmade++] = i;
	}
	return 0;
}
