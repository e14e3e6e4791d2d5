#!/bin/sh
# make check-repeat N=5   (or: sh tests/check_repeat.sh [--out DIR] [N])
#
# Flakiness hunt (issue 17): N runs of `make check` in a row, each in a fresh
# `git clone` of HEAD, as CI does, while a CPU hog (one busy loop, pinned to
# CPU 0 with taskset when there is one) keeps one core busy.  It tests the
# COMMITTED state, commit <sha> as printed: uncommitted changes in the working
# tree are not part of it.  `make deps` runs once first.
#
# Each run's log and per-test results (tests/run.sh with MVPN_RESULTS_DIR) go
# to DIR/<date>-<sha>/run-<i>/ (DIR: build/check-repeat/ by default, ignored
# by git); each clone is deleted after its run.  At the end: a table of run,
# wall time, load average, summary line and every failing test (pytest node id
# with its pass, plain or asan; unit test binary and its "not ok" line), then
# "check-repeat: K of N runs green"; the exit status is non-zero unless all are.
#
# Passed through to each run: MVPN_SKIP_ASAN=1, MVPN_SKIP_INTEGRATION=1 and
# MVPN_PYTEST_ARGS (pytest arguments instead of tests/integration, relative
# to the clone, e.g. MVPN_PYTEST_ARGS=tests/integration/test_probe.py).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/build/check-repeat"
n=""
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=${2:?--out needs a directory}; shift 2 ;;
	--out=*) out=${1#--out=}; shift ;;
	-h|--help) sed -n '2,20p' "$0"; exit 0 ;;
	*) n=$1; shift ;;
	esac
done
n=${n:-5}
case $n in ''|*[!0-9]*|0) echo "check-repeat: N must be a positive number, not '$n'" >&2; exit 2 ;; esac

sha=$(git -C "$top" rev-parse HEAD) || exit 2
short=$(git -C "$top" rev-parse --short HEAD)
mkdir -p "$out" || exit 2
res="$(cd "$out" && pwd)/$(date +%Y%m%d-%H%M%S)-$short"
mkdir -p "$res" || exit 2

hog=""
clone=""
cleanup() {
	if [ -n "$hog" ]; then
		kill "$hog" 2>/dev/null
		wait "$hog" 2>/dev/null
		hog=""
	fi
	[ -z "$clone" ] || rm -rf "$clone"
	clone=""
}
trap cleanup EXIT
trap 'cleanup; echo "check-repeat: interrupted (logs in $res)" >&2; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 129' HUP

# The nested makes are CI's plain `make`: nothing of ours (N=, -j, the jobserver).
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

echo "check-repeat: testing commit $sha (HEAD, committed state only), $n run(s)"
if [ -n "$(git -C "$top" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	echo "check-repeat: note: the working tree has uncommitted changes; they are NOT tested"
fi
echo "check-repeat: results in $res"
for v in MVPN_SKIP_ASAN MVPN_SKIP_INTEGRATION MVPN_PYTEST_ARGS; do
	eval "val=\${$v:-}"
	[ -z "$val" ] || echo "check-repeat: $v=$val"
done

# make deps, once, in a clone of the commit.
clone=$(mktemp -d "${TMPDIR:-/tmp}/mvpn-check-repeat.XXXXXX")
# (Subshells, not { }: a trap run inside a redirected group would write to its log.)
if ! (git clone -q "$top" "$clone/src" && git -C "$clone/src" checkout -q "$sha" &&
		make -C "$clone/src" --no-print-directory deps) > "$res/deps.log" 2>&1; then
	cat "$res/deps.log"
	echo "check-repeat: make deps failed (log: $res/deps.log)" >&2
	exit 2
fi
rm -rf "$clone"
clone=""
sed 's/^/check-repeat: /' "$res/deps.log"

# The hog: one busy loop on CPU 0 (an async command ignores SIGINT: the traps kill it).
if command -v taskset > /dev/null 2>&1; then
	taskset -c 0 sh -c 'while :; do :; done' &
	hog=$!
	echo "check-repeat: CPU hog pid $hog, pinned to CPU 0 ($(nproc) CPUs)"
else
	sh -c 'while :; do :; done' &
	hog=$!
	echo "check-repeat: CPU hog pid $hog, not pinned (no taskset; $(nproc) CPUs)"
fi

green=0
i=1
while [ "$i" -le "$n" ]; do
	rd="$res/run-$i"
	mkdir -p "$rd"
	clone=$(mktemp -d "${TMPDIR:-/tmp}/mvpn-check-repeat.XXXXXX")
	echo "== run $i/$n: $(date '+%F %T'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	t0=$(date +%s)
	(
		git clone -q "$top" "$clone/src" && git -C "$clone/src" checkout -q "$sha" &&
			MVPN_RESULTS_DIR="$rd" make -C "$clone/src" --no-print-directory check
	) > "$rd/log.txt" 2>&1
	rc=$?
	t1=$(date +%s)
	rm -rf "$clone"
	clone=""
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$rd/log.txt" | tail -n 1)
	[ -n "$summary" ] || summary="no summary line (make exited $rc)"
	if [ "$rc" -eq 0 ]; then st=green; green=$((green + 1)); else st=RED; fi
	printf '%s\t%s\t%s\t%s\t%s\n' "$i" "$((t1 - t0))" "$load" "$st" "$summary" > "$rd/run.tsv"
	echo "== run $i/$n: $st in $((t1 - t0)) s, $summary (load average after: $load; log: $rd/log.txt)"
	i=$((i + 1))
done

cleanup
echo "check-repeat: CPU hog stopped"

# The table: the tests' files (for node ids) are those of the commit.
git -C "$top" ls-tree -r --name-only "$sha" > "$res/files.txt"
/usr/bin/python3 - "$res" "$n" <<'PY'
import os, sys, xml.etree.ElementTree as ET
res, n = sys.argv[1], int(sys.argv[2])
files = set(open(os.path.join(res, "files.txt")).read().split("\n"))

def nodeid(classname, name):
    # pytest's classname is the module's dotted path then any classes.
    parts = classname.split(".") if classname else []
    for k in range(len(parts), 0, -1):
        path = "/".join(parts[:k]) + ".py"
        if path in files:
            return "::".join([path] + parts[k:] + [name])
    return "::".join(p for p in (classname, name) if p)

def junit_failures(path):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        return ["(unreadable junit xml: %s)" % e]
    bad = []
    for tc in root.iter("testcase"):
        kinds = [c.tag for c in tc if c.tag in ("failure", "error")]
        if kinds:
            bad.append(nodeid(tc.get("classname", ""), tc.get("name", "")) +
                       ("" if "failure" in kinds else " (error)"))
    return bad

print()
print("%-4s %7s  %-16s %-6s %s" % ("run", "wall", "load avg after", "status", "summary"))
for i in range(1, n + 1):
    rd = os.path.join(res, "run-%d" % i)
    try:
        run, wall, load, st, summary = open(os.path.join(rd, "run.tsv")).read().rstrip("\n").split("\t")
    except OSError:
        continue
    print("%-4s %6ss  %-16s %-6s %s" % (run, wall, load, st, summary))
    fails = []
    for p in ("plain", "asan"):
        junit = os.path.join(rd, "junit-%s.xml" % p)
        if os.path.exists(junit):
            fails += ["  FAIL [%s] %s" % (p, t) for t in junit_failures(junit)]
        for kind in ("unit", "errors"):
            f = os.path.join(rd, "%s-%s.txt" % (kind, p))
            if os.path.exists(f):
                fails += ["  FAIL [%s] %s%s" % (p, "unit " if kind == "unit" else "", l.rstrip())
                          for l in open(f) if l.strip()]
    for l in fails:
        print(l)
    if st != "green" and not fails:
        print("  (no failing test recorded: the build or make failed; see %s/log.txt)" % rd)
PY
echo "check-repeat: $green of $n runs green (commit $short; results in $res)"
[ "$green" -eq "$n" ]
