/* Verb handlers, one file per module under vdsm-c/verbs/. Only api.c calls them. */
#ifndef VD_VERBS_H
#define VD_VERBS_H

#include "../api.h"
#include "args.h"
#include "../util/macros.h"

/* host.c */
xmlrpc_value *verb_ping(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
xmlrpc_value *verb_get_vds_capabilities(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
xmlrpc_value *verb_get_vds_stats(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
xmlrpc_value *verb_get_vds_hardware_info(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
/* Cache keys of getVdsCapabilities (caps.c) and getVdsStats (stats.c): vd_cache_key_fn. */
int verbs_caps_cache_key(const struct vd_call *c, char *key, size_t size);
int verbs_stats_cache_key(const struct vd_call *c, char *key, size_t size);

/* readiness.c */
xmlrpc_value *verb_get_host_readiness(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);

/* introspect.c */
xmlrpc_value *verb_list_methods(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
xmlrpc_value *verb_method_help(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
xmlrpc_value *verb_method_signature(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);

/* network.c */
xmlrpc_value *verb_setup_networks(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
xmlrpc_value *verb_set_safe_network_config(struct vd_call *c, xmlrpc_env *env,
					   struct vd_error *err);

/* vm.c */
xmlrpc_value *verb_create(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
xmlrpc_value *verb_destroy(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
xmlrpc_value *verb_list(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
/* streamed: vd_write_fn */
int verb_get_vm_stats(struct vd_call *c, struct rpc_writer *w, struct vd_error *err) _wur_;
int verb_get_all_vm_stats(struct vd_call *c, struct rpc_writer *w, struct vd_error *err) _wur_;

/* devices.c */
xmlrpc_value *verb_get_device_list(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
struct stg_devlist;
struct stg_dev;
/* One getDeviceList entry (also getVGInfo's pvlist entries). */
xmlrpc_value *vd_dev_struct(xmlrpc_env *env, const struct stg_devlist *l, const struct stg_dev *d);
/* vg.c */
xmlrpc_value *verb_create_vg(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
xmlrpc_value *verb_get_vg_info(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
/* storage.c */
xmlrpc_value *verb_connect_storage_server(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
xmlrpc_value *verb_disconnect_storage_server(struct vd_call *c, xmlrpc_env *env,
					     struct vd_error *err);
xmlrpc_value *verb_discover_send_targets(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
xmlrpc_value *verb_validate_storage_server_connection(struct vd_call *c, xmlrpc_env *env,
						      struct vd_error *err);

/* sd.c */
xmlrpc_value *verb_create_storage_domain(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
xmlrpc_value *verb_get_storage_domains_list(struct vd_call *c, xmlrpc_env *env,
					    struct vd_error *err);
xmlrpc_value *verb_get_storage_domain_info(struct vd_call *c, xmlrpc_env *env,
					   struct vd_error *err);
xmlrpc_value *verb_get_storage_domain_stats(struct vd_call *c, xmlrpc_env *env,
					    struct vd_error *err);
xmlrpc_value *verb_prepare_image(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
xmlrpc_value *verb_teardown_image(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
/* getVdsStats' storageDomains: the monitors' last results (memory only). */
xmlrpc_value *verbs_storage_domains_stats(xmlrpc_env *env);

/* migration.c */
xmlrpc_value *verb_migration_create(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
xmlrpc_value *verb_migrate(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
xmlrpc_value *verb_migrate_status(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
xmlrpc_value *verb_migrate_cancel(struct vd_call *c, xmlrpc_env *env, struct vd_error *err);
/* The migration module's calls to the destination agent (wired by modules.c). */
struct migration_peer;
int verbs_migration_dest_create(const struct migration_peer *p, const char *vm_id,
				const char *conf_blob, struct vd_error *err);
void verbs_migration_dest_destroy(const struct migration_peer *p, const char *vm_id);
int verbs_migration_dest_ping(const struct migration_peer *p);

#endif
