#!/bin/bash
# What `meson install` delivers (issue 17): the binary, the ccreg(1) man page
# and the bash completion, all generated from the command table.  For every
# command `ccreg help` lists: a man section naming each of its options, and
# completion of its name; the man page renders with `groff -man -ww` without
# a warning and documents every exit code; completion offers commands,
# options, global options, catalog subcommands and catalog image names from
# the catalog in effect.  Needs no registry.
. "$(dirname "$0")/../lib.sh"

cd "$TEST_TMP" || bail_out "cd $TEST_TMP"
export HOME=$TEST_TMP
unset CCREG_CATALOG CCREG_REGISTRY

# ---------------------------------------------------------------- meson install
dest=$TEST_TMP/dest
check "meson install --destdir" meson install -C "$BUILDDIR" --no-rebuild --destdir "$dest"
bin=$(find "$dest" -path '*/bin/ccreg' -type f)
man=$(find "$dest" -path '*/share/man/man1/ccreg.1' -type f)
comp=$(find "$dest" -path '*/share/bash-completion/completions/ccreg' -type f)
ok "$([ -x "$bin" ]; echo $?)" "the binary is installed ($bin)"
ok "$([ -s "$man" ]; echo $?)" "the man page is installed under share/man/man1"
ok "$([ -s "$comp" ]; echo $?)" "the completion is installed under share/bash-completion/completions"
[ -x "$bin" ] || bin=$CCREG

check "the installed ccreg runs" "$bin" version
if git -C "$SRCDIR" rev-parse --git-dir >/dev/null 2>&1; then
	like "$OUT" "^ccreg [0-9.]+ \(git [0-9a-zA-Z._-]+\)$" "ccreg version names the git describe of the checkout"
else
	like "$OUT" "^ccreg [0-9.]+$" "ccreg version outside git"
fi

# ---------------------------------------------------------------- man page
run groff -man -ww -Tutf8 "$man"
ok "$([ "$RC" -eq 0 ] && [ -z "$ERR" ]; echo $?)" "groff -man -ww renders ccreg.1 without warnings" ||
	diag "$ERR"
text=$(MANWIDTH=200 groff -man -Tascii -P-cbou -rLL=200n "$man" 2>/dev/null)
for s in NAME SYNOPSIS DESCRIPTION "GLOBAL OPTIONS" COMMANDS CATALOG ENVIRONMENT FILES \
	"EXIT STATUS" EXAMPLES; do
	grep -qx "$s" <<<"$text"
	ok $? "ccreg.1 has the section $s"
done
exits=$(sed -n '/^EXIT STATUS$/,/^[A-Z]/p' <<<"$text")
for code in 0 1 2 3 4 5; do
	grep -qE "^ +$code +[a-z]" <<<"$exits"
	ok $? "EXIT STATUS documents exit code $code"
done
files=$(sed -n '/^FILES$/,/^[A-Z]/p' <<<"$text")
like "$files" "XDG_CACHE_HOME/ccreg" "FILES names the cache directory"
like "$files" "docker/config.json" "FILES names the credential files"

# The section of one command: from its subheading to the next.
section_of()
{
	awk -v c="$1" '$0 == "   " c { on = 1; next } on && (/^   [a-z]/ || /^[A-Z]/) { exit } on' <<<"$text"
}

check "ccreg help" "$CCREG" help
overview=$OUT
commands=$(awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }' <<<"$overview")
ok "$([ "$(wc -l <<<"$commands")" -ge 17 ]; echo $?)" "ccreg help lists the commands"
envs=$(awk '/^Environment:/ { on = 1; next } on && /^$/ { exit } on && /^  [A-Z]/ { print $1 }' <<<"$overview")
for e in $envs; do
	e=${e%,}
	env_text=$(sed -n '/^ENVIRONMENT$/,/^[A-Z]/p' <<<"$text")
	grep -q "$e" <<<"$env_text"
	ok $? "ENVIRONMENT documents $e"
done

for cmd in $commands; do
	sec=$(section_of "$cmd")
	ok "$([ -n "$sec" ]; echo $?)" "ccreg.1 has a section for $cmd"
	grep -q "ccreg $cmd" <<<"$sec"
	ok $? "ccreg.1 $cmd: synopsis"
	run "$CCREG" help "$cmd"
	missing=
	for o in $(awk '/^Options:/ { on = 1; next } on && /^$/ { exit }
		on { for (i = 1; i <= NF; i++) if ($i ~ /^--[a-z]/) { sub(/,$/, "", $i); print $i } }' <<<"$OUT"); do
		grep -qe "$o" <<<"$sec" || missing+=" $o"
	done
	is "$missing" "" "ccreg.1 $cmd: every option of 'ccreg help $cmd'"
done

# ---------------------------------------------------------------- completion
mkdir -p bin
ln -s "$CCREG" bin/ccreg
export PATH=$TEST_TMP/bin:$PATH
# shellcheck disable=SC1090
. "$comp"
complete_line()
{
	COMP_LINE=$1 COMP_POINT=${#1} COMPREPLY=()
	_ccreg
	printf '%s\n' "${COMPREPLY[@]}"
}

is "$(complete_line "ccreg as")" "assemble" "ccreg as<TAB> completes assemble"
is "$(complete_line "ccreg audit --ch")" "--check" "ccreg audit --ch<TAB> completes --check"
for cmd in $commands; do
	grep -qx "$cmd" <<<"$(complete_line "ccreg ${cmd:0:2}")"
	ok $? "ccreg ${cmd:0:2}<TAB> offers $cmd"
done
all=$(complete_line "ccreg ")
is "$(sort <<<"$all")" "$(sort <<<"$commands")" "ccreg <TAB> offers exactly the commands help lists"
is "$(complete_line "ccreg catalog ")" "$(printf '%s\n' list tag version add-version mark-tested lint)" \
	"catalog subcommands"
like "$(complete_line "ccreg catalog add-version julia 1.0 --")" $'(^|\n)--label\n' "catalog subcommand options"
like "$(complete_line "ccreg verify --")" $'(^|\n)--junit\n.*(^|\n)--catalog(\n|$)' \
	"a command's options, then the global options"
is "$(complete_line "ccreg --cat")" "--catalog" "global options before the command"
is "$(complete_line "ccreg verify --junit ")" "" "no words where a file is expected (the shell offers files)"

cat >images.json <<'EOF'
{ "julia": { "package": "acme/julia", "versions": [ { "tag": "1.10.1" }, { "tag": "1.11.0" } ] },
  "jupyter": { "package": "acme/jupyter", "arch": "x86_64", "versions": [ { "tag": "4" } ] },
  "npm": { "package": "@acme/agent", "versions": [ { "tag": "latest" } ] } }
EOF
mkdir -p other
cat >other/cat.json <<'EOF'
{ "octave": { "package": "acme/octave", "versions": [ { "tag": "9.2" } ] } }
EOF
is "$(complete_line "ccreg assemble j")" $'julia\njupyter' "image names from ./images.json"
is "$(complete_line "ccreg audit ")" $'julia\njupyter' "only container images (no npm package)"
is "$(complete_line "ccreg assemble julia:1.1")" $'1.10.1\n1.11.0' \
	"IMAGE:TAG: the image's tags (after the colon, as readline replaces)"
is "$(complete_line "ccreg -C other/cat.json verify ")" "octave" "the catalog given with -C"
is "$(complete_line "ccreg verify --catalog=other/cat.json o")" "octave" "--catalog=FILE after the command"
is "$(CCREG_CATALOG=other/cat.json complete_line "ccreg catalog tag ")" "octave" "\$CCREG_CATALOG"
is "$(complete_line "ccreg -C missing.json verify ")" "" "a missing catalog: nothing, no error"
is "$(complete_line "ccreg help ver")" $'verify\nversion' "help COMMAND completes command names"

done_testing
