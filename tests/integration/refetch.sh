#!/bin/bash
# A corrupt blob download is fetched again from zero (issue 12, item 5):
# through tests/faultproxy.py flipping one byte of every other blob GET,
# pull, copy and audit succeed with exactly the fault-free result; each
# consumer starts over cleanly (the layout writer empties its temp file,
# the layer analyzer starts afresh, a piped upload opens a new session).
# --jobs 1 makes the order of blob GETs, and so which ones are flipped,
# the same in every run.
. "$(dirname "$0")/../lib.sh"

T=$TEST_TMP
PY=/usr/bin/python3
export CCREG_RETRY_BASE_MS=20 XDG_CACHE_HOME=$T/cache

start_registry reg
start_registry reg2
A=$reg_ADDR B=$reg2_ADDR
check "seed julia-x86_64" seed julia-x86_64 "$A/src/julia:1"

start_proxy proxy faultproxy.py --upstream "$A" --log "$T/fp.log"
P=127.0.0.1:$proxy_PORTS
okc() { local name=$1; shift; "$@"; ok $? "$name"; }
flip() { curl -sf --max-time 5 "http://$P/__faultproxy/set?fault=$1&every=2&match=^GET%20/v2/.*/blobs/" >/dev/null; }
applied() { curl -sf --max-time 5 "http://$P/__faultproxy/stats" | jq -r .applied; }
NBLOBS=$(skopeo inspect --raw --tls-verify=false "docker://$A/src/julia:1" | jq '.layers | length + 1')

# fault-free references
flip none
check "fault-free pull" "$CCREG" -q --jobs 1 pull "$P/src/julia:1" "oci:$T/ref:1"
check "fault-free audit" "$CCREG" -q --jobs 1 --json audit --no-cache "$P/src/julia:1"
WANT_AUDIT=$(jq -S 'del(.. | .seconds?)' <<<"$OUT")

flip flip
check "pull with every other blob GET flipped" "$CCREG" -q --jobs 1 pull "$P/src/julia:1" "oci:$T/p:1"
okc "pull: at least two blob GETs came flipped" test "$(applied)" -ge 2
is "$(cd "$T/p/blobs/sha256" && sha256sum * | awk '$1 != $2' | wc -l)" 0 \
	"pull: every blob in the layout hashes to its name"
is "$(diff -r "$T/ref" "$T/p" >/dev/null && echo same)" same "pull: the layout equals the fault-free one"
is "$(find "$T/p" -name '.*tmp*' | wc -l)" 0 "pull: no temporary file left"

flip flip
check "audit with every other blob GET flipped" "$CCREG" -q --jobs 1 --json audit --no-cache "$P/src/julia:1"
okc "audit: at least two blob GETs came flipped" test "$(applied)" -ge 2
is "$(jq -S 'del(.. | .seconds?)' <<<"$OUT")" "$WANT_AUDIT" "audit: the same figures as fault-free"

: >"$T/reg2.log"
flip flip
check "copy with every other blob GET flipped" "$CCREG" -q --jobs 1 copy "$P/src/julia:1" "$B/dst/julia:1"
okc "copy: at least two blob GETs came flipped" test "$(applied)" -ge 2
is "$(skopeo inspect --raw --tls-verify=false "docker://$B/dst/julia:1" | sha256sum | cut -d' ' -f1)" \
	"$(skopeo inspect --raw --tls-verify=false "docker://$A/src/julia:1" | sha256sum | cut -d' ' -f1)" \
	"copy: the same manifest at the destination"
bad=0
for d in $(skopeo inspect --raw --tls-verify=false "docker://$A/src/julia:1" | jq -r '.config.digest, .layers[].digest'); do
	[ "sha256:$(curl -s "http://$B/v2/dst/julia/blobs/$d" | sha256sum | cut -d' ' -f1)" = "$d" ] || bad=$((bad + 1))
done
is "$bad" 0 "copy: every blob at the destination hashes to its digest"
ok_new=$(count_requests "$reg2_LOG" POST '/v2/dst/julia/blobs/uploads/' 202)
okc "copy: a corrupt blob's upload started over in a new session" test "$ok_new" -gt "$NBLOBS"

done_testing
