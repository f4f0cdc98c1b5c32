/* What the fuzz targets share: the input as a C string, and the first parameter of an
 * XML-RPC call decoded the way the server decodes a request. Header-only (each target
 * is a program of its own); define FUZZ_XMLRPC before including it for the second. */
#ifndef VDSMC_FUZZCOMMON_H
#define VDSMC_FUZZCOMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* data[skip..size) copied and NUL-terminated (free() it); NULL when the input is shorter
 * than skip or memory is short. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size, size_t skip)
{
	char *s;

	if (size < skip || !(s = malloc(size - skip + 1)))
		return NULL;
	memcpy(s, data + skip, size - skip);
	s[size - skip] = '\0';
	return s;
}

#ifdef FUZZ_XMLRPC
#include <xmlrpc-c/base.h>

#include "../../rpc/xmlrpc.h"
#include "../../vdsm-c/util/log.h"

/* The input as a request body: the codec set up once as the server sets it, then the
 * call parsed; when its first parameter is a struct, fn gets it (the struct is released
 * afterwards). */
static inline void fuzz_first_struct(const uint8_t *data, size_t size,
				     void (*fn)(xmlrpc_value *first))
{
	static int init;
	struct vd_error err = { 0 };
	char *body, *method = NULL;
	xmlrpc_value *params = NULL;

	if (!init) {
		rpc_codec_init(1 << 20, 64);
		vd_log_set_level(VD_LOG_ERR);
		init = 1;
	}
	if (!(body = fuzz_cstr(data, size, 0)))
		return;
	if (rpc_parse_call(body, size, &method, &params, &err) == 0) {
		xmlrpc_env env;
		xmlrpc_value *first = NULL;

		xmlrpc_env_init(&env);
		if (xmlrpc_array_size(&env, params) > 0) {
			xmlrpc_array_read_item(&env, params, 0, &first);
			if (!env.fault_occurred && xmlrpc_value_type(first) == XMLRPC_TYPE_STRUCT)
				fn(first);
			if (first)
				xmlrpc_DECREF(first);
		}
		xmlrpc_env_clean(&env);
		free(method);
		xmlrpc_DECREF(params);
	}
	free(body);
}
#endif

#endif
