/* The DHCP client of the networks with `bootproto dhcp`: dhcpcd 9 (Debian 12
 * dhcpcd-base), chosen because it is maintained upstream (ISC dhclient is end of life),
 * sets the address and routes itself over rtnetlink (dhclient and udhcpc hand the lease
 * to a shell script calling ip(8)), and can wait for the first lease with a bound.
 *
 * Every run goes through util/exec with a timeout. dhcpcd daemonises (its own session)
 * once it runs — after the lease when asked to wait — so the lease and its renewals
 * outlive an agent restart, as VDSM's dhclient did; the agent starts it again for every
 * DHCP network at start (harmless where it runs) and stops it through its control
 * socket (`-k`: release the lease, remove the address, exit). One client per device
 * and family: dhcpcd keys its pid file and socket on the interface name. */
#include "netconf.h"

#include <errno.h>
#include <string.h>

#include "../vdsm-c/util/exec.h"
#include "../vdsm-c/util/log.h"
#include "../vdsm-c/util/util.h"

/* Grace for dhcpcd itself beyond the lease timeout (start-up, ARP probe, fork). */
#define DHCP_EXEC_SLACK 15.0
#define DHCP_STOP_TIMEOUT 15.0

static const char conf_text[] =
	"# Written by vdsmd for the networks setupNetworks configures with bootproto dhcp.\n"
	"# No hook script: the host's resolv.conf, hostname and NTP stay as they are.\n"
	"script \"\"\n"
	"noipv4ll\n"
	"option subnet_mask, routers, broadcast, interface_mtu\n";

int netdhcp_write_conf(const char *path)
{
	return util_write_atomic(path, conf_text, sizeof(conf_text) - 1, 0644);
}

static int run(const char *const *argv, double timeout, struct util_exec_result *res)
{
	const struct util_exec_opts eo = { .timeout = timeout, .grace = 2 };

	memset(res, 0, sizeof(*res));
	return util_exec(argv, &eo, res);
}

int netdhcp_start(const struct netdhcp_opts *o, const char *dev, int flags)
{
	struct util_exec_result res;
	char tmo[16], why[160];
	bool wait = flags & NETSTEP_DHCP_WAIT;

	snprintf(tmo, sizeof(tmo), "%d", wait ? o->timeout : 0);
	/* -4/-6: one family per client; -w/-b: wait for the lease (then fork) or fork at once; -t 0 in the
	 * background: retry forever; -G: no default route from the lease */
	const char *fam = flags & NETSTEP_DHCP_V6 ? "-6" : "-4";
	const char *argv[12] = { o->client, "-f", o->conf, fam, wait ? "-w" : "-b", "-t", tmo };
	size_t n = 7;
	if (!(flags & NETSTEP_DHCP_GATEWAY))
		argv[n++] = "-G";
	/* dhcpcd -6 handles the router advertisements itself (and turns the kernel's
	 * handling off): it autoconfigures only when the network has ipv6autoconf */
	if ((flags & NETSTEP_DHCP_V6) && !(flags & NETSTEP_DHCP_SLAAC))
		argv[n++] = "--ipv6ra_noautoconf";
	argv[n++] = dev;
	argv[n] = NULL;
	int r = run(argv, (wait ? o->timeout : 0) + DHCP_EXEC_SLACK, &res);
	if (r < 0) {
		log_err("network: dhcpcd %s on %s: %s (%s)", fam, dev,
			r == -ETIME ? "timed out" : r == -ECHILD ? "failed" : strerror(-r),
			r == -ECHILD || r == -ETIME ? util_exec_last_line(&res, why, sizeof(why)) : "");
		/* with -w, dhcpcd gives up alone after the timeout ("timed out", status 1)
		 * and leaves nothing running */
		bool no_lease = r == -ECHILD && res.signal == 0 && strstr(res.err ? res.err : "",
									 "timed out");
		util_exec_result_clear(&res);
		if (r == -ETIME) {   /* killed by exec: make sure no daemon stays */
			if (netdhcp_stop(o, dev, flags) < 0)
				log_err("network: dhcpcd on %s may still run", dev);
			return -ETIME;
		}
		return no_lease ? -ETIME : r == -ECHILD ? -EIO : r;
	}
	util_exec_result_clear(&res);
	log_info("network: DHCP%s client on %s %s", flags & NETSTEP_DHCP_V6 ? "v6" : "", dev,
		 wait ? "bound" : "started");
	return 0;
}

int netdhcp_stop(const struct netdhcp_opts *o, const char *dev, int flags)
{
	struct util_exec_result res;
	char why[160];
	const char *argv[] = { o->client, "-f", o->conf, flags & NETSTEP_DHCP_V6 ? "-6" : "-4",
			       "-k", dev, NULL };

	int r = run(argv, DHCP_STOP_TIMEOUT, &res);
	if (r == -ECHILD && res.signal == 0 &&
	    (strstr(res.err ? res.err : "", "not running") ||
	     strstr(res.out ? res.out : "", "not running")))
		r = 0;   /* nothing to stop */
	else if (r < 0)
		log_err("network: stopping dhcpcd %s on %s: %s", argv[3], dev,
			r == -ECHILD || r == -ETIME ? util_exec_last_line(&res, why, sizeof(why)) :
			strerror(-r));
	else
		log_info("network: DHCP%s client on %s stopped (lease released)",
			 flags & NETSTEP_DHCP_V6 ? "v6" : "", dev);
	util_exec_result_clear(&res);
	return r < 0 ? (r == -ECHILD ? -EIO : r) : 0;
}
