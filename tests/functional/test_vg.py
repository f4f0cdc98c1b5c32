"""createVG / getVGInfo against the real agent over mTLS (API.md §5.5): the refusals
that come before any lvm command writes. As in test_devices.py the agent sees the sysfs
fixture tests/data/storage (maps of 1-2 GiB, no multipathd; the real blkid and lvm read
the fixture's /dev/mapper nodes, empty files). A real VG on real multipath maps is the
lab tier's (tests/lab/tests/storage-agent-sd-block.sh)."""
import unittest
import uuid

from test_devices import FixtureHostTest

G1, G2 = "36001405abc000001", "36001405abc000002"


class VGTest(FixtureHostTest):
    lvm_timeout = 10

    def code(self, verb, *args):
        return self.agent.call(verb, *args)["status"]["code"]

    def test_create_refusals(self):
        sd = str(uuid.uuid4())
        self.assertEqual(self.code("createVG", "not-a-uuid", [G2]), 1000)
        self.assertEqual(self.code("createVG", sd, [G2, "3600000000000000000e0000000ffff0001"]), 606)
        self.assertEqual(self.code("createVG", sd, ["/dev/sda"]), 606)
        self.assertEqual(self.code("createVG", sd, [G2, G2]), 1000)
        self.assertEqual(self.code("createVG", sd, []), 1000)
        self.assertEqual(self.code("createVG", sd, [G2, 7]), 1000)
        # not an array: 16, as every verb answers a parameter of the wrong XML-RPC type
        self.assertEqual(self.code("createVG", sd, G2), 16)
        self.assertEqual(self.code("createVG", sd, [G2], "maybe"), 1000)
        # G1 carries an LV (a dm holder): in use without force
        self.assertEqual(self.code("createVG", sd, [G1, G2]), 601)
        # 2 GiB together: too small even with force
        self.assertEqual(self.code("createVG", sd, [G1, G2], True), 504)
        log = self.agent.log()
        self.assertIn("AUDIT verb=createVG", log)
        self.assertIn("obj=%s code=504" % sd, log)

    def test_vg_info_unknown(self):
        self.assertEqual(self.code("getVGInfo", "AAAAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGGGG"), 506)
        self.assertEqual(self.code("getVGInfo", "a b;c"), 506)
        self.assertEqual(self.code("getVGInfo", ""), 506)


if __name__ == "__main__":
    unittest.main()
