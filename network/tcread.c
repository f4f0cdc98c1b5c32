/* The kernel's hostQos state for the snapshot: the HFSC classes under the root qdisc
 * hfsc 1389: of each device (network/netshape.c makes them), read through libnl's tc
 * API. One qdisc dump for all devices, then one class dump per shaped device (the
 * kernel dumps classes per device only). */
#include "net.h"   /* first: <net/if.h> before the kernel headers */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/pkt_sched.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/class.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/hfsc.h>
#include <netlink/route/tc.h>

#define TC_ROOT_MAJOR 0x1389u   /* NETSHAPE_ROOT (netconf.h; not included here) */

static int errno_of(int nle)
{
	return nle == -NLE_NOMEM ? -ENOMEM : -EIO;
}

static void curve(int got, const struct tc_service_curve *t, struct net_tc_curve *c)
{
	/* a curve the kernel dumps is set; all-zero means none (hfsc ignores it) */
	if (got == 0 && (t->m1 || t->d || t->m2))
		*c = (struct net_tc_curve){ .set = true, .m1 = t->m1, .d = t->d, .m2 = t->m2 };
}

static int classes_of(struct nl_sock *sk, struct net_dev *d)
{
	struct nl_cache *cc = NULL;
	int r = rtnl_class_alloc_cache(sk, d->ifindex, &cc), n;

	if (r < 0)
		return r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV ? 0 : errno_of(r);   /* gone */
	n = nl_cache_nitems(cc);
	if (n > 0 && !(d->tc_classes = calloc((size_t)n, sizeof(*d->tc_classes)))) {
		nl_cache_free(cc);
		return -ENOMEM;
	}
	for (struct nl_object *o = nl_cache_get_first(cc); o && (int)d->n_tc_classes < n;
	     o = nl_cache_get_next(o)) {
		struct rtnl_class *cl = (struct rtnl_class *)o;
		const char *kind = rtnl_tc_get_kind(TC_CAST(cl));
		uint32_t h = rtnl_tc_get_handle(TC_CAST(cl));
		struct tc_service_curve t;
		if (!kind || strcmp(kind, "hfsc") || TC_H_MAJ(h) != TC_ROOT_MAJOR << 16 ||
		    rtnl_tc_get_parent(TC_CAST(cl)) != TC_ROOT_MAJOR << 16)
			continue;
		struct net_tc_class *k = &d->tc_classes[d->n_tc_classes++];
		k->minor = TC_H_MIN(h);
		curve(rtnl_class_hfsc_get_fsc(cl, &t), &t, &k->c[0]);
		curve(rtnl_class_hfsc_get_usc(cl, &t), &t, &k->c[1]);
		curve(rtnl_class_hfsc_get_rsc(cl, &t), &t, &k->c[2]);
	}
	nl_cache_free(cc);
	return 0;
}

int net_snapshot_read_tc(struct nl_sock *sk, struct net_snapshot *s)
{
	struct nl_cache *qc = NULL;
	int r = rtnl_qdisc_alloc_cache(sk, &qc);

	if (r < 0)
		return errno_of(r);
	for (struct nl_object *o = nl_cache_get_first(qc); o && r == 0; o = nl_cache_get_next(o)) {
		struct rtnl_qdisc *q = (struct rtnl_qdisc *)o;
		const char *kind = rtnl_tc_get_kind(TC_CAST(q));
		int idx = rtnl_tc_get_ifindex(TC_CAST(q));
		if (rtnl_tc_get_parent(TC_CAST(q)) != TC_H_ROOT || !kind || strcmp(kind, "hfsc") ||
		    rtnl_tc_get_handle(TC_CAST(q)) != TC_ROOT_MAJOR << 16)
			continue;
		for (size_t i = 0; i < s->n_devs; i++)
			if (s->devs[i].ifindex == idx && !s->devs[i].tc_classes) {
				r = classes_of(sk, &s->devs[i]);
				break;
			}
	}
	nl_cache_free(qc);
	return r;
}

const struct net_tc_class *net_dev_tc_class(const struct net_dev *d, uint32_t minor)
{
	for (size_t i = 0; d && i < d->n_tc_classes; i++)
		if (d->tc_classes[i].minor == minor)
			return &d->tc_classes[i];
	return NULL;
}
