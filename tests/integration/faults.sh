#!/bin/bash
# Fault injection: assemble, push, copy, pull, audit and verify run many
# times through tests/faultproxy.py, a proxy in front of real registries
# that breaks one request (or, in some runs, random ones) per run: resets
# mid-body, 500/502/503, 429 with Retry-After, truncated bodies, a flipped
# byte, and stalls longer than ccreg's low-speed timeout.
#
# Every run must either succeed with exactly the fault-free result (same
# digest on stdout, target complete in the registry, pulled layout
# identical, audit/verify output identical), or fail with exit 3 and a
# one-line "ccreg: ..." error, leaving no tag on an incomplete index and no
# corrupted blob (checked directly against the registries with
# tests/faultcheck.py); a run still going after FAULTS_RUN_TIMEOUT is a
# hang.  Anything else is a bad outcome; each fault kind asserts none.
#
#   FAULTS_LONG=1        100 runs per kind per command (else 4)
#   FAULTS_RUNS=N        runs per kind per command
#   FAULTS_KINDS="..."   subset of: reset 500 502 503 429 truncate flip stall stall-body
#   FAULTS_COMMANDS="..."  subset of: assemble push copy pull audit verify
#   FAULTS_RUN_TIMEOUT=S a run still going after S seconds (120) is a hang
# The commands run in parallel, each through its own proxies.
. "$(dirname "$0")/../lib.sh"

read -r -a KINDS <<<"${FAULTS_KINDS:-reset 500 502 503 429 truncate flip stall stall-body}"
read -r -a COMMANDS <<<"${FAULTS_COMMANDS:-assemble push copy pull audit verify}"
if [ "${FAULTS_LONG:-0}" = 1 ]; then
	RUNS=${FAULTS_RUNS:-100}
else
	RUNS=${FAULTS_RUNS:-4}
fi
RUN_TIMEOUT=${FAULTS_RUN_TIMEOUT:-120}
CHECK=("$PY" "$SRCDIR/tests/faultcheck.py")

# Short timeouts so a stall costs seconds, fast backoff; Retry-After is
# still honoured (1 s).  Under a wrapper (valgrind) runs are slow: fewer.
LOW_SPEED=2
if [ -n "${CCREG_WRAPPER:-}" ]; then
	RUNS=${FAULTS_RUNS:-1}
	LOW_SPEED=5
	RUN_TIMEOUT=${FAULTS_RUN_TIMEOUT:-600}
fi
export CCREG_TIMEOUT_LOW_SPEED=$LOW_SPEED CCREG_TIMEOUT=20 CCREG_TIMEOUT_CONNECT_MS=2000
export CCREG_RETRY_BASE_MS=50
export XDG_CACHE_HOME=$TEST_TMP/cache

start_registry reg
start_registry reg2
A=$reg_ADDR
B=$reg2_ADDR

# faultproxy_start NAME UPSTREAM: sets NAME to the proxy's HOST:PORT.
faultproxy_start()
{
	local ports=proxy_$1_PORTS
	start_proxy "proxy_$1" faultproxy.py --upstream "$2" --log "$TEST_TMP/$1.log" --stall-max 30
	printf -v "$1" '127.0.0.1:%s' "${!ports}"
}
ctl() # ctl PROXY QUERY
{
	curl -sf --max-time 5 "http://$1/__faultproxy/$2"
}

# ---------------------------------------------------------------- fixtures

check "seed julia-x86_64" seed julia-x86_64 "$A/cat/julia-x86_64:1.10.1" v2s2
check "seed julia-arm64" seed julia-arm64 "$A/cat/julia-arm64:1.10.1" v2s2
check "seed python" seed python "$A/cat/python:3.11"
cat >"$TEST_TMP/images.json" <<'JSON'
{
  "julia": { "package": "cat/julia", "versions": [ { "tag": "1.10.1", "tested": true } ] },
  "python": { "package": "cat/python", "arch": "x86_64",
              "versions": [ { "tag": "3.11", "tested": true } ] }
}
JSON
CAT=$TEST_TMP/images.json
check "fault-free: the index the runs copy and pull" "$CCREG" -q assemble --to "$A/src/multi:1" \
	"$A/cat/julia-x86_64:1.10.1" "$A/cat/julia-arm64:1.10.1"
WANT=$OUT
check "fault-free: the index verify checks" "$CCREG" -q -C "$CAT" --registry "$A" assemble julia:1.10.1
check "fault-free: the layout push uploads" "$CCREG" -q pull "$A/src/multi:1" "oci:$TEST_TMP/base:1"
BASE=$TEST_TMP/base
BASE_TOP=$(jq -r '.manifests[0].digest' "$BASE/index.json")

# ---------------------------------------------------------------- commands

# cmd_run CMD ID P Q: one run of CMD through proxies P (source/registry)
# and Q (copy's destination); the caller captures stdout and stderr.
cmd_run()
{
	local cmd=$1 id=$2 p=$3 q=$4
	local t=(timeout -k 5 "$RUN_TIMEOUT" "$CCREG" -q)
	case $cmd in
	assemble) "${t[@]}" assemble --to "$p/asm/$id:1" "$p/cat/julia-x86_64:1.10.1" \
		"$p/cat/julia-arm64:1.10.1" ;;
	push) "${t[@]}" push "oci:$BASE:1" "$p/push/$id:1" ;;
	copy) "${t[@]}" copy "$p/src/multi:1" "$q/copy/$id:1" ;;
	pull) "${t[@]}" pull "$p/src/multi:1" "oci:$TEST_TMP/pulls/$id:1" ;;
	audit) "${t[@]}" --json audit --no-cache "$p/src/multi:1" ;;
	verify) "${t[@]}" --json -C "$CAT" --registry "$p" verify --deep ;;
	esac </dev/null
}

# cmd_state CMD ID OK DIGEST: what the run left behind, checked directly
# (not through a proxy).  OK=1: must be complete; OK=0: absent or
# complete; a tag must hold DIGEST.  Prints the verdict; returns 1 for a
# bad one.
cmd_state()
{
	local cmd=$1 id=$2 ok=$3 want=$4 v
	case $cmd in
	assemble) v=$("${CHECK[@]}" tag "$A" "asm/$id" 1 "$want") ;;
	push) v=$("${CHECK[@]}" tag "$A" "push/$id" 1 "$want") ;;
	copy) v=$("${CHECK[@]}" tag "$B" "copy/$id" 1 "$want") ;;
	pull)
		v=$("${CHECK[@]}" layout "$TEST_TMP/pulls/$id" 1 \
			"$([ "$ok" = 1 ] && echo "$BASE")")
		rm -rf "$TEST_TMP/pulls/$id"
		;;
	*) v=none ;;
	esac
	echo "$v"
	case $v in
	BAD*) return 1 ;;
	absent) [ "$ok" = 0 ] ;;
	esac
}

# The proxy that gets the fault in run I (copy: source and destination in turn).
fault_proxy()
{
	if [ "$1" = copy ] && [ $(($2 % 2)) = 1 ]; then echo q; else echo p; fi
}

# mode KIND I E: the proxy setting for run I of RUNS when a fault-free run
# has E requests the kind can hit.  Runs spread the Nth-request fault over
# every position; extra runs (long mode) alternate random faults (about two
# per run) and five consecutive ones (so retries run out).
mode()
{
	local kind=$1 i=$2 e=$3 p
	[ "$e" -gt 0 ] || e=1
	p=$(awk -v e="$e" 'BEGIN { p = 2 / e; if (p > 0.5) p = 0.5; printf "%.3f", p }')
	if [ "$RUNS" -le "$e" ]; then
		if [ "$RUNS" -ge 4 ] && [ "$i" = $((RUNS - 1)) ]; then
			echo "fault=$kind&prob=$p&seed=$i"
		else
			echo "fault=$kind&nth=$((1 + i * e / RUNS))"
		fi
	elif [ "$i" -lt "$e" ]; then
		echo "fault=$kind&nth=$((i + 1))"
	elif [ $((i % 2)) = 1 ]; then
		echo "fault=$kind&prob=$p&seed=$i"
	else
		echo "fault=$kind&nth=$((1 + i % e))&count=5"
	fi
}

# worker CMD: baseline, then RUNS runs per kind; results in $TEST_TMP/res-CMD.*
worker()
{
	local cmd=$1 res=$TEST_TMP/res-$cmd p q kind i id rc out err st side m e
	local succ clean bad applied faults lines want
	p=${PX[$cmd]} q=${QX[$cmd]}
	: >"$res.txt"
	: >"$res.bad"
	mkdir -p "$TEST_TMP/pulls" "$TEST_TMP/out-$cmd"
	ctl "$p" "set?fault=none" >/dev/null
	ctl "$q" "set?fault=none" >/dev/null
	cmd_run "$cmd" base "$p" "$q" >"$res.want" 2>"$res.wanterr"
	rc=$?
	want=$(head -n 1 "$res.want")
	st=$(cmd_state "$cmd" base 1 "$want")
	echo "baseline $rc $st" >"$res.base"
	ctl "$p" stats >"$res.elig-p"
	ctl "$q" stats >"$res.elig-q"
	for kind in "${KINDS[@]}"; do
		succ=0 clean=0 bad=0 faults=0
		for ((i = 0; i < RUNS; i++)); do
			id=r-$kind-$i
			side=$(fault_proxy "$cmd" "$i")
			e=$(jq -r ".eligible[\"$kind\"]" "$res.elig-$side")
			m=$(mode "$kind" "$i" "$e")
			ctl "$p" "set?fault=none" >/dev/null
			ctl "$q" "set?fault=none" >/dev/null
			if [ "$side" = q ]; then
				ctl "$q" "set?$m" >/dev/null
			else
				ctl "$p" "set?$m" >/dev/null
			fi
			lines=$(wc -l <"$TEST_TMP/$cmd-$side.log")
			out=$TEST_TMP/out-$cmd/out err=$TEST_TMP/out-$cmd/err
			cmd_run "$cmd" "$id" "$p" "$q" >"$out" 2>"$err"
			rc=$?
			applied=$(ctl "$([ "$side" = q ] && echo "$q" || echo "$p")" stats | jq .applied)
			faults=$((faults + ${applied:-0}))
			local why=
			if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
				why="hang: still running after ${RUN_TIMEOUT}s"
			elif [ "$rc" = 0 ]; then
				if ! cmp -s "$out" "$res.want"; then
					why="succeeded with a different result: $(head -c 300 "$out")"
				elif ! st=$(cmd_state "$cmd" "$id" 1 "$want"); then
					why="succeeded but the result is not right: $st"
				else
					succ=$((succ + 1))
				fi
			elif [ "$rc" = 3 ]; then
				# one line, "ccreg: ..." (verify: one per target it could not check)
				if [ ! -s "$err" ] || grep -qv '^ccreg: .' "$err" ||
					{ [ "$cmd" != verify ] && [ "$(wc -l <"$err")" != 1 ]; }; then
					why="exit 3 without a clear one-line error: $(head -c 500 "$err")"
				elif ! st=$(cmd_state "$cmd" "$id" 0 "$want"); then
					why="failed and left a broken state: $st"
				else
					clean=$((clean + 1))
					printf '%s\t%s\t%s\n' "$kind" "$m" "$(head -n 1 "$err")" >>"$res.errors"
				fi
			else
				why="exit $rc: $(head -c 500 "$err")"
			fi
			if [ -n "$why" ]; then
				bad=$((bad + 1))
				{
					echo "$cmd $kind run $i ($m, proxy $side): $why"
					sed -n "$((lines + 1)),\$p" "$TEST_TMP/$cmd-$side.log" | head -n 40 | sed 's/^/    /'
				} >>"$res.bad"
			fi
			[ "$cmd" = pull ] && rm -rf "$TEST_TMP/pulls/$id"
		done
		echo "$cmd $kind $RUNS $faults $succ $clean $bad" >>"$res.txt"
	done
}

declare -A PX QX
for cmd in "${COMMANDS[@]}"; do
	faultproxy_start "P_$cmd" "$A"
	PX[$cmd]=$(eval echo "\$P_$cmd")
	ln -sf "$TEST_TMP/P_$cmd.log" "$TEST_TMP/$cmd-p.log"
	if [ "$cmd" = copy ]; then
		faultproxy_start "Q_$cmd" "$B"
		QX[$cmd]=$(eval echo "\$Q_$cmd")
		ln -sf "$TEST_TMP/Q_$cmd.log" "$TEST_TMP/$cmd-q.log"
	else
		QX[$cmd]=${PX[$cmd]}
		ln -sf "$TEST_TMP/P_$cmd.log" "$TEST_TMP/$cmd-q.log"
	fi
done

diag "$RUNS runs per fault kind per command; kinds: ${KINDS[*]}"
start=$(date +%s)
pids=()
for cmd in "${COMMANDS[@]}"; do
	worker "$cmd" &
	pids+=($!)
done
at_exit "kill ${pids[*]}"
for p in "${pids[@]}"; do
	wait "$p"
done
diag "fault runs took $(($(date +%s) - start)) s"

# ---------------------------------------------------------------- results

for cmd in "${COMMANDS[@]}"; do
	read -r _ rc st <"$TEST_TMP/res-$cmd.base"
	case $cmd in
	pull) want_state=identical ;;
	audit | verify) want_state=none ;;
	*) want_state=complete ;;
	esac
	ok $([ "$rc" = 0 ] && [ "$st" = "$want_state" ] && echo 0 || echo 1) \
		"$cmd through the proxy without faults: exit $rc, $st"
	case $cmd in
	assemble | copy) is "$(cat "$TEST_TMP/res-$cmd.want")" "$WANT" \
		"$cmd without faults prints the index digest" ;;
	push | pull) is "$(cat "$TEST_TMP/res-$cmd.want")" "$BASE_TOP" \
		"$cmd without faults prints the digest of the layout's image" ;;
	audit) is "$(jq -r '.images[0].platforms | length' "$TEST_TMP/res-$cmd.want")" 2 \
		"audit without faults reports both platforms" ;;
	verify) is "$(jq -c '[.failed, .warnings, [.results[].status]]' "$TEST_TMP/res-$cmd.want")" \
		'[0,0,["ok","ok"]]' "verify without faults: both images ok" ;;
	esac
done

cat "$TEST_TMP"/res-*.txt >"$TEST_TMP/results.txt"
table=$(printf '%-10s %-10s %5s %7s %10s %14s %5s\n' command fault runs faults succeeded \
	"failed cleanly" bad
	sort -k1,1 -s "$TEST_TMP/results.txt" | while read -r c k r f s cl b; do
		printf '%-10s %-10s %5d %7d %10d %14d %5d\n' "$c" "$k" "$r" "$f" "$s" "$cl" "$b"
	done)
diag "$table"
diag ""
diag "$(printf '%-10s %5s %7s %10s %14s %5s\n' fault runs faults succeeded "failed cleanly" bad
	awk '{ r[$2] += $3; f[$2] += $4; s[$2] += $5; c[$2] += $6; b[$2] += $7; o[$2] = NR }
	     END { for (k in r) printf "%d %-10s %5d %7d %10d %14d %5d\n", o[k], k, r[k], f[k], s[k], c[k], b[k] }' \
		"$TEST_TMP/results.txt" | sort -n | cut -d' ' -f2-)"
if [ -s "$TEST_TMP/results.txt" ]; then
	diag "clean failures, first message per kind and command:"
	for cmd in "${COMMANDS[@]}"; do
		[ -s "$TEST_TMP/res-$cmd.errors" ] &&
			sort -u -t "$(printf '\t')" -k1,1 "$TEST_TMP/res-$cmd.errors" |
			awk -F '\t' -v c="$cmd" '{ printf "  %-8s %-10s %s\n", c, $1, $3 }'
	done | diag "$(cat)"
fi
for kind in "${KINDS[@]}"; do
	nbad=$(awk -v k="$kind" '$2 == k { b += $7 } END { print b + 0 }' "$TEST_TMP/results.txt")
	nruns=$(awk -v k="$kind" '$2 == k { r += $3 } END { print r + 0 }' "$TEST_TMP/results.txt")
	ok $([ "$nbad" = 0 ] && [ "$nruns" -gt 0 ] && echo 0 || echo 1) \
		"fault $kind: $nruns runs, bad outcomes == 0 (got $nbad)" ||
		grep -h "^[a-z]* $kind run" -A 40 "$TEST_TMP"/res-*.bad | head -n 120 | diag "$(cat)"
done
check "every blob stored in the first registry hashes to its digest" "${CHECK[@]}" storage "$reg_DIR"
check "every blob stored in the second registry hashes to its digest" "${CHECK[@]}" storage "$reg2_DIR"

done_testing
