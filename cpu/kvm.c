/* /dev/kvm probe: the device must open and answer KVM_GET_API_VERSION. Its mere
 * presence is not enough (a stale node, a container without the module), and the
 * vmx/svm flags are not required either: a nested or paravirtual KVM can work
 * without them showing in /proc/cpuinfo. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cpu.h"

int cpu_kvm_probe(const char *dev_path)
{
	_cleanup_close_ int fd = open(dev_path, O_RDWR | O_CLOEXEC);
	int v;

	if (fd < 0)
		return -errno;
	v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v < 0)
		return errno == EINVAL ? -ENOTTY : -errno;
	return v;
}
