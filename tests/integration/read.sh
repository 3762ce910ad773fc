#!/bin/bash
# Read commands against a real registry, checked against skopeo, plus the
# foundation's bad-input cases.
. "$(dirname "$0")/../lib.sh"

start_registry reg
R=$reg_ADDR
check "seed OCI image" seed julia-x86_64 "$R/demo/julia-x86_64:1.10.1"
check "seed Docker schema2 image" seed julia-arm64 "$R/demo/julia-arm64:1.10.1" v2s2
check "seed zstd image" seed zstdimg "$R/demo/zstdimg:1.0"

for img in julia-x86_64:1.10.1 julia-arm64:1.10.1 zstdimg:1.0; do
	ref=$R/demo/$img
	skopeo inspect --raw --tls-verify=false "docker://$ref" >"$TEST_TMP/skopeo.raw"
	"$CCREG" manifest "$ref" >"$TEST_TMP/ccreg.raw"
	ok $? "manifest $img exits 0"
	check "manifest $img: bytes equal skopeo inspect --raw" cmp "$TEST_TMP/skopeo.raw" "$TEST_TMP/ccreg.raw"
	want=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$ref")
	check "digest $img" "$CCREG" digest "$ref"
	is "$OUT" "$want" "digest $img equals skopeo's"
	check "digest by digest reference" "$CCREG" digest "$ref@$want"
	is "$OUT" "$want" "digest of $img@digest is that digest"
	skopeo inspect --config --raw --tls-verify=false "docker://$ref" >"$TEST_TMP/skopeo.cfg"
	"$CCREG" config "$ref" >"$TEST_TMP/ccreg.cfg"
	check "config $img: bytes equal skopeo's" cmp "$TEST_TMP/skopeo.cfg" "$TEST_TMP/ccreg.cfg"
done

check "inspect --json" "$CCREG" inspect --json "$R/demo/julia-arm64:1.10.1"
is "$(jq -r '.platforms[0].platform' <<<"$OUT")" "linux/arm64/v8" "inspect reads the platform (with variant) from the config"
is "$(jq -r '.platforms[0].layers' <<<"$OUT")" 2 "inspect counts layers"
size=$(skopeo inspect --raw --tls-verify=false "docker://$R/demo/julia-arm64:1.10.1" |
	jq '[.layers[].size] | add + 0' )
cfgsize=$(skopeo inspect --raw --tls-verify=false "docker://$R/demo/julia-arm64:1.10.1" | jq .config.size)
is "$(jq -r '.platforms[0].compressedBytes' <<<"$OUT")" "$((size + cfgsize))" "compressed size is config + layers"
check "inspect table" "$CCREG" inspect "$R/demo/julia-x86_64:1.10.1"
like "$OUT" "linux/amd64" "table names the platform"

# Blob: output hashes to its digest, -o writes only a verified file.
layer=$(skopeo inspect --raw --tls-verify=false "docker://$R/demo/julia-x86_64:1.10.1" | jq -r '.layers[1].digest')
"$CCREG" blob "$R/demo/julia-x86_64@$layer" >"$TEST_TMP/blob"
ok $? "blob to stdout"
is "sha256:$(sha256sum <"$TEST_TMP/blob" | cut -d' ' -f1)" "$layer" "blob bytes hash to the digest"
check "blob -o FILE" "$CCREG" blob "$R/demo/julia-x86_64@$layer" -o "$TEST_TMP/blob2"
check "blob -o content equal" cmp "$TEST_TMP/blob" "$TEST_TMP/blob2"

# Tags across pages: 130 more tags on the zstd image's repository, pages of 100.
m=$(cat "$TEST_TMP/skopeo.raw")
mt=$(jq -r .mediaType <<<"$m")
for i in $(seq 1 130); do
	curl -sf -X PUT -H "Content-Type: $mt" --data-binary @"$TEST_TMP/skopeo.raw" \
		"http://$R/v2/demo/zstdimg/manifests/t$i" >/dev/null || break
done
log_clear reg
check "tags lists every page" "$CCREG" tags "$R/demo/zstdimg"
is "$(wc -l <<<"$OUT")" 131 "all 131 tags returned"
is "$(sort <<<"$OUT" | uniq | wc -l)" 131 "no duplicates across pages"
check "tags --json" "$CCREG" tags --json "$R/demo/zstdimg"
is "$(jq '.tags | length' <<<"$OUT")" 131 "JSON tag list complete"

# Bad input.
check_exit 2 "invalid reference: exit 2" "$CCREG" manifest "$R/Demo/UPPER:1"
like "$ERR" "^ccreg: invalid reference .*lowercase" "error names what is wrong"
check_exit 2 "tag too long: exit 2" "$CCREG" digest "$R/demo/x:$(printf 'a%.0s' $(seq 1 129))"
check_exit 3 "missing tag: exit 3" "$CCREG" manifest "$R/demo/julia-x86_64:9.9.9"
like "$ERR" "^ccreg: demo/julia-x86_64:9.9.9: manifest unknown on $R" "missing tag message names reference and host"
is "$(wc -l <<<"$ERR")" 1 "one-line error"
closed_port
port=$CLOSED_PORT
start=$(date +%s)
check_exit 3 "unreachable registry: exit 3" "$CCREG" manifest "127.0.0.1:$port/demo/x:1"
like "$ERR" "cannot reach 127.0.0.1:$port" "unreachable message names the host"
is "$(( $(date +%s) - start < 30 ))" 1 "unreachable registry fails without hanging"
check_exit 2 "unknown command: exit 2" "$CCREG" frobnicate
like "$ERR" "unknown command 'frobnicate'" "unknown command named"
check_exit 2 "unknown flag: exit 2" "$CCREG" manifest --frobnicate "$R/demo/x:1"
check_exit 2 "missing argument: exit 2" "$CCREG" manifest

# A corrupted manifest in the registry's own storage: bytes no longer match.
dg=$("$CCREG" digest "$R/demo/zstdimg:1.0")
f=$reg_DIR/docker/registry/v2/blobs/sha256/${dg:7:2}/${dg:7}/data
sed -i 's/"schemaVersion": *2/"schemaVersion":2 /' "$f"
# (--no-cache: the good bytes are in ccreg's manifest cache since `digest`)
check_exit 3 "manifest bytes not matching the digest: exit 3" "$CCREG" --no-cache manifest "$R/demo/zstdimg@$dg"
like "$ERR" "digest mismatch" "digest mismatch reported"

# A hostile server: bodies that are not JSON, truncated, or lie about their digest.
spawn bad "$TEST_TMP/bad.log" /usr/bin/python3 "$SRCDIR/tests/badserver.py" "$TEST_TMP/bad.port"
for i in $(seq 50); do [ -s "$TEST_TMP/bad.port" ] && break; sleep 0.1; done
B=127.0.0.1:$(cat "$TEST_TMP/bad.port")
check_exit 3 "manifest body that is not JSON: exit 3" "$CCREG" inspect "$B/bad/notjson:1"
like "$ERR" "not valid JSON" "not-JSON body reported"
check_exit 3 "Docker-Content-Digest mismatch: exit 3" "$CCREG" manifest "$B/bad/mismatch:1"
like "$ERR" "digest mismatch" "mismatch with Docker-Content-Digest reported"
check_exit 3 "truncated body: exit 3" "$CCREG" manifest "$B/bad/truncated:1"
like "$ERR" "$B" "truncated-body error names the host"
check "tags follows Link pagination" "$CCREG" tags "$B/paged"
is "$(wc -l <<<"$OUT")" 250 "250 tags over three pages"
is "$(sort -u <<<"$OUT" | wc -l)" 250 "no tag twice"

done_testing
