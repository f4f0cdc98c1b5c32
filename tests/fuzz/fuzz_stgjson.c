/* libFuzzer target: storage/json.c, the reader of multipathd's and lvm's JSON replies,
 * and the VPD page 0x80 decoder of storage/dev.c. Whatever parses must form a
 * consistent tree (every index in range, children counted right, strings inside the
 * input), and every string must decode without overrunning the buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../storage/dev.h"
#include "../../storage/json.h"

static void walk(const struct stg_json *doc, size_t size)
{
	char buf[256];
	int64_t v;

	for (int32_t i = 0; i < doc->n; i++) {
		const struct stg_json_node *nd = &doc->nodes[i];
		if (nd->start > size || nd->len > size - nd->start)
			abort();
		if (nd->next >= doc->n || nd->child >= doc->n || nd->value >= doc->n)
			abort();
		if (nd->type == STG_JSON_ARRAY || nd->type == STG_JSON_OBJECT) {
			int32_t c = 0;
			for (int32_t k = nd->child; k >= 0; k = doc->nodes[k].next) {
				if (k <= i || ++c > nd->count)
					abort();
				if (nd->type == STG_JSON_OBJECT &&
				    (doc->nodes[k].type != STG_JSON_STRING || doc->nodes[k].value <= k))
					abort();
			}
			if (c != nd->count)
				abort();
		}
		if (nd->type == STG_JSON_STRING) {
			int r = stg_json_string(doc, i, buf, sizeof(buf));
			if (r >= 0 && (size_t)r != strlen(buf))
				abort();
		}
		if (stg_json_uint(doc, i, &v) == 0 && v < 0)
			abort();
	}
	(void)stg_json_get(doc, 0, "maps");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stg_json doc;
	char serial[64];

	if (stg_json_parse((const char *)data, size, &doc) == 0) {
		if (doc.n < 1)
			abort();
		walk(&doc, size);
		stg_json_free(&doc);
	}
	int r = stg_vpd80_serial(data, size, serial, sizeof(serial));
	if (r >= 0 && (size_t)r != strlen(serial))
		abort();
	return 0;
}
