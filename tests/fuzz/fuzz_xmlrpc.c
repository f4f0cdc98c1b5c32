/* libFuzzer target: what a request body goes through before a handler sees it — the
 * linear precheck (rpc_body_check), the parameterless fast path and, when the precheck
 * passes, xmlrpc-c's call parser through rpc_parse_call, as vd_api_handle does. */
#include "fuzzcommon.h"
#include <xmlrpc-c/base.h>

#include "../../rpc/xmlrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct vd_error why = { 0 };
	char name[RPC_METHOD_MAX + 1];
	char *body = fuzz_cstr(data, size, 0);

	if (!init) {
		rpc_codec_init(1 << 20, 64);
		init = 1;
	}
	if (!body)
		return 0;
	(void)rpc_parse_call_noparams(body, size, name);
	if (rpc_body_check(body, size, 64, vd_error_fresh(&why)) == 0) {
		char *method = NULL;
		xmlrpc_value *params = NULL;
		if (rpc_parse_call(body, size, &method, &params, vd_error_fresh(&why)) == 0) {
			free(method);
			xmlrpc_DECREF(params);
		}
	}
	free(body);
	return 0;
}
