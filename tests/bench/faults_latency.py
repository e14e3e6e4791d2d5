#!/usr/bin/python3
"""How soon a fault is located: from the step the PE emulator induces, the
time to the first plain pair threshold alarm (mvpnPairLossRising or
mvpnPairDelayRising) and to the located fault's mvpnFaultLocated, in the
same run.  The goal: located within one window of the threshold alarm.

Two network namespaces made here (and deleted after), joined by a veth:
mvpnmond in one (198.18.1.254), the PE emulator in the other with the
tunnel end points 198.18.1.1...  A private snmpd and snmptrapd, as in
tests/integration.  Each run: four PEs (five for the two-fault scenario),
each a sender and a receiver, RATE probes/s, a WINDOW s window, loss
rising at 2 % (delay at 25 ms); one clean window and more, then the step
(an emulator reload), then the wait for the located fault.

The step's time is the emulator's "reload" event (its log's t, the wall
clock); a notification's arrival is when this script saw it in
snmptrapd's log (polled every 20 ms).  The located fault's delay after the
threshold alarm is also taken from the two notifications' sysUpTime (both
stamped by the same master, 10 ms resolution): that difference owes
nothing to the polling.

    faults_latency.py [--seeds 1,2] [--scenarios a,b] [--windows 4,8] [--rate 200] [-o FILE]

Needs root (namespaces) and the builds build/mvpnmond, build/tools/pe-emulator.
"""
import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from conftest import (Daemon, Master, Netns, Snmp, TrapReceiver, serving,  # noqa: E402
                      snmp_rows, wait_for)
from emulator import Emulator  # noqa: E402
from test_probe import GROUP, MONITOR, PORT, Scenario, pe  # noqa: E402

RESULTS = os.path.join(HERE, "results", "faults_latency.txt")


def sender2(s):
    s.up_loss[2] = 5.0


def receiver3(s):
    s.down_loss[3] = 5.0


def path14(s):
    s.pair_loss[(1, 4)] = 8.0


def delay2(s):
    s.ingress[2] = 30.0


def two_faults(s):
    s.up_loss[2] = 5.0
    s.pair_loss[(3, 5)] = 8.0


# name: (PEs, the step, the metric's rising notification, the located faults' kinds)
SCENARIOS = {
    "sender-side": (4, sender2, "mvpnPairLossRising", ["senderSide"],
                    "5 % on the tunnel towards PE 2"),
    "receiver-side": (4, receiver3, "mvpnPairLossRising", ["receiverSide"],
                      "5 % on PE 3's tunnel back"),
    "path": (4, path14, "mvpnPairLossRising", ["path"], "8 % on the path 1 -> 4"),
    "delay": (4, delay2, "mvpnPairDelayRising", ["senderSide"],
              "30 ms on PE 2's ingress onto the MDT"),
    "two-faults": (5, two_faults, "mvpnPairLossRising", ["senderSide", "path"],
                   "5 % towards PE 2 and 8 % on 3 -> 5"),
}
THRESHOLDS = "loss-rising = 2  loss-falling = 1  delay-rising = 25  delay-falling = 20"


def monitor_conf(iface, n, rate, window):
    pes = ", ".join(f'"{pe(i)}"' for i in range(1, n + 1))
    return (f'probe-interface = "{iface}"\nprobe-local-address = "{MONITOR}"\n'
            f"probe-loss-timeout = 1\nprobe-unreachable-time = 5\necho-interval = 100\n"
            f"notification-rate-limit = 0\n"
            f'vpn "red" {{\n index = 1\n default-mdt = "{GROUP}"\n expected-pes = {{ {pes} }}\n'
            f" probe {{ rate = {rate}  window = {window}  port = {PORT} }}\n"
            f" thresholds {{ {THRESHOLDS} }}\n}}\n")


def uptime_cs(n):
    """sysUpTime of a notification as snmptrapd prints it: '(12345) 0:02:03.45'."""
    m = re.match(r"\((\d+)\)", n.get("sysUpTime.0", ""))
    return int(m.group(1)) if m else None


class Seen:
    """Each notification with the wall time this script first saw it."""

    def __init__(self, traps):
        self.traps, self.seen = traps, []

    def poll(self):
        got = self.traps.notifications()
        now = time.time()
        for n in got[len(self.seen):]:
            self.seen.append((now, n))

    def first(self, predicate):
        return next(((t, n) for t, n in self.seen if predicate(n)), None)


def is_located(kind):
    return lambda n: (n["_name"] == "mvpnFaultLocated" and
                      n.get("mvpnNotifyFaultKind.0", "").split("(")[0] == kind)


def one_run(tmp, lab, name, seed, rate, window):
    n_pes, induce, rising, kinds, _ = SCENARIOS[name]
    traps = TrapReceiver(tmp)
    master = Master(tmp, traps.port)
    master.start()
    snmp = Snmp(master)
    daemon = Daemon(tmp, master)
    s = Scenario(n_pes, seed=seed)
    for i in range(1, n_pes + 1):
        for j in range(1, n_pes + 1):
            if i != j:
                s.pair[(i, j)] = 1.0
    emu = Emulator(lab["player"].name, os.path.join(tmp, "emulator.conf"),
                   os.path.join(tmp, "emulator.log"))
    try:
        emu.write_config(s.emulator_conf())
        emu.start()
        daemon.write_config(monitor_conf(lab["monitor_if"], n_pes, rate, window))
        daemon.start(netns=lab["monitor"])
        if not wait_for(lambda: serving(snmp), 30):
            raise RuntimeError("mvpnmond did not serve: " + daemon.log_text()[-2000:])
        if not wait_for(lambda: len(snmp_rows(snmp, "mvpnProbePeTable", "ua")) == n_pes, 30):
            raise RuntimeError("not every PE probed: " + daemon.log_text()[-2000:])
        time.sleep(window + 2)  # a clean window, decided and judged
        seen = Seen(traps)
        seen.poll()
        early = [n for _, n in seen.seen if n["_name"].startswith(("mvpnPair", "mvpnFault"))]
        if early:
            raise RuntimeError(f"{name}: notifications before the step: {early}")
        induce(s)
        event = emu.reload(s.emulator_conf())
        if event["ev"] != "reload":
            raise RuntimeError(f"emulator reload failed: {event}")
        step = event["t"]

        def done():
            seen.poll()
            return all(seen.first(is_located(k)) for k in kinds) and \
                seen.first(lambda n: n["_name"] == rising)
        if not wait_for(done, 60, interval=0.02):
            raise RuntimeError(f"{name}: not located within 60 s: {traps.text()[-3000:]}")
        alarm_t, alarm = seen.first(lambda n: n["_name"] == rising)
        found = [seen.first(is_located(k)) for k in kinds]
        found_t, found_n = max(found, key=lambda x: x[0])  # the last of them located
        others = [n["_name"] + ":" + n.get("mvpnNotifyFaultKind.0", "")
                  for _, n in seen.seen if n["_name"] == "mvpnFaultLocated" and
                  not any(is_located(k)(n) for k in kinds)]
        return {"scenario": name, "seed": seed, "window_s": window, "rate": rate,
                "alarm_s": round(alarm_t - step, 2), "located_s": round(found_t - step, 2),
                "after_alarm_s": round((uptime_cs(found_n) - uptime_cs(alarm)) / 100, 2),
                "wrongly_located": others}
    finally:
        daemon.stop()
        emu.stop()
        master.stop()
        traps.stop()


def run(scenarios, seeds, rate, windows):
    tag = f"mvpnf{os.getpid() % 100000}"
    player, monitor = Netns(f"{tag}-p"), Netns(f"{tag}-m")
    results = []
    try:
        player.run("ip", "link", "add", f"{tag}a", "type", "veth", "peer", "name", f"{tag}b",
                   "netns", monitor.name)
        player.run("ip", "link", "set", f"{tag}a", "up")
        monitor.run("ip", "link", "set", f"{tag}b", "up")
        monitor.run("ip", "addr", "add", f"{MONITOR}/24", "dev", f"{tag}b")
        for i in range(1, 6):
            player.run("ip", "addr", "add", f"{pe(i)}/24", "dev", f"{tag}a")
        lab = {"player": player, "monitor": monitor, "player_if": f"{tag}a",
               "monitor_if": f"{tag}b"}
        for window in windows:
            for name in scenarios:
                for seed in seeds:
                    with tempfile.TemporaryDirectory(prefix="mvpn-faults-") as tmp:
                        r = one_run(tmp, lab, name, seed, rate, window)
                    print(json.dumps(r), flush=True)
                    results.append(r)
    finally:
        player.delete()
        monitor.delete()
    return results


def report(results, rate):
    lines = ["# Time to a located fault (tests/bench/faults_latency.py)", "",
             f"mvpnmond probing the PE emulator: {rate} probes/s per sender, "
             "loss rising at 2 %, delay at 25 ms; four PEs (five for two faults).",
             "From the induced step (the emulator's reload): the first plain pair threshold "
             "alarm, the located fault (mvpnFaultLocated; the last of them for two faults), and "
             "the located fault after the alarm from the notifications' sysUpTime "
             "(same master, 10 ms resolution).  Goal: located within one window of the alarm.",
             "", "| window | scenario | step | seed | alarm after step | located after step | "
             "located after alarm | in windows | other kinds located first |",
             "|---:|---|---|---:|---:|---:|---:|---:|---|"]
    for r in results:
        window = r["window_s"]
        lines.append(f"| {window} s | {r['scenario']} | {SCENARIOS[r['scenario']][4]} | {r['seed']} | "
                     f"{r['alarm_s']:.2f} s | {r['located_s']:.2f} s | "
                     f"{r['after_alarm_s']:+.2f} s | {r['after_alarm_s'] / window:+.2f} | "
                     f"{', '.join(r['wrongly_located']) or 'none'} |")
    lines.append("")
    for window in sorted({r["window_s"] for r in results}):
        diffs = [r["after_alarm_s"] for r in results if r["window_s"] == window]
        within = sum(d <= window for d in diffs)
        lines.append(f"- {window} s window, {len(diffs)} runs: located {min(diffs):+.2f} to "
                     f"{max(diffs):+.2f} s after the threshold alarm (median "
                     f"{statistics.median(diffs):+.2f} s, {statistics.median(diffs) / window:.2f} "
                     f"of the window; at most {max(diffs) / window:.2f}); within one window in "
                     f"{within} of {len(diffs)}: **{'met' if within == len(diffs) else 'missed'}**.")
    wrong = [r for r in results if r["wrongly_located"]]
    lines.append(f"Runs that located a fault of another kind first: {len(wrong)}.")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--rate", type=int, default=200)
    ap.add_argument("--windows", default="4,8")
    ap.add_argument("-o", "--output", default=RESULTS)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("faults_latency.py: network namespaces need root")
    results = run(args.scenarios.split(","), [int(x) for x in args.seeds.split(",")],
                  args.rate, [int(x) for x in args.windows.split(",")])
    text = report(results, args.rate)
    with open(args.output, "w") as f:
        f.write(text)
    print(text, end="")


if __name__ == "__main__":
    main()
