#!/bin/bash
# The test harness itself: registry start-up, fixtures, seeding in OCI and
# Docker schema2 form, peers reading what was seeded, access-log counting.
. "$(dirname "$0")/../lib.sh"

start_registry reg
like "$reg_ADDR" '^127\.0\.0\.1:[0-9]+$' "start_registry exports reg_ADDR"
check "registry answers /v2/" curl -sf "http://$reg_ADDR/v2/"
is "$OUT" "{}" "/v2/ body is {}"

# Fixtures: reproducible, and counts.json agrees with the layouts.
check "mkfixtures.py is reproducible" \
	/usr/bin/python3 "$SRCDIR/tests/fixtures/mkfixtures.py" "$TEST_TMP/fx2"
check "second build is byte-identical" diff -r "$FIXTURES" "$TEST_TMP/fx2"
base_x=$(counts julia-x86_64 '.layers[0].digest')
base_a=$(counts julia-arm64 '.layers[0].digest')
is "$base_a" "$base_x" "julia per-arch images share their base layer"
isnt "$(counts julia-arm64 '.layers[1].digest')" "$(counts julia-x86_64 '.layers[1].digest')" \
	"julia arch layers differ"
is "$(jq -r .variant "$FIXTURES/julia-arm64/blobs/sha256/$(counts julia-arm64 .configDigest | cut -d: -f2)")" \
	v8 "arm64 config carries variant v8"
is "$(counts zstdimg '.layers[0].mediaType')" application/vnd.oci.image.layer.v1.tar+zstd \
	"zstdimg has a zstd layer"
is "$(du -sb "$FIXTURES" | cut -f1 | awk '{print ($1 < 2000000)}')" 1 "fixtures stay under 2 MB"

# An independent recount of one layer with GNU tar.
blob=$FIXTURES/julia-x86_64/blobs/sha256/$(counts julia-x86_64 '.layers[1].digest' | cut -d: -f2)
listing=$(tar -tvzf "$blob")
is "$(wc -l <<<"$listing")" "$(counts julia-x86_64 '.layers[1].entries')" "tar entry count matches counts.json"
is "$(grep -c '^h' <<<"$listing")" "$(counts julia-x86_64 '.layers[1].hardlinks')" "hardlink count matches"
is "$(grep -c '^l' <<<"$listing")" "$(counts julia-x86_64 '.layers[1].symlinks')" "symlink count matches"
is "$(gzip -dc "$blob" | wc -c)" "$(counts julia-x86_64 '.layers[1].tarBytes')" "tarBytes matches"
is "sha256:$(gzip -dc "$blob" | sha256sum | cut -d' ' -f1)" "$(counts julia-x86_64 '.layers[1].diffId')" \
	"diffId is the uncompressed digest"

# Seeding.
check "seed OCI" seed julia-x86_64 "$reg_ADDR/sagemathinc/julia-x86_64:1.10.1"
check "seed v2s2" seed julia-arm64 "$reg_ADDR/sagemathinc/julia-arm64:1.10.1" v2s2
check "seed zstd" seed zstdimg "$reg_ADDR/test/zstdimg:1.0"

check "skopeo reads the OCI manifest" \
	skopeo inspect --raw --tls-verify=false "docker://$reg_ADDR/sagemathinc/julia-x86_64:1.10.1"
is "$(jq -r .mediaType <<<"$OUT")" application/vnd.oci.image.manifest.v1+json "OCI media type kept"
is "sha256:$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" "$(counts julia-x86_64 .manifestDigest)" \
	"served manifest is the fixture's, byte for byte"

check "skopeo reads the v2s2 manifest" \
	skopeo inspect --raw --tls-verify=false "docker://$reg_ADDR/sagemathinc/julia-arm64:1.10.1"
is "$(jq -r .mediaType <<<"$OUT")" application/vnd.docker.distribution.manifest.v2+json "converted to Docker schema2"
is "$(jq -r '.layers[0].digest' <<<"$OUT")" "$base_x" "conversion keeps layer digests"

check "skopeo reads the zstd manifest" \
	skopeo inspect --raw --tls-verify=false "docker://$reg_ADDR/test/zstdimg:1.0"
is "$(jq -r '.layers[0].mediaType' <<<"$OUT")" application/vnd.oci.image.layer.v1.tar+zstd "zstd layer media type kept"

# Access-log counting. (docker-registry 2.8 answers 404 to a manifest GET/HEAD
# by tag without an Accept header naming the OCI type, hence the -H.)
log_clear reg
is "$(count_requests "$reg_LOG" GET '/v2/')" 0 "cleared log counts nothing"
curl -s -o /dev/null "http://$reg_ADDR/v2/sagemathinc/julia-x86_64/tags/list"
curl -s -o /dev/null -I -H "Accept: application/vnd.oci.image.manifest.v1+json" "http://$reg_ADDR/v2/sagemathinc/julia-x86_64/manifests/1.10.1"
curl -s -o /dev/null -I -H "Accept: application/vnd.oci.image.manifest.v1+json" "http://$reg_ADDR/v2/sagemathinc/julia-x86_64/manifests/1.10.1"
curl -s -o /dev/null "http://$reg_ADDR/v2/sagemathinc/julia-x86_64/blobs/$base_x"
curl -s -o /dev/null "http://$reg_ADDR/v2/nosuch/repo/manifests/latest"
is "$(count_requests "$reg_LOG" GET '/v2/sagemathinc/julia-x86_64/tags/list')" 1 "counts one tags/list GET"
is "$(count_requests "$reg_LOG" HEAD '/v2/[^ ]+/manifests/1\.10\.1')" 2 "counts two manifest HEADs"
is "$(count_requests "$reg_LOG" HEAD "/v2/[^ ]+/manifests/1\.10\.1" 200)" 2 "both HEADs answered 200"
is "$(count_requests "$reg_LOG" GET '/v2/.*/blobs/sha256:[0-9a-f]{64}')" 1 "counts one blob GET"
is "$(count_requests "$reg_LOG" 'GET|HEAD' '/v2/.*' 404)" 1 "counts one 404"
is "$(count_requests "$reg_LOG" GET '/v2/.*/manifests/.*')" 1 "HEADs are not GETs"

# A second registry is independent; stopping one frees its port.
start_registry other
isnt "$other_PORT" "$reg_PORT" "second registry on its own port"
stop_registry other
run curl -s --max-time 2 "http://$other_ADDR/v2/"
isnt "$RC" 0 "stopped registry no longer answers"

# A test that exits, or is SIGKILLed, leaves no registry behind; one that
# exits also removes its temp dir.
for how in exit kill; do
	info=$TEST_TMP/child-$how
	(bash -c '. "$1"; start_registry r; echo "$r_PID $TEST_TMP" >"$2"
		[ "$3" = kill ] && kill -KILL $$; exit 0' \
		child "$SRCDIR/tests/lib.sh" "$info" "$how" >/dev/null 2>&1; :) 2>/dev/null
	read -r cpid ctmp <"$info"
	like "$cpid" '^[0-9]+$' "child test reported its registry's pid ($how)"
	for ((i = 0; i < 50; i++)); do
		_alive "$cpid" || break
		sleep 0.1
	done
	run eval '! _alive "$cpid"'
	ok "$RC" "registry gone after the test's $how"
	if [ "$how" = exit ]; then
		run test ! -d "$ctmp"
		ok "$RC" "temp dir removed after exit"
	fi
	rm -rf "$ctmp"
done

done_testing
