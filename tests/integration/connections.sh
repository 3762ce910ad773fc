#!/bin/bash
# Connections (issue 13): `ccreg verify --jobs 4` over a catalog of 150
# tested tags opens at most jobs + 2 connections to the registry (counted by
# tests/conncount.py in front of it): small requests share keep-alive
# connections across threads (registry/mux.c).  The tags share one index,
# read with one GET (single flight by digest).  The scheme probe and GET
# /v2/ happen once per host per run, and with token auth each token scope is
# asked for once, never per tag.
. "$(dirname "$0")/../lib.sh"
. "$SRCDIR/tests/authlib.sh"

JOBS=4
REPOS=3 # 150 tags: one 2-platform index under 50 tags in each repository

start_registry plain
cat=$TEST_TMP/images.json
verify_catalog "$plain_ADDR" 150 "$REPOS" "$cat" || bail_out "cannot make the catalog"
is "$(jq '[.[].versions[] | select(.tested)] | length' "$cat")" 150 "the catalog has 150 tested tags"

# start_counter NAME TARGET: tests/conncount.py in front of TARGET; sets
# NAME_ADDR and NAME_CONNS (its log: one line per accepted connection).
start_counter()
{
	local name=$1 target=$2 port i
	port=$(free_port)
	: >"$TEST_TMP/$name.conns"
	spawn "$name" "$TEST_TMP/$name.err" $PY "$SRCDIR/tests/conncount.py" \
		--port "$port" --target "$target" --log "$TEST_TMP/$name.conns"
	wait_http "http://127.0.0.1:$port/v2/" || bail_out "conncount $name did not start"
	: >"$TEST_TMP/$name.conns"
	printf -v "${name}_ADDR" '%s' "127.0.0.1:$port"
	printf -v "${name}_CONNS" '%s' "$TEST_TMP/$name.conns"
}

# ccreg's requests for /v2/ itself in an access log
pings() { grep 'ccreg/' "$1" | grep -c '"GET /v2/ HTTP/1.1"'; }

# --- plain HTTP, no auth ----------------------------------------------------------
start_counter cnt "$plain_ADDR"
log_clear plain
check "verify --jobs $JOBS of 150 tags through the counting proxy" \
	"$CCREG" -v -j "$JOBS" -C "$cat" --registry "$cnt_ADDR" verify
is "$(grep -cE ' ok +$' <<<"$OUT")" 150 "all 150 tags verified"
conns=$(wc -l <"$cnt_CONNS")
diag "connections: $conns"
ok "$((conns > 0 && conns <= JOBS + 2 ? 0 : 1))" "at most jobs + 2 connections ($conns)"
_log_sync "$plain_LOG"
is "$(pings "$plain_LOG")" 1 "GET /v2/ asked once in the run"
is "$(grep -c 'does not speak TLS' <<<"$ERR")" 1 "the scheme probe ran once"
is "$(count_requests "$plain_LOG" 'HEAD' '/v2/bench/img[0-9]+/manifests/t[0-9]+')" 150 \
	"one HEAD per tested tag"
# the 150 tags share one index: one GET of it (a pull on Docker Hub), the
# other threads that HEADed the same digest wait for it and read the cache
is "$(count_requests "$plain_LOG" 'GET' '/v2/bench/img[0-9]+/manifests/.*')" 1 \
	"one manifest GET for the shared index (single flight by digest)"

# The same with --jobs 1: one connection for the registry (and the probe).
: >"$cnt_CONNS"
check "verify --jobs 1" "$CCREG" -j 1 -C "$cat" --registry "$cnt_ADDR" verify
conns=$(wc -l <"$cnt_CONNS")
ok "$((conns > 0 && conns <= 3 ? 0 : 1))" "--jobs 1: at most 3 connections ($conns)"
stop cnt
stop_registry plain

# --- token auth -----------------------------------------------------------------
start_token_registry reg "$plain_DIR" || bail_out "openssl failed"
start_counter cnt "$reg_ADDR"
: >"$tok_SCOPES"
log_clear reg
echo '{}' >"$TEST_TMP/none.json"
check "verify --jobs $JOBS with token auth" \
	"$CCREG" -v --auth-file "$TEST_TMP/none.json" -j "$JOBS" -C "$cat" --registry "$cnt_ADDR" verify
is "$(grep -cE ' ok +$' <<<"$OUT")" 150 "all 150 tags verified with token auth"
conns=$(wc -l <"$cnt_CONNS")
diag "connections: $conns"
ok "$((conns > 0 && conns <= JOBS + 2 ? 0 : 1))" "token auth: at most jobs + 2 connections ($conns)"
# one token per repository: the catalog's, and the per-architecture ones
# verify looks at for stale tags
tokens=$(wc -l <"$tok_SCOPES")
scopes=$(jq -c .scopes "$tok_SCOPES" | sort -u | wc -l)
ok "$((tokens >= REPOS && tokens <= 3 * REPOS ? 0 : 1))" "at most 3 token requests per repository ($tokens)" ||
	diag "$(cat "$tok_SCOPES")"
is "$scopes" "$tokens" "no scope was asked for twice"
_log_sync "$reg_LOG"
is "$(grep 'ccreg/' "$reg_LOG" | grep '"GET /v2/ HTTP/1.1"' | grep -vc '" 401 ')" 1 \
	"GET /v2/ answered once with the token"
ok "$(($(pings "$reg_LOG") <= 2 ? 0 : 1))" "GET /v2/ at most twice (the 401 challenge and the retry)"
is "$(grep -c 'does not speak TLS' <<<"$ERR")" 1 "the scheme probe ran once"

done_testing
