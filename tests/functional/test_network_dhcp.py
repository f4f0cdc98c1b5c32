"""setupNetworks with bootproto dhcp against a real vdsmd in a private network namespace:
the agent's DHCP client (dhcpcd) gets its lease from a dnsmasq the test runs inside the
same namespace (traffic never leaves it). The kernel is read back with `ip -j`; the
client is found through its pid file and /proc, independently of the agent.

dhcpcd keys its pid file and control socket (/run/dhcpcd/<dev>-4.*) on the device name
in every namespace, so every device name here carries the test's PID."""
import json
import os
import signal
import subprocess
import time
import unittest

from vdsmtest import Agent, Netns, run_pair, veth_to

NO_CHECK = {"connectivityCheck": "false"}
DHCPCD = "/usr/sbin/dhcpcd"
DNSMASQ = "/usr/sbin/dnsmasq"
SERVER = "10.232.0.1"
POOL = ("10.232.0.50", "10.232.0.60")
SERVER6 = "fd00:232::1"
POOL6 = ("fd00:232::50", "fd00:232::60")


def in_pool(addr):
    last = int(addr.rsplit(".", 1)[1])
    return addr.startswith("10.232.0.") and 50 <= last <= 60


def alive(pid):
    """True while pid runs (a zombie left to an init that does not reap is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def poll(fn, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(0.1)


class DhcpTest(unittest.TestCase):
    def setUp(self):
        for p in (DHCPCD, DNSMASQ):
            self.assertTrue(os.access(p, os.X_OK), "%s missing: scripts/install-deps" % p)
        pid = os.getpid() % 100000
        self.net = "dh%d" % pid                      # bridge name = network name
        self.nic = "veth_d%d" % pid                  # the NIC the DHCP server is behind
        self.nic2 = "veth_e%d" % pid                 # a NIC with no server behind it
        self.devs = [self.net, self.nic, self.nic2]
        self.ns = Netns("vddh%d" % pid).__enter__()
        self.addCleanup(self.ns.__exit__)
        # SLAAC off for every device made in the namespace: only the agent turns it on
        for key in ("accept_ra", "autoconf"):
            self.ns.run("sysctl", "-q", "-w", "net.ipv6.conf.default.%s=0" % key)
        self.addCleanup(self.stop_clients)
        host_ip, self.agent_ip = run_pair(253)   # the agent's mTLS (root <-> namespace)
        veth_to(self.ns, host_ip, self.agent_ip)
        for nic, peer in ((self.nic, "srv%d" % pid), (self.nic2, "nosrv%d" % pid)):
            self.ns.run("ip", "link", "add", nic, "type", "veth", "peer", "name", peer)
            self.ns.run("ip", "link", "set", peer, "up")
            self.ns.run("ip", "link", "set", nic, "up")
        srv = "srv%d" % pid
        self.ns.run("ip", "addr", "add", SERVER + "/24", "dev", srv)
        self.ns.run("ip", "addr", "add", SERVER6 + "/64", "dev", srv, "nodad")
        self.leases = "/tmp/vdsm-dhcp-%d.leases" % pid
        self.dnslog = "/tmp/vdsm-dhcp-%d.log" % pid
        self.addCleanup(lambda: [os.path.exists(f) and os.unlink(f)
                                 for f in (self.leases, self.dnslog)])
        with open(self.dnslog, "w") as log:
            self.server = subprocess.Popen(
                ["ip", "netns", "exec", self.ns.name, DNSMASQ, "--keep-in-foreground",
                 "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--port=0",
                 "--interface=" + srv, "--bind-interfaces", "--log-dhcp", "--log-facility=-",
                 "--pid-file=",
                 "--dhcp-range=%s,%s,255.255.255.0,10m" % POOL,
                 # DHCPv6 leases and, in the same router advertisements, a SLAAC prefix
                 "--dhcp-range=%s,%s,slaac,64,10m" % POOL6, "--enable-ra",
                 "--dhcp-leasefile=" + self.leases], stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(self.stop_server)
        self.agent = self.make_agent()

    def make_agent(self, dhcp_timeout=60):
        a = Agent(conf={"vars": {"fake_nics": "veth_*", "dhcp_timeout": str(dhcp_timeout)}},
                  netns=self.ns.name, ip=self.agent_ip)
        a.start()
        self.addCleanup(a.__exit__)
        a.wait_ready()
        return a

    def stop_server(self):
        self.server.terminate()
        self.server.wait(30)

    def client_pid(self, dev, family=4):
        """The pid of the dhcpcd serving dev (its pid file), if it runs."""
        try:
            with open("/run/dhcpcd/%s-%d.pid" % (dev, family)) as f:
                pid = int(f.read().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None
        return pid if alive(pid) else None

    def stop_clients(self):
        """Cleanup after a failure: the clients the agent left for our devices."""
        for dev, family in [(d, f) for d in self.devs for f in (4, 6)]:
            pid = self.client_pid(dev, family)
            if pid:
                os.kill(pid, signal.SIGTERM)
                poll(lambda: not alive(pid), 30, "dhcpcd %d to exit" % pid)
        for dev, ext in [(d, e) for d in self.devs for e in ("lease", "lease6")]:
            path = "/var/lib/dhcpcd/%s.%s" % (dev, ext)   # left when not released
            if os.path.exists(path):
                os.unlink(path)

    def setup(self, nets, options=None, agent=None):
        return (agent or self.agent).call("setupNetworks", nets, {},
                                          NO_CHECK if options is None else options)

    def assertCode(self, reply, code, needle=""):
        self.assertEqual(reply["status"]["code"], code, reply)
        self.assertIn(needle, reply["status"]["message"])

    def addrs(self, dev):
        out = self.ns.run("ip", "-4", "-j", "addr", "show", "dev", dev, check=False)
        if out.returncode:
            return []
        return [(i["local"], i["prefixlen"], i.get("dynamic", False))
                for x in json.loads(out.stdout) for i in x.get("addr_info", [])]

    def addrs6(self, dev):
        out = self.ns.run("ip", "-6", "-j", "addr", "show", "dev", dev, check=False)
        if out.returncode:
            return []
        return [(i["local"], i["prefixlen"]) for x in json.loads(out.stdout)
                for i in x.get("addr_info", []) if i["local"].startswith("fd00:232:")]

    def sysctl6(self, dev, key):
        return self.ns.run("cat", "/proc/sys/net/ipv6/conf/%s/%s" % (dev, key)).stdout.strip()

    def default_routes(self):
        return [(r.get("gateway"), r["dev"]) for r in
                json.loads(self.ns.run("ip", "-4", "-j", "route", "show", "default").stdout)]

    def caps_net(self, name):
        r = self.agent.call("getVdsCapabilities")
        self.assertCode(r, 0)
        return r["info"]["networks"].get(name)

    def released(self, addr):
        with open(self.dnslog) as f:
            return any("DHCPRELEASE" in l and addr in l for l in f)

    # ---- tests ----

    def test_bridged_blocking_dhcp_lease_reported_and_released_on_removal(self):
        r = self.setup({self.net: {"nic": self.nic, "bootproto": "dhcp", "blockingdhcp": True,
                                   "defaultRoute": True, "STP": "no"}})
        self.assertCode(r, 0)
        # blockingdhcp: the lease is there when the call returns
        a = self.addrs(self.net)
        self.assertEqual(len(a), 1, a)
        addr, prefix, dynamic = a[0]
        self.assertTrue(in_pool(addr), a)
        self.assertEqual((prefix, dynamic), (24, True))
        self.assertIn((SERVER, self.net), self.default_routes())
        pid = self.client_pid(self.net)
        self.assertTrue(pid, "no dhcpcd runs for %s" % self.net)
        net = self.caps_net(self.net)
        self.assertEqual((net["bootproto4"], net["dhcpv4"], net["addr"], net["netmask"],
                          net["gateway"], net["cfg"]["BOOTPROTO"]),
                         ("dhcp", True, addr, "255.255.255.0", SERVER, "dhcp"))
        # persisted like any attribute: running = safe after setSafeNetworkConfig
        self.assertCode(self.agent.call("setSafeNetworkConfig"), 0)
        self.assertEqual(self.agent.call("getVdsCapabilities")["info"]["netConfigDirty"],
                         "False")
        # removal: the client releases the lease and exits
        self.assertCode(self.setup({self.net: {"remove": "true"}}), 0)
        self.assertFalse(alive(pid))
        self.assertIsNone(self.client_pid(self.net))
        poll(lambda: self.released(addr), 30, "DHCPRELEASE at the server")
        self.assertEqual(self.default_routes(), [])
        self.assertIsNone(self.caps_net(self.net))

    def test_bridgeless_background_dhcp_restored_at_agent_start(self):
        r = self.setup({"dhnic": {"nic": self.nic, "bridged": "false", "bootproto": "dhcp"}})
        self.assertCode(r, 0)
        # not blocking: the lease comes in the background
        a = poll(lambda: [x for x in self.addrs(self.nic) if in_pool(x[0])], 60,
                 "a lease on %s" % self.nic)
        # no defaultRoute: the lease's router is not installed
        self.assertEqual(self.default_routes(), [])
        poll(lambda: self.caps_net("dhnic")["addr"] == a[0][0], 30, "the lease in caps")
        self.assertCode(self.agent.call("setSafeNetworkConfig"), 0)
        # the client outlives the agent; one that died is started again at agent start
        self.assertEqual(self.agent.stop(), 0)
        pid = self.client_pid(self.nic)
        self.assertTrue(pid)
        os.kill(pid, signal.SIGTERM)
        poll(lambda: not alive(pid), 30, "dhcpcd to exit")
        self.agent.start()
        self.agent.wait_ready()
        pid2 = poll(lambda: self.client_pid(self.nic), 30, "dhcpcd started by the agent")
        self.assertNotEqual(pid, pid2)
        poll(lambda: [x for x in self.addrs(self.nic) if in_pool(x[0])], 60, "a lease again")
        # removal releases: the NIC stays, its leased address goes
        self.assertCode(self.setup({"dhnic": {"remove": "true"}}), 0)
        self.assertIsNone(self.client_pid(self.nic))
        self.assertEqual([x for x in self.addrs(self.nic) if in_pool(x[0])], [])

    def test_connectivity_check_rollback_leaves_no_client(self):
        r = self.setup({self.net: {"nic": self.nic, "bootproto": "dhcp",
                                   "blockingdhcp": "true"}},
                       options={"connectivityCheck": "true", "connectivityTimeout": 2})
        self.assertCode(r, 10, "connectivity check failed")
        self.assertIsNone(self.client_pid(self.net))
        links = [l["ifname"] for l in json.loads(self.ns.run("ip", "-j", "link").stdout)]
        self.assertNotIn(self.net, links)
        self.assertEqual([x for x in self.addrs(self.nic) if in_pool(x[0])], [])
        self.assertIsNone(self.caps_net(self.net))

    def test_no_lease_in_time_fails_with_29_and_rolls_back(self):
        self.assertEqual(self.agent.stop(), 0)
        self.agent = self.make_agent(dhcp_timeout=3)
        before = [l["ifname"] for l in json.loads(self.ns.run("ip", "-j", "link").stdout)]
        r = self.setup({self.net: {"nic": self.nic2, "bootproto": "dhcp",
                                   "blockingdhcp": "true"}})
        self.assertCode(r, 29, "no DHCP lease in time")
        self.assertIn("rolled back", r["status"]["message"])
        self.assertIsNone(self.client_pid(self.net))
        after = [l["ifname"] for l in json.loads(self.ns.run("ip", "-j", "link").stdout)]
        self.assertEqual(after, before)
        self.assertIsNone(self.caps_net(self.net))

    def test_dhcpv6_blocking_lease_released_on_removal(self):
        r = self.setup({"dh6": {"nic": self.nic, "bridged": "false", "dhcpv6": "true",
                                "blockingdhcp": "true"}})
        self.assertCode(r, 0)
        a = self.addrs6(self.nic)
        self.assertEqual(len(a), 1, a)
        self.assertEqual(a[0][1], 128)
        last = int(a[0][0].rsplit(":", 1)[1], 16)
        self.assertTrue(0x50 <= last <= 0x60, a)
        self.assertTrue(self.client_pid(self.nic, 6))
        self.assertIsNone(self.client_pid(self.nic, 4))
        net = self.caps_net("dh6")
        self.assertEqual((net["dhcpv6"], net["dhcpv4"], net["bootproto4"]), (True, False, "none"))
        self.assertIn("%s/128" % a[0][0], net["ipv6addrs"])
        self.assertCode(self.setup({"dh6": {"remove": "true"}}), 0)
        self.assertIsNone(self.client_pid(self.nic, 6))
        self.assertEqual(self.addrs6(self.nic), [])

    def test_ipv6autoconf_sets_slaac_and_gets_an_address(self):
        r = self.setup({self.net: {"nic": self.nic, "ipv6autoconf": "true", "STP": "no"}})
        self.assertCode(r, 0)
        self.assertEqual((self.sysctl6(self.net, "accept_ra"), self.sysctl6(self.net, "autoconf")),
                         ("1", "1"))
        # the prefix of the server's router advertisements, EUI-64 from the bridge address
        a = poll(lambda: [x for x in self.addrs6(self.net) if x[1] == 64], 60,
                 "a SLAAC address on %s" % self.net)
        self.assertTrue(a[0][0].startswith("fd00:232::"), a)
        self.assertIsNone(self.client_pid(self.net, 6))   # SLAAC is the kernel's, no client
        self.assertEqual(self.caps_net(self.net)["ipv6autoconf"], True)
        # a bridgeless network on the NIC: SLAAC on, then off again on removal
        self.assertCode(self.setup({self.net: {"remove": "true"},
                                    "v6nic": {"nic": self.nic2, "bridged": "false",
                                              "ipv6autoconf": "true"}}), 0)
        self.assertEqual(self.sysctl6(self.nic2, "autoconf"), "1")
        self.assertCode(self.setup({"v6nic": {"remove": "true"}}), 0)
        self.assertEqual((self.sysctl6(self.nic2, "accept_ra"), self.sysctl6(self.nic2, "autoconf")),
                         ("0", "0"))

    def test_validation(self):
        cases = [
            ({"n1": {"nic": self.nic, "bootproto": "bootp"}}, 21, "bootproto 'bootp'"),
            ({"n1": {"nic": self.nic, "bootproto": "dhcp", "ipaddr": "10.232.0.9",
                     "prefix": "24"}}, 22, "mutually exclusive"),
            ({"n1": {"nic": self.nic, "bootproto": "dhcp", "gateway": "10.232.0.1"}}, 22,
             "gateway without"),
            ({"n1": {"nic": self.nic, "bootproto": "dhcp", "blockingdhcp": "maybe"}}, 21,
             "blockingdhcp"),
            ({"n1": {"nic": self.nic, "dhcpv6": "true", "ipv6addr": "fd00:232::9/64"}}, 22,
             "mutually exclusive"),
            ({"n1": {"nic": self.nic, "ipv6autoconf": "yes please"}}, 21, "ipv6autoconf"),
        ]
        for nets, code, needle in cases:
            with self.subTest(nets=nets):
                self.assertCode(self.setup(nets), code, needle)
                self.assertIsNone(self.client_pid(self.nic))


if __name__ == "__main__":
    unittest.main()
