#!/bin/bash
# `ccreg catalog` against the contract: stdout, exit codes, edits in place.
# Needs no registry: mark-tested's check is exercised in verify.sh.
. "$(dirname "$0")/../lib.sh"

cp "$SRCDIR/images.json" "$TEST_TMP/images.json"
cp "$SRCDIR/images.json" "$TEST_TMP/orig.json"
cd "$TEST_TMP" || bail_out "cd $TEST_TMP"

check "catalog tag" "$CCREG" catalog tag julia
is "$OUT" "1.11.0" "tag of julia's last version"
check "catalog version" "$CCREG" catalog version pytorch
is "$OUT" "24.07-py3" "no version field: the tag"
check "catalog version with TAG" "$CCREG" -C images.json catalog version julia 1.10.1
is "$OUT" "1.10.1" "version of julia:1.10.1"
check "CCREG_CATALOG is honoured" env CCREG_CATALOG="$TEST_TMP/images.json" \
	bash -c "cd / && '$CCREG' catalog tag sagemath"
is "$OUT" "10.3" "sagemath's last tag through \$CCREG_CATALOG"

check_exit 2 "unknown image exits 2" "$CCREG" catalog tag nope
like "$ERR" '^ccreg: unknown catalog image "nope" in images.json' "unknown image message"
check_exit 2 "unknown tag exits 2" "$CCREG" catalog version julia 9.9
like "$ERR" '^ccreg: julia has no version with tag "9.9"' "unknown tag message"

check "catalog list" "$CCREG" catalog list
like "$OUT" $'\njulia +ccreg-demo/julia +x86_64,arm64 +1.11.0' "julia listed multi-arch with its newest tag"
like "$OUT" $'\npython +ccreg-demo/python +x86_64 +3.11' "python listed single-arch"
is "$(grep -c -E "^(agent|defaults) " <<<"$OUT")" 0 "npm and package-less entries not listed"
check "catalog list --json" "$CCREG" --json catalog list
is "$(jq -r '[.images[].image] | join(",")' <<<"$OUT")" "python,sagemath,julia,pytorch,desktop" \
	"--json lists the container images in file order"
is "$(jq -c '.images[] | select(.image == "pytorch") | .platforms' <<<"$OUT")" '["linux/amd64"]' \
	"gpu image: linux/amd64 only"

check "own catalog lints clean" "$CCREG" catalog lint
is "$OUT" "" "no problems printed"
check_exit 1 "lint finds problems: exit 1" "$CCREG" -C "$SRCDIR/tests/fixtures/catalog/lint.json" catalog lint
is "$(wc -l <<<"$OUT")" 8 "one line per problem"
check_exit 2 "malformed catalog exits 2" "$CCREG" -C "$SRCDIR/tests/fixtures/catalog/malformed.json" catalog list
like "$ERR" 'malformed\.json:6:7: ' "FILE:LINE:COLUMN in the message"

check "add-version" "$CCREG" catalog add-version julia 1.11.1 --label "1.11.1" --version 1.11.1
is "$OUT" "" "add-version prints nothing"
is "$(diff orig.json images.json | grep -c '^>')" 6 "six lines added"
is "$(diff orig.json images.json | grep -c '^<')" 0 "no line removed"
check "new tag is the last" "$CCREG" catalog tag julia
is "$OUT" "1.11.1" "tag after add-version"
is "$(jq -c '.julia.versions[-1]' images.json)" \
	'{"label":"1.11.1","version":"1.11.1","tag":"1.11.1","tested":false}' "appended untested"
check_exit 2 "duplicate tag refused" "$CCREG" catalog add-version julia 1.11.1
cp images.json before-mark.json
closed_port
check_exit 3 "mark-tested verifies first: unreachable registry refused" \
	"$CCREG" --registry "127.0.0.1:$CLOSED_PORT" catalog mark-tested julia 1.11.1
like "$ERR" 'not marked tested' "and says so"
check "a refused mark-tested leaves the file alone" cmp before-mark.json images.json
check "mark-tested --no-verify" "$CCREG" catalog mark-tested julia 1.11.1 --no-verify
is "$(jq '.julia.versions[-1].tested' images.json)" true "marked tested"
is "$(ls -A | grep -c '\.tmp\.')" 0 "no temporary file left"

# The reference catalog: for every entry with versions, `catalog tag` and
# `catalog version` print what get-tag.js and get-version.js printed (tag of
# the last version; its version ?? tag), and lint finds nothing.
ref=$SRCDIR/../shared/reference/cocalc-images.json
if [ -r "$ref" ]; then
	want=$(jq -r 'to_entries[] | select((.value.versions // []) | length > 0)
		| "\(.key) \(.value.versions[-1].tag) \(.value.versions[-1].version // .value.versions[-1].tag)"' "$ref")
	got=$(jq -r 'to_entries[] | select((.value.versions // []) | length > 0) | .key' "$ref" |
		while read -r key; do
			echo "$key $("$CCREG" -C "$ref" catalog tag "$key") $("$CCREG" -C "$ref" catalog version "$key")"
		done)
	is "$(wc -l <<<"$got")" 25 "reference: 25 entries with versions"
	is "$got" "$want" "reference: catalog tag and version match get-tag.js / get-version.js for each"
	check "reference catalog lints clean" "$CCREG" -C "$ref" catalog lint
	like "$OUT" "cocalc-images\.json:[0-9]+: anaconda-gpu: warning: shares package \"sagemathinc/anaconda\" with anaconda" \
		"lint warns that anaconda-gpu shares anaconda's package (exit 0: a warning)"
	check "reference: lint --json lists the warning" "$CCREG" -C "$ref" --json catalog lint
	is "$(jq -r '.count, (.warnings | length)' <<<"$OUT" | tr '\n' ' ')" "0 1 " "json: no problems, one warning"
	check_exit 2 "reference: assemble of the single-arch anaconda-gpu is refused" \
		"$CCREG" -C "$ref" assemble anaconda-gpu
	like "$ERR" "package sagemathinc/anaconda is also anaconda's" "the refusal names the shared package"
	isnt "$(grep -c 'pushed directly' <<<"$ERR")" 1 "no advice to push over anaconda's tag"
	closed_port
	check_exit 3 "reference: status of anaconda-gpu, registry unreachable" \
		"$CCREG" -C "$ref" --registry "127.0.0.1:$CLOSED_PORT" --json status anaconda-gpu
	is "$(jq -r '.images[0].sharesPackageWith' <<<"$OUT")" anaconda "status: says the package is shared"
	check "reference: catalog list" "$CCREG" -C "$ref" catalog list
	like "$OUT" $'\ncocalc-docker +sagemathinc/cocalc-docker +x86_64,arm64 +- +no versions, disabled' \
		"an entry without versions, disabled"
else
	skip "reference catalog" "$ref not present"
fi

done_testing
