/* libFuzzer target: parsers of child-process and kernel text in vdsm-c/host — the
 * package list printed by dpkg-query, and uname's release and version strings. The
 * first byte picks the parser; for uname, a NUL separates release from version. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vdsm-c/host/hostinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	text[size] = '\0';

	if (data[0] & 1) {
		struct vd_pkg *p = NULL;
		size_t n = 0;
		if (vd_packages_parse(text, &p, &n) == 0)
			free(p);
	} else {
		struct vd_pkg k;
		const char *version = text + strlen(text) + 1; /* "" when there is no NUL */
		if (version > text + size)
			version = text + size;
		if (vd_kernel_pkg_parse(text, version, &k) < 0)
			memset(&k, 0, sizeof(k));
	}
	free(text);
	return 0;
}
