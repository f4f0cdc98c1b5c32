/* One reading of the host's counters and the sample computed from two readings. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "hoststats-internal.h"
#include "../util/util.h"

/* The sample hs_compute() builds; freed here with it (hoststats.c publishes it). */
void hoststats_sample_unref(struct hoststats_sample *s)
{
	if (!s || atomic_fetch_sub(&s->ref, 1) != 1)
		return;
	free(s->nics);
	free(s->cpus);
	free(s->numa);
	for (size_t i = 0; i < s->n_disks; i++)
		free(s->disks[i].path);
	free(s->disks);
	free(s);
}

void hs_raw_clear(struct hs_raw *r)
{
	cpu_stat_free(r->stat);
	cpu_numa_free(r->numa);
	free(r->nics);
	for (size_t i = 0; i < r->n_disks; i++)
		free(r->disks[i].path);
	free(r->disks);
	memset(r, 0, sizeof(*r));
}

void hs_netdev_parse(const char *text, struct hs_nic_raw *nics, size_t n)
{
	/* "  eth0: rxbytes rxpkts rxerrs rxdrop fifo frame compressed multicast
	 *          txbytes txpkts txerrs txdrop ..." */
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *colon = strchr(l, ':'), *nl = strchr(l, '\n');
		if (!colon || (nl && colon > nl))
			continue;
		const char *s = l;
		while (*s == ' ')
			s++;
		size_t len = colon - s;
		for (size_t i = 0; i < n; i++) {
			if (strlen(nics[i].name) != len || strncmp(nics[i].name, s, len) != 0)
				continue;
			unsigned long long v[16];
			if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
				   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9],
				   &v[10], &v[11]) != 12)
				break;
			nics[i].rx = v[0];
			nics[i].rx_errors = v[2];
			nics[i].rx_dropped = v[3];
			nics[i].tx = v[8];
			nics[i].tx_errors = v[10];
			nics[i].tx_dropped = v[11];
			nics[i].have_counters = true;
			break;
		}
	}
}

void hs_thp_parse(const char *text, char *out, size_t size)
{
	const char *a = strchr(text, '['), *b = a ? strchr(a, ']') : NULL;

	if (a && b)
		snprintf(out, size, "%.*s", (int)(b - a - 1), a + 1);
	else
		out[0] = '\0';
}

long long hs_proc_ticks(const char *text, unsigned long long *ret_user, unsigned long long *ret_sys)
{
	/* pid (comm) state ppid ... field 14 utime, 15 stime; comm may hold spaces */
	const char *p = strrchr(text, ')');
	unsigned long long u, s;

	if (!p || p[1] != ' ' || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &u, &s) != 2)
		return -1;
	if (ret_user)
		*ret_user = u;
	if (ret_sys)
		*ret_sys = s;
	return (long long)(u + s);
}

int hs_find_kthread(const char *root, const char *comm)
{
	_cleanup_free_ char *proc = util_path(root, "/proc");
	DIR *d = proc ? opendir(proc) : NULL;
	int pid = 0;

	if (!d)
		return 0;
	for (struct dirent *de; !pid && (de = readdir(d));) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char path[300], buf[64];
		snprintf(path, sizeof(path), "%s/%s/comm", proc, de->d_name);
		if (util_read_line(path, buf, sizeof(buf)) > 0 && strcmp(buf, comm) == 0)
			pid = atoi(de->d_name);
	}
	closedir(d);
	return pid;
}

static int read_text(const char *root, const char *abs, char **ret)
{
	_cleanup_free_ char *p = util_path(root, abs);

	return p ? util_read_file(p, 1 << 20, ret, NULL) : -ENOMEM;
}

static long long read_ll(const char *root, const char *abs, long long def)
{
	_cleanup_free_ char *t = NULL;
	long long v;

	if (read_text(root, abs, &t) < 0 || util_parse_ll(util_strstrip(t), -1, 1LL << 62, &v) < 0)
		return def;
	return v;
}

int hs_raw_read(const struct hs_params *p, const struct hs_nic_raw *nics, size_t n_nics,
		struct hs_raw *ret)
{
	_cleanup_free_ char *t = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->mono = util_now_monotonic();
	if ((r = cpu_stat_read(p->root, &ret->stat)) < 0 ||
	    (r = cpu_meminfo_read(p->root, &ret->mem)) < 0)
		goto fail;
	if (cpu_numa_read(p->root, &ret->numa) < 0)
		ret->numa = NULL;
	if (read_text(p->root, "/proc/loadavg", &t) == 0)
		sscanf(t, "%*f %lf", &ret->load5);
	free(TAKE_PTR(t));
	if (read_text(p->root, "/proc/self/stat", &t) == 0)
		hs_proc_ticks(t, &ret->self_ticks_user, &ret->self_ticks_sys);
	free(TAKE_PTR(t));
	ret->ksmd_ticks = -1;
	if (p->ksmd_pid > 0) {
		char abs[64];
		snprintf(abs, sizeof(abs), "/proc/%d/stat", p->ksmd_pid);
		if (read_text(p->root, abs, &t) == 0)
			ret->ksmd_ticks = hs_proc_ticks(t, NULL, NULL);
		free(TAKE_PTR(t));
	}
	ret->ksm_run = read_ll(p->root, "/sys/kernel/mm/ksm/run", 0) == 1;
	ret->ksm_merge = read_ll(p->root, "/sys/kernel/mm/ksm/merge_across_nodes", 0) == 1;
	ret->ksm_pages_to_scan = read_ll(p->root, "/sys/kernel/mm/ksm/pages_to_scan", 0);
	ret->ksm_pages_sharing = read_ll(p->root, "/sys/kernel/mm/ksm/pages_sharing", 0);
	if (read_text(p->root, "/sys/kernel/mm/transparent_hugepage/enabled", &t) == 0)
		hs_thp_parse(t, ret->thp, sizeof(ret->thp));
	free(TAKE_PTR(t));

	if (n_nics) {
		if (!(ret->nics = malloc(n_nics * sizeof(*nics)))) {
			r = -ENOMEM;
			goto fail;
		}
		memcpy(ret->nics, nics, n_nics * sizeof(*nics));
		ret->n_nics = n_nics;
		if (read_text(p->root, "/proc/net/dev", &t) == 0)
			hs_netdev_parse(t, ret->nics, n_nics);
		free(TAKE_PTR(t));
	}
	for (size_t i = 0; p->disk_paths && p->disk_paths[i]; i++) {
		struct statvfs sv;
		if (statvfs(p->disk_real[i], &sv) < 0)
			continue;   /* absent directories are not reported */
		struct hoststats_disk *nd = realloc(ret->disks, (ret->n_disks + 1) * sizeof(*nd));
		if (!nd) {
			r = -ENOMEM;
			goto fail;
		}
		ret->disks = nd;
		if (!(nd[ret->n_disks].path = strdup(p->disk_paths[i]))) {
			r = -ENOMEM;
			goto fail;
		}
		nd[ret->n_disks++].free_bytes = (long long)sv.f_bavail * (long long)sv.f_frsize;
	}
	return 0;
fail:
	hs_raw_clear(ret);
	return r;
}

static unsigned long long d64(unsigned long long a, unsigned long long b)
{
	return b >= a ? b - a : 0;   /* a counter reset (device re-created) counts 0 */
}

static double rate(unsigned long long bytes, double interval, int speed)
{
	double r = 100.0 * bytes * 8 / interval / ((double)speed * 1e6);

	return r > 100 ? 100 : r;
}

static long long kib_mib(long long kib)
{
	return kib > 0 ? kib / 1024 : 0;
}

struct hoststats_sample *hs_compute(const struct hs_params *p, const struct hs_raw *prev,
				    const struct hs_raw *cur)
{
	struct hoststats_sample *s = calloc(1, sizeof(*s));
	double iv;

	if (!s)
		return NULL;
	atomic_init(&s->ref, 1);
	s->mono = cur->mono;
	iv = prev ? cur->mono - prev->mono : 0;
	s->interval = iv > 0 ? iv : 0;

	/* CPU */
	if (prev && iv > 0) {
		cpu_times_percent(&prev->stat->total, &cur->stat->total, &s->cpu_user, &s->cpu_sys,
				  &s->cpu_idle);
		double hz = p->clk_tck > 0 ? p->clk_tck : 100;
		s->cpu_user_vdsmd = 100.0 * d64(prev->self_ticks_user, cur->self_ticks_user) / hz / iv;
		s->cpu_sys_vdsmd = 100.0 * d64(prev->self_ticks_sys, cur->self_ticks_sys) / hz / iv;
		if (prev->ksmd_ticks >= 0 && cur->ksmd_ticks >= 0)
			s->ksm_cpu = (int)(100.0 * d64(prev->ksmd_ticks, cur->ksmd_ticks) / hz / iv + 0.5);
	} else {
		s->cpu_idle = 100;
	}
	s->cpu_load = cur->load5;
	s->boot_time = cur->stat->btime;

	/* per CPU */
	s->cpus = calloc(cur->stat->n_cpus ? cur->stat->n_cpus : 1, sizeof(*s->cpus));
	if (!s->cpus)
		goto oom;
	for (size_t i = 0; i < cur->stat->n_cpus; i++) {
		struct hoststats_cpu *c = &s->cpus[s->n_cpus++];
		c->id = cur->stat->ids[i];
		c->node = cur->numa ? cpu_numa_node_of(cur->numa, c->id) : 0;
		if (c->node < 0)
			c->node = 0;
		c->idle = 100;
		for (size_t j = 0; prev && iv > 0 && j < prev->stat->n_cpus; j++)
			if (prev->stat->ids[j] == c->id)
				cpu_times_percent(&prev->stat->cpus[j], &cur->stat->cpus[i], &c->user,
						  &c->sys, &c->idle);
	}

	/* memory (API.md §5.1 getVdsStats) */
	const struct cpu_meminfo *m = &cur->mem;
	long long freeish = kib_mib(m->free) + kib_mib(m->cached) + kib_mib(m->buffers);
	s->vms = cur->vms;
	s->mem_total_mib = kib_mib(m->total);
	s->mem_free_mib = freeish;
	s->mem_used = s->mem_total_mib > 0 ?
		(int)(100 - (100.0 * freeish / s->mem_total_mib) + 0.5) : 0;
	if (s->mem_used < 0)
		s->mem_used = 0;
	s->mem_committed_mib = cur->vms.mem_committed_mib;
	s->mem_available_mib = freeish + cur->vms.rss_mib - cur->vms.mem_committed_mib -
			       p->host_mem_reserve;
	s->swap_total_mib = kib_mib(m->swap_total);
	s->swap_free_mib = kib_mib(m->swap_free);
	s->anon_huge_pages_mib = kib_mib(m->anon_huge_pages);
	s->ksm_state = cur->ksm_run;
	s->ksm_merge_across_nodes = cur->ksm_merge;
	s->ksm_pages = cur->ksm_pages_to_scan;
	/* in double: pages_sharing is whatever sysfs said (up to 2^62) */
	s->mem_shared_mib = (long long)((double)cur->ksm_pages_sharing *
					(p->page_size > 0 ? p->page_size : 4096) / (1024 * 1024));
	snprintf(s->thp_state, sizeof(s->thp_state), "%s", cur->thp);

	/* NUMA */
	if (cur->numa && cur->numa->n_nodes) {
		if (!(s->numa = calloc(cur->numa->n_nodes, sizeof(*s->numa))))
			goto oom;
		for (size_t i = 0; i < cur->numa->n_nodes; i++) {
			const struct cpu_numa_node *nd = &cur->numa->nodes[i];
			struct hoststats_numa *o = &s->numa[s->n_numa++];
			o->node = nd->id;
			o->mem_free_mib = nd->free_kib / 1024;
			o->mem_percent = nd->total_kib > 0 ?
				(int)(100 - 100.0 * nd->free_kib / nd->total_kib + 0.5) : 0;
		}
	}

	/* NICs */
	if (cur->n_nics && !(s->nics = calloc(cur->n_nics, sizeof(*s->nics))))
		goto oom;
	unsigned long long rx_all = 0, tx_all = 0;
	long long speed_all = 0;
	for (size_t i = 0; i < cur->n_nics; i++) {
		const struct hs_nic_raw *c = &cur->nics[i];
		if (!c->have_counters)
			continue;
		struct hoststats_nic *o = &s->nics[s->n_nics++];
		snprintf(o->name, sizeof(o->name), "%s", c->name);
		o->speed = c->speed > 0 ? c->speed : 1000;   /* VDSM: unknown counts as 1 Gb/s */
		o->up = c->up;
		o->rx = c->rx;
		o->tx = c->tx;
		o->rx_dropped = c->rx_dropped;
		o->tx_dropped = c->tx_dropped;
		o->rx_errors = c->rx_errors;
		o->tx_errors = c->tx_errors;
		o->sample_time = cur->mono;
		s->rx_dropped += c->rx_dropped;
		s->tx_dropped += c->tx_dropped;
		for (size_t j = 0; prev && iv > 0 && j < prev->n_nics; j++) {
			const struct hs_nic_raw *pr = &prev->nics[j];
			if (strcmp(pr->name, c->name) != 0 || !pr->have_counters)
				continue;
			o->rx_rate = rate(d64(pr->rx, c->rx), iv, o->speed);
			o->tx_rate = rate(d64(pr->tx, c->tx), iv, o->speed);
			rx_all += d64(pr->rx, c->rx);
			tx_all += d64(pr->tx, c->tx);
			speed_all += o->speed;
		}
	}
	if (iv > 0 && speed_all > 0) {
		s->rx_rate = rate(rx_all, iv, (int)(speed_all > 1000000000 ? 1000000000 : speed_all));
		s->tx_rate = rate(tx_all, iv, (int)(speed_all > 1000000000 ? 1000000000 : speed_all));
	}

	/* disks */
	if (cur->n_disks && !(s->disks = calloc(cur->n_disks, sizeof(*s->disks))))
		goto oom;
	for (size_t i = 0; i < cur->n_disks; i++) {
		if (!(s->disks[i].path = strdup(cur->disks[i].path)))
			goto oom;
		s->disks[i].free_bytes = cur->disks[i].free_bytes;
		s->n_disks++;
	}
	return s;
oom:
	hoststats_sample_unref(s);
	return NULL;
}
