/* libFuzzer target: storage/mdtag.c, the decoder of block-domain metadata tags (lvm
 * report output, untrusted). An accepted tag gives a NUL-terminated line of the
 * reported length, valid UTF-8 without control characters, that encodes back to a
 * tag which decodes to the same line. */
#include <errno.h>
#include "fuzzcommon.h"

#include "../../storage/mdtag.h"
#include "../../vdsm-c/util/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tag = fuzz_cstr(data, size, 0);
	char line[STG_MDTAG_MAX + 1], again[STG_MDTAG_MAX + 1], back[8 * STG_MDTAG_MAX];

	if (!tag)
		return 0;
	int n = stg_mdtag_decode(tag, line, sizeof(line));
	if (n >= 0) {
		if ((size_t)n != strlen(line) || !util_utf8_is_clean(line, 0))
			abort();
		for (const unsigned char *c = (const unsigned char *)line; *c; c++)
			if (*c < 0x20 || *c == 0x7f)
				abort();
		/* the encoder may need more room than the original tag (it escapes what
		 * the decoder let through as itself), never fails on a decoded line */
		if (stg_mdtag_encode(line, back, sizeof(back)) == -EINVAL)
			abort();
		int b = stg_mdtag_encode(line, back, sizeof(back));
		if (b >= 0 && (stg_mdtag_decode(back, again, sizeof(again)) != n ||
			       strcmp(again, line) != 0))
			abort();
	}
	free(tag);
	return 0;
}
