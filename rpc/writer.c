/* The encoding-independent half of the reply writer: nesting and name checks, the
 * i64 rule, number formatting, the blob at the end. The encodings are op tables. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "writer-internal.h"

static const struct rpc_writer_ops *const wires[_RPC_WIRE_MAX] = {
	[RPC_WIRE_XMLRPC] = &rpc_writer_xmlrpc_ops,
};

/* The reply text is written after room for the blob header, so that the finished
 * buffer becomes the blob without copying a multi-megabyte reply. */
#define HDR offsetof(struct rpc_blob, data)

struct rpc_writer *rpc_writer_new(enum rpc_wire wire, size_t size_hint)
{
	static const char zeros[HDR];
	struct rpc_writer *w;

	if ((unsigned)wire >= _RPC_WIRE_MAX || !wires[wire])
		return NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->ops = wires[wire];
	w->buf = (struct util_buf)UTIL_BUF_INIT;
	util_buf_reserve(&w->buf, HDR + (size_hint ? size_hint : 1024));
	util_buf_add(&w->buf, zeros, HDR);
	w->ops->begin(w);
	if (util_buf_error(&w->buf)) {
		rpc_writer_free(w);
		return NULL;
	}
	return w;
}

void rpc_writer_free(struct rpc_writer *w)
{
	if (!w)
		return;
	util_buf_reset(&w->buf);
	free(w);
}

int rpc_writer_error(const struct rpc_writer *w)
{
	return util_buf_error(&w->buf);
}

static bool in_array(const struct rpc_writer *w)
{
	return w->arrays >> w->depth & 1;
}

/* Whether a value named name may come next; records misuse as the sticky error. */
static bool may_write(struct rpc_writer *w, const char *name)
{
	if (util_buf_error(&w->buf))
		return false;
	bool ok = in_array(w) ? name == NULL
			      : name != NULL && (w->depth > 0 || strcmp(name, "status") != 0);
	if (!ok) {
		util_buf_fail(&w->buf, -EINVAL);
		return false;
	}
	return true;
}

static void wrote(struct rpc_writer *w)
{
	w->filled |= 1ULL << w->depth;
}

static void open_container(struct rpc_writer *w, const char *name, bool array)
{
	if (!may_write(w, name))
		return;
	if (w->depth >= RPC_WRITER_MAX_DEPTH) {
		util_buf_fail(&w->buf, -EINVAL);
		return;
	}
	wrote(w);
	w->ops->open(w, name, array);
	w->depth++;
	uint64_t bit = 1ULL << w->depth;
	w->arrays = array ? w->arrays | bit : w->arrays & ~bit;
	w->filled &= ~bit;
}

static void close_container(struct rpc_writer *w, bool array)
{
	if (util_buf_error(&w->buf))
		return;
	if (w->depth == 0 || in_array(w) != array) {
		util_buf_fail(&w->buf, -EINVAL);
		return;
	}
	w->depth--;
	w->ops->close(w, array, !in_array(w));
}

void rpc_write_struct_begin(struct rpc_writer *w, const char *name)
{
	open_container(w, name, false);
}

void rpc_write_struct_end(struct rpc_writer *w)
{
	close_container(w, false);
}

void rpc_write_array_begin(struct rpc_writer *w, const char *name)
{
	open_container(w, name, true);
}

void rpc_write_array_end(struct rpc_writer *w)
{
	close_container(w, true);
}

static void number(struct rpc_writer *w, const char *name, const struct rpc_num *n,
		   bool as_string)
{
	if (!may_write(w, name))
		return;
	wrote(w);
	w->ops->number(w, name, n, as_string);
}

void rpc_write_int(struct rpc_writer *w, const char *name, int v)
{
	number(w, name, &(struct rpc_num){ .kind = RPC_NUM_I64, .i = v }, false);
}

void rpc_write_i64(struct rpc_writer *w, const char *name, long long v)
{
	number(w, name, &(struct rpc_num){ .kind = RPC_NUM_I64, .i = v },
	       v < INT_MIN || v > INT_MAX);
}

void rpc_write_double(struct rpc_writer *w, const char *name, double v)
{
	number(w, name, &(struct rpc_num){ .kind = RPC_NUM_DOUBLE, .d = v }, false);
}

void rpc_write_double_fixed(struct rpc_writer *w, const char *name, double v, int decimals)
{
	number(w, name, &(struct rpc_num){ .kind = RPC_NUM_FIXED, .decimals = decimals, .d = v },
	       false);
}

void rpc_write_string_u64(struct rpc_writer *w, const char *name, unsigned long long v)
{
	number(w, name, &(struct rpc_num){ .kind = RPC_NUM_U64, .u = v }, true);
}

void rpc_write_string_i64(struct rpc_writer *w, const char *name, long long v)
{
	number(w, name, &(struct rpc_num){ .kind = RPC_NUM_I64, .i = v }, true);
}

void rpc_write_string_fixed(struct rpc_writer *w, const char *name, double v, int decimals)
{
	number(w, name, &(struct rpc_num){ .kind = RPC_NUM_FIXED, .decimals = decimals, .d = v },
	       true);
}

void rpc_write_bool(struct rpc_writer *w, const char *name, bool v)
{
	if (!may_write(w, name))
		return;
	wrote(w);
	w->ops->boolean(w, name, v);
}

void rpc_write_string(struct rpc_writer *w, const char *name, const char *s)
{
	if (!may_write(w, name))
		return;
	wrote(w);
	w->ops->string(w, name, s ? s : "");
}

int rpc_writer_finish(struct rpc_writer *w, int code, const char *message,
		      struct rpc_blob **ret)
{
	int r = util_buf_error(&w->buf);

	if (r == 0 && w->depth != 0)
		r = -EINVAL;
	if (r == 0) {
		w->ops->finish(w, code, message ? message : "");
		size_t len = 0;
		char *text = util_buf_steal(&w->buf, &len);
		if (!text) {
			r = util_buf_error(&w->buf) ? util_buf_error(&w->buf) : -ENOMEM;
		} else {
			/* The first HDR bytes were reserved for this header; the text follows
			 * it, NUL-terminated, as rpc_blob_new() lays a blob out. */
			struct rpc_blob *b = (struct rpc_blob *)(void *)text;
			atomic_init(&b->ref, 1);
			b->len = len - HDR;
			*ret = b;
		}
	}
	rpc_writer_free(w);
	return r;
}
