/* The one verb table, and the dispatcher that serves it. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "../rpc/writer.h"
#include "util/log.h"
#include "util/util.h"
#include "verbs/verbs.h"

#define READY (VD_VERB_NEEDS_READY)
#define AUDIT (VD_VERB_AUDIT)
#define SEEN (VD_VERB_CLIENT_SEEN)

/* Every verb vdsm-c serves. Only verbs that really work are listed (no placeholders).
 * Introspection is not gated by readiness, as in VDSM where it is registered outside
 * the API wrapper. */
static struct vd_verb verbs[] = {
	{ .name = "ping", .fn = verb_ping, .flags = READY | SEEN, .args = "",
	  .help = "Liveness check; also marks the manager as seen (setupNetworks connectivity check)." },
	{ .name = "getVdsCapabilities", .fn = verb_get_vds_capabilities, .flags = READY | SEEN,
	  .args = "", .cache_key = verbs_caps_cache_key,
	  .help = "Host capabilities: CPU, memory, NUMA, network devices, software versions." },
	{ .name = "getVdsStats", .fn = verb_get_vds_stats, .flags = READY, .args = "",
	  .cache_key = verbs_stats_cache_key,
	  .help = "Host statistics from the last sample (CPU, memory, network, storage domains)." },
	{ .name = "getHostReadiness", .fn = verb_get_host_readiness, .max_args = 3, .flags = READY,
	  .args = "[clusterCpu], [networks], [storage]",
	  .help = "Host readiness report (vdsm-c extension): libvirt, KVM, CPU against the cluster "
		  "model, memory, required networks, storage connections reachable (NFS "
		  "SERVER:/EXPORT, iscsi:PORTAL[:PORT]), multipath paths, certificates, clock; a "
		  "verdict per check." },
	{ .name = "getVdsHardwareInfo", .fn = verb_get_vds_hardware_info, .flags = READY, .args = "",
	  .help = "DMI system information (manufacturer, product, version, serial, UUID, family)." },
	{ .name = "create", .fn = verb_create, .min_args = 1, .max_args = 1, .flags = READY | AUDIT,
	  .args = "vmParams{}",
	  .help = "Starts a VM from vmParams; replies with its conf in WaitForLaunch." },
	{ .name = "destroy", .fn = verb_destroy, .min_args = 1, .max_args = 1, .flags = READY | AUDIT,
	  .args = "vmId",
	  .help = "Stops a VM (SIGTERM, then kill) and forgets it, or acknowledges a Down VM." },
	{ .name = "migrationCreate", .fn = verb_migration_create, .min_args = 1, .max_args = 2,
	  .flags = READY | AUDIT, .args = "params{}, [incomingLimit]",
	  .help = "Destination side of a live migration (called by the source agent): readiness "
		  "checks, then the VM waits in Migration Destination for libvirt's incoming domain." },
	{ .name = "migrate", .fn = verb_migrate, .min_args = 1, .max_args = 1,
	  .flags = READY | AUDIT, .args = "params{}",
	  .help = "Live-migrates a VM to the host in params.dst (asynchronous; see migrateStatus)." },
	{ .name = "migrateStatus", .fn = verb_migrate_status, .min_args = 1, .max_args = 1,
	  .flags = READY, .args = "vmId",
	  .help = "Status, progress and data of the VM's last outgoing migration." },
	{ .name = "migrateCancel", .fn = verb_migrate_cancel, .min_args = 1, .max_args = 1,
	  .flags = READY | AUDIT, .args = "vmId",
	  .help = "Cancels the VM's outgoing migration; the VM stays Up on this host." },
	{ .name = "list", .fn = verb_list, .max_args = 2, .flags = READY | SEEN,
	  .args = "[fullStatus], [vmList]",
	  .help = "VMs of this host: vmId/status, or their full conf when fullStatus is true." },
	{ .name = "getVmStats", .write = verb_get_vm_stats, .min_args = 1, .max_args = 1, .flags = READY,
	  .args = "vmId", .help = "Status and statistics of one VM (from the last sample)." },
	{ .name = "getAllVmStats", .write = verb_get_all_vm_stats, .flags = READY, .args = "",
	  .help = "Status and statistics of every VM (from the last sample)." },
	{ .name = "connectStorageServer", .fn = verb_connect_storage_server, .min_args = 3,
	  .max_args = 3, .flags = READY | AUDIT, .args = "domType, spUUID, conList",
	  .help = "Connects the host to storage servers (NFS, iSCSI, POSIXFS, LOCALFS); statuslist per connection." },
	{ .name = "discoverSendTargets", .fn = verb_discover_send_targets, .min_args = 1,
	  .max_args = 1, .flags = READY | AUDIT, .args = "con",
	  .help = "iSCSI sendtargets discovery on a portal: targets and fullTargets." },
	{ .name = "disconnectStorageServer", .fn = verb_disconnect_storage_server, .min_args = 3,
	  .max_args = 3, .flags = READY | AUDIT, .args = "domType, spUUID, conList",
	  .help = "Disconnects storage server connections (unmount, unlink, iSCSI logout); statuslist per connection." },
	{ .name = "getDeviceList", .fn = verb_get_device_list, .max_args = 3, .flags = READY,
	  .args = "[storageType], [guids], [checkStatus]",
	  .help = "Multipath devices (GUID, size, inquiry data, paths and their states, LVM PV); "
		  "filtered by type and GUIDs; checkStatus tells free from used." },
	{ .name = "validateStorageServerConnection", .fn = verb_validate_storage_server_connection,
	  .min_args = 3, .max_args = 3, .flags = READY, .args = "domType, spUUID, conList",
	  .help = "No-op kept for old engines: status 0 for every connection id." },
	{ .name = "createVG", .fn = verb_create_vg, .min_args = 2, .max_args = 3,
	  .flags = READY | AUDIT, .args = "vgname, devlist, [force]",
	  .help = "Makes PVs of multipath devices and the VG named after a storage domain; "
		  "its LVM UUID." },
	{ .name = "getVGInfo", .fn = verb_get_vg_info, .min_args = 1, .max_args = 1,
	  .flags = READY, .args = "vgUUID",
	  .help = "A VG by LVM UUID: name, sizes, attributes, state and its PVs' devices." },
	{ .name = "createStorageDomain", .fn = verb_create_storage_domain, .min_args = 5,
	  .max_args = 6, .flags = READY | AUDIT,
	  .args = "storageType, sdUUID, domainName, typeSpecificArg, domClass, [domVersion]",
	  .help = "Creates a file storage domain (NFS, LOCALFS, POSIXFS) on a connected mount." },
	{ .name = "getStorageDomainsList", .fn = verb_get_storage_domains_list, .max_args = 4,
	  .flags = READY, .args = "[spUUID], [domainClass], [storageType], [remotePath]",
	  .help = "UUIDs of the storage domains on the connected mounts, filtered." },
	{ .name = "getStorageDomainInfo", .fn = verb_get_storage_domain_info, .min_args = 1,
	  .max_args = 1, .flags = READY, .args = "sdUUID",
	  .help = "A storage domain's metadata: name, type, class, role, pools, version, remotePath." },
	{ .name = "getStorageDomainStats", .fn = verb_get_storage_domain_stats, .min_args = 1,
	  .max_args = 1, .flags = READY, .args = "sdUUID",
	  .help = "Total and free bytes of a storage domain." },
	{ .name = "prepareImage", .fn = verb_prepare_image, .min_args = 4, .max_args = 4,
	  .flags = READY | AUDIT, .args = "spUUID, sdUUID, imgUUID, leafUUID",
	  .help = "Checks an image's volume chain and links it: path, info, imgVolumesInfo." },
	{ .name = "teardownImage", .fn = verb_teardown_image, .min_args = 3, .max_args = 4,
	  .flags = READY | AUDIT, .args = "spUUID, sdUUID, imgUUID, [volUUID]",
	  .help = "Removes the run-time link of a prepared image." },
	{ .name = "setupNetworks", .fn = verb_setup_networks, .min_args = 3, .max_args = 3,
	  .flags = READY | AUDIT, .args = "networks, bondings, options",
	  .help = "Creates, changes and removes host networks and bonds in one transaction; "
		  "rolled back on failure or when the manager does not call back in time." },
	{ .name = "setSafeNetworkConfig", .fn = verb_set_safe_network_config,
	  .flags = READY | AUDIT, .args = "",
	  .help = "Makes the running network configuration the one restored at start." },
	{ .name = "system.listMethods", .fn = verb_list_methods, .args = "",
	  .help = "Names of every method this agent serves." },
	{ .name = "system.methodHelp", .fn = verb_method_help, .min_args = 1, .max_args = 1,
	  .args = "methodName", .help = "Signature line and description of a method." },
	{ .name = "system.methodSignature", .fn = verb_method_signature, .min_args = 1,
	  .max_args = 1, .args = "methodName",
	  .help = "XML-RPC signatures of a method (\"undef\": untyped)." },
};

static int verb_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vd_verb *)a)->name, ((const struct vd_verb *)b)->name);
}

const struct vd_verb *vd_api_lookup(const char *name)
{
	struct vd_verb key = { .name = name };

	return bsearch(&key, verbs, ELEMENTSOF(verbs), sizeof(verbs[0]), verb_cmp);
}

const struct vd_verb *vd_api_table(unsigned *ret_n)
{
	*ret_n = ELEMENTSOF(verbs);
	return verbs;
}

/* ---- readiness ---- */

static atomic_int ready_holds;

void vd_ready_hold(const char *what)
{
	atomic_fetch_add(&ready_holds, 1);
	log_debug("initialising: %s", what);
}

void vd_ready_release(const char *what)
{
	if (atomic_fetch_sub(&ready_holds, 1) == 1)
		log_notice("initialisation complete (%s was last); serving all verbs", what);
}

bool vd_is_ready(void)
{
	return atomic_load(&ready_holds) == 0;
}

/* ---- client seen ---- */

static _Atomic double client_seen;

void vd_client_seen_mark(void)
{
	atomic_store_explicit(&client_seen, util_now_monotonic(), memory_order_relaxed);
}

double vd_client_seen_last(void)
{
	return atomic_load_explicit(&client_seen, memory_order_relaxed);
}

/* ---- static replies ---- */

static struct rpc_blob *done_reply;     /* {status:{0,"Done"}} */
static xmlrpc_value *empty_params;      /* shared, never modified */
static struct rpc_blob *recovery_reply; /* {status:{99,...}} */

static struct rpc_blob *status_reply(int code, const char *message)
{
	xmlrpc_env env;
	struct rpc_blob *b = NULL;

	xmlrpc_env_init(&env);
	b = rpc_serialize_envelope(&env, NULL, code, message);
	xmlrpc_env_clean(&env);
	return b;
}

int vd_api_init(void)
{
	qsort(verbs, ELEMENTSOF(verbs), sizeof(verbs[0]), verb_cmp);
	for (size_t i = 1; i < ELEMENTSOF(verbs); i++)
		if (strcmp(verbs[i - 1].name, verbs[i].name) == 0) {
			log_err("verb table: '%s' listed twice", verbs[i].name);
			return -1;
		}
	xmlrpc_env env;
	xmlrpc_env_init(&env);
	empty_params = xmlrpc_array_new(&env);
	xmlrpc_env_clean(&env);
	done_reply = status_reply(0, vd_code_message(VD_ERR_DONE));
	recovery_reply = status_reply(VD_ERR_RECOVERY, vd_code_message(VD_ERR_RECOVERY));
	return done_reply && recovery_reply && empty_params ? 0 : -1;
}

/* ---- reply cache ----
 * One slot per cacheable verb: the last successful reply and the key it was built at
 * (vd_cache_key_fn in api.h). A hit costs the key (a few generation reads) and a
 * refcount; the handler, value tree and serialization are skipped. */

struct reply_cache {
	struct rpc_blob *blob;
	char key[VD_CACHE_KEY_MAX];
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct reply_cache caches[ELEMENTSOF(verbs)];

static struct rpc_blob *cache_get(const struct vd_verb *v, const char *key)
{
	struct reply_cache *c = &caches[v - verbs];
	struct rpc_blob *b = NULL;

	pthread_mutex_lock(&cache_lock);
	if (c->blob && strcmp(c->key, key) == 0)
		b = rpc_blob_ref(c->blob);
	pthread_mutex_unlock(&cache_lock);
	return b;
}

static void cache_put(const struct vd_verb *v, const char *key, struct rpc_blob *reply)
{
	struct reply_cache *c = &caches[v - verbs];
	struct rpc_blob *old;

	pthread_mutex_lock(&cache_lock);
	old = c->blob;
	c->blob = rpc_blob_ref(reply);
	snprintf(c->key, sizeof(c->key), "%s", key);
	pthread_mutex_unlock(&cache_lock);
	rpc_blob_unref(old);
}

static void cache_clear(void)
{
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < ELEMENTSOF(caches); i++) {
		rpc_blob_unref(caches[i].blob);
		caches[i].blob = NULL;
	}
	pthread_mutex_unlock(&cache_lock);
}

void vd_api_fini(void)
{
	cache_clear();
	rpc_blob_unref(done_reply);
	rpc_blob_unref(recovery_reply);
	done_reply = recovery_reply = NULL;
	if (empty_params)
		xmlrpc_DECREF(empty_params);
	empty_params = NULL;
}

/* ---- dispatch ---- */

static struct rpc_blob *fault(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct rpc_blob *fault(const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return rpc_serialize_fault(RPC_FAULT_CODE, msg);
}

static void audit(const struct vd_call *c, int code, double started)
{
	log_notice("AUDIT verb=%s client=%s subject=\"%s\" addr=%s flow=%s obj=%s code=%d ms=%.1f",
		   c->verb, c->client_cn && *c->client_cn ? c->client_cn : "-",
		   c->client_dn && *c->client_dn ? c->client_dn : "-",
		   c->client_addr ? c->client_addr : "-", c->flow && *c->flow ? c->flow : "-",
		   c->audit_obj[0] ? c->audit_obj : "-", code,
		   (util_now_monotonic() - started) * 1000.0);
}

/* Runs the handler and serializes its success reply; NULL with err set on failure. */
/* Last reply size of each streaming verb: the next writer starts that big. */
static _Atomic size_t write_hint[ELEMENTSOF(verbs)];

static struct rpc_blob *handle_write(const struct vd_verb *v, struct vd_call *call,
				     struct vd_error *err)
{
	_Atomic size_t *hint = &write_hint[v - verbs];
	size_t h = atomic_load(hint);
	struct rpc_writer *w = rpc_writer_new(RPC_WIRE_XMLRPC, h + h / 8);
	struct rpc_blob *reply = NULL;

	if (!w) {
		vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: out of memory");
		return NULL;
	}
	if (v->write(call, w, err) < 0 || vd_error_is_set(err)) {
		vd_error_set(err, VD_ERR_UNEXPECTED, NULL); /* kept when the handler set one */
		rpc_writer_free(w);
		return NULL;
	}
	if (rpc_writer_finish(w, 0, call->ok_message ? call->ok_message : "Done", &reply) < 0) {
		log_err("%s: writing the reply failed", v->name);
		vd_error_set(err, VD_ERR_UNEXPECTED, NULL);
		return NULL;
	}
	atomic_store(hint, reply->len);
	return reply;
}

static struct rpc_blob *handle(const struct vd_verb *v, struct vd_call *call, xmlrpc_env *env,
			       struct vd_error *err)
{
	struct rpc_blob *reply;

	if (v->write)
		return handle_write(v, call, err);
	xmlrpc_value *payload = v->fn(call, env, err);

	if (env->fault_occurred && !vd_error_is_set(err)) {
		log_err("%s: building the reply failed: %s", v->name, env->fault_string);
		vd_error_set(err, VD_ERR_UNEXPECTED, NULL);
	}
	if (vd_error_is_set(err)) {
		if (payload)
			xmlrpc_DECREF(payload);
		return NULL;
	}
	if (!payload && !call->ok_message)
		return rpc_blob_ref(done_reply);
	reply = rpc_serialize_envelope(env, payload, 0, call->ok_message ? call->ok_message : "Done");
	if (!reply) {
		log_err("%s: serializing the reply failed", v->name);
		vd_error_set(err, VD_ERR_UNEXPECTED, NULL);
	}
	return reply;
}

struct rpc_blob *vd_api_handle(const char *body, size_t len, const struct vd_call *ctx,
			       bool *ret_is_fault)
{
	char *method = NULL;
	xmlrpc_value *params = NULL;
	xmlrpc_env env;
	struct vd_error err = { 0 };
	struct rpc_blob *reply;

	*ret_is_fault = true;
	char fast[RPC_METHOD_MAX + 1];
	const char *name;
	if (rpc_parse_call_noparams(body, len, fast)) {
		/* The manager's polls: no XML parser, no allocation for the name or params. */
		name = fast;
		params = empty_params;
		xmlrpc_INCREF(params);
	} else {
		/* Faults only for what VDSM's Python server could not dispatch (API.md §1.1). */
		struct vd_error perr = { 0 };
		int r = rpc_parse_call(body, len, &method, &params, &perr);
		if (r == -EBADMSG) {
			log_warning("refused request from %s: %s", ctx->client_addr, perr.msg);
			return fault("<type 'exceptions.Exception'>:unparsable request: %s", perr.msg);
		}
		if (r < 0) {
			log_info("unparsable request from %s: %s", ctx->client_addr, perr.msg);
			return fault("<class 'xml.parsers.expat.ExpatError'>:%s", perr.msg);
		}
		name = method;
	}
	const struct vd_verb *v = vd_api_lookup(name);
	if (!v) {
		log_info("unknown method '%s' from %s", name, ctx->client_addr);
		reply = fault("<type 'exceptions.Exception'>:method \"%s\" is not supported", name);
		free(method);
		xmlrpc_DECREF(params);
		return reply;
	}
	free(method);
	*ret_is_fault = false;

	struct vd_call call = *ctx;
	call.verb = v->name;
	call.verbs = verbs;
	call.n_verbs = ELEMENTSOF(verbs);
	call.params = params;
	xmlrpc_env_init(&env);
	call.nparams = xmlrpc_array_size(&env, params);
	double started = util_now_monotonic();

	if ((v->flags & VD_VERB_NEEDS_READY) && !vd_is_ready()) {
		reply = rpc_blob_ref(recovery_reply);
		vd_error_set(&err, VD_ERR_RECOVERY, NULL);
		goto out;
	}
	if (call.nparams < v->min_args || call.nparams > v->max_args) {
		/* VDSM catches the TypeError inside its wrapper: a normal reply, code 16. */
		if (v->min_args == v->max_args)
			vd_error_set(&err, VD_ERR_UNEXPECTED,
				     "Unexpected exception: %s takes %d argument%s (%s), %d given",
				     v->name, v->min_args, v->min_args == 1 ? "" : "s",
				     *v->args ? v->args : "none", call.nparams);
		else
			vd_error_set(&err, VD_ERR_UNEXPECTED,
				     "Unexpected exception: %s takes %d to %d arguments (%s), %d given",
				     v->name, v->min_args, v->max_args, *v->args ? v->args : "none",
				     call.nparams);
		reply = NULL;
	} else {
		if (v->flags & VD_VERB_CLIENT_SEEN)
			vd_client_seen_mark();
		char key[VD_CACHE_KEY_MAX];
		bool cacheable = v->cache_key && v->cache_key(&call, key, sizeof(key)) == 0;
		if (cacheable && (reply = cache_get(v, key)))
			goto out;
		reply = handle(v, &call, &env, &err);
		if (reply && cacheable)
			cache_put(v, key, reply);
	}
	if (!reply) {
		/* Error reply: status only. */
		xmlrpc_env eenv;
		xmlrpc_env_init(&eenv);
		reply = rpc_serialize_envelope(&eenv, NULL, err.code, err.msg);
		xmlrpc_env_clean(&eenv);
		if (err.code != VD_ERR_RECOVERY)
			log_warning("%s from %s failed: code %d: %s", v->name, ctx->client_addr,
				    err.code, err.msg);
	}
out:
	if (v->flags & VD_VERB_AUDIT)
		audit(&call, err.code, started);
	xmlrpc_env_clean(&env);
	xmlrpc_DECREF(params);
	return reply;
}
