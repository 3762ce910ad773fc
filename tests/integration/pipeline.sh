#!/bin/bash
# HTTP/1.1 pipelining (RFC 9112 section 9.3.2): over plain HTTP, ccreg
# writes its small bodyless requests (HEAD, manifest GETs) back to back on
# at most --jobs keep-alive connections, without waiting for each answer;
# CCREG_HTTP_PIPELINE=0 turns that off.  tests/pipeproxy.py in front of the
# registry numbers the requests on each connection and logs whether each
# one was already waiting when the previous answer went out (queued: the
# client pipelined).  Checked:
#  * the proxy itself: a raw client writing 4 requests at once is logged so;
#  * verify of 60 tags (and 6 missing untested ones) through a far
#    (--delay-ms 200) proxy: the output of a direct verify, at most jobs + 2
#    connections (the TLS probe's counts, as in connections.sh), at least 10
#    requests queued; with CCREG_HTTP_PIPELINE=0 none (the control), and
#    the same HEADs with the same answers;
#  * a proxy closing each connection after 3 answers with no Connection:
#    close header, and one answering every request with Connection: close:
#    the same output, every request answered once (a request the server
#    dropped unanswered is sent again, never one it answered), at most
#    jobs connections closed on pipelined requests (then ccreg stops
#    pipelining to the host), and after 3: at least one was (the resend ran);
#  * inspect and manifest through the proxy: the bytes of a direct run;
#  * verify against a token-auth registry through the proxy, which sends
#    every 5th request of a connection without its token: the registry's 401
#    challenges amid pipelined answers, a new token and the retry.
# The checks named "pipelining: ..." fail without pipelining; the others
# hold either way.  Each ccreg run gets a cache of its own, so its requests
# do not depend on the runs before it.
. "$(dirname "$0")/../lib.sh"
. "$SRCDIR/tests/authlib.sh"

JOBS=4 # ccreg's default --jobs: the runs below do not pass -j
TAGS=60
REPOS=3

start_registry plain
verify_catalog "$plain_ADDR" "$TAGS" "$REPOS" "$TEST_TMP/tested.json" || bail_out "cannot make the catalog"
# Beside every 10th tag an untested one that does not exist: its HEAD is a
# 404 among 200s, so an answer given to the wrong request changes the output
# (the tested tags of a repository share one index: their answers are alike).
cat=$TEST_TMP/images.json
jq '.[].versions |= (. as $v | [range(0; length)]
	| map($v[.], (if . % 10 == 4 then {"tag": "gone\(.)", "tested": false} else empty end)))' \
	"$TEST_TMP/tested.json" >"$cat" || bail_out "jq failed"
is "$(jq '[.[].versions[] | select(.tested)] | length' "$cat")" "$TAGS" "the catalog has $TAGS tested tags"
is "$(jq '[.[].versions[] | select(.tested | not)] | length' "$cat")" 6 "and 6 untested missing ones"

# fresh CMD...: CMD with a cache of its own
fresh() { XDG_CACHE_HOME=$(mktemp -d "$TEST_TMP/cache.XXXXXX") "$@"; }

# proxy NAME ARGS...: tests/pipeproxy.py in front of the plain registry (or
# $UPSTREAM); sets NAME_ADDR and NAME_PLOG (its JSON-lines log)
proxy()
{
	local name=$1 ports=$1_PORTS
	shift
	start_proxy "$name" pipeproxy.py --upstream "${UPSTREAM:-$plain_ADDR}" \
		--log "$TEST_TMP/$name.jsonl" "$@"
	printf -v "${name}_ADDR" '%s' "${!ports}"
	printf -v "${name}_PLOG" '%s' "$TEST_TMP/$name.jsonl"
}

# settle LOG: wait (at most 5 s) until every connection the proxy numbered
# has its end line: connections the client closed as it exited are logged
# when the proxy sees the close
settle()
{
	local i
	for ((i = 0; i < 50; i++)); do
		jq -se '(map(.conn) | max // 0) as $n | (map(select(.seq == 0) | .conn) | unique | length) == $n' \
			"$1" >/dev/null && return 0
		sleep 0.1
	done
	diag "pipeproxy: not every connection in $1 ended"
}

conns() { settle "$1"; jq -s 'map(.conn) | unique | length' "$1"; }
requests() { jq -s 'map(select(.seq > 0)) | length' "$1"; }
queued() { jq -s 'map(select(.seq > 0 and .queued)) | length' "$1"; }
tls_probes() { jq -s 'map(select(.end == "tls-probe")) | length' "$1"; }
# requests answered more than once (a verify asks each thing once)
twice() { jq -r 'select(.seq > 0) | "\(.method) \(.path)"' "$1" | sort | uniq -d | head -5; }
# the HEADs asked and their answers, sorted (a run's manifest GETs depend on
# which lookups miss the cache together, its HEADs do not)
heads() { jq -r 'select(.seq > 0 and .method == "HEAD") | "\(.path) \(.status)"' "$1" | sort; }
# connections the proxy closed while another request was waiting on them
dropped() { settle "$1"; jq -s 'map(select(.seq == 0 and .unanswered)) | length' "$1"; }

# --- the proxy itself -----------------------------------------------------------
# A client writing 4 requests at once is seen pipelining; closed after 3
# answers, the 4th is dropped unanswered (so a failing pipelining check
# below is ccreg's, not the proxy's).
proxy self --delay-ms 100 --close-after 3
check "a raw client pipelines 4 HEADs through pipeproxy --close-after 3" $PY - "$self_ADDR" <<'EOF'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(b"".join(b"HEAD /v2/%s HTTP/1.1\r\nHost: %s\r\n\r\n" % (p, sys.argv[1].encode())
                   for p in (b"", b"a/manifests/1", b"b/manifests/1", b"c/manifests/1")))
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
print(" ".join(l.split(b" ")[1].decode() for l in data.split(b"\r\n") if l.startswith(b"HTTP/1.1 ")))
EOF
is "$OUT" "200 404 404" "pipeproxy: 3 answers, then the close"
is "$(jq -r 'select(.seq > 0) | "\(.seq):\(.queued)"' "$self_PLOG" | tr '\n' ' ')" "1:false 2:true 3:true " \
	"pipeproxy: the 2nd and 3rd requests logged as queued"
is "$(conns "$self_PLOG"):$(dropped "$self_PLOG")" 1:1 "pipeproxy: one connection, closed with a request unanswered"
stop self

# --- direct ---------------------------------------------------------------------
check "verify direct to the registry" fresh "$CCREG" -C "$cat" --registry "$plain_ADDR" verify
want=$OUT
is "$(grep -cE ' ok +$' <<<"$want")" "$TAGS" "direct: all $TAGS tested tags ok"
is "$(grep -cE ' warning +tag not found$' <<<"$want")" 6 "direct: the 6 missing ones warned about"

# --- a: pipelined through a far proxy -------------------------------------------
proxy pipe --delay-ms 200
check "verify through a far proxy (200 ms an answer)" \
	fresh "$CCREG" -C "$cat" --registry "$pipe_ADDR" verify
is "$OUT" "$want" "the output is the direct verify's"
n=$(conns "$pipe_PLOG")
ok "$((n > 0 && n <= JOBS + 2 ? 0 : 1))" "at most jobs + 2 connections, the TLS probe's included ($n)"
is "$(tls_probes "$pipe_PLOG")" 1 "one TLS probe"
is "$(twice "$pipe_PLOG")" "" "no request answered twice"
q=$(queued "$pipe_PLOG")
diag "pipelined: $q of $(requests "$pipe_PLOG") requests were queued behind an unanswered one"
ok "$((q >= 10 ? 0 : 1))" "pipelining: at least 10 requests written before the previous answer came ($q)"

# the control: the same without pipelining
proxy ctl --delay-ms 200
CCREG_HTTP_PIPELINE=0 check "CCREG_HTTP_PIPELINE=0: verify through the far proxy" \
	fresh "$CCREG" -C "$cat" --registry "$ctl_ADDR" verify
is "$OUT" "$want" "CCREG_HTTP_PIPELINE=0: the output is the direct verify's"
is "$(queued "$ctl_PLOG")" 0 "CCREG_HTTP_PIPELINE=0: no request queued behind an unanswered one"
n=$(conns "$ctl_PLOG")
ok "$((n > 0 && n <= JOBS + 2 ? 0 : 1))" "CCREG_HTTP_PIPELINE=0: at most jobs + 2 connections ($n)"
base=$(heads "$ctl_PLOG")
is "$(heads "$pipe_PLOG")" "$base" "pipelined or not, the same HEADs with the same answers"

# --- b: the server closes after 3 answers, saying nothing -----------------------
proxy after3 --close-after 3 --delay-ms 20
check "verify through a proxy closing each connection after 3 answers (no Connection: close)" \
	fresh "$CCREG" -C "$cat" --registry "$after3_ADDR" verify
is "$OUT" "$want" "close after 3: the output is the direct verify's"
is "$(grep -cE ' ok +$' <<<"$OUT")" "$TAGS" "close after 3: all $TAGS tested tags ok"
n=$(conns "$after3_PLOG")
ok "$((n > 1 ? 0 : 1))" "close after 3: more than one connection ($n)"
is "$(jq -s 'map(select(.seq > 3)) | length' "$after3_PLOG")" 0 "close after 3: no connection answered a 4th request"
is "$(twice "$after3_PLOG")" "" "close after 3: no request answered twice"
is "$(heads "$after3_PLOG")" "$base" "close after 3: every HEAD answered, as without pipelining"
d=$(dropped "$after3_PLOG")
diag "close after 3: $d connections closed with pipelined requests unanswered (sent again)"
ok "$((d <= JOBS ? 0 : 1))" "close after 3: at most jobs connections dropped requests: then no more pipelining ($d)"
ok "$((d > 0 ? 0 : 1))" "pipelining: requests were pending when a connection closed (the resend ran) ($d)"

# --- c: every answer says Connection: close -------------------------------------
proxy hdr --close-header --delay-ms 20
check "verify through a proxy answering Connection: close" \
	fresh "$CCREG" -C "$cat" --registry "$hdr_ADDR" verify
is "$OUT" "$want" "Connection: close: the output is the direct verify's"
is "$(jq -s 'map(select(.seq > 1)) | length' "$hdr_PLOG")" 0 "Connection: close: one request a connection"
is "$(twice "$hdr_PLOG")" "" "Connection: close: no request answered twice"
is "$(heads "$hdr_PLOG")" "$base" "Connection: close: every HEAD answered, as without pipelining"
d=$(dropped "$hdr_PLOG")
diag "Connection: close: $d connections closed with pipelined requests unanswered"
ok "$((d <= JOBS ? 0 : 1))" "Connection: close: at most jobs connections dropped requests ($d)"

# --- d: inspect and manifest, byte for byte -------------------------------------
proxy ins --delay-ms 50
child=$(fresh "$CCREG" manifest "$plain_ADDR/bench/img1:t1" |
	jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest')
like "$child" '^sha256:[0-9a-f]{64}$' "the index has an arm64 child"
for ref in bench/img1:t1 bench/img2:t5 src/julia-x86_64:1 "bench/img3@$child"; do
	for cmd in inspect manifest; do
		run fresh "$CCREG" "$cmd" "$plain_ADDR/$ref"
		direct=$OUT direct_rc=$RC
		check "$cmd $ref through the proxy" fresh "$CCREG" "$cmd" "$ins_ADDR/$ref"
		is "$RC:${OUT//$ins_ADDR/REGISTRY}" "$direct_rc:${direct//$plain_ADDR/REGISTRY}" \
			"$cmd $ref: the bytes of a direct run"
	done
done
diag "inspect and manifest: $(queued "$ins_PLOG") of $(requests "$ins_PLOG") requests queued"

# --- e: token auth ----------------------------------------------------------------
stop_registry plain
start_token_registry reg "$plain_DIR" || bail_out "openssl failed"
echo '{}' >"$TEST_TMP/none.json"
NOCREDS=(--auth-file "$TEST_TMP/none.json")
check "token auth: verify direct" fresh "$CCREG" "${NOCREDS[@]}" -C "$cat" --registry "$reg_ADDR" verify
is "$OUT" "$want" "token auth: the output of the plain registry's verify"
# Every 5th request of a connection reaches the registry without its token
# (pipeproxy --drop-auth-every): a 401 challenge as for a token the registry
# no longer takes, amid pipelined answers; ccreg asks for a token again and
# retries (each request is dropped once at most).
UPSTREAM=$reg_ADDR proxy tpipe --delay-ms 200 --drop-auth-every 5
check "token auth: verify through the far proxy, some tokens refused" \
	fresh "$CCREG" "${NOCREDS[@]}" -C "$cat" --registry "$tpipe_ADDR" verify
is "$OUT" "$want" "token auth: the output is the direct verify's"
n=$(conns "$tpipe_PLOG")
ok "$((n > 0 && n <= JOBS + 2 ? 0 : 1))" "token auth: at most jobs + 2 connections ($n)"
# the challenges on requests that carried a token (not the first GET /v2/)
refused() { jq -c 'select(.seq > 0 and .status == 401 and .path != "/v2/")' "$tpipe_PLOG"; }
c401=$(refused | wc -l)
q401=$(refused | jq -s 'map(select(.queued)) | length')
diag "token auth: $c401 tokens refused, $q401 of them on queued requests; $(queued "$tpipe_PLOG") of $(requests "$tpipe_PLOG") requests queued"
ok "$((c401 >= 10 ? 0 : 1))" "token auth: the proxy had the registry refuse tokens ($c401)"
is "$(jq -rs 'map(select(.seq > 0)) | group_by([.method, .path])
	| map(select(any(.status == 401) and (last.status == 401))) | length' "$tpipe_PLOG")" 0 \
	"token auth: every refused request was asked again and answered"
ok "$((q401 > 0 ? 0 : 1))" "pipelining: a queued request was refused, then retried ($q401)"

done_testing
