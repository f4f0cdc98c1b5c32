/* HTTP/1.1 request head and chunked-body parsing (see http.h for the rules).
 * RFC 9112 is followed where it says MUST; where it allows leniency, the stricter reading
 * wins when a lenient one could let two parsers disagree on where a request ends. */
#include <string.h>
#include <strings.h>

#include "http.h"

#define CHUNK_LINE_MAX 1024   /* chunk size + extensions */
#define TRAILER_LINE_MAX 4096

/* RFC 9110 token characters. */
static bool is_tchar(unsigned char ch)
{
	if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
		return true;
	return ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* Field-value characters: visible, space, tab, obs-text. */
static bool is_vchar(unsigned char ch)
{
	return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

static bool span_eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

static int parse_request_line(const char *l, size_t n, struct rpc_http_request *rq)
{
	size_t i = 0, m, t;

	while (i < n && is_tchar(l[i]))
		i++;
	if (i == 0 || i >= sizeof(rq->method) || i >= n || l[i] != ' ')
		return -400;
	memcpy(rq->method, l, i);
	rq->method[i] = '\0';
	m = ++i;
	while (i < n && l[i] != ' ') {
		if ((unsigned char)l[i] <= 0x20 || l[i] == 0x7f)
			return -400;
		i++;
	}
	if (i == m || i >= n)
		return -400;
	t = i - m < sizeof(rq->path) ? i - m : sizeof(rq->path) - 1;
	memcpy(rq->path, l + m, t);
	rq->path[t] = '\0';
	i++;
	/* HTTP-version = "HTTP/" DIGIT "." DIGIT, nothing after it */
	if (n - i != 8 || memcmp(l + i, "HTTP/", 5) != 0 || l[i + 6] != '.' ||
	    l[i + 5] < '0' || l[i + 5] > '9' || l[i + 7] < '0' || l[i + 7] > '9')
		return -400;
	if (l[i + 5] != '1' || (l[i + 7] != '0' && l[i + 7] != '1'))
		return -505;
	rq->http10 = l[i + 7] == '0';
	return 0;
}

static int parse_content_length(const char *v, size_t n, struct rpc_http_request *rq)
{
	long long cl = 0;

	if (n == 0)
		return -400;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -400; /* also "5, 5": a list is not a length */
		cl = cl * 10 + (v[i] - '0');
		if (cl > RPC_HTTP_MAX_LENGTH)
			return -400;
	}
	if (rq->content_length >= 0 && rq->content_length != cl)
		return -400; /* two lengths: which one frames the body is ambiguous */
	rq->content_length = cl;
	return 0;
}

static void parse_connection(const char *v, size_t n, struct rpc_http_request *rq)
{
	while (n) {
		const char *comma = memchr(v, ',', n);
		size_t tl = comma ? (size_t)(comma - v) : n;
		const char *tok = v;
		size_t tn = tl;
		trim(&tok, &tn);
		if (span_eq(tok, tn, "close"))
			rq->conn_close = true;
		else if (span_eq(tok, tn, "keep-alive"))
			rq->conn_keep_alive = true;
		if (!comma)
			break;
		v += tl + 1;
		n -= tl + 1;
	}
}

static int parse_header_line(const char *l, size_t n, struct rpc_http_request *rq, bool *seen_te)
{
	size_t i = 0;

	if (n && (l[0] == ' ' || l[0] == '\t'))
		return -400; /* obsolete line folding */
	while (i < n && is_tchar(l[i]))
		i++;
	if (i == 0 || i >= n || l[i] != ':')
		return -400; /* no name, or whitespace/garbage before the colon */
	const char *name = l;
	size_t nn = i;
	const char *v = l + i + 1;
	size_t vn = n - i - 1;
	for (size_t k = 0; k < vn; k++)
		if (!is_vchar(v[k]))
			return -400;
	trim(&v, &vn);

	if (span_eq(name, nn, "Content-Length"))
		return parse_content_length(v, vn, rq);
	if (span_eq(name, nn, "Transfer-Encoding")) {
		if (*seen_te)
			return -400;
		*seen_te = true;
		if (!span_eq(v, vn, "chunked"))
			return -501;
		rq->chunked = true;
	} else if (span_eq(name, nn, "Connection")) {
		parse_connection(v, vn, rq);
	} else if (span_eq(name, nn, "Expect")) {
		if (!span_eq(v, vn, "100-continue"))
			return -417;
		rq->expect_continue = true;
	} else if (span_eq(name, nn, "FlowID")) {
		size_t fl = vn < sizeof(rq->flow) ? vn : sizeof(rq->flow) - 1;
		for (size_t k = 0; k < fl; k++)
			rq->flow[k] = (unsigned char)v[k] < 0x20 || v[k] == 0x7f ? '?' : v[k];
		rq->flow[fl] = '\0';
	}
	return 0;
}

ssize_t rpc_http_parse_head(const char *buf, size_t len, struct rpc_http_request *rq)
{
	size_t start = 0, line = 0;
	int nlines = 0;
	bool seen_te = false;

	memset(rq, 0, sizeof(*rq));
	rq->content_length = -1;
	/* RFC 9112 §2.2: empty lines before the request line are ignored. */
	while (start + 1 < len && buf[start] == '\r' && buf[start + 1] == '\n')
		start += 2;
	line = start;
	for (size_t i = start; i < len; i++) {
		if (i >= RPC_HTTP_MAX_HEAD)
			return -431;
		if (buf[i] == '\r' && i + 1 < len && buf[i + 1] != '\n')
			return -400; /* bare CR */
		if (buf[i] != '\n')
			continue;
		if (i == line || buf[i - 1] != '\r')
			return -400; /* bare LF: refused at once, not after a timeout */
		size_t n = i - 1 - line;
		int r;
		if (n == 0) {
			if (nlines == 0)
				return -400;
			if (rq->chunked && (rq->content_length >= 0 || rq->http10))
				return -400; /* RFC 9112 §6.1, §6.3: framing we refuse to guess */
			return i + 1;
		}
		if (++nlines > RPC_HTTP_MAX_HEADERS + 1)
			return -431;
		r = nlines == 1 ? parse_request_line(buf + line, n, rq)
				: parse_header_line(buf + line, n, rq, &seen_te);
		if (r < 0)
			return r;
		line = i + 1;
	}
	return len >= RPC_HTTP_MAX_HEAD ? -431 : 0;
}

bool rpc_http_keep_alive(const struct rpc_http_request *rq)
{
	return rq->http10 ? rq->conn_keep_alive && !rq->conn_close : !rq->conn_close;
}

enum { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER, CH_DONE };

void rpc_http_chunked_init(struct rpc_http_chunked *c, size_t max_body)
{
	memset(c, 0, sizeof(*c));
	c->state = CH_SIZE;
	c->max = max_body;
}

/* A CRLF-terminated line at in[0..n): 1 with its length (without CRLF), 0 when
 * incomplete, -400 when malformed or longer than max. */
static int take_line(const char *in, size_t n, size_t max, size_t *ret_len)
{
	const char *nl = memchr(in, '\n', n < max + 2 ? n : max + 2);

	if (!nl)
		return n >= max + 2 ? -400 : 0;
	if (nl == in || nl[-1] != '\r')
		return -400;
	*ret_len = nl - in - 1;
	return 1;
}

static int chunk_size(struct rpc_http_chunked *c, const char *l, size_t n)
{
	unsigned long long sz = 0;
	size_t i = 0, digits = 0;

	for (; i < n; i++) {
		int d;
		char ch = l[i];
		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			d = ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			d = ch - 'A' + 10;
		else
			break;
		if (sz || d)
			digits++;
		if (digits > 15)
			return -413; /* over 2^60: over any limit */
		sz = sz * 16 + d;
	}
	if (i == 0)
		return -400;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	if (i < n && l[i] != ';')
		return -400;
	for (; i < n; i++)
		if (!is_vchar(l[i]))
			return -400;
	if (sz == 0) {
		c->state = CH_TRAILER;
		return 0;
	}
	if (sz > c->max - c->total)
		return -413; /* decided from the size line: the chunk is not read first */
	c->left = sz;
	c->state = CH_DATA;
	return 0;
}

int rpc_http_chunked_step(struct rpc_http_chunked *c, const char *in, size_t n, size_t *used,
			  size_t *data_off, size_t *data_len)
{
	size_t ll = 0;
	int r;

	*used = 0;
	*data_off = *data_len = 0;
	switch (c->state) {
	case CH_SIZE:
		r = take_line(in, n, CHUNK_LINE_MAX, &ll);
		if (r <= 0)
			return r;
		r = chunk_size(c, in, ll);
		if (r < 0)
			return r;
		*used = ll + 2;
		return RPC_HTTP_MORE;
	case CH_DATA: {
		size_t take = n < c->left ? n : (size_t)c->left;
		if (take == 0)
			return RPC_HTTP_MORE;
		c->left -= take;
		c->total += take;
		if (c->left == 0)
			c->state = CH_DATA_END;
		*used = *data_len = take;
		return RPC_HTTP_DATA;
	}
	case CH_DATA_END:
		if (n >= 1 && in[0] != '\r')
			return -400;
		if (n >= 2 && in[1] != '\n')
			return -400;
		if (n < 2)
			return RPC_HTTP_MORE;
		c->state = CH_SIZE;
		*used = 2;
		return RPC_HTTP_MORE;
	case CH_TRAILER:
		r = take_line(in, n, TRAILER_LINE_MAX, &ll);
		if (r <= 0)
			return r;
		*used = ll + 2;
		if (ll == 0) {
			c->state = CH_DONE;
			return RPC_HTTP_DONE;
		}
		for (size_t i = 0; i < ll; i++)
			if (!is_vchar(in[i]))
				return -400;
		if (++c->trailers > RPC_HTTP_MAX_HEADERS)
			return -400;
		return RPC_HTTP_MORE;
	default:
		return RPC_HTTP_DONE;
	}
}

const char *rpc_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Content Too Large";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}
