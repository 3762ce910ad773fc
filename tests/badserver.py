#!/usr/bin/python3
"""A hostile registry on loopback for bad-input tests: serves bodies that are
not JSON, truncated bodies, and manifests whose bytes do not match the digest
the server claims; and tag lists paginated with Link headers the way Docker
Hub and distribution 3 do (docker-registry 2.8 never paginates tags).
Usage: badserver.py PORTFILE"""
import hashlib
import http.server
import json
import sys
import urllib.parse

GOOD = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}'
NOTJSON = b"<html>this is not a manifest</html>"
TRUNC = GOOD[:40]


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body, ctype="application/vnd.oci.image.manifest.v1+json",
             dg=None, length=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        if dg:
            self.send_header("Docker-Content-Digest", dg)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def tags_page(self, query):
        q = urllib.parse.parse_qs(query)
        n = min(int(q.get("n", ["100"])[0]), 100)
        tags = ["v%03d" % i for i in range(250)]
        last = q.get("last", [""])[0]
        rest = [t for t in tags if t > last]
        page, more = rest[:n], len(rest) > n
        body = json.dumps({"name": "paged", "tags": page}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if more:
            nxt = "/v2/paged/tags/list?" + urllib.parse.urlencode({"n": n, "last": page[-1]})
            self.send_header("Link", '<%s>; rel="next"' % nxt)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        p = self.path
        path, _, query = p.partition("?")
        if path == "/v2/paged/tags/list":
            return self.tags_page(query)
        if p == "/v2/":
            return self.send(200, b"{}", "application/json")
        if p == "/v2/bad/notjson/manifests/1":
            return self.send(200, NOTJSON, dg=digest(NOTJSON))
        if p == "/v2/bad/mismatch/manifests/1":
            # claims the digest of GOOD but serves other bytes
            return self.send(200, GOOD.replace(b'"layers":[]', b'"layers": []'), dg=digest(GOOD))
        if p == "/v2/bad/truncated/manifests/1":
            self.send(200, TRUNC, dg=digest(GOOD), length=len(GOOD))
            self.close_connection = True
            return
        if p.startswith("/v2/bad/bytag/manifests/sha256:"):
            return self.send(200, GOOD)
        self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}',
                  "application/json")

    do_HEAD = do_GET


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1], "w") as f:
    f.write(str(srv.server_address[1]))
srv.serve_forever()
