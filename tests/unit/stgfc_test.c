/* storage/fc.c: the FC HBA inventory on the fixture tests/data/storage/fc (two HBAs and
 * a directory that is no host), and the rescan: every HBA's scsi_host scan file gets
 * "- - -"; a scan that does not return (a FIFO nobody reads: open() blocks as a write
 * to a hung HBA's scan file would) costs the caller the timeout, not more, and is
 * left to finish in the background. */
#include "../../storage/fc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

static void test_inventory(void **state)
{
	struct stg_fc_host *h;
	char *root = test_data("storage/fc");

	(void)state;
	int n = stg_fc_hosts(root, &h);
	assert_int_equal(n, 2);
	assert_string_equal(h[0].host, "host3");             /* numeric order */
	assert_string_equal(h[0].port_name, "0x21000024ff3a1b2c");
	assert_string_equal(h[0].node_name, "0x20000024ff3a1b2c");
	assert_string_equal(h[0].port_state, "Online");
	assert_string_equal(h[0].speed, "16 Gbit");
	assert_string_equal(h[1].host, "host10");
	assert_string_equal(h[1].port_state, "Linkdown");
	free(h);
	/* no fc_host class: no HBA, no error */
	assert_int_equal(stg_fc_hosts("/nonexistent-root", &h), 0);
	assert_null(h);
	free(root);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int threads(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static void test_rescan(void **state)
{
	char tmp[] = "/tmp/vdsmc-stgfc-XXXXXX", p[512], buf[16];
	char *rel = test_data("storage/fc/sys/class/fc_host");
	char *fixture = realpath(rel, NULL);
	struct stg_fc_scan s;

	(void)state;
	assert_non_null(fixture);
	assert_non_null(mkdtemp(tmp));
	snprintf(p, sizeof(p), "%s/sys/class/scsi_host/host3", tmp);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' '%s/sys/class/scsi_host/host10'", p, tmp);
	assert_int_equal(system(cmd), 0);
	snprintf(p, sizeof(p), "%s/sys/class/fc_host", tmp);
	assert_int_equal(symlink(fixture, p), 0);
	snprintf(p, sizeof(p), "%s/sys/class/scsi_host/host3/scan", tmp);
	int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0200);
	assert_true(fd >= 0);
	close(fd);

	/* both answer: host10's scan file is a plain file too */
	snprintf(p, sizeof(p), "%s/sys/class/scsi_host/host10/scan", tmp);
	fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0200);
	assert_true(fd >= 0);
	close(fd);
	int base = threads();
	assert_int_equal(stg_fc_rescan(tmp, 5, &s), 0);
	assert_int_equal(s.hosts, 2);
	assert_int_equal(s.done, 2);
	assert_int_equal(s.failed, 0);
	snprintf(p, sizeof(p), "%s/sys/class/scsi_host/host3/scan", tmp);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_int_equal(read(fd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "- - -", 5);
	close(fd);

	/* host10 hangs: the call returns after its timeout with host3 done */
	snprintf(p, sizeof(p), "%s/sys/class/scsi_host/host10/scan", tmp);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkfifo(p, 0600), 0);
	double t0 = now();
	assert_int_equal(stg_fc_rescan(tmp, 0.5, &s), 0);
	double dt = now() - t0;
	assert_true(dt >= 0.5);
	assert_int_equal(s.hosts, 2);
	assert_int_equal(s.done, 1);
	assert_int_equal(s.failed, 0);
	/* release the scan left behind: it writes, then ends */
	int rd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(rd >= 0);
	struct pollfd pf = { .fd = rd, .events = POLLIN };
	assert_int_equal(poll(&pf, 1, 30000), 1);
	assert_int_equal(read(rd, buf, sizeof(buf)), 5);
	close(rd);
	for (double end = now() + 30; threads() > base && now() < end;)
		poll(NULL, 0, 10);
	assert_int_equal(threads(), base);

	/* a missing scan file is a failed scan, not a wait */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(stg_fc_rescan(tmp, 5, &s), 0);
	assert_int_equal(s.done, 1);
	assert_int_equal(s.failed, 1);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	assert_int_equal(system(cmd), 0);
	free(fixture);
	free(rel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inventory),
		cmocka_unit_test(test_rescan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
