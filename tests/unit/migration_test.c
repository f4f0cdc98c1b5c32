/* Readiness checks of an incoming migration (vdsm-c/migration/dest.c): each refusal
 * with its code and message, against a fake /sys/class/net. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../vdsm-c/migration/migration.h"

static char root[] = "/tmp/migration_test.XXXXXX";

static void put(const char *rel, const char *text)
{
	char p[256];
	snprintf(p, sizeof(p), "%s%s", root, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mk(const char *rel)
{
	char p[256];
	snprintf(p, sizeof(p), "%s%s", root, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

/* Fake libvirt CPU map: Nehalem runnable, Skylake-Server lacks two features, POWER8
 * unknown, Opteron_G5 while libvirt has not answered. */
static int fake_compare(const char *model, char ***ret_missing, size_t *ret_n)
{
	*ret_missing = NULL;
	*ret_n = 0;
	if (!strcmp(model, "Nehalem"))
		return 1;
	if (!strcmp(model, "Skylake-Server")) {
		char **v = calloc(3, sizeof(*v));
		assert_non_null(v);
		v[0] = strdup("avx512f");
		v[1] = strdup("pku");
		*ret_missing = v;
		*ret_n = 2;
		return 0;
	}
	if (!strcmp(model, "Opteron_G5"))
		return -ENOTCONN;
	return -ENOENT;
}

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(root));
	mk("/sys");
	mk("/sys/class");
	mk("/sys/class/net");
	mk("/sys/class/net/ovirtmgmt");
	mk("/sys/class/net/ovirtmgmt/bridge");
	put("/sys/class/net/ovirtmgmt/flags", "0x1003\n");
	mk("/sys/class/net/brdown");
	mk("/sys/class/net/brdown/bridge");
	put("/sys/class/net/brdown/flags", "0x1002\n");
	mk("/sys/class/net/eth0"); /* not a bridge */
	put("/sys/class/net/eth0/flags", "0x1003\n");
	const struct migration_opts o = { .host_root = root, .max_incoming = 2,
					  .destination_timeout = 10, .host_mem_reserve = 256,
					  .guest_ram_overhead = 65, .max_cpu_load = 80,
					  .cpu_compare = fake_compare };
	return migration_start(&o);
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;
	migration_stop();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static struct vm_conf *conf(long long mem, const char *net)
{
	struct vm_conf *c = vm_conf_new();
	assert_non_null(c);
	strcpy(c->id, "8f1c2a3e-0000-4000-8000-000000000001");
	c->mem_mib = mem;
	c->nics = calloc(1, sizeof(*c->nics));
	c->n_nics = 1;
	strcpy(c->nics[0].mac, "00:1a:4a:00:00:01");
	c->nics[0].network = strdup(net);
	return c;
}

static void test_passes(void **state)
{
	struct migration_host_facts f = { .mem_available_mib = 4096 };
	struct vd_error err = { 0 };
	struct vm_conf *c = conf(1024, "ovirtmgmt");

	(void)state;
	assert_int_equal(migration_check_incoming(c, &f, true, &err), 0);
	assert_int_equal(err.code, 0);
	/* exactly enough: 4096 - 256 - (1024 + 65) reserved = 2751 = 2686 + 65 */
	f.incoming = 1;
	f.incoming_mem_mib = 1089;
	c->mem_mib = 2686;
	assert_int_equal(migration_check_incoming(c, &f, true, &err), 0);
	/* a runnable custom model; host-model CPUs are not compared */
	c->cpu_mode = VM_CPU_CUSTOM;
	c->cpu_model = strdup("Nehalem");
	assert_int_equal(migration_check_incoming(c, &f, true, &err), 0);
	c->cpu_mode = VM_CPU_HOST_MODEL;
	free(c->cpu_model);
	c->cpu_model = strdup("POWER8");
	assert_int_equal(migration_check_incoming(c, &f, true, &err), 0);
	/* CPU load: 30 % busy + 2 vCPUs of 4 CPUs = 80 %, exactly the maximum */
	c->vcpus = 2;
	f.cpu_used_pct = 30;
	f.n_cpus = 4;
	assert_int_equal(migration_check_incoming(c, &f, true, &err), 0);
	/* unknown load (no sample yet): not checked */
	f.cpu_used_pct = -1;
	f.n_cpus = 0;
	assert_int_equal(migration_check_incoming(c, &f, true, &err), 0);
	assert_int_equal(err.code, 0);
	vm_conf_free(c);
}

static void expect(struct vm_conf *c, const struct migration_host_facts *f, bool limit,
		   int code, const char *text)
{
	struct vd_error err = { 0 };
	assert_int_equal(migration_check_incoming(c, f, limit, &err), -1);
	assert_int_equal(err.code, code);
	if (!strstr(err.msg, text))
		fail_msg("'%s' not in '%s'", text, err.msg);
	vm_conf_free(c);
}

static void test_refusals(void **state)
{
	struct migration_host_facts f = { .mem_available_mib = 4096 };
	struct migration_host_facts full = { .mem_available_mib = 4096, .incoming = 2,
					     .incoming_mem_mib = 200 };
	struct migration_host_facts reserved = { .mem_available_mib = 4096, .incoming = 1,
						 .incoming_mem_mib = 1090 };

	(void)state;
	expect(conf(128, "ovirtmgmt"), &full, true, 82, "2 of 2 incoming migrations");
	expect(conf(128, "ovirtmgmt"), &full, false, 12, "Incoming migration limit exceeded");
	expect(conf(4096, "ovirtmgmt"), &f, true, 14,
	       "needs 4161 MiB (memSize 4096 + overhead 65), this host has 3840 MiB");
	/* one MiB over what the incoming reservation leaves */
	expect(conf(2686, "ovirtmgmt"), &reserved, true, 14, "1090 reserved by incoming");
	expect(conf(128, "nosuchbr"), &f, true, 9, "NIC 00:1a:4a:00:00:01: no bridge 'nosuchbr'");
	expect(conf(128, "eth0"), &f, true, 9, "no bridge 'eth0'");
	expect(conf(128, "brdown"), &f, true, 9, "bridge 'brdown' is down");
	/* a hostile name never becomes a path */
	expect(conf(128, "../../etc"), &f, true, 9, "no bridge");
}

static struct vm_conf *cpu_conf(const char *model, int vcpus)
{
	struct vm_conf *c = conf(128, "ovirtmgmt");
	c->vcpus = vcpus;
	if (model) {
		c->cpu_mode = VM_CPU_CUSTOM;
		c->cpu_model = strdup(model);
	}
	return c;
}

static void test_cpu_refusals(void **state)
{
	struct migration_host_facts f = { .mem_available_mib = 4096, .cpu_used_pct = 30.5,
					  .n_cpus = 4 };

	(void)state;
	expect(cpu_conf("Skylake-Server", 1), &f, true, 9,
	       "CPU model 'Skylake-Server' is not runnable on this host (missing: avx512f pku)");
	expect(cpu_conf("POWER8", 1), &f, true, 9, "CPU model 'POWER8' is unknown");
	expect(cpu_conf("Opteron_G5", 1), &f, true, 9, "cannot compare CPU model 'Opteron_G5'");
	/* 30.5 % + 2 of 4 CPUs = 80.5 % > 80 % */
	expect(cpu_conf(NULL, 2), &f, true, 40,
	       "host CPU load would reach 80% with the VM (30% busy now + 2 vCPU(s) of 4 CPUs), over the maximum of 80%");
	/* memory is checked before CPU */
	struct vm_conf *c = cpu_conf("Skylake-Server", 1);
	c->mem_mib = 8192;
	expect(c, &f, true, 14, "Not enough free memory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passes),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_cpu_refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
