/* libFuzzer target: rpc/http.c. The input is a request as bytes from the wire: the head
 * parser must give the same verdict whole and cut at any point (a prefix is "need
 * more" or the same refusal), and the chunked decoder must never read outside its input
 * nor return more body than the limit, whatever the pieces it is fed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../rpc/http.h"

static void chunked(const uint8_t *data, size_t size, size_t piece)
{
	struct rpc_http_chunked ch;
	size_t pos = 0, avail = 0, body = 0;

	rpc_http_chunked_init(&ch, 4096);
	for (;;) {
		size_t used, off, dl;
		int r = rpc_http_chunked_step(&ch, (const char *)data + pos, avail - pos, &used, &off, &dl);
		if (r < 0 || r == RPC_HTTP_DONE)
			return;
		if (used > avail - pos || (r == RPC_HTTP_DATA && off + dl > avail - pos))
			abort();
		body += dl;
		if (body > 4096)
			abort();
		pos += used;
		if (used == 0) {
			if (avail == size)
				return;
			avail = avail + piece < size ? avail + piece : size;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpc_http_request rq;
	ssize_t whole = rpc_http_parse_head((const char *)data, size, &rq);

	if (whole > (ssize_t)size)
		abort();
	if (size > 0) {
		ssize_t cut = rpc_http_parse_head((const char *)data, size - 1, &rq);
		/* one byte less: need more, or the same verdict (a refusal seen earlier) */
		if (cut != 0 && cut != whole && !(whole > 0 && cut > 0 && cut <= whole))
			abort();
	}
	if (whole > 0 && rq.method[sizeof(rq.method) - 1] == '\0')
		(void)rpc_http_keep_alive(&rq);
	size_t start = whole > 0 ? (size_t)whole : 0;
	chunked(data + start, size - start, size ? (size_t)data[0] % 7 + 1 : 1);
	chunked(data + start, size - start, 1 << 20);
	return 0;
}
