#!/bin/bash
# Local I/O failures exit 5 with one line naming the file, and leave nothing
# half-written: a pull onto a full tmpfs, output to /dev/full, blob -o and
# verify --junit into a read-only directory, catalog edits and logout on a
# read-only file.  Full and read-only file systems are real tmpfs mounts
# (root only; skipped otherwise).
. "$(dirname "$0")/../lib.sh"

T=$TEST_TMP
start_registry reg
R=$reg_ADDR
check "seed a small image" seed julia-x86_64 "$R/demo/julia:1"

# ---------------------------------------------------------------- standard output
check_exit 5 "manifest > /dev/full exits 5" bash -c '"$0" manifest "$1" >/dev/full' "$CCREG" "$R/demo/julia:1"
is "$ERR" "ccreg: write error on standard output: No space left on device" "  one line saying why"
check_exit 5 "tags > /dev/full exits 5" bash -c '"$0" tags "$1" >/dev/full' "$CCREG" "$R/demo/julia"
check_exit 5 "manifest with stdout closed exits 5" bash -c '"$0" manifest "$1" >&-' "$CCREG" "$R/demo/julia:1"
like "$ERR" '^ccreg: write error on standard output: ' "  says so"
check "manifest to a pipe still works" bash -c '"$0" manifest "$1" | cat >/dev/null' "$CCREG" "$R/demo/julia:1"

# a blob bigger than stdio's buffer fails while streaming, not at exit
check "make an image with 3 MiB layers" $PY "$SRCDIR/tests/fixtures/mkbiglayout.py" "$T/big" big \
	--layers 3 --size $((3 << 20)) --seed 11
check "push it" "$CCREG" -q push "oci:$T/big:big" "$R/big/img:1"
layer=$(jq -r '.layers[0].digest' "$T/big/blobs/sha256/$(jq -r '.manifests[0].digest' "$T/big/index.json" | cut -d: -f2)")
check_exit 5 "blob > /dev/full exits 5" bash -c '"$0" blob "$1" >/dev/full' "$CCREG" "$R/big/img@$layer"
is "$(wc -l <<<"$ERR")" 1 "  one line"
like "$ERR" '^ccreg: .*write error on standard output: No space left on device$' "  saying why"
# a FIFO of our own stands for a device: a failure here must not replace a
# real one (/dev/full) with a file
mkfifo "$T/fifo"
check_exit 2 "blob -o a FIFO or device is refused, not replaced" "$CCREG" blob "$R/big/img@$layer" -o "$T/fifo"
is "$ERR" "ccreg: $T/fifo: not a regular file" "  says why"
ok "$([ -p "$T/fifo" ]; echo $?)" "  the FIFO is still a FIFO"

# ---------------------------------------------------------------- file systems
mnt_ok=0
if [ "$(id -u)" = 0 ] && mkdir -p "$T/full" "$T/ro" &&
	mount -t tmpfs -o size=2m,mode=0755 ccreg-full "$T/full" 2>/dev/null; then
	at_exit umount -l "$T/full"
	if mount -t tmpfs -o size=1m,mode=0755 ccreg-ro "$T/ro" 2>/dev/null; then
		at_exit umount -l "$T/ro"
		mnt_ok=1
	fi
fi
if [ "$mnt_ok" != 1 ]; then
	skip "full and read-only file systems" "needs root and tmpfs mounts"
	done_testing
fi

# a pull of 9 MiB onto 2 MiB
check_exit 5 "pull onto a full tmpfs exits 5" "$CCREG" -q pull "$R/big/img:1" "oci:$T/full/lay:big"
is "$(wc -l <<<"$ERR")" 1 "  one line"
like "$ERR" '^ccreg: .*/full/lay/blobs/sha256/[0-9a-f]{64}: No space left on device$' "  naming the blob and why"
bad=0
for f in "$T"/full/lay/blobs/sha256/*; do
	[ -e "$f" ] || continue
	[ "$(sha256sum "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || bad=$((bad + 1))
done
is "$bad" 0 "  every file under blobs/sha256 is a verified blob"
is "$(find "$T/full" -name '*.tmp.*' | wc -l)" 0 "  no temporary file left"
ok "$([ ! -e "$T/full/lay/index.json" ]; echo $?)" "  index.json not written"
ok "$([ ! -e "$T/full/lay/blobs/sha256/${layer#sha256:}" ]; echo $?)" "  the big layer has no final name"

# read-only: files put in place, then the mount made read-only
cp "$SRCDIR/images.json" "$T/ro/images.json"
printf '{"auths": {"%s": {"auth": "dTpw"}}}\n' "$R" >"$T/ro/auth.json"
cp "$T/ro/images.json" "$T/images.orig"
cp "$T/ro/auth.json" "$T/auth.orig"
check "make the tmpfs read-only" mount -o remount,ro "$T/ro"

check_exit 5 "blob -o into a read-only directory exits 5" "$CCREG" blob "$R/big/img@$layer" -o "$T/ro/blob"
is "$ERR" "ccreg: $T/ro/blob: Read-only file system" "  one line naming the file"
ok "$([ ! -e "$T/ro/blob" ]; echo $?)" "  no file"

check_exit 5 "catalog edit of a read-only file exits 5" \
	"$CCREG" -C "$T/ro/images.json" catalog add-version julia 9.9.9
is "$ERR" "ccreg: $T/ro/images.json: Read-only file system" "  one line naming the file"
check "  the catalog is byte-identical" cmp "$T/images.orig" "$T/ro/images.json"

check_exit 5 "logout with a read-only auth file exits 5" "$CCREG" --auth-file "$T/ro/auth.json" logout "$R"
like "$ERR" "^ccreg: .*$T/ro/auth.json: Read-only file system" "  naming the file"
check "  the auth file is byte-identical" cmp "$T/auth.orig" "$T/ro/auth.json"

check_exit 5 "verify --junit into a read-only directory exits 5" \
	"$CCREG" -q -C "$SRCDIR/images.json" --registry "$R" verify python --junit "$T/ro/report.xml"
like "$ERR" "^ccreg: $T/ro/report.xml: Read-only file system" "  naming the report"

check_exit 5 "pull into a read-only directory exits 5" "$CCREG" -q pull "$R/demo/julia:1" "oci:$T/ro/lay"
like "$ERR" "^ccreg: $T/ro/lay: cannot create the layout: Read-only file system" "  naming the layout"

check_exit 2 "a missing input path stays a usage error" "$CCREG" -q push "oci:$T/nope" "$R/x/y:1"
done_testing
