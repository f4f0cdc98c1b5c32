/* Host verbs: ping, getVdsCapabilities, getVdsStats, getVdsHardwareInfo.
 *
 * getVdsCapabilities here carries what the foundation can fill from real data;
 * the host-capabilities work (cpu/, network/, hoststats) completes it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "verbs.h"
#include "../daemon.h"
#include "../log.h"
#include "../version.h"
#include "../util/util.h"

xmlrpc_value *verb_ping(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	(void)c;
	(void)env;
	(void)err;
	vd_client_seen_mark();
	return NULL;
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

/* ---- getVdsCapabilities ---- */

static long long meminfo_kib(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	long long v = -1;

	if (p && sscanf(p + strlen(key), ": %lld kB", &v) != 1)
		v = -1;
	return v;
}

static xmlrpc_value *build_caps(xmlrpc_env *env, struct vd_error *err)
{
	const struct vd_config *conf = vd_rt.conf;
	static const char *const levels[] = VDSM_SUPPORTED_LEVELS;
	_cleanup_free_ char *meminfo = NULL, *mpath = vd_host_path("/proc/meminfo");
	_cleanup_free_ char *kvm = vd_host_path("/dev/kvm");
	_cleanup_free_ char *iname = vd_host_path("/etc/iscsi/initiatorname.iscsi");
	char initiator[256] = "";
	xmlrpc_value *info = rpc_struct_new(env);

	if (util_read_file(mpath, 1 << 20, &meminfo, NULL) < 0 ||
	    meminfo_kib(meminfo, "MemTotal") < 0) {
		vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: cannot read %s", mpath);
		if (info)
			xmlrpc_DECREF(info);
		return NULL;
	}
	rpc_set_strf(env, info, "memSize", "%lld", meminfo_kib(meminfo, "MemTotal") / 1024);
	rpc_set_strf(env, info, "reservedMem", "%d",
		     conf->host_mem_reserve + conf->extra_mem_reserve);
	rpc_set_strf(env, info, "guestOverhead", "%d", conf->guest_ram_overhead);
	rpc_set_str(env, info, "kvmEnabled", access(kvm, F_OK) == 0 ? "true" : "false");

	/* initiatorname.iscsi: "InitiatorName=iqn...." */
	_cleanup_fclose_ FILE *f = fopen(iname, "re");
	char line[300];
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "InitiatorName=", 14) == 0)
			snprintf(initiator, sizeof(initiator), "%s", util_strstrip(line + 14));
	rpc_set_str(env, info, "ISCSIInitiatorName", initiator);
	xmlrpc_value *hba = rpc_struct_new(env), *iscsi = rpc_array_new(env);
	if (initiator[0]) {
		xmlrpc_value *ent = rpc_struct_new(env);
		rpc_set_str(env, ent, "InitiatorName", initiator);
		rpc_append_take(env, iscsi, ent);
	}
	rpc_set_take(env, hba, "iSCSI", iscsi);
	rpc_set_take(env, hba, "FC", rpc_array_new(env));
	rpc_set_take(env, info, "HBAInventory", hba);

	xmlrpc_value *eng = rpc_array_new(env), *cl = rpc_array_new(env);
	for (size_t i = 0; i < ELEMENTSOF(levels); i++) {
		rpc_append_str(env, eng, levels[i]);
		rpc_append_str(env, cl, levels[i]);
	}
	rpc_set_take(env, info, "supportedENGINEs", eng);
	rpc_set_take(env, info, "clusterLevels", cl);
	rpc_set_str(env, info, "software_version", VDSM_COMPAT_VERSION);
	rpc_set_str(env, info, "software_revision", VDSM_COMPAT_RELEASE);
	rpc_set_str(env, info, "version_name", VDSM_COMPAT_VERSION_NAME);
	xmlrpc_value *pk = rpc_struct_new(env), *p = rpc_struct_new(env);
	rpc_set_str(env, p, "version", VDSM_COMPAT_VERSION);
	rpc_set_str(env, p, "release", VDSM_COMPAT_RELEASE);
	rpc_set_str(env, p, "buildtime", "0");
	rpc_set_take(env, pk, "vdsm", p);
	p = rpc_struct_new(env);
	rpc_set_str(env, p, "version", VDSM_C_VERSION);
	rpc_set_str(env, p, "release", "1");
	rpc_set_str(env, p, "buildtime", "0");
	rpc_set_take(env, pk, "vdsm-c", p);
	rpc_set_take(env, info, "packages2", pk);
	xmlrpc_value *vt = rpc_array_new(env);
	rpc_append_str(env, vt, "kvm");
	rpc_set_take(env, info, "vmTypes", vt);
	return info;
}

/* The static part is built once; the serialized reply is cached for the last client
 * address (lastClient is per request), so a warm call costs one lookup and no
 * serialization (bench: getVdsCapabilities). */
static pthread_mutex_t caps_lock = PTHREAD_MUTEX_INITIALIZER;
static xmlrpc_value *caps_static;
static struct rpc_blob *caps_reply;
static char caps_reply_addr[64];

xmlrpc_value *verb_get_vds_capabilities(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	xmlrpc_value *info = NULL, *payload;
	const char *addr = c->client_addr ? c->client_addr : "";

	vd_client_seen_mark();
	pthread_mutex_lock(&caps_lock);
	if (caps_reply && strcmp(caps_reply_addr, addr) == 0) {
		c->reply_blob = rpc_blob_ref(caps_reply);
		pthread_mutex_unlock(&caps_lock);
		return NULL;
	}
	if (!caps_static)
		caps_static = build_caps(env, err);
	if (caps_static)
		info = rpc_struct_copy_shallow(env, caps_static);
	pthread_mutex_unlock(&caps_lock);
	if (!info)
		return NULL;
	rpc_set_str(env, info, "lastClient", addr);
	payload = rpc_struct_new(env);
	rpc_set_take(env, payload, "info", info);
	payload = rpc_envelope(env, payload, 0, vd_code_message(VD_ERR_DONE));
	if (!payload)
		return NULL;
	struct rpc_blob *blob = rpc_serialize_response(payload);
	xmlrpc_DECREF(payload);
	if (!blob) {
		vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: cannot serialize capabilities");
		return NULL;
	}
	pthread_mutex_lock(&caps_lock);
	rpc_blob_unref(caps_reply);
	caps_reply = rpc_blob_ref(blob);
	snprintf(caps_reply_addr, sizeof(caps_reply_addr), "%s", addr);
	pthread_mutex_unlock(&caps_lock);
	c->reply_blob = blob;
	return NULL;
}

/* ---- getVdsStats ---- */

xmlrpc_value *verb_get_vds_stats(struct vd_call *c, xmlrpc_env *env, struct vd_error *err)
{
	xmlrpc_value *info = rpc_struct_new(env), *payload;
	char buf[64];
	time_t now = time(NULL);
	struct tm tm;

	(void)c;
	(void)err;
	rpc_set_strf(env, info, "elapsedTime", "%lld",
		     (long long)(util_now_monotonic() - vd_rt.start_mono));
	gmtime_r(&now, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S GMT", &tm);
	rpc_set_str(env, info, "dateTime", buf);
	rpc_set_str(env, info, "generationID", vd_rt.generation_id);
	/* No VM support yet: these counts are true, not placeholders. */
	rpc_set_int(env, info, "vmCount", 0);
	rpc_set_int(env, info, "vmActive", 0);
	rpc_set_int(env, info, "vmMigrating", 0);
	rpc_set_int(env, info, "incomingVmMigrations", 0);
	rpc_set_int(env, info, "outgoingVmMigrations", 0);
	rpc_set_take(env, info, "storageDomains", rpc_struct_new(env));
	payload = rpc_struct_new(env);
	rpc_set_take(env, payload, "info", info);
	return payload;
}

void verbs_host_fini(void);
void verbs_host_fini(void)
{
	if (caps_static)
		xmlrpc_DECREF(caps_static);
	caps_static = NULL;
	rpc_blob_unref(caps_reply);
	caps_reply = NULL;
}
