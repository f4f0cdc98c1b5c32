/* The module table: add a subsystem here (one row) to have it started and stopped. */
#include <stdbool.h>

#include "log.h"
#include "modules.h"
#include "util/macros.h"
#include "vm.h"
#include "hostcaps.h"
#include "hoststats.h"
#include "../network/net.h"

static const struct vd_module modules[] = {
	/* rtnetlink caches for the network report (getVdsCapabilities, stats) */
	{ "network", net_module_start, net_module_stop, 0 },
	/* static capabilities: CPU, NUMA, libvirt models and machines, identity */
	{ "hostcaps", hostcaps_start, hostcaps_stop, 0 },
	/* host statistics sampler (getVdsStats) */
	{ "hoststats", hoststats_start, hoststats_stop, 0 },
	/* libvirt connection, VM recovery (API.md §2.2: verbs answer 99 until done) */
	{ "vm", vm_start, vm_stop, 1 },
	{ NULL, NULL, NULL, 0 },
};

static bool started[ELEMENTSOF(modules)];

int vd_modules_start(void)
{
	for (size_t i = 0; modules[i].name; i++) {
		if (modules[i].start() < 0) {
			log_err("module %s failed to start%s", modules[i].name,
				modules[i].required ? "" : "; continuing without it");
			if (modules[i].required)
				return -1;
			continue;
		}
		started[i] = true;
		log_info("module %s started", modules[i].name);
	}
	return 0;
}

void vd_modules_stop(void)
{
	for (size_t i = ELEMENTSOF(modules); i-- > 0;) {
		if (started[i] && modules[i].stop)
			modules[i].stop();
		started[i] = false;
	}
}
