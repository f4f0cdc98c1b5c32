/* JSON for humans and scripts (vdsm-client): value → indented JSON text, and JSON
 * text → value without the i8 values xmlrpc-c's own JSON parser creates. */
#ifndef RPC_JSON_H
#define RPC_JSON_H

#include <stdio.h>
#include <xmlrpc-c/base.h>

/* Writes v as JSON, indented by `indent` spaces per level (0 = compact). */
void rpc_json_write(FILE *f, xmlrpc_value *v, int indent);

/* Parses JSON text. Integers that fit in 32 bits become <int>, larger ones strings.
 * Returns a new reference, or NULL with env set. */
xmlrpc_value *rpc_json_parse(xmlrpc_env *env, const char *text);

#endif
