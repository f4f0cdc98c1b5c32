/* migrate's dst parameter (untrusted wire text; fuzzed by tests/fuzz/fuzz_migdst.c). */
#include <ctype.h>
#include <string.h>

#include "migration.h"
#include "../util/util.h"

int migration_parse_dst(const char *s, char *host_out, size_t size, int *port_out,
			struct vd_error *err)
{
	const char *host = s, *port = NULL;
	size_t hl;

	if (*s == '[') {
		const char *e = strchr(s, ']');
		if (!e || (e[1] && e[1] != ':'))
			goto bad;
		host = s + 1;
		hl = (size_t)(e - host);
		port = e[1] ? e + 2 : NULL;
	} else {
		const char *c = strchr(s, ':');
		if (c && strchr(c + 1, ':')) {      /* bare IPv6 */
			hl = strlen(s);
		} else {
			hl = c ? (size_t)(c - s) : strlen(s);
			port = c ? c + 1 : NULL;
		}
	}
	if (hl == 0 || hl >= size)
		goto bad;
	for (size_t i = 0; i < hl; i++)
		if (!(isalnum((unsigned char)host[i]) || strchr(".-:_", host[i])))
			goto bad;
	long long p = 54321;
	if (port && util_parse_ll(port, 1, 65535, &p) < 0)
		goto bad;
	memcpy(host_out, host, hl);
	host_out[hl] = '\0';
	*port_out = (int)p;
	return 0;
bad:
	return vd_error_set(err, VD_ERR_MIGRATEERR,
			    "Fatal error during migration: dst '%.64s' is not host:port", s);
}
