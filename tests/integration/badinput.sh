#!/bin/bash
# Bad input, end to end: each case the README's "Bad input" table lists that
# no other integration test shows at the command line.  Each asserts the
# exit code and the one-line message.  A real registry holds crafted images
# (a layer that is not a tar, one that is not gzip, a config that is not
# JSON, a deleted layer); a small hostile server (loopback) sends what a
# registry would not: a malformed WWW-Authenticate, a 5 MiB manifest, a
# "manifest" that is JSON but not a manifest.
. "$(dirname "$0")/../lib.sh"

start_registry reg
R=$reg_ADDR
api=http://$R/v2

# one_line NAME: ERR is exactly one "ccreg: ..." line
one_line()
{
	like "$ERR" '^ccreg: [^'$'\n'']+$' "$1: one line, 'ccreg: ...'"
	diag "exit $RC: $ERR"
}

# ---------------------------------------------------------------- crafted images

# put_blob REPO FILE: monolithic upload; prints the digest
put_blob()
{
	local repo=$1 file=$2 dg loc
	dg=sha256:$(sha256sum <"$file" | cut -d' ' -f1)
	loc=$(curl -s -o /dev/null -D - -X POST "$api/$repo/blobs/uploads/" | tr -d '\r' |
		awk -F': ' 'tolower($1) == "location" {print $2}')
	case $loc in http*) ;; *) loc=http://$R$loc ;; esac
	curl -sf -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' \
		--data-binary "@$file" "$loc&digest=$dg" || return 1
	echo "$dg"
}
# put_image REPO TAG CONFIG_FILE LAYER_FILE LAYER_MEDIATYPE
put_image()
{
	local repo=$1 tag=$2 cfg lay m
	cfg=$(put_blob "$repo" "$3") && lay=$(put_blob "$repo" "$4") || return 1
	m=$(jq -cn --arg c "$cfg" --argjson cs "$(stat -c %s "$3")" --arg l "$lay" \
		--argjson ls "$(stat -c %s "$4")" --arg lm "$5" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		  config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
		  layers: [{mediaType: $lm, digest: $l, size: $ls}]}')
	curl -sf -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary "$m" "$api/$repo/manifests/$tag"
}
# config_for FILE_UNCOMPRESSED: an amd64 config whose diff_id is that file's digest
config_for()
{
	jq -cn --arg d "sha256:$(sha256sum <"$1" | cut -d' ' -f1)" \
		'{architecture: "amd64", os: "linux", rootfs: {type: "layers", diff_ids: [$d]}, config: {}}'
}

T=$TEST_TMP
yes 'this is not a tar archive' | head -c 20000 >"$T/notar"
gzip -n -c "$T/notar" >"$T/notar.gz"
config_for "$T/notar" >"$T/notar.cfg"
check "crafted: a gzip layer whose content is not a tar" \
	put_image bad/notar 1 "$T/notar.cfg" "$T/notar.gz" application/vnd.oci.image.layer.v1.tar+gzip
check "crafted: a +gzip layer that is not gzip" \
	put_image bad/notgzip 1 "$T/notar.cfg" "$T/notar" application/vnd.oci.image.layer.v1.tar+gzip
printf 'architecture: amd64 (this is YAML, not JSON)\n' >"$T/cfg.yaml"
check "crafted: a config that is not JSON" \
	put_image bad/config 1 "$T/cfg.yaml" "$T/notar.gz" application/vnd.oci.image.layer.v1.tar+gzip
check "seed julia-x86_64" seed julia-x86_64 "$R/bad/noblob:1"
layer=$(counts julia-x86_64 '.layers[-1].digest')
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$api/bad/noblob/blobs/$layer")
is "$code" 202 "crafted: a layer of bad/noblob:1 deleted"

# ---------------------------------------------------------------- hostile server

cat >"$T/hostile.py" <<'EOF'
import hashlib, json, sys, http.server
def dg(b): return "sha256:" + hashlib.sha256(b).hexdigest()
CFG = dg(b"{}")
BIG = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": CFG, "size": 2},
    "layers": [], "annotations": {"pad": "x" * (5 << 20)}}).encode()
NOTMANIFEST = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":"none"}'
V1 = b'{"schemaVersion":1,"name":"old/img","tag":"1","fsLayers":[],"history":[],"signatures":[]}'
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def send(self, code, body, hdrs=()):
        self.send_response(code)
        for k, v in hdrs: self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(body)
            except OSError:
                pass
    def do_GET(self):
        p = self.path
        mt = [("Content-Type", "application/vnd.oci.image.manifest.v1+json")]
        if p == "/v2/": return self.send(200, b"{}")
        if p.startswith("/v2/authbad/"):
            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                             [("WWW-Authenticate", 'Bearer realm="http://127.0.0.1:1/token,service=')])
        if p.startswith("/v2/basic/"):
            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                             [("WWW-Authenticate", 'Basic realm="hostile"')])
        if p == "/v2/big/img/manifests/1": return self.send(200, BIG, mt)
        if p == "/v2/weird/img/manifests/1": return self.send(200, NOTMANIFEST, mt)
        if p == "/v2/old/img/manifests/1":
            return self.send(200, V1, [("Content-Type", "application/vnd.docker.distribution.manifest.v1+prettyjws")])
        self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')
    do_HEAD = do_GET
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f: f.write(str(srv.server_address[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
srv.serve_forever()
EOF
spawn hostile "$T/hostile.out" "$PY" "$T/hostile.py" "$T/hostile.port"
for ((i = 0; i < 100; i++)); do [ -s "$T/hostile.port" ] && break; sleep 0.05; done
H=127.0.0.1:$(cat "$T/hostile.port")

# ---------------------------------------------------------------- cases

check_exit 2 "malformed reference: exit 2" "$CCREG" manifest 'Foo//bar:tag'
one_line "malformed reference"
like "$ERR" 'invalid reference "Foo//bar:tag"' "  names the reference"

printf '{\n  "julia": { "package": "a/julia",\n' >"$T/truncated.json"
check_exit 2 "malformed catalog (cut short): exit 2" "$CCREG" -C "$T/truncated.json" catalog list
one_line "malformed catalog"
like "$ERR" "truncated.json:[0-9]+:[0-9]+: " "  names file, line and column"

check_exit 3 "JSON that is not a manifest: exit 3" "$CCREG" inspect "$H/weird/img:1"
one_line "not a manifest"
check_exit 3 "schema 1 manifest: exit 3" "$CCREG" inspect "$H/old/img:1"
one_line "schema 1 manifest"

check_exit 3 "config that is not JSON: exit 3" "$CCREG" inspect "$R/bad/config:1"
one_line "config not JSON"
like "$ERR" "JSON" "  says it is not JSON"

echo '{"auths": {' >"$T/auth.json"
check_exit 2 "malformed auth file: exit 2" "$CCREG" --auth-file "$T/auth.json" manifest "$H/basic/x:1"
one_line "malformed auth file"
like "$ERR" "auth.json" "  names the file"

check_exit 4 "malformed WWW-Authenticate: exit 4" "$CCREG" manifest "$H/authbad/x:1"
one_line "malformed WWW-Authenticate"
like "$ERR" "malformed WWW-Authenticate" "  says so"

check_exit 3 "a layer that is not a tar: exit 3" "$CCREG" -q audit --no-cache "$R/bad/notar:1"
one_line "not a tar"
check_exit 3 "a +gzip layer that is not gzip: exit 3" "$CCREG" -q audit --no-cache "$R/bad/notgzip:1"
one_line "not gzip"

start=$(date +%s)
check_exit 3 "a 5 MiB manifest: exit 3" "$CCREG" inspect "$H/big/img:1"
one_line "oversized JSON"
like "$ERR" "larger than 4 MiB" "  names the limit"

check_exit 3 "pull of an image missing a layer: exit 3" "$CCREG" pull "$R/bad/noblob:1" "oci:$T/noblob:1"
one_line "missing blob"
like "$ERR" "${layer#sha256:}" "  names the blob"
ok "$([ ! -e "$T/noblob/index.json" ] || ! grep -q '"1"' "$T/noblob/index.json"; echo $?)" \
	"  the layout does not name the incomplete image"
check_exit 3 "blob that does not exist: exit 3" "$CCREG" blob "$R/bad/noblob@$layer" -o "$T/blob"
one_line "missing blob (blob)"
ok "$([ ! -e "$T/blob" ]; echo $?)" "  no output file written"

check "seed julia-x86_64 again" seed julia-x86_64 "$R/good/x:1"
check "seed julia-arm64" seed julia-arm64 "$R/good/arm:1"
check "an index of both" "$CCREG" -q assemble --to "$R/good/multi:1" "$R/good/x:1" "$R/good/arm:1"
check_exit 3 "pull --platform the index lacks: exit 3" "$CCREG" pull --platform linux/s390x \
	"$R/good/multi:1" "oci:$T/plat:1"
one_line "wrong platform"

closed_port
DEAD=127.0.0.1:$CLOSED_PORT
check_exit 3 "unreachable host: exit 3" "$CCREG" push "oci:$FIXTURES/python:$(fixture_tag python)" \
	"$DEAD/x/y:1"
one_line "unreachable host"
like "$ERR" "cannot reach $DEAD" "  names the host"

printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$H" "$(printf 'bob:wrong' | base64)" >"$T/wrong.json"
check_exit 4 "credentials refused: exit 4" "$CCREG" --auth-file "$T/wrong.json" manifest "$H/basic/x:1"
one_line "auth refused"
like "$ERR" "authentication required on $H" "  names the host"

# last: corrupt a layer in the registry's own storage (same length)
victim=$(counts julia-x86_64 '.layers[0].digest')
data=$reg_DIR/docker/registry/v2/blobs/sha256/${victim:7:2}/${victim:7}/data
size=$(stat -c %s "$data")
printf '\x00\x00\x00\x00' | dd of="$data" bs=1 seek=$((size / 2)) conv=notrunc status=none
check_exit 3 "a blob whose bytes do not match its digest: exit 3" "$CCREG" blob "$R/good/x@$victim" \
	-o "$T/corrupt"
one_line "digest mismatch"
like "$ERR" "digest mismatch" "  says digest mismatch"
ok "$([ ! -e "$T/corrupt" ]; echo $?)" "  no output file written"
check_exit 3 "pull of that image: exit 3" "$CCREG" pull "$R/good/x:1" "oci:$T/corrupt-pull:1"
one_line "digest mismatch (pull)"
ok "$([ ! -e "$T/corrupt-pull/blobs/sha256/${victim:7}" ]; echo $?)" "  the corrupt blob is not in the layout"

done_testing
