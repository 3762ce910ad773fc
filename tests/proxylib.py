"""proxylib: what the Python test servers share (tests/hubproxy.py,
rangeproxy.py, referrersapi.py, faultproxy.py, hostile.py, pipeproxy.py and the flaky
registry of tests/integration/retry.sh).

    Handler                 an http.server request handler speaking HTTP/1.1
                            (keep-alive), quiet (no line on stderr per
                            request), with reply() for a whole response
    append_line(PATH, LINE) LINE and a newline appended to the file PATH,
                            one writer at a time (request handlers run in
                            threads)
    write_port_file(PATH, TEXT)
                            TEXT into PATH, renamed into place: a test
                            waiting for the file (tests/lib.sh start_proxy)
                            never reads half of it
"""
import os
import threading
from http.server import BaseHTTPRequestHandler

_APPEND_LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body=b"", headers=(), length=None):
        """A whole response: STATUS, HEADERS, Content-Length (LENGTH when
        given, e.g. a HEAD telling what a GET would bring, else the BODY's),
        then BODY unless the request is a HEAD.  Returns the body bytes sent."""
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command == "HEAD":
            return 0
        self.wfile.write(body)
        return len(body)


def append_line(path, line):
    with _APPEND_LOCK, open(path, "a") as f:
        f.write(line + "\n")


def write_port_file(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)
