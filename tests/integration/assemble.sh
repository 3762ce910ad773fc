#!/bin/bash
# ccreg assemble against real registries: catalog and explicit modes, Docker
# and OCI children, a buildx-style index source with an attestation, a source
# on a second registry, idempotence, --dry-run, refused inputs leaving the
# tag alone, peers (skopeo, podman) reading and pulling the result, and -v's
# request count and depth.
. "$(dirname "$0")/../lib.sh"

start_registry reg
start_registry reg2
A=$reg_ADDR
B=$reg2_ADDR

# digest_of REF: what the tag points to now (empty when absent).
digest_of()
{
	skopeo inspect --raw --tls-verify=false "docker://$1" 2>/dev/null |
		sha256sum | awk '{print "sha256:" $1}' | grep -v e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
}
puts()
{
	count_requests "$1" PUT '.*'
}
raw()
{
	skopeo inspect --raw --tls-verify=false "docker://$1"
}

# ---------------------------------------------------------------- catalog mode

cat >"$TEST_TMP/images.json" <<'JSON'
{
  "defaults": { "system": true },
  "julia": { "label": "Julia", "package": "cat/julia",
             "versions": [ { "tag": "1.10.1", "tested": true } ] },
  "bad": { "package": "cat/bad", "versions": [ { "tag": "1.0" } ] },
  "gone": { "package": "cat/gone", "versions": [ { "tag": "1.0" } ] },
  "built": { "package": "cat/built", "versions": [ { "tag": "2.0" } ] },
  "python": { "package": "cat/python", "arch": "x86_64",
              "versions": [ { "tag": "3.11" } ] }
}
JSON
cc=("$CCREG" -C "$TEST_TMP/images.json" --registry "$A")

check "seed julia-x86_64 (v2s2)" seed julia-x86_64 "$A/cat/julia-x86_64:1.10.1" v2s2
check "seed julia-arm64 (v2s2)" seed julia-arm64 "$A/cat/julia-arm64:1.10.1" v2s2
log_clear reg
check "catalog mode: assemble julia:1.10.1" "${cc[@]}" assemble julia:1.10.1
digest=$OUT
like "$ERR" "blobs: 0 present, 5 mounted, 0 copied" "the blob step's progress events are counted"
like "$digest" '^sha256:[0-9a-f]{64}$' "stdout is the index digest"
raw "$A/cat/julia:1.10.1" >"$TEST_TMP/skopeo.raw"
is "$(sha256sum <"$TEST_TMP/skopeo.raw" | awk '{print "sha256:" $1}')" "$digest" \
	"skopeo inspect --raw: the tag holds exactly the printed digest's bytes"
"$CCREG" manifest "$A/cat/julia:1.10.1" >"$TEST_TMP/ccreg.raw"
check "skopeo's bytes equal ccreg manifest's" cmp "$TEST_TMP/skopeo.raw" "$TEST_TMP/ccreg.raw"
idx=$(cat "$TEST_TMP/skopeo.raw")
is "$(jq -r .mediaType <<<"$idx")" application/vnd.docker.distribution.manifest.list.v2+json \
	"Docker schema2 children give a Docker manifest list"
is "$(jq -r '[.manifests[].platform | [.os, .architecture, .variant // ""] | join("/")] | join(" ")' <<<"$idx")" \
	"linux/amd64/ linux/arm64/v8" "platforms from the configs, arm64 with variant v8"
is "$(jq -r '.manifests[0].digest' <<<"$idx")" "$(skopeo inspect --raw --tls-verify=false \
	"docker://$A/cat/julia-x86_64:1.10.1" | sha256sum | awk '{print "sha256:" $1}')" \
	"amd64 child is the x86_64 source manifest, byte for byte"
is "$(count_requests "$reg_LOG" POST '/v2/cat/julia/blobs/uploads/\?mount=.*' 201)" 5 \
	"5 distinct blobs (2 configs, 2 arch layers, the shared base once) mounted"
is "$(count_requests "$reg_LOG" PUT '/v2/cat/julia/blobs/uploads/.*')" 0 "same registry: no blob upload"
is "$(count_requests "$reg_LOG" PUT '/v2/cat/julia/manifests/sha256:.*' 201)" 2 "both children PUT by digest"
is "$(count_requests "$reg_LOG" PUT '/v2/cat/julia/manifests/1\.10\.1' 201)" 1 "index PUT once to the tag"

# -v ends with what the run cost: the requests the registry saw, and how
# many came one after another (the plan's depth, not its size: sources,
# blobs and children each at once)
log_clear reg
check "assemble -v to a new tag" "$CCREG" -v assemble --to "$A/cat/depth:1" \
	"$A/cat/julia-x86_64:1.10.1" "$A/cat/julia-arm64:1.10.1"
summary=$(tail -1 <<<"$ERR")
like "$summary" '^[0-9]+ requests \([0-9]+ one after another\), [0-9]+ connections opened$' \
	"-v: the last line counts requests, depth and connections"
n=$(sed 's/ requests.*//' <<<"$summary")
depth=$(sed 's/.*(\([0-9]*\) one.*/\1/' <<<"$summary")
is "$n" "$(($(count_requests "$reg_LOG" '.*' '.*') + 1))" \
	"  the request count is what the registry logged, and the HTTPS probe"
ok "$((depth >= 5 && depth <= 7 ? 0 : 1))" \
	"  depth $depth of $n requests: probe, sources, configs, mounts (5 on 4 jobs), children, index"

# A far registry (hubproxy: each answer waits 300 ms): a new tag's blobs are
# mounted while the configs are read, so the longest chain is the HTTPS
# probe, the sources (with the tag's HEAD), the mounts (5 on 4 jobs: two
# deep) alongside the configs (a 307 to the CDN and the CDN's answer), the
# children, the index: 6, 7 when a busy machine starts one late.  Mounting
# after the configs made it 8.
hub_start far "$A" --rtt-ms 300
check "assemble -v through a far registry" "$CCREG" --no-cache -v assemble --to "$far_HUB/cat/far:1" \
	"$far_HUB/cat/julia-x86_64:1.10.1" "$far_HUB/cat/julia-arm64:1.10.1"
far=$(tail -1 <<<"$ERR")
far_depth=$(sed 's/.*(\([0-9]*\) one.*/\1/' <<<"$far")
ok "$((far_depth >= 6 && far_depth <= 7 ? 0 : 1))" \
	"  blobs mounted while the configs were read: $far_depth one after another ($far)"
stop far

log_clear reg
check "idempotent rerun" "${cc[@]}" assemble julia:1.10.1
is "$OUT" "$digest" "rerun prints the same digest"
like "$ERR" "already up to date" "rerun says it is up to date"
is "$(puts "$reg_LOG")" 0 "rerun: no PUT at all in the access log"
is "$(count_requests "$reg_LOG" POST '.*')" 0 "rerun: no POST either"

log_clear reg
check "rerun with a new --also-tag" "${cc[@]}" assemble julia:1.10.1 --also-tag latest
is "$(puts "$reg_LOG")" 1 "only the missing tag is written"
is "$(count_requests "$reg_LOG" PUT '/v2/cat/julia/manifests/latest' 201)" 1 "that PUT is the new tag"
is "$(digest_of "$A/cat/julia:latest")" "$digest" "latest holds the index"

check "--json" "${cc[@]}" --json assemble julia:1.10.1
is "$(jq -r .target <<<"$OUT")" "$A/cat/julia:1.10.1" "json target"
is "$(jq -r .digest <<<"$OUT")" "$digest" "json digest"
is "$(jq -r '[.children[] | .platform + "=" + .source] | join(" ")' <<<"$OUT")" \
	"linux/amd64=$A/cat/julia-x86_64:1.10.1 linux/arm64/v8=$A/cat/julia-arm64:1.10.1" \
	"json children: platform and source"
is "$(jq -r '.children[1].mediaType' <<<"$OUT")" application/vnd.docker.distribution.manifest.v2+json \
	"json child media type"

check_exit 2 "single-arch catalog image: nothing to assemble" "${cc[@]}" assemble python:3.11
like "$ERR" "nothing to assemble" "says there is nothing to assemble"
check_exit 2 "unknown catalog image" "${cc[@]}" assemble nosuch:1.0

# Wrong arch: cat/bad-arm64 holds the amd64 image; the target keeps its old content.
seed julia-x86_64 "$A/cat/bad-x86_64:1.0"
seed julia-x86_64 "$A/cat/bad-arm64:1.0"
seed python "$A/cat/bad:1.0"
before=$(digest_of "$A/cat/bad:1.0")
log_clear reg
check_exit 2 "a source whose config contradicts the catalog arch is refused" "${cc[@]}" assemble bad:1.0
is "$ERR" "ccreg: $A/cat/bad-arm64:1.0: config says linux/amd64, expected linux/arm64" \
	"the message names the source, the config's platform and the expected one"
is "$(puts "$reg_LOG")" 0 "wrong arch: nothing written"
is "$(digest_of "$A/cat/bad:1.0")" "$before" "wrong arch: target tag unchanged"

# Missing source: reported at once, naming it; the target is unchanged.
seed julia-x86_64 "$A/cat/gone-x86_64:1.0"
seed python "$A/cat/gone:1.0"
before=$(digest_of "$A/cat/gone:1.0")
log_clear reg
start=$(date +%s)
check_exit 3 "a missing source fails with exit 3" "${cc[@]}" assemble gone:1.0
like "$ERR" "cat/gone-arm64:1\.0: manifest unknown" "the message names the missing reference"
ok $(( $(date +%s) - start > 10 )) "reported at once (no retry loop)"
is "$(count_requests "$reg_LOG" GET '/v2/cat/gone-arm64/manifests/1\.0')" 1 "the missing tag is asked for once"
is "$(puts "$reg_LOG")" 0 "missing source: nothing written"
is "$(digest_of "$A/cat/gone:1.0")" "$before" "missing source: target tag unchanged"

check_exit 2 "--arch with an unknown arch is refused" "${cc[@]}" assemble julia:1.10.1 --arch x86_64,arm64,s390x

# ---------------------------------------------------------------- explicit mode, OCI children

check "seed OCI x86_64" seed julia-x86_64 "$A/o/julia-x86_64:1.10.1"
check "seed OCI arm64" seed julia-arm64 "$A/o/julia-arm64:1.10.1"
log_clear reg
check_exit 0 "--dry-run" "$CCREG" assemble --dry-run --to "$A/o/julia:1.10.1" \
	"$A/o/julia-x86_64:1.10.1" "$A/o/julia-arm64:1.10.1"
like "$OUT" "linux/arm64/v8" "dry run prints the plan"
like "$OUT" '"mediaType": "application/vnd\.oci\.image\.index\.v1\+json"' "dry run prints the index JSON"
is "$(puts "$reg_LOG")" 0 "dry run: no PUT"
is "$(count_requests "$reg_LOG" POST '.*')" 0 "dry run: no POST"
is "$(digest_of "$A/o/julia:1.10.1")" "" "dry run: the tag does not exist"

check "explicit mode, OCI children" "$CCREG" assemble --to "$A/o/julia:1.10.1" --also-tag latest \
	--annotation org.opencontainers.image.title=julia \
	"$A/o/julia-x86_64:1.10.1" "$A/o/julia-arm64:1.10.1"
odigest=$OUT
oidx=$(raw "$A/o/julia:1.10.1")
is "$(jq -r .mediaType <<<"$oidx")" application/vnd.oci.image.index.v1+json "OCI children give an OCI index"
is "$(jq -r '.annotations["org.opencontainers.image.title"]' <<<"$oidx")" julia "--annotation on the index"
is "$(digest_of "$A/o/julia:latest")" "$odigest" "--also-tag: latest holds the same index"
is "$(jq -r '.manifests[1].platform.variant' <<<"$oidx")" v8 "arm64 variant v8"

log_clear reg
check_exit 2 "two children of the same platform are refused" "$CCREG" assemble \
	--to "$A/o/dup:1" "$A/o/julia-x86_64:1.10.1" "$A/cat/julia-x86_64:1.10.1"
like "$ERR" "both linux/amd64" "the message names the duplicate platform"
is "$(count_requests "$reg_LOG" PUT '/v2/o/dup/manifests/.*')" 0 \
	"  the refused plan wrote no manifest (blobs mounted early stay unreferenced)"
is "$(digest_of "$A/o/dup:1")" "" "  and no tag"
check "--format oci forces an OCI index" "$CCREG" assemble --format oci --to "$A/cat/julia:oci" \
	"$A/cat/julia-x86_64:1.10.1" "$A/cat/julia-arm64:1.10.1"
is "$(raw "$A/cat/julia:oci" | jq -r .mediaType)" application/vnd.oci.image.index.v1+json "forced OCI index"
check "--format docker forces a manifest list" "$CCREG" assemble --format docker \
	--to "$A/o/julia:docker" "$A/o/julia-x86_64:1.10.1" "$A/o/julia-arm64:1.10.1"
is "$(raw "$A/o/julia:docker" | jq -r .mediaType)" application/vnd.docker.distribution.manifest.list.v2+json \
	"forced manifest list"

# ---------------------------------------------------------------- index source with attestation

check "seed the arm64 image for a buildx-style source" seed julia-arm64 "$A/att/julia-arm64:img"
check "build an index + attestation source" $PY "$SRCDIR/tests/fixtures/mkattested.py" \
	"$A" att/julia-arm64 img 1.10.1
read -r _ img_digest att_digest <<<"$(tr '\n' ' ' <<<"$OUT")"
check "assemble from an index source" "$CCREG" --json assemble --to "$A/att/julia:1.10.1" \
	"$A/o/julia-x86_64:1.10.1" "$A/att/julia-arm64:1.10.1"
is "$(jq -r .attestations <<<"$OUT")" 1 "json counts the attestation"
aidx=$(raw "$A/att/julia:1.10.1")
is "$(jq -r '.manifests | length' <<<"$aidx")" 3 "index: two images and the attestation"
is "$(jq -r .mediaType <<<"$aidx")" application/vnd.oci.image.index.v1+json "with an attestation: OCI index"
is "$(jq -r '.manifests[1].digest' <<<"$aidx")" "$img_digest" "the source index was flattened to its arm64 image"
is "$(jq -r '.manifests[2].digest' <<<"$aidx")" "$att_digest" "attestation manifest kept"
is "$(jq -r '.manifests[2].annotations["vnd.docker.reference.digest"]' <<<"$aidx")" "$img_digest" \
	"attestation still points at the image"
is "$(jq -r '.manifests[2].platform | .os + "/" + .architecture' <<<"$aidx")" unknown/unknown \
	"attestation platform unknown/unknown"
check "the attestation manifest is in the target repository" \
	skopeo inspect --raw --tls-verify=false "docker://$A/att/julia@$att_digest"
check "--no-attestations" "$CCREG" assemble --no-attestations --to "$A/att/julia:plain" \
	"$A/o/julia-x86_64:1.10.1" "$A/att/julia-arm64:1.10.1"
is "$(raw "$A/att/julia:plain" | jq -r '.manifests | length')" 2 "--no-attestations: images only"

# Catalog mode with buildx-style sources: the arm64 source is an index.
seed julia-x86_64 "$A/cat/built-x86_64:2.0"
seed julia-arm64 "$A/cat/built-arm64:img"
check "catalog mode: build an index source" $PY "$SRCDIR/tests/fixtures/mkattested.py" \
	"$A" cat/built-arm64 img 2.0
read -r _ img_digest att_digest <<<"$(tr '\n' ' ' <<<"$OUT")"
check "catalog mode: assemble from an index source" "${cc[@]}" assemble built:2.0
bidx=$(raw "$A/cat/built:2.0")
is "$(jq -r '[.manifests[] | .digest] | join(" ")' <<<"$bidx")" \
	"$(jq -r '.manifests[0].digest' <<<"$oidx") $img_digest $att_digest" \
	"catalog mode: amd64 image, the flattened arm64 image, its attestation"

# ---------------------------------------------------------------- source on another registry

check "seed x86_64 on the second registry" seed julia-x86_64 "$B/x/julia-x86_64:1.10.1"
check "seed arm64 on the second registry" seed julia-arm64 "$B/x/julia-arm64:1.10.1" v2s2
log_clear reg
# --no-cache: the blobs are known on A from the tests above, so known blob
# locations would mount them; this case is about the streamed copy.
check "assemble from another registry" "$CCREG" --no-cache assemble --to "$A/cross/julia:1.10.1" \
	"$B/x/julia-x86_64:1.10.1" "$B/x/julia-arm64:1.10.1"
like "$ERR" "blobs: 0 present, 0 mounted, 5 copied" "progress counts the 5 blobs copied"
is "$(count_requests "$reg_LOG" POST '/v2/cross/julia/blobs/uploads/.*mount=.*')" 0 "no mount attempted across registries"
is "$(count_requests "$reg_LOG" PUT '/v2/cross/julia/blobs/uploads/.*' 201)" 5 \
	"each of the 5 blobs was uploaded (PUT .../blobs/uploads/)"
cdigest=$OUT
is "$(digest_of "$A/cross/julia:1.10.1")" "$cdigest" "cross-registry index in place"
check "pull a platform of the cross-registry index with skopeo" skopeo copy -q --src-tls-verify=false \
	--override-arch arm64 --override-variant v8 "docker://$A/cross/julia:1.10.1" "oci:$TEST_TMP/cross:x"

# ---------------------------------------------------------------- peers

# podman 4.3's manifest inspect has no --tls-verify: mark the registry insecure
# in a registries.conf of its own; storage isolated too.
printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$A" >"$TEST_TMP/registries.conf"
check "podman manifest inspect" env CONTAINERS_REGISTRIES_CONF="$TEST_TMP/registries.conf" \
	podman --storage-driver vfs --root "$TEST_TMP/podman/root" --runroot "$TEST_TMP/podman/run" \
	manifest inspect "$A/cat/julia:1.10.1"
is "$(jq -r '[.manifests[].platform | .os + "/" + .architecture] | join(" ")' <<<"$OUT")" \
	"linux/amd64 linux/arm64" "podman sees both platforms"
for arch in amd64 arm64; do
	variant=()
	[ "$arch" = arm64 ] && variant=(--override-variant v8)
	check "skopeo copy --override-arch $arch pulls through the index" skopeo copy -q \
		--src-tls-verify=false --override-arch "$arch" "${variant[@]}" \
		"docker://$A/cat/julia:1.10.1" "oci:$TEST_TMP/pull-$arch:x"
	cfg=$(jq -r '.manifests[0].digest' "$TEST_TMP/pull-$arch/index.json")
	cfg=$(jq -r .config.digest "$TEST_TMP/pull-$arch/blobs/sha256/${cfg#sha256:}")
	is "$(jq -r .architecture "$TEST_TMP/pull-$arch/blobs/sha256/${cfg#sha256:}")" "$arch" \
		"pulled $arch config says $arch"
done

# ---------------------------------------------------------------- the project's catalog

images=$("$CCREG" -C "$SRCDIR/images.json" --json catalog list |
	jq -r '.images[] | select(.multiArch) | .image + ":" + .tag + " " + .package')
while read -r it pkg; do
	[ -n "$it" ] || continue
	fx=julia
	[ "${it%%:*}" = sagemath ] && fx=sagemath
	tag=${it#*:}
	seed "$fx-x86_64" "$A/$pkg-x86_64:$tag" v2s2
	seed "$fx-arm64" "$A/$pkg-arm64:$tag" v2s2
	check "project catalog: assemble $it" "$CCREG" -C "$SRCDIR/images.json" --registry "$A" assemble "$it"
	is "$(digest_of "$A/$pkg:$tag")" "$OUT" "project catalog: $pkg:$tag holds the index"
done <<<"$images"

done_testing
