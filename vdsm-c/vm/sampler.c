/* The VM sampler: one virConnectGetAllDomainStats call per interval for every
 * domain, turned into per-VM rates kept in memory, so getVmStats/getAllVmStats read
 * without I/O. It also reconnects a lost libvirt connection and catches VMs whose
 * stop event was missed (the domain vanished while we believed it running). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libvirt/virterror.h>

#include "../util/log.h"
#include "vm-internal.h"
#include "../util/util.h"

static pthread_t tid;
static bool running;
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sleep_cond = PTHREAD_COND_INITIALIZER;
static bool stop_flag;
static unsigned stats_flags = VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT;

/* ---- one record → one VM ---- */

struct raw_nic {
	const char *name;
	uint64_t rx, tx, rx_errs, rx_drop, tx_errs, tx_drop;
};

struct raw_disk {
	const char *name;
	uint64_t rd_bytes, wr_bytes, rd_reqs, wr_reqs, fl_reqs, rd_ns, wr_ns, fl_ns;
	uint64_t allocation, capacity, physical;
};

struct raw {
	uint64_t cpu_time, cpu_user, cpu_sys;
	bool have_cpu;
	long long bal_cur, bal_max, bal_avail, bal_unused;
	int vcpu_current;
	int state;
	struct raw_nic *nics;
	size_t n_nics;
	struct raw_disk *disks;
	size_t n_disks;
};

static uint64_t ull(const virTypedParameter *p)
{
	switch (p->type) {
	case VIR_TYPED_PARAM_ULLONG: return p->value.ul;
	case VIR_TYPED_PARAM_LLONG: return p->value.l < 0 ? 0 : (uint64_t)p->value.l;
	case VIR_TYPED_PARAM_UINT: return p->value.ui;
	case VIR_TYPED_PARAM_INT: return p->value.i < 0 ? 0 : (uint64_t)p->value.i;
	default: return 0;
	}
}

/* "net.3.rx.bytes" → index 3, suffix "rx.bytes"; -1 when out of [0, count). */
static long indexed(const char *field, size_t count, const char **suffix)
{
	char *end;
	unsigned long i = strtoul(field, &end, 10);

	if (end == field || *end != '.' || i >= count)
		return -1;
	*suffix = end + 1;
	return (long)i;
}

static void parse_record(const virTypedParameter *ps, int n, struct raw *r)
{
	size_t nets = 0, blocks = 0;

	/* Counts first: libvirt lists net.count / block.count before their entries, but
	 * do not rely on it. */
	for (int i = 0; i < n; i++) {
		if (strcmp(ps[i].field, "net.count") == 0)
			nets = ull(&ps[i]);
		else if (strcmp(ps[i].field, "block.count") == 0)
			blocks = ull(&ps[i]);
	}
	if (nets > 256)
		nets = 256;
	if (blocks > 256)
		blocks = 256;
	r->nics = nets ? calloc(nets, sizeof(*r->nics)) : NULL;
	r->n_nics = r->nics ? nets : 0;
	r->disks = blocks ? calloc(blocks, sizeof(*r->disks)) : NULL;
	r->n_disks = r->disks ? blocks : 0;
	r->bal_cur = r->bal_max = r->bal_avail = r->bal_unused = -1;
	r->state = -1;

	for (int i = 0; i < n; i++) {
		const virTypedParameter *p = &ps[i];
		const char *f = p->field, *s;
		long k;
		if (strncmp(f, "cpu.", 4) == 0) {
			if (strcmp(f + 4, "time") == 0) {
				r->cpu_time = ull(p);
				r->have_cpu = true;
			} else if (strcmp(f + 4, "user") == 0)
				r->cpu_user = ull(p);
			else if (strcmp(f + 4, "system") == 0)
				r->cpu_sys = ull(p);
		} else if (strncmp(f, "balloon.", 8) == 0) {
			if (strcmp(f + 8, "current") == 0)
				r->bal_cur = (long long)ull(p);
			else if (strcmp(f + 8, "maximum") == 0)
				r->bal_max = (long long)ull(p);
			else if (strcmp(f + 8, "available") == 0)
				r->bal_avail = (long long)ull(p);
			else if (strcmp(f + 8, "unused") == 0)
				r->bal_unused = (long long)ull(p);
		} else if (strcmp(f, "vcpu.current") == 0) {
			r->vcpu_current = (int)ull(p);
		} else if (strcmp(f, "state.state") == 0) {
			r->state = (int)ull(p);
		} else if (strncmp(f, "net.", 4) == 0 && (k = indexed(f + 4, r->n_nics, &s)) >= 0) {
			struct raw_nic *x = &r->nics[k];
			if (strcmp(s, "name") == 0 && p->type == VIR_TYPED_PARAM_STRING)
				x->name = p->value.s;
			else if (strcmp(s, "rx.bytes") == 0) x->rx = ull(p);
			else if (strcmp(s, "tx.bytes") == 0) x->tx = ull(p);
			else if (strcmp(s, "rx.errs") == 0) x->rx_errs = ull(p);
			else if (strcmp(s, "rx.drop") == 0) x->rx_drop = ull(p);
			else if (strcmp(s, "tx.errs") == 0) x->tx_errs = ull(p);
			else if (strcmp(s, "tx.drop") == 0) x->tx_drop = ull(p);
		} else if (strncmp(f, "block.", 6) == 0 && (k = indexed(f + 6, r->n_disks, &s)) >= 0) {
			struct raw_disk *x = &r->disks[k];
			if (strcmp(s, "name") == 0 && p->type == VIR_TYPED_PARAM_STRING)
				x->name = p->value.s;
			else if (strcmp(s, "rd.bytes") == 0) x->rd_bytes = ull(p);
			else if (strcmp(s, "wr.bytes") == 0) x->wr_bytes = ull(p);
			else if (strcmp(s, "rd.reqs") == 0) x->rd_reqs = ull(p);
			else if (strcmp(s, "wr.reqs") == 0) x->wr_reqs = ull(p);
			else if (strcmp(s, "fl.reqs") == 0) x->fl_reqs = ull(p);
			else if (strcmp(s, "rd.times") == 0) x->rd_ns = ull(p);
			else if (strcmp(s, "wr.times") == 0) x->wr_ns = ull(p);
			else if (strcmp(s, "fl.times") == 0) x->fl_ns = ull(p);
			else if (strcmp(s, "allocation") == 0) x->allocation = ull(p);
			else if (strcmp(s, "capacity") == 0) x->capacity = ull(p);
			else if (strcmp(s, "physical") == 0) x->physical = ull(p);
		}
	}
}

static double delta_rate(uint64_t now, uint64_t before, double interval)
{
	return now >= before && interval > 0 ? (double)(now - before) / interval : 0;
}

static double latency(uint64_t ns_now, uint64_t ns_before, uint64_t reqs_now, uint64_t reqs_before)
{
	if (reqs_now <= reqs_before || ns_now < ns_before)
		return 0;
	return (double)(ns_now - ns_before) / (double)(reqs_now - reqs_before) / 1e9;
}

/* Caller holds vm->lock. */
static void apply_locked(struct vm *vm, struct raw *r, double mono)
{
	double interval = vm->have_sample ? mono - vm->sample_mono : 0;

	if (r->have_cpu) {
		if (interval > 0) {
			/* As VDSM: cpuSys = QEMU's user+system time, cpuUser = the rest of the
			 * domain's CPU time (the guest), both % of one CPU. */
			bool forward = r->cpu_user >= vm->cpu_user && r->cpu_sys >= vm->cpu_sys &&
				       r->cpu_time >= vm->cpu_time;
			double sys = forward ? (double)((r->cpu_user - vm->cpu_user) +
							(r->cpu_sys - vm->cpu_sys)) : 0;
			double total = forward ? (double)(r->cpu_time - vm->cpu_time) : 0;
			double user = total > sys ? total - sys : 0;
			vm->cpu_sys_pct = 100.0 * sys / (interval * 1e9);
			vm->cpu_user_pct = 100.0 * user / (interval * 1e9);
		}
		vm->cpu_time = r->cpu_time;
		vm->cpu_user = r->cpu_user;
		vm->cpu_sys = r->cpu_sys;
	}
	vm->balloon_cur = r->bal_cur;
	vm->balloon_max = r->bal_max;
	if (r->bal_avail > 0 && r->bal_unused >= 0 && r->bal_unused <= r->bal_avail)
		vm->mem_usage = (int)(100 * (r->bal_avail - r->bal_unused) / r->bal_avail);
	if (r->vcpu_current > 0)
		vm->vcpu_count = r->vcpu_current;

	/* NICs: rates against the previous sample of the same tap name. */
	struct vm_nic_stats *ns = r->n_nics ? calloc(r->n_nics, sizeof(*ns)) : NULL;
	struct vm_nic_raw *nr = r->n_nics ? calloc(r->n_nics, sizeof(*nr)) : NULL;
	size_t nn = 0;
	for (size_t i = 0; ns && nr && i < r->n_nics; i++) {
		const struct raw_nic *x = &r->nics[i];
		if (!x->name)
			continue;
		struct vm_nic_stats *o = &ns[nn];
		snprintf(o->name, sizeof(o->name), "%s", x->name);
		snprintf(nr[nn].name, sizeof(nr[nn].name), "%s", x->name);
		nr[nn].rx = x->rx;
		nr[nn].tx = x->tx;
		const char *model = NULL;
		for (size_t d = 0; d < vm->n_devs; d++)
			if (vm->devs[d].kind == 'n' && vm->devs[d].target &&
			    strcmp(vm->devs[d].target, x->name) == 0) {
				memcpy(o->mac, vm->devs[d].mac, sizeof(o->mac));
				model = vm->devs[d].model;
			}
		/* VDSM's nominal speeds (Mb/s): what the manager divides rates by. */
		o->speed = model && (strcmp(model, "virtio") == 0 || strcmp(model, "e1000") == 0) ? 1000 : 100;
		for (size_t p = 0; p < vm->n_nic_raw; p++)
			if (strcmp(vm->nic_raw[p].name, x->name) == 0 && interval > 0) {
				double bps = (double)o->speed * 1e6 / 8;
				o->rx_rate = 100.0 * delta_rate(x->rx, vm->nic_raw[p].rx, interval) / bps;
				o->tx_rate = 100.0 * delta_rate(x->tx, vm->nic_raw[p].tx, interval) / bps;
			}
		o->rx = x->rx;
		o->tx = x->tx;
		o->rx_errs = x->rx_errs;
		o->rx_drop = x->rx_drop;
		o->tx_errs = x->tx_errs;
		o->tx_drop = x->tx_drop;
		o->sample_time = mono;
		nn++;
	}
	free(vm->nic_stats);
	free(vm->nic_raw);
	vm->nic_stats = ns;
	vm->nic_raw = nr;
	vm->n_nic_stats = vm->n_nic_raw = nn;

	struct vm_disk_stats *ds = r->n_disks ? calloc(r->n_disks, sizeof(*ds)) : NULL;
	struct vm_disk_raw *dr = r->n_disks ? calloc(r->n_disks, sizeof(*dr)) : NULL;
	size_t dn = 0;
	for (size_t i = 0; ds && dr && i < r->n_disks; i++) {
		const struct raw_disk *x = &r->disks[i];
		if (!x->name)
			continue;
		struct vm_disk_stats *o = &ds[dn];
		struct vm_disk_raw *w = &dr[dn];
		snprintf(o->name, sizeof(o->name), "%s", x->name);
		snprintf(w->name, sizeof(w->name), "%s", x->name);
		w->rd_bytes = x->rd_bytes;
		w->wr_bytes = x->wr_bytes;
		w->rd_reqs = x->rd_reqs;
		w->wr_reqs = x->wr_reqs;
		w->fl_reqs = x->fl_reqs;
		w->rd_ns = x->rd_ns;
		w->wr_ns = x->wr_ns;
		w->fl_ns = x->fl_ns;
		for (size_t d = 0; d < vm->n_drives; d++)
			if (strcmp(vm->drives[d].target, x->name) == 0) {
				o->image_id = vm->drives[d].image_id;
				o->lun_guid = vm->drives[d].lun_guid;
			}
		for (size_t p = 0; p < vm->n_disk_raw; p++) {
			const struct vm_disk_raw *b = &vm->disk_raw[p];
			if (strcmp(b->name, x->name) != 0)
				continue;
			o->read_rate = delta_rate(x->rd_bytes, b->rd_bytes, interval);
			o->write_rate = delta_rate(x->wr_bytes, b->wr_bytes, interval);
			o->read_latency = latency(x->rd_ns, b->rd_ns, x->rd_reqs, b->rd_reqs);
			o->write_latency = latency(x->wr_ns, b->wr_ns, x->wr_reqs, b->wr_reqs);
			o->flush_latency = latency(x->fl_ns, b->fl_ns, x->fl_reqs, b->fl_reqs);
		}
		o->read_bytes = x->rd_bytes;
		o->write_bytes = x->wr_bytes;
		o->read_ops = x->rd_reqs;
		o->write_ops = x->wr_reqs;
		o->truesize = x->allocation ? x->allocation : x->physical;
		o->apparentsize = x->physical ? x->physical : x->capacity;
		dn++;
	}
	free(vm->disk_stats);
	free(vm->disk_raw);
	vm->disk_stats = ds;
	vm->disk_raw = dr;
	vm->n_disk_stats = vm->n_disk_raw = dn;

	vm->sample_mono = mono;
	vm->have_sample = true;
}

void vm_sample_apply(struct vm *vm, const virTypedParameter *params, int n, double mono)
{
	struct raw r = { 0 };

	parse_record(params, n, &r);
	pthread_mutex_lock(&vm->lock);
	apply_locked(vm, &r, mono);
	pthread_mutex_unlock(&vm->lock);
	free(r.nics);
	free(r.disks);
}

/* ---- reconcile ---- */

static int uuid_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void reconcile(virConnectPtr c, char (*present)[VIR_UUID_STRING_BUFLEN], size_t n)
{
	struct vm **vms;
	size_t nv;

	qsort(present, n, sizeof(*present), uuid_cmp);
	if (vm_registry_snapshot(&vms, &nv) < 0)
		return;
	for (size_t i = 0; i < nv; i++) {
		struct vm *vm = vms[i];
		pthread_mutex_lock(&vm->lock);
		bool check = !vm->starting && !vm->destroy_requested && !vm->removed &&
			     vm->status != VM_ST_DOWN && vm->status != VM_ST_WAIT_FOR_LAUNCH &&
			     vm->status != VM_ST_MIGRATION_DESTINATION; /* no domain yet */
		if (!check || bsearch(vm->id, present, n, sizeof(*present), uuid_cmp)) {
			vm->missing = 0;
			pthread_mutex_unlock(&vm->lock);
			continue;
		}
		pthread_mutex_unlock(&vm->lock);
		virDomainPtr dom = virDomainLookupByUUIDString(c, vm->id);
		if (dom) {
			virDomainFree(dom);
			continue;
		}
		if (vm_virt_error_code() != VIR_ERR_NO_DOMAIN)
			continue;
		pthread_mutex_lock(&vm->lock);
		/* A domain that left by itself has its libvirt event (migrated away: exit
		 * reason 4; shut down: 1) on its way on the event thread: Down "lost" only
		 * when it is still missing at the next sample and no event has told why. */
		if (++vm->missing < 2) {
			pthread_mutex_unlock(&vm->lock);
			continue;
		}
		bool save = !vm->destroy_requested &&
			    vm_set_down_locked(vm, VM_EXIT_CODE_ERROR, VM_EXIT_LOST_QEMU_CONNECTION,
					       "Lost connection with qemu process (the domain disappeared)");
		pthread_mutex_unlock(&vm->lock);
		if (save)
			vm_state_save(vm);
	}
	vm_registry_free_snapshot(vms, nv);
}

/* ---- the thread ---- */

static void sample_once(void)
{
	virConnectPtr c = vm_conn_get();
	virDomainStatsRecordPtr *recs = NULL;

	if (!c) {
		if (vm_conn_reconnect() < 0)
			return;
		c = vm_conn_get();
		if (!c)
			return;
	}
	unsigned what = VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL |
			VIR_DOMAIN_STATS_BALLOON | VIR_DOMAIN_STATS_VCPU |
			VIR_DOMAIN_STATS_INTERFACE | VIR_DOMAIN_STATS_BLOCK;
	int n = virConnectGetAllDomainStats(c, what, &recs, stats_flags);
	if (n < 0 && stats_flags && vm_virt_error_code() == VIR_ERR_INVALID_ARG) {
		/* A driver without NOWAIT (the test driver): ask plainly from now on. */
		stats_flags = 0;
		n = virConnectGetAllDomainStats(c, what, &recs, stats_flags);
	}
	if (n < 0) {
		log_warning("VM sampling: %s", vm_virt_error());
		if (virConnectIsAlive(c) != 1)
			vm_conn_broken();
		virConnectClose(c);
		return;
	}
	double mono = util_now_monotonic();
	char (*present)[VIR_UUID_STRING_BUFLEN] = calloc(n ? n : 1, sizeof(*present));
	size_t np = 0;
	for (int i = 0; i < n; i++) {
		char uuid[VIR_UUID_STRING_BUFLEN];
		if (virDomainGetUUIDString(recs[i]->dom, uuid) < 0)
			continue;
		if (present)
			memcpy(present[np++], uuid, sizeof(uuid));
		_cleanup_(vm_unrefp) struct vm *vm = vm_registry_find(uuid);
		if (vm)
			vm_sample_apply(vm, recs[i]->params, recs[i]->nparams, mono);
	}
	if (present)
		reconcile(c, present, np);
	free(present);
	virDomainStatsRecordListFree(recs);
	virConnectClose(c);
}

static void *loop(void *arg)
{
	(void)arg;
	for (;;) {
		sample_once();
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += vm_opts.sample_interval;
		pthread_mutex_lock(&sleep_lock);
		while (!stop_flag)
			if (pthread_cond_timedwait(&sleep_cond, &sleep_lock, &ts) == ETIMEDOUT)
				break;
		bool stop = stop_flag;
		pthread_mutex_unlock(&sleep_lock);
		if (stop)
			return NULL;
	}
}

int vm_sampler_start(void)
{
	stop_flag = false;
	if (pthread_create(&tid, NULL, loop, NULL) != 0) {
		log_err("cannot start the VM sampler thread");
		return -1;
	}
	running = true;
	return 0;
}

void vm_sampler_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&sleep_lock);
	stop_flag = true;
	pthread_cond_broadcast(&sleep_cond);
	pthread_mutex_unlock(&sleep_lock);
	pthread_join(tid, NULL);
	running = false;
}
