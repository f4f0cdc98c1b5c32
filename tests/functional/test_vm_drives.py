"""VM drives and storage (issue 14) through a real libvirtd: a drive given the way the
manager sends it — poolID/domainID/imageID/volumeID — is resolved through prepareImage
to the image's path, which is what libvirt gets; drive paths outside the storage roots
(/dev/sda, /etc/shadow, a symlink from inside a root to /etc/shadow) are refused with a
code before libvirt sees the VM."""
import os
import uuid

from test_sd import make_volume
from test_vm import VmBase

BLANK = "00000000-0000-0000-0000-000000000000"
LOCALFS = 4


class VmDrivesTest(VmBase):
    def ok(self, r):
        self.assertEqual(r["status"]["code"], 0, r["status"])
        return r

    def test_drive_by_ids(self):
        local = os.path.join(self.tmp, "sd_%s" % uuid.uuid4().hex[:8])
        os.makedirs(local)
        con = {"id": str(uuid.uuid4()), "connection": local}
        self.ok(self.agent.call("connectStorageServer", LOCALFS, BLANK, [con]))
        self.addCleanup(self.agent.call, "disconnectStorageServer", LOCALFS, BLANK, [con])
        sd, img, vol = (str(uuid.uuid4()) for _ in range(3))
        self.ok(self.agent.call("createStorageDomain", LOCALFS, sd, "vm disks", local, 1, "3"))
        vf = make_volume(os.path.join(local, sd), sd, img, vol, size_mb=16)

        p = self.params()
        p["devices"].append({"type": "disk", "device": "disk", "iface": "virtio",
                             "format": "raw", "poolID": BLANK, "domainID": sd,
                             "imageID": img, "volumeID": vol,
                             "deviceId": str(uuid.uuid4())})
        self.create(p)
        self.wait_status(p["vmId"], "Up", timeout=90)
        xml = self.lv.virsh("dumpxml", p["vmId"]).stdout
        want = os.path.join(self.agent.root, "run", "vdsm", "storage", sd, img, vol)
        self.assertIn("<source file='%s'" % want, xml)
        self.assertEqual(os.path.realpath(want), os.path.realpath(vf))

        # An image that is not there: refused with its storage code, no domain in libvirt.
        p = self.params()
        p["devices"].append({"type": "disk", "device": "disk", "iface": "virtio",
                             "format": "raw", "poolID": BLANK, "domainID": sd,
                             "imageID": img, "volumeID": str(uuid.uuid4())})
        r = self.agent.call("create", p)
        self.assertEqual(r["status"]["code"], 201, r["status"])
        self.assertNotIn(p["vmId"], self.domains())

    def test_drive_paths_outside_the_roots(self):
        link = os.path.join(self.tmp, "innocent.img")
        if not os.path.lexists(link):
            os.symlink("/etc/shadow", link)
        for what, path in (("a host disk", "/dev/sda"), ("a host file", "/etc/shadow"),
                           ("a symlink out of a root", link),
                           ("a path climbing out of a root", self.tmp + "/../../etc/shadow")):
            with self.subTest(what):
                p = self.params(disks=[path])
                r = self.agent.call("create", p)
                self.assertEqual(r["status"]["code"], 9, r["status"])
                self.assertIn("root" if what != "a path climbing out of a root" else "path",
                              r["status"]["message"])
                self.assertNotIn(p["vmId"], self.domains())
