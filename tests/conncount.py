#!/usr/bin/python3
"""conncount: a loopback TCP proxy that logs every connection it accepts.

    conncount.py --port N --target HOST:PORT --log FILE

Forwards each accepted connection to TARGET (loopback only) untouched and
appends one line "conn N" to FILE as it accepts it, so a test counts the
connections a client opened with `wc -l`.  Listens on 127.0.0.1 only.
"""
import argparse
import socket
import threading

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--target", required=True)
ap.add_argument("--log", required=True)
args = ap.parse_args()
host, port = args.target.rsplit(":", 1)
if host not in ("127.0.0.1", "localhost", "::1"):
    raise SystemExit("conncount: forwards to loopback only")
target = (host, int(port))
lock = threading.Lock()
count = 0


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(client):
    try:
        upstream = socket.create_connection(target)
    except OSError:
        client.close()
        return
    t = threading.Thread(target=pump, args=(upstream, client), daemon=True)
    t.start()
    pump(client, upstream)
    t.join()
    client.close()
    upstream.close()


ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", args.port))
ls.listen(128)
while True:
    c, _ = ls.accept()
    with lock:
        count += 1
        with open(args.log, "a") as f:
            f.write("conn %d\n" % count)
    threading.Thread(target=serve, args=(c,), daemon=True).start()
