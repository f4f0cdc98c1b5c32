/* Streaming reply writer: a handler writes its reply's values one by one straight into
 * the reply text, without building a value tree (getAllVmStats with 1000 VMs is ~100 000
 * values; see vdsm-c/verbs/vm_wire.c). The wire encoding is the writer's business, so
 * the code that writes values never sees XML (DESIGN.md "Data flow").
 *
 * A reply is the VDSM envelope: a struct holding the payload's members and `status`
 * {code, message}, added last by rpc_writer_finish() (API.md §1.1):
 *
 *	struct rpc_writer *w = rpc_writer_new(RPC_WIRE_XMLRPC, 0);
 *	rpc_write_array_begin(w, "statsList");
 *	rpc_write_struct_begin(w, NULL);
 *	rpc_write_string(w, "vmId", id);
 *	rpc_write_i64(w, "memUsage", used);
 *	rpc_write_struct_end(w);
 *	rpc_write_array_end(w);
 *	r = rpc_writer_finish(w, 0, "Done", &blob);
 *
 * Values take a name: the member name when the enclosing container is a struct (the
 * envelope is one), NULL inside an array. Member names must be unique within a struct
 * (not checked, but `status` in the envelope is refused: the writer adds it).
 *
 * Types follow API.md §3.2: no <i8>, <nil> or <dateTime.iso8601>; 64-bit integers that
 * do not fit in 32 bits are decimal strings. Strings and member names go through the
 * one UTF-8 cleaner (vdsm-c/util/utf8.h: invalid UTF-8 and control characters other
 * than TAB, LF, CR become '?'; 4-byte characters pass) and the encoding's escaping.
 * For XML-RPC the output is byte for byte what rpc_serialize_envelope() writes for the
 * same value tree, except doubles (xmlrpc-c's own digit algorithm; ours is the
 * shortest text that reads back exactly) and characters outside the BMP (xmlrpc-c
 * refuses them).
 *
 * Errors are sticky: misuse (a value without a name in a struct, a name in an array,
 * unbalanced begin/end, nesting deeper than RPC_WRITER_MAX_DEPTH) or out of memory
 * makes every later call a no-op, and rpc_writer_finish() returns the error. A writer
 * belongs to one thread; it never blocks.
 *
 * Another encoding (JSON-RPC, what managers 4.2+ speak) is another table of
 * `struct rpc_writer_ops` (rpc/writer-internal.h) in its own file, e.g.
 * rpc/writer_json.c, listed in writer.c's wire table under a new `enum rpc_wire`:
 * begin/finish write the response object around the envelope, open/close write `{ }`
 * and `[ ]` with the commas the nesting state in struct rpc_writer tells, strings get
 * the same UTF-8 cleaning and JSON escaping. The functions below, and so every handler,
 * stay as they are. */
#ifndef RPC_WRITER_H
#define RPC_WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include "xmlrpc.h"
#include "../vdsm-c/util/macros.h"

#define RPC_WRITER_MAX_DEPTH 63   /* containers open inside the envelope */

struct rpc_writer;

enum rpc_wire {
	RPC_WIRE_XMLRPC,
	_RPC_WIRE_MAX,
};

/* A writer with the envelope struct open. size_hint: the expected reply size in bytes
 * (0: small), so that a big reply does not grow its buffer step by step. NULL on OOM
 * or an unknown wire. */
struct rpc_writer *rpc_writer_new(enum rpc_wire wire, size_t size_hint);

/* Drops an unfinished writer (its text is lost). Accepts NULL. */
void rpc_writer_free(struct rpc_writer *w);

/* Containers. */
void rpc_write_struct_begin(struct rpc_writer *w, const char *name);
void rpc_write_struct_end(struct rpc_writer *w);
void rpc_write_array_begin(struct rpc_writer *w, const char *name);
void rpc_write_array_end(struct rpc_writer *w);

/* Scalars with their wire type. */
void rpc_write_int(struct rpc_writer *w, const char *name, int v);
/* An <int> when v fits in 32 bits, else a decimal string (API.md §3.2, no <i8>). */
void rpc_write_i64(struct rpc_writer *w, const char *name, long long v);
void rpc_write_bool(struct rpc_writer *w, const char *name, bool v);
/* A <double> with the shortest digits that read back as v; NaN and infinities as 0. */
void rpc_write_double(struct rpc_writer *w, const char *name, double v);
/* A <double> with exactly decimals (0–9) digits after the point: fast, for samples. */
void rpc_write_double_fixed(struct rpc_writer *w, const char *name, double v, int decimals);
/* A string; NULL is sent as "". */
void rpc_write_string(struct rpc_writer *w, const char *name, const char *s);

/* Numbers sent as decimal strings: VDSM's convention for counters, sizes and rates
 * ("%llu", "%lld", "%.2f"; API.md §3.2). */
void rpc_write_string_u64(struct rpc_writer *w, const char *name, unsigned long long v);
void rpc_write_string_i64(struct rpc_writer *w, const char *name, long long v);
void rpc_write_string_fixed(struct rpc_writer *w, const char *name, double v, int decimals);

/* 0, or the sticky error: -EINVAL (misuse), -ENOMEM. */
int rpc_writer_error(const struct rpc_writer *w) _wur_;

/* Adds status {code, message} to the envelope and ends the reply. Consumes w in every
 * case. Returns 0 and *ret (a new blob: rpc_blob_unref() it), or the sticky error, or
 * -EINVAL when a container is still open. An error reply is status only: finish a
 * fresh writer with the code. */
int rpc_writer_finish(struct rpc_writer *w, int code, const char *message,
		      struct rpc_blob **ret) _wur_;

#endif
