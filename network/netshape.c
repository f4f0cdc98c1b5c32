/* hostQos apply: outbound HFSC shaping through libnl-route-3's tc API, in VDSM's
 * layout (docs/network.md): root qdisc hfsc 1389: with default class 1389:1388, one
 * class 1389:<tag> per VLAN network with an fq_codel leaf <tag>: and a `basic` filter
 * matching the VLAN tag (meta ematch vlan, as VDSM's `basic match meta(vlan eq N)`: it
 * sees a tag the device accelerates, which a u32 match on the frame bytes does not). Errors: negative libnl codes (NLE_*), or
 * NETSHAPE_ENODEV when the device is gone. */
#include "netconf.h"

#include <errno.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/pkt_sched.h>
#include <linux/pkt_cls.h>
#include <linux/tc_ematch/tc_em_meta.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/class.h>
#include <netlink/route/classifier.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/hfsc.h>
#include <netlink/route/tc.h>
#include <arpa/inet.h>
#include <string.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <linux/rtnetlink.h>

#define ROOT_HANDLE TC_H_MAKE((uint32_t)NETSHAPE_ROOT << 16, 0)
#define CLASSID(minor) TC_H_MAKE((uint32_t)NETSHAPE_ROOT << 16, (uint32_t)(minor))

static int dev_index(const char *dev)
{
	unsigned i = if_nametoindex(dev);
	return i ? (int)i : NETSHAPE_ENODEV;
}

/* The preamble every tc object shares: device, parent, handle (0: none), kind (NULL:
 * none). 0 or a negative libnl code. */
static int tc_init(struct rtnl_tc *t, int idx, uint32_t parent, uint32_t handle,
		   const char *kind)
{
	rtnl_tc_set_ifindex(t, idx);
	rtnl_tc_set_parent(t, parent);
	if (handle)
		rtnl_tc_set_handle(t, handle);
	return kind ? rtnl_tc_set_kind(t, kind) : 0;
}

static void curve(const struct netqos_curve *c, struct tc_service_curve *t)
{
	struct net_tc_curve k;
	netqos_to_kernel(c, &k);
	*t = (struct tc_service_curve){ .m1 = k.m1, .d = k.d, .m2 = k.m2 };
}

/* Adds (or with replace, changes) class 1389:minor with the curves of q. */
static int class_set(struct nl_sock *sk, int idx, uint32_t minor, const struct netqos *q,
		     bool replace)
{
	struct rtnl_class *cl = rtnl_class_alloc();
	struct tc_service_curve t;
	int r;

	if (!cl)
		return -NLE_NOMEM;
	if ((r = tc_init(TC_CAST(cl), idx, ROOT_HANDLE, CLASSID(minor), "hfsc")) < 0)
		goto out;
	if (q->c[NETQOS_LS].set) {
		curve(&q->c[NETQOS_LS], &t);
		if ((r = rtnl_class_hfsc_set_fsc(cl, &t)) < 0)
			goto out;
	}
	if (q->c[NETQOS_UL].set) {
		curve(&q->c[NETQOS_UL], &t);
		if ((r = rtnl_class_hfsc_set_usc(cl, &t)) < 0)
			goto out;
	}
	if (q->c[NETQOS_RT].set) {
		curve(&q->c[NETQOS_RT], &t);
		if ((r = rtnl_class_hfsc_set_rsc(cl, &t)) < 0)
			goto out;
	}
	r = rtnl_class_add(sk, cl, replace ? NLM_F_REPLACE : NLM_F_CREATE | NLM_F_EXCL);
out:
	rtnl_class_put(cl);
	return r;
}

/* The fq_codel leaf under class 1389:minor, handle minor: (0: the kernel picks). */
static int leaf_add(struct nl_sock *sk, int idx, uint32_t minor)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	int r;

	if (!q)
		return -NLE_NOMEM;
	if ((r = tc_init(TC_CAST(q), idx, CLASSID(minor), TC_H_MAKE(minor << 16, 0),
			 "fq_codel")) == 0)
		r = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_qdisc_put(q);
	return r;
}

/* Filter priority of a tag (tag 0 → 4095, never a tag). */
static uint16_t filter_prio(int vlan)
{
	return (uint16_t)(vlan > 0 ? vlan : 4095);
}

/* The basic filter `meta(vlan mask 0xfff eq TAG)` → 1389:minor, built by hand: libnl
 * 3.7's ematch encoding sets NLA_F_NESTED on each match, which the kernel refuses. */
static int filter_add(struct nl_sock *sk, int idx, int vlan)
{
	struct tcmsg t = {
		.tcm_family = AF_UNSPEC, .tcm_ifindex = idx, .tcm_parent = ROOT_HANDLE,
		.tcm_info = TC_H_MAKE((uint32_t)filter_prio(vlan) << 16, htons(ETH_P_ALL)),
	};
	struct tcf_ematch_tree_hdr th = { .nmatches = 1 };
	struct tcf_ematch_hdr eh = { .kind = TCF_EM_META };
	struct tcf_meta_hdr mh = {
		.left = { .kind = TCF_META_TYPE_INT << 12 | TCF_META_ID_VLAN_TAG, .op = TCF_EM_OPND_EQ },
		.right = { .kind = TCF_META_TYPE_INT << 12 | TCF_META_ID_VALUE },
	};
	uint32_t value = (uint32_t)vlan, mask = 0xfff;
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWTFILTER, NLM_F_REQUEST | NLM_F_ACK |
					      NLM_F_CREATE | NLM_F_EXCL);
	struct nlattr *opts, *em, *list, *match;
	int r = -NLE_NOMEM;

	if (!m)
		return r;
	if (nlmsg_append(m, &t, sizeof(t), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(m, TCA_KIND, "basic") < 0 || !(opts = nla_nest_start(m, TCA_OPTIONS)) ||
	    nla_put_u32(m, TCA_BASIC_CLASSID, CLASSID(netshape_minor(vlan))) < 0 ||
	    !(em = nla_nest_start(m, TCA_BASIC_EMATCHES)) ||
	    nla_put(m, TCA_EMATCH_TREE_HDR, sizeof(th), &th) < 0 ||
	    !(list = nla_nest_start(m, TCA_EMATCH_TREE_LIST)) ||
	    !(match = nla_nest_start(m, 1)))
		goto out;
	/* the kernel compares the match's attribute type with its index as is: libnl 3.7's
	 * NLA_F_NESTED there makes it refuse the tree (EINVAL) */
	match->nla_type &= (uint16_t)~NLA_F_NESTED;
	/* a match is its header followed by the kind's attributes */
	void *hdr = nlmsg_reserve(m, sizeof(eh), NLMSG_ALIGNTO);
	if (!hdr)
		goto out;
	memcpy(hdr, &eh, sizeof(eh));
	if (nla_put(m, TCA_EM_META_HDR, sizeof(mh), &mh) < 0 ||
	    nla_put_u32(m, TCA_EM_META_LVALUE, mask) < 0 ||
	    nla_put_u32(m, TCA_EM_META_RVALUE, value) < 0)
		goto out;
	nla_nest_end(m, match);
	nla_nest_end(m, list);
	nla_nest_end(m, em);
	nla_nest_end(m, opts);
	if ((r = nl_send_auto(sk, m)) >= 0)
		r = nl_wait_for_ack(sk);
out:
	nlmsg_free(m);
	return r;
}

static int filter_del(struct nl_sock *sk, int idx, int vlan)
{
	struct rtnl_cls *f = rtnl_cls_alloc();
	int r;

	if (!f)
		return -NLE_NOMEM;
	if ((r = tc_init(TC_CAST(f), idx, ROOT_HANDLE, 0, "basic")) == 0) {
		rtnl_cls_set_prio(f, filter_prio(vlan));
		rtnl_cls_set_protocol(f, ETH_P_ALL);
		r = rtnl_cls_delete(sk, f, 0);
	}
	rtnl_cls_put(f);
	return r;
}

int netshape_root_add(struct nl_sock *sk, const char *dev, const struct netqos *deflt)
{
	int idx = dev_index(dev), r;
	struct rtnl_qdisc *q;

	if (idx < 0)
		return idx;
	if (!(q = rtnl_qdisc_alloc()))
		return -NLE_NOMEM;
	if ((r = tc_init(TC_CAST(q), idx, TC_H_ROOT, ROOT_HANDLE, "hfsc")) == 0 &&
	    (r = rtnl_qdisc_hfsc_set_defcls(q, NETSHAPE_DEFAULT)) == 0)
		r = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_REPLACE);
	rtnl_qdisc_put(q);
	if (r == 0 && ((r = class_set(sk, idx, NETSHAPE_DEFAULT, deflt, false)) < 0 ||
		       (r = leaf_add(sk, idx, NETSHAPE_DEFAULT)) < 0)) {
		int u = netshape_root_del(sk, dev);   /* leaves nothing half-made; r says why */
		(void)u;
	}
	return r;
}

int netshape_root_del(struct nl_sock *sk, const char *dev)
{
	int idx = dev_index(dev), r;
	struct rtnl_qdisc *q;

	if (idx < 0)
		return idx;
	if (!(q = rtnl_qdisc_alloc()))
		return -NLE_NOMEM;
	if ((r = tc_init(TC_CAST(q), idx, TC_H_ROOT, ROOT_HANDLE, NULL)) == 0)
		r = rtnl_qdisc_delete(sk, q);
	rtnl_qdisc_put(q);
	return r;
}

int netshape_class_add(struct nl_sock *sk, const char *dev, int vlan, const struct netqos *q)
{
	int idx = dev_index(dev), r;
	uint32_t minor = netshape_minor(vlan);

	if (idx < 0)
		return idx;
	if ((r = class_set(sk, idx, minor, q, false)) < 0)
		return r;
	if ((r = leaf_add(sk, idx, minor)) < 0 || (r = filter_add(sk, idx, vlan)) < 0) {
		int u = netshape_class_del(sk, dev, vlan);   /* leaves nothing half-made */
		(void)u;
	}
	return r;
}

int netshape_class_del(struct nl_sock *sk, const char *dev, int vlan)
{
	int idx = dev_index(dev), r;
	struct rtnl_class *cl;

	if (idx < 0)
		return idx;
	/* the filter first: the kernel refuses to delete a class a filter points to */
	r = filter_del(sk, idx, vlan);
	if (r < 0 && r != -NLE_OBJ_NOTFOUND && r != -NLE_INVAL)
		return r;
	if (!(cl = rtnl_class_alloc()))
		return -NLE_NOMEM;
	if ((r = tc_init(TC_CAST(cl), idx, ROOT_HANDLE, CLASSID(netshape_minor(vlan)), NULL)) == 0)
		r = rtnl_class_delete(sk, cl);   /* its leaf qdisc goes with it */
	rtnl_class_put(cl);
	return r;
}
