"""Scalar values on the wire (issue 9, items 1 and 4), against the real vdsmd over mTLS.

Item 1: an <i8> that xmlrpc-c 1.33 cannot read as a 64-bit integer crashed the agent
(its fault message has two %s and one argument). Every scalar type's out-of-range and
malformed text must now give fault 1 naming the value, and the agent keeps serving:
each hostile value is followed by a ping. Values on the boundaries still parse (a ping
with one parameter answers status 16 "takes 0 arguments": the call was parsed).

Item 4: characters outside the Basic Multilingual Plane (4-byte UTF-8) were refused
with fault 1 "not valid UTF-8"; they must come back byte-identical, while invalid UTF-8
is still refused. The create round trip needs a private libvirtd (test_vm.VmBase).
"""
import unittest
import xmlrpc.client

import test_vm
from vdsmtest import Agent, AgentTestCase

EMOJI = "\U0001F600"


def call_body(method, value_xml):
    """A methodCall with one parameter whose <value> content is value_xml (str or bytes)."""
    if isinstance(value_xml, str):
        value_xml = value_xml.encode()
    return (b"<?xml version='1.0'?><methodCall><methodName>" + method.encode()
            + b"</methodName><params><param><value>" + value_xml
            + b"</value></param></params></methodCall>")


class WireValuesTest(AgentTestCase):
    """One agent for the class; if a value kills it (the unfixed build), the next check
    starts a new one so that every value gets its own observation."""
    restarts = 0

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        assert cls.restarts == 0, "vdsmd died %d times" % cls.restarts

    def ensure_agent(self):
        cls = type(self)
        if cls.agent.proc is not None and cls.agent.proc.poll() is None:
            return
        cls.restarts += 1
        cls.agent.stop()
        cls.agent.__exit__(None, None, None)
        cls.agent = Agent().start()
        cls.agent.wait_ready()

    def setUp(self):
        self.problems = []

    def tearDown(self):
        # Every value is tried even after one fails (the agent restarted if it died):
        # the failure lists what each value did.
        if self.problems:
            self.fail("%d value(s) mishandled:\n  %s" % (len(self.problems),
                                                          "\n  ".join(self.problems)))

    def post(self, body):
        self.ensure_agent()
        status, reply = self.agent.raw_post(body)
        self.assertEqual(status, 200)
        return reply

    def alive(self):
        """None when the agent still answers ping, else what happened."""
        died = self.agent.proc.poll()
        if died is not None:
            return "vdsmd died (exit status %s)" % died
        try:
            code = self.agent.call("ping")["status"]["code"]
        except Exception as e:  # pylint: disable=broad-except
            return "ping failed: %r" % e
        return None if code == 0 else "ping answered code %s" % code

    def outcome(self, body):
        """('fault', code, text), ('reply', struct) or ('dead', what) for one call."""
        try:
            reply = self.post(body)
        except Exception as e:  # pylint: disable=broad-except
            return ("dead", "%r; %s" % (e, self.alive()))
        try:
            return ("reply", xmlrpc.client.loads(reply)[0][0])
        except xmlrpc.client.Fault as f:
            return ("fault", f.faultCode, f.faultString)

    def assertAlive(self):
        self.assertIsNone(self.alive())

    def assertFault(self, value_xml, named, method="ping"):
        """value_xml as a parameter of method: fault 1 whose text contains named; then
        ping still works."""
        got = self.outcome(call_body(method, value_xml))
        if got[0] != "fault" or got[1] != 1 or named not in got[2]:
            self.problems.append("%s(%r): want fault 1 with %r, got %r" % (method, value_xml,
                                                                           named, got))
        problem = self.alive()
        if problem:
            self.problems.append("after %s(%r): %s" % (method, value_xml, problem))

    def assertParsed(self, value_xml):
        """value_xml as ping's parameter: parsed (status 16: ping takes no arguments)."""
        got = self.outcome(call_body("ping", value_xml))
        if got[0] != "reply" or got[1]["status"]["code"] != 16:
            self.problems.append("ping(%r): want status 16 (parsed), got %r" % (value_xml, got))

    # ---- item 1: scalar values ----

    def test_i8_out_of_range(self):
        for v in ("9223372036854775808", "-9223372036854775809", "99999999999999999999"):
            for method in ("ping", "noSuchVerb", "create"):
                self.assertFault("<i8>%s</i8>" % v, "<i8> value '%s' is out of the 64-bit range" % v,
                                 method)
        self.assertParsed("<i8>-9223372036854775808</i8>")
        self.assertParsed("<i8>9223372036854775807</i8>")
        self.assertParsed("<ex:i8>0</ex:i8>")

    def test_i8_malformed(self):
        for v in ("12x", "", " 1", "-", "+", "0x10", "1e3", "1.0", "--1", EMOJI):
            self.assertFault("<i8>%s</i8>" % v, "<i8> value '%s' is not an integer" % v)
        self.assertFault("<i8/>", "<i8> value '' is not an integer")
        self.assertFault("<ex:i8>x</ex:i8>", "<ex:i8> value 'x' is not an integer")
        self.assertFault("<i8>&bogus;</i8>", "<i8> value '&bogus;' has an undefined entity")

    def test_i8_text_read_as_the_parser_reads_it(self):
        """References, CDATA and comments inside the element do not hide the value."""
        named = "<i8> value '9223372036854775808' is out of the 64-bit range"
        for v in ("&#x39;223372036854775808", "&#57;223372036854775808",
                  "<![CDATA[9223372036854775808]]>", "9<!-- c -->223372036854775808",
                  "922<?pi x?>3372036854775808"):
            self.assertFault("<i8>%s</i8>" % v, named)
        self.assertFault("<i8 a='1'>9223372036854775808</i8>", named)
        self.assertFault("<struct><member><name>k</name><value><i8>9223372036854775808</i8>"
                         "</value></member></struct>", named)
        self.assertFault("<array><data><value><i8>9223372036854775808</i8></value></data>"
                         "</array>", named)

    def test_i8_in_utf16_body(self):
        """The same value in UTF-16, which expat decodes, is refused before parsing."""
        body = call_body("ping", "<i8>9223372036854775808</i8>").replace(
            b"<?xml version='1.0'?>", b"<?xml version='1.0' encoding='UTF-16'?>")
        reply = self.post(b"\xff\xfe" + body.decode().encode("utf-16-le"))
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            xmlrpc.client.loads(reply)
        self.assertEqual(cm.exception.faultCode, 1)
        self.assertIn("NUL bytes", cm.exception.faultString)
        self.assertAlive()

    def test_int_out_of_range_and_malformed(self):
        for t in ("int", "i4"):
            for v in ("2147483648", "-2147483649", "99999999999"):
                self.assertFault("<%s>%s</%s>" % (t, v, t),
                                 "<%s> value '%s' is out of the 32-bit range" % (t, v))
            for v in ("12x", "", " 1", "1 ", "1.5"):
                self.assertFault("<%s>%s</%s>" % (t, v, t),
                                 "<%s> value '%s' is not an integer" % (t, v))
            self.assertParsed("<%s>-2147483648</%s>" % (t, t))
            self.assertParsed("<%s>2147483647</%s>" % (t, t))

    def test_double_out_of_range_and_malformed(self):
        for v in ("1e400", "-1e400", "1e-400"):
            self.assertFault("<double>%s</double>" % v,
                             "<double> value '%s' is out of the range of a double" % v)
        for v in ("inf", "-Infinity", "nan"):
            self.assertFault("<double>%s</double>" % v,
                             "<double> value '%s' is not a finite number" % v)
        for v in ("abc", "", "1.2.3", "1,5", "1.5 "):
            self.assertFault("<double>%s</double>" % v, "<double> value '%s' is not a number" % v)
        for v in ("1e300", "-1.5", ".5", "1.7976931348623157e308", "0"):
            self.assertParsed("<double>%s</double>" % v)

    def test_boolean_malformed(self):
        for v in ("2", "true", "", " 1", "01"):
            self.assertFault("<boolean>%s</boolean>" % v, "<boolean> value '%s' is not 0 or 1" % v)
        self.assertParsed("<boolean>0</boolean>")
        self.assertParsed("<boolean>1</boolean>")

    def test_datetime_out_of_range_and_malformed(self):
        for v in ("20261301T00:00:00", "20260132T00:00:00", "20260101T24:00:00",
                  "20260101T00:60:00", "20260101T00:00:60", "garbage", "", "20260101"):
            self.assertFault("<dateTime.iso8601>%s</dateTime.iso8601>" % v,
                             "<dateTime.iso8601> value '%s' is not a date and time" % v)
        for v in ("20260101T00:00:00", "2026-12-31T23:59:59Z", "20260101T00:00:00.5"):
            self.assertParsed("<dateTime.iso8601>%s</dateTime.iso8601>" % v)

    def test_base64_malformed(self):
        for v in ("a", "aGk", "aGk===", "aGk=" + EMOJI):
            self.assertFault("<base64>%s</base64>" % v, "<base64> value '%s' is not base64" % v)
        for v in ("aGk=", "", "aGVs\nbG8="):
            self.assertParsed("<base64>%s</base64>" % v)

    def test_structural_faults(self):
        """Other parser faults (unknown type, member without name, bad array, a
        method name with a child) were already safe; they stay fault 1."""
        for v, named in (("<foo>1</foo>", "Unknown value type"),
                         ("<struct><member><value>1</value></member></struct>", "<member>"),
                         ("<struct><member><name>a</name><name>b</name></member></struct>",
                          "no <value> child"),
                         ("<array><data><x/></data></array>", "<data> element has <x> child"),
                         ("<i4><x/></i4>", "child elements")):
            self.assertFault(v, named)
        reply = self.post(b"<methodCall><methodName>p<x/></methodName><params/></methodCall>")
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            xmlrpc.client.loads(reply)
        self.assertEqual(cm.exception.faultCode, 1)
        self.assertAlive()

    # ---- item 4: characters outside the Basic Multilingual Plane ----

    def test_outside_bmp_in_a_status_message(self):
        """A string parameter echoed in a reply (system.methodHelp names the method it
        does not know): the 4-byte character goes out as the same 4 bytes."""
        name = "probe-" + EMOJI
        reply = self.post(xmlrpc.client.dumps((name,), "system.methodHelp").encode())
        self.assertIn(b"no method '" + name.encode() + b"'", reply)
        r = xmlrpc.client.loads(reply)[0][0]
        self.assertEqual(r["status"]["code"], 16)
        self.assertIn("no method '%s'" % name, r["status"]["message"])
        # as a character reference too
        reply = self.post(call_body("system.methodHelp", "probe-&#x1F600;"))
        self.assertIn(b"no method '" + name.encode() + b"'", reply)

    def test_outside_bmp_in_a_fault(self):
        """An unknown method's name comes back in the fault text, intact."""
        name = "probe-" + EMOJI
        reply = self.post(xmlrpc.client.dumps((), name).encode())
        self.assertIn(name.encode(), reply)
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            xmlrpc.client.loads(reply)
        self.assertEqual(cm.exception.faultCode, 1)
        self.assertIn('method "%s" is not supported' % name, cm.exception.faultString)
        self.assertFault("<i8>%s</i8>" % EMOJI, "<i8> value '%s' is not an integer" % EMOJI)

    def test_invalid_utf8_still_refused(self):
        for raw in (b"\xed\xa0\x80",           # U+D800, a surrogate
                    b"\xf4\x90\x80\x80",       # above U+10FFFF
                    b"\xc0\xaf",               # overlong '/'
                    b"\xf0\x80\x80\xaf",       # overlong, 4 bytes
                    b"\xf0\x9f\x98",           # truncated
                    b"\xef\xbf\xbe",           # U+FFFE
                    b"&#xD800;", b"&#x110000;"):
            # expat refuses most of these itself, xmlrpc-c (now our validator) the rest
            self.assertFault(b"<string>x" + raw + b"</string>", "", "system.methodHelp")


class WireValuesVmTest(test_vm.VmBase):
    """create echoes vmParams: the path on which the manager gets its strings back."""

    def test_create_vmname_outside_bmp_round_trips(self):
        name = "probe-" + EMOJI
        p = self.params(n=40, nics=0, vmName=name)
        status, reply = self.agent.raw_post(xmlrpc.client.dumps((p,), "create").encode())
        self.assertEqual(status, 200)
        r = xmlrpc.client.loads(reply)[0][0]
        self.assertEqual(r["status"]["code"], 0, r["status"])
        self.created.append(p["vmId"])
        self.assertIn(b"<string>" + name.encode() + b"</string>", reply)
        self.assertEqual(r["vmList"]["vmName"], name)
        self.assertEqual(self.stats(p["vmId"])["vmName"], name)
        listed = [v for v in self.agent.call("list", True)["vmList"] if v["vmId"] == p["vmId"]]
        self.assertEqual([v["vmName"] for v in listed], [name])
        self.assertEqual(self.lv.virsh("domname", p["vmId"]).stdout.strip(), name)

    def test_create_with_infinite_double_refused(self):
        """create echoes every vmParams value; xmlrpc-c cannot write an infinite double
        (it recurses without end), so such a value is refused on the way in."""
        p = self.params(n=41, nics=0)
        body = xmlrpc.client.dumps((p,), "create").encode().replace(
            b"<member>\n<name>vmName</name>",
            b"<member>\n<name>probeInf</name>\n<value><double>inf</double></value>\n</member>\n"
            b"<member>\n<name>vmName</name>", 1)
        self.assertIn(b"probeInf", body)
        status, reply = self.agent.raw_post(body)
        self.assertEqual(status, 200)
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            xmlrpc.client.loads(reply)
        self.assertEqual(cm.exception.faultCode, 1)
        self.assertIn("<double> value 'inf' is not a finite number", cm.exception.faultString)
        self.assertEqual(self.agent.call("ping")["status"]["code"], 0)
        self.assertNotIn(p["vmId"], self.domains())


if __name__ == "__main__":
    unittest.main()
