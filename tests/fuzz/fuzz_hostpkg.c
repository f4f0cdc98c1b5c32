/* libFuzzer target: parsers of child-process and kernel text in vdsm-c/host — the
 * package list printed by dpkg-query, and uname's release and version strings. The
 * first byte picks the parser; for uname, a NUL separates release from version. */
#include "fuzzcommon.h"

#include "../../vdsm-c/host/hostinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size, 1);

	if (!text)
		return 0;

	if (data[0] & 1) {
		struct vd_pkg *p = NULL;
		size_t n = 0;
		if (vd_packages_parse(text, &p, &n) == 0)
			free(p);
	} else {
		struct vd_pkg k;
		size_t len = strlen(text); /* text has size - 1 bytes and its NUL */
		const char *version = len + 1 < size ? text + len + 1 : ""; /* after a NUL */
		if (vd_kernel_pkg_parse(text, version, &k) < 0)
			memset(&k, 0, sizeof(k));
	}
	free(text);
	return 0;
}
