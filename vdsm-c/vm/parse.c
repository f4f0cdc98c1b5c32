/* Reading our metadata back: from a live domain XML (recovery, device addresses) and
 * from the per-VM state files. libxml2 tree walk; no network, no entity expansion. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>

#include "vm-internal.h"
#include "../util/util.h"

static bool is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static bool is_ours(const xmlNode *n, const char *name)
{
	return is(n, name) && n->ns && n->ns->href &&
	       strcmp((const char *)n->ns->href, VM_METADATA_NS) == 0;
}

static const xmlNode *child(const xmlNode *n, const char *name)
{
	for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (is(c, name))
			return c;
	return NULL;
}

/* Attribute or element text as a malloc'ed string (NULL when absent). */
static char *attr(const xmlNode *n, const char *name)
{
	if (!n)
		return NULL;
	xmlChar *v = xmlGetProp(n, BAD_CAST name);
	if (!v)
		return NULL;
	char *s = strdup((const char *)v);
	xmlFree(v);
	return s;
}

static char *text(const xmlNode *n)
{
	if (!n)
		return NULL;
	xmlChar *v = xmlNodeGetContent(n);
	if (!v)
		return NULL;
	char *s = strdup((const char *)v);
	xmlFree(v);
	return s;
}

/* The element's text as an integer in [min, max]; def when absent, not a number or
 * out of range (state files are read back after crashes: never trusted). */
static long long text_ll(const xmlNode *n, long long def, long long min, long long max)
{
	_cleanup_free_ char *s = text(n);
	long long v;

	if (!s || util_parse_ll(util_strstrip(s), min, max, &v) < 0)
		return def;
	return v;
}

#define MEM_MIB_MAX (1LL << 40)  /* far above any host; keeps KiB arithmetic in range */
#define VCPUS_MAX 4096

void vm_meta_clear(struct vm_meta *m)
{
	free(m->conf_blob);
	for (size_t i = 0; i < m->n_drives; i++) {
		free(m->drives[i].image_id);
		free(m->drives[i].lun_guid);
	}
	free(m->drives);
	free(m->name);
	vm_dev_info_free_array(m->devs, m->n_devs);
	free(m->exit_message);
	memset(m, 0, sizeof(*m));
}

static int parse_ours(const xmlNode *vm, struct vm_meta *m)
{
	for (const xmlNode *c = vm->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is_ours(c, "id")) {
			_cleanup_free_ char *id = text(c);
			if (!id || util_uuid_normalize(util_strstrip(id), m->id) < 0)
				return -EINVAL;
		} else if (is_ours(c, "startTime")) {
			_cleanup_free_ char *s = text(c);
			m->start_time = s ? strtod(s, NULL) : 0;
		} else if (is_ours(c, "conf")) {
			free(m->conf_blob);
			m->conf_blob = text(c);
		} else if (is_ours(c, "drive")) {
			_cleanup_free_ char *target = attr(c, "target");
			if (!target || strlen(target) >= sizeof(m->drives[0].target))
				continue;
			struct vm_drive_id *n = realloc(m->drives, (m->n_drives + 1) * sizeof(*n));
			if (!n)
				return -ENOMEM;
			m->drives = n;
			struct vm_drive_id *d = &m->drives[m->n_drives++];
			memset(d, 0, sizeof(*d));
			snprintf(d->target, sizeof(d->target), "%s", target);
			d->image_id = attr(c, "imageID");
			d->lun_guid = attr(c, "lunGUID");
		} else if (is_ours(c, "name")) {
			free(m->name);
			m->name = text(c);
		} else if (is_ours(c, "memSize")) {
			m->mem_kib = text_ll(c, 0, 0, MEM_MIB_MAX) * 1024;
		} else if (is_ours(c, "vcpus")) {
			m->vcpus = (int)text_ll(c, 1, 1, VCPUS_MAX);
		} else if (is_ours(c, "incoming")) {
			m->incoming = true;
		} else if (is_ours(c, "exit")) {
			_cleanup_free_ char *code = attr(c, "code"), *reason = attr(c, "reason");
			m->has_exit = true;
			m->exit_code = code ? atoi(code) : VM_EXIT_CODE_ERROR;
			m->exit_reason = reason ? atoi(reason) : VM_EXIT_GENERIC_ERROR;
			free(m->exit_message);
			m->exit_message = text(c);
		}
	}
	return m->id[0] ? 0 : -EINVAL;
}

static int add_addr(struct vm_dev_info *d, const xmlNode *addr)
{
	for (const xmlAttr *a = addr->properties; a; a = a->next) {
		char **k = realloc(d->addr_keys, (d->n_addr + 1) * sizeof(*k));
		if (!k)
			return -ENOMEM;
		d->addr_keys = k;
		char **v = realloc(d->addr_vals, (d->n_addr + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		d->addr_vals = v;
		d->addr_keys[d->n_addr] = strdup((const char *)a->name);
		d->addr_vals[d->n_addr] = attr(addr, (const char *)a->name);
		d->n_addr++;
		if (!d->addr_keys[d->n_addr - 1] || !d->addr_vals[d->n_addr - 1])
			return -ENOMEM;
	}
	return 0;
}

static int parse_devices(const xmlNode *devices, struct vm_meta *m)
{
	for (const xmlNode *c = devices ? devices->children : NULL; c; c = c->next) {
		bool nic = is(c, "interface"), disk = is(c, "disk");
		if (!nic && !disk)
			continue;
		struct vm_dev_info *n = realloc(m->devs, (m->n_devs + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		m->devs = n;
		struct vm_dev_info *d = &m->devs[m->n_devs++];
		memset(d, 0, sizeof(*d));
		d->kind = nic ? 'n' : 'd';
		d->alias = attr(child(c, "alias"), "name");
		if (d->alias && strncmp(d->alias, "ua-", 3) == 0 && util_uuid_valid(d->alias + 3))
			d->device_id = strdup(d->alias + 3);
		d->target = attr(child(c, "target"), "dev");
		if (nic) {
			_cleanup_free_ char *mac = attr(child(c, "mac"), "address");
			if (mac && vm_mac_parse(mac, d->mac) < 0)
				d->mac[0] = '\0';
			d->model = attr(child(c, "model"), "type");
		} else {
			const xmlNode *src = child(c, "source");
			d->path = attr(src, "file");
			if (!d->path)
				d->path = attr(src, "dev");
		}
		const xmlNode *addr = child(c, "address");
		if (addr && add_addr(d, addr) < 0)
			return -ENOMEM;
	}
	return 0;
}

int vm_meta_parse(const char *xml, struct vm_meta *ret)
{
	struct vm_meta m = { 0 };
	int r;

	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return -EINVAL;
	const xmlNode *root = xmlDocGetRootElement(doc);
	const xmlNode *ours = NULL;
	if (root && is(root, "domain")) {
		for (const xmlNode *c = child(root, "metadata") ? child(root, "metadata")->children : NULL;
		     c; c = c->next)
			if (is_ours(c, "vm"))
				ours = c;
		if (!ours) {
			xmlFreeDoc(doc);
			return -ENOENT;
		}
		r = parse_ours(ours, &m);
		if (r == 0) {
			m.name = text(child(root, "name"));
			const xmlNode *mem = child(root, "currentMemory");
			m.mem_kib = text_ll(mem ? mem : child(root, "memory"), 0, 0, MEM_MIB_MAX * 1024);
			const xmlNode *vcpu = child(root, "vcpu");
			_cleanup_free_ char *cur = attr(vcpu, "current");
			long long n;
			m.vcpus = cur && util_parse_ll(cur, 1, VCPUS_MAX, &n) == 0 ?
					  (int)n : (int)text_ll(vcpu, 1, 1, VCPUS_MAX);
			r = parse_devices(child(root, "devices"), &m);
		}
	} else if (root && is_ours(root, "vm")) {
		r = parse_ours(root, &m);
	} else {
		r = -ENOENT;
	}
	xmlFreeDoc(doc);
	if (r < 0) {
		vm_meta_clear(&m);
		return r;
	}
	*ret = m;
	return 0;
}

char *vm_state_xml_locked(const struct vm *vm)
{
	xmlBufferPtr buf = xmlBufferCreate();
	xmlTextWriterPtr w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
	const xmlChar *p = BAD_CAST VM_METADATA_PREFIX;
	char tmp[64];
	int rc = 0;
	char *out = NULL;

	if (!w) {
		if (buf)
			xmlBufferFree(buf);
		return NULL;
	}
	xmlTextWriterSetIndent(w, 1);
	rc |= xmlTextWriterStartElementNS(w, p, BAD_CAST "vm", BAD_CAST VM_METADATA_NS);
	rc |= xmlTextWriterWriteElementNS(w, p, BAD_CAST "id", NULL, BAD_CAST vm->id);
	snprintf(tmp, sizeof(tmp), "%.3f", vm->start_time);
	rc |= xmlTextWriterWriteElementNS(w, p, BAD_CAST "startTime", NULL, BAD_CAST tmp);
	rc |= xmlTextWriterWriteElementNS(w, p, BAD_CAST "name", NULL,
					  BAD_CAST(vm->name ? vm->name : vm->id));
	snprintf(tmp, sizeof(tmp), "%lld", vm->mem_mib);
	rc |= xmlTextWriterWriteElementNS(w, p, BAD_CAST "memSize", NULL, BAD_CAST tmp);
	snprintf(tmp, sizeof(tmp), "%d", vm->vcpus);
	rc |= xmlTextWriterWriteElementNS(w, p, BAD_CAST "vcpus", NULL, BAD_CAST tmp);
	for (size_t i = 0; i < vm->n_drives; i++) {
		rc |= xmlTextWriterStartElementNS(w, p, BAD_CAST "drive", NULL);
		rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "target", BAD_CAST vm->drives[i].target);
		if (vm->drives[i].image_id)
			rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "imageID",
							  BAD_CAST vm->drives[i].image_id);
		if (vm->drives[i].lun_guid)
			rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "lunGUID",
							  BAD_CAST vm->drives[i].lun_guid);
		rc |= xmlTextWriterEndElement(w);
	}
	if (vm->status == VM_ST_MIGRATION_DESTINATION)
		rc |= xmlTextWriterWriteElementNS(w, p, BAD_CAST "incoming", NULL, BAD_CAST "");
	if (vm->status == VM_ST_DOWN) {
		rc |= xmlTextWriterStartElementNS(w, p, BAD_CAST "exit", NULL);
		snprintf(tmp, sizeof(tmp), "%d", vm->exit_code);
		rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "code", BAD_CAST tmp);
		snprintf(tmp, sizeof(tmp), "%d", vm->exit_reason);
		rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "reason", BAD_CAST tmp);
		rc |= xmlTextWriterWriteString(w, BAD_CAST(vm->exit_message ? vm->exit_message : ""));
		rc |= xmlTextWriterEndElement(w);
	}
	rc |= xmlTextWriterWriteElementNS(w, p, BAD_CAST "conf", NULL,
					  BAD_CAST(vm->conf_blob ? vm->conf_blob : ""));
	rc |= xmlTextWriterEndElement(w);
	rc |= xmlTextWriterEndDocument(w);
	xmlFreeTextWriter(w);
	/* Every writer call returns the bytes written or -1: a negative OR means a failure. */
	if (rc >= 0)
		out = strdup((const char *)xmlBufferContent(buf));
	xmlBufferFree(buf);
	return out;
}
