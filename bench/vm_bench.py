"""getAllVmStats with many VMs (bench rows for bench/run, or alone).

Starts a vdsmd on libvirt's test driver (test:///default, in-process, no QEMU) with
vars.vm_domain_type = test, creates N VMs through the create verb (2 NICs, 1 disk each),
waits for a stats sample, then measures getAllVmStats with bench/loadgen (1 connection,
keep-alive, mTLS). The test driver's bulk stats carry only the domain state, so the
reply has empty network/disks maps; the in-process figure with full stats comes from
build/bench/vmstats_micro (same code path: VM registry → rpc/writer → reply blob).

  bench/vm_bench.py [--counts 100,1000] [--duration S] [--warmup S]
"""
import argparse
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, ".."))
BUILD = os.environ.get("VDSM_BUILD", os.path.join(SRC, "build"))


def _ctx(pki):
    ctx = ssl.create_default_context(cafile=os.path.join(pki, "certs", "cacert.pem"))
    ctx.check_hostname = False
    ctx.load_cert_chain(os.path.join(pki, "client", "cert.pem"),
                        os.path.join(pki, "client", "key.pem"))
    return ctx


def vm_params(i):
    vid = str(uuid.uuid4())
    return {
        "vmId": vid, "vmName": "bench-%05d" % i, "memSize": 64, "smp": "1",
        "devices": [
            {"type": "interface", "device": "bridge", "nicModel": "pv", "network": "ovirtmgmt",
             "macAddr": "00:1a:4a:%02x:%02x:%02x" % ((i >> 16) & 255, (i >> 8) & 255, i & 255),
             "deviceId": str(uuid.uuid4())},
            {"type": "interface", "device": "bridge", "nicModel": "e1000", "network": "ovirtmgmt",
             "macAddr": "00:1a:4b:%02x:%02x:%02x" % ((i >> 16) & 255, (i >> 8) & 255, i & 255),
             "deviceId": str(uuid.uuid4())},
            {"type": "disk", "device": "disk", "iface": "virtio", "format": "raw",
             "path": "/rhev/data-center/bench/%d.img" % i, "imageID": str(uuid.uuid4())},
        ],
    }


def create_many(port, pki, first, count, threads=8):
    errors = []

    def worker(k):
        with xmlrpc.client.ServerProxy("https://127.0.0.1:%d/" % port, context=_ctx(pki)) as p:
            for i in range(first + k, first + count, threads):
                r = p.create(vm_params(i))
                if r["status"]["code"] != 0:
                    errors.append(r["status"])

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise RuntimeError("create failed: %s" % errors[:3])


def say(msg):
    """What runs next: printed at once, so a long bench is never silent."""
    print("# next: " + msg, flush=True)


def run_rows(tmp, pki, run_load, free_port, wait_port, counts=(100, 1000), warmup=0.5,
             duration=4.0, on_row=None):
    """Returns [(label, conns, result dict)] measured on a test-driver vdsmd; on_row(row)
    is called as soon as each row is measured."""
    root = os.path.join(tmp, "vmroot")
    conf = os.path.join(tmp, "vdsm-vm.conf")
    port = free_port()
    with open(conf, "w") as f:
        f.write("[vars]\ntrust_store_path = %s\nroot = %s\nlog_level = warning\n"
                "management_ip = 127.0.0.1\nmanagement_port = %d\n"
                "libvirt_uri = test:///default\nvm_domain_type = test\nvm_sample_interval = 1\n"
                % (pki, root, port))
    proc = subprocess.Popen([os.path.join(BUILD, "vdsmd"), "--config", conf, "--foreground"],
                            stderr=open(os.path.join(tmp, "vdsmd-vm.log"), "w"))
    rows = []
    try:
        wait_port(port, proc)
        with xmlrpc.client.ServerProxy("https://127.0.0.1:%d/" % port, context=_ctx(pki)) as p:
            for _ in range(600):
                if p.list()["status"]["code"] == 0:
                    break
                time.sleep(0.1)
        have = 0
        for n in counts:
            say("creating %d VMs on libvirt's test driver, then getAllVmStats for %.1f s" % (n, duration))
            t0 = time.monotonic()
            create_many(port, pki, have, n - have)
            have = n
            created = time.monotonic() - t0
            time.sleep(2.5)  # every VM Up and sampled
            r = run_load(proc.pid, port, pki, "getAllVmStats", 1, warmup, duration)
            r["create_s"] = created
            rows.append(("getAllVmStats %d VMs" % n, 1, r))
            if on_row:
                on_row(rows[-1])
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return rows


def micro_rows():
    """In-process: full stats (2 NICs + 1 disk per VM) → reply bytes, no network."""
    exe = os.path.join(BUILD, "bench", "vmstats_micro")
    if not os.path.exists(exe):
        return []
    out = subprocess.run([exe, "100", "1000"], check=True, stdout=subprocess.PIPE, text=True)
    return out.stdout.strip().splitlines()


def main():
    sys.path.insert(0, HERE)
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader("bench_run", os.path.join(HERE, "run"))
    spec = importlib.util.spec_from_loader("bench_run", loader)
    br = importlib.util.module_from_spec(spec)
    loader.exec_module(br)
    ap = argparse.ArgumentParser()
    ap.add_argument("--counts", default="100,1000")
    ap.add_argument("--duration", type=float, default=4.0)
    ap.add_argument("--warmup", type=float, default=0.5)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="vdsm-vmbench-")
    pki = os.path.join(tmp, "pki")
    subprocess.run([os.path.join(SRC, "scripts", "vdsm-c-certs"), "--dir", pki, "--cn", "localhost"],
                   check=True, stdout=subprocess.DEVNULL)
    print_header()
    try:
        run_rows(tmp, pki, br.run_load, br.free_port, br.wait_port,
                 [int(x) for x in a.counts.split(",")], a.warmup, a.duration, print_row)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for line in micro_rows():
        print(line)
    return 0


def print_header():
    print("%-24s %5s %8s | %9s | %9s | %8s %8s | %s" % (
        "VMs (libvirt test drv)", "conns", "bytes", "req/s", "cpu/req", "p50", "p99", "creates"),
        flush=True)


def print_row(row):
    label, n, r = row
    print("%-24s %5d %8d | %9.0f | %7.0fus | %6.2fms %6.2fms | %.1fs" % (
        label, n, r["reply_bytes"], r["rps"], r["cpu_us_per_req"], r["p50_ms"], r["p99_ms"],
        r.get("create_s", 0)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
