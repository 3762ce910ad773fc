#!/bin/bash
# Blob GETs redirected to storage on another host (docker-registry's
# `redirect` storage middleware → a file server on 127.0.0.2 that records
# request headers): pulls succeed, digests verify, and the registry's
# Authorization (a bearer token here) never reaches the storage host.
. "$(dirname "$0")/../lib.sh"
. "$SRCDIR/tests/authlib.sh"

PASS='redirect-pw-55e1'

start_registry plain
seed julia-x86_64 "$plain_ADDR/sagemathinc/julia-x86_64:1.10.1" || bail_out "seed failed"
stop_registry plain

# The storage server: the registry's root directory over HTTP on 127.0.0.2.
cat >"$TEST_TMP/storage.py" <<'EOF'
import functools, json, sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
root, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
class H(SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def send_head(self):
        with open(log, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path,
                                "headers": dict(self.headers.items())}) + "\n")
        return super().send_head()
ThreadingHTTPServer(("127.0.0.2", port), functools.partial(H, directory=root)).serve_forever()
EOF
SPORT=$(free_port)
spawn storage "$TEST_TMP/storage.out" $PY "$TEST_TMP/storage.py" "$plain_DIR" "$SPORT" "$TEST_TMP/storage.log"
wait_http "http://127.0.0.2:$SPORT/" || bail_out "storage server did not start on 127.0.0.2"
: >"$TEST_TMP/storage.log"

make_signing_cert "$TEST_TMP/sign" || bail_out "openssl failed"
printf 'alice:%s\n' "$PASS" >"$TEST_TMP/users"
start_tokenserver tok "$TEST_TMP/sign" "$TEST_TMP/users"
token_auth_yaml "$TEST_TMP/reg.yml" "$tok_REALM" "$TEST_TMP/sign" "$plain_DIR"
cat >>"$TEST_TMP/reg.yml" <<EOF
middleware:
  storage:
    - name: redirect
      options:
        baseurl: http://127.0.0.2:$SPORT/
EOF
start_registry reg "$TEST_TMP/reg.yml"
R=$reg_ADDR
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$R" "$(printf 'alice:%s' "$PASS" | base64 -w0)" >"$TEST_TMP/auth.json"
A=(--auth-file "$TEST_TMP/auth.json")

layer=$(counts julia-x86_64 '.layers[1].digest')
config=$(counts julia-x86_64 '.configDigest')
is "$(curl -s -o /dev/null -w '%{http_code}' "http://$R/v2/sagemathinc/julia-x86_64/blobs/$layer")" 401 \
	"the registry wants a token for blobs"

check "blob through the redirect" "$CCREG" "${A[@]}" -v blob "$R/sagemathinc/julia-x86_64@$layer" \
	-o "$TEST_TMP/layer.bin"
vlog=$ERR
is "sha256:$(sha256sum <"$TEST_TMP/layer.bin" | cut -d' ' -f1)" "$layer" "the blob hashes right"
like "$vlog" "redirected to http://127.0.0.2:$SPORT/.* \(no registry credentials sent\)" \
	"-v shows the redirect to the storage host"
is "$(count_requests "$reg_LOG" GET "/v2/sagemathinc/julia-x86_64/blobs/$layer" 307)" 1 \
	"the registry answered with a redirect"
is "$(jq -r 'select(.method == "GET") | .path' "$TEST_TMP/storage.log" | grep -c "/${layer#sha256:}/data")" 1 \
	"the storage host served the blob"

check "inspect (config blob) through the redirect" "$CCREG" "${A[@]}" inspect "$R/sagemathinc/julia-x86_64:1.10.1"
like "$OUT" "linux/amd64" "inspect read the config"
# (--no-cache: inspect has put the config in ccreg's cache)
check "config through the redirect" "$CCREG" "${A[@]}" --no-cache config "$R/sagemathinc/julia-x86_64:1.10.1"
is "sha256:$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" "$config" "config bytes verified"

is "$(grep -c . "$TEST_TMP/storage.log")" 3 "three requests reached the storage host"
is "$(jq -r '.headers | keys[] | ascii_downcase' "$TEST_TMP/storage.log" | grep -c '^authorization$')" 0 \
	"no Authorization header reached the storage host"
is "$(grep -c 'eyJ' "$TEST_TMP/storage.log")" 0 "no token reached the storage host in any form"

done_testing
