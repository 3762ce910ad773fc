#!/bin/bash
# What registries hold besides plain images (issue 16), from layouts that
# tests/fixtures/mkartifacts.py writes: a manifest whose index.json descriptor
# contradicts its body (go-containerregistry's test_index / test_gc_index
# entries), a nested index, OCI artifacts (empty config, Helm chart config),
# an index with an attestation and unknown/unknown children, an index of
# platform-less images, a layer with a GNU sparse file; push, inspect, config,
# audit, copy and pull against docker-registry, with skopeo reading what it
# can (skopeo passes → ccreg passes).  Also the docker-archive FILE:@N usage.
. "$(dirname "$0")/../lib.sh"

start_registry reg
A=$reg_ADDR
api=http://$A/v2
F=$TEST_TMP/fx
check "fixtures" "$PY" "$SRCDIR/tests/fixtures/mkartifacts.py" "$F"
D=$OUT
L=$F/layout
dg() { jq -r --arg k "$1" '.[$k]' <<<"$D"; }
accept='Accept: application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json'
ctype() { curl -sfI -H "$accept" "$api/$1" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Tt]ype: //p'; }
docker_mt=application/vnd.docker.distribution.manifest.v2+json

# --- 1: the descriptor contradicts the body ---------------------------------
for e in lie1 lie3; do
	check "skopeo pushes $e (descriptor OCI, body Docker)" skopeo copy -q --dest-tls-verify=false \
		"oci:$L:$e" "docker://$A/sk/$e:1"
	check "ccreg pushes $e as skopeo does" "$CCREG" -q push "oci:$L:$e" "$A/t/$e:1"
	is "$OUT" "$(dg $e)" "$e: the digest of the layout's bytes"
	is "$(ctype "t/$e/manifests/1")" "$docker_mt" "$e: served as the body's Docker type"
	check "skopeo reads ccreg's $e" skopeo inspect --tls-verify=false "docker://$A/t/$e:1"
done
check "push -v warns about the contradiction" "$CCREG" -v push "oci:$L:lie1" "$A/t/lie1:2"
like "$ERR" "warning: index.json says application/vnd.oci.image.manifest.v1\+json for $(dg lie1), the manifest itself ${docker_mt//+/\\+}" \
	"the warning names both types"
check "without -v no warning" "$CCREG" -q push "oci:$L:lie3" "$A/t/lie3:2"
is "$ERR" "" "nothing on stderr"
# skopeo ignores index.json entries with Docker list types; ccreg pushes them
check "ccreg pushes nomt4 (Docker list descriptor, body without mediaType)" \
	"$CCREG" -q push "oci:$L:nomt4" "$A/t/nomt4:1"
is "$OUT" "$(dg nomt4)" "nomt4: byte-exact"
is "$(ctype t/nomt4/manifests/1)" application/vnd.oci.image.index.v1+json "nomt4: pushed as an OCI index"
check "skopeo reads ccreg's nomt4" skopeo inspect --raw --tls-verify=false "docker://$A/t/nomt4:1"
check "ccreg pushes liekind (Docker list descriptor, Docker image body)" \
	"$CCREG" -q push "oci:$L:liekind" "$A/t/liekind:1"
is "$(ctype t/liekind/manifests/1)" "$docker_mt" "liekind: pushed as the image it is"
check "skopeo reads ccreg's liekind" skopeo inspect --tls-verify=false "docker://$A/t/liekind:1"
check "good0 and good2 unchanged" "$CCREG" -q push "oci:$L:good2" "$A/t/good2:1"
is "$(ctype t/good2/manifests/1)" "$docker_mt" "good2 as Docker"

# --- 2: nested index ---------------------------------------------------------
check "push a nested index" "$CCREG" -q push "oci:$L:nested" "$A/t/nested:1"
is "$OUT" "$(dg nested)" "nested: byte-exact"
check "inspect a nested index" "$CCREG" inspect "$A/t/nested:1"
like "$OUT" "\(index, 2 entries\)" "the nested index is a row"
like "$OUT" $'\n  linux/amd64 ' "its entries indented under it"
check "inspect --json of a nested index" "$CCREG" --json inspect "$A/t/nested:1"
is "$(jq -c '[.platforms[] | [.depth, .platform, (.index // false)]]' <<<"$OUT")" \
	'[[0,"-",true],[1,"linux/amd64",false],[1,"linux/arm64",false]]' "--json: the tree as depth-tagged rows"
check "copy a nested index" "$CCREG" -q copy "$A/t/nested:1" "$A/t/nested-copy:1"
is "$OUT" "$(dg nested)" "the copy has the same digest"
check "pull a nested index" "$CCREG" -q pull "$A/t/nested:1" "oci:$TEST_TMP/pulled:nested"
is "$OUT" "$(dg nested)" "pulled digest"
check "skopeo reads the pulled nested index" skopeo inspect --raw "oci:$TEST_TMP/pulled:nested"
inner=$(jq -r '.manifests[0].digest' <<<"$OUT")
check "skopeo reads the inner index from the pull" skopeo inspect --raw "docker://$A/t/nested-copy@$inner" --tls-verify=false
is "$(jq -r '.manifests | length' <<<"$OUT")" 2 "the copy carries the inner index's entries"

cat >"$TEST_TMP/images.json" <<'JSON'
{
  "nested": { "package": "t/nested", "versions": [ { "tag": "1", "tested": true } ] },
  "nestedbroken": { "package": "t/nested-broken", "versions": [ { "tag": "1", "tested": true } ] },
  "attested": { "package": "t/attested", "arch": "x86_64",
                "versions": [ { "tag": "1", "tested": true } ] }
}
JSON
cc=("$CCREG" -C "$TEST_TMP/images.json" --registry "$A")
check "verify --deep follows the nested index" "${cc[@]}" verify --deep nested
like "$OUT" $'\nnested +1 +yes +linux/amd64,linux/arm64 +ok' "its platforms are the tag's"
check "copy for a broken nested index" "$CCREG" -q copy "$A/t/nested:1" "$A/t/nested-broken:1"
arm=$(skopeo inspect --raw --tls-verify=false "docker://$A/t/nested-broken@$inner" |
	jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest')
is "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$api/t/nested-broken/manifests/$arm")" 202 \
	"DELETE the arm64 image inside the nested index"
check_exit 1 "verify finds the missing child of a nested index" "${cc[@]}" verify nestedbroken
like "$OUT" "child manifest $arm \(linux/arm64\) not found" "and names it"

# --- 3: artifacts --------------------------------------------------------------
check "skopeo pushes the artifact" skopeo copy -q --dest-tls-verify=false "oci:$L:artifact" "docker://$A/sk/artifact:1"
check "ccreg pushes the artifact" "$CCREG" -q push "oci:$L:artifact" "$A/t/artifact:1"
is "$OUT" "$(dg artifact)" "artifact: byte-exact"
check "inspect an artifact" "$CCREG" inspect "$A/t/artifact:1"
like "$OUT" "artifact application/vnd.example.sbom.v1\+json, config application/vnd.oci.empty.v1\+json" \
	"shown as an artifact: artifactType and config media type"
check "inspect --json of an artifact" "$CCREG" --json inspect "$A/t/artifact:1"
is "$(jq -c '.platforms[0] | [.artifact, .artifactType, .configMediaType, .layers, .platform]' <<<"$OUT")" \
	'[true,"application/vnd.example.sbom.v1+json","application/vnd.oci.empty.v1+json",1,"-"]' \
	"--json: artifact, artifactType, configMediaType, layers"
check "config of an artifact: its config as it is" "$CCREG" config "$A/t/artifact:1"
is "$OUT" "{}" "the empty config"
check_exit 3 "audit of an artifact" "$CCREG" audit "$A/t/artifact:1"
like "$ERR" "t/artifact:1: is an OCI artifact \(application/vnd.example.sbom.v1\+json\), not an image" \
	"audit says what it is"
check "ccreg pushes the Helm chart" "$CCREG" -q push "oci:$L:helm" "$A/t/helm:1"
check "inspect a Helm chart" "$CCREG" inspect "$A/t/helm:1"
like "$OUT" "artifact application/vnd.cncf.helm.config.v1\+json" "the chart's config type"
check "config of a Helm chart" "$CCREG" config "$A/t/helm:1"
is "$(jq -r .name <<<"$OUT")" chart "the chart's own config"
check "copy an artifact" "$CCREG" -q copy "$A/t/artifact:1" "$A/t/artifact-copy:1"
check "pull an artifact" "$CCREG" -q pull "$A/t/artifact:1" "oci:$TEST_TMP/pulled:artifact"
check "skopeo reads the pulled artifact" skopeo inspect --raw "oci:$TEST_TMP/pulled:artifact"

# --- 3: attestations and unknown/unknown children --------------------------
check "skopeo pushes the attested index" skopeo copy -q --all --dest-tls-verify=false \
	"oci:$L:attested" "docker://$A/sk/attested:1"
check "ccreg pushes it" "$CCREG" -q push "oci:$L:attested" "$A/t/attested:1"
is "$OUT" "$(dg attested)" "attested: byte-exact"
check "inspect marks attestation and artifacts" "$CCREG" inspect "$A/t/attested:1"
like "$OUT" "unknown/unknown +sha256:[0-9a-f]+ +sha256:[0-9a-f]+ +1 +[0-9]+ B  \(attestation\)" "the attestation"
like "$OUT" "unknown/unknown .*\(artifact application/vnd.example.builder" "the builder reference"
check "audit skips what is not an image" "$CCREG" --json audit "$A/t/attested:1"
is "$(jq -c '[.images[0].platforms[].platform]' <<<"$OUT")" '["linux/amd64"]' "the image is audited"
is "$(jq '.images[0].skipped | length' <<<"$OUT")" 2 "two entries skipped with a note"
like "$(jq -r '.images[0].skipped[]' <<<"$OUT")" "not an image \(application/vnd.example.builder\)" "the note says why"
check "the table notes them too" "$CCREG" audit "$A/t/attested:1"
like "$OUT" "skipped sha256:[0-9a-f]+: not an image" "a skipped line"
check "push the index of images without platform" "$CCREG" -q push "oci:$L:noplatform" "$A/t/noplatform:1"
check "audit: platforms from the configs" "$CCREG" --json audit "$A/t/noplatform:1"
is "$(jq -c '[.images[0].platforms[].platform]' <<<"$OUT")" '["linux/amd64","linux/arm64"]' \
	"both images audited, not \"platforms\": []"
check "verify --deep of the attested index (an artifact child has no platform config)" \
	"${cc[@]}" verify --deep attested
like "$OUT" $'\nattested +1 +yes +linux/amd64[^ ]* +ok' "ok"
check "push an index of non-images" "$CCREG" -q push "oci:$L:onlyart" "$A/t/onlyart:1"
check_exit 3 "audit fails when no image is left" "$CCREG" audit "$A/t/onlyart:1"
like "$ERR" "t/onlyart:1: no image to audit among the index's 2 entries" "and says so"

# --- 5: sparse layer ---------------------------------------------------------------
check "push the sparse image" "$CCREG" -q push "oci:$L:sparse" "$A/t/sparse:1"
check "audit the sparse image" "$CCREG" --json audit "$A/t/sparse:1"
is "$(jq '.images[0].platforms[0].layers[0].fileBytes' <<<"$OUT")" 20971520 "the file's realized size"
is "$(jq '.images[0].platforms[0].layers[0].tarBytes' <<<"$OUT")" 10240 "the tar is 10 kB"
is "$(jq '.images[0].platforms[0].recommended.terms.unpackedGb' <<<"$OUT")" 0.02097152 \
	"dockerSizeGb counts the larger: the file data"

# --- 6: docker-archive:FILE:@N --------------------------------------------------
check "push --help" "$CCREG" push --help
like "$OUT" "docker-archive:FILE:@N" "the usage shows FILE:@N"
check_exit 2 "FILE@N (no colon)" "$CCREG" push "docker-archive:$TEST_TMP/none.tar@1" "$A/t/x:1"
like "$ERR" "the N-th image is docker-archive:FILE:@N, with a colon" "the error shows the working form"

done_testing
