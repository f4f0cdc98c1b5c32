/* Live migration (API.md §5.3, §7). This slice: the destination side of
 * migrationCreate — readiness checks that refuse with a specific code and message,
 * then the VM registered in `Migration Destination` and a waiter thread that sees it
 * Up when libvirt resumes it, or cleans up on timeout/failure.
 *
 * Gets the VM module only through vm.h; never sees XML-RPC (verbs/migration.c
 * converts). */
#ifndef VD_MIGRATION_H
#define VD_MIGRATION_H

#include "../util/error.h"
#include "../util/macros.h"
#include "../vm/vm.h"

/* From the configuration (copied by migration_start; strings must outlive the module). */
struct migration_opts {
	const char *host_root;        /* prefix of /proc, /sys reads ("" = /) */
	int max_incoming;             /* vars.max_incoming_migrations */
	int destination_timeout;      /* vars.migration_destination_timeout, seconds */
	int host_mem_reserve;         /* vars.host_mem_reserve, MiB */
	int guest_ram_overhead;       /* vars.guest_ram_overhead, MiB */
};

int migration_start(const struct migration_opts *o);
void migration_stop(void);

/* What the host offers an incoming VM, read by migration_incoming() (a seam for the
 * unit tests of the checks). */
struct migration_host_facts {
	long long mem_available_mib;  /* MemAvailable */
	int incoming;                 /* incoming migrations in progress */
	long long incoming_mem_mib;   /* memory they reserved (memSize + overhead each) */
};

/* The readiness checks of an incoming VM c against facts, first failure wins (API.md
 * §4.4, §7.1 step 6): incoming limit (82 when the source passed incomingLimit, 12 for
 * an older source that cannot retry), free memory for memSize + overhead after the
 * host reserve and the incoming reservations (14), every NIC's bridge present (9) and
 * up (9). Pure except for reading <host_root>/sys/class/net/<bridge>/flags. */
int migration_check_incoming(const struct vm_conf *c, const struct migration_host_facts *f,
			     bool source_passed_limit, struct vd_error *err) _wur_;

/* migrationCreate: checks, then vm_incoming_create() (bridges, disks, duplicates),
 * then a waiter thread (vm_incoming_wait, migration_destination_timeout). Takes c. */
int migration_incoming(struct vm_conf *c, bool source_passed_limit, struct vm_brief *ret,
		       struct vd_error *err) _wur_;

#endif
