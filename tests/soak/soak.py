#!/usr/bin/python3
"""make soak (issue 11, item 1): mvpnmond for a long time under everything at once.

    /usr/bin/python3 tests/soak/soak.py [--minutes 30] [--build build-asan]
        [--reload-every 10] [--master-restart-every 60] [--out DIR]

Two namespaces joined by a veth, as the integration tests build them:

  player   the PE emulator (build/tools/pe-emulator, 4 PEs, as test_long_run.py)
           and tcpreplay, looping a scapy-made 10 s stream of GRE-encapsulated
           C-PIM (Hellos, Join/Prunes, MDT Join TLVs, customer data, a few
           malformed and unknown-MDT frames) to the VPN's default MDT at 200 pps
  monitor  mvpnmond (the ASan + UBSan build by default) capturing with -i and
           probing through the emulator on the same interface

and, on loopback, a private snmpd (AgentX master) and snmptrapd.  For the
whole run: a SIGHUP every --reload-every s (alternating two valid configs), a
master restart every --master-restart-every s (mvpnmond must reconnect by
itself: agentx-ping-interval = 1), SNMP walks of the whole MIB back to back,
and every minute a sample: VmRSS, open descriptors, the MIB's counters.

Pass (all of):
  * flat memory: after the warm-up (--warmup, 3 min), the last sample's VmRSS
    is at most the warm-up sample's + 10 % + 2 MB.  Everything the daemon keeps
    is bounded and full by then: the tunnels' 60 s echo windows, the 5 s pair
    windows, the change log (1000 rows, filled in seconds), the C-group and
    data-MDT rows of one 10 s stream cycle (joins live 210 s, TLVs 180 s, but
    the same ones are refreshed each cycle), startup-grace (105 s).  The
    slack covers the allocator's granularity (ASan's size-class regions are
    mapped in chunks); a leak of a few hundred bytes per packet, probe, walk or
    reload exceeds it within the run.  ASan's quarantine is held to
    --quarantine-mb (8 MB) so that it, too, is full within the warm-up: at its
    default (256 MB) it would grow all run long and look like a leak.
  * flat descriptors: every sample from the warm-up on has exactly as many
    open descriptors as the warm-up sample (a descriptor is not a statistical
    quantity: one more is a leak).  Samples fall half a master-restart period
    after a restart, when the AgentX socket is long reconnected.
  * no sanitizer report (ASan, LeakSanitizer at exit, UBSan) and a clean exit.
  * counters monotonic: every Counter64/Counter32 of mvpnGlobals, of VPN 1's
    mvpnVpnTable row, of every mvpnPairTable and mvpnTunnelTable row, never
    lower than at the previous sample, and no such row vanishing.  There is no
    declared discontinuity within one mvpnmond process: a master restart or a
    reload must not reset them.  (VPN 2, which the alternate config adds and
    the next reload removes, is a declared new row each time: not judged.)
  * alive: every minute packets were captured, probes and echoes came back on
    every pair and tunnel, every reload was applied (mvpnConfigLoads = 1 +
    SIGHUPs, no failures), mvpnmond answered again after every master restart
    within 30 s, and no walk failed outside a master restart.

Writes OUT/samples.txt (the per-minute table), OUT/samples.json, OUT/result.txt
(the verdict, also printed), and keeps every log there; exit status 0 on PASS.
Needs root (namespaces), tcpreplay, python3-scapy, and the builds:
make all (the emulator) and make asan (build-asan/mvpnmond).
"""
import argparse
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

from conftest import (MIB_DIRS, OID_ROOT, Master, Netns,  # noqa: E402
                      TrapReceiver, decode_index, mib_names, parse_value, stop_process,
                      varbind_lines, wait_for)
from emulator import Emulator  # noqa: E402

MONITOR = "198.18.1.254"        # the monitor's tunnel end (probe-local-address)
N_PES = 4
INTRUDER = "198.18.1.66"        # Hellos on the default MDT from a PE nobody expects
GROUP = "239.192.1.1"           # VPN red's default MDT (probed and captured)
GROUP2 = "239.192.1.2"          # VPN blue's, in the alternate config only
STRAY = "239.192.3.99"          # a provider group no VPN has (mvpnUnknownMdtPackets)
PORT = 5010
PPS = 200                       # the capture stream's rate
CYCLE_S = 10                    # one loop of the stream
CHANGE_LOG = 1000
WALK_EXCUSE_S = 5               # a walk ending this soon after a master restart may fail
RECONNECT_LIMIT_S = 30
SNMP_CLIENT = ["-v2c", "-c", "public", "-t", "2", "-r", "3"]


def pe(i):
    return f"198.18.1.{i}"


def log(msg):
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------
# The capture stream: one 10 s cycle of C-PIM on red's default MDT, looped
# ---------------------------------------------------------------------------
def write_stream(path):
    """Writes CYCLE_S * PPS frames (timestamps 1/PPS apart) and returns a
    summary.  Every cycle restates the same state, so the daemon's state is
    bounded while it keeps refreshing and changing it:
      * Hellos from each of the 4 PEs every second (hold 105 s); PE4 changes
        its generation ID at half-cycle (a restart, twice per cycle);
      * the intruder: one Hello per cycle, hold 3 s (unexpected, then departed);
      * per PE one Join/Prune every 200 ms: joins one of its 50 (S,G)s and
        prunes the one joined 5 s before (two state changes per message);
      * per PE one MDT Join TLV datagram per cycle (5 data MDTs each);
      * 10 frames to a stray provider group, 2 malformed frames;
      * the rest customer data on the default MDT (counted, dropped)."""
    from scapy.all import Ether, IP, UDP, Raw, load_contrib, raw
    from scapy.layers.l2 import GRE
    from scapy.utils import PcapWriter
    load_contrib("pim")
    from scapy.contrib.pim import (PIMv2Hdr, PIMv2Hello, PIMv2HelloHoldtime,
                                   PIMv2HelloDRPriority, PIMv2HelloGenerationID,
                                   PIMv2JoinPrune, PIMv2GroupAddrs, PIMv2JoinAddrs,
                                   PIMv2PruneAddrs)
    import ipaddress
    import struct

    def mac(addr):
        return "02:00:%02x:%02x:%02x:%02x" % tuple(ipaddress.ip_address(addr).packed)

    def mcast_mac(group):
        b = ipaddress.ip_address(group).packed
        return "01:00:5e:%02x:%02x:%02x" % (b[1] & 0x7F, b[2], b[3])

    def frame(src, inner, mdt=GROUP, gre=None):
        return raw(Ether(src=mac(src), dst=mcast_mac(mdt)) /
                   IP(src=src, dst=mdt, proto=47, ttl=64) / (gre or GRE(proto=0x0800)) / inner)

    def hello(src, gid, hold=105):
        return (IP(src=src, dst="224.0.0.13", ttl=1, proto=103) / PIMv2Hdr(type=0) /
                PIMv2Hello(option=[PIMv2HelloHoldtime(holdtime=hold),
                                   PIMv2HelloDRPriority(dr_priority=1),
                                   PIMv2HelloGenerationID(generation_id=gid)]))

    def sg(cls, s):
        return cls(addr_family=1, encoding_type=0, sparse=1, wildcard=0, rpt=0, mask_len=32,
                   src_ip=s)

    def customer(p, n):
        """PE p's n-th customer (S,G), n in 0..49."""
        k = (p - 1) * 50 + n + 1  # 1..200
        return f"192.0.2.{k}", f"233.252.0.{k}"

    def join_prune(p, join_n, prune_n):
        up = pe(p % N_PES + 1)
        js, jg = customer(p, join_n)
        ps, pg = customer(p, prune_n)
        return (IP(src=pe(p), dst="224.0.0.13", ttl=1, proto=103) / PIMv2Hdr(type=3) /
                PIMv2JoinPrune(up_neighbor_ip=up, holdtime=210, jp_ips=[
                    PIMv2GroupAddrs(gaddr=jg, mask_len=32, join_ips=[sg(PIMv2JoinAddrs, js)],
                                    prune_ips=[]),
                    PIMv2GroupAddrs(gaddr=pg, mask_len=32, join_ips=[],
                                    prune_ips=[sg(PIMv2PruneAddrs, ps)])]))

    def mdt_tlvs(p):
        body = b""
        for n in range(5):
            s, g = customer(p, n)
            pgrp = f"239.192.2.{(p - 1) * 5 + n + 1}"
            body += struct.pack("!BHB4s4s4s", 1, 16, 0, ipaddress.ip_address(s).packed,
                                ipaddress.ip_address(g).packed,
                                ipaddress.ip_address(pgrp).packed)
        return (IP(src=pe(p), dst="224.0.0.13", ttl=1) / UDP(sport=3232, dport=3232) /
                Raw(body))

    def data(p, n):
        s, g = customer(p, n % 50)
        return (IP(src=s, dst=g, ttl=16) / UDP(sport=40000, dport=5001) /
                Raw(b"customer data " + bytes(50)))

    slots = CYCLE_S * PPS
    plan = [None] * slots
    kinds = {}

    def put(slot, kind, make):
        while plan[slot % slots] is not None:
            slot += 1
        plan[slot % slots] = (kind, make)
        kinds[kind] = kinds.get(kind, 0) + 1

    gids = {p: 0x6037_0000 + p for p in range(1, N_PES + 1)}
    for sec in range(CYCLE_S):
        for p in range(1, N_PES + 1):
            gid = gids[p] ^ (0xFFFF if p == N_PES and sec >= CYCLE_S // 2 else 0)
            put(sec * PPS + p * 7, "hello", lambda p=p, gid=gid: frame(pe(p), hello(pe(p), gid)))
    put(slots // 2 + 3, "hello-intruder",
        lambda: frame(INTRUDER, hello(INTRUDER, 0x66, hold=3)))
    per_pe = CYCLE_S * 5  # one Join/Prune every 200 ms per PE: 50 per cycle
    for m in range(per_pe):
        for p in range(1, N_PES + 1):
            put(m * (PPS // 5) + 20 + p * 9, "join-prune",
                lambda p=p, m=m: frame(pe(p), join_prune(p, m % 50, (m + 25) % 50)))
    for p in range(1, N_PES + 1):
        put(p * 97, "mdt-tlv", lambda p=p: frame(pe(p), mdt_tlvs(p)))
    for k in range(10):
        put(k * PPS + 150, "stray-mdt", lambda k=k: frame(pe(1 + k % N_PES), data(1, k), mdt=STRAY))
    put(333, "malformed", lambda: frame(pe(1), Raw(raw(hello(pe(1), gids[1]))),
                                        gre=GRE(proto=0x0800, version=1)))
    bad = bytearray(raw(hello(pe(2), gids[2])))
    bad[22] ^= 0x0F  # the PIM checksum's first byte (after the 20-byte inner IPv4)
    put(1333, "malformed", lambda: frame(pe(2), Raw(bytes(bad))))
    n = 0
    for slot in range(slots):
        if plan[slot] is None:
            p = 1 + n % N_PES
            plan[slot] = ("data", lambda p=p, n=n: frame(pe(p), data(p, n)))
            kinds["data"] = kinds.get("data", 0) + 1
            n += 1
    writer = PcapWriter(path, linktype=1, sync=False)
    t0 = 1767225600
    for slot, (kind, make) in enumerate(plan):
        pkt = Ether(make())
        pkt.time = t0 + slot / PPS
        writer.write(pkt)
    writer.close()
    return kinds


# ---------------------------------------------------------------------------
# Configurations
# ---------------------------------------------------------------------------
def emulator_conf():
    lines = ["seed 11", f"monitor {MONITOR}", "igmp-query-interval 5", "igmp-query-version 3",
             "igmp-membership-timeout 30"]
    lines += [f"pe {pe(i)}" for i in range(1, N_PES + 1)]
    for i in range(1, N_PES + 1):  # as test_long_run.py: tunnels 1+i ms each way
        lines.append(f"tunnel {pe(i)} up delay {1.0 + i} loss 0")
        lines.append(f"tunnel {pe(i)} down delay {1.0 + i} loss 0")
    for i in range(1, N_PES + 1):
        for j in range(1, N_PES + 1):
            if i != j:
                loss = 5.0 if (i, j) == (1, 2) else 0
                lines.append(f"pair {pe(i)} {pe(j)} delay 10 loss {loss}")
    return "\n".join(lines) + "\n"


def monitor_conf(iface, alternate):
    """The base config, or (alternate) the same plus global loss thresholds
    (1 -> 2 loses 5 %: a loss alarm raised, cleared when the next reload takes
    the thresholds away) and a passive-only VPN that the next reload removes."""
    pes = ", ".join(f'"{pe(i)}"' for i in range(1, N_PES + 1))
    text = (f"agentx-ping-interval = 1\nchange-log-size = {CHANGE_LOG}\n"
            f'probe-interface = "{iface}"\nprobe-local-address = "{MONITOR}"\n'
            "probe-loss-timeout = 1\nprobe-unreachable-time = 5\necho-interval = 200\n"
            f'vpn "red" {{\n index = 1\n default-mdt = "{GROUP}"\n expected-pes = {{ {pes} }}\n'
            f" probe {{ rate = 20  window = 5  port = {PORT} }}\n}}\n")
    if alternate:
        text += ("thresholds { loss-rising = 3  loss-falling = 1 }\n"
                 f'vpn "blue" {{\n index = 2\n default-mdt = "{GROUP2}"\n'
                 f' expected-pes = {{ "{pe(5)}" }}\n}}\n')
    return text


# ---------------------------------------------------------------------------
# SNMP reading
# ---------------------------------------------------------------------------
def counter_objects():
    """Names of every Counter32/Counter64 object in the MIB text."""
    with open(os.path.join(TOP, "mibs", "MVPN-MONITOR-MIB.txt")) as f:
        text = f.read()
    return set(re.findall(r"^(\w+)\s+OBJECT-TYPE\s+SYNTAX\s+Counter(?:32|64)\b", text, re.M))


class Reader:
    """snmpwalk/snmpbulkwalk against the master's current port, numeric OIDs,
    decoded with conftest's helpers; None on any failure (the caller retries)."""

    def __init__(self, master):
        self.master = master
        self.names = mib_names()
        self.env = dict(os.environ, MIBDIRS=MIB_DIRS, MIBS="")

    def _walk(self, tool, oid, *opts):
        cmd = [tool, *SNMP_CLIENT, "-On", "-Oe", "-Ox", "-OQ", "-Ot", *opts,
               f"127.0.0.1:{self.master.port}", oid]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=120)
        except subprocess.TimeoutExpired:
            return None
        if out.returncode != 0:
            return None
        return varbind_lines(out.stdout)

    def scalars(self):
        group = self.oid_of("mvpnGlobals")
        lines = self._walk("snmpwalk", group)
        if not lines:
            return None
        out = {}
        for line in lines:
            oid, value = line.split(" = ", 1)
            name = self.names.get(oid.rsplit(".", 1)[0])
            if name:
                out[name] = parse_value(value)
        return out if "mvpnPacketsSeen" in out else None

    def rows(self, table, schema):
        entry = self.oid_of(table) + ".1"
        lines = self._walk("snmpbulkwalk", entry, "-Cr50")
        if lines is None:
            return None
        rows = {}
        for line in lines:
            oid, value = line.split(" = ", 1)
            if not oid.startswith(entry + "."):
                continue
            rest = oid[len(entry) + 1:].split(".")
            column = self.names.get(f"{entry}.{rest[0]}")
            if column:
                index = decode_index([int(x) for x in rest[1:]], schema)
                rows.setdefault(index, {})[column] = parse_value(value)
        return rows

    def oid_of(self, name):
        return next(oid for oid, n in self.names.items() if n == name)

    def get(self, name):
        lines = self._walk("snmpget", self.oid_of(name) + ".0")
        if not lines:
            return None
        value = parse_value(lines[0].split(" = ", 1)[1])
        return value if isinstance(value, int) else None

    def serving(self):
        return self.get("mvpnConfigLoads") is not None


class Walker(threading.Thread):
    """Walks the whole MIB subtree back to back, one snmpbulkwalk at a time."""

    def __init__(self, master, out_dir):
        super().__init__(daemon=True)
        self.master = master
        self.stop_event = threading.Event()
        self.proc = None
        self.lock = threading.Lock()
        self.walks = []  # (start, end, ok, varbinds)
        self.env = dict(os.environ, MIBDIRS=MIB_DIRS, MIBS="")
        self.errors = open(os.path.join(out_dir, "walk-errors.txt"), "w")

    def run(self):
        while not self.stop_event.is_set():
            start = time.monotonic()
            cmd = ["snmpbulkwalk", *SNMP_CLIENT, "-On", "-Cr50",
                   f"127.0.0.1:{self.master.port}", OID_ROOT]
            with self.lock:
                if self.stop_event.is_set():
                    break
                self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE, text=True, env=self.env)
            try:
                out, err = self.proc.communicate(timeout=300)
            except subprocess.TimeoutExpired:
                stop_process(self.proc, signal.SIGKILL)
                out, err = "", "walk took longer than 300 s"
            rc = self.proc.returncode
            n = sum(1 for line in out.splitlines() if line.startswith(OID_ROOT + "."))
            ok = rc == 0 and n > 0
            end = time.monotonic()
            if not ok and not self.stop_event.is_set():
                self.errors.write(f"{end:.1f} rc={rc} varbinds={n} {err.strip()[:300]}\n")
                self.errors.flush()
            if not self.stop_event.is_set():
                self.walks.append((start, end, ok, n))
            self.stop_event.wait(0.5)

    def stop(self):
        self.stop_event.set()
        with self.lock:
            if self.proc is not None:
                stop_process(self.proc, signal.SIGKILL)
        self.join(30)
        self.errors.close()


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------
SANITIZER_EXIT = 23


def known_leaks(report):
    """How many objects a LeakSanitizer report holds if every leak in it is
    net-snmp 5.9.3's own (None if anything else is in it): direct leaks of
    110-byte objects (a struct sockaddr_un) calloc'ed by libnetsnmp's transport
    receive.  The reference subagent (tests/bench/ref_subagent.c, net-snmp's
    own table helper and agent_check_and_process) leaks exactly these when its
    master is restarted during walks, so they are not mvpnmond's."""
    if "runtime error:" in report or "ERROR: AddressSanitizer" in report or \
            "ERROR: LeakSanitizer" not in report:
        return None
    blocks = re.split(r"\n(?=(?:Direct|Indirect) leak of )", report)[1:]
    total = 0
    for block in blocks:
        m = re.match(r"Direct leak of (\d+) byte\(s\) in (\d+) object\(s\)", block)
        frames = re.findall(r"^\s*#(\d+) (.*)$", block, re.M)
        if not m or int(m.group(1)) != 110 * int(m.group(2)) or len(frames) < 2:
            return None
        if "calloc" not in frames[0][1] or "libnetsnmp.so" not in frames[1][1]:
            return None
        if len(frames) > 2 and not ("netsnmp_transport_recv" in frames[2][1] or
                                    "[stack]" in frames[2][1]):
            return None
        total += int(m.group(2))
    return total or None


def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    fds = sorted(os.listdir(f"/proc/{pid}/fd"), key=int)
    targets = {}
    for fd in fds:
        try:
            targets[fd] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            targets[fd] = "?"
    return rss, len(fds), targets


def summed(rows, column):
    return sum(r.get(column, 0) for r in rows.values()) if rows else 0


class Soak:
    def __init__(self, args):
        self.args = args
        self.out = args.out
        self.build = args.build if os.path.isabs(args.build) else os.path.join(TOP, args.build)
        self.mvpnmond = os.path.join(self.build, "mvpnmond")
        self.problems = []       # reasons to fail
        self.notes = []          # what the verdict says besides
        self.samples = []
        self.reloads = 0
        self.restarts = []       # (t_stop, t_start, t_serving or None)
        self.procs = {}
        self.netns = []
        self.tag = f"soak{os.getpid() % 100000}"
        self.counters = counter_objects()
        self.known_leak_only = False

    def fail(self, reason):
        if reason not in self.problems:
            self.problems.append(reason)
            log("FAIL: " + reason)

    # --- set-up -----------------------------------------------------------
    def preflight(self):
        if os.geteuid() != 0:
            return "needs root (network namespaces)"
        for path, how in ((self.mvpnmond, "make asan (or --build)"),
                          (os.path.join(TOP, "build", "tools", "pe-emulator"), "make all")):
            if not os.access(path, os.X_OK):
                return f"{path} is missing: {how}"
        for tool in ("tcpreplay", "snmpd", "snmptrapd", "snmpbulkwalk", "ip"):
            if shutil.which(tool) is None:
                return f"{tool} is not installed (make deps)"
        return None

    def wire(self):
        player, monitor = Netns(f"{self.tag}-p"), None
        self.netns.append(player)
        monitor = Netns(f"{self.tag}-m")
        self.netns.append(monitor)
        self.player, self.monitor = player, monitor
        self.player_if, self.monitor_if = f"{self.tag}a", f"{self.tag}b"
        subprocess.run(["ip", "link", "add", self.player_if, "netns", player.name, "type", "veth",
                        "peer", "name", self.monitor_if, "netns", monitor.name],
                       check=True, capture_output=True)
        player.run("ip", "link", "set", self.player_if, "up")
        monitor.run("ip", "link", "set", self.monitor_if, "up")
        monitor.run("ip", "addr", "add", f"{MONITOR}/24", "dev", self.monitor_if)
        for i in range(1, 9):
            player.run("ip", "addr", "add", f"{pe(i)}/24", "dev", self.player_if)

    def start_daemon(self):
        self.conf = os.path.join(self.out, "mvpnmond.conf")
        with open(self.conf, "w") as f:
            f.write(monitor_conf(self.monitor_if, False))
        san = os.path.join(self.out, "sanitizer")
        os.makedirs(san, exist_ok=True)
        env = dict(os.environ,
                   ASAN_OPTIONS=f"log_path={san}/asan:detect_leaks=1:abort_on_error=0:"
                                f"exitcode={SANITIZER_EXIT}:"
                                f"quarantine_size_mb={self.args.quarantine_mb}"
                                + (":" + self.args.asan_options if self.args.asan_options else ""),
                   UBSAN_OPTIONS=f"log_path={san}/ubsan:print_stacktrace=1:halt_on_error=1")
        self.daemon_stderr = os.path.join(self.out, "mvpnmond.stderr")
        argv = self.monitor.cmd(self.mvpnmond, "-f", "-c", self.conf, "-x", self.master.socket,
                                "-Lf", os.path.join(self.out, "mvpnmond.log"),
                                "-i", self.monitor_if)
        with open(self.daemon_stderr, "w") as err:
            self.daemon = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, env=env)
        self.procs["mvpnmond"] = self.daemon
        if not wait_for(self.reader.serving, 60, 0.5):
            raise RuntimeError("mvpnmond did not answer through the master within 60 s")

    def start_player(self):
        pcap = os.path.join(self.out, "stream.pcap")
        kinds = write_stream(pcap)
        self.notes.append("stream (per 10 s cycle, looped at %d pps): %s" % (
            PPS, ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))))
        duration = self.args.minutes * 60 + 300  # bounded even if we never stop it
        with open(os.path.join(self.out, "tcpreplay.log"), "w") as f:
            self.tcpreplay = subprocess.Popen(
                self.player.cmd("tcpreplay", "-q", "-K", "--loop=0", f"--pps={PPS}",
                                f"--duration={duration}", "-i", self.player_if, pcap),
                stdout=f, stderr=subprocess.STDOUT)
        self.procs["tcpreplay"] = self.tcpreplay

    # --- the periodic actions ----------------------------------------------
    def reload(self):
        self.reloads += 1
        with open(self.conf + ".new", "w") as f:
            f.write(monitor_conf(self.monitor_if, self.reloads % 2 == 1))
        os.replace(self.conf + ".new", self.conf)
        self.daemon.send_signal(signal.SIGHUP)
        want = self.reloads + 1
        got = wait_for(lambda: (lambda v: v if v is not None and v >= want else None)(
            self.reader.get("mvpnConfigLoads")), 15, 0.2)
        if got is None:
            self.fail(f"reload {self.reloads}: mvpnConfigLoads did not reach {want} within 15 s")

    def restart_master(self):
        t_stop = time.monotonic()
        self.master.stop()
        self.master.start()
        t_start = time.monotonic()
        up = wait_for(self.reader.serving, RECONNECT_LIMIT_S, 0.1)
        t_up = time.monotonic() if up else None
        self.restarts.append((t_stop, t_start, t_up))
        if not up:
            self.fail(f"master restart {len(self.restarts)}: mvpnmond did not answer again "
                      f"within {RECONNECT_LIMIT_S} s")
        else:
            log(f"master restart {len(self.restarts)}: answering again "
                f"{t_up - t_start:.1f} s after the master's start")

    def sample(self, minute):
        if self.daemon.poll() is not None:
            self.fail(f"mvpnmond exited (status {self.daemon.returncode}) before minute {minute}")
            return False
        if not wait_for(self.reader.serving, 30, 0.5):
            self.fail(f"minute {minute}: mvpnmond not answering")
        rss, nfds, fd_targets = proc_status(self.daemon.pid)
        s = {"minute": minute, "t": round(time.monotonic() - self.t0, 1), "rss_kb": rss,
             "fds": nfds, "fd_targets": fd_targets, "reloads": self.reloads,
             "master_restarts": len(self.restarts)}
        for key, fetch in (("globals", self.reader.scalars),
                           ("vpns", lambda: self.reader.rows("mvpnVpnTable", "u")),
                           ("pairs", lambda: self.reader.rows("mvpnPairTable", "uaa")),
                           ("tunnels", lambda: self.reader.rows("mvpnTunnelTable", "a"))):
            value = None
            for _ in range(3):
                value = fetch()
                if value is not None:
                    break
                time.sleep(1)
            if value is None:
                self.fail(f"minute {minute}: could not read {key}")
                value = {}
            s[key] = value
        ok = [w for w in self.walker.walks if w[2]]
        s["walks_ok"], s["walks_failed"] = len(ok), len(self.walker.walks) - len(ok)
        s["traps"] = len([line for line in self.traps.text().splitlines()
                          if line.startswith("TRAP\t")])
        self.samples.append(s)
        self.write_samples()
        g = s["globals"]
        log(f"minute {minute}: rss {rss} kB, fds {nfds}, packets {g.get('mvpnPacketsSeen')}, "
            f"probes {g.get('mvpnProbesReceived')}, loads {g.get('mvpnConfigLoads')}, "
            f"walks {s['walks_ok']} ok / {s['walks_failed']} failed")
        return True

    COLUMNS = [("min", 3, lambda s: s["minute"]), ("rss_kB", 7, lambda s: s["rss_kb"]),
               ("fds", 3, lambda s: s["fds"]),
               ("pktsSeen", 8, lambda s: s["globals"].get("mvpnPacketsSeen")),
               ("control", 7, lambda s: s["globals"].get("mvpnControlPackets")),
               ("refresh", 7, lambda s: s["globals"].get("mvpnStateRefreshes")),
               ("changes", 7, lambda s: s["globals"].get("mvpnStateChanges")),
               ("malf", 4, lambda s: s["globals"].get("mvpnMalformedPackets")),
               ("prbSent", 7, lambda s: s["globals"].get("mvpnProbesSent")),
               ("prbRcvd", 7, lambda s: s["globals"].get("mvpnProbesReceived")),
               ("loads", 5, lambda s: s["globals"].get("mvpnConfigLoads")),
               ("pairSent", 8, lambda s: summed(s["pairs"], "mvpnPairSent")),
               ("pairRcvd", 8, lambda s: summed(s["pairs"], "mvpnPairReceived")),
               ("pairLost", 8, lambda s: summed(s["pairs"], "mvpnPairLost")),
               ("echoSent", 8, lambda s: summed(s["tunnels"], "mvpnTunnelEchoSent")),
               ("echoRcvd", 8, lambda s: summed(s["tunnels"], "mvpnTunnelEchoReceived")),
               ("notif", 5, lambda s: s["globals"].get("mvpnNotificationsSent")),
               ("traps", 5, lambda s: s["traps"]),
               ("walks", 5, lambda s: f"{s['walks_ok']}/{s['walks_failed']}")]

    def table(self):
        head = " ".join(f"{name:>{w}}" for name, w, _ in self.COLUMNS)
        lines = [head]
        for s in self.samples:
            lines.append(" ".join(f"{str(get(s)):>{w}}" for _, w, get in self.COLUMNS))
        return lines

    def write_samples(self):
        with open(os.path.join(self.out, "samples.txt"), "w") as f:
            f.write("# pair*/echo*: sums over the 12 pairs / 4 tunnels; walks: ok/failed "
                    "(cumulative); traps: notifications at snmptrapd\n")
            f.write("\n".join(self.table()) + "\n")
        with open(os.path.join(self.out, "samples.json"), "w") as f:
            plain = [{k: ({"/".join(map(str, i)): r for i, r in v.items()}
                          if k in ("vpns", "pairs", "tunnels") else v) for k, v in s.items()}
                     for s in self.samples]
            json.dump(plain, f, indent=1, default=str)

    def run(self):
        a = self.args
        os.makedirs(self.out, exist_ok=True)
        self.traps = TrapReceiver(os.path.join(self.out))
        self.procs["snmptrapd"] = self.traps.proc
        os.makedirs(os.path.join(self.out, "master"), exist_ok=True)
        self.master = Master(os.path.join(self.out, "master"), self.traps.port)
        self.master.start()
        self.reader = Reader(self.master)
        self.wire()
        conf = os.path.join(self.out, "emulator.conf")
        with open(conf, "w") as f:
            f.write(emulator_conf())
        self.emu = Emulator(self.player.name, conf, os.path.join(self.out, "emulator.log"))
        self.emu.start()
        self.start_daemon()
        self.start_player()
        self.walker = Walker(self.master, self.out)
        self.walker.start()
        self.t0 = time.monotonic()
        log(f"running {a.minutes} min: mvpnmond pid {self.daemon.pid} ({self.mvpnmond}), "
            f"out {self.out}")

        end = a.minutes * 60
        events = [(m * 60.0, 0, "sample", m) for m in range(a.minutes + 1)]
        events += [(t, 1, "reload", None)
                   for t in frange(a.reload_every / 2, end, a.reload_every)]
        events += [(t, 2, "restart", None)
                   for t in frange(a.master_restart_every / 2, end, a.master_restart_every)]
        events.sort()
        for t, _, kind, arg in events:
            delay = self.t0 + t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if self.daemon.poll() is not None:
                self.fail(f"mvpnmond exited (status {self.daemon.returncode}) "
                          f"{time.monotonic() - self.t0:.0f} s in")
                break
            if kind == "sample":
                self.sample(arg)
            elif kind == "reload":
                self.reload()
            else:
                self.restart_master()
        if self.tcpreplay.poll() is not None:
            self.fail(f"tcpreplay stopped early (status {self.tcpreplay.returncode})")

    # --- teardown and verdict ------------------------------------------------
    def teardown(self):
        walker = getattr(self, "walker", None)
        if walker is not None:
            walker.stop()
        for name in ("tcpreplay",):
            if name in self.procs:
                stop_process(self.procs[name])
        daemon = self.procs.get("mvpnmond")
        if daemon is not None:
            running = daemon.poll() is None
            # LeakSanitizer runs at exit: give it time before anything harsher.
            stop_process(daemon, timeout=120)
            self.daemon_status = daemon.returncode if running else None
        emu = getattr(self, "emu", None)
        if emu is not None:
            emu.stop()
        master = getattr(self, "master", None)
        if master is not None:
            master.stop()
        traps = getattr(self, "traps", None)
        if traps is not None and traps.proc is not None:
            traps.stop()
        for ns in self.netns:
            ns.delete()

    def sanitizer_reports(self):
        """Every sanitizer report but the known net-snmp leak (see known_leaks)."""
        found = []
        san = os.path.join(self.out, "sanitizer")
        known = 0
        if os.path.isdir(san):
            for name in sorted(os.listdir(san)):
                path = os.path.join(san, name)
                with open(path, errors="replace") as f:
                    n = known_leaks(f.read())
                if n is None:
                    found.append(path)
                else:
                    known += n
        if known:
            self.notes.append(
                f"LeakSanitizer: {known} x 110 B from libnetsnmp's transport read (net-snmp "
                f"5.9.3's own leak of a received AgentX PDU's sockaddr_un when the master dies "
                f"with a request in flight; tests/soak/README.md) over {len(self.restarts)} "
                f"master restarts: excused")
            if known > len(self.restarts):
                found.append(f"{known} known net-snmp leaks, more than the "
                             f"{len(self.restarts)} master restarts")
        self.known_leak_only = known > 0 and not found
        try:
            with open(self.daemon_stderr) as f:
                err = f.read()
        except (AttributeError, FileNotFoundError):
            err = ""
        for mark in ("runtime error:", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer"):
            if mark in err:
                found.append(f"{self.daemon_stderr} ({mark})")
        return found

    def judge(self):
        a, S = self.args, self.samples
        reports = self.sanitizer_reports()
        if reports:
            self.fail("sanitizer report(s): " + ", ".join(reports))
        status = getattr(self, "daemon_status", None)
        # 23: the sanitizers' exit status (ASAN_OPTIONS exitcode=23), for a report at exit.
        if status not in (None, 0) and not (status == SANITIZER_EXIT and self.known_leak_only):
            self.fail(f"mvpnmond exited with status {status} on SIGTERM")
        if len(S) < a.minutes + 1:
            self.fail(f"only {len(S)} of {a.minutes + 1} samples")
        # Flat memory and descriptors.
        warm = next((s for s in S if s["minute"] == a.warmup), None)
        if warm is None:
            self.fail(f"no warm-up sample (minute {a.warmup})")
        else:
            last = S[-1]
            limit = int(warm["rss_kb"] * 1.10) + 2048
            growth = last["rss_kb"] - warm["rss_kb"]
            self.notes.append(f"RSS: {warm['rss_kb']} kB at minute {a.warmup}, "
                              f"{last['rss_kb']} kB at minute {last['minute']} "
                              f"({growth:+d} kB; limit {limit} kB); "
                              f"max {max(s['rss_kb'] for s in S)} kB")
            if last["rss_kb"] > limit:
                self.fail(f"RSS grew: {warm['rss_kb']} kB at minute {a.warmup} -> "
                          f"{last['rss_kb']} kB at minute {last['minute']} (limit {limit})")
            post = [s for s in S if s["minute"] > a.warmup]
            if len(post) >= 3:
                xs = [s["minute"] for s in post]
                ys = [s["rss_kb"] for s in post]
                mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
                slope = (sum((x - mx) * (y - my) for x, y in zip(xs, ys)) /
                         sum((x - mx) ** 2 for x in xs))
                self.notes.append(f"RSS trend after warm-up: {slope:+.0f} kB/min")
            for s in S:
                if s["minute"] >= a.warmup and s["fds"] != warm["fds"]:
                    # By kind (socket, anon_inode:..., a path): inode numbers change
                    # with every reconnect and say nothing.
                    def kinds(targets):
                        return Counter(re.sub(r":\[\d+\]$", "", t) for t in targets.values())
                    now, then = kinds(s["fd_targets"]), kinds(warm["fd_targets"])
                    self.fail(f"descriptors: {s['fds']} at minute {s['minute']}, "
                              f"{warm['fds']} at minute {a.warmup} (more: {dict(now - then)}, "
                              f"fewer: {dict(then - now)})")
            self.notes.append(f"descriptors: {warm['fds']} at minute {a.warmup}, "
                              f"{S[-1]['fds']} at the end")
        # Monotonic counters, rows that stay, and signs of life.
        for prev, cur in zip(S, S[1:]):
            where = f"minute {prev['minute']} -> {cur['minute']}"
            self.monotonic(where, "mvpnGlobals", {(): prev["globals"]}, {(): cur["globals"]})
            self.monotonic(where, "mvpnVpnTable",
                           {k: v for k, v in prev["vpns"].items() if k == (1,)},
                           {k: v for k, v in cur["vpns"].items() if k == (1,)})
            self.monotonic(where, "mvpnPairTable", prev["pairs"], cur["pairs"])
            self.monotonic(where, "mvpnTunnelTable", prev["tunnels"], cur["tunnels"])
            gp, gc = prev["globals"], cur["globals"]
            for name in ("mvpnPacketsSeen", "mvpnControlPackets", "mvpnStateRefreshes",
                         "mvpnStateChanges", "mvpnProbesSent", "mvpnProbesReceived"):
                if name in gc and not gc[name] > gp.get(name, 0):
                    self.fail(f"{where}: {name} did not grow ({gp.get(name)} -> {gc[name]})")
            for key, col in (("pairs", "mvpnPairReceived"), ("tunnels", "mvpnTunnelEchoReceived")):
                for index, row in cur[key].items():
                    before = prev[key].get(index, {}).get(col, 0)
                    if not row.get(col, 0) > before:
                        self.fail(f"{where}: {col} of {index} did not grow "
                                  f"({before} -> {row.get(col)})")
        if S:
            g = S[-1]["globals"]
            if len(S[-1]["pairs"]) != N_PES * (N_PES - 1) or len(S[-1]["tunnels"]) != N_PES:
                self.fail(f"{len(S[-1]['pairs'])} pair rows and {len(S[-1]['tunnels'])} tunnel "
                          f"rows at the end, want {N_PES * (N_PES - 1)} and {N_PES}")
            want = S[-1]["reloads"] + 1
            if g.get("mvpnConfigLoads") != want or g.get("mvpnConfigLoadFailures") != 0:
                self.fail(f"mvpnConfigLoads {g.get('mvpnConfigLoads')} (want {want}), "
                          f"mvpnConfigLoadFailures {g.get('mvpnConfigLoadFailures')}")
            for name in ("mvpnCaptureKernelDrops", "mvpnNotificationsLost",
                         "mvpnNotificationsSuppressed", "mvpnChangeLogDropped",
                         "mvpnStateLimitDrops", "mvpnMalformedPackets", "mvpnUnknownMdtPackets"):
                if name in g:
                    self.notes.append(f"{name} = {g[name]}")
        # Master restarts and walks.
        delays = [up - start for _, start, up in self.restarts if up is not None]
        if delays:
            self.notes.append(f"master restarts: {len(self.restarts)}, answering again after "
                              f"{min(delays):.1f}-{max(delays):.1f} s")
        walks = self.walker.walks if hasattr(self, "walker") else []
        bad = [w for w in walks if not w[2] and not self.excused(w)]
        excused = [w for w in walks if not w[2] and self.excused(w)]
        okw = [w for w in walks if w[2]]
        if okw:
            self.notes.append(f"walks: {len(okw)} ok ({sum(w[3] for w in okw) // len(okw)} "
                              f"varbinds, {sum(w[1] - w[0] for w in okw) / len(okw):.1f} s each), "
                              f"{len(excused)} failed across a master restart, "
                              f"{len(bad)} failed otherwise")
        if bad:
            self.fail(f"{len(bad)} walks failed outside master restarts "
                      f"(see walk-errors.txt)")
        if not okw:
            self.fail("no walk succeeded")

    def excused(self, walk):
        start, end, _, _ = walk
        for t_stop, t_start, t_up in self.restarts:
            if start <= (t_up or t_start + RECONNECT_LIMIT_S) + WALK_EXCUSE_S and end >= t_stop:
                return True
        return False

    def monotonic(self, where, table, prev, cur):
        for index, row in prev.items():
            if index not in cur:
                self.fail(f"{where}: {table} row {index} vanished")
                continue
            for col, value in row.items():
                if col in self.counters and isinstance(value, int):
                    now = cur[index].get(col)
                    if not isinstance(now, int) or now < value:
                        self.fail(f"{where}: {table} {col}{list(index) or ''} went "
                                  f"backwards: {value} -> {now}")


def frange(start, stop, step):
    t = start
    while t < stop:
        yield t
        t += step


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=int, default=30)
    ap.add_argument("--build", default="build-asan")
    ap.add_argument("--reload-every", type=float, default=10)
    ap.add_argument("--master-restart-every", type=float, default=60)
    ap.add_argument("--warmup", type=int, default=3, help="minutes before the flat checks")
    ap.add_argument("--quarantine-mb", type=int, default=8,
                    help="ASan quarantine (ASAN_OPTIONS quarantine_size_mb)")
    ap.add_argument("--asan-options", default="",
                    help="more ASAN_OPTIONS, e.g. fast_unwind_on_malloc=0 for whole leak stacks")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    if a.out is None:
        a.out = os.path.join(TOP, "build", "soak",
                             datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    a.out = os.path.abspath(a.out)
    if a.minutes <= a.warmup:
        ap.error(f"--minutes must be more than --warmup ({a.warmup})")
    os.makedirs(a.out, exist_ok=True)

    def terminate(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, terminate)

    soak = Soak(a)
    missing = soak.preflight()
    if missing:
        print(f"soak: FAIL ({missing})")
        return 2
    started = time.monotonic()
    try:
        soak.run()
    except KeyboardInterrupt as e:
        soak.fail(f"interrupted ({e or 'SIGINT'})")
    except Exception as e:  # set-up or harness failure: still a verdict, still cleaned up
        soak.fail(f"harness error: {type(e).__name__}: {e}")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        soak.teardown()
    soak.judge()
    soak.write_samples()
    lines = [f"mvpnmond soak: {a.minutes} min on {soak.mvpnmond}, "
             f"{time.monotonic() - started:.0f} s wall; reload every {a.reload_every:g} s "
             f"({soak.reloads} SIGHUPs), master restart every {a.master_restart_every:g} s "
             f"({len(soak.restarts)}); out {a.out}",
             "pass: RSS at the end <= RSS at minute %d + 10 %% + 2 MB; descriptors from minute "
             "%d on = minute %d's; no sanitizer report; counters never decrease; activity every "
             "minute" % (a.warmup, a.warmup, a.warmup), ""]
    lines += soak.table() + [""]
    lines += [f"note: {n}" for n in soak.notes]
    lines += [f"problem: {p}" for p in soak.problems]
    verdict = "soak: PASS" if not soak.problems else \
        f"soak: FAIL ({'; '.join(p[:200] for p in soak.problems[:5])}" + \
        (f"; and {len(soak.problems) - 5} more" if len(soak.problems) > 5 else "") + ")"
    lines.append(verdict)
    text = "\n".join(lines) + "\n"
    with open(os.path.join(a.out, "result.txt"), "w") as f:
        f.write(text)
    print(text, end="")
    return 0 if not soak.problems else 1


if __name__ == "__main__":
    sys.exit(main())
