/* Host verbs: ping and getVdsHardwareInfo; getVdsCapabilities is in caps.c,
 * getVdsStats in stats.c. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "verbs.h"
#include "host-internal.h"
#include "../daemon.h"
#include "../util/log.h"
#include "../version.h"
#include "../util/util.h"

xmlrpc_value *verb_ping(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	(void)c;
	(void)env;
	(void)err;
	return NULL;   /* the dispatcher marks the client seen (VD_VERB_CLIENT_SEEN) */
}

/* ---- getVdsHardwareInfo ---- */

static void dmi_field(xmlrpc_env *env, xmlrpc_value *st, const char *key, const char *file,
		      int *found)
{
	char path[128], buf[256] = "";
	_cleanup_free_ char *full = NULL;

	snprintf(path, sizeof(path), "/sys/class/dmi/id/%s", file);
	full = vd_host_path(path);
	if (full && util_read_line(full, buf, sizeof(buf)) >= 0)
		(*found)++;
	rpc_set_str(env, st, key, util_strstrip(buf));
}

xmlrpc_value *verb_get_vds_hardware_info(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	static const struct {
		const char *key, *file;
	} fields[] = {
		{ "systemManufacturer", "sys_vendor" },
		{ "systemProductName", "product_name" },
		{ "systemVersion", "product_version" },
		{ "systemSerialNumber", "product_serial" },
		{ "systemUUID", "product_uuid" },
		{ "systemFamily", "product_family" },
	};
	xmlrpc_value *info = rpc_struct_new(env), *payload;
	int found = 0;

	(void)c;
	for (size_t i = 0; i < ELEMENTSOF(fields); i++)
		dmi_field(env, info, fields[i].key, fields[i].file, &found);
	_cleanup_free_ char *dmi = vd_host_path("/sys/class/dmi/id");
	if (found == 0 && access(dmi, F_OK) != 0)
		log_info("getVdsHardwareInfo: %s is absent: reporting empty DMI fields", dmi);
	(void)err;
	payload = rpc_struct_new(env);
	rpc_set_take(env, payload, "info", info);
	return payload;
}

void verbs_host_fini(void);
void verbs_host_fini(void)
{
	verbs_caps_fini();
}
