#!/bin/bash
# Known blob locations: a push mounts a blob from where it was seen or
# pushed before, on the same registry, instead of uploading its bytes; a
# stale location (blob deleted, repository gone) falls back to an upload.
. "$(dirname "$0")/../lib.sh"

T=$TEST_TMP
C=("$CCREG" -q)
LOCS=$XDG_CACHE_HOME/ccreg/locations

# no blob descriptor cache: a repository removed from storage below is gone
# for the registry too (the in-memory cache would still vouch for its links)
printf 'storage:\n  cache:\n    blobdescriptor: ""\n' >"$T/nocache.yml"
start_registry reg "$T/nocache.yml"

# the layers of a fixture layout's image, in order
layers()
{
	local m
	m=$(jq -r '.manifests[0].digest' "$FIXTURES/$1/index.json")
	jq -r '.layers[].digest' "$FIXTURES/$1/blobs/sha256/${m#sha256:}"
}
BASE=$(layers julia-x86_64 | head -n 1)
is "$(layers sagemath-x86_64 | head -n 1)" "$BASE" "julia and sagemath share their base layer"
JULIA_APP=$(layers julia-x86_64 | tail -n 1)
SAGE=oci:$FIXTURES/sagemath-x86_64:$(fixture_tag sagemath-x86_64)
JULIA=oci:$FIXTURES/julia-x86_64:$(fixture_tag julia-x86_64)

# uploads of blob $3 into repository $2: the closing PUT names its digest
uploads() { count_requests "$1" PUT "/v2/$2/blobs/uploads/.*digest=${3/:/%3[aA]}.*" 2..; }
patches() { count_requests "$1" PATCH "/v2/$2/blobs/uploads/.*"; }
mounts() { count_requests "$1" POST "/v2/$2/blobs/uploads/\?mount=${3/:/%3[aA]}&from=${4//\//%2F}" "$5"; }
# pull an image back and compare its blobs with the fixture's
same_blobs()
{
	rm -rf "$T/back" &&
		"${C[@]}" pull "$1" "oci:$T/back:x" &&
		for b in $(layers "$2"); do
			cmp -s "$T/back/blobs/sha256/${b#sha256:}" "$FIXTURES/$2/blobs/sha256/${b#sha256:}" || return 1
		done
}

# ---------------------------------------------------------------- a mount, no upload
check "push sagemath-x86_64" "${C[@]}" push "$SAGE" "$reg_ADDR/sagemathinc/sagemath-x86_64:10.3"
ls "$LOCS"/sha256/"${BASE#sha256:}".json >/dev/null 2>&1
ok $? "the pushed base layer's location is kept under \$XDG_CACHE_HOME/ccreg/locations"
log_clear reg
check "push julia-x86_64:1.10.2 after it" "$CCREG" -v push "$JULIA" "$reg_ADDR/sagemathinc/julia-x86_64:1.10.2"
like "$ERR" "sagemathinc/julia-x86_64: $BASE mounted from sagemathinc/sagemath-x86_64" \
	"-v says where the base layer was mounted from"
is "$(mounts "$reg_LOG" sagemathinc/julia-x86_64 "$BASE" sagemathinc/sagemath-x86_64 201)" 1 \
	"the shared base layer: one mount POST"
is "$(uploads "$reg_LOG" sagemathinc/julia-x86_64 "$BASE")" 0 "  and no upload of its bytes"
is "$(patches "$reg_LOG" sagemathinc/julia-x86_64)" 0 "  no PATCH at all"
is "$(uploads "$reg_LOG" sagemathinc/julia-x86_64 "$JULIA_APP")" 1 "julia's own layer is uploaded"
check "the pushed image reads back byte for byte" same_blobs \
	"$reg_ADDR/sagemathinc/julia-x86_64:1.10.2" julia-x86_64

log_clear reg
check "push julia-x86_64 to a third repository" "${C[@]}" push "$JULIA" "$reg_ADDR/other/julia:1"
is "$(count_requests "$reg_LOG" PUT '/v2/other/julia/blobs/uploads/.*')" 0 \
	"every blob mounted from where it was pushed: nothing uploaded"

# ---------------------------------------------------------------- --no-cache
if "$CCREG" --help 2>&1 | grep -q -- --no-cache; then
	log_clear reg
	check "push with --no-cache" "${C[@]}" --no-cache push "$JULIA" "$reg_ADDR/nocache/julia:1"
	is "$(count_requests "$reg_LOG" POST '/v2/nocache/julia/blobs/uploads/\?mount=.*')" 0 \
		"--no-cache: known locations are not consulted"
else
	skip "push with --no-cache" "no global --no-cache"
fi

# ---------------------------------------------------------------- stale: the blob deleted
rm -rf "$XDG_CACHE_HOME"
check "push sagemath-x86_64 (fresh cache)" "${C[@]}" push "$SAGE" "$reg_ADDR/stale/sage:1"
check "delete its base layer from that repository" \
	curl -sf -X DELETE "http://$reg_ADDR/v2/stale/sage/blobs/$BASE"
log_clear reg
check "push julia-x86_64: the known location is stale" "${C[@]}" push "$JULIA" "$reg_ADDR/stale/julia:1"
is "$(mounts "$reg_LOG" stale/julia "$BASE" stale/sage 202)" 1 "the mount was tried and did not take"
is "$(uploads "$reg_LOG" stale/julia "$BASE")" 1 "  so the base layer was uploaded"
like "$(cat "$LOCS/sha256/${BASE#sha256:}.json")" '"stale/julia"' "the new location is kept"
[[ $(cat "$LOCS/sha256/${BASE#sha256:}.json") != *'"stale/sage"'* ]]
ok $? "  the stale one forgotten"
check "it reads back byte for byte" same_blobs "$reg_ADDR/stale/julia:1" julia-x86_64

# ---------------------------------------------------------------- stale: the repository gone
rm -rf "$XDG_CACHE_HOME"
check "push sagemath-x86_64 (fresh cache)" "${C[@]}" push "$SAGE" "$reg_ADDR/gone/sage:1"
rm -rf "$reg_DIR/docker/registry/v2/repositories/gone/sage"
log_clear reg
check "push julia-x86_64: the known repository is gone" "${C[@]}" push "$JULIA" "$reg_ADDR/gone/julia:1"
is "$(uploads "$reg_LOG" gone/julia "$BASE")" 1 "the base layer was uploaded"
check "it reads back byte for byte" same_blobs "$reg_ADDR/gone/julia:1" julia-x86_64

# ---------------------------------------------------------------- a corrupt entry
rm -rf "$XDG_CACHE_HOME"
mkdir -p "$LOCS/sha256"
printf '{"version": 1, "digest": "%s", "locations": [{"registry": 7}' "$BASE" \
	>"$LOCS/sha256/${BASE#sha256:}.json"
log_clear reg
check "a corrupt location entry is ignored" "${C[@]}" push "$JULIA" "$reg_ADDR/corrupt/julia:1"
is "$(count_requests "$reg_LOG" POST '/v2/corrupt/julia/blobs/uploads/\?mount=.*')" 0 "  no mount tried"
like "$(cat "$LOCS/sha256/${BASE#sha256:}.json")" '"corrupt/julia"' "  and replaced by a good one"

done_testing
