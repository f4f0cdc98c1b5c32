/* storage/json: a small checked JSON reader for the replies of multipathd
 * (`show maps json`) and of lvm's `--reportformat json`. Both are child-process /
 * socket output, hence untrusted: the whole text is validated (RFC 8259 grammar,
 * UTF-8 left to the caller, nesting at most STG_JSON_DEPTH, at most STG_JSON_NODES
 * values) before anything reads it. The document is a flat array of nodes that point
 * into the text; strings are decoded only on request, into a caller's buffer. */
#ifndef VD_STG_JSON_H
#define VD_STG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../vdsm-c/util/macros.h"

#define STG_JSON_DEPTH 32
#define STG_JSON_NODES (1 << 20)
#define STG_JSON_MAX_LEN ((size_t)64 << 20)

enum stg_json_type {
	STG_JSON_NULL,
	STG_JSON_FALSE,
	STG_JSON_TRUE,
	STG_JSON_NUMBER,
	STG_JSON_STRING,
	STG_JSON_ARRAY,
	STG_JSON_OBJECT,
};

/* One value. Objects: children are the member names (STRING nodes) in order, each
 * name's `value` is the member's value. Arrays: children are the elements. */
struct stg_json_node {
	enum stg_json_type type;
	size_t start, len;        /* STRING: the raw bytes between the quotes; NUMBER: the digits */
	int32_t child;            /* first child, -1 = none */
	int32_t next;             /* next sibling, -1 = none */
	int32_t value;            /* member names only: the value node */
	int32_t count;            /* ARRAY/OBJECT: number of elements / members */
};

struct stg_json {
	const char *text;         /* borrowed: must outlive the document */
	struct stg_json_node *nodes;
	int32_t n;
};

/* Parses text[0..len) (one value, surrounding blanks allowed). Returns 0, or
 * -EINVAL for anything that is not valid JSON or exceeds the limits, -ENOMEM. The
 * root is node 0. */
int stg_json_parse(const char *text, size_t len, struct stg_json *ret) _wur_;
void stg_json_free(struct stg_json *doc);

/* Member `key` of object node obj, or -1 (not an object, no such member). */
int32_t stg_json_get(const struct stg_json *doc, int32_t obj, const char *key);
/* Like stg_json_get, then: -1 unless the member has the given type. */
int32_t stg_json_get_type(const struct stg_json *doc, int32_t obj, const char *key,
			  enum stg_json_type type);

/* Decodes STRING node i into buf (NUL-terminated; \u escapes as UTF-8, an unpaired
 * surrogate or U+0000 refused). Returns the length, -EINVAL (not a string, bad escape)
 * or -ENAMETOOLONG (does not fit). */
int stg_json_string(const struct stg_json *doc, int32_t i, char *buf, size_t size) _wur_;
/* STRING or NUMBER node i as a non-negative decimal integer ≤ INT64_MAX. 0 or -EINVAL. */
int stg_json_uint(const struct stg_json *doc, int32_t i, int64_t *ret) _wur_;

#endif
