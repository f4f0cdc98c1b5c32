/* Images of file domains: prepareImage / teardownImage (API.md §5.5, §6).
 *
 * The chain is read in a worker (the .meta files and the volume files are on the
 * storage server): from the leaf, each volume's PUUID names its parent in the same
 * image directory (VDSM hard-links a template's volume into every image based on it)
 * until the blank UUID. The links live on local disk and are made here in the caller's
 * thread: <run_dir>/<sdUUID>/<imgUUID> → the image directory, and for a pool the pool's
 * <repository>/<spUUID>/<sdUUID> → the domain directory; a symlink is created without
 * touching its target, so a dead server cannot block this part. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sd-internal.h"
#include "../vdsm-c/util/log.h"
#include "../vdsm-c/util/util.h"

int sdimage_chain(void *arg)
{
	struct sd_chain_job *j = arg;
	char vol[37], path[SD_DIR_MAX + 128];
	struct stat st;

	snprintf(vol, sizeof(vol), "%s", j->leaf);
	if (stat(j->img_dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return vd_error_set(&j->err, VD_ERR_IMAGE_PATH, "%s: '%s'",
				    vd_code_message(VD_ERR_IMAGE_PATH), j->img_dir);
	while (j->n < SD_CHAIN_MAX) {
		struct sd_volume *v = &j->chain[j->n];
		char *text = NULL;
		size_t len = 0;
		int r;

		for (size_t i = 0; i < j->n; i++)
			if (strcmp(j->chain[i].uuid, vol) == 0)
				return vd_error_set(&j->err, VD_ERR_VOLUME_DOES_NOT_EXIST,
						    "%s: volume %s: the chain has a loop",
						    vd_code_message(VD_ERR_VOLUME_DOES_NOT_EXIST), vol);
		snprintf(path, sizeof(path), "%s/%s", j->img_dir, vol);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			return vd_error_set(&j->err, VD_ERR_VOLUME_DOES_NOT_EXIST, "%s: %s%s%s",
					    vd_code_message(VD_ERR_VOLUME_DOES_NOT_EXIST), vol,
					    j->n ? ", parent of " : "", j->n ? j->chain[j->n - 1].uuid : "");
		snprintf(path, sizeof(path), "%s/%s.meta", j->img_dir, vol);
		r = util_read_file(path, SD_META_MAX, &text, &len);
		if (r < 0)
			return vd_error_set(&j->err, VD_ERR_VOLUME_DOES_NOT_EXIST, "%s: %s.meta: %s",
					    vd_code_message(VD_ERR_VOLUME_DOES_NOT_EXIST), vol,
					    strerror(-r));
		r = sd_volume_parse(text, len, v, &j->err);
		free(text);
		if (r < 0)
			return -1;
		snprintf(v->uuid, sizeof(v->uuid), "%s", vol);
		v->apparent = st.st_size;
		v->allocated = (long long)st.st_blocks * 512;
		if (strcmp(v->domain, j->sd) != 0)
			return vd_error_set(&j->err, VD_ERR_VOLUME_DOES_NOT_EXIST,
					    "%s: %s belongs to domain %s",
					    vd_code_message(VD_ERR_VOLUME_DOES_NOT_EXIST), vol, v->domain);
		if (strcmp(v->legality, "LEGAL") != 0)
			return vd_error_set(&j->err, VD_ERR_PREPARE_ILLEGAL_VOLUME, "%s: %s is %s",
					    vd_code_message(VD_ERR_PREPARE_ILLEGAL_VOLUME), vol,
					    v->legality);
		j->n++;
		if (strcmp(v->parent, SD_BLANK_UUID) == 0)
			return 0;
		snprintf(vol, sizeof(vol), "%s", v->parent);
	}
	return vd_error_set(&j->err, VD_ERR_VOLUME_DOES_NOT_EXIST, "%s: chain longer than %d",
			    vd_code_message(VD_ERR_VOLUME_DOES_NOT_EXIST), SD_CHAIN_MAX);
}

/* link → target, replacing a link that points elsewhere (new link + rename). */
static int link_set(const char *link, const char *target)
{
	char cur[SD_IMAGE_PATH_MAX], tmp[SD_IMAGE_PATH_MAX + 16];
	ssize_t n = readlink(link, cur, sizeof(cur) - 1);

	if (n >= 0) {
		cur[n] = '\0';
		if (strcmp(cur, target) == 0)
			return 0;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", link) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	if (symlink(target, tmp) < 0)
		return -errno;
	if (rename(tmp, link) < 0) {
		int e = -errno;
		unlink(tmp);
		return e;
	}
	return 0;
}

static bool pool_listed(const char *pools, const char *pool)
{
	const char *p = pools;

	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char id[37];
		if (n == 36) {
			memcpy(id, p, 36);
			id[36] = '\0';
			if (util_uuid_normalize(id, id) == 0 && strcmp(id, pool) == 0)
				return true;
		}
		p += n + (e ? 1 : 0);
	}
	return false;
}

int sd_prepare_image(const char *pool, const char *uuid, const char *img, const char *leaf,
		     struct sd_image *ret, struct vd_error *err)
{
	const struct sd_env *env = sd_env();
	char mount[SD_PATH_MAX], dir[SD_DIR_MAX], pools[1024], link[SD_IMAGE_PATH_MAX];
	bool blank = !pool || !*pool || strcmp(pool, SD_BLANK_UUID) == 0;
	struct sd_chain_job *j;
	int r;

	if (sd_domain_lookup(uuid, mount, dir, pools, err) < 0)
		return -1;
	if (!blank && !pool_listed(pools, pool))
		return vd_error_set(err, VD_ERR_STORAGE_POOL_UNKNOWN, "%s: ('%s',): domain %s is not "
				    "in it", vd_code_message(VD_ERR_STORAGE_POOL_UNKNOWN), pool, uuid);
	if (!(j = calloc(1, sizeof(*j))))
		return vd_error_set(err, VD_ERR_STORAGE, "out of memory");
	snprintf(j->img_dir, sizeof(j->img_dir), "%s/images/%s", dir, img);
	snprintf(j->sd, sizeof(j->sd), "%s", uuid);
	snprintf(j->leaf, sizeof(j->leaf), "%s", leaf);
	r = sd_io_run(mount, sdimage_chain, j, free, env->io_timeout);
	if (r == -ETIME || r == -EBUSY) {
		if (r == -EBUSY)
			free(j);
		return vd_error_set(err, VD_ERR_STORAGE_DOMAIN_ACCESS, "%s: ('%s',): %s",
				    vd_code_message(VD_ERR_STORAGE_DOMAIN_ACCESS), uuid,
				    r == -ETIME ? "reading the image chain: no answer in time"
						: "an earlier operation on its mount is still blocked");
	}
	if (r < 0) {
		if (vd_error_is_set(&j->err))
			vd_error_set(err, j->err.code, "%s", j->err.msg);
		else
			vd_error_set(err, VD_ERR_STORAGE, "reading the image chain: %s", strerror(-r));
		free(j);
		return -1;
	}
	ret->n = j->n;
	memcpy(ret->chain, j->chain, j->n * sizeof(j->chain[0]));

	/* Run link: <run_dir>/<sd>/<img> → <domain>/images/<img> */
	snprintf(link, sizeof(link), "%s/%s", env->run_dir, uuid);
	r = util_mkdir_p(link, 0755);
	if (r == 0) {
		snprintf(link, sizeof(link), "%s/%s/%s", env->run_dir, uuid, img);
		r = link_set(link, j->img_dir);
	}
	free(j);
	if (r < 0)
		return vd_error_set(err, VD_ERR_IMAGE_PATH, "%s: '%s': %s",
				    vd_code_message(VD_ERR_IMAGE_PATH), link, strerror(-r));
	if (blank) {
		snprintf(ret->dir, sizeof(ret->dir), "%s", link);
	} else {
		/* Pool link: <repository>/<sp>/<sd> → the domain directory (what
		 * connectStoragePool makes for the pool's domains). */
		snprintf(link, sizeof(link), "%s/%s", env->repository, pool);
		r = util_mkdir_p(link, 0755);
		if (r == 0) {
			snprintf(link, sizeof(link), "%s/%s/%s", env->repository, pool, uuid);
			r = link_set(link, dir);
		}
		if (r < 0)
			return vd_error_set(err, VD_ERR_IMAGE_PATH, "%s: '%s': %s",
					    vd_code_message(VD_ERR_IMAGE_PATH), link, strerror(-r));
		if (snprintf(ret->dir, sizeof(ret->dir), "%s/images/%s", link, img) >=
		    (int)sizeof(ret->dir))
			return vd_error_set(err, VD_ERR_IMAGE_PATH, "%s: path too long",
					    vd_code_message(VD_ERR_IMAGE_PATH));
	}
	if (snprintf(ret->path, sizeof(ret->path), "%s/%s", ret->dir, leaf) >= (int)sizeof(ret->path))
		return vd_error_set(err, VD_ERR_IMAGE_PATH, "%s: path too long",
				    vd_code_message(VD_ERR_IMAGE_PATH));
	log_info("storage: image %s/%s prepared: %s (%zu volume(s))", uuid, img, ret->path, ret->n);
	return 0;
}

int sd_teardown_image(const char *uuid, const char *img, struct vd_error *err)
{
	char mount[SD_PATH_MAX], dir[SD_DIR_MAX], link[SD_IMAGE_PATH_MAX];

	if (sd_domain_lookup(uuid, mount, dir, NULL, err) < 0)
		return -1;
	snprintf(link, sizeof(link), "%s/%s/%s", sd_env()->run_dir, uuid, img);
	if (unlink(link) < 0 && errno != ENOENT)
		return vd_error_set(err, VD_ERR_IMAGE_PATH, "%s: '%s': %s",
				    vd_code_message(VD_ERR_IMAGE_PATH), link, strerror(errno));
	log_info("storage: image %s/%s torn down", uuid, img);
	return 0;
}
