/* libFuzzer target: storage/json.c, the reader of multipathd's and lvm's JSON replies
 * (and storage/mpath.c's readers of `show maps json` and of the pvs report),
 * the VPD page 0x80 decoder of storage/dev.c and its reader of blkid's export output. Whatever parses must form a
 * consistent tree (every index in range, children counted right, strings inside the
 * input), and every string must decode without overrunning the buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../storage/dev.h"
#include "../../storage/json.h"
#include "../../storage/mpath.h"

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
	struct stg_mpath_map *maps;
	size_t n;
	if (stg_mpath_parse_maps((const char *)data, size, &maps, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (!maps[i].wwid[0] || strlen(maps[i].wwid) >= sizeof(maps[i].wwid))
				abort();
			for (size_t k = 0; k < maps[i].npaths; k++)
				for (const char *c = maps[i].paths[k].dev; *c; c++)
					if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
						abort();
		}
		stg_mpath_maps_free(maps, n);
	}
	struct stg_dev devs[2] = { { .guid = "36001405abc000001" }, { .guid = "a" } };
	size_t used = stg_blkid_mark_used((const char *)data, size, devs, 2);
	if (used > 2 || (used == 2 && strcmp(devs[0].status, "used") != 0))
		abort();
	int r = stg_vpd80_serial(data, size, serial, sizeof(serial));
	if (r >= 0 && (size_t)r != strlen(serial))
		abort();
	return 0;
}
