/* libFuzzer target: storage/lvm.c, the readers of lvm's vgs/pvs/lvs JSON reports
 * (child-process output, untrusted). Whatever is accepted must have at most
 * STG_LVM_MAX_ROWS rows, NUL-terminated printable-ASCII strings and sizes that are
 * -1 (unknown) or non-negative; a rejected input leaves no array behind. */
#include "fuzzcommon.h"

#include "../../storage/lvm.h"

static void check_str(const char *s, size_t size)
{
	size_t len = strnlen(s, size);

	if (len == size)
		abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			abort();
}

static void check_int(int64_t v)
{
	if (v < -1)
		abort();
}

#define STR(x) check_str((x), sizeof(x))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *t = (const char *)data;
	struct stg_lvm_vg *vg;
	struct stg_lvm_pv *pv;
	struct stg_lvm_lv *lv;
	size_t n;

	if (stg_lvm_parse_vgs(t, size, &vg, &n) == 0) {
		if (n > STG_LVM_MAX_ROWS || (n == 0) != (vg == NULL))
			abort();
		for (size_t i = 0; i < n; i++) {
			STR(vg[i].name); STR(vg[i].uuid); STR(vg[i].attr); STR(vg[i].tags);
			check_int(vg[i].size); check_int(vg[i].free);
			check_int(vg[i].extent_size); check_int(vg[i].extent_count);
			check_int(vg[i].free_count); check_int(vg[i].pv_count);
		}
		free(vg);
	} else if (vg || n) {
		abort();
	}
	if (stg_lvm_parse_pvs(t, size, &pv, &n) == 0) {
		if (n > STG_LVM_MAX_ROWS || (n == 0) != (pv == NULL))
			abort();
		for (size_t i = 0; i < n; i++) {
			STR(pv[i].name); STR(pv[i].uuid); STR(pv[i].vg_name); STR(pv[i].vg_uuid);
			check_int(pv[i].size); check_int(pv[i].free); check_int(pv[i].mda_size);
			check_int(pv[i].pe_start); check_int(pv[i].pe_count);
			check_int(pv[i].pe_alloc_count);
		}
		free(pv);
	} else if (pv || n) {
		abort();
	}
	if (stg_lvm_parse_lvs(t, size, &lv, &n) == 0) {
		if (n > STG_LVM_MAX_ROWS || (n == 0) != (lv == NULL))
			abort();
		for (size_t i = 0; i < n; i++) {
			STR(lv[i].name); STR(lv[i].vg_name); STR(lv[i].attr); STR(lv[i].tags);
			check_int(lv[i].size);
		}
		free(lv);
	} else if (lv || n) {
		abort();
	}
	return 0;
}
