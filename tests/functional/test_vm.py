"""VMs through a real libvirtd (qemu driver, TCG): create, stats, destroy, recovery
after SIGKILL, guest shutdown and crash seen through events, bad input.

Each class runs one test-private root libvirtd in its own network namespace (with a
bridge `vdtbr0` there) and the agent in the same namespace, reached over a veth pair.
The guest is Debian's kernel + a busybox initramfs built here; its serial console
goes to a log file (vars.vm_console_log_dir) from which the tests read what the guest
printed (its /proc/cpuinfo flags, a READY line).
"""
import os
import re
import shutil
import signal
import tempfile
import time
import unittest
import uuid

import guest
from guest import KERNELS
from vdsmtest import Agent, Netns, TEST_TMP, private_libvirtd, veth_to, wait_for

BRIDGE = "vdtbr0"
# Flags of the host that the Nehalem baseline does not have (libvirt cpu_map).
NOT_IN_NEHALEM = ("avx", "avx2", "aes", "pclmulqdq", "xsave", "rdrand", "f16c", "fma", "movbe",
                  "bmi1", "bmi2", "smep", "erms")

INIT = guest.INIT_HEAD + r"""echo VDSMTEST-CPUINFO-BEGIN
grep -m1 '^flags' /proc/cpuinfo
echo VDSMTEST-CPUINFO-END
echo VDSMTEST-READY
for a in $(cat /proc/cmdline); do
    case $a in
    vdsmtest.poweroff=*) sleep ${a#*=}; echo VDSMTEST-POWEROFF; poweroff -f ;;
    esac
done
n=0
while true; do n=$((n+1)); echo "VDSMTEST-HB $n"; sleep 2; done
"""


def host_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def mac_for(n):
    return "00:1a:4a:%02x:%02x:%02x" % (os.getpid() % 256, (n >> 8) & 255, n & 255)


@unittest.skipIf(guest.missing_requirements(), guest.missing_requirements())
class VmBase(unittest.TestCase):
    """One namespace + libvirtd + agent per class."""

    @classmethod
    def setUpClass(cls):
        os.makedirs(TEST_TMP, exist_ok=True)
        cls.tmp = tempfile.mkdtemp(prefix="vmtest-", dir=TEST_TMP)
        cls.kernel = KERNELS[-1]
        cls.initrd = os.path.join(cls.tmp, "initramfs.cpio")
        guest.build_initramfs(cls.initrd, INIT)
        cls.console_dir = os.path.join(cls.tmp, "console")
        os.makedirs(cls.console_dir)
        cls.ns = Netns("vdvm").__enter__()
        try:
            cls.ns.run("ip", "link", "add", BRIDGE, "type", "bridge")
            cls.ns.run("ip", "link", "set", BRIDGE, "up")
            n = uuid.uuid4().int
            cls.host_ip = "10.%d.%d.1" % (200 + n % 50, (n >> 8) % 250)
            cls.ns_ip = cls.host_ip[:-1] + "2"
            veth_to(cls.ns, cls.host_ip, cls.ns_ip)
            cls.lv = private_libvirtd(netns=cls.ns.name)
            cls.lv.start()
            cls.agent = Agent(netns=cls.ns.name, ip=cls.ns_ip, conf={"vars": {
                "libvirt_uri": cls.lv.uri,
                "vm_domain_type": "qemu",
                "vm_sample_interval": "1",
                "vm_console_log_dir": cls.console_dir,
            }, "irs": {
                # the tests' disk files: an extra root of drive paths (issue 14)
                "drive_roots": cls.tmp,
            }})
            cls.agent.start()
            cls.agent.wait_ready(timeout=60)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        agent = getattr(cls, "agent", None)
        if agent:
            agent.__exit__(None, None, None)
        lv = getattr(cls, "lv", None)
        if lv:
            lv.__exit__(None, None, None)
        cls.ns.__exit__(None, None, None)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.created = []

    def tearDown(self):
        # Good neighbours: destroy what this test created, by id, through the agent, then
        # make sure libvirt does not keep it either.
        for vm in self.created:
            try:
                self.agent.call("destroy", vm)
            except Exception:
                pass
            self.lv.virsh("destroy", vm, check=False)

    # ---- helpers ----

    def params(self, n=1, nics=1, disks=(), cmdline="", cpu="Nehalem", **extra):
        p = guest.vm_params(self.kernel, self.initrd, "vdt", 96, cmdline,
                            nics=[(mac_for(n * 16 + i), BRIDGE) for i in range(nics)],
                            cpuType=cpu)
        for path in disks:
            p["devices"].append({"type": "disk", "device": "disk", "iface": "virtio",
                                 "format": "raw", "path": path, "deviceId": str(uuid.uuid4()),
                                 "imageID": str(uuid.uuid4())})
        p.update(extra)
        return p

    def create(self, p):
        r = self.agent.call("create", p)
        self.assertEqual(r["status"]["code"], 0, r["status"])
        self.created.append(p["vmId"])
        return r

    def stats(self, vid):
        r = self.agent.call("getVmStats", vid)
        self.assertEqual(r["status"]["code"], 0, r["status"])
        return r["statsList"][0]

    def wait_status(self, vid, status, timeout=60):
        return wait_for(lambda: (lambda s: s if s["status"] == status else None)(self.stats(vid)),
                        timeout, "VM %s %s" % (vid, status))

    def console(self, vid):
        return guest.console(self.console_dir, vid)

    def domains(self):
        r = self.lv.virsh("list", "--all", "--uuid")
        return set(r.stdout.split())


class VmLifecycleTest(VmBase):
    def test_create_up_stats_destroy(self):
        disk = os.path.join(self.tmp, "disk0.img")
        with open(disk, "wb") as f:
            f.truncate(16 << 20)
        p = self.params(n=1, nics=2, disks=[disk])
        vid = p["vmId"]
        r = self.create(p)
        conf = r["vmList"]
        self.assertEqual(conf["vmId"], vid)
        self.assertEqual(conf["status"], "WaitForLaunch")
        self.assertEqual(conf["memSize"], 96)
        s = self.wait_status(vid, "Up", timeout=60)
        self.assertEqual(s["vmName"], p["vmName"])

        # What libvirt runs: each NIC with the manager's MAC on the bridge, the CPU
        # baseline as a custom model in exact mode, the disk.
        xml = self.lv.virsh("dumpxml", vid).stdout
        for dev in p["devices"][:2]:
            m = re.search(r"<interface type='bridge'>\s*<mac address='%s'/>\s*"
                          r"<source bridge='([^']+)'/>" % dev["macAddr"], xml)
            self.assertTrue(m, "NIC %s not in the domain XML:\n%s" % (dev["macAddr"], xml))
            self.assertEqual(m.group(1), BRIDGE)
        self.assertRegex(xml, r"<cpu mode='custom' match='exact'[^>]*>\s*"
                              r"<model fallback='forbid'>Nehalem</model>")
        self.assertIn("<source file='%s'" % disk, xml)
        self.assertIn("<vdsmc:id>%s</vdsmc:id>" % vid, xml)

        # The guest's own view of its CPU: the baseline, nothing beyond it.
        text = wait_for(lambda: (lambda t: t if "VDSMTEST-CPUINFO-END" in t else None)(
            self.console(vid)), 90, "the guest's cpuinfo on the console")
        flags = set(re.search(r"VDSMTEST-CPUINFO-BEGIN\s*flags\s*:(.*)", text).group(1).split())
        self.assertIn("sse4_2", flags)      # part of Nehalem, emulated by TCG
        beyond = [f for f in NOT_IN_NEHALEM if f in host_flags()]
        self.assertTrue(beyond, "host has none of %s" % (NOT_IN_NEHALEM,))
        for f in beyond:
            self.assertNotIn(f, flags, "guest sees host flag %s beyond the baseline" % f)

        # Stats: shape, NICs by tap with the MAC, the disk, after two samples.
        s = wait_for(lambda: (lambda x: x if len(x["network"]) == 2 and x["disks"] else None)(
            self.stats(vid)), 15, "network and disk stats")
        for key in ("vmId", "status", "statusTime", "vmName", "elapsedTime", "cpuUser", "cpuSys",
                    "cpuUsage", "memUsage", "network", "disks", "balloonInfo", "hash",
                    "monitorResponse", "kvmEnable", "acpiEnable", "vmType", "timeOffset"):
            self.assertIn(key, s)
        self.assertNotIn("exitCode", s)
        float(s["cpuUser"]), float(s["cpuSys"]), int(s["statusTime"]), int(s["elapsedTime"])
        macs = sorted(n["macAddr"] for n in s["network"].values())
        self.assertEqual(macs, sorted(d["macAddr"] for d in p["devices"][:2]))
        for name, n in s["network"].items():
            self.assertEqual(n["name"], name)
            for k in ("speed", "state", "rxRate", "txRate", "rxErrors", "rxDropped", "txErrors",
                      "txDropped", "rx", "tx", "sampleTime"):
                self.assertIn(k, n)
            float(n["rxRate"]), int(n["rx"])
        self.assertIn("vda", s["disks"])
        d = s["disks"]["vda"]
        self.assertEqual(d["imageID"], p["devices"][2]["imageID"])
        for k in ("readRate", "writeRate", "readLatency", "writeLatency", "flushLatency",
                  "truesize", "apparentsize"):
            self.assertIn(k, d)
        self.assertEqual(int(d["apparentsize"]), 16 << 20)

        all_stats = self.agent.call("getAllVmStats")
        self.assertEqual(all_stats["status"]["code"], 0)
        self.assertIn(vid, [x["vmId"] for x in all_stats["statsList"]])

        short = self.agent.call("list")
        self.assertIn({"vmId": vid, "status": "Up"},
                      [{"vmId": x["vmId"], "status": x["status"]} for x in short["vmList"]])
        full = self.agent.call("list", "true", [vid])["vmList"]
        self.assertEqual(len(full), 1)
        self.assertEqual(full[0]["memSize"], 96)
        nics = [d for d in full[0]["devices"] if d["type"] == "interface"]
        self.assertEqual(sorted(n["macAddr"] for n in nics), macs)
        for n in nics:
            self.assertEqual(n["alias"], "ua-" + n["deviceId"])
            self.assertEqual(n["address"]["type"], "pci")

        # destroy: Down with the admin exit reason, then forgotten by agent and libvirt.
        r = self.agent.call("destroy", vid)
        self.assertEqual(r["status"], {"code": 0, "message": "Machine destroyed"})
        self.assertRegex(self.agent.log(), r"VM %s is Down: exitCode=0 exitReason=6 " % vid)
        self.assertRegex(self.agent.log(), r"AUDIT verb=destroy .*obj=%s code=0" % vid)
        self.assertRegex(self.agent.log(), r"AUDIT verb=create .*obj=%s code=0" % vid)
        self.assertNotIn(vid, self.domains())
        self.assertEqual(self.agent.call("getVmStats", vid)["status"]["code"], 1)
        self.assertEqual(self.agent.call("destroy", vid)["status"]["code"], 1)
        self.created.remove(vid)

    def test_guest_shutdown_seen_via_events(self):
        p = self.params(n=2, cmdline="vdsmtest.poweroff=1")
        vid = p["vmId"]
        self.create(p)
        self.wait_status(vid, "Up", timeout=60)
        s = self.wait_status(vid, "Down", timeout=90)
        self.assertEqual(s["exitCode"], 0)
        self.assertEqual(s["exitReason"], 7)
        self.assertEqual(s["exitMessage"], "User shut down from within the guest")
        self.assertIn("VDSMTEST-POWEROFF", self.console(vid))
        self.assertNotIn(vid, self.domains())
        # A Down VM stays listed until the manager acknowledges it with destroy.
        self.assertIn(vid, [x["vmId"] for x in self.agent.call("list")["vmList"]])
        self.assertEqual(self.agent.call("destroy", vid)["status"]["code"], 0)
        self.assertEqual(self.agent.call("getVmStats", vid)["status"]["code"], 1)
        self.created.remove(vid)

    def test_qemu_crash(self):
        p = self.params(n=3)
        vid = p["vmId"]
        self.create(p)
        self.wait_status(vid, "Up", timeout=60)
        pidfile = os.path.join(self.lv.dir, "run", "qemu", p["vmName"] + ".pid")
        with open(pidfile) as f:
            pid = int(f.read().strip())
        os.kill(pid, 9)   # the QEMU our private libvirtd started for this test
        s = self.wait_status(vid, "Down", timeout=30)
        self.assertEqual(s["exitCode"], 1)
        self.assertEqual(s["exitReason"], 2)

    def test_libvirt_refuses_start(self):
        # Valid request, but no such CPU model: libvirt refuses; Down with reason 3.
        p = self.params(n=4, cpu="NoSuchModel")
        vid = p["vmId"]
        self.create(p)
        s = self.wait_status(vid, "Down", timeout=30)
        self.assertEqual(s["exitCode"], 1)
        self.assertEqual(s["exitReason"], 3)
        self.assertIn("NoSuchModel", s["exitMessage"])
        self.assertNotIn(vid, self.domains())


class VmBadInputTest(VmBase):
    def check(self, p, code, what):
        r = self.agent.call("create", p)
        self.assertEqual(r["status"]["code"], code, "%s: %s" % (what, r["status"]))
        self.assertTrue(r["status"]["message"], what)
        self.assertNotIn("vmList", r)
        if isinstance(p.get("vmId"), str):
            self.assertNotIn(p["vmId"].lower(), self.domains(), what)
            ids = [x["vmId"] for x in self.agent.call("list")["vmList"]]
            self.assertNotIn(p["vmId"].lower(), ids, what)
        return r["status"]["message"]

    def test_bad_input(self):
        p = self.params()
        del p["vmId"]
        self.assertIn("vmId", self.check(p, 11, "missing vmId"))
        self.check(dict(self.params(), vmId="not-a-uuid"), 11, "malformed vmId")
        p = self.params()
        del p["memSize"]
        self.assertIn("memSize", self.check(p, 11, "missing memSize"))
        self.check(dict(self.params(), memSize="lots"), 11, "malformed memSize")
        self.check(dict(self.params(), memSize=0), 11, "zero memSize")
        p = self.params()
        p["devices"][0]["macAddr"] = "00:1a:4a:zz:01:51"
        self.assertIn("macAddr", self.check(p, 9, "malformed macAddr"))
        p = self.params()
        del p["devices"][0]["macAddr"]
        self.assertIn("macAddr", self.check(p, 11, "missing macAddr"))
        p = self.params()
        p["devices"][0]["network"] = "nosuchbr0"
        self.assertIn("nosuchbr0", self.check(p, 9, "unknown network"))
        p = self.params(disks=[os.path.join(self.tmp, "no-such-disk.img")])
        self.assertIn("no-such-disk.img", self.check(p, 13, "nonexistent disk path"))
        self.check(dict(self.params(), kernel="/nonexistent/vmlinuz"), 9, "missing kernel")

    def test_mem_size_too_large_names_limit(self):
        # Issue 9 item 8: it used to say "Missing required parameter memSize".
        for mem in (2 ** 31 - 1, str(2 ** 40)):   # an <i4>, and a string (no <i8> on the wire)
            msg = self.check(dict(self.params(), memSize=mem), 9, "memSize %s" % mem)
            self.assertIn("memSize %s MiB is too large" % mem, msg)
            self.assertIn("the limit is 16777216 MiB", msg)
            self.assertNotIn("Missing", msg)

    def test_nic_and_device_counts_bounded(self):
        # A drive path that does not exist makes a request that passes validation fail
        # with 13 before libvirt is asked to start a VM with hundreds of NICs.
        missing = os.path.join(self.tmp, "no-such-disk.img")
        p = self.params(n=50, nics=65, disks=[missing])
        self.assertIn("the limit is 64 NICs per VM", self.check(p, 9, "65 NICs"))
        p = self.params(n=51, nics=1000, disks=[missing])
        self.assertIn("1001 devices: the limit is 512 devices per VM",
                      self.check(p, 9, "1000 NICs"))
        p = self.params(n=52, nics=1, disks=[missing])
        p["devices"] += [{"type": "controller", "device": "virtio-serial"}] * 600
        self.assertIn("the limit is 512 devices per VM", self.check(p, 9, "602 devices"))
        # At the limits the request gets as far as the host checks.
        p = self.params(n=53, nics=64, disks=[missing])
        self.check(p, 13, "64 NICs")

    def test_unknown_device_type_warned_and_accepted(self):
        p = self.params(n=54)
        p["devices"] += [{"type": "frobnicator", "device": "x"}, {"type": "tpm9000"},
                         {"type": "frobnicator"}, {"type": "video", "device": "qxl"}]
        r = self.create(p)
        self.assertEqual([d["type"] for d in r["vmList"]["devices"]][-4:],
                         ["frobnicator", "tpm9000", "frobnicator", "video"])
        want = "VM %s: 3 device(s) of unknown type 'frobnicator', 'tpm9000' ignored" % p["vmId"]
        line = wait_for(lambda: [ln for ln in self.agent.log().splitlines() if want in ln], 10,
                        "the warning naming the unknown device types")
        self.assertIn(" warning vdsmd: ", line[0])
        self.assertNotIn("'video'", line[0])

    def test_duplicate_vmid(self):
        p = self.params(n=5)
        self.create(p)
        r = self.agent.call("create", dict(p, vmName="another"))
        self.assertEqual(r["status"]["code"], 4, r["status"])
        # The first one is untouched.
        self.wait_status(p["vmId"], "Up", timeout=60)
        self.assertEqual(self.lv.virsh("domname", p["vmId"]).stdout.strip(), p["vmName"])


class VmHungLibvirtdTest(VmBase):
    def test_verbs_answer_while_libvirtd_hangs(self):
        """A libvirtd that stops answering (SIGSTOP: its socket still accepts) must not
        hang create: the sampler reconnecting to it may wait, the verbs may not."""
        lv_pid = self.lv.proc.pid  # `ip netns exec` and sh exec libvirtd: its own PID
        os.kill(lv_pid, signal.SIGSTOP)
        try:
            # The keepalive (5 s x 3) closes the connection; the sampler then reopens it
            # and that open waits for the stopped libvirtd.
            wait_for(lambda: "libvirt connection closed" in self.agent.log(), 90,
                     "the agent to see the connection to the stopped libvirtd die")
            for _ in range(5):
                time.sleep(1)
                p = self.params()
                r = self.agent.call("create", p)
                self.assertEqual(r["status"]["code"], 9, r["status"])
                self.assertIn("libvirt", r["status"]["message"])
                self.assertEqual(self.agent.call("list")["status"]["code"], 0)
        finally:
            os.kill(lv_pid, signal.SIGCONT)
        # libvirtd back: the sampler's open completes and VMs can be created again.
        p = self.params()
        wait_for(lambda: self.agent.call("create", p)["status"]["code"] == 0, 90,
                 "create to work again after libvirtd resumed")
        self.created.append(p["vmId"])


class VmRecoveryTest(VmBase):
    def test_recovery_after_sigkill(self):
        ps = [self.params(n=10 + i, nics=2) for i in range(2)]
        for p in ps:
            self.create(p)
        for p in ps:
            self.wait_status(p["vmId"], "Up", timeout=60)
        for p in ps:   # elapsedTime must survive the restart (start time in the metadata)
            wait_for(lambda: int(self.stats(p["vmId"])["elapsedTime"]) >= 2, 10, "elapsedTime 2")
        before = {x["vmId"]: x for x in self.agent.call("list", "true")["vmList"]}
        self.agent.kill()
        self.agent.start()
        self.agent.wait_ready(timeout=60)
        after = {x["vmId"]: x for x in self.agent.call("list", "true")["vmList"]}
        self.assertEqual(sorted(after), sorted(before))
        for p in ps:
            vid = p["vmId"]
            a, b = after[vid], before[vid]
            self.assertEqual(a["status"], "Up")
            self.assertEqual(a["vmName"], b["vmName"])
            self.assertEqual(a["memSize"], 96)
            macs = lambda c: sorted(d["macAddr"] for d in c["devices"] if d["type"] == "interface")
            self.assertEqual(macs(a), macs(b))
            self.assertEqual(macs(a), sorted(d["macAddr"] for d in p["devices"]))
            self.assertEqual([d.get("address") for d in a["devices"]],
                             [d.get("address") for d in b["devices"]])
            s = wait_for(lambda: (lambda x: x if len(x["network"]) == 2 else None)(
                self.stats(vid)), 15, "NIC stats after recovery")
            self.assertEqual(sorted(n["macAddr"] for n in s["network"].values()), macs(a))
            self.assertGreaterEqual(int(s["elapsedTime"]), 2)
        self.assertRegex(self.agent.log(), r"VM recovery: 2 running VM")
        for p in ps:
            r = self.agent.call("destroy", p["vmId"])
            self.assertEqual(r["status"]["code"], 0, r["status"])
            self.assertNotIn(p["vmId"], self.domains())
            self.created.remove(p["vmId"])

    def test_libvirtd_restart(self):
        keep, lost = self.params(n=30), self.params(n=31)
        for p in (keep, lost):
            self.create(p)
            self.wait_status(p["vmId"], "Up", timeout=60)
        pidfile = os.path.join(self.lv.dir, "run", "qemu", lost["vmName"] + ".pid")
        with open(pidfile) as f:
            qemu_pid = int(f.read().strip())
        os.kill(self.lv.proc.pid, 9)   # our private libvirtd, by PID
        self.lv.proc.wait()
        self.lv.proc = None
        os.kill(qemu_pid, 9)           # and one QEMU while nobody watches it
        # The agent keeps answering from memory meanwhile.
        self.assertEqual(self.stats(keep["vmId"])["status"], "Up")
        self.lv.start()
        wait_for(lambda: self.agent.log().count("connected to libvirt") >= 2, 30,
                 "the agent to reconnect")
        s = self.wait_status(lost["vmId"], "Down", timeout=30)
        self.assertEqual((s["exitCode"], s["exitReason"]), (1, 2))
        # Two samples of the survivor taken after the reconnect (its NICs' sampleTime
        # moves on), not a fixed wait: it must still be Up, not swept Down with the lost one.
        def sampled():
            s = self.stats(keep["vmId"])
            return max((n["sampleTime"] for n in s["network"].values()), default=0.0)
        t = sampled()
        for _ in range(2):
            t = wait_for(lambda t0=t: (lambda x: x if x > t0 else None)(sampled()), 60,
                         "a new sample of the surviving VM")
        self.assertEqual(self.stats(keep["vmId"])["status"], "Up")
        r = self.agent.call("destroy", keep["vmId"])
        self.assertEqual(r["status"]["code"], 0, r["status"])
        self.assertNotIn(keep["vmId"], self.domains())
        self.created.remove(keep["vmId"])

    def test_down_record_survives_restart(self):
        p = self.params(n=20, cmdline="vdsmtest.poweroff=1")
        self.create(p)
        self.wait_status(p["vmId"], "Down", timeout=90)
        self.agent.kill()
        self.agent.start()
        self.agent.wait_ready(timeout=60)
        s = self.stats(p["vmId"])
        self.assertEqual((s["status"], s["exitCode"], s["exitReason"]), ("Down", 0, 7))


@unittest.skipUnless(shutil.which("libvirtd") and os.geteuid() == 0, "needs root and libvirtd")
class VmNoLibvirtYetTest(unittest.TestCase):
    def test_vm_verbs_answer_99_until_libvirt_comes(self):
        with Netns("vdvm") as ns:
            lv = private_libvirtd(netns=ns.name)   # not started yet
            try:
                with Agent(conf={"vars": {"libvirt_uri": lv.uri, "vm_sample_interval": "1",
                                          "ssl": "false"}}) as a:
                    a.wait_ready(timeout=60)       # host verbs are not held
                    for verb, args in (("list", ()), ("getAllVmStats", ()),
                                       ("getVmStats", (str(uuid.uuid4()),)),
                                       ("destroy", (str(uuid.uuid4()),))):
                        self.assertEqual(a.call(verb, *args)["status"]["code"], 99, verb)
                    lv.start()
                    wait_for(lambda: a.call("list")["status"]["code"] == 0, 30,
                             "list to answer once libvirtd is up")
                    self.assertEqual(a.call("getAllVmStats")["statsList"], [])
            finally:
                lv.__exit__(None, None, None)


if __name__ == "__main__":
    unittest.main()
