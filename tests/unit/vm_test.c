/* VM module without libvirt: vmParams → domain XML against golden files in
 * tests/data/vm/ (NAME.json → NAME.xml; VDSM_TEST_REGENERATE=1 rewrites them), bad
 * vmParams → VDSM codes, MAC validation, disk target names, metadata round trip,
 * state-file round trip and the bulk-stats sampler arithmetic. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"

#include "../../rpc/json.h"
#include "../../rpc/xmlrpc.h"
#include "../../vdsm-c/verbs/vm_params.h"
#include "../../vdsm-c/verbs/vm_wire.h"
#include "../../vdsm-c/vm/vm-internal.h"
#include "../../vdsm-c/util/util.h"

#define START_TIME 1700000000.25


static char *slurp(const char *path)
{
	char *text = NULL;
	assert_int_equal(util_read_file(path, 1 << 22, &text, NULL), 0);
	return text;
}

static xmlrpc_value *json_value(const char *text)
{
	xmlrpc_env env;
	xmlrpc_env_init(&env);
	xmlrpc_value *v = rpc_json_parse(&env, text);
	if (env.fault_occurred)
		fail_msg("bad JSON: %s", env.fault_string);
	xmlrpc_env_clean(&env);
	return v;
}

static struct vm_conf *parse_ok(xmlrpc_value *p)
{
	struct vm_conf *c = NULL;
	xmlrpc_value *stored = NULL;
	struct vd_error err = { 0 };
	char id[37];

	if (vm_params_parse(p, &c, &stored, id, &err) < 0)
		fail_msg("vm_params_parse: %d %s", err.code, err.msg);
	assert_string_equal(id, c->id);
	xmlrpc_DECREF(stored);
	return c;
}

/* tests/data/vm/NAME.json parsed, disk targets assigned and its domain XML built with
 * domain_type (NULL: kvm or qemu from the VM's kvmEnable). Caller frees both. */
static struct vm_conf *conf_from_fixture(const char *name, const char *domain_type,
					 char **ret_xml)
{
	char jp[512];
	snprintf(jp, sizeof(jp), "%s/vm/%s.json", test_data_dir(), name);
	_cleanup_free_ char *json = slurp(jp);
	xmlrpc_value *p = json_value(json);
	struct vm_conf *c = parse_ok(p);
	xmlrpc_DECREF(p);
	struct vd_error err = { 0 };
	assert_int_equal(vm_conf_assign_targets(c, &err), 0);
	c->domain_type = strdup(domain_type ? domain_type : c->kvm_enable ? "kvm" : "qemu");
	*ret_xml = vm_domxml_build(c, START_TIME);
	assert_non_null(*ret_xml);
	return c;
}

/* ---- golden files ---- */

static void check_golden(const char *name)
{
	char xp[512];
	snprintf(xp, sizeof(xp), "%s/vm/%s.xml", test_data_dir(), name);
	_cleanup_free_ char *xml = NULL;
	_cleanup_(vm_conf_freep) struct vm_conf *c = conf_from_fixture(name, NULL, &xml);
	if (getenv("VDSM_TEST_REGENERATE")) {
		assert_int_equal(util_write_atomic(xp, xml, strlen(xml), 0644), 0);
		return;
	}
	_cleanup_free_ char *want = slurp(xp);
	if (strcmp(xml, want) != 0) {
		fprintf(stderr, "--- got %s ---\n%s\n", name, xml);
		fail_msg("%s: domain XML differs from %s", name, xp);
	}
}

static void test_golden_basic(void **s) { (void)s; check_golden("basic"); }
static void test_golden_full(void **s) { (void)s; check_golden("full"); }
static void test_golden_passthrough(void **s) { (void)s; check_golden("passthrough"); }
static void test_golden_escaping(void **s) { (void)s; check_golden("escaping"); }

/* The things the issue asks of every domain, checked by content too. */
static void test_full_content(void **state)
{
	(void)state;
	_cleanup_free_ char *xml = NULL;
	_cleanup_(vm_conf_freep) struct vm_conf *c = conf_from_fixture("full", "qemu", &xml);
	assert_string_equal(c->id, "3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d02");
	assert_non_null(strstr(xml, "<domain type=\"qemu\">"));
	assert_non_null(strstr(xml, "<cpu mode=\"custom\" match=\"exact\">"));
	assert_non_null(strstr(xml, "<model fallback=\"forbid\">Nehalem</model>"));
	assert_non_null(strstr(xml, "<topology sockets=\"4\" cores=\"2\" threads=\"1\"/>"));
	assert_non_null(strstr(xml, "<feature policy=\"require\" name=\"aes\"/>"));
	assert_non_null(strstr(xml, "<feature policy=\"disable\" name=\"vmx\"/>"));
	assert_non_null(strstr(xml, "<vcpu placement=\"static\" current=\"4\">8</vcpu>"));
	assert_non_null(strstr(xml, "<mac address=\"00:1a:4a:16:01:51\"/>"));
	assert_non_null(strstr(xml, "<source bridge=\"ovirtmgmt\"/>"));
	assert_non_null(strstr(xml, "<mac address=\"00:1a:4a:16:01:52\"/>"));
	assert_non_null(strstr(xml, "<interface type=\"ethernet\">"));
	assert_non_null(strstr(xml, "<link state=\"down\"/>"));
	assert_non_null(strstr(xml, "/rhev/data-center/00000002-0002-0002-0002-000000000001/"
				    "6e5b4c3a-2d1e-4f00-8a9b-0c1d2e3f4a5b/images/"));
	assert_non_null(strstr(xml, "<source dev=\"/dev/mapper/360014051f2b3c4d5e6f708192a3b4c5d\"/>"));
	assert_non_null(strstr(xml, "<target dev=\"hdc\" bus=\"ide\"/>"));
	assert_non_null(strstr(xml, "<memballoon model=\"virtio\"/>"));
	assert_non_null(strstr(xml, "<vdsmc:vm xmlns:vdsmc=\"" VM_METADATA_NS "\">"));
	assert_non_null(strstr(xml, "machine=\"pc-i440fx-7.2\""));
}

/* ---- bad input ---- */

static void test_bad_params(void **state)
{
	static const struct {
		const char *json;
		int code;
	} cases[] = {
		{ "{\"memSize\": 64}", VD_ERR_MISSPARAM },
		{ "{\"vmId\": \"not-a-uuid\", \"memSize\": 64}", VD_ERR_MISSPARAM },
		{ "{\"vmId\": 17, \"memSize\": 64}", VD_ERR_MISSPARAM },
		{ "{\"vmId\": \"3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d01\"}", VD_ERR_MISSPARAM },
		{ "{\"vmId\": \"3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d01\", \"memSize\": 0}", VD_ERR_MISSPARAM },
		{ "{\"vmId\": \"3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d01\", \"memSize\": \"lots\"}", VD_ERR_MISSPARAM },
		{ "{\"vmId\": \"3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d01\", \"memSize\": -5}", VD_ERR_MISSPARAM },
		{ "{\"vmId\": \"3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d01\", \"memSize\": 64, \"devices\": "
		  "[{\"type\": \"interface\", \"network\": \"ovirtmgmt\"}]}", VD_ERR_MISSPARAM },
		{ "{\"vmId\": \"3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d01\", \"memSize\": 64, \"devices\": "
		  "[{\"type\": \"interface\", \"macAddr\": \"00:1a:4a:16:01\", \"network\": \"x\"}]}", VD_ERR_CREATEERR },
		{ "{\"vmId\": \"3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d01\", \"memSize\": 64, \"devices\": "
		  "[{\"type\": \"interface\", \"macAddr\": \"01:1a:4a:16:01:51\", \"network\": \"x\"}]}", VD_ERR_CREATEERR },
		{ "{\"vmId\": \"3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d01\", \"memSize\": 64, \"devices\": "
		  "[{\"type\": \"interface\", \"macAddr\": \"00:1a:4a:16:01:51\", \"network\": \"bad/name\"}]}", VD_ERR_CREATEERR },
		{ "{\"vmId\": \"3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d01\", \"memSize\": 64, \"devices\": ["
		  "{\"type\": \"interface\", \"macAddr\": \"00:1a:4a:16:01:51\"},"
		  "{\"type\": \"interface\", \"macAddr\": \"00:1A:4A:16:01:51\"}]}", VD_ERR_CREATEERR },
		{ "{\"vmId\": \"3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d01\", \"memSize\": 64, \"devices\": "
		  "[{\"type\": \"disk\", \"device\": \"disk\"}]}", VD_ERR_MISSPARAM },
		{ "{\"vmId\": \"3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d01\", \"memSize\": 64, \"devices\": "
		  "[{\"type\": \"disk\", \"path\": \"relative/disk.img\"}]}", VD_ERR_CREATEERR },
		{ "{\"vmId\": \"3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d01\", \"memSize\": 64, \"devices\": "
		  "[{\"type\": \"disk\", \"path\": \"/a/../etc/shadow\"}]}", VD_ERR_CREATEERR },
		{ "{\"vmId\": \"3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d01\", \"memSize\": 64, \"devices\": "
		  "[{\"type\": \"disk\", \"path\": \"/a.img\", \"format\": \"vmdk\"}]}", VD_ERR_UNSUPFORMAT },
		{ "{\"vmId\": \"3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d01\", \"memSize\": 64, \"smp\": \"3\", "
		  "\"smpCoresPerSocket\": \"2\"}", VD_ERR_CREATEERR },
		{ "{\"vmId\": \"3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d01\", \"memSize\": 64, \"cpuType\": \"Neh<alem\"}", VD_ERR_CREATEERR },
		{ "{\"vmId\": \"3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d01\", \"memSize\": 64, \"boot\": \"c\"}", VD_ERR_MISSPARAM },
		{ "{\"vmId\": \"3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d01\", \"memSize\": 64, \"vmName\": \"a/b\"}", VD_ERR_CREATEERR },
		{ "{\"vmId\": \"3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d01\", \"memSize\": 64, \"kvmEnable\": \"maybe\"}", VD_ERR_CREATEERR },
		{ "{\"vmId\": \"3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d01\", \"memSize\": 64, \"devices\": \"x\"}", VD_ERR_CREATEERR },
	};
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		xmlrpc_value *p = json_value(cases[i].json);
		struct vm_conf *c = NULL;
		xmlrpc_value *stored = NULL;
		struct vd_error err = { 0 };
		char id[37];
		int r = vm_params_parse(p, &c, &stored, id, &err);
		xmlrpc_DECREF(p);
		if (r == 0 || err.code != cases[i].code)
			fail_msg("case %zu (%s): r=%d code=%d '%s', want code %d", i, cases[i].json, r,
				 err.code, err.msg, cases[i].code);
		assert_null(c);
		assert_true(strlen(err.msg) > 10);
	}
}

/* vmParams with memSize mem (a JSON value) and n_nics NICs + n_other devices of type
 * other_type; malloc'ed JSON. */
static char *bounds_json(const char *mem, int n_nics, int n_other, const char *other_type)
{
	size_t size = 256 + (size_t)(n_nics + n_other) * 96;
	char *j = malloc(size);
	size_t n;

	assert_non_null(j);
	n = (size_t)snprintf(j, size, "{\"vmId\": \"3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d01\", "
			     "\"memSize\": %s, \"devices\": [", mem);
	for (int i = 0; i < n_nics + n_other; i++)
		n += (size_t)(i < n_nics ?
			snprintf(j + n, size - n, "%s{\"type\": \"interface\", \"macAddr\": "
				 "\"00:1a:4a:16:%02x:%02x\"}", i ? "," : "", i >> 8, i & 255) :
			snprintf(j + n, size - n, "%s{\"type\": \"%s\"}", i ? "," : "", other_type));
	snprintf(j + n, size - n, "]}");
	return j;
}

static int parse_json(const char *json, struct vd_error *err)
{
	xmlrpc_value *p = json_value(json);
	struct vm_conf *c = NULL;
	xmlrpc_value *stored = NULL;
	char id[37];
	int r = vm_params_parse(p, &c, &stored, id, err);

	xmlrpc_DECREF(p);
	if (stored)
		xmlrpc_DECREF(stored);
	vm_conf_free(c);
	return r;
}

/* Issue 9 item 8: a too large memSize says so with the limit (not "missing"); NICs and
 * devices per request are bounded, with the limit in the message; devices of unknown
 * types are still accepted. */
static void test_request_bounds(void **state)
{
	static const struct {
		const char *mem;
		int nics, other;
		const char *type;
		int code;              /* 0 = accepted */
		const char *needle;
	} cases[] = {
		{ "2147483647", 0, 0, "video", VD_ERR_CREATEERR, "memSize 2147483647 MiB is too large: the limit is 16777216 MiB" },
		{ "\"1099511627776\"", 0, 0, "video", VD_ERR_CREATEERR, "the limit is 16777216 MiB" },
		{ "16777216", 0, 0, "video", 0, NULL },
		{ "64", 64, 0, "video", 0, NULL },
		{ "64", 65, 0, "video", VD_ERR_CREATEERR, "the limit is 64 NICs per VM" },
		{ "64", 1000, 0, "video", VD_ERR_CREATEERR, "the limit is 512 devices per VM" },
		{ "64", 2, 510, "controller", 0, NULL },
		{ "64", 2, 511, "controller", VD_ERR_CREATEERR, "513 devices: the limit is 512 devices per VM" },
		{ "64", 1, 3, "frobnicator", 0, NULL },
	};
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *json = bounds_json(cases[i].mem, cases[i].nics, cases[i].other,
							cases[i].type);
		struct vd_error err = { 0 };
		int r = parse_json(json, &err);
		if ((r == 0) != (cases[i].code == 0) || err.code != cases[i].code ||
		    (cases[i].needle && !strstr(err.msg, cases[i].needle)))
			fail_msg("case %zu: r=%d code=%d '%s', want code %d '%s'", i, r, err.code,
				 err.msg, cases[i].code, cases[i].needle ? cases[i].needle : "");
	}
}

/* Every key of a full request, top level and in each device, replaced by a value of
 * every other type (and odd strings): vm_params_parse() either accepts it or answers
 * with a code and a message, never crashes or leaks (run it under make asan). */
static xmlrpc_value *odd_value(xmlrpc_env *env, int kind)
{
	static char huge[70000];
	if (!huge[0]) {
		memset(huge, 'x', sizeof(huge) - 1);
		huge[0] = '/';
	}
	switch (kind) {
	case 0: return xmlrpc_build_value(env, "(ss)", "a", "b");
	case 1: return xmlrpc_build_value(env, "{s:s}", "k", "v");
	case 2: return xmlrpc_int_new(env, -2147483647 - 1);
	case 3: return xmlrpc_double_new(env, 1e300);
	case 4: return xmlrpc_bool_new(env, 1);
	case 5: return xmlrpc_string_new(env, huge);
	case 6: return xmlrpc_string_new(env, "\xc3\xa9/../\x01\r\n<&>");
	case 7: return xmlrpc_string_new(env, "");
	case 8: return xmlrpc_i8_new(env, (xmlrpc_int64)1 << 40);
	case 9: return xmlrpc_nil_new(env);
	case 10: return xmlrpc_build_value(env, "((((((((s))))))))", "deep");
	default: return xmlrpc_string_new(env, "9999999999999999999999");
	}
}

static xmlrpc_value *odd_checked(xmlrpc_env *env, int kind)
{
	xmlrpc_value *v = odd_value(env, kind);
	if (env->fault_occurred)
		fail_msg("odd value %d: %s", kind, env->fault_string);
	return v;
}
#define N_ODD 12

static void try_parse(xmlrpc_value *p)
{
	struct vm_conf *c = NULL;
	xmlrpc_value *stored = NULL;
	struct vd_error err = { 0 };
	char id[37];

	if (vm_params_parse(p, &c, &stored, id, &err) == 0) {
		assert_non_null(c);
		assert_false(rpc_value_has_forbidden(stored));
		struct vd_error e2 = { 0 };
		if (vm_conf_assign_targets(c, &e2) == 0) {
			c->domain_type = strdup("qemu");
			free(vm_domxml_build(c, START_TIME));
		} else {
			assert_true(e2.code > 0 && strlen(e2.msg) > 10);
		}
		xmlrpc_DECREF(stored);
		vm_conf_free(c);
	} else {
		assert_null(c);
		if (err.code <= 0 || strlen(err.msg) < 10)
			fail_msg("no code or message: %d '%s'", err.code, err.msg);
	}
}

static void test_params_every_key_every_type(void **state)
{
	char jp[512];
	xmlrpc_env env;
	(void)state;

	xmlrpc_env_init(&env);
	snprintf(jp, sizeof(jp), "%s/vm/full.json", test_data_dir());
	_cleanup_free_ char *json = slurp(jp);
	xmlrpc_value *base = json_value(json);
	int n = xmlrpc_struct_size(&env, base);
	for (int i = 0; i < n; i++) {
		xmlrpc_value *k = NULL, *v = NULL;
		xmlrpc_struct_read_member(&env, base, (unsigned)i, &k, &v);
		const char *key = NULL;
		xmlrpc_read_string(&env, k, &key);
		for (int kind = 0; kind < N_ODD; kind++) {
			xmlrpc_value *p = rpc_struct_copy_shallow(&env, base);
			xmlrpc_value *odd = odd_checked(&env, kind);
			xmlrpc_struct_set_value(&env, p, key, odd);
			xmlrpc_DECREF(odd);
			try_parse(p);
			xmlrpc_DECREF(p);
		}
		if (strcmp(key, "devices") == 0) {
			int nd = xmlrpc_array_size(&env, v);
			for (int d = 0; d < nd; d++) {
				xmlrpc_value *dev = NULL;
				xmlrpc_array_read_item(&env, v, d, &dev);
				int nk = xmlrpc_struct_size(&env, dev);
				for (int j = 0; j < nk; j++) {
					xmlrpc_value *dk = NULL, *dv = NULL;
					const char *dkey = NULL;
					xmlrpc_struct_read_member(&env, dev, (unsigned)j, &dk, &dv);
					xmlrpc_read_string(&env, dk, &dkey);
					for (int kind = 0; kind < N_ODD; kind++) {
						xmlrpc_value *nd2 = rpc_struct_copy_shallow(&env, dev);
						xmlrpc_value *odd = odd_checked(&env, kind);
						xmlrpc_struct_set_value(&env, nd2, dkey, odd);
						xmlrpc_DECREF(odd);
						xmlrpc_value *arr = xmlrpc_array_new(&env);
						for (int e = 0; e < nd; e++) {
							xmlrpc_value *x = NULL;
							xmlrpc_array_read_item(&env, v, e, &x);
							xmlrpc_array_append_item(&env, arr, e == d ? nd2 : x);
							xmlrpc_DECREF(x);
						}
						xmlrpc_DECREF(nd2);
						xmlrpc_value *p = rpc_struct_copy_shallow(&env, base);
						xmlrpc_struct_set_value(&env, p, "devices", arr);
						xmlrpc_DECREF(arr);
						try_parse(p);
						xmlrpc_DECREF(p);
					}
					free((char *)dkey);
					xmlrpc_DECREF(dk);
					xmlrpc_DECREF(dv);
				}
				for (int kind = 0; kind < N_ODD; kind++) {
					/* the device itself replaced */
					xmlrpc_value *arr = xmlrpc_array_new(&env);
					xmlrpc_value *odd = odd_checked(&env, kind);
					xmlrpc_array_append_item(&env, arr, odd);
					xmlrpc_DECREF(odd);
					xmlrpc_value *p = rpc_struct_copy_shallow(&env, base);
					xmlrpc_struct_set_value(&env, p, "devices", arr);
					xmlrpc_DECREF(arr);
					try_parse(p);
					xmlrpc_DECREF(p);
				}
				xmlrpc_DECREF(dev);
			}
		}
		free((char *)key);
		xmlrpc_DECREF(k);
		xmlrpc_DECREF(v);
	}
	assert_false(env.fault_occurred);
	xmlrpc_DECREF(base);
	xmlrpc_env_clean(&env);
}

/* ---- MAC ---- */

static void test_mac(void **state)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "00:1a:4a:16:01:51", "00:1a:4a:16:01:51" },
		{ "00:1A:4A:16:01:5F", "00:1a:4a:16:01:5f" },
		{ "52-54-00-AA-BB-01", "52:54:00:aa:bb:01" },
		{ "fe:ff:ff:ff:ff:ff", "fe:ff:ff:ff:ff:ff" },
	};
	static const char *const bad[] = {
		"", "00:1a:4a:16:01", "00:1a:4a:16:01:511", "00:1a:4a:16:01:5g", "00:1a-4a:16:01:51",
		"001a.4a16.0151", "01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00",
		" 0:1a:4a:16:01:51", "00:1a:4a:16:01:51\n",
	};
	char out[18];
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
		assert_int_equal(vm_mac_parse(ok[i].in, out), 0);
		assert_string_equal(out, ok[i].out);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		if (vm_mac_parse(bad[i], out) != -EINVAL)
			fail_msg("MAC '%s' accepted", bad[i]);
	assert_int_equal(vm_mac_parse(NULL, out), -EINVAL);
}

static void test_ifname(void **state)
{
	(void)state;
	assert_true(vm_ifname_valid("ovirtmgmt"));
	assert_true(vm_ifname_valid("br-x.100"));
	assert_true(vm_ifname_valid("abcdefghijklmno"));
	assert_false(vm_ifname_valid("abcdefghijklmnop"));
	assert_false(vm_ifname_valid(""));
	assert_false(vm_ifname_valid("a/b"));
	assert_false(vm_ifname_valid("a b"));
	assert_false(vm_ifname_valid("a:b"));
	assert_false(vm_ifname_valid(".."));
	assert_false(vm_ifname_valid("-x"));
}

static void test_targets(void **state)
{
	struct vm_conf *c = vm_conf_new();
	struct vd_error err = { 0 };
	(void)state;
	c->n_disks = 30;
	c->disks = calloc(c->n_disks, sizeof(*c->disks));
	for (size_t i = 0; i < c->n_disks; i++) {
		c->disks[i].bus = VM_BUS_VIRTIO;
		c->disks[i].index = -1;
	}
	c->disks[0].index = 1;           /* vdb */
	c->disks[29].bus = VM_BUS_IDE;
	c->disks[29].index = 2;          /* hdc */
	assert_int_equal(vm_conf_assign_targets(c, &err), 0);
	assert_string_equal(c->disks[0].target, "vdb");
	assert_string_equal(c->disks[1].target, "vda");
	assert_string_equal(c->disks[2].target, "vdc");
	assert_string_equal(c->disks[26].target, "vdaa");
	assert_string_equal(c->disks[29].target, "hdc");
	c->disks[1].index = 1;           /* clash with disks[0] */
	assert_int_equal(vm_conf_assign_targets(c, &err), -1);
	assert_int_equal(err.code, VD_ERR_CREATEERR);
	vm_conf_free(c);
}

static void test_tables(void **state)
{
	(void)state;
	for (int s = 0; s < _VM_ST_MAX; s++)
		assert_true(strlen(vm_status_to_string(s)) > 1);
	assert_string_equal(vm_status_to_string(VM_ST_WAIT_FOR_LAUNCH), "WaitForLaunch");
	assert_string_equal(vm_status_to_string(VM_ST_POWERING_UP), "Powering up");
	assert_string_equal(vm_status_to_string(VM_ST_DOWN), "Down");
	for (int r = 0; r < _VM_EXIT_MAX; r++)
		assert_true(strlen(vm_exit_reason_message(r)) > 5);
	assert_string_equal(vm_exit_reason_message(VM_EXIT_ADMIN_SHUTDOWN),
			    "Admin shut down from the engine");
	assert_string_equal(vm_exit_reason_message(99), "");
}

/* ---- metadata / state file ---- */

static void test_metadata_roundtrip(void **state)
{
	(void)state;
	_cleanup_free_ char *xml = NULL;
	_cleanup_(vm_conf_freep) struct vm_conf *c = conf_from_fixture("full", "kvm", &xml);
	struct vm_meta m;
	assert_int_equal(vm_meta_parse(xml, &m), 0);
	assert_string_equal(m.id, c->id);
	assert_true(m.start_time > START_TIME - 0.01 && m.start_time < START_TIME + 0.01);
	assert_string_equal(m.conf_blob, c->conf_blob);
	assert_string_equal(m.name, "web-01");
	assert_int_equal(m.mem_kib, 2048 * 1024);
	assert_int_equal(m.vcpus, 4);
	assert_int_equal(m.n_drives, 2);
	assert_string_equal(m.drives[0].target, "vda");
	assert_string_equal(m.drives[1].target, "sda");
	assert_string_equal(m.drives[1].lun_guid, "360014051f2b3c4d5e6f708192a3b4c5d");
	assert_string_equal(m.drives[0].image_id, "7f6e5d4c-3b2a-4190-8f7e-6d5c4b3a2918");
	assert_int_equal(m.n_devs, 5);
	assert_int_equal(m.devs[0].kind, 'd');
	assert_string_equal(m.devs[0].device_id, "7f6e5d4c-3b2a-4190-8f7e-6d5c4b3a2918");
	assert_int_equal(m.devs[3].kind, 'n');
	assert_string_equal(m.devs[3].mac, "00:1a:4a:16:01:51");
	assert_string_equal(m.devs[3].model, "virtio");

	/* The stored conf survives with its types (int memSize, string smp). */
	xmlrpc_env env;
	xmlrpc_env_init(&env);
	xmlrpc_value *conf = vm_conf_from_blob(&env, m.conf_blob);
	assert_false(env.fault_occurred);
	assert_int_equal(xmlrpc_value_type(rpc_struct_get(conf, "memSize")), XMLRPC_TYPE_INT);
	assert_int_equal(xmlrpc_value_type(rpc_struct_get(conf, "smp")), XMLRPC_TYPE_STRING);
	assert_non_null(rpc_struct_get(conf, "custom"));
	_cleanup_free_ char *vmtype = rpc_to_string(rpc_struct_get(conf, "vmType"));
	assert_string_equal(vmtype, "kvm");
	xmlrpc_DECREF(conf);
	xmlrpc_env_clean(&env);
	vm_meta_clear(&m);

	/* A domain without our metadata is not ours. */
	assert_int_equal(vm_meta_parse("<domain type='kvm'><name>x</name></domain>", &m), -ENOENT);
	assert_int_equal(vm_meta_parse("<domain", &m), -EINVAL);

	/* Numbers out of range (a damaged state file) fall back to defaults instead of
	 * overflowing (found by fuzz_vmmeta: memSize 2^62 MiB overflowed the KiB product). */
	assert_int_equal(vm_meta_parse("<vdsmc:vm xmlns:vdsmc='urn:x-vdsm-c:vm:1'>"
				       "<vdsmc:id>3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d01</vdsmc:id>"
				       "<vdsmc:memSize>4611686018427387904</vdsmc:memSize>"
				       "<vdsmc:vcpus>99999999999</vdsmc:vcpus></vdsmc:vm>", &m), 0);
	assert_int_equal(m.mem_kib, 0);
	assert_int_equal(m.vcpus, 1);
	vm_meta_clear(&m);
}

static void test_state_file_roundtrip(void **state)
{
	struct vm *vm = vm_obj_new("3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d09");
	struct vm_meta m;
	(void)state;
	vm->name = strdup("db & <x>");
	vm->mem_mib = 256;
	vm->vcpus = 2;
	vm->start_time = START_TIME;
	vm->conf_blob = strdup("<value><struct></struct></value>");
	vm->drives = calloc(1, sizeof(*vm->drives));
	vm->n_drives = 1;
	strcpy(vm->drives[0].target, "sda");
	vm->drives[0].lun_guid = strdup("3600a");
	vm_set_down_locked(vm, VM_EXIT_CODE_NORMAL, VM_EXIT_USER_SHUTDOWN, NULL);
	_cleanup_free_ char *xml = vm_state_xml_locked(vm);
	assert_int_equal(vm_meta_parse(xml, &m), 0);
	assert_string_equal(m.id, vm->id);
	assert_string_equal(m.name, "db & <x>");
	assert_int_equal(m.mem_kib, 256 * 1024);
	assert_int_equal(m.vcpus, 2);
	assert_true(m.has_exit);
	assert_int_equal(m.exit_code, 0);
	assert_int_equal(m.exit_reason, VM_EXIT_USER_SHUTDOWN);
	assert_string_equal(m.exit_message, "User shut down from within the guest");
	assert_string_equal(m.conf_blob, vm->conf_blob);
	assert_string_equal(m.drives[0].lun_guid, "3600a");
	vm_meta_clear(&m);
	vm_unref(vm);
}

/* A Down record whose exitMessage came from libvirt (QEMU's stderr: escape sequences,
 * bytes that are not UTF-8) still makes a state file that reads back. */
static void test_state_file_odd_message(void **state)
{
	static const char *const msgs[] = {
		"qemu: \x1b[31merror\x1b[0m \x01\x7f end",
		"qemu: bad bytes \xff\xfe\xc3 end",
		"qemu: cr\r\nlf\ttab & <tag> end",
	};
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(msgs); i++) {
		struct vm *vm = vm_obj_new("3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d10");
		struct vm_meta m;
		vm->name = strdup("odd");
		vm_set_down_locked(vm, VM_EXIT_CODE_ERROR, VM_EXIT_LIBVIRT_START_FAILED, msgs[i]);
		_cleanup_free_ char *xml = vm_state_xml_locked(vm);
		if (!xml)
			fail_msg("message %zu: no state file written", i);
		if (vm_meta_parse(xml, &m) != 0)
			fail_msg("message %zu: state file does not read back:\n%s", i, xml);
		assert_true(m.has_exit);
		assert_int_equal(m.exit_reason, VM_EXIT_LIBVIRT_START_FAILED);
		assert_non_null(strstr(m.exit_message, "qemu: "));
		assert_non_null(strstr(m.exit_message, " end"));
		vm_meta_clear(&m);
		vm_unref(vm);
	}
}

/* An incoming VM's record carries the `incoming` mark (recovery drops such a record
 * when libvirt has no domain for it); once Up or Down it does not. */
static void test_state_file_incoming_mark(void **state)
{
	struct vm *vm = vm_obj_new("3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d11");
	struct vm_meta m;

	(void)state;
	vm->name = strdup("in");
	vm_set_status_locked(vm, VM_ST_MIGRATION_DESTINATION);
	char *xml = vm_state_xml_locked(vm);
	assert_int_equal(vm_meta_parse(xml, &m), 0);
	assert_true(m.incoming);
	assert_false(m.has_exit);
	vm_meta_clear(&m);
	free(xml);
	vm_set_status_locked(vm, VM_ST_UP);
	xml = vm_state_xml_locked(vm);
	assert_int_equal(vm_meta_parse(xml, &m), 0);
	assert_false(m.incoming);
	vm_meta_clear(&m);
	free(xml);
	vm_set_down_locked(vm, VM_EXIT_CODE_ERROR, VM_EXIT_MIGRATION_FAILED, NULL);
	xml = vm_state_xml_locked(vm);
	assert_int_equal(vm_meta_parse(xml, &m), 0);
	assert_false(m.incoming);
	assert_true(m.has_exit);
	vm_meta_clear(&m);
	free(xml);
	vm_unref(vm);
}

/* ---- sampler arithmetic ---- */

#define ULL(f, v) { .field = f, .type = VIR_TYPED_PARAM_ULLONG, .value.ul = (v) }
#define STR(f, v) { .field = f, .type = VIR_TYPED_PARAM_STRING, .value.s = (char *)(v) }

static void test_sample_apply(void **state)
{
	struct vm *vm = vm_obj_new("3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d0a");
	struct vm_dev_info *devs = calloc(1, sizeof(*devs));
	(void)state;
	devs[0].kind = 'n';
	devs[0].target = strdup("vnet7");
	devs[0].model = strdup("virtio");
	strcpy(devs[0].mac, "00:1a:4a:16:01:51");
	vm_set_devs_locked(vm, devs, 1);
	vm->drives = calloc(1, sizeof(*vm->drives));
	vm->n_drives = 1;
	strcpy(vm->drives[0].target, "vda");
	vm->drives[0].image_id = strdup("img");

	virTypedParameter a[] = {
		ULL("cpu.time", 1000000000ULL), ULL("cpu.user", 100000000ULL), ULL("cpu.system", 100000000ULL),
		ULL("balloon.current", 1048576), ULL("balloon.maximum", 1048576),
		ULL("balloon.available", 1000000), ULL("balloon.unused", 250000),
		ULL("net.count", 1), STR("net.0.name", "vnet7"), ULL("net.0.rx.bytes", 1000), ULL("net.0.tx.bytes", 0),
		ULL("block.count", 1), STR("block.0.name", "vda"), ULL("block.0.rd.bytes", 0),
		ULL("block.0.rd.reqs", 0), ULL("block.0.rd.times", 0), ULL("block.0.physical", 4096),
		ULL("block.0.allocation", 1024),
		ULL("net.5.rx.bytes", 1), /* index beyond net.count: ignored */
	};
	virTypedParameter b[] = {
		ULL("cpu.time", 2000000000ULL), ULL("cpu.user", 200000000ULL), ULL("cpu.system", 300000000ULL),
		ULL("net.count", 1), STR("net.0.name", "vnet7"),
		ULL("net.0.rx.bytes", 1000 + 2 * 12500000ULL), ULL("net.0.tx.bytes", 1250000), ULL("net.0.rx.drop", 3),
		ULL("block.count", 1), STR("block.0.name", "vda"), ULL("block.0.rd.bytes", 2 * 4096),
		ULL("block.0.rd.reqs", 4), ULL("block.0.rd.times", 4000000ULL),
	};
	vm_sample_apply(vm, a, (int)ELEMENTSOF(a), 100.0);
	assert_true(vm->have_sample);
	assert_int_equal(vm->mem_usage, 75);
	assert_int_equal(vm->n_nic_stats, 1);
	assert_string_equal(vm->nic_stats[0].mac, "00:1a:4a:16:01:51");
	assert_int_equal(vm->nic_stats[0].speed, 1000);
	assert_int_equal(vm->disk_stats[0].truesize, 1024);
	assert_int_equal(vm->disk_stats[0].apparentsize, 4096);
	vm_sample_apply(vm, b, (int)ELEMENTSOF(b), 102.0);
	/* 1 s of CPU over 2 s: 0.3 s QEMU user+system (15 %), 0.7 s guest (35 %). */
	assert_true(vm->cpu_sys_pct > 14.99 && vm->cpu_sys_pct < 15.01);
	assert_true(vm->cpu_user_pct > 34.99 && vm->cpu_user_pct < 35.01);
	/* 25 MB in 2 s on a 1000 Mb/s NIC = 100 Mb/s = 10 %; 1.25 MB = 0.5 %. */
	assert_true(vm->nic_stats[0].rx_rate > 9.99 && vm->nic_stats[0].rx_rate < 10.01);
	assert_true(vm->nic_stats[0].tx_rate > 0.49 && vm->nic_stats[0].tx_rate < 0.51);
	assert_int_equal(vm->nic_stats[0].rx_drop, 3);
	assert_string_equal(vm->disk_stats[0].image_id, "img");
	assert_true(vm->disk_stats[0].read_rate > 4095 && vm->disk_stats[0].read_rate < 4097);
	assert_true(vm->disk_stats[0].read_latency > 0.000999 && vm->disk_stats[0].read_latency < 0.001001);
	vm_unref(vm);
}

/* ---- getVmStats/getAllVmStats text replies ---- */

static xmlrpc_value *member(xmlrpc_value *st, const char *key)
{
	xmlrpc_value *v = rpc_struct_get(st, key);
	if (!v)
		fail_msg("no member '%s'", key);
	return v;
}

static void assert_member_str(xmlrpc_value *st, const char *key, const char *want)
{
	xmlrpc_value *v = member(st, key);
	assert_int_equal(xmlrpc_value_type(v), XMLRPC_TYPE_STRING);
	_cleanup_free_ char *s = rpc_to_string(v);
	if (strcmp(s, want) != 0)
		fail_msg("%s = '%s', want '%s'", key, s, want);
}

static xmlrpc_value *parse_reply(struct rpc_blob *b)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;
	int fault_code = 0;
	const char *fault_string = NULL;

	xmlrpc_env_init(&env);
	xmlrpc_parse_response2(&env, b->data, b->len, &v, &fault_code, &fault_string);
	if (env.fault_occurred || fault_string)
		fail_msg("reply does not parse: %s", env.fault_string);
	xmlrpc_env_clean(&env);
	assert_false(rpc_value_has_forbidden(v));
	return v;
}

static void test_wire_stats(void **state)
{
	struct vm *vm = vm_obj_new("3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d0b");
	struct vm *down = vm_obj_new("3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d0c");
	struct vm_dev_info *devs = calloc(1, sizeof(*devs));
	struct rpc_blob *b = NULL;
	xmlrpc_env env;
	(void)state;

	xmlrpc_env_init(&env);
	vm->name = strdup("a<b>&c \x01 \xff\xfe ok \xc3\xa9");
	vm->mem_mib = 512;
	vm->status = VM_ST_UP;
	devs[0].kind = 'n';
	devs[0].target = strdup("vnet7");
	devs[0].model = strdup("virtio");
	strcpy(devs[0].mac, "00:1a:4a:16:01:51");
	vm_set_devs_locked(vm, devs, 1);
	virTypedParameter a[] = {
		ULL("cpu.time", 1000000000ULL), ULL("cpu.user", 100000000ULL), ULL("cpu.system", 100000000ULL),
		ULL("balloon.current", 524288), ULL("net.count", 1), STR("net.0.name", "vnet7"),
		ULL("net.0.rx.bytes", 1000), ULL("block.count", 1), STR("block.0.name", "vda"),
		ULL("block.0.rd.reqs", 0), ULL("block.0.rd.times", 0), ULL("block.0.physical", 4096),
	};
	virTypedParameter c[] = {
		ULL("cpu.time", 2000000000ULL), ULL("cpu.user", 200000000ULL), ULL("cpu.system", 300000000ULL),
		ULL("balloon.current", 524288), ULL("net.count", 1), STR("net.0.name", "vnet7"),
		ULL("net.0.rx.bytes", 1000 + 2 * 12500000ULL), ULL("net.0.rx.drop", 3),
		ULL("block.count", 1), STR("block.0.name", "vda"), ULL("block.0.rd.reqs", 4),
		ULL("block.0.rd.times", 4000000ULL), ULL("block.0.physical", 4096),
	};
	vm_sample_apply(vm, a, (int)ELEMENTSOF(a), 100.0);
	vm_sample_apply(vm, c, (int)ELEMENTSOF(c), 102.0);
	vm_set_down_locked(down, VM_EXIT_CODE_ERROR, VM_EXIT_LOST_QEMU_CONNECTION, "qemu <died>");
	assert_int_equal(vm_registry_add(vm), 0);
	assert_int_equal(vm_registry_add(down), 0);

	assert_int_equal(vm_wire_stats_reply("3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d0f", &b), -ENOENT);
	assert_int_equal(vm_wire_stats_reply(vm->id, &b), 0);
	xmlrpc_value *r = parse_reply(b);
	rpc_blob_unref(b);
	xmlrpc_value *status = member(r, "status");
	assert_int_equal(xmlrpc_value_type(member(status, "code")), XMLRPC_TYPE_INT);
	assert_member_str(status, "message", "Done");
	xmlrpc_value *list = member(r, "statsList");
	assert_int_equal(xmlrpc_array_size(&env, list), 1);
	xmlrpc_value *s = NULL;
	xmlrpc_array_read_item(&env, list, 0, &s);
	assert_member_str(s, "vmId", vm->id);
	assert_member_str(s, "status", "Up");
	assert_member_str(s, "vmName", "a<b>&c ? ?? ok \xc3\xa9");
	assert_member_str(s, "cpuSys", "15.00");
	assert_member_str(s, "cpuUser", "35.00");
	assert_member_str(s, "cpuUsage", "500000000");
	xmlrpc_value *nic = member(member(s, "network"), "vnet7");
	assert_member_str(nic, "macAddr", "00:1a:4a:16:01:51");
	assert_member_str(nic, "rxRate", "10.0");
	assert_member_str(nic, "rxDropped", "3");
	assert_member_str(nic, "speed", "1000");
	assert_int_equal(xmlrpc_value_type(member(nic, "sampleTime")), XMLRPC_TYPE_DOUBLE);
	xmlrpc_value *disk = member(member(s, "disks"), "vda");
	assert_member_str(disk, "readLatency", "0.001000000");
	assert_member_str(disk, "apparentsize", "4096");
	assert_member_str(member(s, "balloonInfo"), "balloon_cur", "524288");
	assert_null(rpc_struct_get(s, "exitCode"));
	xmlrpc_DECREF(s);
	xmlrpc_DECREF(r);

	assert_int_equal(vm_wire_stats_reply(NULL, &b), 0);
	r = parse_reply(b);
	rpc_blob_unref(b);
	list = member(r, "statsList");
	assert_int_equal(xmlrpc_array_size(&env, list), 2);
	xmlrpc_array_read_item(&env, list, 1, &s);
	assert_member_str(s, "status", "Down");
	int code = -1, reason = -1;
	xmlrpc_read_int(&env, member(s, "exitCode"), &code);
	xmlrpc_read_int(&env, member(s, "exitReason"), &reason);
	assert_int_equal(code, 1);
	assert_int_equal(reason, 2);
	assert_member_str(s, "exitMessage", "qemu <died>");
	xmlrpc_DECREF(s);
	xmlrpc_DECREF(r);
	assert_false(env.fault_occurred);
	xmlrpc_env_clean(&env);
	vm_registry_clear();
	vm_unref(vm);
	vm_unref(down);
}

/* The stored conf is echoed by create and list(full): a request carrying <i8>, <nil>
 * or <dateTime.iso8601> (which xmlrpc-c parses) must not make us emit them (API.md §3.2). */
static void test_stored_conf_wire_types(void **state)
{
	xmlrpc_env env;
	struct vm_conf *c = NULL;
	xmlrpc_value *stored = NULL;
	struct vd_error err = { 0 };
	char id[37];
	(void)state;

	xmlrpc_env_init(&env);
	xmlrpc_value *p = xmlrpc_build_value(&env, "{s:s,s:I,s:n,s:I,s:8,s:({s:s,s:n,s:(I)})}",
					     "vmId", "3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d0e",
					     "memSize", (xmlrpc_int64)64, "custom", "maxMemSize",
					     (xmlrpc_int64)(1LL << 40), "when", "19980717T14:08:55",
					     "devices", "type", "video", "specParams", "extra",
					     (xmlrpc_int64)-(1LL << 33));
	assert_false(env.fault_occurred);
	assert_int_equal(vm_params_parse(p, &c, &stored, id, &err), 0);
	xmlrpc_DECREF(p);
	assert_false(rpc_value_has_forbidden(stored));
	assert_member_str(stored, "maxMemSize", "1099511627776");
	assert_member_str(stored, "custom", "");
	xmlrpc_value *mem = member(stored, "memSize");
	assert_int_equal(xmlrpc_value_type(mem), XMLRPC_TYPE_INT);
	/* The blob (list(full) after a restart) carries the same safe types. */
	xmlrpc_value *back = vm_conf_from_blob(&env, c->conf_blob);
	assert_non_null(back);
	assert_false(rpc_value_has_forbidden(back));
	xmlrpc_DECREF(back);
	xmlrpc_DECREF(stored);
	vm_conf_free(c);
	assert_false(env.fault_occurred);
	xmlrpc_env_clean(&env);
}

/* Numbers the fast fixed-point writer cannot hold (a counter that jumped, a rate near
 * 2^64) come out as printf would write them, not as wrapped garbage. */
static void test_wire_big_rates(void **state)
{
	struct vm *vm = vm_obj_new("3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d11");
	struct rpc_blob *b = NULL;
	xmlrpc_env env;
	(void)state;

	xmlrpc_env_init(&env);
	vm->status = VM_ST_UP;
	virTypedParameter a[] = {
		ULL("block.count", 1), STR("block.0.name", "vda"), ULL("block.0.rd.bytes", 0),
		ULL("block.0.wr.bytes", 0),
	};
	virTypedParameter c[] = {
		ULL("block.count", 1), STR("block.0.name", "vda"),
		ULL("block.0.rd.bytes", 8000000000000000000ULL),
		ULL("block.0.wr.bytes", 18000000000000000000ULL),
	};
	vm_sample_apply(vm, a, (int)ELEMENTSOF(a), 100.0);
	vm_sample_apply(vm, c, (int)ELEMENTSOF(c), 102.0);
	assert_int_equal(vm_registry_add(vm), 0);
	assert_int_equal(vm_wire_stats_reply(vm->id, &b), 0);
	xmlrpc_value *r = parse_reply(b);
	rpc_blob_unref(b);
	xmlrpc_value *list = member(r, "statsList"), *s = NULL;
	xmlrpc_array_read_item(&env, list, 0, &s);
	xmlrpc_value *disk = member(member(s, "disks"), "vda");
	assert_member_str(disk, "readRate", "4000000000000000000.0");
	assert_member_str(disk, "writeRate", "9000000000000000000.0");
	xmlrpc_DECREF(s);
	xmlrpc_DECREF(r);
	assert_false(env.fault_occurred);
	xmlrpc_env_clean(&env);
	vm_registry_clear();
	vm_unref(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_basic),
		cmocka_unit_test(test_golden_full),
		cmocka_unit_test(test_golden_passthrough),
		cmocka_unit_test(test_golden_escaping),
		cmocka_unit_test(test_full_content),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_request_bounds),
		cmocka_unit_test(test_params_every_key_every_type),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_ifname),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_metadata_roundtrip),
		cmocka_unit_test(test_state_file_roundtrip),
		cmocka_unit_test(test_state_file_odd_message),
		cmocka_unit_test(test_state_file_incoming_mark),
		cmocka_unit_test(test_sample_apply),
		cmocka_unit_test(test_wire_stats),
		cmocka_unit_test(test_wire_big_rates),
		cmocka_unit_test(test_stored_conf_wire_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
