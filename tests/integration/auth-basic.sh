#!/bin/bash
# Basic auth against docker-registry with `auth: htpasswd` (bcrypt): reads and
# pushes with credentials, exit 4 without or with a wrong password (and no
# retry loop), login checks the password, -v never shows it.
. "$(dirname "$0")/../lib.sh"
. "$SRCDIR/tests/authlib.sh"

PASS='hunter2-pw-c41d'
PASS_B64=$(printf 'bob:%s' "$PASS" | base64 -w0)

start_registry plain
seed julia-x86_64 "$plain_ADDR/sagemathinc/julia-x86_64:1.10.1" || bail_out "seed failed"
seed julia-arm64 "$plain_ADDR/sagemathinc/julia-arm64:1.10.1" || bail_out "seed failed"
stop_registry plain

htpasswd -Bbn bob "$PASS" >"$TEST_TMP/htpasswd" || bail_out "htpasswd failed"
cat >"$TEST_TMP/ht.yml" <<EOF
storage:
  filesystem:
    rootdirectory: $plain_DIR
auth:
  htpasswd:
    realm: ccreg-test
    path: $TEST_TMP/htpasswd
EOF
start_registry reg "$TEST_TMP/ht.yml"
R=$reg_ADDR
SRC=$R/sagemathinc/julia-x86_64:1.10.1

echo '{}' >"$TEST_TMP/none.json"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$R" "$PASS_B64" >"$TEST_TMP/auth.json"
printf '{"auths": {"http://%s/v2/": {"username": "bob", "password": "wrong-pw"}}}\n' "$R" >"$TEST_TMP/bad.json"

check_exit 4 "anonymous read is refused with exit 4" "$CCREG" --auth-file "$TEST_TMP/none.json" manifest "$SRC"
like "$ERR" "^ccreg: .*authentication required on $R .*no credentials found" "the message says why"

log_clear reg
check "read with credentials" "$CCREG" --auth-file "$TEST_TMP/auth.json" -v manifest "$SRC"
is "sha256:$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" "$(counts julia-x86_64 .manifestDigest)" \
	"the manifest is the seeded one"
printf '%s\n' "$ERR" >"$TEST_TMP/v.log"
is "$(secret_leaks "$TEST_TMP/v.log" "$PASS" "$PASS_B64" 'Basic ' Authorization)" "" "-v shows no password"
is "$(count_requests "$reg_LOG" GET '/v2/sagemathinc/julia-x86_64/manifests/1.10.1' 200)" 1 "one authorized GET"

log_clear reg
# (--no-cache: GETs only, no HEAD for the manifest cache first)
check_exit 4 "a wrong password gives exit 4" "$CCREG" --no-cache --auth-file "$TEST_TMP/bad.json" manifest "$SRC"
like "$ERR" "^ccreg: sagemathinc/julia-x86_64:1.10.1: .* on $R" "the message names the reference and host"
is "$(count_requests "$reg_LOG" GET '/v2/sagemathinc/julia-x86_64/manifests/1.10.1' 401)" 2 \
	"refused credentials are not retried (one anonymous, one with the password)"

check "push (assemble) with Basic credentials" "$CCREG" --auth-file "$TEST_TMP/auth.json" \
	assemble --to "$R/sagemathinc/julia:1.10.1" "$SRC" "$R/sagemathinc/julia-arm64:1.10.1"
digest=$OUT
check "the index is there" "$CCREG" --auth-file "$TEST_TMP/auth.json" digest "$R/sagemathinc/julia:1.10.1"
is "$OUT" "$digest" "digest matches"

CFG=$TEST_TMP/login.json
check_exit 4 "login with a wrong password exits 4" \
	bash -c "printf 'nope' | '$CCREG' --auth-file '$CFG' login '$R' -u bob --password-stdin"
check_exit 1 "and stores nothing" test -e "$CFG"
check "login with the right password" \
	bash -c "printf '%s\n' '$PASS' | '$CCREG' --auth-file '$CFG' login 'http://$R/' -u bob --password-stdin"
is "$(jq -r --arg r "$R" '.auths[$r].auth' "$CFG")" "$PASS_B64" "stored under the host (scheme and path dropped)"
is "$(stat -c %a "$CFG")" 600 "mode 0600"
check "the stored login reads" "$CCREG" --auth-file "$CFG" digest "$R/sagemathinc/julia:1.10.1"

done_testing
