/* hostQos: the text form of a network's outbound HFSC curves, its parser (wire
 * request and persisted text, both untrusted) and formatter. Pure code. */
#include "netconf.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

const char *const netqos_curve_names[NETQOS_N] = { "ls", "ul", "rt" };

/* A decimal number in [0, max] from *p, which advances past it. */
static int number(const char **p, unsigned long long max, unsigned long long *ret)
{
	unsigned long long v = 0;
	const char *s = *p;

	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*p = s;
	*ret = v;
	return 0;
}

static int curve_parse(const char *net, const char **p, struct netqos *q,
		       struct vd_error *err)
{
	const char *s = *p;
	int i;

	for (i = 0; i < NETQOS_N; i++)
		if (!strncmp(s, netqos_curve_names[i], 2) && s[2] == ':')
			break;
	if (i == NETQOS_N)
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': hostQos: unknown "
				    "service curve '%.8s' (ls, ul or rt)", net, s);
	struct netqos_curve *c = &q->c[i];
	const char *nm = netqos_curve_names[i];
	if (c->set)
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': hostQos: %s given "
				    "twice", net, nm);
	s += 3;
	if (number(&s, NETQOS_RATE_MAX, &c->m1) < 0 || *s++ != ',' ||
	    number(&s, UINT32_MAX, &c->d) < 0 || *s++ != ',' ||
	    number(&s, NETQOS_RATE_MAX, &c->m2) < 0 || (*s && *s != ' '))
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': hostQos: %s: m1 "
				    "and m2 must be integers in 0-%llu bit/s, d in 0-%u us", net,
				    nm, NETQOS_RATE_MAX, UINT32_MAX);
	if (c->m2 == 0)
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': hostQos: %s: m2 "
				    "must be at least 1 bit/s", net, nm);
	if (c->m1 && !c->d)
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': hostQos: %s: m1 "
				    "needs a duration d", net, nm);
	c->set = true;
	*p = s;
	return 0;
}

int netqos_parse(const char *net, const char *text, struct netqos *ret,
		 struct vd_error *err)
{
	struct netqos q = { 0 };
	const char *p = text;

	while (*p == ' ')
		p++;
	while (*p) {
		if (curve_parse(net, &p, &q, err) < 0)
			return -1;
		while (*p == ' ')
			p++;
	}
	q.set = q.c[NETQOS_LS].set || q.c[NETQOS_UL].set || q.c[NETQOS_RT].set;
	if (q.set && !q.c[NETQOS_LS].set)
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': hostQos: the "
				    "link-share curve ls is required", net);
	if (q.c[NETQOS_UL].set && q.c[NETQOS_RT].set &&
	    q.c[NETQOS_RT].m2 > q.c[NETQOS_UL].m2)
		return vd_error_set(err, VD_ERR_NET_BAD_PARAMS, "network '%s': hostQos: rt m2 "
				    "%llu exceeds ul m2 %llu", net, q.c[NETQOS_RT].m2,
				    q.c[NETQOS_UL].m2);
	*ret = q;
	return 0;
}

void netqos_format(const struct netqos *q, char *buf, size_t size)
{
	size_t len = 0;

	if (size)
		buf[0] = '\0';
	for (int i = 0; q->set && i < NETQOS_N && len < size; i++) {
		const struct netqos_curve *c = &q->c[i];
		if (!c->set)
			continue;
		int w = snprintf(buf + len, size - len, "%s%s:%llu,%llu,%llu", len ? " " : "",
				 netqos_curve_names[i], c->m1, c->d, c->m2);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

uint32_t netshape_minor(int vlan)
{
	return vlan < 0 ? NETSHAPE_DEFAULT : (uint32_t)vlan;
}

void netqos_to_kernel(const struct netqos_curve *c, struct net_tc_curve *k)
{
	/* bit/s → bytes/s; a curve given is never rounded to 0 (the kernel would read
	 * "no curve") */
	*k = (struct net_tc_curve){
		.set = c->set, .m1 = (uint32_t)(c->m1 / 8), .d = (uint32_t)c->d,
		.m2 = (uint32_t)(c->m2 / 8 ? c->m2 / 8 : 1),
	};
}

void netqos_from_kernel(const struct net_tc_class *k, const struct netqos *cfg,
			struct netqos *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (int i = 0; i < NETQOS_N; i++) {
		const struct net_tc_curve *kc = &k->c[i];
		struct net_tc_curve want = { 0 };
		if (!kc->set)
			continue;
		if (cfg && cfg->c[i].set)
			netqos_to_kernel(&cfg->c[i], &want);
		if (want.set && want.m1 == kc->m1 && want.d == kc->d && want.m2 == kc->m2)
			ret->c[i] = cfg->c[i];   /* what the configuration maps to: as sent */
		else
			ret->c[i] = (struct netqos_curve){ .set = true, .m1 = 8ULL * kc->m1,
							   .d = kc->d, .m2 = 8ULL * kc->m2 };
		ret->set = true;
	}
}
