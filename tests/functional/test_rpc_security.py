"""Issue 9 items 2, 3 and 7 against the real vdsmd over real mTLS: a handshake flood from
another address does not lock the manager out; client certificates must allow TLS client
use; strict HTTP framing, with every refusal reaching the client."""
import os
import select
import shutil
import socket
import ssl
import subprocess
import threading
import time
import unittest
import xmlrpc.client

import vdsmtest
from vdsmtest import Agent, AgentTestCase
from test_rpc import tls_connect

PING = xmlrpc.client.dumps((), "ping").encode()


def status_of(data):
    """HTTP status code of a reply's first line, or None when there is no reply."""
    line = data.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    if len(parts) < 2 or not line.startswith(b"HTTP/1.1 "):
        return None
    return int(parts[1])


def exchange(agent, raw, timeout=30):
    """Sends raw bytes on a new mTLS connection; returns what came back until the
    agent closed (b"" when it closed without a reply)."""
    s = tls_connect(agent)
    s.settimeout(timeout)
    out = b""
    try:
        s.sendall(raw)
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except (ConnectionError, ssl.SSLError):
        pass
    except socket.timeout:
        out += b"<timeout>"
    finally:
        s.close()
    return out


class HttpStrictTest(AgentTestCase):
    """Item 7: each malformed framing gets its status at once and the connection is
    closed; the agent keeps serving."""

    cases = [
        # name, raw request, expected status
        ("space before colon", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello", 400),
        ("two content-lengths", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
         b"Content-Length: 7\r\n\r\nhello", 400),
        ("chunkedX", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunkedX\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 501),
        ("HTTP/1.9", b"POST / HTTP/1.9\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 505),
        ("bad chunk size", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400),
        ("chunk longer than its size", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"2\r\nhello\r\n0\r\n\r\n", 400),
        # A bare-LF request used to wait for a CRLFCRLF that never comes: no reply before
        # the connection timeout (60 s here, longer than the 30 s this waits).
        ("bare LF line endings", b"POST / HTTP/1.1\nHost: x\nContent-Length: 0\n\n", 400),
        ("content-length and chunked", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ]

    def test_refusals(self):
        for name, raw, want in self.cases:
            with self.subTest(name):
                data = exchange(self.agent, raw)
                self.assertEqual(status_of(data), want, "%s: got %r" % (name, data[:80]))
                self.assertIn(b"Connection: close", data)
        self.assertAlive()

    def test_valid_chunked_and_duplicate_length_still_served(self):
        body = PING
        raw = (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
        data = exchange(self.agent, raw)
        self.assertEqual(status_of(data), 200, data[:80])
        self.assertIn(b"<name>code</name>", data)
        raw = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nContent-Length: %d\r\n"
               b"Connection: close\r\n\r\n" % (len(body), len(body)) + body)
        self.assertEqual(status_of(exchange(self.agent, raw)), 200)

    def test_oversized_body_413_reaches_the_client(self):
        # The 413 used to be lost: the agent closed while the client was still writing,
        # and the kernel's reset destroyed the reply. Now the client reads the 413.
        limit = 2 * 1024 * 1024
        body = b"<methodCall><methodName>ping</methodName><params><param><value>" + \
               b"x" * (limit + 10) + b"</value></param></params></methodCall>"
        for _ in range(3):
            status, reply = self.agent.raw_post(body)
            self.assertEqual(status, 413)
            self.assertIn(b"too large", reply)
        self.assertIn("over the", self.agent.log())
        self.assertAlive()

    def test_oversized_chunked_413_reaches_the_client(self):
        s = tls_connect(self.agent)
        s.settimeout(30)
        try:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"x" * 65536
            for _ in range(40):  # 2.5 MiB: over the 2 MiB limit
                s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            s.sendall(b"0\r\n\r\n")
            data = s.recv(4096)
        finally:
            s.close()
        self.assertEqual(status_of(data), 413, data[:80])
        self.assertAlive()


def make_client_cert(pkidir, outdir, cn, eku):
    """A client certificate from pkidir's CA with the given extendedKeyUsage (None: no
    EKU extension), in outdir/client/{cert,key}.pem."""
    os.makedirs(os.path.join(outdir, "client"), exist_ok=True)
    key = os.path.join(outdir, "client", "key.pem")
    csr = os.path.join(outdir, "client.csr")
    ext = os.path.join(outdir, "client.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n")
        if eku:
            f.write("extendedKeyUsage=%s\n" % eku)
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-sha256",
                    "-subj", "/O=vdsm-c/CN=%s" % cn, "-keyout", key, "-out", csr],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-sha256", "-days", "2", "-in", csr,
                    "-CA", os.path.join(pkidir, "certs", "cacert.pem"),
                    "-CAkey", os.path.join(pkidir, "ca", "cakey.pem"),
                    "-set_serial", str(int(time.time() * 1000)), "-extfile", ext,
                    "-out", os.path.join(outdir, "client", "cert.pem")],
                   check=True, capture_output=True)


class ClientPurposeTest(AgentTestCase):
    """Item 3: a certificate from the trusted CA whose extended key usage does not allow
    TLS client use is refused during the handshake."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.certs = vdsmtest._mkdtemp("eku-")
        for name, eku in (("codesign", "codeSigning"), ("server", "serverAuth"),
                          ("noeku", None), ("client", "clientAuth"),
                          ("client-and-server", "serverAuth,clientAuth")):
            make_client_cert(cls.agent.pkidir, os.path.join(cls.certs, name), "eku-" + name, eku)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certs, ignore_errors=True)
        super().tearDownClass()

    def ping_with(self, name):
        """The HTTP reply to a ping with that certificate, or None when refused."""
        try:
            s = tls_connect(self.agent, cert_dir=os.path.join(self.certs, name))
            s.settimeout(30)
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(PING) + PING)
            data = s.recv(65536)
            s.close()
            return data or None
        except (ssl.SSLError, ConnectionError, OSError):
            return None

    def test_wrong_purpose_refused(self):
        for name in ("codesign", "server"):
            with self.subTest(name):
                data = self.ping_with(name)
                self.assertIsNone(data, "%s certificate was served: %r" % (name, (data or b"")[:60]))
        self.assertIn("TLS: refused client", self.agent.log())
        self.assertAlive()

    def test_client_purpose_or_no_eku_accepted(self):
        for name in ("noeku", "client", "client-and-server"):
            with self.subTest(name):
                self.assertEqual(status_of(self.ping_with(name) or b""), 200)


class HandshakeFloodTest(AgentTestCase):
    """Item 2: connections that never complete a TLS handshake do not take the slots of
    authenticated ones. 500 idle TCP connections from 127.0.0.2, re-opened as soon as the
    agent closes them, while the manager (127.0.0.1) calls ping on new connections."""

    FLOOD = 500

    def flood(self, stop, counts):
        socks = []

        def opener():
            s = socket.socket()
            s.setblocking(False)
            s.bind(("127.0.0.2", 0))
            try:
                s.connect(("127.0.0.1", self.agent.port))
            except BlockingIOError:
                pass
            counts["opened"] += 1
            return s

        try:
            socks = [opener() for _ in range(self.FLOOD)]
            counts["ready"].set()
            while not stop.is_set():
                r, _, _ = select.select(socks, [], [], 0.05)
                for s in r:
                    try:
                        gone = s.recv(1) == b""
                    except (ConnectionError, BlockingIOError, OSError):
                        gone = True
                    if gone:
                        socks.remove(s)
                        s.close()
                        socks.append(opener())
        finally:
            for s in socks:
                s.close()

    def test_manager_served_during_flood(self):
        stop = threading.Event()
        counts = {"opened": 0, "ready": threading.Event()}
        t = threading.Thread(target=self.flood, args=(stop, counts))
        t.start()
        results = []
        try:
            self.assertTrue(counts["ready"].wait(60))
            for _ in range(22):
                # a new connection (and handshake) for every call, as after a reconnect
                with self.agent.proxy(timeout=20) as p:
                    results.append(p.ping()["status"]["code"])
        finally:
            stop.set()
            t.join(60)
        self.assertEqual(results, [0] * 22)
        # the flood really was refused and re-opened, not quietly served
        self.assertGreater(counts["opened"], self.FLOOD)
        self.assertIn("refusing TLS handshakes from 127.0.0.2", self.agent.log())
        self.assertAlive()

    def test_fast_trickled_handshake_is_dropped(self):
        # A ClientHello a byte every 50 ms: the socket is readable at nearly every poll
        # of the handshake stage, which must still end it at handshake_timeout (5 s).
        ctx = vdsmtest.ssl_context(self.agent.pkidir)
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(incoming, outgoing)
        with self.assertRaises(ssl.SSLWantReadError):
            obj.do_handshake()
        hello = outgoing.read()   # ~500 bytes: 25 s at this pace, the agent ends it at 5 s
        raw = socket.create_connection(("127.0.0.1", self.agent.port), timeout=10)
        raw.setblocking(False)
        closed = False
        guard = time.monotonic() + 60   # a hang guard, not a timing assertion
        try:
            for i in range(len(hello)):
                if time.monotonic() > guard:
                    break
                try:
                    raw.send(hello[i:i + 1])
                    if raw.recv(4096) == b"":
                        closed = True
                        break
                except BlockingIOError:
                    pass
                except (ConnectionError, OSError):
                    closed = True
                    break
                time.sleep(0.05)
        finally:
            raw.close()
        self.assertTrue(closed, "a trickled handshake was never ended")
        self.assertIn("TLS handshake with 127.0.0.1 timed out", self.agent.log())

    def test_handshakes_beyond_the_deadline_are_dropped(self):
        # An idle TCP connection from the manager's own address is closed after
        # handshake_timeout (5 s by default); it never reaches a connection thread.
        s = socket.create_connection(("127.0.0.1", self.agent.port), timeout=30)
        try:
            self.assertEqual(s.recv(1), b"")
        finally:
            s.close()
        self.assertIn("TLS handshake with 127.0.0.1 timed out", self.agent.log())


if __name__ == "__main__":
    unittest.main()
