/* Host identity and software for getVdsCapabilities (API.md §5.1): hardware UUID,
 * operating system, kernel, package versions, iSCSI initiator name and FC HBAs.
 *
 * Readers take the host-fact root (vd_rt.host_root, a fixture tree in tests) and
 * return 0 or -errno; none logs above debug. */
#ifndef VD_HOSTINFO_H
#define VD_HOSTINFO_H

#include <stddef.h>

#include "../util/macros.h"

/* The host UUID: DMI product_uuid when it is a valid, non-placeholder UUID; else a
 * random one generated once and persisted in <state_root>/var/lib/vdsm-c/host-uuid
 * (written atomically). ret_source says which ("dmi", "persisted", "generated"). */
int vd_host_uuid(const char *host_root, const char *state_root, char ret[37],
		 const char **ret_source) _wur_;

struct vd_os {
	char name[128];         /* VDSM's OSName: Debian, RHEL, Fedora, oVirt Node, RHEV Hypervisor,
				 * PowerKVM or unknown (from which release file exists) */
	char version[64];       /* Debian: /etc/debian_version; others: os-release VERSION_ID */
	char release[64];       /* "" (VDSM reads it from rpm, which Debian hosts lack) */
	char pretty_name[256];  /* os-release PRETTY_NAME: the full name */
};

/* Fills ret; a host without os-release is "unknown" with empty fields. 0 or -errno. */
int vd_os_read(const char *host_root, struct vd_os *ret) _wur_;

struct vd_pkg {
	char name[64];
	char version[128];
	char release[128];
	long long buildtime;    /* epoch seconds, -1 unknown */
};

/* The running kernel from uname(2): "6.1.0-28-amd64" → version "6.1.0", release
 * "28-amd64"; buildtime parsed from the uname version string when it has a date. */
int vd_kernel_pkg(struct vd_pkg *ret) _wur_;
/* Same, from given uname release and version strings (tests). */
int vd_kernel_pkg_parse(const char *release, const char *version, struct vd_pkg *ret) _wur_;

/* Package versions from dpkg-query (run with a 10 s timeout). names: the report names
 * (qemu-kvm, qemu-img, libvirt, spice-server, librbd1, glusterfs, glusterfs-cli),
 * each looked up as the Debian packages that provide it. Packages not installed are
 * left out. dpkg_query NULL or absent: returns 0 with none. Caller frees *ret. */
int vd_packages_query(const char *dpkg_query, struct vd_pkg **ret, size_t *ret_n) _wur_;
/* Parses "Package\tVersion\tStatus\n" lines (tests): Debian "epoch:upstream-revision"
 * becomes version "upstream", release "revision". */
int vd_packages_parse(const char *out, struct vd_pkg **ret, size_t *ret_n) _wur_;

/* InitiatorName from <host_root>/etc/iscsi/initiatorname.iscsi into buf ("" if none). */
int vd_iscsi_initiator(const char *host_root, char *buf, size_t size) _wur_;

struct vd_fc_hba {
	char wwnn[24];          /* hex without 0x */
	char wwpn[24];
	char model[300];        /* "<model> - <description>" from the SCSI host */
};

/* FC HBAs from <host_root>/sys/class/fc_host/hostN; none is not an error. */
int vd_fc_hbas(const char *host_root, struct vd_fc_hba **ret, size_t *ret_n) _wur_;

#endif
