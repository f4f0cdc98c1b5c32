/* rpc/http.c: request heads and chunked bodies from byte strings — every accept and
 * refusal rule, and the same answer whether the bytes arrive at once or one by one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../rpc/http.h"

struct head_case {
	const char *name;
	const char *in;
	ssize_t want;   /* > 0: the whole input is the head; 0: need more; < 0: refusal */
};

#define POST "POST / HTTP/1.1\r\n"
#define END "\r\n"

static const struct head_case head_cases[] = {
	{ "minimal", POST END, 1 },
	{ "leading empty lines ignored", "\r\n\r\n" POST END, 1 },
	{ "http/1.0", "POST /RPC2 HTTP/1.0\r\n" END, 1 },
	{ "headers", POST "Host: x\r\nContent-Length: 5\r\nContent-Type: text/xml\r\n" END, 1 },
	{ "same content-length twice", POST "Content-Length: 5\r\nContent-Length: 5\r\n" END, 1 },
	{ "content-length with OWS", POST "Content-Length: \t5 \r\n" END, 1 },
	{ "chunked any case", POST "Transfer-Encoding: ChUnKeD\r\n" END, 1 },
	{ "expect 100-continue", POST "Expect: 100-Continue\r\n" END, 1 },
	{ "empty header value", POST "X-Empty:\r\n" END, 1 },
	{ "obs-text in a value", POST "X: caf\xc3\xa9\r\n" END, 1 },
	{ "incomplete request line", "POST / HTTP/1.1", 0 },
	{ "incomplete headers", POST "Host: x\r\n", 0 },
	{ "CR at the end", POST "Host: x\r", 0 },
	/* refusals */
	{ "bare LF ending the request line", "POST / HTTP/1.1\n", -400 },
	{ "bare LF ending a header", POST "Host: x\n", -400 },
	{ "bare LF head", "POST / HTTP/1.1\n\n", -400 },
	{ "head starting with a bare LF", "\nPOST / HTTP/1.1\r\n\r\n", -400 },
	{ "bare CR", POST "Host: x\ry\r\n" END, -400 },
	{ "no method", " / HTTP/1.1\r\n" END, -400 },
	{ "method too long", "POSTPOSTPOSTPOSTX / HTTP/1.1\r\n" END, -400 },
	{ "no version", "POST /\r\n" END, -400 },
	{ "two spaces", "POST  / HTTP/1.1\r\n" END, -400 },
	{ "trailing garbage", "POST / HTTP/1.1 x\r\n" END, -400 },
	{ "lower-case version", "POST / http/1.1\r\n" END, -400 },
	{ "HTTP/1.9", "POST / HTTP/1.9\r\n" END, -505 },
	{ "HTTP/2.0", "POST / HTTP/2.0\r\n" END, -505 },
	{ "HTTP/0.9", "POST / HTTP/0.9\r\n" END, -505 },
	{ "HTTP/1.10", "POST / HTTP/1.10\r\n" END, -400 },
	{ "control char in target", "POST /\x01 HTTP/1.1\r\n" END, -400 },
	{ "space before colon", POST "Content-Length : 5\r\n" END, -400 },
	{ "tab before colon", POST "Content-Length\t: 5\r\n" END, -400 },
	{ "no colon", POST "Content-Length 5\r\n" END, -400 },
	{ "empty name", POST ": 5\r\n" END, -400 },
	{ "folded header", POST "X: a\r\n b\r\n" END, -400 },
	{ "control char in value", POST "X: a\x01" "b\r\n" END, -400 },
	{ "NUL in value", POST "X: a\0b\r\n" END, -400 },
	{ "two different content-lengths", POST "Content-Length: 5\r\nContent-Length: 6\r\n" END, -400 },
	{ "content-length list", POST "Content-Length: 5, 5\r\n" END, -400 },
	{ "content-length sign", POST "Content-Length: +5\r\n" END, -400 },
	{ "content-length negative", POST "Content-Length: -1\r\n" END, -400 },
	{ "content-length empty", POST "Content-Length:\r\n" END, -400 },
	{ "content-length hex", POST "Content-Length: 0x10\r\n" END, -400 },
	{ "content-length huge", POST "Content-Length: 99999999999999999999999\r\n" END, -400 },
	{ "chunkedX", POST "Transfer-Encoding: chunkedX\r\n" END, -501 },
	{ "gzip", POST "Transfer-Encoding: gzip\r\n" END, -501 },
	{ "gzip, chunked", POST "Transfer-Encoding: gzip, chunked\r\n" END, -501 },
	{ "two transfer-encodings", POST "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n" END, -400 },
	{ "chunked and content-length", POST "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n" END, -400 },
	{ "chunked in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n" END, -400 },
	{ "expect other", POST "Expect: 200-ok\r\n" END, -417 },
};

static void check_head(const struct head_case *c, size_t len, bool bytewise)
{
	struct rpc_http_request rq;
	ssize_t r = 0;
	ssize_t want = c->want > 0 ? (ssize_t)len : c->want;

	if (!bytewise) {
		r = rpc_http_parse_head(c->in, len, &rq);
	} else {
		/* The answer for a prefix is "need more" until the bytes decide it. */
		for (size_t n = 1; n <= len; n++) {
			r = rpc_http_parse_head(c->in, n, &rq);
			if (r != 0)
				break;
		}
	}
	if (r != want)
		fail_msg("%s (%s): got %zd, want %zd", c->name, bytewise ? "bytewise" : "whole", r, want);
}

static void test_head_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(head_cases) / sizeof(head_cases[0]); i++) {
		const struct head_case *c = &head_cases[i];
		/* "NUL in value" holds a NUL: its length is the literal's */
		size_t len = strcmp(c->name, "NUL in value") == 0 ? strlen(POST) + 10 + 2 : strlen(c->in);
		check_head(c, len, false);
		check_head(c, len, true);
	}
}

static void test_head_fields(void **state)
{
	struct rpc_http_request rq;
	const char *in = "POST /RPC2 HTTP/1.1\r\nContent-Length: 42\r\nConnection: keep-alive, Close\r\n"
			 "FlowID: abc\tdef\r\nExpect: 100-continue\r\n\r\nBODY";
	(void)state;

	assert_int_equal(rpc_http_parse_head(in, strlen(in), &rq), strlen(in) - 4);
	assert_string_equal(rq.method, "POST");
	assert_string_equal(rq.path, "/RPC2");
	assert_false(rq.http10);
	assert_int_equal(rq.content_length, 42);
	assert_true(rq.conn_close);
	assert_true(rq.conn_keep_alive);
	assert_false(rpc_http_keep_alive(&rq));
	assert_string_equal(rq.flow, "abc?def");
	assert_true(rq.expect_continue);
	assert_false(rq.chunked);

	in = "POST / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
	assert_int_equal(rpc_http_parse_head(in, strlen(in), &rq), strlen(in));
	assert_true(rq.http10);
	assert_int_equal(rq.content_length, -1);
	assert_true(rpc_http_keep_alive(&rq));
	in = "POST / HTTP/1.0\r\n\r\n";
	assert_int_equal(rpc_http_parse_head(in, strlen(in), &rq), strlen(in));
	assert_false(rpc_http_keep_alive(&rq));
	/* "closed" is not the "close" token (the old parser matched by prefix) */
	in = "POST / HTTP/1.1\r\nConnection: closed\r\n\r\n";
	assert_int_equal(rpc_http_parse_head(in, strlen(in), &rq), strlen(in));
	assert_true(rpc_http_keep_alive(&rq));
	/* a long path is kept truncated; a long FlowID too */
	char big[600];
	snprintf(big, sizeof(big), "POST /%0200d HTTP/1.1\r\nFlowID: %0300d\r\n\r\n", 0, 0);
	assert_int_equal(rpc_http_parse_head(big, strlen(big), &rq), strlen(big));
	assert_int_equal(strlen(rq.path), sizeof(rq.path) - 1);
	assert_int_equal(strlen(rq.flow), sizeof(rq.flow) - 1);
}

static void test_head_limits(void **state)
{
	struct rpc_http_request rq;
	char *buf = malloc(RPC_HTTP_MAX_HEAD * 2);
	size_t n = 0;
	(void)state;

	/* exactly at the limit: accepted */
	n = (size_t)sprintf(buf, POST "X: ");
	memset(buf + n, 'a', RPC_HTTP_MAX_HEAD - n - 4);
	n = RPC_HTTP_MAX_HEAD - 4;
	memcpy(buf + n, "\r\n\r\n", 4);
	assert_int_equal(rpc_http_parse_head(buf, RPC_HTTP_MAX_HEAD, &rq), RPC_HTTP_MAX_HEAD);
	/* one byte more: 431, also while the head is still incomplete */
	buf[n] = 'a';
	memcpy(buf + n + 1, "\r\n\r\n", 4);
	assert_int_equal(rpc_http_parse_head(buf, RPC_HTTP_MAX_HEAD + 5, &rq), -431);
	assert_int_equal(rpc_http_parse_head(buf, RPC_HTTP_MAX_HEAD, &rq), -431);
	assert_int_equal(rpc_http_parse_head(buf, RPC_HTTP_MAX_HEAD - 1, &rq), 0);

	/* header count */
	for (int count = RPC_HTTP_MAX_HEADERS; count <= RPC_HTTP_MAX_HEADERS + 1; count++) {
		n = (size_t)sprintf(buf, POST);
		for (int i = 0; i < count; i++)
			n += (size_t)sprintf(buf + n, "X%d: y\r\n", i);
		n += (size_t)sprintf(buf + n, "\r\n");
		assert_int_equal(rpc_http_parse_head(buf, n, &rq),
				 count > RPC_HTTP_MAX_HEADERS ? -431 : (ssize_t)n);
	}
	free(buf);
}

/* Decodes in (fed in pieces of `step` bytes) into out; returns 0, or the refusal. */
static int decode_chunked(const char *in, size_t len, size_t step, size_t max, char *out,
			  size_t *outlen, size_t *consumed)
{
	struct rpc_http_chunked ch;
	size_t pos = 0, avail = 0;

	rpc_http_chunked_init(&ch, max);
	*outlen = 0;
	for (;;) {
		size_t used, off, dl;
		int r = rpc_http_chunked_step(&ch, in + pos, avail - pos, &used, &off, &dl);
		if (r < 0)
			return r;
		if (r == RPC_HTTP_DATA) {
			memcpy(out + *outlen, in + pos + off, dl);
			*outlen += dl;
		}
		pos += used;
		if (r == RPC_HTTP_DONE) {
			*consumed = pos;
			return 0;
		}
		if (used == 0) {
			if (avail == len)
				return 1; /* incomplete */
			avail = avail + step < len ? avail + step : len;
		}
	}
}

struct chunk_case {
	const char *name;
	const char *in;
	size_t max;
	int want;           /* 0 ok, 1 incomplete, or the refusal */
	const char *body;   /* when ok */
};

static const struct chunk_case chunk_cases[] = {
	{ "two chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 100, 0, "hello world" },
	{ "hex upper and lower", "A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", 100, 0,
	  "0123456789abcdefghij" },
	{ "leading zeros", "0005\r\nhello\r\n000\r\n\r\n", 100, 0, "hello" },
	{ "extension", "5;name=val\r\nhello\r\n0;x\r\n\r\n", 100, 0, "hello" },
	{ "BWS before extension", "5 ;x\r\nhello\r\n0\r\n\r\n", 100, 0, "hello" },
	{ "trailers", "5\r\nhello\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n", 100, 0, "hello" },
	{ "exactly the limit", "5\r\nhello\r\n0\r\n\r\n", 5, 0, "hello" },
	{ "empty body", "0\r\n\r\n", 100, 0, "" },
	{ "incomplete", "5\r\nhel", 100, 1, NULL },
	{ "no last chunk", "5\r\nhello\r\n", 100, 1, NULL },
	{ "no empty line after last chunk", "0\r\n", 100, 1, NULL },
	/* refusals */
	{ "over the limit", "5\r\nhello\r\n1\r\nx\r\n0\r\n\r\n", 5, -413, NULL },
	{ "one chunk over the limit", "6\r\nhello!\r\n0\r\n\r\n", 5, -413, NULL },
	{ "huge size", "ffffffffffffffffffff\r\n", 100, -413, NULL },
	{ "size 2^60", "1000000000000000\r\n", 100, -413, NULL },
	{ "no digits", "\r\nhello\r\n", 100, -400, NULL },
	{ "not hex", "g\r\n", 100, -400, NULL },
	{ "0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", 100, -400, NULL },
	{ "negative", "-5\r\n", 100, -400, NULL },
	{ "garbage after size", "5 5\r\nhello\r\n", 100, -400, NULL },
	{ "bare LF after size", "5\nhello\r\n0\r\n\r\n", 100, -400, NULL },
	{ "data longer than size", "5\r\nhello!\r\n0\r\n\r\n", 100, -400, NULL },
	{ "bare LF after data", "5\r\nhello\n0\r\n\r\n", 100, -400, NULL },
	{ "control char in extension", "5;\x01\r\nhello\r\n0\r\n\r\n", 100, -400, NULL },
	{ "bare LF in trailers", "0\r\nX: 1\n\r\n", 100, -400, NULL },
};

static void test_chunked_table(void **state)
{
	char out[256];
	(void)state;

	for (size_t i = 0; i < sizeof(chunk_cases) / sizeof(chunk_cases[0]); i++) {
		const struct chunk_case *c = &chunk_cases[i];
		size_t len = strlen(c->in);
		static const size_t steps[] = { 1, 2, 3, 7, 4096 };
		for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
			size_t outlen = 0, consumed = 0;
			int r = decode_chunked(c->in, len, steps[s], c->max, out, &outlen, &consumed);
			if (r != c->want)
				fail_msg("%s (step %zu): got %d, want %d", c->name, steps[s], r, c->want);
			if (r == 0) {
				assert_int_equal(consumed, len);
				assert_int_equal(outlen, strlen(c->body));
				assert_memory_equal(out, c->body, outlen);
			}
		}
	}
}

static void test_chunked_long_lines(void **state)
{
	char *in = malloc(8192);
	char out[16];
	size_t outlen, consumed;
	(void)state;

	/* a size line that never ends is refused once it passes its bound */
	memset(in, '0', 8191);
	in[8191] = '\0';
	assert_int_equal(decode_chunked(in, 8191, 8191, 100, out, &outlen, &consumed), -400);
	/* more trailers than headers allowed */
	size_t n = (size_t)sprintf(in, "0\r\n");
	for (int i = 0; i <= RPC_HTTP_MAX_HEADERS; i++)
		n += (size_t)sprintf(in + n, "T%d: v\r\n", i);
	n += (size_t)sprintf(in + n, "\r\n");
	assert_int_equal(decode_chunked(in, n, n, 100, out, &outlen, &consumed), -400);
	free(in);
}

static void test_reasons(void **state)
{
	static const int codes[] = { 400, 404, 405, 413, 417, 431, 500, 501, 503, 505 };
	(void)state;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		assert_string_not_equal(rpc_http_reason(codes[i]), "Error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_table),    cmocka_unit_test(test_head_fields),
		cmocka_unit_test(test_head_limits),   cmocka_unit_test(test_chunked_table),
		cmocka_unit_test(test_chunked_long_lines), cmocka_unit_test(test_reasons),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
