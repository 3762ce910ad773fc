#!/bin/bash
# HTTP/2 (issue 13): nginx speaking TLS (the test CA) and HTTP/2 in front of
# docker-registry.  `ccreg verify --jobs 8` of many tags sends its requests
# as HTTP/2 streams over one connection (plus the TLS probe's), as nginx's
# log shows ($connection, $server_protocol); a pull over it is byte-exact.
. "$(dirname "$0")/../lib.sh"
. "$SRCDIR/tests/authlib.sh"

TAGS=60

start_registry reg
cat=$TEST_TMP/images.json
verify_catalog "$reg_ADDR" "$TAGS" 1 "$cat" || bail_out "cannot make the catalog"
seed julia-x86_64 "$reg_ADDR/pull/julia-x86_64:1" || bail_out "seed failed"

make_test_ca "$TEST_TMP/ca" || bail_out "openssl failed"
N=$TEST_TMP/nginx
mkdir -p "$N"
PORT=$(free_port)
tls_proxy_conf "$N/nginx.conf" "$N" "$PORT" "$reg_ADDR" "$TEST_TMP/ca" h2
start_nginx nginx "$N/nginx.conf"
wait_http "https://127.0.0.1:$PORT/v2/" --cacert "$TEST_TMP/ca/ca.pem" ||
	{ diag "$(cat "$N/error.log" "$TEST_TMP/nginx/stderr.log" 2>/dev/null)"; bail_out "nginx did not start"; }
T=127.0.0.1:$PORT
C=("$CCREG" --ca-file "$TEST_TMP/ca/ca.pem")
is "$(curl -s -o /dev/null -w '%{http_version}' --http2 --cacert "$TEST_TMP/ca/ca.pem" "https://$T/v2/")" 2 \
	"nginx offers HTTP/2"

# ccreg's lines in nginx's log (curl's own wait_http lines are left out)
ours() { grep '"ccreg/' "$N/access.log"; }

: >"$N/access.log"
check "verify --jobs 8 of $TAGS tags over HTTP/2" "${C[@]}" -j 8 -C "$cat" --registry "$T" verify
is "$(grep -cE ' ok +$' <<<"$OUT")" "$TAGS" "all $TAGS tags verified"
sleep 0.3 # nginx logs a request after answering it
n=$(ours | wc -l)
ok "$((n >= TAGS ? 0 : 1))" "nginx saw ccreg's requests ($n)"
is "$(ours | grep -vc ' HTTP/2.0 ')" 0 "every request was HTTP/2.0" ||
	diag "$(ours | grep -v ' HTTP/2.0 ' | head -5)"
conns=$(ours | cut -d' ' -f1 | sort -u | wc -l)
# one for the TLS probe (unverified, so never reused), one for everything else
ok "$((conns <= 2 ? 0 : 1))" "over at most 2 connections ($conns)" ||
	diag "$(ours | cut -d' ' -f1 | sort | uniq -c)"

# Blobs over the same path: a pull is byte-exact.
: >"$N/access.log"
check "pull over HTTP/2" "${C[@]}" pull "$T/pull/julia-x86_64:1" "oci:$TEST_TMP/out:v1"
is "$OUT" "$(counts julia-x86_64 .manifestDigest)" "the pulled digest is the fixture's"
bad=0
for f in "$FIXTURES"/julia-x86_64/blobs/sha256/*; do
	cmp -s "$f" "$TEST_TMP/out/blobs/sha256/${f##*/}" || { bad=$((bad + 1)); diag "differs: ${f##*/}"; }
done
is "$bad" 0 "every blob pulled is byte-exact"
sleep 0.3
# manifests multiplexed; each blob body over HTTP/1.1 on a connection of its
# own (h2 flow control would hold a far stream to one window per round trip)
is "$(ours | grep -v '/blobs/sha256:' | grep -vc ' HTTP/2.0 ')" 0 \
	"the pull's manifest requests were HTTP/2.0 too"
is "$(ours | grep '"GET [^ ]*/blobs/sha256:' | grep -vc ' HTTP/1.1 ')" 0 \
	"its blob GETs were HTTP/1.1"
ok "$(($(ours | grep -c '"GET [^ ]*/blobs/sha256:') > 0 ? 0 : 1))" "  (there were blob GETs)"

check "copy over HTTP/2" "${C[@]}" copy "$T/bench/img1:t1" "$T/copied/img:1"
check "the copy reads back" "${C[@]}" digest "$T/copied/img:1"
is "$OUT" "$("${C[@]}" digest "$T/bench/img1:t1")" "the copy has the source's digest"

done_testing
