/* storage/devlist.c: getDeviceList's gathering on the sysfs fixture tests/data/storage
 * (maps, SCSI device states, iSCSI sessions, holders, /dev/mapper nodes), with no
 * multipathd listening (path states then come from sysfs) and pvs/blkid answered by
 * util_exec's test seam, which records every command line. */
#include "../../storage/dev.h"
#include "../../vdsm-c/util/exec.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

static struct {
	char calls[8][1024];     /* argv[1..] joined by blanks, argv[0] first */
	int ncalls;
	const char *pvs_out;
	int pvs_status;
	const char *blkid_out;
	int blkid_status;
} fx;

static char root[512];         /* the fixture: sysroot of the devlist */

static int hook(const char *const *argv, struct util_exec_result *ret, void *userdata)
{
	(void)userdata;
	if (fx.ncalls < 8) {
		char *c = fx.calls[fx.ncalls];
		for (size_t i = 0; argv[i]; i++) {
			strncat(c, argv[i], 1023 - strlen(c));
			strncat(c, " ", 1023 - strlen(c));
		}
	}
	fx.ncalls++;
	bool pvs = argv[1] && strcmp(argv[1], "pvs") == 0;
	const char *out = pvs ? fx.pvs_out : fx.blkid_out;
	ret->out = strdup(out ? out : "");
	ret->out_len = strlen(ret->out);
	ret->err = strdup("");
	ret->status = pvs ? fx.pvs_status : fx.blkid_status;
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
	assert_int_equal(stg_devlist_start(&o), 0);
	util_exec_set_hook(hook, NULL);
	*state = NULL;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	util_exec_set_hook(NULL, NULL);
	stg_devlist_stop();
	return 0;
}

static void reset(const char *pvs_out, int pvs_status, const char *blkid_out, int blkid_status)
{
	memset(&fx, 0, sizeof(fx));
	fx.pvs_out = pvs_out;
	fx.pvs_status = pvs_status;
	fx.blkid_out = blkid_out;
	fx.blkid_status = blkid_status;
}

static const struct stg_dev *find(const struct stg_devlist *l, const char *guid)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->devs[i].guid, guid) == 0)
			return &l->devs[i];
	fail_msg("no device %s", guid);
	return NULL;
}

#define G1 "36001405abc000001"   /* dm-0: sdb running (session1), sdc offline (session2), holder dm-1 */
#define G2 "36001405abc000002"   /* dm-3: sde running (session1), sdf running (FC) */
#define G3 "3600a098038303053"   /* dm-2: sdd without a state, no /dev/mapper node */
#define NO_PVS "{\"report\":[{\"pv\":[]}]}"

static void test_states_sessions_and_one_run_each(void **state)
{
	struct stg_devlist l;
	struct vd_error err = { 0 };

	(void)state;
	reset(NO_PVS, 5, "", 2);
	assert_int_equal(stg_devlist_get(0, NULL, 0, true, &l, &err), 0);
	assert_int_equal(l.n, 3);
	assert_false(l.mpathd_ok);
	assert_true(l.pvs_ok);                      /* exit 5 with a complete report */

	const struct stg_dev *d1 = find(&l, G1), *d2 = find(&l, G2), *d3 = find(&l, G3);
	assert_string_equal(d1->paths[0].state, "active");   /* sdb running */
	assert_string_equal(d1->paths[1].state, "failed");   /* sdc offline */
	assert_int_equal(d1->holders, 1);
	assert_string_equal(d1->status, "used");             /* dm-1 on top */
	assert_string_equal(d2->status, "free");             /* blkid found nothing */
	assert_string_equal(d3->status, "unknown");          /* no active path: never opened */
	assert_string_equal(d3->paths[0].state, "failed");

	/* one pvs over the two openable maps, one blkid over the one left undecided */
	assert_int_equal(fx.ncalls, 2);
	assert_non_null(strstr(fx.calls[0], "/test/lvm pvs --reportformat json "));
	/* the nodes under the sysroot (the fixture here, "" on a host) */
	char want[2048];
	snprintf(want, sizeof(want), " --devices %s/dev/mapper/" G1 ",%s/dev/mapper/" G2 " ",
		 root, root);
	assert_non_null(strstr(fx.calls[0], want));
	assert_null(strstr(fx.calls[0], G3));
	snprintf(want, sizeof(want), "/test/blkid -p -o export %s/dev/mapper/" G2 " ", root);
	assert_string_equal(fx.calls[1], want);

	/* sessions behind the iSCSI paths, each once */
	assert_int_equal(l.nsessions, 2);
	assert_int_equal(d1->paths[0].session, 1);
	assert_int_equal(d1->paths[1].session, 2);
	assert_int_equal(d2->paths[1].session, -1);          /* FC */
	const struct stg_iscsi_session *s1 = stg_devlist_session(&l, 1);
	const struct stg_iscsi_session *s2 = stg_devlist_session(&l, 2);
	assert_non_null(s1);
	assert_non_null(s2);
	assert_string_equal(s1->address, "10.199.1.1");
	assert_int_equal(s1->port, 3260);
	assert_string_equal(s1->iqn, "iqn.2026-11.org.example:lab1");
	assert_int_equal(s1->tpgt, 1);
	assert_string_equal(s1->iface, "default");
	assert_string_equal(s1->user, "vdsmuser");
	assert_string_equal(s1->password, "s3cret");
	assert_string_equal(s2->address, "fd00::2");         /* no persistent_address */
	assert_int_equal(s2->port, 3261);
	assert_int_equal(s2->tpgt, 2);
	assert_string_equal(s2->iface, "default");           /* "(null)" */
	assert_string_equal(s2->user, "");
	assert_null(stg_devlist_session(&l, 7));
	stg_devlist_free(&l);
}

static void test_signature_and_pv_make_used(void **state)
{
	struct stg_devlist l;
	struct vd_error err = { 0 };

	(void)state;
	reset(NO_PVS, 0, "DEVNAME=/any/root/dev/mapper/" G2 "\nUUID=x\nTYPE=ext4\nUSAGE=filesystem\n\n", 0);
	assert_int_equal(stg_devlist_get(0, NULL, 0, true, &l, &err), 0);
	assert_string_equal(find(&l, G2)->status, "used");
	stg_devlist_free(&l);

	/* a PV is used without asking blkid; pvUUID/vgUUID/pvsize filled */
	reset("{\"report\":[{\"pv\":[{\"pv_name\":\"/dev/mapper/" G2 "\",\"pv_uuid\":\"P-1\","
	      "\"vg_name\":\"\",\"vg_uuid\":\"\",\"pv_size\":\"1069547520\","
	      "\"pv_free\":\"1069547520\",\"pv_mda_size\":\"1044480\",\"pe_start\":\"1048576\","
	      "\"pv_pe_count\":\"\",\"pv_pe_alloc_count\":\"\"}]}]}", 0, "", 2);
	assert_int_equal(stg_devlist_get(0, NULL, 0, true, &l, &err), 0);
	const struct stg_dev *d2 = find(&l, G2);
	assert_string_equal(d2->status, "used");
	assert_string_equal(d2->pv_uuid, "P-1");
	assert_string_equal(d2->vg_uuid, "");
	assert_string_equal(d2->pv_size, "1069547520");
	assert_int_equal(fx.ncalls, 1);
	stg_devlist_free(&l);
}

static void test_no_check_and_filters(void **state)
{
	struct stg_devlist l;
	struct vd_error err = { 0 };
	const char *want[] = { G2 };

	(void)state;
	reset(NO_PVS, 0, "", 2);
	assert_int_equal(stg_devlist_get(0, want, 1, false, &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.devs[0].status, "unknown");
	assert_int_equal(fx.ncalls, 1);                      /* pvs only, for that map */
	assert_non_null(strstr(fx.calls[0], "/dev/mapper/" G2 " "));
	assert_null(strstr(fx.calls[0], G1));
	stg_devlist_free(&l);

	/* iSCSI: the two maps with an iSCSI path; a pvs that fails leaves PV facts empty */
	reset("garbage", 3, "", 2);
	assert_int_equal(stg_devlist_get(STG_TR_ISCSI, NULL, 0, false, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_false(l.pvs_ok);
	stg_devlist_free(&l);

	/* nothing openable: no child at all */
	const char *fc[] = { G3 };
	reset(NO_PVS, 0, "", 2);
	assert_int_equal(stg_devlist_get(0, fc, 1, true, &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(fx.ncalls, 0);
	stg_devlist_free(&l);
}

static void test_blkid_parser(void **state)
{
	struct stg_dev d[2] = { { .guid = "a1" }, { .guid = "b2" } };
	const char *t = "DEVNAME=/dev/mapper/b2\nPTTYPE=dos\n\nDEVNAME=/dev/mapper/zz\nTYPE=xfs\n"
			"\nDEVNAME=/dev/mapper/a1\n\nTYPE=ext4\nDEVNAME=/dev/mapper/a1x\nTYPE=xfs";

	(void)state;
	/* b2 has a partition table; a1's block ends before the TYPE line; a1x is another */
	assert_int_equal(stg_blkid_mark_used(t, strlen(t), d, 2), 1);
	assert_string_equal(d[0].status, "");
	assert_string_equal(d[1].status, "used");
	assert_int_equal(stg_blkid_mark_used("", 0, d, 2), 0);
	assert_int_equal(stg_blkid_mark_used("DEVNAME=", 8, d, 2), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states_sessions_and_one_run_each),
		cmocka_unit_test(test_signature_and_pv_make_used),
		cmocka_unit_test(test_no_check_and_filters),
		cmocka_unit_test(test_blkid_parser),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
