#!/bin/bash
# Big blobs as bounded parallel ranges (issue 13): pull, audit and copy of a
# layer fetched as `Range: bytes=a-b` requests over --jobs connections,
# through tests/rangeproxy.py, which also answers Range the ways far
# registries and CDNs get it wrong.  Ranges are made small here
# (CCREG_RANGE_MIN / CCREG_RANGE_CHUNK) so a 300 KB layer takes ten of them.
# Each case must give the right bytes or a clean exit 3, never a wrong file
# under a final name; the proxy's log shows which requests were made.
. "$(dirname "$0")/../lib.sh"

T=$TEST_TMP
PY=/usr/bin/python3
export CCREG_RETRY_BASE_MS=20 CCREG_TIMEOUT=30
export XDG_CACHE_HOME=$T/cache
CHUNK=32768
# ranges however near the registry (a near one otherwise gets one stream)
export CCREG_RANGE_MIN=65536 CCREG_RANGE_CHUNK=$CHUNK CCREG_RANGE_NEAR_MS=0

start_registry reg
start_registry reg2
A=$reg_ADDR

# An image with one gzip layer of 5 incompressible files (about 320 KB).
$PY - "$T/img" <<'PYEOF'
import gzip, hashlib, io, json, os, random, sys, tarfile
out = sys.argv[1]
os.makedirs(out + "/blobs/sha256")
rnd = random.Random(13)
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
    for i in range(5):
        data = rnd.randbytes(64000 + i)
        ti = tarfile.TarInfo("f%d" % i); ti.size = len(data); ti.mode = 0o644
        tf.addfile(ti, io.BytesIO(data))
tar = buf.getvalue()
gz = gzip.compress(tar, 1, mtime=0)
def put(b):
    d = "sha256:" + hashlib.sha256(b).hexdigest()
    open(out + "/blobs/sha256/" + d[7:], "wb").write(b)
    return d
dumps = lambda o: json.dumps(o, sort_keys=True, separators=(",", ":")).encode()
cfg = dumps({"architecture": "amd64", "os": "linux",
             "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]}})
man = dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
             "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cfg), "size": len(cfg)},
             "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(gz), "size": len(gz)}]})
md = put(man)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": md, "size": len(man), "annotations": {"org.opencontainers.image.ref.name": "1"}}]},
          open(out + "/index.json", "w"))
open(out + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
print(json.dumps({"layer": "sha256:" + hashlib.sha256(gz).hexdigest(), "size": len(gz), "tar": len(tar)}))
PYEOF
check "push the test image" skopeo copy -q --dest-tls-verify=false "oci:$T/img:1" "docker://$A/big/img:1"
LAYER=$(jq -r '.layers[0].digest' "$T/img/blobs/sha256/$(jq -r '.manifests[0].digest' "$T/img/index.json" | cut -d: -f2)")
LSIZE=$(stat -c %s "$T/img/blobs/sha256/${LAYER#sha256:}")
NRANGES=$(((LSIZE + CHUNK - 1) / CHUNK))
diag "layer $LAYER: $LSIZE bytes, $NRANGES ranges"

start_proxy rangeproxy rangeproxy.py --upstream "$A" --log "$T/rp.log"
P=127.0.0.1:${rangeproxy_PORTS%% *}

okc() { local name=$1; shift; "$@"; ok $? "$name"; }
mode() { : >"$T/rp.log"; curl -sf --max-time 5 "http://$P/__rangeproxy/set?$1" >/dev/null; }
# layer_gets [FACE]: the proxy's log lines for GETs of the layer
layer_gets() { grep -E "^${1:-reg} GET /(cdn/)?v2/big/img/blobs/$LAYER" "$T/rp.log"; }
pulled_ok() # pulled_ok DIR: the layer under its final name, hashing to it
{
	local f=$1/blobs/sha256/${LAYER#sha256:}
	[ -f "$f" ] && [ "sha256:$(sha256sum "$f" | cut -d' ' -f1)" = "$LAYER" ]
}
no_layer() { [ ! -e "$1/blobs/sha256/${LAYER#sha256:}" ] && [ -z "$(find "$1" -name '.*tmp*' 2>/dev/null)" ]; }

# ---------------------------------------------------------------- honest server
mode mode=honest
check "pull in ranges" "$CCREG" -q --jobs 4 pull "$P/big/img:1" "oci:$T/p1:1"
okc "the pulled layer hashes to its digest" pulled_ok "$T/p1"
is "$(layer_gets | wc -l)" "$NRANGES" "one GET per range, each once"
is "$(layer_gets | grep -cE 'range=bytes=[0-9]+-[0-9]+ -> 206')" "$NRANGES" \
	"every range is bounded (bytes=a-b) and answered 206"
is "$(layer_gets | grep -c 'range=bytes=0-32767 ')" 1 "the first range is the first chunk"
last=$((LSIZE - 1))
is "$(layer_gets | grep -c "range=bytes=$(((NRANGES - 1) * CHUNK))-$last ")" 1 \
	"the last range ends at the blob's last byte"
is "$(grep -c '^reg GET .*/blobs/.* range=bytes=[0-9]*- ' "$T/rp.log")" 0 "no open-ended Range"

check "-v says how the blob was split" "$CCREG" -v --jobs 3 pull "$P/big/img:1" "oci:$T/p1b:1"
like "$ERR" "$NRANGES ranges of $CHUNK bytes over [23] connections" \
	"-v: ranges and connections (at most --jobs; the config may hold one)"

# A near registry (its small requests answered within CCREG_RANGE_NEAR_MS, by
# default 10 ms) gets one stream: no per-connection cap to beat there; a far
# one (every answer 40 ms late, over a bound of 10 ms) gets ranges.  The
# bound is generous for "near" here: sanitizers and valgrind slow things.
mode mode=honest
CCREG_RANGE_NEAR_MS=5000 check "a near registry: pull" "$CCREG" -v --jobs 4 pull "$P/big/img:1" "oci:$T/near:1"
okc "near: layer correct" pulled_ok "$T/near"
like "$ERR" "is near \(round trip [0-9.]+ ms\): one stream" "near: -v says one stream, and why"
is "$(layer_gets | grep -c -- '-> 206')" 0 "near: no range asked"
is "$(layer_gets | grep -c 'range=- -> 200')" 1 "near: then one GET without Range"
mode mode=honest\&delay=40
CCREG_RANGE_NEAR_MS=10 check "a far registry: pull" "$CCREG" -v --jobs 4 pull "$P/big/img:1" "oci:$T/far:1"
okc "far: layer correct" pulled_ok "$T/far"
is "$(layer_gets | grep -c -- '-> 206')" "$NRANGES" "far: every range asked"
is "$(grep -c 'is near' <<<"$ERR")" 0 "far: not taken for near"

mode mode=honest
check "--jobs 1: one stream" "$CCREG" -q --jobs 1 pull "$P/big/img:1" "oci:$T/p1c:1"
okc "--jobs 1: layer correct" pulled_ok "$T/p1c"
is "$(layer_gets | grep -c 'range=- -> 200')" 1 "--jobs 1: a single GET without Range"

mode mode=honest
check "audit in ranges" "$CCREG" --json audit --no-cache --jobs 4 "$P/big/img:1"
is "$(jq -r '.. | objects | select(has("files")) | .files' <<<"$OUT" | head -1)" 5 "audit counts the 5 files"
is "$(layer_gets | grep -c -- '-> 206')" "$NRANGES" "audit: the layer came as ranges"

mode mode=honest
check "copy in ranges" "$CCREG" -q --jobs 4 copy "$P/big/img:1" "$reg2_ADDR/big/copy:1"
is "$(curl -s "http://$reg2_ADDR/v2/big/copy/blobs/$LAYER" | sha256sum | cut -d' ' -f1)" \
	"${LAYER#sha256:}" "copy: the destination holds the layer"
is "$(layer_gets | grep -c -- '-> 206')" "$NRANGES" "copy: the layer came as ranges"

# A batch of blob transfers, as many big layers as --jobs (4) and a config:
# each layer is one stream, the config moves beside them (a small blob takes
# no connection of the jobs), and the batch's layers still to come keep
# their connections (ranges would only add a round trip per chunk); with
# more connections than layers the spare ones go to ranges.  Every answer
# waits 300 ms, so all have started before any is done (valgrind too).  The
# layers are 1.5 MB: a blob up to 1 MiB is a small request itself.
check "an image of 4 big layers" $PY "$SRCDIR/tests/fixtures/mkbiglayout.py" "$T/four" four \
	--layers 4 --size 1500000 --seed 7
check "  pushed" "$CCREG" -q push "oci:$T/four:four" "$A/big/four:1"
FOUR_CFG=$(jq -r .config.digest \
	"$T/four/blobs/sha256/$(jq -r '.manifests[0].digest' "$T/four/index.json" | cut -d: -f2)")
four_gets() { grep -E '^reg GET /v2/big/four/blobs/' "$T/rp.log" | grep -v "/blobs/$FOUR_CFG"; }
mode mode=honest\&delay=300
XDG_CACHE_HOME=$T/cache4 check "copy 4 big layers, --jobs 4" "$CCREG" -v --jobs 4 copy "$P/big/four:1" \
	"$reg2_ADDR/big/four4:1"
is "$(four_gets | grep -c 'range=- -> 200')" 4 "  one GET without Range per layer"
is "$(four_gets | grep -c -- '-> 206')" 0 "  no ranges"
# every layer at once: the four layer GETs overlap (the last to start began
# before the first to end was over; each answer waits 300 ms).  The code
# before the batch rule made the fourth wait for the config's GET.  (The
# depth of the whole run, 6-7 alone, is only shown: the destination's
# unhurried requests make it move with the machine's load.)
spans=$(curl -sf --max-time 5 "http://$P/__rangeproxy/spans" | grep -v "^$FOUR_CFG ")
is "$(wc -l <<<"$spans")" 4 "  four layer GETs"
ok "$(awk 'NR == 1 || $2 > s { s = $2 } NR == 1 || $3 < e { e = $3 } END { exit !(s < e) }' \
	<<<"$spans" && echo 0 || echo 1)" "  every layer at once (the four GETs overlap)" || diag "$spans"
diag "depth: $(tail -1 <<<"$ERR")"
mode mode=honest\&delay=300
XDG_CACHE_HOME=$T/cache8 check "copy 4 big layers, --jobs 8" "$CCREG" -q --jobs 8 copy "$P/big/four:1" \
	"$reg2_ADDR/big/four8:1"
ok "$(($(four_gets | grep -c -- '-> 206') > 0 ? 0 : 1))" "  the spare connections fetch ranges"
for t in four4 four8; do
	check "  $t: the copy's digest" "$CCREG" digest "$reg2_ADDR/big/$t:1"
	is "$OUT" "$("$CCREG" digest "$A/big/four:1")" "  $t: the same image"
done

# ---------------------------------------------------------------- servers that get Range wrong
mode mode=ignore
check "a server that ignores Range" "$CCREG" -q --jobs 4 pull "$P/big/img:1" "oci:$T/p2:1"
okc "ignore: layer correct" pulled_ok "$T/p2"
is "$(layer_gets | grep -c 'Range ignored')" "$(layer_gets | wc -l)" "ignore: every answer was a 200"
like "$(layer_gets | tail -1)" "range=- -> 200" "ignore: ends with one plain GET of the whole blob"
okc "ignore: no more than jobs + 1 GETs" test "$(layer_gets | wc -l)" -le 5

mode mode=shift
check "206 with another range than asked" "$CCREG" -q --jobs 4 pull "$P/big/img:1" "oci:$T/p3:1"
okc "shift: layer correct" pulled_ok "$T/p3"
like "$(layer_gets | tail -1)" "range=- -> 200" "shift: falls back to one stream"

mode mode=inconsistent\&count=2
check "two ranges that disagree: the blob is fetched again from zero" "$CCREG" -v --jobs 4 pull \
	"$P/big/img:1" "oci:$T/p4:1"
okc "inconsistent once: layer correct" pulled_ok "$T/p4"
like "$ERR" "digest mismatch.*fetching it again from the start" "inconsistent: -v says it starts over"
is "$(layer_gets | grep -c 'range=bytes=0-32767 ')" 2 "inconsistent once: two passes over the blob"

mode mode=inconsistent
check_exit 3 "ranges that always disagree" "$CCREG" -q --jobs 4 pull "$P/big/img:1" "oci:$T/p5:1"
like "$ERR" "^ccreg: .*$LAYER.*digest mismatch" "inconsistent: one line naming the blob"
is "$(grep -c . <<<"$ERR")" 1 "inconsistent: one line"
okc "inconsistent: no layer under its name, no temp file" no_layer "$T/p5"
is "$(layer_gets | grep -c 'range=bytes=0-32767 ')" 3 "inconsistent: tried three times, then stopped"

mode mode=inconsistent
check_exit 3 "audit: ranges that always disagree" "$CCREG" -q --jobs 4 audit --no-cache "$P/big/img:1"
like "$ERR" "digest mismatch" "audit: digest mismatch named"

mode mode=total
check_exit 3 "Content-Range total contradicting the descriptor" "$CCREG" -q --jobs 4 pull \
	"$P/big/img:1" "oci:$T/p6:1"
like "$ERR" "^ccreg: .*says the blob has $((LSIZE + 1)) bytes \(Content-Range\), the descriptor $LSIZE" \
	"total: names both sizes"
okc "total: no layer under its name" no_layer "$T/p6"

# ---------------------------------------------------------------- redirects
mode mode=cdn-416
check "a redirect target that refuses Range" "$CCREG" -q --jobs 4 pull "$P/big/img:1" "oci:$T/p7:1"
okc "cdn-416: layer correct" pulled_ok "$T/p7"
is "$(layer_gets cdn | grep -c 'range=- -> 200')" 1 "cdn-416: the blob came as one stream from the CDN"

mode mode=cdn-expire\&uses=1000
check "ranges from a CDN" "$CCREG" -q --jobs 4 pull "$P/big/img:1" "oci:$T/p8:1"
okc "cdn: layer correct" pulled_ok "$T/p8"
is "$(layer_gets | wc -l)" 1 "cdn: the registry redirected once"
is "$(layer_gets cdn | grep -c -- '-> 206')" "$NRANGES" "cdn: every range from the resolved URL"

mode mode=cdn-expire\&uses=3
check "a CDN URL that expires" "$CCREG" -q --jobs 4 pull "$P/big/img:1" "oci:$T/p9:1"
okc "expire: layer correct" pulled_ok "$T/p9"
okc "expire: went back to the registry for fresh redirects" test "$(layer_gets | wc -l)" -ge 3
is "$(layer_gets cdn | grep -c -- '-> 206')" "$NRANGES" "expire: every range still came once as 206"

done_testing
