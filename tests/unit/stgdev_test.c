/* storage/: the JSON reader of multipathd / lvm replies (json.c) and the sysfs reader of
 * multipath maps (dev.c) on the fixture tree tests/data/storage/sys. */
#include "../../storage/dev.h"
#include "../../storage/json.h"
#include "../../storage/lvm.h"
#include "../../storage/mpath.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

static int parse(const char *s, struct stg_json *doc)
{
	return stg_json_parse(s, strlen(s), doc);
}

static void test_json_valid(void **state)
{
	/* the shape of lvm's pvs report */
	static const char pvs[] =
		"  {\n  \"report\": [\n  {\n  \"pv\": [\n"
		"  {\"pv_name\":\"/dev/mapper/36001405abc000001\", \"pv_uuid\":\"Ab12-x\","
		" \"vg_name\":\"\", \"vg_uuid\":\"\"}\n  ]\n  }\n  ]\n  ,\"log\": []}\n";
	struct stg_json doc;
	char buf[64];

	(void)state;
	assert_int_equal(parse(pvs, &doc), 0);
	int32_t rep = stg_json_get_type(&doc, 0, "report", STG_JSON_ARRAY);
	assert_true(rep > 0);
	assert_int_equal(doc.nodes[rep].count, 1);
	int32_t pv = stg_json_get_type(&doc, doc.nodes[rep].child, "pv", STG_JSON_ARRAY);
	assert_true(pv > 0);
	int32_t e = doc.nodes[pv].child;
	assert_int_equal(stg_json_string(&doc, stg_json_get(&doc, e, "pv_uuid"), buf, sizeof(buf)), 6);
	assert_string_equal(buf, "Ab12-x");
	assert_int_equal(stg_json_string(&doc, stg_json_get(&doc, e, "vg_name"), buf, sizeof(buf)), 0);
	assert_int_equal(stg_json_get(&doc, e, "nope"), -1);
	assert_int_equal(stg_json_get(&doc, pv, "pv"), -1);      /* not an object */
	assert_int_equal(stg_json_get_type(&doc, 0, "log", STG_JSON_OBJECT), -1);
	stg_json_free(&doc);

	/* escapes, numbers, literals */
	assert_int_equal(parse("{\"a\":\"x\\\"\\\\\\/\\n\\u00e9\\ud83d\\ude00\",\"n\":[0,-1.5e+3,12],"
			       "\"t\":true,\"f\":false,\"z\":null,\"s\":\"42\"}", &doc), 0);
	assert_int_equal(stg_json_string(&doc, stg_json_get(&doc, 0, "a"), buf, sizeof(buf)), 11);
	assert_string_equal(buf, "x\"\\/\n\xc3\xa9\xf0\x9f\x98\x80");
	int64_t v;
	int32_t n = stg_json_get(&doc, 0, "n");
	assert_int_equal(doc.nodes[n].count, 3);
	assert_int_equal(stg_json_uint(&doc, doc.nodes[n].child, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(stg_json_uint(&doc, doc.nodes[doc.nodes[n].child].next, &v), -EINVAL);
	assert_int_equal(stg_json_uint(&doc, stg_json_get(&doc, 0, "s"), &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(doc.nodes[stg_json_get(&doc, 0, "t")].type, STG_JSON_TRUE);
	assert_int_equal(doc.nodes[stg_json_get(&doc, 0, "z")].type, STG_JSON_NULL);
	assert_int_equal(stg_json_string(&doc, stg_json_get(&doc, 0, "a"), buf, 4), -ENAMETOOLONG);
	stg_json_free(&doc);

	assert_int_equal(parse("{\"big\":\"9223372036854775807\",\"over\":\"9999999999999999999\"}",
			       &doc), 0);
	assert_int_equal(stg_json_uint(&doc, stg_json_get(&doc, 0, "big"), &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(stg_json_uint(&doc, stg_json_get(&doc, 0, "over"), &v), -EINVAL);
	stg_json_free(&doc);
}

static void test_json_invalid(void **state)
{
	static const char *bad[] = {
		"", " ", "{", "}", "[1,]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}",
		"\"abc", "\"a\x01\"", "\"\\x\"", "\"\\u12\"", "01", "-", "1.", "1e", "tru",
		"nul", "[1 2]", "{} {}", "[\"a\"", "\x80",
	};
	struct stg_json doc;
	char buf[16];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i], &doc);
		if (r != -EINVAL)
			fail_msg("accepted: '%s'", bad[i]);
		assert_null(doc.nodes);
	}
	/* depth bound */
	char deep[2 * STG_JSON_DEPTH + 8];
	size_t k = 0;
	for (int i = 0; i < STG_JSON_DEPTH + 1; i++)
		deep[k++] = '[';
	for (int i = 0; i < STG_JSON_DEPTH + 1; i++)
		deep[k++] = ']';
	assert_int_equal(stg_json_parse(deep, k, &doc), -EINVAL);
	assert_int_equal(stg_json_parse(deep + 1, k - 2, &doc), 0);
	stg_json_free(&doc);
	/* unpaired surrogates and NUL are refused when decoding */
	static const char *badstr[] = { "\"\\ud800\"", "\"\\udc00x\"", "\"\\ud800\\u0041\"",
					"\"\\u0000\"" };
	for (size_t i = 0; i < sizeof(badstr) / sizeof(badstr[0]); i++) {
		assert_int_equal(parse(badstr[i], &doc), 0);
		assert_int_equal(stg_json_string(&doc, 0, buf, sizeof(buf)), -EINVAL);
		stg_json_free(&doc);
	}
}

static void test_vpd80(void **state)
{
	static const unsigned char ok[] = { 0, 0x80, 0, 6, ' ', 'S', 'N', '1', ' ', ' ' };
	static const unsigned char wrong_page[] = { 0, 0x83, 0, 1, 'x' };
	static const unsigned char trunc[] = { 0, 0x80, 0, 9, 'a', 'b' };
	static const unsigned char ctrl[] = { 0, 0x80, 0, 2, 'a', 0x07 };
	char buf[16];

	(void)state;
	assert_int_equal(stg_vpd80_serial(ok, sizeof(ok), buf, sizeof(buf)), 3);
	assert_string_equal(buf, "SN1");
	assert_int_equal(stg_vpd80_serial(wrong_page, sizeof(wrong_page), buf, sizeof(buf)), -EINVAL);
	assert_int_equal(stg_vpd80_serial(trunc, sizeof(trunc), buf, sizeof(buf)), -EINVAL);
	assert_int_equal(stg_vpd80_serial(ctrl, sizeof(ctrl), buf, sizeof(buf)), -EINVAL);
	assert_int_equal(stg_vpd80_serial(ok, 3, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(stg_vpd80_serial(ok, sizeof(ok), buf, 3), -ENAMETOOLONG);
}

static void test_scan_fixture(void **state)
{
	struct stg_dev *d;
	char *root = test_data("storage");

	(void)state;
	/* dm-1 (LVM) and dm-4 (a uuid with a blank) are no multipath maps */
	int n = stg_dev_scan(root, &d);
	assert_int_equal(n, 3);

	assert_string_equal(d[0].guid, "36001405abc000001");
	assert_string_equal(d[0].dm, "dm-0");
	assert_true(d[0].size == 2097152LL * 512);
	assert_int_equal(d[0].logical_bs, 512);
	assert_int_equal(d[0].physical_bs, 4096);
	assert_string_equal(d[0].vendor, "LIO-ORG");
	assert_string_equal(d[0].product, "lun1");
	assert_string_equal(d[0].fwrev, "4.0");
	assert_string_equal(d[0].serial, "6001405abc000001");
	assert_string_equal(stg_dev_type(&d[0]), "iSCSI");
	assert_int_equal(d[0].npaths, 2);
	assert_string_equal(d[0].paths[0].dev, "sdb");          /* sorted */
	assert_string_equal(d[0].paths[1].dev, "sdc");
	assert_int_equal(d[0].paths[0].lun, 1);
	assert_int_equal(d[0].paths[0].transport, STG_TR_ISCSI);
	assert_true(d[0].paths[1].size == 2097152LL * 512);

	assert_string_equal(d[1].guid, "36001405abc000002");
	assert_string_equal(stg_dev_type(&d[1]), "MIXED");     /* sde iSCSI + sdf FC */
	assert_string_equal(d[1].serial, "");                  /* no vpd_pg80 */
	assert_int_equal(d[1].paths[1].lun, 2);

	assert_string_equal(d[2].guid, "3600a098038303053");
	assert_string_equal(stg_dev_type(&d[2]), "FCP");
	assert_string_equal(d[2].vendor, "NETAPP");
	assert_string_equal(d[2].product, "LUN C-Mode");
	assert_int_equal(d[2].paths[0].lun, 7);
	assert_int_equal(d[2].physical_bs, 512);
	stg_devs_free(d, (size_t)n);

	assert_true(stg_dev_scan("/nonexistent-root", &d) == -ENOENT);
	assert_null(d);
	free(root);
}

static char *slurp(const char *rel, size_t *len)
{
	char *path = test_data("%s", rel), *buf = NULL;
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	buf = calloc(1, 65536);
	*len = fread(buf, 1, 65535, f);
	fclose(f);
	free(path);
	return buf;
}

static void test_mpath_maps(void **state)
{
	struct stg_mpath_map *m;
	size_t n, len;
	char *text = slurp("storage/mpathd/maps.json", &len);

	(void)state;
	assert_int_equal(stg_mpath_parse_maps(text, len, &m, &n), 0);
	assert_int_equal(n, 2);                   /* the map without uuid is skipped */
	assert_string_equal(m[0].wwid, "36001405abc000001");
	assert_int_equal(m[0].npaths, 2);
	assert_string_equal(m[0].paths[0].dev, "sdb");
	assert_string_equal(m[0].paths[0].state, "active");
	assert_string_equal(m[0].paths[1].dev, "sdc");
	assert_string_equal(m[0].paths[1].state, "failed");
	assert_string_equal(m[1].wwid, "36001405abc000002");
	assert_int_equal(m[1].npaths, 0);         /* control byte in dev, dev missing */
	stg_mpath_maps_free(m, n);
	assert_int_equal(stg_mpath_parse_maps("{\"maps\":{}}", 11, &m, &n), -EINVAL);
	assert_int_equal(stg_mpath_parse_maps("multipathd> fail", 16, &m, &n), -EINVAL);
	assert_null(m);
	free(text);
}

static void test_pvs(void **state)
{
	struct stg_lvm_pv *pv;
	size_t n, len;
	char *text = slurp("storage/mpathd/pvs.json", &len);

	(void)state;
	assert_int_equal(stg_lvm_parse_pvs(text, len, &pv, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(pv[0].name, "/dev/mapper/36001405abc000001");
	assert_string_equal(pv[0].uuid, "x7Zs1c-0Kpl-Lb2n-uQ7B-eJ1M-7Ytv-Ab3kFd");
	assert_string_equal(pv[0].vg_uuid, "Qe3ux1-QmDq-bnVx-mQ1Z-7dWw-E9oR-bu4cD2");
	assert_int_equal(pv[0].size, 1069547520);
	assert_string_equal(pv[1].vg_uuid, "");
	assert_int_equal(pv[1].pe_count, -1);
	free(pv);
	assert_int_equal(stg_lvm_parse_pvs("[]", 2, &pv, &n), -EINVAL);
	free(text);
}

/* A multipathd stand-in on an abstract socket unique to this process: reads one
 * command framed as libmpathcmd frames it and answers (or, in `mute` mode, holds
 * the connection without answering). */
struct fake_mpathd {
	int lfd;
	bool mute;
	char cmd[64];
};

static void *fake_mpathd_run(void *arg)
{
	struct fake_mpathd *f = arg;
	int c = accept(f->lfd, NULL, NULL);
	size_t len;
	if (c < 0)
		return NULL;
	if (read(c, &len, sizeof(len)) == sizeof(len) && len < sizeof(f->cmd) &&
	    read(c, f->cmd, len) == (ssize_t)len && !f->mute) {
		static const char reply[] = "{\"maps\":[]}";
		size_t rl = sizeof(reply);
		if (write(c, &rl, sizeof(rl)) != sizeof(rl) || write(c, reply, rl) != (ssize_t)rl)
			f->cmd[0] = '\0';        /* the caller's command check then fails */
	}
	if (f->mute) {
		char b;
		if (read(c, &b, 1) < 0)       /* until the client gives up and closes */
			b = 0;
	}
	close(c);
	return NULL;
}

static void run_fake(bool mute)
{
	char name[64];
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct fake_mpathd f = { .mute = mute };
	pthread_t t;
	char *reply;
	size_t len;

	snprintf(name, sizeof(name), "/vdsm-c/test-mpathd-%d", (int)getpid());
	memcpy(a.sun_path + 1, name, strlen(name));
	f.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f.lfd >= 0);
	assert_int_equal(bind(f.lfd, (struct sockaddr *)&a,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name))), 0);
	assert_int_equal(listen(f.lfd, 1), 0);
	assert_int_equal(pthread_create(&t, NULL, fake_mpathd_run, &f), 0);
	int r = stg_mpathd_query(name, "show maps json", 300, &reply, &len);
	if (mute) {
		assert_int_equal(r, -ETIMEDOUT);
		assert_null(reply);
	} else {
		assert_int_equal(r, 0);
		assert_string_equal(reply, "{\"maps\":[]}");
		assert_int_equal(len, 11);
		free(reply);
	}
	pthread_join(t, NULL);
	assert_string_equal(f.cmd, "show maps json");
	close(f.lfd);
	/* nobody listening any more */
	assert_int_equal(stg_mpathd_query(name, "show maps json", 300, &reply, &len), -ECONNREFUSED);
}

/* The three sources joined, then the type and GUID filters. */
static void test_merge_filter(void **state)
{
	struct stg_dev *d;
	struct stg_mpath_map *m;
	struct stg_lvm_pv *pv;
	size_t nm, np, len1, len2;
	char *root = test_data("storage");
	char *maps = slurp("storage/mpathd/maps.json", &len1);
	char *pvs = slurp("storage/mpathd/pvs.json", &len2);

	(void)state;
	int n = stg_dev_scan(root, &d);
	assert_int_equal(n, 3);
	assert_int_equal(stg_mpath_parse_maps(maps, len1, &m, &nm), 0);
	assert_int_equal(stg_lvm_parse_pvs(pvs, len2, &pv, &np), 0);
	stg_dev_merge(d, (size_t)n, m, nm, pv, np);
	assert_string_equal(d[0].paths[0].state, "active");   /* sdb */
	assert_string_equal(d[0].paths[1].state, "failed");   /* sdc */
	assert_string_equal(d[0].pv_uuid, "x7Zs1c-0Kpl-Lb2n-uQ7B-eJ1M-7Ytv-Ab3kFd");
	assert_string_equal(d[0].vg_uuid, "Qe3ux1-QmDq-bnVx-mQ1Z-7dWw-E9oR-bu4cD2");
	assert_string_equal(d[0].pv_size, "1069547520");
	assert_string_equal(d[1].paths[0].state, "");         /* multipathd lists no such path */
	assert_string_equal(d[2].pv_uuid, "");

	/* FCP keeps the FC map and the mixed one; then only the GUIDs asked for */
	size_t k = stg_dev_filter(d, (size_t)n, STG_TR_FCP, NULL, 0);
	assert_int_equal(k, 2);
	assert_string_equal(d[0].guid, "36001405abc000002");
	assert_string_equal(d[1].guid, "3600a098038303053");
	const char *want[] = { "3600a098038303053", "nope" };
	k = stg_dev_filter(d, k, 0, want, 2);
	assert_int_equal(k, 1);
	assert_string_equal(d[0].guid, "3600a098038303053");
	k = stg_dev_filter(d, k, STG_TR_ISCSI, NULL, 0);
	assert_int_equal(k, 0);
	stg_devs_free(d, k);
	stg_mpath_maps_free(m, nm);
	free(pv);
	free(maps);
	free(pvs);
	free(root);
}

static void test_mpathd_socket(void **state)
{
	(void)state;
	run_fake(false);
	run_fake(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_valid),
		cmocka_unit_test(test_json_invalid),
		cmocka_unit_test(test_vpd80),
		cmocka_unit_test(test_scan_fixture),
		cmocka_unit_test(test_mpath_maps),
		cmocka_unit_test(test_pvs),
		cmocka_unit_test(test_merge_filter),
		cmocka_unit_test(test_mpathd_socket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
