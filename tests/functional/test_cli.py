"""vdsm-client and scripts/vdsm-c-certs against the real agent."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import vdsmtest
from vdsmtest import Agent


def client(agent, *args, pki=None):
    cmd = [vdsmtest.CLIENT, "--host", agent.ip, "--port", str(agent.port),
           "--pki", pki or agent.pkidir] + list(args)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=60)


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent().start()
        cls.agent.wait_ready()

    @classmethod
    def tearDownClass(cls):
        cls.agent.__exit__(None, None, None)

    def test_ping_prints_json_exit_0(self):
        p = client(self.agent, "ping")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout), {"status": {"code": 0, "message": "Done"}})

    def test_error_code_exit_1(self):
        p = client(self.agent, "ping", "extra")
        self.assertEqual(p.returncode, 1)
        self.assertIn("code 16", p.stderr)
        self.assertEqual(json.loads(p.stdout)["status"]["code"], 16)

    def test_fault_exit_1(self):
        p = client(self.agent, "noSuchVerb")
        self.assertEqual(p.returncode, 1)
        self.assertIn("fault 1", p.stderr)

    def test_named_and_json_args(self):
        p = client(self.agent, "system.methodHelp", "methodName=getVdsStats")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(json.loads(p.stdout)["help"].startswith("getVdsStats()"))
        p = client(self.agent, "system.methodHelp", '"ping"')
        self.assertEqual(p.returncode, 0, p.stderr)
        p = client(self.agent, "system.methodHelp", "nosuchparam=1")
        self.assertEqual(p.returncode, 2)
        self.assertIn("no parameter 'nosuchparam'", p.stderr)
        p = client(self.agent, "system.methodHelp", "{bad json")
        self.assertEqual(p.returncode, 2)
        self.assertIn("not valid JSON", p.stderr)

    def test_struct_param_from_pairs(self):
        # create's vmParams{} collects NAME=VALUE pairs, as the usage text promises (its
        # signature lacked the {} and the client refused "no parameter 'vmId'", exit 2).
        p = client(self.agent, "create", "vmId=3b9ea5d5-8f0e-4d61-9c3e-6a1f2b7c0d99",
                   "memSize=-5", "vmName=cli-test")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertNotIn("no parameter", p.stderr)
        self.assertIn(json.loads(p.stdout)["status"]["code"], (11, 99))

    def test_connection_error_exit_2(self):
        p = subprocess.run([vdsmtest.CLIENT, "--host", "127.0.0.1", "--port", "1", "--pki",
                            self.agent.pkidir, "ping"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertIn("cannot call ping", p.stderr)

    def test_usage_errors_exit_2(self):
        for args in ([], ["--port", "notaport", "ping"], ["--bogus"]):
            p = subprocess.run([vdsmtest.CLIENT] + args, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=60)
            self.assertEqual(p.returncode, 2, args)
        p = subprocess.run([vdsmtest.CLIENT, "--pki", "/nonexistent", "ping"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("/nonexistent", p.stderr)

    def test_foreign_pki_refused_exit_2(self):
        p = client(self.agent, "ping", pki=vdsmtest.pki("other"))
        self.assertEqual(p.returncode, 2)

    def test_flow_id_sent(self):
        p = subprocess.run([vdsmtest.CLIENT, "--host", self.agent.ip, "--port",
                            str(self.agent.port), "--pki", self.agent.pkidir, "--flow",
                            "cli-flow-77", "ping", "x"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("[flow cli-flow-77]", self.agent.log())


class CertsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=vdsmtest.TEST_TMP)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_certs(self, *args):
        return subprocess.run([vdsmtest.CERTS, "--dir", self.dir] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def test_layout_modes_and_no_overwrite(self):
        self.assertEqual(self.run_certs("--cn", "host1.example").returncode, 0)
        files = ["certs/cacert.pem", "keys/vdsmkey.pem", "certs/vdsmcert.pem",
                 "client/cert.pem", "client/key.pem"]
        for f in files:
            self.assertTrue(os.path.exists(os.path.join(self.dir, f)), f)
        self.assertEqual(os.stat(os.path.join(self.dir, "keys/vdsmkey.pem")).st_mode & 0o777, 0o600)
        out = subprocess.run(["openssl", "x509", "-noout", "-subject", "-in",
                              os.path.join(self.dir, "certs/vdsmcert.pem")],
                             stdout=subprocess.PIPE, text=True).stdout
        self.assertIn("host1.example", out)
        v = subprocess.run(["openssl", "verify", "-CAfile", os.path.join(self.dir, "certs/cacert.pem"),
                            os.path.join(self.dir, "client/cert.pem")], stdout=subprocess.PIPE, text=True)
        self.assertEqual(v.returncode, 0)
        key = open(os.path.join(self.dir, "keys/vdsmkey.pem")).read()
        # Complete set: nothing done, keys unchanged.
        p = self.run_certs()
        self.assertEqual(p.returncode, 0)
        self.assertEqual(open(os.path.join(self.dir, "keys/vdsmkey.pem")).read(), key)
        # Partial set: refused without --force.
        os.unlink(os.path.join(self.dir, "client/cert.pem"))
        p = self.run_certs()
        self.assertEqual(p.returncode, 1)
        self.assertIn("--force", p.stderr)
        self.assertEqual(open(os.path.join(self.dir, "keys/vdsmkey.pem")).read(), key)
        p = self.run_certs("--force")
        self.assertEqual(p.returncode, 0)
        self.assertNotEqual(open(os.path.join(self.dir, "keys/vdsmkey.pem")).read(), key)

    def test_bad_args(self):
        self.assertEqual(subprocess.run([vdsmtest.CERTS]).returncode, 2)
        self.assertEqual(self.run_certs("--days", "x").returncode, 2)


class HostileServerTest(unittest.TestCase):
    """The client parses another agent's replies (vdsm-client, and agent to agent for
    migration): a reply xmlrpc-c would crash on is refused, not parsed."""

    def serve(self, reply):
        import http.server
        import threading

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *a):
                pass

        srv = http.server.HTTPServer(("127.0.0.1", 0), H)
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        return srv.server_address[1]

    def test_out_of_range_i8_reply_refused(self):
        reply = (b'<?xml version="1.0"?><methodResponse><params><param><value><struct>'
                 b'<member><name>status</name><value><struct><member><name>code</name>'
                 b'<value><i8>9223372036854775808</i8></value></member></struct></value>'
                 b'</member></struct></value></param></params></methodResponse>')
        port = self.serve(reply)
        r = subprocess.run([vdsmtest.CLIENT, "--plain", "--host", "127.0.0.1", "--port", str(port),
                            "ping"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)   # not killed by a signal
        self.assertIn("unparsable reply", r.stderr)
        self.assertIn("9223372036854775808", r.stderr)


if __name__ == "__main__":
    unittest.main()
