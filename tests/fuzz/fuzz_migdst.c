/* libFuzzer target: vdsm-c/migration/dst.c, migrate's dst parameter (wire text). The
 * host written is a prefix-free copy of allowed characters, NUL-terminated within the
 * buffer; the port is 1..65535; a refusal sets code 12. */
#include "fuzzcommon.h"

#include "../../vdsm-c/migration/migration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size, 0);
	char host[256];
	struct vd_error err = { 0 };
	int port = 0;

	if (!s)
		return 0;
	memset(host, 'x', sizeof(host));
	if (migration_parse_dst(s, host, sizeof(host), &port, &err) == 0) {
		size_t n = strnlen(host, sizeof(host));
		if (n == 0 || n == sizeof(host) || port < 1 || port > 65535 || err.code)
			abort();
		for (size_t i = 0; i < n; i++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:_",
				    host[i]))
				abort();
	} else if (err.code != 12) {
		abort();
	}
	free(s);
	return 0;
}
