"""Baseline for make bench: Python's xmlrpc.server (ThreadingMixIn, HTTP/1.1 keep-alive)
behind ssl with mandatory client certificates — VDSM's own stack — serving the same
replies as the agent under test (read from a JSON file: method name -> reply struct).

  /usr/bin/python3 bench/pyserver.py --port P --pki DIR --replies FILE
"""
import argparse
import json
import os
import socketserver
import ssl
import sys
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer


class Handler(SimpleXMLRPCRequestHandler):
    protocol_version = "HTTP/1.1"
    rpc_paths = ("/", "/RPC2")

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, SimpleXMLRPCServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pki", required=True)
    ap.add_argument("--replies", required=True)
    a = ap.parse_args()
    with open(a.replies) as f:
        replies = json.load(f)
    srv = Server(("127.0.0.1", a.port), requestHandler=Handler, logRequests=False,
                 allow_none=False)
    for name, reply in replies.items():
        srv.register_function(lambda reply=reply: reply, name)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(a.pki, "certs", "vdsmcert.pem"),
                        os.path.join(a.pki, "keys", "vdsmkey.pem"))
    ctx.load_verify_locations(os.path.join(a.pki, "certs", "cacert.pem"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("ready", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
