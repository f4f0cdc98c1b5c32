/* libFuzzer target: migrate's convergenceSchedule decoding (mig_params_conv_schedule),
 * fed the way a request reaches it: body check, xmlrpc-c's parser, the first
 * parameter's convergenceSchedule member. Seeds are migrate requests as the manager's
 * policies send them. Besides memory errors, it fails when a refusal comes without
 * code 12 and a message, or an accepted schedule holds out-of-range values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xmlrpc-c/base.h>

#include "../../rpc/xmlrpc.h"
#include "../../vdsm-c/verbs/mig_params.h"
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
				struct migration_conv_schedule s;
				xmlrpc_value *cs = rpc_struct_get(vmp, "convergenceSchedule");
				vd_error_clear(&err);
				if (cs && mig_params_conv_schedule(cs, &s, &err) == 0) {
					if (!s.set || s.n_init > MIGRATION_CONV_MAX ||
					    s.n_stalling > MIGRATION_CONV_MAX)
						abort();
					for (int i = 0; i < s.n_stalling; i++)
						if (s.stalling[i].limit < -1)
							abort();
				} else if (cs && (err.code != 12 || !err.msg[0])) {
					abort(); /* a refusal is 12 with a message */
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
