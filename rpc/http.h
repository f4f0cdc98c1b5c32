/* HTTP/1.1 request parsing for the RPC server: pure functions over byte strings (no
 * sockets, no allocation), so every refusal rule is unit-tested and fuzzed
 * (tests/unit/http_test.c, tests/fuzz/fuzz_http.c).
 *
 * What is accepted is what XML-RPC clients send (Python xmlrpc.client, Apache XML-RPC,
 * libcurl); the rest is refused with the status the server sends before it closes:
 *   400  bare LF, malformed request line or header line, whitespace before a header's
 *        colon, folded header, control characters, bad or conflicting Content-Length,
 *        Content-Length together with Transfer-Encoding, Transfer-Encoding in HTTP/1.0,
 *        bad chunk-size or chunk terminator lines
 *   413  a chunk larger than what is left of the body limit (decided from its size line)
 *   417  an Expect other than 100-continue
 *   431  head over RPC_HTTP_MAX_HEAD bytes or more than RPC_HTTP_MAX_HEADERS headers
 *   501  a transfer coding other than chunked
 *   505  an HTTP version other than 1.0 and 1.1 */
#ifndef RPC_HTTP_H
#define RPC_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "../vdsm-c/util/macros.h"

#define RPC_HTTP_MAX_HEAD 8192     /* request line + headers + the empty line */
#define RPC_HTTP_MAX_HEADERS 64
#define RPC_HTTP_FLOW_MAX 128      /* FlowID kept for logs, truncated beyond */
#define RPC_HTTP_MAX_LENGTH (1LL << 40) /* larger Content-Length values are malformed */

struct rpc_http_request {
	char method[16];
	char path[64];              /* truncated when longer: such a path is a 404 anyway */
	bool http10;
	bool conn_close, conn_keep_alive; /* Connection: close / keep-alive tokens */
	bool chunked;
	bool expect_continue;
	long long content_length;   /* -1 when absent */
	char flow[RPC_HTTP_FLOW_MAX]; /* FlowID header, control characters as '?'; "" = none */
};

/* Looks for a complete request head at the start of buf[0..len). Returns its length
 * (request line, headers, the empty line; leading empty lines included) and fills rq;
 * 0 when more bytes are needed; or minus the HTTP status to refuse with (-400, -431,
 * -417, -501, -505). A refusal is decided as soon as the bytes show it (a bare LF does
 * not wait for the end of the head). */
ssize_t rpc_http_parse_head(const char *buf, size_t len, struct rpc_http_request *rq) _wur_;

/* Whether the connection stays open after the reply (HTTP/1.1 unless "close",
 * HTTP/1.0 only with "keep-alive"). */
bool rpc_http_keep_alive(const struct rpc_http_request *rq);

/* Chunked body decoder: a state machine fed whatever bytes have arrived. */
struct rpc_http_chunked {
	int state;
	unsigned long long left;    /* bytes of the current chunk still to come */
	size_t total;               /* body bytes so far */
	size_t max;                 /* body limit */
	int trailers;               /* trailer lines seen */
};

enum {
	RPC_HTTP_MORE = 0,  /* consumed *used bytes (maybe 0); call again with more input */
	RPC_HTTP_DATA = 1,  /* body bytes at in[*data_off], *data_len of them; *used consumed */
	RPC_HTTP_DONE = 2,  /* last chunk and trailers read; *used consumed */
};

void rpc_http_chunked_init(struct rpc_http_chunked *c, size_t max_body);

/* One step over in[0..n). Returns RPC_HTTP_MORE, RPC_HTTP_DATA or RPC_HTTP_DONE, or
 * -400 (malformed) / -413 (a chunk that does not fit in the limit). A line (chunk
 * size, CRLF, trailer) is consumed only when it is complete. */
int rpc_http_chunked_step(struct rpc_http_chunked *c, const char *in, size_t n, size_t *used,
			  size_t *data_off, size_t *data_len) _wur_;

/* Reason phrase of the statuses the server sends. */
const char *rpc_http_reason(int status);

#endif
