#!/usr/bin/env python3
"""make soak — the agent under long mixed load: no errors, no growth.

Starts a vdsmd (build/vdsmd, or --vdsmd PATH such as build/asan/vdsmd) on libvirt's
test driver with --vms VMs created through the create verb, then runs bench/soakgen:
--conns keep-alive mTLS connections (default 64) calling, round robin, getVdsStats,
getAllVmStats, list, getVdsCapabilities, getVmStats(one VM) and ping — and, when the
agent has them (system.listMethods), getDeviceList and migrateStatus — for --seconds.
Every --interval seconds it prints a row: calls, errors, p50/p99 latency, and the
agent's RSS and open file descriptors.

Exit status 0 only when: no call failed; the agent's RSS at the end is within
max(10 %, 8 MiB) of the first interval's (warm caches; not checked with
--no-rss-check, for ASan builds); its FD count within 4 of the first interval's; and, after SIGTERM, it exits 0 with no sanitizer report on stderr
(an ASan build adds LeakSanitizer's check at exit).

  bench/soak.py [--seconds N] [--interval S] [--conns N] [--vms N] [--vdsmd PATH]
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, ".."))
BUILD = os.environ.get("VDSM_BUILD", os.path.join(SRC, "build"))
sys.path.insert(0, HERE)
import vm_bench  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_fds(pid):
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024.0
    return rss, len(os.listdir("/proc/%d/fd" % pid))


def wait_ready(port, pki, proc, deadline_s=120):
    t_end = time.monotonic() + deadline_s
    while time.monotonic() < t_end:
        if proc.poll() is not None:
            raise RuntimeError("vdsmd exited with %s" % proc.returncode)
        try:
            with xmlrpc.client.ServerProxy("https://127.0.0.1:%d/" % port,
                                           context=vm_bench._ctx(pki)) as p:
                if p.list()["status"]["code"] == 0:
                    return p.system.listMethods()
        except (OSError, xmlrpc.client.Error):
            pass
        time.sleep(0.2)
    raise RuntimeError("vdsmd not ready in %d s" % deadline_s)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_S", 600)))
    ap.add_argument("--interval", type=float, default=float(os.environ.get("SOAK_INTERVAL", 60)))
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--vms", type=int, default=20)
    ap.add_argument("--vdsmd", default=os.path.join(BUILD, "vdsmd"))
    ap.add_argument("--no-rss-check", dest="rss_check", action="store_false",
                    help="for sanitizer builds, whose quarantine grows RSS by design")
    a = ap.parse_args()
    # a run shorter than one interval still gets its one row
    a.interval = min(a.interval, a.seconds)

    tmp = tempfile.mkdtemp(prefix="vdsm-soak-")
    pki = os.path.join(tmp, "pki")
    root = os.path.join(tmp, "root")
    port = free_port()
    subprocess.run([os.path.join(SRC, "scripts", "vdsm-c-certs"), "--dir", pki, "--cn", "localhost"],
                   check=True, stdout=subprocess.DEVNULL)
    conf = os.path.join(tmp, "vdsm.conf")
    with open(conf, "w") as f:
        f.write("[vars]\ntrust_store_path = %s\nroot = %s\nlog_level = warning\n"
                "management_ip = 127.0.0.1\nmanagement_port = %d\nmax_connections = %d\n"
                "libvirt_uri = test:///default\nvm_domain_type = test\nvm_sample_interval = 2\n"
                % (pki, root, port, a.conns + 16))
    log_path = os.path.join(tmp, "vdsmd.log")
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("LSAN_OPTIONS", "suppressions=%s/tests/lsan.supp:print_suppressions=0" % SRC)
    proc = subprocess.Popen([a.vdsmd, "--config", conf, "--foreground"],
                            stderr=open(log_path, "w"), env=env)
    ok = True
    try:
        methods = wait_ready(port, pki, proc)
        vm_bench.say("creating %d VMs on libvirt's test driver" % a.vms)
        vm_bench.create_many(port, pki, 0, a.vms)
        with xmlrpc.client.ServerProxy("https://127.0.0.1:%d/" % port,
                                       context=vm_bench._ctx(pki)) as p:
            vm_id = p.list()["vmList"][0]["vmId"]
        mix = ["getVdsStats", "getAllVmStats", "list", "getVdsCapabilities",
               "getVmStats:" + vm_id, "ping"]
        if "getDeviceList" in methods:
            mix.append("getDeviceList")
        if "migrateStatus" in methods:
            mix.append("migrateStatus:" + vm_id)
        vm_bench.say("%d connections for %.0f s, rows every %.0f s: %s" % (
            a.conns, a.seconds, a.interval, ", ".join(m.split(":")[0] for m in mix)))
        gen = subprocess.Popen(
            [os.path.join(BUILD, "bench", "soakgen"), "--url", "https://127.0.0.1:%d/" % port,
             "--cert", os.path.join(pki, "client", "cert.pem"),
             "--key", os.path.join(pki, "client", "key.pem"),
             "--ca", os.path.join(pki, "certs", "cacert.pem"),
             "--conns", str(a.conns), "--duration", str(a.seconds),
             "--interval", str(a.interval), "--methods", ",".join(mix)],
            stdout=subprocess.PIPE, text=True)
        print("%8s %9s %7s %9s %9s %9s %5s" % ("t (s)", "calls", "errors", "p50 ms", "p99 ms",
                                                "RSS MiB", "FDs"), flush=True)
        rows, total = [], None
        for line in gen.stdout:
            tag, _, js = line.partition(" ")
            if tag == "INTERVAL":
                r = json.loads(js)
                r["rss"], r["fds"] = rss_fds(proc.pid)
                rows.append(r)
                print("%8.0f %9d %7d %9.2f %9.2f %9.1f %5d" % (
                    r["t"], r["calls"], r["errors"], r["p50_ms"], r["p99_ms"], r["rss"],
                    r["fds"]), flush=True)
            elif tag == "TOTAL":
                total = json.loads(js)
        gen.wait()
        if total is None or not rows:
            print("soak: FAIL: soakgen ended without a report (exit %s)" % gen.returncode)
            return 1
        first, last = rows[0], rows[-1]
        growth = last["rss"] - first["rss"]
        rss_ok = not a.rss_check or growth <= max(0.10 * first["rss"], 8.0)
        fd_ok = last["fds"] - first["fds"] <= 4
        print("soak: %d calls in %.0f s (%.0f/s), %d errors; RSS %.1f → %.1f MiB (%+.1f), "
              "FDs %d → %d" % (total["calls"], total["seconds"], total["rps"], total["errors"],
                               first["rss"], last["rss"], growth, first["fds"], last["fds"]))
        if total["errors"]:
            print("soak: FAIL: %d calls failed (first ones on stderr above)" % total["errors"])
            ok = False
        if not rss_ok:
            print("soak: FAIL: RSS grew by %.1f MiB (allowed max(10 %%, 8 MiB))" % growth)
            ok = False
        if not fd_ok:
            print("soak: FAIL: open file descriptors grew from %d to %d" % (first["fds"], last["fds"]))
            ok = False
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                print("soak: FAIL: vdsmd did not stop within 60 s of SIGTERM")
                ok = False
        with open(log_path, errors="replace") as f:
            log = f.read()
        reports = re.findall(r"ERROR: (?:AddressSanitizer|LeakSanitizer)[^\n]*|runtime error:[^\n]*", log)
        if reports:
            print("soak: FAIL: sanitizer report(s) from vdsmd:\n  " + "\n  ".join(reports[:5]))
            ok = False
        elif proc.returncode != 0:
            print("soak: FAIL: vdsmd exited with %s (log: %s)" % (proc.returncode, log_path))
            ok = False
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("soak: kept %s (vdsmd.log)" % tmp)
    print("soak: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
