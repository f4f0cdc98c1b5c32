"""Migration tier: two emulated hosts (migtest.TwoHosts), brought up once for the module.

So far: the hosts themselves (distinct identities, the bridge, each agent driving its own
libvirtd) and a libvirt peer-to-peer live migration between them of a guest the agent on
A created, with the guest's identity and liveness checked as the agent's own migration
will be (same MAC/UUID in dumpxml on B, pings answered again, console heartbeat keeps
counting). The agent's migrate/migrationCreate verbs are not there yet.
"""
import re
import unittest

from migtest import TwoHosts, missing_requirements, wait_for

hosts = None


def setUpModule():
    global hosts
    why = missing_requirements()
    if why:
        raise unittest.SkipTest(why)
    hosts = TwoHosts().start()


def tearDownModule():
    if hosts:
        hosts.close()


def macs(xml):
    return sorted(re.findall(r"<mac address='([0-9a-f:]{17})'", xml or ""))


class TwoHostsTest(unittest.TestCase):
    def test_hosts_are_distinct(self):
        caps = []
        for h in hosts.hosts:
            r = h.agent.call("getVdsCapabilities")
            self.assertEqual(r["status"]["code"], 0, r["status"])
            self.assertEqual(r["info"]["uuid"], h.host_uuid)
            self.assertIn("ovirtmgmt", r["info"]["bridges"])
            caps.append(r["info"])
            # libvirt's own host UUID is what its migration cookie compares
            out = h.lv.virsh("sysinfo", check=False).stdout + h.lv.virsh("capabilities").stdout
            self.assertIn("<uuid>%s</uuid>" % h.host_uuid, out)
        self.assertNotEqual(caps[0]["uuid"], caps[1]["uuid"])


class LibvirtP2PTest(unittest.TestCase):
    """The path the agent's migrate will drive (virDomainMigrateToURI3, LIVE|PEER2PEER),
    done with virsh against A's libvirtd on a guest created through A's agent."""

    def setUp(self):
        self.vm_ids = []

    def tearDown(self):
        for vid in self.vm_ids:
            for h in hosts.hosts:
                try:
                    h.agent.call("destroy", vid)
                except Exception:
                    pass
                h.lv.virsh("destroy", vid, check=False)

    def test_virsh_p2p_keeps_identity_and_guest(self):
        a, b = hosts.a, hosts.b
        p = hosts.vm_params(n=1)
        vid = p["vmId"]
        r = a.agent.call("create", p)
        self.assertEqual(r["status"]["code"], 0, r["status"])
        self.vm_ids.append(vid)
        guest = hosts.guest_ip(1)
        wait_for(lambda: a.agent.call("getVmStats", vid)["statsList"][0]["status"] == "Up",
                 90, "VM Up on A")
        wait_for(lambda: hosts.answers_ping(guest), 90, "guest answers ping", step=0.5)
        xml_a = a.dumpxml(vid)
        self.assertEqual(macs(xml_a), [p["devices"][0]["macAddr"]])

        pinger = hosts.pinger(guest)
        try:
            wait_for(lambda: hosts.heartbeat(vid) > 0, 30, "console heartbeat")
            hb_before = hosts.heartbeat(vid)
            m = a.lv.virsh("migrate", "--live", "--p2p", vid, b.tcp_uri, "tcp://%s" % b.addr,
                           check=False)
            self.assertEqual(m.returncode, 0, m.stderr)
            self.assertNotIn(vid, a.domains())
            self.assertIn(vid, b.domains())
            xml_b = b.dumpxml(vid)
            self.assertEqual(macs(xml_b), macs(xml_a))
            self.assertIn("<uuid>%s</uuid>" % vid, xml_b)
            # liveness, not only the API result: pings answered again, heartbeat counting
            wait_for(lambda: hosts.answers_ping(guest), 30, "guest answers ping on B", step=0.2)
            wait_for(lambda: hosts.heartbeat(vid) > hb_before + 2, 30, "heartbeat after")
        finally:
            seqs = hosts.stop_pinger(pinger)
        self.assertNotIn("MIGLAB READY", hosts.console(vid).split("MIGLAB READY", 1)[1],
                         "the guest booted again")
        lost = (max(seqs) + 1 - len(set(seqs))) if seqs else None
        st = a.agent.call("getVmStats", vid)
        s = st["statsList"][0] if st["status"]["code"] == 0 else st["status"]
        print("\n    virsh p2p: %d pings answered, %s lost; agent A after: %s %s" % (
            len(seqs), lost, s.get("status", s), s.get("exitReason", "")))
