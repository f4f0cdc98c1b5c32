/* Storage domains: the registry of the domains this host knows, their monitors, and the
 * operations behind createStorageDomain / getStorageDomainsList / Info / Stats.
 *
 * The registry is filled by scanning the mounts under <repository>/mnt (sd_refresh) and
 * by sd_create. Each domain has one monitor thread: every check_interval it reads the
 * domain's dom_md/metadata with O_DIRECT in a worker (sdio.c) bounded by check_timeout,
 * and records code / time of the check / read delay / version. getVdsStats reads those
 * results from memory (sd_monitor_list). A domain whose mount is gone leaves the registry;
 * its monitor thread ends and frees it. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sd-internal.h"
#include "stg.h"
#include "../vdsm-c/util/log.h"
#include "../vdsm-c/util/utf8.h"
#include "../vdsm-c/util/util.h"

#define DOMAINS_MAX 256
#define MOUNTS_MAX 128

enum sd_backend { SD_BACKEND_FILE = 1 };

struct domain {
	char uuid[37];
	enum sd_backend backend;
	char mount[SD_PATH_MAX];       /* <repository>/mnt/<escaped> */
	char mount_name[256];          /* <escaped> */
	char dir[SD_DIR_MAX];          /* <mount>/<uuid as on disk> */
	struct sd_meta meta;           /* as last read by a scan or the monitor */
	bool stop;                     /* monitor: leave and free the domain */
	/* monitor results (under lock) */
	int code;
	double last_check;             /* monotonic time of the last completed check */
	double delay;
	int version;
	bool actual;
};

static struct {
	char *repository, *mnt_dir, *mountinfo, *run_dir;
	struct sd_env env;
	double io_timeout, check_interval, check_timeout;
	bool started;
	pthread_mutex_t lock;          /* domains[], monitor results, monitors */
	pthread_cond_t wake;           /* monitors sleep on it; signalled at stop */
	struct domain *domains[DOMAINS_MAX];
	size_t n;
	unsigned monitors;             /* running monitor threads */
	unsigned long generation;      /* sd_generation() */
	pthread_mutex_t refresh_lock;  /* one scan at a time */
	pthread_t first_scan;          /* the scan at start */
	bool first_scan_started;
} sd = { .lock = PTHREAD_MUTEX_INITIALIZER, .refresh_lock = PTHREAD_MUTEX_INITIALIZER };

static int code_of_errno(int e)
{
	switch (e) {
	case ENOENT: return VD_ERR_STORAGE_DOMAIN_DOES_NOT_EXIST;
	case ESTALE: return VD_ERR_STALE_NFS_HANDLE;
	default: return VD_ERR_STORAGE_DOMAIN_ACCESS;
	}
}

/* ---- monitors ---- */

static void monitor_check(struct domain *d)
{
	struct sd_read_job *j = calloc(1, sizeof(*j));
	struct vd_error err = { 0 };
	double t0 = util_now_monotonic();
	int code = 0, version = -1, r;

	if (!j)
		return;
	snprintf(j->path, sizeof(j->path), "%s/dom_md/metadata", d->dir);
	j->direct = true;
	r = sd_io_run(d->mount, sdfile_read, j, sdfile_read_free, sd.check_timeout);
	double dt = util_now_monotonic() - t0;
	if (r == -ETIME) {
		code = VD_ERR_STORAGE_DOMAIN_ACCESS;     /* j belongs to the abandoned worker */
	} else if (r == -EBUSY) {
		code = VD_ERR_STORAGE_DOMAIN_ACCESS;
		sdfile_read_free(j);
	} else if (r < 0) {
		code = code_of_errno(-r);
		sdfile_read_free(j);
	} else {
		struct sd_meta_file *f = malloc(sizeof(*f));
		struct sd_meta m;
		if (!f || sd_meta_parse(j->text, j->len, f, &err) < 0 ||
		    sd_meta_decode(f, &m, &err) < 0)
			code = err.code ? err.code : VD_ERR_STORAGE;
		else if (strcmp(m.uuid, d->uuid) != 0)
			code = VD_ERR_STORAGE_DOMAIN_ACCESS;
		else
			version = m.version;
		free(f);
		sdfile_read_free(j);
	}
	pthread_mutex_lock(&sd.lock);
	if (code != d->code)
		log_notice("storage: domain %s monitor: %s (code %d%s%s)", d->uuid,
			   code ? "invalid" : "valid", code, err.code ? ", " : "", err.msg);
	d->code = code;
	d->version = version >= 0 ? version : d->version;
	d->delay = dt;
	d->last_check = util_now_monotonic();
	d->actual = true;
	sd.generation++;
	pthread_mutex_unlock(&sd.lock);
}

static void *monitor_thread(void *arg)
{
	struct domain *d = arg;

	pthread_mutex_lock(&sd.lock);
	while (!d->stop) {
		pthread_mutex_unlock(&sd.lock);
		monitor_check(d);
		pthread_mutex_lock(&sd.lock);
		if (d->stop)
			break;
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (time_t)sd.check_interval;
		until.tv_nsec += (long)((sd.check_interval - (double)(time_t)sd.check_interval) * 1e9);
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!d->stop && pthread_cond_timedwait(&sd.wake, &sd.lock, &until) != ETIMEDOUT)
			;
	}
	sd.monitors--;
	pthread_cond_broadcast(&sd.wake);
	pthread_mutex_unlock(&sd.lock);
	free(d);
	return NULL;
}

/* Adds d (owned by the registry from now on) and starts its monitor. Lock held. */
static int domain_add_locked(struct domain *d)
{
	pthread_attr_t a;
	pthread_t t;
	int r;

	if (sd.n == DOMAINS_MAX)
		return -E2BIG;
	d->version = d->meta.version;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 256 * 1024);
	r = pthread_create(&t, &a, monitor_thread, d);
	pthread_attr_destroy(&a);
	if (r != 0)
		return -r;
	sd.monitors++;
	sd.generation++;
	sd.domains[sd.n++] = d;
	log_info("storage: domain %s (%s, %s) on '%s' known; monitored every %.0f s", d->uuid,
		 d->meta.type, d->meta.class_name, d->mount, sd.check_interval);
	return 0;
}

/* Removes domain i; its monitor frees it. Lock held. */
static void domain_drop_locked(size_t i)
{
	struct domain *d = sd.domains[i];

	log_info("storage: domain %s is gone from '%s'", d->uuid, d->mount);
	d->stop = true;
	sd.generation++;
	sd.domains[i] = sd.domains[--sd.n];
	pthread_cond_broadcast(&sd.wake);
}

static struct domain *find_locked(const char *uuid)
{
	for (size_t i = 0; i < sd.n; i++)
		if (strcmp(sd.domains[i]->uuid, uuid) == 0)
			return sd.domains[i];
	return NULL;
}

/* ---- start / stop ---- */

static void *first_scan(void *arg)
{
	(void)arg;
	sd_refresh();
	return NULL;
}

/* irs.drive_roots: comma-separated absolute paths. */
static int roots_split(const char *list)
{
	_cleanup_free_ char *copy = strdup(list ? list : "");
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		p = util_strstrip(p);
		if (!*p)
			continue;
		if (p[0] != '/' || strstr(p, "/../") || strstr(p, "/./")) {
			log_err("storage: irs.drive_roots: '%s' is not an absolute clean path", p);
			return -EINVAL;
		}
		char **n = realloc(sd.env.drive_roots, (sd.env.n_drive_roots + 1) * sizeof(*n));
		if (!n || !(n[sd.env.n_drive_roots] = strdup(p))) {
			if (n)
				sd.env.drive_roots = n;
			return -ENOMEM;
		}
		sd.env.drive_roots = n;
		sd.env.n_drive_roots++;
		log_info("storage: extra root of VM drive paths: '%s'", p);
	}
	return 0;
}

int sd_start(const struct sd_opts *o)
{
	pthread_condattr_t ca;

	if (!o->repository || !o->mountinfo || !o->run_dir || o->io_timeout <= 0 || o->check_interval <= 0 ||
	    o->check_timeout <= 0)
		return -EINVAL;
	sd.repository = strdup(o->repository);
	sd.mnt_dir = util_path(o->repository, "/mnt");
	sd.mountinfo = strdup(o->mountinfo);
	sd.run_dir = strdup(o->run_dir);
	if (!sd.repository || !sd.mnt_dir || !sd.mountinfo || !sd.run_dir) {
		sd_stop();
		return -ENOMEM;
	}
	sd.io_timeout = o->io_timeout;
	sd.check_interval = o->check_interval;
	sd.check_timeout = o->check_timeout;
	sd.env = (struct sd_env){ sd.repository, sd.run_dir, sd.io_timeout, NULL, 0 };
	if (roots_split(o->drive_roots) < 0) {
		sd_stop();
		return -EINVAL;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sd.wake, &ca);
	pthread_condattr_destroy(&ca);
	sd.started = true;
	log_info("storage: domains under '%s'; file operations bounded by %.0f s, monitor every "
		 "%.0f s (read bound %.0f s)", sd.mnt_dir, sd.io_timeout, sd.check_interval,
		 sd.check_timeout);
	/* The first scan in the background: a dead server must not hold up the start. */
	sd.first_scan_started = pthread_create(&sd.first_scan, NULL, first_scan, NULL) == 0;
	if (!sd.first_scan_started)
		sd_refresh();
	return 0;
}

void sd_stop(void)
{
	if (sd.first_scan_started) {
		/* bounded by io_timeout: the scan's workers are abandoned after it */
		pthread_join(sd.first_scan, NULL);
		sd.first_scan_started = false;
	}
	if (sd.started) {
		pthread_mutex_lock(&sd.lock);
		while (sd.n)
			domain_drop_locked(sd.n - 1);
		/* Each monitor leaves after its current check (bounded by check_timeout). */
		while (sd.monitors)
			pthread_cond_wait(&sd.wake, &sd.lock);
		pthread_mutex_unlock(&sd.lock);
		pthread_cond_destroy(&sd.wake);
	}
	sd.started = false;
	free(sd.repository);
	free(sd.mnt_dir);
	free(sd.mountinfo);
	free(sd.run_dir);
	for (size_t i = 0; i < sd.env.n_drive_roots; i++)
		free(sd.env.drive_roots[i]);
	free(sd.env.drive_roots);
	sd.env.drive_roots = NULL;
	sd.env.n_drive_roots = 0;
	sd.repository = sd.mnt_dir = sd.mountinfo = sd.run_dir = NULL;
}

/* ---- scan ---- */

struct mount_scan {
	char name[256];
	struct sd_scan_job *job;       /* NULL when the mount did not answer */
	int result;
	pthread_t thread;
	bool started;
};

static void *scan_thread(void *arg)
{
	struct mount_scan *m = arg;
	struct sd_scan_job *j = calloc(1, sizeof(*j));

	if (!j) {
		m->result = -ENOMEM;
		return NULL;
	}
	snprintf(j->mount, sizeof(j->mount), "%s/%s", sd.mnt_dir, m->name);
	m->result = sd_io_run(j->mount, sdfile_scan, j, sdfile_scan_free, sd.io_timeout);
	if (m->result == -ETIME)
		return NULL;               /* the worker owns j */
	if (m->result < 0) {
		sdfile_scan_free(j);
		return NULL;
	}
	m->job = j;
	return NULL;
}

/* Merges one answered mount's findings. Lock held. */
static void merge_mount_locked(const struct mount_scan *m, bool *seen)
{
	for (size_t k = 0; k < m->job->n; k++) {
		const struct sd_found *f = &m->job->found[k];
		struct vd_error err = { 0 };
		struct sd_meta_file *mf;
		struct sd_meta meta;
		char uuid[37];

		if (!f->meta || util_uuid_normalize(f->uuid, uuid) < 0)
			continue;
		mf = malloc(sizeof(*mf));
		if (!mf)
			continue;
		if (sd_meta_parse(f->meta, f->meta_len, mf, &err) < 0 ||
		    sd_meta_decode(mf, &meta, &err) < 0 || strcmp(meta.uuid, uuid) != 0) {
			log_debug("storage: '%s/%s' skipped: %s", m->name, f->uuid,
				  err.code ? err.msg : "SDUUID differs from the directory");
			free(mf);
			continue;
		}
		free(mf);
		for (size_t i = 0; i < sd.n; i++)
			if (strcmp(sd.domains[i]->uuid, uuid) == 0)
				seen[i] = true;
		struct domain *d = find_locked(uuid);
		if (d) {
			if (strcmp(d->mount_name, m->name) == 0)
				d->meta = meta;
			continue;          /* the same UUID on two mounts: the first stays */
		}
		d = calloc(1, sizeof(*d));
		if (!d)
			continue;
		snprintf(d->uuid, sizeof(d->uuid), "%s", uuid);
		d->backend = SD_BACKEND_FILE;
		snprintf(d->mount_name, sizeof(d->mount_name), "%s", m->name);
		snprintf(d->mount, sizeof(d->mount), "%s/%s", sd.mnt_dir, m->name);
		snprintf(d->dir, sizeof(d->dir), "%s/%.36s", d->mount, f->uuid);
		d->meta = meta;
		if (domain_add_locked(d) < 0)
			free(d);
		else if (sd.n <= DOMAINS_MAX)
			seen[sd.n - 1] = true;
	}
}

void sd_refresh(void)
{
	struct mount_scan *ms = calloc(MOUNTS_MAX, sizeof(*ms));
	bool seen[DOMAINS_MAX + 1] = { false };
	size_t nm = 0;
	DIR *dir;

	if (!ms || !sd.started) {
		free(ms);
		return;
	}
	pthread_mutex_lock(&sd.refresh_lock);
	/* The mount root is local: listing it never touches a storage server. */
	dir = opendir(sd.mnt_dir);
	for (struct dirent *de; dir && (de = readdir(dir)) && nm < MOUNTS_MAX;) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "blockSD") ||
		    !strcmp(de->d_name, "glusterSD") || strlen(de->d_name) >= sizeof(ms[nm].name))
			continue;
		snprintf(ms[nm].name, sizeof(ms[nm].name), "%s", de->d_name);
		ms[nm].started = pthread_create(&ms[nm].thread, NULL, scan_thread, &ms[nm]) == 0;
		nm++;
	}
	if (dir)
		closedir(dir);
	for (size_t i = 0; i < nm; i++)
		if (ms[i].started)
			pthread_join(ms[i].thread, NULL);

	pthread_mutex_lock(&sd.lock);
	for (size_t i = 0; i < nm; i++)
		if (ms[i].job)
			merge_mount_locked(&ms[i], seen);
	/* Drop domains whose mount answered without them, or whose mount is gone. Domains
	 * on a mount that did not answer stay (their monitor says what is wrong). */
	for (size_t i = sd.n; i-- > 0;) {
		struct domain *d = sd.domains[i];
		bool present = false, answered = false;
		for (size_t k = 0; k < nm; k++)
			if (strcmp(ms[k].name, d->mount_name) == 0) {
				present = true;
				answered = ms[k].job != NULL;
			}
		if (!seen[i] && (!present || answered))
			domain_drop_locked(i);
	}
	pthread_mutex_unlock(&sd.lock);
	pthread_mutex_unlock(&sd.refresh_lock);
	for (size_t i = 0; i < nm; i++)
		sdfile_scan_free(ms[i].job);
	free(ms);
}

/* ---- verbs ---- */

int sd_list(const char *pool, int cls, int type, const char *remote, char (**ret)[37],
	    size_t *ret_n)
{
	char escaped[256] = "";
	const char *cname = cls ? sd_class_name(cls) : NULL;
	const char *tname = type ? stg_type_to_string(type) : NULL;

	*ret = NULL;
	*ret_n = 0;
	if (remote && *remote && stg_escape_path(remote, escaped, sizeof(escaped)) < 0)
		return 0;                  /* no mount can have that name */
	if ((cls && !cname) || (type && !tname))
		return 0;
	sd_refresh();
	pthread_mutex_lock(&sd.lock);
	*ret = calloc(sd.n + 1, sizeof(**ret));
	if (!*ret) {
		pthread_mutex_unlock(&sd.lock);
		return -ENOMEM;
	}
	for (size_t i = 0; i < sd.n; i++) {
		const struct domain *d = sd.domains[i];
		if ((cname && strcmp(d->meta.class_name, cname)) ||
		    (tname && strcmp(d->meta.type, tname)) ||
		    (escaped[0] && strcmp(d->mount_name, escaped)) ||
		    (pool && !strstr(d->meta.pools, pool)))
			continue;
		memcpy((*ret)[(*ret_n)++], d->uuid, 37);
	}
	pthread_mutex_unlock(&sd.lock);
	return 0;
}

int sd_domain_lookup(const char *uuid, char mount[SD_PATH_MAX], char dir[SD_DIR_MAX],
		     char pools[1024], struct vd_error *err)
{
	for (int pass = 0; pass < 2; pass++) {
		pthread_mutex_lock(&sd.lock);
		struct domain *d = find_locked(uuid);
		if (d) {
			memcpy(mount, d->mount, SD_PATH_MAX);
			memcpy(dir, d->dir, SD_DIR_MAX);
			if (pools)
				memcpy(pools, d->meta.pools, sizeof(d->meta.pools));
		}
		pthread_mutex_unlock(&sd.lock);
		if (d)
			return 0;
		if (pass == 0)
			sd_refresh();
	}
	return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_DOES_NOT_EXIST, "%s: ('%s',)",
			    vd_code_message(VD_ERR_STORAGE_DOMAIN_DOES_NOT_EXIST), uuid);
}

static int io_error(int r, const char *uuid, const char *what, struct vd_error *err)
{
	int code = r == -ETIME || r == -EBUSY ? VD_ERR_STORAGE_DOMAIN_ACCESS : code_of_errno(-r);

	return vd_error_set(err, code, "%s: ('%s',): %s: %s", vd_code_message(code), uuid, what,
			    r == -ETIME ? "no answer in time" :
			    r == -EBUSY ? "an earlier operation on its mount is still blocked" :
			    strerror(-r));
}

/* The prologue shared by getStorageDomainInfo and getStorageDomainStats: looks the
 * domain up, sets path (path_size bytes, a member of job) to <domain dir><suffix> and
 * runs fn on job in the worker of the domain's mount, bounded by io_timeout. 0 with the
 * job filled (the caller frees it); -1 with err set and the job freed (or, on a timeout,
 * left to the worker, which frees it with free_fn). */
static int run_domain_job(const char *uuid, const char *suffix, sd_io_fn fn, void *job,
			  char *path, size_t path_size, void (*free_fn)(void *),
			  const char *what, struct vd_error *err)
{
	char mount[SD_PATH_MAX], dir[SD_DIR_MAX];
	int r;

	if (sd_domain_lookup(uuid, mount, dir, NULL, err) < 0) {
		free_fn(job);
		return -1;
	}
	snprintf(path, path_size, "%s%s", dir, suffix);
	r = sd_io_run(mount, fn, job, free_fn, sd.io_timeout);
	if (r < 0) {
		if (r != -ETIME)
			free_fn(job);
		return io_error(r, uuid, what, err);
	}
	return 0;
}

int sd_get_info(const char *uuid, struct sd_info *ret, struct vd_error *err)
{
	struct sd_read_job *j;
	int r;

	if (!(j = calloc(1, sizeof(*j))))
		return vd_error_set(err, VD_ERR_STORAGE, "out of memory");
	if (run_domain_job(uuid, "/dom_md/metadata", sdfile_read, j, j->path, sizeof(j->path),
			   sdfile_read_free, "metadata", err) < 0)
		return -1;
	struct sd_meta_file *f = malloc(sizeof(*f));
	r = !f ? vd_error_set(err, VD_ERR_STORAGE, "out of memory") :
		 sd_meta_parse(j->text, j->len, f, err);
	if (r == 0)
		r = sd_meta_decode(f, &ret->meta, err);
	free(f);
	sdfile_read_free(j);
	if (r < 0)
		return -1;
	snprintf(ret->remote_path, sizeof(ret->remote_path), "%s", ret->meta.remote_path);
	pthread_mutex_lock(&sd.lock);
	struct domain *d = find_locked(uuid);
	if (d)
		d->meta = ret->meta;
	pthread_mutex_unlock(&sd.lock);
	return 0;
}

int sd_get_stats(const char *uuid, struct sd_stats *ret, struct vd_error *err)
{
	struct sd_statvfs_job *j;

	if (!(j = calloc(1, sizeof(*j))))
		return vd_error_set(err, VD_ERR_STORAGE, "out of memory");
	if (run_domain_job(uuid, "", sdfile_statvfs, j, j->path, sizeof(j->path), free,
			   "statvfs", err) < 0)
		return -1;
	ret->total = j->total;
	ret->free = j->free;
	free(j);
	return 0;
}

const struct sd_env *sd_env(void)
{
	return &sd.env;
}

unsigned long sd_generation(void)
{
	pthread_mutex_lock(&sd.lock);
	unsigned long g = sd.generation;
	pthread_mutex_unlock(&sd.lock);
	return g;
}

int sd_monitor_list(struct sd_monitor_status **ret, size_t *ret_n)
{
	double now = util_now_monotonic();

	pthread_mutex_lock(&sd.lock);
	*ret_n = 0;
	*ret = calloc(sd.n + 1, sizeof(**ret));
	if (!*ret) {
		pthread_mutex_unlock(&sd.lock);
		return -ENOMEM;
	}
	for (size_t i = 0; i < sd.n; i++) {
		const struct domain *d = sd.domains[i];
		struct sd_monitor_status *s = &(*ret)[(*ret_n)++];
		memcpy(s->uuid, d->uuid, 37);
		s->actual = d->actual;
		s->code = d->code;
		s->valid = d->actual && d->code == 0;
		s->last_check = d->actual ? now - d->last_check : 0.0;
		s->delay = d->delay;
		s->version = d->version;
		s->acquired = false;
	}
	pthread_mutex_unlock(&sd.lock);
	return 0;
}

/* ---- create ---- */

static bool text_clean(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return util_utf8_is_clean(s, 0);
}

/* Is the mount point of escaped connected? NFS/POSIXFS: in mountinfo; LOCALFS: the
 * link exists (lstat of an entry of the local mount root, no storage I/O). */
static bool connected(int type, const char *mount)
{
	struct stat st;

	if (type == STG_TYPE_LOCALFS)
		return lstat(mount, &st) == 0 && S_ISLNK(st.st_mode);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (util_read_file(sd.mountinfo, 4 << 20, &text, &len) < 0)
		return false;
	return stg_mountinfo_has(text, len, mount);
}

static char *build_meta(const struct sd_create_req *req, size_t *len)
{
	struct sd_meta_file *f = calloc(1, sizeof(*f));
	char ver[8];
	char *text = NULL;

	if (!f)
		return NULL;
	snprintf(ver, sizeof(ver), "%d", req->version);
	/* VDSM's keys and defaults (sd.py DEFAULT_LEASE_PARAMS, fileSD._prepareMetadata). */
	if (sd_meta_set(f, "CLASS", sd_class_name(req->domain_class)) == 0 &&
	    sd_meta_set(f, "DESCRIPTION", req->name) == 0 &&
	    sd_meta_set(f, "IOOPTIMEOUTSEC", "10") == 0 &&
	    sd_meta_set(f, "LEASERETRIES", "3") == 0 &&
	    sd_meta_set(f, "LEASETIMESEC", "60") == 0 &&
	    sd_meta_set(f, "LOCKPOLICY", "") == 0 &&
	    sd_meta_set(f, "LOCKRENEWALINTERVALSEC", "5") == 0 &&
	    sd_meta_set(f, "POOL_UUID", "") == 0 &&
	    sd_meta_set(f, "REMOTE_PATH", req->remote) == 0 &&
	    sd_meta_set(f, "ROLE", "Regular") == 0 &&
	    sd_meta_set(f, "SDUUID", req->uuid) == 0 &&
	    sd_meta_set(f, "TYPE", stg_type_to_string(req->storage_type)) == 0 &&
	    sd_meta_set(f, "VERSION", ver) == 0)
		text = sd_meta_format(f, len);
	free(f);
	return text;
}

int sd_create(const struct sd_create_req *req, struct vd_error *err)
{
	char escaped[256];
	struct sd_create_job *j;
	int t = req->storage_type, r;

	if (t != STG_TYPE_NFS && t != STG_TYPE_LOCALFS && t != STG_TYPE_POSIXFS)
		return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_TYPE, "%s: storageType %d%s",
				    vd_code_message(VD_ERR_STORAGE_DOMAIN_TYPE), t,
				    stg_type_to_string(t) ? " (no file domain; block domains come later)" : "");
	if (!sd_class_name(req->domain_class))
		return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_CLASS, "%s: domClass %d",
				    vd_code_message(VD_ERR_STORAGE_DOMAIN_CLASS), req->domain_class);
	if (!sd_version_supported(req->version))
		return vd_error_set(err, VD_ERR_UNSUPPORTED_DOMAIN_VERSION, "%s: %d",
				    vd_code_message(VD_ERR_UNSUPPORTED_DOMAIN_VERSION), req->version);
	if (!text_clean(req->name, SD_DESC_MAX))
		return vd_error_set(err, VD_ERR_INVALID_PARAMETER,
				    "Invalid parameter: 'domainName': empty, too long or not printable");
	/* The connection string as connectStorageServer validates and names it. */
	struct stg_conn *sc = calloc(1, sizeof(*sc));
	/* (POSIXFS: the file system type does not change how the spec is checked.) */
	const struct stg_kv kv[] = { { "id", req->uuid }, { "connection", req->remote },
				     { "vfs_type", "xfs" } };
	struct vd_error perr = { 0 };
	if (!sc)
		return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_CREATION, "out of memory");
	if (!text_clean(req->remote, SD_META_VALUE_MAX) ||
	    stg_conn_parse(t, kv, ELEMENTSOF(kv), sc, &perr) < 0 ||
	    snprintf(escaped, sizeof(escaped), "%s", sc->escaped) >= (int)sizeof(escaped)) {
		free(sc);
		return vd_error_set(err, VD_ERR_ILLEGAL_REMOTE_PATH, "%s: '%.200s'%s%s",
				    vd_code_message(VD_ERR_ILLEGAL_REMOTE_PATH), req->remote,
				    perr.code ? ": " : "", perr.msg);
	}
	free(sc);
	if (!(j = calloc(1, sizeof(*j))))
		return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_CREATION, "out of memory");
	snprintf(j->mount, sizeof(j->mount), "%s/%s", sd.mnt_dir, escaped);
	snprintf(j->uuid, sizeof(j->uuid), "%s", req->uuid);
	if (!connected(t, j->mount)) {
		sdfile_create_free(j);
		return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_FS_NOT_MOUNTED, "%s: '%.200s'",
				    vd_code_message(VD_ERR_STORAGE_DOMAIN_FS_NOT_MOUNTED), req->remote);
	}
	/* The same UUID on any mount (VDSM looks it up in its domain cache). */
	sd_refresh();
	pthread_mutex_lock(&sd.lock);
	bool exists = find_locked(req->uuid) != NULL;
	pthread_mutex_unlock(&sd.lock);
	if (exists) {
		sdfile_create_free(j);
		return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_ALREADY_EXISTS, "%s: ('%s',)",
				    vd_code_message(VD_ERR_STORAGE_DOMAIN_ALREADY_EXISTS), req->uuid);
	}
	if (!(j->meta = build_meta(req, &j->meta_len))) {
		sdfile_create_free(j);
		return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_CREATION, "out of memory");
	}
	char mount[SD_PATH_MAX];
	snprintf(mount, sizeof(mount), "%s", j->mount);
	r = sd_io_run(mount, sdfile_create, j, sdfile_create_free, sd.io_timeout);
	if (r == -ETIME || r == -EBUSY) {
		if (r == -EBUSY)
			sdfile_create_free(j);
		return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_ACCESS, "%s: '%s': %s",
				    vd_code_message(VD_ERR_STORAGE_DOMAIN_ACCESS), req->remote,
				    r == -ETIME ? "no answer in time; nothing was created"
						: "an earlier operation on the mount is still blocked");
	}
	if (r < 0) {
		if (r == -EEXIST)
			vd_error_set(err, VD_ERR_STORAGE_DOMAIN_ALREADY_EXISTS, "%s: ('%s',)",
				     vd_code_message(VD_ERR_STORAGE_DOMAIN_ALREADY_EXISTS), req->uuid);
		else if (r == -ENOTEMPTY)
			vd_error_set(err, VD_ERR_STORAGE_DOMAIN_NOT_EMPTY,
				     "%s: '%s' holds domain %s",
				     vd_code_message(VD_ERR_STORAGE_DOMAIN_NOT_EMPTY), req->remote,
				     j->other);
		else
			vd_error_set(err, VD_ERR_STORAGE_DOMAIN_CREATION, "%s: '%s': %s: %s",
				     vd_code_message(VD_ERR_STORAGE_DOMAIN_CREATION), req->remote,
				     r == -EINVAL && strcmp(j->step, "direct I/O check") == 0 ?
				     "the file system does not support direct I/O" : j->step,
				     strerror(-r));
		sdfile_create_free(j);
		return -1;
	}
	sdfile_create_free(j);

	struct domain *d = calloc(1, sizeof(*d));
	if (d) {
		snprintf(d->uuid, sizeof(d->uuid), "%s", req->uuid);
		d->backend = SD_BACKEND_FILE;
		snprintf(d->mount_name, sizeof(d->mount_name), "%s", escaped);
		snprintf(d->mount, sizeof(d->mount), "%s", mount);
		snprintf(d->dir, sizeof(d->dir), "%s/%.36s", mount, req->uuid);
		snprintf(d->meta.uuid, sizeof(d->meta.uuid), "%s", req->uuid);
		snprintf(d->meta.type, sizeof(d->meta.type), "%s", stg_type_to_string(t));
		snprintf(d->meta.class_name, sizeof(d->meta.class_name), "%s",
			 sd_class_name(req->domain_class));
		snprintf(d->meta.role, sizeof(d->meta.role), "Regular");
		snprintf(d->meta.description, sizeof(d->meta.description), "%s", req->name);
		snprintf(d->meta.remote_path, sizeof(d->meta.remote_path), "%s", req->remote);
		d->meta.version = req->version;
		pthread_mutex_lock(&sd.lock);
		if (find_locked(d->uuid) || domain_add_locked(d) < 0)
			free(d);
		pthread_mutex_unlock(&sd.lock);
	}
	log_notice("storage: domain %s created on '%s' (%s, %s, V%d)", req->uuid, req->remote,
		   stg_type_to_string(t), sd_class_name(req->domain_class), req->version);
	return 0;
}
