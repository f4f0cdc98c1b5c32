/* libFuzzer target: storage/sdmeta.c, the reader of storage domain metadata files (text
 * from a storage server, untrusted). Whatever is accepted must hold only [A-Z0-9_] keys
 * and printable values without a newline, re-format to text that parses back to the
 * same pairs with a valid seal, and decode (when it decodes) to a UUID and a sane
 * version. The same input as a volume .meta: an accepted volume has UUIDs, a known
 * FORMAT and a size >= 0. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../storage/sd.h"

static struct sd_meta_file f, g;

static void volume(const uint8_t *data, size_t size)
{
	struct vd_error err = { 0 };
	struct sd_volume v;

	if (sd_volume_parse((const char *)data, size, &v, &err) < 0) {
		if (!err.code)
			abort();
		return;
	}
	if (strlen(v.domain) != 36 || strlen(v.image) != 36 || strlen(v.parent) != 36 ||
	    (strcmp(v.format, "RAW") && strcmp(v.format, "COW")) || v.size < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vd_error err = { 0 };
	struct sd_meta m;
	size_t len = 0;
	char *text;

	volume(data, size);
	if (sd_meta_parse((const char *)data, size, &f, &err) < 0) {
		if (!err.code)
			abort();
		return 0;
	}
	for (size_t i = 0; i < f.n; i++) {
		for (const char *k = f.kv[i].key; *k; k++)
			if (!((*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') || *k == '_'))
				abort();
		if (!f.kv[i].key[0] || strchr(f.kv[i].value, '\n') || strchr(f.kv[i].value, '\r'))
			abort();
	}
	text = sd_meta_format(&f, &len);
	if (!text)
		abort();
	memset(&err, 0, sizeof(err));
	if (sd_meta_parse(text, len, &g, &err) < 0 || !g.sealed || g.n != f.n)
		abort();
	for (size_t i = 0; i < f.n; i++) {
		const char *v = sd_meta_get(&g, f.kv[i].key);
		if (!v || strcmp(v, f.kv[i].value) != 0)
			abort();
	}
	free(text);
	memset(&err, 0, sizeof(err));
	if (sd_meta_decode(&f, &m, &err) == 0) {
		if (strlen(m.uuid) != 36 || m.version < 0 || m.version > 5)
			abort();
	} else if (!err.code) {
		abort();
	}
	return 0;
}
