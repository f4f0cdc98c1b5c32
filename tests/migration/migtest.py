"""Two emulated hosts for the migration tier (shared/lab/MIGRATION.md).

TwoHosts brings up, once per tier run:

  netns LAN   bridge lan0 = the "switch", NET.1/24; the pinger runs here; a veth to the
              root namespace (NET.2) lets the tests reach the agents
  netns A, B  bridge ovirtmgmt NET.11 / NET.12, uplinked to lan0 by a veth; in each a
              test-private root libvirtd (own /etc,/run,/var/lib libvirt, own host_uuid,
              TCP listener on the host address for peer-to-peer migration) and a vdsmd
              (own state root, own vars.host_uuid, VMs of type qemu = TCG)

NET is a random 10.x.y.0/24 and every namespace name carries the test run's PID, so
runs of other engineers on this machine do not collide. Everything is stopped by PID
and removed in close(), also when the start fails half-way.

The guest is the host's /boot kernel with a busybox initramfs built here holding the
virtio-net modules: it takes mig.ip= from its command line and prints "MIGLAB HB n"
to its serial console every second; the console file (vars.vm_console_log_dir, shared
by both hosts, append mode) keeps counting across a migration when the guest survives.
With mig.dirty=N on its command line (vm_params(dirty_mib=N)) it also keeps rewriting N
MiB of non-zero memory: a migration that cannot converge under a small max downtime.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "functional"))

import guest  # noqa: E402
import vdsmtest  # noqa: E402
from guest import BUSYBOX, KERNELS, missing_requirements  # noqa: E402,F401
from vdsmtest import Agent, TEST_TMP, private_libvirtd  # noqa: E402

BRIDGE = "ovirtmgmt"
MODULES = ("virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev",
           "virtio_pci", "failover", "net_failover", "virtio_net")

INIT = guest.INIT_HEAD + r"""for m in %s; do insmod /lib/modules/$m.ko 2>/dev/null; done
ip=
dirty=
for a in $(cat /proc/cmdline); do case $a in mig.ip=*) ip=${a#*=} ;; mig.dirty=*) dirty=${a#*=} ;; esac; done
ip link set lo up
ip link set eth0 up
[ -n "$ip" ] && ip addr add $ip dev eth0
echo "MIGLAB READY ip=$ip"
# mig.dirty=N: keep rewriting the same N MiB of non-zero page cache, ten times a second
# (a migration that does not converge under a small max downtime and bandwidth)
if [ -n "$dirty" ]; then
    (while true; do dd if=/bin/busybox of=/dirty bs=64k count=$((dirty * 16)) conv=notrunc 2>/dev/null; sleep 0.1; done) &
fi
n=0
while true; do n=$((n+1)); echo "MIGLAB HB $n"; sleep 1; done
""" % " ".join(MODULES)


def wait_for(pred, timeout, what, step=0.1):
    """vdsmtest.wait_for, polling every 0.1 s."""
    return vdsmtest.wait_for(pred, timeout, what, step)


def ip(*args, check=True):
    return subprocess.run(["ip"] + list(args), check=check, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)


class Host:
    """One emulated host: namespace, bridge, libvirtd, agent."""

    def __init__(self, name, ns, addr):
        self.name = name
        self.ns = ns
        self.addr = addr
        self.host_uuid = str(uuid.uuid4())
        self.lv = None
        self.agent = None

    def run(self, *cmd, check=True):
        return subprocess.run(["ip", "netns", "exec", self.ns] + list(cmd), check=check,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    @property
    def tcp_uri(self):
        """What the other host's libvirtd opens for peer-to-peer migration."""
        return "qemu+tcp://%s/system" % self.addr

    def domains(self):
        """UUIDs of the domains this host's libvirtd runs."""
        return set(self.lv.virsh("list", "--uuid").stdout.split())

    def dumpxml(self, vm_id):
        r = self.lv.virsh("dumpxml", vm_id, check=False)
        return r.stdout if r.returncode == 0 else None


class TwoHosts:
    def __init__(self, agent_conf=None):
        self.agent_conf = agent_conf or {}
        tag = "%x" % os.getpid()
        self.lan_ns = "mgl-%s" % tag
        n = uuid.uuid4().int
        self.net = "10.%d.%d" % (150 + n % 50, (n >> 8) % 250)
        self.lan_ip = self.net + ".1"
        self.root_ip = self.net + ".2"
        self.root_if = "mgr%s" % tag
        self.hosts = [Host("A", "mga-%s" % tag, self.net + ".11"),
                      Host("B", "mgb-%s" % tag, self.net + ".12")]
        self.tmp = None
        self.namespaces = []

    @property
    def a(self):
        return self.hosts[0]

    @property
    def b(self):
        return self.hosts[1]

    def guest_ip(self, n):
        return "%s.%d" % (self.net, 100 + n)

    def start(self):
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self):
        os.makedirs(TEST_TMP, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="migtier-", dir=TEST_TMP)
        self.kernel = KERNELS[-1]
        self.initrd = os.path.join(self.tmp, "initramfs.cpio")
        guest.build_initramfs(self.initrd, INIT, MODULES, self.kernel)
        self.console_dir = os.path.join(self.tmp, "console")
        os.makedirs(self.console_dir)
        # The switch, and the root namespace's port on it (XML-RPC to the agents).
        self._netns(self.lan_ns)
        ip("-n", self.lan_ns, "link", "add", "lan0", "type", "bridge")
        ip("-n", self.lan_ns, "addr", "add", self.lan_ip + "/24", "dev", "lan0")
        ip("-n", self.lan_ns, "link", "set", "lan0", "up")
        ip("link", "add", self.root_if, "type", "veth", "peer", "name", "root", "netns",
           self.lan_ns)
        ip("-n", self.lan_ns, "link", "set", "root", "master", "lan0", "up")
        ip("addr", "add", self.root_ip + "/24", "dev", self.root_if)
        ip("link", "set", self.root_if, "up")
        for i, h in enumerate(self.hosts):
            self._netns(h.ns)
            # A fixed MAC: a bridge without one takes the lowest of its ports', and libvirt
            # gives a guest's tap the guest MAC with fe: in front. When the random MAC of
            # B's uplink veth began with fe: above it, B's bridge took the incoming guest's
            # tap MAC — which A's bridge holds as local (the same guest's tap there): A
            # then delivered every frame for B to itself, and the libvirtds' migration
            # connection hung with data in both send queues.
            ip("-n", h.ns, "link", "add", BRIDGE, "address", "02:%02x:%02x:%02x:00:%02x" % (
                tuple(int(x) for x in self.net.split(".")) + (11 + i,)), "type", "bridge")
            up, port = "up" + h.name, "p" + h.name
            ip("link", "add", up, "netns", h.ns, "type", "veth", "peer", "name", port, "netns",
               self.lan_ns)
            ip("-n", h.ns, "link", "set", up, "master", BRIDGE, "up")
            ip("-n", h.ns, "addr", "add", h.addr + "/24", "dev", BRIDGE)
            ip("-n", h.ns, "link", "set", BRIDGE, "up")
            ip("-n", self.lan_ns, "link", "set", port, "master", "lan0", "up")
        for h in self.hosts:
            # Keepalive between the two libvirtds (p2p client: qemu.conf; server:
            # libvirtd.conf): libvirt's 5 s x 5 closed the migration connection ("client
            # socket is closed") when this 2-core machine was loaded by other jobs; a dead
            # peer still shows at once (its socket closes), so 30 s x 10 loses nothing.
            h.lv = private_libvirtd(
                netns=h.ns, listen_addr=h.addr, host_uuid=h.host_uuid,
                extra_qemu_conf='migration_host = "%s"\nmigration_address = "%s"\n'
                                'keepalive_interval = 30\nkeepalive_count = 10\n' % (
                                    h.addr, h.addr),
                extra_libvirtd_conf="keepalive_interval = 30\nkeepalive_count = 10\n")
            h.lv.start()
        for h in self.hosts:
            h.agent = self.make_agent(h)
            h.agent.start()
        for h in self.hosts:
            h.agent.wait_ready(timeout=60)

    def make_agent(self, h, conf=None):
        """An agent for host h (not started); conf merged over the tier's."""
        c = {"vars": {
            "libvirt_uri": h.lv.uri,
            "host_uuid": h.host_uuid,
            "vm_domain_type": "qemu",
            "vm_sample_interval": "1",
            "vm_console_log_dir": self.console_dir,
        }}
        for src in (self.agent_conf, conf or {}):
            for sec, kv in src.items():
                c.setdefault(sec, {}).update(kv)
        return Agent(netns=h.ns, ip=h.addr, conf=c)

    def _netns(self, name):
        ip("netns", "add", name)
        self.namespaces.append(name)
        ip("-n", name, "link", "set", "lo", "up")

    def close(self):
        for h in self.hosts:
            if h.agent:
                h.agent.__exit__(None, None, None)
                h.agent = None
        for h in self.hosts:
            if h.lv:
                h.lv.__exit__(None, None, None)
                h.lv = None
        ip("link", "del", self.root_if, check=False)
        for ns in reversed(self.namespaces):
            ip("netns", "del", ns, check=False)
        self.namespaces = []
        if self.tmp and not os.environ.get("VDSM_TEST_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- guests and observers ----

    def vm_params(self, n=1, mem=128, network=BRIDGE, dirty_mib=0, **extra):
        mac = "00:1a:4a:%02x:%02x:%02x" % ((os.getpid() >> 8) & 255, os.getpid() & 255, n & 255)
        return guest.vm_params(
            self.kernel, self.initrd, "mig", mem, "mig.ip=%s/24%s" % (
                self.guest_ip(n), " mig.dirty=%d" % dirty_mib if dirty_mib else ""),
            nics=[(mac, network)], **extra)

    def console(self, vm_id):
        return guest.console(self.console_dir, vm_id)

    def diag(self, vm_id):
        """Where the guest's frames should go, for a failed liveness check: each host's
        bridge ports, the LAN switch's learnt MACs, the guest's last console lines."""
        out = []
        for h in self.hosts:
            out.append("%s: %s" % (h.name, h.run("ip", "-br", "link", "show", "master", BRIDGE,
                                                  check=False).stdout.strip()))
            out.append("%s domains: %s" % (h.name, h.lv.virsh("list", "--all", check=False).stdout.strip()))
        out.append("lan fdb: %s" % subprocess.run(
            ["ip", "netns", "exec", self.lan_ns, "bridge", "fdb", "show", "br", "lan0"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout.strip())
        for h in self.hosts:
            out.append("%s domstate: %s; hmp: %s" % (
                h.name, h.lv.virsh("domstate", "--reason", vm_id, check=False).stdout.strip(),
                h.lv.virsh("qemu-monitor-command", "--hmp", vm_id, "info status",
                           check=False).stdout.strip()))
        out.append("console dir: %s" % sorted(
            (f, os.path.getsize(os.path.join(self.console_dir, f)))
            for f in os.listdir(self.console_dir)))
        out.append("console: %s" % "\n".join(self.console(vm_id).splitlines()[-3:]))
        return "\n".join(out)

    def heartbeat(self, vm_id):
        """The guest's last heartbeat number on its console (0 before the first)."""
        hb = re.findall(r"MIGLAB HB (\d+)", self.console(vm_id))
        return int(hb[-1]) if hb else 0

    def pinger(self, target):
        """A 10/s pinger in the LAN namespace; stop with stop_pinger()."""
        out = open(os.path.join(self.tmp, "ping-%s.log" % target), "w+")
        p = subprocess.Popen(["ip", "netns", "exec", self.lan_ns, BUSYBOX, "ping", "-i", "0.1",
                              target], stdout=out, stderr=subprocess.STDOUT, text=True)
        p.out = out
        return p

    @staticmethod
    def stop_pinger(p):
        """Stops the pinger by PID; returns the icmp_seq numbers that were answered."""
        p.terminate()
        p.wait(10)
        p.out.seek(0)
        text = p.out.read()
        p.out.close()
        return [int(s) for s in re.findall(r"seq=(\d+)", text)]

    def answers_ping(self, target):
        r = subprocess.run(["ip", "netns", "exec", self.lan_ns, BUSYBOX, "ping", "-c", "1",
                            "-W", "1", target], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        return r.returncode == 0
