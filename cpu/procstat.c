/* /proc/stat: CPU time counters and boot time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "../vdsm-c/util/util.h"

void cpu_stat_free(struct cpu_stat *s)
{
	if (!s)
		return;
	free(s->ids);
	free(s->cpus);
	free(s);
}

static int parse_times(const char *p, struct cpu_times *t)
{
	memset(t, 0, sizeof(*t));
	/* Old kernels print fewer columns; at least user nice system idle. */
	int n = sscanf(p, "%llu %llu %llu %llu %llu %llu %llu %llu", &t->user, &t->nice, &t->sys,
		       &t->idle, &t->iowait, &t->irq, &t->softirq, &t->steal);
	return n >= 4 ? 0 : -EINVAL;
}

int cpu_stat_parse(const char *text, struct cpu_stat **ret)
{
	_cleanup_(cpu_stat_freep) struct cpu_stat *s = calloc(1, sizeof(*s));
	bool have_total = false;
	size_t cap = 0;
	int r;

	if (!s)
		return -ENOMEM;
	s->btime = -1;
	for (const char *line = text; line && *line; ) {
		const char *nl = strchr(line, '\n');
		if (strncmp(line, "cpu ", 4) == 0) {
			if ((r = parse_times(line + 4, &s->total)) < 0)
				return r;
			have_total = true;
		} else if (strncmp(line, "cpu", 3) == 0 && line[3] >= '0' && line[3] <= '9') {
			char *end;
			long id = strtol(line + 3, &end, 10);
			if (s->n_cpus == cap) {
				cap = cap ? cap * 2 : 16;
				int *ni = realloc(s->ids, cap * sizeof(*ni));
				if (!ni)
					return -ENOMEM;
				s->ids = ni;
				struct cpu_times *nt = realloc(s->cpus, cap * sizeof(*nt));
				if (!nt)
					return -ENOMEM;
				s->cpus = nt;
			}
			if ((r = parse_times(end, &s->cpus[s->n_cpus])) < 0)
				return r;
			s->ids[s->n_cpus++] = (int)id;
		} else if (strncmp(line, "btime ", 6) == 0) {
			s->btime = atoll(line + 6);
		}
		line = nl ? nl + 1 : NULL;
	}
	if (!have_total)
		return -EINVAL;
	*ret = TAKE_PTR(s);
	return 0;
}

int cpu_stat_read(const char *root, struct cpu_stat **ret)
{
	_cleanup_free_ char *path = util_path(root, "/proc/stat");
	_cleanup_free_ char *text = NULL;
	int r;

	if (!path)
		return -ENOMEM;
	r = util_read_file(path, 8 << 20, &text, NULL);
	if (r < 0)
		return r;
	return cpu_stat_parse(text, ret);
}

static unsigned long long delta(unsigned long long a, unsigned long long b)
{
	return b >= a ? b - a : 0;   /* a counter that went back (cpu hot-unplug) counts 0 */
}

void cpu_times_percent(const struct cpu_times *a, const struct cpu_times *b, double *ret_user,
		       double *ret_sys, double *ret_idle)
{
	unsigned long long user = delta(a->user, b->user) + delta(a->nice, b->nice);
	unsigned long long sys = delta(a->sys, b->sys) + delta(a->irq, b->irq) +
				 delta(a->softirq, b->softirq);
	unsigned long long total = user + sys + delta(a->idle, b->idle) +
				   delta(a->iowait, b->iowait) + delta(a->steal, b->steal);

	if (total == 0) {
		*ret_user = *ret_sys = 0;
		*ret_idle = 100;
		return;
	}
	*ret_user = 100.0 * user / total;
	*ret_sys = 100.0 * sys / total;
	*ret_idle = 100.0 - *ret_user - *ret_sys;
	if (*ret_idle < 0)
		*ret_idle = 0;
}
