#!/bin/bash
# The release workflow against a real registry: `status` for versions in every
# state (a stale one made by re-pushing arm64 after assembly), verify's stale
# warning, `assemble --all` (dry run, for real, rerun) counted in the access
# log, and bad input: an invalid tag, a wrong-arch per-arch image, an
# unreachable registry.
. "$(dirname "$0")/../lib.sh"

start_registry reg
A=$reg_ADDR
export XDG_CACHE_HOME=$TEST_TMP/cache

cat >"$TEST_TMP/images.json" <<'JSON'
{
  "defaults": { "system": true },
  "compute-server": { "package": "@cocalc/compute-server" },
  "julia": { "package": "rel/julia", "minDiskSizeGb": 5,
             "versions": [ { "tag": "1.0" }, { "tag": "1.1" }, { "tag": "1.2" },
                           { "tag": "1.3" }, { "tag": "1.4", "tested": true },
                           { "tag": "1.5", "tested": true }, { "tag": "Bad Tag!" } ] },
  "python": { "package": "rel/python", "arch": "x86_64",
              "versions": [ { "tag": "3.11", "tested": true }, { "tag": "3.12" } ] },
  "old": { "package": "rel/old", "disabled": true, "versions": [ { "tag": "0.1" } ] }
}
JSON
cc=("$CCREG" -C "$TEST_TMP/images.json" --registry "$A")
puts() { count_requests "$reg_LOG" PUT '.*'; }

seed julia-x86_64 "$A/rel/julia-x86_64:1.1" v2s2
for t in 1.2 1.3 1.4 1.5; do
	seed julia-x86_64 "$A/rel/julia-x86_64:$t" v2s2
	seed julia-arm64 "$A/rel/julia-arm64:$t" v2s2
done
seed julia-x86_64 "$A/rel/old-x86_64:0.1" v2s2
seed julia-arm64 "$A/rel/old-arm64:0.1" v2s2
seed python "$A/rel/python:3.11"
for t in 1.3 1.4 1.5; do
	check "assemble julia:$t" "${cc[@]}" assemble julia:$t
done
old_arm=$("$CCREG" digest "$A/rel/julia-arm64:1.5")
# rebuilt after assembly: the same image pushed as OCI is a new manifest digest
check "re-push julia-arm64:1.5" seed julia-arm64 "$A/rel/julia-arm64:1.5"
new_arm=$("$CCREG" digest "$A/rel/julia-arm64:1.5")
isnt "$new_arm" "$old_arm" "the re-pushed arm64 image has a new digest"
check "audit julia:1.4 fills the audit cache" "${cc[@]}" -q audit julia:1.4

# ---------------------------------------------------------------- status
log_clear reg
check "status --json" "${cc[@]}" --json status
J=$OUT
st() { jq -r --arg i "$1" --arg t "$2" '.images[] | select(.image == $i) | .versions[] | select(.tag == $t) | .'"$3" <<<"$J"; }
is "$(st julia 1.0 state)" missing "1.0: missing"
is "$(st julia 1.1 state)" partial "1.1: partial"
is "$(st julia 1.2 state)" built "1.2: built"
is "$(st julia 1.3 state)" assembled "1.3: assembled"
is "$(st julia 1.4 state)" released "1.4: released"
is "$(st julia 1.5 state)" stale "1.5: stale (arm64 re-pushed after assembly)"
is "$(st python 3.11 state)" released "single-arch 3.11: released"
is "$(st python 3.12 state)" missing "single-arch 3.12: missing"
is "$(st julia 1.1 next)" "build arm64: docker push $A/rel/julia-arm64:1.1" "partial: next names the push"
is "$(st julia 1.2 next)" "ccreg assemble julia:1.2" "built: next is assemble"
is "$(st julia 1.3 next)" "test it, then ccreg catalog mark-tested julia 1.3" "assembled: next is test"
like "$(st julia 1.4 next)" "^minDiskSizeGb 5 is below the recommended [0-9]+: ccreg audit --write julia:1\.4$" \
	"released with audit-cache figures: next is audit --write"
like "$(st julia 1.5 next)" "arm64 rebuilt .*: ccreg assemble julia:1\.5" "stale: next names the rebuilt arch"
is "$(st julia 1.5 'sources.arm64')" "$new_arm" "stale: sources.arm64 is the current digest"
is "$(st julia 1.0 'sources.x86_64')" null "missing: sources are null"
is "$(st julia 1.2 target)" null "built: target null"
like "$(st julia 1.3 target)" '^sha256:[0-9a-f]{64}$' "assembled: target digest"
is "$(st julia 1.4 'disk.recommended.minDiskSizeGb | type')" number "disk figures from the audit cache"
is "$(st julia 1.2 'disk | type')" null "no disk figures for a version not assembled"
is "$(jq -r '.images[] | select(.image == "julia") | .skipped[0].reason' <<<"$J")" \
	'invalid tag "Bad Tag!"' "an invalid tag is skipped with the reason"
is "$(jq -r '.images[] | select(.image == "compute-server") | .kind' <<<"$J")" \
	"not a container image" "an npm package is listed as such"
is "$(jq -r '.images[] | select(.image == "defaults") | .kind' <<<"$J")" \
	"no package: not a container image" "an entry without package is listed as such"
is "$(jq -r '[.images[].image] | index("old")' <<<"$J")" null "disabled images are left out"
is "$(jq -r '[.images[] | select(.image == "julia") | .versions[].tag] | join(" ")' <<<"$J")" \
	"1.5 1.4 1.3 1.2 1.1 1.0" "newest first"
is "$(count_requests "$reg_LOG" GET '/v2/rel/[a-z0-9-]+/manifests/[0-9.]+')" 0 \
	"status reads tags only with HEAD (no GET by tag)"
is "$(puts)" 0 "status writes nothing"
check "status table" "${cc[@]}" status julia
like "$OUT" "julia +1\.5 +stale " "table: stale row"
like "$OUT" "julia +Bad Tag! +skipped .*invalid tag" "table: the invalid tag is skipped"
check "status names a disabled image" "${cc[@]}" --json status old
is "$(jq -r '.images[0].versions[0].state' <<<"$OUT")" built "a named disabled image is shown"

# ---------------------------------------------------------------- verify
check "verify passes with a stale version (a warning)" "${cc[@]}" --json verify julia:1.5
is "$(jq -r '.results[0].status' <<<"$OUT")" warning "stale: status warning"
is "$(jq -r '.results[0].reason' <<<"$OUT")" \
	"julia:1.5: $A/rel/julia-arm64:1.5 is now $new_arm, the index holds $old_arm; ccreg assemble julia:1.5" \
	"the warning names the rebuilt source and both digests"
check "verify table" "${cc[@]}" verify julia:1.5
like "$OUT" "warning +julia:1\.5: .*is now $new_arm" "table shows the stale warning"

# ---------------------------------------------------------------- assemble --all
log_clear reg
check "assemble --all --dry-run" "${cc[@]}" --json assemble --all --dry-run
D=$OUT
is "$(puts)" 0 "dry run: no PUT"
is "$(count_requests "$reg_LOG" POST '.*')" 0 "dry run: no POST"
is "$(jq -r '[.results[] | select(.action == "would-assemble") | .image + ":" + .tag] | sort | join(" ")' <<<"$D")" \
	"julia:1.2 julia:1.5" "dry run: would assemble exactly the built and stale versions"
is "$(jq -r '.results[] | select(.image == "old") | .reason' <<<"$D")" disabled "disabled: skipped with the reason"
is "$(jq -r '.results[] | select(.image == "julia" and .tag == "1.1") | .reason' <<<"$D")" \
	"partial: not every arch is built" "partial: skipped with the reason"
is "$(jq -r '.results[] | select(.image == "python" and .tag == "3.11") | .reason' <<<"$D")" \
	"single-arch: nothing to assemble" "single-arch: skipped with the reason"

log_clear reg
check "assemble --all" "${cc[@]}" assemble --all
like "$OUT" "julia:1\.2 +assembled sha256:" "julia:1.2 assembled"
like "$OUT" "julia:1\.5 +assembled sha256:" "julia:1.5 assembled"
is "$(count_requests "$reg_LOG" PUT '/v2/rel/[a-z0-9-]+/manifests/[^s].*' 201)" 2 "two index PUTs to tags"
is "$(count_requests "$reg_LOG" PUT '/v2/rel/julia/manifests/1\.2' 201)" 1 "julia:1.2 written"
is "$(count_requests "$reg_LOG" PUT '/v2/rel/julia/manifests/1\.5' 201)" 1 "julia:1.5 written"
check "status after assemble --all" "${cc[@]}" --json status julia
J=$OUT
is "$(st julia 1.2 state)" assembled "1.2 now assembled"
is "$(st julia 1.5 state)" released "1.5 now released"
log_clear reg
check "assemble --all rerun" "${cc[@]}" --json assemble --all
is "$(puts)" 0 "rerun: no PUT at all"
is "$(jq -r '[.results[] | select(.action == "assembled")] | length' <<<"$OUT")" 0 "rerun assembles nothing"

# ---------------------------------------------------------------- shared configs
# 16 built versions over the same two per-arch images, read 16 at a time
# (4 x jobs): with a cold cache each config is fetched once, the other
# readers wait for that GET (registry/rangeget.h) and take it from the cache.
N=16
{
	printf '{ "many": { "package": "rel/many", "versions": ['
	for ((i = 1; i <= N; i++)); do
		[ "$i" -gt 1 ] && printf ', '
		printf '{ "tag": "v%d" }' "$i"
	done
	printf '] } }\n'
} >"$TEST_TMP/many.json"
for ((i = 1; i <= N; i++)); do
	"$CCREG" -q copy "$A/rel/julia-x86_64:1.2" "$A/rel/many-x86_64:v$i" >/dev/null &&
		"$CCREG" -q copy "$A/rel/julia-arm64:1.2" "$A/rel/many-arm64:v$i" >/dev/null ||
		bail_out "cannot tag rel/many-*:v$i"
done
many=("$CCREG" -j 4 -C "$TEST_TMP/many.json" --registry "$A" --json)
cfg_gets() { count_requests "$reg_LOG" GET '/v2/rel/many-[a-z0-9_]+/blobs/sha256:[0-9a-f]+'; }
log_clear reg
XDG_CACHE_HOME=$TEST_TMP/many-cache check "status of $N versions sharing two configs, cold cache" "${many[@]}" status
is "$(jq -r '[.images[0].versions[].state] | unique | join(" ")' <<<"$OUT")" built "every version built"
is "$(cfg_gets)" 2 "one GET per config digest"
log_clear reg
check "the same with --no-cache" "${many[@]}" --no-cache status
is "$(jq -r '[.images[0].versions[].state] | unique | join(" ")' <<<"$OUT")" built "  every version built"
is "$(cfg_gets)" $((2 * N)) "  no cache to share: every version reads its two configs"

# ---------------------------------------------------------------- bad input
cat >"$TEST_TMP/bad.json" <<'JSON'
{ "wa": { "package": "rel/wa", "versions": [ { "tag": "1.0" } ] },
  "julia": { "package": "rel/julia", "versions": [ { "tag": "1.2" } ] } }
JSON
seed julia-x86_64 "$A/rel/wa-x86_64:1.0" v2s2
seed julia-x86_64 "$A/rel/wa-arm64:1.0" v2s2
check_exit 1 "wrong-arch per-arch image: status exits 1" "$CCREG" -C "$TEST_TMP/bad.json" --registry "$A" --json status
is "$(jq -r '.images[0].versions[0].state' <<<"$OUT")" error "wrong arch: state error"
is "$(jq -r '.images[0].versions[0].problem' <<<"$OUT")" \
	"$A/rel/wa-arm64:1.0: config says linux/amd64, expected linux/arm64" "wrong arch: the problem as assemble says it"
is "$(jq -r '.images[1].versions[0].state' <<<"$OUT")" assembled "the other image is still reported"
log_clear reg
check "assemble --all skips the wrong-arch version" "$CCREG" -C "$TEST_TMP/bad.json" --registry "$A" --json assemble --all
like "$(jq -r '.results[] | select(.image == "wa") | .reason' <<<"$OUT")" "config says linux/amd64" "skip reason names the config"
is "$(puts)" 0 "nothing written"

closed_port
port=$CLOSED_PORT
start=$(date +%s)
CCREG_MAX_RETRIES=1 check_exit 3 "unreachable registry: exit 3" "${cc[@]/$A/127.0.0.1:$port}" --json status
is "$(jq -r '[.images[].versions[].state] | unique | join(" ")' <<<"$OUT")" error "every version is error"
like "$ERR" "cannot reach 127.0.0.1:$port" "the message names the host"
is "$(( $(date +%s) - start < 60 ))" 1 "no hang"

done_testing
