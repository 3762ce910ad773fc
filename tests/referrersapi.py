#!/usr/bin/python3
"""A test double for the OCI distribution 1.1 referrers API: an HTTP/1.1
reverse proxy on loopback in front of a real docker-registry (which has
only the fallback tag), adding what a registry with the API does:

  GET /v2/NAME/referrers/DIGEST[?artifactType=T]  200, an OCI index of the
      manifests pushed through this proxy whose subject is DIGEST (an empty
      one when none), filtered with OCI-Filters-Applied: artifactType
  PUT /v2/NAME/manifests/REF  passed on; a manifest with a subject is
      recorded and the 201 carries OCI-Subject: <its subject's digest>

Everything else passes through unchanged.  Control (between runs):
  GET /__referrers/set?filter=0|1&page=N   filter=0: ignore artifactType (no
      header); page=N: N descriptors per page, with a Link to the next

Usage: referrersapi.py --upstream HOST:PORT --port-file FILE --log FILE
Every request is logged as one line: METHOD TARGET -> STATUS.
"""
import argparse
import hashlib
import http.client
import json
import threading
import urllib.parse
from http.server import ThreadingHTTPServer

import proxylib

LOCK = threading.Lock()
STATE = {"filter": True, "page": 0}
REFERRERS = {}  # (name, subject digest) -> [descriptor]
ARGS = None
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-authorization", "proxy-authenticate"}


class Handler(proxylib.Handler):
    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                n = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(n)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def answer(self, status, data, headers=(), length=None):
        """The response (proxylib's reply), then its log line."""
        self.reply(status, data, headers, length)
        proxylib.append_line(ARGS.log, "%s %s -> %d" % (self.command, self.path, status))

    def referrers(self, name, digest, query):
        q = urllib.parse.parse_qs(query)
        with LOCK:
            found = list(REFERRERS.get((name, digest), []))
            filt, page = STATE["filter"], STATE["page"]
        headers = [("Content-Type", "application/vnd.oci.image.index.v1+json")]
        t = q.get("artifactType", [None])[0]
        if t and filt:
            found = [d for d in found if d.get("artifactType") == t]
            headers.append(("OCI-Filters-Applied", "artifactType"))
        start = int(q.get("start", ["0"])[0])
        if page:
            rest = found[start + page:]
            found = found[start:start + page]
            if rest:
                nq = dict((k, v[0]) for k, v in q.items())
                nq["start"] = str(start + page)
                headers.append(("Link", '</v2/%s/referrers/%s?%s>; rel="next"'
                                % (name, digest, urllib.parse.urlencode(nq))))
        idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
               "manifests": found}
        self.answer(200, json.dumps(idx).encode(), headers)

    def record(self, name, data, ctype, digest):
        try:
            doc = json.loads(data)
        except ValueError:
            return None
        subj = doc.get("subject") if isinstance(doc, dict) else None
        if not isinstance(subj, dict) or "digest" not in subj:
            return None
        d = {"mediaType": doc.get("mediaType") or ctype, "digest": digest, "size": len(data)}
        at = doc.get("artifactType") or (doc.get("config") or {}).get("mediaType")
        if at:
            d["artifactType"] = at
        if doc.get("annotations"):
            d["annotations"] = doc["annotations"]
        with LOCK:
            lst = REFERRERS.setdefault((name, subj["digest"]), [])
            if all(x["digest"] != digest for x in lst):
                lst.append(d)
        return subj["digest"]

    def handle_any(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/__referrers/set":
            q = urllib.parse.parse_qs(u.query)
            with LOCK:
                if "filter" in q:
                    STATE["filter"] = q["filter"][0] == "1"
                if "page" in q:
                    STATE["page"] = int(q["page"][0])
            return self.answer(200, b"ok\n")
        parts = u.path.split("/")
        if self.command == "GET" and len(parts) > 4 and parts[-2] == "referrers":
            return self.referrers("/".join(parts[2:-2]), parts[-1], u.query)
        data = self.body()
        conn = http.client.HTTPConnection(ARGS.upstream, timeout=60)
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in self.headers.items():
            if k.lower() not in HOP and k.lower() != "content-length":
                conn.putheader(k, v)
        if data or self.command in ("PUT", "POST", "PATCH"):
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders()
        if data:
            conn.send(data)
        resp = conn.getresponse()
        out = resp.read()
        headers = [(k, v) for k, v in resp.getheaders()
                   if k.lower() not in HOP and k.lower() != "content-length"]
        if (self.command == "PUT" and resp.status == 201 and len(parts) > 4
                and parts[-2] == "manifests"):
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            subj = self.record("/".join(parts[2:-2]), data, self.headers.get("Content-Type"),
                               digest)
            if subj:
                headers.append(("OCI-Subject", subj))
        conn.close()
        # a HEAD says the length of what a GET would bring
        length = resp.getheader("Content-Length") if self.command == "HEAD" else None
        self.answer(resp.status, out, headers, length or None)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    ARGS = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    proxylib.write_port_file(ARGS.port_file, "%d\n" % srv.server_address[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
