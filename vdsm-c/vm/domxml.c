/* vm_conf → libvirt domain XML, written with libxml2's xmlTextWriter so every value
 * from the wire is escaped by the writer (never pieced together as text).
 *
 * What it emits and why:
 * - <cpu mode='custom' match='exact'><model fallback='forbid'>: the cluster baseline
 *   exactly, so a guest sees no feature beyond it and can move between hosts with
 *   different CPUs; 'forbid' so libvirt never silently swaps the model.
 *   host-passthrough / host-model only when cpuType asks for them.
 * - NICs: type bridge with the manager's MAC verbatim (the VM's identity across
 *   migration, API.md §7.2); no network → type ethernet (an unplugged vNIC).
 * - A user alias "ua-<deviceId>" per device the manager named, so list(full) can put
 *   libvirt's addresses back on the manager's devices.
 * - <metadata> in our namespace: id, start time, drive identities and the creation
 *   conf, enough to answer list(full) and getVmStats after an agent restart. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/xmlwriter.h>

#include "vm.h"
#include "../util/macros.h"

struct xw {
	xmlTextWriterPtr w;
	int failed;
};

static void x_start(struct xw *x, const char *name)
{
	if (!x->failed && xmlTextWriterStartElement(x->w, BAD_CAST name) < 0)
		x->failed = 1;
}

static void x_end(struct xw *x)
{
	if (!x->failed && xmlTextWriterEndElement(x->w) < 0)
		x->failed = 1;
}

static void x_attr(struct xw *x, const char *name, const char *value)
{
	if (!x->failed && xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST value) < 0)
		x->failed = 1;
}

static void x_attrf(struct xw *x, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void x_attrf(struct xw *x, const char *name, const char *fmt, ...)
{
	char buf[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	x_attr(x, name, buf);
}

static void x_text(struct xw *x, const char *name, const char *text)
{
	if (!x->failed && xmlTextWriterWriteElement(x->w, BAD_CAST name, BAD_CAST text) < 0)
		x->failed = 1;
}

/* <elem attr='value'/> */
static void x_empty(struct xw *x, const char *name, const char *attr, const char *value)
{
	x_start(x, name);
	if (attr)
		x_attr(x, attr, value);
	x_end(x);
}

static void x_alias(struct xw *x, const char *device_id)
{
	char alias[64];

	if (!device_id)
		return;
	snprintf(alias, sizeof(alias), "ua-%s", device_id);
	x_empty(x, "alias", "name", alias);
}

static void x_boot(struct xw *x, int order)
{
	if (order > 0) {
		x_start(x, "boot");
		x_attrf(x, "order", "%d", order);
		x_end(x);
	}
}

static void write_metadata(struct xw *x, const struct vm_conf *c, double start_time)
{
	x_start(x, "metadata");
	if (!x->failed &&
	    xmlTextWriterStartElementNS(x->w, BAD_CAST VM_METADATA_PREFIX, BAD_CAST "vm",
					BAD_CAST VM_METADATA_NS) < 0)
		x->failed = 1;
	if (!x->failed &&
	    xmlTextWriterWriteElementNS(x->w, BAD_CAST VM_METADATA_PREFIX, BAD_CAST "id", NULL,
					BAD_CAST c->id) < 0)
		x->failed = 1;
	char st[32];
	snprintf(st, sizeof(st), "%.3f", start_time);
	if (!x->failed &&
	    xmlTextWriterWriteElementNS(x->w, BAD_CAST VM_METADATA_PREFIX, BAD_CAST "startTime",
					NULL, BAD_CAST st) < 0)
		x->failed = 1;
	for (size_t i = 0; i < c->n_disks; i++) {
		const struct vm_disk *d = &c->disks[i];
		if (!d->image_id && !d->lun_guid)
			continue;
		if (!x->failed &&
		    xmlTextWriterStartElementNS(x->w, BAD_CAST VM_METADATA_PREFIX, BAD_CAST "drive",
						NULL) < 0)
			x->failed = 1;
		x_attr(x, "target", d->target);
		if (d->image_id)
			x_attr(x, "imageID", d->image_id);
		if (d->lun_guid)
			x_attr(x, "lunGUID", d->lun_guid);
		x_end(x);
	}
	if (!x->failed &&
	    xmlTextWriterWriteElementNS(x->w, BAD_CAST VM_METADATA_PREFIX, BAD_CAST "conf", NULL,
					BAD_CAST(c->conf_blob ? c->conf_blob : "")) < 0)
		x->failed = 1;
	x_end(x); /* vm */
	x_end(x); /* metadata */
}

static void write_cpu(struct xw *x, const struct vm_conf *c)
{
	x_start(x, "cpu");
	switch (c->cpu_mode) {
	case VM_CPU_CUSTOM:
		x_attr(x, "mode", "custom");
		x_attr(x, "match", "exact");
		x_start(x, "model");
		x_attr(x, "fallback", "forbid");
		if (!x->failed && xmlTextWriterWriteString(x->w, BAD_CAST c->cpu_model) < 0)
			x->failed = 1;
		x_end(x);
		break;
	case VM_CPU_HOST_PASSTHROUGH:
		x_attr(x, "mode", "host-passthrough");
		break;
	case VM_CPU_HOST_MODEL:
		x_attr(x, "mode", "host-model");
		break;
	case VM_CPU_DEFAULT:
		break;
	}
	x_start(x, "topology");
	x_attrf(x, "sockets", "%d", c->sockets);
	x_attrf(x, "cores", "%d", c->cores);
	x_attrf(x, "threads", "%d", c->threads);
	x_end(x);
	if (c->cpu_mode == VM_CPU_CUSTOM)
		for (size_t i = 0; i < c->n_cpu_features; i++) {
			const char *f = c->cpu_features[i];
			x_start(x, "feature");
			x_attr(x, "policy", f[0] == '-' ? "disable" : "require");
			x_attr(x, "name", f + 1);
			x_end(x);
		}
	x_end(x);
}

static const char *const bus_names[] = {
	[VM_BUS_VIRTIO] = "virtio", [VM_BUS_IDE] = "ide", [VM_BUS_SCSI] = "scsi",
	[VM_BUS_SATA] = "sata", [VM_BUS_FDC] = "fdc",
};
static const char *const disk_devices[] = {
	[VM_DISK_DISK] = "disk", [VM_DISK_CDROM] = "cdrom", [VM_DISK_FLOPPY] = "floppy",
	[VM_DISK_LUN] = "lun",
};
_Static_assert(ELEMENTSOF(bus_names) == _VM_BUS_MAX, "bus_names incomplete");
_Static_assert(ELEMENTSOF(disk_devices) == _VM_DISK_MAX, "disk_devices incomplete");

static void write_disk(struct xw *x, const struct vm_disk *d)
{
	bool block = d->kind == VM_DISK_KIND_BLOCK || d->device == VM_DISK_LUN;
	bool removable = d->device == VM_DISK_CDROM || d->device == VM_DISK_FLOPPY;

	x_start(x, "disk");
	x_attr(x, "type", block ? "block" : "file");
	x_attr(x, "device", disk_devices[d->device]);
	if (d->device == VM_DISK_LUN)
		x_attr(x, "sgio", "filtered");
	x_start(x, "driver");
	x_attr(x, "name", "qemu");
	x_attr(x, "type", d->format && strcmp(d->format, "qcow2") == 0 ? "qcow2" : "raw");
	if (removable) {
		x_attr(x, "error_policy", "report");
	} else {
		/* As VDSM: no host page cache (safe with shared storage and migration);
		 * pause the guest on I/O errors unless the manager wants them propagated. */
		x_attr(x, "cache", "none");
		x_attr(x, "error_policy", d->propagate_errors ? "enospace" : "stop");
		x_attr(x, "io", block ? "native" : "threads");
	}
	x_end(x);
	if (d->path && *d->path)
		x_empty(x, "source", block ? "dev" : "file", d->path);
	x_start(x, "target");
	x_attr(x, "dev", d->target);
	x_attr(x, "bus", bus_names[d->bus]);
	x_end(x);
	if (d->readonly || removable)
		x_empty(x, "readonly", NULL, NULL);
	if (d->shareable)
		x_empty(x, "shareable", NULL, NULL);
	x_boot(x, d->boot_order);
	x_alias(x, d->device_id);
	x_end(x);
}

static void write_nic(struct xw *x, const struct vm_nic *n)
{
	bool bridged = n->network && *n->network;

	x_start(x, "interface");
	x_attr(x, "type", bridged ? "bridge" : "ethernet");
	x_empty(x, "mac", "address", n->mac);
	if (bridged)
		x_empty(x, "source", "bridge", n->network);
	x_empty(x, "model", "type", n->model ? n->model : "virtio");
	if (n->link_down)
		x_empty(x, "link", "state", "down");
	x_boot(x, n->boot_order);
	x_alias(x, n->device_id);
	x_end(x);
}

static bool any_boot_order(const struct vm_conf *c)
{
	for (size_t i = 0; i < c->n_disks; i++)
		if (c->disks[i].boot_order > 0)
			return true;
	for (size_t i = 0; i < c->n_nics; i++)
		if (c->nics[i].boot_order > 0)
			return true;
	return false;
}

static void write_os(struct xw *x, const struct vm_conf *c)
{
	x_start(x, "os");
	x_start(x, "type");
	if (c->machine)
		x_attr(x, "machine", c->machine);
	if (!x->failed && xmlTextWriterWriteString(x->w, BAD_CAST "hvm") < 0)
		x->failed = 1;
	x_end(x);
	if (c->kernel)
		x_text(x, "kernel", c->kernel);
	if (c->initrd)
		x_text(x, "initrd", c->initrd);
	if (c->cmdline)
		x_text(x, "cmdline", c->cmdline);
	/* Per-device <boot order> and <os><boot> exclude each other in libvirt. */
	if (!any_boot_order(c) && !c->kernel)
		for (const char *b = c->boot; *b; b++)
			x_empty(x, "boot", "dev", *b == 'd' ? "cdrom" : *b == 'n' ? "network" : "hd");
	x_empty(x, "smbios", "mode", "sysinfo");
	x_end(x);
}

static void write_sysinfo(struct xw *x, const struct vm_conf *c)
{
	x_start(x, "sysinfo");
	x_attr(x, "type", "smbios");
	x_start(x, "system");
	static const char *const names[] = { "manufacturer", "product", "serial", "uuid" };
	const char *vals[] = { "oVirt", "oVirt Node", c->smbios_serial ? c->smbios_serial : c->id,
			       c->id };
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		x_start(x, "entry");
		x_attr(x, "name", names[i]);
		if (!x->failed && xmlTextWriterWriteString(x->w, BAD_CAST vals[i]) < 0)
			x->failed = 1;
		x_end(x);
	}
	x_end(x);
	x_end(x);
}

char *vm_domxml_build(const struct vm_conf *c, double start_time)
{
	xmlBufferPtr buf = xmlBufferCreate();
	struct xw x = { 0 };
	char *out = NULL;

	if (!buf)
		return NULL;
	x.w = xmlNewTextWriterMemory(buf, 0);
	if (!x.w) {
		xmlBufferFree(buf);
		return NULL;
	}
	xmlTextWriterSetIndent(x.w, 1);
	xmlTextWriterSetIndentString(x.w, BAD_CAST "  ");

	x_start(&x, "domain");
	x_attr(&x, "type", c->domain_type ? c->domain_type : "kvm");
	x_text(&x, "name", c->name ? c->name : c->id);
	x_text(&x, "uuid", c->id);
	write_metadata(&x, c, start_time);
	x_start(&x, "memory");
	x_attr(&x, "unit", "KiB");
	if (!x.failed && xmlTextWriterWriteFormatString(x.w, "%lld", c->mem_mib * 1024) < 0)
		x.failed = 1;
	x_end(&x);
	x_start(&x, "currentMemory");
	x_attr(&x, "unit", "KiB");
	if (!x.failed && xmlTextWriterWriteFormatString(x.w, "%lld", c->mem_mib * 1024) < 0)
		x.failed = 1;
	x_end(&x);
	x_start(&x, "vcpu");
	x_attr(&x, "placement", "static");
	if (c->vcpus < c->max_vcpus)
		x_attrf(&x, "current", "%d", c->vcpus);
	if (!x.failed && xmlTextWriterWriteFormatString(x.w, "%d", c->max_vcpus) < 0)
		x.failed = 1;
	x_end(&x);
	write_sysinfo(&x, c);
	write_os(&x, c);
	x_start(&x, "features");
	if (c->acpi)
		x_empty(&x, "acpi", NULL, NULL);
	x_end(&x);
	write_cpu(&x, c);
	x_start(&x, "clock");
	x_attr(&x, "offset", "variable");
	x_attrf(&x, "adjustment", "%lld", c->time_offset);
	x_attr(&x, "basis", "utc");
	x_end(&x);
	x_text(&x, "on_poweroff", "destroy");
	x_text(&x, "on_reboot", "restart");
	x_text(&x, "on_crash", "destroy");

	x_start(&x, "devices");
	bool scsi = false;
	for (size_t i = 0; i < c->n_disks; i++) {
		write_disk(&x, &c->disks[i]);
		scsi |= c->disks[i].bus == VM_BUS_SCSI;
	}
	if (scsi) {
		x_start(&x, "controller");
		x_attr(&x, "type", "scsi");
		x_attr(&x, "index", "0");
		x_attr(&x, "model", "virtio-scsi");
		x_end(&x);
	}
	for (size_t i = 0; i < c->n_nics; i++)
		write_nic(&x, &c->nics[i]);
	/* A serial console (pty, optionally logged to a file) and the console on it. */
	x_start(&x, "serial");
	x_attr(&x, "type", "pty");
	if (c->console_log) {
		x_start(&x, "log");
		x_attr(&x, "file", c->console_log);
		x_attr(&x, "append", "on");
		x_end(&x);
	}
	x_empty(&x, "target", "port", "0");
	x_end(&x);
	x_start(&x, "console");
	x_attr(&x, "type", "pty");
	x_start(&x, "target");
	x_attr(&x, "type", "serial");
	x_attr(&x, "port", "0");
	x_end(&x);
	x_end(&x);
	x_empty(&x, "memballoon", "model", c->balloon ? "virtio" : "none");
	x_end(&x); /* devices */
	x_end(&x); /* domain */

	if (!x.failed && xmlTextWriterEndDocument(x.w) < 0)
		x.failed = 1;
	xmlFreeTextWriter(x.w);
	if (!x.failed) {
		out = strdup((const char *)xmlBufferContent(buf));
	}
	xmlBufferFree(buf);
	return out;
}
