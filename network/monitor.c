/* The rtnetlink side: one socket subscribed to the link, address and route groups, a
 * generation counter, and the last snapshot built from fresh dumps.
 *
 * No thread: readers call net_sync() (through net_snapshot_get) which drains the
 * events queued on the socket without blocking; any event bumps the generation. The
 * events are not parsed: the snapshot comes from dumps, so all they say is *that*
 * something changed. (A libnl cache manager used to apply each event to link/address/
 * route caches nobody read: linear searches per event, quadratic after a setupNetworks
 * of hundreds of devices — 1.3 s of event processing before the removal of 500
 * bridges.) rtnetlink queues a change's event before the syscall that made the change
 * returns, so a reader after a change sees it. An overflow (ENOBUFS) counts as a
 * change too. */
#include "net.h"   /* first: <net/if.h> before the kernel headers */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "../vdsm-c/util/log.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct nl_sock *ev_sock, *sync_sock;
static bool started;
static atomic_ulong generation = 1;

static void cache_clear_locked(void);

static void teardown_locked(void)
{
	started = false;
	nl_socket_free(ev_sock);
	nl_socket_free(sync_sock);
	ev_sock = sync_sock = NULL;
	cache_clear_locked();
}

static int nlerr(int e)
{
	switch (-e) {
	case NLE_NOMEM: return -ENOMEM;
	case NLE_PERM: return -EPERM;
	case NLE_NOACCESS: return -EACCES;
	default: return -EIO;
	}
}

int net_monitor_start(void)
{
	int r;

	pthread_mutex_lock(&lock);
	if (started) {
		pthread_mutex_unlock(&lock);
		return 0;
	}
	if (!(ev_sock = nl_socket_alloc()) || !(sync_sock = nl_socket_alloc())) {
		r = -ENOMEM;
		goto fail;
	}
	if ((r = nl_connect(sync_sock, NETLINK_ROUTE)) < 0)
		goto fail_nl;
	nl_socket_disable_seq_check(ev_sock);
	if ((r = nl_connect(ev_sock, NETLINK_ROUTE)) < 0 ||
	    (r = nl_socket_add_memberships(ev_sock, RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
					   RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE,
					   RTNLGRP_IPV6_ROUTE, RTNLGRP_TC, 0)) < 0 ||
	    (r = nl_socket_set_nonblocking(ev_sock)) < 0)
		goto fail_nl;
	/* Room for a burst of events (a setupNetworks touching many devices). */
	nl_socket_set_buffer_size(ev_sock, 4 << 20, 0);
	started = true;
	atomic_fetch_add(&generation, 1);
	pthread_mutex_unlock(&lock);
	return 0;
fail_nl:
	log_debug("netlink: %s", nl_geterror(r));
	r = nlerr(r);
fail:
	teardown_locked();
	pthread_mutex_unlock(&lock);
	return r;
}

void net_monitor_stop(void)
{
	pthread_mutex_lock(&lock);
	teardown_locked();
	pthread_mutex_unlock(&lock);
}

int net_module_start(void)
{
	int r = net_monitor_start();

	if (r < 0)
		log_err("network: cannot open rtnetlink: %s", strerror(-r));
	return r < 0 ? -1 : 0;
}

void net_module_stop(void)
{
	net_monitor_stop();
}

static void sync_locked(void)
{
	static char buf[64 << 10];
	bool changed = false;

	if (!started)
		return;
	for (;;) {
		ssize_t n = recv(nl_socket_get_fd(ev_sock), buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0 || (n < 0 && errno == ENOBUFS)) {   /* events, or some lost */
			changed = true;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			log_debug("netlink events: %m");
		break;
	}
	if (changed)
		atomic_fetch_add(&generation, 1);
}

unsigned long net_sync(void)
{
	pthread_mutex_lock(&lock);
	sync_locked();
	pthread_mutex_unlock(&lock);
	return atomic_load(&generation);
}

unsigned long net_generation(void)
{
	return atomic_load(&generation);
}

/* The events say *that* something changed; the snapshot is built from fresh dumps (a
 * few hundred microseconds, and only after a change) plus the sysfs files its level
 * needs. */
static int build_fresh(const struct net_filter *f, const char *sysroot, enum net_detail level,
		       unsigned long gen, struct net_snapshot **ret)
{
	struct nl_cache *l = NULL, *a = NULL, *rt = NULL;
	int r;

	if ((r = rtnl_link_alloc_cache(sync_sock, AF_UNSPEC, &l)) < 0 ||
	    (r = rtnl_addr_alloc_cache(sync_sock, &a)) < 0 ||
	    (r = rtnl_route_alloc_cache(sync_sock, AF_UNSPEC, 0, &rt)) < 0) {
		log_debug("netlink dump: %s", nl_geterror(r));
		r = nlerr(r);
	} else {
		r = net_snapshot_build_level(l, a, rt, f, sysroot, level, gen, ret);
		/* hostQos as the kernel has it: for the capabilities only */
		if (r == 0 && level == NET_DETAIL_FULL && (r = net_snapshot_read_tc(sync_sock, *ret)) < 0) {
			log_debug("tc dump: %s", strerror(-r));
			net_snapshot_unref(*ret);
			*ret = NULL;
		}
	}
	if (l)
		nl_cache_free(l);
	if (a)
		nl_cache_free(a);
	if (rt)
		nl_cache_free(rt);
	return r;
}

/* One cached snapshot per level; a request is served by a current one of its level or
 * a more detailed one (same filter and sysroot), else built and cached at its level. */
static struct net_snapshot *cached[_NET_DETAIL_MAX];
static char *cached_key[_NET_DETAIL_MAX];

static void cache_clear_locked(void)
{
	for (int i = 0; i < _NET_DETAIL_MAX; i++) {
		net_snapshot_unref(cached[i]);
		cached[i] = NULL;
		free(cached_key[i]);
		cached_key[i] = NULL;
	}
}

int net_snapshot_get_level(const struct net_filter *f, const char *sysroot,
			   enum net_detail level, struct net_snapshot **ret)
{
	_cleanup_free_ char *key = NULL;
	int r = 0;

	if ((unsigned)level >= _NET_DETAIL_MAX)
		return -EINVAL;
	if (asprintf(&key, "%s\n%s\n%s\n%s", f->fake_nics ?: "", f->hidden_bonds ?: "",
		     f->hidden_vlans ?: "", sysroot ?: "") < 0)
		return -ENOMEM;
	pthread_mutex_lock(&lock);
	if (!started) {
		r = -ENOTCONN;
		goto out;
	}
	sync_locked();
	unsigned long gen = atomic_load(&generation);
	for (int i = (int)level; i >= 0; i--)   /* NET_DETAIL_FULL is 0: the most detailed */
		if (cached[i] && cached[i]->generation == gen && !strcmp(cached_key[i], key)) {
			*ret = net_snapshot_ref(cached[i]);
			goto out;
		}
	struct net_snapshot *s;
	if ((r = build_fresh(f, sysroot, level, gen, &s)) < 0)
		goto out;
	net_snapshot_unref(cached[level]);
	cached[level] = s;
	free(cached_key[level]);
	cached_key[level] = TAKE_PTR(key);
	*ret = net_snapshot_ref(s);
out:
	pthread_mutex_unlock(&lock);
	return r;
}

int net_snapshot_get(const struct net_filter *f, const char *sysroot, struct net_snapshot **ret)
{
	return net_snapshot_get_level(f, sysroot, NET_DETAIL_FULL, ret);
}
