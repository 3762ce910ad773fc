#!/bin/bash
# Hostile registries (issue 14): tests/hostile.py serves one malicious
# behaviour per scenario, and every ccreg run against it is held to the same
# rules: it ends within a wall-clock limit (15 s, 30 s when the server sends
# without end) with the contract's exit code, its peak RSS stays under
# 100 MB, it leaves no temporary or unverified file behind, and neither
# stdout nor stderr carries a secret or an ESC byte.  Request counts come
# from the server's own log.
. "$(dirname "$0")/../lib.sh"

T=$TEST_TMP
export XDG_CACHE_HOME=$T/cache
mkdir -p "$T/bodies" "$T/outside"

# Limits: under ASan+UBSan (shadow memory, a 256 MB quarantine, slower code)
# the memory bound is looser and the clock slower; under a wrapper
# (valgrind) memory is not measured.
RSS_LIMIT_MB=100 TIME_MULT=1
if ldd "${CCREG_REAL:-$CCREG}" 2>/dev/null | grep -q libasan; then
	RSS_LIMIT_MB=600 TIME_MULT=3
fi
[ -n "${CCREG_WRAPPER:-}" ] && TIME_MULT=6

# ---------------------------------------------------------------- servers

HLOG=$T/hostile.log
: >"$HLOG"
start_proxy -w 60 hostile hostile.py --log "$HLOG" --bodies "$T/bodies"
H=127.0.0.1:$hostile_PORTS
diag "hostile registry at $H"
start_registry dst
D=$dst_ADDR

# Secrets the scenarios hand out (tests/hostile.py): none may reach output.
PASSWORD=hostile-pw-5ecret
BASIC=$(printf 'hostile-user:%s' "$PASSWORD" | base64 -w0)
SECRETS=("$PASSWORD" "$BASIC" tok-expires-5ecret tok-echo-5ecret goodtoken TTTTTTTTTTTTTTTT hunter2)
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$H" "$BASIC" >"$T/auth.json"
A=(--auth-file "$T/auth.json")

# The digests of good/img:1 (every scenario's blobs come from the same store).
GOOD=$(curl -s "http://$H/v2/good/img/manifests/1")
CONFIG=$(jq -r .config.digest <<<"$GOOD")
LAYER=$(jq -r '.layers[0].digest' <<<"$GOOD")
BIGLAYER=$(curl -s "http://$H/v2/slow/img/manifests/1" | jq -r '.layers[1].digest')

# ---------------------------------------------------------------- harness

# hrun LIMIT CMD...: CMD under a wall-clock limit (seconds) and
# /usr/bin/time -v.  Sets RC (124 when the limit was hit), OUTF and ERRF
# (stdout kept up to 32 MiB, the rest read and dropped, so an endless
# writer neither fills the disk nor sees a closed pipe), OUT and ERR (their
# first 64 KiB), RSS_MB, and MARK (the server log's length before the run).
hrun()
{
	local limit=$(($1 * TIME_MULT))
	shift
	MARK=$(wc -l <"$HLOG")
	OUTF=$T/run.out ERRF=$T/run.err
	rm -f "$T/run.time" "$T/run.rc"
	{
		/usr/bin/time -v -o "$T/run.time" timeout -k 5 "$limit" "$@" 2>"$ERRF"
		echo $? >"$T/run.rc"
	} | {
		head -c 32M >"$OUTF"
		cat >/dev/null
	}
	RC=$(cat "$T/run.rc")
	RSS_MB=$(($(awk -F': ' '/Maximum resident set size/ {print $2}' "$T/run.time" 2>/dev/null || echo 0) / 1024))
	OUT=$(head -c 65536 "$OUTF" | tr -d '\0')
	ERR=$(head -c 65536 "$ERRF" | tr -d '\0')
}

# scenario NAME LIMIT WANT [--raw] CMD...: hrun, then the checks every run
# gets: exit code WANT, bounded memory, no sanitizer report, no secret in
# stdout or stderr, no ESC in stderr nor (without --raw, for commands that
# print bytes as served) in stdout.
scenario()
{
	local name=$1 limit=$2 want=$3 raw=0 s f bad
	shift 3
	[ "$1" = --raw ] && { raw=1; shift; }
	hrun "$limit" "$@"
	if [ "$RC" = "$want" ]; then
		ok 0 "$name: exit $want"
	else
		ok 1 "$name: exit $want"
		[ "$RC" = 124 ] && diag "killed after the wall-clock limit of $((limit * TIME_MULT)) s"
		diag "command: $*"
		diag "exit status: $RC; stderr: ${ERR:0:600}"
	fi
	if [ -z "${CCREG_WRAPPER:-}" ]; then
		[ "$RSS_MB" -lt "$RSS_LIMIT_MB" ]
		ok $? "$name: peak RSS ${RSS_MB} MB < $RSS_LIMIT_MB MB"
	fi
	! grep -qE 'runtime error:|AddressSanitizer|LeakSanitizer' "$ERRF"
	ok $? "$name: no sanitizer report" || diag "$(grep -E -m3 'runtime error:|Sanitizer' "$ERRF")"
	bad=
	for s in "${SECRETS[@]}"; do
		for f in "$OUTF" "$ERRF"; do
			grep -qF -- "$s" "$f" && bad+=" ${s:0:12}… in ${f##*/}"
		done
	done
	ok "$([ -z "$bad" ]; echo $?)" "$name: no secret in stdout or stderr" || diag "found:$bad"
	f=$ERRF
	[ $raw = 0 ] && f+=" $OUTF"
	# shellcheck disable=SC2086
	! LC_ALL=C grep -q $'\x1b' $f
	ok $? "$name: no ESC byte in output" || diag "$(LC_ALL=C grep -a $'\x1b' $f | cat -v | head -3)"
}

# hits METHOD PATH_RE [HEADER_RE]: requests the server logged since the last
# run began whose method and path (with query) match, as wholes; with
# HEADER_RE, only those with a header "Name: value" matching it (any case).
hits()
{
	$PY - "$HLOG" "$MARK" "$@" <<'EOF'
import json, re, sys
log, mark, method, path = sys.argv[1:5]
hdr = sys.argv[5] if len(sys.argv) > 5 else None
n = 0
with open(log, errors="replace") as f:
    for i, line in enumerate(f):
        if i < int(mark):
            continue
        r = json.loads(line)
        if not re.fullmatch(method, r["method"]) or not re.fullmatch(path, r["path"]):
            continue
        if hdr and not any(re.fullmatch(hdr, "%s: %s" % kv, re.I | re.S)
                           for kv in r["headers"].items()):
            continue
        n += 1
print(n)
EOF
}

# most_per_path METHOD PATH_RE: the most requests any one matching path got.
most_per_path()
{
	$PY - "$HLOG" "$MARK" "$@" <<'EOF'
import collections, json, re, sys
log, mark, method, path = sys.argv[1:5]
c = collections.Counter()
with open(log, errors="replace") as f:
    for i, line in enumerate(f):
        r = json.loads(line)
        if i >= int(mark) and re.fullmatch(method, r["method"]) and re.fullmatch(path, r["path"]):
            c[r["path"]] += 1
print(max(c.values()) if c else 0)
EOF
}

# leftovers DIR...: temporary files (*.tmp*, *.ccreg-*) under the DIRs
leftovers()
{
	find "$@" \( -name '*.tmp*' -o -name '*.ccreg-*' \) -print 2>/dev/null
}

# no_leftovers NAME DIR...
no_leftovers()
{
	local name=$1 left
	shift
	left=$(leftovers "$@")
	ok "$([ -z "$left" ]; echo $?)" "$name: no temporary file left" || diag "$left"
}

# layout_verified NAME DIR: every blob in an OCI layout hashes to its name
layout_verified()
{
	local name=$1 dir=$2 f bad=
	for f in "$dir"/blobs/sha256/*; do
		[ -f "$f" ] || continue
		[ "$(sha256sum <"$f" | cut -d' ' -f1)" = "${f##*/}" ] || bad+=" ${f##*/}"
	done
	ok "$([ -z "$bad" ]; echo $?)" "$name: every blob under its final name verified" || diag "bad:$bad"
}

# ---------------------------------------------------------------- 1. nested indexes

scenario "nest: pull of 4 nested indexes of 10 identical entries" 15 0 \
	"$CCREG" -q pull "$H/nest/img:top" "oci:$T/nest:top"
n=$(hits GET '/v2/nest/img/manifests/.*')
ok "$([ "$n" -le 6 ]; echo $?)" "nest: $n manifest GETs (5 distinct documents)"
is "$(most_per_path GET '/v2/nest/img/manifests/.*')" 1 "nest: each manifest fetched once"
scenario "nest: copy" 15 0 "$CCREG" -q copy "$H/nest/img:top" "$D/nest/img:top"
n=$(hits GET '/v2/nest/img/manifests/.*')
ok "$([ "$n" -le 6 ]; echo $?)" "nest: copy made $n manifest GETs"
scenario "deep: a chain of 12 nested indexes" 15 3 "$CCREG" -q pull "$H/deep/img:top" "oci:$T/deep:top"
like "$ERR" 'deep/img:top.*nested too deep \(more than 8' "deep: the error names the reference and the depth limit"
n=$(hits GET '/v2/deep/img/manifests/.*')
ok "$([ "$n" -le 10 ]; echo $?)" "deep: $n manifest GETs"
scenario "wide: an index of 10,001 manifests" 15 3 "$CCREG" -q pull "$H/wide/img:top" "oci:$T/wide:top"
like "$ERR" 'wide/img:top.*more than 10000 manifests' "wide: the error names the reference and the limit"
n=$(hits GET '/v2/wide/img/manifests/.*')
ok "$([ "$n" -le 5 ]; echo $?)" "wide: $n manifest GETs"

# ---------------------------------------------------------------- 2. tags

scenario "tagsbig: endless 4 MB tag pages" 30 3 "$CCREG" tags "$H/tagsbig/img"
like "$ERR" 'tagsbig/img' "tagsbig: the error names the repository"
scenario "tagsloop: a Link back to the same page" 15 3 "$CCREG" tags "$H/tagsloop/img"
is "$(sort "$OUTF" | uniq -d | wc -l)" 0 "tagsloop: no tag printed twice"
like "$ERR" 'tagsloop/img.*(loop|already)' "tagsloop: the error says the pages loop"
ok "$([ "$(hits GET '/v2/tagsloop/img/tags/list.*')" -le 2 ]; echo $?)" "tagsloop: at most 2 page GETs"
scenario "tagspages: endless one-tag pages" 30 3 "$CCREG" tags "$H/tagspages/img"
like "$ERR" 'tagspages/img.*pages' "tagspages: the error names the page limit"

# ---------------------------------------------------------------- 3. endless blobs, signals

scenario "endless: blob -o FILE, body without end" 30 3 \
	"$CCREG" blob "$H/endless/img@$LAYER" -o "$T/endless.out"
ok "$([ ! -e "$T/endless.out" ]; echo $?)" "endless: FILE not written"
no_leftovers "endless" "$T"
scenario "endless: blob to stdout" 30 3 --raw "$CCREG" blob "$H/endless/img@$LAYER"
ok "$([ "$(stat -c %s "$OUTF")" -le $((1 << 20)) ]; echo $?)" \
	"endless: at most the declared 1 MiB on stdout ($(stat -c %s "$OUTF") B)"
scenario "endless: pull (descriptor sizes)" 30 3 "$CCREG" -q pull "$H/endless/img:1" "oci:$T/endless:1"
no_leftovers "endless: pull" "$T/endless"
layout_verified "endless: pull" "$T/endless"
scenario "endlessnosize: blob -o, no size declared anywhere" 30 3 \
	"$CCREG" blob "$H/endlessnosize/img@$LAYER" -o "$T/nosize.out"
like "$ERR" 'declares no size' "endlessnosize: the error says the size is unknown"
scenario "endlessnosize: blob --max-size 2M" 30 3 \
	"$CCREG" blob --max-size 2M "$H/endlessnosize/img@$LAYER" -o "$T/nosize.out"
like "$ERR" 'larger than' "endlessnosize: the error names the limit"
ok "$([ ! -e "$T/nosize.out" ]; echo $?)" "endlessnosize: FILE not written"
no_leftovers "endlessnosize" "$T"

# interrupt NAME SIGNAL DIR CMD...: start CMD, send SIGNAL once a temporary
# file shows up under DIR, then check that none is left.
interrupt()
{
	local name=$1 sig=$2 dir=$3 pid i
	shift 3
	mkdir -p "$dir"
	# a background job starts with SIGINT ignored: restore the default
	env --default-signal=INT "$@" >/dev/null 2>"$T/int.err" &
	pid=$!
	for ((i = 0; i < 200; i++)); do
		[ -n "$(leftovers "$dir")" ] && break
		sleep 0.05
	done
	ok "$([ -n "$(leftovers "$dir")" ]; echo $?)" "$name: a temporary file while it runs"
	sleep 0.3
	kill -"$sig" "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	is "$?" $((128 + $(kill -l "$sig"))) "$name: ended by SIG$sig"
	no_leftovers "$name" "$dir"
}
interrupt "SIGTERM during blob -o" TERM "$T/sig" "$CCREG" blob "$H/slow/img@$BIGLAYER" -o "$T/sig/blob"
ok "$([ ! -e "$T/sig/blob" ]; echo $?)" "SIGTERM during blob -o: FILE not written"
interrupt "SIGINT during pull" INT "$T/sigpull" "$CCREG" -q pull "$H/slow/img:1" "oci:$T/sigpull:1"
interrupt "SIGTERM during pull" TERM "$T/sigpull2" "$CCREG" -q pull "$H/slow/img:1" "oci:$T/sigpull2:1"

# ---------------------------------------------------------------- 4. header injection

scenario "inject: a token with CR LF and a header" 15 4 "$CCREG" manifest "$H/inject/img:1"
is "$(hits '.*' '/v2/.*' 'x-injected: .*')" 0 "inject: no request carried the injected header"
is "$(hits '.*' '/v2/.*' 'authorization: .*goodtoken.*')" 0 "inject: the token was never sent"
like "$ERR" 'token.*control character' "inject: the error says why"
scenario "injectrealm: an escape sequence in the realm" 15 4 "$CCREG" manifest "$H/injectrealm/img:1"
is "$(hits '.*' '/token/.*')" 0 "injectrealm: the token endpoint was not asked"

# ---------------------------------------------------------------- 5. copy whose source fails

scenario "copy404: the source answers 404 for a layer" 15 3 \
	"$CCREG" -q copy "$H/copy404/img:1" "$D/copy404/img:1"
like "$ERR" 'blob unknown' "copy404: the source's error"
is "$(count_requests "$dst_LOG" PUT '/v2/copy404/img/manifests/.*')" 0 "copy404: no manifest written"
scenario "copyreset: the source resets mid-body" 15 3 \
	"$CCREG" -q copy "$H/copyreset/img:1" "$D/copyreset/img:1"
is "$(count_requests "$dst_LOG" PUT '/v2/copyreset/img/manifests/.*')" 0 "copyreset: no manifest written"
scenario "copyreset: pull" 15 3 "$CCREG" -q pull "$H/copyreset/img:1" "oci:$T/reset:1"
layout_verified "copyreset: pull" "$T/reset"
no_leftovers "copyreset: pull" "$T/reset"

# ---------------------------------------------------------------- 6. overflows

scenario "overflow: inspect --json, sizes of INT64_MAX" 15 3 "$CCREG" --json inspect "$H/overflow/img:1"
like "$ERR" 'overflow/img:1.*size' "overflow: the error names the reference"
ok "$(! grep -q -- '-[0-9]' "$OUTF"; echo $?)" "overflow: no negative number printed"
scenario "overflow: assemble --dry-run" 15 3 \
	"$CCREG" assemble --dry-run --to "$H/good/out:1" "$H/overflow/img:1"
ok "$(! grep -q -- '-[0-9]' "$OUTF"; echo $?)" "overflow: assemble printed no negative number"
scenario "overflow: pull" 15 3 "$CCREG" -q pull "$H/overflow/img:1" "oci:$T/overflow:1"
scenario "sparse: four sparse entries of 2^62 bytes" 15 3 \
	"$CCREG" -q audit --no-cache "$H/sparse/img:1"
like "$ERR" 'sparse/img.*overflow' "sparse: the error names the image and the overflow"
scenario "expires: expires_in INT64_MAX" 15 0 "$CCREG" manifest "$H/expires/img:1"

# ---------------------------------------------------------------- 7. secrets

printf '{"auths": {"%s": {"auth": "%s", "password": "hunter2\\q"}}}\n' "$H" "$BASIC" >"$T/bad-auth.json"
scenario "authfile: a malformed credentials file" 15 2 \
	"$CCREG" --auth-file "$T/bad-auth.json" manifest "$H/echo/img:1"
like "$ERR" 'bad-auth.json:1:[0-9]+' "authfile: file, line and column"
scenario "echo: the server echoes the Authorization header" 15 3 \
	"$CCREG" "${A[@]}" manifest "$H/echo/img:1"
like "$ERR" 'nothing here' "echo: the server's message is shown"
scenario "echo: -v" 15 3 "$CCREG" -v "${A[@]}" manifest "$H/echo/img:1"
scenario "echotoken: the server echoes the bearer token" 15 3 \
	"$CCREG" -v "${A[@]}" manifest "$H/echotoken/img:1"

# ---------------------------------------------------------------- 8. escape sequences

scenario "escape: an error message" 15 3 "$CCREG" manifest "$H/escape/img:1"
like "$ERR" 'manifest unknown .*pwned' "escape: the message is shown, escaped"
scenario "escape: tags" 15 0 "$CCREG" tags "$H/escape/img"
like "$OUT" 'v2\\x1b' "escape: the tag is shown escaped"
scenario "escape: tags --json" 15 0 "$CCREG" --json tags "$H/escape/img"
is "$(jq -r '.tags[1]' "$OUTF" | cut -c1-3)" "v2"$'\x1b' "escape: --json is valid and keeps the value"
scenario "escape: inspect of an index with an escape in a platform" 15 0 "$CCREG" inspect "$H/escape/img:plat"
scenario "escape: inspect --json" 15 0 "$CCREG" --json inspect "$H/escape/img:plat"
ok "$(jq -e . "$OUTF" >/dev/null; echo $?)" "escape: inspect --json is valid JSON"
scenario "escape: a Location with an escape, -v" 15 3 \
	"$CCREG" -v blob "$H/escape/img@$LAYER" -o "$T/escape.out"

# ---------------------------------------------------------------- 9. same-origin redirect

scenario "redir: a 307 to another path of the same plain-HTTP registry" 15 0 \
	"$CCREG" "${A[@]}" blob "$H/redir/img@$LAYER" -o "$T/redir.out"
is "$(sha256sum <"$T/redir.out" 2>/dev/null | cut -d' ' -f1)" "${LAYER#sha256:}" "redir: the blob verified"
ok "$([ "$(hits GET "/storage/redir/$LAYER" "authorization: Basic $BASIC")" -ge 1 ]; echo $?)" \
	"redir: the credentials went along"

# ---------------------------------------------------------------- 10. corrupt blob in place

scenario "corrupt: first pull" 15 0 "$CCREG" -q pull "$H/good/img:1" "oci:$T/corrupt:1"
f=$T/corrupt/blobs/sha256/${LAYER#sha256:}
size=$(stat -c %s "$f")
chmod u+w "$f"
head -c "$size" /dev/zero >"$f"
scenario "corrupt: pull onto a same-size corrupt blob" 15 0 \
	"$CCREG" -q pull "$H/good/img:1" "oci:$T/corrupt:1"
layout_verified "corrupt" "$T/corrupt"

# ---------------------------------------------------------------- 11. symlinked layout blob

cp -r "$T/corrupt" "$T/sym"
f=$T/sym/blobs/sha256/${LAYER#sha256:}
size=$(stat -c %s "$f")
printf 'HOSTILE-OUTSIDE-SECRET%0*d' $((size - 22)) 0 >"$T/outside/secret"
rm -f "$f"
ln -s "$T/outside/secret" "$f"
scenario "symlink: push from a layout whose blob is a symlink" 15 2 \
	"$CCREG" -q push "oci:$T/sym:1" "$H/sink/img:1"
like "$ERR" 'symlink' "symlink: the error says so"
is "$(grep -rl HOSTILE-OUTSIDE "$T/bodies" | wc -l)" 0 "symlink: the outside file's bytes were not uploaded"

# ---------------------------------------------------------------- 12. cosmetic

scenario "badchild: pull, a child manifest not JSON" 15 3 "$CCREG" -q pull "$H/badchild/img:1" "oci:$T/badchild:1"
like "$ERR" "badchild/img" "badchild: pull names the reference"
scenario "badchild: copy" 15 3 "$CCREG" -q copy "$H/badchild/img:1" "$D/badchild/img:1"
like "$ERR" "badchild/img" "badchild: copy names the reference"
scenario "badchild: inspect" 15 3 "$CCREG" inspect "$H/badchild/img:1"
like "$ERR" "badchild/img" "badchild: inspect names the reference"
# an index in an index is a tree inspect shows (issue 16), not an error
scenario "nestchild: inspect of an index in an index" 15 0 "$CCREG" inspect "$H/nestchild/img:1"
like "$OUT" "\(index, 1 entries\)" "nestchild: inspect shows the inner index and its entry"
scenario "realmscheme: realm file:///etc/passwd" 15 4 "$CCREG" manifest "$H/realmscheme/img:1"
like "$ERR" '"file:///etc/passwd"' "realmscheme: the realm is shown as sent"
ok "$(! grep -q '[0-9]file:' "$ERRF"; echo $?)" "realmscheme: not glued to the registry's URL"
scenario "locscheme: Location file:///etc/passwd" 15 3 \
	"$CCREG" blob "$H/locscheme/img@$LAYER" -o "$T/loc.out"
like "$ERR" '"file:///etc/passwd"' "locscheme: the Location is shown as sent"
ok "$(! grep -q '[0-9]file:' "$ERRF"; echo $?)" "locscheme: not glued to the registry's URL"
scenario "bigtoken: a 3 MB token" 15 4 "$CCREG" manifest "$H/bigtoken/img:1"
like "$ERR" 'token.*larger than 1 MiB' "bigtoken: the error names the limit"
# the target is the same server under another name: not the same registry, so blobs stream
scenario "flaky: copy through resets and a failed upload, progress" 15 0 \
	"$CCREG" copy "$H/flaky/img:1" "localhost:${H#*:}/flaky/copy:1"
total=$(jq '[.config.size, (.layers[].size)] | add' <<<"$GOOD")
moved=$(sed -n 's/.*transferred (\([0-9]*\) B.*/\1/p' "$ERRF" | tail -n 1)
ok "$([ -n "$moved" ] && [ "$moved" -le "$total" ]; echo $?)" \
	"flaky: progress says ${moved:-?} B transferred of $total B"

# a docker-archive whose config entry is a symlink
mkdir -p "$T/arch"
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$T/arch/real.json"
ln -s /etc/passwd "$T/arch/cfg.json"
printf '[{"Config":"cfg.json","RepoTags":["x:1"],"Layers":[]}]' >"$T/arch/manifest.json"
tar -C "$T/arch" -cf "$T/arch.tar" manifest.json cfg.json real.json
scenario "archive: a docker-archive whose config is a symlink" 15 2 \
	"$CCREG" -q push "docker-archive:$T/arch.tar" "$H/sink/arch:1"
like "$ERR" 'cfg.json.*symlink.*/etc/passwd' "archive: the error says the config is a symlink, and to what"

done_testing
