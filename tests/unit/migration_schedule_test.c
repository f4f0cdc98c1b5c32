/* The source's stepped downtime ramp and time limit (vdsm-c/migration/schedule.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <cmocka.h>

#include "../../vdsm-c/migration/migration.h"

#define GIB (1024ULL * 1024 * 1024)

static void test_ramp(void **state)
{
	(void)state;
	/* the default: 500 ms in 5 steps — from target/steps up, exactly 500 at the end */
	int prev = 0;
	for (int i = 0; i < 5; i++) {
		int d = migration_downtime_step(500, 5, i);
		assert_true(d >= prev);
		assert_true(d >= 100 && d <= 500);
		prev = d;
	}
	assert_int_equal(migration_downtime_step(500, 5, 0), 101);
	assert_int_equal(migration_downtime_step(500, 5, 4), 500);
	assert_int_equal(migration_downtime_step(500, 5, 9), 500);   /* past the end */
	/* exponential: the later steps grow more */
	int a = migration_downtime_step(500, 5, 1), b = migration_downtime_step(500, 5, 2);
	int c = migration_downtime_step(500, 5, 3);
	assert_true(b - a < c - b);
	assert_true(c < 500);
	/* one step is the target itself; degenerate targets */
	assert_int_equal(migration_downtime_step(300, 1, 0), 300);
	assert_int_equal(migration_downtime_step(1, 10, 0), 1);
	assert_int_equal(migration_downtime_step(0, 5, 2), 0);
	/* monotonic and bounded for many steps */
	prev = 0;
	for (int i = 0; i < 100; i++) {
		int d = migration_downtime_step(2000, 100, i);
		assert_true(d >= prev && d <= 2000);
		prev = d;
	}
	assert_int_equal(prev, 2000);
}

static void test_interval(void **state)
{
	(void)state;
	/* 100 s per GiB, 5 steps: a 4 GiB guest steps every 80 s; small guests count 1 GiB */
	assert_true(migration_downtime_interval(100, 4 * GIB, 5) == 80.0);
	assert_true(migration_downtime_interval(100, 256 << 20, 5) == 20.0);
	assert_true(migration_downtime_interval(0, 4 * GIB, 5) == 0.0);
}

static void test_over_time(void **state)
{
	(void)state;
	/* 64 s per GiB: a 2 GiB guest may take 128 s */
	assert_false(migration_over_time(64, 2 * GIB, 128.0));
	assert_true(migration_over_time(64, 2 * GIB, 128.5));
	assert_true(migration_over_time(64, 256 << 20, 65.0));   /* at least 1 GiB counted */
	assert_false(migration_over_time(0, 2 * GIB, 1e9));       /* 0 = no limit */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ramp),
		cmocka_unit_test(test_interval),
		cmocka_unit_test(test_over_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
