#!/bin/bash
# Fails configuration when a tests/test-*.c or tests/integration/*.sh file is
# not listed in tests/meson.build, so no test silently stops running.
dir=$1 units=",$2," integ=",$3,"
bad=0
for f in "$dir"/test-*.c; do
	[ -e "$f" ] || continue
	n=$(basename "$f" .c); n=${n#test-}
	case "$units" in *",$n,"*) ;; *) echo "tests/test-$n.c is not in unit_tests" >&2; bad=1 ;; esac
done
for f in "$dir"/integration/*.sh; do
	[ -e "$f" ] || continue
	n=$(basename "$f" .sh)
	case "$integ" in *",$n,"*) ;; *) echo "tests/integration/$n.sh is not in integration_tests" >&2; bad=1 ;; esac
done
exit $bad
