#!/usr/bin/python3
"""A test double for ranged blob downloads: an HTTP/1.1 reverse proxy on
loopback in front of a real docker-registry that answers Range requests for
blobs the ways far registries and CDNs get them wrong.

Usage: rangeproxy.py --upstream HOST:PORT --port-file FILE --log FILE

The port file gets "PORT CDNPORT": the registry's face, and a second
listener standing in for a CDN (another origin) that redirected blob GETs
go to.  Modes (set between runs on the registry port):
  GET /__rangeproxy/set?mode=MODE&count=N&uses=U&delay=MS   (zeroes the counters;
  delay: every answer on the registry face waits MS first, a far round trip)
  GET /__rangeproxy/spans   one line per blob GET on the registry face since the
                            last set: "DIGEST START END" (monotonic seconds, from
                            its arrival to its answer's last byte)

  honest         pass everything through (docker-registry honours Range)
  ignore         blob GETs: Range dropped, 200 with the whole blob
  shift          a 206 for one byte less than asked, Content-Range saying so
  inconsistent   206 as asked, but the first byte of each range not starting
                 at 0 is flipped (the ranges disagree with the blob), for
                 the first N such answers (count; 0: all)
  total          206 as asked, but Content-Range's total is one more than
                 the blob's size
  cdn-416        blob GETs redirect (307) to the CDN listener, which
                 answers 416 to any request with a Range and the whole blob
                 without one
  cdn-expire     blob GETs redirect to the CDN listener with a signed URL
                 that serves U requests (uses, default 2), then answers 403
                 (an expired signature): a client must ask the registry again

Every request is logged as one line:
  FACE METHOD TARGET range=RANGE|- -> STATUS [content-range=CR] [NOTE]
FACE is "reg" or "cdn".  Only GET and HEAD are supported (tests push
directly to the registry).
"""
import argparse
import http.client
import re
import threading
import time
import urllib.parse
from http.server import ThreadingHTTPServer

import proxylib

LOCK = threading.Lock()
STATE = {"mode": "honest", "count": 0, "uses": 2, "applied": 0, "sig": 0, "sigs": {}, "delay": 0,
         "spans": []}
ARGS = None
CDN_PORT = 0
BLOB_RE = re.compile(r"^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$")
PIECE = 65536


def log(msg):
    proxylib.append_line(ARGS.log, msg)


def parse_range(v):
    m = re.fullmatch(r"bytes=(\d+)-(\d*)", v or "")
    if not m:
        return None
    return int(m.group(1)), (int(m.group(2)) if m.group(2) else None)


class Handler(proxylib.Handler):
    face = "reg"

    def note(self, status, extra=""):
        log("%s %s %s range=%s -> %d%s" % (self.face, self.command, self.path,
                                           self.headers.get("Range") or "-", status, extra))

    def upstream(self, path, headers):
        conn = http.client.HTTPConnection(ARGS.upstream, timeout=60)
        conn.request(self.command, path, headers=headers)
        return conn, conn.getresponse()

    def relay(self, path, rng=None, drop_range=False, total_plus=0, flip=False, note=""):
        """Forward to the registry; Range rewritten to rng when given."""
        h = {k: v for k, v in self.headers.items()
             if k.lower() not in ("host", "range", "connection")}
        asked = self.headers.get("Range")
        if rng is not None:
            h["Range"] = rng
        elif asked and not drop_range:
            h["Range"] = asked
        conn, r = self.upstream(path, h)
        body_len = r.getheader("Content-Length")
        self.send_response(r.status)
        cr = None
        for k, v in r.getheaders():
            kl = k.lower()
            if kl in ("connection", "keep-alive", "transfer-encoding", "content-length"):
                continue
            if kl == "location" and v.startswith("http://" + ARGS.upstream):
                v = v[len("http://" + ARGS.upstream):]
            if kl == "content-range" and total_plus:
                a, _, t = v.rpartition("/")
                v = "%s/%d" % (a, int(t) + total_plus)
            if kl == "content-range":
                cr = v
            self.send_header(k, v)
        if body_len is not None:
            self.send_header("Content-Length", body_len)
        self.end_headers()
        first = True
        if self.command != "HEAD":
            while True:
                b = r.read(PIECE)
                if not b:
                    break
                if flip and first:
                    b = bytes([b[0] ^ 0x20]) + b[1:]
                first = False
                self.wfile.write(b)
        conn.close()
        self.note(r.status, (" content-range=%s" % cr if cr else "") + note)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if self.face == "reg" and u.path == "/__rangeproxy/set":
            q = dict(urllib.parse.parse_qsl(u.query))
            with LOCK:
                STATE.update(mode=q.get("mode", "honest"), count=int(q.get("count", 0)),
                             uses=int(q.get("uses", 2)), applied=0, sigs={},
                             delay=int(q.get("delay", 0)), spans=[])
            return self.reply(200, b"ok\n")
        if self.face == "reg" and u.path == "/__rangeproxy/spans":
            with LOCK:
                text = "".join("%s %.3f %.3f\n" % s for s in STATE["spans"])
            return self.reply(200, text.encode())
        m = BLOB_RE.match(u.path)
        if self.face == "reg" and m and self.command == "GET":
            start = time.monotonic()
            try:
                return self.blob_or_other(u)
            finally:
                with LOCK:
                    STATE["spans"].append((m.group(2), start, time.monotonic()))
        return self.blob_or_other(u)

    def blob_or_other(self, u):
        if STATE["delay"]:
            time.sleep(STATE["delay"] / 1000)  # a far registry's round trip
        if self.face == "cdn":
            return self.cdn(u)
        m = BLOB_RE.match(u.path)
        mode = STATE["mode"]
        if not m or self.command != "GET" or mode == "honest":
            return self.relay(self.path)
        rng = parse_range(self.headers.get("Range"))
        if mode in ("cdn-416", "cdn-expire"):
            with LOCK:
                STATE["sig"] += 1
                sig = STATE["sig"]
            loc = "http://127.0.0.1:%d/cdn%s?sig=%d" % (CDN_PORT, u.path, sig)
            self.reply(307, headers=[("Location", loc)])
            return self.note(307, " -> sig %d" % sig)
        if mode == "ignore":
            return self.relay(self.path, drop_range=True, note=" (Range ignored)")
        if rng is None:
            return self.relay(self.path)
        a, b = rng
        if mode == "shift" and b is not None and b > a:
            return self.relay(self.path, rng="bytes=%d-%d" % (a, b - 1), note=" (shifted)")
        if mode == "total":
            return self.relay(self.path, total_plus=1, note=" (total +1)")
        if mode == "inconsistent" and a > 0:
            with LOCK:
                hit = STATE["count"] == 0 or STATE["applied"] < STATE["count"]
                if hit:
                    STATE["applied"] += 1
            if hit:
                return self.relay(self.path, flip=True, note=" (byte flipped)")
        return self.relay(self.path)

    def cdn(self, u):
        q = dict(urllib.parse.parse_qsl(u.query))
        path = u.path[len("/cdn"):]
        mode = STATE["mode"]
        if mode == "cdn-416" and self.headers.get("Range"):
            self.reply(416, b"range not supported\n")
            return self.note(416)
        if mode == "cdn-expire":
            with LOCK:
                n = STATE["sigs"].get(q.get("sig"), 0) + 1
                STATE["sigs"][q.get("sig")] = n
            if n > STATE["uses"]:
                self.reply(403, b"<Error><Code>AccessDenied</Code>"
                           b"<Message>Request has expired</Message></Error>")
                return self.note(403, " (expired)")
        return self.relay(path)


class RegHandler(Handler):
    face = "reg"


class CdnHandler(Handler):
    face = "cdn"


def main():
    global ARGS, CDN_PORT
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", default="/dev/null")
    ARGS = ap.parse_args()
    reg = ThreadingHTTPServer(("127.0.0.1", 0), RegHandler)
    cdn = ThreadingHTTPServer(("127.0.0.1", 0), CdnHandler)
    CDN_PORT = cdn.server_address[1]
    threading.Thread(target=cdn.serve_forever, daemon=True).start()
    proxylib.write_port_file(ARGS.port_file, "%d %d\n" % (reg.server_address[1], CDN_PORT))
    reg.serve_forever()


if __name__ == "__main__":
    main()
