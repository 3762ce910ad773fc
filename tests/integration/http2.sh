#!/bin/bash
# HTTP/2 (issue 13): nginx speaking TLS (the test CA) and HTTP/2 in front of
# docker-registry.  `ccreg verify --jobs 8` of many tags sends its requests
# as HTTP/2 streams over one connection (plus the TLS probe's), as nginx's
# log shows ($connection, $server_protocol); a pull over it is byte-exact.
. "$(dirname "$0")/../lib.sh"
. "$SRCDIR/tests/authlib.sh"

TAGS=60

start_registry reg
seed julia-x86_64 "$reg_ADDR/src/julia-x86_64:1" || bail_out "seed failed"
seed julia-arm64 "$reg_ADDR/src/julia-arm64:1" || bail_out "seed failed"
also=()
for ((t = 2; t <= TAGS; t++)); do
	also+=(--also-tag "t$t")
done
"$CCREG" -q assemble --to "$reg_ADDR/many/img:t1" "${also[@]}" \
	"$reg_ADDR/src/julia-x86_64:1" "$reg_ADDR/src/julia-arm64:1" >/dev/null ||
	bail_out "assemble failed"
cat=$TEST_TMP/images.json
{
	printf '{ "img": { "package": "many/img", "versions": ['
	for ((t = 1; t <= TAGS; t++)); do
		[ "$t" -gt 1 ] && printf ','
		printf '\n  { "tag": "t%d", "tested": true }' "$t"
	done
	printf '\n] } }\n'
} >"$cat"

make_test_ca "$TEST_TMP/ca" || bail_out "openssl failed"
N=$TEST_TMP/nginx
mkdir -p "$N"
PORT=$(free_port)
# nginx 1.25.1 and later spell it `http2 on;`; older ones take `listen … http2`
listen="listen 127.0.0.1:$PORT ssl http2;"
h2on=""
if nginx -V 2>&1 | grep -qE 'nginx/(1\.(2[5-9]|[3-9][0-9])|[2-9])\.'; then
	listen="listen 127.0.0.1:$PORT ssl;"
	h2on="http2 on;"
fi
cat >"$N/nginx.conf" <<EOF
pid $N/nginx.pid;
error_log $N/error.log;
events { worker_connections 64; }
http {
	log_format conns '\$connection \$server_protocol "\$request" \$status "\$http_user_agent"';
	access_log $N/access.log conns;
	client_body_temp_path $N/body;
	proxy_temp_path $N/proxy;
	fastcgi_temp_path $N/fastcgi;
	uwsgi_temp_path $N/uwsgi;
	scgi_temp_path $N/scgi;
	client_max_body_size 0;
	server {
		$listen
		$h2on
		ssl_certificate $TEST_TMP/ca/server.pem;
		ssl_certificate_key $TEST_TMP/ca/server.key;
		location / {
			proxy_pass http://$reg_ADDR;
			proxy_set_header Host \$http_host;
			proxy_set_header X-Forwarded-Proto https;
			proxy_request_buffering off;
			proxy_buffering off;
			proxy_http_version 1.1;
		}
	}
}
EOF
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
check "pull over HTTP/2" "${C[@]}" pull "$T/src/julia-x86_64:1" "oci:$TEST_TMP/out:v1"
is "$OUT" "$(counts julia-x86_64 .manifestDigest)" "the pulled digest is the fixture's"
bad=0
for f in "$FIXTURES"/julia-x86_64/blobs/sha256/*; do
	cmp -s "$f" "$TEST_TMP/out/blobs/sha256/${f##*/}" || { bad=$((bad + 1)); diag "differs: ${f##*/}"; }
done
is "$bad" 0 "every blob pulled is byte-exact"
sleep 0.3
is "$(ours | grep -vc ' HTTP/2.0 ')" 0 "the pull's requests were HTTP/2.0 too"

check "copy over HTTP/2" "${C[@]}" copy "$T/many/img:t1" "$T/copied/img:1"
check "the copy reads back" "${C[@]}" digest "$T/copied/img:1"
is "$OUT" "$("${C[@]}" digest "$T/many/img:t1")" "the copy has the source's digest"

done_testing
