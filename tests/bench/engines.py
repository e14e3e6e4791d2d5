#!/usr/bin/python3
"""make bench-engines: the engines' speed and scale, each beside a reference
measured in the same run on the same machine (issue 6, items 2-5).

  passive replay  mvpnmond -r on a generated capture (95 % customer data, the
                  C-PIM of 1,000 VPNs) against tcpdump -r FILE -w /dev/null
                  with the BPF filter the engine installs; also the engine
                  alone (tests/bench/bench_replay) and libpcap alone (the
                  ceiling of reading the file).  1M, 3M and 10M packets.
  state engine    Join/Prune records into the model, bytes per C-group->PE row,
                  and RFC 4834's scale, against glibc's tsearch(3) on the same
                  records (tests/bench/bench_state).
  reassembly      a 150-group Join/Prune in three outer fragments against the
                  same message whole, through the engine (tests/bench/bench_reasm).
  probe engine    probe receptions a second on one core, from a generated
                  capture of returning probes, at 10, 30 and 100 tunnels,
                  against libpcap alone reading the same file
                  (tests/bench/bench_probe); and live, mvpnmond and the PE
                  emulator in two network namespaces (tests/bench/live_probe.py).

Rates are by CPU time (user + system) of the measured process: "on one core",
and steadier than wall time on a shared machine.  Each timed run is repeated
(--repeat, default 3) and the best kept.  Every run also checks its result
(counters, rows, receptions) against what the generator says it must be; a
mismatch stops the benchmark.

    engines.py [--quick] [--no-live] [--repeat N] [--out FILE]

Writes the table to tests/bench/results/engines.txt (or --out) and prints it.
Generated captures live in a temporary directory under build/bench and are
deleted at the end.
"""
import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(TOP, "build")
BENCH = os.path.join(BUILD, "bench")
MVPNMOND = os.path.join(BUILD, "mvpnmond")
RESULTS = os.path.join(HERE, "results", "engines.txt")

PASSIVE_VPNS, PASSIVE_PES = 1000, 8
PASSIVE_SIZES = [1_000_000, 3_000_000, 10_000_000]
FRAME_BYTES = 100 + 16          # a passive frame and its pcap record header
STATE_SIZES = [(1000, 100, 10, 10), (1000, 100, 30, 10), (1000, 100, 100, 10)]
PROBE_SIZES = [(1, 10), (3, 10), (10, 10)]  # (VPNs, PEs each): 10, 30, 100 tunnels
PROBE_RATE = 100
PROBE_FRAMES = 3_000_000
PROBE_FRAME_BYTES = 130 + 16
LIVE_RATES = [250, 1000, 2500]

GOAL_REPLAY_RATIO, GOAL_REPLAY_PPS = 0.8, 3e6
GOAL_RECORDS = 5e6
GOAL_ROW_BYTES = 200
GOAL_RFC4834_BYTES = 1 << 30
GOAL_PROBE = 250e3
REASM_DATAGRAMS = 200000


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run_kv(argv):
    """Runs a bench program; returns its key=value lines as a dict (numbers as floats)."""
    out = subprocess.run(argv, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({out.returncode}):\n{out.stderr}{out.stdout}")
    kv = {}
    for line in out.stdout.splitlines():
        k, _, v = line.partition("=")
        try:
            kv[k] = float(v)
        except ValueError:
            kv[k] = v
    return kv


def best(runs, key, lowest=True):
    return (min if lowest else max)(runs, key=lambda r: r[key])


def cpu_of_child(argv, **kw):
    """Runs argv; returns (CPU seconds user+system, wall seconds, exit status)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    _, status, ru = os.wait4(p.pid, 0)
    return ru.ru_utime + ru.ru_stime, time.monotonic() - t0, os.waitstatus_to_exitcode(status)


def si(x, unit=""):
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(x) >= div:
            return f"{x / div:.2f}{suffix}{unit}"
    return f"{x:.0f}{unit}"


# ---------------------------------------------------------------------------
# passive replay
# ---------------------------------------------------------------------------
def cpu_ns(pid):
    """Time pid has spent on a CPU, in ns (the scheduler's own count)."""
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def daemon_replay(tmp, pcap, conf):
    """mvpnmond -f -r: CPU seconds spent replaying, and the packets it says it replayed.
    The replay runs from the log's "AgentX subagent" line (the last thing before the
    event loop) to its "replayed" line (after which the daemon idles): the daemon's
    scheduler CPU time is read at each, the first read a millisecond late at most.
    No master agent is needed to replay: the subagent retries its connection itself."""
    logf = os.path.join(tmp, "mvpnmond.log")
    if os.path.exists(logf):
        os.unlink(logf)
    t0 = time.monotonic()
    p = subprocess.Popen([MVPNMOND, "-f", "-r", pcap, "-c", conf, "-x",
                          os.path.join(tmp, "no-master.sock"), "-Lf", logf],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    text, start = "", None
    try:
        while "replayed" not in text:
            if p.poll() is not None or time.monotonic() - t0 > 300:
                raise SystemExit(f"mvpnmond -r {pcap} did not finish: {text}")
            try:
                with open(logf) as f:
                    text = f.read()
            except FileNotFoundError:
                pass
            if start is None and "AgentX subagent" in text:
                start = cpu_ns(p.pid)
            if start is None:
                time.sleep(0.0005)
            elif "replayed" not in text:
                time.sleep(0.002)
        end = cpu_ns(p.pid)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait()
    line = next(l for l in text.splitlines() if "replayed" in l)
    packets = int(line.split("replayed: ")[1].split(" packets")[0])
    return (end - start) / 1e9, packets


def bench_passive(tmp, sizes, repeat):
    gen = os.path.join(BENCH, "gen_capture")
    conf = os.path.join(tmp, "bench.conf")
    flt = os.path.join(tmp, "filter")
    tcpdump = ["tcpdump", "-w", "/dev/null", "--time-stamp-precision=nano", "-F", flt + ".replay",
               "-r"]
    # The engine on an empty capture writes the filters it installs; tcpdump's
    # own start there (its filter to compile, its file to open) is taken off
    # its times, as mvpnmond's start is.
    empty = os.path.join(tmp, "empty.pcap")
    run_kv([gen, "passive", empty, conf, "0", str(PASSIVE_VPNS), str(PASSIVE_PES), "10"])
    run_kv([os.path.join(BENCH, "bench_replay"), "engine", empty, str(PASSIVE_VPNS),
            str(PASSIVE_PES), flt])
    tcp_base = min(cpu_of_child(tcpdump + [empty])[0] for _ in range(repeat))
    rows = []
    for n in sizes:
        pcap = os.path.join(tmp, "passive.pcap")
        log(f"passive: generating {n:,} packets")
        t0 = time.monotonic()
        run_kv([gen, "passive", pcap, conf, str(n), str(PASSIVE_VPNS), str(PASSIVE_PES), "10"])
        gen_s = time.monotonic() - t0
        eng = [run_kv([os.path.join(BENCH, "bench_replay"), "engine", pcap, str(PASSIVE_VPNS),
                       str(PASSIVE_PES)]) for _ in range(repeat)]
        eng = best(eng, "cpu_s")
        dmn = []
        for _ in range(repeat):
            cpu, packets = daemon_replay(tmp, pcap, conf)
            if packets != n:
                raise SystemExit(f"mvpnmond replayed {packets} packets of {n}")
            dmn.append(cpu)
        dmn = min(dmn)
        tcp = []
        for _ in range(repeat):
            cpu, wall, rc = cpu_of_child(tcpdump + [pcap])
            if rc != 0:
                raise SystemExit(f"{' '.join(tcpdump + [pcap])} failed ({rc})")
            tcp.append(cpu - tcp_base)
        tcp = min(tcp)
        # tcpdump with the per-group filter a live capture installs: what the
        # replay paid before it filtered GRE only.  Once, at the smallest size.
        tcp_live = None
        if n == sizes[0]:
            cpu, wall, rc = cpu_of_child(["tcpdump", "-w", "/dev/null",
                                          "--time-stamp-precision=nano", "-F", flt + ".live",
                                          "-r", pcap])
            tcp_live = cpu if rc == 0 else None
        lib = best([run_kv([os.path.join(BENCH, "bench_replay"), "libpcap", pcap,
                            flt + ".replay"]) for _ in range(repeat)], "cpu_s")
        if lib["packets"] != n:
            raise SystemExit(f"libpcap read {lib['packets']} packets of {n}")
        rows.append({"packets": n, "gen_s": gen_s, "tcpdump_start_cpu_s": tcp_base, "daemon_cpu_s": dmn, "engine_cpu_s": eng["cpu_s"],
                     "tcpdump_cpu_s": tcp, "libpcap_cpu_s": lib["cpu_s"],
                     "tcpdump_live_filter_cpu_s": tcp_live,
                     "file_bytes": os.path.getsize(pcap)})
        os.unlink(pcap)
        log(f"passive: {n:,} packets: mvpnmond {n / dmn / 1e6:.2f}M/s, engine "
            f"{n / eng['cpu_s'] / 1e6:.2f}M/s, tcpdump {n / tcp / 1e6:.2f}M/s")
    return {"sizes": rows}


# ---------------------------------------------------------------------------
# state engine
# ---------------------------------------------------------------------------
def bench_state(sizes, repeat, shuffled_size):
    prog = os.path.join(BENCH, "bench_state")
    rows = []
    for (v, p, c, j) in sizes:
        log(f"state: {v} VPNs x {c} C-groups x {j} joiners")
        # History on (the model's observer copying each change to the writer's
        # queue, as the daemon with a history section does): the goal's terms.
        runs = [run_kv([prog, str(v), str(p), str(c), str(j), "messages", "history"])
                for _ in range(repeat)]
        r = {"size": (v, p, c, j), "records": runs[0]["records"], "rows": runs[0]["rows"]}
        for k in ("create", "refresh", "prune", "recreate", "ref_create", "ref_refresh",
                  "ref_prune", "ref_recreate"):
            r[k] = max(x[k + "_per_s"] for x in runs)
        for k in ("bytes_per_row", "bytes_per_record", "ref_bytes_per_record", "rss_after_kb",
                  "model_kb", "sizeof_cgpe", "sizeof_flow"):
            r[k] = runs[0][k]
        rows.append(r)
    worst = None
    if shuffled_size:
        v, p, c, j = shuffled_size
        log("state: shuffled records (every record a cache miss)")
        x = run_kv([prog, str(v), str(p), str(c), str(j), "shuffled", "history"])
        worst = {"size": shuffled_size, **{k: x[k + "_per_s"] for k in (
            "create", "refresh", "prune", "recreate", "ref_create", "ref_refresh", "ref_prune",
            "ref_recreate")}}
    return {"sizes": rows, "shuffled": worst}


def bench_reasm(datagrams, repeat):
    """Fragmented against whole, per datagram, both in the same process and run."""
    log(f"reasm: {datagrams} Join/Prunes whole, then in fragments")
    runs = [run_kv([os.path.join(BENCH, "bench_reasm"), str(datagrams)]) for _ in range(repeat)]
    for r in runs:
        if r["reassembled"] != datagrams or r["fragment_drops"] or r["malformed"]:
            raise SystemExit(f"bench_reasm: every datagram must be reassembled: {r}")
    # Each side's best run: a run disturbed on one side only would skew its ratio.
    whole, frag = (min(r[k] for r in runs) for k in ("whole_cpu_s", "fragmented_cpu_s"))
    return {"datagrams": datagrams, "whole_cpu_s": whole, "fragmented_cpu_s": frag}


# ---------------------------------------------------------------------------
# probe engine
# ---------------------------------------------------------------------------
def bench_probe(tmp, sizes, frames, repeat):
    gen = os.path.join(BENCH, "gen_capture")
    prog = os.path.join(BENCH, "bench_probe")
    rows = []
    for (v, p) in sizes:
        pcap = os.path.join(tmp, "probe.pcap")
        log(f"probe: {v * p} tunnels, generating {frames:,} returning probes")
        run_kv([gen, "probe", pcap, str(frames), str(v), str(p), str(PROBE_RATE)])
        eng = best([run_kv([prog, "engine", pcap, str(v), str(p), str(PROBE_RATE)])
                    for _ in range(repeat)], "cpu_s")
        lib = best([run_kv([prog, "libpcap", pcap]) for _ in range(repeat)], "cpu_s")
        rows.append({"vpns": v, "pes": p, "tunnels": int(eng["tunnels"]), "pairs": int(eng["pairs"]),
                     "frames": int(eng["frames"]), "engine_cpu_s": eng["cpu_s"],
                     "tx_cpu_s": eng["tx_cpu_s"], "libpcap_cpu_s": lib["cpu_s"]})
        os.unlink(pcap)
    return rows


def bench_live(rates, seconds):
    sys.path.insert(0, HERE)
    import live_probe
    log(f"probe live: 8 PEs, rates {rates} probes/s per sender, {seconds} s each")
    return live_probe.run(8, rates, seconds)


# ---------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------
def yes(ok):
    return "yes" if ok else "**no**"


def report(res, args):
    L = []
    head = res["host"]
    L.append(f"# Engine benchmarks ({head['date']}, commit {head['commit']})")
    L.append("")
    L.append(f"Host: {head['cpu']}, {head['cores']} cores, kernel {head['kernel']}, load "
             f"average {head['load']} at start.  Rates by CPU time (user + system) of the "
             f"measured process, best of {args.repeat} (replays: of {args.repeat + 2 if args.repeat > 1 else 1}).")
    L.append("")
    L.append("| figure | size | ours | reference | reference value | ratio | goal | met |")
    L.append("|---|---|---|---|---|---|---|---|")
    p = res.get("passive")
    if p:
        for s in p["sizes"]:
            n = s["packets"]
            ours, eng = n / s["daemon_cpu_s"], n / s["engine_cpu_s"]
            tcp, lib = n / s["tcpdump_cpu_s"], n / s["libpcap_cpu_s"]
            goal_ok = ours / tcp >= GOAL_REPLAY_RATIO and ours >= GOAL_REPLAY_PPS
            L.append(f"| replay packets/s, mvpnmond -r | {si(n)} pkts | {si(ours)} | tcpdump -r -w "
                     f"/dev/null, same filter | {si(tcp)} | {ours / tcp:.2f}x | >= 0.8x and >= 3M/s | "
                     f"{yes(goal_ok)} |")
            L.append(f"| replay packets/s, engine alone | {si(n)} pkts | {si(eng)} | libpcap alone "
                     f"(ceiling) | {si(lib)} | {eng / lib:.2f}x | | |")
    st = res.get("state")
    if st:
        for s in st["sizes"]:
            size = f"{si(s['records'])} rec"
            for phase in ("refresh", "create", "prune", "recreate"):
                ours, ref = s[phase], s["ref_" + phase]
                goal = f">= {si(GOAL_RECORDS)}/s" if phase == "refresh" else \
                    f"(>= {si(GOAL_RECORDS)}/s)"
                L.append(f"| J/P records/s, {phase} | {size} | {si(ours)} | tsearch(3) {phase} | "
                         f"{si(ref)} | {ours / ref:.2f}x | {goal} | {yes(ours >= GOAL_RECORDS)} |")
            L.append(f"| bytes per C-group->PE row | {si(s['rows'])} rows | {s['bytes_per_row']:.0f} | "
                     f"tsearch(3) record of the row's columns | {s['ref_bytes_per_record']:.0f} | "
                     f"{s['bytes_per_row'] / s['ref_bytes_per_record']:.2f}x | <= {GOAL_ROW_BYTES} | "
                     f"{yes(s['bytes_per_row'] <= GOAL_ROW_BYTES)} |")
        big = st["sizes"][-1]
        if big["size"] == (1000, 100, 100, 10):
            rss = big["rss_after_kb"] * 1024
            L.append(f"| RFC 4834 scale: process RSS, 1,000 VPNs x 100 PEs x 100 C-groups x 10 "
                     f"joiners | {si(big['rows'])} rows | {rss / 2**20:.0f} MiB | 1 GiB | | "
                     f"{rss / GOAL_RFC4834_BYTES:.2f}x | < 1 GiB | {yes(rss < GOAL_RFC4834_BYTES)} |")
        w = st.get("shuffled")
        if w:
            for phase in ("refresh", "create", "prune", "recreate"):
                ours, ref = w[phase], w["ref_" + phase]
                L.append(f"| J/P records/s, {phase}, shuffled (worst case) | "
                         f"{si(w['size'][0] * w['size'][2] * w['size'][3])} rec | {si(ours)} | "
                         f"tsearch(3), shuffled | {si(ref)} | {ours / ref:.2f}x | | |")
    ra = res.get("reasm")
    if ra:
        n = ra["datagrams"]
        L.append(f"| Join/Prunes/s (150 groups), in 3 outer fragments | {si(n)} msgs | "
                 f"{si(n / ra['fragmented_cpu_s'])} | the same messages whole | "
                 f"{si(n / ra['whole_cpu_s'])} | "
                 f"{ra['whole_cpu_s'] / ra['fragmented_cpu_s']:.2f}x | reported | |")
    pr = res.get("probe")
    if pr:
        for s in pr:
            ours, lib = s["frames"] / s["engine_cpu_s"], s["frames"] / s["libpcap_cpu_s"]
            L.append(f"| probe receptions/s, one core | {s['tunnels']} tunnels, {s['pairs']} pairs | "
                     f"{si(ours)} | libpcap alone (ceiling) | {si(lib)} | {ours / lib:.2f}x | "
                     f">= 250K/s (VMScope 25K/s) | {yes(ours >= GOAL_PROBE)} |")
    live = res.get("live")
    if live:
        for s in live:
            if "skipped" in s:
                L.append(f"| probe receptions/s, live | | skipped: {s['skipped']} | | | | | |")
                continue
            ok = s["lost"] == 0
            ratio = s["received"] / s["forwarded"] if s["forwarded"] else 0
            L.append(f"| probe receptions/s, live, {s['pes']} PEs x {s['rate']}/s | "
                     f"{si(s['offered_per_s'])}/s planned, {si(s['sent_per_s'])} probes/s sent "
                     f"(x{s['pes'] - 1}) | {si(s['received_per_s'])}/s, lost "
                     f"{s['lost']} (mvpnmond {100 * s['daemon_cpu']:.0f} % CPU: "
                     f"{si(s['per_cpu_s'])}/CPU-s) | PE emulator: copies forwarded (its CPU) | "
                     f"{s['forwarded']:,} ({100 * s['emulator_cpu']:.0f} % CPU) | {ratio:.2f}x "
                     f"received | no loss | {yes(ok)} |")
    L.append("")
    L.append("## How cost grows (cost per item at the largest size over the smallest)")
    L.append("")
    if p:
        a, b = p["sizes"][0], p["sizes"][-1]
        for key, name in (("daemon_cpu_s", "mvpnmond -r"), ("engine_cpu_s", "engine alone"),
                          ("tcpdump_cpu_s", "tcpdump"), ("libpcap_cpu_s", "libpcap alone")):
            per = [s[key] / s["packets"] * 1e9 for s in p["sizes"]]
            L.append(f"- replay, {name}: " + ", ".join(
                f"{si(s['packets'])} {x:.0f} ns" for s, x in zip(p["sizes"], per)) +
                f" per packet: x{per[-1] / per[0]:.2f} for {b['packets'] / a['packets']:.0f}x "
                f"the packets")
    if st:
        a, b = st["sizes"][0], st["sizes"][-1]
        for phase in ("refresh", "create", "prune", "recreate"):
            L.append(f"- state, {phase}: " + ", ".join(
                f"{si(s['records'])} {1e9 / s[phase]:.0f} ns" for s in st["sizes"]) +
                f" per record: x{a[phase] / b[phase]:.2f} for {b['records'] / a['records']:.0f}x "
                f"the rows (tsearch: x{a['ref_' + phase] / b['ref_' + phase]:.2f})")
        L.append("- state, bytes per row: " + ", ".join(
            f"{si(s['rows'])} rows {s['bytes_per_row']:.0f}" for s in st["sizes"]))
    if pr:
        per = [s["engine_cpu_s"] / s["frames"] * 1e9 for s in pr]
        L.append("- probe receptions: " + ", ".join(
            f"{s['tunnels']} tunnels {x:.0f} ns" for s, x in zip(pr, per)) +
            f" per reception: x{per[-1] / per[0]:.2f} for {pr[-1]['tunnels'] / pr[0]['tunnels']:.0f}x "
            f"the tunnels")
    L.append("")
    L.append("## Notes")
    L.append("")
    for note in res.get("notes", []):
        L.append(f"- {note}")
    return "\n".join(L) + "\n"


def host_info():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    commit = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", TOP, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "commit": commit + ("+" if dirty else ""),
            "cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, one repeat (a smoke test)")
    ap.add_argument("--no-live", action="store_true", help="skip the live run with the emulator")
    ap.add_argument("--only", help="a comma-separated subset of passive,state,reasm,probe,live")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", help=f"default {os.path.relpath(RESULTS, TOP)} "
                    "(build/bench/engines-quick.txt with --quick)")
    args = ap.parse_args()
    if not args.out:
        args.out = os.path.join(BENCH, "engines-quick.txt") if args.quick else RESULTS
    passive_sizes, state_sizes, probe_frames = PASSIVE_SIZES, STATE_SIZES, PROBE_FRAMES
    shuffled = STATE_SIZES[-1]
    live_rates, live_seconds = LIVE_RATES, 3.0
    notes = []
    if args.quick:
        args.repeat = 1
        passive_sizes = [s // 100 for s in PASSIVE_SIZES]
        state_sizes = [(100, 100, c, j) for (_, _, c, j) in STATE_SIZES]
        probe_frames, shuffled = PROBE_FRAMES // 100, None
        live_rates, live_seconds = [250], 1.0
        notes.append("--quick: sizes cut 100x, one repeat; not a measurement")
    for tool in ("tcpdump",):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing: make deps")
    os.makedirs(BENCH, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="engines-", dir=BENCH)
    need = max(passive_sizes) * FRAME_BYTES + probe_frames * PROBE_FRAME_BYTES
    free = shutil.disk_usage(tmp).free
    if free < 2 * need:
        scale = max(free / (2 * need), 0.01)
        passive_sizes = [int(s * scale) for s in passive_sizes]
        probe_frames = int(probe_frames * scale)
        notes.append(f"only {free / 2**30:.1f} GiB free under {BENCH}: captures cut to "
                     f"{scale:.2f} of their size")
    res = {"host": host_info(), "notes": notes}
    t0 = time.monotonic()
    only = set(args.only.split(",")) if args.only else {"passive", "state", "reasm", "probe",
                                                         "live"}
    if args.no_live:
        only.discard("live")
    try:
        if "passive" in only:
            # The replays are short (0.2-2 s): best of more, for ours and tcpdump alike.
            res["passive"] = bench_passive(tmp, passive_sizes, args.repeat + 2 if args.repeat > 1
                                           else 1)
        if "state" in only:
            res["state"] = bench_state(state_sizes, args.repeat, shuffled)
        if "reasm" in only:
            res["reasm"] = bench_reasm(REASM_DATAGRAMS // (100 if args.quick else 1),
                                       args.repeat)
        if "probe" in only:
            res["probe"] = bench_probe(tmp, PROBE_SIZES, probe_frames, args.repeat)
        if "live" in only:
            res["live"] = bench_live(live_rates, live_seconds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    p = res.get("passive")
    if p:
        notes.append(f"replay: {PASSIVE_VPNS} VPNs of {PASSIVE_PES} PEs, 10 C-groups each, "
                     f"100-byte frames, every 20th C-PIM (Hellos, then (S,G) joins that are "
                     f"refreshes after the first round).  mvpnmond: its CPU time from the start "
                     f"of its event loop to its 'replayed' log line (not its start-up, 1,000 "
                     f"VPNs to configure); tcpdump: its CPU time less its time on an empty "
                     f"capture.  The filter a replay installs is GRE only (capture/engine.c); "
                     f"tcpdump gets the same.")
        live_filter = p["sizes"][0].get("tcpdump_live_filter_cpu_s")
        if live_filter:
            n = p["sizes"][0]["packets"]
            notes.append(f"tcpdump with the per-group filter a live capture installs (1,000 "
                         f"groups, run by libpcap's interpreter when reading a file): "
                         f"{si(n / live_filter)} packets/s at {si(n)} packets; that was the "
                         f"replay's ceiling before a replay filtered GRE only.")
    if res.get("state"):
        notes.append("state: records in Join/Prune message order (VPN by VPN, each joiner's "
                     "records together), history on (each change copied to the history "
                     "writer's queue, as agent/history.c does); 'create' makes the row, its "
                     "upstream row and a change-log entry as the model grows, 'refresh' "
                     "restates it (the steady state: every joined (S,G) is re-sent each "
                     "minute), 'prune' removes it, 'recreate' creates the rows again into the "
                     "memory the prunes freed (a daemon that has run a while).  The reference is "
                     "glibc's tsearch(3) keyed by (VPN, group, source, kind, PE, role) holding "
                     "the row's columns; it keeps no upstream rows, flows, expiry order or "
                     "change log.  Bytes per row: VmRSS growth over the create pass / rows "
                     "(downstream + upstream); the reference's: per record.")
    st = res.get("state")
    if st and any(s[k] < GOAL_RECORDS for s in st["sizes"] for k in ("create", "prune",
                                                                       "recreate")):
        notes.append("state: creates and prunes fall short of 5M/s.  Each writes a change-log "
                     "entry (typed; its copy to the history queue) and makes or drops two rows "
                     "(the PE's and its upstream's) and, for a new C-group, a flow; a prune "
                     "also recomputes the upstream row from the remaining joiners; a create "
                     "that grows the model first touches new memory (page faults).  To see "
                     "where: valgrind --tool=callgrind --toggle-collect='create_pass*' "
                     "build/bench/bench_state 1000 100 10 10 messages history, then "
                     "callgrind_annotate --inclusive=yes.")
    if res.get("probe"):
        notes.append(f"probe: VPNs of 10 PEs probing a full mesh at {PROBE_RATE} probes/s per "
                     f"sender, 64-byte probes, {si(probe_frames)} frames; ours = reading, "
                     f"parsing, accounting, ticks (probe/engine.c's on_frame path); the sender "
                     f"side (probing_tx) is timed apart and left out.")
    live = [x for x in res.get("live") or [] if "lost" in x]
    if live:
        kept = [x for x in live if x["lost"] == 0]
        top = max(kept, key=lambda x: x["received_per_s"]) if kept else None
        notes.append("probe live: 8 PEs (56 ordered pairs) in a network namespace, mvpnmond in "
                     "another; per rate, mvpnProbesReceived over 3 s after a warm-up and "
                     "mvpnmond's CPU share over the same time; 'lost' = copies the emulator "
                     "forwarded (its summary) that mvpnmond did not count, after a pause that "
                     "lets everything in flight land (0: it kept up).  Receptions per mvpnmond "
                     "CPU-second include its own sending (probes, echoes, IGMP) and SNMP."
                     + (f"  Highest rate received without loss: {si(top['received_per_s'])}/s, "
                        f"mvpnmond at {100 * top['daemon_cpu']:.0f} % of a core." if top else ""))
        short = [x for x in live if x["sent_per_s"] < 0.9 * x["offered_per_s"] / (x["pes"] - 1)]
        if short:
            x = short[-1]
            notes.append(f"probe live: at {x['rate']} probes/s per sender mvpnmond sent "
                         f"{si(x['sent_per_s'])} of the {si(x['offered_per_s'] / (x['pes'] - 1))} "
                         f"probes/s planned, at {100 * x['daemon_cpu']:.0f} % of a core: its "
                         f"sender fell behind its schedule (probe/engine.c skips a probe that "
                         f"is late by a whole interval, {1000 / x['rate']:.2f} ms here), not for "
                         f"want of CPU: its one loop reads each capture block (up to 10 ms of "
                         f"returns) in one go before it sends again, and on 2 cores shared with "
                         f"the emulator ({100 * x['emulator_cpu']:.0f} % CPU), the kernel's veth "
                         f"work and any other load it is preempted for longer than that.  Every "
                         f"copy that came back was counted: the receive path is not the limit.")
    notes.append(f"total time {time.monotonic() - t0:.0f} s")
    text = report(res, args)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump(res, f, indent=1, default=str)
        f.write("\n")
    print(text)


if __name__ == "__main__":
    main()
