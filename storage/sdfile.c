/* File domains on a mount: the bodies of the worker jobs (sd-internal.h). Everything here
 * may block on a dead server; it runs only inside sd_io_run() workers. Paths below the
 * mount are opened relative to the mount's directory fd (openat family), never by
 * names taken from the wire beyond the validated sdUUID. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "sd-internal.h"
#include "../vdsm-c/util/macros.h"
#include "../vdsm-c/util/util.h"

#define ALIGN 4096
#define MAILBOX_SIZE (16LL << 20)      /* inbox/outbox: VDSM's 16 MiB, sparse */
#define META_PERM 0660
#define DIRECT_TEST "__DIRECT_IO_TEST__"

/* Reads at most SD_META_MAX + 1 bytes of fd into a malloc'ed, NUL-terminated text. With
 * direct, the buffer and every read are block aligned. */
static int read_all(int fd, bool direct, char **ret, size_t *ret_len)
{
	size_t cap = SD_META_MAX + ALIGN, len = 0;
	char *buf = NULL;

	if (posix_memalign((void **)&buf, ALIGN, cap + 1) != 0)
		return -ENOMEM;
	while (len < cap) {
		size_t want = direct ? ALIGN : cap - len;
		ssize_t n = read(fd, buf + len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;
			free(buf);
			return e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (direct && (size_t)n < want)
			break;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

int sdfile_read(void *arg)
{
	struct sd_read_job *j = arg;
	int fd = open(j->path, O_RDONLY | O_CLOEXEC | (j->direct ? O_DIRECT : 0));
	int r;

	if (fd < 0)
		return -errno;
	r = read_all(fd, j->direct, &j->text, &j->len);
	close(fd);
	return r;
}

void sdfile_read_free(void *arg)
{
	struct sd_read_job *j = arg;

	if (j)
		free(j->text);
	free(j);
}

int sdfile_scan(void *arg)
{
	struct sd_scan_job *j = arg;
	int dfd = open(j->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		int e = -errno;
		close(dfd);
		return e;
	}
	while ((de = readdir(d)) && j->n < SD_SCAN_MAX) {
		char rel[80];
		struct sd_found *f = &j->found[j->n];

		if (!util_uuid_valid(de->d_name))
			continue;
		snprintf(rel, sizeof(rel), "%.36s/dom_md/metadata", de->d_name);
		int fd = openat(dirfd(d), rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				continue;          /* not a domain directory */
			f->meta_errno = errno;
		} else {
			int r = read_all(fd, false, &f->meta, &f->meta_len);
			if (r < 0)
				f->meta_errno = -r;
			close(fd);
		}
		snprintf(f->uuid, sizeof(f->uuid), "%.36s", de->d_name);
		j->n++;
	}
	closedir(d);
	return 0;
}

void sdfile_scan_free(void *arg)
{
	struct sd_scan_job *j = arg;

	for (size_t i = 0; j && i < j->n; i++)
		free(j->found[i].meta);
	free(j);
}

int sdfile_statvfs(void *arg)
{
	struct sd_statvfs_job *j = arg;
	struct statvfs st;

	if (statvfs(j->path, &st) < 0)
		return -errno;
	j->total = (unsigned long long)st.f_frsize * st.f_blocks;
	j->free = (unsigned long long)st.f_frsize * st.f_bavail;
	return 0;
}

/* ---- create ---- */

static const char *const md_files[] = { "ids", "leases", "inbox", "outbox" };

/* Removes what a (failed or interrupted) creation may have left in tmp: only the
 * names it makes, so a stray user file is never deleted. */
static void tmp_remove(int mfd, const char *tmp)
{
	char p[128];

	for (size_t i = 0; i < ELEMENTSOF(md_files); i++) {
		snprintf(p, sizeof(p), "%s/dom_md/%s", tmp, md_files[i]);
		unlinkat(mfd, p, 0);
	}
	snprintf(p, sizeof(p), "%s/dom_md/metadata", tmp);
	unlinkat(mfd, p, 0);
	snprintf(p, sizeof(p), "%s/dom_md/metadata.new", tmp);
	unlinkat(mfd, p, 0);
	snprintf(p, sizeof(p), "%s/dom_md", tmp);
	unlinkat(mfd, p, AT_REMOVEDIR);
	snprintf(p, sizeof(p), "%s/images", tmp);
	unlinkat(mfd, p, AT_REMOVEDIR);
	unlinkat(mfd, tmp, AT_REMOVEDIR);
}

static int fsync_at(int dfd, const char *rel)
{
	int fd = openat(dfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 && errno != EINVAL)
		r = -errno;
	close(fd);
	return r;
}

static int make_file(int dfd, const char *rel, long long size, const void *data, size_t len)
{
	int fd = openat(dfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, META_PERM);
	int r = 0;

	if (fd < 0)
		return -errno;
	/* The mode is meant as given, whatever the umask. */
	if (fchmod(fd, META_PERM) < 0)
		r = -errno;
	if (r == 0 && size > 0 && ftruncate(fd, size) < 0)
		r = -errno;
	for (size_t off = 0; r == 0 && off < len;) {
		ssize_t n = write(fd, (const char *)data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		else
			off += (size_t)n;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

#define STEP(j, s) snprintf((j)->step, sizeof((j)->step), "%s", (s))

/* Another domain (a UUID directory with dom_md) on the mount → its UUID in other. */
static int mount_check(int mfd, struct sd_create_job *j)
{
	int dfd = dup(mfd);
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		r = -errno;
		close(dfd);
		return r;
	}
	while ((de = readdir(d))) {
		char rel[80];
		struct stat st;

		if (!util_uuid_valid(de->d_name))
			continue;
		snprintf(rel, sizeof(rel), "%.36s/dom_md", de->d_name);
		if (fstatat(mfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		snprintf(j->other, sizeof(j->other), "%.36s", de->d_name);
		r = strcasecmp(de->d_name, j->uuid) == 0 ? -EEXIST : -ENOTEMPTY;
		break;
	}
	closedir(d);
	return r;
}

/* VDSM checks that the file system takes direct I/O (sanlock needs it) by opening a test
 * file with O_DIRECT in the mount; the file stays (it may be in use by another host). */
static int direct_io_check(int mfd)
{
	int fd = openat(mfd, DIRECT_TEST, O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC | O_NOFOLLOW,
			0660);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

int sdfile_create(void *arg)
{
	struct sd_create_job *j = arg;
	char tmp[64], rel[128];
	int mfd, r;

	mfd = open(j->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0) {
		STEP(j, "open mount");
		return -errno;
	}
	snprintf(tmp, sizeof(tmp), ".%s.creating", j->uuid);
	/* What an interrupted earlier attempt (a timed-out worker) may have left. */
	tmp_remove(mfd, tmp);
	STEP(j, "check mount");
	if ((r = mount_check(mfd, j)) < 0)
		goto out;
	STEP(j, "direct I/O check");
	if ((r = direct_io_check(mfd)) < 0)
		goto out;
	STEP(j, "mkdir");
	if (mkdirat(mfd, tmp, 0755) < 0) {
		r = -errno;
		goto out;
	}
	snprintf(rel, sizeof(rel), "%s/dom_md", tmp);
	if (mkdirat(mfd, rel, 0775) < 0) {
		r = -errno;
		goto fail;
	}
	snprintf(rel, sizeof(rel), "%s/images", tmp);
	if (mkdirat(mfd, rel, 0755) < 0) {
		r = -errno;
		goto fail;
	}
	for (size_t i = 0; i < ELEMENTSOF(md_files); i++) {
		bool mailbox = i >= 2;
		snprintf(rel, sizeof(rel), "%s/dom_md/%s", tmp, md_files[i]);
		STEP(j, md_files[i]);
		if ((r = make_file(mfd, rel, mailbox ? MAILBOX_SIZE : 0, NULL, 0)) < 0)
			goto fail;
	}
	STEP(j, "metadata");
	snprintf(rel, sizeof(rel), "%s/dom_md/metadata", tmp);
	if ((r = make_file(mfd, rel, 0, j->meta, j->meta_len)) < 0)
		goto fail;
	snprintf(rel, sizeof(rel), "%s/dom_md", tmp);
	if ((r = fsync_at(mfd, rel)) < 0 || (r = fsync_at(mfd, tmp)) < 0)
		goto fail;
	/* Into place: renameat2 without replace, so a racing creation of the same UUID
	 * (another host) is never overwritten. */
	STEP(j, "rename into place");
	r = renameat2(mfd, tmp, mfd, j->uuid, RENAME_NOREPLACE) < 0 ? -errno : 0;
	if (r == -EINVAL) {
		/* NFS has no RENAME_NOREPLACE: look first, then a plain rename (which also
		 * fails on a non-empty directory in the way). */
		struct stat st;
		r = fstatat(mfd, j->uuid, &st, AT_SYMLINK_NOFOLLOW) == 0 ? -EEXIST :
		    errno != ENOENT ? -errno :
		    renameat(mfd, tmp, mfd, j->uuid) < 0 ? -errno : 0;
		if (r == -ENOTEMPTY)
			r = -EEXIST;
	}
	if (r < 0) {
		if (r == -EEXIST)
			snprintf(j->other, sizeof(j->other), "%s", j->uuid);
		goto fail;
	}
	/* The domain is in place: a failing sync of the mount directory cannot take the
	 * rename back, and the files themselves are synced. */
	if (fsync(mfd) < 0)
		STEP(j, "sync of the mount directory failed (ignored)");
	r = 0;
	goto out;
fail:
	tmp_remove(mfd, tmp);
out:
	close(mfd);
	return r;
}

void sdfile_create_free(void *arg)
{
	struct sd_create_job *j = arg;

	if (j)
		free(j->meta);
	free(j);
}
