"""A short tour of every verb family, used alone under valgrind (make check's
valgrind tier) and as part of the functional tier."""
import unittest
import xmlrpc.client

from vdsmtest import Agent


class SmokeTest(unittest.TestCase):
    def test_tour(self):
        with Agent() as a:
            a.wait_ready(timeout=120)
            self.assertEqual(a.call("ping")["status"]["code"], 0)
            for verb in ("getVdsCapabilities", "getVdsStats", "getVdsHardwareInfo"):
                r = a.call(verb)
                self.assertEqual(r["status"]["code"], 0, (verb, r["status"]))
                self.assertIsInstance(r["info"], dict)
            # Warm capabilities: the cached reply is served.
            self.assertEqual(a.call("getVdsCapabilities")["status"]["code"], 0)
            self.assertEqual(a.call("ping", 1)["status"]["code"], 16)
            with self.assertRaises(xmlrpc.client.Fault):
                a.call("noSuchVerb")
            status, _ = a.raw_post(b"<methodCall>")
            self.assertEqual(status, 200)
            self.assertIn("help", a.call("system.methodHelp", "ping"))
            self.assertEqual(a.stop(), 0)


if __name__ == "__main__":
    unittest.main()
