/* The host-readiness checks (vdsm-c/host/readiness.c) on fixtures: certificates made by
 * scripts/vdsm-c-certs and judged at chosen times, /proc/meminfo files, hand-built
 * network snapshots and host facts. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

#include "../../vdsm-c/host/readiness.h"

static char tmp[64];
static char pki[128], other[128], mixed[128], proc_root[128];
static double t0;

static void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/vdsm-readiness-XXXXXX");
	assert_non_null(mkdtemp(tmp));
	snprintf(pki, sizeof(pki), "%s/pki", tmp);
	snprintf(other, sizeof(other), "%s/other", tmp);
	snprintf(mixed, sizeof(mixed), "%s/mixed", tmp);
	snprintf(proc_root, sizeof(proc_root), "%s/root", tmp);
	/* Two PKIs valid 100 days; "mixed" has pki's certificate with other's CA and key. */
	sh("scripts/vdsm-c-certs --dir %s --cn localhost --days 100 >/dev/null", pki);
	sh("scripts/vdsm-c-certs --dir %s --cn localhost --days 100 >/dev/null", other);
	sh("mkdir -p %s/certs %s/keys %s/proc", mixed, mixed, proc_root);
	t0 = (double)time(NULL) + 60; /* a minute after the certificates' start */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sh("rm -rf %s", tmp);
	return 0;
}

static const struct rd_check *find(const struct rd_report *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->checks[i].name, name) == 0)
			return &r->checks[i];
	fail_msg("no check named %s", name);
	static const struct rd_check none;
	return &none;
}

/* Properties of every report: the verdict is the worst line's, and every line that is
 * not ok tells what to do. */
static void check_report(const struct rd_report *r)
{
	enum rd_verdict worst = RD_OK;
	for (size_t i = 0; i < r->n; i++) {
		const struct rd_check *c = &r->checks[i];
		worst = c->verdict > worst ? c->verdict : worst;
		if (c->verdict != RD_OK && !c->hint[0])
			fail_msg("%s: %s without a hint", c->name, rd_verdict_name(c->verdict));
		assert_true(c->detail[0] != '\0');
	}
	assert_int_equal(r->verdict, worst);
}

static void run(struct rd_input *in, struct rd_report *r)
{
	if (!in->host_root)
		in->host_root = proc_root;
	if (!in->now)
		in->now = t0;
	if (!in->cert_warn_days)
		in->cert_warn_days = 30;
	readiness_run(in, r);
	check_report(r);
}

static void meminfo(long long avail_kib)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/proc/meminfo", proc_root);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "MemTotal:        8000000 kB\nMemFree:         %lld kB\n"
		   "MemAvailable:    %lld kB\n", avail_kib, avail_kib);
	fclose(f);
}

static void test_certificates(void **state)
{
	static struct rd_report r;
	(void)state;
	meminfo(4000000);

	struct rd_input in = { .trust_store = pki };
	run(&in, &r);
	assert_int_equal(find(&r, "certificates")->verdict, RD_OK);
	assert_non_null(strstr(find(&r, "certificates")->detail, "valid for 100 more day"));

	/* 80 days later: 20 days left, under the 30-day warning */
	in = (struct rd_input){ .trust_store = pki, .now = t0 + 80 * 86400.0 };
	run(&in, &r);
	assert_int_equal(find(&r, "certificates")->verdict, RD_WARN);
	assert_non_null(strstr(find(&r, "certificates")->detail, "expires in 2"));

	in = (struct rd_input){ .trust_store = pki, .now = t0 + 200 * 86400.0 };
	run(&in, &r);
	assert_int_equal(find(&r, "certificates")->verdict, RD_FAIL);
	assert_non_null(strstr(find(&r, "certificates")->detail, "expired 100 day"));

	in = (struct rd_input){ .trust_store = pki, .now = t0 - 2 * 86400.0 };
	run(&in, &r);
	assert_int_equal(find(&r, "certificates")->verdict, RD_FAIL);
	assert_non_null(strstr(find(&r, "certificates")->detail, "not valid yet"));

	/* pki's certificate under another CA */
	sh("cp %s/certs/vdsmcert.pem %s/certs/ && cp %s/certs/cacert.pem %s/certs/ && "
	   "cp %s/keys/vdsmkey.pem %s/keys/", pki, mixed, other, mixed, pki, mixed);
	in = (struct rd_input){ .trust_store = mixed };
	run(&in, &r);
	assert_int_equal(find(&r, "certificates")->verdict, RD_FAIL);
	if (!strstr(find(&r, "certificates")->detail, "is not signed by"))
		fail_msg("%s", find(&r, "certificates")->detail);

	/* the right CA, another host's key */
	sh("cp %s/certs/cacert.pem %s/certs/ && cp %s/keys/vdsmkey.pem %s/keys/", pki, mixed,
	   other, mixed);
	run(&in, &r);
	assert_int_equal(find(&r, "certificates")->verdict, RD_FAIL);
	assert_non_null(strstr(find(&r, "certificates")->detail, "does not go with"));

	in = (struct rd_input){ .trust_store = tmp }; /* no certs/ there */
	run(&in, &r);
	assert_int_equal(find(&r, "certificates")->verdict, RD_FAIL);
	assert_non_null(strstr(find(&r, "certificates")->detail, "cannot read"));

	in = (struct rd_input){ .trust_store = NULL }; /* plain HTTP */
	run(&in, &r);
	assert_int_equal(find(&r, "certificates")->verdict, RD_WARN);
}

static void test_memory(void **state)
{
	static struct rd_report r;
	(void)state;

	struct rd_input in = { .host_mem_reserve_mib = 256, .extra_mem_reserve_mib = 65 };
	meminfo(200 * 1024);
	run(&in, &r);
	assert_int_equal(find(&r, "memory")->verdict, RD_FAIL);
	assert_non_null(strstr(find(&r, "memory")->detail, "200 MiB available"));
	meminfo(700 * 1024);
	run(&in, &r);
	assert_int_equal(find(&r, "memory")->verdict, RD_WARN);
	meminfo(4000 * 1024);
	run(&in, &r);
	assert_int_equal(find(&r, "memory")->verdict, RD_OK);
	assert_non_null(strstr(find(&r, "memory")->detail, "321 MiB reserved"));
}

static int cmp_dev(const void *a, const void *b)
{
	return strcmp(((const struct net_dev *)a)->name, ((const struct net_dev *)b)->name);
}

static void test_networks(void **state)
{
	static struct rd_report r;
	static struct net_dev devs[8];
	static char *ports[] = { "eth0.100" };
	static char *ports2[] = { "eth1", "eth2" };
	(void)state;
	meminfo(4000000);

	memset(devs, 0, sizeof(devs));
	snprintf(devs[0].name, IFNAMSIZ, "ovirtmgmt");
	devs[0].kind = NET_KIND_BRIDGE, devs[0].up = true, devs[0].mtu = 1500;
	devs[0].ports = ports, devs[0].n_ports = 1;
	snprintf(devs[1].name, IFNAMSIZ, "eth0.100");
	devs[1].kind = NET_KIND_VLAN, devs[1].up = true, devs[1].mtu = 1500, devs[1].vlan_id = 100;
	devs[1].carrier = true;
	snprintf(devs[1].vlan_base, IFNAMSIZ, "eth0");
	snprintf(devs[2].name, IFNAMSIZ, "lonely");
	devs[2].kind = NET_KIND_BRIDGE, devs[2].up = true, devs[2].mtu = 9000;
	snprintf(devs[3].name, IFNAMSIZ, "sleepy");
	devs[3].kind = NET_KIND_BRIDGE, devs[3].up = false, devs[3].mtu = 1500;
	devs[3].ports = ports, devs[3].n_ports = 1;
	snprintf(devs[4].name, IFNAMSIZ, "eth0");
	devs[4].kind = NET_KIND_NIC, devs[4].up = true, devs[4].mtu = 1500;
	/* a bridge with two ports: eth1 down, eth2 up without carrier */
	snprintf(devs[5].name, IFNAMSIZ, "nolink");
	devs[5].kind = NET_KIND_BRIDGE, devs[5].up = true, devs[5].mtu = 1500;
	devs[5].ports = ports2, devs[5].n_ports = 2;
	snprintf(devs[6].name, IFNAMSIZ, "eth1");
	devs[6].kind = NET_KIND_NIC, devs[6].up = false, devs[6].mtu = 1500;
	snprintf(devs[7].name, IFNAMSIZ, "eth2");
	devs[7].kind = NET_KIND_NIC, devs[7].up = true, devs[7].mtu = 1500;
	qsort(devs, 8, sizeof(devs[0]), cmp_dev);
	struct net_snapshot ns = { .n_devs = 8, .devs = devs };

	const char *nets[] = { "ovirtmgmt", "lonely", "sleepy", "absent", "eth0", "nolink" };
	struct rd_input in = { .net = &ns, .networks = nets, .n_networks = 6 };
	run(&in, &r);
	assert_int_equal(find(&r, "network:nolink")->verdict, RD_FAIL);
	assert_string_equal(find(&r, "network:nolink")->detail, "bridge 'nolink' is up but no "
			    "port has link (eth1 down, eth2 without carrier; MTU 1500)");
	assert_non_null(strstr(find(&r, "network:nolink")->hint, "ip link set PORT up"));
	/* one port of two with link: a warning naming the other */
	((struct net_dev *)net_snapshot_find(&ns, "eth2"))->carrier = true;
	run(&in, &r);
	assert_int_equal(find(&r, "network:nolink")->verdict, RD_WARN);
	assert_string_equal(find(&r, "network:nolink")->detail,
			    "bridge 'nolink' up, MTU 1500, but eth1 down");
	assert_int_equal(find(&r, "network:ovirtmgmt")->verdict, RD_OK);
	assert_non_null(strstr(find(&r, "network:ovirtmgmt")->detail, "VLAN 100 on eth0"));
	assert_int_equal(find(&r, "network:lonely")->verdict, RD_WARN);
	assert_int_equal(find(&r, "network:sleepy")->verdict, RD_FAIL);
	assert_int_equal(find(&r, "network:absent")->verdict, RD_FAIL);
	assert_int_equal(find(&r, "network:eth0")->verdict, RD_OK);
	assert_int_equal(r.verdict, RD_FAIL);

	/* against the persisted running networks: VLAN id, VLAN device, MTU */
	((struct net_dev *)net_snapshot_find(&ns, "eth2"))->carrier = false;
	static const char conf[] =
		"net ovirtmgmt nic=eth0 vlan=100 mtu=1500\n"     /* as the kernel has it */
		"net lonely nic=eth0 mtu=1500\n"                 /* kernel: 9000 */
		"net sleepy nic=eth0 vlan=200\n"                 /* kernel: VLAN 100 */
		"net nolink nic=eth1 vlan=7\n";                  /* kernel: no VLAN device */
	struct netconf running = { 0 };
	struct vd_error err = { 0 };
	assert_int_equal(netconf_parse(conf, strlen(conf), &running, &err), 0);
	in.running = &running;
	run(&in, &r);
	assert_int_equal(find(&r, "network:ovirtmgmt")->verdict, RD_OK);
	assert_int_equal(find(&r, "network:lonely")->verdict, RD_WARN);
	assert_string_equal(find(&r, "network:lonely")->detail,
			    "'lonely' has MTU 9000, the persisted network MTU 1500");
	assert_int_equal(find(&r, "network:sleepy")->verdict, RD_FAIL);
	assert_string_equal(find(&r, "network:sleepy")->detail, "'sleepy' is on VLAN 100 on eth0 "
			    "(eth0.100), the persisted network is VLAN 200 on eth0");
	assert_int_equal(find(&r, "network:nolink")->verdict, RD_FAIL);
	assert_string_equal(find(&r, "network:nolink")->detail,
			    "'nolink' has no VLAN device: the persisted network is VLAN 7 on eth1");
	assert_int_equal(find(&r, "network:absent")->verdict, RD_FAIL);
	netconf_free(&running);

	in = (struct rd_input){ .net = NULL, .networks = nets, .n_networks = 1 };
	run(&in, &r);
	assert_int_equal(find(&r, "network:ovirtmgmt")->verdict, RD_FAIL);
}

/* The kernel clock state as adjtimex(2) would give it (the fake OS boundary). */
static struct timex fake_tx;
static int fake_state, fake_errno;

static int fake_clock(struct timex *tx)
{
	if (fake_state < 0) {
		errno = fake_errno;
		return -1;
	}
	*tx = fake_tx;
	return fake_state;
}

static void test_clock(void **state)
{
	static struct rd_report r;
	struct rd_input in = { .clock_read = fake_clock };
	(void)state;
	meminfo(4000000);

	/* synchronized, 1.5 ms off in microseconds */
	fake_tx = (struct timex){ .status = STA_PLL, .offset = 1500, .maxerror = 16000 };
	fake_state = TIME_OK;
	run(&in, &r);
	assert_int_equal(find(&r, "clock")->verdict, RD_OK);
	assert_string_equal(find(&r, "clock")->detail,
			    "synchronized (offset 1.5 ms, max error 16 ms)");
	/* the same in nanoseconds */
	fake_tx.status = STA_PLL | STA_NANO, fake_tx.offset = 1500000;
	run(&in, &r);
	assert_string_equal(find(&r, "clock")->detail,
			    "synchronized (offset 1.5 ms, max error 16 ms)");
	/* no NTP client: the kernel says unsynchronized */
	fake_tx = (struct timex){ .status = STA_UNSYNC, .maxerror = 16000000 };
	fake_state = TIME_ERROR;
	run(&in, &r);
	assert_int_equal(find(&r, "clock")->verdict, RD_WARN);
	assert_string_equal(find(&r, "clock")->detail, "the clock is not synchronized (no NTP)");
	assert_non_null(strstr(find(&r, "clock")->hint, "chrony"));
	/* STA_UNSYNC alone is enough */
	fake_state = TIME_OK;
	run(&in, &r);
	assert_int_equal(find(&r, "clock")->verdict, RD_WARN);
	/* synchronized but far off, both signs */
	fake_tx = (struct timex){ .status = STA_PLL, .offset = -800000 };
	run(&in, &r);
	assert_int_equal(find(&r, "clock")->verdict, RD_WARN);
	assert_string_equal(find(&r, "clock")->detail, "synchronized, but -800 ms off");
	assert_non_null(strstr(find(&r, "clock")->hint, "NTP servers"));
	fake_tx.offset = 500000;          /* the limit itself is still ok */
	run(&in, &r);
	assert_int_equal(find(&r, "clock")->verdict, RD_OK);
	/* the kernel refuses the call */
	fake_state = -1, fake_errno = EPERM;
	run(&in, &r);
	assert_int_equal(find(&r, "clock")->verdict, RD_WARN);
	assert_non_null(strstr(find(&r, "clock")->detail, strerror(EPERM)));
}

static void test_libvirt_and_cpu(void **state)
{
	static struct rd_report r;
	static struct hostcaps caps;
	static struct cpu_virt virt;
	(void)state;
	meminfo(4000000);

	struct rd_input in = { .caps = NULL };
	run(&in, &r);
	assert_int_equal(find(&r, "libvirt")->verdict, RD_FAIL);
	assert_int_equal(find(&r, "cpu")->verdict, RD_FAIL);

	memset(&caps, 0, sizeof(caps));
	caps.kvm_api = -ENOENT;
	vd_error_set(&caps.virt_error, VD_ERR_GENERAL, "cannot connect to libvirt: refused");
	in = (struct rd_input){ .caps = &caps };
	run(&in, &r);
	assert_int_equal(find(&r, "libvirt")->verdict, RD_FAIL);
	assert_non_null(strstr(find(&r, "libvirt")->detail, "refused"));
	assert_int_equal(find(&r, "kvm")->verdict, RD_WARN);

	memset(&virt, 0, sizeof(virt));
	virt.domain_type = "qemu";
	virt.lib_version = 9000000;
	virt.hv_version = 7002000;
	virt.host_model = "EPYC";
	virt.host_vendor = "AMD";
	caps.virt = &virt;
	caps.kvm_api = 12;
	in = (struct rd_input){ .caps = &caps };
	run(&in, &r);
	assert_int_equal(find(&r, "libvirt")->verdict, RD_OK);
	assert_non_null(strstr(find(&r, "libvirt")->detail, "libvirt 9.0.0, QEMU 7.2.0, qemu"));
	assert_int_equal(find(&r, "kvm")->verdict, RD_OK);
	assert_int_equal(find(&r, "cpu")->verdict, RD_OK); /* no baseline asked */

	/* A baseline without the hostcaps module (no CPU map loaded): said, not guessed. */
	in = (struct rd_input){ .caps = &caps, .cluster_cpu = "model_Haswell" };
	run(&in, &r);
	assert_int_equal(find(&r, "cpu")->verdict, RD_FAIL);
	assert_non_null(strstr(find(&r, "cpu")->detail, "Haswell"));
	caps.virt = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_certificates),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_networks),
		cmocka_unit_test(test_libvirt_and_cpu),
		cmocka_unit_test(test_clock),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
