/* create and destroy: host checks, registration, the starter threads, destroy. */
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <libvirt/virterror.h>

#include "../util/log.h"
#include "vm-internal.h"
#include "../util/util.h"

/* Starter threads in flight (module stop waits for them). */
static pthread_mutex_t starters_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t starters_cond = PTHREAD_COND_INITIALIZER;
static int starters;

void vm_starters_wait(int timeout)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout;
	pthread_mutex_lock(&starters_lock);
	while (starters > 0)
		if (pthread_cond_timedwait(&starters_cond, &starters_lock, &ts) == ETIMEDOUT) {
			log_warning("%d VM start(s) still running at shutdown", starters);
			break;
		}
	pthread_mutex_unlock(&starters_lock);
}

const char *vm_domain_type_for(const struct vm_conf *c)
{
	const char *t = vm_opts.domain_type;

	if (strcmp(t, "test") == 0)
		return "test";
	if (!c->kvm_enable)
		return "qemu"; /* as VDSM: kvmEnable=false means plain emulation */
	if (strcmp(t, "auto") == 0) {
		_cleanup_free_ char *kvm = vm_host_path("/dev/kvm");
		_cleanup_close_ int fd = kvm ? open(kvm, O_RDWR | O_CLOEXEC) : -1;
		return fd >= 0 ? "kvm" : "qemu";
	}
	return t;
}

/* stat() (and access(R_OK) when asked) in an orphanable thread: a disk or kernel path
 * on a hung NFS server must not stall the RPC thread (STYLE.md "External programs");
 * after the timeout the thread is left to finish on its own and frees the job. */
struct stat_job {
	atomic_int ref;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done, readable;
	int err;
	struct stat st;
	char path[];
};

static void stat_job_unref(struct stat_job *j)
{
	if (atomic_fetch_sub(&j->ref, 1) == 1) {
		pthread_mutex_destroy(&j->lock);
		pthread_cond_destroy(&j->cond);
		free(j);
	}
}

static void *stat_thread(void *arg)
{
	struct stat_job *j = arg;
	struct stat st;
	int r = stat(j->path, &st);
	if (r == 0 && j->readable)
		r = access(j->path, R_OK);
	int e = r < 0 ? errno : 0;

	pthread_mutex_lock(&j->lock);
	j->err = e;
	j->st = st;
	j->done = true;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
	stat_job_unref(j);
	return NULL;
}

#define STAT_TIMEOUT 10

static int stat_timeout(const char *path, bool readable, struct stat *ret)
{
	size_t n = strlen(path);
	struct stat_job *j = calloc(1, sizeof(*j) + n + 1);
	pthread_t tid;
	pthread_attr_t attr;
	struct timespec ts;
	int r;

	if (!j)
		return -ENOMEM;
	memcpy(j->path, path, n + 1);
	j->readable = readable;
	atomic_init(&j->ref, 2);
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->cond, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&tid, &attr, stat_thread, j);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		atomic_store(&j->ref, 1);
		stat_job_unref(j);
		return -r;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += STAT_TIMEOUT;
	pthread_mutex_lock(&j->lock);
	while (!j->done)
		if (pthread_cond_timedwait(&j->cond, &j->lock, &ts) == ETIMEDOUT)
			break;
	r = !j->done ? -ETIMEDOUT : j->err ? -j->err : 0;
	if (r == 0)
		*ret = j->st;
	pthread_mutex_unlock(&j->lock);
	stat_job_unref(j);
	return r;
}

/* Drives through the storage module's resolver (before any other check and before
 * libvirt sees them): VDSM images become their prepared paths, plain paths must lie
 * under the storage roots. Direct LUNs (/dev/mapper/<GUID>) and empty CD/floppy drives
 * pass. (Not for libvirt's test driver, which opens no file: benchmarks.) */
static int resolve_drives(struct vm_conf *c, struct vd_error *err)
{
	if (!vm_opts.drive_resolve)
		return 0;
	for (size_t i = 0; i < c->n_disks; i++) {
		struct vm_disk *d = &c->disks[i];
		const struct vm_drive_src s = { d->pool_id, d->domain_id, d->image_id,
						d->volume_id, d->path };
		char *path = NULL;

		if (!d->volume_id && (d->lun_guid || !d->path || !*d->path))
			continue;
		if (vm_opts.drive_resolve(&s, &path, err) < 0) {
			log_warning("VM %s: drive %s: %d %s", c->id, d->target, err->code, err->msg);
			return -1;
		}
		if (strcmp(path, d->path) != 0)
			log_info("VM %s: drive %s: %s", c->id, d->target, path);
		free(d->path);
		d->path = path;
	}
	return 0;
}

/* Host-side checks of a request: bridges and disk paths exist (API.md §5.2 create). */
static int check_host(struct vm_conf *c, struct vd_error *err)
{
	for (size_t i = 0; i < c->n_nics; i++) {
		const char *br = c->nics[i].network;
		char rel[64];
		if (!br || !*br)
			continue;
		snprintf(rel, sizeof(rel), "/sys/class/net/%s/bridge", br);
		_cleanup_free_ char *p = vm_host_path(rel);
		if (!p || access(p, F_OK) != 0)
			return vd_error_set(err, VD_ERR_CREATEERR,
					    "Error creating the requested VM: network '%s' of NIC %s: no bridge '%s' on this host",
					    br, c->nics[i].mac, br);
	}
	for (size_t i = 0; i < c->n_disks; i++) {
		struct vm_disk *d = &c->disks[i];
		struct stat st;
		if (!d->path || !*d->path)
			continue;
		int r = stat_timeout(d->path, false, &st);
		if (r == -ETIMEDOUT)
			return vd_error_set(err, VD_ERR_IMAGEERR,
					    "Drive image file could not be found: '%s' (%s): no answer in %d s",
					    d->path, d->target, STAT_TIMEOUT);
		if (r < 0)
			return vd_error_set(err, VD_ERR_IMAGEERR,
					    "Drive image file could not be found: '%s' (%s): %s",
					    d->path, d->target, strerror(-r));
		if (S_ISDIR(st.st_mode))
			return vd_error_set(err, VD_ERR_IMAGEERR,
					    "Drive image file could not be found: '%s' (%s) is a directory",
					    d->path, d->target);
		if (d->kind == VM_DISK_KIND_AUTO)
			d->kind = S_ISBLK(st.st_mode) ? VM_DISK_KIND_BLOCK : VM_DISK_KIND_FILE;
	}
	const char *boot[] = { c->kernel, c->initrd };
	for (size_t i = 0; i < ELEMENTSOF(boot); i++) {
		struct stat st;
		int r = boot[i] ? stat_timeout(boot[i], true, &st) : 0;
		if (r == -ETIMEDOUT)
			return vd_error_set(err, VD_ERR_CREATEERR,
					    "Error creating the requested VM: cannot read '%s': no answer in %d s",
					    boot[i], STAT_TIMEOUT);
		if (r < 0)
			return vd_error_set(err, VD_ERR_CREATEERR,
					    "Error creating the requested VM: cannot read '%s': %s",
					    boot[i], strerror(-r));
	}
	return 0;
}

struct start_job {
	struct vm *vm;
	char *xml;
};

static void start_done(void)
{
	pthread_mutex_lock(&starters_lock);
	starters--;
	pthread_cond_broadcast(&starters_cond);
	pthread_mutex_unlock(&starters_lock);
}

static void *starter(void *arg)
{
	struct start_job *j = arg;
	struct vm *vm = j->vm;
	virConnectPtr c = vm_conn_get();
	virDomainPtr dom = c ? virDomainCreateXML(c, j->xml, 0) : NULL;
	char msg[512] = "";
	struct vm_meta m = { 0 };
	bool save = false;

	if (!dom)
		snprintf(msg, sizeof(msg), "%s", c ? vm_virt_error() : "no libvirt connection");
	else {
		_cleanup_free_ char *live = virDomainGetXMLDesc(dom, 0);
		if (!live || vm_meta_parse(live, &m) < 0)
			log_warning("VM %s: cannot read the running domain XML: %s", vm->id,
				    vm_virt_error());
	}
	pthread_mutex_lock(&vm->lock);
	vm->starting = false;
	bool started_anyway = !dom && vm->status == VM_ST_UP;
	if (started_anyway) {
		/* libvirt's "started" event came, then its reply to the create was lost (libvirtd
		 * died in between): the domain runs. Not Down: the sampler's reconnect reconciles
		 * it with what libvirt has then. */
	} else if (!dom) {
		save = vm_set_down_locked(vm, VM_EXIT_CODE_ERROR, VM_EXIT_LIBVIRT_START_FAILED, msg);
	} else {
		vm_set_devs_locked(vm, TAKE_PTR(m.devs), m.n_devs);
		m.n_devs = 0;
		if (vm->status == VM_ST_WAIT_FOR_LAUNCH && !vm->destroy_requested)
			vm_set_status_locked(vm, VM_ST_UP);
	}
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	if (started_anyway)
		log_warning("VM %s: started (libvirt event seen) but the create call failed: %s; "
			    "keeping it Up until the next reconcile", vm->id, msg);
	else if (!dom)
		log_err("VM %s: libvirt could not start the domain: %s", vm->id, msg);
	else
		log_notice("VM %s started", vm->id);
	if (save)
		vm_state_save(vm);
	vm_meta_clear(&m);
	if (dom)
		virDomainFree(dom);
	if (c)
		virConnectClose(c);
	vm_unref(vm);
	free(j->xml);
	free(j);
	start_done();
	return NULL;
}

int vm_admit(struct vm_conf *conf, struct vd_error *err)
{
	if (vm_conf_assign_targets(conf, err) < 0)
		return -1;
	_cleanup_(vm_unrefp) struct vm *known = vm_registry_find(conf->id);
	if (known)
		return vd_error_set(err, VD_ERR_EXIST, "Virtual machine already exists: '%s'",
				    conf->id);
	free(conf->domain_type);
	conf->domain_type = strdup(vm_domain_type_for(conf));
	if (!conf->domain_type)
		return vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: out of memory");
	/* libvirt's test driver opens no file (benchmarks) */
	if (strcmp(conf->domain_type, "test") != 0 &&
	    (resolve_drives(conf, err) < 0 || check_host(conf, err) < 0))
		return -1;
	virConnectPtr lc = vm_conn_get();
	if (!lc)
		return vd_error_set(err, VD_ERR_CREATEERR,
				    "Error creating the requested VM: no connection to libvirt");
	virDomainPtr other = virDomainLookupByUUIDString(lc, conf->id);
	virConnectClose(lc);
	if (other) {
		virDomainFree(other);
		return vd_error_set(err, VD_ERR_EXIST,
				    "Virtual machine already exists: libvirt runs a domain with UUID '%s'",
				    conf->id);
	}
	return 0;
}

int vm_admit_register(struct vm_conf *conf, enum vm_status st, double start_time,
		      struct vm **ret, struct vd_error *err)
{
	_cleanup_(vm_unrefp) struct vm *vm = vm_obj_new(conf->id);

	if (!vm)
		return vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: out of memory");
	vm->name = strdup(conf->name ? conf->name : conf->id);
	vm->mem_mib = conf->mem_mib;
	vm->vcpus = conf->vcpus;
	vm->kvm_enable = conf->kvm_enable;
	vm->acpi = conf->acpi;
	vm->time_offset = conf->time_offset;
	vm->conf_blob = TAKE_PTR(conf->conf_blob);
	vm->start_time = start_time;
	vm->starting = st == VM_ST_WAIT_FOR_LAUNCH;
	for (size_t i = 0; i < conf->n_disks; i++) {
		struct vm_disk *d = &conf->disks[i];
		if (!d->image_id && !d->lun_guid)
			continue;
		struct vm_drive_id *n = realloc(vm->drives, (vm->n_drives + 1) * sizeof(*n));
		if (!n)
			return vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: out of memory");
		vm->drives = n;
		struct vm_drive_id *di = &vm->drives[vm->n_drives++];
		memcpy(di->target, d->target, sizeof(di->target));
		di->image_id = TAKE_PTR(d->image_id);
		di->lun_guid = TAKE_PTR(d->lun_guid);
	}
	vm_set_devs_locked(vm, NULL, 0);
	pthread_mutex_lock(&vm->lock);
	vm_set_status_locked(vm, st);
	pthread_mutex_unlock(&vm->lock);
	/* Registration is the duplicate check that counts (two racing creates). */
	if (vm_registry_add(vm) < 0)
		return vd_error_set(err, VD_ERR_EXIST, "Virtual machine already exists: '%s'",
				    conf->id);
	/* The record is written before libvirt is asked for anything: a VM whose record
	 * cannot be kept would not be reported Down (exit reason) after an agent restart,
	 * so it is refused (code 9: the manager tries another host) and never started;
	 * nothing to undo in libvirt, only the registry entry. */
	_cleanup_free_ char *state_path = NULL;
	int r = vm_state_write(vm, &state_path);
	if (r < 0) {
		vm_forget(vm);
		log_err("VM %s: not created: cannot write its record %s: %s", conf->id,
			state_path ? state_path : "", strerror(-r));
		return vd_error_set(err, VD_ERR_CREATEERR,
				    "Error creating the requested VM: cannot write its record %s: %s; the VM was not started",
				    state_path ? state_path : "", strerror(-r));
	}
	*ret = TAKE_PTR(vm);
	return 0;
}

void vm_brief_of(struct vm *vm, struct vm_brief *ret)
{
	pthread_mutex_lock(&vm->lock);
	snprintf(ret->id, sizeof(ret->id), "%s", vm->id);
	ret->status = vm->status;
	ret->status_time_ms = vm->status_time_ms;
	pthread_mutex_unlock(&vm->lock);
}

int vm_create(struct vm_conf *c, struct vm_brief *ret, struct vd_error *err)
{
	_cleanup_(vm_conf_freep) struct vm_conf *conf = c;
	_cleanup_(vm_unrefp) struct vm *vm = NULL;
	_cleanup_free_ char *xml = NULL;

	if (vm_admit(conf, err) < 0)
		return -1;
	const char *logdir = vm_opts.console_log_dir;
	if (*logdir && strcmp(conf->domain_type, "test") != 0) {
		int r = util_mkdir_p(logdir, 0755);
		if (r < 0)
			log_warning("VM %s: cannot create %s: %s; no console log", conf->id, logdir,
				    strerror(-r));
		else if (asprintf(&conf->console_log, "%s/%s.log", logdir, conf->id) < 0)
			conf->console_log = NULL;
	}
	double now = util_now_real();
	xml = vm_domxml_build(conf, now);
	if (!xml)
		return vd_error_set(err, VD_ERR_UNEXPECTED, "Unexpected exception: out of memory");
	if (vm_admit_register(conf, VM_ST_WAIT_FOR_LAUNCH, now, &vm, err) < 0)
		return -1;

	struct start_job *j = calloc(1, sizeof(*j));
	pthread_t tid;
	pthread_attr_t attr;
	if (j) {
		j->vm = vm_ref(vm);
		j->xml = TAKE_PTR(xml);
		pthread_mutex_lock(&starters_lock);
		starters++;
		pthread_mutex_unlock(&starters_lock);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		int r = pthread_create(&tid, &attr, starter, j);
		pthread_attr_destroy(&attr);
		if (r != 0) {
			start_done();
			vm_unref(j->vm);
			free(j->xml);
			free(j);
			j = NULL;
		}
	}
	if (!j) {
		vm_forget(vm);
		return vd_error_set(err, VD_ERR_CREATEERR,
				    "Error creating the requested VM: cannot start a worker thread");
	}
	log_notice("VM %s ('%s'): created, %lld MiB, %d vCPU, %zu NIC(s), %zu disk(s), domain type %s",
		   vm->id, vm->name, conf->mem_mib, conf->vcpus, conf->n_nics, conf->n_disks,
		   conf->domain_type);
	vm_brief_of(vm, ret);
	return 0;
}

static bool gone(int code)
{
	/* The domain is not there or not running any more: nothing left to stop. */
	return code == VIR_ERR_NO_DOMAIN || code == VIR_ERR_OPERATION_INVALID;
}

int vm_destroy(const char *id, struct vd_error *err)
{
	_cleanup_(vm_unrefp) struct vm *vm = vm_registry_find(id);
	struct timespec ts;

	if (!vm)
		return vd_error_set(err, VD_ERR_NOVM, "Virtual machine does not exist: '%s'", id);
	pthread_mutex_lock(&vm->lock);
	if (vm->removed) {
		pthread_mutex_unlock(&vm->lock);
		return vd_error_set(err, VD_ERR_NOVM, "Virtual machine does not exist: '%s'", id);
	}
	vm->destroy_requested = true;
	/* A VM still being started: let virDomainCreateXML return first. */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 120;
	while (vm->starting)
		if (pthread_cond_timedwait(&vm->cond, &vm->lock, &ts) == ETIMEDOUT)
			break;
	bool starting = vm->starting;
	bool down = vm->status == VM_ST_DOWN;
	bool incoming = vm->status == VM_ST_MIGRATION_DESTINATION;
	pthread_mutex_unlock(&vm->lock);
	if (starting) {
		pthread_mutex_lock(&vm->lock);
		vm->destroy_requested = false;
		pthread_mutex_unlock(&vm->lock);
		return vd_error_set(err, VD_ERR_DESTROYERR,
				    "Virtual machine destroy error: VM '%s' is still starting", id);
	}
	if (down) {
		log_info("VM %s: Down record acknowledged", id);
		vm_forget(vm);
		return 0;
	}

	virConnectPtr c = vm_conn_get();
	if (!c && incoming) {
		/* An incoming domain cannot outlive its libvirtd (the incoming QEMU exits, a
		 * restarted libvirtd drops it): the source gave up, nothing is left to stop. */
		log_info("VM %s: incoming VM forgotten without libvirt (nothing can run)", id);
		pthread_mutex_lock(&vm->lock);
		vm_set_down_locked(vm, VM_EXIT_CODE_ERROR, VM_EXIT_MIGRATION_FAILED, NULL);
		pthread_mutex_unlock(&vm->lock);
		vm_forget(vm);
		return 0;
	}
	if (!c) {
		pthread_mutex_lock(&vm->lock);
		vm->destroy_requested = false;
		pthread_mutex_unlock(&vm->lock);
		return vd_error_set(err, VD_ERR_DESTROYERR,
				    "Virtual machine destroy error: no connection to libvirt");
	}
	virDomainPtr dom = virDomainLookupByUUIDString(c, id);
	int r = 0;
	char msg[512] = "";
	if (!dom) {
		if (!gone(vm_virt_error_code())) {
			snprintf(msg, sizeof(msg), "%s", vm_virt_error());
			r = -1;
		}
	} else {
		/* SIGTERM first so QEMU can flush; libvirt waits a few seconds, then we force. */
		if (virDomainDestroyFlags(dom, VIR_DOMAIN_DESTROY_GRACEFUL) < 0 &&
		    !gone(vm_virt_error_code())) {
			log_info("VM %s: graceful destroy failed (%s); forcing", id, vm_virt_error());
			if (virDomainDestroyFlags(dom, 0) < 0 && !gone(vm_virt_error_code())) {
				snprintf(msg, sizeof(msg), "%s", vm_virt_error());
				r = -1;
			}
		}
		virDomainFree(dom);
	}
	virConnectClose(c);
	if (r < 0) {
		pthread_mutex_lock(&vm->lock);
		vm->destroy_requested = false;
		pthread_mutex_unlock(&vm->lock);
		return vd_error_set(err, VD_ERR_DESTROYERR, "Virtual machine destroy error: %s", msg);
	}
	pthread_mutex_lock(&vm->lock);
	vm_set_down_locked(vm, VM_EXIT_CODE_NORMAL, VM_EXIT_ADMIN_SHUTDOWN, NULL);
	pthread_mutex_unlock(&vm->lock);
	vm_forget(vm);
	return 0;
}
