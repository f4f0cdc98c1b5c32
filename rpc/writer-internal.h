/* What an encoding implements to be a reply writer (see rpc/writer.h for how one
 * plugs in). writer.c checks the nesting and the names before calling an op, so an op
 * only writes text into w->buf. */
#ifndef RPC_WRITER_INTERNAL_H
#define RPC_WRITER_INTERNAL_H

#include <stdint.h>

#include "writer.h"
#include "../vdsm-c/util/buf.h"

/* A number the generic layer hands to an encoding, formatted by rpc_writer_put_num(). */
struct rpc_num {
	enum { RPC_NUM_I64, RPC_NUM_U64, RPC_NUM_FIXED, RPC_NUM_DOUBLE } kind;
	int decimals;                  /* RPC_NUM_FIXED */
	union {
		int64_t i;
		uint64_t u;
		double d;
	};
};

struct rpc_writer {
	const struct rpc_writer_ops *ops;
	struct util_buf buf;
	unsigned depth;                /* containers open inside the envelope (0: the envelope) */
	uint64_t arrays;               /* bit d: the container at depth d is an array */
	uint64_t filled;               /* bit d: the container at depth d holds a value already */
};

/* name is the member name, or NULL for an array item. member (close ops): the
 * container being closed was a struct member. */
struct rpc_writer_ops {
	const char *name;
	void (*begin)(struct rpc_writer *w);                 /* up to the open envelope */
	void (*open)(struct rpc_writer *w, const char *name, bool array);
	void (*close)(struct rpc_writer *w, bool array, bool member);
	/* as_string: the number is sent as a decimal string; else I64 values fit 32 bits
	 * (an integer) and FIXED/DOUBLE are a floating-point value. */
	void (*number)(struct rpc_writer *w, const char *name, const struct rpc_num *n,
		       bool as_string);
	void (*boolean)(struct rpc_writer *w, const char *name, bool v);
	void (*string)(struct rpc_writer *w, const char *name, const char *s);   /* s != NULL */
	void (*finish)(struct rpc_writer *w, int code, const char *message); /* envelope closed */
};

/* The digits of n (no quotes, no tags) into w->buf; inline so that an encoding's
 * file does not call back into writer.c. */
static inline void rpc_writer_put_num(struct rpc_writer *w, const struct rpc_num *n)
{
	switch (n->kind) {
	case RPC_NUM_I64:
		util_buf_add_i64(&w->buf, n->i);
		break;
	case RPC_NUM_U64:
		util_buf_add_u64(&w->buf, n->u);
		break;
	case RPC_NUM_FIXED:
		util_buf_add_fixed(&w->buf, n->d, n->decimals);
		break;
	case RPC_NUM_DOUBLE:
		util_buf_add_double(&w->buf, n->d);
		break;
	}
}

extern const struct rpc_writer_ops rpc_writer_xmlrpc_ops;

#endif
