"""Network readiness on a real kernel: the agent runs inside a network namespace of the
test's own, where bridges and veth ports are made in each state the check tells apart
(up with link, missing, bridge down, no port, no port with link, one port of two down,
MTU against the persisted network); getHostReadiness over mTLS and vdsm-c-ready run in the same namespace (JSON and
table) must give the same line, checked verdict by verdict, detail and hint."""
import json
import os
import subprocess
import unittest
import uuid

import vdsmtest
from vdsmtest import Agent, Netns, veth_to, wait_for

READY = os.environ.get("VDSM_READY", os.path.join(vdsmtest.BUILD, "vdsm-c-ready"))
NETS = ["brok", "nosuchnet", "brdown", "brlonely", "brnolink", "brhalf"]

# name -> (verdict, detail, text the hint contains or None for no hint)
WANT = {
    "brok": ("ok", "bridge 'brok' up, MTU 1400", None),
    "nosuchnet": ("fail", "no bridge or interface named 'nosuchnet'", "setupNetworks"),
    "brdown": ("fail", "bridge 'brdown' is down (MTU 1500)", "ip link set brdown up"),
    "brlonely": ("warn", "bridge 'brlonely' is up but has no port (MTU 1500): VMs on it "
                 "reach only each other", "attach the network"),
    "brnolink": ("fail", "bridge 'brnolink' is up but no port has link (pnolink without "
                 "carrier; MTU 1500)", "ip link set PORT up"),
    "brhalf": ("warn", "bridge 'brhalf' up, MTU 1500, but phalf2 down", "ip link set PORT up"),
}


def by_name(readiness):
    return {c["name"]: c for c in readiness["checks"]}


class NetworkReadinessTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ns = Netns("vdrdy").__enter__()
        try:
            cls.make_devices(cls.ns)
            n = uuid.uuid4().int
            host_ip = "10.%d.%d.1" % (150 + n % 50, (n >> 8) % 250)
            cls.ns_ip = host_ip[:-1] + "2"
            veth_to(cls.ns, host_ip, cls.ns_ip)
            cls.agent = Agent(netns=cls.ns.name, ip=cls.ns_ip, conf={"vars": {
                "libvirt_uri": "qemu:///system?socket=/nonexistent/libvirt-sock"}})
            cls.agent.start()
            cls.agent.wait_ready(timeout=60)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "agent", None):
            cls.agent.__exit__(None, None, None)
        cls.ns.__exit__(None, None, None)   # takes every device made in it

    @staticmethod
    def make_devices(ns):
        def ip(*args):
            ns.run("ip", *args)

        def bridge(name, up=True):
            ip("link", "add", name, "type", "bridge")
            if up:
                ip("link", "set", name, "up")

        def port(br, name, up=True, peer_up=True):
            """A veth whose one end is a port of br; link (carrier) needs both ends up."""
            ip("link", "add", name, "type", "veth", "peer", "name", name + "x")
            ip("link", "set", name, "master", br)
            if up:
                ip("link", "set", name, "up")
            if peer_up:
                ip("link", "set", name + "x", "up")

        bridge("brok")
        port("brok", "pok")
        ip("link", "set", "pok", "mtu", "1400")
        ip("link", "set", "brok", "mtu", "1400")
        bridge("brdown", up=False)
        port("brdown", "pdown")
        bridge("brlonely")
        bridge("brnolink")
        port("brnolink", "pnolink", peer_up=False)
        bridge("brhalf")
        port("brhalf", "phalf1")
        port("brhalf", "phalf2", up=False)

    def verb(self):
        r = self.agent.call("getHostReadiness", "", NETS)
        self.assertEqual(r["status"]["code"], 0, r["status"])
        return r["readiness"]

    def ready_cmd(self, *args):
        return self.ns.run(READY, "--config", self.agent.conf_path, "--networks",
                           ",".join(NETS), *args, check=False)

    def check_lines(self, checks, where):
        for name, (verdict, detail, hint) in WANT.items():
            c = checks["network:" + name]
            self.assertEqual(c["verdict"], verdict, (where, c))
            self.assertEqual(c["detail"], detail, (where, c))
            if hint is None:
                self.assertFalse(c.get("hint"), (where, c))
            else:
                self.assertIn(hint, c["hint"], (where, c))

    def test_verb_line_by_line(self):
        # the devices exist before the agent starts; the poll only guards against a
        # snapshot taken before the namespace settled (never a timing assertion)
        def settled():
            c = by_name(self.verb())
            return (c["network:brok"]["verdict"] == "ok"
                    and c["network:brnolink"]["verdict"] == "fail")
        wait_for(settled, 30, "brok ok and brnolink failing in the agent's snapshot")
        rd = self.verb()
        self.check_lines(by_name(rd), "verb")
        self.assertEqual(rd["verdict"], "fail")
        names = [c["name"] for c in rd["checks"] if c["name"].startswith("network:")]
        self.assertEqual(names, ["network:" + n for n in NETS])   # in the order asked

    def test_command_json_and_table(self):
        p = self.ready_cmd("--json")
        self.assertEqual(p.returncode, 1, p.stderr)
        out = json.loads(p.stdout)
        self.check_lines(by_name(out), "vdsm-c-ready --json")
        self.assertEqual(out["verdict"], "fail")
        t = self.ready_cmd()
        self.assertEqual(t.returncode, 1, t.stderr)
        self.assertIn("NOT READY", t.stdout)
        lines = t.stdout.splitlines()
        for name, (verdict, detail, hint) in WANT.items():
            row = [i for i, l in enumerate(lines) if l.startswith("network:%s " % name)]
            self.assertEqual(len(row), 1, (name, t.stdout))
            self.assertRegex(lines[row[0]], r"^network:%s\s+%s\s+" % (name, verdict))
            self.assertTrue(lines[row[0]].rstrip().endswith(detail), (name, t.stdout))
            nxt = lines[row[0] + 1].strip() if row[0] + 1 < len(lines) else ""
            if hint:    # the hint is the next line, "-> what to do"
                self.assertTrue(nxt.startswith("-> "), (name, t.stdout))
                self.assertIn(hint, nxt, (name, t.stdout))
            else:
                self.assertFalse(nxt.startswith("->"), (name, t.stdout))

    def test_state_changes_are_seen(self):
        """Fixing a broken network turns its line ok; breaking the good one turns it
        to fail — the report follows the kernel, not a cached start-up view."""
        self.ns.run("ip", "link", "set", "pnolinkx", "up")
        self.addCleanup(self.ns.run, "ip", "link", "set", "pnolinkx", "down")
        wait_for(lambda: by_name(self.verb())["network:brnolink"]["verdict"] == "ok", 30,
                 "brnolink ok once its port has carrier")
        self.ns.run("ip", "link", "set", "brok", "down")
        self.addCleanup(self.ns.run, "ip", "link", "set", "brok", "up")
        c = wait_for(lambda: (lambda c: c if c["verdict"] == "fail" else None)(
            by_name(self.verb())["network:brok"]), 30, "brok down")
        self.assertEqual(c["detail"], "bridge 'brok' is down (MTU 1400)")
        p = self.ready_cmd("--json")
        self.assertEqual(by_name(json.loads(p.stdout))["network:brok"]["verdict"], "fail")

    def test_mtu_against_the_persisted_network(self):
        """brok runs with MTU 1400 in the kernel; the persisted running configuration
        (what setupNetworks saved) says 1500: the line warns and names both."""
        d = os.path.join(self.agent.root, "var/lib/vdsm-c/netconf/running")
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "networks")
        self.assertFalse(os.path.exists(path))
        with open(path, "w") as f:
            f.write("net brok nic=pok mtu=1500\n")
        self.addCleanup(os.unlink, path)
        want = ("warn", "'brok' has MTU 1400, the persisted network MTU 1500")
        c = by_name(self.verb())["network:brok"]
        self.assertEqual((c["verdict"], c["detail"]), want, c)
        self.assertIn("setupNetworks", c["hint"])
        p = self.ready_cmd("--json")
        c = by_name(json.loads(p.stdout))["network:brok"]
        self.assertEqual((c["verdict"], c["detail"]), want, c)
        # the configuration saying 1400 too: ok again
        with open(path, "w") as f:
            f.write("net brok nic=pok mtu=1400\n")
        self.assertEqual(by_name(self.verb())["network:brok"]["verdict"], "ok")


if __name__ == "__main__":
    unittest.main()
