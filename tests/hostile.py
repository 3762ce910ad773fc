#!/usr/bin/python3
"""A malicious registry on loopback for the `hostile` suite (issue 14).

    hostile.py --port-file FILE --log FILE [--bodies DIR] [--scenario NAME]
    hostile.py --list

Each scenario is one behaviour of a hostile server, served under its own path
prefix: repositories /v2/NAME/..., its token endpoint /token/NAME, its
storage (redirect target) /storage/NAME/...  With --scenario NAME every
repository behaves as NAME, whatever its path.  --list prints the scenarios.

Every request is logged to the --log file as one JSON line, written when the
request has been read (before the answer): {"scenario", "method", "path",
"headers": {name: value}, "body_len"}.  Upload bodies that reach the sink
scenario are kept in --bodies DIR (one file per upload), so a test can look
for bytes that must never have left the client.

Standard library only; binds 127.0.0.1 only.
"""
import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import socket
import struct
import sys
import tarfile
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import proxylib

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
INT64_MAX = (1 << 63) - 1

# Credentials and tokens the scenarios hand out or expect: the suite checks
# that none of them ever shows in ccreg's output.
USER, PASSWORD = "hostile-user", "hostile-pw-5ecret"
BASIC = base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
TOKENS = {
    "inject": "goodtoken\r\nX-Injected: pwned",
    "expires": "tok-expires-5ecret-91c2",
    "echotoken": "tok-echo-5ecret-77ab",
    "bigtoken": "T" * (3 << 20),
}
ESC_TEXT = "\x1b]0;pwned\x07\x1b[2K\rccreg: all good \x1b[31mred\x1b[0m"


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def jdump(o):
    return json.dumps(o, separators=(",", ":")).encode()


# ---------------------------------------------------------------- content

BLOBS = {}      # digest -> bytes, shared by every scenario
MANIFESTS = {}  # (scenario, reference) -> (media type, bytes); reference: tag or digest


def add_blob(b):
    d = digest(b)
    BLOBS[d] = b
    return d


def add_manifest(scen, body, mt, tag=None):
    d = digest(body)
    MANIFESTS[(scen, d)] = (mt, body)
    if tag:
        MANIFESTS[(scen, tag)] = (mt, body)
    return {"mediaType": mt, "digest": d, "size": len(body)}


def tar_gz(files):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode = len(data), 0, 0o644
            t.addfile(ti, io.BytesIO(data))
    tar = raw.getvalue()
    return tar, gzip.compress(tar, mtime=0)


def config_for(tar, arch="amd64"):
    return jdump({"architecture": arch, "os": "linux", "config": {},
                  "rootfs": {"type": "layers", "diff_ids": [digest(tar)]}})


def image(layers, arch="amd64", annotations=None, sizes=None):
    """An image manifest (bytes) over gzip layers given as (tar, gz) pairs;
    sizes overrides the layer sizes it declares."""
    cfg = jdump({"architecture": arch, "os": "linux", "config": {},
                 "rootfs": {"type": "layers", "diff_ids": [digest(t) for t, _ in layers]}})
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
         "config": {"mediaType": OCI_CONFIG, "digest": add_blob(cfg), "size": len(cfg)},
         "layers": [{"mediaType": OCI_LAYER, "digest": add_blob(gz),
                     "size": (sizes[i] if sizes else len(gz))}
                    for i, (_, gz) in enumerate(layers)]}
    if annotations:
        m["annotations"] = annotations
    return jdump(m)


def index(children, platform=("amd64", "linux")):
    ms = []
    for c in children:
        e = dict(c)
        if platform:
            e["platform"] = {"architecture": platform[0], "os": platform[1]}
        ms.append(e)
    return jdump({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": ms})


def sparse_bomb():
    """A tar of four GNU sparse entries ('S') each claiming 2^62 bytes with
    no data: 2 KiB of tar, a few hundred bytes gzipped.  Their sum wraps
    a signed 64-bit total to 0."""
    def field(v, n):
        if v < 8 ** (n - 1):
            return ("%0*o" % (n - 1, v)).encode() + b"\0"
        return b"\x80" + v.to_bytes(n - 1, "big")   # GNU base-256
    out = b""
    for k in range(4):
        h = bytearray(512)
        h[0:100] = ("huge%d" % k).encode().ljust(100, b"\0")
        h[100:108] = b"0000644\0"
        h[108:116] = b"0000000\0"
        h[116:124] = b"0000000\0"
        h[124:136] = field(0, 12)           # bytes stored: none
        h[136:148] = field(0, 12)
        h[156] = ord("S")
        h[257:265] = b"ustar  \0"
        # one sparse chunk: 0 bytes of data at offset 2^62 (a hole to the end)
        h[386:398] = field(1 << 62, 12)
        h[398:410] = field(0, 12)
        h[482] = 0
        h[483:495] = field(1 << 62, 12)     # realsize
        h[148:156] = b" " * 8
        h[148:156] = ("%06o\0 " % sum(h)).encode()
        out += bytes(h)
    out += b"\0" * 1024
    return out


SMALL = tar_gz([("hello.txt", b"hello from a hostile registry\n")])


def build(port):
    here = "127.0.0.1:%d" % port

    # a plain, valid image: the base of several scenarios
    good = image([SMALL])
    for s in ("good", "redir", "echo", "echotoken", "expires", "escape", "inject",
              "injectrealm", "realmscheme", "bigtoken", "locscheme", "flaky", "sink"):
        add_manifest(s, good, OCI_MANIFEST, "1")

    # 1. four nested indexes of 10 identical entries each (11,111 fetches
    # when every entry is fetched); a chain 12 deep; 10,001 distinct children
    d = add_manifest("nest", good, OCI_MANIFEST)
    for level in range(4):
        body = index([d] * 10)
        d = add_manifest("nest", body, OCI_INDEX, "top" if level == 3 else None)
    d = add_manifest("deep", good, OCI_MANIFEST)
    for level in range(12):
        d = add_manifest("deep", index([d]), OCI_INDEX, "top" if level == 11 else None)
    kids = []
    tmpl = good[:-1] + b',"annotations":{"n":"%d"}}'
    for i in range(10001):
        kids.append(add_manifest("wide", tmpl % i, OCI_MANIFEST))
    add_manifest("wide", index(kids), OCI_INDEX, "top")

    # 3. blobs with an endless body (declared size 1 MiB, or none); a slow one
    for s in ("endless", "endlessnosize"):
        add_manifest(s, image([SMALL]), OCI_MANIFEST, "1")
    slow = (b"", b"slow" + bytes(range(256)) * (128 << 10))  # 32 MiB
    add_manifest("slow", image([SMALL, slow]), OCI_MANIFEST, "1")

    # 5. a source whose layer is missing, or resets mid-body
    big = (b"", b"big" + bytes(range(256)) * (16 << 10))  # 4 MiB
    for s in ("copy404", "copyreset"):
        add_manifest(s, image([SMALL, big]), OCI_MANIFEST, "1")

    # 6. sizes of INT64_MAX; a sparse-entry bomb in a valid layer
    add_manifest("overflow", image([SMALL, SMALL], sizes=[INT64_MAX, INT64_MAX]),
                 OCI_MANIFEST, "1")
    bomb = sparse_bomb()
    add_manifest("sparse", image([(bomb, gzip.compress(bomb, mtime=0))]), OCI_MANIFEST, "1")

    # 8. escape sequences in an annotation and in an index's platform
    add_manifest("escape", image([SMALL], annotations={"title": ESC_TEXT}), OCI_MANIFEST, "ann")
    add_manifest("escape", index([add_manifest("escape", good, OCI_MANIFEST)],
                                 platform=("amd64\x1b[2J", "linux")), OCI_INDEX, "plat")

    # 12. an index whose child is not JSON, one whose child is an index
    bad = b"<html>not a manifest</html>"
    MANIFESTS[("badchild", digest(bad))] = (OCI_MANIFEST, bad)
    add_manifest("badchild", index([{"mediaType": OCI_MANIFEST, "digest": digest(bad),
                                      "size": len(bad)}]), OCI_INDEX, "1")
    inner = add_manifest("nestchild", index([add_manifest("nestchild", good, OCI_MANIFEST)]),
                         OCI_INDEX)
    add_manifest("nestchild", index([inner]), OCI_INDEX, "1")
    return here


# ---------------------------------------------------------------- server

SCENARIOS = {
    "good": "a plain registry serving good/img:1 (and blobs)",
    "sink": "accepts uploads and keeps their bodies in --bodies (push target)",
    "nest": "nest/img:top: 4 nested indexes of 10 identical entries each",
    "deep": "deep/img:top: a chain of 12 nested indexes",
    "wide": "wide/img:top: an index of 10,001 distinct image manifests",
    "tagsbig": "endless 4 MB tag pages, each linking to the next",
    "tagsloop": "one tag page whose Link points back to itself",
    "tagspages": "endless one-tag pages, each linking to the next",
    "endless": "blob GETs send an endless chunked body; HEAD declares 1 MiB",
    "endlessnosize": "blob GETs send an endless chunked body; HEAD declares no size",
    "slow": "the second layer (32 MiB) trickles 64 KiB every 100 ms",
    "inject": "token endpoint answers a token with CR LF and a header after it",
    "injectrealm": "the Bearer realm carries an escape sequence",
    "copy404": "the second layer's GET answers 404 at once",
    "copyreset": "the second layer's GET sends half the body, then a TCP reset",
    "overflow": "layer sizes of INT64_MAX",
    "sparse": "a 2 KiB layer of four sparse tar entries of 2^62 bytes each",
    "expires": "token endpoint answers expires_in = INT64_MAX",
    "echo": "Basic auth; errors echo the Authorization header and the password",
    "echotoken": "Bearer auth; errors echo the Authorization header",
    "escape": "terminal escape sequences in errors, tags, annotations, platforms",
    "redir": "Basic auth; blob GETs redirect (307) to /storage on the same host",
    "badchild": "an index whose child manifest is not JSON",
    "nestchild": "an index whose child is an index",
    "realmscheme": "Bearer realm=\"file:///etc/passwd\"",
    "locscheme": "blob GETs redirect to file:///etc/passwd",
    "bigtoken": "token endpoint answers a 3 MB token",
    "flaky": "each blob's first GET resets after half the body and its first upload "
             "gets a 500; later ones work",
}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hostile/1"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    def log_message(self, *a):
        pass

    # ---- plumbing

    def log_request_line(self, body_len=0):
        rec = {"scenario": self.scen, "method": self.command, "path": self.path,
               "headers": {k: v for k, v in self.headers.items()}, "body_len": body_len}
        with LOG_LOCK:
            LOG.write(json.dumps(rec) + "\n")
            LOG.flush()

    def send(self, code, body=b"", ctype="application/json", hdrs=(), length=None):
        self.send_response(code)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in hdrs:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def error(self, code, ecode, msg, hdrs=()):
        self.send(code, jdump({"errors": [{"code": ecode, "message": msg}]}), hdrs=hdrs)

    def reset(self):
        """Abort the connection with a TCP reset."""
        try:
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def read_body(self):
        n = self.headers.get("Content-Length")
        if n is not None:
            return self.rfile.read(int(n))
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return b""

    def endless(self):
        """A chunked body that never ends."""
        chunk = b"\0" * 65536
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            while True:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            self.close_connection = True

    def trickle(self, b):
        """b, 64 KiB every 100 ms."""
        self.send(200, b"", "application/octet-stream", length=len(b))
        try:
            for i in range(0, len(b), 65536):
                self.wfile.write(b[i:i + 65536])
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            self.close_connection = True

    # ---- dispatch

    def handle_one(self):
        u = urllib.parse.urlsplit(self.path)
        self.query = urllib.parse.parse_qs(u.query)
        parts = u.path.split("/")
        # /v2/SCEN/..., /token/SCEN, /storage/SCEN/...
        self.scen = ARGS.scenario or (parts[2] if len(parts) > 2 else "")
        body = b""
        if self.command in ("PUT", "POST", "PATCH"):
            body = self.read_body()
        self.log_request_line(len(body))
        self.body = body
        if u.path == "/v2/" or u.path == "/v2":
            return self.send(200, b"{}")
        if parts[1] == "token":
            return self.token()
        if parts[1] == "storage":
            return self.storage(parts[3] if len(parts) > 3 else "")
        if parts[1] != "v2" or len(parts) < 5:
            return self.error(404, "NOT_FOUND", "no such endpoint")
        if not self.authorized():
            return
        rest = "/".join(parts[2:])
        for kind in ("/manifests/", "/blobs/uploads/", "/blobs/", "/tags/list"):
            i = rest.rfind(kind)
            if i > 0:
                repo, ref = rest[:i], rest[i + len(kind):]
                break
        else:
            return self.error(404, "NAME_UNKNOWN", "unknown endpoint")
        if kind == "/manifests/":
            return self.manifest(repo, ref)
        if kind == "/blobs/uploads/":
            return self.upload(repo, ref)
        if kind == "/blobs/":
            return self.blob(repo, ref)
        return self.tags(repo)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_one

    # ---- auth

    def challenge(self):
        s = self.scen
        realm = "http://%s/token/%s" % (HERE, s)
        if s == "echo" or s == "redir":
            return 'Basic realm="hostile"'
        if s == "injectrealm":
            realm += "\x1b]0;pwned\x07"
        if s == "realmscheme":
            realm = "file:///etc/passwd"
        return 'Bearer realm="%s",service="hostile",scope="repository:%s/img:pull"' % (realm, s)

    def authorized(self):
        s = self.scen
        if s not in ("echo", "redir", "inject", "injectrealm", "realmscheme", "bigtoken",
                     "expires", "echotoken"):
            return True
        got = self.headers.get("Authorization", "")
        want = "Basic " + BASIC if s in ("echo", "redir") else "Bearer " + TOKENS.get(s, "x")
        if s == "inject":
            want = "Bearer goodtoken"  # what a split header leaves
        if got == want:
            if s == "echo":
                self.error(404, "MANIFEST_UNKNOWN",
                           "nothing here for %s (you sent %s; password %s)" % (USER, got, PASSWORD))
                return False
            if s == "echotoken":
                self.error(404, "MANIFEST_UNKNOWN", "no such image for %s" % got)
                return False
            return True
        self.error(401, "UNAUTHORIZED", "authentication required",
                   hdrs=[("WWW-Authenticate", self.challenge())])
        return False

    def token(self):
        s = self.scen
        tok = TOKENS.get(s, "tok-" + s)
        ans = {"token": tok}
        if s == "expires":
            ans["expires_in"] = INT64_MAX
        self.send(200, json.dumps(ans).encode())

    # ---- registry API

    def manifest(self, repo, ref):
        s = self.scen
        if s == "escape" and ref == "1":
            return self.error(404, "MANIFEST_UNKNOWN", "manifest unknown " + ESC_TEXT)
        if self.command == "PUT":
            mt = self.headers.get("Content-Type", OCI_MANIFEST)
            d = digest(self.body)
            MANIFESTS[(s, d)] = (mt, self.body)
            MANIFESTS[(s, ref)] = (mt, self.body)
            return self.send(201, hdrs=[("Location", "/v2/%s/manifests/%s" % (repo, d)),
                                        ("Docker-Content-Digest", d)])
        m = MANIFESTS.get((s, ref))
        if not m:
            return self.error(404, "MANIFEST_UNKNOWN", "manifest unknown")
        mt, body = m
        self.send(200, body, mt, hdrs=[("Docker-Content-Digest", digest(body))])

    def blob(self, repo, dg):
        s = self.scen
        b = BLOBS.get(dg)
        if (s == "sink" or repo.endswith("/copy")) and (repo, dg) not in SINK:
            b = None  # a push or copy target holds only what was pushed to it
        if b is None:
            return self.error(404, "BLOB_UNKNOWN", "blob unknown to registry")
        big = len(b) > 1 << 20
        if s == "endless" or s == "endlessnosize":
            if self.command == "HEAD":
                hdrs = [("Docker-Content-Digest", dg)]
                if s == "endless":
                    return self.send(200, b"", "application/octet-stream", hdrs, length=1 << 20)
                self.send_response(200)
                self.send_header("Docker-Content-Digest", dg)
                self.end_headers()
                self.close_connection = True
                return
            return self.endless()
        if s == "slow" and big and self.command == "GET":
            return self.trickle(b)
        if s == "copy404" and big:
            return self.error(404, "BLOB_UNKNOWN", "blob unknown to registry")
        if s == "copyreset" and big and self.command == "GET":
            self.send(200, b"", "application/octet-stream", length=len(b))
            self.wfile.write(b[:len(b) // 2])
            return self.reset()
        if s == "flaky" and self.command == "GET" and "Range" not in self.headers:
            with LOG_LOCK:
                first = dg not in FLAKED
                FLAKED.add(dg)
            if first:
                self.send(200, b"", "application/octet-stream", length=len(b))
                self.wfile.write(b[:len(b) // 2])
                return self.reset()
        if s in ("redir", "locscheme", "escape") and self.command == "GET" \
                and "redirected" not in self.query:
            loc = "http://%s/storage/%s/%s" % (HERE, s, dg)
            if s == "locscheme":
                loc = "file:///etc/passwd"
            if s == "escape":
                loc = "/storage/escape/%s?x=\x1b[2J" % dg
            return self.send(307, b"", None, [("Location", loc)])
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and self.command == "GET":
            start = int(rng[6:].split("-")[0])
            part = b[start:]
            return self.send(206, part, "application/octet-stream",
                             [("Content-Range", "bytes %d-%d/%d" % (start, len(b) - 1, len(b))),
                              ("Docker-Content-Digest", dg)])
        self.send(200, b, "application/octet-stream", [("Docker-Content-Digest", dg)])

    def storage(self, dg):
        if self.scen == "redir" and \
                self.headers.get("Authorization", "") != "Basic " + BASIC:
            return self.error(401, "UNAUTHORIZED", "storage wants the registry's credentials",
                              hdrs=[("WWW-Authenticate", 'Basic realm="hostile"')])
        dg = dg.split("?")[0]
        b = BLOBS.get(dg)
        if b is None:
            return self.error(404, "BLOB_UNKNOWN", "blob unknown to storage")
        self.send(200, b, "application/octet-stream")

    def upload(self, repo, rest):
        # POST /v2/R/blobs/uploads/ -> 202; PATCH/PUT /v2/R/blobs/uploads/ID
        if self.command == "POST":
            if "mount" in self.query:
                pass  # never mounts: the client must upload
            uid = uuid.uuid4().hex
            UPLOADS[uid] = b""
            return self.send(202, hdrs=[("Location", "/v2/%s/blobs/uploads/%s" % (repo, uid)),
                                        ("Range", "0-0"), ("Docker-Upload-UUID", uid)])
        uid = rest.split("?")[0]
        if uid not in UPLOADS:
            return self.error(404, "BLOB_UPLOAD_UNKNOWN", "upload unknown")
        UPLOADS[uid] += self.body
        if ARGS.bodies and self.body:
            with open(os.path.join(ARGS.bodies, uid), "ab") as f:
                f.write(self.body)
        if self.command == "PATCH":
            return self.send(202, hdrs=[("Location", "/v2/%s/blobs/uploads/%s" % (repo, uid)),
                                        ("Range", "0-%d" % (len(UPLOADS[uid]) - 1))])
        want = self.query.get("digest", [""])[0]
        data = UPLOADS.pop(uid)
        if self.scen == "flaky":
            with LOG_LOCK:
                first = ("put", want) not in FLAKED
                FLAKED.add(("put", want))
            if first:
                return self.error(500, "UNKNOWN", "storage hiccup")
        if digest(data) != want:
            return self.error(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
        BLOBS[want] = data
        SINK.add((repo, want))
        self.send(201, hdrs=[("Location", "/v2/%s/blobs/%s" % (repo, want)),
                             ("Docker-Content-Digest", want)])

    def tags(self, repo):
        s = self.scen
        page = int(self.query.get("last", ["p0"])[0].lstrip("p").split("t")[0] or 0)
        base = "/v2/%s/tags/list" % repo
        if s == "tagsbig":
            # ~4 MB of distinct tags per page (under the 4 MiB cap on bodies
            # held in memory), a Link to the next, forever
            body = b'{"name":"%s","tags":["' % repo.encode() + \
                b'","'.join(b"p%dt%06d" % (page, i) for i in range(280000)) + b'"]}'
            nxt = "%s?n=100&last=p%dt" % (base, page + 1)
            return self.send(200, body, hdrs=[("Link", '<%s>; rel="next"' % nxt)])
        if s == "tagspages":
            nxt = "%s?n=100&last=p%dt" % (base, page + 1)
            return self.send(200, jdump({"name": repo, "tags": ["p%dt" % page]}),
                             hdrs=[("Link", '<%s>; rel="next"' % nxt)])
        if s == "tagsloop":
            return self.send(200, jdump({"name": repo, "tags": ["a", "b", "c"]}),
                             hdrs=[("Link", '<%s?n=100>; rel="next"' % base)])
        if s == "escape":
            return self.send(200, jdump({"name": repo, "tags": ["v1", "v2" + ESC_TEXT]}))
        tags = sorted(t for (sc, t) in MANIFESTS if sc == s and ":" not in t)
        self.send(200, jdump({"name": repo, "tags": tags}))


def main():
    global ARGS, LOG, LOG_LOCK, HERE, UPLOADS, FLAKED, SINK
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    ap.add_argument("--bodies")
    ap.add_argument("--scenario")
    ap.add_argument("--list", action="store_true")
    ARGS = ap.parse_args()
    if ARGS.list:
        for k, v in SCENARIOS.items():
            print("%-14s %s" % (k, v))
        return 0
    if not ARGS.port_file or not ARGS.log:
        ap.error("--port-file and --log are required")
    if ARGS.scenario and ARGS.scenario not in SCENARIOS:
        ap.error("unknown scenario %s (see --list)" % ARGS.scenario)
    LOG = open(ARGS.log, "a")
    LOG_LOCK = threading.Lock()
    UPLOADS, FLAKED, SINK = {}, set(), set()
    srv = Server(("127.0.0.1", 0), H)
    HERE = build(srv.server_address[1])
    proxylib.write_port_file(ARGS.port_file, str(srv.server_address[1]))
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
