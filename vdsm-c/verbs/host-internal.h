/* Shared by the host verbs (host.c, caps.c, stats.c, netinfo.c). */
#ifndef VD_VERBS_HOST_INTERNAL_H
#define VD_VERBS_HOST_INTERNAL_H

#include <xmlrpc-c/base.h>

#include "../../network/net.h"

/* The network report of getVdsCapabilities (API.md §5.1 network sub-structs): sets
 * networks, bridges, nics, vlans and bondings in info. Hidden and OTHER devices are
 * left out. networks is {} until the agent manages networks (setupNetworks). */
void netinfo_report(xmlrpc_env *env, xmlrpc_value *info, const struct net_snapshot *s);

/* An interface name made fit to be a struct key: the kernel allows any byte but '/',
 * ':' and whitespace, and xmlrpc-c refuses a key that is not UTF-8 (a fault that
 * fails the whole reply; a character outside the BMP even crashes xmlrpc-c 1.33).
 * Cut to IFNAMSIZ - 1 bytes, then cleaned by util/utf8.h with UTIL_UTF8_BMP: invalid
 * UTF-8 (a character cut in two included), control bytes and characters outside the
 * BMP become '?'. out has room for IFNAMSIZ bytes; returns out. */
const char *netinfo_key(const char *name, char out[IFNAMSIZ]);

/* The device owning local address addr ("" if none). */
const char *netinfo_iface_of(const struct net_snapshot *s, const char *addr);

/* Frees getVdsCapabilities' static part (shutdown). */
void verbs_caps_fini(void);

#endif
