#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A registry front for voltfs's tests: passes requests on to a real registry
(--upstream) and, as told, misbehaves the way a hostile or broken one would.
Every request is logged to --log as "METHOD PATH auth=SCHEME" (the scheme
only, never a secret) so tests can tell what a client sent where."""
import argparse
import base64
import hashlib
import http.client
import http.server
import secrets
import sys
import threading
import time
import urllib.parse

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--upstream", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--bearer", type=float, default=0,
                help="demand Bearer tokens from /token, valid this many seconds")
ap.add_argument("--token-user", default="", help="user:password /token wants (Basic)")
ap.add_argument("--mutate", action="append", default=[],
                help="DIGEST=longer|flip|short: alter that blob's bytes")
ap.add_argument("--manifest", action="append", default=[],
                help="TAG=FILE: serve FILE as the manifest of TAG")
ap.add_argument("--stall", action="append", default=[],
                help="DIGEST: send half of that blob, then nothing")
ap.add_argument("--redirect-blobs", default="",
                help="answer blob GETs with a 307 to this URL + the same path")
ap.add_argument("--delay-ms", type=float, default=0,
                help="hold each request this long first (a round trip of a far registry)")
ap.add_argument("--fail-blobs", type=int, default=0,
                help="answer the first N blob GETs with 503")
args = ap.parse_args()

up = urllib.parse.urlparse(args.upstream)
tokens = {}
lock = threading.Lock()
state = {"failed": 0}
mutate = dict(m.split("=", 1) for m in args.mutate)
manifests = {}
for m in args.manifest:
    tag, path = m.split("=", 1)
    with open(path, "rb") as f:
        manifests[tag] = f.read()


def log(line):
    with lock, open(args.log, "a") as f:
        f.write(line + "\n")


class Front(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def authorized(self):
        if not args.bearer or not self.path.startswith("/v2/"):
            return True
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            with lock:
                until = tokens.get(auth[7:], 0)
            if until > time.monotonic():
                return True
        realm = "http://127.0.0.1:%d/token" % args.port
        self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', [
            ("WWW-Authenticate",
             'Bearer realm="%s",service="fake",scope="repository:volt/qemu:pull"' % realm),
            ("Content-Type", "application/json")])
        return False

    def token(self):
        if args.token_user:
            want = "Basic " + base64.b64encode(args.token_user.encode()).decode()
            if self.headers.get("Authorization", "") != want:
                return self.reply(401, b"{}")
        t = secrets.token_hex(16)
        with lock:
            tokens[t] = time.monotonic() + args.bearer
        body = ('{"token":"%s","expires_in":%d}' % (t, max(1, int(args.bearer)))).encode()
        self.reply(200, body, [("Content-Type", "application/json")])

    def handle_any(self):
        if args.delay_ms:
            time.sleep(args.delay_ms / 1000)
        auth = self.headers.get("Authorization", "")
        log("%s %s auth=%s host=%s" % (self.command, self.path,
                                        auth.split(" ")[0] if auth else "none",
                                        self.headers.get("Host", "")))
        if self.path.startswith("/token"):
            return self.token()
        if not self.authorized():
            return
        parts = self.path.split("?")[0].split("/")
        kind = parts[-2] if len(parts) >= 2 else ""
        ref = parts[-1]
        if kind == "manifests" and ref in manifests:
            body = manifests[ref]
            digest = "sha256:" + hashlib.sha256(body).hexdigest()
            return self.reply(200, body, [
                ("Content-Type", "application/vnd.oci.image.manifest.v1+json"),
                ("Docker-Content-Digest", digest)])
        if kind == "blobs" and self.command == "GET":
            if args.redirect_blobs:
                return self.reply(307, b"", [("Location", args.redirect_blobs + self.path)])
            with lock:
                fail = state["failed"] < args.fail_blobs
                state["failed"] += fail
            if fail:
                return self.reply(503, b'{"errors":[{"code":"UNAVAILABLE"}]}')
        self.forward(kind, ref)

    def forward(self, kind, ref):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "authorization", "connection")}
        conn.request(self.command, self.path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        if kind == "blobs" and r.status == 200 and ref in mutate:
            how = mutate[ref]
            if how == "longer":
                data += b"!"
            elif how == "short":
                data = data[:-1]
            elif how == "flip":
                data = bytes([data[0] ^ 1]) + data[1:]
        if kind == "blobs" and r.status == 200 and ref in args.stall:
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            time.sleep(3600)
            return
        hdrs = [(k, v) for k, v in r.getheaders()
                if k.lower() not in ("content-length", "transfer-encoding", "connection")]
        if r.status in (201, 202) and r.getheader("Location", "").startswith(args.upstream):
            hdrs = [(k, v.replace(args.upstream, "http://127.0.0.1:%d" % args.port))
                    for k, v in hdrs]
        self.reply(r.status, data, hdrs)
        conn.close()

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Front)
server.daemon_threads = True
try:
    server.serve_forever()
except KeyboardInterrupt:
    sys.exit(0)
