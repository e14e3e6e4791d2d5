#!/bin/sh
# make fuzz: run each harness in turn, then update its row of the table
# tests/fuzz/results.txt (rows of harnesses not run are kept).
#   sh tests/fuzz/run.sh BUILDDIR NAME...
# Each harness runs for FUZZ_SECONDS (default 60) or, if FUZZ_RUNS is set, for
# that many executions, at nice FUZZ_NICE (default 10), on BUILDDIR/corpus/NAME
# (kept between runs: each run starts where the last one stopped), the
# seeds in BUILDDIR/seeds/NAME and tests/fuzz/regressions/NAME (every input
# that once broke something, tried first).  A crash, leak, timeout or out-of-memory
# leaves its input in BUILDDIR/artifacts/NAME/ and fails the run.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
b=$1
shift
seconds=${FUZZ_SECONDS:-60}
runs=${FUZZ_RUNS:-}
nice_level=${FUZZ_NICE:-10}
results="$top/tests/fuzz/results.txt"
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
failed=0

# Keep the input small enough to parse in microseconds: a frame fits in
# 4 KB with room to spare, a configuration that means anything in 8 KB.
max_len() {
	case $1 in
	config|bmp|bgp_model) echo 8192 ;;
	*) echo 4096 ;;
	esac
}

# ASan keeps freed memory out of reuse for 256 MB by default, sized for long
# programs; one execution here allocates well under 1 MB, so 16 MB still
# catches any use after free within an execution, many executions back, and
# spares the cost of cycling 256 MB (the config harness runs 50% faster).
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=16}"

stat_of() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

for name in "$@"; do
	bin="$b/fuzz_$name"
	log="$b/logs/$name.log"
	mkdir -p "$b/corpus/$name" "$b/seeds/$name" "$b/artifacts/$name" "$b/logs"
	if [ -n "$runs" ]; then
		limit="-runs=$runs"
	else
		limit="-max_total_time=$seconds"
	fi
	dict=""
	regressions=""
	[ -d "$top/tests/fuzz/regressions/$name" ] && regressions="$top/tests/fuzz/regressions/$name"
	[ -f "$top/tests/fuzz/$name.dict" ] && dict="-dict=$top/tests/fuzz/$name.dict"
	echo "fuzz: $name ($limit)"
	touch "$b/logs/$name.start" # what this run finds is newer than this
	# shellcheck disable=SC2086
	nice -n "$nice_level" "$bin" $limit $dict -max_len="$(max_len "$name")" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$b/artifacts/$name/" \
		"$b/corpus/$name" "$b/seeds/$name" $regressions > "$log" 2>&1
	rc=$?
	execs=$(stat_of number_of_executed_units "$log")
	rate=$(stat_of average_exec_per_sec "$log")
	corpus=$(grep -o 'corp: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	findings=$(find "$b/artifacts/$name" -type f -newer "$b/logs/$name.start" | wc -l)
	if [ "$rc" -ne 0 ] || [ "$findings" -ne 0 ]; then
		failed=1
		echo "fuzz: $name FAILED (exit $rc; see $log and $b/artifacts/$name/)"
		grep -m 1 -A 12 -E 'ERROR|runtime error|invariant broken' "$log"
	fi
	printf '%-10s %12s %8s %7s %5s %9s  %-18s %s\n' "$name" "${execs:-?}" "${rate:-?}" \
		"${corpus:-?}" "${cov:-?}" "$findings" "${limit#-}" "$(date -u +%Y-%m-%d)" >> "$rows"
done

# The new rows replace the old ones of the same harnesses; the rest stay.
{
	echo "# tests/fuzz/results.txt: written by make fuzz (tests/fuzz/run.sh); one row per harness,"
	echo "# from its latest run.  corpus: inputs kept; cov: edges covered; findings: crash, leak,"
	echo "# timeout and oom inputs left in build-fuzz/artifacts/ by that run."
	printf '%-10s %12s %8s %7s %5s %9s  %-18s %s\n' harness executions exec/s corpus cov \
		findings limit date
	{
		[ -f "$results" ] && grep -v '^#\|^harness ' "$results" |
			awk 'NR == FNR { ran[$1] = 1; next } !($1 in ran)' "$rows" -
		cat "$rows"
	} | sort
} > "$results.new" && mv "$results.new" "$results"
cat "$results"
[ "$failed" -eq 0 ]
