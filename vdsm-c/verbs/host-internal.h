/* Shared by the host verbs (host.c, caps.c, stats.c, netinfo.c). */
#ifndef VD_VERBS_HOST_INTERNAL_H
#define VD_VERBS_HOST_INTERNAL_H

#include <xmlrpc-c/base.h>

#include "../../network/net.h"

/* The network report of getVdsCapabilities (API.md §5.1 network sub-structs): sets
 * networks, bridges, nics, vlans and bondings in info. Hidden and OTHER devices are
 * left out. networks is {} until the agent manages networks (setupNetworks). */
void netinfo_report(xmlrpc_env *env, xmlrpc_value *info, const struct net_snapshot *s);

/* The device owning local address addr ("" if none). */
const char *netinfo_iface_of(const struct net_snapshot *s, const char *addr);

/* Free the cached getVdsCapabilities / getVdsStats replies (shutdown). */
void verbs_caps_fini(void);
void verbs_stats_fini(void);

#endif
