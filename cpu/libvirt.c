/* Queries libvirtd for the hypervisor's capabilities (one short-lived connection). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "cpu.h"

DEFINE_CLEANUP(virConnect, virConnectClose)

static int fail(const char *what, struct vd_error *err)
{
	const char *m = virGetLastErrorMessage();

	vd_error_set(err, VD_ERR_GENERAL, "%s: %s", what, m ? m : "unknown libvirt error");
	return -EIO;
}

int cpu_virt_query(const char *uri, struct cpu_virt **ret, struct vd_error *err)
{
	_cleanup_(virConnectClosep) virConnect *conn = NULL;
	_cleanup_(cpu_virt_freep) struct cpu_virt *v = calloc(1, sizeof(*v));
	_cleanup_free_ char *caps = NULL, *domcaps = NULL;
	int r;

	if (!v) {
		vd_error_set(err, VD_ERR_GENERAL, "out of memory");
		return -ENOMEM;
	}
	conn = virConnectOpen(uri);
	if (!conn)
		return fail("cannot connect to libvirt", err);
	if (!(caps = virConnectGetCapabilities(conn)))
		return fail("virConnectGetCapabilities", err);
	if ((r = cpu_virt_parse_caps(caps, v)) < 0) {
		vd_error_set(err, VD_ERR_GENERAL, "cannot parse libvirt capabilities XML");
		return r;
	}
	/* Default emulator and domain type, as `virsh domcapabilities` with no option:
	 * kvm when qemu can use it, else qemu (TCG). */
	if (!(domcaps = virConnectGetDomainCapabilities(conn, NULL, v->arch, NULL, NULL, 0)))
		return fail("virConnectGetDomainCapabilities", err);
	if ((r = cpu_virt_parse_domcaps(domcaps, v)) < 0) {
		vd_error_set(err, VD_ERR_GENERAL, "cannot parse libvirt domain capabilities XML");
		return r;
	}
	if (virConnectGetVersion(conn, &v->hv_version) < 0)
		return fail("virConnectGetVersion", err);
	if (virConnectGetLibVersion(conn, &v->lib_version) < 0)
		return fail("virConnectGetLibVersion", err);
	*ret = TAKE_PTR(v);
	return 0;
}
