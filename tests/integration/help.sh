#!/bin/bash
# Help and parser agree: for every command `ccreg help` lists, every option
# `ccreg help CMD` lists is accepted, and no option it does not list is
# (another command's option, a made-up one, any unlisted short letter).
# Needs no registry: commands are given no arguments, so each stops at its
# argument check, and the catalog, registry and auth file point nowhere.
. "$(dirname "$0")/../lib.sh"

closed_port
cd "$TEST_TMP" || bail_out "cd $TEST_TMP"
export HOME=$TEST_TMP XDG_CACHE_HOME=$TEST_TMP/cache XDG_RUNTIME_DIR=$TEST_TMP/run
unset REGISTRY_AUTH_FILE DOCKER_CONFIG CCREG_CATALOG CCREG_REGISTRY CCREG_INSECURE_REGISTRIES
UNKNOWN="is unknown or needs a value"

# Run CMD's words (catalog: with a subcommand) plus an option, safely.
try()
{
	local cmd=$1
	shift
	local words=("$cmd")
	[ "$cmd" = catalog ] && words+=(lint)
	run timeout 30 "$CCREG" -C "$TEST_TMP/none.json" --registry "127.0.0.1:$CLOSED_PORT" \
		--auth-file "$TEST_TMP/auth.json" "${words[@]}" "$@" </dev/null
}

# The option lines of one section of a help text ("Options:", "Global options
# ..."), as "SHORT LONG VALUE" (- for none).
options_of()
{
	awk -v head="$2" '
		index($0, head) == 1 { on = 1; next }
		on && /^$/ { exit }
		on && match($0, /^  (-[A-Za-z], |    )--[a-z0-9-]+( [^ ]+)?(  |$)/) {
			s = substr($0, 3, RLENGTH - 2)
			short = "-"
			if (s ~ /^-[A-Za-z],/) short = substr(s, 2, 1)
			sub(/^(-[A-Za-z], |    )--/, "", s)
			sub(/ +$/, "", s)
			n = split(s, w, " ")
			print short, w[1], (n > 1 ? w[2] : "-")
		}' <<<"$1"
}

check "ccreg help" "$CCREG" help
overview=$OUT
commands=$(awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }' <<<"$overview")
for want in assemble push copy pull manifest digest inspect config tags referrers blob audit verify catalog \
	login logout version help; do
	grep -qx "$want" <<<"$commands"
	ok $? "ccreg help lists $want"
done
globals=$(options_of "$overview" "Global options")
like "$globals" $'(^|\n)C catalog FILE\n' "global options listed with short name and value"
for want in "j jobs N" "- insecure-registry HOST" "v verbose -" "h help -"; do
	like "$globals" "(^|"$'\n'")$want("$'\n'"|$)" "global option listed: $want"
done

# Long options listed by each command, and all of them (globals aside).
declare -A listed all_long
for cmd in $commands; do
	check "ccreg help $cmd" "$CCREG" help "$cmd"
	h=$OUT
	like "$h" "^Usage: ccreg $cmd" "help $cmd starts with its usage"
	run "$CCREG" "$cmd" --help
	is "$OUT" "$h" "ccreg $cmd --help prints the same"
	run "$CCREG" "$cmd" -h
	is "$OUT" "$h" "ccreg $cmd -h prints the same"
	is "$(options_of "$h" "Global options")" "$globals" "help $cmd lists the global options"
	listed[$cmd]=$(options_of "$h" "Options:")
	while read -r s l v; do
		[ -n "$l" ] && ! grep -q " $l " <<<"$globals" && all_long[$l]=$v
	done <<<"${listed[$cmd]}"
done
like "${listed[catalog]}" $'label L\n.*version V\n.*no-verify -' "catalog lists its subcommands' options"
like "${listed[assemble]}" "- json -" "assemble documents --json"

# Every listed option is accepted (one run per option: a value the command
# refuses ends its parsing).  The global options are taken out before the
# command runs: every spelling once, then all of them with each command.
accepted()
{
	local cmd=$1 f
	shift
	for f in "$@"; do
		# shellcheck disable=SC2086
		try "$cmd" $f
		[[ $ERR == *"$UNKNOWN"* || $RC -eq 124 ]] && bad+=("$f: $ERR")
	done
}
# The spellings of one option line (SHORT LONG VALUE): long, and short when
# there is one; with "all", the other ways to give a value too.
spellings()
{
	local s=$1 l=$2 v=$3 all=${4:-}
	if [ "$v" = - ]; then
		echo "--$l"
		[ "$s" = - ] || echo "-$s"
		return 0
	fi
	echo "--$l=1"
	[ "$s" = - ] || echo "-$s 1"
	[ -n "$all" ] || return 0
	echo "--$l 1"
	[ "$s" = - ] || echo "-${s}1"
}
bad=()
while read -r s l v; do
	[ "$l" = help ] && continue
	mapfile -t forms < <(spellings "$s" "$l" "$v" all)
	accepted version "${forms[@]}"
done <<<"$globals"
ok "${#bad[@]}" "every spelling of every global option is accepted"
[ "${#bad[@]}" -eq 0 ] || diag "$(printf '%s\n' "${bad[@]}")"
all_globals=$(while read -r s l v; do [ "$l" = help ] || spellings - "$l" "$v"; done <<<"$globals")

for cmd in $commands; do
	bad=()
	accepted "$cmd" "$(echo $all_globals)"
	while read -r s l v; do
		[ -n "$l" ] || continue
		mapfile -t forms < <(spellings "$s" "$l" "$v")
		accepted "$cmd" "${forms[@]}"
	done <<<"${listed[$cmd]}"
	ok "${#bad[@]}" "$cmd accepts every option its help lists"
	[ "${#bad[@]}" -eq 0 ] || diag "$(printf '%s\n' "${bad[@]}")"
done

# Nothing else.  At run time: a made-up option, and any short letter some
# command uses that this one does not list (one run each: ccreg starts in
# tens of milliseconds, so not every other command's long option too).
shorts=$(for cmd in $commands; do awk '$1 != "-" { print $1 }' <<<"${listed[$cmd]}"; done | sort -u)
for cmd in $commands; do
	bad=()
	for f in --no-such-option -Z $(for c in $shorts; do
			grep -q "^$c " <<<"${listed[$cmd]}" || echo "-$c"; done); do
		try "$cmd" "$f"
		[[ $ERR == *"'$f' $UNKNOWN"* ]] || bad+=("$f: rc $RC: $ERR")
	done
	ok "${#bad[@]}" "$cmd refuses options its help does not list"
	[ "${#bad[@]}" -eq 0 ] || diag "$(printf '%s\n' "${bad[@]}")"
done
# In the sources: every parser is built from a spec (no getopt table of its
# own), and every long option in a spec is in some help.
src=$SRCDIR/cli
like "$(grep -l 'getopt_long *(\|struct option\b' "$src"/*.c "$src"/*.h | xargs -n1 basename | sort | xargs)" \
	'^opt\.c opt\.h$' "only cli/opt.[ch] call getopt_long or build its table"
spec_long=$(grep -ho '"[a-z0-9-]*", CLI_OPT_[A-Z]*' "$src"/*.c | cut -d'"' -f2 | sort -u)
help_long=$( (echo "$globals"; for cmd in $commands; do echo "${listed[$cmd]}"; done) |
	awk 'NF { print $2 }' | sort -u)
like "$(wc -l <<<"$spec_long")" '^[1-9][0-9]+$' "spec entries found in cli/*.c"
is "$spec_long" "$help_long" "the long options in the specs are the ones the helps list"

# catalog: every listed subcommand is one.
subs=$(awk '/^Subcommands:/ { on = 1; next } on && /^$/ { exit } on && /^  [a-z]/ { print $1 }' \
	<<<"$("$CCREG" help catalog)")
is "$(echo $subs)" "list tag version add-version mark-tested lint" "catalog lists its subcommands"
for sub in $subs; do
	run "$CCREG" -C "$TEST_TMP/none.json" catalog "$sub"
	[[ $ERR != *"unknown subcommand"* ]]
	ok $? "catalog $sub is a subcommand"
done

# Parsing as before: -- ends options, options after arguments, unknown: exit 2.
check_exit 2 "an unknown option exits 2" "$CCREG" tags --frobnicate repo
is "$ERR" $'ccreg: tags: option \'--frobnicate\' is unknown or needs a value\nTry \'ccreg tags --help\'.' \
	"the one-line error and the hint"
check_exit 2 "after --, an option-looking word is an argument" "$CCREG" digest -- --json
like "$ERR" 'invalid reference "--json"' "and reaches the reference parser"
check_exit 2 "a global option's missing value" "$CCREG" version --catalog
is "$ERR" "ccreg: option --catalog needs a value" "names the option"
check "--help anywhere" "$CCREG" -q blob x --help
like "$OUT" "^Usage: ccreg blob" "prints the command's usage"
check "ccreg --help" "$CCREG" --help
is "$OUT" "$overview" "prints the overview"
check_exit 2 "no command: the overview on stderr, exit 2" "$CCREG"
is "$ERR" "$overview" "the same overview"
check_exit 2 "help for an unknown command" "$CCREG" help nosuch
like "$ERR" "unknown command 'nosuch'" "names it"

done_testing
