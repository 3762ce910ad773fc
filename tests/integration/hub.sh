#!/bin/bash
# Docker Hub reality (issue 12): a catalog of 30 multi-arch tags served
# through tests/hubproxy.py, which meters manifest GETs (HEAD is free), sends
# ratelimit headers, refuses past its quota with Hub's 429 TOOMANYREQUESTS
# and redirects blobs to a "CDN".  Counts metered GETs from its log: a cold
# verify, a warm one (0), audit --all again (0), a re-assembled tag, quota 0
# with a warm cache (passes) and a cold one (exit 3 naming the limit, no
# retries); --no-cache; rateLimit in --json and -v; bad input: an unwritable
# cache, a corrupt cache entry, unparsable ratelimit headers, a HEAD without
# Docker-Content-Digest, a HEAD the GET contradicts, a full cache file system;
# a tag never seen read by one GET, a tag seen by one HEAD.
. "$(dirname "$0")/../lib.sh"

start_registry reg
R=$reg_ADDR
hub_start hub "$R" --quota 1000
H=$hub_HUB
metered() { jq -c 'select(.metered)' "$hub_HLOG" | wc -l; }
refused() { jq -c 'select(.status == 429)' "$hub_HLOG" | wc -l; }
heads() { jq -c 'select(.method == "HEAD" and (.path | test("/manifests/")))' "$hub_HLOG" | wc -l; }
# HEADs of the target tags (verify's stale check also HEADs the per-arch tags)
tagheads() { jq -c 'select(.method == "HEAD" and (.path | test("/img[0-9]+/manifests/t[0-9]$")))' "$hub_HLOG" | wc -l; }
control() { curl -sf "http://$H/__hubproxy/$1" >/dev/null; }
cc() { "$CCREG" -C "$TEST_TMP/images.json" --registry "$H" "$@"; }

# ---------------------------------------------------------------- the catalog
# 10 images x 3 tested tags, each tag its own index (an annotation tells
# them apart) over the same two per-arch images; seeded on the registry
# itself, not through the proxy.
check "seed julia-x86_64" seed julia-x86_64 "$R/src/julia-x86_64:1" v2s2
check "seed julia-arm64" seed julia-arm64 "$R/src/julia-arm64:1" v2s2
{
	echo "{"
	for ((i = 1; i <= 10; i++)); do
		for ((t = 1; t <= 3; t++)); do
			"$CCREG" -q assemble --to "$R/hub/img$i:t$t" --annotation "n=$i.$t" \
				"$R/src/julia-x86_64:1" "$R/src/julia-arm64:1" >/dev/null ||
				bail_out "assemble hub/img$i:t$t failed"
		done
		[ "$i" -gt 1 ] && echo ","
		printf '  "img%d": { "package": "hub/img%d", "versions": [' "$i" "$i"
		printf '{ "tag": "t1", "tested": true }, { "tag": "t2", "tested": true }, '
		printf '{ "tag": "t3", "tested": true }] }'
	done
	echo "}"
} >"$TEST_TMP/images.json"
is "$(jq '[.[].versions[]] | length' "$TEST_TMP/images.json")" 30 "a catalog of 30 tags"
rm -rf "$XDG_CACHE_HOME"
: >"$hub_HLOG"

# ---------------------------------------------------------------- the targets
check "verify, empty cache" cc verify
n=$(metered)
diag "cold verify: $n metered GETs, $(heads) manifest HEADs"
ok "$((n <= 30 ? 0 : 1))" "cold verify: at most one metered GET per tag ($n)"
ls "$XDG_CACHE_HOME"/ccreg/manifests/sha256/ >/dev/null 2>&1
ok $? "manifests cached under \$XDG_CACHE_HOME/ccreg/manifests/sha256"
is "$(find "$XDG_CACHE_HOME" -name '.*tmp*' | wc -l)" 0 "  no temporary files left"
for f in "$XDG_CACHE_HOME"/ccreg/manifests/sha256/*; do
	[ "sha256:$(sha256sum <"$f" | cut -c1-64)" = "sha256:${f##*/}" ] || echo "$f"
done >"$TEST_TMP/badentries"
is "$(wc -l <"$TEST_TMP/badentries")" 0 "  every entry hashes to its name"

: >"$hub_HLOG"
check "verify again" cc verify
is "$(metered)" 0 "verify again: 0 metered GETs"
ok "$(($(heads) > 0 ? 0 : 1))" "  (it asked with HEADs: $(heads))"

: >"$hub_HLOG"
check "audit --all" cc -q audit --all
diag "first audit --all: $(metered) metered GETs (child manifests verify only HEADs)"
: >"$hub_HLOG"
check "audit --all again" cc -q audit --all
is "$(metered)" 0 "audit --all again: 0 metered GETs"
is "$(jq -c 'select(.server == "cdn")' "$hub_HLOG" | wc -l)" 0 "  and no blob from the CDN (configs cached too)"

check "re-assemble hub/img4:t2 with new content" "$CCREG" -q assemble --to "$R/hub/img4:t2" \
	--annotation n=new "$R/src/julia-x86_64:1" "$R/src/julia-arm64:1"
: >"$hub_HLOG"
check "verify after one tag changed" cc verify
n=$(metered)
ok "$((n <= 3 ? 0 : 1))" "one tag re-assembled: verify costs at most 3 metered GETs ($n)"

control "set?remaining=0"
: >"$hub_HLOG"
check "quota 0, warm cache: verify passes" cc verify
is "$(metered):$(refused)" "0:0" "  no metered GET, no 429"

# ---------------------------------------------------------------- quota 0, cold cache
export XDG_CACHE_HOME=$TEST_TMP/cold
: >"$hub_HLOG"
t0=$(date +%s)
check_exit 3 "quota 0, cold cache: exit 3" cc -q --json verify
diag "quota 0, cold cache: $(($(date +%s) - t0)) s, $(refused) answers 429"
like "$ERR" "^ccreg: $H: pull rate limit reached \\(0 of 1000 per 6 h left\\)$" \
	"  one line naming the limit"
is "$(jq '[.results[] | select(.status == "error" and (.reason | test("pull rate limit reached")))] | length' <<<"$OUT")" \
	30 "  every target reported, naming the limit"
n=$(refused)
# verify's tag round has 4 x jobs small requests in flight (registry/verify.h)
ok "$((n >= 1 && n <= 16 ? 0 : 1))" \
	"  no retries, no more GETs once refused: $n 429s (at most one per request in flight, 4 x jobs)"
is "$(jq -c '.rateLimit' <<<"$OUT")" '{"limit":1000,"remaining":0,"windowSeconds":21600}' \
	"  --json rateLimit"
control reset
export XDG_CACHE_HOME=$TEST_TMP/cache

# ---------------------------------------------------------------- rate limits shown
run cc --json verify img1:t1
is "$(jq -c '.rateLimit' <<<"$OUT")" '{"limit":1000,"remaining":1000,"windowSeconds":21600}' \
	"verify --json: rateLimit"
run cc --json audit img2:t3
is "$(jq -c '.rateLimit | keys' <<<"$OUT")" '["limit","remaining","windowSeconds"]' "audit --json: rateLimit"
run cc --json status img1
is "$(jq -c '.rateLimit | keys' <<<"$OUT")" '["limit","remaining","windowSeconds"]' "status --json: rateLimit"
run cc -v verify img1:t1
like "$ERR" "HEAD http://$H/v2/hub/img1/manifests/t1 200 .* ratelimit-remaining=1000;w=21600 ratelimit-limit=1000;w=21600 source=127.0.0.1" \
	"-v shows the ratelimit headers"

# ---------------------------------------------------------------- --no-cache
: >"$hub_HLOG"
check "verify --no-cache" cc --no-cache verify img1 img2
is "$(metered):$(tagheads)" "6:0" "--no-cache: a GET per tag, no HEAD before it"

# ---------------------------------------------------------------- bad input
touch "$TEST_TMP/afile"
: >"$hub_HLOG"
XDG_CACHE_HOME=$TEST_TMP/afile check "cache dir under a regular file: verify works" cc -v verify img3
is "$(grep -c 'unusable' <<<"$ERR")" 1 "  and says once that the cache is unusable"
like "$(grep 'unusable' <<<"$ERR")" "cache $TEST_TMP/afile/ccreg unusable \\($TEST_TMP/afile/ccreg/manifests/sha256: Not a directory\\); working without it" \
	"  naming the directory and why"

mkdir -p "$TEST_TMP/full"
if mount -t tmpfs -o size=64k,mode=0755 ccreg-full "$TEST_TMP/full" 2>/dev/null; then
	at_exit umount -l "$TEST_TMP/full"
	mkdir -p "$TEST_TMP/full/ccreg/manifests/sha256"
	dd if=/dev/zero of="$TEST_TMP/full/filler" bs=4k count=64 2>/dev/null
	XDG_CACHE_HOME=$TEST_TMP/full check "a full cache file system: verify works" cc -v verify img3
	is "$(grep -c 'unusable.*No space left on device' <<<"$ERR")" 1 "  and says once that the cache is full"
else
	skip "a full cache file system" "needs root and a tmpfs mount"
fi

dg=$(curl -sfI -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
	-H 'Accept: application/vnd.oci.image.index.v1+json' "http://$R/v2/hub/img5/manifests/t1" |
	tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" { print $2 }')
entry=$XDG_CACHE_HOME/ccreg/manifests/sha256/${dg#sha256:}
[ -f "$entry" ] || bail_out "no cache entry for hub/img5:t1 ($dg)"
printf '{"schemaVersion": 2, "manifests": []}' >"$entry"
: >"$hub_HLOG"
check "a cache entry whose bytes do not match its name: verify works" cc verify img5:t1
is "$(metered)" 1 "  the manifest is fetched again"
is "sha256:$(sha256sum <"$entry" | cut -c1-64)" "$dg" "  and the entry repaired"

control "set?ratelimit=garbage"
run cc --json -v verify img1:t1
is "$RC:$(jq -c '.rateLimit' <<<"$OUT")" "0:null" "ratelimit headers that do not parse: ignored"
control reset

control "set?head-digest=drop"
: >"$hub_HLOG"
check "a HEAD without Docker-Content-Digest: verify works" cc verify img6:t1
is "$(metered)" 1 "  by a GET"
control reset

control "set?head-digest=lie"
export XDG_CACHE_HOME=$TEST_TMP/lie
lie=sha256:$(printf lie | sha256sum | cut -c1-64)
check_exit 3 "a HEAD that the GET contradicts: exit 3" cc verify img6:t1
like "$ERR" "digest mismatch: a HEAD on $H said $lie but the GET's bytes hash to sha256:[0-9a-f]{64}" \
	"  naming both digests"
run "$CCREG" inspect "$H/hub/img6:t1"
is "$RC" 3 "  inspect too"
control reset
export XDG_CACHE_HOME=$TEST_TMP/cache

# A tag the cache has never seen is read with one GET (a HEAD first would
# only add a round trip); once seen, a HEAD finds the bytes in the cache.
export XDG_CACHE_HOME=$TEST_TMP/fresh
img7() { jq -c "select(.method == \"$1\" and .path == \"/v2/hub/img7/manifests/t1\")" "$hub_HLOG" | wc -l; }
: >"$hub_HLOG"
check "inspect a tag never seen" "$CCREG" inspect "$H/hub/img7:t1"
is "$(img7 GET):$(img7 HEAD)" "1:0" "  one GET of the tag, no HEAD before it"
: >"$hub_HLOG"
check "inspect it again" "$CCREG" inspect "$H/hub/img7:t1"
is "$(metered):$(img7 HEAD)" "0:1" "  one HEAD, no GET (the bytes from the cache)"
export XDG_CACHE_HOME=$TEST_TMP/cache

done_testing
