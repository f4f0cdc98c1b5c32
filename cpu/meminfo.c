/* /proc/meminfo. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "../vdsm-c/util/util.h"

int cpu_meminfo_parse(const char *text, struct cpu_meminfo *ret)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "MemTotal", offsetof(struct cpu_meminfo, total) },
		{ "MemFree", offsetof(struct cpu_meminfo, free) },
		{ "MemAvailable", offsetof(struct cpu_meminfo, available) },
		{ "Buffers", offsetof(struct cpu_meminfo, buffers) },
		{ "Cached", offsetof(struct cpu_meminfo, cached) },
		{ "Shmem", offsetof(struct cpu_meminfo, shmem) },
		{ "SReclaimable", offsetof(struct cpu_meminfo, sreclaimable) },
		{ "SwapTotal", offsetof(struct cpu_meminfo, swap_total) },
		{ "SwapFree", offsetof(struct cpu_meminfo, swap_free) },
		{ "AnonHugePages", offsetof(struct cpu_meminfo, anon_huge_pages) },
		{ "Committed_AS", offsetof(struct cpu_meminfo, committed_as) },
	};
	struct cpu_meminfo m;

	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		*(long long *)((char *)&m + keys[i].off) = -1;
	for (const char *line = text; line && *line; ) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		const char *colon = memchr(line, ':', len);
		if (colon) {
			size_t kl = colon - line;
			for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
				if (strlen(keys[i].key) != kl || strncmp(line, keys[i].key, kl) != 0)
					continue;
				long long v;
				if (sscanf(colon + 1, "%lld", &v) == 1 && v >= 0)
					*(long long *)((char *)&m + keys[i].off) = v;
				break;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	if (m.total < 0)
		return -EINVAL;
	*ret = m;
	return 0;
}

int cpu_meminfo_read(const char *root, struct cpu_meminfo *ret)
{
	_cleanup_free_ char *path = util_path(root, "/proc/meminfo");
	_cleanup_free_ char *text = NULL;
	int r;

	if (!path)
		return -ENOMEM;
	r = util_read_file(path, 1 << 20, &text, NULL);
	if (r < 0)
		return r;
	return cpu_meminfo_parse(text, ret);
}
