/* vmParams → struct vm_conf (validation at the edge, STYLE.md), and the stored conf. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vm_params.h"
#include "../daemon.h"
#include "../util/log.h"
#include "../../rpc/xmlrpc.h"
#include "../util/util.h"

#define CREATE_ERR "Error creating the requested VM"
#define MAX_VCPUS 512
#define MAX_MEM_MIB (16LL << 20)   /* 16 TiB */
/* Bounds on one request, as drives are bounded by their target names (sda..zz per bus,
 * vm_conf.c): a manager's VM has a few NICs and a few dozen devices; these keep one
 * create from building a huge domain XML and asking libvirt for hundreds of PCI slots. */
#define MAX_NICS 64
#define MAX_DEVICES 512

/* ---- typed getters: absent → default; wrong type or value → -1 ---- */

static int get_str(xmlrpc_value *st, const char *key, char **ret, struct vd_error *err)
{
	xmlrpc_value *v = rpc_struct_get(st, key);

	*ret = NULL;
	if (!v)
		return 0;
	*ret = rpc_to_string(v);
	if (!*ret)
		return vd_error_set(err, VD_ERR_CREATEERR, CREATE_ERR ": '%s' must be a string", key);
	return 0;
}

static int get_ll(xmlrpc_value *st, const char *key, long long def, long long min,
		  long long max, long long *ret, struct vd_error *err)
{
	xmlrpc_value *v = rpc_struct_get(st, key);
	long long x;

	*ret = def;
	if (!v)
		return 0;
	int r = rpc_to_ll(v, &x);
	if (r == RPC_ABSENT)
		return 0;
	if (r != RPC_OK || x < min || x > max)
		return vd_error_set(err, VD_ERR_CREATEERR,
				    CREATE_ERR ": '%s' must be an integer in %lld..%lld", key, min, max);
	*ret = x;
	return 0;
}

static int get_int(xmlrpc_value *st, const char *key, int def, int min, int max, int *ret,
		   struct vd_error *err)
{
	long long x;

	if (get_ll(st, key, def, min, max, &x, err) < 0)
		return -1;
	*ret = (int)x;
	return 0;
}

static int get_bool(xmlrpc_value *st, const char *key, bool def, bool *ret, struct vd_error *err)
{
	xmlrpc_value *v = rpc_struct_get(st, key);

	*ret = def;
	if (!v)
		return 0;
	if (xmlrpc_value_type(v) == XMLRPC_TYPE_STRING) {
		_cleanup_free_ char *s = rpc_to_string(v);
		if (s && !*util_strstrip(s))
			return 0; /* "" = not given */
	}
	if (rpc_to_bool(v, ret) == RPC_BADTYPE)
		return vd_error_set(err, VD_ERR_CREATEERR, CREATE_ERR ": '%s' must be a boolean", key);
	return 0;
}

/* [A-Za-z0-9] plus extra, 1..max chars. */
static bool token_ok(const char *s, const char *extra, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	return true;
}

/* An absolute path without "..", control characters or "//" tricks that matter. */
static bool path_ok(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n >= 4096 || p[0] != '/')
		return false;
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	for (const char *c = p; (c = strstr(c, "..")); c++)
		if ((c == p || c[-1] == '/') && (c[2] == '/' || c[2] == '\0'))
			return false;
	return true;
}

/* ---- top level ---- */

static int parse_cpu(xmlrpc_value *p, struct vm_conf *c, struct vd_error *err)
{
	_cleanup_free_ char *cpu = NULL;

	if (get_str(p, "cpuType", &cpu, err) < 0)
		return -1;
	if (!cpu || !*util_strstrip(cpu))
		return 0;
	if (strcmp(cpu, "hostPassthrough") == 0 || strcmp(cpu, "host-passthrough") == 0) {
		c->cpu_mode = VM_CPU_HOST_PASSTHROUGH;
		return 0;
	}
	if (strcmp(cpu, "hostModel") == 0 || strcmp(cpu, "host-model") == 0) {
		c->cpu_mode = VM_CPU_HOST_MODEL;
		return 0;
	}
	/* "Model[,+feature|,-feature|,feature]..." (engine 4.x appends flags). */
	char *save = NULL;
	for (char *t = strtok_r(cpu, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		t = util_strstrip(t);
		if (!c->cpu_model) {
			if (!token_ok(t, "_.-", 64))
				return vd_error_set(err, VD_ERR_CREATEERR,
						    CREATE_ERR ": cpuType model '%.64s' is not a CPU model name", t);
			c->cpu_model = strdup(t);
			continue;
		}
		char sign = (*t == '+' || *t == '-') ? *t++ : '+';
		if (!token_ok(t, "_.-", 64))
			return vd_error_set(err, VD_ERR_CREATEERR,
					    CREATE_ERR ": cpuType feature '%.64s' is not a CPU feature name", t);
		char **n = realloc(c->cpu_features, (c->n_cpu_features + 1) * sizeof(*n));
		if (!n)
			return vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: out of memory");
		c->cpu_features = n;
		if (asprintf(&c->cpu_features[c->n_cpu_features], "%c%s", sign, t) < 0)
			return vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: out of memory");
		c->n_cpu_features++;
	}
	if (!c->cpu_model)
		return 0;
	c->cpu_mode = VM_CPU_CUSTOM;
	return 0;
}

static int parse_topology(xmlrpc_value *p, struct vm_conf *c, struct vd_error *err)
{
	if (get_int(p, "smp", 1, 1, MAX_VCPUS, &c->vcpus, err) < 0 ||
	    get_int(p, "maxVCpus", c->vcpus, c->vcpus, MAX_VCPUS, &c->max_vcpus, err) < 0 ||
	    get_int(p, "smpCoresPerSocket", 1, 1, MAX_VCPUS, &c->cores, err) < 0 ||
	    get_int(p, "smpThreadsPerCore", 1, 1, MAX_VCPUS, &c->threads, err) < 0)
		return -1;
	if (c->max_vcpus % (c->cores * c->threads) != 0)
		return vd_error_set(err, VD_ERR_CREATEERR,
				    CREATE_ERR ": %d vCPUs do not fill sockets of %d cores x %d threads",
				    c->max_vcpus, c->cores, c->threads);
	c->sockets = c->max_vcpus / (c->cores * c->threads);
	return 0;
}

/* ---- devices ---- */

static const char *nic_model(const char *m)
{
	static const char *const ok[] = { "virtio", "e1000", "e1000e", "rtl8139", "ne2k_pci",
					  "pcnet", "i82551", "i82557b", "i82559er", "spapr-vlan" };

	if (!m || !*m || strcmp(m, "pv") == 0)
		return "virtio";
	for (size_t i = 0; i < ELEMENTSOF(ok); i++)
		if (strcmp(m, ok[i]) == 0)
			return ok[i];
	return NULL;
}

static int parse_nic(xmlrpc_value *d, struct vm_conf *c, struct vd_error *err)
{
	_cleanup_free_ char *mac = NULL, *net = NULL, *model = NULL, *dev = NULL, *id = NULL;
	struct vm_nic nic = { 0 };
	bool link = true;

	if (get_str(d, "device", &dev, err) < 0 || get_str(d, "macAddr", &mac, err) < 0 ||
	    get_str(d, "network", &net, err) < 0 || get_str(d, "nicModel", &model, err) < 0 ||
	    get_str(d, "deviceId", &id, err) < 0 || get_bool(d, "linkActive", true, &link, err) < 0 ||
	    get_int(d, "bootOrder", 0, 0, 1000, &nic.boot_order, err) < 0)
		return -1;
	if (c->n_nics >= MAX_NICS)
		return vd_error_set(err, VD_ERR_CREATEERR,
				    CREATE_ERR ": more than %d NICs: the limit is %d NICs per VM",
				    MAX_NICS, MAX_NICS);
	if (dev && *dev && strcmp(dev, "bridge") != 0)
		return vd_error_set(err, VD_ERR_CREATEERR,
				    CREATE_ERR ": NIC device '%.32s' is not supported (only 'bridge')", dev);
	if (!mac || !*mac)
		return vd_error_set(err, VD_ERR_MISSPARAM, "Missing required parameter macAddr (NIC %zu)",
				    c->n_nics);
	if (vm_mac_parse(mac, nic.mac) < 0)
		return vd_error_set(err, VD_ERR_CREATEERR,
				    CREATE_ERR ": macAddr '%.32s' is not a unicast MAC address (aa:bb:cc:dd:ee:ff)",
				    mac);
	for (size_t i = 0; i < c->n_nics; i++)
		if (strcmp(c->nics[i].mac, nic.mac) == 0)
			return vd_error_set(err, VD_ERR_CREATEERR,
					    CREATE_ERR ": macAddr %s is used by two NICs", nic.mac);
	if (net && *net && !vm_ifname_valid(net))
		return vd_error_set(err, VD_ERR_CREATEERR,
				    CREATE_ERR ": network '%.32s' is not a valid bridge name", net);
	const char *m = nic_model(model);
	if (!m)
		return vd_error_set(err, VD_ERR_CREATEERR,
				    CREATE_ERR ": nicModel '%.32s' is not supported", model);
	struct vm_nic *n = realloc(c->nics, (c->n_nics + 1) * sizeof(*n));
	if (!n)
		return vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: out of memory");
	c->nics = n;
	nic.network = strdup(net ? net : "");
	nic.model = strdup(m);
	nic.link_down = !link;
	nic.device_id = id && util_uuid_valid(id) ? TAKE_PTR(id) : NULL;
	c->nics[c->n_nics++] = nic;
	return 0;
}

static int parse_enum(const char *s, const char *const *names, size_t n, int def)
{
	if (!s || !*s)
		return def;
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

/* The path a drive names: plain path, a VDSM image under /rhev/data-center (what
 * prepareImage returns for it), or a direct LUN. */
static int drive_path(xmlrpc_value *d, struct vm_disk *k, char **ret, struct vd_error *err)
{
	_cleanup_free_ char *path = NULL, *pool = NULL, *dom = NULL, *img = NULL, *vol = NULL,
			    *guid = NULL;

	if (get_str(d, "path", &path, err) < 0 || get_str(d, "poolID", &pool, err) < 0 ||
	    get_str(d, "domainID", &dom, err) < 0 || get_str(d, "imageID", &img, err) < 0 ||
	    get_str(d, "volumeID", &vol, err) < 0 || get_str(d, "GUID", &guid, err) < 0)
		return -1;
	if (img && util_uuid_valid(img))
		k->image_id = strdup(img);
	if (guid && *guid) {
		if (!token_ok(guid, "_-", 128))
			return vd_error_set(err, VD_ERR_CREATEERR,
					    CREATE_ERR ": GUID '%.64s' is not a device id", guid);
		k->lun_guid = strdup(guid);
	}
	if (path && *path) {
		*ret = TAKE_PTR(path);
		return 0;
	}
	if (pool && dom && img && vol && util_uuid_valid(pool) && util_uuid_valid(dom) &&
	    util_uuid_valid(img) && util_uuid_valid(vol)) {
		char rel[256];
		/* The VM module resolves the ids through prepareImage (its drive resolver);
		 * the path below is the one prepareImage gives for a pool. */
		k->pool_id = strdup(pool);
		k->domain_id = strdup(dom);
		k->volume_id = strdup(vol);
		if (!k->pool_id || !k->domain_id || !k->volume_id || !k->image_id)
			return vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: out of memory");
		snprintf(rel, sizeof(rel), "/rhev/data-center/%s/%s/images/%s/%s", pool, dom, img, vol);
		*ret = vd_state_path(rel);
		return *ret ? 0 : vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: out of memory");
	}
	if (k->lun_guid) {
		char rel[160];
		snprintf(rel, sizeof(rel), "/dev/mapper/%s", k->lun_guid);
		*ret = strdup(rel);
		return 0;
	}
	*ret = strdup(path ? path : "");
	return 0;
}

static int parse_disk(xmlrpc_value *d, struct vm_conf *c, struct vd_error *err)
{
	static const char *const devs[] = { [VM_DISK_DISK] = "disk", [VM_DISK_CDROM] = "cdrom",
					    [VM_DISK_FLOPPY] = "floppy", [VM_DISK_LUN] = "lun" };
	static const char *const buses[] = { [VM_BUS_VIRTIO] = "virtio", [VM_BUS_IDE] = "ide",
					     [VM_BUS_SCSI] = "scsi", [VM_BUS_SATA] = "sata",
					     [VM_BUS_FDC] = "fdc" };
	static const int default_bus[] = { [VM_DISK_DISK] = VM_BUS_VIRTIO, [VM_DISK_CDROM] = VM_BUS_IDE,
					   [VM_DISK_FLOPPY] = VM_BUS_FDC, [VM_DISK_LUN] = VM_BUS_SCSI };
	_cleanup_free_ char *dev = NULL, *iface = NULL, *format = NULL, *shared = NULL,
			    *prop = NULL, *dtype = NULL, *id = NULL;
	struct vm_disk k = { .index = -1 };
	int idx;

	if (get_str(d, "device", &dev, err) < 0 || get_str(d, "iface", &iface, err) < 0 ||
	    get_str(d, "format", &format, err) < 0 || get_str(d, "shared", &shared, err) < 0 ||
	    get_str(d, "propagateErrors", &prop, err) < 0 || get_str(d, "diskType", &dtype, err) < 0 ||
	    get_str(d, "deviceId", &id, err) < 0 ||
	    get_bool(d, "readonly", false, &k.readonly, err) < 0 ||
	    get_int(d, "index", -1, -1, 255, &idx, err) < 0 ||
	    get_int(d, "bootOrder", 0, 0, 1000, &k.boot_order, err) < 0)
		return -1;
	int dv = parse_enum(dev, devs, ELEMENTSOF(devs), VM_DISK_DISK);
	if (dv < 0)
		return vd_error_set(err, VD_ERR_CREATEERR,
				    CREATE_ERR ": drive device '%.32s' is not supported", dev);
	k.device = dv;
	int bus = parse_enum(iface, buses, ELEMENTSOF(buses), default_bus[dv]);
	if (bus < 0)
		return vd_error_set(err, VD_ERR_CREATEERR,
				    CREATE_ERR ": drive iface '%.32s' is not supported", iface);
	k.bus = bus;
	k.index = idx;
	if (!format || !*format || strcmp(format, "raw") == 0)
		k.format = strdup("raw");
	else if (strcmp(format, "cow") == 0 || strcmp(format, "qcow2") == 0)
		k.format = strdup("qcow2");
	else
		return vd_error_set(err, VD_ERR_UNSUPFORMAT, "Unsupported image format: '%.32s'", format);
	k.shareable = shared && strcmp(shared, "shared") == 0;
	k.propagate_errors = prop && strcmp(prop, "on") == 0;
	if (!dtype || !*dtype)
		k.kind = VM_DISK_KIND_AUTO;
	else if (strcmp(dtype, "file") == 0)
		k.kind = VM_DISK_KIND_FILE;
	else if (strcmp(dtype, "block") == 0)
		k.kind = VM_DISK_KIND_BLOCK;
	else {
		free(k.format);
		return vd_error_set(err, VD_ERR_CREATEERR,
				    CREATE_ERR ": diskType '%.32s' is not supported", dtype);
	}
	k.device_id = id && util_uuid_valid(id) ? TAKE_PTR(id) : NULL;
	int r = drive_path(d, &k, &k.path, err);
	if (r == 0 && !*k.path && (k.device == VM_DISK_DISK || k.device == VM_DISK_LUN))
		r = vd_error_set(err, VD_ERR_MISSPARAM, "Missing required parameter path (drive %zu)",
				 c->n_disks);
	if (r == 0 && *k.path && !path_ok(k.path))
		r = vd_error_set(err, VD_ERR_CREATEERR,
				 CREATE_ERR ": drive path '%.200s' is not an absolute normalized path",
				 k.path);
	struct vm_disk *n = r == 0 ? realloc(c->disks, (c->n_disks + 1) * sizeof(*n)) : NULL;
	if (!n) {
		if (r == 0)
			vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: out of memory");
		free(k.path);
		free(k.format);
		free(k.device_id);
		free(k.image_id);
		free(k.lun_guid);
		free(k.pool_id);
		free(k.domain_id);
		free(k.volume_id);
		return -1;
	}
	c->disks = n;
	c->disks[c->n_disks++] = k;
	return 0;
}

/* Device types VDSM knows (API.md §5.2 create; redir and lease from VDSM's device
 * classes). Those we do not build yet are kept in the stored conf silently (docs/vm.md
 * "Not done yet"); any other type is kept too, as VDSM does, with a warning. */
static bool device_type_known(const char *t)
{
	static const char *const known[] = {
		"disk", "interface", "video", "graphics", "controller", "balloon", "channel",
		"rng", "watchdog", "sound", "console", "smartcard", "hostdev", "memory", "redir",
		"lease",
	};

	for (size_t i = 0; i < ELEMENTSOF(known); i++)
		if (strcmp(t, known[i]) == 0)
			return true;
	return false;
}

/* Appends 'type' (at most 32 printable characters) to a list of distinct names. */
static void note_unknown(char *list, size_t size, const char *type)
{
	char q[40];
	size_t n = 0;

	q[n++] = '\'';
	for (const char *t = type; *t && n < 33; t++)
		q[n++] = (unsigned char)*t < 0x20 || *t == 0x7f || *t == '\'' ? '?' : *t;
	q[n++] = '\'';
	q[n] = '\0';
	if (strstr(list, q))
		return;
	size_t len = strlen(list);
	snprintf(list + len, size - len, "%s%s", len ? ", " : "", q);
}

static int parse_devices(xmlrpc_value *p, struct vm_conf *c, struct vd_error *err)
{
	xmlrpc_value *devs = rpc_struct_get(p, "devices");
	xmlrpc_env env;
	char unknown[256] = "";
	int n_unknown = 0;

	if (!devs)
		return 0;
	if (xmlrpc_value_type(devs) != XMLRPC_TYPE_ARRAY)
		return vd_error_set(err, VD_ERR_CREATEERR, CREATE_ERR ": 'devices' must be an array");
	xmlrpc_env_init(&env);
	int n = xmlrpc_array_size(&env, devs);
	xmlrpc_env_clean(&env);
	if (n > MAX_DEVICES)
		return vd_error_set(err, VD_ERR_CREATEERR,
				    CREATE_ERR ": %d devices: the limit is %d devices per VM", n,
				    MAX_DEVICES);
	xmlrpc_env_init(&env);
	int r = 0;
	for (int i = 0; i < n && r == 0; i++) {
		xmlrpc_value *d = NULL;
		xmlrpc_array_read_item(&env, devs, i, &d);
		if (!d || xmlrpc_value_type(d) != XMLRPC_TYPE_STRUCT) {
			r = vd_error_set(err, VD_ERR_CREATEERR, CREATE_ERR ": device %d is not a struct", i);
		} else {
			_cleanup_free_ char *type = NULL, *dev = NULL;
			r = get_str(d, "type", &type, err);
			if (r == 0)
				r = get_str(d, "device", &dev, err);
			if (r == 0 && type && strcmp(type, "interface") == 0)
				r = parse_nic(d, c, err);
			else if (r == 0 && type && strcmp(type, "disk") == 0)
				r = parse_disk(d, c, err);
			else if (r == 0 && type && strcmp(type, "balloon") == 0) {
				xmlrpc_value *spec = rpc_struct_get(d, "specParams");
				_cleanup_free_ char *model = NULL;
				if (spec && xmlrpc_value_type(spec) == XMLRPC_TYPE_STRUCT)
					get_str(spec, "model", &model, NULL);
				c->balloon = !model || strcmp(model, "none") != 0;
			} else if (r == 0 && !(type && device_type_known(type))) {
				n_unknown++;
				note_unknown(unknown, sizeof(unknown), type ? type : "(none)");
			}
			/* Other device types (video, graphics, controllers, channels, ...) are
			 * kept in the stored conf but not yet turned into domain devices. */
		}
		if (d)
			xmlrpc_DECREF(d);
	}
	xmlrpc_env_clean(&env);
	if (r == 0 && n_unknown)
		log_warning("VM %s: %d device(s) of unknown type %s ignored (kept in the stored conf)",
			    c->id, n_unknown, unknown);
	return r;
}

static int parse_all(xmlrpc_value *p, struct vm_conf *c, struct vd_error *err)
{
	_cleanup_free_ char *name = NULL, *machine = NULL, *boot = NULL, *serial = NULL;

	if (get_str(p, "vmName", &name, err) < 0 || get_str(p, "emulatedMachine", &machine, err) < 0 ||
	    get_str(p, "boot", &boot, err) < 0 || get_str(p, "serial", &serial, err) < 0 ||
	    get_str(p, "kernel", &c->kernel, err) < 0 || get_str(p, "initrd", &c->initrd, err) < 0 ||
	    get_str(p, "kernelArgs", &c->cmdline, err) < 0 ||
	    get_bool(p, "kvmEnable", true, &c->kvm_enable, err) < 0 ||
	    get_bool(p, "acpiEnable", true, &c->acpi, err) < 0 ||
	    get_ll(p, "timeOffset", 0, -(1LL << 40), 1LL << 40, &c->time_offset, err) < 0)
		return -1;
	if (name && *name) {
		/* libvirt names: printable, no '/'; keep them short. */
		for (const char *s = name; *s; s++)
			if ((unsigned char)*s < 0x20 || *s == '/' || *s == 0x7f)
				return vd_error_set(err, VD_ERR_CREATEERR,
						    CREATE_ERR ": vmName contains '/' or a control character");
		if (strlen(name) > 200)
			return vd_error_set(err, VD_ERR_CREATEERR, CREATE_ERR ": vmName is too long");
		c->name = TAKE_PTR(name);
	} else {
		c->name = strdup(c->id);
	}
	if (machine && *machine) {
		if (!token_ok(machine, "_.-", 64))
			return vd_error_set(err, VD_ERR_CREATEERR,
					    CREATE_ERR ": emulatedMachine '%.64s' is not a machine type", machine);
		c->machine = TAKE_PTR(machine);
	}
	if (boot && *boot) {
		if (strlen(boot) >= sizeof(c->boot) || strspn(boot, "cdn") != strlen(boot))
			return vd_error_set(err, VD_ERR_CREATEERR,
					    CREATE_ERR ": boot '%.16s' must be made of c, d, n", boot);
		snprintf(c->boot, sizeof(c->boot), "%s", boot);
	}
	if (serial && *serial)
		c->smbios_serial = TAKE_PTR(serial);
	const char *paths[] = { c->kernel, c->initrd };
	for (size_t i = 0; i < ELEMENTSOF(paths); i++)
		if (paths[i] && *paths[i] && !path_ok(paths[i]))
			return vd_error_set(err, VD_ERR_CREATEERR,
					    CREATE_ERR ": '%.200s' is not an absolute normalized path", paths[i]);
	if (c->kernel && !*c->kernel)
		c->kernel = (free(c->kernel), NULL);
	if (c->initrd && !*c->initrd)
		c->initrd = (free(c->initrd), NULL);
	if (c->cmdline && !*c->cmdline)
		c->cmdline = (free(c->cmdline), NULL);
	if (parse_topology(p, c, err) < 0 || parse_cpu(p, c, err) < 0 || parse_devices(p, c, err) < 0)
		return -1;
	if (strchr(c->boot, 'c') && c->n_disks == 0)
		return vd_error_set(err, VD_ERR_MISSPARAM,
				    "Missing required parameter: boot from disk ('c') needs a drive");
	return 0;
}

/* v with the types the manager rejects (API.md §3.2) replaced: <i8> by rpc_i64()'s
 * <int> or decimal string, <nil> (and C pointers) by "", <dateTime.iso8601> by its
 * ISO 8601 text. xmlrpc-c parses all of them in a request, and the stored conf is
 * echoed by create and list(full). New reference, NULL with env set on failure. */
static xmlrpc_value *wire_safe(xmlrpc_env *env, xmlrpc_value *v)
{
	xmlrpc_value *out = NULL;

	if (!rpc_value_has_forbidden(v)) {
		xmlrpc_INCREF(v);
		return v;
	}
	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_I8: {
		xmlrpc_int64 x = 0;
		xmlrpc_read_i8(env, v, &x);
		return env->fault_occurred ? NULL : rpc_i64(env, x);
	}
	case XMLRPC_TYPE_DATETIME: {
		const char *s = NULL;
		xmlrpc_read_datetime_8601(env, v, &s);
		out = env->fault_occurred ? NULL : rpc_str(env, s);
		free((char *)s);
		return out;
	}
	case XMLRPC_TYPE_ARRAY: {
		out = rpc_array_new(env);
		int n = env->fault_occurred ? 0 : xmlrpc_array_size(env, v);
		for (int i = 0; i < n && !env->fault_occurred; i++) {
			xmlrpc_value *item = NULL;
			xmlrpc_array_read_item(env, v, i, &item);
			if (!env->fault_occurred)
				rpc_append_take(env, out, wire_safe(env, item));
			if (item)
				xmlrpc_DECREF(item);
		}
		break;
	}
	case XMLRPC_TYPE_STRUCT: {
		out = rpc_struct_new(env);
		int n = env->fault_occurred ? 0 : xmlrpc_struct_size(env, v);
		for (int i = 0; i < n && !env->fault_occurred; i++) {
			xmlrpc_value *k = NULL, *item = NULL, *safe = NULL;
			xmlrpc_struct_read_member(env, v, (unsigned)i, &k, &item);
			if (!env->fault_occurred)
				safe = wire_safe(env, item);
			if (!env->fault_occurred)
				xmlrpc_struct_set_value_v(env, out, k, safe);
			if (safe)
				xmlrpc_DECREF(safe);
			if (k)
				xmlrpc_DECREF(k);
			if (item)
				xmlrpc_DECREF(item);
		}
		break;
	}
	default: /* nil, C pointer */
		return rpc_str(env, "");
	}
	if (env->fault_occurred && out) {
		xmlrpc_DECREF(out);
		out = NULL;
	}
	return out;
}

/* Keys of a request that are not the VM's conf: the status comes from us; the others
 * are what a source agent adds for migrationCreate (API.md §5.3). */
static bool not_stored(const char *key)
{
	static const char *const keys[] = { "status", "statusTime", "_srcDomXML", "migrationDest",
					    "_migrationParams", "pid" };
	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		if (strcmp(key, keys[i]) == 0)
			return true;
	return false;
}

/* The conf create echoes and list(full) returns: the request plus VDSM's defaults. */
static xmlrpc_value *stored_conf(xmlrpc_value *p, const struct vm_conf *c)
{
	xmlrpc_env env;
	xmlrpc_env_init(&env);
	xmlrpc_value *s = rpc_struct_new(&env);
	int n = xmlrpc_struct_size(&env, p);

	/* A copy of the request without the keys we own (status comes from us). */
	for (int i = 0; i < n && !env.fault_occurred; i++) {
		xmlrpc_value *k = NULL, *v = NULL, *safe = NULL;
		const char *key = NULL;
		xmlrpc_struct_read_member(&env, p, (unsigned)i, &k, &v);
		if (!env.fault_occurred)
			xmlrpc_read_string(&env, k, &key);
		if (!env.fault_occurred && !not_stored(key))
			safe = wire_safe(&env, v);
		if (safe)
			xmlrpc_struct_set_value_v(&env, s, k, safe);
		free((char *)key);
		if (safe)
			xmlrpc_DECREF(safe);
		if (k)
			xmlrpc_DECREF(k);
		if (v)
			xmlrpc_DECREF(v);
	}
	rpc_set_str(&env, s, "vmId", c->id); /* normalized: the same id in every reply */
	if (!rpc_struct_get(s, "vmName"))
		rpc_set_str(&env, s, "vmName", c->name);
	if (!rpc_struct_get(s, "vmType"))
		rpc_set_str(&env, s, "vmType", "kvm");
	if (!rpc_struct_get(s, "kvmEnable"))
		rpc_set_str(&env, s, "kvmEnable", "true");
	if (!rpc_struct_get(s, "acpiEnable"))
		rpc_set_str(&env, s, "acpiEnable", "true");
	if (!rpc_struct_get(s, "smp"))
		rpc_set_str(&env, s, "smp", "1");
	if (env.fault_occurred && s) {
		xmlrpc_DECREF(s);
		s = NULL;
	}
	xmlrpc_env_clean(&env);
	return s;
}

int vm_params_parse(xmlrpc_value *params, struct vm_conf **ret_conf, xmlrpc_value **ret_stored,
		    char ret_id[37], struct vd_error *err)
{
	_cleanup_(vm_conf_freep) struct vm_conf *c = NULL;
	_cleanup_free_ char *id = NULL;
	xmlrpc_value *v;
	long long mem;

	ret_id[0] = '\0';
	if (!params || xmlrpc_value_type(params) != XMLRPC_TYPE_STRUCT)
		return vd_error_set(err, VD_ERR_UNEXPECTED,
				    "Unexpected exception: vmParams must be a struct");
	v = rpc_struct_get(params, "vmId");
	if (!v)
		return vd_error_set(err, VD_ERR_MISSPARAM, "Missing required parameter vmId");
	id = rpc_to_string(v);
	if (!id || util_uuid_normalize(id, ret_id) < 0)
		return vd_error_set(err, VD_ERR_MISSPARAM,
				    "Missing required parameter vmId: '%.64s' is not a UUID",
				    id ? id : "(not a string)");
	v = rpc_struct_get(params, "memSize");
	if (!v)
		return vd_error_set(err, VD_ERR_MISSPARAM, "Missing required parameter memSize");
	int r = rpc_to_ll(v, &mem);
	if (r != RPC_OK || mem <= 0)
		return vd_error_set(err, VD_ERR_MISSPARAM,
				    "Missing required parameter memSize: must be a positive number of MiB");
	/* Present and well-formed but out of range: a bad value (9, like every other
	 * range error here), not a missing one. */
	if (mem > MAX_MEM_MIB)
		return vd_error_set(err, VD_ERR_CREATEERR,
				    CREATE_ERR ": memSize %lld MiB is too large: the limit is %lld MiB (16 TiB)",
				    mem, MAX_MEM_MIB);
	c = vm_conf_new();
	if (!c)
		return vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: out of memory");
	memcpy(c->id, ret_id, 37);
	c->mem_mib = mem;
	if (parse_all(params, c, err) < 0)
		return -1;
	xmlrpc_value *stored = stored_conf(params, c);
	if (!stored)
		return vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: out of memory");
	c->conf_blob = vm_conf_to_blob(stored);
	if (!c->conf_blob) {
		xmlrpc_DECREF(stored);
		return vd_error_set(err, VD_ERR_CREATEERR, CREATE_ERR ": cannot serialize the conf");
	}
	*ret_conf = TAKE_PTR(c);
	*ret_stored = stored;
	return 0;
}

char *vm_conf_to_blob(xmlrpc_value *stored)
{
	xmlrpc_env env;
	xmlrpc_mem_block *mb;
	char *out = NULL;

	xmlrpc_env_init(&env);
	mb = XMLRPC_MEMBLOCK_NEW(char, &env, 0);
	if (!env.fault_occurred)
		xmlrpc_serialize_value(&env, mb, stored);
	if (!env.fault_occurred) {
		size_t n = XMLRPC_MEMBLOCK_SIZE(char, mb);
		const char *in = XMLRPC_MEMBLOCK_CONTENTS(char, mb);
		out = malloc(n + 1);
		/* xmlrpc-c puts CR LF between elements; values escape their own CRs, so
		 * dropping the literal ones keeps the value and a cleaner metadata text. */
		size_t k = 0;
		for (size_t i = 0; out && i < n; i++)
			if (!(in[i] == '\r' && i + 1 < n && in[i + 1] == '\n') &&
			    !(in[i] == '\n' && i > 0 && in[i - 1] == '\r'))
				out[k++] = in[i];
		if (out)
			out[k] = '\0';
	}
	if (mb)
		XMLRPC_MEMBLOCK_FREE(char, mb);
	xmlrpc_env_clean(&env);
	return out;
}

xmlrpc_value *vm_conf_from_blob(xmlrpc_env *env, const char *blob)
{
	xmlrpc_value *v = NULL;

	if (!blob || !*blob)
		return rpc_struct_new(env);
	xmlrpc_parse_value_xml(env, blob, strlen(blob), &v);
	if (env->fault_occurred)
		return NULL;
	if (xmlrpc_value_type(v) != XMLRPC_TYPE_STRUCT) {
		xmlrpc_DECREF(v);
		xmlrpc_env_set_fault(env, XMLRPC_PARSE_ERROR, "stored conf is not a struct");
		return NULL;
	}
	return v;
}
