/* storage/vg: createVG's checks refuse before any lvm command that writes runs (the
 * sysfs fixture of stgdevlist_test, pvs/blkid answered by an exec hook), and the
 * partition-holder test on a sysfs tree made here. The real createVG/getVGInfo run in
 * the lab (tests/lab/tests/storage-agent-sd-block.sh). */
#include "../../storage/vg.h"
#include "../../vdsm-c/util/exec.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

#define G1 "36001405abc000001"   /* dm-0, 1 GiB, one running path, holder dm-1 (an LV) */
#define G2 "36001405abc000002"   /* dm-3, 1 GiB, two running paths */
#define SD "6a1c4e0f-6e0d-4a8c-9c3b-1d2e3f4a5b6c"
#define NO_PVS "{\"report\":[{\"pv\":[]}]}"

static struct {
	char first[8][32];       /* argv[1] of every run */
	int ncalls;
	const char *pvs_out;
	const char *vgs_out;
} fx;

static char root[512];

static int hook(const char *const *argv, struct util_exec_result *ret, void *userdata)
{
	(void)userdata;
	if (fx.ncalls < 8)
		snprintf(fx.first[fx.ncalls], sizeof(fx.first[0]), "%s", argv[1] ? argv[1] : "");
	fx.ncalls++;
	bool pvs = argv[1] && strcmp(argv[1], "pvs") == 0;
	bool vgs = argv[1] && strcmp(argv[1], "vgs") == 0;
	ret->out = strdup(pvs ? fx.pvs_out : vgs ? fx.vgs_out : "");
	ret->out_len = strlen(ret->out);
	ret->err = strdup("");
	ret->status = pvs || vgs ? 0 : 2;       /* blkid: 2 = no signature */
	return ret->status ? -ECHILD : 0;
}

static int setup(void **state)
{
	char *data = test_data("storage");
	char sock[64];

	snprintf(root, sizeof(root), "%s", data);
	free(data);
	snprintf(sock, sizeof(sock), "vdsmc-test-no-multipathd-%d", (int)getpid());
	struct stg_devlist_opts o = { .sysroot = root, .mpathd_socket = sock,
				      .lvm = "/test/lvm", .blkid = "/test/blkid", .timeout = 2 };
	struct stg_vg_opts v = { .sysroot = root, .lvm = "/test/lvm", .timeout = 2 };
	assert_int_equal(stg_devlist_start(&o), 0);
	assert_int_equal(stg_vg_start(&v), 0);
	util_exec_set_hook(hook, NULL);
	*state = NULL;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	util_exec_set_hook(NULL, NULL);
	stg_vg_stop();
	stg_devlist_stop();
	return 0;
}

/* Only the devlist's reads ran (pvs, blkid): no pvcreate, vgcreate, ... */
static void assert_only_reads(void)
{
	for (int i = 0; i < fx.ncalls && i < 8; i++)
		assert_true(strcmp(fx.first[i], "pvs") == 0 || strcmp(fx.first[i], "-p") == 0 ||
			    strcmp(fx.first[i], "vgs") == 0 || fx.first[i][0] == '/');
}

#define NO_VGS "{\"report\":[{\"vg\":[]}]}"

static int create_vgs(const char *const *g, size_t n, bool force, const char *pvs,
		      const char *vgs, struct vd_error *err)
{
	char uuid[64];

	memset(&fx, 0, sizeof(fx));
	fx.pvs_out = pvs;
	fx.vgs_out = vgs;
	*err = (struct vd_error){ 0 };
	int r = stg_vg_create(SD, g, n, force, uuid, err);
	assert_only_reads();
	return r;
}

static int create(const char *const *g, size_t n, bool force, const char *pvs,
		  struct vd_error *err)
{
	return create_vgs(g, n, force, pvs, NO_VGS, err);
}

static void test_create_checks(void **state)
{
	struct vd_error err;
	(void)state;

	const char *unknown[] = { G1, "3600000000000000000e0000000ffff0001" };
	assert_int_equal(create(unknown, 2, false, NO_PVS, &err), -1);
	assert_int_equal(err.code, 606);
	assert_non_null(strstr(err.msg, "3600000000000000000e0000000ffff0001"));

	/* a GUID that is no map name never reaches a filter or a path */
	const char *bad[] = { "../sda" };
	assert_int_equal(create(bad, 1, false, NO_PVS, &err), -1);
	assert_int_equal(err.code, 606);
	assert_int_equal(fx.ncalls, 0);

	const char *twice[] = { G2, G2 };
	assert_int_equal(create(twice, 2, false, NO_PVS, &err), -1);
	assert_int_equal(err.code, 1000);

	/* G1 carries an LV (a holder): in use */
	const char *small[] = { G1, G2 };   /* 2 GiB together */
	assert_int_equal(create(small, 2, false, NO_PVS, &err), -1);
	assert_int_equal(err.code, 601);
	assert_int_equal(create(small, 2, true, NO_PVS, &err), -1);
	assert_int_equal(err.code, 504);

	/* a PV (of a VG) without force: 601, before the size check */
	static const char pv[] =
		"{\"report\":[{\"pv\":[{\"pv_name\":\"/dev/mapper/" G2 "\",\"pv_uuid\":\"P-1\","
		"\"vg_name\":\"other\",\"vg_uuid\":\"V-1\",\"pv_size\":\"1069547520\","
		"\"pv_free\":\"0\",\"pv_mda_size\":\"1044480\",\"pe_start\":\"1048576\","
		"\"pv_pe_count\":\"7\",\"pv_pe_alloc_count\":\"7\"}]}]}";
	const char *one[] = { G2 };
	assert_int_equal(create(one, 1, false, pv, &err), -1);
	assert_int_equal(err.code, 601);
	assert_non_null(strstr(err.msg, "V-1"));
	/* with force the size check still refuses (the VG would be too small) */
	assert_int_equal(create(one, 1, true, pv, &err), -1);
	assert_int_equal(err.code, 504);
	/* a VG of that name on the host's PV maps: 505, before the size */
	static const char vg[] =
		"{\"report\":[{\"vg\":[{\"vg_name\":\"" SD "\",\"vg_uuid\":\"V-1\","
		"\"vg_attr\":\"wz--n-\",\"vg_tags\":\"\",\"vg_size\":\"1\",\"vg_free\":\"1\","
		"\"vg_extent_size\":\"1\",\"vg_extent_count\":\"1\",\"vg_free_count\":\"1\","
		"\"pv_count\":\"1\"}]}]}";
	assert_int_equal(create_vgs(one, 1, true, pv, vg, &err), -1);
	assert_int_equal(err.code, 505);
	assert_non_null(strstr(err.msg, "V-1"));

	assert_int_equal(create(small, 0, false, NO_PVS, &err), -1);
	assert_int_equal(err.code, 1000);
}

/* getVGInfo: the VG by UUID from one vgs over the PV maps, its PVs only, PARTIAL from
 * vg_attr, type 3 unless every PV is FC-only (G2 has an FC path and an iSCSI one). */
static void test_vg_info(void **state)
{
	struct stg_vg_info vi;
	struct vd_error err = { 0 };
	static const char pvs[] =
		"{\"report\":[{\"pv\":["
		"{\"pv_name\":\"/dev/mapper/" G1 "\",\"pv_uuid\":\"P-1\",\"vg_name\":\"" SD "\","
		"\"vg_uuid\":\"V-1\",\"pv_size\":\"1069547520\",\"pv_free\":\"0\","
		"\"pv_mda_size\":\"134217728\",\"pe_start\":\"135266304\",\"pv_pe_count\":\"7\","
		"\"pv_pe_alloc_count\":\"0\"},"
		"{\"pv_name\":\"/dev/mapper/" G2 "\",\"pv_uuid\":\"P-2\",\"vg_name\":\"other\","
		"\"vg_uuid\":\"V-2\",\"pv_size\":\"1069547520\",\"pv_free\":\"0\","
		"\"pv_mda_size\":\"134217728\",\"pe_start\":\"135266304\",\"pv_pe_count\":\"7\","
		"\"pv_pe_alloc_count\":\"0\"}]}]}";
	static const char vgs[] =
		"{\"report\":[{\"vg\":["
		"{\"vg_name\":\"other\",\"vg_uuid\":\"V-2\",\"vg_attr\":\"wz--n-\",\"vg_tags\":\"\","
		"\"vg_size\":\"1\",\"vg_free\":\"1\",\"vg_extent_size\":\"1\",\"vg_extent_count\":\"1\","
		"\"vg_free_count\":\"1\",\"pv_count\":\"1\"},"
		"{\"vg_name\":\"" SD "\",\"vg_uuid\":\"V-1\",\"vg_attr\":\"wz-pn-\","
		"\"vg_tags\":\"RHAT_storage_domain_UNREADY\",\"vg_size\":\"939524096\","
		"\"vg_free\":\"939524096\",\"vg_extent_size\":\"134217728\",\"vg_extent_count\":\"7\","
		"\"vg_free_count\":\"7\",\"pv_count\":\"2\"}]}]}";

	(void)state;
	memset(&fx, 0, sizeof(fx));
	fx.pvs_out = pvs;
	fx.vgs_out = vgs;
	assert_int_equal(stg_vg_info("V-1", &vi, &err), 0);
	assert_string_equal(vi.vg.name, SD);
	assert_int_equal(vi.vg.size, 939524096);
	assert_true(vi.partial);
	assert_int_equal(vi.type, 3);
	assert_int_equal(vi.devs.n, 1);
	assert_string_equal(vi.devs.devs[0].guid, G1);
	assert_string_equal(vi.devs.devs[0].pv_uuid, "P-1");
	assert_string_equal(vi.devs.devs[0].pv_size, "1069547520");
	stg_vg_info_free(&vi);

	/* the other VG: whole, its PV behind an FC and an iSCSI path → 3 */
	memset(&fx, 0, sizeof(fx));
	fx.pvs_out = pvs;
	fx.vgs_out = vgs;
	assert_int_equal(stg_vg_info("V-2", &vi, &err), 0);
	assert_false(vi.partial);
	assert_int_equal(vi.devs.n, 1);
	assert_string_equal(vi.devs.devs[0].guid, G2);
	assert_int_equal(vi.type, 3);
	stg_vg_info_free(&vi);

	/* unknown UUID: 506; no PV at all: 506 without running vgs */
	memset(&fx, 0, sizeof(fx));
	fx.pvs_out = pvs;
	fx.vgs_out = vgs;
	assert_int_equal(stg_vg_info("V-3", &vi, &err), -1);
	assert_int_equal(err.code, 506);
	err = (struct vd_error){ 0 };
	memset(&fx, 0, sizeof(fx));
	fx.pvs_out = NO_PVS;
	assert_int_equal(stg_vg_info("V-1", &vi, &err), -1);
	assert_int_equal(err.code, 506);
	for (int i = 0; i < fx.ncalls && i < 8; i++)
		assert_string_not_equal(fx.first[i], "vgs");

	/* vgs failing: 500 */
	err = (struct vd_error){ 0 };
	memset(&fx, 0, sizeof(fx));
	fx.pvs_out = pvs;
	fx.vgs_out = "not json";
	assert_int_equal(stg_vg_info("V-1", &vi, &err), -1);
	assert_int_equal(err.code, 500);
}

static void mkfile(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_partitioned(void **state)
{
	char tmp[] = "/tmp/vg_test.XXXXXX", p[512], q[512];
	(void)state;

	assert_non_null(mkdtemp(tmp));
	const char *dirs[] = { "sys", "sys/block", "sys/block/dm-0", "sys/block/dm-0/holders",
			       "sys/block/dm-1", "sys/block/dm-1/dm", "sys/block/dm-2",
			       "sys/block/dm-2/holders", "sys/block/dm-3", "sys/block/dm-3/dm" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", tmp, dirs[i]);
		assert_int_equal(mkdir(p, 0755), 0);
	}
	snprintf(p, sizeof(p), "%s/sys/block/dm-1/dm/uuid", tmp);
	mkfile(p, "part1-mpath-36001405abc000001\n");
	snprintf(p, sizeof(p), "%s/sys/block/dm-3/dm/uuid", tmp);
	mkfile(p, "LVM-abcdefgh\n");
	snprintf(p, sizeof(p), "%s/sys/block/dm-0/holders/dm-1", tmp);
	assert_int_equal(symlink("../../dm-1", p), 0);
	snprintf(p, sizeof(p), "%s/sys/block/dm-2/holders/dm-3", tmp);
	assert_int_equal(symlink("../../dm-3", p), 0);

	assert_true(stg_vg_partitioned(tmp, "dm-0"));     /* a kpartx partition on top */
	assert_false(stg_vg_partitioned(tmp, "dm-2"));    /* an LV on top */
	assert_false(stg_vg_partitioned(tmp, "dm-9"));    /* no such device */
	assert_false(stg_vg_partitioned(tmp, "../x"));

	snprintf(q, sizeof(q), "rm -rf '%s'", tmp);
	assert_int_equal(system(q), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_checks),
		cmocka_unit_test(test_vg_info),
		cmocka_unit_test(test_partitioned),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
