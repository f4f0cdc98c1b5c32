"""Storage server connections against the real agent (API.md §5.5): POSIXFS (tmpfs, a
real mount by the agent, checked with findmnt), LOCALFS (symlink), the statuslist per
connection, bad inputs with their codes and no side effect, the audit line without
secrets, and an NFS server that does not answer: 477 after the mount timeout while
other verbs keep answering. NFS mounts against a real server are the lab tier's."""
import json
import os
import subprocess
import threading
import time
import unittest
import uuid

from vdsmtest import Agent, TEST_TMP

BLANK = "00000000-0000-0000-0000-000000000000"
NFS, FCP, ISCSI, LOCALFS, POSIXFS = 1, 2, 3, 4, 6


def findmnt(path):
    """findmnt's view of path, or None when it is no mount point."""
    p = subprocess.run(["findmnt", "-J", "--mountpoint", path], capture_output=True, text=True)
    if p.returncode != 0:
        return None
    fss = json.loads(p.stdout)["filesystems"]
    return fss[0] if fss else None


def mounts_under(root):
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(root)]


class StorageTest(unittest.TestCase):
    conf = {"irs": {"mount_timeout": "4"}}

    def setUp(self):
        self.agent = Agent(conf=self.conf)
        self.agent.start()
        self.agent.wait_ready()
        self.mnt = os.path.join(self.agent.root, "rhev", "data-center", "mnt")

    def tearDown(self):
        try:
            self.agent.stop()
        finally:
            # Whatever a failed test left mounted under the agent's root.
            for m in reversed(mounts_under(self.agent.root)):
                subprocess.run(["umount", "-l", m], check=False)
            self.agent.__exit__(None, None, None)

    def conn(self, **kw):
        c = {"id": str(uuid.uuid4()), "port": "", "iqn": "", "user": "", "password": ""}
        c.update(kw)
        return c

    def call(self, verb, dom, conlist):
        return self.agent.call(verb, dom, BLANK, conlist)

    def statuses(self, reply):
        self.assertEqual(reply["status"]["code"], 0, reply["status"])
        return [(s["id"], s["status"]) for s in reply["statuslist"]]

    def test_posixfs_connect_idempotent_disconnect(self):
        c = self.conn(connection="tmpfs", vfs_type="tmpfs", mnt_options="size=16m,nodev")
        path = os.path.join(self.mnt, "tmpfs")
        self.assertEqual(self.statuses(self.call("connectStorageServer", POSIXFS, [c])),
                         [(c["id"], 0)])
        fs = findmnt(path)
        self.assertIsNotNone(fs, "not mounted at %s" % path)
        self.assertEqual(fs["fstype"], "tmpfs")
        opts = fs["options"].split(",")
        self.assertIn("nodev", opts)
        self.assertIn("size=16384k", opts)
        # Idempotent: a second connect succeeds and does not stack a second mount.
        self.assertEqual(self.statuses(self.call("connectStorageServer", POSIXFS, [c])),
                         [(c["id"], 0)])
        self.assertEqual(mounts_under(path), [path])
        self.assertEqual(self.statuses(self.call("disconnectStorageServer", POSIXFS, [c])),
                         [(c["id"], 0)])
        self.assertIsNone(findmnt(path))
        self.assertFalse(os.path.exists(path), "mount point left behind")
        # Disconnecting what is not connected is success too.
        self.assertEqual(self.statuses(self.call("disconnectStorageServer", POSIXFS, [c])),
                         [(c["id"], 0)])

    def test_localfs_symlink(self):
        d = os.path.join(self.agent.root, "local", "data_dir")
        os.makedirs(d)
        c = self.conn(connection=d + "/")
        link = os.path.join(self.mnt, d.replace("_", "__").replace("/", "_"))
        self.assertEqual(self.statuses(self.call("connectStorageServer", LOCALFS, [c])),
                         [(c["id"], 0)])
        self.assertEqual(os.readlink(link), d)
        self.assertEqual(self.statuses(self.call("connectStorageServer", LOCALFS, [c])),
                         [(c["id"], 0)])
        self.assertEqual(self.statuses(self.call("disconnectStorageServer", LOCALFS, [c])),
                         [(c["id"], 0)])
        self.assertFalse(os.path.lexists(link))
        # A file is no directory: 469, nothing linked.
        f = os.path.join(self.agent.root, "local", "file")
        open(f, "w").close()
        bad = self.conn(connection=f)
        self.assertEqual(self.statuses(self.call("connectStorageServer", LOCALFS, [bad])),
                         [(bad["id"], 469)])
        self.assertEqual(os.listdir(self.mnt), [])

    def test_one_bad_connection_does_not_stop_the_others(self):
        good = self.conn(connection="tmpfs", vfs_type="tmpfs")
        bad_type = self.conn(connection="other", vfs_type="ext4;reboot")
        bad_opt = self.conn(connection="third", vfs_type="tmpfs", mnt_options="remount")
        bad_path = self.conn(connection="/dev/../etc", vfs_type="ext4")
        r = self.call("connectStorageServer", POSIXFS, [bad_type, good, bad_opt, bad_path])
        self.assertEqual(self.statuses(r), [(bad_type["id"], 470), (good["id"], 0),
                                            (bad_opt["id"], 471), (bad_path["id"], 390)])
        self.assertEqual(mounts_under(self.agent.root), [os.path.join(self.mnt, "tmpfs")])
        self.assertEqual(os.listdir(self.mnt), ["tmpfs"])

    def test_mount_root_without_access_is_469_and_unmounted(self):
        # VDSM's check after a mount: the root must allow rwx to the storage user (here
        # root, see vdsmtest; even root cannot write a read-only mount). The mount is
        # undone; the other connection of the call connects.
        ro = self.conn(connection="rofs", vfs_type="tmpfs", mnt_options="ro")
        good = self.conn(connection="tmpfs", vfs_type="tmpfs")
        r = self.call("connectStorageServer", POSIXFS, [ro, good])
        self.assertEqual(self.statuses(r), [(ro["id"], 469), (good["id"], 0)])
        self.assertEqual(mounts_under(self.agent.root), [os.path.join(self.mnt, "tmpfs")])
        self.assertEqual(os.listdir(self.mnt), ["tmpfs"])
        self.assertIn("path = %s" % os.path.join(self.mnt, "rofs"),
                      [e for e in r["statuslist"] if e["id"] == ro["id"]][0].get("message", "") +
                      open(self.agent.log_path).read())

    def test_bad_nfs_inputs_have_codes_and_no_side_effect(self):
        cases = [
            ("srv:/exports/../../etc", {}, 390),
            ("srv:exports", {}, 390),
            ("srv:/exp\nx", {}, 390),
            ("bad host!:/exports", {}, 472),
            ("-oexec:/exports", {}, 472),
            ("[::zz]:/exports", {}, 472),
            ("srv:/exports", {"mnt_options": "hard"}, 471),
            ("srv:/exports", {"mnt_options": "nfsvers=2"}, 471),
            ("srv:/exports", {"mnt_options": "ro,,rw"}, 471),
            ("srv:/exports", {"mnt_options": "sec=sys,x-helper=/bin/sh"}, 471),
            ("srv:/exports", {"mnt_options": "context=-x"}, 471),
            ("srv:/exports", {"protocol_version": "5"}, 471),
            ("srv:/exports", {"timeout": "-1"}, 471),
            ("srv:/exports", {"retrans": "abc"}, 471),
        ]
        conns = [self.conn(connection=con, **kw) for con, kw, _ in cases]
        r = self.call("connectStorageServer", NFS, conns)
        self.assertEqual(self.statuses(r), [(c["id"], code) for c, (_, _, code) in
                                            zip(conns, cases)])
        self.assertEqual(os.listdir(self.mnt), [])
        self.assertEqual(mounts_under(self.agent.root), [])
        self.assertNotIn("mounting", self.agent.log())

    def test_unusable_parameters_fail_the_call(self):
        good = self.conn(connection="tmpfs", vfs_type="tmpfs")
        for dom, conlist, code in [
                (POSIXFS, [good, self.conn(id="not-a-uuid", connection="x", vfs_type="tmpfs")], 451),
                (POSIXFS, [good, "a string"], 451),
                (5, [good], 468),          # CIFS
                (99, [good], 468),
        ]:
            r = self.call("connectStorageServer", dom, conlist)
            self.assertEqual(r["status"]["code"], code, (dom, conlist, r))
            self.assertNotIn("statuslist", r)
        self.assertEqual(os.listdir(self.mnt), [])

    def test_fcp_connect_rescans_and_answers(self):
        # No FC HBA here: the rescan finds none; every id gets 0 (FCP connections
        # carry an id only), the audit line names them.
        a, b = self.conn(), self.conn(connection="")
        self.assertEqual(self.statuses(self.call("connectStorageServer", FCP, [a, b])),
                         [(a["id"], 0), (b["id"], 0)])
        self.assertEqual(self.statuses(self.call("disconnectStorageServer", FCP, [a])),
                         [(a["id"], 0)])
        self.assertEqual(os.listdir(self.mnt), [])

    def test_bad_iscsi_inputs_run_nothing(self):
        iqn = "iqn.2026-11.lab:t"
        cases = [
            (dict(connection="-p", iqn=iqn), 472),
            (dict(connection="10.0.0.1;reboot", iqn=iqn), 472),
            (dict(connection="127.0.0.1", port="0", iqn=iqn), 1000),
            (dict(connection="127.0.0.1", iqn="not-an-iqn"), 1000),
            (dict(connection="127.0.0.1", iqn=iqn + " -o delete"), 1000),
            (dict(connection="127.0.0.1", iqn=iqn, tpgt="x"), 1000),
            (dict(connection="127.0.0.1", iqn=iqn, ifaceName="../../etc"), 1000),
            (dict(connection="127.0.0.1", iqn=iqn, user="u", password="a\nnode.startup = automatic"), 1000),
        ]
        conns = [self.conn(**kw) for kw, _ in cases]
        r = self.call("connectStorageServer", ISCSI, conns)
        self.assertEqual(self.statuses(r), [(c["id"], code) for c, (_, code) in zip(conns, cases)])
        log = self.agent.log()
        self.assertIn("AUDIT verb=connectStorageServer", log)
        self.assertNotIn("exec: /usr/sbin/iscsiadm", log)   # exec logs every command at debug
        self.assertNotIn("node.startup", log)

    def test_audit_line_without_secrets(self):
        c = self.conn(connection="tmpfs", vfs_type="tmpfs", user="admin",
                      password="s3cret-pw-%d" % os.getpid())
        self.call("connectStorageServer", POSIXFS, [c])
        self.call("disconnectStorageServer", POSIXFS, [c])
        log = self.agent.log()
        self.assertIn("AUDIT verb=connectStorageServer", log)
        self.assertIn("obj=POSIXFS %s" % c["id"], log)
        self.assertIn("AUDIT verb=disconnectStorageServer", log)
        self.assertNotIn(c["password"], log)

    def test_validate_is_a_noop(self):
        c = self.conn(connection="srv:/x")
        r = self.call("validateStorageServerConnection", NFS, [c])
        self.assertEqual(self.statuses(r), [(c["id"], 0)])
        self.assertEqual(os.listdir(self.mnt), [])

    def test_unanswered_nfs_server_times_out_and_agent_keeps_answering(self):
        # Nothing serves NFS (nor rpcbind) on this loopback address: mount.nfs retries
        # until the agent's mount timeout (4 s here) kills it.
        c = self.conn(connection="127.0.0.1:/vdsm-test-%d" % os.getpid(), timeout="10",
                      retrans="1")
        result = {}

        def connect():
            t0 = time.monotonic()
            result["reply"] = self.call("connectStorageServer", NFS, [c])
            result["elapsed"] = time.monotonic() - t0

        t = threading.Thread(target=connect)
        t.start()
        answered = 0
        while t.is_alive() and answered < 3:
            self.assertEqual(self.agent.call("ping")["status"]["code"], 0)
            self.assertEqual(self.agent.call("getVdsStats")["status"]["code"], 0)
            answered += 1
        t.join(120)
        self.assertFalse(t.is_alive())
        self.assertGreater(answered, 0, "connect finished before any other call")
        self.assertEqual(self.statuses(result["reply"]), [(c["id"], 477)])
        # Bounded by the mount timeout + the kill grace (generous margin: shared host).
        self.assertLess(result["elapsed"], 4 + 2 + 20)
        self.assertEqual(os.listdir(self.mnt), [])


if __name__ == "__main__":
    unittest.main()
