/* NUMA nodes from /sys/devices/system/node: CPUs, memory and distances. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "../vdsm-c/util/util.h"

void cpu_numa_free(struct cpu_numa *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n_nodes; i++) {
		free(n->nodes[i].cpus);
		free(n->nodes[i].distance);
	}
	free(n->nodes);
	free(n);
}

int cpu_numa_node_of(const struct cpu_numa *n, int cpu)
{
	for (size_t i = 0; i < n->n_nodes; i++)
		for (size_t j = 0; j < n->nodes[i].n_cpus; j++)
			if (n->nodes[i].cpus[j] == cpu)
				return n->nodes[i].id;
	return -1;
}

static int cmp_node(const void *a, const void *b)
{
	const struct cpu_numa_node *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/* "Node 0 MemTotal:       24542684 kB" */
static long long node_meminfo(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	long long v;

	if (!p || sscanf(p + strlen(key), ": %lld", &v) != 1)
		return -1;
	return v;
}

static int read_node(const char *dir, struct cpu_numa_node *nd)
{
	_cleanup_free_ char *cpulist = NULL, *meminfo = NULL, *dist = NULL, *p = NULL;
	int r;

	if (asprintf(&p, "%s/cpulist", dir) < 0)
		return -ENOMEM;
	r = util_read_file(p, 1 << 16, &cpulist, NULL);
	if (r < 0)
		return r;
	r = cpu_list_parse(cpulist, &nd->cpus, &nd->n_cpus);
	if (r < 0)
		return r;
	free(p);
	if (asprintf(&p, "%s/meminfo", dir) < 0)
		return -ENOMEM;
	r = util_read_file(p, 1 << 16, &meminfo, NULL);
	if (r < 0)
		return r;
	nd->total_kib = node_meminfo(meminfo, "MemTotal");
	nd->free_kib = node_meminfo(meminfo, "MemFree");
	if (nd->total_kib < 0 || nd->free_kib < 0)
		return -EINVAL;
	free(p);
	if (asprintf(&p, "%s/distance", dir) < 0)
		return -ENOMEM;
	r = util_read_file(p, 1 << 16, &dist, NULL);
	if (r < 0)
		return r;
	size_t cap = 0;
	for (char *s = dist, *end; ; s = end) {
		long v = strtol(s, &end, 10);
		if (end == s)
			break;
		if (nd->n_distance == cap) {
			cap = cap ? cap * 2 : 8;
			int *nd2 = realloc(nd->distance, cap * sizeof(int));
			if (!nd2)
				return -ENOMEM;
			nd->distance = nd2;
		}
		nd->distance[nd->n_distance++] = (int)v;
	}
	return 0;
}

/* No NUMA in sysfs: one node with every online CPU and the whole memory. */
static int fallback_node(const char *root, struct cpu_numa *n)
{
	_cleanup_free_ char *opath = util_path(root, "/sys/devices/system/cpu/online");
	struct cpu_meminfo mi;
	char online[4096];
	int r;

	if (!opath)
		return -ENOMEM;
	if ((r = util_read_line(opath, online, sizeof(online))) < 0)
		return r;
	if ((r = cpu_meminfo_read(root, &mi)) < 0)
		return r;
	if (!(n->nodes = calloc(1, sizeof(*n->nodes))))
		return -ENOMEM;
	n->n_nodes = 1;
	struct cpu_numa_node *nd = &n->nodes[0];
	if ((r = cpu_list_parse(online, &nd->cpus, &nd->n_cpus)) < 0)
		return r;
	nd->total_kib = mi.total;
	nd->free_kib = mi.free;
	if (!(nd->distance = malloc(sizeof(int))))
		return -ENOMEM;
	nd->distance[0] = 10;
	nd->n_distance = 1;
	return 0;
}

int cpu_numa_read(const char *root, struct cpu_numa **ret)
{
	_cleanup_(cpu_numa_freep) struct cpu_numa *n = calloc(1, sizeof(*n));
	_cleanup_free_ char *base = util_path(root, "/sys/devices/system/node");
	DIR *d;
	size_t cap = 0;
	int r = 0;

	if (!n || !base)
		return -ENOMEM;
	d = opendir(base);
	if (!d) {
		if (errno != ENOENT)
			return -errno;
		if ((r = fallback_node(root, n)) < 0)
			return r;
		*ret = TAKE_PTR(n);
		return 0;
	}
	for (struct dirent *de; (de = readdir(d));) {
		char *end;
		if (strncmp(de->d_name, "node", 4) != 0)
			continue;
		long id = strtol(de->d_name + 4, &end, 10);
		if (end == de->d_name + 4 || *end || id < 0)
			continue;
		if (n->n_nodes == cap) {
			cap = cap ? cap * 2 : 4;
			struct cpu_numa_node *nn = realloc(n->nodes, cap * sizeof(*nn));
			if (!nn) {
				r = -ENOMEM;
				break;
			}
			n->nodes = nn;
		}
		struct cpu_numa_node *nd = &n->nodes[n->n_nodes++];
		memset(nd, 0, sizeof(*nd));
		nd->id = (int)id;
		_cleanup_free_ char *dir = NULL;
		if (asprintf(&dir, "%s/%s", base, de->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		if ((r = read_node(dir, nd)) < 0)
			break;
	}
	closedir(d);
	if (r < 0)
		return r;
	if (n->n_nodes == 0) {
		if ((r = fallback_node(root, n)) < 0)
			return r;
	}
	qsort(n->nodes, n->n_nodes, sizeof(*n->nodes), cmp_node);
	*ret = TAKE_PTR(n);
	return 0;
}
