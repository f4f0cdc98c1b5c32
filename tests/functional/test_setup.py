"""scripts/vdsm-c-setup: the file steps under --root on a temp tree (first run changes,
second run and --check change nothing: hashes, modes and mtimes compared; an admin's
multipath.conf and libvirtd.conf lines kept; certificates checked), and the management
bridge step in a network namespace against a real vdsmd over mTLS (a veth with the host
address and default route becomes a bridge with the same address, connectivity kept;
a probe that does not answer makes the agent roll back)."""
import hashlib
import json
import os
import shutil
import stat
import subprocess
import unittest

import vdsmtest
from vdsmtest import Agent, Netns

SETUP = os.path.join(vdsmtest.SRC, "scripts", "vdsm-c-setup")
TEMPLATE = os.path.join(vdsmtest.SRC, "docs", "multipath.conf")


def run_setup(*args, ns=None):
    cmd = [SETUP] + list(args)
    if ns:
        cmd = ["ip", "netns", "exec", ns.name] + cmd
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=300)


def tree(root):
    """Every file and link under root: (sha256 or link target, mode, mtime_ns)."""
    out = {}
    for d, dirs, files in os.walk(root):
        for name in files + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
            p = os.path.join(d, name)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                what = "-> " + os.readlink(p)
            else:
                with open(p, "rb") as f:
                    what = hashlib.sha256(f.read()).hexdigest()
            out[os.path.relpath(p, root)] = (what, stat.S_IMODE(st.st_mode), st.st_mtime_ns)
    return out


class SetupFilesTest(unittest.TestCase):
    def setUp(self):
        self.root = vdsmtest._mkdtemp("setup-")
        self.addCleanup(shutil.rmtree, self.root, True)

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    def write(self, p, text, mode=0o644):
        os.makedirs(os.path.dirname(self.path(p)), exist_ok=True)
        with open(self.path(p), "w") as f:
            f.write(text)
        os.chmod(self.path(p), mode)

    def read(self, p):
        with open(self.path(p)) as f:
            return f.read()

    def setup(self, *args, rc=None):
        r = run_setup("--root", self.root, *args)
        if rc is not None:
            self.assertEqual(r.returncode, rc, r.stdout)
        return r

    def lines(self, out, step):
        return [l for l in out.splitlines() if l.startswith("[%s]" % step)]

    def test_first_run_changes_second_changes_nothing(self):
        r = self.setup("--lab", "--check", rc=1)
        self.assertIn("would install", r.stdout)
        self.assertIn("changes needed", r.stdout)
        self.assertEqual(tree(self.root), {}, "--check wrote something")
        r = self.setup("--lab", rc=0)
        self.assertNotIn("would", r.stdout)
        for step in ("config", "certs", "libvirt", "multipath", "iscsi", "service"):
            self.assertTrue(self.lines(r.stdout, step), step)
        self.assertIn("skipped: --root", r.stdout)   # the bridge needs the running host
        first = tree(self.root)
        # what the first run made
        self.assertEqual(self.read("/etc/multipath.conf"), open(TEMPLATE).read())
        self.assertRegex(self.read("/etc/iscsi/initiatorname.iscsi"), r"(?m)^InitiatorName=iqn\.")
        lv = self.read("/etc/libvirt/libvirtd.conf")
        self.assertIn("listen_tcp = 1", lv)
        self.assertIn('auth_tcp = "none"', lv)
        self.assertEqual(first["etc/pki/vdsm/keys/vdsmkey.pem"][1], 0o600)
        self.assertTrue(os.path.exists(self.path("/etc/vdsm-c/vdsm.conf")))
        self.assertEqual(first["etc/rc2.d/S01vdsmd"][0], "-> ../init.d/vdsmd")
        self.assertEqual(first["etc/init.d/vdsmd"][1], 0o755)
        self.assertFalse([p for p in first if ".vdsm-c-setup." in p], "backup of nothing")
        # second time: nothing to do, nothing touched
        r = self.setup("--lab", "--check", rc=0)
        self.assertIn("nothing to change", r.stdout)
        self.assertNotIn("would", r.stdout)
        r = self.setup("--lab", rc=0)
        self.assertNotIn("would", r.stdout)
        self.assertEqual(tree(self.root), first)

    def test_admin_multipath_conf_kept_unless_force(self):
        admin = "defaults {\n    user_friendly_names yes\n}\n"
        self.write("/etc/multipath.conf", admin)
        before = tree(self.root)
        r = self.setup("--only", "multipath", rc=0)
        self.assertIn("the admin's own file: kept", r.stdout)
        self.assertEqual(tree(self.root), before)
        self.setup("--only", "multipath", "--check", rc=0)
        r = self.setup("--only", "multipath", "--force", rc=0)
        self.assertIn("replace", r.stdout)
        self.assertEqual(self.read("/etc/multipath.conf"), open(TEMPLATE).read())
        backups = [p for p in os.listdir(self.path("/etc"))
                   if p.startswith("multipath.conf.vdsm-c-setup.")]
        self.assertEqual(len(backups), 1)
        self.assertEqual(self.read("/etc/" + backups[0]), admin)
        # now ours: a later run leaves it alone
        self.setup("--only", "multipath", "--check", rc=0)

    def test_older_multipath_conf_of_ours_replaced_private_kept(self):
        self.write("/etc/multipath.conf", "# VDSM-C REVISION 0\ndefaults {\n}\n")
        r = self.setup("--only", "multipath", "--check", rc=1)
        self.assertIn("would replace", r.stdout)
        self.setup("--only", "multipath", rc=0)
        self.assertEqual(self.read("/etc/multipath.conf"), open(TEMPLATE).read())
        private = "# VDSM-C REVISION 0\n# VDSM-C PRIVATE\ndefaults {\n}\n"
        self.write("/etc/multipath.conf", private)
        r = self.setup("--only", "multipath", "--check", rc=0)
        self.assertIn("VDSM-C PRIVATE", r.stdout)
        self.assertEqual(self.read("/etc/multipath.conf"), private)

    def test_libvirt_tls_keeps_admin_lines_and_links_pki(self):
        subprocess.run([vdsmtest.CERTS, "--dir", self.path("/etc/pki/vdsm"), "--cn", "h1"],
                       check=True, stdout=subprocess.DEVNULL)
        conf = "# admin\nlisten_tls = 0\nmax_clients = 5000\n"
        self.write("/etc/libvirt/libvirtd.conf", conf)
        self.setup("--only", "libvirt", "--init", "sysv", rc=0)
        lv = self.read("/etc/libvirt/libvirtd.conf")
        self.assertTrue(lv.startswith("# admin\n#vdsm-c-setup# listen_tls = 0\nmax_clients = 5000\n"), lv)
        self.assertIn("listen_tls = 1", lv)
        self.assertIn('cert_file = "/etc/pki/vdsm/certs/vdsmcert.pem"', lv)   # host paths
        self.assertEqual(os.readlink(self.path("/etc/pki/libvirt/clientcert.pem")),
                         "/etc/pki/vdsm/certs/vdsmcert.pem")
        self.assertEqual(os.readlink(self.path("/etc/pki/CA/cacert.pem")),
                         "/etc/pki/vdsm/certs/cacert.pem")
        self.assertIn('libvirtd_opts="--listen"', self.read("/etc/default/libvirtd"))
        backup = [p for p in os.listdir(self.path("/etc/libvirt")) if ".vdsm-c-setup." in p]
        self.assertEqual(len(backup), 1)
        self.assertEqual(self.read("/etc/libvirt/" + backup[0]), conf)
        snap = tree(self.root)
        self.setup("--only", "libvirt", "--init", "sysv", "--check", rc=0)
        self.setup("--only", "libvirt", "--init", "sysv", rc=0)
        self.assertEqual(tree(self.root), snap)
        # switching to the lab replaces our section, not the admin's lines
        self.setup("--only", "libvirt", "--init", "sysv", "--lab", rc=0)
        lv = self.read("/etc/libvirt/libvirtd.conf")
        self.assertEqual(lv.count("## beginning of configuration section by vdsm-c-setup"), 1)
        self.assertIn("listen_tcp = 1", lv)
        self.assertNotIn("listen_tls = 1", lv)
        self.assertIn("max_clients = 5000", lv)

    def test_systemd_socket_and_service_units_enabled(self):
        os.makedirs(self.path("/run/systemd/system"))
        for unit in ("libvirtd-tls.socket", "vdsmd.service"):
            self.write("/lib/systemd/system/" + unit, "[Unit]\n")
        subprocess.run([vdsmtest.CERTS, "--dir", self.path("/etc/pki/vdsm"), "--cn", "h1"],
                       check=True, stdout=subprocess.DEVNULL)
        r = self.setup("--only", "libvirt,service", rc=0)
        self.assertIn("socket-activated", r.stdout)
        self.assertEqual(os.readlink(self.path(
            "/etc/systemd/system/sockets.target.wants/libvirtd-tls.socket")),
            "/lib/systemd/system/libvirtd-tls.socket")
        self.assertEqual(os.readlink(self.path(
            "/etc/systemd/system/multi-user.target.wants/vdsmd.service")),
            "/lib/systemd/system/vdsmd.service")
        self.assertFalse(os.path.exists(self.path("/etc/default/libvirtd")))
        self.setup("--only", "libvirt,service", "--check", rc=0)

    def test_certificates_checked_never_made_without_lab(self):
        r = self.setup("--only", "certs", rc=1)
        self.assertIn("FAIL: missing", r.stdout)
        self.assertIn("enroll the host", r.stdout)
        self.assertFalse(os.path.exists(self.path("/etc/pki/vdsm")))
        pki = self.path("/etc/pki/vdsm")
        subprocess.run([vdsmtest.CERTS, "--dir", pki, "--cn", "h1"], check=True,
                       stdout=subprocess.DEVNULL)
        key = os.path.join(pki, "keys", "vdsmkey.pem")
        os.chmod(key, 0o644)
        self.setup("--only", "certs", "--check", rc=1)
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o644)
        r = self.setup("--only", "certs", rc=0)
        self.assertIn("mode 0600", r.stdout)
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        # a key of another pair
        other = vdsmtest._mkdtemp("setup-other-")
        self.addCleanup(shutil.rmtree, other, True)
        subprocess.run([vdsmtest.CERTS, "--dir", other, "--cn", "h2"], check=True,
                       stdout=subprocess.DEVNULL)
        shutil.copy(os.path.join(other, "keys", "vdsmkey.pem"), key)
        r = self.setup("--only", "certs", rc=1)
        self.assertIn("does not go with", r.stdout)
        # a certificate of another CA
        shutil.copy(os.path.join(other, "certs", "vdsmcert.pem"),
                    os.path.join(pki, "certs", "vdsmcert.pem"))
        r = self.setup("--only", "certs", rc=1)
        self.assertIn("is not signed by", r.stdout)

    def test_iscsi_generate_name_replaced_existing_kept(self):
        self.write("/etc/iscsi/initiatorname.iscsi", "GenerateName=yes\n")
        self.setup("--only", "iscsi", "--check", rc=1)
        self.setup("--only", "iscsi", rc=0)
        name = self.read("/etc/iscsi/initiatorname.iscsi")
        self.assertRegex(name, r"(?m)^InitiatorName=iqn\.\d{4}-\d\d\.[^:]+:\w+$")
        self.assertEqual(stat.S_IMODE(os.stat(self.path("/etc/iscsi/initiatorname.iscsi")).st_mode), 0o600)
        self.write("/etc/iscsi/initiatorname.iscsi", "InitiatorName=iqn.2001-04.com.example:h1\n")
        r = self.setup("--only", "iscsi", rc=0)
        self.assertIn("iqn.2001-04.com.example:h1", r.stdout)

    def test_usage_errors(self):
        for args in (["--bogus"], ["--only", "nosuch"], ["--init", "upstart"],
                     ["--connectivity-timeout", "0"], ["--root"], ["--root", "/nonexistent/x"],
                     ["--port", "1x"], ["--bridge", "a\"b"], ["--probe", "-f"],
                     ["--nic", "n" * 16]):
            r = run_setup(*args)
            self.assertEqual(r.returncode, 2, (args, r.stdout))
        r = run_setup("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--check", r.stdout)


class SetupBridgeTest(unittest.TestCase):
    """The management bridge through the agent's setupNetworks, in a namespace whose
    veth_m0 carries the host address and the default route (the peer end, in the root
    namespace, is the gateway)."""

    def setUp(self):
        pid = os.getpid()
        self.ns = Netns("vdsu%d" % pid).__enter__()
        self.addCleanup(self.ns.__exit__)
        # a /24 of 172.16/12 per process (the other namespace tests use 10.x): the
        # probe that must fail (.99) stays on this link
        self.net = "172.%d.%d" % (16 + pid % 16, pid // 16 % 250)
        self.gw, self.ip = self.net + ".1", self.net + ".2"
        host_if = "vsu%d" % pid
        subprocess.run(["ip", "link", "add", host_if, "type", "veth", "peer", "name", "veth_m0",
                        "netns", self.ns.name], check=True)
        self.addCleanup(subprocess.run, ["ip", "link", "del", host_if], stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "addr", "add", self.gw + "/24", "dev", host_if], check=True)
        subprocess.run(["ip", "link", "set", host_if, "up"], check=True)
        self.ns.run("ip", "addr", "add", self.ip + "/24", "dev", "veth_m0")
        self.ns.run("ip", "link", "set", "veth_m0", "up")
        self.ns.run("ip", "route", "add", "default", "via", self.gw)
        self.agent = Agent(netns=self.ns.name, ip=self.ip)
        self.agent.start()
        self.addCleanup(self.agent.__exit__)
        self.agent.wait_ready()

    def run_bridge(self, *extra):
        return run_setup("--only", "network", "--host", self.ip, "--port", str(self.agent.port),
                         "--pki", self.agent.pkidir, "--client", vdsmtest.CLIENT, *extra,
                         ns=self.ns)

    def addrs(self):
        out = json.loads(self.ns.run("ip", "-j", "-4", "addr", "show").stdout)
        return sorted((x["ifname"], a["local"], a["prefixlen"]) for x in out
                      for a in x.get("addr_info", []) if x["ifname"] != "lo")

    def default_route(self):
        r = json.loads(self.ns.run("ip", "-j", "-4", "route", "show", "default").stdout)
        return [(x.get("gateway"), x.get("dev")) for x in r]

    def pings(self):
        return self.ns.run("ping", "-c", "1", "-W", "5", self.gw, check=False).returncode == 0

    def test_bridge_from_the_management_nic_keeps_connectivity(self):
        self.assertTrue(self.pings())
        r = self.run_bridge("--connectivity-timeout", "30")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("answers through 'ovirtmgmt'", r.stdout)
        self.assertIn("kept and saved", r.stdout)
        self.assertEqual(self.addrs(), [("ovirtmgmt", self.ip, 24)])
        self.assertEqual(self.default_route(), [(self.gw, "ovirtmgmt")])
        link = json.loads(self.ns.run("ip", "-j", "link", "show", "veth_m0").stdout)[0]
        self.assertEqual(link.get("master"), "ovirtmgmt")
        self.assertTrue(self.pings())
        caps = self.agent.call("getVdsCapabilities")["info"]
        self.assertIn("ovirtmgmt", caps["networks"])
        self.assertFalse(caps.get("netConfigDirty") in (True, "true", "True"), caps.get("netConfigDirty"))
        # second run: nothing to do
        r = self.run_bridge("--check")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("bridge 'ovirtmgmt' exists", r.stdout)

    def test_probe_without_answer_rolls_back(self):
        before = (self.addrs(), self.default_route())
        r = self.run_bridge("--check")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("would make bridge 'ovirtmgmt' over veth_m0 with %s/24 and the default "
                      "route via %s" % (self.ip, self.gw), r.stdout)
        self.assertEqual((self.addrs(), self.default_route()), before)
        r = self.run_bridge("--probe", self.net + ".99", "--connectivity-timeout", "3")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("code 10", r.stdout)
        self.assertIn("did not answer through 'ovirtmgmt'", r.stdout)
        self.assertEqual((self.addrs(), self.default_route()), before)
        links = [l["ifname"] for l in json.loads(self.ns.run("ip", "-j", "link").stdout)]
        self.assertNotIn("ovirtmgmt", links)
        self.assertTrue(self.pings())
        self.assertEqual(self.agent.call("getVdsCapabilities")["info"]["networks"], {})

    def test_agent_not_running_is_skipped(self):
        r = run_setup("--only", "network", "--host", self.ip, "--port", "1",
                      "--pki", self.agent.pkidir, "--client", vdsmtest.CLIENT, ns=self.ns)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("skipped: the agent does not answer", r.stdout)
        self.assertEqual(self.addrs(), [("veth_m0", self.ip, 24)])


if __name__ == "__main__":
    unittest.main()
