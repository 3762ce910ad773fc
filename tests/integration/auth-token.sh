#!/bin/bash
# Registry token auth (distribution token-auth spec) against docker-registry
# with `auth: token` and tests/tokenserver.py: anonymous pull, refused push,
# credentials from auths / identitytoken / credential helpers, one token
# request per operation, login/logout, and no secret in -v output.
. "$(dirname "$0")/../lib.sh"
. "$SRCDIR/tests/authlib.sh"

PASS='s3cret-pw-7f3a'
PASS_B64=$(printf 'alice:%s' "$PASS" | base64 -w0)
REFRESH='refresh-tok-91c2e'

# Seed through a plain registry, then serve its storage behind token auth.
start_registry plain
seed julia-x86_64 "$plain_ADDR/sagemathinc/julia-x86_64:1.10.1" || bail_out "seed failed"
seed julia-arm64 "$plain_ADDR/sagemathinc/julia-arm64:1.10.1" || bail_out "seed failed"
stop_registry plain

make_signing_cert "$TEST_TMP/sign" || bail_out "openssl failed"
printf 'alice:%s\n' "$PASS" >"$TEST_TMP/users"
printf '%s:alice\n' "$REFRESH" >"$TEST_TMP/refresh"
start_tokenserver tok "$TEST_TMP/sign" "$TEST_TMP/users" "$TEST_TMP/refresh"
token_auth_yaml "$TEST_TMP/tok.yml" "$tok_REALM" "$TEST_TMP/sign" "$plain_DIR"
start_registry reg "$TEST_TMP/tok.yml"
R=$reg_ADDR
SRC_X=$R/sagemathinc/julia-x86_64:1.10.1
SRC_A=$R/sagemathinc/julia-arm64:1.10.1
DST=$R/sagemathinc/julia:1.10.1

is "$(curl -s -o /dev/null -w '%{http_code}' "http://$R/v2/sagemathinc/julia-x86_64/tags/list")" 401 \
	"the registry demands a token"

echo '{}' >"$TEST_TMP/none.json"
NOCREDS=(--auth-file "$TEST_TMP/none.json")
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$R" "$PASS_B64" >"$TEST_TMP/auth.json"
CREDS=(--auth-file "$TEST_TMP/auth.json")
scopes() { jq -c '[.user, .scopes, .grant_type]' "$tok_SCOPES"; }

# --- anonymous --------------------------------------------------------------
: >"$tok_SCOPES"
check "anonymous manifest" "$CCREG" "${NOCREDS[@]}" manifest "$SRC_X"
is "sha256:$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" "$(counts julia-x86_64 .manifestDigest)" \
	"anonymous manifest is the seeded one"
check "anonymous inspect" "$CCREG" "${NOCREDS[@]}" inspect "$SRC_A"
like "$OUT" 'linux/arm64' "inspect shows the platform"
is "$(scopes | head -1)" '[null,["repository:sagemathinc/julia-x86_64:pull"],null]' \
	"anonymous token request asks for pull"

: >"$tok_SCOPES"
check_exit 4 "anonymous assemble (a push) is refused with exit 4" \
	"$CCREG" "${NOCREDS[@]}" assemble --to "$DST" "$SRC_X" "$SRC_A"
like "$ERR" "^ccreg: .*not authorized for repository:sagemathinc/julia:pull,push.*no credentials found" \
	"the refusal names the missing push scope and the lack of credentials"
is "$(wc -l <"$tok_SCOPES")" 1 "anonymous assemble made one token request"
check_exit 3 "nothing was written" "$CCREG" "${CREDS[@]}" manifest "$DST"

# --- credentials from auths -------------------------------------------------
: >"$tok_SCOPES"
log_clear reg
check "assemble with credentials" "$CCREG" "${CREDS[@]}" -v assemble --to "$DST" "$SRC_X" "$SRC_A"
digest=$OUT
like "$digest" '^sha256:[0-9a-f]{64}$' "assemble printed the index digest"
verbose_log=$ERR
is "$(scopes)" \
	'["alice",["repository:sagemathinc/julia:pull,push","repository:sagemathinc/julia-arm64:pull","repository:sagemathinc/julia-x86_64:pull"],null]' \
	"one token request covers source pull, target push and mount"
like "$verbose_log" "mount=sha256" "blobs were mounted"
check "the index is there" "$CCREG" "${CREDS[@]}" digest "$DST"
is "$OUT" "$digest" "target digest is what assemble printed"
is "$(count_requests "$reg_LOG" POST '/v2/sagemathinc/julia/blobs/uploads/\?mount=.*' 401)" 0 \
	"no mount was refused"

# copy: same registry, blobs mounted, one token request
: >"$tok_SCOPES"
check_exit 4 "anonymous copy is refused with exit 4" \
	"$CCREG" "${NOCREDS[@]}" copy "$SRC_X" "$R/mirror/julia-x86_64:1.10.1"
like "$ERR" "not authorized for repository:mirror/julia-x86_64:pull,push" "the refusal names the push scope"
: >"$tok_SCOPES"
check "copy with credentials" "$CCREG" "${CREDS[@]}" -v copy "$SRC_X" "$R/mirror/julia-x86_64:1.10.1"
is "$OUT" "$(counts julia-x86_64 .manifestDigest)" "copy printed the source digest"
is "$(scopes)" \
	'["alice",["repository:mirror/julia-x86_64:pull,push","repository:sagemathinc/julia-x86_64:pull"],null]' \
	"copy: one token request covers source pull, target push and mount"
like "$ERR" "mount=sha256" "copy mounted the blobs"

# -v never shows a secret (password, its base64, tokens, Authorization values)
printf '%s\n' "$verbose_log" >"$TEST_TMP/verbose.log"
is "$(secret_leaks "$TEST_TMP/verbose.log" "$PASS" "$PASS_B64" eyJ Bearer 'Basic ' Authorization)" "" \
	"-v output holds no password, token or Authorization value"
like "$verbose_log" "GET http://127.0.0.1:$tok_PORT/token\?service=ccreg-test&scope=" "-v logs the token request"

check_exit 4 "a wrong password in the auth file gives exit 4" \
	"$CCREG" --auth-file <(printf '{"auths": {"%s": {"auth": "%s"}}}' "$R" "$(printf alice:nope | base64)") \
	manifest "$SRC_X"
like "$ERR" 'refused the credentials of user "alice"' "the message names the refused user"

# --- identity token (OAuth2 refresh token) ----------------------------------
: >"$tok_SCOPES"
printf '{"auths": {"%s": {"identitytoken": "%s"}}}\n' "$R" "$REFRESH" >"$TEST_TMP/idt.json"
check "pull with an identity token" "$CCREG" --auth-file "$TEST_TMP/idt.json" -v digest "$DST"
is "$OUT" "$digest" "identity token reads the index"
is "$(scopes)" '["alice",["repository:sagemathinc/julia:pull"],"refresh_token"]' \
	"identity token sent as an OAuth2 refresh_token grant"
printf '%s\n' "$ERR" >"$TEST_TMP/verbose-idt.log"
is "$(secret_leaks "$TEST_TMP/verbose-idt.log" "$REFRESH" eyJ)" "" "-v does not show the identity token"

# --- credential helpers -------------------------------------------------------
mkdir -p "$TEST_TMP/bin" "$TEST_TMP/helper"
cat >"$TEST_TMP/bin/docker-credential-test" <<'EOF'
#!/bin/bash
# docker-credential-helpers protocol over files in $HELPER_DIR
dir=${HELPER_DIR:?}
echo "$1" >>"$dir.calls"
key() { printf '%s' "$1" | sha256sum | cut -c1-16; }
case $1 in
get)
	IFS= read -r url
	echo "get $url" >>"$dir.calls"
	if [ -f "$dir/$(key "$url")" ]; then cat "$dir/$(key "$url")"; else echo "credentials not found in native keychain"; exit 1; fi ;;
store)
	json=$(cat)
	url=$(jq -r .ServerURL <<<"$json")
	jq -c '{ServerURL, Username, Secret}' <<<"$json" >"$dir/$(key "$url")" ;;
erase)
	IFS= read -r url
	[ -f "$dir/$(key "$url")" ] || { echo "credentials not found in native keychain"; exit 1; }
	rm -f "$dir/$(key "$url")" ;;
*) exit 2 ;;
esac
EOF
chmod +x "$TEST_TMP/bin/docker-credential-test"
export PATH="$TEST_TMP/bin:$PATH" HELPER_DIR="$TEST_TMP/helper"
printf '%s' "$R" | sha256sum | cut -c1-16 | {
	read -r k
	printf '{"ServerURL": "%s", "Username": "alice", "Secret": "%s"}\n' "$R" "$PASS" >"$HELPER_DIR/$k"
}

: >"$tok_SCOPES"
printf '{"credsStore": "test"}\n' >"$TEST_TMP/store.json"
check "pull through credsStore" "$CCREG" --auth-file "$TEST_TMP/store.json" digest "$DST"
is "$(jq -r .user "$tok_SCOPES")" alice "credsStore credentials reached the token server"
like "$(cat "$HELPER_DIR.calls")" "get $R" "the helper was asked for the registry"

: >"$tok_SCOPES"
printf '{"credHelpers": {"%s": "test"}, "auths": {"%s": {"auth": "%s"}}}\n' "$R" "$R" \
	"$(printf alice:wrong | base64)" >"$TEST_TMP/helpers.json"
check "credHelpers win over auths" "$CCREG" --auth-file "$TEST_TMP/helpers.json" manifest "$SRC_A"
is "$(jq -r .user "$tok_SCOPES")" alice "credHelpers credentials reached the token server"

check_exit 4 "a helper that has nothing means anonymous: push refused" \
	"$CCREG" --auth-file <(printf '{"credHelpers": {"%s": "test"}}' "other.example:5000") \
	assemble --to "$R/sagemathinc/other:1" "$SRC_X" "$SRC_A"

# --- login / logout ------------------------------------------------------------
CFG=$TEST_TMP/cfg/config.json
mkdir -p "$TEST_TMP/cfg"
printf '{"auths": {"other.example:5000": {"auth": "b3RoZXI6b3RoZXI="}}, "HttpHeaders": {"X-Keep": "1"}}\n' >"$CFG"
chmod 644 "$CFG"
cp "$CFG" "$TEST_TMP/cfg.orig"

: >"$tok_SCOPES"
check_exit 4 "login with a wrong password exits 4" \
	bash -c "printf 'nope\n' | '$CCREG' --auth-file '$CFG' login '$R' -u alice --password-stdin"
like "$ERR" "login to $R refused" "login names the registry"
check "a refused login stores nothing" cmp "$CFG" "$TEST_TMP/cfg.orig"
is "$(jq -r .user "$tok_SCOPES")" null "the wrong password was checked at the token server"

check "login" bash -c "printf '%s\n' '$PASS' | '$CCREG' --auth-file '$CFG' login '$R' -u alice --password-stdin"
is "$OUT" "" "login prints nothing on stdout"
is "$(stat -c %a "$CFG")" 600 "the auth file has mode 0600"
is "$(jq -r --arg r "$R" '.auths[$r].auth' "$CFG")" "$PASS_B64" "login stored base64 user:password"
is "$(jq -r '.auths["other.example:5000"].auth + " " + .HttpHeaders["X-Keep"]' "$CFG")" "b3RoZXI6b3RoZXI= 1" \
	"other entries and keys are kept"
check "the stored login authenticates a push" "$CCREG" --auth-file "$CFG" \
	assemble --to "$R/sagemathinc/julia:login" "$SRC_X" "$SRC_A"
is "$(ls "$TEST_TMP/cfg")" config.json "no temporary file left beside the auth file"

check "logout" "$CCREG" --auth-file "$CFG" logout "$R"
is "$(jq -r --arg r "$R" '.auths | has($r)' "$CFG")" false "logout removed the entry"
is "$(jq -r '.auths["other.example:5000"].auth + " " + .HttpHeaders["X-Keep"]' "$CFG")" "b3RoZXI6b3RoZXI= 1" \
	"logout kept the other entries"
check "logout when not logged in exits 0" "$CCREG" --auth-file "$CFG" logout "$R"
like "$ERR" "Not logged in to $R" "and says so"

# login through a credential store: the secret goes to the helper
rm -f "$HELPER_DIR"/*
printf '{"credsStore": "test"}\n' >"$CFG"
check "login into credsStore" bash -c "printf '%s' '$PASS' | '$CCREG' --auth-file '$CFG' login '$R' -u alice --password-stdin"
is "$(jq -c --arg r "$R" '.auths[$r]' "$CFG")" '{}' "the file records the login without the secret"
is "$(cat "$HELPER_DIR"/* | jq -r .Secret)" "$PASS" "the helper stored the secret"
check_exit 1 "the secret is not in the file" grep -qF "$PASS" "$CFG"
check "logout from credsStore" "$CCREG" --auth-file "$CFG" logout "$R"
is "$(ls "$HELPER_DIR" | wc -l)" 0 "the helper erased the secret"

# default file: $DOCKER_CONFIG/config.json (and REGISTRY_AUTH_FILE before it)
export DOCKER_CONFIG=$TEST_TMP/dockercfg
check "login writes \$DOCKER_CONFIG/config.json by default" \
	bash -c "printf '%s' '$PASS' | '$CCREG' login '$R' -u alice --password-stdin"
is "$(jq -r --arg r "$R" '.auths[$r].auth' "$DOCKER_CONFIG/config.json")" "$PASS_B64" "stored there"
is "$(stat -c %a "$DOCKER_CONFIG/config.json")" 600 "with mode 0600"
check "the default lookup finds it" "$CCREG" assemble --to "$R/sagemathinc/julia:default" "$SRC_X" "$SRC_A"

check_exit 2 "login without --password-stdin is a usage error" "$CCREG" login "$R" -u alice
check_exit 2 "login -p is refused" "$CCREG" login "$R" -u alice -p x

done_testing
