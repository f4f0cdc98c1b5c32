/* libFuzzer target: the readiness parsers of untrusted text in vdsm-c/host — storage
 * connection specs (vdsm-c-ready --storage, getHostReadiness's storage list) and the
 * output of `getent ahosts`. The first byte picks the parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vdsm-c/host/readiness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] & 1) {
		struct rd_storage s;
		struct vd_error err = { 0 };
		if (rd_storage_parse(text, &s, &err) == 0 &&
		    (strlen(s.host) >= sizeof(s.host) || s.port < 1 || s.port > 65535))
			abort();
	} else {
		char addr[46];
		if (rd_getent_parse(text, addr) == 0 && strlen(addr) >= sizeof(addr))
			abort();
	}
	free(text);
	return 0;
}
