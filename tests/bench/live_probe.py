#!/usr/bin/python3
"""The probe engine live: mvpnmond probing a full mesh of emulated PEs at rising
rates, and how many probe receptions a second it counted without losing any.

Two network namespaces made here (and deleted after), joined by a veth:
mvpnmond in one (198.18.1.254), the PE emulator (tests/emulator) in the other
with PES tunnel end points 198.18.1.1...  A private snmpd (127.0.0.1, a unix
AgentX socket in a temporary directory, which the namespaced daemon reaches
through the file system) answers the reads, as in tests/integration.  For each rate: the daemon sends RATE probes a second from
every PE's tunnel; the emulator returns each through the other PES-1 tunnels.
After a warm-up, mvpnProbesReceived is read twice SECONDS apart (the
sustained rate) with the daemon's CPU time over the same interval; then the
daemon is paused (SIGSTOP) until everything in flight has landed, the
emulator stopped (its summary: copies forwarded), the daemon resumed and
its count read again.  "lost" is what the emulator forwarded and the daemon
did not count: 0 means the daemon kept up.

    live_probe.py [--pes N] [--rates R,R,...] [--seconds S]

Prints one JSON object per rate.  Needs root (namespaces) and the builds
build/mvpnmond and build/tools/pe-emulator.
"""
import argparse
import json
import os
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from conftest import Daemon, Master, Netns, Snmp, free_udp_port, scalars, serving, wait_for  # noqa: E402
from emulator import Emulator  # noqa: E402

MONITOR = "198.18.1.254"
GROUP = "239.192.1.1"
PORT = 5010
CLK_TCK = os.sysconf("SC_CLK_TCK")


def pe(i):
    return f"198.18.1.{i}"


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def emulator_conf(n):
    lines = ["seed 1", f"monitor {MONITOR}", "igmp-query-interval 0"]
    lines += [f"pe {pe(i)}" for i in range(1, n + 1)]
    return "\n".join(lines) + "\n"


def monitor_conf(iface, n, rate):
    pes = ", ".join(f'"{pe(i)}"' for i in range(1, n + 1))
    return (f'probe-interface = "{iface}"\nprobe-local-address = "{MONITOR}"\n'
            f"probe-loss-timeout = 1\nprobe-unreachable-time = 5\necho-interval = 1000\n"
            f'vpn "bench" {{\n index = 1\n default-mdt = "{GROUP}"\n expected-pes = {{ {pes} }}\n'
            f" probe {{ rate = {rate}  window = 10  port = {PORT} }}\n}}\n")


def one_rate(tmp, lab, n, rate, seconds):
    master = Master(tmp, free_udp_port())  # trap2sink to a port nobody listens on
    master.start()
    snmp = Snmp(master)
    daemon = Daemon(tmp, master)
    emu = Emulator(lab["player"].name, os.path.join(tmp, "emulator.conf"),
                   os.path.join(tmp, "emulator.log"))
    try:
        emu.write_config(emulator_conf(n))
        emu.start()
        daemon.write_config(monitor_conf(lab["monitor_if"], n, rate))
        daemon.start(netns=lab["monitor"])
        if not wait_for(lambda: serving(snmp), 10):
            raise RuntimeError("mvpnmond did not serve: " + daemon.log_text())
        def counts():
            g = scalars(snmp)
            return g["mvpnProbesReceived"], g["mvpnProbesSent"]

        if not wait_for(lambda: counts()[0] > 0, 10):
            raise RuntimeError("no probe came back: " + daemon.log_text())
        time.sleep(1.0)  # every receiver joined, the schedule settled
        (r0, s0), c0, e0, t0 = counts(), cpu_seconds(daemon.proc.pid), cpu_seconds(emu.pid), \
            time.monotonic()
        time.sleep(seconds)
        (r1, s1), c1, e1, t1 = counts(), cpu_seconds(daemon.proc.pid), cpu_seconds(emu.pid), \
            time.monotonic()
        # Everything in flight lands while the daemon sends nothing more.
        daemon.signal(signal.SIGSTOP)
        time.sleep(1.5)
        emu.stop()
        daemon.signal(signal.SIGCONT)
        time.sleep(0.5)
        r2 = counts()[0]
        summary = emu.summary() or {}
        forwarded = sum(p["forwarded"] for p in summary.get("pairs", []))
        refused = summary.get("refused", {})
        rx = (r1 - r0) / (t1 - t0)
        cpu = c1 - c0
        return {"pes": n, "rate": rate, "offered_per_s": n * (n - 1) * rate,
                "sent_per_s": round((s1 - s0) / (t1 - t0)), "received_per_s": round(rx),
                "daemon_cpu": round(cpu / (t1 - t0), 3),
                "per_cpu_s": round((r1 - r0) / cpu) if cpu > 0 else None,
                "emulator_cpu": round((e1 - e0) / (t1 - t0), 3),
                "forwarded": forwarded, "received": r2, "lost": forwarded - r2,
                "emulator_rx_overflow": refused.get("rx_overflow", 0),
                "emulator_unsent": sum(p.get("unsent", 0) for p in summary.get("pairs", []))}
    finally:
        daemon.signal(signal.SIGCONT) if daemon.proc and daemon.proc.poll() is None else None
        daemon.stop()
        emu.stop()
        master.stop()


def run(n, rates, seconds):
    if os.geteuid() != 0:
        return [{"skipped": "network namespaces need root"}]
    tag = f"mvpnb{os.getpid() % 100000}"
    player, monitor = Netns(f"{tag}-p"), Netns(f"{tag}-m")
    results = []
    try:
        player.run("ip", "link", "add", f"{tag}a", "type", "veth", "peer", "name", f"{tag}b",
                   "netns", monitor.name)
        player.run("ip", "link", "set", f"{tag}a", "up")
        monitor.run("ip", "link", "set", f"{tag}b", "up")
        monitor.run("ip", "addr", "add", f"{MONITOR}/24", "dev", f"{tag}b")
        for i in range(1, n + 1):
            player.run("ip", "addr", "add", f"{pe(i)}/24", "dev", f"{tag}a")
        lab = {"player": player, "monitor": monitor, "player_if": f"{tag}a",
               "monitor_if": f"{tag}b"}
        for rate in rates:
            with tempfile.TemporaryDirectory(prefix="mvpn-live-") as tmp:
                results.append(one_rate(tmp, lab, n, rate, seconds))
    finally:
        player.delete()
        monitor.delete()
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pes", type=int, default=8)
    ap.add_argument("--rates", default="250,1000,2500")
    ap.add_argument("--seconds", type=float, default=4.0)
    args = ap.parse_args()
    for r in run(args.pes, [int(x) for x in args.rates.split(",")], args.seconds):
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
