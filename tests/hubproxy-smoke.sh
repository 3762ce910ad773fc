#!/bin/bash
# Smoke test of tests/hubproxy.py, the Docker-Hub-like test double (issue 12):
# docker-registry behind hubproxy, a fixture pushed through it with skopeo,
# then with curl: metered manifest GETs per client (HEAD free), Hub's 429,
# the ratelimit headers, the 307 to the CDN and its signed URL (Range,
# expiry, forgery), the control endpoint and the access log; then the same
# registry behind `auth: token` with tests/tokenserver.py on 127.0.0.3.
#
# Not registered in tests/meson.build (the ccreg features it will test come
# later).  Run it by hand from a checkout with a built tree (TAP output):
#     bash tests/hubproxy-smoke.sh            (BUILDDIR defaults to ./build)
#     KEEP_TMP=1 bash tests/hubproxy-smoke.sh (keep the logs)
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/authlib.sh"

TTL=3

# get [CURL_ARGS...] URL: curl, headers to $H (lower-cased names), body to $B;
# CODE is the status.
H=$TEST_TMP/h B=$TEST_TMP/b
get() { CODE=$(curl -s -D "$H" -o "$B" -w '%{http_code}' "$@"); }
hdr() { tr -d '\r' <"$H" | awk -v n="$1" 'tolower($0) ~ "^" n ":" { sub(/^[^:]*: */, ""); print; exit }'; }
metered() { jq -c 'select(.metered)' "$1" | wc -l; }
ACCEPT=(-H 'Accept: application/vnd.oci.image.manifest.v1+json'
	-H 'Accept: application/vnd.docker.distribution.manifest.v2+json')

start_registry reg
hub_start hub "$reg_ADDR" --quota 3 --url-ttl "$TTL"
P=$hub_HUB
diag "hubproxy $P, cdn $hub_CDN"
check "skopeo pushes a fixture through hubproxy" \
	skopeo copy -q --dest-tls-verify=false "oci:$FIXTURES/julia-x86_64:$(fixture_tag julia-x86_64)" \
	"docker://$P/library/julia:1"
is "$(metered "$hub_HLOG")" 0 "a push costs no pulls"
M=http://$P/v2/library/julia/manifests/1
: >"$hub_HLOG"

# ---------------------------------------------------------------- metering, headers
for i in 1 2 3 4 5; do get -I "${ACCEPT[@]}" "$M"; done
is "$CODE" 200 "HEAD of a manifest: 200"
is "$(hdr ratelimit-limit)" "3;w=21600" "ratelimit-limit on HEAD"
is "$(hdr ratelimit-remaining)" "3;w=21600" "five HEADs are free"
is "$(hdr docker-ratelimit-source)" "127.0.0.1" "docker-ratelimit-source names the client"
left=()
for i in 1 2 3; do
	get "${ACCEPT[@]}" "$M"
	left+=("$CODE:$(hdr ratelimit-remaining)")
done
is "${left[*]}" "200:2;w=21600 200:1;w=21600 200:0;w=21600" "each GET costs one pull"
DIGEST=$(jq -r '.layers[0].digest' "$B")
get "${ACCEPT[@]}" "$M"
is "$CODE" 429 "past the quota: 429"
is "$(cat "$B")" '{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit"}]}' \
	"Hub's TOOMANYREQUESTS body"
is "$(hdr retry-after)" "" "no Retry-After"
is "$(hdr ratelimit-remaining)" "0;w=21600" "ratelimit-remaining 0 on the 429"
get -I "${ACCEPT[@]}" "$M"
is "$CODE" 200 "HEAD still answers past the quota"
get "${ACCEPT[@]}" "http://$P/v2/library/julia/manifests/nosuchtag"
is "$CODE" 404 "an unknown tag past the quota: the registry's 404, not 429"
get --interface 127.0.0.9 "${ACCEPT[@]}" "$M"
is "$CODE:$(hdr docker-ratelimit-source):$(hdr ratelimit-remaining)" "200:127.0.0.9:2;w=21600" \
	"another client address has its own quota"
is "$(metered "$hub_HLOG")" 4 "the log marks 4 metered GETs"
is "$(jq -c 'select(.status == 429) | [.method, .metered, .remaining]' "$hub_HLOG")" '["GET",false,0]' \
	"the 429 is logged, not metered"
is "$(jq -r 'select(.method == "HEAD") | .metered' "$hub_HLOG" | sort -u)" false "HEADs are logged unmetered"
like "$(head -1 "$hub_HLOG")" '^\{"t": [0-9.]+, "server": "registry", "client": "127.0.0.1", "method": "HEAD", "path": "/v2/library/julia/manifests/1", "status": 200, "metered": false, "range": null, "remaining": 3, "bytes": 0\}$' \
	"log line format"

# ---------------------------------------------------------------- control
get "http://$P/__hubproxy/set?remaining=1"
is "$CODE:$(jq -c .clients "$B")" '200:{"127.0.0.1":1,"127.0.0.9":1}' "set remaining=1 for every client"
get "${ACCEPT[@]}" "$M"
c1=$CODE
get "${ACCEPT[@]}" "$M"
is "$c1 $CODE" "200 429" "one pull left, then 429"
get "http://$P/__hubproxy/set?remaining=5&client=127.0.0.9"
get --interface 127.0.0.9 "${ACCEPT[@]}" "$M"
is "$(hdr ratelimit-remaining)" "4;w=21600" "set remaining for one client"
get "http://$P/__hubproxy/reset"
get "${ACCEPT[@]}" "$M"
is "$CODE:$(hdr ratelimit-remaining)" "200:2;w=21600" "reset: full quota again"
kill -HUP "$hub_PID"
sleep 0.2
get "http://$P/__hubproxy/stats"
is "$(jq -c '[.clients, .quota, .window, .url_ttl]' "$B")" "[{},3,21600,$TTL]" "SIGHUP resets; stats"
is "$(jq -r 'select(.server == "control") | .path' "$hub_HLOG" | sort -u | tr '\n' ' ')" \
	"/__hubproxy/reset /__hubproxy/set /__hubproxy/stats " "control requests are logged as such"

# ---------------------------------------------------------------- blobs and the CDN
BLOB=http://$P/v2/library/julia/blobs/$DIGEST
get "$BLOB"
LOC=$(hdr location)
is "$CODE" 307 "blob GET: 307"
like "$LOC" "^http://$hub_CDN/registry-v2/docker/registry/v2/blobs/sha256/${DIGEST:7:2}/${DIGEST#sha256:}/data\\?verify=[0-9]+-[0-9a-f]+\$" \
	"redirect to a signed CDN URL"
get -I "$BLOB"
is "$CODE" 200 "blob HEAD: answered by the registry, no redirect"
check "the CDN serves the blob" curl -sf -o "$TEST_TMP/blob" "$LOC"
is "sha256:$(sha256sum "$TEST_TMP/blob" | cut -c1-64)" "$DIGEST" "the blob hashes to its digest"
get -H 'Range: bytes=100-199' "$LOC"
is "$CODE:$(hdr content-range | cut -d/ -f1)" "206:bytes 100-199" "a Range on the CDN: 206"
cmp -s "$B" <(tail -c +101 "$TEST_TMP/blob" | head -c 100)
ok $? "the range holds the right bytes"
is "$(jq -r 'select(.server == "cdn" and .range != null) | .range' "$hub_HLOG")" "bytes=100-199" \
	"the log records the range"
get -L "$BLOB"
is "$CODE" 200 "curl -L follows the redirect"
sleep $((TTL + 2))
get "$LOC"
is "$CODE" 403 "an expired URL: 403"
like "$(cat "$B")" "expired" "... saying it expired"
get "${LOC%-*}-0123456789abcdef0123456789abcdef"
is "$CODE" 403 "a forged signature: 403"
get -L "$BLOB"
is "$CODE" 200 "back to the registry: a fresh redirect works"
reuse=$(curl -sv -o /dev/null -o /dev/null "${ACCEPT[@]}" -I "$M" -I "$M" 2>&1 | grep -c 'Re-using existing connection')
is "$reuse" 1 "keep-alive: a second request reuses the connection"

check "skopeo pulls through hubproxy and the CDN" \
	skopeo copy -q --src-tls-verify=false "docker://$P/library/julia:1" "oci:$TEST_TMP/sk:1"
if [ -x "$CCREG" ]; then
	: >"$hub_HLOG"
	check "ccreg pulls through hubproxy and the CDN" "$CCREG" -q pull "$P/library/julia:1" "oci:$TEST_TMP/cc:1"
	diag "ccreg pull: $(metered "$hub_HLOG") metered GETs, $(jq -c 'select(.server == "cdn")' "$hub_HLOG" | wc -l) CDN requests"
fi

# ---------------------------------------------------------------- token auth
make_signing_cert "$TEST_TMP/sign" || bail_out "openssl failed"
printf 'alice:pw-alice\n' >"$TEST_TMP/users"
start_tokenserver tok "$TEST_TMP/sign" "$TEST_TMP/users" "" 127.0.0.3
token_auth_yaml "$TEST_TMP/tok.yml" "$tok_REALM" "$TEST_TMP/sign" "$reg_DIR"
start_registry treg "$TEST_TMP/tok.yml"
hub_start thub "$treg_ADDR" --quota 2 --url-ttl "$TTL"
TM=http://$thub_HUB/v2/library/julia/manifests/1
get "${ACCEPT[@]}" "$TM"
is "$CODE" 401 "token auth: 401 without a token"
like "$(hdr www-authenticate)" "^Bearer realm=\"http://127.0.0.3:[0-9]+/token\"" \
	"the challenge names the token service on 127.0.0.3"
tok() { curl -sf "${@:2}" "$tok_REALM?service=ccreg-test&scope=repository:$1:pull" | jq -r .token; }
ANON=$(tok library/julia)
ALICE=$(tok library/julia -u alice:pw-alice)
OTHER=$(tok library/other)
get "${ACCEPT[@]}" -H "Authorization: Bearer $ANON" "$TM"
is "$CODE:$(hdr docker-ratelimit-source):$(hdr ratelimit-remaining)" "200:127.0.0.1:1;w=21600" \
	"an anonymous token is metered by address"
get "${ACCEPT[@]}" -H "Authorization: Bearer $ALICE" "$TM"
is "$CODE:$(hdr docker-ratelimit-source):$(hdr ratelimit-remaining)" "200:alice:1;w=21600" \
	"a user's token is metered by user"
get "${ACCEPT[@]}" -H "Authorization: Bearer $OTHER" "$TM"
is "$CODE" 401 "a token for another repository: 401"
is "$(metered "$thub_HLOG")" 2 "401s are not metered"
get -H "Authorization: Bearer $ANON" "http://$thub_HUB/v2/library/julia/blobs/$DIGEST"
is "$CODE" 307 "blob GET with a token: 307"
check "the CDN fetches with the redirected client's token" curl -sf -o "$TEST_TMP/blob2" "$(hdr location)"
cmp -s "$TEST_TMP/blob" "$TEST_TMP/blob2"
ok $? "... the same bytes"
check "skopeo pulls with credentials through token auth, hubproxy and the CDN" \
	skopeo copy -q --src-tls-verify=false --src-creds alice:pw-alice \
	"docker://$thub_HUB/library/julia:1" "oci:$TEST_TMP/sk2:1"

done_testing
