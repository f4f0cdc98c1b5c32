/* vdsm-c/util: paths, atomic write, uuid, parsing, exec with timeout. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../vdsm-c/util/exec.h"
#include "../../vdsm-c/util/util.h"

static void test_path(void **state)
{
	(void)state;
	char *p = util_path("/r/", "/etc/x");
	assert_string_equal(p, "/r/etc/x");
	free(p);
	p = util_path("", "/etc/x");
	assert_string_equal(p, "/etc/x");
	free(p);
	p = util_path(NULL, "/etc/x");
	assert_string_equal(p, "/etc/x");
	free(p);
}

static void test_uuid(void **state)
{
	char u[37];
	(void)state;
	assert_true(util_uuid_valid("01234567-89ab-cdef-0123-456789ABCDEF"));
	assert_false(util_uuid_valid("01234567-89ab-cdef-0123-456789abcde"));
	assert_false(util_uuid_valid("0123456789ab-cdef-0123-456789abcdef-"));
	char norm[37] = "unchanged";
	assert_int_equal(util_uuid_normalize("01234567-89AB-cdef-0123-456789ABCDEF", norm), 0);
	assert_string_equal(norm, "01234567-89ab-cdef-0123-456789abcdef");
	assert_int_equal(util_uuid_normalize("01234567-89ab-cdef-0123-456789abcdeg", norm), -EINVAL);
	assert_string_equal(norm, "01234567-89ab-cdef-0123-456789abcdef"); /* untouched */
	char self[37] = "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE";
	assert_int_equal(util_uuid_normalize(self, self), 0);
	assert_string_equal(self, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
	assert_false(util_uuid_valid("g1234567-89ab-cdef-0123-456789abcdef"));
	assert_false(util_uuid_valid(NULL));
	assert_int_equal(util_uuid_generate(u), 0);
	assert_true(util_uuid_valid(u));
	assert_int_equal(u[14], '4');
}

static void test_parse(void **state)
{
	long long v;
	bool b;
	(void)state;
	assert_int_equal(util_parse_ll("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(util_parse_ll("101", 0, 100, &v), -ERANGE);
	assert_int_equal(util_parse_ll("4x", 0, 100, &v), -EINVAL);
	assert_int_equal(util_parse_ll("", 0, 100, &v), -EINVAL);
	assert_int_equal(util_parse_bool("Yes", &b), 0);
	assert_true(b);
	assert_int_equal(util_parse_bool("OFF", &b), 0);
	assert_false(b);
	assert_int_equal(util_parse_bool("2", &b), -EINVAL);
}

static void test_atomic_write(void **state)
{
	char dir[] = "/tmp/vdsmc-util-XXXXXX";
	char path[128], *buf = NULL;
	size_t len;
	struct stat st;
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a/b/f", dir);
	char sub[128];
	snprintf(sub, sizeof(sub), "%s/a/b", dir);
	assert_int_equal(util_mkdir_p(sub, 0755), 0);
	assert_int_equal(util_write_atomic(path, "hello", 5, 0600), 0);
	assert_int_equal(util_write_atomic(path, "world!", 6, 0600), 0);
	assert_int_equal(util_read_file(path, 100, &buf, &len), 0);
	assert_string_equal(buf, "world!");
	free(buf);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(util_read_file(path, 3, &buf, &len), -EFBIG);
	char line[16];
	assert_int_equal(util_read_line(path, line, sizeof(line)), 6);
	unlink(path);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/a", dir);
	rmdir(sub);
	rmdir(dir);
}

static void test_exec(void **state)
{
	struct util_exec_result r;
	(void)state;
	const char *ok[] = { "/bin/sh", "-c", "echo out; echo err >&2; echo $LC_ALL", NULL };
	assert_int_equal(util_exec(ok, NULL, &r), 0);
	assert_string_equal(r.out, "out\nC\n");
	assert_string_equal(r.err, "err\n");
	util_exec_result_clear(&r);

	const char *fail[] = { "/bin/sh", "-c", "echo boom >&2; exit 3", NULL };
	assert_int_equal(util_exec(fail, NULL, &r), -ECHILD);
	assert_int_equal(r.status, 3);
	char line[64];
	assert_string_equal(util_exec_last_line(&r, line, sizeof(line)), "boom");
	util_exec_result_clear(&r);

	/* A child that ignores SIGTERM is killed after the grace; its grandchild too. */
	const char *hang[] = { "/bin/sh", "-c", "trap '' TERM; sleep 30 & sleep 30", NULL };
	struct util_exec_opts o = { .timeout = 0.3, .grace = 0.2 };
	assert_int_equal(util_exec(hang, &o, &r), -ETIME);
	assert_true(r.timed_out);
	util_exec_result_clear(&r);

	/* A process that left the child's group keeps the output pipe open and cannot be
	 * signalled as part of the group: the call still returns after timeout + two
	 * graces instead of waiting for it (as for a child stuck in the kernel). The
	 * escapee writes "done" only after its sleep: it must not be there on return. */
	char dir[] = "/tmp/util_test_escapee.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char script[512], pidfile[128], donefile[128];
	snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
	snprintf(donefile, sizeof(donefile), "%s/done", dir);
	snprintf(script, sizeof(script),
		 "setsid /bin/sh -c 'sleep 30; echo done > %s' & echo $! > %s; exec sleep 60",
		 donefile, pidfile);
	const char *escape[] = { "/bin/sh", "-c", script, NULL };
	struct util_exec_opts oe = { .timeout = 0.3, .grace = 0.2 };
	assert_int_equal(util_exec(escape, &oe, &r), -ETIME);
	assert_true(r.timed_out);
	util_exec_result_clear(&r);
	struct stat st;
	assert_int_equal(stat(donefile, &st), -1);
	char pidline[32];
	assert_true(util_read_line(pidfile, pidline, sizeof(pidline)) > 0);
	pid_t escapee = (pid_t)atoi(pidline);
	assert_true(escapee > 0);
	kill(-escapee, SIGKILL);  /* its own group (setsid), started by this test */
	unlink(pidfile);
	rmdir(dir);

	const char *stdin_null[] = { "/bin/cat", NULL };
	assert_int_equal(util_exec(stdin_null, NULL, &r), 0);
	assert_string_equal(r.out, "");
	util_exec_result_clear(&r);

	const char *relative[] = { "sh", NULL };
	assert_int_equal(util_exec(relative, NULL, &r), -EINVAL);

	/* Output cap. */
	const char *big[] = { "/bin/sh", "-c", "head -c 100000 /dev/zero", NULL };
	struct util_exec_opts oc = { .cap = 1000 };
	assert_int_equal(util_exec(big, &oc, &r), 0);
	assert_int_equal(r.out_len, 1000);
	util_exec_result_clear(&r);
}

static int fake_hook(const char *const *argv, struct util_exec_result *ret, void *ud)
{
	(*(int *)ud)++;
	assert_string_equal(argv[0], "/sbin/iscsiadm");
	ret->out = strdup("canned\n");
	ret->err = strdup("");
	return 0;
}

static void test_exec_hook(void **state)
{
	int calls = 0;
	struct util_exec_result r;
	const char *argv[] = { "/sbin/iscsiadm", "-m", "session", NULL };
	(void)state;
	util_exec_set_hook(fake_hook, &calls);
	assert_int_equal(util_exec(argv, NULL, &r), 0);
	assert_string_equal(r.out, "canned\n");
	assert_int_equal(calls, 1);
	util_exec_result_clear(&r);
	util_exec_set_hook(NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),  cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_parse), cmocka_unit_test(test_atomic_write),
		cmocka_unit_test(test_exec),  cmocka_unit_test(test_exec_hook),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
