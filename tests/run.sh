#!/bin/sh
# make check: the unit tests and the integration tests (pytest), first on
# build/, then on build-asan/ (ASan + UBSan; skipped with MVPN_SKIP_ASAN=1),
# then one summary line "N passed, N failed" for CI.
#
# In the sanitizer pass every report is written to a file (the daemons run with
# their stderr closed) and each report counts as a failure: leaks included.
#
# MVPN_RESULTS_DIR (opt-in, used by tests/check_repeat.sh): when set, each pass
# (plain, asan) leaves there junit-<pass>.xml, unit-<pass>.txt (each unit
# binary's "not ok" lines and incomplete plans), errors-<pass>.txt (pytest not
# running, sanitizer reports) and sanitizer-asan/ (the reports).
# MVPN_PYTEST_ARGS: pytest arguments instead of tests/integration (e.g. one file).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# tshark's readings of the captures, shared by the two passes (conftest.run_tshark).
MVPN_TSHARK_CACHE="$tmp/tshark"
export MVPN_TSHARK_CACHE
res=${MVPN_RESULTS_DIR:-}
[ -z "$res" ] || mkdir -p "$res"
pass=plain

run_units() {
	# Unit tests, then each fuzz harness replaying its saved regression inputs.
	for t in "$1"/tests/test_* "$1"/fuzz-replay/fuzz_*; do
		[ -x "$t" ] || continue
		"$t" > "$tmp/out" 2>&1
		cat "$tmp/out"
		p=$(grep -c '^ok ' "$tmp/out")
		f=$(grep -c '^not ok ' "$tmp/out")
		# A binary that dies before its plan is complete counts as one more failure.
		plan=$(sed -n 's/^1\.\.//p' "$tmp/out" | head -n 1)
		[ -n "$plan" ] && [ $((p + f)) -eq "$plan" ] || {
			f=$((f + 1))
			[ -z "$res" ] || echo "$(basename "$t"): incomplete plan (died or exited early)" >> "$res/unit-$pass.txt"
		}
		[ -z "$res" ] || grep '^not ok ' "$tmp/out" | sed "s|^|$(basename "$t"): |" >> "$res/unit-$pass.txt"
		passed=$((passed + p))
		failed=$((failed + f))
	done
}

run_integration() {
	[ "${MVPN_SKIP_INTEGRATION:-0}" != 1 ] || return 0
	rm -f "$tmp/junit.xml"
	MVPN_BUILD="$1" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
		--junitxml="$tmp/junit.xml" ${MVPN_PYTEST_ARGS:-"$top/tests/integration"}
	rc=$?
	[ -z "$res" ] || [ ! -f "$tmp/junit.xml" ] || cp "$tmp/junit.xml" "$res/junit-$pass.xml"
	if [ -f "$tmp/junit.xml" ]; then
		counts=$(/usr/bin/python3 - "$tmp/junit.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
t = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skip = sum(int(s.get("skipped", 0)) for s in suites)
print(t - bad - skip, bad)
PY
)
		passed=$((passed + ${counts% *}))
		failed=$((failed + ${counts#* }))
	fi
	# pytest itself failing to run (not a test failing) must not pass silently.
	case $rc in 0|1) ;; *) failed=$((failed + 1))
		[ -z "$res" ] || echo "pytest exited $rc" >> "$res/errors-$pass.txt" ;; esac
}

echo "== plain build (build/)"
run_units "$top/build"
run_integration "$top/build"

if [ "${MVPN_SKIP_ASAN:-0}" != 1 ]; then
	echo "== ASan + UBSan build (build-asan/)"
	mkdir -p "$tmp/sanitizer"
	ASAN_OPTIONS="log_path=$tmp/sanitizer/asan:log_exe_name=1:detect_leaks=1:abort_on_error=0"
	UBSAN_OPTIONS="log_path=$tmp/sanitizer/ubsan:print_stacktrace=1:halt_on_error=1"
	MVPN_SANITIZED=1
	pass=asan
	export ASAN_OPTIONS UBSAN_OPTIONS MVPN_SANITIZED
	run_units "$top/build-asan"
	run_integration "$top/build-asan"
	unset ASAN_OPTIONS UBSAN_OPTIONS MVPN_SANITIZED
	reports=$(ls "$tmp/sanitizer" | wc -l)
	for r in "$tmp"/sanitizer/*; do
		[ -f "$r" ] || continue
		echo "== sanitizer report $(basename "$r"):"
		head -n 60 "$r"
		[ -z "$res" ] || { mkdir -p "$res/sanitizer-asan" && cp "$r" "$res/sanitizer-asan/" &&
			echo "sanitizer report $(basename "$r")" >> "$res/errors-asan.txt"; }
	done
	echo "== sanitizer reports: $reports"
	failed=$((failed + reports))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
