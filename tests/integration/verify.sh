#!/bin/bash
# ccreg verify against a real registry seeded with good and broken tags: a
# missing tested tag, an index without arm64, a missing child manifest, a
# missing layer blob and a config contradicting its index entry (both found
# only by --deep), a single-arch tag holding the wrong platform, an untested
# missing tag (a warning); --json, --junit, exit codes; and `catalog
# mark-tested`, which verifies first and leaves the file alone when that fails.
. "$(dirname "$0")/../lib.sh"

start_registry reg
A=$reg_ADDR
api=http://$A/v2

check "seed julia-x86_64" seed julia-x86_64 "$A/t/src-x86_64:1"
check "seed julia-arm64" seed julia-arm64 "$A/t/src-arm64:1"
check "seed python (single-arch, pushed directly)" seed python "$A/t/python:3.11"
check "seed julia-arm64 where an x86_64 image belongs" seed julia-arm64 "$A/t/armsingle:1.0"

both=("$A/t/src-x86_64:1" "$A/t/src-arm64:1")
for target in good:1.0 good:1.1 nochild:1.0 noblob:1.0 swapped:base edit:1.0 edit:1.1; do
	check "assemble t/$target" "$CCREG" -q assemble --to "$A/t/$target" "${both[@]}"
done
check "assemble t/noarm:1.0 from x86_64 only" "$CCREG" -q assemble --to "$A/t/noarm:1.0" "$A/t/src-x86_64:1"
check "assemble t/edit:1.2 from x86_64 only" "$CCREG" -q assemble --to "$A/t/edit:1.2" "$A/t/src-x86_64:1"

accept='Accept: application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json'
index=$(curl -sf -H "$accept" "$api/t/good/manifests/1.0")
arm_child=$(jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest' <<<"$index")
like "$arm_child" '^sha256:' "the index has an arm64 child"
arm_manifest=$(curl -sf -H "$accept" "$api/t/good/manifests/$arm_child")
arm_layer=$(jq -r '.layers[-1].digest' <<<"$arm_manifest")

# Break what the tests expect to find broken, through the registry API.
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$api/t/nochild/manifests/$arm_child")
is "$code" 202 "DELETE the arm64 child manifest of t/nochild"
is "$(curl -s -o /dev/null -w '%{http_code}' -H "$accept" -I "$api/t/nochild/manifests/$arm_child")" 404 \
	"the child is gone from t/nochild"
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$api/t/noblob/blobs/$arm_layer")
is "$code" 202 "DELETE an arm64 layer blob of t/noblob"
is "$(curl -s -o /dev/null -w '%{http_code}' -I "$api/t/noblob/blobs/$arm_layer")" 404 \
	"the layer is gone from t/noblob"
# An index whose entries claim each other's platform: every child resolves,
# only the configs tell.
swapped=$(jq -c '.manifests[0].platform as $a | .manifests[1].platform as $b
	| .manifests[0].platform = $b | .manifests[1].platform = $a' <<<"$index")
mt=$(jq -r .mediaType <<<"$index")
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Content-Type: $mt" \
	--data-binary "$swapped" "$api/t/swapped/manifests/1.0")
is "$code" 201 "PUT an index with swapped platforms as t/swapped:1.0"

cat >"$TEST_TMP/images.json" <<'JSON'
{
  "defaults": { "system": true, "disabled": true },
  "npm": { "package": "@x/y", "versions": [ { "tag": "latest", "tested": true } ] },
  "good": {
    "package": "t/good",
    "versions": [
      { "tag": "1.0", "tested": true },
      { "tag": "1.1", "tested": true },
      { "tag": "2.0" }
    ]
  },
  "missing": { "package": "t/good", "versions": [ { "tag": "0.9", "tested": true } ] },
  "noarm": { "package": "t/noarm", "versions": [ { "tag": "1.0", "tested": true } ] },
  "nochild": { "package": "t/nochild", "versions": [ { "tag": "1.0", "tested": true } ] },
  "noblob": { "package": "t/noblob", "versions": [ { "tag": "1.0", "tested": true } ] },
  "swapped": { "package": "t/swapped", "versions": [ { "tag": "1.0", "tested": true } ] },
  "python": { "package": "t/python", "arch": "x86_64",
              "versions": [ { "tag": "3.11", "tested": true } ] },
  "gpu": { "package": "t/good", "gpu": true, "versions": [ { "tag": "1.0", "tested": true } ] },
  "armsingle": { "package": "t/armsingle", "arch": "x86_64",
                 "versions": [ { "tag": "1.0", "tested": true } ] },
  "off": { "package": "t/nowhere", "disabled": true,
           "versions": [ { "tag": "1.0", "tested": true } ] },
  "edit": {
    "package": "t/edit",
    "versions": [
      { "tag": "1.0", "tested": true },
      { "tag": "1.1" },
      { "tag": "1.2" }
    ]
  }
}
JSON
cat_file=$TEST_TMP/images.json
cc=("$CCREG" -C "$cat_file" --registry "$A")

# ---------------------------------------------------------------- the whole catalog

check_exit 1 "verify: broken tested tags exit 1" "${cc[@]}" verify --junit "$TEST_TMP/report.xml"
table=$OUT
like "$table" $'^IMAGE +TAG +TESTED +PLATFORMS +STATUS +REASON\n' "a table with a header"
like "$table" $'\ngood +1.0 +yes +linux/amd64,linux/arm64/v8 +ok' "good:1.0 ok with both platforms"
like "$table" $'\ngood +2.0 +no +- +warning +tag not found' "untested missing tag: a warning"
like "$table" $'\nmissing +0.9 +yes +- +failed +tag not found' "tested missing tag: failed"
like "$table" $'\nnoarm +1.0 +yes +linux/amd64 +failed +index lacks linux/arm64' "index without arm64: failed"
like "$table" $'\nnochild +1.0 +yes +[^ ]+ +failed +child manifest '"$arm_child"' \(linux/arm64/v8\) not found' \
	"missing child manifest: failed, named"
like "$table" $'\nnoblob +1.0 +yes +[^ ]+ +ok' "a missing layer is not seen without --deep"
like "$table" $'\npython +3.11 +yes +linux/amd64 +ok' "single-arch manifest: ok"
like "$table" $'\ngpu +1.0 +yes +[^ ]+ +ok' "single-arch image in a multi-arch index: ok"
like "$table" $'\narmsingle +1.0 +yes +linux/arm64/v8 +failed +a linux/arm64/v8 manifest, not linux/amd64' \
	"single-arch tag of the wrong platform: failed"
like "$table" $'\nedit +1.2 +no +linux/amd64 +warning +index lacks linux/arm64' "untested broken tag: a warning"
is "$(grep -c -E '^(off|npm|defaults) ' <<<"$table")" 0 "disabled and non-image entries skipped"
is "$(grep -c -E ' failed ' <<<"$table")" 4 "four failures"

check_exit 1 "verify --json" "${cc[@]}" --json verify
json=$OUT
is "$(jq -c '[.failed, .warnings, (.results | length)]' <<<"$json")" "[4,2,14]" "--json: failed, warnings, results"
is "$(jq -c '.results[] | select(.image == "noarm") | [.tag, .tested, .reference, .platforms, .status]' <<<"$json")" \
	"[\"1.0\",true,\"$A/t/noarm:1.0\",[\"linux/amd64\"],\"failed\"]" "--json fields per result"
is "$(jq -r '.results[] | select(.image == "good" and .tag == "2.0") | .status + " " + (.tested | tostring)' <<<"$json")" \
	"warning false" "--json: the untested missing tag is a warning"
is "$(jq -r '[.results[] | select(.status == "ok") | .reason] | unique | join(",")' <<<"$json")" "" \
	"--json: ok results have an empty reason"

# The JUnit report parses as XML and counts what the table counts.
junit_counts()
{
	/usr/bin/python3 - "$1" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suite = root if root.tag == "testsuite" else root.find("testsuite")
cases = suite.findall("testcase")
fails = [c for c in cases if c.find("failure") is not None]
skips = [c for c in cases if c.find("skipped") is not None]
print(suite.get("tests"), suite.get("failures"), suite.get("skipped"), len(cases), len(fails), len(skips),
      ",".join(sorted(c.get("name") for c in fails)))
EOF
}
check "JUnit report parses as XML" junit_counts "$TEST_TMP/report.xml"
is "$OUT" "14 4 2 14 4 2 armsingle:1.0,missing:0.9,noarm:1.0,nochild:1.0" \
	"JUnit: 14 testcases, 4 failures (the right ones), 2 skipped"
like "$(cat "$TEST_TMP/report.xml")" 'failure type="verify" message="index lacks linux/arm64"' \
	"JUnit failure message carries the reason"
is "$(ls "$TEST_TMP" | grep -c 'report.xml.tmp')" 0 "no temporary report left"

# ---------------------------------------------------------------- --deep, --all

check_exit 1 "verify --deep" "${cc[@]}" --json verify --deep --junit "$TEST_TMP/deep.xml"
json=$OUT
is "$(jq .failed <<<"$json")" 6 "--deep finds two more"
is "$(jq -r '.results[] | select(.image == "noblob") | .reason' <<<"$json")" \
	"layer $arm_layer of linux/arm64/v8 not found" "--deep: the missing layer, named"
like "$(jq -r '.results[] | select(.image == "swapped") | .reason' <<<"$json")" \
	'^config sha256:[0-9a-f]{64} of linux/arm64/v8 says linux/amd64$' "--deep: config contradicts its index entry"
is "$(jq -r '.results[] | select(.image == "good" and .tag == "1.0") | .status' <<<"$json")" ok "--deep: good stays ok"
check "deep JUnit parses" junit_counts "$TEST_TMP/deep.xml"
like "$OUT" '^14 6 2 14 6 2 ' "deep JUnit: 6 failures"

check "only untested versions fail: exit 0" "${cc[@]}" verify good
like "$OUT" $'\ngood +2.0 +no +- +warning' "with a warning"
check_exit 1 "--all makes them count" "${cc[@]}" verify --all good
like "$OUT" $'\ngood +2.0 +no +- +failed +tag not found' "as a failure"
check_exit 1 "--all over the catalog" "${cc[@]}" --json verify --all
is "$(jq -c '[.failed, .warnings]' <<<"$OUT")" "[6,0]" "--all: every failure counts, no warnings"
check "IMAGE:TAG selects one version" "${cc[@]}" --json verify good:1.1 python
is "$(jq -c '[.results[] | .image + ":" + .tag]' <<<"$OUT")" '["good:1.1","python:3.11"]' "just those"
check_exit 1 "a named untested version counts" "${cc[@]}" verify good:2.0
check_exit 1 "a named disabled entry is checked" "${cc[@]}" verify off
like "$OUT" $'\noff +1.0 +yes +- +failed +tag not found' "and fails"
check_exit 2 "unknown image: exit 2" "${cc[@]}" verify nope
check_exit 2 "npm package: exit 2" "${cc[@]}" verify npm
check_exit 2 "unknown option: exit 2" "${cc[@]}" verify --bogus

# Requests: one GET of the tag, one HEAD per child, nothing else in the
# target repository (without the manifest cache, which would HEAD the tag and
# GET nothing: hub.sh counts that); the stale check adds one HEAD per per-arch tag.
log_clear reg
check "verify good:1.0" "${cc[@]}" --no-cache verify good:1.0
is "$(count_requests "$reg_LOG" GET '/v2/t/good/manifests/1\.0')" 1 "one GET of the tag"
is "$(count_requests "$reg_LOG" HEAD '/v2/t/good/manifests/sha256:[0-9a-f]+')" 2 "one HEAD per child"
is "$(count_requests "$reg_LOG" 'GET|HEAD|PUT|POST|PATCH|DELETE' '/v2/t/good/.*')" 3 "no other target repository request"
is "$(count_requests "$reg_LOG" HEAD '/v2/t/good-(x86_64|arm64)/manifests/1\.0')" 2 "stale check: one HEAD per per-arch tag"
is "$(count_requests "$reg_LOG" 'GET|HEAD|PUT|POST|PATCH|DELETE' '/v2/t/.*')" 5 "no other repository request"

closed_port
port=$CLOSED_PORT
check_exit 3 "registry unreachable: exit 3" "$CCREG" -C "$cat_file" --registry "127.0.0.1:$port" verify good:1.0
like "$ERR" "127\.0\.0\.1:$port" "the error names the host"

# ---------------------------------------------------------------- mark-tested

cp "$cat_file" "$TEST_TMP/before.json"
check_exit 1 "mark-tested of a broken tag refuses" "${cc[@]}" catalog mark-tested edit 1.2
like "$ERR" 'index lacks linux/arm64; not marked tested' "and says why"
check "the catalog is unchanged" cmp "$TEST_TMP/before.json" "$cat_file"
check_exit 3 "mark-tested with the registry unreachable refuses" \
	"$CCREG" -C "$cat_file" --registry "127.0.0.1:$port" catalog mark-tested edit 1.1
check "the catalog is still unchanged" cmp "$TEST_TMP/before.json" "$cat_file"

check "mark-tested of a good tag" "${cc[@]}" catalog mark-tested edit 1.1
numstat=$(git diff --no-index --numstat "$TEST_TMP/before.json" "$cat_file" | cut -f1,2)
is "$numstat" $'1\t1' "mark-tested: exactly one line changed"
is "$(jq -c '.edit.versions[1]' "$cat_file")" '{"tag":"1.1","tested":true}' "marked tested"
check "and now it counts, and holds" "${cc[@]}" verify edit:1.1

cp "$cat_file" "$TEST_TMP/before.json"
check "mark-tested --no-verify skips the check" "${cc[@]}" catalog mark-tested edit 1.2 --no-verify
is "$(git diff --no-index --numstat "$TEST_TMP/before.json" "$cat_file" | cut -f1,2)" $'1\t1' \
	"mark-tested --no-verify: one line changed"

cp "$cat_file" "$TEST_TMP/before.json"
check "add-version" "${cc[@]}" catalog add-version edit 1.3 --label "one three"
is "$(git diff --no-index --numstat "$TEST_TMP/before.json" "$cat_file" | cut -f1,2)" $'2\t1' \
	"add-version: the new line added, the previous last line given its comma"
is "$(jq -c '.edit.versions[-1]' "$cat_file")" '{"tag":"1.3","tested":false,"label":"one three"}' \
	"appended untested"
check_exit 1 "verify edit: the new tag does not exist yet, and 1.2 is now tested" "${cc[@]}" verify edit
like "$OUT" $'\nedit +1.3 +no +- +warning +tag not found' "the new tag is a warning"
is "$(ls -A "$TEST_TMP" | grep -c '\.tmp\.')" 0 "no temporary file left"

# ---------------------------------------------------------------- a version that cannot be read
# an index of its own whose stored bytes are then altered (valid JSON, wrong
# digest): the registry serves it, the check cannot tell
check "assemble t/corrupt:base (the children)" "$CCREG" -q assemble --to "$A/t/corrupt:base" "${both[@]}"
unique=$(jq -c '.annotations = {"ccreg.test": "aaaa"}' <<<"$index")
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Content-Type: $mt" \
	--data-binary "$unique" "$api/t/corrupt/manifests/1.0")
is "$code" 201 "PUT an index of its own as t/corrupt:1.0"
hex=$(printf '%s' "$unique" | sha256sum | cut -d' ' -f1)
sed -i 's/"aaaa"/"bbbb"/' "$reg_DIR/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
cat >"$TEST_TMP/err.json" <<'JSON'
{
  "corrupt": { "package": "t/corrupt", "versions": [ { "tag": "1.0" } ] },
  "good": { "package": "t/good", "versions": [ { "tag": "1.0", "tested": true }, { "tag": "2.0" } ] }
}
JSON
check_exit 3 "an untested version that cannot be read -> 3" \
	"$CCREG" -C "$TEST_TMP/err.json" --registry "$A" --json verify --junit "$TEST_TMP/err.xml"
is "$(jq -c '[.results[] | [.image, .tag, .status]]' <<<"$OUT")" \
	'[["corrupt","1.0","error"],["good","1.0","ok"],["good","2.0","warning"]]' \
	"  status error, and the rest checked"
like "$(jq -r '.results[0].reason' <<<"$OUT")" 'digest' "  the reason says why"
is "$(jq -c '[.failed, .warnings, .errors]' <<<"$OUT")" '[0,1,1]' "  --json counts errors"
like "$(cat "$TEST_TMP/err.xml")" 'errors="1".*<error type="registry"' "  JUnit: an error"
check_exit 3 "table: the same" "$CCREG" -C "$TEST_TMP/err.json" --registry "$A" verify
like "$OUT" $'\ncorrupt +1\\.0 +no +- +error +' "  an error row"

done_testing
