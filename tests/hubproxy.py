#!/usr/bin/python3
"""hubproxy: a test double that makes a local docker-registry behave like
Docker Hub (registry-1.docker.io plus its CDN), loopback only.

    hubproxy.py --upstream HOST:PORT [--listen 127.0.0.1] [--port 0]
                [--cdn-listen 127.0.0.2] [--cdn-port 0] [--quota 100]
                [--window 21600] [--url-ttl 20] [--rtt-ms 0] [--port-file FILE]
                [--log FILE]

Registry side (--listen:--port), a threaded HTTP/1.1 reverse proxy with
keep-alive in front of --upstream:
  * Manifest GETs (/v2/NAME/manifests/REF) are metered per client: the
    subject of its bearer token when it sends one (the JWT payload is read,
    not verified: the registry verifies it), else its IP address.  Each client
    starts with --quota pulls; a GET the registry answers 2xx costs one.  Past
    the quota a GET gets 429 with Hub's TOOMANYREQUESTS body and no
    Retry-After (unless the registry would refuse it anyway: no token, unknown
    manifest; then the registry's answer, free).  HEAD is free.
  * Every manifest response (GET, HEAD, 429) carries
        ratelimit-limit: QUOTA;w=WINDOW
        ratelimit-remaining: LEFT;w=WINDOW
        docker-ratelimit-source: CLIENT
  * A blob GET the registry would serve is answered 307 with a signed "CDN"
    URL, http://CDN/registry-v2/docker/registry/v2/blobs/sha256/XX/HEX/data?verify=EXPIRES-SIG,
    valid for --url-ttl seconds.  Blob HEADs and everything else (uploads,
    tags, the /v2/ probe, 401 challenges naming a token service elsewhere)
    pass through unchanged.
  * --rtt-ms: every registry-side answer waits that long first, a far
    registry's round trip (the control requests do not).
CDN side (--cdn-listen:--cdn-port): GET/HEAD of a signed URL fetches the blob
from the registry (as the client that was redirected, with its Authorization)
and streams it, passing Range / Content-Range through (206).  An expired URL
gets 403 (a transfer already under way finishes); a forged one, 403.

Bearer tokens: run the registry with `auth: token` and tests/tokenserver.py
on another loopback address (--addr 127.0.0.3); its challenges pass through.

Control (on the registry side; answered JSON, logged as server "control"):
  GET /__hubproxy/set?remaining=N[&client=C][&quota=Q][&url-ttl=S]
      remaining: every client's pulls left (and new clients'), or only C's;
      quota: the limit (clients not yet seen start with it); url-ttl: seconds
      head-digest: "lie" (manifest HEADs name a wrong Docker-Content-Digest),
      "drop" (they name none) or "true" (as the registry says: the default);
      ratelimit: "garbage" (ratelimit headers that do not parse) or "ok"
  GET /__hubproxy/reset     every client back to the full quota (and the
                            head-digest and ratelimit defaults)
  GET /__hubproxy/stats     {"quota", "window", "url_ttl", "clients": {C: left},
                             "metered", "refused", "redirects"}
SIGHUP does what /__hubproxy/reset does.

--port-file gets one line "REGISTRY_ADDR CDN_ADDR" once both listen (ports 0:
chosen by the system).  --log gets one JSON line per request:
  {"t": unix time, "server": "registry"|"cdn"|"control", "client": C,
   "method", "path" (no query), "status", "metered": true|false,
   "range": the Range header or null, "remaining": left after it (manifest
   requests) or null, "bytes": body bytes sent}
"metered" is true exactly for the GETs that cost a pull, so a test counts
pulls with: jq -c 'select(.metered)' LOG | wc -l
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
from http.server import ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultproxy import body_pieces  # noqa: E402  (streams a request body, framing kept)
import proxylib  # noqa: E402

PIECE = 65536
HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
       "upgrade", "proxy-authorization", "proxy-authenticate", "expect"}
MANIFEST = re.compile(r"^/v2/(?P<repo>.+)/manifests/(?P<ref>[^/]+)$")
BLOB = re.compile(r"^/v2/(?P<repo>.+)/blobs/(?P<digest>[a-z0-9]+:[a-f0-9]{32,})$")
CDN_PATH = re.compile(r"^/registry-v2/docker/registry/v2/blobs/(?P<alg>[a-z0-9]+)/[a-f0-9]{2}/"
                      r"(?P<hex>[a-f0-9]+)/data$")
TOOMANY = json.dumps({"errors": [{
    "code": "TOOMANYREQUESTS",
    "message": "You have reached your pull rate limit. You may increase the limit by "
               "authenticating and upgrading: https://www.docker.com/increase-rate-limit"}]},
    separators=(",", ":")).encode()
ARGS = None


class State:
    """Quotas per client, signed URLs handed out, counters; one lock."""

    def __init__(self, quota, url_ttl):
        self.lock = threading.Lock()
        self.quota = quota
        self.start = quota  # what a client not seen yet starts with
        self.left = {}
        self.url_ttl = url_ttl
        self.key = os.urandom(32)
        self.urls = {}  # sig -> (repo, authorization, expires)
        self.metered = self.refused = self.redirects = 0
        self.head_digest = "true"
        self.ratelimit = "ok"

    def take(self, client):
        """Reserve one pull; False when none is left."""
        with self.lock:
            n = self.left.setdefault(client, self.start)
            if n <= 0:
                return False
            self.left[client] = n - 1
            return True

    def give_back(self, client):
        with self.lock:
            self.left[client] = self.left.get(client, self.start) + 1

    def remaining(self, client):
        with self.lock:
            return self.left.get(client, self.start)

    def reset(self):
        with self.lock:
            self.left.clear()
            self.start = self.quota
            self.head_digest, self.ratelimit = "true", "ok"

    def sign(self, repo, digest, authorization):
        with self.lock:
            exp = int(time.time() + self.url_ttl + 0.999)
            sig = hmac.new(self.key, ("%s:%d" % (digest, exp)).encode(), hashlib.sha256).hexdigest()[:32]
            now = time.time()
            for s in [s for s, v in self.urls.items() if v[2] < now - 60]:
                del self.urls[s]
            self.urls[sig] = (repo, authorization, exp)
            self.redirects += 1
            return exp, sig

    def check(self, digest, verify):
        """(repo, authorization) for a signed URL, or a reason to refuse it."""
        exp, _, sig = verify.partition("-")
        want = hmac.new(self.key, ("%s:%s" % (digest, exp)).encode(), hashlib.sha256).hexdigest()[:32]
        with self.lock:
            entry = self.urls.get(sig)
        if not exp.isdigit() or not hmac.compare_digest(want, sig) or entry is None:
            return None, "signature does not match"
        if int(exp) < time.time():
            return None, "request has expired"
        return entry[:2], None

    def stats(self):
        with self.lock:
            return {"quota": self.quota, "start": self.start, "window": ARGS.window,
                    "url_ttl": self.url_ttl, "clients": dict(self.left), "metered": self.metered,
                    "refused": self.refused, "redirects": self.redirects}


STATE = None


def log(**rec):
    rec = dict({"t": round(time.time(), 3)}, **rec)
    proxylib.append_line(ARGS.log, json.dumps(rec))


def token_subject(authorization):
    """The `sub` of a bearer JWT (unverified), or None."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    try:
        payload = authorization.split()[1].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return claims.get("sub") or None
    except (IndexError, ValueError):
        return None


class Handler(proxylib.Handler):
    """One client connection (keep-alive), one upstream connection for it."""
    server_version = "hubproxy"
    timeout = 300
    server_name = "registry"

    def handle(self):
        self.up = None
        try:
            if self.rfile.peek(1)[:1] == b"\x16":
                # a TLS ClientHello (clients probe HTTPS first): answer as Go's
                # plain-HTTP server does, so the client falls back
                self.wfile.write(b"HTTP/1.0 400 Bad Request\r\n\r\n"
                                 b"Client sent an HTTP request to an HTTPS server.\n")
                return
            super().handle()
        except (ConnectionError, TimeoutError):
            pass
        finally:
            if self.up:
                self.up.close()

    # ------------------------------------------------------------ upstream

    def upstream(self, method, target, headers, body=False):
        """Send a request upstream (streaming the client's body when `body`),
        return the HTTPResponse (body unread).  A kept-alive connection the
        registry closed meanwhile is reopened once for bodyless requests."""
        for attempt in (0, 1):
            if self.up is None:
                host, _, port = ARGS.upstream.rpartition(":")
                self.up = http.client.HTTPConnection(host, int(port), timeout=300)
            try:
                self.up.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    self.up.putheader(k, v)
                self.up.endheaders()
                if body:
                    for raw, _ in body_pieces(self.rfile, list(self.headers.items())):
                        self.up.send(raw)
                return self.up.getresponse()
            except (http.client.HTTPException, ConnectionError) as e:
                self.up.close()
                self.up = None
                if body or attempt:
                    raise ConnectionError("upstream: %s" % e)

    def client_headers(self, drop=()):
        """The client's request headers minus hop-by-hop ones (and `drop`);
        a chunked body keeps its Transfer-Encoding: it is forwarded as framed."""
        out = []
        for k, v in self.headers.items():
            lk = k.lower()
            if lk in drop or (lk in HOP and not (lk == "transfer-encoding" and "chunked" in v.lower())):
                continue
            out.append((k, v))
        return out

    def has_body(self):
        return ("chunked" in (self.headers.get("Transfer-Encoding") or "").lower() or
                int(self.headers.get("Content-Length") or 0) > 0)

    def relay(self, resp, extra=(), head_only=False, drop=()):
        """Send an upstream response to the client (minus the headers named in
        `drop`), streaming its body; returns the body bytes sent."""
        self.send_response(resp.status, resp.reason)
        up = "http://" + ARGS.upstream
        for k, v in resp.getheaders():
            if k.lower() in HOP or k.lower() in ("content-length", "date") or k.lower() in drop:
                continue
            if k.lower() == "location" and v.startswith(up):
                v = "http://%s" % self.headers.get("Host", ARGS.registry_addr) + v[len(up):]
            self.send_header(k, v)
        for k, v in extra:
            self.send_header(k, v)
        bodyless = self.command == "HEAD" or head_only or resp.status in (204, 304) or \
            100 <= resp.status < 200
        length = resp.getheader("Content-Length")
        if length is not None:
            self.send_header("Content-Length", length)
        elif not bodyless:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = 0
        if bodyless:
            return self.drain(resp, 0)
        while True:
            b = resp.read1(PIECE) if hasattr(resp, "read1") else resp.read(PIECE)
            if not b:
                break
            sent += len(b)
            self.wfile.write(b if length is not None else b"%x\r\n%s\r\n" % (len(b), b))
        if length is None:
            self.wfile.write(b"0\r\n\r\n")
        return self.drain(resp, sent)

    def drain(self, resp, sent):
        """Done with an upstream response: drop the connection if it ends."""
        resp.read()
        if resp.will_close and self.up:
            self.up.close()
            self.up = None
        return sent

    def record(self, status, sent, metered=False, remaining=None):
        log(server=self.server_name, client=getattr(self, "client", self.client_address[0]),
            method=self.command, path=urllib.parse.urlsplit(self.path).path, status=status,
            metered=metered, range=self.headers.get("Range"), remaining=remaining, bytes=sent)

    # ------------------------------------------------------------ registry side

    def do_HEAD(self):
        self.dispatch()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD

    def dispatch(self):
        path = urllib.parse.urlsplit(self.path).path
        self.client = token_subject(self.headers.get("Authorization")) or self.client_address[0]
        if path.startswith("/__hubproxy/"):
            return self.control()
        if ARGS.rtt_ms:
            time.sleep(ARGS.rtt_ms / 1000)  # a far registry's round trip
        m = MANIFEST.match(path)
        if m and self.command in ("GET", "HEAD"):
            return self.manifest()
        m = BLOB.match(path)
        if m and self.command == "GET":
            return self.blob(m.group("repo"), m.group("digest"))
        self.forward()

    def forward(self):
        resp = self.upstream(self.command, self.path, self.client_headers(), body=self.has_body())
        self.record(resp.status, self.relay(resp))

    def ratelimit_headers(self, left):
        if STATE.ratelimit == "garbage":
            return [("ratelimit-limit", "lots;w=soon"), ("ratelimit-remaining", "-1;w=x"),
                    ("docker-ratelimit-source", self.client)]
        return [("ratelimit-limit", "%d;w=%d" % (STATE.quota, ARGS.window)),
                ("ratelimit-remaining", "%d;w=%d" % (max(left, 0), ARGS.window)),
                ("docker-ratelimit-source", self.client)]

    def manifest(self):
        if self.command == "HEAD":
            resp = self.upstream("HEAD", self.path, self.client_headers())
            left = STATE.remaining(self.client)
            extra, drop = self.ratelimit_headers(left), ()
            if STATE.head_digest != "true" and resp.status == 200:
                drop = ("docker-content-digest",)
                if STATE.head_digest == "lie":
                    extra.append(("Docker-Content-Digest",
                                  "sha256:" + hashlib.sha256(b"lie").hexdigest()))
            return self.record(resp.status, self.relay(resp, extra, drop=drop), remaining=left)
        if not STATE.take(self.client):
            # past the limit; what the registry would refuse anyway stays its answer
            probe = self.upstream("HEAD", self.path, self.client_headers())
            self.drain(probe, 0)
            if probe.status // 100 == 2:
                with STATE.lock:
                    STATE.refused += 1
                sent = self.reply(429, TOOMANY, [("Content-Type", "application/json")] +
                                  self.ratelimit_headers(0))
                return self.record(429, sent, remaining=0)
            resp = self.upstream("GET", self.path, self.client_headers())
            return self.record(resp.status, self.relay(resp, self.ratelimit_headers(0)), remaining=0)
        resp = self.upstream("GET", self.path, self.client_headers())
        metered = resp.status // 100 == 2
        if metered:
            with STATE.lock:
                STATE.metered += 1
        else:
            STATE.give_back(self.client)
        left = STATE.remaining(self.client)
        self.record(resp.status, self.relay(resp, self.ratelimit_headers(left)), metered, left)

    def blob(self, repo, digest):
        probe = self.upstream("HEAD", self.path, self.client_headers(drop=("range",)))
        self.drain(probe, 0)
        if probe.status != 200:
            return self.forward()
        exp, sig = STATE.sign(repo, digest, self.headers.get("Authorization"))
        alg, _, hexd = digest.partition(":")
        url = "http://%s/registry-v2/docker/registry/v2/blobs/%s/%s/%s/data?verify=%d-%s" % (
            ARGS.cdn_addr, alg, hexd[:2], hexd, exp, sig)
        self.reply(307, b"", [("Location", url), ("Docker-Content-Digest", digest)])
        self.record(307, 0)

    def control(self):
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(u.query).items()}
        self.client = "control"
        try:
            if u.path == "/__hubproxy/set":
                with STATE.lock:
                    if "quota" in q:
                        STATE.quota = STATE.start = int(q["quota"])
                    if "url-ttl" in q:
                        STATE.url_ttl = float(q["url-ttl"])
                    if "head-digest" in q:
                        if q["head-digest"] not in ("true", "lie", "drop"):
                            raise ValueError("head-digest: true, lie or drop")
                        STATE.head_digest = q["head-digest"]
                    if "ratelimit" in q:
                        if q["ratelimit"] not in ("ok", "garbage"):
                            raise ValueError("ratelimit: ok or garbage")
                        STATE.ratelimit = q["ratelimit"]
                    if "remaining" in q:
                        n = int(q["remaining"])
                        if "client" in q:
                            STATE.left[q["client"]] = n
                        else:
                            STATE.start = n
                            for c in STATE.left:
                                STATE.left[c] = n
            elif u.path == "/__hubproxy/reset":
                STATE.reset()
            elif u.path != "/__hubproxy/stats":
                raise ValueError("unknown control path " + u.path)
            status, body = 200, json.dumps(STATE.stats()).encode()
        except ValueError as e:
            status, body = 400, json.dumps({"error": str(e)}).encode()
        self.server_name = "control"
        self.record(status, self.reply(status, body, [("Content-Type", "application/json")]))
        self.server_name = "registry"


class CdnHandler(Handler):
    server_name = "cdn"

    def dispatch(self):
        u = urllib.parse.urlsplit(self.path)
        self.client = self.client_address[0]
        m = CDN_PATH.match(u.path)
        if self.command not in ("GET", "HEAD") or not m:
            return self.record(404, self.reply(404, b"<Error><Code>NoSuchKey</Code></Error>\n",
                                               [("Content-Type", "application/xml")]))
        digest = "%s:%s" % (m.group("alg"), m.group("hex"))
        verify = urllib.parse.parse_qs(u.query).get("verify", [""])[0]
        entry, why = STATE.check(digest, verify)
        if entry is None:
            body = ("<Error><Code>AccessDenied</Code><Message>%s</Message></Error>\n" % why).encode()
            return self.record(403, self.reply(403, body, [("Content-Type", "application/xml")]))
        repo, authorization = entry
        headers = [(k, v) for k, v in self.client_headers(drop=("host", "authorization"))]
        headers.append(("Host", ARGS.upstream))
        if authorization:
            headers.append(("Authorization", authorization))
        resp = self.upstream(self.command, "/v2/%s/blobs/%s" % (repo, digest), headers)
        self.record(resp.status, self.relay(resp))


def main():
    global ARGS, STATE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--upstream", required=True, help="HOST:PORT of the docker-registry")
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cdn-listen", default="127.0.0.2")
    ap.add_argument("--cdn-port", type=int, default=0)
    ap.add_argument("--quota", type=int, default=100, help="manifest GETs per client")
    ap.add_argument("--window", type=int, default=21600, help="seconds, for the headers")
    ap.add_argument("--url-ttl", type=float, default=20.0, help="seconds a CDN URL is valid")
    ap.add_argument("--rtt-ms", type=int, default=0,
                    help="every registry-side answer waits this long first (a far registry)")
    ap.add_argument("--port-file")
    ap.add_argument("--log", default="/dev/null")
    ARGS = ap.parse_args()
    for a in (ARGS.listen, ARGS.cdn_listen, ARGS.upstream.rpartition(":")[0]):
        if not a.startswith("127.") and a != "localhost":
            sys.exit("hubproxy: loopback addresses only (got %s)" % a)
    STATE = State(ARGS.quota, ARGS.url_ttl)
    ThreadingHTTPServer.daemon_threads = True
    reg = ThreadingHTTPServer((ARGS.listen, ARGS.port), Handler)
    cdn = ThreadingHTTPServer((ARGS.cdn_listen, ARGS.cdn_port), CdnHandler)
    ARGS.registry_addr = "%s:%d" % reg.server_address[:2]
    ARGS.cdn_addr = "%s:%d" % cdn.server_address[:2]
    signal.signal(signal.SIGHUP, lambda *_: STATE.reset())
    threading.Thread(target=cdn.serve_forever, daemon=True).start()
    if ARGS.port_file:
        proxylib.write_port_file(ARGS.port_file, "%s %s\n" % (ARGS.registry_addr, ARGS.cdn_addr))
    print("hubproxy: registry %s, cdn %s, upstream %s" % (ARGS.registry_addr, ARGS.cdn_addr,
                                                          ARGS.upstream), flush=True)
    reg.serve_forever()


if __name__ == "__main__":
    main()
