/* libFuzzer target: the readiness parsers of untrusted text in vdsm-c/host — storage
 * connection specs (vdsm-c-ready --storage, getHostReadiness's storage list) and the
 * output of `getent ahosts`. The first byte picks the parser. */
#include "fuzzcommon.h"

#include "../../vdsm-c/host/readiness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size, 1);

	if (!text)
		return 0;
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
