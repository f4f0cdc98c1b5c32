"""Fault table rows that need nothing but the agent and the kernel (issue 16 item 3):
10 000 TLS handshakes that never finish, and a full disk under the network
persistence. Each: the agent keeps answering, reports the fault truthfully, loses no
persisted state, and recovers when the fault ends.

The flood stays on loopback (127.0.3.x sources to 127.0.0.1); the network test runs the
agent in a network namespace of its own with a small tmpfs mounted over its netconf
directory, unmounted in cleanup even when the test fails.
"""
import json
import os
import resource
import selectors
import socket
import ssl
import subprocess
import threading
import time
import unittest

import vdsmtest
from vdsmtest import Agent, Netns, run_pair, veth_to, wait_for




def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def client_hello_prefix(pkidir):
    """The first half of a real ClientHello: a handshake that has started and will
    never finish."""
    ctx = vdsmtest.ssl_context(pkidir)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outgoing.read()
    return hello[:len(hello) // 2]


class HandshakeFlood10kTest(unittest.TestCase):
    """10 000 connections from 40 loopback addresses, each sending half a ClientHello
    and then nothing, at most 2 000 open at once (re-opened as the agent closes them).
    The agent's descriptors stay bounded by max_handshakes + max_connections, the
    manager's pings on fresh connections all succeed meanwhile, and afterwards the
    descriptors and the memory come back."""

    TOTAL = 10000
    OPEN_AT_ONCE = 2000
    SOURCES = ["127.0.3.%d" % i for i in range(1, 41)]
    MAX_HANDSHAKES = 128
    MAX_CONNECTIONS = 64

    def setUp(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = self.OPEN_AT_ONCE + 512
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        self.agent = Agent(conf={"vars": {
            "max_handshakes": str(self.MAX_HANDSHAKES),
            "max_connections": str(self.MAX_CONNECTIONS),
            "log_level": "info"}})
        self.agent.start()
        self.addCleanup(self.agent.__exit__, None, None, None)
        self.agent.wait_ready()

    def flood(self, hello, stop, counts):
        sel = selectors.DefaultSelector()   # epoll: descriptors beyond FD_SETSIZE
        nsrc = len(self.SOURCES)

        def opener():
            s = socket.socket()
            s.setblocking(False)
            s.bind((self.SOURCES[counts["opened"] % nsrc], 0))
            try:
                s.connect(("127.0.0.1", self.agent.port))
            except BlockingIOError:
                pass
            counts["opened"] += 1
            # writable once connected: then half a ClientHello, and only reading after
            sel.register(s, selectors.EVENT_WRITE, "hello")

        try:
            while not stop.is_set():
                while len(sel.get_map()) < self.OPEN_AT_ONCE and counts["opened"] < self.TOTAL:
                    opener()
                if counts["opened"] >= self.TOTAL:
                    counts["done"].set()
                for key, _ in sel.select(0.05):
                    s = key.fileobj
                    gone = False
                    try:
                        if key.data == "hello":
                            s.send(hello)
                            sel.modify(s, selectors.EVENT_READ, "wait")
                            continue
                        gone = s.recv(4096) == b""
                    except BlockingIOError:
                        pass
                    except OSError:
                        gone = True
                    if gone:
                        counts["closed_by_agent"] += 1
                        sel.unregister(s)
                        s.close()
        finally:
            counts["done"].set()
            for key in list(sel.get_map().values()):
                key.fileobj.close()
            sel.close()

    def test_10k_unfinished_handshakes(self):
        pid = self.agent.pid()
        fds0, rss0 = fd_count(pid), rss_kib(pid)
        hello = client_hello_prefix(self.agent.pkidir)
        stop = threading.Event()
        counts = {"opened": 0, "closed_by_agent": 0, "done": threading.Event()}
        t = threading.Thread(target=self.flood, args=(hello, stop, counts))
        t.start()
        pings, max_fds = [], fds0
        try:
            deadline = time.monotonic() + 600   # a hang guard, not a timing assertion
            while (not counts["done"].is_set() and t.is_alive()
                   and time.monotonic() < deadline):
                with self.agent.proxy(timeout=30) as p:
                    pings.append(p.ping()["status"]["code"])
                max_fds = max(max_fds, fd_count(pid))
            # and once more while the last 2 000 are still open
            with self.agent.proxy(timeout=30) as p:
                pings.append(p.ping()["status"]["code"])
            max_fds = max(max_fds, fd_count(pid))
        finally:
            stop.set()
            t.join(120)
        print("\n  flood: %d opened, %d closed by the agent; %d pings; agent fds %d -> max %d"
              % (counts["opened"], counts["closed_by_agent"], len(pings), fds0, max_fds))
        self.assertGreaterEqual(counts["opened"], self.TOTAL)
        self.assertGreater(len(pings), 1)
        self.assertEqual(pings, [0] * len(pings))
        # bounded: pending handshakes + served connections + the agent's own files
        self.assertLessEqual(max_fds, fds0 + self.MAX_HANDSHAKES + self.MAX_CONNECTIONS + 16,
                             "agent descriptors: %d at start, %d at most" % (fds0, max_fds))
        self.assertIn("refusing TLS handshakes", self.agent.log())
        # recovered: descriptors back (the handshakes time out at handshake_timeout)
        wait_for(lambda: fd_count(pid) <= fds0 + 2, 60, "the agent's descriptors to come back")
        if not vdsmtest.sanitizer_build():   # ASan's quarantine keeps freed memory by design
            self.assertLess(rss_kib(pid) - rss0, 64 * 1024, "RSS grew by more than 64 MiB")
        with self.agent.proxy() as p:
            self.assertEqual(p.getVdsStats()["status"]["code"], 0)
        self.assertIsNone(self.agent.proc.poll())


@unittest.skipUnless(os.geteuid() == 0, "needs root (netns, mount)")
class NetconfDiskFullTest(unittest.TestCase):
    """The disk under <root>/var/lib/vdsm-c/netconf fills up: setupNetworks and
    setSafeNetworkConfig fail with a code naming the cause, the kernel is left as it
    was, the persisted running and safe configurations are unchanged, ping and
    getVdsStats answer; once space is back the same call succeeds."""

    def setUp(self):
        self.ns = Netns("vdfl%d" % os.getpid()).__enter__()
        self.addCleanup(self.ns.__exit__)
        host_ip, ns_ip = run_pair(252)
        veth_to(self.ns, host_ip, ns_ip)
        for i in range(2):
            self.ns.run("ip", "link", "add", "veth_f%d" % i, "type", "veth", "peer", "name",
                        "veth_g%d" % i)
            self.ns.run("ip", "link", "set", "veth_f%d" % i, "up")
            self.ns.run("ip", "link", "set", "veth_g%d" % i, "up")
        self.agent = Agent(conf={"vars": {"fake_nics": "veth_f*"}}, netns=self.ns.name,
                           ip=ns_ip)
        self.netconf = os.path.join(self.agent.root, "var", "lib", "vdsm-c", "netconf")
        os.makedirs(self.netconf)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "vdsmtest-netconf",
                        self.netconf], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", self.netconf])
        self.agent.start()
        self.addCleanup(self.agent.__exit__, None, None, None)
        self.agent.wait_ready()

    def links(self):
        out = json.loads(self.ns.run("ip", "-j", "link", "show").stdout)
        return sorted(l["ifname"] for l in out)

    def persisted(self):
        got = {}
        for d, _, files in os.walk(self.netconf):
            for name in files:
                path = os.path.join(d, name)
                if path != os.path.join(self.netconf, "filler"):
                    with open(path, "rb") as f:
                        got[os.path.relpath(path, self.netconf)] = f.read()
        return got

    def test_setup_networks_on_a_full_disk(self):
        nets = {"fullnet": {"nic": "veth_f1", "bridged": "true", "STP": "no"}}
        opts = {"connectivityCheck": "false"}
        # a first network persisted as safe, so that there is state to lose
        r = self.agent.call("setupNetworks", {"oknet": {"nic": "veth_f0", "bridged": "true"}}, {}, opts)
        self.assertEqual(r["status"]["code"], 0, r)
        self.assertEqual(self.agent.call("setSafeNetworkConfig")["status"]["code"], 0)
        links0, files0 = self.links(), self.persisted()
        self.assertIn("oknet", links0)
        self.assertTrue(files0, "nothing persisted under %s" % self.netconf)

        vdsmtest.fill_filesystem(self.netconf)
        r = self.agent.call("setupNetworks", nets, {}, opts)
        self.assertNotEqual(r["status"]["code"], 0, r)
        self.assertRegex(r["status"]["message"], "(?i)no space|space left|ENOSPC")
        self.assertEqual(self.links(), links0, "the kernel was changed")
        self.assertEqual(self.persisted(), files0, "persisted state changed")
        r = self.agent.call("setSafeNetworkConfig")
        self.assertNotEqual(r["status"]["code"], 0, r)
        self.assertEqual(self.persisted(), files0, "persisted state changed")
        self.assertEqual(self.agent.call("ping")["status"]["code"], 0)
        self.assertEqual(self.agent.call("getVdsStats")["status"]["code"], 0)

        os.unlink(os.path.join(self.netconf, "filler"))
        r = self.agent.call("setupNetworks", nets, {}, opts)
        self.assertEqual(r["status"]["code"], 0, r)
        self.assertIn("fullnet", self.links())
        self.assertEqual(self.agent.call("setSafeNetworkConfig")["status"]["code"], 0)
        self.assertNotEqual(self.persisted(), files0)


if __name__ == "__main__":
    unittest.main()
