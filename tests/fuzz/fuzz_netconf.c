/* libFuzzer target: the persisted network configuration (network/netstore.c), read
 * back at agent start and so untrusted. Whatever the bytes: no crash, and a text that
 * parses formats to a text that parses to the same configuration; the configuration
 * then goes through validation and the planner against a small kernel snapshot. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../network/netconf.h"

static struct net_dev devs[] = {
	{ .name = "bond0", .kind = NET_KIND_BOND, .mtu = 1500, .up = true },
	{ .name = "eth0", .kind = NET_KIND_NIC, .mtu = 1500, .up = true },
	{ .name = "eth1", .kind = NET_KIND_NIC, .mtu = 9000, .up = true, .master_name = "red" },
	{ .name = "red", .kind = NET_KIND_BRIDGE, .mtu = 9000, .up = true },
};
static struct net_snapshot snap = { .ref = 1, .n_devs = 4, .devs = devs };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netconf c = { 0 }, back = { 0 }, empty = { 0 };
	struct vd_error err = { 0 };
	char *text = NULL;

	if (netconf_parse((const char *)data, size, &c, &err) < 0) {
		if (!err.code)
			abort();   /* every refusal says why */
		return 0;
	}
	if (netconf_format(&c, &text) < 0)
		abort();
	if (netconf_parse(text, strlen(text), &back, &err) < 0 || !netconf_equal(&c, &back))
		abort();
	struct netplan p = { 0 };
	if (netconf_validate(&c, &empty, &snap, &err) == 0 &&
	    netplan_build(&snap, &empty, &c, &p, &err) == 0) {
		char buf[128];
		for (size_t i = 0; i < p.n; i++)
			netstep_describe(&p.steps[i], buf, sizeof(buf));
	}
	netplan_free(&p);
	free(text);
	netconf_free(&c);
	netconf_free(&back);
	return 0;
}
