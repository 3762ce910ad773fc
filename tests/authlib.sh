# tests/authlib.sh: servers for the registry-access tests (source after lib.sh).
#
#   wait_http URL [CURL_ARGS...]   until URL answers anything (bounded: 10 s)
#   make_signing_cert DIR          DIR/key.pem + DIR/cert.pem (RSA, self-signed)
#   make_test_ca DIR               DIR/ca.pem, DIR/server.{key,pem} for 127.0.0.1
#                                  signed by the CA
#   start_tokenserver NAME DIR USERS [REFRESH [ADDR]]
#                                  tests/tokenserver.py with DIR's key/cert, on ADDR
#                                  (default 127.0.0.1); sets NAME_PORT, NAME_REALM,
#                                  NAME_SCOPES (request log)
#   token_auth_yaml FILE REALM DIR ROOT
#                                  registry config snippet: auth: token, storage ROOT
#   start_token_registry NAME ROOT a token server `tok` (user alice, password pw) and
#                                  docker-registry NAME with auth: token over storage
#                                  ROOT (start_registry's NAME_* variables)
#   tls_proxy_conf CONF DIR PORT UPSTREAM CA [h2]
#                                  nginx config: TLS on 127.0.0.1:PORT with CA's
#                                  server.{pem,key} (make_test_ca), proxying to
#                                  UPSTREAM, DIR for its files, DIR/access.log lines
#                                  '$connection $server_protocol "$request" $status
#                                  "$http_user_agent"'; h2: also HTTP/2
#   start_nginx NAME CONF          nginx (as we are) with CONF; logs in TEST_TMP/NAME
#   secret_leaks FILE SECRET...    prints the secrets FILE contains

start_token_registry()
{
	make_signing_cert "$TEST_TMP/sign" || return 1
	printf 'alice:pw\n' >"$TEST_TMP/users"
	start_tokenserver tok "$TEST_TMP/sign" "$TEST_TMP/users"
	token_auth_yaml "$TEST_TMP/tok.yml" "$tok_REALM" "$TEST_TMP/sign" "$2"
	start_registry "$1" "$TEST_TMP/tok.yml"
}

wait_http()
{
	local url=$1 i code
	shift
	for ((i = 0; i < 100; i++)); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$@" "$url" 2>/dev/null)
		[ -n "$code" ] && [ "$code" != 000 ] && return 0
		sleep 0.1
	done
	return 1
}

make_signing_cert()
{
	mkdir -p "$1"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ccreg test token signer" \
		-keyout "$1/key.pem" -out "$1/cert.pem" >/dev/null 2>&1
}

make_test_ca()
{
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ccreg test CA" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		-keyout "$d/ca.key" -out "$d/ca.pem" >/dev/null 2>&1 || return 1
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
		-keyout "$d/server.key" -out "$d/server.csr" >/dev/null 2>&1 || return 1
	printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
		>"$d/ext.cnf"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/ext.cnf" -out "$d/server.pem" >/dev/null 2>&1
}

start_tokenserver()
{
	local name=$1 dir=$2 users=$3 refresh=${4:-} addr=${5:-127.0.0.1} port extra=() attempt
	[ -n "$refresh" ] && extra=(--refresh "$refresh")
	for ((attempt = 0; attempt < 5; attempt++)); do
		port=$(free_port)
		: >"$TEST_TMP/$name.scopes"
		spawn "$name" "$TEST_TMP/$name.log" $PY "$SRCDIR/tests/tokenserver.py" --addr "$addr" --port "$port" \
			--key "$dir/key.pem" --cert "$dir/cert.pem" --users "$users" \
			--issuer ccreg-test-issuer --service ccreg-test --log "$TEST_TMP/$name.scopes" "${extra[@]}"
		if wait_http "http://$addr:$port/token?service=ccreg-test"; then
			printf -v "${name}_PORT" '%s' "$port"
			printf -v "${name}_REALM" '%s' "http://$addr:$port/token"
			printf -v "${name}_SCOPES" '%s' "$TEST_TMP/$name.scopes"
			: >"$TEST_TMP/$name.scopes"
			return 0
		fi
		stop "$name"
	done
	diag "$(tail -n 20 "$TEST_TMP/$name.log")"
	bail_out "token server $name did not start"
}

token_auth_yaml()
{
	cat >"$1" <<EOF
storage:
  filesystem:
    rootdirectory: $4
auth:
  token:
    realm: $2
    service: ccreg-test
    issuer: ccreg-test-issuer
    rootcertbundle: $3/cert.pem
EOF
}

tls_proxy_conf()
{
	local conf=$1 n=$2 port=$3 upstream=$4 ca=$5 h2=${6:-} listen h2on=""
	listen="listen 127.0.0.1:$port ssl;"
	if [ -n "$h2" ]; then
		# nginx 1.25.1 and later spell it `http2 on;`, older ones `listen … http2`
		if nginx -v 2>&1 | grep -qE 'nginx/(1\.(2[5-9]|[3-9][0-9])|[2-9])\.'; then
			h2on="http2 on;"
		else
			listen="listen 127.0.0.1:$port ssl http2;"
		fi
	fi
	cat >"$conf" <<EOF
pid $n/nginx.pid;
error_log $n/error.log;
events { worker_connections 256; }
http {
	log_format conns '\$connection \$server_protocol "\$request" \$status "\$http_user_agent"';
	access_log $n/access.log conns;
	client_body_temp_path $n/body;
	proxy_temp_path $n/proxy;
	fastcgi_temp_path $n/fastcgi;
	uwsgi_temp_path $n/uwsgi;
	scgi_temp_path $n/scgi;
	client_max_body_size 0;
	server {
		$listen
		$h2on
		ssl_certificate $ca/server.pem;
		ssl_certificate_key $ca/server.key;
		location / {
			proxy_pass http://$upstream;
			proxy_set_header Host \$http_host;
			proxy_set_header X-Forwarded-Proto https;
			proxy_request_buffering off;
			proxy_buffering off;
			proxy_http_version 1.1;
		}
	}
}
EOF
}

start_nginx()
{
	local name=$1 conf=$2
	command -v nginx >/dev/null || bail_out "nginx is not installed"
	mkdir -p "$TEST_TMP/$name"
	spawn "$name" "$TEST_TMP/$name/stderr.log" nginx -e "$TEST_TMP/$name/error.log" \
		-p "$TEST_TMP/$name" -c "$conf" -g 'daemon off; master_process off;'
}

secret_leaks()
{
	local f=$1 s
	shift
	for s in "$@"; do
		grep -qF -- "$s" "$f" && printf '%s\n' "$s"
	done
	return 0
}
