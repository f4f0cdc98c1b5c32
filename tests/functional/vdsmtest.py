"""Functional-test harness for vdsm-c.

Agent       the real build/vdsmd (or $VDSMD) on a random port, with a temp state root
            and certificates made by scripts/vdsm-c-certs; driven with Python's
            xmlrpc.client + ssl presenting the manager's client certificate.
pki()       a CA + host + client certificate set shared by the tests of one run.
private_libvirtd()
            a test-private root libvirtd in its own mount namespace (and optionally a
            network namespace), per shared/lab/MIGRATION.md section 2; gives its URI.
Netns       a network namespace created by the test and deleted on exit.

Every process is started by the harness and stopped by PID; every namespace and temp
dir is removed in __exit__/stop() even when the test fails.
"""
import contextlib
import errno
import http.client
import os
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import uuid
import xmlrpc.client

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("VDSM_BUILD", os.path.join(SRC, "build"))
VDSMD = os.environ.get("VDSMD", os.path.join(BUILD, "vdsmd"))


def wait_for(pred, timeout, what, step=0.2):
    """Polls pred until it returns a true value (returned) or the deadline passes (a hang
    guard, never a timing assertion)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(step)
    raise AssertionError("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))


def sanitizer_build():
    """True when the vdsmd under test is built with ASan (its RSS is not the product's)."""
    try:
        with open(VDSMD, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False
CLIENT = os.environ.get("VDSM_CLIENT", os.path.join(BUILD, "vdsm-client"))
CERTS = os.path.join(SRC, "scripts", "vdsm-c-certs")
TEST_TMP = os.environ.get("VDSM_TEST_TMP", os.path.join(BUILD, "test-tmp"))


def _mkdtemp(prefix):
    os.makedirs(TEST_TMP, exist_ok=True)
    return tempfile.mkdtemp(prefix=prefix, dir=TEST_TMP)


_pki_cache = {}


def pki(name="main"):
    """Directory with certs/cacert.pem, keys/vdsmkey.pem, certs/vdsmcert.pem,
    client/{cert,key}.pem. Different names give different CAs."""
    if name not in _pki_cache:
        d = os.path.join(TEST_TMP, "pki-%s-%d" % (name, os.getpid()))
        shutil.rmtree(d, ignore_errors=True)
        subprocess.run([CERTS, "--dir", d, "--cn", "localhost"], check=True,
                       stdout=subprocess.DEVNULL)
        _pki_cache[name] = d
    return _pki_cache[name]


def fill_filesystem(directory):
    """Fills the filesystem of directory with one file ("filler") until ENOSPC."""
    fd = os.open(os.path.join(directory, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)


def cleanup_pki():
    for d in _pki_cache.values():
        shutil.rmtree(d, ignore_errors=True)
    _pki_cache.clear()


def ssl_context(pkidir, client_cert=True, cert_dir=None):
    """Client context trusting pkidir's CA; presents cert_dir's (default pkidir's)
    client certificate unless client_cert is False."""
    ctx = ssl.create_default_context(cafile=os.path.join(pkidir, "certs", "cacert.pem"))
    ctx.check_hostname = False
    if client_cert:
        cd = cert_dir or pkidir
        ctx.load_cert_chain(os.path.join(cd, "client", "cert.pem"),
                            os.path.join(cd, "client", "key.pem"))
    return ctx


class _Transport(xmlrpc.client.SafeTransport):
    """Keep-alive HTTPS transport that can add a FlowID header."""

    def __init__(self, context, flow=None, timeout=60):
        super().__init__(context=context)
        self.flow = flow
        self.timeout = timeout

    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = self.timeout
        return conn

    def send_headers(self, connection, headers):
        if self.flow:
            connection.putheader("FlowID", self.flow)
        super().send_headers(connection, headers)


class _PlainTransport(xmlrpc.client.Transport):
    def __init__(self, flow=None):
        super().__init__()
        self.flow = flow

    def send_headers(self, connection, headers):
        if self.flow:
            connection.putheader("FlowID", self.flow)
        super().send_headers(connection, headers)


class Agent:
    """One vdsmd process. conf: {section: {key: value}} merged over test defaults."""

    def __init__(self, conf=None, pkidir=None, netns=None, ip="127.0.0.1", binary=None,
                 env=None, extra_args=()):
        self.pkidir = pkidir or pki()
        self.netns = netns
        self.ip = ip
        self.binary = binary or VDSMD
        self.root = _mkdtemp("agent-")
        self.proc = None
        self.port = None
        self.env = env
        self.extra_args = list(extra_args)
        self.conf = {
            "vars": {
                "trust_store_path": self.pkidir,
                "root": self.root,
                "management_ip": ip,
                "management_port": "0",
                "log_level": "debug",
                # Never the host's own libvirtd: tests that need one start a private
                # libvirtd and pass its URI.
                "libvirt_uri": "qemu:///system?socket=/nonexistent/libvirt-sock",
            },
            # The access check after a mount runs as root here: the agent's root is a
            # 0700 temp dir that uid 36 cannot traverse (on a host it is /). Root still
            # fails on a read-only mount (test_storage); the lab tier checks uid 36.
            "irs": {"storage_access_uid": "0", "storage_access_gid": "0"},
        }
        for sec, kv in (conf or {}).items():
            self.conf.setdefault(sec, {}).update(kv)
        self.conf_path = os.path.join(self.root, "vdsm.conf")
        self.write_conf()
        self.log_path = os.path.join(self.root, "vdsmd.log")

    def write_conf(self):
        with open(self.conf_path, "w") as f:
            for sec, kv in self.conf.items():
                f.write("[%s]\n" % sec)
                for k, v in kv.items():
                    f.write("%s = %s\n" % (k, v))

    @property
    def tls(self):
        return str(self.conf["vars"].get("ssl", "true")).lower() not in ("false", "0", "no", "off")

    def command(self):
        cmd = [self.binary, "--config", self.conf_path, "--foreground"] + self.extra_args
        # VDSMD_WRAPPER: a command prefix such as valgrind (make check's valgrind tier).
        wrapper = os.environ.get("VDSMD_WRAPPER")
        if wrapper:
            cmd = shlex.split(wrapper) + cmd
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns] + cmd
        return cmd

    def start(self, wait=True, timeout=60):
        port_file = os.path.join(self.root, "run", "vdsm-c", "vdsmd.port")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(port_file)
        env = dict(os.environ)
        env.update(self.env or {})
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self.logf, stderr=subprocess.STDOUT,
                                     env=env)
        if not wait:
            return self
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("vdsmd exited with %s:\n%s" % (self.proc.returncode, self.log()))
            try:
                with open(port_file) as f:
                    self.port = int(f.read().strip())
                return self
            except (FileNotFoundError, ValueError):
                time.sleep(0.02)
        self.kill()
        raise RuntimeError("vdsmd did not start listening in %ss:\n%s" % (timeout, self.log()))

    def wait_ready(self, timeout=60):
        """Waits until ping answers code 0 (initialisation finished)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.call("ping")
            if r["status"]["code"] == 0:
                return self
            time.sleep(0.05)
        raise RuntimeError("vdsmd still initialising after %ss" % timeout)

    def __enter__(self):
        if not self.proc:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def proxy(self, client_cert=True, cert_dir=None, flow=None, timeout=60):
        if not self.tls:
            return xmlrpc.client.ServerProxy("http://%s:%d/" % (self._host(), self.port),
                                             transport=_PlainTransport(flow))
        ctx = ssl_context(self.pkidir, client_cert, cert_dir)
        return xmlrpc.client.ServerProxy("https://%s:%d/" % (self._host(), self.port),
                                         transport=_Transport(ctx, flow, timeout))

    def _host(self):
        return "[%s]" % self.ip if ":" in self.ip else self.ip

    def call(self, verb, *args, flow=None):
        """Calls verb with the manager's certificate; returns the reply struct."""
        with self.proxy(flow=flow) as p:
            return getattr(p, verb)(*args)

    def raw_post(self, body, headers=None, path="/", client_cert=True):
        """POSTs raw bytes; returns (http status, response body bytes)."""
        if self.tls:
            conn = http.client.HTTPSConnection(self.ip, self.port, timeout=30,
                                               context=ssl_context(self.pkidir, client_cert))
        else:
            conn = http.client.HTTPConnection(self.ip, self.port, timeout=30)
        try:
            h = {"Content-Type": "text/xml"}
            h.update(headers or {})
            conn.request("POST", path, body=body, headers=h)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def pid(self):
        """PID of vdsmd itself (not of `ip netns exec`, which execs it anyway)."""
        return self.proc.pid

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stops the agent by PID; returns its exit status."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self.logf.close()
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)


class AgentTestCase(unittest.TestCase):
    """One agent per class, started with `conf`; it must exit 0 on SIGTERM at the end."""
    conf = {}

    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(conf=cls.conf).start()
        cls.agent.wait_ready()

    @classmethod
    def tearDownClass(cls):
        rc = cls.agent.stop()
        cls.agent.__exit__(None, None, None)
        assert rc == 0, "vdsmd exited %s" % rc

    def assertAlive(self):
        self.assertEqual(self.agent.call("ping")["status"]["code"], 0)


class SyslogCapture:
    """Binds the agent's syslog socket (ROOT/dev/log) before it starts and collects
    the datagrams in a thread until one matches `until` (a substring) or timeout."""

    def __init__(self, agent, until, timeout=10):
        import threading
        os.makedirs(os.path.join(agent.root, "dev"), exist_ok=True)
        self.lines = []
        self.until = until
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(os.path.join(agent.root, "dev", "log"))
        self.sock.settimeout(timeout)
        self.thread = threading.Thread(target=self._read)
        self.thread.start()

    def _read(self):
        while True:
            try:
                ln = self.sock.recv(4096).decode(errors="replace")
            except (socket.timeout, OSError):
                return
            self.lines.append(ln)
            if self.until in ln:
                return

    def wait(self, timeout=15):
        self.thread.join(timeout)
        self.sock.close()
        return self.lines


def port_open(ip, port, timeout=1.0):
    try:
        with socket.create_connection((ip, port), timeout=timeout):
            return True
    except OSError:
        return False


class Netns:
    """A network namespace with a unique name; deleted on exit."""

    def __init__(self, prefix="vdt"):
        self.name = "%s-%s" % (prefix, uuid.uuid4().hex[:8])

    def __enter__(self):
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.run("ip", "link", "set", "lo", "up")
        return self

    def run(self, *cmd, check=True):
        return subprocess.run(["ip", "netns", "exec", self.name] + list(cmd), check=check,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def __exit__(self, *exc):
        subprocess.run(["ip", "netns", "del", self.name], stderr=subprocess.DEVNULL)


def run_pair(net):
    """(root-side, namespace-side) addresses of a /30 in 10.NET.0.0/16 that is this
    process's own (from its PID), so that test runs side by side do not share a subnet.
    Each test class picks its own NET."""
    k = (os.getpid() % 16384) * 4
    base = "10.%d.%d." % (net, k >> 8)
    return base + str((k & 255) + 1), base + str((k & 255) + 2)


def veth_to(ns, host_ip, ns_ip, prefix=30):
    """veth pair root<->ns with addresses; returns the root-side name. Removed with the ns."""
    host_if = "vh%s" % uuid.uuid4().hex[:8]
    ns_if = "vn%s" % uuid.uuid4().hex[:8]
    subprocess.run(["ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if,
                    "netns", ns.name], check=True)
    subprocess.run(["ip", "addr", "add", "%s/%d" % (host_ip, prefix), "dev", host_if], check=True)
    subprocess.run(["ip", "link", "set", host_if, "up"], check=True)
    ns.run("ip", "addr", "add", "%s/%d" % (ns_ip, prefix), "dev", ns_if)
    ns.run("ip", "link", "set", ns_if, "up")
    return host_if, ns_if


QEMU_CONF = """user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
"""

LIBVIRTD_CONF = """listen_tls = 0
listen_tcp = %s
auth_unix_rw = "none"
auth_unix_ro = "none"
unix_sock_group = "root"
host_uuid = "%s"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
"""


class PrivateLibvirtd:
    """A root libvirtd of the test's own: its /etc/libvirt, /run/libvirt,
    /var/lib/libvirt, /var/log/libvirt and /var/cache/libvirt are per-instance directories
    bind-mounted in a private mount namespace (`ip netns exec NS` when netns is given,
    else `unshare -m`). Clients outside use uri (the socket through the bind source)."""

    def __init__(self, netns=None, extra_qemu_conf="", extra_libvirtd_conf="", listen_addr=None,
                 host_uuid=None):
        """listen_addr: also listen on TCP there, without authentication (peer-to-peer
        migration between two test-private daemons; test namespaces only). host_uuid:
        libvirtd's host_uuid (default: random; two daemons must differ to migrate)."""
        self.netns = netns
        self.listen_addr = listen_addr
        self.host_uuid = host_uuid or str(uuid.uuid4())
        self.dir = _mkdtemp("libvirtd-")
        self.extra_qemu_conf = extra_qemu_conf
        self.extra_libvirtd_conf = extra_libvirtd_conf
        self.proc = None
        self.sock = os.path.join(self.dir, "run", "libvirt-sock")
        self.uri = "qemu:///system?socket=%s" % self.sock

    def start(self, timeout=60):
        d = self.dir
        for sub in ("etc", "run", "lib", "log", "cache"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        for sub in ("qemu", "log/qemu"):
            os.makedirs(os.path.join(d, "etc" if sub == "qemu" else "", sub), exist_ok=True)
        with open(os.path.join(d, "etc", "qemu.conf"), "w") as f:
            f.write(QEMU_CONF + self.extra_qemu_conf)
        with open(os.path.join(d, "etc", "libvirtd.conf"), "w") as f:
            conf = LIBVIRTD_CONF % ("1" if self.listen_addr else "0", self.host_uuid)
            if self.listen_addr:
                conf += 'listen_addr = "%s"\nauth_tcp = "none"\n' % self.listen_addr
            f.write(conf + self.extra_libvirtd_conf)
        shutil.copy("/etc/libvirt/libvirt.conf", os.path.join(d, "etc", "libvirt.conf"))
        script = (
            "set -e; for x in etc:/etc/libvirt run:/run/libvirt lib:/var/lib/libvirt "
            "log:/var/log/libvirt cache:/var/cache/libvirt; do "
            "src=%s/${x%%%%:*}; dst=${x#*:}; mkdir -p $dst; mount --bind $src $dst; done; "
            "exec libvirtd %s--pid-file /run/libvirt/libvirtd.pid" % (
                d, "--listen " if self.listen_addr else ""))
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns, "sh", "-c", script]
        else:
            cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c", script]
        self.logf = open(os.path.join(d, "libvirtd.out"), "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("private libvirtd exited %s: %s" % (
                    self.proc.returncode, open(os.path.join(d, "libvirtd.out")).read()))
            r = subprocess.run(["virsh", "-c", self.uri, "uri"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            if r.returncode == 0:
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("private libvirtd did not answer in %ss" % timeout)

    def virsh(self, *args, check=True):
        return subprocess.run(["virsh", "-c", self.uri] + list(args), check=check,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            # Domains it still runs would outlive it as orphans: destroy them first.
            r = subprocess.run(["virsh", "-c", self.uri, "list", "--name"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            for name in r.stdout.split():
                subprocess.run(["virsh", "-c", self.uri, "destroy", name],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "logf", None):
            self.logf.close()
            self.logf = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if not os.environ.get("VDSM_TEST_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


def private_libvirtd(netns=None, **kw):
    return PrivateLibvirtd(netns=netns, **kw)
