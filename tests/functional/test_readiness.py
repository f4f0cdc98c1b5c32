"""Host readiness: the getHostReadiness verb of the real agent (with a test-private
libvirtd) and the vdsm-c-ready command on the same config, agent running or not —
libvirt, CPU against a cluster model (checked against libvirt's CPU map), memory
(against /proc/meminfo), networks, certificates (made to expire), exit codes."""
import json
import os
import re
import socket
import subprocess
import unittest
import xml.etree.ElementTree as ET

import vdsmtest
from vdsmtest import Agent, private_libvirtd

READY = os.environ.get("VDSM_READY", os.path.join(vdsmtest.BUILD, "vdsm-c-ready"))
CPU_MAP = "/usr/share/libvirt/cpu_map"
NAMES = {"libvirt", "kvm", "cpu", "memory", "multipath", "certificates", "clock"}


def model_features(model):
    """Every feature of a libvirt CPU model, following the models it is based on."""
    feats, todo, seen = set(), [model], set()
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        path = os.path.join(CPU_MAP, "x86_%s.xml" % m)
        if not os.path.exists(path):
            continue
        for el in ET.parse(path).getroot().iter():
            if el.tag == "feature" and el.get("name"):
                feats.add(el.get("name"))
            elif el.tag == "model" and el.get("name") and el.get("name") != m:
                todo.append(el.get("name"))
    return feats


def by_name(readiness):
    return {c["name"]: c for c in readiness["checks"]}


def mem_available_mib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    raise AssertionError("no MemAvailable")


class ReadinessTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lv = private_libvirtd()
        cls.lv.start()
        try:
            cls.agent = Agent(conf={"vars": {"libvirt_uri": cls.lv.uri}})
            cls.agent.start()
            cls.agent.wait_ready(timeout=120)
        except BaseException:
            cls.lv.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()
        cls.lv.stop()

    def readiness(self, *args):
        r = self.agent.call("getHostReadiness", *args)
        self.assertEqual(r["status"]["code"], 0, r["status"])
        return r["readiness"]

    def ready_cmd(self, *args):
        return subprocess.run([READY, "--config", self.agent.conf_path, *args],
                              capture_output=True, text=True, timeout=120)

    def test_report_of_this_host(self):
        rd = self.readiness()
        checks = by_name(rd)
        self.assertTrue(NAMES <= set(checks), checks.keys())
        self.assertEqual(checks["libvirt"]["verdict"], "ok", checks["libvirt"])
        version = self.lv.virsh("version").stdout
        lib = re.search(r"libvirt ([\d.]+)", version).group(1)
        self.assertIn("libvirt %s" % lib, checks["libvirt"]["detail"])
        # the dev PKI is valid ten years and signed by its CA
        self.assertEqual(checks["certificates"]["verdict"], "ok", checks["certificates"])
        # memory: the verdict follows MemAvailable against 256 + 65 MiB reserved
        avail = mem_available_mib()
        want = "fail" if avail < 321 else "warn" if avail < 321 + 512 else "ok"
        self.assertEqual(checks["memory"]["verdict"], want, checks["memory"])
        worst = max((c["verdict"] for c in rd["checks"]), key=["ok", "warn", "fail"].index)
        self.assertEqual(rd["verdict"], worst)
        for c in rd["checks"]:
            self.assertIn(c["verdict"], ("ok", "warn", "fail"))
            if c["verdict"] != "ok":
                self.assertTrue(c["hint"], c)

    def test_cluster_cpu(self):
        checks = by_name(self.readiness("qemu64"))
        self.assertEqual(checks["cpu"]["verdict"], "ok", checks["cpu"])
        # A model this host cannot run: the flags named are the model's (libvirt's CPU
        # map) and some model of the list below lacks some on any x86 host here.
        failing = 0
        for model in ("SapphireRapids", "Cascadelake-Server", "Icelake-Server",
                      "EPYC-Genoa", "EPYC-Milan", "Skylake-Server"):
            if not os.path.exists(os.path.join(CPU_MAP, "x86_%s.xml" % model)):
                continue
            cpu = by_name(self.readiness("model_" + model))["cpu"]
            if cpu["verdict"] == "ok":
                continue
            self.assertEqual(cpu["verdict"], "fail", cpu)
            m = re.search(r"lacks (\d+) flag\(s\) of model %s: (.*)$" % re.escape(model),
                          cpu["detail"])
            self.assertIsNotNone(m, cpu)
            flags = m.group(2).split()
            self.assertTrue(flags)
            self.assertLessEqual(set(flags), model_features(model), cpu)
            failing += 1
        self.assertGreater(failing, 0, "every candidate model runs here?")
        cpu = by_name(self.readiness("NoSuchModel"))["cpu"]
        self.assertEqual(cpu["verdict"], "fail")
        self.assertIn("not known", cpu["detail"])

    def test_networks(self):
        checks = by_name(self.readiness("", ["lo", "nosuchnet0"]))
        self.assertEqual(checks["network:lo"]["verdict"], "ok")
        self.assertIn("MTU 65536", checks["network:lo"]["detail"])
        self.assertEqual(checks["network:nosuchnet0"]["verdict"], "fail")
        self.assertIn("setupNetworks", checks["network:nosuchnet0"]["hint"])

    def test_bad_params(self):
        r = self.agent.call("getHostReadiness", "", ["x" * 20])
        self.assertEqual(r["status"]["code"], 16)
        self.assertIn("networks[0]", r["status"]["message"])
        r = self.agent.call("getHostReadiness", "", "ovirtmgmt")
        self.assertNotEqual(r["status"]["code"], 0)
        r = self.agent.call("getHostReadiness", "", ["n%d" % i for i in range(40)])
        self.assertNotEqual(r["status"]["code"], 0)
        self.assertEqual(self.agent.call("ping")["status"]["code"], 0)

    def test_command_matches_the_verb(self):
        p = self.ready_cmd("--json", "--networks", "lo,nosuchnet0")
        self.assertEqual(p.returncode, 1, p.stderr)  # a network fails
        out = json.loads(p.stdout)
        verb = self.readiness("", ["lo", "nosuchnet0"])
        self.assertEqual([c["name"] for c in out["checks"]], [c["name"] for c in verb["checks"]])
        self.assertEqual(out["verdict"], "fail")
        for name in ("libvirt", "certificates", "network:lo", "network:nosuchnet0"):
            self.assertEqual(by_name(out)[name]["verdict"], by_name(verb)[name]["verdict"], name)
        table = self.ready_cmd("--networks", "lo,nosuchnet0")
        self.assertEqual(table.returncode, 1)
        self.assertIn("NOT READY", table.stdout)
        self.assertRegex(table.stdout, r"network:nosuchnet0\s+fail\s+no bridge or interface")
        self.assertIn("-> create the network", table.stdout)

    def test_command_exit_codes_and_expiring_certificate(self):
        ok = self.ready_cmd("--networks", "lo")
        verdicts = re.findall(r"^\S+\s+(ok|warn|fail)\s", ok.stdout, re.M)
        self.assertEqual(ok.returncode, 1 if "fail" in verdicts else 0, ok.stdout)
        self.assertEqual(self.ready_cmd("--bogus").returncode, 2)
        self.assertEqual(self.ready_cmd("extra-arg").returncode, 2)
        self.assertEqual(self.ready_cmd("--timeout", "0").returncode, 2)
        h = self.ready_cmd("--help")
        self.assertEqual(h.returncode, 0)
        self.assertIn("--cluster-cpu", h.stdout)
        d = vdsmtest._mkdtemp("pki10-")
        subprocess.run([vdsmtest.CERTS, "--dir", d, "--cn", "localhost", "--days", "10"],
                       check=True, stdout=subprocess.DEVNULL)
        p = self.ready_cmd("--json", "--set", "vars.trust_store_path=" + d)
        cert = by_name(json.loads(p.stdout))["certificates"]
        self.assertEqual(cert["verdict"], "warn", cert)
        self.assertRegex(cert["detail"], r"expires in (9|10) day")
        # the agent need not run: libvirt unreachable is a failing line, not a crash
        p = self.ready_cmd("--json", "--set",
                           "vars.libvirt_uri=qemu:///system?socket=/nonexistent/sock")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(by_name(json.loads(p.stdout))["libvirt"]["verdict"], "fail")

    def test_storage_connections_verb_and_command(self):
        """A listening portal is ok, a closed port fails (refused), a name that does not
        resolve fails; the verb and the command agree; a bad spec is refused."""
        lis = socket.socket()
        lis.bind(("127.0.0.1", 0))
        lis.listen(8)
        self.addCleanup(lis.close)
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))     # bound, never listening: refused
        self.addCleanup(closed.close)
        specs = ["iscsi:127.0.0.1:%d" % lis.getsockname()[1],
                 "iscsi:127.0.0.1:%d,1" % closed.getsockname()[1],
                 "nfs:no-such-host.invalid"]
        names = ["storage:" + s[:23] for s in specs]
        verb = by_name(self.readiness("", [], specs))
        args = []
        for s in specs:
            args += ["--storage", s]
        p = self.ready_cmd("--json", *args)
        self.assertEqual(p.returncode, 1, p.stderr)
        cmd = by_name(json.loads(p.stdout))
        for rep in (verb, cmd):
            self.assertEqual(rep[names[0]]["verdict"], "ok", rep[names[0]])
            self.assertIn("reachable", rep[names[0]]["detail"])
            self.assertEqual(rep[names[1]]["verdict"], "fail", rep[names[1]])
            self.assertIn("refuses connections", rep[names[1]]["detail"])
            self.assertEqual(rep[names[2]]["verdict"], "fail", rep[names[2]])
            self.assertIn("cannot resolve", rep[names[2]]["detail"])
            self.assertIn(rep["multipath"]["verdict"], ("ok", "warn", "fail"))
        r = self.agent.call("getHostReadiness", "", [], ["iscsi:h:99999"])
        self.assertEqual(r["status"]["code"], 16)
        self.assertIn("storage connection 'iscsi:h:99999'", r["status"]["message"])
        r = self.agent.call("getHostReadiness", "", [], ["iscsi:h"] * 17)
        self.assertEqual(r["status"]["code"], 16)
        p = self.ready_cmd("--storage", "10.0.0.1")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--storage", p.stderr)


if __name__ == "__main__":
    unittest.main()
