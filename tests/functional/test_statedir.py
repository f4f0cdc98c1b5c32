"""A state directory that fills up while the agent runs (issue 9 item 5): create must
fail with a code, keep no registry entry and leave nothing in libvirt, instead of
answering 0 for a VM whose record could not be written.

The agent runs in the test's own mount namespace view: a small tmpfs is mounted over
its ROOT/run/vdsm-c before it starts and filled after; the private libvirtd runs in its
own network namespace (as in test_vm.VmNoLibvirtYetTest) and is reached through its
socket. The tmpfs is unmounted in tearDown even when the test fails.
"""
import os
import shutil
import subprocess
import time
import unittest
import uuid

import vdsmtest
from vdsmtest import Agent, Netns, private_libvirtd, wait_for




@unittest.skipUnless(shutil.which("libvirtd") and shutil.which("qemu-system-x86_64")
                     and os.geteuid() == 0, "needs root (mount), libvirtd and qemu")
class StateDirFullTest(unittest.TestCase):
    def setUp(self):
        self.ns = self.lv = self.agent = self.mounted = None
        self.vms = []
        try:
            self.ns = Netns("vdsd").__enter__()
            self.lv = private_libvirtd(netns=self.ns.name).start()
            self.agent = Agent(conf={"vars": {"libvirt_uri": self.lv.uri,
                                              "vm_domain_type": "qemu",
                                              "vm_sample_interval": "1"}})
            self.state = os.path.join(self.agent.root, "run", "vdsm-c")
            os.makedirs(self.state)
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755",
                            "vdsmtest-state", self.state], check=True)
            self.mounted = self.state
            self.agent.start()
            self.agent.wait_ready(timeout=60)
            wait_for(lambda: self.agent.call("list")["status"]["code"] == 0, 60,
                     "the VM module to connect to libvirt")
        except BaseException:
            self.tearDown()
            raise

    def tearDown(self):
        for vid in self.vms:
            if self.agent and self.agent.proc:
                try:
                    self.agent.call("destroy", vid)
                except Exception:
                    pass
            if self.lv:
                self.lv.virsh("destroy", vid, check=False)
        if self.agent:
            self.agent.stop()
        if self.mounted:
            subprocess.run(["umount", self.mounted])
        if self.agent:
            self.agent.__exit__(None, None, None)
        if self.lv:
            self.lv.__exit__(None, None, None)
        if self.ns:
            self.ns.__exit__(None, None, None)

    def fill(self):
        vdsmtest.fill_filesystem(self.state)

    def test_create_refused_when_record_cannot_be_written(self):
        self.fill()
        vid = str(uuid.uuid4())
        self.vms.append(vid)
        # No disk, no NIC, no kernel: nothing but the state directory can make it fail.
        r = self.agent.call("create", {"vmId": vid, "vmName": "vdt-full-%s" % vid[:8],
                                       "memSize": 32, "smp": "1", "devices": []})
        time.sleep(2)   # a background start, if any, reaches libvirt in this time
        seen = {
            "status": r["status"],
            "listed": vid in [x["vmId"] for x in self.agent.call("list")["vmList"]],
            "getVmStats code": self.agent.call("getVmStats", vid)["status"]["code"],
            "libvirt domains": self.lv.virsh("list", "--all", "--uuid").stdout.split(),
        }
        self.assertEqual(r["status"]["code"], 9, seen)
        self.assertNotIn("vmList", r)
        self.assertIn("%s/vm/%s.xml" % (self.state, vid), r["status"]["message"])
        self.assertIn("No space left on device", r["status"]["message"])
        self.assertFalse(seen["listed"], seen)
        self.assertEqual(seen["getVmStats code"], 1, seen)
        self.assertNotIn(vid, seen["libvirt domains"], seen)
        self.assertFalse(os.path.exists(os.path.join(self.state, "vm", vid + ".xml")))

if __name__ == "__main__":
    unittest.main()
