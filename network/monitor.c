/* The rtnetlink side: one cache manager following link, address and route events,
 * a generation counter, and the last snapshot built from it.
 *
 * No thread: readers call net_sync() (through net_snapshot_get) which applies the
 * events queued on the socket without blocking. rtnetlink queues a change's event
 * before the syscall that made the change returns, so a reader after a change sees
 * it. The stats sampler calls net_sync() every interval, which keeps the queue short;
 * if it overflows anyway (ENOBUFS), every cache is refilled from a fresh dump. */
#include "net.h"   /* first: <net/if.h> before the kernel headers */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "../vdsm-c/util/log.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct nl_sock *ev_sock, *sync_sock;
static struct nl_cache_mngr *mngr;
static struct nl_cache *links, *addrs, *routes;
static atomic_ulong generation = 1;
static bool changed;

static struct net_snapshot *cached;
static char *cached_key;        /* filter + sysroot the cached snapshot was built with */

static void on_change(struct nl_cache *c, struct nl_object *o, int action, void *arg)
{
	(void)c;
	(void)o;
	(void)action;
	(void)arg;
	changed = true;
}

static void teardown_locked(void)
{
	if (mngr)
		nl_cache_mngr_free(mngr);   /* frees the caches it manages */
	mngr = NULL;
	links = addrs = routes = NULL;
	nl_socket_free(ev_sock);
	nl_socket_free(sync_sock);
	ev_sock = sync_sock = NULL;
	net_snapshot_unref(cached);
	cached = NULL;
	free(cached_key);
	cached_key = NULL;
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
	if (mngr) {
		pthread_mutex_unlock(&lock);
		return 0;
	}
	if (!(ev_sock = nl_socket_alloc()) || !(sync_sock = nl_socket_alloc())) {
		r = -ENOMEM;
		goto fail;
	}
	if ((r = nl_connect(sync_sock, NETLINK_ROUTE)) < 0)
		goto fail_nl;
	if ((r = nl_cache_mngr_alloc(ev_sock, NETLINK_ROUTE, 0, &mngr)) < 0)
		goto fail_nl;
	/* Room for a burst of events (a setupNetworks touching many devices). */
	nl_socket_set_buffer_size(ev_sock, 4 << 20, 0);
	if ((r = nl_cache_mngr_add(mngr, "route/link", on_change, NULL, &links)) < 0 ||
	    (r = nl_cache_mngr_add(mngr, "route/addr", on_change, NULL, &addrs)) < 0 ||
	    (r = nl_cache_mngr_add(mngr, "route/route", on_change, NULL, &routes)) < 0)
		goto fail_nl;
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
	if (!mngr)
		return;
	int r = nl_cache_mngr_data_ready(mngr);
	if (r < 0) {
		/* Lost events (ENOBUFS) or a broken message: start over from dumps. */
		log_debug("netlink: %s; refilling the caches", nl_geterror(r));
		nl_cache_refill(sync_sock, links);
		nl_cache_refill(sync_sock, addrs);
		nl_cache_refill(sync_sock, routes);
		changed = true;
	}
	if (changed) {
		changed = false;
		atomic_fetch_add(&generation, 1);
	}
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

/* The manager's caches say *that* something changed; the snapshot is built from fresh
 * dumps (a few hundred microseconds, and only after a change). libnl keeps the
 * AF_BRIDGE notifications of bridges and their ports as extra link objects in the
 * manager's cache, so a dump is the simplest exact picture. */
static int build_fresh(const struct net_filter *f, const char *sysroot, unsigned long gen,
		       struct net_snapshot **ret)
{
	struct nl_cache *l = NULL, *a = NULL, *rt = NULL;
	int r;

	if ((r = rtnl_link_alloc_cache(sync_sock, AF_UNSPEC, &l)) < 0 ||
	    (r = rtnl_addr_alloc_cache(sync_sock, &a)) < 0 ||
	    (r = rtnl_route_alloc_cache(sync_sock, AF_UNSPEC, 0, &rt)) < 0) {
		log_debug("netlink dump: %s", nl_geterror(r));
		r = nlerr(r);
	} else {
		r = net_snapshot_build(l, a, rt, f, sysroot, gen, ret);
	}
	if (l)
		nl_cache_free(l);
	if (a)
		nl_cache_free(a);
	if (rt)
		nl_cache_free(rt);
	return r;
}

int net_snapshot_get(const struct net_filter *f, const char *sysroot, struct net_snapshot **ret)
{
	_cleanup_free_ char *key = NULL;
	int r = 0;

	if (asprintf(&key, "%s\n%s\n%s\n%s", f->fake_nics ?: "", f->hidden_bonds ?: "",
		     f->hidden_vlans ?: "", sysroot ?: "") < 0)
		return -ENOMEM;
	pthread_mutex_lock(&lock);
	if (!mngr) {
		r = -ENOTCONN;
		goto out;
	}
	sync_locked();
	unsigned long gen = atomic_load(&generation);
	if (!cached || cached->generation != gen || strcmp(cached_key, key) != 0) {
		struct net_snapshot *s;
		if ((r = build_fresh(f, sysroot, gen, &s)) < 0)
			goto out;
		net_snapshot_unref(cached);
		cached = s;
		free(cached_key);
		cached_key = TAKE_PTR(key);
	}
	*ret = net_snapshot_ref(cached);
out:
	pthread_mutex_unlock(&lock);
	return r;
}
