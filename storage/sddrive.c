/* Where a VM drive's path may point (issue 14): under the storage roots only, so that a
 * manager (or anyone holding its certificate) cannot hand a guest /dev/sda or
 * /etc/shadow. The check is done twice: on the lexically normalised path, and on its
 * realpath() — symlinks resolved by the kernel — in a worker with a timeout, since the
 * path may cross a mount of a dead server. */
#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sd-internal.h"
#include "../vdsm-c/util/buf.h"
#include "../vdsm-c/util/log.h"
#include "../vdsm-c/util/util.h"

#define ROOTS_MAX 64

/* path normalised without touching the file system: absolute, no '.'/'..' components,
 * no '//' nor trailing '/'. NULL when path is not absolute or '..' climbs above '/'. */
static char *normalise(const char *path)
{
	size_t n = strlen(path);
	char *out = malloc(n + 2);
	size_t o = 0;

	if (!out || path[0] != '/') {
		free(out);
		return NULL;
	}
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		const char *e = strchrnul(p, '/');
		size_t l = (size_t)(e - p);
		if (l == 0 || (l == 1 && p[0] == '.')) {
			/* nothing */
		} else if (l == 2 && p[0] == '.' && p[1] == '.') {
			if (o == 0) {
				free(out);
				return NULL;
			}
			while (o > 0 && out[--o] != '/')
				;
		} else {
			out[o++] = '/';
			memcpy(out + o, p, l);
			o += l;
		}
		p = e;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

static bool under(const char *path, const char *root)
{
	size_t n = strlen(root);

	if (n == 1 && root[0] == '/')
		return true;
	return strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

struct roots {
	char *r[ROOTS_MAX];
	size_t n;
};

static void roots_add(struct roots *rs, const char *p)
{
	char *c = p ? normalise(p) : NULL;

	if (c && rs->n < ROOTS_MAX)
		rs->r[rs->n++] = c;
	else
		free(c);
}

static void roots_clear(struct roots *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->r[i]);
	rs->n = 0;
}

/* The roots now: repository, run dir, their realpaths (local), the LOCALFS links'
 * targets in <repository>/mnt (local directories by definition), and the extra roots. */
static void roots_get(struct roots *rs)
{
	const struct sd_env *env = sd_env();
	char real[PATH_MAX], mnt[PATH_MAX];
	DIR *d;

	rs->n = 0;
	roots_add(rs, env->repository);
	roots_add(rs, env->run_dir);
	if (realpath(env->repository, real))
		roots_add(rs, real);
	if (realpath(env->run_dir, real))
		roots_add(rs, real);
	for (size_t i = 0; i < env->n_drive_roots; i++) {
		roots_add(rs, env->drive_roots[i]);
		if (realpath(env->drive_roots[i], real))
			roots_add(rs, real);
	}
	snprintf(mnt, sizeof(mnt), "%s/mnt", env->repository);
	d = opendir(mnt);
	for (struct dirent *de; d && (de = readdir(d));) {
		char link[PATH_MAX + 300], target[PATH_MAX];
		if (de->d_type != DT_LNK)
			continue;
		snprintf(link, sizeof(link), "%s/%s", mnt, de->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0 || target[0] != '/')
			continue;
		target[n] = '\0';
		roots_add(rs, target);
	}
	if (d)
		closedir(d);
}

struct real_job {
	char path[PATH_MAX];
	char real[PATH_MAX];
};

static int real_job(void *arg)
{
	struct real_job *j = arg;

	return realpath(j->path, j->real) ? 0 : -errno;
}

static bool in_roots(const struct roots *rs, const char *p)
{
	for (size_t i = 0; i < rs->n; i++)
		if (under(p, rs->r[i]))
			return true;
	return false;
}

int sd_drive_path_check(const char *path, char **ret, struct vd_error *err)
{
	_cleanup_free_ char *norm = normalise(path);
	struct roots rs = { .n = 0 };
	struct real_job *j;
	int r = -1;

	*ret = NULL;
	if (!sd_env()->repository)
		return vd_error_set(err, VD_ERR_STORAGE, "%s: the storage domains module is not "
				    "running", vd_code_message(VD_ERR_STORAGE));
	if (!norm || strlen(norm) >= PATH_MAX)
		return vd_error_set(err, VD_ERR_CREATEERR, "Error creating the requested VM: drive "
				    "path '%.200s' is not an absolute path", path);
	roots_get(&rs);
	if (!in_roots(&rs, norm)) {
		vd_error_set(err, VD_ERR_CREATEERR, "Error creating the requested VM: drive path "
			     "'%.200s' is outside the storage roots", path);
		goto out;
	}
	if (!(j = calloc(1, sizeof(*j)))) {
		vd_error_set(err, VD_ERR_CREATEERR, "out of memory");
		goto out;
	}
	snprintf(j->path, sizeof(j->path), "%s", norm);
	/* The worker's key: the mount for a path under <repository>/mnt/<name> (the key its
	 * domains' jobs use, so a mount known stuck fails at once), else the path itself. */
	char key[PATH_MAX + 8];
	size_t rl = strlen(sd_env()->repository);
	snprintf(key, sizeof(key), "%s", norm);
	if (strncmp(norm, sd_env()->repository, rl) == 0 && strncmp(norm + rl, "/mnt/", 5) == 0) {
		char *slash = strchr(key + rl + 5, '/');
		if (slash)
			*slash = '\0';
	}
	r = sd_io_run(key, real_job, j, free, sd_env()->io_timeout);
	if (r == -ETIME || r == -EBUSY) {
		if (r == -EBUSY)
			free(j);
		vd_error_set(err, VD_ERR_STORAGE_DOMAIN_ACCESS, "%s: drive path '%.200s': %s",
			     vd_code_message(VD_ERR_STORAGE_DOMAIN_ACCESS), path,
			     r == -ETIME ? "no answer in time" : "an earlier check is still blocked");
		r = -1;
		goto out;
	}
	if (r < 0) {
		vd_error_set(err, r == -ENOENT ? VD_ERR_IMAGEERR : VD_ERR_CREATEERR,
			     "%s: '%.200s': %s", r == -ENOENT ? vd_code_message(VD_ERR_IMAGEERR) :
			     "Error creating the requested VM: drive path", path, strerror(-r));
		free(j);
		r = -1;
		goto out;
	}
	if (!in_roots(&rs, j->real)) {
		vd_error_set(err, VD_ERR_CREATEERR, "Error creating the requested VM: drive path "
			     "'%.200s' leads outside the storage roots (to '%.200s')", path, j->real);
		free(j);
		r = -1;
		goto out;
	}
	free(j);
	*ret = TAKE_PTR(norm);
	r = 0;
out:
	roots_clear(&rs);
	return r;
}
