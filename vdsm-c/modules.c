/* The module table: add a subsystem here (one row) to have it started and stopped. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "modules.h"
#include "util/macros.h"
#include "vm/vm.h"
#include "host/hostcaps.h"
#include "host/hoststats.h"
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

enum mod_state { MOD_PENDING, MOD_STARTED, MOD_FAILED, MOD_STOPPED };
static const char *const mod_state_names[] = {
	[MOD_PENDING] = "pending", [MOD_STARTED] = "started", [MOD_FAILED] = "failed",
	[MOD_STOPPED] = "stopped",
};

/* Written by the init thread (start) and main (stop), read by the state dump. */
static atomic_int state[ELEMENTSOF(modules)];

int vd_modules_start(void)
{
	for (size_t i = 0; modules[i].name; i++) {
		if (modules[i].start() < 0) {
			atomic_store(&state[i], MOD_FAILED);
			log_err("module %s failed to start%s", modules[i].name,
				modules[i].required ? "" : "; continuing without it");
			if (modules[i].required)
				return -1;
			continue;
		}
		atomic_store(&state[i], MOD_STARTED);
		log_info("module %s started", modules[i].name);
	}
	return 0;
}

void vd_modules_stop(void)
{
	for (size_t i = ELEMENTSOF(modules); i-- > 0;) {
		if (atomic_load(&state[i]) != MOD_STARTED)
			continue;
		if (modules[i].stop)
			modules[i].stop();
		atomic_store(&state[i], MOD_STOPPED);
	}
}

void vd_modules_describe(char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; modules[i].name && n < size; i++) {
		int st = atomic_load(&state[i]);
		int w = snprintf(buf + n, size - n, "%s%s=%s", n ? " " : "", modules[i].name,
				 mod_state_names[st]);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}
