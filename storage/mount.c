/* File-based connections: NFS and POSIXFS mounts, LOCALFS symlinks, all under
 * <repository>/mnt (API.md §5.5, §6).
 *
 * Hang-proofing: the only things that can wait on a storage server are the mount and
 * umount programs, run through util_exec with the module's timeout (the child is
 * killed after it, and a child stuck in the kernel is left to a reaper, util/exec.h).
 * Whether a path is mounted is read from the kernel's mountinfo, never by stat()ing a
 * mount point that may sit on a dead server. One operation per mount point at a time:
 * a second connect/disconnect of the same point while one runs fails at once (451/452)
 * instead of queueing behind a possibly hung mount. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stg.h"
#include "../vdsm-c/util/exec.h"
#include "../vdsm-c/util/log.h"
#include "../vdsm-c/util/util.h"

#define MAX_BUSY 64

static struct {
	char *repository;
	char *mnt_dir;
	char *mountinfo;
	char *mount;
	char *umount;
	char *setpriv;
	int access_uid, access_gid;
	double timeout;
	bool started;
	pthread_mutex_t lock;                 /* guards busy[] */
	char busy[MAX_BUSY][256];             /* escaped names with an operation running */
} stg = { .lock = PTHREAD_MUTEX_INITIALIZER };

int stg_start(const struct stg_opts *o)
{
	if (!o->repository || !o->mountinfo || !o->mount || !o->umount ||
	    o->mount[0] != '/' || o->umount[0] != '/' || o->mount_timeout <= 0)
		return -EINVAL;
	stg.repository = strdup(o->repository);
	stg.mnt_dir = util_path(o->repository, "/mnt");
	stg.mountinfo = strdup(o->mountinfo);
	stg.mount = strdup(o->mount);
	stg.umount = strdup(o->umount);
	stg.timeout = o->mount_timeout;
	stg.access_uid = o->access_uid;
	stg.access_gid = o->access_gid;
	stg.setpriv = strdup(o->setpriv && o->setpriv[0] ? o->setpriv : "/usr/bin/setpriv");
	if (!stg.repository || !stg.mnt_dir || !stg.mountinfo || !stg.mount || !stg.umount ||
	    !stg.setpriv) {
		stg_stop();
		return -ENOMEM;
	}
	int r = util_mkdir_p(stg.mnt_dir, 0755);
	if (r < 0) {
		log_err("storage: cannot create '%s': %s", stg.mnt_dir, strerror(-r));
		stg_stop();
		return r;
	}
	stg.started = true;
	log_info("storage: mount root '%s', mount timeout %.0f s", stg.mnt_dir, stg.timeout);
	return 0;
}

void stg_stop(void)
{
	stg.started = false;
	free(stg.repository);
	free(stg.mnt_dir);
	free(stg.mountinfo);
	free(stg.mount);
	free(stg.umount);
	free(stg.setpriv);
	stg.repository = stg.mnt_dir = stg.mountinfo = stg.mount = stg.umount = stg.setpriv = NULL;
}

char *stg_mount_point(const struct stg_conn *c)
{
	char *p = NULL;

	if (!stg.mnt_dir || asprintf(&p, "%s/%s", stg.mnt_dir, c->escaped) < 0)
		return NULL;
	return p;
}

static bool busy_enter(const char *name)
{
	bool ok = false;

	pthread_mutex_lock(&stg.lock);
	for (size_t i = 0; i < MAX_BUSY; i++)
		if (strcmp(stg.busy[i], name) == 0)
			goto out;
	for (size_t i = 0; i < MAX_BUSY; i++)
		if (!stg.busy[i][0]) {
			snprintf(stg.busy[i], sizeof(stg.busy[i]), "%s", name);
			ok = true;
			break;
		}
out:
	pthread_mutex_unlock(&stg.lock);
	return ok;
}

static void busy_leave(const char *name)
{
	pthread_mutex_lock(&stg.lock);
	for (size_t i = 0; i < MAX_BUSY; i++)
		if (strcmp(stg.busy[i], name) == 0)
			stg.busy[i][0] = '\0';
	pthread_mutex_unlock(&stg.lock);
}

/* 1 mounted, 0 not, -errno when mountinfo cannot be read. */
static int is_mounted(const char *path)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = util_read_file(stg.mountinfo, 16 << 20, &text, &len);

	if (r < 0)
		return r;
	return stg_mountinfo_has(text, len, path) ? 1 : 0;
}

/* Runs mount/umount; sets err with code and the program's last stderr line. */
static int run_tool(const char *const *argv, int code, const char *what, const char *path,
		    struct vd_error *err)
{
	struct util_exec_opts o = { .timeout = stg.timeout, .cap = 64 << 10 };
	struct util_exec_result res = { 0 };
	char line[200];
	int r = util_exec(argv, &o, &res);

	if (r == 0) {
		util_exec_result_clear(&res);
		return 0;
	}
	if (r == -ETIME)
		vd_error_set(err, code, "%s: %s of '%s' timed out after %.0f s",
			     vd_code_message(code), what, path, stg.timeout);
	else if (r == -ECHILD)
		vd_error_set(err, code, "%s: %s of '%s' failed (%s %d): %s", vd_code_message(code),
			     what, path, res.signal ? "signal" : "exit status",
			     res.signal ? res.signal : res.status,
			     util_exec_last_line(&res, line, sizeof(line)));
	else
		vd_error_set(err, code, "%s: cannot run '%s': %s", vd_code_message(code), argv[0],
			     strerror(-r));
	util_exec_result_clear(&res);
	return -1;
}

/* VDSM's check after a mount (validateDirAccess): the mount root must give the agent's
 * storage user read, write and search access, or nothing could use the domain. Run as
 * a child (setpriv switching to uid:gid with no supplementary groups, then test(1)),
 * bounded by the mount timeout: a server that dies now cannot hang the call. */
static int check_access(const char *path, struct vd_error *err)
{
	char uid[16], gid[16];
	const char *argv[] = { stg.setpriv, "--reuid", uid, "--regid", gid, "--clear-groups",
			       "--", "/usr/bin/test", "-r", path, "-a", "-w", path, "-a", "-x", path, NULL };
	struct util_exec_opts o = { .timeout = stg.timeout, .cap = 4096 };
	struct util_exec_result res = { 0 };
	char line[200];
	int r;

	if (stg.access_uid < 0 || stg.access_gid < 0)
		return 0;
	snprintf(uid, sizeof(uid), "%d", stg.access_uid);
	snprintf(gid, sizeof(gid), "%d", stg.access_gid);
	r = util_exec(argv, &o, &res);
	if (r == 0) {
		util_exec_result_clear(&res);
		return 0;
	}
	if (r == -ECHILD && !res.signal && res.status == 1)
		vd_error_set(err, VD_ERR_STORAGE_SERVER_ACCESS_PERMISSION,
			     "%s: path = %s (uid %d gid %d needs read, write and search access)",
			     vd_code_message(VD_ERR_STORAGE_SERVER_ACCESS_PERMISSION), path,
			     stg.access_uid, stg.access_gid);
	else if (r == -ETIME)
		vd_error_set(err, VD_ERR_STORAGE_SERVER_ACCESS_PERMISSION,
			     "%s: path = %s (the access check timed out after %.0f s)",
			     vd_code_message(VD_ERR_STORAGE_SERVER_ACCESS_PERMISSION), path,
			     stg.timeout);
	else
		vd_error_set(err, VD_ERR_STORAGE_SERVER_ACCESS_PERMISSION,
			     "%s: path = %s (cannot run the access check '%s': %s)",
			     vd_code_message(VD_ERR_STORAGE_SERVER_ACCESS_PERMISSION), path,
			     stg.setpriv, r == -ECHILD ? util_exec_last_line(&res, line, sizeof(line))
						       : strerror(-r));
	util_exec_result_clear(&res);
	return -1;
}

static int connect_mount(const struct stg_conn *c, const char *path, struct vd_error *err)
{
	char opts[STG_OPTS_MAX + 128];
	const char *argv[10];
	size_t n = 0;
	int r = is_mounted(path);

	if (r < 0)
		return vd_error_set(err, VD_ERR_STORAGE_SERVER_CONNECTION, "%s: cannot read '%s': %s",
				    vd_code_message(VD_ERR_STORAGE_SERVER_CONNECTION), stg.mountinfo,
				    strerror(-r));
	if (r == 1) {
		log_debug("storage: '%s' already mounted", path);
		return 0;
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return vd_error_set(err, VD_ERR_STORAGE_SERVER_CONNECTION,
				    "%s: cannot create mount point '%s': %s",
				    vd_code_message(VD_ERR_STORAGE_SERVER_CONNECTION), path,
				    strerror(errno));

	argv[n++] = stg.mount;
	argv[n++] = "-t";
	if (c->type == STG_TYPE_NFS) {
		argv[n++] = "nfs";
		if (stg_nfs_options(c, opts, sizeof(opts)) < 0)
			return vd_error_set(err, VD_ERR_MOUNT_PARSING, "%s: options too long",
					    vd_code_message(VD_ERR_MOUNT_PARSING));
		argv[n++] = "-o";
		argv[n++] = opts;
	} else {
		argv[n++] = c->vfs_type;
		if (c->mnt_options[0]) {
			argv[n++] = "-o";
			argv[n++] = c->mnt_options;
		}
	}
	argv[n++] = "--";
	argv[n++] = c->connection;
	argv[n++] = path;
	argv[n] = NULL;
	log_debug("storage: mounting '%s' on '%s'", c->connection, path);
	if (run_tool(argv, VD_ERR_MOUNT, "mount", c->connection, err) < 0) {
		/* Leave no empty mount point behind; a mount that did complete late stays
		 * and is found by the next connect. */
		if (is_mounted(path) == 0)
			rmdir(path);
		return -1;
	}
	if (check_access(path, err) < 0) {
		/* as VDSM: a mount nobody can use is not kept */
		const char *uargv[] = { stg.umount, "-f", "-l", "--", path, NULL };
		struct vd_error uerr = { 0 };
		if (run_tool(uargv, VD_ERR_STORAGE_SERVER_DISCONNECTION, "umount", path, &uerr) < 0)
			log_warning("storage: %s", uerr.msg);
		else if (rmdir(path) < 0)
			log_warning("storage: cannot remove mount point '%s': %s", path,
				    strerror(errno));
		return -1;
	}
	return 0;
}

static int connect_local(const struct stg_conn *c, const char *path, struct vd_error *err)
{
	struct stat st;
	char target[STG_PATH_MAX + 1];
	_cleanup_free_ char *tmp = NULL;
	ssize_t len;

	if (stat(c->connection, &st) < 0 || !S_ISDIR(st.st_mode))
		return vd_error_set(err, VD_ERR_STORAGE_SERVER_ACCESS_PERMISSION,
				    "The specified local path is not a directory.: '%s'",
				    c->connection);
	if (access(c->connection, R_OK | W_OK | X_OK) < 0)
		return vd_error_set(err, VD_ERR_STORAGE_SERVER_ACCESS_PERMISSION, "%s: '%s': %s",
				    vd_code_message(VD_ERR_STORAGE_SERVER_ACCESS_PERMISSION),
				    c->connection, strerror(errno));
	len = readlink(path, target, sizeof(target) - 1);
	if (len >= 0) {
		target[len] = '\0';
		if (strcmp(target, c->connection) == 0)
			return 0;     /* already linked */
	} else if (errno != ENOENT) {
		return vd_error_set(err, VD_ERR_STORAGE_SERVER_CONNECTION,
				    "%s: '%s' exists and is not a symlink",
				    vd_code_message(VD_ERR_STORAGE_SERVER_CONNECTION), path);
	}
	/* New link beside the final name, then renamed over it: atomic. */
	if (asprintf(&tmp, "%s.tmp%ld", path, (long)getpid()) < 0)
		return vd_error_set(err, VD_ERR_STORAGE_SERVER_CONNECTION, "out of memory");
	unlink(tmp);
	if (symlink(c->connection, tmp) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return vd_error_set(err, VD_ERR_STORAGE_SERVER_CONNECTION,
				    "%s: cannot link '%s' to '%s': %s",
				    vd_code_message(VD_ERR_STORAGE_SERVER_CONNECTION), path,
				    c->connection, strerror(e));
	}
	return 0;
}

int stg_connect(const struct stg_conn *c, struct vd_error *err)
{
	_cleanup_free_ char *path = NULL;
	int r;

	if (!stg.started)
		return vd_error_set(err, VD_ERR_STORAGE_SERVER_CONNECTION,
				    "%s: storage module not started",
				    vd_code_message(VD_ERR_STORAGE_SERVER_CONNECTION));
	if (c->type == STG_TYPE_FCP)
		return 0;   /* nothing per connection: the caller rescans the HBAs once */
	path = stg_mount_point(c);
	if (!path)
		return vd_error_set(err, VD_ERR_STORAGE_SERVER_CONNECTION, "out of memory");
	if (!busy_enter(c->escaped))
		return vd_error_set(err, VD_ERR_STORAGE_SERVER_CONNECTION,
				    "%s: another operation on '%s' is in progress",
				    vd_code_message(VD_ERR_STORAGE_SERVER_CONNECTION), c->connection);
	if (c->type == STG_TYPE_ISCSI)
		r = stg_iscsi_login(c, err);
	else if (c->type == STG_TYPE_LOCALFS)
		r = connect_local(c, path, err);
	else
		r = connect_mount(c, path, err);
	busy_leave(c->escaped);
	return r;
}

int stg_disconnect(const struct stg_conn *c, struct vd_error *err)
{
	_cleanup_free_ char *path = NULL;
	int r = 0;

	if (!stg.started)
		return vd_error_set(err, VD_ERR_STORAGE_SERVER_DISCONNECTION,
				    "%s: storage module not started",
				    vd_code_message(VD_ERR_STORAGE_SERVER_DISCONNECTION));
	if (c->type == STG_TYPE_FCP)
		return 0;
	path = stg_mount_point(c);
	if (!path)
		return vd_error_set(err, VD_ERR_STORAGE_SERVER_DISCONNECTION, "out of memory");
	if (!busy_enter(c->escaped))
		return vd_error_set(err, VD_ERR_STORAGE_SERVER_DISCONNECTION,
				    "%s: another operation on '%s' is in progress",
				    vd_code_message(VD_ERR_STORAGE_SERVER_DISCONNECTION),
				    c->connection);
	if (c->type == STG_TYPE_ISCSI) {
		r = stg_iscsi_logout(c, err);
		goto out;
	}
	if (c->type == STG_TYPE_LOCALFS) {
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && unlink(path) < 0)
			r = vd_error_set(err, VD_ERR_STORAGE_SERVER_DISCONNECTION,
					 "%s: cannot remove '%s': %s",
					 vd_code_message(VD_ERR_STORAGE_SERVER_DISCONNECTION), path,
					 strerror(errno));
		goto out;
	}
	r = is_mounted(path);
	if (r < 0) {
		r = vd_error_set(err, VD_ERR_STORAGE_SERVER_DISCONNECTION, "%s: cannot read '%s': %s",
				 vd_code_message(VD_ERR_STORAGE_SERVER_DISCONNECTION), stg.mountinfo,
				 strerror(-r));
		goto out;
	}
	if (r == 1) {
		/* Forced and lazy (API.md §5.5): a dead NFS server must not keep it. */
		const char *argv[] = { stg.umount, "-f", "-l", "--", path, NULL };
		r = run_tool(argv, VD_ERR_STORAGE_SERVER_DISCONNECTION, "umount", path, err);
		if (r < 0)
			goto out;
	}
	r = 0;
	if (rmdir(path) < 0 && errno != ENOENT)
		log_warning("storage: cannot remove mount point '%s': %s, ignoring", path,
			    strerror(errno));
out:
	busy_leave(c->escaped);
	return r;
}
