#!/bin/bash
# Referrers (issue 16, OCI distribution 1.1): signatures, SBOMs and
# attestations whose `subject` is an image.  Seeded on docker-registry (no
# referrers API) through the fallback tag sha256-<hex> by a plain HTTP
# client, read back through that tag and, after a copy, through the API of
# tests/referrersapi.py (a double in front of the same docker-registry);
# copy, pull and push --referrers checked by digest with skopeo.
. "$(dirname "$0")/../lib.sh"

T=$TEST_TMP
export CCREG_RETRY_BASE_MS=20 CCREG_TIMEOUT=30

start_registry reg
start_registry reg2
A=$reg_ADDR
B=$reg2_ADDR

start_proxy api referrersapi.py --upstream "$A" --log "$T/api.log"
D=127.0.0.1:$api_PORTS

# Push an image and three referrers (an SBOM and a signature of the image, a
# signature of the SBOM) with their fallback tags, a cosign-style .sig tag,
# and on reg2 a fallback tag that another tool wrote for the same image.
$PY - "$A" "$B" >"$T/seed.json" <<'PYEOF'
import hashlib, json, sys, urllib.request
A, B = sys.argv[1], sys.argv[2]
dumps = lambda o: json.dumps(o, sort_keys=True, separators=(",", ":")).encode()
dg = lambda b: "sha256:" + hashlib.sha256(b).hexdigest()
def req(method, url, data=None, ctype=None):
    r = urllib.request.Request(url, data=data, method=method)
    if ctype: r.add_header("Content-Type", ctype)
    return urllib.request.urlopen(r)
def blob(host, repo, b):
    loc = req("POST", "http://%s/v2/%s/blobs/uploads/" % (host, repo)).headers["Location"]
    if loc.startswith("/"): loc = "http://" + host + loc
    req("PUT", loc + ("&" if "?" in loc else "?") + "digest=" + dg(b), b, "application/octet-stream")
    return {"digest": dg(b), "size": len(b)}
MT = "application/vnd.oci.image.manifest.v1+json"
IX = "application/vnd.oci.image.index.v1+json"
def manifest(host, repo, ref, doc, mt=MT):
    b = dumps(doc)
    req("PUT", "http://%s/v2/%s/manifests/%s" % (host, repo, ref), b, mt)
    return {"mediaType": mt, "digest": dg(b), "size": len(b)}
def tag(d): return d["digest"].replace(":", "-")
cfg = dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})
img = manifest(A, "app", "1", {"schemaVersion": 2, "mediaType": MT,
    "config": dict(blob(A, "app", cfg), mediaType="application/vnd.oci.image.config.v1+json"),
    "layers": []})
empty = dict(blob(A, "app", b"{}"), mediaType="application/vnd.oci.empty.v1+json")
def artifact(subject, atype, payload, note):
    layer = dict(blob(A, "app", payload), mediaType=atype)
    doc = {"schemaVersion": 2, "mediaType": MT, "artifactType": atype, "config": empty,
           "layers": [layer], "subject": subject, "annotations": {"note": note}}
    d = manifest(A, "app", dg(dumps(doc)), doc)
    return dict(d, artifactType=atype, annotations={"note": note})
SBOM, SIG = "application/spdx+json", "application/vnd.dev.cosign.artifact.sig.v1+json"
sbom = artifact(img, SBOM, b'{"spdxVersion":"SPDX-2.3"}', "sbom")
sig = artifact(img, SIG, b"signature of the image", "sig")
sbomsig = artifact(sbom, SIG, b"signature of the sbom", "sbomsig")
fb = lambda entries: {"schemaVersion": 2, "mediaType": IX, "manifests": entries}
manifest(A, "app", tag(img), fb([sbom, sig]), IX)
manifest(A, "app", tag(sbom), fb([sbomsig]), IX)
# cosign's own scheme: a plain manifest under sha256-<hex>.sig
cos = manifest(A, "app", tag(img) + ".sig", {"schemaVersion": 2, "mediaType": MT,
    "config": empty, "layers": [dict(blob(A, "app", b"cosign"), mediaType="application/vnd.dev.cosign.simplesigning.v1+json")]})
# reg2: another tool's entry in the fallback tag of the same image
odoc = {"schemaVersion": 2, "mediaType": MT, "artifactType": "application/x-other",
        "config": dict(blob(B, "app", b"{}"), mediaType="application/vnd.oci.empty.v1+json"),
        "layers": [dict(blob(B, "app", b"other"), mediaType="application/x-other")]}
other = dict(manifest(B, "app", dg(dumps(odoc)), odoc), artifactType="application/x-other")
manifest(B, "app", tag(img), fb([other]), IX)
print(json.dumps({"img": img["digest"], "sbom": sbom["digest"], "sig": sig["digest"],
                  "sbomsig": sbomsig["digest"], "cosign": cos["digest"], "other": other["digest"]}))
PYEOF
ok $? "seed an image, its referrers and fallback tags on docker-registry"
get() { jq -r ".$1" "$T/seed.json"; }
IMG=$(get img) SBOM=$(get sbom) SIG=$(get sig) SBOMSIG=$(get sbomsig) COS=$(get cosign) OTHER=$(get other)
FTAG=${IMG/:/-}
digests() { jq -r '.referrers[].digest' | sort | tr '\n' ' '; }
want() { printf '%s\n' "$@" | sort | tr '\n' ' '; }

# ---------------------------------------------------------------- listing: fallback tag
check "referrers through the fallback tag" "$CCREG" --json referrers "$A/app:1"
is "$(digests <<<"$OUT")" "$(want "$SBOM" "$SIG")" "the SBOM and the signature"
is "$(jq -r .via <<<"$OUT")" tag "read through the fallback tag (docker-registry has no API)"
like "$ERR" "no referrers API.*$FTAG" "stderr names the fallback tag"
is "$(jq -r '.referrers[] | select(.digest == "'"$SBOM"'") | .artifactType' <<<"$OUT")" \
	application/spdx+json "the SBOM's artifactType"
is "$(jq -r '.cosign[0].tag + " " + .cosign[0].digest' <<<"$OUT")" "$FTAG.sig $COS" \
	"cosign's sha256-<hex>.sig tag listed apart"
check "--artifact-type filters the fallback list" "$CCREG" --json referrers \
	--artifact-type application/spdx+json "$A/app@$IMG"
is "$(digests <<<"$OUT")" "$(want "$SBOM")" "only the SBOM"
check "referrers of a referrer" "$CCREG" referrers "$A/app@$SBOM"
like "$OUT" "$SBOMSIG" "the table lists the SBOM's signature"
like "$OUT" "note=sbomsig" "with its annotations"
check "no referrers: an empty list" "$CCREG" --json referrers "$A/app@$SIG"
is "$(jq '.referrers | length' <<<"$OUT")" 0 "none"

# ---------------------------------------------------------------- copy to a registry without the API
check "copy --referrers to docker-registry" "$CCREG" -q copy --referrers "$A/app:1" "$B/app:1"
is "$OUT" "$IMG" "prints the image digest"
for d in "$SBOM" "$SIG" "$SBOMSIG"; do
	run skopeo inspect --raw --tls-verify=false "docker://$B/app@$d"
	is "$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" "${d#sha256:}" "skopeo reads $d byte for byte"
done
check "the destination's fallback tag read back" "$CCREG" --json referrers "$B/app:1"
is "$(digests <<<"$OUT")" "$(want "$SBOM" "$SIG" "$OTHER")" \
	"merged: the copied referrers and the other tool's entry kept"
check "recursion: the SBOM's own fallback tag" "$CCREG" --json referrers "$B/app@$SBOM"
is "$(digests <<<"$OUT")" "$(want "$SBOMSIG")" "the SBOM's signature"
check "copy --referrers again" "$CCREG" -q copy --referrers "$A/app:1" "$B/app:1"
run "$CCREG" --json referrers "$B/app:1"
is "$(jq '.referrers | length' <<<"$OUT")" 3 "no duplicates after a second copy"

# ---------------------------------------------------------------- the referrers API (double)
: >"$T/api.log"
check "copy --referrers to a registry with the API" "$CCREG" -q copy --referrers "$A/app:1" "$D/api/app:1"
is "$(grep -c "^PUT /v2/api/app/manifests/sha256:.* -> 201" "$T/api.log")" 3 \
	"three referrers PUT by digest"
is "$(grep -c "^PUT /v2/api/app/manifests/1 -> 201" "$T/api.log")" 1 "the image by its tag"
is "$(grep -c "manifests/sha256-" "$T/api.log")" 0 \
	"OCI-Subject honoured: no fallback tag read or written"
run curl -s -o /dev/null -w '%{http_code}' "http://$A/v2/api/app/manifests/$FTAG"
is "$OUT" 404 "the backing registry has no fallback tag for it"
: >"$T/api.log"
check "referrers through the API" "$CCREG" --json referrers "$D/api/app:1"
is "$(digests <<<"$OUT")" "$(want "$SBOM" "$SIG")" "the same referrers"
is "$(jq -r .via <<<"$OUT")" api "answered by the referrers API"
is "$(grep -c "^GET /v2/api/app/referrers/$IMG -> 200" "$T/api.log")" 1 "one GET referrers/<digest>"
check "--artifact-type through the API" "$CCREG" --json referrers \
	--artifact-type application/spdx+json "$D/api/app:1"
is "$(digests <<<"$OUT")" "$(want "$SBOM")" "only the SBOM"
is "$(jq .filtersApplied <<<"$OUT")" true "OCI-Filters-Applied seen"
like "$(cat "$T/api.log")" "referrers/$IMG\?artifactType=application%2Fspdx%2Bjson" "the filter query sent"
curl -sf "http://$D/__referrers/set?filter=0&page=1" >/dev/null
check "a registry that ignores the filter, one entry per page" "$CCREG" --json referrers \
	--artifact-type application/spdx+json "$D/api/app:1"
is "$(digests <<<"$OUT")" "$(want "$SBOM")" "filtered by ccreg, every page read"
is "$(jq .filtersApplied <<<"$OUT")" false "filtersApplied false"
curl -sf "http://$D/__referrers/set?filter=1&page=0" >/dev/null
check "referrers of the SBOM through the API" "$CCREG" --json referrers "$D/api/app@$SBOM"
is "$(digests <<<"$OUT")" "$(want "$SBOMSIG")" "recursion reached the API registry"

# ---------------------------------------------------------------- pull and push
check "pull --referrers" "$CCREG" -q pull --referrers "$A/app:1" "oci:$T/lay:1"
has_blob() { [ -f "$T/lay/blobs/sha256/${1#sha256:}" ]; }
has_blob "$SBOM" && has_blob "$SIG" && has_blob "$SBOMSIG"
ok $? "the referrers' manifests are in the layout"
check "skopeo reads the layout's fallback tag entry" skopeo inspect --raw "oci:$T/lay:$FTAG"
is "$(jq -r '.manifests[].digest' <<<"$OUT" | sort | tr '\n' ' ')" "$(want "$SBOM" "$SIG")" \
	"index.json entry $FTAG lists them"
check "referrers of a layout" "$CCREG" --json referrers "oci:$T/lay:1"
is "$(digests <<<"$OUT")" "$(want "$SBOM" "$SIG")" "read from the layout"
check "pull --referrers again" "$CCREG" -q pull --referrers "$A/app:1" "oci:$T/lay:1"
is "$(jq "[.manifests[] | select(.annotations[\"org.opencontainers.image.ref.name\"] == \"$FTAG\")] | length" "$T/lay/index.json")" 1 \
	"one entry per fallback tag"
check "push --referrers from the layout" "$CCREG" -q push --referrers "oci:$T/lay:1" "$B/pushed:1"
run skopeo inspect --raw --tls-verify=false "docker://$B/pushed@$SBOMSIG"
is "$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" "${SBOMSIG#sha256:}" "skopeo reads the pushed SBOM signature"
run "$CCREG" --json referrers "$B/pushed:1"
is "$(digests <<<"$OUT")" "$(want "$SBOM" "$SIG")" "the pushed image's referrers"

# An oras-style layout: the referrers as index.json entries (their manifests
# carry the subject), no sha256-<hex> entry; pushed to the API registry.
mkdir -p "$T/oras" && cp -r "$T/lay/blobs" "$T/lay/oci-layout" "$T/oras/"
size() { stat -c %s "$T/lay/blobs/sha256/${1#sha256:}"; }
jq --arg s "$SBOM" --arg g "$SIG" --arg ss "$SBOMSIG" \
	--argjson a "$(size "$SBOM")" --argjson b "$(size "$SIG")" --argjson c "$(size "$SBOMSIG")" \
	'.manifests |= ([.[] | select(.annotations["org.opencontainers.image.ref.name"] == "1")] +
	  [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $s, size: $a},
	   {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $g, size: $b},
	   {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $ss, size: $c}])' \
	"$T/lay/index.json" >"$T/oras/index.json"
check "referrers of an oras-style layout" "$CCREG" --json referrers "oci:$T/oras:1"
is "$(digests <<<"$OUT")" "$(want "$SBOM" "$SIG")" "found by their subject"
: >"$T/api.log"
check "push --referrers from it to the API registry" "$CCREG" -q push --referrers "oci:$T/oras:1" "$D/oras/app:1"
is "$(grep -c "^PUT /v2/oras/app/manifests/sha256:.* -> 201" "$T/api.log")" 3 "three referrers PUT by digest"
is "$(grep -c "manifests/sha256-" "$T/api.log")" 0 "OCI-Subject honoured on push: no fallback tag"
run "$CCREG" --json referrers "$D/oras/app@$SBOM"
is "$(digests <<<"$OUT")" "$(want "$SBOMSIG")" "the SBOM's signature pushed too"

# ---------------------------------------------------------------- bad input
check_exit 2 "push --referrers of a docker-archive" "$CCREG" push --referrers docker-archive:/nonexistent.tar "$B/x:1"
like "$ERR" "referrers needs an oci:DIR source" "says why"
check_exit 2 "referrers without a reference" "$CCREG" referrers
check_exit 2 "an empty --artifact-type" "$CCREG" referrers --artifact-type= "$A/app:1"
check_exit 3 "referrers of a missing tag" "$CCREG" referrers "$A/app:nope"
like "$ERR" "app:nope" "names the reference"

done_testing
