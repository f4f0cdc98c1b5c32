/* Device hiding rules (vars.fake_nics, hidden_bonds, hidden_vlans) and kind names. */
#include <fnmatch.h>
#include <string.h>

#include "net.h"

static const char *const kind_names[] = {
	[NET_KIND_NIC] = "nic",
	[NET_KIND_BRIDGE] = "bridge",
	[NET_KIND_VLAN] = "vlan",
	[NET_KIND_BOND] = "bond",
	[NET_KIND_OTHER] = "other",
};
_Static_assert(ELEMENTSOF(kind_names) == _NET_KIND_MAX, "kind_names incomplete");

const char *net_kind_to_string(enum net_kind k)
{
	return k < _NET_KIND_MAX ? kind_names[k] : NULL;
}

bool net_glob_list_match(const char *list, const char *name)
{
	char pat[256];

	if (!list)
		return false;
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		const char *s = p;
		p += n;
		if (*p == ',')
			p++;
		while (n > 0 && (*s == ' ' || *s == '\t'))
			s++, n--;
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n == 0 || n >= sizeof(pat))
			continue;
		memcpy(pat, s, n);
		pat[n] = '\0';
		if (fnmatch(pat, name, 0) == 0)
			return true;
	}
	return false;
}
