/* vdsm-c-ready: the host-readiness report on the command line, whether or not the agent
 * runs — the same checks as the getHostReadiness verb (vdsm-c/host/readiness.c), with
 * the host facts collected on the spot through the same modules (hostcaps, network).
 * A table for people, JSON for scripts; exit 0 when nothing fails, 1 when something
 * fails, 2 on a usage or config error. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "../config.h"
#include "../daemon.h"
#include "../host/hostcaps.h"
#include "../util/log.h"
#include "../util/util.h"
#include "../verbs/ready.h"
#include "../../network/net.h"
#include "../../rpc/json.h"
#include "../../rpc/xmlrpc.h"

#define EXIT_USAGE 2

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vdsm-c-ready [--cluster-cpu MODEL] [--networks NAME,...] [--storage CONN]...\n"
		"                    [--json] [--config FILE] [--root DIR] [--set S.K=V]...\n"
		"                    [--timeout S]\n"
		"Checks that this host is ready for a cluster: libvirt, KVM, the CPU against the\n"
		"cluster's CPU model, free memory, the required networks, the storage connections,\n"
		"multipath paths, the host certificates, the clock. One line per check: ok, warn\n"
		"or fail, what was found, what to do.\n"
		"  --cluster-cpu MODEL  the cluster's libvirt CPU model (e.g. Haswell-noTSX); the\n"
		"                       flags this host lacks are listed\n"
		"  --networks A,B       networks that must exist here and be up\n"
		"  --storage CONN       a storage server that must be reachable (TCP connect within\n"
		"                       3 s, all at once; repeatable, at most 16): SERVER:/EXPORT or\n"
		"                       nfs:SERVER (NFS, port 2049), iscsi:PORTAL[:PORT] (3260);\n"
		"                       an IPv6 address in brackets. multipathd is always asked:\n"
		"                       maps with failed paths warn, maps without a path fail\n"
		"  --json               {verdict, checks: [{name, verdict, detail, hint}]}\n"
		"  --config FILE        the agent's vdsm.conf (default ROOT/etc/vdsm-c/vdsm.conf\n"
		"                       when it exists): trust store, libvirt URI, reserves\n"
		"  --root DIR, --set S.K=V   as for vdsmd\n"
		"  --timeout S          give up after S seconds (default 60), e.g. when libvirtd\n"
		"                       hangs\n"
		"exit: 0 nothing fails (warnings allowed), 1 a check fails, 2 usage or config error\n");
}

static double timeout_s = 60;

static void *watchdog(void *arg)
{
	struct timespec ts = { (time_t)timeout_s, 0 };

	(void)arg;
	nanosleep(&ts, NULL);
	fprintf(stderr, "vdsm-c-ready: no answer within %.0f s (is libvirtd hung?); giving up\n",
		timeout_s);
	_exit(1);
	return NULL;
}

/* libvirt's default handler prints every error on stderr; the checks report them. */
static void quiet_libvirt(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e;
}

static void print_table(const struct rd_report *r)
{
	int fails = 0, warns = 0, w = 22;

	for (size_t i = 0; i < r->n; i++)   /* the name column fits the longest name */
		if ((int)strlen(r->checks[i].name) > w)
			w = (int)strlen(r->checks[i].name);
	printf("%-*s %-7s %s\n", w, "CHECK", "VERDICT", "DETAIL");
	for (size_t i = 0; i < r->n; i++) {
		const struct rd_check *c = &r->checks[i];
		printf("%-*s %-7s %s\n", w, c->name, rd_verdict_name(c->verdict), c->detail);
		if (c->hint[0])
			printf("%-*s %-7s -> %s\n", w, "", "", c->hint);
		fails += c->verdict == RD_FAIL;
		warns += c->verdict == RD_WARN;
	}
	printf("verdict: %s (%zu checks: %d failing, %d warning)\n",
	       r->verdict == RD_FAIL ? "NOT READY" : r->verdict == RD_WARN ? "READY, with warnings" :
									     "READY",
	       r->n, fails, warns);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "cluster-cpu", required_argument, NULL, 'C' },
		{ "networks", required_argument, NULL, 'N' },
		{ "storage", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "config", required_argument, NULL, 'c' },
		{ "root", required_argument, NULL, 'r' },
		{ "set", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct vd_config conf;
	static struct rd_report report;
	const char *config_path = NULL, *root_flag = NULL, *cpu = NULL, *sets[32];
	char *nets_arg = NULL;
	const char *nets[RD_MAX_NETWORKS];
	size_t n_nets = 0, n_stg = 0;
	static struct rd_storage stg[RD_MAX_STORAGE];
	int nsets = 0, opt;
	bool json = false, verbose = false;
	struct vd_error err = { 0 };

	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 'C': cpu = optarg; break;
		case 'N': nets_arg = optarg; break;
		case 'S':
			if (n_stg == RD_MAX_STORAGE) {
				fprintf(stderr, "vdsm-c-ready: at most %d --storage options\n",
					RD_MAX_STORAGE);
				return EXIT_USAGE;
			}
			if (rd_storage_parse(optarg, &stg[n_stg], &err) < 0) {
				fprintf(stderr, "vdsm-c-ready: --storage: %s\n", err.msg);
				return EXIT_USAGE;
			}
			n_stg++;
			break;
		case 'j': json = true; break;
		case 'c': config_path = optarg; break;
		case 'r': root_flag = optarg; break;
		case 's':
			if (nsets == (int)ELEMENTSOF(sets)) {
				fprintf(stderr, "vdsm-c-ready: too many --set options\n");
				return EXIT_USAGE;
			}
			sets[nsets++] = optarg;
			break;
		case 't':
			if (util_parse_ll(optarg, 1, 3600, &(long long){ 0 }) < 0) {
				fprintf(stderr, "vdsm-c-ready: --timeout: '%s' is not 1..3600 seconds\n", optarg);
				return EXIT_USAGE;
			}
			timeout_s = atof(optarg);
			break;
		case 'v': verbose = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vdsm-c-ready: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	for (char *save = NULL, *t = nets_arg ? strtok_r(nets_arg, ",", &save) : NULL; t;
	     t = strtok_r(NULL, ",", &save)) {
		if (n_nets == RD_MAX_NETWORKS || strlen(t) >= 16) {
			fprintf(stderr, "vdsm-c-ready: --networks: at most %d names of 1 to 15 "
					"characters\n", RD_MAX_NETWORKS);
			return EXIT_USAGE;
		}
		nets[n_nets++] = t;
	}

	vd_log_open("vdsm-c-ready", NULL, true);
	vd_log_set_level(verbose ? VD_LOG_INFO : VD_LOG_ERR);
	if (vd_config_setup(&conf, config_path, root_flag, sets, nsets, &err) < 0) {
		fprintf(stderr, "vdsm-c-ready: %s\n", err.msg);
		return EXIT_USAGE;
	}
	vd_rt.conf = &conf;
	vd_rt.root = conf.root;
	vd_rt.host_root = conf.host_root;

	virSetErrorFunc(NULL, quiet_libvirt);
	pthread_t wd;
	if (pthread_create(&wd, NULL, watchdog, NULL) != 0) {
		fprintf(stderr, "vdsm-c-ready: cannot start the watchdog thread\n");
		return 1;
	}
	pthread_detach(wd);
	/* Package versions are not part of the report: skip dpkg-query. */
	const struct hostcaps_src src = {
		.host_root = conf.host_root,
		.state_root = conf.root,
		.libvirt_uri = conf.libvirt_uri,
		.dpkg_query = "",
		.host_uuid = conf.host_uuid,
	};
	int r = hostcaps_start(&src);
	if (r < 0 && verbose)
		fprintf(stderr, "vdsm-c-ready: host facts: %s\n", strerror(-r));
	r = net_monitor_start();
	if (r < 0 && verbose)
		fprintf(stderr, "vdsm-c-ready: netlink: %s\n", strerror(-r));
	r = readiness_collect(cpu, nets, n_nets, stg, n_stg, &report);
	net_monitor_stop();
	hostcaps_stop();
	if (r < 0) {
		fprintf(stderr, "vdsm-c-ready: %s\n", strerror(-r));
		return 1;
	}
	if (json) {
		xmlrpc_env env;
		xmlrpc_env_init(&env);
		xmlrpc_value *v = readiness_value(&env, &report);
		if (env.fault_occurred) {
			fprintf(stderr, "vdsm-c-ready: %s\n", env.fault_string);
			xmlrpc_env_clean(&env);
			return 1;
		}
		rpc_json_write(stdout, v, 2);
		xmlrpc_DECREF(v);
		xmlrpc_env_clean(&env);
	} else {
		print_table(&report);
	}
	return report.verdict == RD_FAIL ? 1 : 0;
}
