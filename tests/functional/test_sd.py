"""Storage domains against the real agent over mTLS (API.md §5.5, §5.1 storageDomains):
file domains on a LOCALFS tmpfs this test mounts itself and on a POSIXFS tmpfs the agent
mounts; VDSM's on-disk layout and sealed metadata (checked here with an independent
implementation of the seal); domains written in VDSM's format are read; every bad input
with its code and nothing half-created; the monitor's storageDomains entry in
getVdsStats turns invalid when the metadata goes and valid when it is back."""
import hashlib
import os
import subprocess
import time
import unittest
import uuid

from vdsmtest import Agent

BLANK = "00000000-0000-0000-0000-000000000000"
NFS, FCP, ISCSI, LOCALFS, POSIXFS = 1, 2, 3, 4, 6
DATA, ISO, BACKUP = 1, 2, 3


def seal(md):
    """VDSM's _SHA_CKSUM: SHA-1 of the sorted KEY=VALUE lines, non-ASCII as &#N;."""
    h = hashlib.sha1()
    for k in sorted(md):
        h.update(("%s=%s" % (k, md[k])).encode("ascii", "xmlcharrefreplace"))
    return h.hexdigest()


def read_md(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    return dict(line.split("=", 1) for line in lines)


def write_vdsm_domain(mount, sd, name, remote, sealed=True, broken=False, pool=""):
    """A file domain as VDSM lays it out (what fileSD.create writes)."""
    md = {"CLASS": "Data", "DESCRIPTION": name, "IOOPTIMEOUTSEC": "10",
          "LEASERETRIES": "3", "LEASETIMESEC": "60", "LOCKPOLICY": "",
          "LOCKRENEWALINTERVALSEC": "5", "POOL_UUID": pool, "REMOTE_PATH": remote,
          "ROLE": "Regular", "SDUUID": sd, "TYPE": "LOCALFS", "VERSION": "3"}
    os.makedirs(os.path.join(mount, sd, "dom_md"))
    os.makedirs(os.path.join(mount, sd, "images"))
    for f in ("ids", "leases", "inbox", "outbox"):
        open(os.path.join(mount, sd, "dom_md", f), "w").close()
    text = "".join("%s=%s\n" % (k, md[k]) for k in sorted(md))
    if sealed:
        text += "_SHA_CKSUM=%s\n" % (("0" * 40) if broken else seal(md))
    with open(os.path.join(mount, sd, "dom_md", "metadata"), "w", encoding="utf-8") as f:
        f.write(text)


def make_volume(domdir, sd, img, vol, parent=BLANK, legality="LEGAL", size_mb=1,
                fmt="RAW", voltype="LEAF"):
    """A file volume as VDSM makes it (there is no createVolume yet): the data file and
    its .meta (volumemetadata.py's storage_format: sorted KEY=VALUE lines, then EOF)."""
    d = os.path.join(domdir, "images", img)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, vol), "wb") as f:
        f.truncate(size_mb << 20)
    md = {"CTIME": str(int(time.time())), "DESCRIPTION": "", "DISKTYPE": "DATA",
          "DOMAIN": sd, "FORMAT": fmt, "GEN": "0", "IMAGE": img, "LEGALITY": legality,
          "MTIME": "0", "POOL_UUID": "", "PUUID": parent, "SIZE": str(size_mb * 2048),
          "TYPE": "SPARSE", "VOLTYPE": voltype}
    with open(os.path.join(d, vol + ".meta"), "w") as f:
        f.write("".join("%s=%s\n" % (k, md[k]) for k in sorted(md)) + "EOF\n")
    open(os.path.join(d, vol + ".lease"), "w").close()
    return os.path.join(d, vol)


class SdTest(unittest.TestCase):
    # A short monitor period so that the test polls seconds, not tens of seconds.
    conf = {"irs": {"mount_timeout": "10", "sd_health_check_delay": "1",
                    "process_pool_timeout": "10"}}

    def setUp(self):
        self.agent = Agent(conf=self.conf)
        self.mounted = []
        self.addCleanup(self.cleanup)
        self.agent.start()
        self.agent.wait_ready()
        self.mnt = os.path.join(self.agent.root, "rhev", "data-center", "mnt")
        # LOCALFS: a tmpfs of our own, linked by the agent.
        self.local = os.path.join(self.agent.root, "local", "sd_%d" % os.getpid())
        os.makedirs(self.local)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", self.local],
                       check=True)
        self.mounted.append(self.local)
        self.con = {"id": str(uuid.uuid4()), "connection": self.local}
        self.ok(self.agent.call("connectStorageServer", LOCALFS, BLANK, [self.con]))
        self.link = os.path.join(self.mnt, self.local.replace("_", "__").replace("/", "_"))

    def cleanup(self):
        try:
            self.agent.stop()
        finally:
            for m in reversed(self.mounted):
                subprocess.run(["umount", "-l", m], check=False)
            with open("/proc/self/mountinfo") as f:
                for m in reversed([l.split()[4] for l in f
                                   if l.split()[4].startswith(self.agent.root)]):
                    subprocess.run(["umount", "-l", m], check=False)
            self.agent.__exit__(None, None, None)

    def ok(self, reply):
        self.assertEqual(reply["status"]["code"], 0, reply["status"])
        return reply

    def code(self, reply):
        return reply["status"]["code"]

    def create(self, sd, name="data", remote=None, cls=DATA, version="3", dtype=LOCALFS):
        return self.agent.call("createStorageDomain", dtype, sd, name,
                               self.local if remote is None else remote, cls, version)

    def monitor(self, sd, want_valid, timeout=30):
        """Polls getVdsStats until the domain's monitor entry has valid == want_valid."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            st = self.ok(self.agent.call("getVdsStats"))["info"]["storageDomains"]
            last = st.get(sd)
            if last and last["actual"] and last["valid"] == want_valid:
                return last
            time.sleep(0.2)
        self.fail("monitor of %s never valid=%s: %s" % (sd, want_valid, last))

    def test_create_layout_and_read_back(self):
        sd = str(uuid.uuid4())
        self.ok(self.create(sd, name="Daten \u00e9t\u00e9"))
        dom = os.path.join(self.local, sd)
        self.assertEqual(sorted(os.listdir(dom)), ["dom_md", "images"])
        self.assertEqual(sorted(os.listdir(os.path.join(dom, "dom_md"))),
                         ["ids", "inbox", "leases", "metadata", "outbox"])
        for f, size in (("ids", 0), ("leases", 0), ("inbox", 16 << 20), ("outbox", 16 << 20)):
            st = os.stat(os.path.join(dom, "dom_md", f))
            self.assertEqual(st.st_size, size, f)
            self.assertEqual(st.st_mode & 0o777, 0o660, f)
        md = read_md(os.path.join(dom, "dom_md", "metadata"))
        cks = md.pop("_SHA_CKSUM")
        self.assertEqual(cks, seal(md))
        self.assertEqual(md, {
            "CLASS": "Data", "DESCRIPTION": "Daten \u00e9t\u00e9", "IOOPTIMEOUTSEC": "10",
            "LEASERETRIES": "3", "LEASETIMESEC": "60", "LOCKPOLICY": "",
            "LOCKRENEWALINTERVALSEC": "5", "POOL_UUID": "", "REMOTE_PATH": self.local,
            "ROLE": "Regular", "SDUUID": sd, "TYPE": "LOCALFS", "VERSION": "3"})
        with open(os.path.join(dom, "dom_md", "metadata")) as f:
            keys = [line.split("=", 1)[0] for line in f.read().splitlines()]
        self.assertEqual(keys[:-1], sorted(keys[:-1]))
        self.assertEqual(keys[-1], "_SHA_CKSUM")

        lst = lambda *a: self.ok(self.agent.call("getStorageDomainsList", *a))["domlist"]
        self.assertIn(sd, lst())
        self.assertIn(sd, lst(BLANK, DATA, "4", ""))
        self.assertIn(sd, lst("", 0, "", self.local + "/"))
        self.assertNotIn(sd, lst(BLANK, ISO))
        self.assertNotIn(sd, lst(BLANK, 0, "1"))
        self.assertNotIn(sd, lst(BLANK, 0, "", "/elsewhere"))
        self.assertNotIn(sd, lst(str(uuid.uuid4())))

        info = self.ok(self.agent.call("getStorageDomainInfo", sd))["info"]
        self.assertEqual(info, {"uuid": sd, "name": "Daten \u00e9t\u00e9", "type": "LOCALFS",
                                "class": "Data", "role": "Regular", "version": "3",
                                "remotePath": self.local, "pool": []})
        stats = self.ok(self.agent.call("getStorageDomainStats", sd))["stats"]
        vfs = os.statvfs(self.local)
        self.assertEqual(int(stats["disktotal"]), vfs.f_frsize * vfs.f_blocks)
        self.assertIsInstance(stats["diskfree"], str)
        self.assertLessEqual(int(stats["diskfree"]), int(stats["disktotal"]))

        m = self.monitor(sd, True)
        self.assertEqual(m["code"], 0)
        self.assertEqual(m["version"], 3)
        self.assertFalse(m["acquired"])
        self.assertIsInstance(m["lastCheck"], str)
        self.assertIsInstance(m["delay"], str)
        self.assertLess(float(m["lastCheck"]), 30.0)

        # The metadata goes: the monitor says so (358); it comes back: valid again.
        md_path = os.path.join(dom, "dom_md", "metadata")
        os.rename(md_path, md_path + ".away")
        m = self.monitor(sd, False)
        self.assertEqual(m["code"], 358)
        os.rename(md_path + ".away", md_path)
        self.assertEqual(self.monitor(sd, True)["code"], 0)
        self.assertIn("AUDIT verb=createStorageDomain", self.agent.log())

    def test_bad_input_leaves_nothing(self):
        sd = str(uuid.uuid4())
        self.ok(self.create(sd))
        before = sorted(os.listdir(self.local))
        other = str(uuid.uuid4())
        cases = [
            ("duplicate", self.create(sd), 365),
            ("class 0", self.create(other, cls=0), 386),
            ("class 4", self.create(other, cls=4), 386),
            ("version 9", self.create(other, version="9"), 394),
            ("version word", self.create(other, version="x"), 394),
            ("iSCSI", self.create(other, dtype=ISCSI), 372),
            ("type 99", self.create(other, dtype=99), 372),
            ("not connected", self.create(other, remote="/nowhere/at_all"), 360),
            ("another domain on the mount", self.create(other), 361),
            ("bad uuid", self.create("not-a-uuid"), 1000),
            ("name with newline", self.create(other, name="a\nSDUUID=x"), 1000),
            ("empty name", self.create(other, name=""), 1000),
            ("remote with ..", self.create(other, remote="/a/../b"), 390),
        ]
        for what, reply, want in cases:
            with self.subTest(what):
                self.assertEqual(self.code(reply), want, reply["status"])
        self.assertEqual(sorted(os.listdir(self.local)), before)
        self.assertNotIn(other, self.ok(self.agent.call("getStorageDomainsList"))["domlist"])
        for verb in ("getStorageDomainInfo", "getStorageDomainStats"):
            with self.subTest(verb):
                self.assertEqual(self.code(self.agent.call(verb, other)), 358)
                bad = self.agent.call(verb, "nope")
                self.assertEqual(self.code(bad), 1000)
                # VDSM's message form names the parameter (API.md §4)
                self.assertEqual(bad["status"]["message"], "Invalid parameter: 'sdUUID=nope'")

    def test_reads_domains_vdsm_made(self):
        sd, unsealed, broken = (str(uuid.uuid4()) for _ in range(3))
        # Three domains on three mount dirs (VDSM puts one per mount).
        write_vdsm_domain(self.local, sd, "vdsm \u00fcber", self.local)
        extra = []
        for u, kw in ((unsealed, {"sealed": False}), (broken, {"broken": True})):
            d = os.path.join(self.local, "m_" + u[:8])
            os.makedirs(d)
            write_vdsm_domain(d, u, "x", d, **kw)
            c = {"id": str(uuid.uuid4()), "connection": d}
            self.ok(self.agent.call("connectStorageServer", LOCALFS, BLANK, [c]))
            extra.append(c)
        domlist = self.ok(self.agent.call("getStorageDomainsList"))["domlist"]
        self.assertIn(sd, domlist)
        self.assertIn(unsealed, domlist)
        self.assertNotIn(broken, domlist)     # a broken seal is never trusted
        info = self.ok(self.agent.call("getStorageDomainInfo", sd))["info"]
        self.assertEqual(info["name"], "vdsm \u00fcber")
        self.assertEqual(info["version"], "3")
        self.assertEqual(self.code(self.agent.call("getStorageDomainInfo", broken)), 358)
        self.assertEqual(self.monitor(sd, True)["version"], 3)
        # Disconnected: the domain leaves the list and its monitor ends.
        self.ok(self.agent.call("disconnectStorageServer", LOCALFS, BLANK, extra[:1]))
        self.assertNotIn(unsealed, self.ok(self.agent.call("getStorageDomainsList"))["domlist"])
        st = self.ok(self.agent.call("getVdsStats"))["info"]["storageDomains"]
        self.assertNotIn(unsealed, st)

    def test_posixfs_domain(self):
        c = {"id": str(uuid.uuid4()), "connection": "tmpfs", "vfs_type": "tmpfs",
             "mnt_options": "size=32m"}
        self.ok(self.agent.call("connectStorageServer", POSIXFS, BLANK, [c]))
        sd = str(uuid.uuid4())
        self.ok(self.create(sd, remote="tmpfs", dtype=POSIXFS, cls=ISO, version="0"))
        self.assertTrue(os.path.isfile(os.path.join(self.mnt, "tmpfs", sd, "dom_md",
                                                    "metadata")))
        info = self.ok(self.agent.call("getStorageDomainInfo", sd))["info"]
        self.assertEqual((info["type"], info["class"], info["version"], info["remotePath"]),
                         ("POSIXFS", "Iso", "0", "tmpfs"))
        self.assertEqual(self.ok(self.agent.call("getStorageDomainsList", BLANK, ISO, "6",
                                                 "tmpfs"))["domlist"], [sd])
        self.assertEqual(int(self.ok(self.agent.call("getStorageDomainStats", sd))
                             ["stats"]["disktotal"]), 32 << 20)
        self.ok(self.agent.call("disconnectStorageServer", POSIXFS, BLANK, [c]))

    def test_prepare_teardown_image(self):
        sd, img, base, leaf = (str(uuid.uuid4()) for _ in range(4))
        self.ok(self.create(sd))
        dom = os.path.join(self.local, sd)
        make_volume(dom, sd, img, base, voltype="INTERNAL")
        leaf_file = make_volume(dom, sd, img, leaf, parent=base, fmt="COW", size_mb=2)
        r = self.ok(self.agent.call("prepareImage", BLANK, sd, img, leaf))
        run = os.path.join(self.agent.root, "run", "vdsm", "storage", sd, img)
        self.assertEqual(r["path"], os.path.join(run, leaf))
        self.assertEqual(os.path.realpath(r["path"]), os.path.realpath(leaf_file))
        self.assertEqual(os.readlink(run), os.path.join(self.link, sd, "images", img))
        info = r["info"]
        self.assertEqual((info["uuid"], info["parent"], info["format"], info["capacity"],
                          info["legality"], info["domain"], info["image"]),
                         (leaf, base, "COW", str(2 << 20), "LEGAL", sd, img))
        self.assertEqual([v["volumeID"] for v in r["imgVolumesInfo"]], [base, leaf])
        for v in r["imgVolumesInfo"]:
            self.assertEqual((v["domainID"], v["imageID"], v["volType"]), (sd, img, "path"))
            self.assertTrue(os.path.isfile(v["path"]), v)
            self.assertEqual(v["leasePath"], v["path"] + ".lease")
            self.assertEqual(v["leaseOffset"], 0)
        # again: the same, idempotent
        self.assertEqual(self.ok(self.agent.call("prepareImage", "", sd, img, leaf))["path"],
                         r["path"])
        self.ok(self.agent.call("teardownImage", BLANK, sd, img))
        self.assertFalse(os.path.lexists(run))
        self.ok(self.agent.call("teardownImage", BLANK, sd, img, leaf))

        # bad input: codes, and no link made
        bad_img, illegal_img, vol2 = (str(uuid.uuid4()) for _ in range(3))
        make_volume(dom, sd, illegal_img, base, legality="ILLEGAL")
        make_volume(dom, sd, illegal_img, vol2, parent=base)
        cases = [
            ("unknown domain", (BLANK, str(uuid.uuid4()), img, leaf), 358),
            ("no such image", (BLANK, sd, bad_img, leaf), 254),
            ("no such volume", (BLANK, sd, img, str(uuid.uuid4())), 201),
            ("illegal base volume", (BLANK, sd, illegal_img, vol2), 227),
            ("pool the domain is not in", (str(uuid.uuid4()), sd, img, leaf), 309),
            ("bad image uuid", (BLANK, sd, "x", leaf), 1000),
        ]
        for what, args, want in cases:
            with self.subTest(what):
                self.assertEqual(self.code(self.agent.call("prepareImage", *args)), want)
        self.assertFalse(os.path.lexists(run))
        self.assertFalse(os.path.lexists(os.path.join(self.agent.root, "run", "vdsm", "storage",
                                                      sd, illegal_img)))

    def test_prepare_image_in_pool(self):
        """A domain VDSM attached to a pool: the path is under /rhev/data-center/<sp>."""
        sd, img, vol, pool = (str(uuid.uuid4()) for _ in range(4))
        write_vdsm_domain(self.local, sd, "attached", self.local, pool=pool)
        vf = make_volume(os.path.join(self.local, sd), sd, img, vol)
        r = self.ok(self.agent.call("prepareImage", pool, sd, img, vol))
        repo = os.path.join(self.agent.root, "rhev", "data-center")
        self.assertEqual(r["path"], os.path.join(repo, pool, sd, "images", img, vol))
        self.assertEqual(os.path.realpath(r["path"]), os.path.realpath(vf))
        self.assertEqual(os.readlink(os.path.join(repo, pool, sd)), os.path.join(self.link, sd))
        info = self.ok(self.agent.call("getStorageDomainInfo", sd))["info"]
        self.assertEqual(info["pool"], [pool])


if __name__ == "__main__":
    unittest.main()
