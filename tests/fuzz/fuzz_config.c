/* libFuzzer target: the agent's config file reader (vd_config_read, the body of
 * vd_config_load) and the cross-key checks run on what it accepted. Besides memory
 * errors, it fails when a refusal comes without a message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../vdsm-c/config.h"
#include "../../vdsm-c/util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	static struct vd_config c;
	struct vd_error err = { 0 };

	if (!init) {
		vd_log_set_level(VD_LOG_ERR); /* unknown keys are warnings: keep quiet */
		init = 1;
	}
	if (size == 0)
		return 0;
	FILE *f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	vd_config_defaults(&c);
	int r = vd_config_read(&c, f, "fuzz.conf", &err);
	if (r == 0)
		r = vd_config_validate(&c, &err);
	fclose(f);
	if (r < 0 && (!vd_error_is_set(&err) || !err.msg[0]))
		abort(); /* every refusal says what was wrong */
	return 0;
}
