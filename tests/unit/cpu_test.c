/* cpu/: parsers of /proc/cpuinfo, /proc/meminfo, /proc/stat, NUMA sysfs, libvirt
 * capabilities XML, the CPU map and the cluster CPU check, on fixtures in
 * tests/data/cpu/ (an AMD host's real files, a 2-socket Intel NUMA tree, libvirt
 * XML from this project's development host, a small synthetic CPU map). */
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

#include "../../cpu/cpu.h"
#include "../../vdsm-c/util/util.h"

static char *fixture(const char *rel)
{
	return test_data("cpu/%s", rel);
}

static char *slurp(const char *rel)
{
	_cleanup_free_ char *p = fixture(rel);
	char *text = NULL;
	assert_int_equal(util_read_file(p, 1 << 22, &text, NULL), 0);
	return text;
}

static void test_cpuinfo_amd(void **state)
{
	_cleanup_free_ char *root = fixture("amd");
	_cleanup_(cpu_info_freep) struct cpu_info *ci = NULL;

	(void)state;
	assert_int_equal(cpu_info_read(root, &ci), 0);
	assert_string_equal(ci->vendor, "AuthenticAMD");
	assert_string_equal(ci->model_name, "AMD EPYC");
	assert_string_equal(ci->speed, "2596.148");
	assert_int_equal(ci->family, 25);
	assert_int_equal(ci->model, 17);
	assert_int_equal(ci->stepping, 1);
	assert_int_equal(ci->sockets, 1);
	assert_int_equal(ci->cores, 2);
	assert_int_equal(ci->threads, 2);
	assert_string_equal(ci->online, "0,1");
	assert_int_equal(ci->n_flags, 105);
	assert_string_equal(ci->flags[0], "fpu");
	assert_string_equal(ci->flags[104], "fsrm");
	assert_null(ci->flags[105]);
	assert_true(cpu_info_has_flag(ci, "nx"));
	assert_true(cpu_info_has_flag(ci, "avx512f"));
	assert_false(cpu_info_has_flag(ci, "svm"));
	assert_false(cpu_info_has_flag(ci, "vmx"));
}

static void test_cpuinfo_intel_2socket(void **state)
{
	_cleanup_free_ char *root = fixture("intel");
	_cleanup_(cpu_info_freep) struct cpu_info *ci = NULL;

	(void)state;
	assert_int_equal(cpu_info_read(root, &ci), 0);
	assert_string_equal(ci->vendor, "GenuineIntel");
	assert_string_equal(ci->model_name, "Intel(R) Xeon(R) CPU E5-2620 v3 @ 2.40GHz");
	assert_string_equal(ci->speed, "2400.000");   /* first CPU's, not the others' */
	assert_int_equal(ci->family, 6);
	assert_int_equal(ci->model, 63);
	assert_int_equal(ci->sockets, 2);
	assert_int_equal(ci->cores, 4);
	assert_int_equal(ci->threads, 8);
	assert_string_equal(ci->online, "0,1,2,3,4,5,6,7");
	assert_true(cpu_info_has_flag(ci, "vmx"));
	assert_true(cpu_info_has_flag(ci, "nx"));
	assert_true(cpu_info_has_flag(ci, "cqm_occup_llc"));
}

/* Found by fuzz_cpu: a second "flags" line in a block overflowed the flag array. */
static void test_cpuinfo_two_flags_lines(void **state)
{
	_cleanup_free_ char *text = NULL;
	struct cpu_info *ci = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	fputs("processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t:", f);
	for (int i = 0; i < 200; i++)
		fprintf(f, " f%d", i);
	fputs("\nflags\t\t: fpu vme sse2\n", f);
	fclose(f);
	assert_int_equal(cpu_info_parse(text, NULL, &ci), 0);
	assert_int_equal(ci->n_flags, 3);
	assert_string_equal(ci->flags[2], "sse2");
	assert_null(ci->flags[3]);
	cpu_info_free(ci);
}

static void test_cpuinfo_no_topology(void **state)
{
	_cleanup_(cpu_info_freep) struct cpu_info *ci = NULL;
	const char *text = "processor : 0\nvendor_id : X\nflags : a b\n\n"
			   "processor : 1\n\nprocessor : 3\n";

	(void)state;
	assert_int_equal(cpu_info_parse(text, NULL, &ci), 0);
	assert_int_equal(ci->sockets, 1);
	assert_int_equal(ci->cores, 3);
	assert_int_equal(ci->threads, 3);
	assert_string_equal(ci->online, "0,1,3");
	assert_string_equal(ci->speed, "");
	assert_int_equal(ci->n_flags, 2);
	cpu_info_free(TAKE_PTR(ci));
	assert_int_equal(cpu_info_parse("garbage\n", NULL, &ci), -EINVAL);
}

/* Without an online list the processor numbers of cpuinfo are listed, whatever their
 * size: the list must hold them all (and not write past its buffer). */
static void test_cpuinfo_huge_processor_numbers(void **state)
{
	_cleanup_(cpu_info_freep) struct cpu_info *ci = NULL;
	const char *text = "processor : 2000000000\nprocessor : 2000000001\n"
			   "processor : -2000000002\nprocessor : 2000000003\n"
			   "processor : 2000000004\n";

	(void)state;
	assert_int_equal(cpu_info_parse(text, NULL, &ci), 0);
	assert_int_equal(ci->threads, 5);
	assert_string_equal(ci->online,
			    "-2000000002,2000000000,2000000001,2000000003,2000000004");
}

static void test_cpu_list(void **state)
{
	_cleanup_free_ int *ids = NULL;
	size_t n;

	(void)state;
	assert_int_equal(cpu_list_parse("0-2,8,10-11\n", &ids, &n), 0);
	assert_int_equal(n, 6);
	int want[] = { 0, 1, 2, 8, 10, 11 };
	for (size_t i = 0; i < n; i++)
		assert_int_equal(ids[i], want[i]);
	free(TAKE_PTR(ids));
	assert_int_equal(cpu_list_parse("\n", &ids, &n), 0);
	assert_int_equal(n, 0);
	free(TAKE_PTR(ids));
	assert_int_equal(cpu_list_parse("3-1", &ids, &n), -EINVAL);
	assert_int_equal(cpu_list_parse("1,x", &ids, &n), -EINVAL);
}

static void test_meminfo(void **state)
{
	_cleanup_free_ char *root = fixture("intel");
	struct cpu_meminfo m;

	(void)state;
	assert_int_equal(cpu_meminfo_read(root, &m), 0);
	assert_int_equal(m.total, 33448716);
	assert_int_equal(m.free, 20388608);
	assert_int_equal(m.available, 30000000);
	assert_int_equal(m.buffers, 204800);
	assert_int_equal(m.cached, 4096000);   /* not SwapCached */
	assert_int_equal(m.swap_total, 8388604);
	assert_int_equal(m.swap_free, 8388000);
	assert_int_equal(m.anon_huge_pages, 2097152);
	assert_int_equal(m.committed_as, 9000000);
	assert_int_equal(cpu_meminfo_parse("MemFree: 1 kB\n", &m), -EINVAL);
	assert_int_equal(cpu_meminfo_parse("MemTotal: 10 kB\n", &m), 0);
	assert_int_equal(m.total, 10);
	assert_int_equal(m.free, -1);
}

static void test_meminfo_amd_real(void **state)
{
	_cleanup_free_ char *root = fixture("amd");
	struct cpu_meminfo m;

	(void)state;
	assert_int_equal(cpu_meminfo_read(root, &m), 0);
	assert_int_equal(m.total, 24684084);
	assert_int_equal(m.swap_total, 0);
	assert_int_equal(m.anon_huge_pages, 301056);
}

static void test_numa_2node(void **state)
{
	_cleanup_free_ char *root = fixture("intel");
	_cleanup_(cpu_numa_freep) struct cpu_numa *n = NULL;

	(void)state;
	assert_int_equal(cpu_numa_read(root, &n), 0);
	assert_int_equal(n->n_nodes, 2);
	assert_int_equal(n->nodes[0].id, 0);
	assert_int_equal(n->nodes[0].n_cpus, 4);
	int c0[] = { 0, 1, 4, 5 }, c1[] = { 2, 3, 6, 7 };
	for (int i = 0; i < 4; i++) {
		assert_int_equal(n->nodes[0].cpus[i], c0[i]);
		assert_int_equal(n->nodes[1].cpus[i], c1[i]);
	}
	assert_int_equal(n->nodes[0].total_kib, 16671500);
	assert_int_equal(n->nodes[0].free_kib, 12000000);
	assert_int_equal(n->nodes[1].total_kib, 16777216);
	assert_int_equal(n->nodes[1].free_kib, 8388608);
	assert_int_equal(n->nodes[0].n_distance, 2);
	assert_int_equal(n->nodes[0].distance[0], 10);
	assert_int_equal(n->nodes[0].distance[1], 21);
	assert_int_equal(n->nodes[1].distance[0], 21);
	assert_int_equal(n->nodes[1].distance[1], 10);
	assert_int_equal(cpu_numa_node_of(n, 6), 1);
	assert_int_equal(cpu_numa_node_of(n, 5), 0);
	assert_int_equal(cpu_numa_node_of(n, 9), -1);
}

static void test_numa_fallback(void **state)
{
	/* The AMD tree has no sys/devices/system/node: one node with everything. */
	_cleanup_free_ char *root = fixture("amd");
	_cleanup_(cpu_numa_freep) struct cpu_numa *n = NULL;

	(void)state;
	assert_int_equal(cpu_numa_read(root, &n), 0);
	assert_int_equal(n->n_nodes, 1);
	assert_int_equal(n->nodes[0].id, 0);
	assert_int_equal(n->nodes[0].n_cpus, 2);
	assert_int_equal(n->nodes[0].total_kib, 24684084);
	assert_int_equal(n->nodes[0].free_kib, 23647468);
	assert_int_equal(n->nodes[0].n_distance, 1);
	assert_int_equal(n->nodes[0].distance[0], 10);
}

static void test_procstat_percent(void **state)
{
	_cleanup_free_ char *t1 = slurp("stat/stat1"), *t2 = slurp("stat/stat2");
	_cleanup_(cpu_stat_freep) struct cpu_stat *a = NULL, *b = NULL;
	double u, s, i;

	(void)state;
	assert_int_equal(cpu_stat_parse(t1, &a), 0);
	assert_int_equal(cpu_stat_parse(t2, &b), 0);
	assert_int_equal(a->btime, 1700000000);
	assert_int_equal(a->n_cpus, 2);
	assert_int_equal(a->ids[1], 1);
	cpu_times_percent(&a->total, &b->total, &u, &s, &i);
	assert_float_equal(u, 15.0, 1e-9);
	assert_float_equal(s, 10.0, 1e-9);
	assert_float_equal(i, 75.0, 1e-9);
	cpu_times_percent(&a->cpus[0], &b->cpus[0], &u, &s, &i);
	assert_float_equal(u, 20.0, 1e-9);
	assert_float_equal(s, 15.0, 1e-9);
	assert_float_equal(i, 65.0, 1e-9);
	cpu_times_percent(&a->cpus[1], &b->cpus[1], &u, &s, &i);
	assert_float_equal(u, 10.0, 1e-9);
	assert_float_equal(s, 5.0, 1e-9);
	assert_float_equal(i, 85.0, 1e-9);
	/* no time passed */
	cpu_times_percent(&a->total, &a->total, &u, &s, &i);
	assert_float_equal(i, 100.0, 1e-9);
	cpu_stat_free(TAKE_PTR(a));
	assert_int_equal(cpu_stat_parse("intr 1\n", &a), -EINVAL);
}

static void test_kvm_probe_absent(void **state)
{
	(void)state;
	assert_int_equal(cpu_kvm_probe("/nonexistent/dev/kvm"), -ENOENT);
	/* A file that is not the KVM device does not answer the ioctl. */
	assert_int_equal(cpu_kvm_probe("/dev/null"), -ENOTTY);
}

static void test_virt_caps(void **state)
{
	_cleanup_free_ char *caps = slurp("libvirt/caps-amd-kvm.xml");
	_cleanup_free_ char *dom = slurp("libvirt/domcaps-amd-kvm.xml");
	_cleanup_(cpu_virt_freep) struct cpu_virt *v = calloc(1, sizeof(*v));
	_cleanup_free_ const char **usable = NULL;
	size_t n;

	(void)state;
	assert_int_equal(cpu_virt_parse_caps(caps, v), 0);
	assert_string_equal(v->arch, "x86_64");
	assert_int_equal(v->n_machines, 60);
	assert_string_equal(v->machines[0], "pc-i440fx-7.2");
	assert_string_equal(v->machines[1], "pc");
	assert_null(v->machines[60]);
	bool q35 = false;
	for (size_t i = 0; i < v->n_machines; i++)
		q35 |= strcmp(v->machines[i], "q35") == 0;
	assert_true(q35);

	assert_int_equal(cpu_virt_parse_domcaps(dom, v), 0);
	assert_string_equal(v->domain_type, "kvm");
	assert_string_equal(v->host_model, "kvm64");
	assert_string_equal(v->host_vendor, "AMD");
	assert_int_equal(v->n_host_disabled, 1);
	assert_string_equal(v->host_disabled[0], "pni");
	assert_string_equal(v->host_required[0], "vme");
	assert_int_equal(cpu_virt_usable_models(v, &usable, &n), 0);
	/* This KVM (no vmx/svm, minimal CPUID) can run only the oldest models. */
	assert_int_equal(n, 4);
	assert_string_equal(usable[0], "pentium3");
	assert_string_equal(usable[1], "pentium2");
	assert_string_equal(usable[2], "pentium");
	assert_string_equal(usable[3], "486");
}

static void test_virt_domcaps_tcg(void **state)
{
	_cleanup_free_ char *dom = slurp("libvirt/domcaps-amd-tcg.xml");
	_cleanup_(cpu_virt_freep) struct cpu_virt *v = calloc(1, sizeof(*v));
	_cleanup_free_ const char **usable = NULL;
	size_t n;

	(void)state;
	assert_int_equal(cpu_virt_parse_domcaps(dom, v), 0);
	assert_string_equal(v->domain_type, "qemu");
	assert_int_equal(cpu_virt_usable_models(v, &usable, &n), 0);
	assert_int_equal(n, 18);
	bool nehalem = false, haswell = false;
	for (size_t i = 0; i < n; i++) {
		nehalem |= strcmp(usable[i], "Nehalem") == 0;
		haswell |= strcmp(usable[i], "Haswell") == 0;
	}
	assert_true(nehalem);
	assert_false(haswell);
	assert_int_equal(cpu_virt_parse_domcaps("<nope/>", v), -EINVAL);
	assert_int_equal(cpu_virt_parse_domcaps("not xml", v), -EINVAL);
}

static void test_cpu_map_and_compare(void **state)
{
	_cleanup_free_ char *dir = fixture("cpu_map");
	_cleanup_free_ char *dom = slurp("libvirt/domcaps-synthetic.xml");
	_cleanup_(cpu_map_freep) struct cpu_map *m = NULL;
	_cleanup_(cpu_virt_freep) struct cpu_virt *v = calloc(1, sizeof(*v));
	const char *const *f;
	char **missing = NULL;
	size_t n;

	(void)state;
	assert_string_equal(cpu_map_arch_family("x86_64"), "x86");
	assert_string_equal(cpu_map_arch_family("ppc64le"), "ppc64");
	assert_null(cpu_map_arch_family("s390x"));
	assert_int_equal(cpu_map_load(dir, "x86", &m), 0);
	assert_int_equal(cpu_map_model_features(m, "Child", &f, &n), 0);
	assert_int_equal(n, 5);   /* parent's four plus its own, sorted */
	const char *child[] = { "avx2", "fpu", "lm", "pni", "sse2" };
	for (size_t i = 0; i < n; i++)
		assert_string_equal(f[i], child[i]);
	assert_null(f[5]);
	assert_int_equal(cpu_map_model_features(m, "POWER-test", &f, &n), -ENOENT);

	assert_int_equal(cpu_virt_parse_domcaps(dom, v), 0);
	/* host = base64 (fpu lm pni sse2) + aes - pni */
	assert_int_equal(cpu_compare_model(m, v, "base64", &missing, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(missing[0], "pni");
	cpu_strv_free(TAKE_PTR(missing));
	assert_int_equal(cpu_compare_model(m, v, "model_Newer", &missing, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(missing[0], "avx");
	assert_string_equal(missing[1], "pni");
	cpu_strv_free(TAKE_PTR(missing));
	/* Not listed by libvirt: decided by the map alone. */
	assert_int_equal(cpu_compare_model(m, v, "Child", &missing, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(missing[0], "avx2");
	assert_string_equal(missing[1], "pni");
	cpu_strv_free(TAKE_PTR(missing));
	/* Listed usable: libvirt's verdict, nothing missing (even unknown to the map). */
	assert_int_equal(cpu_compare_model(m, v, "Old", &missing, &n), 1);
	assert_int_equal(n, 0);
	assert_null(missing[0]);
	cpu_strv_free(TAKE_PTR(missing));
	assert_int_equal(cpu_compare_model(m, v, "Tiny", &missing, &n), 1);
	cpu_strv_free(TAKE_PTR(missing));
	assert_int_equal(cpu_compare_model(m, v, "Skylake", &missing, &n), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpuinfo_amd),
		cmocka_unit_test(test_cpuinfo_intel_2socket),
		cmocka_unit_test(test_cpuinfo_no_topology),
		cmocka_unit_test(test_cpuinfo_two_flags_lines),
		cmocka_unit_test(test_cpuinfo_huge_processor_numbers),
		cmocka_unit_test(test_cpu_list),
		cmocka_unit_test(test_meminfo),
		cmocka_unit_test(test_meminfo_amd_real),
		cmocka_unit_test(test_numa_2node),
		cmocka_unit_test(test_numa_fallback),
		cmocka_unit_test(test_procstat_percent),
		cmocka_unit_test(test_kvm_probe_absent),
		cmocka_unit_test(test_virt_caps),
		cmocka_unit_test(test_virt_domcaps_tcg),
		cmocka_unit_test(test_cpu_map_and_compare),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
