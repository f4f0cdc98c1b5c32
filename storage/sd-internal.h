/* storage/ domain internals shared by sd.c, sdfile.c and sdio.c (never included from
 * outside storage/). */
#ifndef VD_STG_SD_INTERNAL_H
#define VD_STG_SD_INTERNAL_H

#include <stddef.h>

#include "sd.h"

/* ---- sdio.c: file operations in orphanable worker threads ---- */

/* The work of a job: reads/writes only through its arg; returns 0 or -errno. */
typedef int (*sd_io_fn)(void *arg);

/* Runs fn(arg) in a new thread and waits at most timeout seconds. arg is malloc'ed by
 * the caller and released with free_fn by whoever is last: the caller (after this
 * returns anything but -ETIME) or the worker (when the caller gave up on it). Returns
 * fn's result; -ETIME when it did not finish in time (the worker is abandoned); -EBUSY
 * without running anything while an abandoned job on the same key (a mount point) is
 * still stuck; -EAGAIN when no thread could be started. */
int sd_io_run(const char *key, sd_io_fn fn, void *arg, void (*free_fn)(void *),
	      double timeout) _wur_;

/* Number of abandoned jobs still running (tests, state dump). */
unsigned sd_io_abandoned(void);

/* ---- sdfile.c: the job bodies for file domains (run in workers) ---- */

#define SD_SCAN_MAX 64                 /* domains read from one mount */
#define SD_PATH_MAX 4096                 /* a mount point */
#define SD_DIR_MAX (SD_PATH_MAX + 64)     /* a domain directory */

struct sd_found {
	char uuid[37];
	char *meta;                         /* raw metadata text (malloc'ed), NULL if unreadable */
	size_t meta_len;
	int meta_errno;                     /* why meta is NULL */
};

struct sd_scan_job {
	char mount[SD_PATH_MAX];
	struct sd_found found[SD_SCAN_MAX];
	size_t n;
};
int sdfile_scan(void *arg);
void sdfile_scan_free(void *arg);

struct sd_read_job {
	char path[SD_DIR_MAX + 32];
	bool direct;                        /* O_DIRECT, as the monitor reads */
	char *text;
	size_t len;
};
int sdfile_read(void *arg);
void sdfile_read_free(void *arg);

struct sd_statvfs_job {
	char path[SD_DIR_MAX];
	unsigned long long total, free;
};
int sdfile_statvfs(void *arg);

struct sd_create_job {
	char mount[SD_PATH_MAX];
	char uuid[37];
	char *meta;                         /* metadata text to write */
	size_t meta_len;
	/* outcome details for the message */
	char step[64];                      /* what failed */
	char other[37];                     /* 361: the domain already on the mount */
};
/* -EEXIST: sdUUID exists on this mount (365); -ENOTEMPTY: another domain is there
 * (361); -EINVAL: no O_DIRECT on this file system; other -errno with job->step. Leaves
 * nothing behind on failure. */
int sdfile_create(void *arg);
void sdfile_create_free(void *arg);

/* ---- sd.c, for sdimage.c ---- */

/* Mount, directory and POOL_UUID of a known domain (one refresh first when it is not
 * known). 358 otherwise. */
int sd_domain_lookup(const char *uuid, char mount[SD_PATH_MAX], char dir[SD_DIR_MAX],
		     char pools[1024], struct vd_error *err) _wur_;

/* The module's paths and bound (valid between sd_start and sd_stop). */
struct sd_env {
	const char *repository;
	const char *run_dir;
	double io_timeout;
	char **drive_roots;                 /* irs.drive_roots, split */
	size_t n_drive_roots;
};
const struct sd_env *sd_env(void);

/* ---- sdimage.c ---- */

struct sd_chain_job {
	char img_dir[SD_DIR_MAX + 64];      /* <domain>/images/<img> */
	char sd[37];
	char leaf[37];
	size_t n;
	struct sd_volume chain[SD_CHAIN_MAX];
	struct vd_error err;                /* why it failed (code and message) */
};
int sdimage_chain(void *arg);

#endif
