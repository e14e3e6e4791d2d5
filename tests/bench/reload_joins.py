#!/usr/bin/python3
"""The reload stall with live capture: mvpnmond -i on a veth in a network
namespace joins every configured default MDT, and a reload changes the
memberships.  Root (network namespaces).

    /usr/bin/python3 tests/bench/reload_joins.py [--sizes 1000,10000,100000]
        [--binary PATH] [--label NAME] [--out FILE]

For each size: never_block.py's section 3 files (distinct default MDTs, 3
expected PEs each), mvpnmond -i behind a private snmpd, no traffic.  Measured:
the start-up (process start to the capture running, all groups joined); then
a reload of the same file, one in which 10 % of the VPNs have new default MDTs
and 10 % are gone, and the first file again.  For each: the longest engine
turn (SIGUSR1 before and after: what the reload held the engines for), the
wall time from SIGHUP to the `configuration` line, the longest round trip of
an SNMP GET sent in a tight loop meanwhile, and the groups on the interface
afterwards (/proc/net/igmp).  A reload that does not finish in --timeout
seconds is reported as such and ends that size.  Run it with the soft
RLIMIT_NOFILE at 1,024 (ulimit -Sn 1024), as a service gets it, to see the
descriptor limit at 100,000 VPNs (5,000 sockets).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import never_block as nb  # noqa: E402
from never_block import (Daemon, Master, Netns, Snmp, TrapReceiver, configs, mib_names,  # noqa: E402
                         reload_config, serving, summary, wait_for, write_atomically)
import conftest  # noqa: E402


def igmp_groups(ns, ifname):
    text = ns.run("cat", "/proc/net/igmp").stdout
    n, inside = 0, False
    for line in text.split("\n")[1:]:
        fields = line.split()
        if not fields:
            continue
        if not line[0].isspace():
            inside = len(fields) > 1 and fields[1].rstrip(":") == ifname
        elif inside and not fields[0].endswith("E0"):  # 224.0.0.x: the kernel's own
            n += 1
    return n


def reload_once(daemon, poller, timeout):
    mark = nb.log_end(daemon)
    t_hup = time.monotonic()
    daemon.signal(nb.signal.SIGHUP)
    got = wait_for(lambda: configs(daemon, mark), timeout, 0.005)
    t_done = time.monotonic()
    if not got:
        return {"done": False, "wall_s": t_done - t_hup}
    st = summary(daemon)
    rtts = [r[1] for r in poller.during(t_hup, t_done) if r[1] is not None]
    text = nb.log_since(daemon, mark)
    joins = [line.split("capture: ", 1)[1] for line in text.splitlines()
             if "capture: memberships" in line or "not joined" in line]
    return {"done": True, "wall_s": t_done - t_hup, "turn_ms": st["turn_ms"] if st else None,
            "get_max_ms": 1000 * max(rtts) if rtts else None, "log": got[-1], "joins": joins}


def run(n, binary, tmp, timeout):
    res = {"n": n}
    tag = f"rj{os.getpid() % 100000}"
    player, monitor = Netns(f"{tag}-p"), Netns(f"{tag}-m")
    traps = master = daemon = poller = None
    ifname = f"{tag}b"
    try:
        subprocess.run(["ip", "link", "add", f"{tag}a", "netns", player.name, "type", "veth",
                        "peer", "name", ifname, "netns", monitor.name],
                       check=True, capture_output=True)
        player.run("ip", "link", "set", f"{tag}a", "up")
        monitor.run("ip", "link", "set", ifname, "up")
        traps = TrapReceiver(tmp)
        master = Master(tmp, traps.port)
        master.start()
        snmp = Snmp(master)
        conftest.MVPNMOND = binary
        daemon = Daemon(tmp, master)
        daemon.write_config(reload_config(n, "a"))
        t0 = time.monotonic()
        daemon.start("-i", ifname, netns=monitor)
        if not wait_for(lambda: configs(daemon) or daemon.proc.poll() is not None, timeout,
                        0.005) or not configs(daemon):
            res["start"] = "no start-up load in %d s" % timeout
            return res
        res["start_s"] = time.monotonic() - t0
        if not wait_for(lambda: serving(snmp), 120):
            res["start"] = "not serving"
            return res
        res["groups_a"] = igmp_groups(monitor, ifname)
        oid = next(o for o, name in mib_names().items() if name == "mvpnVpnCount") + ".0"
        poller = nb.Poller(master.port, oid, os.path.join(tmp, "gets.bin"))
        summary(daemon)
        for kind, variant in (("same", "a"), ("changed", "b"), ("back", "a")):
            write_atomically(daemon.conf, reload_config(n, variant))
            r = reload_once(daemon, poller, timeout)
            r["groups"] = igmp_groups(monitor, ifname)
            res[kind] = r
            if not r["done"]:
                break
        res["log_tail"] = [line for line in daemon.log_text().splitlines()
                           if "limit" in line or "not joined" in line or "cannot" in line][:8]
        return res
    finally:
        if poller:
            poller.stop()
        if daemon:
            nb.stop_process(daemon.proc, timeout=600) if daemon.proc else None
        if master:
            master.stop()
        if traps:
            traps.stop()
        player.delete()
        monitor.delete()


def fmt(r):
    if not r.get("done"):
        return "not done after %.0f s" % r["wall_s"]
    turn = "%.1f" % r["turn_ms"] if r["turn_ms"] is not None else "?"
    get = "%.1f" % r["get_max_ms"] if r["get_max_ms"] is not None else "-"
    return (f"turn {turn} ms, wall {r['wall_s']:.2f} s, GET max {get} ms, "
            f"{r['groups']} groups on the veth; {'; '.join(r['joins']) or 'no membership change'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--binary", default=nb.NEW_BINARY)
    ap.add_argument("--label", default="this build")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--out")
    args = ap.parse_args()
    lines = [f"# reload_joins.py: {args.label} ({args.binary}); "
             f"RLIMIT_NOFILE soft {os.sysconf('SC_OPEN_MAX')}"]
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            r = run(n, args.binary, tmp, args.timeout)
        lines.append(f"{n} VPNs: start-up {r.get('start_s', 0):.2f} s, "
                     f"{r.get('groups_a', '?')} groups joined {r.get('start', '')}")
        for kind in ("same", "changed", "back"):
            if kind in r:
                lines.append(f"  {kind:8} {fmt(r[kind])}")
        for line in r.get("log_tail", []):
            lines.append(f"  log: {line}")
        print("\n".join(lines[-5:]), flush=True)
    if args.out:
        with open(args.out, "a") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
