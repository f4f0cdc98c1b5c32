/* storage/lvm.c: the lvm --config filter, the command line the runner builds (through
 * util_exec's test hook), and the JSON report parsers on lvm 2.03's output shape. */
#include "../../storage/lvm.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void test_guid_ok(void **state)
{
	(void)state;
	assert_true(stg_lvm_guid_ok("36001405abcdef0123456789"));
	assert_true(stg_lvm_guid_ok("mpath_a-b:c"));
	assert_false(stg_lvm_guid_ok(NULL));
	assert_false(stg_lvm_guid_ok(""));
	assert_false(stg_lvm_guid_ok("-rf"));
	assert_false(stg_lvm_guid_ok("a.b"));          /* regex metacharacter */
	assert_false(stg_lvm_guid_ok("a|b"));
	assert_false(stg_lvm_guid_ok("a$"));
	assert_false(stg_lvm_guid_ok("a\"b"));
	assert_false(stg_lvm_guid_ok("../sda"));
	assert_false(stg_lvm_guid_ok("a b"));
	char big[200];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_false(stg_lvm_guid_ok(big));
	big[127] = 0;
	assert_true(stg_lvm_guid_ok(big));
}

static void test_config(void **state)
{
	const char *two[] = { "3600a", "3600b" };
	const char *bad[] = { "3600a", "sd.*" };
	char *cfg;

	(void)state;
	assert_int_equal(stg_lvm_config(two, 2, &cfg), 0);
	assert_non_null(strstr(cfg, " filter=[\"a|^/dev/mapper/3600a$|\","
			       "\"a|^/dev/mapper/3600b$|\",\"r|.*|\"]"));
	assert_non_null(strstr(cfg, " global_filter=[\"a|^/dev/mapper/3600a$|\","
			       "\"a|^/dev/mapper/3600b$|\",\"r|.*|\"]"));
	assert_non_null(strstr(cfg, "use_devicesfile=0"));
	assert_non_null(strstr(cfg, "obtain_device_list_from_udev=0"));
	free(cfg);

	/* no device: everything rejected */
	assert_int_equal(stg_lvm_config(NULL, 0, &cfg), 0);
	assert_non_null(strstr(cfg, " filter=[\"r|.*|\"]"));
	assert_null(strstr(cfg, "a|"));
	free(cfg);

	assert_int_equal(stg_lvm_config(bad, 2, &cfg), -EINVAL);
	assert_null(cfg);
	assert_int_equal(stg_lvm_config(two, STG_LVM_MAX_DEVS + 1, &cfg), -EINVAL);
}

/* ---- the runner, through util_exec's hook ---- */

struct seen {
	char argv[16][1024];
	int argc;
	int rc;                       /* what the fake returns */
	const char *err;              /* its stderr */
};

static int fake_exec(const char *const *argv, struct util_exec_result *ret, void *ud)
{
	struct seen *s = ud;

	s->argc = 0;
	for (; argv[s->argc] && s->argc < 16; s->argc++)
		snprintf(s->argv[s->argc], sizeof(s->argv[0]), "%s", argv[s->argc]);
	ret->out = strdup("");
	ret->err = strdup(s->err ? s->err : "");
	ret->err_len = strlen(ret->err);
	ret->status = s->rc == -ECHILD ? 5 : 0;
	return s->rc;
}

static void test_run(void **state)
{
	const struct stg_lvm l = { .cmd = "/usr/sbin/lvm", .timeout = 7 };
	const char *devs[] = { "3600a" };
	const char *args[] = { "pvcreate", "--metadatasize", "128m", "/dev/mapper/3600a", NULL };
	struct util_exec_result res;
	struct vd_error err = { 0 };
	struct seen s = { .rc = 0 };

	(void)state;
	util_exec_set_hook(fake_exec, &s);
	assert_int_equal(stg_lvm_run(&l, devs, 1, args, &res, &err), 0);
	util_exec_result_clear(&res);
	assert_int_equal(s.argc, 7);
	assert_string_equal(s.argv[0], "/usr/sbin/lvm");
	assert_string_equal(s.argv[1], "pvcreate");
	assert_string_equal(s.argv[2], "--config");
	assert_non_null(strstr(s.argv[3], "a|^/dev/mapper/3600a$|"));
	assert_string_equal(s.argv[4], "--metadatasize");
	assert_string_equal(s.argv[6], "/dev/mapper/3600a");
	assert_int_equal(err.code, 0);

	/* failure: lvm's last stderr line in the error */
	s.rc = -ECHILD;
	s.err = "  WARNING: x\n  Can't initialize physical volume \"/dev/mapper/3600a\"\n";
	assert_int_equal(stg_lvm_run(&l, devs, 1, args, &res, &err), -1);
	util_exec_result_clear(&res);
	assert_int_equal(err.code, VD_ERR_VOLUME_GROUP_ACTION);
	assert_non_null(strstr(err.msg, "Can't initialize physical volume"));

	/* timeout */
	struct vd_error e2 = { 0 };
	s.rc = -ETIME;
	assert_int_equal(stg_lvm_run(&l, devs, 1, args, &res, &e2), -1);
	util_exec_result_clear(&res);
	assert_int_equal(e2.code, VD_ERR_VOLUME_GROUP_ACTION);
	assert_non_null(strstr(e2.msg, "no answer within 7 s"));

	/* a bad device name never reaches exec */
	struct vd_error e3 = { 0 };
	const char *bad[] = { "a|.*" };
	s.argc = -1;
	assert_int_equal(stg_lvm_run(&l, bad, 1, args, &res, &e3), -1);
	util_exec_result_clear(&res);
	assert_int_equal(e3.code, VD_ERR_INVALID_PARAMETER);
	assert_int_equal(s.argc, -1);
	util_exec_set_hook(NULL, NULL);
}

/* ---- reports ---- */

static const char VGS[] =
	"  {\n      \"report\": [\n          {\n              \"vg\": [\n"
	"                  {\"vg_name\":\"4f5a1c2e-7d7e-4bb4-9c35-0a8d6b2e0c11\", "
	"\"vg_uuid\":\"Hq3cTt-8S2x-GhTl-1a2B-c3D4-e5F6-g7H8i9\", \"vg_attr\":\"wz--n-\", "
	"\"vg_tags\":\"RHAT_storage_domain_UNREADY\", \"vg_size\":\"21206401024\", "
	"\"vg_free\":\"21206401024\", \"vg_extent_size\":\"134217728\", "
	"\"vg_extent_count\":\"158\", \"vg_free_count\":\"158\", \"pv_count\":\"2\"}\n"
	"              ]\n          }\n      ]\n  }\n";

static void test_parse_vgs(void **state)
{
	struct stg_lvm_vg *vg;
	size_t n;

	(void)state;
	assert_int_equal(stg_lvm_parse_vgs(VGS, strlen(VGS), &vg, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(vg[0].name, "4f5a1c2e-7d7e-4bb4-9c35-0a8d6b2e0c11");
	assert_string_equal(vg[0].uuid, "Hq3cTt-8S2x-GhTl-1a2B-c3D4-e5F6-g7H8i9");
	assert_string_equal(vg[0].attr, "wz--n-");
	assert_string_equal(vg[0].tags, "RHAT_storage_domain_UNREADY");
	assert_int_equal(vg[0].size, 21206401024LL);
	assert_int_equal(vg[0].extent_size, 134217728);
	assert_int_equal(vg[0].extent_count, 158);
	assert_int_equal(vg[0].pv_count, 2);
	free(vg);

	/* lvm's empty report */
	static const char empty[] = "{\"report\":[{\"vg\":[]}]}";
	assert_int_equal(stg_lvm_parse_vgs(empty, strlen(empty), &vg, &n), 0);
	assert_int_equal(n, 0);
	assert_null(vg);
}

static void test_parse_pvs_lvs(void **state)
{
	static const char pvs[] =
		"{\"report\":[{\"pv\":[{\"pv_name\":\"/dev/mapper/3600a\",\"pv_uuid\":\"u1\","
		"\"vg_name\":\"\",\"vg_uuid\":\"\",\"pv_size\":\"10737418240\",\"pv_free\":\"\","
		"\"pv_mda_size\":\"134217728\",\"pe_start\":\"135266304\",\"pv_pe_count\":\"\","
		"\"pv_pe_alloc_count\":\"0\"}]}],\"log\":[]}";
	static const char lvs[] =
		"{\"report\":[{\"lv\":[{\"lv_name\":\"metadata\",\"vg_name\":\"v\","
		"\"lv_attr\":\"-wi-a-----\",\"lv_tags\":\"\",\"lv_size\":\"134217728\"},"
		"{\"lv_name\":\"leases\",\"vg_name\":\"v\",\"lv_attr\":\"-wi-a-----\","
		"\"lv_tags\":\"\",\"lv_size\":\"2147483648\"}]}]}";
	struct stg_lvm_pv *pv;
	struct stg_lvm_lv *lv;
	size_t n;

	(void)state;
	assert_int_equal(stg_lvm_parse_pvs(pvs, strlen(pvs), &pv, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(pv[0].name, "/dev/mapper/3600a");
	assert_string_equal(pv[0].vg_name, "");
	assert_int_equal(pv[0].size, 10737418240LL);
	assert_int_equal(pv[0].free, -1);             /* "" = unknown */
	assert_int_equal(pv[0].mda_size, 134217728);
	assert_int_equal(pv[0].pe_count, -1);
	free(pv);

	assert_int_equal(stg_lvm_parse_lvs(lvs, strlen(lvs), &lv, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(lv[1].name, "leases");
	assert_int_equal(lv[1].size, 2147483648LL);
	free(lv);

	/* a vgs report is not a pvs report */
	assert_int_equal(stg_lvm_parse_pvs(VGS, strlen(VGS), &pv, &n), -EINVAL);
	assert_null(pv);
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"report\":[]}",
		"{\"report\":{}}",
		"{\"report\":[{\"vg\":{}}]}",
		"{\"report\":[{\"vg\":[1]}]}",
		/* a missing field */
		"{\"report\":[{\"vg\":[{\"vg_name\":\"a\"}]}]}",
		/* sizes: negative, fraction, suffix, a number not a string, too big */
		"{\"report\":[{\"lv\":[{\"lv_name\":\"a\",\"vg_name\":\"v\",\"lv_attr\":\"\","
		"\"lv_tags\":\"\",\"lv_size\":\"-1\"}]}]}",
		"{\"report\":[{\"lv\":[{\"lv_name\":\"a\",\"vg_name\":\"v\",\"lv_attr\":\"\","
		"\"lv_tags\":\"\",\"lv_size\":\"1.5\"}]}]}",
		"{\"report\":[{\"lv\":[{\"lv_name\":\"a\",\"vg_name\":\"v\",\"lv_attr\":\"\","
		"\"lv_tags\":\"\",\"lv_size\":\"12B\"}]}]}",
		"{\"report\":[{\"lv\":[{\"lv_name\":\"a\",\"vg_name\":\"v\",\"lv_attr\":\"\","
		"\"lv_tags\":\"\",\"lv_size\":12}]}]}",
		"{\"report\":[{\"lv\":[{\"lv_name\":\"a\",\"vg_name\":\"v\",\"lv_attr\":\"\","
		"\"lv_tags\":\"\",\"lv_size\":\"99999999999999999999999\"}]}]}",
		/* control byte, non-ASCII, overlong attr */
		"{\"report\":[{\"lv\":[{\"lv_name\":\"a\\n\",\"vg_name\":\"v\",\"lv_attr\":\"\","
		"\"lv_tags\":\"\",\"lv_size\":\"1\"}]}]}",
		"{\"report\":[{\"lv\":[{\"lv_name\":\"\\u00e9\",\"vg_name\":\"v\",\"lv_attr\":\"\","
		"\"lv_tags\":\"\",\"lv_size\":\"1\"}]}]}",
		"{\"report\":[{\"lv\":[{\"lv_name\":\"a\",\"vg_name\":\"v\",\"lv_attr\":"
		"\"0123456789abcdef\",\"lv_tags\":\"\",\"lv_size\":\"1\"}]}]}",
		/* trailing garbage */
		"{\"report\":[{\"lv\":[]}]} x",
	};
	struct stg_lvm_lv *lv;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = stg_lvm_parse_lvs(bad[i], strlen(bad[i]), &lv, &n);

		if (r != -EINVAL)
			fail_msg("case %zu: %d", i, r);
		assert_null(lv);
		assert_int_equal(n, 0);
	}
}

/* ---- createVG: the command sequence and the undo, through the hook ---- */

struct script {
	char cmds[8][64];             /* argv[1] and the flags seen, per call */
	char full[8][2048];
	int ncalls;
	int fail_at;                  /* call index that fails, -1 none */
};

static int script_exec(const char *const *argv, struct util_exec_result *ret, void *ud)
{
	struct script *s = ud;
	int i = s->ncalls++;

	if (i < 8) {
		snprintf(s->cmds[i], sizeof(s->cmds[i]), "%s", argv[1]);
		s->full[i][0] = 0;
		for (int k = 1; argv[k]; k++) {
			if (k == 2 || k == 3)
				continue;     /* --config and its text */
			strncat(s->full[i], argv[k], sizeof(s->full[i]) - strlen(s->full[i]) - 2);
			strcat(s->full[i], " ");
		}
	}
	ret->err = strdup(i == s->fail_at ? "  boom\n" : "");
	ret->err_len = strlen(ret->err);
	if (i == s->fail_at) {
		ret->out = strdup("");
		ret->status = 5;
		return -ECHILD;
	}
	if (!strcmp(argv[1], "vgs"))
		ret->out = strdup("{\"report\":[{\"vg\":[{\"vg_name\":\"vg1\",\"vg_uuid\":\"U-1\","
				  "\"vg_attr\":\"wz--n-\",\"vg_tags\":\"RHAT_storage_domain_UNREADY\","
				  "\"vg_size\":\"1\",\"vg_free\":\"1\",\"vg_extent_size\":\"134217728\","
				  "\"vg_extent_count\":\"1\",\"vg_free_count\":\"1\",\"pv_count\":\"2\"}]}]}");
	else
		ret->out = strdup("");
	ret->out_len = strlen(ret->out);
	return 0;
}

static void test_create_vg(void **state)
{
	const struct stg_lvm l = { .cmd = "/usr/sbin/lvm", .timeout = 5 };
	const char *devs[] = { "3600a", "3600b" };
	struct script s = { .fail_at = -1 };
	struct vd_error err = { 0 };
	char uuid[64];

	(void)state;
	util_exec_set_hook(script_exec, &s);
	assert_int_equal(stg_lvm_create_vg(&l, "vg1", devs, 2, false, uuid, &err), 0);
	assert_string_equal(uuid, "U-1");
	assert_int_equal(s.ncalls, 4);
	assert_string_equal(s.full[0], "pvcreate --metadatasize 128m --metadatacopies 2 "
			    "--metadataignore y /dev/mapper/3600a /dev/mapper/3600b ");
	assert_string_equal(s.full[1], "pvchange --metadataignore n /dev/mapper/3600a ");
	assert_string_equal(s.full[2], "vgcreate --physicalextentsize 128m --addtag "
			    "RHAT_storage_domain_UNREADY vg1 /dev/mapper/3600a /dev/mapper/3600b ");
	assert_string_equal(s.cmds[3], "vgs");

	/* force: -ff --yes on pvcreate */
	memset(&s, 0, sizeof(s));
	s.fail_at = -1;
	assert_int_equal(stg_lvm_create_vg(&l, "vg1", devs, 1, true, uuid, &err), 0);
	assert_non_null(strstr(s.full[0], " -ff --yes /dev/mapper/3600a "));

	/* pvcreate fails: nothing else runs */
	memset(&s, 0, sizeof(s));
	s.fail_at = 0;
	assert_int_equal(stg_lvm_create_vg(&l, "vg1", devs, 2, false, uuid, &err), -1);
	assert_int_equal(err.code, VD_ERR_PHYS_DEV_INITIALIZATION);
	assert_non_null(strstr(err.msg, "boom"));
	assert_int_equal(s.ncalls, 1);
	assert_string_equal(uuid, "");

	/* pvchange, then vgcreate fail: the PVs made are removed (without -ff) */
	for (int at = 1; at <= 2; at++) {
		struct vd_error e2 = { 0 };

		memset(&s, 0, sizeof(s));
		s.fail_at = at;
		assert_int_equal(stg_lvm_create_vg(&l, "vg1", devs, 2, false, uuid, &e2), -1);
		assert_int_equal(e2.code, VD_ERR_VOLUME_GROUP_CREATE);
		assert_int_equal(s.ncalls, at + 2);
		assert_string_equal(s.full[at + 1],
				    "pvremove --yes /dev/mapper/3600a /dev/mapper/3600b ");
	}

	/* vgs fails: the VG and then the PVs are removed */
	struct vd_error e3 = { 0 };
	memset(&s, 0, sizeof(s));
	s.fail_at = 3;
	assert_int_equal(stg_lvm_create_vg(&l, "vg1", devs, 2, false, uuid, &e3), -1);
	assert_int_equal(e3.code, VD_ERR_VOLUME_GROUP_CREATE);
	assert_int_equal(s.ncalls, 6);
	assert_string_equal(s.full[4], "vgremove -f vg1 ");
	assert_string_equal(s.cmds[5], "pvremove");

	/* no devices, a bad device: refused before any command */
	struct vd_error e4 = { 0 }, e5 = { 0 };
	const char *bad[] = { "3600a", "x y" };
	memset(&s, 0, sizeof(s));
	assert_int_equal(stg_lvm_create_vg(&l, "vg1", devs, 0, false, uuid, &e4), -1);
	assert_int_equal(e4.code, VD_ERR_INVALID_PARAMETER);
	assert_int_equal(stg_lvm_create_vg(&l, "vg1", bad, 2, false, uuid, &e5), -1);
	assert_int_equal(e5.code, VD_ERR_INVALID_PARAMETER);
	assert_int_equal(s.ncalls, 0);
	util_exec_set_hook(NULL, NULL);
}

static void test_special_lvs(void **state)
{
	const struct stg_lvm l = { .cmd = "/usr/sbin/lvm", .timeout = 5 };
	const char *devs[] = { "3600a", "3600b" };
	struct script s = { .fail_at = -1 };
	struct vd_error err = { 0 };

	(void)state;
	util_exec_set_hook(script_exec, &s);
	/* version 5: seven LVs, metadata first and on the first PV, xleases included */
	assert_int_equal(stg_lvm_create_special_lvs(&l, "sd1", devs, 2, 5, &err), 0);
	assert_int_equal(s.ncalls, 7);
	assert_string_equal(s.full[0], "lvcreate --autobackup n --contiguous n --size 2048m "
			    "--name metadata sd1 /dev/mapper/3600a ");
	assert_string_equal(s.full[1], "lvcreate --autobackup n --contiguous n --size 2048m "
			    "--name leases sd1 ");
	assert_string_equal(s.full[2], "lvcreate --autobackup n --contiguous n --size 8m "
			    "--name ids sd1 ");
	assert_non_null(strstr(s.full[3], "--size 16m --name inbox sd1 "));
	assert_non_null(strstr(s.full[4], "--size 16m --name outbox sd1 "));
	assert_non_null(strstr(s.full[5], "--size 1024m --name xleases sd1 "));
	assert_non_null(strstr(s.full[6], "--size 1024m --name master sd1 "));

	/* version 3: no xleases */
	memset(&s, 0, sizeof(s));
	s.fail_at = -1;
	assert_int_equal(stg_lvm_create_special_lvs(&l, "sd1", devs, 2, 3, &err), 0);
	assert_int_equal(s.ncalls, 6);
	assert_non_null(strstr(s.full[5], "--name master sd1 "));

	/* the third lvcreate fails: the two made are removed, newest first; 351 */
	memset(&s, 0, sizeof(s));
	s.fail_at = 2;
	assert_int_equal(stg_lvm_create_special_lvs(&l, "sd1", devs, 2, 5, &err), -1);
	assert_int_equal(err.code, VD_ERR_STORAGE_DOMAIN_CREATION);
	assert_non_null(strstr(err.msg, "boom"));
	assert_int_equal(s.ncalls, 5);
	assert_string_equal(s.full[3], "lvremove -f --autobackup n sd1/leases ");
	assert_string_equal(s.full[4], "lvremove -f --autobackup n sd1/metadata ");

	/* the first fails: nothing to undo */
	struct vd_error e2 = { 0 };
	memset(&s, 0, sizeof(s));
	s.fail_at = 0;
	assert_int_equal(stg_lvm_create_special_lvs(&l, "sd1", devs, 2, 5, &e2), -1);
	assert_int_equal(s.ncalls, 1);

	/* no device, a bad one: no command */
	struct vd_error e3 = { 0 }, e4 = { 0 };
	const char *bad[] = { "x y" };
	memset(&s, 0, sizeof(s));
	assert_int_equal(stg_lvm_create_special_lvs(&l, "sd1", devs, 0, 5, &e3), -1);
	assert_int_equal(e3.code, VD_ERR_INVALID_PARAMETER);
	assert_int_equal(stg_lvm_create_special_lvs(&l, "sd1", bad, 1, 5, &e4), -1);
	assert_int_equal(e4.code, VD_ERR_INVALID_PARAMETER);
	assert_int_equal(s.ncalls, 0);
	util_exec_set_hook(NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guid_ok),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_run),
		cmocka_unit_test(test_parse_vgs),
		cmocka_unit_test(test_parse_pvs_lvs),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_create_vg),
		cmocka_unit_test(test_special_lvs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
