#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static struct {
	pthread_mutex_t lock;     /* guards the fields below (not the send itself) */
	char ident[32];
	struct sockaddr_un addr;
	bool use_syslog;
	bool to_stderr;
	int fd;
} L = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.ident = "vdsmd",
	.fd = -1,
};

/* Lines for syslog wait in a bounded ring; one writer thread sends them. A caller never
 * blocks on the log daemon: when the ring is full the line is dropped and counted. */
#define RING_SIZE 512
#define LINE_MAX_LEN 2300

static struct {
	pthread_mutex_t lock;
	pthread_cond_t nonempty, drained;
	char (*lines)[LINE_MAX_LEN];
	unsigned short lens[RING_SIZE];
	unsigned head, count;
	bool thread_running, stopping;
	pthread_t thread;
} Q = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.nonempty = PTHREAD_COND_INITIALIZER,
	.drained = PTHREAD_COND_INITIALIZER,
};

static atomic_int log_level = VD_LOG_INFO;
static atomic_ulong dropped;
static __thread const char *tl_flow;

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
	[LOG_ERR] = "err", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

static void *writer_main(void *arg)
{
	char line[LINE_MAX_LEN];
	(void)arg;

	pthread_mutex_lock(&Q.lock);
	for (;;) {
		while (Q.count == 0 && !Q.stopping)
			pthread_cond_wait(&Q.nonempty, &Q.lock);
		if (Q.count == 0 && Q.stopping)
			break;
		unsigned idx = Q.head;
		size_t n = Q.lens[idx];
		memcpy(line, Q.lines[idx], n);
		pthread_mutex_unlock(&Q.lock);

		pthread_mutex_lock(&L.lock);
		int fd = L.fd;
		struct sockaddr_un addr = L.addr;
		bool use = L.use_syslog;
		pthread_mutex_unlock(&L.lock);
		/* The socket has a send timeout (1 s): a stuck log daemon stalls only this thread. */
		if (use && sendto(fd, line, n, MSG_NOSIGNAL, (struct sockaddr *)&addr, sizeof(addr)) < 0)
			atomic_fetch_add(&dropped, 1);

		pthread_mutex_lock(&Q.lock);
		Q.head = (Q.head + 1) % RING_SIZE;
		Q.count--;
		if (Q.count == 0)
			pthread_cond_broadcast(&Q.drained);
	}
	pthread_mutex_unlock(&Q.lock);
	return NULL;
}

static void enqueue(const char *line, size_t n)
{
	pthread_mutex_lock(&Q.lock);
	if (!Q.thread_running) {
		/* Before vd_log_start_writer() (start-up, before daemonising): send directly,
		 * still without blocking. */
		pthread_mutex_unlock(&Q.lock);
		pthread_mutex_lock(&L.lock);
		int fd = L.fd;
		struct sockaddr_un addr = L.addr;
		pthread_mutex_unlock(&L.lock);
		if (fd < 0 || sendto(fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&addr,
				     sizeof(addr)) < 0)
			atomic_fetch_add(&dropped, 1);
		return;
	}
	if (Q.count == RING_SIZE) {
		pthread_mutex_unlock(&Q.lock);
		atomic_fetch_add(&dropped, 1);
		return;
	}
	unsigned idx = (Q.head + Q.count) % RING_SIZE;
	memcpy(Q.lines[idx], line, n);
	Q.lens[idx] = (unsigned short)n;
	Q.count++;
	pthread_cond_signal(&Q.nonempty);
	pthread_mutex_unlock(&Q.lock);
}

static void writer_stop(void)
{
	pthread_mutex_lock(&Q.lock);
	if (!Q.thread_running) {
		pthread_mutex_unlock(&Q.lock);
		return;
	}
	Q.stopping = true;
	pthread_cond_signal(&Q.nonempty);
	pthread_mutex_unlock(&Q.lock);
	pthread_join(Q.thread, NULL);
	pthread_mutex_lock(&Q.lock);
	Q.thread_running = false;
	Q.stopping = false;
	Q.count = 0;
	free(Q.lines);
	Q.lines = NULL;
	pthread_mutex_unlock(&Q.lock);
}

static void writer_start(void)
{
	pthread_mutex_lock(&Q.lock);
	if (!Q.thread_running) {
		Q.lines = calloc(RING_SIZE, LINE_MAX_LEN);
		if (Q.lines && pthread_create(&Q.thread, NULL, writer_main, NULL) == 0)
			Q.thread_running = true;
	}
	pthread_mutex_unlock(&Q.lock);
}

void vd_log_open(const char *ident, const char *syslog_path, bool to_stderr)
{
	writer_stop();
	pthread_mutex_lock(&L.lock);
	snprintf(L.ident, sizeof(L.ident), "%s", ident ? ident : "vdsmd");
	L.to_stderr = to_stderr;
	L.use_syslog = false;
	if (L.fd >= 0) {
		close(L.fd);
		L.fd = -1;
	}
	if (syslog_path && strlen(syslog_path) < sizeof(L.addr.sun_path)) {
		memset(&L.addr, 0, sizeof(L.addr));
		L.addr.sun_family = AF_UNIX;
		strcpy(L.addr.sun_path, syslog_path);
		L.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (L.fd >= 0) {
			struct timeval tv = { .tv_sec = 1 };
			setsockopt(L.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		}
		L.use_syslog = L.fd >= 0;
	}
	pthread_mutex_unlock(&L.lock);
}

void vd_log_start_writer(void)
{
	bool use;

	pthread_mutex_lock(&L.lock);
	use = L.use_syslog;
	pthread_mutex_unlock(&L.lock);
	if (use)
		writer_start();
}

void vd_log_close(void)
{
	writer_stop(); /* sends what is queued (each send bounded by the 1 s timeout) */
	pthread_mutex_lock(&L.lock);
	if (L.fd >= 0)
		close(L.fd);
	L.fd = -1;
	L.use_syslog = false;
	pthread_mutex_unlock(&L.lock);
}

void vd_log_set_level(int level)
{
	atomic_store(&log_level, level);
}

int vd_log_get_level(void)
{
	return atomic_load(&log_level);
}

int vd_log_level_from_string(const char *s)
{
	for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	if (strcmp(s, "error") == 0)
		return LOG_ERR;
	if (strcmp(s, "warn") == 0)
		return LOG_WARNING;
	return -1;
}

void vd_log_set_flow(const char *flow)
{
	tl_flow = flow;
}

const char *vd_log_get_flow(void)
{
	return tl_flow;
}

unsigned long vd_log_dropped(void)
{
	return atomic_load(&dropped);
}

void vd_log(int level, const char *fmt, ...)
{
	char msg[2048], line[LINE_MAX_LEN];
	va_list ap;
	int n;

	if (level > atomic_load(&log_level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One line per message: fold embedded newlines so a value cannot forge lines. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';

	pthread_mutex_lock(&L.lock);
	bool use_syslog = L.use_syslog, to_stderr = L.to_stderr;
	char ident[sizeof(L.ident)];
	memcpy(ident, L.ident, sizeof(ident));
	pthread_mutex_unlock(&L.lock);

	const char *lname = level >= 0 && level <= LOG_DEBUG ? level_names[level] : "?";
	if (to_stderr) {
		struct timespec ts;
		struct tm tm;
		char tbuf[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
		if (tl_flow)
			n = snprintf(line, sizeof(line), "%s.%03ldZ %s %s: [flow %s] %s\n", tbuf,
				     ts.tv_nsec / 1000000, lname, ident, tl_flow, msg);
		else
			n = snprintf(line, sizeof(line), "%s.%03ldZ %s %s: %s\n", tbuf,
				     ts.tv_nsec / 1000000, lname, ident, msg);
		if (n > (int)sizeof(line) - 1)
			n = sizeof(line) - 1;
		/* stderr is a pipe or a tty in the foreground; a short write is acceptable. */
		ssize_t w = write(STDERR_FILENO, line, n);
		(void)w;
	}
	if (use_syslog) {
		/* RFC 3164 framing, as glibc's syslog() writes it to /dev/log. */
		time_t now = time(NULL);
		struct tm tm;
		char tbuf[20];

		localtime_r(&now, &tm);
		strftime(tbuf, sizeof(tbuf), "%b %e %H:%M:%S", &tm);
		if (tl_flow)
			n = snprintf(line, sizeof(line), "<%d>%s %s[%d]: [flow %s] %s",
				     LOG_DAEMON | level, tbuf, ident, (int)getpid(), tl_flow, msg);
		else
			n = snprintf(line, sizeof(line), "<%d>%s %s[%d]: %s", LOG_DAEMON | level,
				     tbuf, ident, (int)getpid(), msg);
		if (n > (int)sizeof(line) - 1)
			n = sizeof(line) - 1;
		enqueue(line, n);
	}
}
