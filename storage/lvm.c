/* storage/lvm: see lvm.h. */
#include "lvm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

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

int stg_lvm_run(const struct stg_lvm *l, const char *const *guids, size_t n,
		const char *const *args, struct util_exec_result *res,
		struct vd_error *err)
{
	struct util_exec_opts o = { .timeout = l->timeout };
	const char *argv[64];
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
		return vd_error_set(err, VD_ERR_VOLUME_GROUP_ACTION, "lvm %s: %s", args[0],
				    r == -ECHILD ? util_exec_last_line(res, line, sizeof(line)) :
				    strerror(-r));
	return 0;
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
