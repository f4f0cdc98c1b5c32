/* Host readiness: the checks an admin runs before adding a host to a cluster, and when
 * something fails — libvirt, KVM, CPU against a cluster baseline, memory, required
 * networks, certificates, clock. Each check has a verdict (ok, warn, fail), a detail
 * saying what was found, and a hint saying what to do. The same code serves the verb
 * getHostReadiness (the running agent's cached host facts) and the command
 * vdsm-c-ready (facts collected on the spot, agent running or not).
 *
 * Storage connections (NFS server / iSCSI portal: a TCP connect with a deadline,
 * readiness_stg.c) and multipath health (maps and path states, which the caller reads
 * from multipathd) are probed by the caller beforehand, so the checks themselves never
 * block. */
#ifndef VD_READINESS_H
#define VD_READINESS_H

#include <stdbool.h>
#include <stddef.h>

#include "hostcaps.h"
#include "../util/error.h"
#include "../util/macros.h"
#include "../../network/net.h"
#include "../../network/netconf.h"

enum rd_verdict {
	RD_OK = 0,
	RD_WARN = 1,
	RD_FAIL = 2,
};

#define RD_MAX_CHECKS 64
#define RD_MAX_NETWORKS 32
#define RD_MAX_STORAGE 16

enum rd_storage_kind {
	RD_STORAGE_NFS = 0,     /* server:/export, nfs:server[:/export] — port 2049 */
	RD_STORAGE_ISCSI = 1,   /* iscsi:portal[:port][,tpgt] — port 3260 */
};

/* One storage connection to probe: parsed from its spec, then probed. */
struct rd_storage {
	char spec[256];             /* as given (for the report) */
	enum rd_storage_kind kind;
	char host[256];             /* name, IPv4, or IPv6 without brackets */
	int port;
	char addr[46];              /* the address probed ("" before resolution) */
	int rc;                     /* 0 connected; -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH,
				     * -ENETUNREACH, -ENOENT (name not resolved), -errno */
	double ms;                  /* how long the connect took */
};

struct rd_mpath_map {
	char wwid[128];
	size_t n_paths, n_active;
	char failed[192];           /* "sdc:failed sdd:faulty" (the paths not active) */
};

struct rd_check {
	char name[32];          /* "libvirt", "cpu", "memory", "network:ovirtmgmt", ... */
	enum rd_verdict verdict;
	char detail[512];       /* what was found */
	char hint[384];         /* what to do ("" when ok) */
};

struct rd_report {
	enum rd_verdict verdict;    /* the worst of the checks */
	size_t n;
	struct rd_check checks[RD_MAX_CHECKS];
};

struct timex;

struct rd_input {
	const struct hostcaps *caps;        /* NULL: host facts not collected (fail) */
	const struct net_snapshot *net;     /* NULL: network state unreadable (fail) */
	const char *host_root;              /* prefix of /proc ("" = /) */
	const char *trust_store;            /* directory with certs/ and keys/; NULL or
					     * "" when the agent serves plain HTTP */
	int host_mem_reserve_mib;
	int extra_mem_reserve_mib;
	const char *cluster_cpu;            /* libvirt model name or NULL: no baseline */
	const char *const *networks;        /* names that must exist and be up */
	size_t n_networks;
	int cert_warn_days;                 /* warn when a certificate expires sooner */
	const struct rd_storage *storage;   /* probed connections (line "storage:<spec>") */
	size_t n_storage;
	int storage_timeout_ms;             /* the probes' deadline, for the details */
	bool mpath_asked;                   /* false: no multipath line */
	int mpath_rc;                       /* 0 maps below; -ECONNREFUSED/-ENOENT no
					     * multipathd; -ETIMEDOUT, -errno no answer */
	const struct rd_mpath_map *mpath;
	size_t n_mpath;
	double now;                         /* epoch seconds (tests pass a fixed time) */
	const struct netconf *running;      /* the persisted running networks (NULL or
					     * empty: no VLAN/MTU to compare with) */
	int (*clock_read)(struct timex *tx);    /* NULL: adjtimex(2); tests pass a fake
						 * kernel clock state */
};

/* Runs every check. Never blocks on the network or on storage (the host facts are
 * collected beforehand); reads /proc/meminfo and the certificate files. */
void readiness_run(const struct rd_input *in, struct rd_report *ret);

const char *rd_verdict_name(enum rd_verdict v);

/* Parses a storage connection spec (command line or wire: untrusted) into *ret (the
 * probe fields cleared). 0, or -1 with err naming the spec and the expected forms. */
int rd_storage_parse(const char *spec, struct rd_storage *ret, struct vd_error *err) _wur_;

/* The first address in `getent ahosts` output (untrusted child output): 0 with *addr,
 * or -ENOENT. */
int rd_getent_parse(const char *text, char addr[46]) _wur_;

/* Resolves (numeric at once; names through getent with the deadline) and connects to
 * every connection at the same time, all within timeout_ms; fills addr, rc, ms. */
void rd_storage_probe(struct rd_storage *s, size_t n, int timeout_ms);

/* The report lines of storage and multipath (readiness_run calls them). */
void rd_check_storage(const struct rd_input *in, struct rd_report *r);
void rd_check_mpath(const struct rd_input *in, struct rd_report *r);

#endif
