#!/bin/bash
# ccreg audit against a real registry: exact counts on the fixture layers
# (counts.json), zstd, multi-arch catalog images, dedup of shared layers,
# the cache (zero blob GETs on a re-audit), corrupt blobs and wrong diff_ids
# (exit 3), --fast, --check, --write (only the intended lines change).
source "$(dirname "$0")/../lib.sh"

command -v jq >/dev/null || skip_all "jq is not installed"
start_registry reg
A=$reg_ADDR
export XDG_CACHE_HOME=$TEST_TMP/cache

# Layout helpers: a multi-arch index of fixture layouts, and a copy of a
# layout whose config lists a wrong diff_id.
cat >"$TEST_TMP/layouts.py" <<'EOF'
import hashlib, json, os, shutil, sys

def sha(b):
	return "sha256:" + hashlib.sha256(b).hexdigest()

def dumps(o):
	return json.dumps(o, sort_keys=True, separators=(",", ":")).encode()

def put(root, data):
	d = sha(data)
	with open(os.path.join(root, "blobs", "sha256", d[7:]), "wb") as f:
		f.write(data)
	return d

def blob(root, d):
	with open(os.path.join(root, "blobs", "sha256", d[7:]), "rb") as f:
		return f.read()

def index_json(root, desc, tag):
	desc = dict(desc, annotations={"org.opencontainers.image.ref.name": tag})
	with open(os.path.join(root, "index.json"), "wb") as f:
		f.write(dumps({"schemaVersion": 2, "manifests": [desc]}))
	with open(os.path.join(root, "oci-layout"), "wb") as f:
		f.write(dumps({"imageLayoutVersion": "1.0.0"}))

def copy_blobs(src, out):
	os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
	for n in os.listdir(os.path.join(src, "blobs", "sha256")):
		shutil.copy(os.path.join(src, "blobs", "sha256", n), os.path.join(out, "blobs", "sha256", n))

cmd, out, tag = sys.argv[1:4]
if cmd == "index":
	manifests = []
	for src in sys.argv[4:]:
		copy_blobs(src, out)
		with open(os.path.join(src, "index.json")) as f:
			d = json.load(f)["manifests"][0]
		d.pop("annotations", None)
		manifests.append(d)
	ix = dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		    "manifests": manifests})
	index_json(out, {"mediaType": "application/vnd.oci.image.index.v1+json",
			 "digest": put(out, ix), "size": len(ix)}, tag)
elif cmd == "baddiff":
	src = sys.argv[4]
	copy_blobs(src, out)
	with open(os.path.join(src, "index.json")) as f:
		md = json.load(f)["manifests"][0]
	m = json.loads(blob(out, md["digest"]))
	cfg = json.loads(blob(out, m["config"]["digest"]))
	cfg["rootfs"]["diff_ids"][0] = sha(b"not this layer")
	c = dumps(cfg)
	m["config"] = dict(m["config"], digest=put(out, c), size=len(c))
	mb = dumps(m)
	index_json(out, {"mediaType": md["mediaType"], "digest": put(out, mb), "size": len(mb)}, tag)
EOF
layouts() { /usr/bin/python3 "$TEST_TMP/layouts.py" "$@"; }

# ---------------------------------------------------------------- seeding
for f in julia-x86_64 julia-arm64 sagemath-x86_64 sagemath-arm64 python zstdimg; do
	seed "$f" "$A/fix/$f:$(fixture_tag "$f")" || bail_out "cannot seed $f"
done
push_layout() { skopeo copy -q --all --dest-tls-verify=false "oci:$1:$2" "docker://$3" >/dev/null; }
layouts index "$TEST_TMP/julia-multi" 1.10.1 "$FIXTURES/julia-x86_64" "$FIXTURES/julia-arm64" &&
	push_layout "$TEST_TMP/julia-multi" 1.10.1 "$A/ccreg-test/julia:1.10.1" || bail_out "cannot push julia index"
layouts index "$TEST_TMP/sage-multi" 10.3 "$FIXTURES/sagemath-x86_64" "$FIXTURES/sagemath-arm64" &&
	push_layout "$TEST_TMP/sage-multi" 10.3 "$A/ccreg-test/sagemath:10.3" || bail_out "cannot push sagemath index"
seed python "$A/ccreg-test/python:3.11" && seed zstdimg "$A/ccreg-test/zstdimg:1.0" &&
	seed python "$A/ccreg-test/cuda:12.6" || bail_out "cannot seed catalog images"
layouts baddiff "$TEST_TMP/baddiff" 1 "$FIXTURES/python" &&
	push_layout "$TEST_TMP/baddiff" 1 "$A/bad/diffid:1" || bail_out "cannot push the wrong-diff_id image"

cat >"$TEST_TMP/images.json" <<'EOF'
{
  "julia": {
    "label": "Julia",
    "package": "ccreg-test/julia",
    "minDiskSizeGb": 20,
    "dockerSizeGb": 6,
    "versions": [
      { "tag": "1.9.0", "tested": true },
      { "tag": "1.10.1", "tested": true }
    ]
  },
  "sagemath": {
    "package": "ccreg-test/sagemath",
    "minDiskSizeGb": 15,
    "dockerSizeGb": 1,
    "versions": [{ "tag": "10.3" }]
  },
  "python": {
    "package": "ccreg-test/python",
    "arch": "x86_64",
    "minDiskSizeGb": 10,
    "dockerSizeGb": 3,
    "versions": [{ "tag": "3.11", "tested": true }]
  },
  "zstd": {
    "package": "ccreg-test/zstdimg",
    "arch": "x86_64",
    "minDiskSizeGb": 30,
    "dockerSizeGb": 1,
    "versions": [{ "tag": "1.0" }]
  },
  "cuda": {
    "package": "ccreg-test/cuda",
    "gpu": true,
    "minDiskSizeGb": 25,
    "dockerSizeGb": 1,
    "versions": [{ "tag": "12.6" }]
  },
  "retired": {
    "disabled": true,
    "package": "ccreg-test/gone",
    "versions": [{ "tag": "1" }]
  },
  "agent": { "package": "@ccreg-test/agent", "versions": [{ "tag": "latest" }] }
}
EOF
CAT=$TEST_TMP/images.json
cc() { "$CCREG" -C "$CAT" --registry "$A" "$@"; }

# ---------------------------------------------------------------- exact counts
keys='["entries","files","fileBytes","dirs","symlinks","hardlinks","whiteouts","opaqueDirs","tarBytes","onDiskBytes","compressedBytes"]'
for f in julia-x86_64 julia-arm64 sagemath-x86_64 sagemath-arm64 python zstdimg; do
	check "audit $f" "$CCREG" --json audit "$A/fix/$f:$(fixture_tag "$f")" || continue
	got=$(jq -c --argjson k "$keys" '.images[0].platforms[0] |
		[(.layers[] | . as $l | [$l.digest, $l.diffId] + [$k[] as $x | $l[$x]]),
		 (. as $p | [$k[] as $x | $p[$x]])]' <<<"$OUT")
	want=$(jq -c --argjson k "$keys" --arg f "$f" '.images[$f] |
		[(.layers[] | . as $l | [$l.digest, $l.diffId] + [$k[] as $x | $l[$x]]),
		 (.total as $t | [$k[] as $x | $t[$x]])]' "$FIXTURES/counts.json")
	is "$got" "$want" "$f: every count of every layer and the totals equal counts.json"
done
seed python "$A/fix/python-v2s2:3.11" v2s2 || bail_out "cannot seed python as Docker schema 2"
check "audit a Docker schema 2 image" "$CCREG" --json audit "$A/fix/python-v2s2:3.11"
is "$(jq -c '.images[0].platforms[0] | [.layers[0].mediaType, .tarBytes, .files, .onDiskBytes]' <<<"$OUT")" \
	"$(jq -c '.images.python | ["application/vnd.docker.image.rootfs.diff.tar.gzip", .total.tarBytes, .total.files, .total.onDiskBytes]' "$FIXTURES/counts.json")" \
	"  same counts as the OCI image"
check "zstd layer audited" "$CCREG" --json audit "$A/fix/zstdimg:1.0"
is "$(jq -r '.images[0].platforms[0].layers[0].mediaType' <<<"$OUT")" \
	"application/vnd.oci.image.layer.v1.tar+zstd" "  the layer is zstd"
is "$(jq -r '.images[0].platforms[0].files' <<<"$OUT")" "$(counts zstdimg .total.files)" "  its files counted"

# ---------------------------------------------------------------- catalog, dedup, cache
rm -rf "$XDG_CACHE_HOME"
log_clear reg
check "audit --all" cc --json audit --all
all=$OUT
is "$(jq -c '[.images[] | .image + ":" + .tag]' <<<"$all")" \
	'["julia:1.10.1","sagemath:10.3","python:3.11","zstd:1.0","cuda:12.6"]' \
	"--all: the newest version of each enabled image, disabled and npm entries skipped"
is "$(jq -c '[.images[0].platforms[].platform]' <<<"$all")" '["linux/amd64","linux/arm64/v8"]' \
	"julia: both catalog platforms audited"
distinct=$(jq '[.images[].platforms[].layers[].digest] | unique | length' <<<"$all")
uses=$(jq '[.images[].platforms[].layers[].digest] | length' <<<"$all")
ok $((uses > distinct ? 0 : 1)) "layers are shared ($uses uses of $distinct layers)"
layer_re='/v2/.*/blobs/sha256:[0-9a-f]{64}'
these=$(jq -r '[.images[].platforms[].layers[].digest] | unique | join("|")' <<<"$all")
is "$(count_requests "$reg_LOG" GET "/v2/.*/blobs/($these)")" "$distinct" \
	"each distinct layer streamed once in the run ($distinct GETs)"
check "julia:1.10.1 amd64 equals the fixture" test "$(jq '.images[0].platforms[0].tarBytes' <<<"$all")" = \
	"$(counts julia-x86_64 .total.tarBytes)"

log_clear reg
check "audit --all again" cc --json audit --all
is "$(count_requests "$reg_LOG" GET "$layer_re")" 0 "re-audit from the cache: zero blob GETs"
is "$(jq -c '[.images[].platforms[].layers[].source] | unique' <<<"$OUT")" '["cache"]' \
	"  every layer came from the cache"
is "$(jq -S -c 'del(.images[].platforms[].layers[].source)' <<<"$OUT")" \
	"$(jq -S -c 'del(.images[].platforms[].layers[].source)' <<<"$all")" "  same results as the streamed audit"
ls "$XDG_CACHE_HOME"/ccreg/layers/sha256/*.json >/dev/null 2>&1
ok $? "cache entries under \$XDG_CACHE_HOME/ccreg/layers/sha256"
is "$(find "$XDG_CACHE_HOME" -name '*.tmp.*' | wc -l)" 0 "  no temporary files left"

# ---------------------------------------------------------------- recommendations
st() { jq -r --arg i "$1" '[.images[] | select(.image == $i) | .platforms[].status] | unique | join(",")' <<<"$all"; }
is "$(st julia)" ok "julia 20/6 GB: ok"
is "$(st python)" under-provisioned "python 10 GB: under-provisioned"
is "$(st zstd)" over-provisioned "zstd 30 GB: over-provisioned (more than 50% over 15)"
is "$(jq -c '.images[] | select(.image == "cuda") | .platforms[0].recommended |
	[.minDiskSizeGb, .dockerSizeGb, .terms.osGb, .terms.gpuGb, .terms.headroomGb]' <<<"$all")" \
	'[25,1,10,10,2]' "cuda (GPU): 10 OS + 10 GPU + 2 headroom -> 25"
is "$(jq -c '.images[] | select(.image == "python") | .platforms[0].recommended |
	[.minDiskSizeGb, .terms.gpuGb]' <<<"$all")" '[15,0]' "python: no GPU allowance -> 15"
is "$(jq -c '.images[] | select(.image == "python") | .platforms[0].catalog' <<<"$all")" \
	'{"minDiskSizeGb":10,"dockerSizeGb":3}' "catalog values reported"
check "--os-gb 50 --headroom-min-gb 3" cc --json audit python:3.11 --os-gb 50 --headroom-min-gb 3
is "$(jq -c '.images[0].platforms[0].recommended | [.minDiskSizeGb, .terms.osGb, .terms.headroomGb]' <<<"$OUT")" \
	'[55,50,3]' "  allowances are flags"
check "table output" cc audit python:3.11 julia
diag "$OUT"
like "$OUT" 'python:3.11 +linux/amd64 .* 15 / 10 +1 / 3 +under-provisioned' "  table row: recommended / catalog, status"
like "$OUT" 'minDiskSizeGb 15 = roundup to 5 of 12\.[0-9]+: OS 10 \+ GPU 0 \+ on-disk 0\.00 \+ compressed 0\.00 \+ headroom 2\.00' \
	"  every term printed"
check "-q: no progress" cc -q audit python:3.11
is "$ERR" "" "  nothing on stderr"
run cc audit --no-cache python:3.11
like "$ERR" 'de056a346a8f|[0-9]+/[0-9]+\]' "progress on stderr when streaming"

# ---------------------------------------------------------------- --check
check_exit 1 "--check: python is under-provisioned -> 1" cc audit --check python:3.11
check_exit 0 "--check: julia ok -> 0" cc audit --check julia:1.10.1
check_exit 0 "--check: over-provisioned is not a failure" cc audit --check zstd
check_exit 1 "--check --all -> 1" cc audit --check --all
check_exit 2 "unknown catalog tag -> 2" cc audit julia:9.9
check_exit 2 "no argument -> 2" cc audit
check_exit 3 "missing image -> 3" cc audit "$A/nope/nothing:1"

# ---------------------------------------------------------------- catalog-wide runs keep going
# right after `catalog add-version`: julia's newest version is not built yet
cp "$CAT" "$TEST_TMP/added.json"
check "add a version that is not built" "$CCREG" -C "$TEST_TMP/added.json" catalog add-version julia 1.11.0
ca() { "$CCREG" -C "$TEST_TMP/added.json" --registry "$A" "$@"; }
check_exit 3 "audit --all with an unbuilt version -> 3" ca --json audit --all
is "$(jq -c '[.images[] | [.image, .tag, .status]]' <<<"$OUT")" \
	'[["julia","1.11.0","missing"],["sagemath","10.3","ok"],["python","3.11","ok"],["zstd","1.0","ok"],["cuda","12.6","ok"]]' \
	"  every other image audited after it (--json: status per image)"
like "$(jq -r '.images[0].reason' <<<"$OUT")" 'ccreg-test/julia:1\.11\.0' "  the reason names the missing reference"
is "$(jq -c '.images[0].platforms' <<<"$OUT")" '[]' "  and no figures"
is "$(jq -c '[.images[] | select(.image == "sagemath") | .platforms[].tarBytes]' <<<"$OUT")" \
	"$(jq -c '[.images[] | select(.image == "sagemath") | .platforms[].tarBytes]' <<<"$all")" \
	"  the others' figures as before"
like "$ERR" 'ccreg: .*ccreg-test/julia:1\.11\.0' "  stderr names it"
check_exit 3 "table: the same" ca audit --all
like "$OUT" $'\njulia:1\\.11\\.0 +- .* +missing\n  [^\n]*julia:1\\.11\\.0' "  a missing row with its reason"
like "$OUT" $'\nzstd:1\\.0 +linux/amd64 ' "  and the rows after it"
check_exit 3 "--check: not read beats under-provisioned -> 3" ca audit --check --all

# ---------------------------------------------------------------- --fast
log_clear reg
check "--fast --no-cache on the fixtures" cc --json audit --fast --no-cache --all
fast=$OUT
is "$(jq -c '[.images[].platforms[] | [.platform, .tarBytes, .compressedBytes, .recommended.minDiskSizeGb, .recommended.dockerSizeGb]]' <<<"$fast")" \
	"$(jq -c '[.images[].platforms[] | [.platform, .tarBytes, .compressedBytes, .recommended.minDiskSizeGb, .recommended.dockerSizeGb]]' <<<"$all")" \
	"--fast agrees with streaming (tar bytes, recommendation)"
is "$(jq -c '[.images[] | select(.image != "zstd") | .platforms[].estimate] | unique' <<<"$fast")" '[true]' \
	"  gzip images marked estimate"
is "$(jq -c '[.images[] | select(.image == "zstd") | .platforms[].layers[].source]' <<<"$fast")" '["stream"]' \
	"  the zstd layer is streamed"
is "$(jq -c '[.images[].platforms[] | select(.estimate) | .files] | unique' <<<"$fast")" '[null]' \
	"  unknown counts are null"
is "$(count_requests "$reg_LOG" GET "$layer_re" 206)" "$((distinct - 1))" "  one Range request per gzip layer"

# ---------------------------------------------------------------- --write
cp "$CAT" "$TEST_TMP/orig.json"
check "--write" cc audit --write --all
ns=$(git diff --no-index --numstat "$TEST_TMP/orig.json" "$CAT" | cut -f1,2)
is "$ns" "$(printf '1\t1')" "--write changed exactly one line"
is "$(git diff --no-index -U0 "$TEST_TMP/orig.json" "$CAT" | grep '^[-+] ' | tr -s ' ')" \
	"$(printf -- '- "minDiskSizeGb": 10,\n+ "minDiskSizeGb": 15,')" "  python's minDiskSizeGb 10 -> 15"
like "$ERR" 'python: minDiskSizeGb 10 -> 15' "  reported on stderr"
check "--write again changes nothing" cc audit --write --all
is "$(git diff --no-index --numstat "$TEST_TMP/orig.json" "$CAT" | cut -f1,2)" "$(printf '1\t1')" "  still one line"
check "--write --allow-lower" cc audit --write --allow-lower zstd
is "$(jq '.zstd.minDiskSizeGb' "$CAT")" 15 "  zstd lowered 30 -> 15"
is "$(git diff --no-index --numstat "$TEST_TMP/orig.json" "$CAT" | awk '{a+=$1; d+=$2} END {print a, d}')" "2 2" \
	"  two lines changed in all"
check_exit 0 "--check after --write" cc audit --check --all
check_exit 2 "--write needs catalog images" cc audit --write "$A/fix/python:3.11"

# ---------------------------------------------------------------- failures
check_exit 3 "config with a wrong diff_id -> 3" "$CCREG" audit "$A/bad/diffid:1"
like "$ERR" 'diff_id mismatch' "  says diff_id mismatch"

# alter one byte in the middle of a layer as stored by the registry
victim=$(counts python '.layers[0].digest')
data=$reg_DIR/docker/registry/v2/blobs/sha256/${victim:7:2}/${victim:7}/data
[ -f "$data" ] || bail_out "no blob file $data"
size=$(stat -c %s "$data")
printf '\x00\x00\x00\x00' | dd of="$data" bs=1 seek=$((size / 2)) conv=notrunc status=none
check_exit 3 "altered layer bytes -> 3" "$CCREG" audit --no-cache "$A/fix/python:3.11"
diag "$ERR"
like "$ERR" 'digest mismatch' "  says digest mismatch"
check_exit 3 "a layer that cannot be read fails its target only -> 3" \
	"$CCREG" --json audit --no-cache "$A/fix/python:3.11" "$A/ccreg-test/julia:1.10.1"
is "$(jq -c '[.images[] | .status]' <<<"$OUT")" '["error","ok"]' "  python error, julia audited"
like "$(jq -r '.images[0].reason' <<<"$OUT")" 'fix/python:3\.11 .*digest mismatch' "  the reason says why"
check_exit 0 "the cache still answers for the verified layer" "$CCREG" audit "$A/fix/python:3.11"

done_testing
