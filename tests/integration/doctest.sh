#!/bin/bash
# The documentation's examples still work (issue 17): every command line in
# README.md's code blocks and in ccreg(1)'s EXAMPLES whose command is
# `ccreg ...` (also after `run:` in the CI recipe, or after `| `) runs, in
# the order written, against a demo registry seeded as scripts/demo does:
# per-arch images for every version of the project's images.json (and
# julia 1.10.2, the release the man page's examples make), assembled.
# An example passes when it exits 0, or 1 for a check that found problems
# (verify, audit --check, catalog lint); usage errors, registry failures or
# a missing command fail.
. "$(dirname "$0")/../lib.sh"

export HOME=$TEST_TMP/home XDG_CACHE_HOME=$TEST_TMP/cache
mkdir -p "$HOME" "$TEST_TMP/bin"
unset REGISTRY_AUTH_FILE DOCKER_CONFIG XDG_RUNTIME_DIR CCREG_CATALOG CCREG_INSECURE_REGISTRIES
ln -s "$CCREG" "$TEST_TMP/bin/ccreg"
export PATH=$TEST_TMP/bin:$PATH
# what the CI recipe's login step reads from its secrets
export REGISTRY_USER=ci REGISTRY_TOKEN=doc-test-token

# The command lines of a document's examples, one per line.
readme_examples()
{
	$PY - "$1" <<'EOF'
import re, sys
code = []
fenced = False
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.lstrip().startswith("```"):
        fenced = not fenced
        continue
    if fenced or line.startswith("    ") or line.startswith("\t"):
        code.append(line)
joined = []
for line in code:
    if joined and joined[-1].endswith("\\"):
        joined[-1] = joined[-1][:-1] + " " + line.strip()
    else:
        joined.append(line)
for line in joined:
    cmd = re.sub(r"^\s*(- )?(run: )?(\$ )?", "", line)
    if re.match(r"ccreg ", cmd) or re.search(r"\| ccreg ", cmd):
        print(cmd)
EOF
}

man_examples()
{
	groff -man -Tascii -P-cbou -rLL=200n "$1" 2>/dev/null |
		awk '/^EXAMPLES$/ { on = 1; next } on && /^[A-Z]/ { exit }
			on && /^ +ccreg / { sub(/^ +/, ""); print }'
}

# ---------------------------------------------------------------- the demo registry
start_registry demo
reg=$demo_ADDR
export CCREG_REGISTRY=$reg
ensure_fixtures

# Per-arch images for every version of every container image in the
# project's catalog (fixtures of the same name when there are, else julia's
# or python's), and julia 1.10.2.
seeds=$($PY - "$SRCDIR/images.json" "$FIXTURES" <<'EOF'
import json, os, sys
cat = json.load(open(sys.argv[1]))
fixtures = sys.argv[2]
for key, e in cat.items():
    pkg = e.get("package", "") if isinstance(e, dict) else ""
    if "/" not in pkg or pkg.startswith("@"):
        continue
    arches = e.get("arch") or (["x86_64"] if e.get("gpu") else ["x86_64", "arm64"])
    if isinstance(arches, str):
        arches = [arches]
    tags = [v["tag"] for v in e.get("versions", []) if "tag" in v]
    if key == "julia":
        tags.append("1.10.2")
    for tag in tags:
        if len(arches) == 1:
            fx = key if os.path.isdir(os.path.join(fixtures, key)) else "python"
            print(fx, "%s:%s" % (pkg, tag), "-")
            continue
        for a in arches:
            fx = "%s-%s" % (key, a)
            if not os.path.isdir(os.path.join(fixtures, fx)):
                fx = "julia-" + a
            print(fx, "%s-%s:%s" % (pkg, a, tag), key + ":" + tag)
EOF
)
ok "$([ -n "$seeds" ]; echo $?)" "the catalog names images to seed"
seeded=0 assembled=()
while read -r fx ref target; do
	seed "$fx" "$reg/$ref" v2s2 || bail_out "cannot seed $reg/$ref"
	seeded=$((seeded + 1))
	[ "$target" != - ] && [ "$target" != julia:1.10.2 ] && assembled+=("$target")
done <<<"$seeds"
diag "seeded $seeded images into $reg"
mapfile -t assembled < <(printf '%s\n' "${assembled[@]}" | sort -u)
for t in "${assembled[@]}"; do
	run "$CCREG" -C "$SRCDIR/images.json" -q assemble "$t"
	[ "$RC" -eq 0 ] || bail_out "cannot assemble $t: $ERR"
done

# ---------------------------------------------------------------- the examples
# run_examples NAME: each line of stdin in a fresh directory holding a copy
# of the project's catalog, in order.
run_examples()
{
	local name=$1 dir line n=0
	dir=$(mktemp -d "$TEST_TMP/$name.XXXXXX")
	cp "$SRCDIR/images.json" "$dir/images.json"
	while IFS= read -r line; do
		n=$((n + 1))
		(cd "$dir" && bash -c "$line") >"$TEST_TMP/ex.out" 2>"$TEST_TMP/ex.err" </dev/null
		local rc=$?
		if [ "$rc" -eq 1 ] && [[ $line =~ ccreg\ (verify|audit\ .*--check|catalog\ lint) ]]; then
			ok 0 "$name: $line (exit 1: the check found problems)"
			diag "$(grep -m 3 -E 'under-provisioned|failed' "$TEST_TMP/ex.out")"
		else
			ok "$rc" "$name: $line" ||
				diag "exit $rc: $(head -c 2000 "$TEST_TMP/ex.err")"
		fi
	done
	EXAMPLES_RUN=$n EXAMPLES_DIR=$dir
}

readme=$(readme_examples "$SRCDIR/README.md")
for want in "ccreg assemble julia:1.10.1" "ccreg verify --junit verify.xml" \
	"ccreg audit --all --check" "| ccreg login"; do
	grep -qF -- "$want" <<<"$readme"
	ok $? "README's examples include '$want'"
done
run_examples README <<<"$readme"
ok "$([ "$EXAMPLES_RUN" -ge 6 ]; echo $?)" "README: $EXAMPLES_RUN examples ran"
grep -q "<testsuite" "$EXAMPLES_DIR/verify.xml" 2>/dev/null
ok $? "the CI recipe's verify --junit wrote a JUnit report"
grep -q "\"$reg\"" "$HOME/.docker/config.json" 2>/dev/null
ok $? "the CI recipe's login stored the credentials"

man=$BUILDDIR/doc/ccreg.1
examples=$(man_examples "$man")
run_examples man <<<"$examples"
ok "$([ "$EXAMPLES_RUN" -ge 8 ]; echo $?)" "ccreg(1): $EXAMPLES_RUN examples ran"
run "$CCREG" -C "$EXAMPLES_DIR/images.json" catalog version julia 1.10.2
is "$OUT" "1.10.2" "the man page's release workflow added julia 1.10.2"
run "$CCREG" -C "$EXAMPLES_DIR/images.json" verify --json julia:1.10.2
like "$OUT" '"tested": true' "... assembled it and marked it tested"

done_testing
