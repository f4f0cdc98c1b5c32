"""getDeviceList against the real agent over mTLS (API.md §5.5). This machine has no
multipath maps, so the agent is pointed (vars.host_root) at the sysfs fixture
tests/data/storage (three maps over iSCSI and FC paths, two iSCSI sessions) with no
multipathd listening on its socket: the verb must still answer, from sysfs, with every
key in the wire type the engine casts to; checkStatus runs the real blkid on the
fixture's /dev/mapper nodes (empty files). The real kernel, multipathd, tgtd and lvm
are the lab tier's (tests/lab/tests/storage-agent-devices.sh)."""
import os
import unittest

from vdsmtest import Agent

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "storage")
G1, G2, G3 = "36001405abc000001", "36001405abc000002", "3600a098038303053"
STR_KEYS = ("GUID", "capacity", "devtype", "vendorID", "productID", "fwrev", "serial",
            "pvUUID", "vgUUID", "pvsize", "logicalblocksize", "physicalblocksize", "status")


class FixtureHostTest(unittest.TestCase):
    """One agent per class whose host is the sysfs/dev fixture under tests/data/storage
    (no multipathd; lvm as the fixture's PATH provides it)."""
    lvm_timeout = 5

    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(conf={
            "vars": {"host_root": os.path.realpath(FIXTURE)},
            "irs": {"multipathd_socket": "vdsmc-functional-no-mpathd-%d" % os.getpid(),
                    "lvm_timeout": str(cls.lvm_timeout)}})
        cls.agent.start()
        cls.agent.wait_ready()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.agent.stop()
        finally:
            cls.agent.__exit__(None, None, None)


class DeviceListTest(FixtureHostTest):

    def devlist(self, *args):
        r = self.agent.call("getDeviceList", *args)
        self.assertEqual(r["status"]["code"], 0, r["status"])
        return {d["GUID"]: d for d in r["devList"]}

    def test_fields_and_wire_types(self):
        devs = self.devlist(0, [], False)
        self.assertEqual(sorted(devs), [G1, G2, G3])
        for d in devs.values():
            for k in STR_KEYS:
                self.assertIsInstance(d[k], str, k)
            self.assertIsInstance(d["discard_max_bytes"], int)
            self.assertIsInstance(d["discard_zeroes_data"], int)
            for p in d["pathstatus"]:
                self.assertEqual(sorted(p), ["capacity", "lun", "physdev", "state", "type"])
                self.assertIsInstance(p["lun"], int)
                self.assertIsInstance(p["capacity"], str)
            self.assertEqual(d["status"], "unknown")        # checkStatus false
        d = devs[G1]
        self.assertEqual(d["capacity"], str(2097152 * 512))
        self.assertEqual((d["vendorID"], d["productID"], d["fwrev"], d["serial"]),
                         ("LIO-ORG", "lun1", "4.0", "6001405abc000001"))
        self.assertEqual((d["logicalblocksize"], d["physicalblocksize"]), ("512", "4096"))
        self.assertEqual(d["devtype"], "iSCSI")
        # no multipathd: states from the SCSI devices' sysfs state (sdc is offline)
        self.assertEqual([(p["physdev"], p["state"], p["lun"], p["type"]) for p in d["pathstatus"]],
                         [("sdb", "active", 1, "iSCSI"), ("sdc", "failed", 1, "iSCSI")])
        self.assertEqual(d["pathlist"], [
            {"connection": "10.199.1.1", "port": "3260", "iqn": "iqn.2026-11.org.example:lab1",
             "portal": "1", "initiatorname": "default", "user": "vdsmuser",
             "password": "s3cret"},
            {"connection": "fd00::2", "port": "3261", "iqn": "iqn.2026-11.org.example:lab1",
             "portal": "2", "initiatorname": "default"}])
        self.assertEqual(devs[G2]["devtype"], "MIXED")
        self.assertEqual(devs[G3]["devtype"], "FCP")
        self.assertEqual(devs[G3]["pathlist"], [])

    def test_filters(self):
        self.assertEqual(sorted(self.devlist(3)), [G1, G2])          # any iSCSI path
        self.assertEqual(sorted(self.devlist(2, [], False)), [G2, G3])
        self.assertEqual(sorted(self.devlist(1)), [G1, G2, G3])      # file types: no filter
        self.assertEqual(sorted(self.devlist(0, [G3, "nope"], False)), [G3])
        self.assertEqual(sorted(self.devlist("", [], "false")), [G1, G2, G3])

    def test_check_status(self):
        # real blkid on the fixture's nodes (empty files: no signature); G1 has a holder
        # (dm-1 on top); G3 has no active path and is never probed
        devs = self.devlist(0, [], True)
        self.assertEqual({g: d["status"] for g, d in devs.items()},
                         {G1: "used", G2: "free", G3: "unknown"})

    def test_bad_arguments(self):
        for args, code in (((99,), 468), (("iscsi",), 468), ((3, "x"), 16),
                           ((3, [1]), 1000), ((3, ["a" * 200]), 1000), ((3, [], "maybe"), 1000)):
            r = self.agent.call("getDeviceList", *args)
            self.assertEqual(r["status"]["code"], code, (args, r["status"]))
        # the refusal names the entry (VDSM's 'Invalid parameter' form)
        for args, msg in (((3, ["x", 1]), "Invalid parameter: 'guids[1]' is not a string"),
                          ((3, ["a" * 200]), "Invalid parameter: 'guids[0]' is too long")):
            self.assertEqual(self.agent.call("getDeviceList", *args)["status"]["message"], msg)

    def test_audit_free_and_listed(self):
        r = self.agent.call("getDeviceList")
        self.assertEqual(r["status"]["code"], 0)
        self.assertEqual(len(r["devList"]), 3)


if __name__ == "__main__":
    unittest.main()
