/* Host readiness: the checks an admin runs before adding a host to a cluster, and when
 * something fails — libvirt, KVM, CPU against a cluster baseline, memory, required
 * networks, certificates, clock. Each check has a verdict (ok, warn, fail), a detail
 * saying what was found, and a hint saying what to do. The same code serves the verb
 * getHostReadiness (the running agent's cached host facts) and the command
 * vdsm-c-ready (facts collected on the spot, agent running or not).
 *
 * Storage connections and multipath health join when storage/ exists (issue 12). */
#ifndef VD_READINESS_H
#define VD_READINESS_H

#include <stdbool.h>
#include <stddef.h>

#include "hostcaps.h"
#include "../../network/net.h"

enum rd_verdict {
	RD_OK = 0,
	RD_WARN = 1,
	RD_FAIL = 2,
};

#define RD_MAX_CHECKS 64
#define RD_MAX_NETWORKS 32

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
	double now;                         /* epoch seconds (tests pass a fixed time) */
};

/* Runs every check. Never blocks on the network or on storage (the host facts are
 * collected beforehand); reads /proc/meminfo and the certificate files. */
void readiness_run(const struct rd_input *in, struct rd_report *ret);

const char *rd_verdict_name(enum rd_verdict v);

#endif
