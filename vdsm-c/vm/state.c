/* Per-VM state files, /run/vdsm-c/vm/<vmId>.xml (under the state root).
 *
 * Written at create and when the VM goes Down, removed by destroy. They let a
 * restarted agent report a VM that stopped while the agent was away (or whose Down
 * record the manager has not acknowledged yet) as Down with its exit reason, instead
 * of forgetting it. /run is a tmpfs: after a host reboot there is nothing to recover,
 * which is right (the VMs died with the host). Running VMs are recovered from libvirt
 * and their domain metadata, which wins over a state file. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/log.h"
#include "vm-internal.h"
#include "../util/util.h"

#define STATE_DIR "/run/vdsm-c/vm"

static char *state_file(const char *id)
{
	char rel[128];

	snprintf(rel, sizeof(rel), STATE_DIR "/%s.xml", id);
	return vm_state_path(rel);
}

int vm_state_write(struct vm *vm, char **ret_path)
{
	_cleanup_free_ char *dir = vm_state_path(STATE_DIR), *path = state_file(vm->id);

	pthread_mutex_lock(&vm->state_lock);
	pthread_mutex_lock(&vm->lock);
	bool removed = vm->removed;
	_cleanup_free_ char *xml = removed ? NULL : vm_state_xml_locked(vm);
	pthread_mutex_unlock(&vm->lock);
	int r = 0;
	if (removed)
		r = 0; /* destroy() already forgot it */
	else if (!dir || !path || !xml)
		r = -ENOMEM;
	else if ((r = util_mkdir_p(dir, 0700)) >= 0)
		r = util_write_atomic(path, xml, strlen(xml), 0600);
	pthread_mutex_unlock(&vm->state_lock);
	if (ret_path)
		*ret_path = TAKE_PTR(path);
	return r;
}

void vm_state_save(struct vm *vm)
{
	_cleanup_free_ char *path = NULL;
	int r = vm_state_write(vm, &path);

	if (r < 0)
		log_warning("VM %s: cannot write %s: %s, ignoring", vm->id, path ? path : "",
			    strerror(-r));
}

void vm_forget(struct vm *vm)
{
	pthread_mutex_lock(&vm->state_lock);
	vm_registry_remove(vm);
	vm_state_remove(vm->id);
	pthread_mutex_unlock(&vm->state_lock);
}

void vm_state_remove(const char *id)
{
	_cleanup_free_ char *path = state_file(id);

	if (path && unlink(path) < 0 && errno != ENOENT)
		log_warning("VM %s: cannot remove %s: %s, ignoring", id, path, strerror(errno));
}

int vm_state_load_all(int (*fn)(struct vm_meta *m, void *ud), void *ud)
{
	_cleanup_free_ char *dir = vm_state_path(STATE_DIR);
	struct dirent *e;

	if (!dir)
		return -ENOMEM;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len != 36 + 4 || strcmp(e->d_name + 36, ".xml") != 0)
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		_cleanup_free_ char *xml = NULL;
		struct vm_meta m;
		int r = util_read_file(path, 16 << 20, &xml, NULL);
		if (r >= 0)
			r = vm_meta_parse(xml, &m);
		if (r < 0) {
			log_warning("%s: unreadable VM state file (%s), ignoring", path, strerror(-r));
			continue;
		}
		fn(&m, ud);
		vm_meta_clear(&m);
	}
	closedir(d);
	return 0;
}
