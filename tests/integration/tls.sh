#!/bin/bash
# TLS: nginx terminating TLS (certificate from a test CA made here) in front
# of docker-registry.  Works with --ca-file, SSL_CERT_FILE and SSL_CERT_DIR;
# without the CA it fails with exit 3 naming the certificate problem and
# never falls back to plain HTTP (nothing reaches nginx or the registry).
. "$(dirname "$0")/../lib.sh"
. "$SRCDIR/tests/authlib.sh"

start_registry reg
seed julia-x86_64 "$reg_ADDR/sagemathinc/julia-x86_64:1.10.1" || bail_out "seed failed"
seed julia-arm64 "$reg_ADDR/sagemathinc/julia-arm64:1.10.1" || bail_out "seed failed"

make_test_ca "$TEST_TMP/ca" || bail_out "openssl failed"
N=$TEST_TMP/nginx
mkdir -p "$N"
PORT=$(free_port)
tls_proxy_conf "$N/nginx.conf" "$N" "$PORT" "$reg_ADDR" "$TEST_TMP/ca"
start_nginx nginx "$N/nginx.conf"
wait_http "https://127.0.0.1:$PORT/v2/" --cacert "$TEST_TMP/ca/ca.pem" ||
	{ diag "$(cat "$N/error.log" "$TEST_TMP/nginx/stderr.log" 2>/dev/null)"; bail_out "nginx did not start"; }
T=127.0.0.1:$PORT
SRC=$T/sagemathinc/julia-x86_64:1.10.1
want=$(counts julia-x86_64 .manifestDigest)

check_exit 3 "an unknown CA fails with exit 3" "$CCREG" -v digest "$SRC"
like "$ERR" "ccreg: .*$T.*certificate" "the message names the certificate problem"
like "$ERR" "TLS certificate verification failed: SSL certificate problem: unable to get local issuer certificate \(use --ca-file" \
	"the message explains and suggests --ca-file"
check_exit 1 "and does not fall back to plain HTTP" grep -q "plain HTTP" <<<"$ERR"
# ccreg's requests (by User-Agent: the start-up probe's log lines may land
# late): at most the TLS probe GET /v2/ (which checks only that the port
# speaks TLS), never the request itself, and nothing in plain HTTP (nginx
# logs 400 for plain HTTP sent to its TLS port).
_log_sync "$reg_LOG"
sleep 0.3
is "$(grep 'ccreg/' "$N/access.log" | grep -vc '"GET /v2/ HTTP/1.1" 200 ')" 0 \
	"the request itself never reached nginx"
is "$(grep -c '" 400 ' "$N/access.log")" 0 "no plain-HTTP request reached the TLS port"
is "$(grep 'ccreg/' "$reg_LOG" | grep -vc '"GET /v2/ HTTP/1.1"')" 0 "nor the registry behind it"

check "--ca-file trusts the test CA" "$CCREG" --ca-file "$TEST_TMP/ca/ca.pem" -v digest "$SRC"
is "$OUT" "$want" "digest over TLS"
like "$ERR" "(HEAD|GET) https://$T/v2/" "the requests went over HTTPS"
check_exit 1 "no plain HTTP used" grep -q "http://$T" <<<"$ERR"

check "SSL_CERT_FILE trusts the test CA" env SSL_CERT_FILE="$TEST_TMP/ca/ca.pem" "$CCREG" digest "$SRC"
is "$OUT" "$want" "digest with SSL_CERT_FILE"

mkdir -p "$TEST_TMP/certdir"
cp "$TEST_TMP/ca/ca.pem" "$TEST_TMP/certdir/"
openssl rehash "$TEST_TMP/certdir" >/dev/null 2>&1
check "SSL_CERT_DIR trusts the test CA" env SSL_CERT_DIR="$TEST_TMP/certdir" "$CCREG" digest "$SRC"
is "$OUT" "$want" "digest with SSL_CERT_DIR"

check "--insecure skips verification" "$CCREG" --insecure digest "$SRC"
is "$OUT" "$want" "digest with --insecure"

check_exit 2 "an unreadable --ca-file is a usage error" "$CCREG" --ca-file "$TEST_TMP/nope.pem" digest "$SRC"

check "a push over TLS" "$CCREG" --ca-file "$TEST_TMP/ca/ca.pem" \
	assemble --to "$T/sagemathinc/julia:1.10.1" "$SRC" "$T/sagemathinc/julia-arm64:1.10.1"
digest=$OUT
check "read back" "$CCREG" --ca-file "$TEST_TMP/ca/ca.pem" digest "$T/sagemathinc/julia:1.10.1"
is "$OUT" "$digest" "the pushed index is served over TLS"

# A server speaking TLS with a certificate for another name: also no fallback.
check_exit 3 "a certificate for another host name is refused" \
	"$CCREG" --ca-file "$TEST_TMP/ca/ca.pem" digest "localhost:$PORT/sagemathinc/julia-x86_64:1.10.1"
check "…and accepted for the name it carries" \
	"$CCREG" --ca-file "$TEST_TMP/ca/ca.pem" digest "127.0.0.1:$PORT/sagemathinc/julia-x86_64:1.10.1"

done_testing
