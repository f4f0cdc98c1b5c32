/* vdsm-c/hoststats: a sample computed from two readings of fixture trees
 * (tests/data/hoststats/t0, t1: /proc/stat deltas, meminfo, loadavg, net/dev, NUMA,
 * KSM, THP, the agent's and ksmd's CPU ticks), 2 s apart, with exact values. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"

#include "../../vdsm-c/host/hoststats-internal.h"
#include "../../vdsm-c/util/util.h"

static char *fixture(const char *rel)
{
	return test_data("hoststats/%s", rel);
}

static const char *const disk_paths[] = { "/tmp", "/nonexistent-dir", NULL };
static const char *const disk_real[] = { "/tmp", "/nonexistent-dir", NULL };

static void read_pair(struct hs_params *p, struct hs_raw *a, struct hs_raw *b, char **r0, char **r1)
{
	struct hs_nic_raw nics[3] = {
		{ .name = "eth0", .speed = 1000, .up = true },
		{ .name = "eth1", .speed = 0, .up = false },
		{ .name = "gone0", .speed = 100, .up = true },   /* not in /proc/net/dev */
	};

	*r0 = fixture("t0");
	*r1 = fixture("t1");
	memset(p, 0, sizeof(*p));
	p->disk_paths = disk_paths;
	p->disk_real = disk_real;
	p->ksmd_pid = 42;
	p->host_mem_reserve = 256;
	p->clk_tck = 100;
	p->page_size = 4096;
	p->root = *r0;
	assert_int_equal(hs_raw_read(p, nics, 3, a), 0);
	p->root = *r1;
	assert_int_equal(hs_raw_read(p, nics, 3, b), 0);
	a->mono = 100.0;
	b->mono = 102.0;
}

static void test_sample(void **state)
{
	struct hs_params p;
	struct hs_raw a, b;
	_cleanup_free_ char *r0 = NULL, *r1 = NULL;

	(void)state;
	read_pair(&p, &a, &b, &r0, &r1);
	b.vms = (struct hoststats_vm_counts){ .total = 3, .active = 2, .migrating = 1, .incoming = 1,
					      .mem_committed_mib = 1000, .rss_mib = 300 };
	struct hoststats_sample *s = hs_compute(&p, &a, &b);
	assert_non_null(s);
	assert_float_equal(s->interval, 2.0, 1e-9);
	assert_float_equal(s->cpu_user, 15.0, 1e-9);
	assert_float_equal(s->cpu_sys, 10.0, 1e-9);
	assert_float_equal(s->cpu_idle, 75.0, 1e-9);
	assert_float_equal(s->cpu_load, 1.25, 1e-9);
	assert_float_equal(s->cpu_user_vdsmd, 30.0, 1e-9);
	assert_float_equal(s->cpu_sys_vdsmd, 10.0, 1e-9);
	assert_int_equal(s->boot_time, 1700000000);

	assert_int_equal(s->mem_total_mib, 32664);
	assert_int_equal(s->mem_free_mib, 19910 + 4000 + 200);
	assert_int_equal(s->mem_used, 26);
	assert_int_equal(s->mem_available_mib, 24110 + 300 - 1000 - 256);
	assert_int_equal(s->mem_committed_mib, 1000);
	assert_int_equal(s->swap_total_mib, 8191);
	assert_int_equal(s->swap_free_mib, 8191);
	assert_int_equal(s->anon_huge_pages_mib, 2048);
	assert_true(s->ksm_state);
	assert_true(s->ksm_merge_across_nodes);
	assert_int_equal(s->ksm_pages, 100);
	assert_int_equal(s->mem_shared_mib, 10);
	assert_int_equal(s->ksm_cpu, 50);
	assert_string_equal(s->thp_state, "madvise");
	assert_int_equal(s->vms.total, 3);
	assert_int_equal(s->vms.active, 2);

	assert_int_equal(s->n_cpus, 2);
	assert_int_equal(s->cpus[0].id, 0);
	assert_int_equal(s->cpus[0].node, 0);
	assert_float_equal(s->cpus[0].user, 20.0, 1e-9);
	assert_float_equal(s->cpus[0].sys, 15.0, 1e-9);
	assert_float_equal(s->cpus[0].idle, 65.0, 1e-9);
	assert_float_equal(s->cpus[1].user, 10.0, 1e-9);

	assert_int_equal(s->n_numa, 2);
	assert_int_equal(s->numa[0].node, 0);
	assert_int_equal(s->numa[0].mem_free_mib, 11718);
	assert_int_equal(s->numa[0].mem_percent, 28);
	assert_int_equal(s->numa[1].mem_free_mib, 8192);
	assert_int_equal(s->numa[1].mem_percent, 50);

	assert_int_equal(s->n_nics, 2);   /* gone0 has no counters */
	assert_string_equal(s->nics[0].name, "eth0");
	assert_int_equal(s->nics[0].speed, 1000);
	assert_true(s->nics[0].up);
	assert_float_equal(s->nics[0].rx_rate, 10.0, 1e-9);
	assert_float_equal(s->nics[0].tx_rate, 1.0, 1e-9);
	assert_true(s->nics[0].rx == 1025000000ULL);
	assert_true(s->nics[0].tx == 502500000ULL);
	assert_int_equal(s->nics[0].rx_dropped, 7);
	assert_int_equal(s->nics[0].tx_dropped, 4);
	assert_int_equal(s->nics[0].rx_errors, 1);
	assert_int_equal(s->nics[0].tx_errors, 3);
	assert_float_equal(s->nics[0].sample_time, 102.0, 1e-9);
	assert_string_equal(s->nics[1].name, "eth1");
	assert_int_equal(s->nics[1].speed, 1000);   /* unknown speed counts as 1 Gb/s */
	assert_false(s->nics[1].up);
	assert_float_equal(s->nics[1].rx_rate, 0.0, 1e-9);
	assert_float_equal(s->rx_rate, 5.0, 1e-9);
	assert_float_equal(s->tx_rate, 0.5, 1e-9);
	assert_int_equal(s->rx_dropped, 7);

	assert_int_equal(s->n_disks, 1);   /* the absent directory is left out */
	assert_string_equal(s->disks[0].path, "/tmp");
	assert_true(s->disks[0].free_bytes > 0);
	hoststats_sample_unref(s);
	hs_raw_clear(&a);
	hs_raw_clear(&b);
}

static void test_first_sample(void **state)
{
	struct hs_params p;
	struct hs_raw a, b;
	_cleanup_free_ char *r0 = NULL, *r1 = NULL;

	(void)state;
	read_pair(&p, &a, &b, &r0, &r1);
	struct hoststats_sample *s = hs_compute(&p, NULL, &a);
	assert_non_null(s);
	assert_float_equal(s->interval, 0, 1e-9);
	assert_float_equal(s->cpu_idle, 100.0, 1e-9);
	assert_float_equal(s->nics[0].rx_rate, 0.0, 1e-9);
	assert_int_equal(s->mem_available_mib, 24110 - 256);
	assert_int_equal(s->ksm_cpu, 0);
	hoststats_sample_unref(s);
	hs_raw_clear(&a);
	hs_raw_clear(&b);
}

/* KSM's page count comes from a sysfs file: a huge one gives a huge size, not a
 * signed overflow. */
static void test_huge_ksm_pages(void **state)
{
	struct hs_params p;
	struct hs_raw a, b;
	_cleanup_free_ char *r0 = NULL, *r1 = NULL;

	(void)state;
	read_pair(&p, &a, &b, &r0, &r1);
	b.ksm_pages_sharing = 1LL << 62;
	struct hoststats_sample *s = hs_compute(&p, &a, &b);
	assert_non_null(s);
	assert_int_equal(s->mem_shared_mib, 1LL << 54);   /* 2^62 pages of 4 KiB */
	hoststats_sample_unref(s);
	hs_raw_clear(&a);
	hs_raw_clear(&b);
}

static void test_parsers(void **state)
{
	char thp[16];
	unsigned long long u, s;

	(void)state;
	hs_thp_parse("[always] madvise never\n", thp, sizeof(thp));
	assert_string_equal(thp, "always");
	hs_thp_parse("garbage", thp, sizeof(thp));
	assert_string_equal(thp, "");
	assert_int_equal(hs_proc_ticks("1 (a) b) S 0 0 0 0 0 0 0 0 0 0 7 8 0", &u, &s), 15);
	assert_int_equal(u, 7);
	assert_int_equal(s, 8);
	assert_int_equal(hs_proc_ticks("nonsense", &u, &s), -1);
	/* A stat that ends at the comm: nothing after the terminating NUL is read. */
	static const char cut[] = "1 (k)\0S 0 0 0 0 0 0 0 0 0 0 7 8 0";
	assert_int_equal(hs_proc_ticks(cut, &u, &s), -1);
	_cleanup_free_ char *root = fixture("t0");
	assert_int_equal(hs_find_kthread(root, "nothere"), 0);
}

static void test_vm_counter_hook(void **state)
{
	(void)state;
	/* registering and clearing from any thread is allowed */
	hoststats_set_vm_counter(NULL);
	assert_null(hoststats_sample_get());
	hoststats_sample_unref(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_first_sample),
		cmocka_unit_test(test_huge_ksm_pages),
		cmocka_unit_test(test_parsers),
		cmocka_unit_test(test_vm_counter_hook),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
