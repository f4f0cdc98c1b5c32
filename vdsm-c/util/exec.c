#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "buf.h"
#include "macros.h"
#include "util.h"
#include "log.h"

static util_exec_hook_fn exec_hook;
static void *exec_hook_data;

void util_exec_set_hook(util_exec_hook_fn hook, void *userdata)
{
	exec_hook = hook;
	exec_hook_data = userdata;
}

void util_exec_result_clear(struct util_exec_result *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

const char *util_exec_last_line(const struct util_exec_result *r, char *buf, size_t size)
{
	const char *src = r->err && r->err_len ? r->err : r->out;
	size_t n = src ? strlen(src) : 0;

	buf[0] = '\0';
	while (n > 0 && (src[n - 1] == '\n' || src[n - 1] == ' '))
		n--;
	size_t start = n;
	while (start > 0 && src[start - 1] != '\n')
		start--;
	snprintf(buf, size, "%.*s", (int)(n - start), src ? src + start : "");
	return buf;
}

/* Captured output: everything up to limit bytes, the rest dropped. */
struct capture {
	struct util_buf b;
	size_t limit;
};

static int capture_add(struct capture *c, const char *data, size_t n)
{
	size_t len = util_buf_len(&c->b);

	if (len >= c->limit)
		return 0;
	util_buf_add(&c->b, data, n < c->limit - len ? n : c->limit - len);
	return util_buf_error(&c->b);
}

static void child_exec(const char *const *argv, const char *const *extra_env, int out_w,
		       int err_w)
{
	/* Only async-signal-safe calls from here on: we are a fork of a threaded process. */
	char *env[64];
	int n = 0;
	int devnull = open("/dev/null", O_RDONLY);

	env[n++] = (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	env[n++] = (char *)"LC_ALL=C";
	for (int i = 0; extra_env && extra_env[i] && n < 63; i++)
		env[n++] = (char *)extra_env[i];
	env[n] = NULL;

	setpgid(0, 0);
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
		_exit(127);
	syscall(SYS_close_range, 3, ~0U, 0);
	execve(argv[0], (char *const *)argv, env);
	_exit(127);
}

/* A child that SIGKILL did not end within the grace is stuck in the kernel
 * (uninterruptible sleep: a mount or a read on a dead NFS server). Its caller must
 * not wait for it: a detached thread reaps it whenever the kernel lets it go. */
static void *reaper(void *arg)
{
	pid_t pid = (pid_t)(intptr_t)arg;

	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	log_debug("exec: abandoned child %d reaped", (int)pid);
	return NULL;
}

static void abandon(pid_t pid)
{
	pthread_attr_t a;
	pthread_t t;

	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, reaper, (void *)(intptr_t)pid) != 0)
		log_warning("exec: cannot start a reaper for child %d; it stays a zombie", (int)pid);
	pthread_attr_destroy(&a);
}

int util_exec(const char *const *argv, const struct util_exec_opts *o,
	      struct util_exec_result *ret)
{
	double timeout = o && o->timeout > 0 ? o->timeout : 30.0;
	double grace = o && o->grace > 0 ? o->grace : 2.0;
	size_t cap = o && o->cap ? o->cap : 1 << 20;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	struct capture cout = { .b = UTIL_BUF_INIT, .limit = cap }, cerr = { .b = UTIL_BUF_INIT, .limit = cap };
	int r = 0, wstatus = 0;
	pid_t pid;

	memset(ret, 0, sizeof(*ret));
	if (!argv || !argv[0] || argv[0][0] != '/')
		return -EINVAL;
	if (exec_hook)
		return exec_hook(argv, ret, exec_hook_data);

	if (vd_log_get_level() >= VD_LOG_DEBUG) {
		char line[1024];
		size_t l = 0;
		for (int i = 0; argv[i] && l < sizeof(line) - 1; i++)
			l += snprintf(line + l, sizeof(line) - l, "%s%s", i ? " " : "", argv[i]);
		log_debug("exec: %s", line);
	}
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		r = -errno;
		goto out_close;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto out_close;
	}
	if (pid == 0)
		child_exec(argv, o ? o->env : NULL, outp[1], errp[1]);
	/* Also from the parent, so the group exists before we may signal it. */
	setpgid(pid, pid);
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;

	double deadline = util_now_monotonic() + timeout, kill_at = 0, abandon_at = 0;
	bool term_sent = false, kill_sent = false;
	struct pollfd pf[2] = { { outp[0], POLLIN, 0 }, { errp[0], POLLIN, 0 } };
	int open_fds = 2;
	for (;;) {
		double now = util_now_monotonic();
		if (!term_sent && now >= deadline) {
			kill(-pid, SIGTERM);
			term_sent = true;
			ret->timed_out = true;
			kill_at = now + grace;
		}
		if (term_sent && !kill_sent && now >= kill_at) {
			kill(-pid, SIGKILL);
			kill_sent = true;
			abandon_at = now + grace;
			kill_at = abandon_at;
		}
		if (kill_sent && now >= abandon_at) {
			/* Unkillable (D state): hand it to a reaper and return. */
			if (waitpid(pid, &wstatus, WNOHANG) == pid)
				break;
			log_warning("exec: %s (pid %d) did not die on SIGKILL; abandoned", argv[0],
				    (int)pid);
			abandon(pid);
			wstatus = 0;
			ret->signal = SIGKILL;
			r = -ETIME;
			goto out_close;
		}
		if (open_fds == 0) {
			pid_t w = waitpid(pid, &wstatus, WNOHANG);
			if (w == pid)
				break;
			if (w < 0 && errno != EINTR) {
				r = -errno;
				goto out_close;
			}
			usleep(2000);
			continue;
		}
		double until = term_sent ? kill_at : deadline;
		int ms = (int)((until - now) * 1000) + 1;
		if (ms > 1000)
			ms = 1000;
		int pr = poll(pf, 2, ms);
		if (pr < 0 && errno != EINTR) {
			r = -errno;
			kill(-pid, SIGKILL);
			waitpid(pid, &wstatus, 0);
			goto out_close;
		}
		for (int i = 0; i < 2; i++) {
			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char buf[8192];
			ssize_t n = read(pf[i].fd, buf, sizeof(buf));
			if (n > 0) {
				if (capture_add(i == 0 ? &cout : &cerr, buf, n) < 0) {
					r = -ENOMEM;
				}
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				close(pf[i].fd);
				if (i == 0)
					outp[0] = -1;
				else
					errp[0] = -1;
				pf[i].fd = -1;
				open_fds--;
			}
		}
	}
	/* The group may still hold children of the child that kept no pipe open. */
	if (term_sent)
		kill(-pid, SIGKILL);

	ret->out = util_buf_steal(&cout.b, &ret->out_len);
	ret->err = util_buf_steal(&cerr.b, &ret->err_len);
	if (!ret->out || !ret->err)
		r = -ENOMEM;
	if (WIFEXITED(wstatus))
		ret->status = WEXITSTATUS(wstatus);
	else if (WIFSIGNALED(wstatus))
		ret->signal = WTERMSIG(wstatus);
	if (r == 0) {
		if (ret->timed_out)
			r = -ETIME;
		else if (ret->signal || ret->status)
			r = -ECHILD;
	}
out_close:
	util_buf_reset(&cout.b);
	util_buf_reset(&cerr.b);
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return r;
}
