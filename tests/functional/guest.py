"""The small TCG guest that the VM tests boot (test_vm.py, tests/migration/migtest.py):
the host's newest /boot kernel with a busybox initramfs built by the test, its serial
console in a log file under vars.vm_console_log_dir."""
import glob
import os
import shutil
import subprocess
import tempfile
import uuid

from vdsmtest import TEST_TMP

KERNELS = sorted(glob.glob("/boot/vmlinuz-*"))
BUSYBOX = shutil.which("busybox") or "/bin/busybox"

# The start of every /init: busybox applets, /proc, /sys, /dev.
INIT_HEAD = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
"""


def missing_requirements():
    """Why a guest cannot boot here, or None."""
    if os.geteuid() != 0:
        return "needs root"
    for prog in ("libvirtd", "virsh", "qemu-system-x86_64", "cpio", "ip"):
        if not shutil.which(prog):
            return "needs %s (scripts/install-deps)" % prog
    if not KERNELS or not os.path.exists(BUSYBOX):
        return "needs a /boot kernel and busybox"
    return None


def kernel_release(kernel):
    return os.path.basename(kernel)[len("vmlinuz-"):]


def build_initramfs(path, init, modules=(), kernel=None):
    """busybox + init (the /init script) + the named modules of kernel's release under
    /lib/modules/NAME.ko, as an uncompressed newc cpio at path."""
    root = tempfile.mkdtemp(prefix="initramfs-", dir=TEST_TMP)
    try:
        for d in ("bin", "proc", "sys", "dev", "lib/modules"):
            os.makedirs(os.path.join(root, d))
        shutil.copy(BUSYBOX, os.path.join(root, "bin", "busybox"))
        for m in modules:
            src = subprocess.run(["modinfo", "-k", kernel_release(kernel), "-n", m], check=True,
                                 stdout=subprocess.PIPE, text=True).stdout.strip()
            dst = os.path.join(root, "lib", "modules", m + ".ko")
            if src.endswith(".xz"):
                with open(dst, "wb") as out:
                    subprocess.run(["xz", "-dc", src], stdout=out, check=True)
            elif src.endswith(".zst"):
                subprocess.run(["zstd", "-qdf", src, "-o", dst], check=True)
            else:
                shutil.copy(src, dst)
        with open(os.path.join(root, "init"), "w") as f:
            f.write(init)
        os.chmod(os.path.join(root, "init"), 0o755)
        files = subprocess.run(["find", "."], cwd=root, check=True, stdout=subprocess.PIPE).stdout
        with open(path, "wb") as out:
            subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input=files,
                           stdout=out, check=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def vm_params(kernel, initrd, prefix, mem, cmdline="", nics=(), **extra):
    """create's params for the guest: 1 vCPU, machine pc, direct kernel boot with its
    console on ttyS0; nics = (mac, bridge) pairs (pv NICs)."""
    vid = str(uuid.uuid4())
    p = {
        "vmId": vid,
        "vmName": "%s-%s" % (prefix, vid[:8]),
        "memSize": mem,
        "smp": "1",
        "emulatedMachine": "pc",
        "kernel": kernel,
        "initrd": initrd,
        "kernelArgs": "console=ttyS0 quiet panic=-1 " + cmdline,
        "devices": [{"type": "interface", "device": "bridge", "nicModel": "pv",
                     "macAddr": mac, "network": bridge, "deviceId": str(uuid.uuid4())}
                    for mac, bridge in nics],
    }
    p.update(extra)
    return p


def console(console_dir, vm_id):
    """What the guest printed on its serial console so far ("" before it started)."""
    try:
        with open(os.path.join(console_dir, vm_id + ".log"), errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""
