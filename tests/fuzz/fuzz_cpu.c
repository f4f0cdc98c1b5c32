/* libFuzzer target: the host-fact parsers of cpu/ — /proc/cpuinfo (with a cpu list
 * from /sys/devices/system/cpu/online), /proc/meminfo, /proc/stat, cpu lists, and
 * libvirt's capabilities and domain capabilities XML (libvirtd's output). The first
 * byte picks the parser; the rest is its text. */
#include "fuzzcommon.h"

#include "../../cpu/cpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size, 1);

	if (!text)
		return 0;

	switch (data[0] % 6) {
	case 0: {
		/* cpuinfo text, then after a NUL (if any) the online list */
		const char *online = memchr(data + 1, '\0', size - 1) ?
					     text + strlen(text) + 1 : NULL;
		struct cpu_info *ci = NULL;
		if (online && online >= text + size - 1)
			online = NULL;
		if (cpu_info_parse(text, online, &ci) == 0)
			cpu_info_free(ci);
		break;
	}
	case 1: {
		struct cpu_meminfo mi;
		if (cpu_meminfo_parse(text, &mi) < 0)
			break;
		break;
	}
	case 2: {
		struct cpu_stat *st = NULL;
		if (cpu_stat_parse(text, &st) == 0)
			cpu_stat_free(st);
		break;
	}
	case 3: {
		int *ids = NULL;
		size_t n = 0;
		if (cpu_list_parse(text, &ids, &n) == 0)
			free(ids);
		break;
	}
	case 4:
	case 5: {
		struct cpu_virt *v = calloc(1, sizeof(*v));
		if (!v)
			break;
		int r = data[0] % 6 == 4 ? cpu_virt_parse_caps(text, v) :
					   cpu_virt_parse_domcaps(text, v);
		const char **usable = NULL;
		size_t n = 0;
		if (r == 0 && cpu_virt_usable_models(v, &usable, &n) == 0)
			free(usable);
		cpu_virt_free(v);
		break;
	}
	}
	free(text);
	return 0;
}
