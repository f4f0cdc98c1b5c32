/* libFuzzer target: the create verb's parameter decoding (vm_params_parse: the
 * manager's vmParams struct → our VM configuration), fed the way a request reaches
 * it: body check, xmlrpc-c's parser, the first parameter as the vmParams struct.
 * Seeds are real create requests. Besides memory errors, it fails when a refusal
 * comes without a VDSM code and message. */
#define FUZZ_XMLRPC
#include "fuzzcommon.h"
#include "../../vdsm-c/verbs/vm_params.h"

static void one(xmlrpc_value *vmp)
{
	struct vd_error err = { 0 };
	struct vm_conf *conf = NULL;
	xmlrpc_value *stored = NULL;
	char id[37];

	if (vm_params_parse(vmp, &conf, &stored, id, &err) == 0) {
		vm_conf_free(conf);
		xmlrpc_DECREF(stored);
	} else if (!vd_error_is_set(&err) || !err.msg[0]) {
		abort(); /* a refusal always carries a code and message */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_first_struct(data, size, one);
	return 0;
}
