/* vdsmd: flags, config, daemonising, signals, start-up and shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "daemon.h"
#include "util/log.h"
#include "modules.h"
#include "version.h"
#include "vm/vm.h"
#include "../rpc/server.h"
#include "util/util.h"

#define EXIT_CONFIG 2

/* 1 when a required module failed and the init thread asked main to stop. */
static atomic_int exit_status;

void verbs_host_fini(void);

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vdsmd [--config FILE] [--root DIR] [--foreground] [--set SECTION.KEY=VALUE]...\n"
		"  --config FILE   vdsm.conf to read (default: ROOT/etc/vdsm-c/vdsm.conf if it exists)\n"
		"  --root DIR      prefix for every state path (overrides vars.root)\n"
		"  --foreground    stay in the foreground and also log to stderr\n"
		"  --set S.K=V     override one config value\n"
		"  --version       print the version and exit\n");
}

static struct rpc_blob *dispatch(const char *body, size_t len, const struct rpc_peer *peer,
				 const char *flow, void *userdata)
{
	struct vd_call ctx = {
		.client_cn = peer->cn,
		.client_dn = peer->dn,
		.client_addr = peer->addr,
		.local_addr = peer->local_addr,
		.flow = flow,
	};
	bool is_fault;

	(void)userdata;
	return vd_api_handle(body, len, &ctx, &is_fault);
}

/* Writes ROOT/run/vdsm-c/<name>; 0, or -1 with err naming the file. */
static int _wur_ write_runtime_file(const char *name, const char *content, struct vd_error *err)
{
	char rel[128];
	_cleanup_free_ char *dir = vd_state_path("/run/vdsm-c"), *path = NULL;

	snprintf(rel, sizeof(rel), "/run/vdsm-c/%s", name);
	path = vd_state_path(rel);
	int r = dir && path ? util_mkdir_p(dir, 0755) : -ENOMEM;
	if (r == 0)
		r = util_write_atomic(path, content, strlen(content), 0644);
	if (r < 0) {
		return vd_error_set(err, VD_ERR_GENERAL, "cannot write %s: %s", path ? path : rel,
				    strerror(-r));
	}
	return 0;
}

static void remove_runtime_file(const char *name)
{
	char rel[128];
	snprintf(rel, sizeof(rel), "/run/vdsm-c/%s", name);
	_cleanup_free_ char *path = vd_state_path(rel);
	if (path)
		unlink(path);
}

static int daemonize(void)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0)
		return -errno;
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return 0;
}

/* SIGUSR1: one notice line saying what the agent is doing, for an operator looking at
 * a host without a manager (counters since start). */
static void log_state(const struct rpc_server *srv)
{
	struct rpc_server_counters k;
	char mods[256];
	int vms, up;

	rpc_server_get_counters(srv, &k);
	vd_modules_describe(mods, sizeof(mods));
	vm_counts(&vms, &up);
	log_notice("state (SIGUSR1): up %.0f s, %s; connections %lu (refused: %lu over "
		   "max_connections, %lu TLS), requests %lu (%lu too large); VMs %d (%d Up); "
		   "modules: %s; syslog lines dropped %lu",
		   util_now_monotonic() - vd_rt.start_mono,
		   vd_is_ready() ? "ready" : "initialising", k.connections, k.refused_limit,
		   k.tls_refused, k.requests, k.refused_size, vms, up, mods, vd_log_dropped());
}

/* Start-up work that may take time runs here while the RPC server already answers
 * (code 99 for gated verbs until it finishes, API.md §2.2). */
static void *init_thread(void *arg)
{
	const struct vd_config *c = arg;

	if (vd_modules_start() < 0) {
		log_err("a required module failed to start; stopping");
		atomic_store(&exit_status, 1);
		kill(getpid(), SIGTERM);
		return NULL;
	}
	if (c->startup_delay > 0) {
		log_notice("devel.startup_delay: staying in the initialising state for %d s",
			   c->startup_delay);
		sleep(c->startup_delay);
	}
	vd_ready_release("startup");
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "root", required_argument, NULL, 'r' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "set", required_argument, NULL, 's' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct vd_config conf;
	const char *config_path = NULL, *root_flag = NULL;
	const char *sets[32];
	int nsets = 0, opt;
	bool foreground = false;
	struct vd_error err = { 0 };

	while ((opt = getopt_long(argc, argv, "c:r:fs:Vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'r': root_flag = optarg; break;
		case 'f': foreground = true; break;
		case 's':
			if (nsets == (int)ELEMENTSOF(sets)) {
				fprintf(stderr, "vdsmd: too many --set options\n");
				return EXIT_CONFIG;
			}
			sets[nsets++] = optarg;
			break;
		case 'V': printf("vdsmd (vdsm-c) %s, VDSM %s contract\n", VDSM_C_VERSION, VDSM_COMPAT_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_CONFIG;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vdsmd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_CONFIG;
	}

	vd_log_open("vdsmd", NULL, true);
	if (vd_config_setup(&conf, config_path, root_flag, sets, nsets, &err) < 0) {
		log_err("%s", err.msg);
		return EXIT_CONFIG;
	}

	vd_rt.conf = &conf;
	vd_rt.root = conf.root;
	vd_rt.host_root = conf.host_root;
	vd_rt.start_mono = util_now_monotonic();
	if (util_uuid_generate(vd_rt.generation_id) < 0) {
		log_err("cannot generate the generation id");
		return 1;
	}
	vd_log_set_level(vd_log_level_from_string(conf.log_level));
	_cleanup_free_ char *syslog_path = vd_config_state_path(&conf, conf.syslog_socket);
	vd_log_open("vdsmd", syslog_path, foreground);

	/* Certificates and the state directories are checked before daemonising, so a
	 * bad trust store or a full state filesystem stops the start at once, with
	 * status 2 like any bad value (the launcher sees it). */
	_cleanup_(vd_config_tls_clear) struct vd_config_tls pem = { 0 };
	if (vd_config_tls_load(&conf, &pem, &err) < 0) {
		log_err("%s", err.msg);
		return EXIT_CONFIG;
	}
	if (!conf.ssl)
		log_warning("*** vars.ssl = false: serving PLAIN HTTP without client authentication. "
			    "Anyone who can reach port %d controls this host. Use only for tests. ***",
			    conf.management_port);
	if (vd_state_dirs_check(&err) < 0) {
		log_err("%s; not starting (a full or read-only state filesystem would lose the "
			"pid and port files and VM records)", err.msg);
		return EXIT_CONFIG;
	}

	if (!foreground && daemonize() < 0) {
		log_err("cannot daemonise: %s", strerror(errno));
		return 1;
	}
	vd_log_start_writer();

	/* Signals are taken by sigwait() below; every thread inherits the mask. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	vd_config_log(&conf);
	rpc_codec_init(conf.max_request_bytes, conf.max_xml_depth);
	if (vd_api_init() < 0)
		return 1;
	vd_ready_hold("startup");

	char prio[300];
	vd_config_tls_priorities(&conf, prio, sizeof(prio));
	struct rpc_server_opts so = {
		.ip = conf.management_ip,
		.port = conf.management_port,
		.tls = conf.ssl,
		.cert_pem = pem.cert_pem,
		.key_pem = pem.key_pem,
		.ca_pem = pem.ca_pem,
		.priorities = prio,
		.verify_peer_name = conf.verify_client_cert,
		.max_connections = conf.max_connections,
		.max_handshakes = conf.max_handshakes,
		.max_handshakes_per_addr = conf.max_handshakes_per_addr,
		.handshake_timeout = conf.handshake_timeout,
		.max_body = conf.max_request_bytes,
		.idle_timeout = conf.connection_timeout,
		.dispatch = dispatch,
	};
	struct rpc_server *srv = NULL;
	int r = rpc_server_start(&so, &srv, &err);
	if (r < 0) {
		log_err("%s", err.msg);
		vd_api_fini();
		return 1;
	}
	/* Without them the agent cannot be found (management_port = 0) nor stopped by
	 * its pid file: the state directory filled up since the check above. */
	char buf[64];
	snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	r = write_runtime_file("vdsmd.pid", buf, &err);
	snprintf(buf, sizeof(buf), "%d\n", rpc_server_port(srv));
	if (r == 0)
		r = write_runtime_file("vdsmd.port", buf, &err);
	if (r < 0) {
		log_err("%s; not starting", err.msg);
		rpc_server_stop(srv);
		vd_api_fini();
		remove_runtime_file("vdsmd.pid");
		return EXIT_CONFIG;
	}
	log_notice("vdsmd %s listening on %s port %d (%s)", VDSM_C_VERSION, conf.management_ip,
		   rpc_server_port(srv), conf.ssl ? "HTTPS, client certificate required" : "plain HTTP");

	pthread_t init_tid;
	if (pthread_create(&init_tid, NULL, init_thread, &conf) != 0) {
		log_err("cannot start the initialisation thread");
		rpc_server_stop(srv);
		return 1;
	}
	/* Not joined: a shutdown must not wait for start-up work (it may be stuck). */
	pthread_detach(init_tid);

	for (;;) {
		int sig = 0;
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGUSR1) {
			log_state(srv);
			continue;
		}
		if (sig == SIGHUP) {
			log_notice("SIGHUP: configuration is read only at start; restart to apply changes");
			continue;
		}
		log_notice("received %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	}
	rpc_server_stop(srv);
	vd_modules_stop();
	verbs_host_fini();
	vd_api_fini();
	remove_runtime_file("vdsmd.port");
	remove_runtime_file("vdsmd.pid");
	log_notice("stopped%s", atomic_load(&exit_status) ? " after a start-up failure" : "");
	vd_log_close();
	return atomic_load(&exit_status);
}
