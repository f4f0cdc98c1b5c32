/* Live migration (API.md §5.3, §7). This slice: the destination side of
 * migrationCreate — readiness checks that refuse with a specific code and message,
 * then the VM registered in `Migration Destination` and a waiter thread that sees it
 * Up when libvirt resumes it, or cleans up on timeout/failure.
 *
 * Gets the VM module only through vm.h; never sees XML-RPC (verbs/migration.c
 * converts). */
#ifndef VD_MIGRATION_H
#define VD_MIGRATION_H

#include "../util/error.h"
#include "../util/macros.h"
#include "../vm/vm.h"

/* The destination agent, as the source sees it (verbs/migration.c calls it over mTLS
 * with the host certificate: that file knows XML-RPC, this module does not). */
struct migration_peer {
	const char *host;             /* from migrate's dst (host:port) */
	int port;
	int timeout;                  /* seconds for the call (vars.migration_create_timeout) */
	int incoming_limit;           /* passed to migrationCreate: this source retries on 82 */
	bool tls;                     /* vars.ssl */
	const char *cert_file, *key_file, *ca_file;   /* the host's own certificate */
};
/* migrationCreate on the destination with the VM's stored conf (conf_blob, opaque
 * here) and p->incoming_limit (so a full destination answers 82, which the source
 * retries, not 12). Returns 0, or -1 with err = the destination's code and message, or
 * 10 when it cannot be reached. */
typedef int (*migration_dest_create_fn)(const struct migration_peer *p, const char *vm_id,
					const char *conf_blob, struct vd_error *err);
/* destroy(vmId) on the destination after a failed migration; best effort, logged. */
typedef void (*migration_dest_destroy_fn)(const struct migration_peer *p, const char *vm_id);
/* ping on the destination agent, p->timeout seconds at most: 0 when it answered (any
 * reply, even a refusal such as 99 while it recovers, shows it alive), -1 when it could
 * not be reached or did not answer in time. */
typedef int (*migration_dest_ping_fn)(const struct migration_peer *p);

/* This host against a libvirt CPU model name (the host module's hostcaps_cpu_compare,
 * handed over by modules.c): 1 runnable, 0 not (ret_missing = the model's features
 * the host lacks; caller frees with cpu_strv_free), -ENOENT unknown model, other
 * -errno (e.g. -ENOTCONN: libvirt has not answered yet). */
typedef int (*migration_cpu_compare_fn)(const char *model, char ***ret_missing, size_t *ret_n);
/* The host's CPU use from the host stats module's latest sample: *used_pct = percent
 * of all CPUs busy (100 - idle), *n_cpus online CPUs. -ENODATA before the first
 * sample. */
typedef int (*migration_cpu_load_fn)(double *used_pct, int *n_cpus);

/* From the configuration (copied by migration_start; strings must outlive the module). */
struct migration_opts {
	const char *host_root;        /* prefix of /proc, /sys reads ("" = /) */
	int max_incoming;             /* vars.max_incoming_migrations */
	int destination_timeout;      /* vars.migration_destination_timeout, seconds */
	int incoming_start_timeout;   /* vars.migration_incoming_start_timeout, s; 0 = none */
	int host_mem_reserve;         /* vars.host_mem_reserve, MiB */
	int guest_ram_overhead;       /* vars.guest_ram_overhead, MiB */
	int max_cpu_load;             /* vars.migration_max_cpu_load, percent; 0 = no check */
	migration_cpu_compare_fn cpu_compare;   /* NULL = no CPU-model check */
	migration_cpu_load_fn cpu_load;         /* NULL = no CPU-load check */
	/* source side */
	int max_outgoing;             /* vars.max_outgoing_migrations */
	bool tcp_transport;           /* vars.migration_transport = tcp (labs); else qemu+tls */
	int max_bandwidth;            /* vars.migration_max_bandwidth, MiB/s */
	int downtime;                 /* vars.migration_downtime, ms */
	int downtime_steps;           /* vars.migration_downtime_steps */
	int downtime_delay;           /* vars.migration_downtime_delay, s per GiB */
	int max_time_per_gib;         /* vars.migration_max_time_per_gib_mem, s; 0 = none */
	int progress_timeout;         /* vars.migration_progress_timeout, s */
	int monitor_interval;         /* vars.migration_monitor_interval, s */
	int create_timeout;           /* vars.migration_create_timeout, s */
	int retry_timeout;            /* vars.migration_retry_timeout, s between tries after 82 */
	int dest_ping_interval;       /* vars.migration_dest_ping_interval, s; 0 = no check */
	int dest_ping_timeout;        /* vars.migration_dest_ping_timeout, s without an answer */
	bool tls;                     /* vars.ssl */
	const char *cert_file, *key_file, *ca_file;
	migration_dest_create_fn dest_create;
	migration_dest_destroy_fn dest_destroy;
	migration_dest_ping_fn dest_ping;      /* NULL = no check */
};

int migration_start(const struct migration_opts *o);
void migration_stop(void);

/* What the host offers an incoming VM, read by migration_incoming() (a seam for the
 * unit tests of the checks). */
struct migration_host_facts {
	long long mem_available_mib;  /* MemAvailable */
	int incoming;                 /* incoming migrations in progress */
	long long incoming_mem_mib;   /* memory they reserved (memSize + overhead each) */
	double cpu_used_pct;          /* percent of all CPUs busy; < 0 = unknown (no check) */
	int n_cpus;                   /* online CPUs (0 = unknown) */
};

/* The readiness checks of an incoming VM c against facts, first failure wins (API.md
 * §4.4, §7.1 step 6): incoming limit (82 when the source passed incomingLimit, 12 for
 * an older source that cannot retry), free memory for memSize + overhead after the
 * host reserve and the incoming reservations (14), every NIC's bridge present (9) and
 * up (9), the VM's custom CPU model runnable on this host (9, through opts.cpu_compare),
 * the host CPU use with the VM added — counted as its vCPUs all busy, 100·vcpus/n_cpus
 * percent — at most opts.max_cpu_load (40). Pure except for reading
 * <host_root>/sys/class/net/<bridge>/flags and calling opts.cpu_compare. */
int migration_check_incoming(const struct vm_conf *c, const struct migration_host_facts *f,
			     bool source_passed_limit, struct vd_error *err) _wur_;

/* migrationCreate: checks, then vm_incoming_create() (bridges, disks, duplicates),
 * then a waiter thread (vm_incoming_wait, migration_destination_timeout). Takes c. */
int migration_incoming(struct vm_conf *c, bool source_passed_limit, struct vm_brief *ret,
		       struct vd_error *err) _wur_;

/* ---- source side (src.c) ---- */

/* convergenceSchedule (API.md §5.3, VDSM 4.x): actions run at the start of the job
 * ("init") and one by one as the migration keeps stalling ("stalling", each after
 * more than `limit` iterations counted by the monitor; -1 = at the next one). When
 * given it replaces the stepped downtime, the progress timeout and the time limit. */
enum migration_conv_kind {
	MIGRATION_CONV_SET_DOWNTIME,  /* max downtime = downtime_ms */
	MIGRATION_CONV_ABORT,         /* abort the job (12, VM stays Up here) */
};
struct migration_conv_action {
	enum migration_conv_kind kind;
	int downtime_ms;
};
#define MIGRATION_CONV_MAX 32        /* actions per list (the manager's policies use < 10) */
struct migration_conv_schedule {
	bool set;                     /* convergenceSchedule given */
	int n_init, n_stalling;
	struct migration_conv_action init[MIGRATION_CONV_MAX];
	struct {
		int limit;            /* ≥ -1 */
		struct migration_conv_action action;
	} stalling[MIGRATION_CONV_MAX];
};

/* migrate's parameters, validated by the verb layer. */
struct migration_request {
	char vm_id[37];
	char dst_host[256];           /* destination agent address (name, IPv4 or IPv6) */
	int dst_port;
	char dst_qemu[64];            /* migration network address, "" = dst_host */
	int downtime;                 /* ms, 0 = vars.migration_downtime */
	int bandwidth;                /* MiB/s, 0 = vars.migration_max_bandwidth */
	bool compressed, auto_converge, abort_on_error;
	struct migration_conv_schedule conv;   /* conv.set = false: the stepped default */
};

/* migrate's dst: "host:port", "[v6]:port", a bare host or IPv6 address (port 54321).
 * The host (letters, digits, . - : _) into host_out. Error 12 on anything else. */
int migration_parse_dst(const char *s, char *host_out, size_t size, int *port_out,
			struct vd_error *err) _wur_;

/* Starts the outgoing migration in a thread and returns at once. Errors: 1 (unknown
 * VM or not running), 4 (already migrating), 82 (max_outgoing_migrations reached; the
 * manager retries). The outcome is in migration_status(). */
int migration_migrate(const struct migration_request *r, struct vd_error *err) _wur_;

struct migration_status {
	int code;                     /* 0 in progress / done; 12, 47 or the destination's */
	char message[VD_ERROR_MSG_MAX];
	int progress;                 /* percent, monotonic */
	bool running;
	long long data_remaining, data_total;  /* bytes, from the last job sample */
	long long rate;               /* bytes/s */
};
/* The last migration of VM id (running or finished). Error 1 when it never migrated
 * since the agent started. */
int migration_status(const char *id, struct migration_status *ret, struct vd_error *err) _wur_;
/* Cancels the running migration of id (flag + libvirt abortJob); the VM stays on this
 * host, Up. Error 47 when none is running. */
int migration_cancel(const char *id, struct vd_error *err) _wur_;

/* ---- downtime schedule and time limit (schedule.c, pure) ---- */

/* Step i (0-based) of the stepped max-downtime ramp to target_ms in `steps` steps
 * (vars.migration_downtime_steps): exponential from about target/steps up to exactly
 * target at the last step (and beyond); never decreasing in i. */
int migration_downtime_step(int target_ms, int steps, int i);
/* Seconds between two steps: delay_per_gib (vars.migration_downtime_delay) × the
 * guest's memory in GiB (at least 1) / steps; 0 = all steps at once. */
double migration_downtime_interval(int delay_per_gib, unsigned long long mem_bytes, int steps);
/* True when a migration running for elapsed seconds has exceeded max_per_gib
 * (vars.migration_max_time_per_gib_mem) × memory in GiB (at least 1); 0 = no limit. */
bool migration_over_time(int max_per_gib, unsigned long long mem_bytes, double elapsed);

/* The monitor's walk through a convergence schedule's stalling list, as VDSM counts:
 * an iteration is a job sample whose remaining data is above the previous sample's
 * (qemu started a new pass over the dirty pages); after each new iteration the head
 * of the list runs when its limit is below the iteration count, then the next entry
 * becomes the head. Zero-initialise. */
struct migration_conv_state {
	int next;                     /* index of the head in conv.stalling */
	int iterations;
	bool have_last;
	unsigned long long last_remaining;
};
/* Feeds one sample of the running job (its remaining data); returns the action to run
 * now, or NULL. At most one action per sample. */
const struct migration_conv_action *migration_conv_sample(const struct migration_conv_schedule *s,
							  struct migration_conv_state *st,
							  unsigned long long remaining);

#endif
