#!/bin/bash
# Retries: a server answering 429 with Retry-After (and Docker Hub's
# ratelimit-remaining), 503 without it, then 200; ccreg waits as told and
# succeeds, gives up after its retries with exit 3, and shows
# ratelimit-remaining with -v.
. "$(dirname "$0")/../lib.sh"
. "$SRCDIR/tests/authlib.sh"

# A tiny registry serving one manifest and one blob; for each path the
# first N answers are failures (set per test with a GET /control?...).
cat >"$TEST_TMP/flaky.py" <<'EOF'
import hashlib, json, os, sys, threading, time, urllib.parse
from http.server import ThreadingHTTPServer
sys.path.insert(0, os.path.join(os.environ["SRCDIR"], "tests"))
from proxylib import Handler, append_line
port, log = int(sys.argv[1]), sys.argv[2]
blob = b"hello from the flaky registry\n"
bd = "sha256:" + hashlib.sha256(blob).hexdigest()
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": bd, "size": len(blob)},
    "layers": []}, separators=(",", ":")).encode()
md = "sha256:" + hashlib.sha256(manifest).hexdigest()
plan = {"fail": 0, "status": 429, "retry_after": "1"}
lock = threading.Lock()
class H(Handler):
    def do_HEAD(self):
        self.do_GET()
    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        if u.path == "/control":
            q = urllib.parse.parse_qs(u.query)
            with lock:
                plan.update({k: v[0] for k, v in q.items()})
                plan["fail"] = int(plan["fail"])
            return self.reply(200, b"ok")
        append_line(log, "%.3f %s %s" % (time.time(), self.command, u.path))
        if u.path == "/v2/":
            return self.reply(200, b"{}")
        with lock:
            failing = plan["fail"] > 0
            if failing:
                plan["fail"] -= 1
        if failing:
            h = [("Content-Type", "application/json")]
            if plan["retry_after"]:
                h.append(("Retry-After", plan["retry_after"]))
            if int(plan["status"]) == 429:
                h.append(("RateLimit-Remaining", "0;w=21600"))
            return self.reply(int(plan["status"]), b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}', h)
        if u.path == "/v2/test/img/manifests/1.0" or u.path == "/v2/test/img/manifests/" + md:
            return self.reply(200, manifest, [("Content-Type", "application/vnd.oci.image.manifest.v1+json"),
                ("Docker-Content-Digest", md), ("RateLimit-Remaining", "97;w=21600")])
        if u.path == "/v2/test/img/blobs/" + bd:
            return self.reply(200, blob, [("Content-Type", "application/octet-stream"), ("Docker-Content-Digest", bd)])
        self.reply(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
PORT=$(free_port)
spawn flaky "$TEST_TMP/flaky.out" $PY "$TEST_TMP/flaky.py" "$PORT" "$TEST_TMP/flaky.log"
wait_http "http://127.0.0.1:$PORT/v2/" || bail_out "flaky server did not start"
F=127.0.0.1:$PORT
control() { curl -s -o /dev/null "http://$F/control?$1"; }
requests() { grep -c " GET $1\$" "$TEST_TMP/flaky.log"; }
manifest_digest=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' -o /dev/null -D - \
	"http://$F/v2/test/img/manifests/1.0" | tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" {print $2}')

# 429 with Retry-After: 1, then 200
: >"$TEST_TMP/flaky.log"
control "fail=1&status=429&retry_after=1"
start=$(date +%s.%N)
# (--no-cache: the GET itself meets the 429, no HEAD for the manifest cache first)
check "429 then 200: the manifest arrives" "$CCREG" --no-cache -v manifest "$F/test/img:1.0"
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
is "sha256:$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" "$manifest_digest" "the manifest is intact"
is "$(echo "$elapsed >= 1.0" | bc)" 1 "ccreg waited the Retry-After second (took ${elapsed}s)"
is "$(requests /v2/test/img/manifests/1.0)" 2 "one retry"
like "$ERR" "answered 429; retrying in 1000 ms" "-v tells about the wait"
like "$ERR" "ratelimit-remaining=0;w=21600" "-v shows ratelimit-remaining of the 429"
like "$ERR" "ratelimit-remaining=97;w=21600" "-v shows ratelimit-remaining of the 200"

# 503 twice without Retry-After (exponential backoff), for a blob
: >"$TEST_TMP/flaky.log"
control "fail=2&status=503&retry_after="
bd=sha256:$(printf 'hello from the flaky registry\n' | sha256sum | cut -d' ' -f1)
check "503, 503, then 200: the blob arrives" "$CCREG" blob "$F/test/img@$bd"
is "$OUT" "hello from the flaky registry" "blob intact"
is "$(requests "/v2/test/img/blobs/$bd")" 3 "two retries"

# Always failing: bounded retries, then exit 3
: >"$TEST_TMP/flaky.log"
control "fail=100&status=503&retry_after=0"
check_exit 3 "a server that keeps failing gives exit 3" "$CCREG" manifest "$F/test/img:1.0"
like "$ERR" "^ccreg: .*slow down on $F \(server error\)" "the message carries the server's error"
is "$(requests /v2/test/img/manifests/1.0)" 5 "the request was tried 5 times (4 retries), not forever"

control "fail=100&status=429&retry_after=0"
check_exit 3 "a rate limit that does not lift gives exit 3" "$CCREG" digest "$F/test/img:1.0"
control "fail=0"

# Connection refused: retried, then exit 3 naming the host
closed_port
DEAD=127.0.0.1:$CLOSED_PORT
check_exit 3 "an unreachable registry gives exit 3" "$CCREG" manifest "$DEAD/test/img:1.0"
like "$ERR" "cannot reach $DEAD" "the message names the host"

done_testing
