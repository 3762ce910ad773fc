#!/usr/bin/python3
"""A token server for docker-registry's `auth: token`, per the distribution
token-auth spec, for the integration tests.

    tokenserver.py --port N --key KEY.pem --cert CERT.pem --users USERS
                   --issuer ISS --service SVC --log LOG [--refresh TOKENS]

GET  /token?service=&scope=…  (Basic auth optional): {"token", "access_token",
     "expires_in", "issued_at"}.
POST /token (form: grant_type=password|refresh_token, refresh_token, username,
     password, scope space-separated, service, client_id): OAuth2 answer.
The JWT is RS256, its header carries the signing certificate in x5c (the
registry's rootcertbundle is that certificate); claims iss, sub, aud
(= service), exp, nbf, iat, jti, access.
USERS holds "user:password" lines; REFRESH holds "token:user" lines.  Known
users get every action they ask for; anonymous gets pull only; a wrong
password gets 401.  Every request is logged to LOG as one JSON line:
{"method", "user", "scopes": [...], "status", "grant_type"}.
"""
import argparse
import base64
import json
import os
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--addr", default="127.0.0.1")
ap.add_argument("--key", required=True)
ap.add_argument("--cert", required=True)
ap.add_argument("--users", required=True)
ap.add_argument("--refresh")
ap.add_argument("--issuer", required=True)
ap.add_argument("--service", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--ttl", type=int, default=300)
args = ap.parse_args()

with open(args.key, "rb") as f:
    KEY = serialization.load_pem_private_key(f.read(), password=None)
with open(args.cert, "rb") as f:
    CERT = x509.load_pem_x509_certificate(f.read())
X5C = [base64.b64encode(CERT.public_bytes(serialization.Encoding.DER)).decode()]
LOCK = threading.Lock()


def load_pairs(path, sep=":"):
    out = {}
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                if sep in line:
                    k, v = line.split(sep, 1)
                    out[k] = v
    return out


def parse_scope(s):
    """repository:a/b:pull,push -> (type, name, [actions])"""
    parts = s.split(":")
    if len(parts) < 3:
        return None
    return parts[0], ":".join(parts[1:-1]), [a for a in parts[-1].split(",") if a]


def grant(user, scopes):
    access = {}
    for s in scopes:
        p = parse_scope(s)
        if not p:
            continue
        typ, name, actions = p
        allowed = actions if user else [a for a in actions if a == "pull"]
        entry = access.setdefault((typ, name), [])
        for a in allowed:
            if a not in entry:
                entry.append(a)
    return [{"type": t, "name": n, "actions": a} for (t, n), a in access.items()]


def make_token(user, scopes):
    now = int(time.time())
    claims = {
        "iss": args.issuer,
        "sub": user or "",
        "aud": args.service,
        "exp": now + args.ttl,
        "nbf": now - 5,
        "iat": now,
        "jti": base64.urlsafe_b64encode(os.urandom(12)).decode(),
        "access": grant(user, scopes),
    }
    return jwt.encode(claims, KEY, algorithm="RS256", headers={"x5c": X5C})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def record(self, user, scopes, status, grant_type=None):
        with LOCK, open(args.log, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path.split("?")[0],
                                "user": user, "scopes": scopes, "status": status,
                                "grant_type": grant_type}) + "\n")

    def answer(self, status, body, extra=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def basic_user(self):
        """None: anonymous; False: wrong credentials; else the user name."""
        h = self.headers.get("Authorization", "")
        if not h.lower().startswith("basic "):
            return None
        try:
            user, pw = base64.b64decode(h[6:]).decode().split(":", 1)
        except Exception:
            return False
        return user if load_pairs(args.users).get(user) == pw else False

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        if u.path != "/token":
            return self.answer(404, {"error": "not found"})
        q = urllib.parse.parse_qs(u.query)
        scopes = q.get("scope", [])
        user = self.basic_user()
        if user is False or q.get("service", [""])[0] != args.service:
            self.record(None, scopes, 401)
            return self.answer(401, {"errors": [{"code": "UNAUTHORIZED",
                                                 "message": "invalid username or password"}]},
                               {"WWW-Authenticate": 'Basic realm="token"'})
        tok = make_token(user, scopes)
        self.record(user, scopes, 200)
        self.answer(200, {"token": tok, "access_token": tok, "expires_in": args.ttl,
                          "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})

    def do_POST(self):
        u = urllib.parse.urlparse(self.path)
        n = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        if u.path != "/token":
            return self.answer(404, {"error": "not found"})
        gt = form.get("grant_type", [""])[0]
        scopes = " ".join(form.get("scope", [])).split()
        user = False
        if gt == "refresh_token":
            user = load_pairs(args.refresh).get(form.get("refresh_token", [""])[0], False)
        elif gt == "password":
            name = form.get("username", [""])[0]
            if load_pairs(args.users).get(name) == form.get("password", [None])[0]:
                user = name
        if not user or form.get("service", [""])[0] != args.service:
            self.record(None, scopes, 401, gt)
            return self.answer(401, {"error": "invalid_grant"})
        tok = make_token(user, scopes)
        self.record(user, scopes, 200, gt)
        self.answer(200, {"access_token": tok, "expires_in": args.ttl, "scope": " ".join(scopes)})


ThreadingHTTPServer.daemon_threads = True
srv = ThreadingHTTPServer((args.addr, args.port), Handler)
print("listening", flush=True)
srv.serve_forever()
