/* /proc/cpuinfo: vendor, model, speed, topology counts and flags. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "../vdsm-c/util/util.h"

void cpu_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int cpu_list_parse(const char *s, int **ret, size_t *ret_n)
{
	_cleanup_free_ int *ids = NULL;
	size_t n = 0, cap = 0;
	const char *p = s;

	while (*p == ' ' || *p == '\t')
		p++;
	while (*p && *p != '\n') {
		char *end;
		long a = strtol(p, &end, 10), b;
		if (end == p || a < 0 || a > 65535)
			return -EINVAL;
		b = a;
		p = end;
		if (*p == '-') {
			p++;
			b = strtol(p, &end, 10);
			if (end == p || b < a || b > 65535)
				return -EINVAL;
			p = end;
		}
		for (long i = a; i <= b; i++) {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				int *nids = realloc(ids, cap * sizeof(*ids));
				if (!nids)
					return -ENOMEM;
				ids = nids;
			}
			ids[n++] = (int)i;
		}
		if (*p == ',')
			p++;
		else if (*p && *p != '\n')
			return -EINVAL;
	}
	if (n > 1)
		qsort(ids, n, sizeof(*ids), cmp_int);
	*ret = TAKE_PTR(ids);
	*ret_n = n;
	return 0;
}

void cpu_info_free(struct cpu_info *ci)
{
	if (!ci)
		return;
	free(ci->online);
	cpu_strv_free(ci->flags);
	free(ci);
}

bool cpu_info_has_flag(const struct cpu_info *ci, const char *flag)
{
	for (size_t i = 0; i < ci->n_flags; i++)
		if (strcmp(ci->flags[i], flag) == 0)
			return true;
	return false;
}

/* The flags of a "flags" line; a second such line in the same block replaces the
 * first (the array's capacity is not kept, so appending to it would overflow). */
static int split_flags(const char *s, struct cpu_info *ci)
{
	_cleanup_free_ char *copy = strdup(s);
	char *save = NULL;
	size_t cap = 0;

	if (!copy)
		return -ENOMEM;
	for (size_t i = 0; i < ci->n_flags; i++)
		free(ci->flags[i]);
	free(ci->flags);
	ci->flags = NULL;
	ci->n_flags = 0;
	for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (ci->n_flags + 1 >= cap) {
			cap = cap ? cap * 2 : 128;
			char **nf = realloc(ci->flags, cap * sizeof(*nf));
			if (!nf)
				return -ENOMEM;
			ci->flags = nf;
		}
		if (!(ci->flags[ci->n_flags] = strdup(t)))
			return -ENOMEM;
		ci->flags[++ci->n_flags] = NULL;
	}
	return 0;
}

/* One "key : value" line; returns the value or NULL when key does not match. */
static const char *field(const char *line, const char *key)
{
	size_t kl = strlen(key);

	if (strncmp(line, key, kl) != 0)
		return NULL;
	line += kl;
	while (*line == ' ' || *line == '\t')
		line++;
	if (*line != ':')
		return NULL;
	line++;
	while (*line == ' ')
		line++;
	return line;
}

#define MAX_CPUS 8192

int cpu_info_parse(const char *text, const char *online_list, struct cpu_info **ret)
{
	_cleanup_(cpu_info_freep) struct cpu_info *ci = calloc(1, sizeof(*ci));
	_cleanup_free_ char *copy = strdup(text);
	/* Per logical CPU: processor, physical id, core id (-1 when absent). */
	_cleanup_free_ int *proc = NULL, *phys = NULL, *core = NULL;
	size_t n = 0;
	char *save = NULL;
	int r;

	if (!ci || !copy)
		return -ENOMEM;
	ci->family = ci->model = ci->stepping = -1;
	proc = malloc(MAX_CPUS * sizeof(int));
	phys = malloc(MAX_CPUS * sizeof(int));
	core = malloc(MAX_CPUS * sizeof(int));
	if (!proc || !phys || !core)
		return -ENOMEM;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *v;
		if ((v = field(line, "processor"))) {
			if (n == MAX_CPUS)
				return -E2BIG;
			proc[n] = atoi(v);
			phys[n] = core[n] = -1;
			n++;
			continue;
		}
		if (n == 0)
			continue;
		if ((v = field(line, "physical id")))
			phys[n - 1] = atoi(v);
		else if ((v = field(line, "core id")))
			core[n - 1] = atoi(v);
		else if (n > 1)
			continue;   /* the rest is taken from the first CPU */
		else if ((v = field(line, "vendor_id")))
			snprintf(ci->vendor, sizeof(ci->vendor), "%s", v);
		else if ((v = field(line, "model name")))
			snprintf(ci->model_name, sizeof(ci->model_name), "%s", v);
		else if ((v = field(line, "cpu MHz")))
			snprintf(ci->speed, sizeof(ci->speed), "%s", v);
		else if ((v = field(line, "cpu family")))
			ci->family = atoi(v);
		else if ((v = field(line, "model")))
			ci->model = atoi(v);
		else if ((v = field(line, "stepping")))
			ci->stepping = atoi(v);
		else if ((v = field(line, "flags")) && (r = split_flags(v, ci)) < 0)
			return r;
	}
	if (n == 0)
		return -EINVAL;
	ci->threads = (int)n;
	/* Sockets: distinct physical ids; cores: distinct (physical id, core id). A
	 * kernel that prints neither (some guests) has one socket of n cores. */
	int sockets = 0, cores = 0;
	for (size_t i = 0; i < n; i++) {
		bool new_sock = true, new_core = true;
		for (size_t j = 0; j < i; j++) {
			if (phys[j] == phys[i]) {
				new_sock = false;
				if (core[j] == core[i])
					new_core = false;
			}
		}
		sockets += new_sock;
		cores += new_core || core[i] < 0;
	}
	ci->sockets = sockets;
	ci->cores = cores;
	if (!ci->flags && !(ci->flags = calloc(1, sizeof(char *))))
		return -ENOMEM;

	/* onlineCpus: the kernel's list when given, else cpuinfo's processors. */
	_cleanup_free_ int *ids = NULL;
	size_t n_ids = 0;
	if (online_list && cpu_list_parse(online_list, &ids, &n_ids) == 0 && n_ids > 0) {
		/* use ids */
	} else {
		free(ids);
		ids = TAKE_PTR(proc);
		n_ids = n;
		qsort(ids, n_ids, sizeof(int), cmp_int);
	}
	size_t cap = n_ids * 12 + 1;   /* "-2147483648," at most per id */
	if (!(ci->online = malloc(cap)))
		return -ENOMEM;
	size_t off = 0;
	ci->online[0] = '\0';
	for (size_t i = 0; i < n_ids; i++)
		off += snprintf(ci->online + off, cap - off, "%s%d", i ? "," : "", ids[i]);
	*ret = TAKE_PTR(ci);
	return 0;
}

int cpu_info_read(const char *root, struct cpu_info **ret)
{
	_cleanup_free_ char *path = util_path(root, "/proc/cpuinfo");
	_cleanup_free_ char *opath = util_path(root, "/sys/devices/system/cpu/online");
	_cleanup_free_ char *text = NULL;
	char online[4096];
	int r;

	if (!path || !opath)
		return -ENOMEM;
	r = util_read_file(path, 16 << 20, &text, NULL);
	if (r < 0)
		return r;
	r = util_read_line(opath, online, sizeof(online));
	return cpu_info_parse(text, r > 0 ? online : NULL, ret);
}
