# tests/lib.sh: shared harness for integration tests (source it from bash).
#
# TAP:      check NAME CMD...        ok if CMD exits 0; sets OUT (stdout), ERR (stderr), RC
#           check_exit CODE NAME CMD...  ok if CMD exits with CODE
#           run CMD...               run without asserting; sets OUT, ERR, RC
#           ok STATUS NAME           ok if STATUS is 0 (e.g. `ok $? "name"`)
#           is GOT WANT NAME, isnt GOT UNWANTED NAME, like GOT ERE NAME
#           diag MSG, skip NAME REASON, skip_all REASON, bail_out MSG, done_testing
# Processes: spawn NAME LOG CMD... (sets NAME_PID; killed at exit), stop NAME, at_exit CMD
#            start_proxy [-w SECONDS] NAME SCRIPT ARGS...  spawn tests/SCRIPT (a Python
#              server taking --port-file) as NAME, output in $TEST_TMP/NAME.out; wait
#              for its port file (at most SECONDS, default 5), else bail out; sets
#              NAME_PORTS to the line it wrote there (its port, or ports/addresses)
# Registry:  start_registry NAME [EXTRA_YAML]  sets NAME_PID; exports NAME_PORT, NAME_ADDR (127.0.0.1:PORT),
#              NAME_LOG (access log), NAME_DIR (storage); EXTRA_YAML is deep-merged
#              into the generated config (e.g. an auth: section)
#            stop_registry NAME
#            seed FIXTURE HOST:PORT/REPO:TAG [v2s2]   push a fixture with skopeo
#            count_requests LOG METHOD PATH_RE [STATUS_RE]  requests in an access log (Python re, whole match)
#            log_clear NAME           empty a registry's access log (start-up probes
#                                     and seeding leave lines in it)
#            verify_catalog R TAGS REPOS FILE  REPOS multi-arch indexes on registry R
#                                     (julia fixtures, seeded as src/julia-*:1 v2s2), each
#                                     under several tags (bench/imgN:tM), and the catalog
#                                     FILE listing TAGS of those tags as tested; sets
#                                     CATALOG_REFS (REPO:TAG of each, no registry)
#            hub_start NAME UPSTREAM ARGS...  tests/hubproxy.py (Docker Hub's metering,
#                                     429s and CDN) in front of UPSTREAM; sets NAME_HUB,
#                                     NAME_CDN (addresses), NAME_HLOG (its JSON-lines log)
# Fixtures:  $FIXTURES (built on first use by tests/fixtures/mkfixtures.py),
#            $FIXTURES/counts.json has their exact digests and layer statistics;
#            counts FIXTURE JQ_PATH reads it (counts julia-x86_64 .total.files),
#            fixture_tag FIXTURE prints the tag a layout carries.
#
# check/run execute CMD in a subshell: use them for commands and seed, never for
# start_registry or spawn. Do not `set -e` in tests: failing checks must go on.
# Everything started here is killed, and $TEST_TMP removed, when the test exits
# (set KEEP_TMP=1 to keep it for debugging).

PY=/usr/bin/python3
: "${SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
if [ -z "${BUILDDIR:-}" ]; then
	BUILDDIR=$SRCDIR/build
fi
: "${CCREG:=$BUILDDIR/cli/ccreg}"
export SRCDIR BUILDDIR CCREG

TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ccreg-test.XXXXXX")
export TEST_TMP
# ccreg's caches (manifests, configs, audit results, known blob locations):
# one per test, never the home directory's
export XDG_CACHE_HOME=$TEST_TMP/cache

_tap_n=0
_tap_failed=0
_procs=()		# "name:pid"
_at_exit=()

# ---------------------------------------------------------------- TAP

diag()
{
	local line
	while IFS= read -r line; do
		printf '# %s\n' "$line"
	done <<<"$*"
}

ok()
{
	local status=$1 name=$2
	_tap_n=$((_tap_n + 1))
	if [ "$status" -eq 0 ]; then
		printf 'ok %d - %s\n' "$_tap_n" "$name"
	else
		printf 'not ok %d - %s\n' "$_tap_n" "$name"
		_tap_failed=$((_tap_failed + 1))
	fi
	return "$status"
}

run()
{
	local errf=$TEST_TMP/.run.err
	OUT=$("$@" 2>"$errf")
	RC=$?
	ERR=$(cat "$errf")
	return "$RC"
}

_show_failure()
{
	diag "command: $*"
	diag "exit status: $RC"
	[ -n "$OUT" ] && diag "stdout: ${OUT:0:2000}"
	[ -n "$ERR" ] && diag "stderr: ${ERR:0:2000}"
	return 0
}

check()
{
	local name=$1
	shift
	run "$@"
	ok "$RC" "$name" || _show_failure "$@"
	return "$RC"
}

check_exit()
{
	local want=$1 name=$2
	shift 2
	run "$@"
	if [ "$RC" -eq "$want" ]; then
		ok 0 "$name"
	else
		ok 1 "$name"
		diag "expected exit status $want"
		_show_failure "$@"
		return 1
	fi
}

is()
{
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "got:  '${1:0:2000}'"
		diag "want: '${2:0:2000}'"
		return 1
	fi
}

isnt()
{
	if [ "$1" != "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "got the unwanted value '${1:0:2000}'"
		return 1
	fi
}

like()
{
	if [[ $1 =~ $2 ]]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "got:  '${1:0:2000}'"
		diag "does not match: $2"
		return 1
	fi
}

skip()
{
	_tap_n=$((_tap_n + 1))
	printf 'ok %d - %s # SKIP %s\n' "$_tap_n" "$1" "$2"
}

skip_all()
{
	printf '1..0 # SKIP %s\n' "$1"
	exit 0
}

bail_out()
{
	printf 'Bail out! %s\n' "$1"
	exit 1
}

done_testing()
{
	printf '1..%d\n' "$_tap_n"
	[ "$_tap_failed" -eq 0 ] || exit 1
	exit 0
}

# ---------------------------------------------------------------- processes

at_exit()
{
	_at_exit+=("$*")
}

_pid_of()
{
	local p
	for p in "${_procs[@]}"; do
		[ "${p%%:*}" = "$1" ] && { echo "${p#*:}"; return 0; }
	done
	return 1
}

_alive()
{
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$st" != Z ]
}

_kill_pid()
{
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		_alive "$pid" || break
		sleep 0.1
	done
	_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# spawn NAME LOG CMD...: start CMD in the background, stdout and stderr
# appended to LOG; it dies with this shell even if the shell is SIGKILLed.
spawn()
{
	local name=$1 log=$2
	shift 2
	if [ -x /usr/bin/setpriv ]; then
		setpriv --pdeathsig KILL -- "$@" >>"$log" 2>&1 </dev/null &
	else
		"$@" >>"$log" 2>&1 </dev/null &
	fi
	_procs+=("$name:$!")
	printf -v "${name}_PID" '%s' "$!"
}

stop()
{
	local pid keep=() p
	pid=$(_pid_of "$1") || return 0
	_kill_pid "$pid"
	for p in "${_procs[@]}"; do
		[ "${p%%:*}" = "$1" ] || keep+=("$p")
	done
	_procs=("${keep[@]}")
}

_cleanup()
{
	local rc=$? p i
	for ((i = ${#_at_exit[@]} - 1; i >= 0; i--)); do
		eval "${_at_exit[$i]}" >/dev/null 2>&1
	done
	for p in "${_procs[@]}"; do
		_kill_pid "${p#*:}"
	done
	_procs=()
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "# kept $TEST_TMP" >&2
	else
		rm -rf "$TEST_TMP"
	fi
	exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- registry

free_port()
{
	$PY -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# closed_port: sets CLOSED_PORT to a loopback port that refuses connections
# for the rest of the test.  A socket bound without listening holds it, so a
# test running in parallel cannot start a server there (a port from free_port
# is free only until someone else binds it).  Call it directly, not in $( ).
closed_port()
{
	local f=$TEST_TMP/.closed.$RANDOM i
	spawn "closed$RANDOM" /dev/null $PY -c 'import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
with open(sys.argv[1] + ".tmp", "w") as f:
	f.write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(3600)' "$f"
	for ((i = 0; i < 100; i++)); do
		[ -s "$f" ] && break
		sleep 0.05
	done
	CLOSED_PORT=$(cat "$f")
}

_registry_config()
{
	local out=$1 port=$2 root=$3 extra=${4:-}
	$PY - "$out" "$port" "$root" "$extra" <<'EOF'
import sys, yaml
out, port, root, extra = sys.argv[1:5]
cfg = {
	"version": "0.1",
	"log": {"level": "info", "formatter": "text", "accesslog": {"disabled": False}},
	"storage": {"filesystem": {"rootdirectory": root}, "delete": {"enabled": True},
		    "cache": {"blobdescriptor": "inmemory"}},
	"http": {"addr": "127.0.0.1:" + port, "secret": "ccreg-test-secret",
		 "headers": {"X-Content-Type-Options": ["nosniff"]}},
}
def merge(a, b):
	for k, v in b.items():
		if isinstance(v, dict) and isinstance(a.get(k), dict):
			merge(a[k], v)
		else:
			a[k] = v
if extra:
	with open(extra) as f:
		merge(cfg, yaml.safe_load(f) or {})
with open(out, "w") as f:
	yaml.safe_dump(cfg, f, default_flow_style=False)
EOF
}

# start_registry NAME [EXTRA_YAML]: a docker-registry on a free loopback port.
start_registry()
{
	local name=$1 extra=${2:-} dir=$TEST_TMP/$1 port attempt i code
	command -v docker-registry >/dev/null || bail_out "docker-registry is not installed"
	mkdir -p "$dir/data"
	for ((attempt = 0; attempt < 5; attempt++)); do
		port=$(free_port)
		_registry_config "$dir/config.yml" "$port" "$dir/data" "$extra" ||
			bail_out "cannot write registry config for $name"
		: >"$TEST_TMP/$name.log"
		: >"$TEST_TMP/$name.err"
		# Access log (stdout) and app log (stderr) apart, so counting sees only requests.
		if [ -x /usr/bin/setpriv ]; then
			setpriv --pdeathsig KILL -- docker-registry serve "$dir/config.yml" \
				>>"$TEST_TMP/$name.log" 2>>"$TEST_TMP/$name.err" </dev/null &
		else
			docker-registry serve "$dir/config.yml" \
				>>"$TEST_TMP/$name.log" 2>>"$TEST_TMP/$name.err" </dev/null &
		fi
		_procs+=("$name:$!")
		for ((i = 0; i < 100; i++)); do
			code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
				"http://127.0.0.1:$port/v2/" 2>/dev/null)
			[ -n "$code" ] && [ "$code" != 000 ] && break
			_alive "$(_pid_of "$name")" || break
			sleep 0.1
		done
		if [ -n "$code" ] && [ "$code" != 000 ]; then
			printf -v "${name}_PID" '%s' "$(_pid_of "$name")"
			printf -v "${name}_PORT" '%s' "$port"
			printf -v "${name}_ADDR" '%s' "127.0.0.1:$port"
			printf -v "${name}_LOG" '%s' "$TEST_TMP/$name.log"
			printf -v "${name}_DIR" '%s' "$dir/data"
			export "${name}_PORT" "${name}_ADDR" "${name}_LOG" "${name}_DIR"
			echo "127.0.0.1:$port" >"$TEST_TMP/$name.addr"
			diag "registry $name at 127.0.0.1:$port"
			return 0
		fi
		stop "$name"
	done
	diag "$(tail -n 20 "$TEST_TMP/$name.err")"
	bail_out "registry $name did not start"
}

stop_registry()
{
	stop "$1"
	rm -f "$TEST_TMP/$1.addr"
}

verify_catalog()
{
	local R=$1 tags=$2 repos=$3 out=$4 per i t n=0 also line
	per=$(((tags + repos - 1) / repos))
	seed julia-x86_64 "$R/src/julia-x86_64:1" v2s2 || return 1
	seed julia-arm64 "$R/src/julia-arm64:1" v2s2 || return 1
	{
		echo "{"
		for ((i = 1; i <= repos && n < tags; i++)); do
			also=()
			for ((t = 2; t <= per; t++)); do
				also+=(--also-tag "t$t")
			done
			"$CCREG" -q assemble --to "$R/bench/img$i:t1" "${also[@]}" \
				"$R/src/julia-x86_64:1" "$R/src/julia-arm64:1" >/dev/null || return 1
			[ "$i" -gt 1 ] && echo ","
			printf '  "img%d": { "package": "bench/img%d", "versions": [' "$i" "$i"
			for ((t = 1; t <= per && n < tags; t++, n++)); do
				[ "$t" -gt 1 ] && printf ','
				printf '\n    { "tag": "t%d", "tested": true }' "$t"
			done
			printf '\n  ] }'
		done
		echo
		echo "}"
	} >"$out" || return 1
	CATALOG_REFS=()
	while read -r line; do
		CATALOG_REFS+=("$line")
	done < <(jq -r 'to_entries[] | .value.package as $p | .value.versions[] | "\($p):\(.tag)"' "$out")
	[ "${#CATALOG_REFS[@]}" -eq "$tags" ] ||
		{ echo "verify_catalog: the catalog has ${#CATALOG_REFS[@]} tags, not $tags" >&2; return 1; }
}

log_clear()
{
	: >"$TEST_TMP/$1.log"
}

# A request the registry logs after everything before it has been logged:
# its log line is written after the response, so wait until it shows up.
_log_sync()
{
	local log=$1 addr token i
	[ -r "${log%.log}.addr" ] || return 0
	addr=$(cat "${log%.log}.addr")
	token=$RANDOM$RANDOM
	curl -s -o /dev/null --max-time 5 "http://$addr/v2/?ccreg-log-sync=$token"
	for ((i = 0; i < 50; i++)); do
		grep -q "ccreg-log-sync=$token" "$log" && return 0
		sleep 0.1
	done
}

# count_requests LOG METHOD PATH_RE [STATUS_RE]: lines of a docker-registry
# access log (Apache combined format: ... "METHOD TARGET HTTP/1.1" STATUS SIZE ...)
# whose method, request target (path and query) and status each match the
# given Python regular expression as a whole (METHOD may be 'GET|HEAD').
count_requests()
{
	_log_sync "$1"
	$PY - "$@" <<'EOF'
import re, sys
log, method, path = sys.argv[1:4]
status = sys.argv[4] if len(sys.argv) > 4 else r"\d+"
line_re = re.compile(r'^\S+ \S+ \S+ \[[^]]*\] "(\S+) (\S+) [^"]*" (\d+) ')
n = 0
with open(log, errors="replace") as f:
	for line in f:
		m = line_re.match(line)
		if not m or "ccreg-log-sync=" in m.group(2):
			continue
		if (re.fullmatch(method, m.group(1)) and re.fullmatch(path, m.group(2))
		    and re.fullmatch(status, m.group(3))):
			n += 1
print(n)
EOF
}

# ---------------------------------------------------------------- fixtures

# Built once per build directory and version of mkfixtures.py, into a temp dir
# renamed into place, so tests running in parallel never see half a tree.
ensure_fixtures()
{
	local gen=$SRCDIR/tests/fixtures/mkfixtures.py hash dest tmp
	hash=$(sha256sum "$gen" | cut -c1-12)
	dest=$BUILDDIR/fixtures/$hash
	if [ ! -f "$dest/counts.json" ]; then
		mkdir -p "$BUILDDIR/fixtures"
		tmp=$(mktemp -d "$BUILDDIR/fixtures/.tmp.XXXXXX")
		if ! $PY "$gen" "$tmp/out" >"$tmp/log" 2>&1; then
			diag "$(cat "$tmp/log")"
			rm -rf "$tmp"
			bail_out "mkfixtures.py failed"
		fi
		mv -T "$tmp/out" "$dest" 2>/dev/null || [ -f "$dest/counts.json" ] ||
			bail_out "cannot install fixtures into $dest"
		rm -rf "$tmp"
	fi
	FIXTURES=$dest
	export FIXTURES
}

# The tag a fixture layout carries.
fixture_tag()
{
	jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' \
		"$FIXTURES/$1/index.json"
}

# seed FIXTURE HOST:PORT/REPO:TAG [v2s2]: copy a fixture into a registry.
seed()
{
	local name=$1 dest=$2 fmt=() tag
	[ -n "${FIXTURES:-}" ] || ensure_fixtures
	[ -d "$FIXTURES/$name" ] || { diag "no fixture $name"; return 2; }
	[ "${3:-}" = v2s2 ] && fmt=(--format v2s2)
	tag=$(fixture_tag "$name")
	if ! skopeo copy -q --retry-times 2 --dest-tls-verify=false "${fmt[@]}" \
		"oci:$FIXTURES/$name:$tag" "docker://$dest" >"$TEST_TMP/.seed.log" 2>&1; then
		diag "seed $name -> $dest failed: $(cat "$TEST_TMP/.seed.log")"
		return 1
	fi
}

# counts FIXTURE JQ_PATH: a value from counts.json, e.g. counts julia-x86_64 .total.files
counts()
{
	jq -r ".images[\"$1\"]$2" "$FIXTURES/counts.json"
}

ensure_fixtures

# CCREG_WRAPPER: run every "$CCREG" under a command, e.g.
#   CCREG_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
# (scripts/test --valgrind).  CCREG then points at a generated script, so
# tests need no change.
if [ -n "${CCREG_WRAPPER:-}" ] && [ -z "${CCREG_REAL:-}" ]; then
	CCREG_REAL=$CCREG
	CCREG=$TEST_TMP/ccreg-wrapped
	printf '#!/bin/sh\nexec %s %q "$@"\n' "$CCREG_WRAPPER" "$CCREG_REAL" >"$CCREG"
	chmod +x "$CCREG"
	export CCREG CCREG_REAL
fi

# start_proxy [-w SECONDS] NAME SCRIPT ARGS...: tests/SCRIPT --port-file FILE ARGS...
# in the background (spawn NAME: killed at exit); waits until it has written
# FILE ($TEST_TMP/NAME.port) and sets NAME_PORTS to what it wrote.  Bails out
# when the script exits first or SECONDS pass.
start_proxy()
{
	local secs=5 name script pf out pid i
	if [ "$1" = -w ]; then
		secs=$2
		shift 2
	fi
	name=$1 script=$2 pf=$TEST_TMP/$1.port out=$TEST_TMP/$1.out pid=$1_PID
	shift 2
	rm -f "$pf"
	spawn "$name" "$out" "$PY" "$SRCDIR/tests/$script" --port-file "$pf" "$@"
	for ((i = 0; i < secs * 20; i++)); do
		[ -s "$pf" ] && break
		_alive "${!pid}" || break
		sleep 0.05
	done
	[ -s "$pf" ] || bail_out "$name ($script) did not start: $(cat "$out")"
	printf -v "${name}_PORTS" '%s' "$(cat "$pf")"
}

# hub_start NAME UPSTREAM ARGS...: hubproxy in front of UPSTREAM; sets NAME_HUB,
# NAME_CDN (addresses) and NAME_HLOG (its access log).
hub_start()
{
	local name=$1 up=$2 ports
	shift 2
	start_proxy "$name" hubproxy.py --upstream "$up" --log "$TEST_TMP/$name.jsonl" "$@"
	ports=${name}_PORTS
	read -r "${name}_HUB" "${name}_CDN" <<<"${!ports}"
	printf -v "${name}_HLOG" '%s' "$TEST_TMP/$name.jsonl"
}
