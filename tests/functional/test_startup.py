"""Start-up checks and the SIGUSR1 state dump (issue 9 items 5, 6, 8).

ConfigAtLoadTest   values the listener used to find late (exit 1, no file:line): a bad
                   ssl_ciphers priority string, a malformed management_ip, a trust store
                   without its files; now exit 2 with file:line and the key.
StateDirStartTest  a full (tmpfs) or read-only (bind mount) state directory stops the start
                   with exit 2 and a message naming it. Mounts are removed in tearDown.
StateDumpTest      SIGUSR1 logs one state line and the agent keeps serving.
"""
import os
import re
import signal
import subprocess
import tempfile
import time
import unittest

import vdsmtest
from vdsmtest import Agent


fill = vdsmtest.fill_filesystem


def start_outcome(agent, timeout=20):
    """Starts agent without waiting for its port; returns its exit status, or None once
    it logged that it listens (it started although it should not have)."""
    agent.start(wait=False)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rc = agent.proc.poll()
        if rc is not None:
            return rc
        if "listening on" in agent.log():
            return None
        time.sleep(0.05)
    return None


class ConfigAtLoadTest(unittest.TestCase):
    def expect_refused(self, conf, key, *needles, pkidir=None):
        """Starts an agent with conf; asserts exit 2 and a line
        '<conf file>:<line of key>: bad value for vars.<key>: ...' with needles."""
        a = Agent(conf=conf, pkidir=pkidir)
        try:
            with open(a.conf_path) as f:
                lines = f.read().split("\n")
            lineno = 1 + next(i for i, ln in enumerate(lines) if ln.startswith(key + " ="))
            rc = start_outcome(a)
            out = a.log()
            self.assertEqual(rc, 2, "%s: exit %s (None = started):\n%s" % (key, rc, out))
            want = "%s:%d: bad value for vars.%s: " % (a.conf_path, lineno, key)
            line = [ln for ln in out.splitlines() if want in ln]
            self.assertTrue(line, "no line with %r in:\n%s" % (want, out))
            for n in needles:
                self.assertIn(n, line[0])
            return line[0]
        finally:
            a.__exit__(None, None, None)

    def test_bad_ssl_ciphers_exit_2_with_line(self):
        self.expect_refused({"vars": {"ssl_ciphers": "NORMAL:+NO-SUCH-CIPHER"}}, "ssl_ciphers",
                            "NO-SUCH-CIPHER", "priority")

    def test_malformed_management_ip_exit_2_with_line(self):
        self.expect_refused({"vars": {"management_ip": "1.2.3"}}, "management_ip",
                            "'1.2.3' is not a numeric IPv4 or IPv6 address")

    def test_missing_trust_store_exit_2_with_line(self):
        empty = tempfile.mkdtemp(prefix="empty-pki-", dir=vdsmtest.TEST_TMP)
        try:
            self.expect_refused({}, "trust_store_path",
                                os.path.join(empty, "certs", "vdsmcert.pem"), pkidir=empty)
            # A store with certificates but a key of another pair.
            other = vdsmtest.pki("other")
            mixed = tempfile.mkdtemp(prefix="mixed-pki-", dir=vdsmtest.TEST_TMP)
            for sub, name, src in (("certs", "vdsmcert.pem", vdsmtest.pki()),
                                   ("keys", "vdsmkey.pem", other),
                                   ("certs", "cacert.pem", vdsmtest.pki())):
                os.makedirs(os.path.join(mixed, sub), exist_ok=True)
                with open(os.path.join(src, sub, name)) as f, \
                        open(os.path.join(mixed, sub, name), "w") as g:
                    g.write(f.read())
            self.expect_refused({}, "trust_store_path", "not a usable certificate and key",
                                pkidir=mixed)
            # ssl = false still needs no trust store at all.
            with Agent(pkidir=empty, conf={"vars": {"ssl": "false"}}) as a:
                a.wait_ready()
                self.assertEqual(a.call("ping")["status"]["code"], 0)
        finally:
            subprocess.run(["rm", "-rf", empty])
            if "mixed" in locals():
                subprocess.run(["rm", "-rf", mixed])


@unittest.skipUnless(os.geteuid() == 0, "needs root (mount)")
class StateDirStartTest(unittest.TestCase):
    def setUp(self):
        self.mounts = []
        self.agent = Agent()

    def tearDown(self):
        self.agent.stop()
        for m in reversed(self.mounts):
            subprocess.run(["umount", m])
        self.agent.__exit__(None, None, None)

    def mount(self, *args):
        subprocess.run(["mount"] + list(args), check=True)
        self.mounts.append(args[-1])

    def test_full_state_filesystem_refused(self):
        run = os.path.join(self.agent.root, "run")
        os.makedirs(run)
        self.mount("-t", "tmpfs", "-o", "size=64k,mode=0755", "vdsmtest-full", run)
        fill(run)
        rc = start_outcome(self.agent)
        out = self.agent.log()
        self.assertEqual(rc, 2, "exit %s (None = started):\n%s" % (rc, out))
        self.assertIn("state directory %s/run/vdsm-c is not writable: No space left on device"
                      % self.agent.root, out)
        self.assertFalse(os.path.exists(os.path.join(run, "vdsm-c", "vdsmd.port")))

    def test_read_only_state_directory_refused(self):
        lib = os.path.join(self.agent.root, "var", "lib", "vdsm-c")
        os.makedirs(lib)
        self.mount("--bind", lib, lib)
        subprocess.run(["mount", "-o", "remount,bind,ro", lib], check=True)
        rc = start_outcome(self.agent)
        out = self.agent.log()
        self.assertEqual(rc, 2, "exit %s (None = started):\n%s" % (rc, out))
        self.assertIn("state directory %s is not writable: Read-only file system" % lib, out)


class StateDumpTest(unittest.TestCase):
    def test_sigusr1_logs_state_and_keeps_serving(self):
        with Agent() as a:
            a.wait_ready()
            for _ in range(3):
                self.assertEqual(a.call("ping")["status"]["code"], 0)
            os.kill(a.pid(), signal.SIGUSR1)
            deadline = time.monotonic() + 10
            line = None
            while time.monotonic() < deadline and not line and a.proc.poll() is None:
                line = next((ln for ln in a.log().splitlines() if "state (SIGUSR1)" in ln), None)
                time.sleep(0.05)
            self.assertIsNone(a.proc.poll(), "vdsmd died of SIGUSR1 (exit %s)" % a.proc.poll())
            self.assertTrue(line, a.log()[-2000:])
            self.assertRegex(line, r"Z notice vdsmd: state \(SIGUSR1\): up \d+ s, ")
            m = re.search(r"ready; connections (\d+) .*requests (\d+) .*VMs 0 \(0 Up\); "
                          r"modules: network=\w+ netconf=\w+ hostcaps=\w+ hoststats=\w+ vm=\w+", line)
            self.assertTrue(m, line)
            self.assertGreaterEqual(int(m.group(2)), 3)
            self.assertEqual(a.call("ping")["status"]["code"], 0)
            self.assertEqual(a.stop(), 0)


if __name__ == "__main__":
    unittest.main()
