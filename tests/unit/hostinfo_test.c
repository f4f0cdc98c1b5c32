/* vdsm-c/hostinfo: host UUID (DMI, placeholder rejected, generated and persisted),
 * os-release, kernel version split, dpkg-query output, iSCSI initiator, FC HBAs;
 * fixtures in tests/data/hostinfo/. */
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

#include "../../vdsm-c/host/hostinfo.h"
#include "../../vdsm-c/util/util.h"

static char *fixture(const char *rel)
{
	return test_data("hostinfo/%s", rel);
}

static void test_uuid_dmi(void **state)
{
	_cleanup_free_ char *root = fixture("a");
	char tmpl[] = "/tmp/hostinfo-test-XXXXXX";
	char uuid[37];
	const char *src;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	assert_int_equal(vd_host_uuid(root, tmpl, uuid, &src), 0);
	assert_string_equal(uuid, "4c4c4544-0042-3510-8052-b4c04f4a4b32");
	assert_string_equal(src, "dmi");
	rmdir(tmpl);
}

static void test_uuid_generated_persisted(void **state)
{
	_cleanup_free_ char *root = fixture("b");   /* DMI has a firmware placeholder */
	char tmpl[] = "/tmp/hostinfo-test-XXXXXX";
	char u1[37], u2[37], path[128], line[64];
	const char *src;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	assert_int_equal(vd_host_uuid(root, tmpl, u1, &src), 0);
	assert_string_equal(src, "generated");
	assert_true(util_uuid_valid(u1));
	snprintf(path, sizeof(path), "%s/var/lib/vdsm-c/host-uuid", tmpl);
	assert_true(util_read_line(path, line, sizeof(line)) > 0);
	assert_string_equal(line, u1);
	assert_int_equal(vd_host_uuid(root, tmpl, u2, &src), 0);
	assert_string_equal(src, "persisted");
	assert_string_equal(u1, u2);
	unlink(path);
	snprintf(path, sizeof(path), "%s/var/lib/vdsm-c", tmpl);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/var/lib", tmpl);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/var", tmpl);
	rmdir(path);
	rmdir(tmpl);
}

static void test_os(void **state)
{
	_cleanup_free_ char *a = fixture("a"), *b = fixture("b");
	struct vd_os os;

	(void)state;
	/* VDSM's OSName from the release files; the full name only in pretty_name */
	assert_int_equal(vd_os_read(a, &os), 0);
	assert_string_equal(os.name, "RHEL");
	assert_string_equal(os.version, "7.2");
	assert_string_equal(os.release, "");
	assert_string_equal(os.pretty_name, "Red Hat Enterprise Linux Server 7.2 (Maipo)");
	assert_int_equal(vd_os_read(b, &os), 0);   /* /usr/lib/os-release fallback */
	assert_string_equal(os.name, "Debian");
	assert_string_equal(os.version, "12.8");   /* /etc/debian_version, as VDSM */
	assert_string_equal(os.release, "");
	assert_string_equal(os.pretty_name, "Debian GNU/Linux 12 (bookworm)");
	assert_int_equal(vd_os_read("/nonexistent", &os), 0);
	assert_string_equal(os.name, "unknown");
	assert_string_equal(os.pretty_name, "");
}

static void test_kernel(void **state)
{
	struct vd_pkg k;

	(void)state;
	assert_int_equal(vd_kernel_pkg_parse("6.1.0-28-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)", &k), 0);
	assert_string_equal(k.name, "kernel");
	assert_string_equal(k.version, "6.1.0");
	assert_string_equal(k.release, "28-amd64");
	assert_int_equal(k.buildtime, 1732233600);
	assert_int_equal(vd_kernel_pkg_parse("3.10.0-327.el7.x86_64", "#1 SMP Thu Oct 29 17:29:29 EDT 2015", &k), 0);
	assert_string_equal(k.version, "3.10.0");
	assert_string_equal(k.release, "327.el7.x86_64");
	assert_int_equal(k.buildtime, 1446139769);
	assert_int_equal(vd_kernel_pkg_parse("6.18.44", "#1 SMP PREEMPT_DYNAMIC @0", &k), 0);
	assert_string_equal(k.version, "6.18.44");
	assert_string_equal(k.release, "");
	assert_int_equal(k.buildtime, -1);
	assert_int_equal(vd_kernel_pkg(&k), 0);
	assert_true(k.version[0] != '\0');
}

static void test_packages_parse(void **state)
{
	const char *out = "libvirt-daemon\t9.0.0-4+deb12u2\tinstalled\n"
			  "qemu-system-x86\t1:7.2+dfsg-7+deb12u18+b3\tinstalled\n"
			  "qemu-utils\t1:7.2+dfsg-7+deb12u18+b3\tinstalled\n"
			  "libspice-server1\t0.15.1-1\tconfig-files\n"
			  "librbd1\t\tnot-installed\n";
	_cleanup_free_ struct vd_pkg *p = NULL;
	size_t n;

	(void)state;
	assert_int_equal(vd_packages_parse(out, &p, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(p[0].name, "qemu-kvm");
	assert_string_equal(p[0].version, "7.2+dfsg");
	assert_string_equal(p[0].release, "7+deb12u18+b3");
	assert_string_equal(p[1].name, "qemu-img");
	assert_string_equal(p[2].name, "libvirt");
	assert_string_equal(p[2].version, "9.0.0");
	assert_string_equal(p[2].release, "4+deb12u2");
	free(TAKE_PTR(p));
	assert_int_equal(vd_packages_query("/nonexistent/dpkg-query", &p, &n), 0);
	assert_int_equal(n, 0);
}

static void test_iscsi_fc(void **state)
{
	_cleanup_free_ char *a = fixture("a"), *b = fixture("b");
	_cleanup_free_ struct vd_fc_hba *h = NULL;
	char name[256];
	size_t n;

	(void)state;
	assert_int_equal(vd_iscsi_initiator(a, name, sizeof(name)), 0);
	assert_string_equal(name, "iqn.1994-05.com.redhat:a1b2c3d4e5f6");
	assert_int_equal(vd_iscsi_initiator(b, name, sizeof(name)), 0);
	assert_string_equal(name, "");
	assert_int_equal(vd_fc_hbas(a, &h, &n), 0);
	assert_int_equal(n, 1);   /* host4 has no port name */
	assert_string_equal(h[0].wwnn, "20000025b500a00f");
	assert_string_equal(h[0].wwpn, "20000025b500a01f");
	assert_string_equal(h[0].model, "QLE2562 - PCI-Express Dual Channel 8Gb Fibre Channel HBA");
	free(TAKE_PTR(h));
	assert_int_equal(vd_fc_hbas(b, &h, &n), 0);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuid_dmi),
		cmocka_unit_test(test_uuid_generated_persisted),
		cmocka_unit_test(test_os),
		cmocka_unit_test(test_kernel),
		cmocka_unit_test(test_packages_parse),
		cmocka_unit_test(test_iscsi_fc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
