#!/bin/sh
# make fuzz-coverage: which lines of the parsers and the configuration code the
# fuzz corpora reach.  Replays BUILDDIR/corpus/NAME, BUILDDIR/seeds/NAME and
# tests/fuzz/regressions/NAME through BUILDDIR/cov/fuzz_NAME (built with
# clang's source-based coverage by the Makefile), merges the profiles and
# prints llvm-cov's report (also in BUILDDIR/coverage.txt).
#   sh tests/fuzz/coverage.sh BUILDDIR NAME...
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
b=$1
shift
tool() { command -v "$1" || command -v "$1-14" || { echo "coverage: $1 not found" >&2; exit 1; }; }
profdata=$(tool llvm-profdata)
cov=$(tool llvm-cov)
rm -f "$b"/cov/*.profraw
objects=""
for name in "$@"; do
	dirs=""
	for d in "$b/corpus/$name" "$b/seeds/$name" "$top/tests/fuzz/regressions/$name"; do
		[ -d "$d" ] && dirs="$dirs $d"
	done
	# shellcheck disable=SC2086
	LLVM_PROFILE_FILE="$b/cov/$name.profraw" "$b/cov/fuzz_$name" $dirs > /dev/null
	# llvm-cov takes the first binary as such, the others with -object.
	objects="${objects:+$objects -object }$b/cov/fuzz_$name"
done
"$profdata" merge -o "$b/cov/all.profdata" "$b"/cov/*.profraw
cd "$top"
# shellcheck disable=SC2086
"$cov" report $objects -instr-profile="$b/cov/all.profdata" capture/frame.c capture/parse_*.c \
	capture/checksum.c probe/wire_rx.c agent/config.c agent/config_text.c bgp/bmp.c bgp/nlri.c \
	bgp/update.c bgp/routes.c bgp/collector.c bgp/mdt.c bgp/mvpn.c mib/bgpmdt.c | tee "$b/coverage.txt"
