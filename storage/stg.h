/* storage/: connections of the host to storage servers (API.md §5.5).
 *
 * This slice: parsing and validation of the manager's connection structs (conList
 * entries) and the file-based connections — NFS, POSIXFS (mount) and LOCALFS
 * (symlink) — under <repository>/mnt/<escaped> (API.md §6). Every wire value is
 * validated here before it reaches a program or a path; mount and umount run as child
 * processes through util_exec with a timeout, so a caller thread waits at most that
 * long on a dead server. Nothing here knows XML-RPC: the adapter (vdsm-c/verbs/
 * storage.c) hands over each struct as key/value strings. */
#ifndef VD_STG_H
#define VD_STG_H

#include <stdbool.h>
#include <stddef.h>

#include "../vdsm-c/util/error.h"
#include "../vdsm-c/util/macros.h"

/* domType / storageType numbers (API.md §5.5). */
enum stg_type {
	STG_TYPE_NFS = 1,
	STG_TYPE_FCP = 2,
	STG_TYPE_ISCSI = 3,
	STG_TYPE_LOCALFS = 4,
	STG_TYPE_CIFS = 5,
	STG_TYPE_POSIXFS = 6,
	STG_TYPE_GLUSTERFS = 7,
};

/* "NFS", "LOCALFS", ... or NULL for a number that is no domType. */
const char *stg_type_to_string(int type);
/* True for the types this host connects (NFS, ISCSI, LOCALFS, POSIXFS). */
bool stg_type_supported(int type);

/* One member of a connection struct, both strings borrowed. */
struct stg_kv {
	const char *key;
	const char *value;
};

#define STG_PATH_MAX 1024
#define STG_OPTS_MAX 1024

/* A validated connection. */
struct stg_conn {
	char id[37];                       /* normalised UUID */
	enum stg_type type;
	char connection[STG_PATH_MAX];     /* normalised remote path / spec / local dir */
	char vfs_type[32];                 /* POSIXFS: the file system type */
	char mnt_options[STG_OPTS_MAX];    /* validated extra options, "" if none */
	char nfs_version[8];               /* "" (not given), "3", "4", "4.0", "4.1", "4.2", "auto" */
	int timeout;                       /* NFS timeo, deciseconds; 0 = not given */
	int retrans;                       /* NFS retrans; -1 = not given */
	char escaped[256];                 /* name of the mount point under <repository>/mnt;
					    * iSCSI: "<portal> <iqn>", the busy key */
	/* iSCSI (connection = portal host) */
	int port;                          /* 3260 when not given */
	int tpgt;                          /* 1 when not given */
	char iqn[224];
	char iface[64];                    /* "default" unless ifaceName */
	char user[256];                    /* CHAP, "" = none */
	char password[256];                /* secret: never logged, never in argv */
};

/* Parses and validates connection struct members kv[0..n) of a connection of the
 * given type into ret. Unknown keys are ignored (engines send members of every type).
 * Returns 0; or -1 with err set:
 *   451 id missing or not a UUID, or a member that is not a string of sane size;
 *   390 remote path / local directory illegal ('..', relative, bad characters);
 *   472 NFS server is no valid host name or address;
 *   470 vfs_type not allowed;
 *   471 mnt_options, protocol_version, timeout or retrans unusable. */
int stg_conn_parse(int type, const struct stg_kv *kv, size_t n, struct stg_conn *ret,
		   struct vd_error *err) _wur_;

/* The id member alone (for the statuslist of an entry that failed to parse): copies
 * it into ret when it is a UUID, else leaves ret "". */
void stg_conn_peek_id(const struct stg_kv *kv, size_t n, char ret[37]);

/* VDSM's mount point name (API.md §6): normalise (collapse '//', drop a trailing '/'),
 * double every '_', then turn every '/' into '_'. Returns the length, or -ENAMETOOLONG
 * when it does not fit size or NAME_MAX, -EINVAL for an empty, "." or ".." result. */
int stg_escape_path(const char *remote, char *buf, size_t size) _wur_;

/* The -o argument for an NFS mount (API.md §5.5):
 * soft,nosharecache,timeo=T,retrans=R[,nfsvers=N[,minorversion=M]][,<mnt_options>]. */
int stg_nfs_options(const struct stg_conn *c, char *buf, size_t size) _wur_;

/* Module options (given at start). All strings are copied. */
struct stg_opts {
	const char *repository;   /* <root>/rhev/data-center */
	const char *mountinfo;    /* /proc/self/mountinfo under the host root */
	const char *mount;        /* absolute path of mount(8) */
	const char *umount;       /* absolute path of umount(8) */
	double mount_timeout;     /* seconds for one mount or umount child */
	int access_uid;           /* after a mount: rwx for uid:gid on its root (-1: no check) */
	int access_gid;
	const char *setpriv;      /* absolute path of setpriv(1), runs the check as that user */
};

int stg_start(const struct stg_opts *o) _wur_;
void stg_stop(void);

/* Connects c (mount / symlink); already connected = success. Blocks for at most the
 * mount timeout (+ the kill grace). Returns 0 or -1 with err set (477 mount failed or
 * timed out, 469 LOCALFS not a directory / no access, or a new mount whose root denies
 * the configured user rwx — it is unmounted again —, 451 otherwise). */
int stg_connect(const struct stg_conn *c, struct vd_error *err) _wur_;
/* Disconnects c (lazy umount + rmdir / unlink); not connected = success. Returns 0 or
 * -1 with err set (452). */
int stg_disconnect(const struct stg_conn *c, struct vd_error *err) _wur_;

/* Mount point of c: <repository>/mnt/<escaped>. Caller frees. */
char *stg_mount_point(const struct stg_conn *c);

/* True when path is a mount point according to the mountinfo text (the kernel's
 * /proc/self/mountinfo format; octal escapes of field 5 are decoded). */
bool stg_mountinfo_has(const char *text, size_t len, const char *path);

/* ---- iSCSI (iscsi.c) ---- */

/* iscsiadm exit statuses (open-iscsi include/iscsi_err.h) that choose a code. */
enum stg_iscsi_op {
	STG_ISCSI_DISCOVERY,
	STG_ISCSI_LOGIN,
	STG_ISCSI_LOGOUT,
	STG_ISCSI_NODE,         /* node record create/update: 465 */
};

/* The API.md §4.3 code for an iscsiadm failure with exit status st during op:
 * discovery → 475; login: 24 (auth failed) → 476, 5/8/19 (login/timeout/fatal
 * login) → 464, else 465; logout → 474; node record → 465. */
int stg_iscsi_code(enum stg_iscsi_op op, int st);

/* A validated sendtargets discovery request. */
struct stg_portal {
	char host[256];                    /* name, IPv4, or IPv6 without brackets */
	int port;                          /* 1..65535, 3260 when not given */
};

/* Validates the discovery struct's connection/port (472 for a bad address, 1000 for a
 * bad port). user/password must be empty: CHAP discovery would need the secret in
 * iscsiadm's argv, which this agent never does (475 with a clear message). */
int stg_iscsi_portal_parse(const struct stg_kv *kv, size_t n, struct stg_portal *ret,
			   struct vd_error *err) _wur_;

/* True for an iSCSI name: iqn.YYYY-MM.<reversed domain>[:<id>], eui.<16 hex> or
 * naa.<16 or 32 hex> (RFC 3720 §3.2.6.3), at most 223 bytes, printable, no blanks. */
bool stg_iqn_valid(const char *s);

/* The iSCSI members of a connection (port, iqn, tpgt, user, password, ifaceName) into
 * c, whose id and connection are parsed already (conn.c). 472 bad portal host, 1000
 * bad port/tpgt/iface/iqn or CHAP strings. */
int stg_iscsi_conn_parse(const struct stg_kv *kv, size_t n, struct stg_conn *c,
			 struct vd_error *err) _wur_;
/* Node record (portal, iqn, iface) created, CHAP written into the record file (never
 * through argv), login; a session that exists already is success. 0 or -1 with err
 * (464, 476, 465). */
int stg_iscsi_login(const struct stg_conn *c, struct vd_error *err) _wur_;
/* Logout and delete the node record; not logged in = success. 0 or -1 (474). */
int stg_iscsi_logout(const struct stg_conn *c, struct vd_error *err) _wur_;

struct stg_target {
	char portal[300];                  /* "host:port,tpgt" ("[v6]:port,tpgt") */
	char iqn[224];
};

/* Parses iscsiadm's sendtargets output ("<portal>,<tpgt> <iqn>" lines). Lines that
 * are not that shape are skipped. Returns the number of targets (≤ max) into ret. */
size_t stg_iscsi_parse_targets(const char *text, struct stg_target *ret, size_t max);

/* iscsiadm options (given at start with stg_iscsi_start). */
struct stg_iscsi_opts {
	const char *iscsiadm;              /* absolute path */
	const char *nodes_dir;             /* iscsiadm's node database, /etc/iscsi/nodes */
	double timeout;                    /* seconds per iscsiadm run */
};
int stg_iscsi_start(const struct stg_iscsi_opts *o) _wur_;

/* sendtargets discovery on the default iface; malloc'ed targets (caller frees) and
 * their count. Blocks for at most the iscsiadm timeout. 0 or -1 with err (475). */
int stg_iscsi_discover(const struct stg_portal *p, struct stg_target **ret, size_t *ret_n,
		       struct vd_error *err) _wur_;

/* Rescan of every iSCSI session's SCSI host for LUNs added since login
 * (`iscsiadm -m session -R`, the iscsiadm timeout); no session is success. 0 or -1 with
 * err (465). */
int stg_iscsi_rescan(struct vd_error *err) _wur_;

#endif
