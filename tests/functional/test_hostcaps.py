"""getVdsCapabilities / getVdsStats / getVdsHardwareInfo against the real agent and a
real (test-private) libvirtd: every key API.md §5.1 marks as read by the manager is
present with the XML-RPC type the manager casts to, the values are this host's (checked
against /proc, /sys, dpkg-query and libvirt itself), and the network report follows
devices created and removed in a network namespace the agent runs in."""
import ctypes
import fcntl
import os
import re
import subprocess
import time
import unittest
import uuid
import xml.etree.ElementTree as ET

from vdsmtest import Agent, Netns, private_libvirtd, veth_to

S, I, B, D, M, A = str, int, bool, float, dict, list

# API.md §5.1, getVdsCapabilities keys with Eng = R (build_name is optional and absent).
CAPS_R = {
    "HBAInventory": M, "ISCSIInitiatorName": S, "cpuFlags": S, "cpuModel": S,
    "cpuCores": S, "cpuSockets": S, "cpuThreads": S, "cpuSpeed": S, "onlineCpus": S,
    "memSize": S, "reservedMem": S, "guestOverhead": S, "kvmEnabled": S,
    "emulatedMachines": A, "supportedENGINEs": A, "clusterLevels": A, "version_name": S,
    "software_version": S, "software_revision": S, "packages2": M, "operatingSystem": M,
    "uuid": S, "networks": M, "bridges": M, "nics": M, "vlans": M, "bondings": M,
    "numaNodes": M, "numaNodeDistance": M, "autoNumaBalancing": I, "rngSources": A,
    "hooks": M, "kdumpStatus": I, "selinux": M, "liveSnapshot": S, "liveMerge": S,
    "hostdevPassthrough": S, "additionalFeatures": A, "netConfigDirty": S, "bootTime": S,
}
CAPS_INT_STRINGS = ("cpuCores", "cpuSockets", "cpuThreads", "memSize", "reservedMem",
                    "guestOverhead", "bootTime")

# API.md §5.1, getVdsStats keys with Eng = R.
STATS_R = {
    "cpuUser": S, "cpuSys": S, "cpuIdle": S, "cpuLoad": S, "memUsed": S, "memAvailable": I,
    "memFree": I, "memShared": I, "swapTotal": I, "swapFree": I, "ksmState": B,
    "ksmPages": I, "ksmCpu": I, "thpState": S, "anonHugePages": S, "vmCount": I,
    "vmActive": I, "vmMigrating": I, "incomingVmMigrations": I, "outgoingVmMigrations": I,
    "bootTime": S, "dateTime": S, "network": M, "diskStats": M, "numaNodeMemFree": M,
    "cpuStatistics": M, "storageDomains": M, "netConfigDirty": S, "haStats": M,
    "v2vJobs": M, "elapsedTime": S,
}
NIC_STATS = {"name": S, "speed": S, "rxRate": S, "txRate": S, "rxDropped": S, "txDropped": S,
             "rxErrors": S, "txErrors": S, "rx": S, "tx": S, "state": S, "sampleTime": D}
COMMON_NET = {"addr": S, "netmask": S, "ipv4addrs": A, "ipv6addrs": A, "gateway": S,
              "ipv6gateway": S, "mtu": S, "dhcpv4": B, "dhcpv6": B, "cfg": M}
FORBIDDEN = (b"<i8>", b"<nil", b"<dateTime", b"<ex:")


def call_body(verb):
    return ("<?xml version='1.0'?><methodCall><methodName>%s</methodName>"
            "<params></params></methodCall>" % verb).encode()


def kvm_api_version():
    """What the agent must find: open /dev/kvm and ask KVM_GET_API_VERSION."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return fcntl.ioctl(fd, 0xAE00, 0)
    except OSError:
        return None
    finally:
        os.close(fd)


def cpulist(s):
    out = []
    for part in s.strip().split(","):
        if not part:
            continue
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def stats_until(agent, pred, timeout=60):
    """getVdsStats until pred(info) holds (the sampler runs every 2 s); the timeout is a
    hang guard, not a timing assertion. Returns the last info."""
    deadline = time.monotonic() + timeout
    while True:
        st = agent.call("getVdsStats")["info"]
        if pred(st) or time.monotonic() > deadline:
            return st
        time.sleep(0.2)


def sample_time(st):
    return max((n["sampleTime"] for n in st["network"].values()), default=None)


class HostCapsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lv = private_libvirtd()
        cls.lv.start()
        try:
            cls.agent = Agent(conf={"vars": {"libvirt_uri": cls.lv.uri,
                                             "host_sample_stats_interval": "1"}})
            cls.agent.start()
            cls.agent.wait_ready(timeout=120)
            cls.caps = cls.agent.call("getVdsCapabilities")
            cls.info = cls.caps["info"]
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "agent", None):
            cls.agent.__exit__(None, None, None)
        cls.lv.__exit__(None, None, None)

    def assertTypes(self, d, spec, where):
        for k, t in spec.items():
            self.assertIn(k, d, "%s: %s missing" % (where, k))
            self.assertIs(type(d[k]), t, "%s.%s is %s, want %s" % (where, k,
                                                                    type(d[k]).__name__, t.__name__))

    def test_caps_manager_keys_and_types(self):
        self.assertEqual(self.caps["status"], {"code": 0, "message": "Done"})
        self.assertTypes(self.info, CAPS_R, "caps")
        for k in CAPS_INT_STRINGS:
            int(self.info[k])
        float(self.info["cpuSpeed"])
        self.assertIn(self.info["kvmEnabled"], ("true", "false"))
        self.assertIn(self.info["netConfigDirty"], ("True", "False"))
        self.assertIsInstance(self.info["HBAInventory"]["iSCSI"], list)
        self.assertIsInstance(self.info["HBAInventory"]["FC"], list)
        self.assertIn("3.6", self.info["clusterLevels"])
        self.assertIn("3.6", self.info["supportedENGINEs"])
        for name in ("vdsm", "kernel"):
            self.assertIsInstance(self.info["packages2"][name]["version"], str)
            self.assertIsInstance(self.info["packages2"][name]["release"], str)
            if "buildtime" in self.info["packages2"][name]:
                # <int> in VDSM's replies (a string only beyond 32 bits)
                self.assertIsInstance(self.info["packages2"][name]["buildtime"], int)
        for node, n in self.info["numaNodes"].items():
            self.assertTrue(all(type(c) is int for c in n["cpus"]))
            int(n["totalMemory"])
            self.assertTrue(all(type(x) is int for x in self.info["numaNodeDistance"][node]))
        for name, nic in self.info["nics"].items():
            self.assertTypes(nic, dict(COMMON_NET, hwaddr=S, speed=I), "nics." + name)
        self.assertIn(self.info["selinux"]["mode"], ("-1", "0", "1"))

    def test_no_forbidden_types_on_the_wire(self):
        for verb in ("getVdsCapabilities", "getVdsStats", "getVdsHardwareInfo"):
            status, body = self.agent.raw_post(call_body(verb))
            self.assertEqual(status, 200)
            for bad in FORBIDDEN:
                self.assertNotIn(bad, body, verb)

    def test_model_flags_are_what_libvirt_says_is_usable(self):
        dom = ET.fromstring(self.lv.virsh("domcapabilities").stdout)
        usable = {m.text for m in dom.findall("./cpu/mode[@name='custom']/model")
                  if m.get("usable") == "yes"}
        flags = self.info["cpuFlags"].split(",")
        models = {f[len("model_"):] for f in flags if f.startswith("model_")}
        self.assertEqual(models, usable)
        print("\n    model_X flags: %d (%s)" % (len(models), ",".join(sorted(models))))
        # The rest is the kernel's flag list of the first CPU, in order.
        with open("/proc/cpuinfo") as f:
            kflags = re.search(r"^flags\s*:\s*(.*)$", f.read(), re.M).group(1).split()
        self.assertEqual([f for f in flags if not f.startswith("model_")], kflags)

    def test_emulated_machines_from_libvirt(self):
        caps = ET.fromstring(self.lv.virsh("capabilities").stdout)
        arch = caps.find("./host/cpu/arch").text
        want = set()
        for g in caps.findall("./guest/arch[@name='%s']" % arch):
            want |= {m.text for m in g.findall("machine")}
            want |= {m.text for m in g.findall("domain/machine")}
        self.assertEqual(set(self.info["emulatedMachines"]), want)
        self.assertEqual(len(self.info["emulatedMachines"]), len(want))

    def test_cpu_memory_numa_kvm_are_this_hosts(self):
        with open("/proc/cpuinfo") as f:
            cpuinfo = f.read()
        with open("/proc/meminfo") as f:
            memtotal = int(re.search(r"^MemTotal:\s*(\d+)", f.read(), re.M).group(1))
        self.assertEqual(int(self.info["memSize"]), memtotal // 1024)
        self.assertEqual(int(self.info["cpuThreads"]), len(re.findall(r"^processor\s*:", cpuinfo, re.M)))
        self.assertEqual(self.info["cpuModel"],
                         re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.M).group(1))
        with open("/sys/devices/system/cpu/online") as f:
            online = cpulist(f.read())
        self.assertEqual(self.info["onlineCpus"], ",".join(map(str, online)))
        nodes = sorted(int(d[4:]) for d in os.listdir("/sys/devices/system/node")
                       if re.fullmatch(r"node\d+", d))
        self.assertEqual(sorted(map(int, self.info["numaNodes"])), nodes)
        for n in nodes:
            with open("/sys/devices/system/node/node%d/cpulist" % n) as f:
                self.assertEqual(self.info["numaNodes"][str(n)]["cpus"], cpulist(f.read()))
        # Honest KVM: the agent reports what opening /dev/kvm answers, not the cpu flags.
        api = kvm_api_version()
        self.assertEqual(self.info["kvmEnabled"], "true" if api == 12 else "false")
        print("\n    kvmEnabled=%s (KVM_GET_API_VERSION %s, vmx/svm in cpuinfo: %s)" % (
            self.info["kvmEnabled"], api, bool(re.search(r"\b(vmx|svm)\b", cpuinfo))))

    def test_identity_and_software(self):
        u = self.info["uuid"]
        self.assertEqual(str(uuid.UUID(u)), u)
        dmi = "/sys/class/dmi/id/product_uuid"
        if not os.path.exists(dmi):
            with open(os.path.join(self.agent.root, "var/lib/vdsm-c/host-uuid")) as f:
                self.assertEqual(f.read().strip(), u)
        with open("/etc/os-release") as f:
            osr = dict(l.split("=", 1) for l in f.read().splitlines() if "=" in l)
        os_ = self.info["operatingSystem"]
        # name is one of VDSM's OSName values (Debian for Debian and Ubuntu hosts)
        self.assertEqual(os_["name"], "Debian")
        with open("/etc/debian_version") as f:
            self.assertEqual(os_["version"], f.readline().strip())
        self.assertEqual(os_["release"], "")
        self.assertEqual(os_["pretty_name"], osr["PRETTY_NAME"].strip('"'))
        rel = os.uname().release
        self.assertEqual(self.info["packages2"]["kernel"]["version"], rel.split("-")[0])
        pk = self.info["packages2"]
        for name, deb in (("qemu-kvm", "qemu-system-x86"), ("libvirt", "libvirt-daemon")):
            r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", deb],
                               stdout=subprocess.PIPE, text=True)
            if r.returncode != 0:
                continue
            ver = r.stdout.split(":", 1)[-1]
            got = pk[name]["version"]
            if pk[name]["release"]:
                got += "-" + pk[name]["release"]
            self.assertEqual(got, ver)
        self.assertEqual(pk["vdsm"]["version"], self.info["software_version"])
        with open("/etc/iscsi/initiatorname.iscsi") if os.path.exists(
                "/etc/iscsi/initiatorname.iscsi") else open(os.devnull) as f:
            m = re.search(r"^InitiatorName=(.*)$", f.read(), re.M)
        self.assertEqual(self.info["ISCSIInitiatorName"], m.group(1).strip() if m else "")

    def test_stats_manager_keys_types_and_values(self):
        r = self.agent.call("getVdsStats")
        self.assertEqual(r["status"]["code"], 0)
        # A later sample than the first one seen: rates are computed from two samples.
        t_first = sample_time(r["info"])
        st = stats_until(self.agent, lambda i: t_first is None or (sample_time(i) or 0) > t_first)
        self.assertTypes(st, STATS_R, "stats")
        u, s_, i = float(st["cpuUser"]), float(st["cpuSys"]), float(st["cpuIdle"])
        self.assertAlmostEqual(u + s_ + i, 100.0, delta=0.05)
        float(st["cpuLoad"])
        self.assertTrue(0 <= int(st["memUsed"]) <= 100)
        self.assertLessEqual(st["memFree"], int(self.info["memSize"]))
        self.assertEqual(st["storageDomains"], {})
        self.assertEqual(st["vmCount"], 0)
        self.assertRegex(st["dateTime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d GMT$")
        self.assertEqual(st["bootTime"], self.info["bootTime"])
        self.assertEqual(set(st["haStats"]), {"configured", "active", "score",
                                              "globalMaintenance", "localMaintenance"})
        # Every reported device is sampled (other tests may add links to this
        # namespace meanwhile: poll until a sample matches the caps taken with it; the
        # deadline is a hang guard, not a timing assertion).
        deadline = time.monotonic() + 60
        while True:
            caps = self.agent.call("getVdsCapabilities")["info"]
            want = set(caps["nics"]) | set(caps["bridges"]) | set(caps["vlans"]) | set(caps["bondings"])
            if set(st["network"]) == want or time.monotonic() > deadline:
                break
            time.sleep(0.2)
            st = self.agent.call("getVdsStats")["info"]
        self.assertEqual(set(st["network"]), want)
        for name, n in st["network"].items():
            self.assertTypes(n, NIC_STATS, "network." + name)
            self.assertIn(n["state"], ("up", "down"))
        self.assertEqual(sorted(st["cpuStatistics"], key=int),
                         [str(c) for c in cpulist(self.info["onlineCpus"])])
        for c in st["cpuStatistics"].values():
            self.assertIs(type(c["nodeIndex"]), int)
        self.assertEqual(set(st["numaNodeMemFree"]), set(self.info["numaNodes"]))
        for n in st["numaNodeMemFree"].values():
            int(n["memFree"])
            self.assertIs(type(n["memPercent"]), int)
        self.assertIn("/tmp", st["diskStats"])
        # A later sample: sampleTime moves on.
        t0 = sample_time(st)
        st2 = stats_until(self.agent, lambda i: t0 is None or (sample_time(i) or 0) > t0)
        if t0 is not None:
            self.assertGreater(sample_time(st2), t0)

    def test_hardware_info(self):
        r = self.agent.call("getVdsHardwareInfo")
        self.assertEqual(r["status"]["code"], 0)
        for k in ("systemManufacturer", "systemProductName", "systemVersion",
                  "systemSerialNumber", "systemUUID", "systemFamily"):
            self.assertIs(type(r["info"][k]), str)

    def test_warm_caps_is_the_cached_reply(self):
        s1, b1 = self.agent.raw_post(call_body("getVdsCapabilities"))
        s2, b2 = self.agent.raw_post(call_body("getVdsCapabilities"))
        self.assertEqual(b1, b2)
        print("\n    getVdsCapabilities reply: %d bytes" % len(b1))


class NetworkReportTest(unittest.TestCase):
    """The agent runs inside a network namespace of the test's own; devices made there
    show in the next getVdsCapabilities, and go when removed. No libvirt: the caps are
    still served, with no model_X flag (the truth while libvirt does not answer)."""

    @classmethod
    def setUpClass(cls):
        cls.ns = Netns("vdnet").__enter__()
        try:
            n = uuid.uuid4().int
            cls.host_ip = "10.%d.%d.1" % (200 + n % 50, (n >> 8) % 250)
            cls.ns_ip = cls.host_ip[:-1] + "2"
            cls.host_if, cls.ns_if = veth_to(cls.ns, cls.host_ip, cls.ns_ip)
            cls.agent = Agent(netns=cls.ns.name, ip=cls.ns_ip, conf={"vars": {
                "libvirt_uri": "qemu:///system?socket=/nonexistent/libvirt-sock",
                "host_sample_stats_interval": "1"}})
            cls.agent.start()
            cls.agent.wait_ready(timeout=60)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "agent", None):
            cls.agent.__exit__(None, None, None)
        cls.ns.__exit__(None, None, None)

    def caps(self):
        r = self.agent.call("getVdsCapabilities")
        self.assertEqual(r["status"]["code"], 0)
        return r["info"]

    def link(self, name):
        out = self.ns.run("ip", "-o", "link", "show", name).stdout
        return re.search(r"link/ether ([0-9a-f:]{17})", out).group(1)

    def test_bridge_and_veth_follow_the_kernel(self):
        ns = self.ns
        info = self.caps()
        self.assertNotIn("model_", info["cpuFlags"])
        self.assertEqual(info["emulatedMachines"], [])
        self.assertEqual(info["lastClientIface"], self.ns_if)
        self.assertEqual(info["lastClient"], self.host_ip)
        self.assertNotIn("vdtbr0", info["bridges"])
        # The namespace side of the test's own link is a veth not named in fake_nics.
        self.assertNotIn(self.ns_if, info["nics"])

        ns.run("ip", "link", "add", "vdtbr0", "type", "bridge")
        ns.run("ip", "link", "add", "veth_t0", "type", "veth", "peer", "name", "veth_t1")
        ns.run("ip", "link", "add", "hv0", "type", "veth", "peer", "name", "hv1")
        ns.run("ip", "link", "set", "veth_t0", "master", "vdtbr0")
        ns.run("ip", "link", "set", "veth_t0", "mtu", "1400")
        ns.run("ip", "addr", "add", "10.250.7.5/24", "dev", "vdtbr0")
        ns.run("ip", "link", "set", "vdtbr0", "up")
        ns.run("ip", "link", "set", "veth_t0", "up")
        info = self.caps()   # no sleep: the events are read before the reply is built
        br = info["bridges"]["vdtbr0"]
        self.assertEqual(br["ports"], ["veth_t0"])
        self.assertEqual(br["stp"], "off")
        self.assertEqual(br["addr"], "10.250.7.5")
        self.assertEqual(br["netmask"], "255.255.255.0")
        self.assertIn("10.250.7.5/24", br["ipv4addrs"])
        self.assertFalse(br["dhcpv4"])
        self.assertEqual(br["opts"]["stp_state"], "0")
        for name in ("veth_t0", "veth_t1"):
            nic = info["nics"][name]
            self.assertEqual(nic["hwaddr"], self.link(name))
            self.assertIs(type(nic["speed"]), int)
            self.assertIs(type(nic["mtu"]), str)
        self.assertEqual(info["nics"]["veth_t0"]["mtu"], "1400")
        self.assertNotIn("hv0", info["nics"])     # hidden: not in fake_nics
        self.assertNotIn("hv1", info["nics"])

        # The sampler reports them too.
        st = stats_until(self.agent, lambda i: "vdtbr0" in i["network"] and "veth_t0" in i["network"])
        self.assertIn("vdtbr0", st["network"])
        self.assertIn("veth_t0", st["network"])
        self.assertNotIn("hv0", st["network"])

        ns.run("ip", "link", "del", "veth_t0")
        ns.run("ip", "link", "del", "hv0")
        ns.run("ip", "link", "del", "vdtbr0")
        info = self.caps()
        self.assertNotIn("vdtbr0", info["bridges"])
        self.assertNotIn("veth_t0", info["nics"])
        self.assertNotIn("veth_t1", info["nics"])
        st = stats_until(self.agent, lambda i: "vdtbr0" not in i["network"])
        self.assertNotIn("vdtbr0", st["network"])
        self.assertNotIn("veth_t0", st["network"])

    def test_interface_name_that_is_not_utf8(self):
        # The kernel takes any byte but '/', ':' and spaces in a name. Such a device
        # is reported under a '?' spelling; it does not fail the replies.
        raw = "vdt\udcff\udce9"          # bytes 0xff 0xe9: not UTF-8
        self.ns.run("ip", "link", "add", raw, "type", "bridge")
        try:
            info = self.caps()
            self.assertIn("vdt??", info["bridges"])
            # The sampler's next sample has it (polled, no timing assumed).
            deadline = time.monotonic() + 60
            while True:
                r = self.agent.call("getVdsStats")
                self.assertEqual(r["status"]["code"], 0)
                if "vdt??" in r["info"]["network"]:
                    break
                self.assertLess(time.monotonic(), deadline, "never sampled")
                time.sleep(0.2)
            self.assertEqual(r["info"]["network"]["vdt??"]["name"], "vdt??")
        finally:
            self.ns.run("ip", "link", "del", raw, check=False)


if __name__ == "__main__":
    unittest.main()


class ConfiguredHostUuidTest(unittest.TestCase):
    """vars.host_uuid overrides DMI and the persisted UUID (two agents on one machine,
    e.g. the migration tier's emulated hosts, must tell themselves apart)."""

    def test_host_uuid_from_config(self):
        u = str(uuid.uuid4())
        with Agent(conf={"vars": {"host_uuid": u.upper()}}) as agent:
            agent.wait_ready(timeout=60)
            r = agent.call("getVdsCapabilities")
            self.assertEqual(r["status"]["code"], 0)
            self.assertEqual(r["info"]["uuid"], u)
            self.assertFalse(os.path.exists(os.path.join(agent.root,
                                                         "var/lib/vdsm-c/host-uuid")))
            self.assertIn("uuid from config", agent.log())
