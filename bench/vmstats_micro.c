/* getAllVmStats reply building in-process, with full stats (2 NICs + 1 disk per VM),
 * which libvirt's test driver cannot produce (its bulk stats carry only the state).
 *
 *   vmstats_micro N...   → one line per N: reply bytes, p50/p99 ms over 200 builds
 *
 * Same code path as the verb: VM registry → vm_foreach → rpc/writer → reply blob. No network,
 * no TLS (bench/vm_bench.py measures those with the test driver). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vdsm-c/vm/vm-internal.h"
#include "../vdsm-c/verbs/vm_wire.h"
#include "../vdsm-c/util/util.h"

#define ULL(f, v) { .field = f, .type = VIR_TYPED_PARAM_ULLONG, .value.ul = (v) }
#define STR(f, v) { .field = f, .type = VIR_TYPED_PARAM_STRING, .value.s = (char *)(v) }

static void add_vms(int from, int to)
{
	for (int i = from; i < to; i++) {
		char id[37];
		if (util_uuid_generate(id) < 0)
			abort();
		struct vm *vm = vm_obj_new(id);
		char name[32];
		snprintf(name, sizeof(name), "bench-%05d", i);
		vm->name = strdup(name);
		vm->mem_mib = 1024;
		vm->vcpus = 2;
		vm->status = VM_ST_UP;
		vm->start_time = util_now_real() - 3600;
		struct vm_dev_info *d = calloc(2, sizeof(*d));
		for (int k = 0; k < 2; k++) {
			char tap[16];
			snprintf(tap, sizeof(tap), "vnet%d", 2 * i + k);
			d[k].kind = 'n';
			d[k].target = strdup(tap);
			d[k].model = strdup("virtio");
			snprintf(d[k].mac, sizeof(d[k].mac), "00:1a:4a:%02x:%02x:%02x", k, (i >> 8) & 255, i & 255);
		}
		vm_set_devs_locked(vm, d, 2);
		vm->drives = calloc(1, sizeof(*vm->drives));
		vm->n_drives = 1;
		strcpy(vm->drives[0].target, "vda");
		if (util_uuid_generate(id) < 0)
			abort();
		vm->drives[0].image_id = strdup(id);
		char t0[16], t1[16];
		snprintf(t0, sizeof(t0), "vnet%d", 2 * i);
		snprintf(t1, sizeof(t1), "vnet%d", 2 * i + 1);
		for (int s = 0; s < 2; s++) {
			uint64_t m = (uint64_t)(s + 1);
			virTypedParameter p[] = {
				ULL("cpu.time", 5000000000ULL * m), ULL("cpu.user", 700000000ULL * m),
				ULL("cpu.system", 300000000ULL * m), ULL("balloon.current", 1048576),
				ULL("balloon.maximum", 1048576), ULL("vcpu.current", 2), ULL("net.count", 2),
				STR("net.0.name", t0), ULL("net.0.rx.bytes", 123456789 * m),
				ULL("net.0.tx.bytes", 98765432 * m), STR("net.1.name", t1),
				ULL("net.1.rx.bytes", 1234 * m), ULL("net.1.tx.bytes", 4321 * m),
				ULL("block.count", 1), STR("block.0.name", "vda"),
				ULL("block.0.rd.bytes", 1 << 30), ULL("block.0.wr.bytes", (1ULL << 29) * m),
				ULL("block.0.rd.reqs", 100000), ULL("block.0.wr.reqs", 50000 * m),
				ULL("block.0.wr.times", 900000000ULL * m), ULL("block.0.physical", 10ULL << 30),
				ULL("block.0.allocation", 3ULL << 30),
			};
			vm_sample_apply(vm, p, (int)(sizeof(p) / sizeof(p[0])), 100.0 + 15 * s);
		}
		if (vm_registry_add(vm) < 0)
			abort();
		vm_unref(vm);
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	enum { ROUNDS = 200 };
	int have = 0;

	for (int a = 1; a < argc; a++) {
		int n = atoi(argv[a]);
		add_vms(have, n);
		have = n;
		double t[ROUNDS];
		size_t bytes = 0;
		for (int r = 0; r < ROUNDS; r++) {
			struct rpc_blob *b = NULL;
			double t0 = util_now_monotonic();
			if (vm_wire_stats_reply(NULL, &b) < 0)
				return 1;
			t[r] = (util_now_monotonic() - t0) * 1e3;
			bytes = b->len;
			rpc_blob_unref(b);
		}
		qsort(t, ROUNDS, sizeof(t[0]), cmp);
		printf("getAllVmStats %d VMs, full stats, in-process build: %zu bytes, p50 %.2f ms, p99 %.2f ms\n",
		       n, bytes, t[ROUNDS / 2], t[ROUNDS * 99 / 100]);
	}
	vm_registry_clear();
	return 0;
}
