/* vdsm.conf: a VDSM-style ini file read once at start; read-only afterwards.
 *
 * One table (config.c) lists every key with its section, parser, field and default.
 * A bad value or an unreadable file fails the load (the daemon exits with status 2);
 * an unknown key or section is a warning with file:line. The origin of every effective
 * value (built-in default or file:line) is kept and logged at start. */
#ifndef VD_CONFIG_H
#define VD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/error.h"
#include "util/macros.h"

#define VD_CONF_STR_MAX 512

enum vd_tls_min {
	VD_TLS_MIN_1_0,
	VD_TLS_MIN_1_2,
};

struct vd_config {
	/* [addresses] (also accepted in [vars]) */
	char management_ip[64];
	int management_port;
	/* [vars] */
	bool ssl;
	char trust_store_path[VD_CONF_STR_MAX];
	char ssl_protocol[32];          /* tlsv1 | tlsv1_2 | sslv23 */
	char ssl_excludes[128];         /* OP_NO_TLSv1,OP_NO_TLSv1_1 (VDSM 4.1 names) */
	char ssl_ciphers[256];          /* GnuTLS priority string; "" = built-in */
	bool verify_client_cert;        /* also match client cert CN/SAN to the peer address */
	char libvirt_uri[VD_CONF_STR_MAX];
	char root[VD_CONF_STR_MAX];     /* prefix for every state path ("" = /) */
	char host_root[VD_CONF_STR_MAX];/* prefix for host facts: /proc /sys /dev /etc ("" = /) */
	char log_level[16];
	char syslog_socket[VD_CONF_STR_MAX];
	int max_connections;            /* authenticated connections */
	int max_handshakes;             /* TLS handshakes in progress at once */
	int max_handshakes_per_addr;    /* of them from one source address */
	int handshake_timeout;          /* seconds */
	int max_request_bytes;
	int connection_timeout;         /* idle keep-alive timeout, seconds */
	int max_xml_depth;
	int host_mem_reserve;           /* MiB */
	int extra_mem_reserve;          /* MiB */
	int guest_ram_overhead;         /* MiB */
	int host_sample_stats_interval; /* seconds */
	char fake_nics[256];
	char hidden_bonds[256];
	char hidden_vlans[256];
	char dhcp_client[VD_CONF_STR_MAX]; /* dhcpcd for bootproto dhcp networks */
	int dhcp_timeout;                /* s a blockingdhcp network waits for its lease */
	bool report_host_threads_as_cores;
	char dpkg_query[VD_CONF_STR_MAX]; /* package versions for packages2 ("" = skip) */
	char host_uuid[37];             /* "" = from DMI or persisted (host/hostid.c) */
	/* VMs (vdsm-c/vm*.c) */
	char vm_domain_type[16];         /* kvm | qemu | auto (kvm when /dev/kvm opens) | test */
	int vm_sample_interval;          /* seconds between bulk stats samples */
	char vm_console_log_dir[VD_CONF_STR_MAX]; /* guest serial console logs ("" = none) */
	/* [irs]: storage */
	char repository[VD_CONF_STR_MAX]; /* storage root (mount points under <root>/<it>/mnt) */
	int mount_timeout;               /* seconds one mount/umount may take before it is killed */
	char mount_cmd[VD_CONF_STR_MAX];
	char umount_cmd[VD_CONF_STR_MAX];
	int storage_access_uid;          /* rwx on a new mount root for uid:gid (-1 = no check) */
	int storage_access_gid;
	char setpriv_cmd[VD_CONF_STR_MAX];
	char iscsiadm_cmd[VD_CONF_STR_MAX];
	int iscsi_timeout;               /* seconds one iscsiadm run may take */
	char lvm_cmd[VD_CONF_STR_MAX];
	int lvm_timeout;                 /* seconds one lvm command, blkid, the multipathd query may take */
	int sd_health_check_delay;       /* seconds between two reads of a domain's metadata */
	int process_pool_timeout;        /* seconds one file operation on a domain may take */
	char drive_roots[VD_CONF_STR_MAX]; /* extra roots of VM drive paths, comma-separated */
	int scsi_rescan_maximal_timeout; /* seconds an FC HBA rescan is waited for */
	char blkid_cmd[VD_CONF_STR_MAX]; /* getDeviceList checkStatus: signatures */
	char multipathd_socket[VD_CONF_STR_MAX]; /* abstract socket name */
	/* Live migration (vdsm-c/migration) */
	int max_incoming_migrations;     /* concurrent incoming (migrationCreate → 82 beyond) */
	int migration_destination_timeout; /* s an incoming VM waits to be resumed here */
	int migration_incoming_start_timeout; /* s for its libvirt domain to appear (0 = none) */
	int max_outgoing_migrations;     /* concurrent outgoing (migrate → 82 beyond) */
	char migration_transport[8];     /* tls | tcp: destination libvirt URI scheme */
	int migration_max_bandwidth;     /* MiB/s when migrate gives no maxBandwidth */
	int migration_downtime;          /* ms when migrate gives no downtime */
	int migration_downtime_steps;    /* steps of the ramp to the downtime */
	int migration_downtime_delay;    /* s per GiB of RAM over which the ramp runs */
	int migration_max_time_per_gib_mem; /* s per GiB before abort (0 = no limit) */
	int migration_progress_timeout;  /* s without a new low of remaining data → abort */
	int migration_monitor_interval;  /* s between job samples (0 = no monitor) */
	int migration_create_timeout;    /* s for the destination's migrationCreate */
	int migration_retry_timeout;     /* s before migrationCreate again after 82 */
	int migration_max_cpu_load;      /* % host CPU with an incoming VM added (0 = no check) */
	int migration_dest_ping_interval; /* s between pings of the destination agent (0 = off) */
	int migration_dest_ping_timeout; /* s without an answer from it → abort the migration */
	/* [devel] */
	int startup_delay;              /* seconds to stay "initialising" (tests of code 99) */
};

/* Fills c with built-in defaults. */
void vd_config_defaults(struct vd_config *c);

/* What a program reads at start (vdsmd, vdsm-c-ready): the built-in defaults, then
 * config_path (NULL: ROOT/etc/vdsm-c/vdsm.conf when it exists, ROOT = root_flag or /),
 * then each "section.key=value" of sets (--set), then root_flag over vars.root (--root),
 * then vd_config_validate(). 0, or -1 with err saying which file, line or option. */
int vd_config_setup(struct vd_config *c, const char *config_path, const char *root_flag,
		    const char *const *sets, int n_sets, struct vd_error *err) _wur_;

/* Loads path over the current values of c. Returns 0, or -1 with a message naming
 * the file, line and key in err. Warnings (unknown keys) are logged. Values are
 * checked for their syntax here (numbers and their ranges, booleans, log_level,
 * management_ip a numeric IPv4/IPv6 address, ssl_ciphers a GnuTLS priority string). */
int vd_config_load(struct vd_config *c, const char *path, struct vd_error *err) _wur_;
/* The same from an open stream; path names it in messages (also the fuzz target's way
 * in). */
int vd_config_read(struct vd_config *c, FILE *f, const char *path, struct vd_error *err) _wur_;

/* Applies one "section.key=value" override (used by --set on the command line). */
int vd_config_set(struct vd_config *c, const char *assignment, struct vd_error *err) _wur_;

/* Records where a value set outside vd_config_load/vd_config_set came from (e.g.
 * "--root" for c->root), for the log and for errors naming it. */
void vd_config_set_origin(const struct vd_config *c, const void *field, const char *origin);

/* Checks cross-key rules after loading; no I/O. Returns 0 or -1 with err naming
 * where the key was set (file:line, --set, --root or the built-in default) and the key. */
int vd_config_validate(const struct vd_config *c, struct vd_error *err) _wur_;

/* The GnuTLS priority string the listener uses: ssl_ciphers when set, else one built
 * from ssl_protocol and ssl_excludes. */
void vd_config_tls_priorities(const struct vd_config *c, char *buf, size_t size);

/* The trust store's PEM files (contents, not names). */
struct vd_config_tls {
	char *cert_pem;   /* certs/vdsmcert.pem */
	char *key_pem;    /* keys/vdsmkey.pem */
	char *ca_pem;     /* certs/cacert.pem */
};

/* With vars.ssl: reads the three files under trust_store_path (root-prefixed when it
 * is the default) and checks with GnuTLS that the certificate and key form a pair,
 * that the CA file holds a certificate and that the priority string is accepted, so
 * a bad trust store stops the start like any bad value (file:line of the key). Without
 * vars.ssl: nothing to read, returns 0 with *ret empty. Returns 0 (caller frees with
 * vd_config_tls_clear()) or -1 with err. Blocks on file reads. */
int vd_config_tls_load(const struct vd_config *c, struct vd_config_tls *ret,
		       struct vd_error *err) _wur_;
void vd_config_tls_clear(struct vd_config_tls *t);

/* Logs every effective value with its origin at info level. */
void vd_config_log(const struct vd_config *c);

/* Path of a built-in default location under the root prefix; caller frees. */
char *vd_config_path(const struct vd_config *c, const char *abs_path);

/* A path-valued key (by field address, e.g. c->trust_store_path): as written when the
 * config set it, or the built-in default placed under the root prefix. Caller frees. */
char *vd_config_state_path(const struct vd_config *c, const char *field);

#endif
