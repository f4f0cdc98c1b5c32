/* libFuzzer target: the VM state file reader (vm_meta_parse: the domain XML with our
 * metadata element that recovery reads back from /run/vdsm-c/vm/<id>.xml). */
#include "fuzzcommon.h"

#include "../../vdsm-c/vm/vm-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *xml = fuzz_cstr(data, size, 0);
	struct vm_meta m;

	if (!xml)
		return 0;
	if (vm_meta_parse(xml, &m) == 0) {
		if (strlen(m.id) != 36)
			abort(); /* an accepted record always names its VM */
		vm_meta_clear(&m);
	}
	free(xml);
	return 0;
}
