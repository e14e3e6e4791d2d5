#!/usr/bin/python3
"""make bench-history-pg: persisted changes through the PostgreSQL backend
beside a raw libpq COPY of the same rows, in one run, on one private server.

tests/bench/bench_history_pg writes ROWS change rows (every kind, some IPv6;
values in encode.c's encoding) in batches of BATCH, each batch one
transaction, in four ways:
  raw         binary COPY into a plain table (no index, no partition): the
              reference the issue's ">= 0.5x a raw libpq COPY" is against;
  raw-layout  the same changes packed as the backend packs them (blocks of
              1,024 in encode.c's block encoding), one COPY per batch into
              the backend's own layout (the monitor's partition of
              change_blocks, a B-tree on first_seq): what the layout costs;
  backend     hist_pg_backend()->write, which adds the per-batch token row,
              the seq check and its own encoding;
  writer      hist_writer_put, record by record, until the writer thread
              reports them all persisted (queue 100,000, flush 100 ms).
The four alternate, --repeat rounds, so that a slower minute of a shared
machine falls on all of them; the figure per mode is the median.  The
server runs with its defaults (fsync on, synchronous_commit on).  Then the
state at T on one growing history (tests/bench/bench_history.c's (d) and
(e), -p: this server, its own database), up to --state-max changes.

    history_pg.py [--rows N] [--batch N] [--repeat N] [--state-max N] [--out FILE]
"""
import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "tools"))
import pgserver  # noqa: E402

PROG = os.path.join(TOP, "build", "bench", "bench_history_pg")
STATE_PROG = os.path.join(TOP, "build", "bench", "bench_history")
RESULTS = os.path.join(HERE, "results", "history_pg.txt")
MODES = ["raw", "raw-layout", "backend", "writer"]


def run_kv(argv):
    out = subprocess.run(argv, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({out.returncode}):\n{out.stderr}")
    return {k: float(v) for k, _, v in (w.partition("=") for w in out.stdout.split())}


def commit():
    out = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--state-max", type=int, default=3_000_000)
    ap.add_argument("--out", default=RESULTS)
    args = ap.parse_args()
    load = os.getloadavg()
    runs = {m: [] for m in MODES}
    with pgserver.PgServer() as pg:
        version = pg.psql("SHOW server_version").strip()
        for rnd in range(args.repeat):
            for mode in MODES:
                print(f"history_pg: round {rnd + 1}/{args.repeat}, {mode}", file=sys.stderr,
                      flush=True)
                runs[mode].append(run_kv([PROG, pg.conninfo(), mode, str(args.rows),
                                          str(args.batch)]))
        state = ""
        if args.state_max:
            print("history_pg: state at T", file=sys.stderr, flush=True)
            pg.psql("CREATE DATABASE bench_state")
            out = subprocess.run([STATE_PROG, "-p", pg.conninfo(dbname="bench_state"), "-m",
                                  str(args.state_max)], capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(f"bench_history -p failed:\n{out.stderr}")
            state = out.stdout
    med = {m: statistics.median(r["rate"] for r in runs[m]) for m in MODES}
    size = {m: statistics.median(r["bytes_per_row"] for r in runs[m]) for m in MODES}
    lines = [f"# Persisted changes into PostgreSQL ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
             f"commit {commit()})", "",
             f"Host: {platform.machine()}, {os.cpu_count()} cores, load average "
             f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start.  PostgreSQL {version}, a "
             f"private server on a unix socket, default settings (fsync and synchronous_commit "
             f"on).  {args.rows:,} change rows in batches of {args.batch:,}, one transaction "
             f"each; the modes alternate, {args.repeat} rounds; median.", "",
             "| mode | rows/s (median) | runs | ratio of medians | median of per-round ratios "
             "| on disk per row |",
             "|---|---|---|---|---|---|"]
    for m in MODES:
        each = ", ".join(f"{r['rate'] / 1000:.0f}k" for r in runs[m])
        paired = statistics.median(a["rate"] / b["rate"] for a, b in zip(runs[m], runs["raw"]))
        lines.append(f"| {m} | {med[m]:,.0f} | {each} | {med[m] / med['raw']:.2f}x | "
                     f"{paired:.2f}x | {size[m]:.1f} B |")
    lines += ["",
              "Ratios are to raw.  Per-round ratios set each run beside the raw run of its own "
              "round, a minute apart at most: on a shared machine the steadier figure.  "
              "raw: binary COPY of the rows into a plain table, no index (the reference).  "
              "raw-layout: the same changes packed as the backend packs them (blocks of "
              "1,024 changes, encode.c's block encoding, PostgreSQL's default pglz compression "
              "of the body) by one COPY per batch into the backend's layout (the monitor's "
              "partition of change_blocks, B-tree on first_seq).  backend: history/pg.c's "
              "write (the blocks, the per-batch token row, the seq check).  writer: the records put one by one into the "
              "writer's queue (history/writer.c), timed until all are persisted.  On disk: "
              "pg_total_relation_size of the "
              "table (heap, TOAST, indexes) over the changes.  After each run every change is "
              "read back (raw: counted; the others through the backend's read) and checked "
              "present once, in seq order."]
    if state:
        lines += ["", "State at T on PostgreSQL (tests/bench/bench_history.c -p, as history.txt's "
                  "(d) and (e) for SQLite):", "", "```", state.rstrip(), "```"]
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
