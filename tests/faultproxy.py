#!/usr/bin/python3
"""A fault-injecting HTTP/1.1 reverse proxy for tests (loopback only).

Sits between ccreg and a real registry and, as configured, breaks one
request in a chosen way: on the Nth eligible request (nth=N, count=C: the
C requests from the Nth on), on every Kth (every=K: the Kth, 2Kth, ...) or
on each eligible request with probability p (seeded, so a run can be
replayed).

Usage: faultproxy.py --upstream HOST:PORT --port-file FILE --log FILE
                     [--fault KIND] [--nth N] [--count C] [--every K] [--prob P]
                     [--seed S] [--match REGEX] [--stall-max SECONDS]

Fault kinds (KIND):
  none        pass everything through
  reset       upload: read part of the request body, then RST; otherwise
              forward, send the headers and half the body, then RST (a
              bodyless answer: RST instead of it, after the registry acted)
  500 502 503 answer that status (a registry error body), upstream untouched
  429         answer 429 Too Many Requests with Retry-After: 1
  truncate    forward; send the headers (true Content-Length) and half the
              body, then close (responses with a body of 2+ bytes)
  flip        forward a GET blobs/manifests 200 answer with one byte flipped
              (same length: only the digest check can tell)
  stall       read the request, answer nothing, hold the connection
  stall-body  forward; send the headers and half the body, then hold
Held connections are released when the client gives up, or after
--stall-max seconds.

Control (so a test switches modes between runs, on the proxy's own port):
  GET /__faultproxy/set?fault=KIND&nth=N&count=C&every=K&prob=P&seed=S&match=RE
      replaces the whole configuration and zeroes the counters
  GET /__faultproxy/stats
      {"requests", "applied", "eligible": {KIND: n}} since the last set;
      "eligible" is counted for every kind in every mode, so a fault-free
      run tells how many positions each kind can hit.

Request bodies (Content-Length or chunked) and response bodies are streamed
in both directions; Location headers that name the upstream are rewritten
to the proxy.  Every request is logged with the fault applied to it.
"""
import argparse
import json
import random
import re
import select
import socket
import struct
import sys
import threading
import time
import urllib.parse

import proxylib

KINDS = ("none", "reset", "500", "502", "503", "429", "truncate", "flip", "stall",
         "stall-body")
REQUEST_PHASE = ("500", "502", "503", "429", "stall")
PIECE = 65536


class Config:
    def __init__(self):
        self.lock = threading.Lock()
        self.set({})

    def set(self, q):
        with self.lock:
            self.fault = q.get("fault", "none")
            if self.fault not in KINDS:
                raise ValueError("unknown fault " + self.fault)
            self.nth = int(q.get("nth", 0) or 0)
            self.count = int(q.get("count", 1) or 1)
            self.every = int(q.get("every", 0) or 0)
            self.prob = float(q.get("prob", 0) or 0)
            self.rng = random.Random(int(q.get("seed", 0) or 0))
            m = q.get("match", "")
            self.match = re.compile(m) if m else None
            self.requests = 0
            self.applied = 0
            self.eligible = {k: 0 for k in KINDS if k != "none"}

    def stats(self):
        with self.lock:
            return {"fault": self.fault, "requests": self.requests, "applied": self.applied,
                    "eligible": dict(self.eligible)}

    def decide(self, kind_eligible, line):
        """Count eligibility for every kind (requests that --match); True
        when the configured fault hits this request.  kind_eligible(kind)
        says whether it could."""
        with self.lock:
            hit = False
            if self.match and not self.match.search(line):
                return False  # neither counted nor hit
            for k in self.eligible:
                if kind_eligible(k):
                    self.eligible[k] += 1
            k = self.fault
            if k == "none" or not kind_eligible(k):
                return False
            n = self.eligible[k]
            if self.nth:
                hit = self.nth <= n < self.nth + self.count
            elif self.every:
                hit = n % self.every == 0
            elif self.prob:
                hit = self.rng.random() < self.prob
            if hit:
                self.applied += 1
            return hit

    def rand(self, n):
        with self.lock:
            return self.rng.randrange(n)


CFG = Config()
LOG_LOCK = threading.Lock()
ARGS = None
CONN_IDS = iter(range(1, 1 << 62))


def log(msg):
    with LOG_LOCK:
        with open(ARGS.log, "a") as f:
            f.write("%.3f %s\n" % (time.time(), msg))


class Closed(Exception):
    pass


def read_head(f):
    """Start line and headers [(name, value)] of a message, or None at EOF."""
    line = f.readline(65537)
    if not line:
        return None
    if line in (b"\r\n", b"\n"):  # stray CRLF between messages
        line = f.readline(65537)
        if not line:
            return None
    headers = []
    while True:
        h = f.readline(65537)
        if not h:
            raise Closed()
        if h in (b"\r\n", b"\n"):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    return line.decode("latin-1").rstrip("\r\n"), headers


def hget(headers, name):
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


def hdel(headers, name):
    return [(k, v) for k, v in headers if k.lower() != name]


def encode_head(start, headers):
    return (start + "\r\n" + "".join("%s: %s\r\n" % (k, v) for k, v in headers) +
            "\r\n").encode("latin-1")


def body_pieces(f, headers, limit=None):
    """The raw bytes of a message body (framing included, so a chunked body
    is forwarded as it came), piece by piece.  Yields (raw, payload_len)."""
    te = (hget(headers, "transfer-encoding") or "").lower()
    if "chunked" in te:
        while True:
            size_line = f.readline(65537)
            if not size_line:
                raise Closed()
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                raw = size_line
                while True:  # trailers, up to the empty line
                    t = f.readline(65537)
                    if not t:
                        raise Closed()
                    raw += t
                    if t in (b"\r\n", b"\n"):
                        break
                yield raw, 0
                return
            yield size_line, 0
            left = size
            while left:
                b = f.read(min(left, PIECE))
                if not b:
                    raise Closed()
                left -= len(b)
                yield b, len(b)
            crlf = f.readline(3)
            yield crlf, 0
        return
    cl = hget(headers, "content-length")
    left = int(cl) if cl else (limit if limit is not None else 0)
    while left:
        b = f.read(min(left, PIECE))
        if not b:
            raise Closed()
        left -= len(b)
        yield b, len(b)


def rst(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass


def hold(sock, what):
    """Keep a connection open, sending nothing, until the peer closes it or
    --stall-max passes; returns the seconds held."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < ARGS.stall_max:
        r, _, _ = select.select([sock], [], [], 0.5)
        if r:
            try:
                if not sock.recv(PIECE):
                    break
            except OSError:
                break
    return time.monotonic() - t0


def error_body(status):
    code = {429: "TOOMANYREQUESTS", 500: "UNKNOWN", 502: "UNAVAILABLE", 503: "UNAVAILABLE"}
    return json.dumps({"errors": [{"code": code.get(status, "UNKNOWN"),
                                   "message": "injected fault: HTTP %d" % status}]}).encode()


REASON = {200: "OK", 429: "Too Many Requests", 500: "Internal Server Error",
          502: "Bad Gateway", 503: "Service Unavailable"}


def control(sock, target):
    u = urllib.parse.urlparse(target)
    q = {k: v[0] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
    try:
        if u.path == "/__faultproxy/set":
            CFG.set(q)
            log("control: set %s" % json.dumps(q, sort_keys=True))
            body = json.dumps(CFG.stats()).encode()
            status = 200
        elif u.path == "/__faultproxy/stats":
            body, status = json.dumps(CFG.stats()).encode(), 200
        else:
            body, status = b"unknown control path\n", 404
    except (ValueError, re.error) as e:
        body, status = (str(e) + "\n").encode(), 400
    sock.sendall(encode_head("HTTP/1.1 %d X" % status, [("Content-Type", "application/json"),
                                                          ("Content-Length", str(len(body)))]) + body)


def rewrite_location(v):
    up = "http://" + ARGS.upstream
    if v.startswith(up):
        return "http://%s:%d" % (ARGS.listen, ARGS.port) + v[len(up):]
    return v


def handle_request(cid, csock, cf, start, headers):
    """One request; returns False when the client connection must end."""
    try:
        method, target, _version = start.split(" ", 2)
    except ValueError:
        csock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        return False
    line = "%s %s" % (method, target)
    if target.startswith("/__faultproxy/"):
        control(csock, target)
        return True
    has_body = "chunked" in (hget(headers, "transfer-encoding") or "").lower() or \
        int(hget(headers, "content-length") or 0) > 0
    if (hget(headers, "expect") or "").lower() == "100-continue":
        csock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    client_close = (hget(headers, "connection") or "").lower() == "close"

    # request-phase faults: decided before the registry sees anything
    hit = CFG.decide(lambda k: k in REQUEST_PHASE or (k == "reset" and has_body), line)
    kind = CFG.fault if hit else None
    if kind in ("500", "502", "503", "429"):
        for _ in body_pieces(cf, headers):
            pass
        status = int(kind)
        body = error_body(status)
        h = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        if status == 429:
            h.append(("Retry-After", "1"))
        csock.sendall(encode_head("HTTP/1.1 %d %s" % (status, REASON[status]), h) + body)
        log("#%d %s -> %d fault=%s" % (cid, line, status, kind))
        return not client_close
    if kind == "stall":
        for _ in body_pieces(cf, headers):
            pass
        held = hold(csock, line)
        log("#%d %s -> (nothing) fault=stall held %.1fs" % (cid, line, held))
        return False
    if kind == "reset":
        # an upload broken off: the registry gets the head and part of the
        # body, then both connections are reset
        cl = int(hget(headers, "content-length") or 0)
        want, got = max(1, cl // 2) if cl else 1, 0
        usock = socket.create_connection(ARGS.upstream_addr, timeout=60)
        try:
            usock.sendall(encode_head(start, hdel(hdel(hdel(headers, "connection"), "expect"),
                                                  "keep-alive") + [("Connection", "close")]))
            for raw, n in body_pieces(cf, headers):
                if n and got + n > want:
                    raw, n = raw[:want - got], want - got
                usock.sendall(raw)
                got += n
                if got >= want:
                    break
            time.sleep(0.05)  # let the registry start on what it got
        finally:
            rst(usock)
            usock.close()
        rst(csock)
        log("#%d %s -> RST after %d request body bytes (forwarded) fault=reset" % (cid, line, got))
        return False

    # forward to the registry
    usock = socket.create_connection(ARGS.upstream_addr, timeout=60)
    try:
        uh = hdel(hdel(hdel(headers, "connection"), "expect"), "keep-alive") + \
            [("Connection", "close")]
        usock.sendall(encode_head(start, uh))
        for raw, _ in body_pieces(cf, headers):
            usock.sendall(raw)
        uf = usock.makefile("rb")
        while True:
            head = read_head(uf)
            if head is None:
                raise Closed()
            rstart, rh = head
            status = int(rstart.split(" ", 2)[1])
            if status >= 200:
                break
        rh = [(k, rewrite_location(v) if k.lower() == "location" else v)
              for k, v in hdel(hdel(rh, "connection"), "keep-alive")]
        bodyless = method == "HEAD" or status in (204, 304)
        chunked = "chunked" in (hget(rh, "transfer-encoding") or "").lower()
        cl = None if bodyless or chunked else hget(rh, "content-length")
        cl = int(cl) if cl is not None else None
        until_close = not bodyless and not chunked and cl is None
        if until_close:
            rh.append(("Connection", "close"))

        def eligible(k):
            if k == "reset":
                return not has_body
            if k in ("truncate", "stall-body"):
                return cl is not None and cl >= 2
            if k == "flip":
                return (method == "GET" and status == 200 and cl is not None and cl >= 1 and
                        re.search(r"/(blobs|manifests)/", target) is not None)
            return False
        hit = CFG.decide(eligible, line)
        kind = CFG.fault if hit else None

        if kind == "reset" and (bodyless or not cl or cl < 2):
            rst(csock)
            log("#%d %s -> RST instead of the %d answer fault=reset" % (cid, line, status))
            return False
        csock.sendall(encode_head(rstart, rh))
        if bodyless:
            log("#%d %s -> %d" % (cid, line, status))
            return not client_close
        if kind in ("reset", "truncate", "stall-body"):
            half, sent = cl // 2, 0
            while sent < half:
                b = uf.read(min(half - sent, PIECE))
                if not b:
                    raise Closed()
                csock.sendall(b)
                sent += len(b)
            if kind == "reset":
                rst(csock)
                log("#%d %s -> %d, RST after %d of %d body bytes fault=reset" %
                    (cid, line, status, sent, cl))
            elif kind == "truncate":
                csock.shutdown(socket.SHUT_WR)
                log("#%d %s -> %d, closed after %d of %d body bytes fault=truncate" %
                    (cid, line, status, sent, cl))
            else:
                held = hold(csock, line)
                log("#%d %s -> %d, stalled after %d of %d body bytes (held %.1fs) fault=stall-body"
                    % (cid, line, status, sent, cl, held))
            return False
        flip_at = CFG.rand(cl) if kind == "flip" else -1
        sent = 0
        for raw, n in body_pieces(uf, rh, limit=None) if not until_close else iter(
                lambda: (uf.read1(PIECE), 0), (b"", 0)):
            if 0 <= flip_at - sent < len(raw):
                i = flip_at - sent
                raw = raw[:i] + bytes([raw[i] ^ 0x20]) + raw[i + 1:]
            csock.sendall(raw)
            sent += len(raw)
        if kind == "flip":
            log("#%d %s -> %d, byte %d of %d flipped fault=flip" % (cid, line, status, flip_at, cl))
        else:
            log("#%d %s -> %d %dB" % (cid, line, status, sent))
        return not (client_close or until_close)
    finally:
        usock.close()


def serve(csock):
    cid = next(CONN_IDS)
    cf = csock.makefile("rb")
    try:
        first = cf.peek(1)[:1]
        if first == b"\x16":
            # a TLS ClientHello (ccreg tries HTTPS first): answer like a plain
            # HTTP server so the client falls back
            csock.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
            return
        while True:
            head = read_head(cf)
            if head is None:
                return
            with CFG.lock:
                CFG.requests += 1
            if not handle_request(cid, csock, cf, *head):
                return
    except (Closed, OSError, ValueError) as e:
        log("#%d connection ended: %s" % (cid, e.__class__.__name__))
    finally:
        cf.close()
        csock.close()


def main():
    global ARGS
    ap = argparse.ArgumentParser(description="fault-injecting registry proxy (loopback)")
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--upstream", required=True, help="HOST:PORT of the registry")
    ap.add_argument("--port-file", help="write the chosen port here once listening")
    ap.add_argument("--log", default="/dev/null")
    ap.add_argument("--fault", default="none", choices=KINDS)
    ap.add_argument("--nth", type=int, default=0)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--every", type=int, default=0)
    ap.add_argument("--prob", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--match", default="")
    ap.add_argument("--stall-max", type=float, default=60.0)
    ARGS = ap.parse_args()
    host, _, port = ARGS.upstream.rpartition(":")
    ARGS.upstream_addr = (host, int(port))
    for a in (ARGS.listen, host):
        if a not in ("127.0.0.1", "localhost", "::1") and not a.startswith("127."):
            sys.exit("faultproxy: loopback addresses only (got %s)" % a)
    CFG.set({"fault": ARGS.fault, "nth": ARGS.nth, "count": ARGS.count, "every": ARGS.every, "prob": ARGS.prob,
             "seed": ARGS.seed, "match": ARGS.match})
    ls = socket.socket(socket.AF_INET6 if ":" in ARGS.listen else socket.AF_INET)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((ARGS.listen, ARGS.port))
    ls.listen(128)
    ARGS.port = ls.getsockname()[1]
    if ARGS.port_file:
        proxylib.write_port_file(ARGS.port_file, "%d\n" % ARGS.port)
    log("listening on %s:%d, upstream %s" % (ARGS.listen, ARGS.port, ARGS.upstream))
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
