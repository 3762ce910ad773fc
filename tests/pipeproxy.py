#!/usr/bin/python3
"""pipeproxy: a reverse proxy that shows whether a client pipelines its
HTTP/1.1 requests (RFC 9112 section 9.3.2), loopback only.

    pipeproxy.py --upstream HOST:PORT [--listen 127.0.0.1] [--port 0]
                 [--delay-ms MS] [--close-after N] [--close-header]
                 [--drop-auth-every N]
                 [--port-file FILE] [--log FILE]

In front of a docker-registry (--upstream), for GET and HEAD (anything
else: 405): the method and target go upstream with the client's Host,
Accept, Authorization, Range and User-Agent headers, on one keep-alive
upstream connection per client connection; the status, the body and the
headers that matter (Content-Type, Content-Length, Content-Range,
Docker-Content-Digest, Docker-Distribution-Api-Version, WWW-Authenticate,
Location, Link) come back.  A response body is read whole before it is
sent (manifests, configs: small).  A connection that starts with a TLS
ClientHello (clients probe HTTPS first) is answered as Go's plain-HTTP
server does, so the client falls back to HTTP.

The request line and headers are read unbuffered, one byte at a time, so
a request the client sent early stays in the socket's receive queue where
select() sees it: nothing of it hides in a read buffer.

    --delay-ms MS    every answer waits MS before it is sent (a far
                     registry; a pipelining client has its next requests
                     queued by then).  The requests of one connection are
                     answered one after another, each MS late: a server's
                     delay, not a network round trip, so a pipelined run
                     takes no less time through it (tests count, not time)
    --close-after N  close each connection after its Nth response, with no
                     Connection: close header: the client finds out by EOF
                     (the close lingers: FIN, then whatever the client still
                     sends is read and dropped until it closes, at most 2 s,
                     so no RST destroys answers already sent)
    --close-header   every response says Connection: close, and the
                     connection is closed after it
    --drop-auth-every N
                     the requests of each connection whose number is a
                     multiple of N go upstream without their Authorization
                     header, so the registry answers its 401 challenge, as
                     for a token it no longer takes (each method and path
                     at most once: the client's retry gets through)

--port-file gets "ADDR\\n" (127.0.0.1:PORT) once it listens.  --log gets JSON
lines.  One per request, written before its answer is sent (a client that
has the answer finds the line in the file):
  {"conn": N, "seq": K, "method", "path" (no query), "status", "queued": bool}
conn numbers the accepted connections from 1; seq numbers the requests on
one connection from 1.  queued is true when the request's first bytes were
already waiting on the socket when the proxy began sending the answer to
the previous request on that connection (after the upstream round trip and
--delay-ms): the client wrote it without waiting for that answer, i.e. it
pipelined.  (Checked before that answer goes out, not after: a client that
does not pipeline cannot have its next request there yet, however threads
are scheduled.)
And one per connection as it ends, with seq 0:
  {"conn": N, "seq": 0, "end": E, "requests": K, "unanswered": bool}
E is "tls-probe" (it began with a TLS ClientHello: answered 400 and closed;
logged before that answer), "proxy" (closed by --close-after or
--close-header; logged before the last answer goes out) or "client" (the
client closed it or went away; logged when the proxy sees that, so shortly
after the client exits).  unanswered: the proxy closed it with another
request already waiting (the client had pipelined past the close; those
requests are read and dropped, never answered).
So requests are select(.seq > 0), connections [.conn] | unique | length.
"""
import argparse
import http.client
import json
import os
import select
import socket
import sys
import threading
import time
import urllib.parse
from http.server import ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxylib  # noqa: E402

FORWARD = ("accept", "authorization", "range", "user-agent")
PASS_BACK = ("content-type", "content-range", "docker-content-digest",
             "docker-distribution-api-version", "www-authenticate", "location", "link")
ARGS = None
LOCK = threading.Lock()
CONNS = 0
DROPPED = set()  # (method, path) sent upstream without Authorization


def log(**rec):
    proxylib.append_line(ARGS.log, json.dumps(rec))


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def shutdown_request(self, request):
        """Lingering close: FIN first, then drain what the client still
        sends (requests it pipelined) until its EOF, at most 2 s."""
        try:
            request.shutdown(socket.SHUT_WR)
            request.settimeout(2)
            end = time.monotonic() + 2
            while time.monotonic() < end and request.recv(65536):
                pass
        except OSError:
            pass
        self.close_request(request)


class Handler(proxylib.Handler):
    server_version = "pipeproxy"
    rbufsize = 0  # unbuffered: bytes of the next request stay in the socket
    timeout = 120

    def setup(self):
        global CONNS
        super().setup()
        with LOCK:
            CONNS += 1
            self.conn = CONNS
        self.seq = 0
        self.next_queued = False
        self.up = None

    def ended(self, how, unanswered=False):
        self.end = how
        log(conn=self.conn, seq=0, end=how, requests=self.seq, unanswered=unanswered)

    def handle(self):
        self.end = None
        try:
            if self.connection.recv(1, socket.MSG_PEEK) == b"\x16":
                # a TLS ClientHello (clients probe HTTPS first): answer as Go's
                # plain-HTTP server does, so the client falls back
                self.ended("tls-probe")
                self.wfile.write(b"HTTP/1.0 400 Bad Request\r\n\r\n"
                                 b"Client sent an HTTP request to an HTTPS server.\n")
                return
            super().handle()
        except OSError:  # ConnectionError, TimeoutError
            pass
        finally:
            if self.end is None:
                self.ended("client")
            if self.up:
                self.up.close()

    def waiting(self):
        """Bytes (or EOF) already on the socket, without reading them."""
        try:
            return bool(select.select([self.connection], [], [], 0)[0])
        except (OSError, ValueError):
            return False

    def upstream(self, headers):
        """(status, reason, headers, body) of the request made upstream; a
        kept-alive connection the registry closed meanwhile is reopened once."""
        for attempt in (0, 1):
            if self.up is None:
                host, _, port = ARGS.upstream.rpartition(":")
                self.up = http.client.HTTPConnection(host, int(port), timeout=60)
            try:
                self.up.putrequest(self.command, self.path, skip_host=True,
                                   skip_accept_encoding=True)
                for k, v in headers:
                    self.up.putheader(k, v)
                self.up.endheaders()
                r = self.up.getresponse()
                body = r.read()
                if r.will_close:
                    self.up.close()
                    self.up = None
                return r.status, r.reason, r.getheaders(), body
            except (http.client.HTTPException, OSError) as e:
                if self.up:
                    self.up.close()
                self.up = None
                if attempt:
                    raise ConnectionError("upstream: %s" % e)

    def do_HEAD(self):
        self.seq += 1
        queued, self.next_queued = self.next_queued, False
        path = urllib.parse.urlsplit(self.path).path
        if self.command not in ("GET", "HEAD"):
            # its body is not read: the connection ends with the answer
            self.close_connection = True
            status, reason, body = 405, None, b"GET and HEAD only\n"
            rheaders = [("Content-Type", "text/plain")]
        else:
            headers = [(k, v) for k, v in self.headers.items() if k.lower() in FORWARD]
            if ARGS.drop_auth_every and self.seq % ARGS.drop_auth_every == 0 and \
                    self.headers.get("Authorization"):
                with LOCK:
                    drop = (self.command, path) not in DROPPED
                    DROPPED.add((self.command, path))
                if drop:
                    headers = [(k, v) for k, v in headers if k.lower() != "authorization"]
            headers.append(("Host", self.headers.get("Host") or ARGS.addr))
            try:
                status, reason, rheaders, body = self.upstream(headers)
            except ConnectionError as e:
                status, reason, rheaders, body = 502, None, [("Content-Type", "text/plain")], \
                    (str(e) + "\n").encode()
        if ARGS.delay_ms:
            time.sleep(ARGS.delay_ms / 1000)
        # the next request is queued when it is here before this answer goes out
        self.next_queued = self.waiting()
        log(conn=self.conn, seq=self.seq, method=self.command, path=path, status=status,
            queued=queued)
        if ARGS.close_header or (ARGS.close_after and self.seq >= ARGS.close_after):
            self.close_connection = True
            self.ended("proxy", self.next_queued)
        self.send_response(status, reason)
        length = None
        up = "http://" + ARGS.upstream
        for k, v in rheaders:
            lk = k.lower()
            if lk == "content-length":
                length = v
            elif lk in PASS_BACK:
                if lk == "location" and v.startswith(up):
                    v = "http://%s%s" % (self.headers.get("Host") or ARGS.addr, v[len(up):])
                self.send_header(k, v)
        if self.command != "HEAD":
            length = str(len(body))
        if length is not None and status not in (204, 304):
            self.send_header("Content-Length", length)
        if ARGS.close_header or self.command not in ("GET", "HEAD"):
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--upstream", required=True, help="HOST:PORT of the docker-registry")
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay-ms", type=int, default=0,
                    help="every answer is sent this late (a far registry)")
    ap.add_argument("--close-after", type=int, default=0,
                    help="close each connection after its Nth response (no Connection: close)")
    ap.add_argument("--close-header", action="store_true",
                    help="every response says Connection: close, and the connection closes")
    ap.add_argument("--drop-auth-every", type=int, default=0,
                    help="each connection's Nth, 2Nth... request goes upstream without "
                         "Authorization (once per method and path)")
    ap.add_argument("--port-file")
    ap.add_argument("--log", default="/dev/null")
    ARGS = ap.parse_args()
    for a in (ARGS.listen, ARGS.upstream.rpartition(":")[0]):
        if not a.startswith("127.") and a != "localhost":
            sys.exit("pipeproxy: loopback addresses only (got %s)" % a)
    srv = Server((ARGS.listen, ARGS.port), Handler)
    ARGS.addr = "%s:%d" % srv.server_address[:2]
    if ARGS.port_file:
        proxylib.write_port_file(ARGS.port_file, ARGS.addr + "\n")
    print("pipeproxy: %s, upstream %s" % (ARGS.addr, ARGS.upstream), flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
