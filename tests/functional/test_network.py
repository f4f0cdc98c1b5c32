"""setupNetworks / setSafeNetworkConfig against a real vdsmd in a private network
namespace (real rtnetlink, real bridges; veth pairs stand in for NICs), driven over mTLS
like the manager. The kernel is read back with `ip -j` / `bridge -j`, independently of
the agent's own netlink code."""
import json
import os
import signal
import threading
import time
import unittest

from vdsmtest import Agent, Netns, run_pair, veth_to

HOST_IP, NS_IP = run_pair(251)

NO_CHECK = {"connectivityCheck": "false"}


class NetTest(unittest.TestCase):
    def setUp(self):
        self.ns = Netns("vdnw%d" % os.getpid()).__enter__()
        self.addCleanup(self.ns.__exit__)
        self.host_if, _ = veth_to(self.ns, HOST_IP, NS_IP)
        # four "NICs": veth pairs inside the namespace (names local to it)
        for i in range(2):
            self.ns.run("ip", "link", "add", "veth_a%d" % i, "type", "veth", "peer", "name",
                        "veth_b%d" % i)
            self.ns.run("ip", "link", "set", "veth_b%d" % i, "up")
            self.ns.run("ip", "link", "set", "veth_a%d" % i, "up")   # NICs are up
        self.agent = self.make_agent()

    def make_agent(self, fake_nics="veth_a*", env=None):
        a = Agent(conf={"vars": {"fake_nics": fake_nics}}, netns=self.ns.name, ip=NS_IP,
                  env=env)
        a.start()
        self.addCleanup(a.__exit__)
        a.wait_ready()
        return a

    # ---- kernel state, read with iproute2 ----

    def links(self):
        out = json.loads(self.ns.run("ip", "-d", "-j", "link", "show").stdout)
        return {l["ifname"]: l for l in out}

    def state(self):
        """What setupNetworks may change: links (kind, mtu, master, up), addresses
        (without kernel-made link-local ones), IPv4 routes."""
        links = {}
        for name, l in self.links().items():
            links[name] = (l.get("linkinfo", {}).get("info_kind", ""), l["mtu"],
                           l.get("master", ""), "UP" in l["flags"])
        addrs = json.loads(self.ns.run("ip", "-j", "addr", "show").stdout)
        a = sorted((x["ifname"], i["local"], i["prefixlen"]) for x in addrs
                   for i in x.get("addr_info", []) if not i["local"].startswith("fe80"))
        routes = json.loads(self.ns.run("ip", "-j", "route", "show").stdout)
        r = sorted((x["dst"], x.get("gateway", ""), x.get("dev", "")) for x in routes)
        return {"links": links, "addrs": a, "routes": r}

    def setup(self, nets, bonds=None, options=None, agent=None):
        return (agent or self.agent).call("setupNetworks", nets, bonds or {},
                                          NO_CHECK if options is None else options)

    def assertCode(self, reply, code, needle=""):
        self.assertEqual(reply["status"]["code"], code, reply)
        self.assertIn(needle, reply["status"]["message"])

    def caps(self):
        r = self.agent.call("getVdsCapabilities")
        self.assertCode(r, 0)
        return r["info"]

    # ---- tests ----

    def test_bridged_network_mtu_up_down_and_remove(self):
        r = self.setup({"vmnet": {"nic": "veth_a0", "mtu": "9000", "ipaddr": "192.0.2.1",
                                  "netmask": "255.255.255.0", "STP": "no"}})
        self.assertCode(r, 0)
        l = self.links()
        self.assertEqual(l["vmnet"]["linkinfo"]["info_kind"], "bridge")
        self.assertEqual(l["veth_a0"]["master"], "vmnet")
        self.assertEqual((l["vmnet"]["mtu"], l["veth_a0"]["mtu"]), (9000, 9000))
        ports = json.loads(self.ns.run("bridge", "-j", "link", "show").stdout)
        self.assertEqual([p["ifname"] for p in ports if p.get("master") == "vmnet"], ["veth_a0"])
        self.assertIn(("vmnet", "192.0.2.1", 24), self.state()["addrs"])
        info = self.caps()
        net = info["networks"]["vmnet"]
        self.assertEqual((net["iface"], net["bridged"], net["mtu"], net["addr"], net["ports"]),
                         ("vmnet", True, "9000", "192.0.2.1", ["veth_a0"]))
        self.assertEqual(info["bridges"]["vmnet"]["ports"], ["veth_a0"])
        self.assertEqual(info["netConfigDirty"], "True")
        self.assertCode(self.agent.call("setSafeNetworkConfig"), 0)
        self.assertEqual(self.caps()["netConfigDirty"], "False")
        # MTU down: the whole chain follows
        self.assertCode(self.setup({"vmnet": {"nic": "veth_a0", "mtu": "1500"}}), 0)
        l = self.links()
        self.assertEqual((l["vmnet"]["mtu"], l["veth_a0"]["mtu"]), (1500, 1500))
        self.assertNotIn(("vmnet", "192.0.2.1", 24), self.state()["addrs"])
        # move to the other NIC
        self.assertCode(self.setup({"vmnet": {"nic": "veth_a1"}}), 0)
        l = self.links()
        self.assertEqual(l["veth_a1"]["master"], "vmnet")
        self.assertNotIn("master", l["veth_a0"])
        # remove
        self.assertCode(self.setup({"vmnet": {"remove": "true"}}), 0)
        l = self.links()
        self.assertNotIn("vmnet", l)
        self.assertNotIn("master", l["veth_a1"])
        self.assertEqual(self.caps()["networks"], {})

    def test_bridgeless_network_with_address_and_default_route(self):
        r = self.setup({"mgmt": {"nic": "veth_a1", "bridged": False, "ipaddr": "198.51.100.7",
                                 "prefix": "24", "gateway": "198.51.100.1",
                                 "defaultRoute": True}})
        self.assertCode(r, 0)
        st = self.state()
        self.assertIn(("veth_a1", "198.51.100.7", 24), st["addrs"])
        self.assertIn(("default", "198.51.100.1", "veth_a1"), st["routes"])
        net = self.caps()["networks"]["mgmt"]
        self.assertEqual((net["iface"], net["interface"], net["bridged"], net["gateway"]),
                         ("veth_a1", "veth_a1", False, "198.51.100.1"))
        self.assertCode(self.setup({"mgmt": {"remove": "true"}}), 0)
        st = self.state()
        self.assertNotIn(("veth_a1", "198.51.100.7", 24), st["addrs"])
        self.assertFalse([r for r in st["routes"] if r[0] == "default"])

    def test_bridgeless_ipv6_address_and_gateway(self):
        r = self.setup({"v6": {"nic": "veth_a1", "bridged": "false",
                               "ipv6addr": "fd00:77::5/64", "ipv6gateway": "fd00:77::1"}})
        self.assertCode(r, 0)
        addrs = json.loads(self.ns.run("ip", "-6", "-j", "addr", "show", "dev", "veth_a1").stdout)
        self.assertIn(("fd00:77::5", 64), [(i["local"], i["prefixlen"])
                                            for i in addrs[0]["addr_info"]])
        routes = json.loads(self.ns.run("ip", "-6", "-j", "route", "show", "default").stdout)
        self.assertEqual([(x["gateway"], x["dev"]) for x in routes], [("fd00:77::1", "veth_a1")])
        self.assertEqual(self.caps()["networks"]["v6"]["ipv6gateway"], "fd00:77::1")
        self.assertCode(self.setup({"v6": {"remove": "true"}}), 0)
        routes = json.loads(self.ns.run("ip", "-6", "-j", "route", "show", "default").stdout)
        self.assertEqual(routes, [])

    def test_validation_errors_leave_the_kernel_untouched(self):
        self.assertCode(self.setup({"keep": {"nic": "veth_a0"}}), 0)
        before = self.state()
        cases = [
            ({"bad.name": {"nic": "veth_a1"}}, {}, 27, "bad.name"),
            ({"n1": {"nic": "veth_zz"}}, {}, 23, "unknown nic 'veth_zz'"),
            ({"n1": {"nic": "veth_b0"}}, {}, 23, "unknown nic"),   # not in fake_nics
            ({"n1": {"nic": "veth_a0"}}, {}, 24, "already carries"),
            ({"n1": {"nic": "veth_a1", "vlan": "5000"}}, {}, 26, "vlan"),
            ({"n1": {"nic": "veth_a1", "ipaddr": "1.2.3"}}, {}, 22, "ipaddr"),
            ({"n1": {"nic": "veth_a1", "gateway": "1.2.3.4"}}, {}, 22, "gateway without"),
            ({"n1": {"nic": "veth_a1", "mtu": "20"}}, {}, 21, "mtu"),
            ({"n1": {"remove": "true"}}, {}, 27, "does not exist"),
            ({"keep": {"remove": "true", "nic": "veth_a1"}}, {}, 21, "remove with other"),
            ({"n1": {"nic": "veth_a1", "bonding": "bond0"}}, {}, 21, "mutually exclusive"),
            ({}, {"bondx": {"nics": ["veth_a1"]}}, 25, "bond<digits>"),
            ({}, {"bond0": {"nics": ["veth_a1"], "options": "mode=7"}}, 25, "unknown mode"),
            ({}, {"bond0": {"nics": []}}, 21, "nics"),
            ({}, {"bond0": {"remove": "true"}}, 25, "does not exist"),
            ({"veth_a1": {"nic": "veth_a0"}}, {}, 27, "not a bridge"),
            # a valid network next to an invalid one: nothing of either is applied
            ({"ok": {"nic": "veth_a1"}, "n2": {"nic": "veth_zz"}}, {}, 23, "'n2'"),
        ]
        for nets, bonds, code, needle in cases:
            with self.subTest(nets=nets, bonds=bonds):
                self.assertCode(self.setup(nets, bonds), code, needle)
                self.assertEqual(self.state(), before)

    def test_host_qos_checked_from_the_wire(self):
        # hostQos is checked on the wire before anything is applied (this host's kernel
        # has no VLANs nor sch_hfsc: the apply side is tested in tests/lab/tests/net-qos.sh)
        self.assertCode(self.setup({"keep": {"nic": "veth_a0"}}), 0)
        before = self.state()

        def net(qos):
            return {"n1": {"nic": "veth_a1", "vlan": "10", "hostQos": qos}}
        cases = [
            ("x", "hostQos: not a struct"),
            ({"in": {}}, "hostQos: unknown key 'in'"),
            ({"out": {"sc": {"m2": 5}}}, "hostQos: out: unknown key 'sc'"),
            ({"out": {"ls": {"m2": 5, "rate": 1}}}, "hostQos: ls: unknown key 'rate'"),
            ({"out": {"ls": {"m1": 5}}}, "hostQos: ls: m2 is required"),
            ({"out": {"ls": {"m2": -5}}}, "hostQos: ls: m2 is not a non-negative integer"),
            ({"out": {"ls": {"m2": "5 rt:0,0,7"}}}, "ls: m2 is not a non-negative integer"),
            ({"out": {"ls": {"m2": 0}}}, "ls: m2 must be at least 1 bit/s"),
            ({"out": {"ls": {"m1": 1000, "m2": 5}}}, "ls: m1 needs a duration d"),
            ({"out": {"ul": {"m2": 5}}}, "the link-share curve ls is required"),
            ({"out": {"ls": {"m2": 50}, "ul": {"m2": 100}, "rt": {"m2": 200}}},
             "rt m2 200 exceeds ul m2 100"),
            ({"out": {"ls": {"m2": "34359738361"}}}, "ls: m1 and m2 must be integers"),
        ]
        for qos, needle in cases:
            with self.subTest(qos=qos):
                self.assertCode(self.setup(net(qos)), 21, needle)
                self.assertEqual(self.state(), before)
        # an untagged network's hostQos is valid (its class is the default class); this
        # host's kernel has no sch_hfsc, so the apply fails at the root qdisc and the
        # bridge made before is rolled back (the lab net-qos test applies it)
        r = self.setup({"n1": {"nic": "veth_a1", "hostQos": {"out": {"ls": {"m2": 50}}}}})
        self.assertCode(r, 29, "qos-root-add veth_a1")
        self.assertEqual(self.state(), before)

    def bridge_info(self, name):
        return self.links()[name]["linkinfo"]["info_data"]

    def test_bridge_opts_applied_validated_and_rolled_back(self):
        r = self.setup({"keep": {"nic": "veth_a0", "custom": {
            "bridge_opts": " multicast_snooping=0  priority=4096 ageing_time=30000 "}}})
        self.assertCode(r, 0)
        d = self.bridge_info("keep")
        self.assertEqual((d["mcast_snooping"], d["priority"], d["ageing_time"]),
                         (0, 4096, 30000))
        opts = self.caps()["bridges"]["keep"]["opts"]
        self.assertEqual((opts["multicast_snooping"], opts["priority"]), ("0", "4096"))
        before = self.state()
        cases = [
            ({"n1": {"nic": "veth_a1", "custom": {"bridge_opts": "frob=1"}}},
             "network 'n1': bridge_opts: unknown bridge option 'frob'"),
            ({"n1": {"nic": "veth_a1", "custom": {"bridge_opts": "priority=x"}}},
             "priority: bad value 'x'"),
            ({"n1": {"nic": "veth_a1", "custom": {"ethtool_opts": "-K veth_a1 tso off"}}},
             "custom property 'ethtool_opts'"),
        ]
        for nets, needle in cases:
            with self.subTest(nets=nets):
                self.assertCode(self.setup(nets), 21, needle)
                self.assertEqual(self.state(), before)
        # a value the kernel refuses (only 802.1Q and 802.1ad are VLAN protocols) fails in the middle: the edited
        # bridge is recreated by the rollback with its former options
        r = self.setup({"keep": {"nic": "veth_a0", "custom": {"bridge_opts": "vlan_protocol=0x1234"}}})
        self.assertEqual(r["status"]["code"], 29, r)
        self.assertIn("rolled back", r["status"]["message"])
        self.assertEqual(self.state(), before)
        d = self.bridge_info("keep")
        self.assertEqual((d["mcast_snooping"], d["priority"], d["ageing_time"]),
                         (0, 4096, 30000))
        # persisted: a restarted agent sees no difference to restore
        self.assertCode(self.agent.call("setSafeNetworkConfig"), 0)
        self.assertEqual(self.caps()["netConfigDirty"], "False")

    def test_failure_in_the_middle_rolls_everything_back(self):
        # an existing default route makes the last step (route add) fail
        self.ns.run("ip", "route", "add", "default", "via", HOST_IP)
        self.assertCode(self.setup({"keep": {"nic": "veth_a0", "mtu": "2000"}}), 0)
        before = self.state()
        r = self.setup({"keep": {"nic": "veth_a0", "mtu": "4000"},
                        "second": {"nic": "veth_a1", "bridged": "false",
                                   "ipaddr": "203.0.113.5", "prefix": "24",
                                   "gateway": "203.0.113.1", "defaultRoute": "true"}})
        self.assertCode(r, 29, "route-add veth_a1 default via 203.0.113.1")
        self.assertIn("rolled back", r["status"]["message"])
        self.assertEqual(self.state(), before)
        # the agent still knows the old configuration
        self.assertEqual(sorted(self.caps()["networks"]), ["keep"])

    def test_connectivity_check_timeout_rolls_back(self):
        before = self.state()
        t0 = time.monotonic()
        r = self.setup({"cc": {"nic": "veth_a0"}}, options={"connectivityCheck": "true",
                                                              "connectivityTimeout": 2})
        self.assertCode(r, 10, "connectivity check failed")
        self.assertGreaterEqual(time.monotonic() - t0, 2)
        self.assertEqual(self.state(), before)
        self.assertEqual(self.caps()["networks"], {})

    def test_connectivity_check_with_callback_keeps_and_second_call_gets_40(self):
        result = {}

        def run():
            result["r"] = self.setup({"cc": {"nic": "veth_a0"}},
                                     options={"connectivityCheck": True,
                                              "connectivityTimeout": "30"})

        t = threading.Thread(target=run)
        t.start()
        # wait until the bridge exists (the agent is then in the connectivity wait)
        deadline = time.monotonic() + 20
        while "cc" not in self.links() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("cc", self.links())
        self.assertCode(self.setup({"other": {"nic": "veth_a1"}}), 40)
        self.assertCode(self.agent.call("setSafeNetworkConfig"), 40)
        while t.is_alive() and time.monotonic() < deadline:
            self.agent.call("ping")            # the manager calling back
            t.join(0.2)
        t.join()
        self.assertCode(result["r"], 0)
        self.assertEqual(self.links()["veth_a0"]["master"], "cc")

    def test_fake_nics_hidden_without_listing(self):
        a = self.make_agent(fake_nics="dummy_*")
        self.assertNotIn("veth_a0", a.call("getVdsCapabilities")["info"]["nics"])
        self.assertCode(self.setup({"n": {"nic": "veth_a0"}}, agent=a), 23, "unknown nic")

    def test_safe_config_restored_after_a_reboot(self):
        # After a reboot the persisted running configuration equals safe, yet the
        # kernel has none of it: the agent must make it again at start.
        self.assertCode(self.setup({"boot1": {"nic": "veth_a0", "mtu": "3000",
                                              "ipaddr": "192.0.2.21", "prefix": "24"},
                                    "boot2": {"nic": "veth_a1", "bridged": "false",
                                              "ipaddr": "192.0.2.41", "prefix": "28"}}), 0)
        self.assertCode(self.agent.call("setSafeNetworkConfig"), 0)
        safe_state = self.state()
        self.agent.stop()
        # "reboot": the bridge goes, the NICs lose their addresses and MTUs
        self.ns.run("ip", "link", "del", "boot1")
        for nic in ("veth_a0", "veth_a1"):
            self.ns.run("ip", "addr", "flush", "dev", nic)
            self.ns.run("ip", "link", "set", nic, "mtu", "1500")
        self.assertNotEqual(self.state(), safe_state)
        self.agent.start()
        self.agent.wait_ready()
        self.assertIn("differ from the kernel (network 'boot1': bridge missing", self.agent.log())
        self.assertEqual(self.state(), safe_state)
        self.assertEqual(self.caps()["netConfigDirty"], "False")
        # a restart with everything in place changes nothing
        self.agent.stop()
        self.agent.start()
        self.agent.wait_ready()
        self.assertEqual(self.agent.log().count("differ from the kernel"), 1)
        self.assertEqual(self.state(), safe_state)
        # one attribute changed behind the agent's back (the bridge's MTU, its devices
        # all present): found by the comparison at start and restored
        self.agent.stop()
        self.ns.run("ip", "link", "set", "boot1", "mtu", "1400")
        self.assertNotEqual(self.state(), safe_state)
        self.agent.start()
        self.agent.wait_ready()
        self.assertIn("network 'boot1': 'boot1' mtu 1400, configured 3000", self.agent.log())
        self.assertEqual(self.agent.log().count("differ from the kernel"), 2)
        self.assertEqual(self.state(), safe_state)
        self.assertEqual(self.caps()["netConfigDirty"], "False")

    def test_sigkill_at_each_step_restores_safe_config(self):
        # safe: one bridged network on veth_a0
        self.assertCode(self.setup({"safe1": {"nic": "veth_a0", "mtu": "3000"}}), 0)
        self.assertCode(self.agent.call("setSafeNetworkConfig"), 0)
        safe_state = self.state()
        a = self.agent
        a.stop()
        request = ({"safe1": {"remove": "true"},
                    "new1": {"nic": "veth_a1", "mtu": "5000", "ipaddr": "192.0.2.9",
                             "prefix": "24"},
                    "new2": {"nic": "veth_a0", "bridged": "false", "ipaddr": "192.0.2.77",
                             "prefix": "28"}}, {}, NO_CHECK)
        k = 0
        while True:
            a.env = {"VDSMC_TEST_NET_KILL_AT_STEP": str(k)}
            a.start()
            a.wait_ready()
            self.assertEqual(self.state(), safe_state, "after restart before step %d" % k)
            try:
                r = a.call("setupNetworks", *request)
            except Exception:
                r = None               # killed mid-call: the connection drops
            if r is not None:          # k is past the last step: the call completed
                self.assertCode(r, 0)
                self.assertEqual(a.stop(), 0)
                break
            self.assertEqual(a.stop(), -signal.SIGKILL)
            k += 1
        self.assertGreater(k, 5)
        # the last run finished with running != safe: the next start restores safe
        a.env = None
        a.start()
        a.wait_ready()
        self.assertEqual(self.state(), safe_state)
        self.assertEqual(sorted(a.call("getVdsCapabilities")["info"]["networks"]), ["safe1"])


if __name__ == "__main__":
    unittest.main()
