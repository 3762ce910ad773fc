#!/bin/bash
# push, copy and pull against real registries, checked with skopeo and umoci.
. "$(dirname "$0")/../lib.sh"

T=$TEST_TMP
PY=/usr/bin/python3
C=("$CCREG" -q)

start_registry reg
start_registry reg2

sha_of() { sha256sum "$1" | cut -d' ' -f1; }
raw() { skopeo inspect --raw --tls-verify=false "docker://$1"; }

# A three-platform index in reg (children seeded by skopeo, index PUT by hand).
check "seed julia-x86_64" seed julia-x86_64 "$reg_ADDR/multi/julia:amd64"
check "seed julia-arm64" seed julia-arm64 "$reg_ADDR/multi/julia:arm64"
check "seed python" seed python "$reg_ADDR/multi/julia:ppc"
$PY - "$reg_ADDR" >"$T/index.json" <<'EOF'
import hashlib, json, sys, urllib.request
addr = sys.argv[1]
def get(tag):
	req = urllib.request.Request("http://%s/v2/multi/julia/manifests/%s" % (addr, tag),
		headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
	b = urllib.request.urlopen(req).read()
	return {"mediaType": json.loads(b)["mediaType"], "digest": "sha256:" + hashlib.sha256(b).hexdigest(), "size": len(b)}
ms = []
for tag, plat in (("amd64", {"architecture": "amd64", "os": "linux"}),
		  ("arm64", {"architecture": "arm64", "os": "linux", "variant": "v8"}),
		  ("ppc", {"architecture": "ppc64le", "os": "linux"})):
	d = get(tag); d["platform"] = plat; ms.append(d)
sys.stdout.write(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": ms}, indent=3))
EOF
check "PUT the index" curl -sf -X PUT -H "Content-Type: application/vnd.oci.image.index.v1+json" \
	--data-binary "@$T/index.json" "http://$reg_ADDR/v2/multi/julia/manifests/1.10.1"
INDEX_DIGEST=sha256:$(sha_of "$T/index.json")
AMD_DIGEST=$(jq -r '.manifests[0].digest' "$T/index.json")
ARM_DIGEST=$(jq -r '.manifests[1].digest' "$T/index.json")

# ---------------------------------------------------------------- pull
check "pull the index" "${C[@]}" pull "$reg_ADDR/multi/julia:1.10.1" "oci:$T/l1:v1"
is "$OUT" "$INDEX_DIGEST" "pull prints the index digest"
is "$(jq -r '.manifests[0].digest' "$T/l1/index.json")" "$INDEX_DIGEST" "index.json points at the index"
is "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$T/l1/index.json")" v1 \
	"index.json names the entry"
is "$(jq -r .imageLayoutVersion "$T/l1/oci-layout")" 1.0.0 "oci-layout written"
bad=0
for f in "$T"/l1/blobs/sha256/*; do
	[ "sha256:$(sha_of "$f")" = "sha256:$(basename "$f")" ] || bad=$((bad + 1))
done
is "$bad" 0 "every blob in the layout hashes to its name"
is "$(find "$T/l1" -name '.*tmp*' | wc -l)" 0 "no temporary files left"
want_blobs=$(for d in $AMD_DIGEST $ARM_DIGEST $(jq -r '.manifests[2].digest' "$T/index.json"); do
	curl -s -H "Accept: application/vnd.oci.image.manifest.v1+json" \
		"http://$reg_ADDR/v2/multi/julia/manifests/$d" | jq -r '.config.digest, .layers[].digest'
done | sort -u | wc -l)
is "$(ls "$T/l1/blobs/sha256" | wc -l)" "$((want_blobs + 4))" "layout holds every blob once plus 4 manifests"

check "skopeo reads the ccreg pull" skopeo inspect --raw "oci:$T/l1:v1"
is "sha256:$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" "$INDEX_DIGEST" "skopeo sees the same index bytes"
check "skopeo copies from the ccreg pull" skopeo copy -q --all "oci:$T/l1:v1" "oci:$T/sk1:v1"

# A second image into the same layout keeps the first entry.
check "pull a second name into the layout" "${C[@]}" pull --platform linux/arm64 \
	"$reg_ADDR/multi/julia:1.10.1" "oci:$T/l1:arm"
is "$OUT" "$ARM_DIGEST" "one platform pulls just its manifest"
is "$(jq -r '[.manifests[].annotations["org.opencontainers.image.ref.name"]] | join(",")' "$T/l1/index.json")" \
	"v1,arm" "both entries are in index.json"
check "re-pull under the same name" "${C[@]}" pull "$reg_ADDR/multi/julia:1.10.1" "oci:$T/l1:v1"
is "$(jq '.manifests | length' "$T/l1/index.json")" 2 "same name replaces its entry only"

# umoci unpacks a ccreg pull
check "pull a single image" "${C[@]}" pull "$reg_ADDR/multi/julia:amd64" "oci:$T/u:img"
if command -v umoci >/dev/null; then
	check "umoci unpack succeeds on a ccreg pull" \
		umoci unpack --rootless --image "$T/u:img" "$T/bundle"
	ok "$([ -f "$T/bundle/config.json" ] && [ "$(find "$T/bundle/rootfs" -type f | wc -l)" -gt 0 ]; echo $?)" \
		"the bundle has a rootfs with files"
else
	skip "umoci unpack" "umoci not installed"
fi

# Docker schema2 images are stored with OCI media types (what layout readers accept).
check "seed a Docker schema2 image" seed julia-arm64 "$reg_ADDR/docker/julia:1" v2s2
DOCKER_DIGEST=sha256:$(curl -s -H "Accept: application/vnd.docker.distribution.manifest.v2+json" \
	"http://$reg_ADDR/v2/docker/julia/manifests/1" | sha256sum | cut -d' ' -f1)
check "pull a Docker schema2 image" "${C[@]}" pull "$reg_ADDR/docker/julia:1" "oci:$T/dk:img"
isnt "$OUT" "$DOCKER_DIGEST" "it gets a new digest"
is "$(jq -r '.manifests[0].digest' "$T/dk/index.json")" "$OUT" "index.json points at the printed digest"
is "$(jq -r '[.mediaType, .config.mediaType, (.layers[].mediaType)] | unique | join(",")' "$T/dk/blobs/sha256/${OUT#sha256:}")" \
	"application/vnd.oci.image.config.v1+json,application/vnd.oci.image.layer.v1.tar+gzip,application/vnd.oci.image.manifest.v1+json" \
	"manifest, config and layers carry OCI media types"
check "skopeo reads the converted image" skopeo inspect "oci:$T/dk:img"
is "$(jq -r .Architecture <<<"$OUT")" arm64 "and sees its config"
if command -v umoci >/dev/null; then
	check "umoci unpacks the converted image" umoci unpack --rootless --image "$T/dk:img" "$T/dkbundle"
fi
check "--keep-docker keeps the Docker manifest" "${C[@]}" pull --keep-docker "$reg_ADDR/docker/julia:1" "oci:$T/dk2:img"
is "$OUT" "$DOCKER_DIGEST" "with its digest"

# ---------------------------------------------------------------- push (OCI layout)
check "push the pulled layout" "${C[@]}" push "oci:$T/l1:v1" "$reg2_ADDR/re/julia:1"
is "$OUT" "$INDEX_DIGEST" "push prints the index digest"
check "skopeo reads what ccreg pushed" raw "$reg2_ADDR/re/julia:1"
is "sha256:$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" "$INDEX_DIGEST" "pushed index byte-identical"
check "skopeo copies every platform of what ccreg pushed" \
	skopeo copy -q --all --src-tls-verify=false "docker://$reg2_ADDR/re/julia:1" "oci:$T/sk2:v1"
check "pull it back" "${C[@]}" pull "$reg2_ADDR/re/julia:1" "oci:$T/l2:v1"
check "pull → push → pull gives byte-identical layouts" diff -r "$T/l1" "$T/l2" -x index.json
check "index.json differs only in the extra entry" \
	diff <(jq -c '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="v1")' "$T/l1/index.json") \
	<(jq -c '.manifests[]' "$T/l2/index.json")
check "single-name layouts are identical as a whole" "${C[@]}" pull "$reg2_ADDR/re/julia:1" "oci:$T/l3:v1"
check "pull → push → pull, whole tree" diff -r "$T/l2" "$T/l3"

log_clear reg2
check "push again" "${C[@]}" push "oci:$T/l1:v1" "$reg2_ADDR/re/julia:2"
is "$(count_requests "$reg2_LOG" PUT '/v2/re/julia/blobs/uploads/.*')" 0 "blobs already there are not uploaded"
is "$(count_requests "$reg2_LOG" HEAD '/v2/re/julia/blobs/sha256:.*')" "$want_blobs" "one HEAD per distinct blob"

log_clear reg2
check "push with --mount-from" "${C[@]}" push --mount-from re/julia "oci:$T/l1:v1" "$reg2_ADDR/other/julia:1"
is "$(count_requests "$reg2_LOG" POST '/v2/other/julia/blobs/uploads/\?mount=.*' 201)" "$want_blobs" \
	"every blob mounted"
is "$(count_requests "$reg2_LOG" PUT '/v2/other/julia/blobs/uploads/.*')" 0 "no blob uploaded"

# ccreg pushes what skopeo wrote (oci: and docker-archive:)
check "skopeo writes an OCI layout" skopeo copy -q --src-tls-verify=false \
	"docker://$reg_ADDR/multi/julia:arm64" "oci:$T/sko:julia"
check "ccreg pushes skopeo's layout" "${C[@]}" push "oci:$T/sko:julia" "$reg2_ADDR/from/skopeo:oci"
is "$OUT" "$(jq -r '.manifests[0].digest' "$T/sko/index.json")" "digest of skopeo's layout entry"
check "skopeo reads it back" skopeo inspect --tls-verify=false "docker://$reg2_ADDR/from/skopeo:oci"
is "$(jq -r .Architecture <<<"$OUT")" arm64 "the pushed image is the arm64 one"

check "skopeo writes a docker-archive" skopeo copy -q --src-tls-verify=false \
	"docker://$reg_ADDR/multi/julia:amd64" "docker-archive:$T/sko.tar:julia:1"
check "ccreg pushes skopeo's docker-archive" "${C[@]}" push "docker-archive:$T/sko.tar" \
	"$reg2_ADDR/from/skopeo:archive"
check "skopeo reads the archive push" raw "$reg2_ADDR/from/skopeo:archive"
is "$(jq -r .mediaType <<<"$OUT")" application/vnd.docker.distribution.manifest.v2+json "pushed as Docker schema2"
src_diff=$(skopeo inspect --tls-verify=false --config "docker://$reg_ADDR/multi/julia:amd64" | jq -c .rootfs.diff_ids)
dst_diff=$(skopeo inspect --tls-verify=false --config "docker://$reg2_ADDR/from/skopeo:archive" | jq -c .rootfs.diff_ids)
is "$dst_diff" "$src_diff" "same layer contents (diff_ids) as the source"

# ---------------------------------------------------------------- push (docker save format)
check "mkdockerarchive.py" $PY "$SRCDIR/tests/fixtures/mkdockerarchive.py" "$T/da.tar" --mixed
GEN=$OUT
check "mkdockerarchive.py is deterministic" $PY "$SRCDIR/tests/fixtures/mkdockerarchive.py" "$T/da2.tar" --mixed
is "$(sha_of "$T/da2.tar")" "$(sha_of "$T/da.tar")" "same bytes twice"
log_clear reg2
check "push a docker save archive" "${C[@]}" push "docker-archive:$T/da.tar" "$reg2_ADDR/da/img:1"
DA_DIGEST=$OUT
is "$(count_requests "$reg2_LOG" PUT '/v2/da/img/blobs/uploads/.*' 201)" 3 \
	"two distinct layers and the config uploaded once each (a symlinked duplicate is not re-sent)"
check "skopeo pulls it" skopeo copy -q --src-tls-verify=false "docker://$reg2_ADDR/da/img:1" "oci:$T/daout:x"
check "read the pushed manifest" raw "$reg2_ADDR/da/img:1"
is "sha256:$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" "$DA_DIGEST" "push printed the served digest"
is "$(jq -r .config.digest <<<"$OUT")" "$(jq -r .config <<<"$GEN")" "config pushed byte for byte"
is "$(jq -r '.layers | length' <<<"$OUT")" 3 "three layers, the repeated one included"
mdig=$(jq -r '.manifests[0].digest' "$T/daout/index.json")
cfg=$(jq -r .config.digest "$T/daout/blobs/sha256/${mdig#sha256:}")
is "$(jq -c .rootfs.diff_ids "$T/daout/blobs/sha256/${cfg#sha256:}")" "$(jq -c .diffIds <<<"$GEN")" \
	"skopeo sees the config's diff_ids"
n=0 good=0
for l in $(jq -r '.layers[].digest' "$T/daout/blobs/sha256/${mdig#sha256:}"); do
	want=$(jq -r ".diffIds[$n]" <<<"$GEN")
	[ "sha256:$(gzip -dc "$T/daout/blobs/sha256/${l#sha256:}" | sha256sum | cut -d' ' -f1)" = "$want" ] &&
		good=$((good + 1))
	n=$((n + 1))
done
is "$good/$n" "3/3" "every pulled layer decompresses to its diff_id"
check "push the archive again gives the same digest" "${C[@]}" push "docker-archive:$T/da.tar:test/dockerarchive:1.0" \
	"$reg2_ADDR/da/img:2"
is "$OUT" "$DA_DIGEST" "reproducible gzip"
check_exit 2 "an unknown archive tag is a usage error" "${C[@]}" push "docker-archive:$T/da.tar:nope:1" "$reg2_ADDR/da/img:3"

# A corrupt layer (diff_id mismatch) fails and tags nothing.
$PY - "$T/da.tar" "$T/bad.tar" <<'EOF'
import sys, tarfile, io
src, dst = sys.argv[1:3]
with tarfile.open(src) as s, tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as d:
	for m in s.getmembers():
		f = s.extractfile(m) if m.isfile() else None
		data = f.read() if f else None
		if m.name.endswith("layer.tar") and m.isfile() and data[:2] != b"\x1f\x8b":
			data = data[:-1] + bytes([data[-1] ^ 1])
		d.addfile(m, io.BytesIO(data) if data is not None else None)
EOF
check_exit 3 "a layer not matching its diff_id fails with 3" "${C[@]}" push "docker-archive:$T/bad.tar" "$reg2_ADDR/da/bad:1"
like "$ERR" "digest mismatch" "the error says digest mismatch"
run curl -s -o /dev/null -w '%{http_code}' -H "Accept: application/vnd.docker.distribution.manifest.v2+json" \
	"http://$reg2_ADDR/v2/da/bad/manifests/1"
is "$OUT" 404 "nothing was tagged"

# ---------------------------------------------------------------- copy
log_clear reg2
check "copy between registries" "${C[@]}" copy "$reg_ADDR/multi/julia:1.10.1" "$reg2_ADDR/copy/julia:1"
is "$OUT" "$INDEX_DIGEST" "copy keeps the index digest"
check "the index arrived" raw "$reg2_ADDR/copy/julia:1"
is "sha256:$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" "$INDEX_DIGEST" "index bytes identical"
for d in $(jq -r '.manifests[].digest' "$T/index.json"); do
	run curl -sf -H "Accept: application/vnd.oci.image.manifest.v1+json" "http://$reg2_ADDR/v2/copy/julia/manifests/$d"
	is "sha256:$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" "$d" "child $d copied by digest, bytes identical"
done

check "copy one platform" "${C[@]}" copy --platform linux/arm64 "$reg_ADDR/multi/julia:1.10.1" "$reg2_ADDR/copy/one:1"
is "$OUT" "$ARM_DIGEST" "one platform: that image's manifest"
check "copy two of three platforms" "${C[@]}" copy --platform linux/amd64 --platform linux/arm64 \
	"$reg_ADDR/multi/julia:1.10.1" "$reg2_ADDR/copy/two:1"
TWO=$OUT
isnt "$TWO" "$INDEX_DIGEST" "a subset makes a new index"
check "the new index is served" raw "$reg2_ADDR/copy/two:1"
is "$(jq -r '[.manifests[].digest] | join(" ")' <<<"$OUT")" "$AMD_DIGEST $ARM_DIGEST" "it holds just the two"
is "sha256:$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" "$TWO" "printed digest is the served index's"
check_exit 3 "a platform the index lacks fails" "${C[@]}" copy --platform linux/s390x \
	"$reg_ADDR/multi/julia:1.10.1" "$reg2_ADDR/copy/none:1"

log_clear reg
check "copy within one registry" "${C[@]}" copy "$reg_ADDR/multi/julia:1.10.1" "$reg_ADDR/mounted/julia:1"
is "$OUT" "$INDEX_DIGEST" "digest preserved"
is "$(count_requests "$reg_LOG" POST '/v2/mounted/julia/blobs/uploads/\?mount=.*' 201)" "$want_blobs" \
	"access log shows a mount per blob"
is "$(count_requests "$reg_LOG" PUT '/v2/mounted/julia/blobs/uploads/.*')" 0 "no blob upload PUT"
is "$(count_requests "$reg_LOG" PATCH '/v2/mounted/julia/blobs/uploads/.*')" 0 "no blob upload PATCH"
is "$(count_requests "$reg_LOG" GET '/v2/multi/julia/blobs/.*')" 0 "no blob downloaded"

# Two far registries (hubproxy: each answer 400 ms late): the destination's
# first contact (scheme probe, a connection) runs while the source is read,
# so its first answer comes with the source's manifest (within half a round
# trip: valgrind runs the two threads' TLS probes one after the other), not
# a round trip or more after it.
hub_start farsrc "$reg_ADDR" --rtt-ms 400
hub_start fardst "$reg2_ADDR" --rtt-ms 400
check "copy between two far registries" "${C[@]}" copy "$farsrc_HUB/multi/julia:1.10.1" \
	"$fardst_HUB/far/julia:1"
is "$OUT" "$INDEX_DIGEST" "  digest preserved"
src_t=$(jq -r 'select(.server == "registry" and (.path | endswith("/manifests/1.10.1"))) | .t' \
	"$farsrc_HLOG" | head -1)
dst_t=$(jq -r 'select(.server == "registry") | .t' "$fardst_HLOG" | head -1)
ok "$(awk -v a="$src_t" -v b="$dst_t" 'BEGIN { exit !(b - a < 0.2) }'; echo $?)" \
	"  the destination's first answer ($dst_t) came with the source's manifest ($src_t)"
stop farsrc
stop fardst

# ---------------------------------------------------------------- chunked fallback
# nginx refusing bodies over 1 MiB (its default) in front of reg2: the
# monolithic PUT gets 413, then chunks of 64 and 8 MiB do, 1 MiB ones pass.
. "$SRCDIR/tests/authlib.sh"
N=$T/nginx
mkdir -p "$N"
NPORT=$(free_port)
cat >"$N/nginx.conf" <<EOF
pid $N/nginx.pid;
error_log $N/error.log;
events { worker_connections 64; }
http {
	access_log $N/access.log;
	client_body_temp_path $N/body;
	proxy_temp_path $N/proxy;
	client_max_body_size 1m;
	server {
		listen 127.0.0.1:$NPORT;
		location / {
			proxy_pass http://$reg2_ADDR;
			proxy_set_header Host \$http_host;
			proxy_request_buffering off;
			proxy_http_version 1.1;
		}
	}
}
EOF
start_nginx nginx "$N/nginx.conf"
if wait_http "http://127.0.0.1:$NPORT/v2/"; then
	check "make a 3 MB image" $PY "$SRCDIR/tests/fixtures/mkbiglayout.py" "$T/mid" mid --layers 1 \
		--size $((3 << 20)) --seed 7
	log_clear reg2
	check "push through a proxy refusing bodies over 1 MiB" "$CCREG" -v push "oci:$T/mid:mid" \
		"127.0.0.1:$NPORT/chunked/img:1"
	like "$ERR" "uploading in chunks of 1048576 bytes" "it fell back to 1 MiB chunks"
	ok "$([ "$(count_requests "$reg2_LOG" PATCH '/v2/chunked/img/blobs/uploads/.*' 202)" -ge 3 ]; echo $?)" \
		"the registry got the layer as PATCHes"
	check "skopeo reads the chunked push" skopeo inspect --raw --tls-verify=false \
		"docker://$reg2_ADDR/chunked/img:1"
	is "sha256:$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" \
		"$(jq -r '.manifests[0].digest' "$T/mid/index.json")" "same manifest digest"
else
	skip "chunked fallback" "nginx did not start"
fi
stop nginx

# ---------------------------------------------------------------- interrupted pull
check "make a 128 MB image" $PY "$SRCDIR/tests/fixtures/mkbiglayout.py" "$T/big" big --layers 1 --size $((128 << 20))
BIG=$(jq -r '.layers[0].digest' "$T/big/blobs/sha256/$(jq -r '.manifests[0].digest' "$T/big/index.json" | cut -d: -f2)")
check "push it" "${C[@]}" push "oci:$T/big:big" "$reg_ADDR/big/img:1"
rm -rf "$T/bigpull"
"$CCREG" -q pull "$reg_ADDR/big/img:1" "oci:$T/bigpull:big" >"$T/pull.out" 2>"$T/pull.err" &
pull_pid=$!
seen=0
for ((i = 0; i < 1000; i++)); do
	tmp=$(find "$T/bigpull/blobs/sha256" -name ".${BIG#sha256:}.tmp.*" -size +4M 2>/dev/null | head -1)
	if [ -n "$tmp" ]; then
		seen=1
		break
	fi
	_alive "$pull_pid" || break
	sleep 0.01
done
stop_registry reg
ok "$((1 - seen))" "the registry was stopped mid-transfer (a partial temp file existed)"
wait "$pull_pid"
is "$?" 3 "the interrupted pull exits 3"
diag "$(cat "$T/pull.err")"
ok "$([ ! -e "$T/bigpull/blobs/sha256/${BIG#sha256:}" ]; echo $?)" "no blob under its final name"
is "$(find "$T/bigpull" -name '.*tmp*' | wc -l)" 0 "the partial temp file was removed"
ok "$([ ! -e "$T/bigpull/index.json" ]; echo $?)" "index.json was not written"

# usage
check_exit 2 "push needs oci: or docker-archive:" "${C[@]}" push "$T/l1" "$reg2_ADDR/x/y:1"
check_exit 2 "pull needs oci:" "${C[@]}" pull "$reg2_ADDR/re/julia:1" "$T/zz"
check_exit 2 "a missing layout is a usage error" "${C[@]}" push "oci:$T/nope" "$reg2_ADDR/x/y:1"
check_exit 2 "a layout with two entries needs a name" "${C[@]}" push "oci:$T/l1" "$reg2_ADDR/x/y:1"
like "$ERR" "name one as oci:DIR:NAME" "and says so"

done_testing
