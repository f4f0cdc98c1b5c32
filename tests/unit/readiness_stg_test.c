/* Readiness of storage (vdsm-c/host/readiness_stg.c, verbs/readiness.c): connection
 * specs, getent output, real TCP probes on loopback (a listener: ok; a closed port:
 * refused), every verdict of the storage and multipath lines from fixtures, and the
 * multipathd reader against a fake multipathd on an abstract socket (the OS boundary). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

#include "../../vdsm-c/host/readiness.h"
#include "../../vdsm-c/verbs/ready.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const struct rd_check *find(const struct rd_report *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->checks[i].name, name) == 0)
			return &r->checks[i];
	return NULL;
}

static void expect_line(const struct rd_report *r, const char *name, enum rd_verdict v,
			const char *needle)
{
	const struct rd_check *c = find(r, name);
	if (!c)
		fail_msg("no line %s", name);
	if (c->verdict != v || !strstr(c->detail, needle))
		fail_msg("%s: want %s with '%s', got %s: %s", name, rd_verdict_name(v), needle,
			 rd_verdict_name(c->verdict), c->detail);
	if (v != RD_OK && !c->hint[0])
		fail_msg("%s: no hint", name);
}

static void test_parse(void **state)
{
	(void)state;
	static const struct {
		const char *spec;
		int kind;
		const char *host;
		int port;
	} ok[] = {
		{ "nfs1.example.com:/exports/data", RD_STORAGE_NFS, "nfs1.example.com", 2049 },
		{ "nfs:10.0.0.5", RD_STORAGE_NFS, "10.0.0.5", 2049 },
		{ "nfs:10.0.0.5:/x", RD_STORAGE_NFS, "10.0.0.5", 2049 },
		{ "[fd00::5]:/exports", RD_STORAGE_NFS, "fd00::5", 2049 },
		{ "iscsi:10.0.0.7", RD_STORAGE_ISCSI, "10.0.0.7", 3260 },
		{ "iscsi:10.0.0.7:3261", RD_STORAGE_ISCSI, "10.0.0.7", 3261 },
		{ "iscsi:10.0.0.7:3260,1", RD_STORAGE_ISCSI, "10.0.0.7", 3260 },
		{ "iscsi:[fd00::7]:860", RD_STORAGE_ISCSI, "fd00::7", 860 },
		{ "iscsi:san-a", RD_STORAGE_ISCSI, "san-a", 3260 },
	};
	static const char *const bad[] = {
		"", "10.0.0.5", "nfs:", "nfs:10.0.0.5:x", "iscsi:", "iscsi:h:0", "iscsi:h:65536",
		"iscsi:h:32x", "iscsi:[fd00::7", "iscsi:[zz]:1", "iscsi:h:1,x", "iscsi:-h",
		"iscsi:h;rm", "nfs:h x:/e", "iscsi:h:1:2", "tcp:h:1", "nfs:\x01h",
	};
	struct rd_storage s;
	struct vd_error err = { 0 };

	for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
		if (rd_storage_parse(ok[i].spec, &s, &err) < 0)
			fail_msg("'%s': %s", ok[i].spec, err.msg);
		assert_int_equal(s.kind, ok[i].kind);
		assert_string_equal(s.host, ok[i].host);
		assert_int_equal(s.port, ok[i].port);
		assert_string_equal(s.spec, ok[i].spec);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		memset(&err, 0, sizeof(err));
		if (rd_storage_parse(bad[i], &s, &err) == 0)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(err.code, 16);
		assert_non_null(strstr(err.msg, "storage connection"));
	}
	char long_spec[400];
	memset(long_spec, 'a', sizeof(long_spec) - 1);
	long_spec[sizeof(long_spec) - 1] = '\0';
	memcpy(long_spec, "nfs:", 4);
	assert_int_equal(rd_storage_parse(long_spec, &s, &err), -1);
}

static void test_getent_parse(void **state)
{
	(void)state;
	char a[46];
	assert_int_equal(rd_getent_parse("10.1.2.3        STREAM san-a\n10.1.2.3 DGRAM\n", a), 0);
	assert_string_equal(a, "10.1.2.3");
	assert_int_equal(rd_getent_parse("fd00::7 STREAM h\n", a), 0);
	assert_string_equal(a, "fd00::7");
	assert_int_equal(rd_getent_parse("", a), -ENOENT);
	assert_int_equal(rd_getent_parse("not-an-address STREAM\n", a), -ENOENT);
	assert_int_equal(rd_getent_parse("1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa STREAM", a),
			 -ENOENT);
}

/* Real connects on loopback: a listening port answers, a closed one refuses; both
 * probed at once. */
static void test_probe_loopback(void **state)
{
	(void)state;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	char spec[2][64];
	struct rd_storage s[2];
	struct vd_error err = { 0 };

	assert_true(l >= 0 && c >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 4), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
	snprintf(spec[0], sizeof(spec[0]), "iscsi:127.0.0.1:%d", ntohs(a.sin_port));
	/* a port bound but not listening: refused */
	struct sockaddr_in b = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	len = sizeof(b);
	assert_int_equal(bind(c, (struct sockaddr *)&b, sizeof(b)), 0);
	assert_int_equal(getsockname(c, (struct sockaddr *)&b, &len), 0);
	snprintf(spec[1], sizeof(spec[1]), "iscsi:localhost:%d", ntohs(b.sin_port));
	for (int i = 0; i < 2; i++)
		assert_int_equal(rd_storage_parse(spec[i], &s[i], &err), 0);
	rd_storage_probe(s, 2, 10000);
	assert_int_equal(s[0].rc, 0);
	assert_string_equal(s[0].addr, "127.0.0.1");
	assert_int_equal(s[1].rc, -ECONNREFUSED);
	assert_true(s[1].addr[0] != '\0');   /* localhost resolved through getent */
	close(l);
	close(c);
}

/* A listener whose accept queue is full drops further SYNs: the probe's deadline ends
 * the wait (-ETIMEDOUT), however long the kernel would retry. */
static void test_probe_deadline(void **state)
{
	(void)state;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), fill[4];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	struct rd_storage s;
	struct vd_error err = { 0 };
	char spec[64];

	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 0), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
	/* fill the queue (never accepted); connects beyond it stay pending */
	for (int i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(fill[i] >= 0);
		if (connect(fill[i], (struct sockaddr *)&a, sizeof(a)) < 0)
			assert_int_equal(errno, EINPROGRESS);
	}
	snprintf(spec, sizeof(spec), "nfs:127.0.0.1");
	assert_int_equal(rd_storage_parse(spec, &s, &err), 0);
	s.port = ntohs(a.sin_port);
	double t0 = now_s();
	rd_storage_probe(&s, 1, 500);
	double took = now_s() - t0;
	assert_int_equal(s.rc, -ETIMEDOUT);
	assert_true(took >= 0.45);
	for (int i = 0; i < 4; i++)
		close(fill[i]);
	close(l);
}

static void test_storage_verdicts(void **state)
{
	(void)state;
	static struct rd_report r;
	struct rd_storage s[6];
	struct vd_error err = { 0 };
	static const char *const specs[] = { "iscsi:10.0.0.1", "iscsi:10.0.0.2", "nfs:10.0.0.3",
					     "nfs:san-x", "iscsi:10.0.0.5", "nfs:10.0.0.6" };
	static const int rcs[] = { 0, 0, -ETIMEDOUT, -ENOENT, -ECONNREFUSED, -EHOSTUNREACH };
	static const double ms[] = { 3, 1500, 3000, 0, 1, 1 };

	for (int i = 0; i < 6; i++) {
		assert_int_equal(rd_storage_parse(specs[i], &s[i], &err), 0);
		s[i].rc = rcs[i];
		s[i].ms = ms[i];
		snprintf(s[i].addr, sizeof(s[i].addr), "%s", rcs[i] == -ENOENT ? "" : s[i].host);
	}
	struct rd_input in = { .host_root = "/nonexistent", .storage = s, .n_storage = 1,
			       .storage_timeout_ms = 3000 };
	readiness_run(&in, &r);
	expect_line(&r, "storage:iscsi:10.0.0.1", RD_OK, "iSCSI portal 10.0.0.1:3260 reachable");
	in.n_storage = 6;
	readiness_run(&in, &r);
	expect_line(&r, "storage:iscsi:10.0.0.2", RD_WARN, "after 1500 ms");
	expect_line(&r, "storage:nfs:10.0.0.3", RD_FAIL, "NFS server 10.0.0.3:2049: no answer within 3.0 s");
	expect_line(&r, "storage:nfs:san-x", RD_FAIL, "cannot resolve 'san-x'");
	expect_line(&r, "storage:iscsi:10.0.0.5", RD_FAIL, "refuses connections");
	expect_line(&r, "storage:nfs:10.0.0.6", RD_FAIL, "unreachable");
	assert_int_equal(r.verdict, RD_FAIL);
	/* no connections given: no storage line; multipath not asked: no line */
	in.n_storage = 0;
	readiness_run(&in, &r);
	for (size_t i = 0; i < r.n; i++)
		assert_true(strncmp(r.checks[i].name, "storage:", 8) && strcmp(r.checks[i].name, "multipath"));
}

static void test_mpath_verdicts(void **state)
{
	(void)state;
	static struct rd_report r;
	struct rd_mpath_map m[3] = {
		{ .wwid = "3600a0001", .n_paths = 2, .n_active = 2 },
		{ .wwid = "3600a0002", .n_paths = 2, .n_active = 1, .failed = "sdd:failed" },
		{ .wwid = "3600a0003", .n_paths = 2, .n_active = 0, .failed = "sde:failed sdf:failed" },
	};
	struct rd_input in = { .host_root = "/nonexistent", .mpath_asked = true, .mpath = m };

	in.n_mpath = 1;
	readiness_run(&in, &r);
	expect_line(&r, "multipath", RD_OK, "1 map(s), all 2 path(s) active");
	in.n_mpath = 0;
	readiness_run(&in, &r);
	expect_line(&r, "multipath", RD_OK, "no multipath maps");
	in.n_mpath = 2;
	readiness_run(&in, &r);
	expect_line(&r, "multipath", RD_WARN, "3600a0002 1/2 active, sdd:failed");
	in.n_mpath = 3;
	readiness_run(&in, &r);
	expect_line(&r, "multipath", RD_FAIL, "1 of 3 map(s) without an active path, 1 degraded");
	assert_non_null(strstr(find(&r, "multipath")->detail, "3600a0003 0/2 active, sde:failed sdf:failed"));
	in.mpath_rc = -ECONNREFUSED;
	readiness_run(&in, &r);
	expect_line(&r, "multipath", RD_WARN, "multipathd is not running");
	in.mpath_rc = -ETIMEDOUT;
	readiness_run(&in, &r);
	expect_line(&r, "multipath", RD_FAIL, "no reply in time");
}

/* ---- a fake multipathd: one reply per connection, libmpathcmd framing ---- */

struct fake {
	int fd;
	const char *reply;
	char cmd[64];
};

static void *serve(void *arg)
{
	struct fake *f = arg;
	int c = accept(f->fd, NULL, NULL);
	size_t len = 0;

	if (c < 0)
		return NULL;
	if (recv(c, &len, sizeof(len), MSG_WAITALL) == sizeof(len) && len < sizeof(f->cmd) &&
	    recv(c, f->cmd, len, MSG_WAITALL) == (ssize_t)len) {
		size_t rl = strlen(f->reply) + 1;
		if (send(c, &rl, sizeof(rl), 0) != sizeof(rl) || send(c, f->reply, rl, 0) != (ssize_t)rl)
			f->cmd[0] = '\0';
	}
	close(c);
	return NULL;
}

static int fake_start(struct fake *f, const char *name)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t n = strlen(name);

	memcpy(a.sun_path + 1, name, n);
	f->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->fd >= 0);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&a,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)), 0);
	return listen(f->fd, 1);
}

static void test_mpath_read_from_daemon(void **state)
{
	(void)state;
	char name[64];
	struct fake f = {
		.reply = "{\"major_version\": 0, \"maps\": [{\"name\": \"3600a01\", \"uuid\": \"3600a01\", "
			 "\"path_groups\": [{\"paths\": [{\"dev\": \"sdb\", \"dm_st\": \"active\"}, "
			 "{\"dev\": \"sdc\", \"dm_st\": \"failed\"}]}, {\"paths\": [{\"dev\": \"sdd\", "
			 "\"dm_st\": \"active\"}]}]}]}",
	};
	pthread_t t;
	struct rd_mpath_map *m = NULL;
	size_t n = 0;

	snprintf(name, sizeof(name), "vdsm-c-test-mpathd-%d", (int)getpid());
	/* nobody listens: the daemon is absent */
	assert_int_equal(readiness_mpath_read(name, 2000, &m, &n), -ECONNREFUSED);
	assert_int_equal(fake_start(&f, name), 0);
	assert_int_equal(pthread_create(&t, NULL, serve, &f), 0);
	assert_int_equal(readiness_mpath_read(name, 10000, &m, &n), 0);
	pthread_join(t, NULL);
	assert_string_equal(f.cmd, "show maps json");
	assert_int_equal(n, 1);
	assert_string_equal(m[0].wwid, "3600a01");
	assert_int_equal(m[0].n_paths, 3);
	assert_int_equal(m[0].n_active, 2);
	assert_string_equal(m[0].failed, "sdc:failed");
	free(m);
	/* a reply that is not multipathd's JSON */
	f.reply = "fail\n";
	assert_int_equal(pthread_create(&t, NULL, serve, &f), 0);
	assert_int_equal(readiness_mpath_read(name, 10000, &m, &n), -EPROTO);
	pthread_join(t, NULL);
	assert_null(m);
	close(f.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_getent_parse),
		cmocka_unit_test(test_probe_loopback),
		cmocka_unit_test(test_probe_deadline),
		cmocka_unit_test(test_storage_verdicts),
		cmocka_unit_test(test_mpath_verdicts),
		cmocka_unit_test(test_mpath_read_from_daemon),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
