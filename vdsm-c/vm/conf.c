/* VM request helpers: status and exit-reason tables, MAC and name checks, disk
 * target names. Pure functions; no I/O. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"
#include "../util/macros.h"

static const char *const status_names[] = {
	[VM_ST_WAIT_FOR_LAUNCH] = "WaitForLaunch",
	[VM_ST_POWERING_UP] = "Powering up",
	[VM_ST_UP] = "Up",
	[VM_ST_POWERING_DOWN] = "Powering down",
	[VM_ST_PAUSED] = "Paused",
	[VM_ST_MIGRATION_SOURCE] = "Migration Source",
	[VM_ST_MIGRATION_DESTINATION] = "Migration Destination",
	[VM_ST_SAVING_STATE] = "Saving State",
	[VM_ST_RESTORING_STATE] = "Restoring state",
	[VM_ST_REBOOT_IN_PROGRESS] = "RebootInProgress",
	[VM_ST_DOWN] = "Down",
};
_Static_assert(ELEMENTSOF(status_names) == _VM_ST_MAX, "status_names incomplete");

static const char *const exit_messages[] = {
	[VM_EXIT_SUCCESS] = "VM terminated successfully",
	[VM_EXIT_GENERIC_ERROR] = "VM terminated with error",
	[VM_EXIT_LOST_QEMU_CONNECTION] = "Lost connection with qemu process",
	[VM_EXIT_LIBVIRT_START_FAILED] = "failed to start libvirt vm",
	[VM_EXIT_MIGRATION_SUCCEEDED] = "Migration succeeded",
	[VM_EXIT_SAVE_STATE_SUCCEEDED] = "SaveState succeeded",
	[VM_EXIT_ADMIN_SHUTDOWN] = "Admin shut down from the engine",
	[VM_EXIT_USER_SHUTDOWN] = "User shut down from within the guest",
	[VM_EXIT_MIGRATION_FAILED] = "VM failed to migrate",
	[VM_EXIT_LIBVIRT_DOMAIN_MISSING] = "Failed to find the libvirt domain",
	[VM_EXIT_DESTROYED_ON_STARTUP] = "VM destroyed during the startup",
	[VM_EXIT_HOST_SHUTDOWN] = "VM has been terminated on the host",
	[VM_EXIT_POSTCOPY_MIGRATION_FAILED] = "Migration failed in post-copy",
};
_Static_assert(ELEMENTSOF(exit_messages) == _VM_EXIT_MAX, "exit_messages incomplete");

const char *vm_status_to_string(enum vm_status s)
{
	return (unsigned)s < _VM_ST_MAX ? status_names[s] : "Down";
}

const char *vm_exit_reason_message(int reason)
{
	return reason >= 0 && reason < _VM_EXIT_MAX ? exit_messages[reason] : "";
}

struct vm_conf *vm_conf_new(void)
{
	struct vm_conf *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->vcpus = c->max_vcpus = c->sockets = c->cores = c->threads = 1;
	c->kvm_enable = true;
	c->acpi = true;
	return c;
}

struct vm_conf *vm_conf_free(struct vm_conf *c)
{
	if (!c)
		return NULL;
	free(c->name);
	free(c->cpu_model);
	for (size_t i = 0; i < c->n_cpu_features; i++)
		free(c->cpu_features[i]);
	free(c->cpu_features);
	free(c->machine);
	free(c->smbios_serial);
	free(c->kernel);
	free(c->initrd);
	free(c->cmdline);
	for (size_t i = 0; i < c->n_nics; i++) {
		free(c->nics[i].network);
		free(c->nics[i].model);
		free(c->nics[i].device_id);
	}
	free(c->nics);
	for (size_t i = 0; i < c->n_disks; i++) {
		free(c->disks[i].path);
		free(c->disks[i].format);
		free(c->disks[i].device_id);
		free(c->disks[i].image_id);
		free(c->disks[i].lun_guid);
		free(c->disks[i].pool_id);
		free(c->disks[i].domain_id);
		free(c->disks[i].volume_id);
	}
	free(c->disks);
	free(c->domain_type);
	free(c->console_log);
	free(c->conf_blob);
	free(c);
	return NULL;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

int vm_mac_parse(const char *s, char out[18])
{
	unsigned char b[6];
	char sep = 0;

	if (!s || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = hexval((unsigned char)s[i * 3]), lo = hexval((unsigned char)s[i * 3 + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		b[i] = (unsigned char)(hi << 4 | lo);
		if (i < 5) {
			char c = s[i * 3 + 2];
			if (c != ':' && c != '-')
				return -EINVAL;
			if (sep && c != sep)
				return -EINVAL;
			sep = c;
		}
	}
	/* A vNIC needs a unicast address (I/G bit clear) that is not all zeros. */
	if (b[0] & 1)
		return -EINVAL;
	if (!(b[0] | b[1] | b[2] | b[3] | b[4] | b[5]))
		return -EINVAL;
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
	return 0;
}

bool vm_ifname_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || s[0] == '-')
		return false;
	for (const char *p = s; *p; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p) || !isprint((unsigned char)*p))
			return false;
	return true;
}

static const char *const bus_prefix[] = {
	[VM_BUS_VIRTIO] = "vd", [VM_BUS_IDE] = "hd", [VM_BUS_SCSI] = "sd",
	[VM_BUS_SATA] = "sd", [VM_BUS_FDC] = "fd",
};
_Static_assert(ELEMENTSOF(bus_prefix) == _VM_BUS_MAX, "bus_prefix incomplete");

/* Index → "a".."z", "aa".. (the kernel's sd naming, as libvirt expects). */
static void target_name(const char *prefix, int idx, char *buf, size_t size)
{
	char suffix[8];
	int n = 0;

	idx++;
	while (idx > 0 && n < (int)sizeof(suffix) - 1) {
		idx--;
		suffix[n++] = (char)('a' + idx % 26);
		idx /= 26;
	}
	for (int i = 0; i < n / 2; i++) {
		char t = suffix[i];
		suffix[i] = suffix[n - 1 - i];
		suffix[n - 1 - i] = t;
	}
	suffix[n] = '\0';
	snprintf(buf, size, "%s%s", prefix, suffix);
}

int vm_conf_assign_targets(struct vm_conf *c, struct vd_error *err)
{
	/* Explicit indexes first, then the rest take the lowest free slot of their bus
	 * (SCSI and SATA share the sd namespace). */
	enum { MAXIDX = 702 };  /* sda..zz */
	static _Thread_local bool used[3][MAXIDX];
	int ns_of[_VM_BUS_MAX] = { [VM_BUS_VIRTIO] = 0, [VM_BUS_IDE] = 1, [VM_BUS_SCSI] = 2,
				   [VM_BUS_SATA] = 2, [VM_BUS_FDC] = 1 };

	memset(used, 0, sizeof(used));
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < c->n_disks; i++) {
			struct vm_disk *d = &c->disks[i];
			int ns = ns_of[d->bus];
			/* fdc disks use their own prefix but never collide with ide ones in
			 * libvirt; keep them in their own space by offset. */
			int base = d->bus == VM_BUS_FDC ? MAXIDX / 2 : 0;
			int idx;

			if ((pass == 0) != (d->index >= 0))
				continue;
			if (pass == 0) {
				idx = d->index;
				if (idx + base >= MAXIDX)
					return vd_error_set(err, VD_ERR_CREATEERR,
							    "Error creating the requested VM: drive index %d out of range",
							    d->index);
				if (used[ns][idx + base])
					return vd_error_set(err, VD_ERR_CREATEERR,
							    "Error creating the requested VM: two drives with index %d on bus %s",
							    d->index, bus_prefix[d->bus]);
			} else {
				for (idx = 0; idx + base < MAXIDX && used[ns][idx + base]; idx++)
					;
				if (idx + base >= MAXIDX)
					return vd_error_set(err, VD_ERR_CREATEERR,
							    "Error creating the requested VM: too many drives");
			}
			used[ns][idx + base] = true;
			target_name(bus_prefix[d->bus], idx, d->target, sizeof(d->target));
		}
	}
	return 0;
}
