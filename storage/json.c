/* storage/json: see json.h. Recursive descent bounded by STG_JSON_DEPTH. */
#include "json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	const char *s;
	size_t len, pos;
	struct stg_json_node *nodes;
	int32_t n, cap;
};

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
				   p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static int32_t new_node(struct parser *p, enum stg_json_type type)
{
	if (p->n >= STG_JSON_NODES)
		return -EINVAL;
	if (p->n == p->cap) {
		int32_t cap = p->cap ? p->cap * 2 : 64;
		struct stg_json_node *nn = realloc(p->nodes, (size_t)cap * sizeof(*nn));
		if (!nn)
			return -ENOMEM;
		p->nodes = nn;
		p->cap = cap;
	}
	struct stg_json_node *nd = &p->nodes[p->n];
	*nd = (struct stg_json_node){ .type = type, .start = p->pos, .child = -1, .next = -1,
				      .value = -1 };
	return p->n++;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* At the opening quote; leaves pos after the closing one. Escapes are checked for
 * shape here and decoded by stg_json_string. */
static int parse_string(struct parser *p, int32_t *ret)
{
	p->pos++;
	int32_t i = new_node(p, STG_JSON_STRING);
	if (i < 0)
		return i;
	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->s[p->pos];
		if (c == '"') {
			p->nodes[i].len = p->pos - p->nodes[i].start;
			p->pos++;
			*ret = i;
			return 0;
		}
		if (c < 0x20)
			return -EINVAL;
		if (c == '\\') {
			if (p->pos + 1 >= p->len)
				return -EINVAL;
			char e = p->s[p->pos + 1];
			if (e == 'u') {
				if (p->pos + 6 > p->len)
					return -EINVAL;
				for (size_t k = 2; k < 6; k++)
					if (!is_hex(p->s[p->pos + k]))
						return -EINVAL;
				p->pos += 6;
				continue;
			}
			if (!strchr("\"\\/bfnrt", e) || e == '\0')
				return -EINVAL;
			p->pos += 2;
			continue;
		}
		p->pos++;
	}
	return -EINVAL;
}

static bool digit(const struct parser *p)
{
	return p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9';
}

static int parse_number(struct parser *p, int32_t *ret)
{
	int32_t i = new_node(p, STG_JSON_NUMBER);
	if (i < 0)
		return i;
	if (p->s[p->pos] == '-')
		p->pos++;
	if (!digit(p))
		return -EINVAL;
	if (p->s[p->pos] == '0')
		p->pos++;
	else
		while (digit(p))
			p->pos++;
	if (p->pos < p->len && p->s[p->pos] == '.') {
		p->pos++;
		if (!digit(p))
			return -EINVAL;
		while (digit(p))
			p->pos++;
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (!digit(p))
			return -EINVAL;
		while (digit(p))
			p->pos++;
	}
	p->nodes[i].len = p->pos - p->nodes[i].start;
	*ret = i;
	return 0;
}

static int parse_value(struct parser *p, int depth, int32_t *ret);

/* Elements (arrays) or members (objects) until `close`. */
static int parse_container(struct parser *p, int depth, bool object, int32_t *ret)
{
	char close = object ? '}' : ']';
	int32_t i = new_node(p, object ? STG_JSON_OBJECT : STG_JSON_ARRAY);
	if (i < 0)
		return i;
	if (depth >= STG_JSON_DEPTH)
		return -EINVAL;
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		*ret = i;
		return 0;
	}
	int32_t last = -1;
	for (;;) {
		int32_t c, r;
		skip_ws(p);
		if (object) {
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return -EINVAL;
			if ((r = parse_string(p, &c)) < 0)
				return r;
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return -EINVAL;
			p->pos++;
			int32_t v;
			if ((r = parse_value(p, depth + 1, &v)) < 0)
				return r;
			p->nodes[c].value = v;
		} else if ((r = parse_value(p, depth + 1, &c)) < 0) {
			return r;
		}
		if (last < 0)
			p->nodes[i].child = c;
		else
			p->nodes[last].next = c;
		last = c;
		p->nodes[i].count++;
		skip_ws(p);
		if (p->pos >= p->len)
			return -EINVAL;
		if (p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->s[p->pos] != close)
			return -EINVAL;
		p->pos++;
		*ret = i;
		return 0;
	}
}

static int parse_literal(struct parser *p, const char *word, enum stg_json_type type,
			 int32_t *ret)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return -EINVAL;
	int32_t i = new_node(p, type);
	if (i < 0)
		return i;
	p->nodes[i].len = n;
	p->pos += n;
	*ret = i;
	return 0;
}

static int parse_value(struct parser *p, int depth, int32_t *ret)
{
	skip_ws(p);
	if (p->pos >= p->len)
		return -EINVAL;
	switch (p->s[p->pos]) {
	case '{': return parse_container(p, depth, true, ret);
	case '[': return parse_container(p, depth, false, ret);
	case '"': return parse_string(p, ret);
	case 't': return parse_literal(p, "true", STG_JSON_TRUE, ret);
	case 'f': return parse_literal(p, "false", STG_JSON_FALSE, ret);
	case 'n': return parse_literal(p, "null", STG_JSON_NULL, ret);
	default:
		if (p->s[p->pos] == '-' || (p->s[p->pos] >= '0' && p->s[p->pos] <= '9'))
			return parse_number(p, ret);
		return -EINVAL;
	}
}

int stg_json_parse(const char *text, size_t len, struct stg_json *ret)
{
	struct parser p = { .s = text, .len = len };
	int32_t root;
	int r;

	*ret = (struct stg_json){ 0 };
	if (!text || len > STG_JSON_MAX_LEN)
		return -EINVAL;
	r = parse_value(&p, 0, &root);
	if (r == 0) {
		skip_ws(&p);
		if (p.pos != p.len)
			r = -EINVAL;
	}
	if (r < 0) {
		free(p.nodes);
		return r;
	}
	*ret = (struct stg_json){ .text = text, .nodes = p.nodes, .n = p.n };
	return 0;
}

void stg_json_free(struct stg_json *doc)
{
	if (!doc)
		return;
	free(doc->nodes);
	*doc = (struct stg_json){ 0 };
}

static bool valid(const struct stg_json *doc, int32_t i)
{
	return doc && i >= 0 && i < doc->n;
}

int32_t stg_json_get(const struct stg_json *doc, int32_t obj, const char *key)
{
	if (!valid(doc, obj) || doc->nodes[obj].type != STG_JSON_OBJECT)
		return -1;
	size_t klen = strlen(key);
	for (int32_t c = doc->nodes[obj].child; c >= 0; c = doc->nodes[c].next) {
		const struct stg_json_node *k = &doc->nodes[c];
		/* member names here are plain ASCII: compare raw, no escapes expected */
		if (k->len == klen && memcmp(doc->text + k->start, key, klen) == 0)
			return k->value;
	}
	return -1;
}

int32_t stg_json_get_type(const struct stg_json *doc, int32_t obj, const char *key,
			  enum stg_json_type type)
{
	int32_t v = stg_json_get(doc, obj, key);
	return v >= 0 && doc->nodes[v].type == type ? v : -1;
}

static unsigned hex4(const char *s)
{
	unsigned v = 0;
	for (int k = 0; k < 4; k++) {
		char c = s[k];
		v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

int stg_json_string(const struct stg_json *doc, int32_t i, char *buf, size_t size)
{
	if (!valid(doc, i) || doc->nodes[i].type != STG_JSON_STRING || size == 0)
		return -EINVAL;
	const char *s = doc->text + doc->nodes[i].start;
	size_t n = doc->nodes[i].len, o = 0;
	char tmp[4];

	for (size_t k = 0; k < n;) {
		size_t tl = 1;
		if (s[k] != '\\') {
			tmp[0] = s[k++];
		} else {
			char e = s[k + 1];      /* the parser checked the escape's shape */
			if (e != 'u') {
				static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
				tmp[0] = to[strchr(from, e) - from];
				k += 2;
			} else {
				unsigned cp = hex4(s + k + 2);
				k += 6;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return -EINVAL;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (k + 6 > n || s[k] != '\\' || s[k + 1] != 'u')
						return -EINVAL;
					unsigned lo = hex4(s + k + 2);
					if (lo < 0xdc00 || lo > 0xdfff)
						return -EINVAL;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					k += 6;
				}
				if (cp == 0)
					return -EINVAL;
				if (cp < 0x80) {
					tmp[0] = (char)cp;
				} else if (cp < 0x800) {
					tmp[0] = (char)(0xc0 | (cp >> 6));
					tmp[1] = (char)(0x80 | (cp & 0x3f));
					tl = 2;
				} else if (cp < 0x10000) {
					tmp[0] = (char)(0xe0 | (cp >> 12));
					tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
					tmp[2] = (char)(0x80 | (cp & 0x3f));
					tl = 3;
				} else {
					tmp[0] = (char)(0xf0 | (cp >> 18));
					tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
					tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
					tmp[3] = (char)(0x80 | (cp & 0x3f));
					tl = 4;
				}
			}
		}
		if (o + tl >= size)
			return -ENAMETOOLONG;
		memcpy(buf + o, tmp, tl);
		o += tl;
	}
	buf[o] = '\0';
	return (int)o;
}

int stg_json_uint(const struct stg_json *doc, int32_t i, int64_t *ret)
{
	if (!valid(doc, i) || (doc->nodes[i].type != STG_JSON_STRING &&
			       doc->nodes[i].type != STG_JSON_NUMBER))
		return -EINVAL;
	const char *s = doc->text + doc->nodes[i].start;
	size_t n = doc->nodes[i].len;
	uint64_t v = 0;

	if (n == 0 || n > 19)
		return -EINVAL;
	for (size_t k = 0; k < n; k++) {
		if (s[k] < '0' || s[k] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[k] - '0');   /* ≤ 19 digits: < 2^64 */
	}
	if (v > INT64_MAX)
		return -EINVAL;
	*ret = (int64_t)v;
	return 0;
}
