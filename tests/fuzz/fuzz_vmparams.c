/* libFuzzer target: the create verb's parameter decoding (vm_params_parse: the
 * manager's vmParams struct → our VM configuration), fed the way a request reaches
 * it: body check, xmlrpc-c's parser, the first parameter as the vmParams struct.
 * Seeds are real create requests. Besides memory errors, it fails when a refusal
 * comes without a VDSM code and message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xmlrpc-c/base.h>

#include "../../rpc/xmlrpc.h"
#include "../../vdsm-c/verbs/vm_params.h"
#include "../../vdsm-c/util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct vd_error err = { 0 };
	char *body = malloc(size + 1), *method = NULL;
	xmlrpc_value *params = NULL;

	if (!init) {
		rpc_codec_init(1 << 20, 64);
		vd_log_set_level(VD_LOG_ERR);
		init = 1;
	}
	if (!body)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	if (rpc_parse_call(body, size, &method, &params, &err) == 0) {
		xmlrpc_env env;
		xmlrpc_value *vmp = NULL;
		xmlrpc_env_init(&env);
		if (xmlrpc_array_size(&env, params) > 0) {
			xmlrpc_array_read_item(&env, params, 0, &vmp);
			if (!env.fault_occurred && xmlrpc_value_type(vmp) == XMLRPC_TYPE_STRUCT) {
				struct vm_conf *conf = NULL;
				xmlrpc_value *stored = NULL;
				char id[37];
				vd_error_clear(&err);
				if (vm_params_parse(vmp, &conf, &stored, id, &err) == 0) {
					vm_conf_free(conf);
					xmlrpc_DECREF(stored);
				} else if (!vd_error_is_set(&err) || !err.msg[0]) {
					abort(); /* a refusal always carries a code and message */
				}
			}
			if (vmp)
				xmlrpc_DECREF(vmp);
		}
		xmlrpc_env_clean(&env);
		free(method);
		xmlrpc_DECREF(params);
	}
	free(body);
	return 0;
}
