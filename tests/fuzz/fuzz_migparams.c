/* libFuzzer target: migrate's convergenceSchedule decoding (mig_params_conv_schedule),
 * fed the way a request reaches it: body check, xmlrpc-c's parser, the first
 * parameter's convergenceSchedule member. Seeds are migrate requests as the manager's
 * policies send them. Besides memory errors, it fails when a refusal comes without
 * code 12 and a message, or an accepted schedule holds out-of-range values. */
#define FUZZ_XMLRPC
#include "fuzzcommon.h"
#include "../../vdsm-c/verbs/mig_params.h"

static void one(xmlrpc_value *vmp)
{
	struct vd_error err = { 0 };
	struct migration_conv_schedule s;
	xmlrpc_value *cs = rpc_struct_get(vmp, "convergenceSchedule");

	if (cs && mig_params_conv_schedule(cs, &s, &err) == 0) {
		if (!s.set || s.n_init > MIGRATION_CONV_MAX || s.n_stalling > MIGRATION_CONV_MAX)
			abort();
		for (int i = 0; i < s.n_stalling; i++)
			if (s.stalling[i].limit < -1)
				abort();
	} else if (cs && (err.code != 12 || !err.msg[0])) {
		abort(); /* a refusal is 12 with a message */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_first_struct(data, size, one);
	return 0;
}
