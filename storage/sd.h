/* storage/: storage domains (API.md §5.5 createStorageDomain … getStorageDomainStats,
 * §5.1 getVdsStats storageDomains, §6 layout).
 *
 * This slice: file domains (NFS, LOCALFS, POSIXFS) on the mounts under
 * <repository>/mnt made by connectStorageServer (stg.h). The on-disk format is VDSM's,
 * so domains VDSM made are read here and the other way round:
 *   <mount>/<sdUUID>/dom_md/{metadata,ids,leases,inbox,outbox}, <mount>/<sdUUID>/images/
 * with metadata as sorted KEY=VALUE lines sealed by _SHA_CKSUM (sdmeta.c).
 *
 * Hang-proofing: every file operation on a mount runs in an orphanable worker thread
 * with a timeout (sdio.c); a caller waits at most that long, and a mount whose worker is
 * still stuck refuses further operations at once (379) instead of piling up threads.
 *
 * The registry (sd.c) holds the domains known to this host, each with a monitor thread
 * reading its metadata with O_DIRECT every health-check period; the monitor results are
 * read from memory (getVdsStats). Backends: only SD_BACKEND_FILE now; a block backend
 * (VG metadata LV) plugs into struct sd_domain's backend field later. */
#ifndef VD_STG_SD_H
#define VD_STG_SD_H

#include <stdbool.h>
#include <stddef.h>

#include "../vdsm-c/util/error.h"
#include "../vdsm-c/util/macros.h"

/* ---- metadata (sdmeta.c: pure, fuzzed) ---- */

#define SD_META_MAX (64 * 1024)        /* bytes of a metadata file we accept */
#define SD_META_KEYS_MAX 64
#define SD_META_KEY_MAX 64
#define SD_META_VALUE_MAX 2048
#define SD_DESC_MAX 1024               /* DESCRIPTION bytes (engine limits names to 50) */

struct sd_meta_kv {
	char key[SD_META_KEY_MAX];
	char value[SD_META_VALUE_MAX];
};

/* A parsed metadata file: the lines in file order (without _SHA_CKSUM) and whether it
 * carried a checksum. */
struct sd_meta_file {
	struct sd_meta_kv kv[SD_META_KEYS_MAX];
	size_t n;
	bool sealed;
};

/* The keys this agent uses, decoded. */
struct sd_meta {
	char uuid[37];
	char type[16];                 /* NFS, LOCALFS, POSIXFS, ... */
	char class_name[8];            /* Data, Iso, Backup */
	char role[16];                 /* Regular, Master */
	char description[SD_DESC_MAX];
	char pools[1024];              /* POOL_UUID: comma-separated pool UUIDs, "" = none */
	char remote_path[SD_META_VALUE_MAX];
	int version;
};

/* Parses metadata text (untrusted: bounded, printable UTF-8, KEY=VALUE lines, keys
 * [A-Z0-9_], no duplicates; VDSM's seal checked when present). Lines that are not
 * KEY=VALUE are skipped, as VDSM does. Returns 0, or -1 with err set (379 with the
 * reason: unreadable, broken seal, too large). */
int sd_meta_parse(const char *text, size_t len, struct sd_meta_file *ret,
		  struct vd_error *err) _wur_;

/* Value of key in f, or NULL. */
const char *sd_meta_get(const struct sd_meta_file *f, const char *key);

/* Decodes the domain keys of f into ret: SDUUID (UUID), VERSION (0..5), CLASS, TYPE,
 * ROLE required and sane. 0, or -1 with err (379). */
int sd_meta_decode(const struct sd_meta_file *f, struct sd_meta *ret, struct vd_error *err) _wur_;

/* VDSM's seal over the kv pairs of f: SHA-1 hex of the sorted "KEY=VALUE" lines (no
 * newlines), characters outside ASCII as XML character references (&#N;). 0 or -EINVAL
 * (invalid UTF-8) / -ENOMEM. hex gets 41 bytes. */
int sd_meta_checksum(const struct sd_meta_file *f, char hex[41]) _wur_;

/* The metadata file text for f: sorted KEY=VALUE lines, then _SHA_CKSUM=<seal>, each
 * line ending in '\n'. Caller frees. NULL on OOM or bad UTF-8. */
char *sd_meta_format(const struct sd_meta_file *f, size_t *ret_len);

/* Adds (or replaces) key=value in f. 0, or -E2BIG / -ENAMETOOLONG. */
int sd_meta_set(struct sd_meta_file *f, const char *key, const char *value) _wur_;

/* A file volume's .meta (VDSM's volumemetadata.py: KEY=VALUE lines up to "EOF"; no
 * seal). */
struct sd_volume {
	char uuid[37];
	char domain[37];
	char image[37];
	char parent[37];               /* PUUID; the blank UUID for a base volume */
	char format[8];                /* RAW, COW */
	char type[16];                 /* SPARSE, PREALLOCATED */
	char voltype[16];              /* LEAF, INTERNAL, SHARED */
	char disktype[32];
	char legality[16];             /* LEGAL, ILLEGAL, FAKE */
	char description[512];
	long long size;                /* 512-byte blocks */
	long long ctime;
	long long apparent, allocated; /* bytes, from stat() of the volume file */
};

/* Parses .meta text (untrusted) into ret (uuid left empty). Required: DOMAIN, IMAGE,
 * PUUID (UUIDs), FORMAT (RAW/COW), LEGALITY, VOLTYPE, SIZE (>= 0). 0, or -1 with err
 * (201 with the reason). */
int sd_volume_parse(const char *text, size_t len, struct sd_volume *ret,
		    struct vd_error *err) _wur_;

/* ---- domains (sd.c) ---- */

enum sd_class { SD_CLASS_DATA = 1, SD_CLASS_ISO = 2, SD_CLASS_BACKUP = 3 };

/* "Data", "Iso", "Backup" or NULL. */
const char *sd_class_name(int cls);

/* Versions this agent creates and reads (API.md §5.5: "0" V1, "2" V2, "3" V3). V4 needs
 * the external leases volume (xleases), not made by this slice. */
bool sd_version_supported(int version);

/* Module options (given at start). Strings are copied. */
struct sd_opts {
	const char *repository;        /* <root>/rhev/data-center */
	const char *mountinfo;         /* /proc/self/mountinfo under the host root */
	const char *run_dir;           /* <state root>/run/vdsm/storage (= /var/run/vdsm/storage): image links */
	double io_timeout;             /* irs.process_pool_timeout: one file operation */
	double check_interval;         /* irs.sd_health_check_delay: monitor period */
	double check_timeout;          /* bound of one monitor read (<= check_interval) */
	const char *drive_roots;       /* irs.drive_roots: comma-separated extra roots of VM
					* drive paths ("" = none) */
};

int sd_start(const struct sd_opts *o) _wur_;
void sd_stop(void);

/* What createStorageDomain asks for (validated by sd_create). */
struct sd_create_req {
	int storage_type;              /* STG_TYPE_NFS / LOCALFS / POSIXFS (stg.h) */
	const char *uuid;              /* normalised */
	const char *name;              /* description */
	const char *remote;            /* typeSpecificArg: the connection string */
	int domain_class;              /* 1..3 */
	int version;
};

/* Creates a file domain on the connected mount of req->remote: everything is built in
 * <mount>/.<sdUUID>.creating and renamed into place, so a failure leaves no domain
 * (and the temporary directory is removed). Codes: 372 type, 386 class, 394 version,
 * 365 exists (on any mount), 360 remote not connected, 361 mount not empty, 390 remote
 * path, 351 I/O failure, 379 the mount did not answer in time. */
int sd_create(const struct sd_create_req *req, struct vd_error *err) _wur_;

/* Rescans the mounts under <repository>/mnt (one worker per mount, in parallel) and
 * updates the registry: new domains get a monitor; domains whose mount is gone are
 * dropped. Domains on a mount that does not answer stay as they were. */
void sd_refresh(void);

/* Domain UUIDs known after a refresh, filtered: pool (NULL = any; else in POOL_UUID),
 * class (0 = any), storage type (0 = any), remote (NULL/"" = any; compared after VDSM's
 * escaping of mount point names). Caller frees *ret. */
int sd_list(const char *pool, int cls, int type, const char *remote, char (**ret)[37],
	    size_t *ret_n) _wur_;

/* Fresh metadata of a known domain (read from the mount now) and its remote path.
 * 358 unknown, 379 unreadable / no answer in time. */
struct sd_info {
	struct sd_meta meta;
	char remote_path[SD_META_VALUE_MAX];
};
int sd_get_info(const char *uuid, struct sd_info *ret, struct vd_error *err) _wur_;

struct sd_stats {
	unsigned long long total, free;   /* bytes: frsize * blocks / bavail */
};
/* statvfs of the domain directory in a worker. 358, 379, 384 (ESTALE). */
int sd_get_stats(const char *uuid, struct sd_stats *ret, struct vd_error *err) _wur_;

#define SD_CHAIN_MAX 128
#define SD_IMAGE_PATH_MAX 4300

/* A prepared image: the path for the VM and the chain, leaf first. */
struct sd_image {
	char path[SD_IMAGE_PATH_MAX];  /* <repository>/<spUUID>/<sdUUID>/images/<img>/<leaf>, or
					* <run_dir>/<sdUUID>/<img>/<leaf> for the blank pool */
	char dir[SD_IMAGE_PATH_MAX];   /* the image directory the volume paths are under */
	size_t n;
	struct sd_volume chain[SD_CHAIN_MAX];
};

/* prepareImage for a file domain (API.md §5.5): reads the chain from leaf to base
 * following PUUID in a worker (every volume's file and .meta must exist), refuses an
 * ILLEGAL volume, then links <run_dir>/<sdUUID>/<imgUUID> → the image directory and,
 * for a pool other than the blank one (the domain's POOL_UUID must list it), the pool's
 * <repository>/<spUUID>/<sdUUID> → the domain directory. Codes: 358 domain, 309 pool,
 * 254 image directory, 201 volume, 227 illegal volume, 379 no answer in time. */
int sd_prepare_image(const char *pool, const char *uuid, const char *img, const char *leaf,
		     struct sd_image *ret, struct vd_error *err) _wur_;

/* teardownImage: removes <run_dir>/<sdUUID>/<imgUUID> (the pool link stays: it belongs to
 * the pool connection). Not prepared = success. 358 for an unknown domain. */
int sd_teardown_image(const char *uuid, const char *img, struct vd_error *err) _wur_;

/* The path a VM drive may use: path (absolute) is normalised lexically ('.', '..',
 * '//'), then resolved (symlinks) in a worker bounded by the I/O timeout, and must lie,
 * both ways, under a storage root: the repository, the run directory, the targets of
 * the LOCALFS links in <repository>/mnt, or a configured extra root. *ret = the
 * normalised path (malloc'ed). Codes: 9 outside the roots or unresolvable, 13 no such
 * file, 379 no answer in time. */
int sd_drive_path_check(const char *path, char **ret, struct vd_error *err) _wur_;

/* The blank pool UUID. */
#define SD_BLANK_UUID "00000000-0000-0000-0000-000000000000"

/* One monitor result (API.md §5.1 storageDomains). */
struct sd_monitor_status {
	char uuid[37];
	int code;                      /* 0 = last check fine */
	double last_check;             /* seconds since the last completed check */
	double delay;                  /* seconds the last metadata read took */
	bool valid;
	bool actual;                   /* at least one check completed */
	bool acquired;                 /* host id acquired (sanlock): never in this slice */
	int version;                   /* -1 unknown */
};
/* Changes whenever a domain comes or goes or a monitor completes a check (a cache key
 * of getVdsStats). */
unsigned long sd_generation(void);
/* Snapshot of every monitor, from memory (no I/O). Caller frees *ret. */
int sd_monitor_list(struct sd_monitor_status **ret, size_t *ret_n) _wur_;

#endif
