"""Foundation: transport, TLS, envelope, faults, limits, lifecycle of the real vdsmd."""
import contextlib
import http.client
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import unittest
import xmlrpc.client

import vdsmtest
from vdsmtest import Agent, AgentTestCase


def tls_connect(agent, client_cert=True, cert_dir=None):
    ctx = vdsmtest.ssl_context(agent.pkidir, client_cert, cert_dir)
    raw = socket.create_connection((agent.ip, agent.port), timeout=10)
    return ctx.wrap_socket(raw)


def post_over(sock, body, path="/"):
    req = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n"
           % (path, len(body))).encode() + body
    sock.sendall(req)
    return sock.recv(65536)


class RpcTest(AgentTestCase):
    def test_ping_reply_shape(self):
        r = self.agent.call("ping")
        self.assertEqual(r, {"status": {"code": 0, "message": "Done"}})
        self.assertIs(type(r["status"]["code"]), int)

    def test_ping_wire_types(self):
        status, body = self.agent.raw_post(xmlrpc.client.dumps((), "ping").encode())
        self.assertEqual(status, 200)
        self.assertRegex(body, rb"<name>code</name>\s*<value><i4>0</i4></value>")
        for bad in (b"<i8>", b"<nil", b"dateTime"):
            self.assertNotIn(bad, body)

    def test_rpc2_path(self):
        status, body = self.agent.raw_post(xmlrpc.client.dumps((), "ping").encode(), path="/RPC2")
        self.assertEqual(status, 200)
        status, _ = self.agent.raw_post(xmlrpc.client.dumps((), "ping").encode(), path="/other")
        self.assertEqual(status, 404)

    def test_get_not_allowed(self):
        ctx = vdsmtest.ssl_context(self.agent.pkidir)
        c = http.client.HTTPSConnection(self.agent.ip, self.agent.port, context=ctx, timeout=10)
        c.request("GET", "/")
        self.assertEqual(c.getresponse().status, 405)
        c.close()

    def test_no_client_certificate_refused(self):
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError, http.client.HTTPException)):
            # TLS 1.3: the client may finish its side; the refusal shows on first I/O.
            s = tls_connect(self.agent, client_cert=False)
            data = post_over(s, xmlrpc.client.dumps((), "ping").encode())
            if not data:
                raise ConnectionError("closed before any HTTP reply")
            self.fail("got an HTTP reply without a client certificate: %r" % data[:80])
        self.assertAlive()

    def test_foreign_ca_certificate_refused(self):
        other = vdsmtest.pki("other")
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
            s = tls_connect(self.agent, cert_dir=other)
            data = post_over(s, xmlrpc.client.dumps((), "ping").encode())
            if not data:
                raise ConnectionError("closed before any HTTP reply")
            self.fail("got an HTTP reply with a foreign certificate: %r" % data[:80])
        self.assertAlive()
        self.assertIn("TLS: refused client", self.agent.log())

    def test_malformed_xml_is_fault_1(self):
        for body in (b"<methodCall><methodName>ping</methodName><params>",
                     b"not xml at all", b"",
                     b"<methodCall><methodName>ping</methodName><params><param><value><foo/>"
                     b"</value></param></params></methodCall>"):
            status, reply = self.agent.raw_post(body)
            self.assertEqual(status, 200, body)
            with self.assertRaises(xmlrpc.client.Fault) as cm:
                xmlrpc.client.loads(reply)
            self.assertEqual(cm.exception.faultCode, 1)
        self.assertAlive()

    def test_unknown_method_is_fault_1(self):
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            self.agent.call("noSuchVerb")
        self.assertEqual(cm.exception.faultCode, 1)
        self.assertIn('method "noSuchVerb" is not supported', cm.exception.faultString)

    def test_wrong_arity_is_status_16(self):
        r = self.agent.call("ping", "extra")
        self.assertEqual(r["status"]["code"], 16)
        self.assertIn("ping", r["status"]["message"])
        r = self.agent.call("system.methodHelp")
        self.assertEqual(r["status"]["code"], 16)
        self.assertIn("methodName", r["status"]["message"])

    def test_doctype_refused_before_parsing(self):
        bomb = (b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa">'
                b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
                b"<methodCall><methodName>ping</methodName><params><param><value>&b;</value>"
                b"</param></params></methodCall>")
        status, reply = self.agent.raw_post(bomb)
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            xmlrpc.client.loads(reply)
        self.assertEqual(cm.exception.faultCode, 1)
        self.assertIn("DOCTYPE", cm.exception.faultString)
        self.assertAlive()

    def test_deep_nesting_refused(self):
        depth = 3000
        body = (b"<methodCall><methodName>ping</methodName><params><param>" +
                b"<value><array><data>" * depth + b"</data></array></value>" * depth +
                b"</param></params></methodCall>")
        status, reply = self.agent.raw_post(body)
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            xmlrpc.client.loads(reply)
        self.assertIn("nested deeper", cm.exception.faultString)
        # Within the limit: parsed, and the arity check answers 16.
        body = (b"<methodCall><methodName>ping</methodName><params><param>" +
                b"<value><array><data>" * 10 + b"</data></array></value>" * 10 +
                b"</param></params></methodCall>")
        status, reply = self.agent.raw_post(body)
        self.assertEqual(xmlrpc.client.loads(reply)[0][0]["status"]["code"], 16)

    def test_deep_nesting_not_hidden_from_the_check(self):
        # '/>' inside an attribute value (legal XML) is not the end of an element, nor is
        # '</a>' inside a comment: before the fix each let 200 000 nested elements reach
        # xmlrpc-c, whose recursive tree free overflowed the thread stack (SIGSEGV).
        for body in (b"<methodCall><methodName>ping</methodName><params><param>" +
                     b'<a x="/>">' * 200000,
                     b"<!--" + b"</a>" * 150000 + b"-->" +
                     b"<methodCall><methodName>ping</methodName><params><param>" +
                     b"<a>" * 150000):
            status, reply = self.agent.raw_post(body)
            self.assertEqual(status, 200)
            with self.assertRaises(xmlrpc.client.Fault) as cm:
                xmlrpc.client.loads(reply)
            self.assertIn("nested deeper", cm.exception.faultString)
            self.assertAlive()

    def test_head_starting_with_bare_lf(self):
        # A head whose first line is a bare LF: the request-line parser looked one byte
        # before the head (before the receive buffer on a new connection, the previous
        # request's body on a kept-alive one: then a '\r' there made it scan with a
        # length of -1). Must be a plain 400.
        s = tls_connect(self.agent)
        try:
            s.sendall(b"\n\r\n\r\n")
            self.assertIn(b" 400 ", s.recv(4096).split(b"\r\n")[0] + b" ")
        finally:
            s.close()
        s = tls_connect(self.agent)
        try:
            s.sendall(b"POST /none HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nx\r")
            self.assertIn(b" 404 ", s.recv(4096).split(b"\r\n")[0] + b" ")
            s.sendall(b"\n\r\n\r\n")
            self.assertIn(b" 400 ", s.recv(4096).split(b"\r\n")[0] + b" ")
        finally:
            s.close()
        self.assertAlive()

    def test_large_body_within_limit_is_served(self):
        # 1.5 MiB (under the 2 MiB default): read in pieces through the small
        # connection pool and parsed; ping with a parameter answers 16.
        body = xmlrpc.client.dumps(("y" * (1536 * 1024),), "ping").encode()
        status, reply = self.agent.raw_post(body)
        self.assertEqual(status, 200)
        self.assertEqual(xmlrpc.client.loads(reply)[0][0]["status"]["code"], 16)

    def test_large_headers(self):
        ping = xmlrpc.client.dumps((), "ping").encode()
        status, _ = self.agent.raw_post(ping, headers={"X-Pad": "a" * 3000})
        self.assertEqual(status, 200)
        status, _ = self.agent.raw_post(ping, headers={"X-Pad": "a" * 9000})
        self.assertEqual(status, 431)
        self.assertAlive()

    def test_keepalive_reuses_connection(self):
        s = tls_connect(self.agent)
        try:
            conn = http.client.HTTPSConnection(self.agent.ip, self.agent.port)
            conn.sock = s
            for _ in range(5):
                conn.request("POST", "/", body=xmlrpc.client.dumps((), "ping"),
                             headers={"Content-Type": "text/xml"})
                r = conn.getresponse()
                self.assertEqual(r.status, 200)
                self.assertEqual(xmlrpc.client.loads(r.read())[0][0]["status"]["code"], 0)
        finally:
            s.close()

    def test_concurrent_keepalive_clients(self):
        errors = []
        counts = [0] * 32

        def worker(i):
            try:
                with self.agent.proxy() as p:
                    for _ in range(200):
                        r = p.ping()
                        if r != {"status": {"code": 0, "message": "Done"}}:
                            errors.append(r)
                            return
                        counts[i] += 1
            except Exception as e:  # noqa: BLE001 - report every failure
                errors.append(repr(e))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        self.assertEqual(errors, [])
        self.assertEqual(sum(counts), 32 * 200)

    def test_ping_answers_while_other_connections_are_busy(self):
        # Ten connections each stuck in the middle of a request body hold their
        # threads; ping on a new connection must still be served.
        socks = []
        try:
            for _ in range(10):
                s = tls_connect(self.agent)
                s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n<method")
                socks.append(s)
            self.assertAlive()
        finally:
            for s in socks:
                s.close()

    def test_introspection(self):
        r = self.agent.call("system.listMethods")
        self.assertIn("ping", r["methods"])
        self.assertIn("getVdsCapabilities", r["methods"])
        r = self.agent.call("system.methodHelp", "ping")
        self.assertTrue(r["help"].startswith("ping()"))

    def test_flowid_logged(self):
        self.agent.call("ping", "x", flow="flow-1234")
        self.assertIn("[flow flow-1234]", self.agent.log())


def closed_by_peer(sock, wait=0.5):
    """True when the peer closed (EOF or reset) within wait seconds; data is drained."""
    sock.settimeout(wait)
    try:
        while True:
            if not sock.recv(4096):
                return True
    except socket.timeout:
        return False
    except (ConnectionError, ssl.SSLError, OSError):
        return True


def trickle(sock, data, guard=60):
    """Sends data a byte every 0.5 s until the peer closes; False if it still has not
    after guard seconds (a hang guard, not a timing requirement)."""
    deadline = time.monotonic() + guard
    for i in range(len(data)):
        if time.monotonic() > deadline:
            return False
        try:
            sock.sendall(data[i:i + 1])
        except (ConnectionError, ssl.SSLError, OSError):
            return True
        if closed_by_peer(sock):
            return True
    return False


class SlowClientTest(AgentTestCase):
    """A client must not hold a connection thread for longer than the handshake or
    connection timeout, however it spaces its bytes (connection_timeout = 2 here)."""
    conf = {"vars": {"connection_timeout": "2"}}

    def test_trickled_handshake_is_closed(self):
        # Each recv was bounded by the 10 s handshake timeout, the handshake as a
        # whole by nothing: a ClientHello a byte at a time held the thread for minutes.
        ctx = vdsmtest.ssl_context(self.agent.pkidir)
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(incoming, outgoing)
        with self.assertRaises(ssl.SSLWantReadError):
            obj.do_handshake()
        hello = outgoing.read()
        raw = socket.create_connection((self.agent.ip, self.agent.port), timeout=10)
        try:
            self.assertTrue(trickle(raw, hello * 10), "handshake never timed out")
        finally:
            raw.close()
        self.assertAlive()

    def test_trickled_head_is_closed(self):
        s = tls_connect(self.agent)
        try:
            s.sendall(b"POST / HTTP/1.1\r\n")
            self.assertTrue(trickle(s, b"X-Pad: " + b"a" * 8000), "head never timed out")
        finally:
            s.close()
        self.assertAlive()

    def test_trickled_body_is_closed(self):
        s = tls_connect(self.agent)
        try:
            s.sendall(b"POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n")
            self.assertTrue(trickle(s, b"a" * 100000), "body never timed out")
        finally:
            s.close()
        self.assertAlive()

    def test_trickled_chunk_lines_are_closed(self):
        s = tls_connect(self.agent)
        try:
            s.sendall(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
            self.assertTrue(trickle(s, b"1\r\na\r\n" * 10000), "chunks never timed out")
        finally:
            s.close()
        self.assertAlive()

    def test_client_not_reading_replies_is_closed(self):
        # Pipelined requests whose replies the client never reads: the server's send
        # blocks; a send timeout must end the connection (it retried forever).
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.settimeout(10)
        raw.connect((self.agent.ip, self.agent.port))
        s = vdsmtest.ssl_context(self.agent.pkidir).wrap_socket(raw)
        s.settimeout(None)
        body = xmlrpc.client.dumps((), "system.listMethods").encode()
        req = (b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body) * 50
        ended = threading.Event()

        def flood():
            try:
                while True:
                    s.sendall(req)
            except (ConnectionError, ssl.SSLError, OSError):
                ended.set()

        t = threading.Thread(target=flood, daemon=True)
        t.start()
        try:
            self.assertTrue(ended.wait(60), "the server never gave up sending")
        finally:
            raw.close()
        self.assertAlive()

    def test_huge_chunk_refused_at_once(self):
        # A chunk declared far over max_request_bytes is refused when its size line
        # arrives, not read (and thrown away) up to 4 GiB first.
        s = tls_connect(self.agent)
        try:
            s.sendall(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"100000000\r\n" + b"a" * 1024)
            self.assertIn(b" 413 ", s.recv(4096).split(b"\r\n")[0] + b" ")
        finally:
            s.close()
        self.assertAlive()


class LifecycleTest(unittest.TestCase):
    def test_sigterm_exits_0_and_closes_port(self):
        with Agent() as a:
            a.wait_ready()
            port = a.port
            self.assertTrue(vdsmtest.port_open(a.ip, port))
            self.assertEqual(a.stop(signal.SIGTERM), 0)
            self.assertFalse(vdsmtest.port_open(a.ip, port))
            self.assertFalse(os.path.exists(os.path.join(a.root, "run/vdsm-c/vdsmd.pid")))

    def test_sigint_exits_0(self):
        with Agent() as a:
            a.wait_ready()
            self.assertEqual(a.stop(signal.SIGINT), 0)

    def test_recovery_code_99_while_initialising(self):
        with Agent(conf={"devel": {"startup_delay": "30"}}) as a:
            r = a.call("ping")
            self.assertEqual(r["status"], {"code": 99,
                                           "message": "Recovering from crash or Initializing"})
            self.assertEqual(a.call("getVdsCapabilities")["status"]["code"], 99)
            # Introspection is not gated, as in VDSM.
            self.assertIn("ping", a.call("system.listMethods")["methods"])
            # A stop during start-up is still clean.
            self.assertEqual(a.stop(), 0)

    def test_plain_http_mode_warns(self):
        with Agent(conf={"vars": {"ssl": "false"}}) as a:
            a.wait_ready()
            self.assertEqual(a.call("ping")["status"]["code"], 0)
            self.assertIn("PLAIN HTTP", a.log())

    def test_connection_limit_clean_refusal(self):
        with Agent(conf={"vars": {"max_connections": "3"}}) as a:
            a.wait_ready()
            held = [tls_connect(a) for _ in range(3)]
            try:
                for s in held:  # a served request on each: these hold the 3 slots
                    data = post_over(s, xmlrpc.client.dumps((), "ping").encode())
                    self.assertIn(b" 200 ", data[:20])
                s = tls_connect(a)
                data = post_over(s, xmlrpc.client.dumps((), "ping").encode())
                s.close()
                self.assertIn(b" 503 ", data.split(b"\r\n")[0] + b" ")
            finally:
                for s in held:
                    s.close()
            # Slots free again: served.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                s = tls_connect(a)
                data = post_over(s, xmlrpc.client.dumps((), "ping").encode())
                s.close()
                if b" 200 " in data[:20]:
                    break
                time.sleep(0.1)
            self.assertIn(b" 200 ", data[:20])
            self.assertIn("more than 3 connections", a.log())

    def test_syslog_receives_lines(self):
        a = Agent()
        try:
            cap = vdsmtest.SyslogCapture(a, until="listening on")
            a.start()
            a.wait_ready()
            lines = cap.wait()
            listen = [ln for ln in lines if "listening on" in ln]
            self.assertTrue(listen, lines)
            self.assertRegex(listen[0], r"^<29>\w{3} [ \d]\d \d\d:\d\d:\d\d vdsmd\[\d+\]: ")
            # Every config line came through too (the burst at start is queued, not lost).
            self.assertGreaterEqual(len([ln for ln in lines if " config " in ln]), 20)
        finally:
            a.__exit__(None, None, None)

    def test_daemon_mode(self):
        """Without --foreground: the launcher exits 0, the daemon writes its pid file,
        logs to syslog only (the writer thread is started after the fork) and serves."""
        a = Agent()
        pid = None
        try:
            cap = vdsmtest.SyslogCapture(a, until="initialisation complete")
            p = subprocess.run([vdsmtest.VDSMD, "--config", a.conf_path], timeout=30,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self.assertEqual(p.returncode, 0, p.stdout)
            lines = cap.wait()
            self.assertTrue([ln for ln in lines if "listening on" in ln], lines[-5:])
            self.assertTrue([ln for ln in lines if "initialisation complete" in ln], lines[-5:])
            run = os.path.join(a.root, "run", "vdsm-c")
            with open(os.path.join(run, "vdsmd.pid")) as f:
                pid = int(f.read())
            with open(os.path.join(run, "vdsmd.port")) as f:
                a.port = int(f.read())
            self.assertEqual(a.call("ping")["status"]["code"], 0)
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and os.path.exists(os.path.join(run, "vdsmd.pid")):
                time.sleep(0.05)
            self.assertFalse(os.path.exists(os.path.join(run, "vdsmd.pid")))
            pid = None
            self.assertFalse(vdsmtest.port_open(a.ip, a.port))
        finally:
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            a.__exit__(None, None, None)

    def test_audit_line_in_syslog(self):
        """A state-changing verb writes one AUDIT line (cert subject, FlowID, verb, code)
        to syslog, whatever its outcome."""
        a = Agent()
        try:
            cap = vdsmtest.SyslogCapture(a, until="AUDIT")
            a.start()
            vm = "6a1c0b52-37c7-4a0b-9ab4-1d1a2c6d4e01"
            r = a.call("destroy", vm, flow="audit-flow-42")
            lines = cap.wait()
            audit = [ln for ln in lines if "AUDIT" in ln]
            self.assertEqual(len(audit), 1, lines[-5:])
            self.assertRegex(audit[0], r'AUDIT verb=destroy client=vdsm-c-manager '
                             r'subject="[^"]*CN=vdsm-c-manager[^"]*" addr=127\.0\.0\.1 '
                             r'flow=audit-flow-42 obj=\S+ code=%d ms=' % r["status"]["code"])
            # Read-only verbs are not audited.
            a.call("ping")
            self.assertNotIn("AUDIT verb=ping", a.log())
        finally:
            a.__exit__(None, None, None)


class ConfigTest(unittest.TestCase):
    def run_with(self, text):
        a = Agent()
        try:
            with open(a.conf_path, "w") as f:
                f.write(text)
            p = subprocess.run([vdsmtest.VDSMD, "--config", a.conf_path, "--foreground"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=30)
            return p.returncode, p.stdout
        finally:
            a.__exit__(None, None, None)

    def test_bad_value_exits_2_naming_key(self):
        rc, out = self.run_with("[addresses]\nmanagement_port = notanumber\n")
        self.assertEqual(rc, 2)
        self.assertIn("management_port", out)
        self.assertIn(":2:", out)
        rc, out = self.run_with("[vars]\nssl = maybe\n")
        self.assertEqual(rc, 2)
        self.assertIn("ssl", out)

    def test_unreadable_file_exits_2(self):
        p = subprocess.run([vdsmtest.VDSMD, "--config", "/nonexistent/vdsm.conf", "--foreground"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("/nonexistent/vdsm.conf", p.stdout)

    def test_unknown_key_warns_and_starts(self):
        with Agent(conf={"vars": {"no_such_key": "1"}}) as a:
            a.wait_ready()
            self.assertIn("unknown key 'no_such_key'", a.log())

    def test_missing_certificates_fail_start(self):
        a = Agent(pkidir="/nonexistent-pki")
        try:
            with self.assertRaises(RuntimeError) as cm:
                a.start()
            self.assertIn("/nonexistent-pki/certs/vdsmcert.pem", str(cm.exception))
        finally:
            a.__exit__(None, None, None)


if __name__ == "__main__":
    unittest.main()
