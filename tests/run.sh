#!/bin/sh
# make check: the unit test binaries given as arguments, then the integration
# tests (pytest), then one summary line "N passed, N failed" for CI.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for t in "$@"; do
	"$t" > "$tmp/out" 2>&1
	cat "$tmp/out"
	p=$(grep -c '^ok ' "$tmp/out")
	f=$(grep -c '^not ok ' "$tmp/out")
	# A binary that dies before its plan is complete counts as one more failure.
	plan=$(sed -n 's/^1\.\.//p' "$tmp/out" | head -n 1)
	[ -n "$plan" ] && [ $((p + f)) -eq "$plan" ] || f=$((f + 1))
	passed=$((passed + p))
	failed=$((failed + f))
done

if [ "${MVPN_SKIP_INTEGRATION:-0}" != 1 ]; then
	/usr/bin/python3 -m pytest -q -p no:cacheprovider --junitxml="$tmp/junit.xml" \
		"$top/tests/integration"
	rc=$?
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
	case $rc in 0|1) ;; *) failed=$((failed + 1)) ;; esac
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
