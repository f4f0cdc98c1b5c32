/* The static part of getVdsCapabilities: everything about the host that does not
 * change while the agent runs (CPU, NUMA, memory size, libvirt's view, identity,
 * software), collected once at start by the "hostcaps" module. The network report is
 * not here: it comes from network/ on every (uncached) call.
 *
 * libvirt may be down at start: then the caps carry no model_X flags and no machines
 * (the manager will say the CPU is incompatible, which is the truth until libvirt is
 * reachable), and a background thread asks libvirt again every 10 s; when it answers,
 * a new hostcaps replaces the old and hostcaps_generation() changes. */
#ifndef VD_HOSTCAPS_H
#define VD_HOSTCAPS_H

#include <stdatomic.h>
#include <stdbool.h>

#include "hostinfo.h"
#include "../../cpu/cpu.h"
#include "../util/macros.h"

struct hostcaps {
	atomic_int ref;
	unsigned long generation;
	struct cpu_info *cpu;
	struct cpu_numa *numa;
	long long mem_total_kib;
	struct cpu_virt *virt;          /* NULL when libvirt did not answer */
	struct vd_error virt_error;
	int kvm_api;                    /* KVM_GET_API_VERSION answer, or -errno */
	char uuid[37];
	const char *uuid_source;        /* static string */
	struct vd_os os;
	struct vd_pkg kernel;
	struct vd_pkg *pkgs;
	size_t n_pkgs;
	char iscsi_initiator[256];
	struct vd_fc_hba *fc;
	size_t n_fc;
	int auto_numa;                  /* 0 off, 1 on, 2 unknown */
	int kdump;                      /* -1 unknown, 0 disabled, 1 enabled with fence_kdump */
	int selinux;                    /* -1 disabled, 0 permissive, 1 enforcing */
	bool hostdev;                   /* IOMMU groups present */
	bool hwrng;                     /* a hardware RNG is available */
	long long boot_time;            /* epoch seconds, -1 unknown */
};

struct hostcaps_src {
	const char *host_root;
	const char *state_root;
	const char *libvirt_uri;        /* NULL: do not ask libvirt */
	const char *dpkg_query;
	const char *host_uuid;          /* NULL or "": DMI / persisted (vd_host_uuid) */
};

/* Collects everything once (blocks on libvirt and dpkg-query; not for RPC threads). */
int hostcaps_collect(const struct hostcaps_src *src, struct hostcaps **ret) _wur_;
void hostcaps_unref(struct hostcaps *c);
DEFINE_CLEANUP(struct hostcaps, hostcaps_unref)

/* Module entry points (wired by vdsm-c/modules.c): collect from src, start the libvirt
 * retry thread when needed. src is copied; its strings must outlive the module (the
 * config does). */
int hostcaps_start(const struct hostcaps_src *src) _wur_;
void hostcaps_stop(void);

/* The current caps with a reference, or NULL before hostcaps_start. Never blocks. */
struct hostcaps *hostcaps_get(void);
unsigned long hostcaps_generation(void);

/* Cluster CPU check (readiness report, migration destination checks): compares this
 * host with a libvirt model name ("model_" prefix accepted) using libvirt's CPU map
 * under <host_root>/usr/share/libvirt/cpu_map. See cpu_compare_model() for returns;
 * -ENOTCONN when libvirt has not answered yet. */
int hostcaps_cpu_compare(const char *model, char ***ret_missing, size_t *ret_n) _wur_;

#endif
