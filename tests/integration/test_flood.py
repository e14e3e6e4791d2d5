"""Caps against floods (issue 7, item 4).

A capture written by build/tools/flood_gen (tests/tools/flood_gen.c, which
documents the scenario) holds a little legitimate state on the default MDT of
VPN 1, then a million distinct spoofed (S,G) joins and Hellos from 100,000
spoofed PEs, then the legitimate PEs refreshing their state and one new
legitimate join.  mvpnmond replays it under max-pes-per-vpn = 1000 and
max-cgroups-per-vpn = 10000, and through a private snmpd:

- every record not stored is a state-limit drop, exactly as many as the caps
  leave no room for (computed here from the scenario, not read from the daemon),
  globally and for the VPN, and every record is a refresh, a change or a drop;
- the PE and C-group->PE tables hold exactly the cap's worth of rows: the
  legitimate ones with all their data, and the first spoofed ones that fit;
- peak memory (VmHWM) stays under a bound derived from the caps and the bytes
  a row costs, measured on this very build (see the docstring of
  test_flood_is_capped_counted_visible_and_answered);
- SNMP GETs are answered while the replay runs: the capture reaches mvpnmond
  through a FIFO (conftest.FifoFeed) that this test holds at three points
  inside the flood until a GET (mvpnPacketsSeen and mvpnCaptureStatus
  together) has answered "running" with every packet up to there counted;
  meanwhile it writes filler (GRE to no configured MDT: counted as unknown-MDT
  packets, no state), which the daemon needed to answer at all while it read
  the FIFO on its engine thread (test_never_block.py now proves it answers
  through a silent writer's pause).  The
  answers are counted, never timed, and the replay cannot end before them
  however the machine schedules it.

flood_gen itself is checked against tshark on a small capture, so the
generator is not checked only by the code under test.
"""
import ipaddress
import json
import math
import mmap
import os
import shutil
import struct
import subprocess
import time

import pytest

from conftest import (EVENT_TIMEOUT, TOP, Daemon, FifoFeed, addr_text, decode_index, mib_names,
                      parse_value, run_tshark, scalars, serving, snmp_rows, varbind_lines, wait_for)
from test_timestamps import date_bytes

# Test equipment, like the PE emulator: always the plain build's.
FLOOD_GEN = os.path.join(TOP, "build", "tools", "flood_gen")

MAX_PES = 1000
MAX_CGROUPS = 10000
CHANGE_LOG = 10000
SPOOFED_PES = 100_000
JOINS = 1_000_000
MEMORY_FACTOR = 2
# Memory the model's reserve thread faults in ahead of need (mib/slab.c): up
# to RESERVE_CHUNKS ready chunks (2 MiB), the rest of the 2 MiB region they
# are carved from, and the next region, made while the ring is full.  A run
# holds more or less of it depending on when that thread ran, in 2 MiB steps
# where huge pages are on: a constant, whatever the flood, not state.
LOOKAHEAD_KB = 3 * 2 * 1024

MDT = "239.192.0.1"
LEGIT = [1, 2, 3, 4]                       # 198.18.0.i, C-address 2001:db8::i
EXPECTED = ["198.18.0.%d" % i for i in (1, 2, 3, 4, 5)]  # .5 expected, never heard
GROUPS = ipaddress.ip_address("ff3e:20:2001:db8::")  # RFC 3306 groups from 2001:db8::/32
RP = "2001:db8::250"
JP_HOLD, HELLO_HOLD = 210, 105
# The legitimate joins, as flood_gen documents them: (t, from, to, group, kind, sources).
LEGIT_JOINS = [(1.0, 1, 2, 0x10, "sg", ["2001:db8:10::1"]),
               (1.1, 3, 2, 0x10, "sg", ["2001:db8:10::1"]),
               (1.2, 2, 1, 0x20, "starg", [RP]),
               (1.3, 4, 1, 0x40, "sg", ["2001:db8:10::4", "2001:db8:10::5"])]
REFRESH = 30.0            # Hellos again at 30.0 + 0.1 (i - 1); joins again at 31.0 + ...
LATE_JOIN = (32.0, 4, 2, 0x10, "sg", ["2001:db8:10::1"])  # onto .2's existing upstream row
T_END = 32.0
KIND = {"starg": 1, "sg": 2}
DOWNSTREAM, UPSTREAM = 1, 2


def pe(i):
    return "198.18.0.%d" % i


def caddr(i):
    return "2001:db8::%d" % i


def spoofed_pe(i):
    return str(ipaddress.ip_address("198.18.1.0") + i)


def spoofed_source(r):
    return str(ipaddress.ip_address("2001:db8:1::") + r)


def group(n):
    return str(GROUPS + n)


def spoofed_group(m):
    return group(0x10000 + m)


def generate(path, *args):
    out = subprocess.run([FLOOD_GEN, *map(str, args), str(path)], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


# ---- what the caps must make of the scenario ----

def legit_rows(joins):
    """C-group->PE rows the legitimate joins make: one per (flow, sender), and one
    per (flow, upstream PE) however many join through it."""
    down, up = set(), set()
    for _, src, dst, g, kind, sources in joins:
        for s in sources:
            flow = (g, "" if kind == "starg" else s, kind)
            down.add((flow, src))
            up.add((flow, dst))
    return len(down) + len(up)


def expected_outcome(max_pes, max_cgroups, spoofed_pes, joins, per_msg):
    """Rows, drops, refreshes and changes, from the scenario and the caps alone."""
    pes_in = min(spoofed_pes, max_pes - len(EXPECTED))   # expected PEs have rows from the start
    rows = legit_rows(LEGIT_JOINS)
    joins_in = min(joins, (max_cgroups - rows) // 2)     # a new flow: downstream + upstream row
    rows += 2 * joins_in
    late_in = rows + 1 <= max_cgroups                    # one row: its upstream row exists
    rows += late_in
    legit_records = sum(len(j[5]) for j in LEGIT_JOINS)
    return dict(
        pes=len(EXPECTED) + pes_in, spoofed_pes_in=pes_in, joins_in=joins_in, rows=rows,
        late_in=late_in, per_msg=per_msg,
        drops=(spoofed_pes - pes_in) + (joins - joins_in) + (not late_in),
        refreshes=len(LEGIT) + legit_records,                      # the second round
        changes=len(LEGIT) + pes_in + legit_records + joins_in + late_in,
        records=2 * len(LEGIT) + spoofed_pes + 2 * legit_records + joins + 1,
        packets=2 * len(LEGIT) + spoofed_pes + 2 * len(LEGIT_JOINS) + 1
        + math.ceil(joins / per_msg))


# ---- SNMP helpers: single columns and single rows, not whole 10,000-row tables ----

def column_oid(name):
    return next(oid for oid, n in mib_names().items() if n == name)


def index_of(*parts):
    """Sub-identifiers of an index: ints as they are, addresses as InetAddressType + InetAddress."""
    out = []
    for p in parts:
        if isinstance(p, int):
            out.append(p)
        elif p == "":
            out += [0, 0]
        else:
            b = ipaddress.ip_address(p).packed
            out += [1 if len(b) == 4 else 2, len(b), *b]
    return ".".join(map(str, out))


def walk_column(snmp, column, schema):
    """The index of every row, from a walk of one column."""
    oid = column_oid(column)
    out = snmp.run_raw("snmpbulkwalk", "-On", "-Cr50", "-OQ", oid)
    return [decode_index([int(x) for x in line.split(" = ")[0][len(oid) + 1:].split(".")], schema)
            for line in varbind_lines(out) if line.startswith(oid + ".")]


def get_row(snmp, columns, index):
    """{column: value} of one row, by GET."""
    oids = {f"{column_oid(c)}.{index}": c for c in columns}
    out = subprocess.run(["snmpget", "-v2c", "-c", "public", "-t", "5", "-r", "3", "-On", "-Oe",
                          "-Ox", "-OQ", "-Ot", f"127.0.0.1:{snmp.master.port}", *oids],
                         capture_output=True, text=True, timeout=600,
                         env=dict(snmp.env, MIBS=""))
    assert out.returncode == 0, out.stderr
    row = {}
    for line in varbind_lines(out.stdout):
        oid, value = line.split(" = ", 1)
        assert "No Such" not in value, f"{oids[oid]}.{index}: {value}"
        row[oids[oid]] = parse_value(value)
    return row


CAPTURE_RUNNING, CAPTURE_FINISHED = 2, 3


def poll(snmp):
    """(mvpnPacketsSeen, mvpnCaptureStatus) from one GET, or None.  Numeric OIDs and
    no MIB loaded: the client starts fast, so the polls come thick."""
    oids = [column_oid(n) + ".0" for n in ("mvpnPacketsSeen", "mvpnCaptureStatus")]
    out = subprocess.run(["snmpget", "-v2c", "-c", "public", "-t", "10", "-r", "0", "-Oqv",
                          f"127.0.0.1:{snmp.master.port}", *oids], capture_output=True,
                         text=True, env=dict(snmp.env, MIBS=""), timeout=600)
    values = out.stdout.split()
    if out.returncode != 0 or len(values) != 2 or not all(v.isdigit() for v in values):
        return None
    return int(values[0]), int(values[1])


def vm_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def config(max_pes, max_cgroups):
    return (f"startup-grace = 0\nchange-log-size = {CHANGE_LOG}\n"
            f"max-pes-per-vpn = {max_pes}\nmax-cgroups-per-vpn = {max_cgroups}\n"
            f'vpn "flood" {{\n\tindex = 1\n\tdefault-mdt = "{MDT}"\n'
            f"\texpected-pes = {{ {', '.join(map(json.dumps, EXPECTED))} }}\n}}\n")


def peak_after_replay(tmp_path, master, snmp, name, pcap, max_pes, max_cgroups):
    """VmHWM (kB) of an mvpnmond that replayed pcap to its end."""
    d = Daemon(str(tmp_path / name), master)
    os.makedirs(d.tmp)
    d.write_config(config(max_pes, max_cgroups))
    try:
        d.start("-r", str(pcap))
        assert wait_for(lambda: serving(snmp), EVENT_TIMEOUT), d.log_text()
        assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "finished", 600), d.log_text()
        return vm_hwm_kb(d.proc.pid)
    finally:
        d.stop()


# ---- the generator, against tshark ----

TSHARK_FIELDS = ["frame.time_epoch", "ip.src", "ip.dst", "ip.checksum.status", "gre.proto",
                 "ipv6.src", "ipv6.dst", "ipv6.nxt", "pim.type", "pim.cksum.status",
                 "pim.holdtime", "pim.dr_priority", "pim.generation_id",
                 "pim.upstream_neighbor_ip6", "pim.numgroups", "pim.group_ip6", "pim.numjoins",
                 "pim.numprunes", "pim.join_ip6", "pim.source_addr.flags.s",
                 "pim.source_addr.flags.w", "pim.source_addr.flags.r", "_ws.malformed"]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_flood_gen_writes_what_tshark_reads(tmp_path):
    """A small flood (3 spoofed PEs, 10 joins, 4 a message): every frame as tshark
    decodes it, checksums (outer IPv4, PIM over the IPv6 pseudo-header) included."""
    pcap = tmp_path / "small.pcap"
    made = generate(pcap, "--spoofed-pes", 3, "--joins", 10, "--per-msg", 4)
    cmd = ["tshark", "-n", "-r", str(pcap), "-o", "ip.check_checksum:TRUE", "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=\t"]
    for f in TSHARK_FIELDS:
        cmd += ["-e", f]
    out = run_tshark(cmd)
    assert out.returncode == 0, out.stderr
    frames = [dict(zip(TSHARK_FIELDS, line.split("\t"))) for line in out.stdout.splitlines()]
    assert len(frames) == made["packets"] == 8 + 9 + 3 + 3

    for f in frames:  # every frame: GRE to the MDT carrying IPv6 C-PIM, all checksums good
        assert (f["ip.dst"], f["ip.checksum.status"], f["gre.proto"], f["ipv6.dst"],
                f["ipv6.nxt"], f["pim.cksum.status"], f["_ws.malformed"]) == (
            MDT, "1", "0x86dd", "ff02::d", "103", "1", ""), f

    def t(f):
        return round(float(f["frame.time_epoch"]) - 1767225600, 6)

    def hello(f, provider, c, genid, dr):
        assert (f["ip.src"], f["ipv6.src"], f["pim.type"], f["pim.holdtime"],
                f["pim.generation_id"], f["pim.dr_priority"]) == (
            provider, c, "0", str(HELLO_HOLD), str(genid), str(dr)), f

    def join(f, provider, c, up, group, sources, starg=False):
        flag = "1" if starg else "0"
        n = len(sources)
        assert (f["ip.src"], f["ipv6.src"], f["pim.type"], f["pim.upstream_neighbor_ip6"],
                f["pim.holdtime"], f["pim.numgroups"], f["pim.group_ip6"].split("|")[0],
                f["pim.numjoins"], f["pim.numprunes"], f["pim.join_ip6"].split("|"),
                f["pim.source_addr.flags.s"], f["pim.source_addr.flags.w"],
                f["pim.source_addr.flags.r"]) == (
            provider, c, "3", up, str(JP_HOLD), "1", group, str(n), "0", sources,
            "|".join(["1"] * n), "|".join([flag] * n), "|".join([flag] * n)), f

    legit_hellos = [0, 1, 2, 3, 14, 15, 16, 17]   # frames, from 0
    legit_jps = [4, 5, 6, 7, 18, 19, 20, 21, 22]
    for k, n in enumerate(legit_hellos):
        i = LEGIT[k % 4]
        hello(frames[n], pe(i), caddr(i), 0x60370000 + i, 10 * i)
        assert t(frames[n]) == round((0 if k < 4 else REFRESH) + 0.1 * (i - 1), 6)
    for k, n in enumerate(legit_jps):
        when, src, dst, g, kind, sources = (LEGIT_JOINS + LEGIT_JOINS + [LATE_JOIN])[k]
        join(frames[n], pe(src), caddr(src), caddr(dst), group(g), sources, kind == "starg")
        assert t(frames[n]) == round(when + (30 if 4 <= k < 8 else 0), 6)
    flood = frames[8:14]
    assert all(2 <= t(f) < 22 for f in flood)
    hellos = [f for f in flood if f["pim.type"] == "0"]
    jps = [f for f in flood if f["pim.type"] == "3"]
    assert len(hellos) == 3 and len(jps) == 3
    for i, f in enumerate(hellos):
        hello(f, spoofed_pe(i), str(ipaddress.ip_address("2001:db8:2::") + i), i, 1)
    for m, f in enumerate(jps):
        sources = [spoofed_source(r) for r in range(4 * m, min(4 * m + 4, 10))]
        join(f, spoofed_pe(m), str(ipaddress.ip_address("2001:db8:2::") + m), "2001:db8:ffff::1",
             spoofed_group(m), sources)


# ---- the flood through a FIFO, held at gates until SNMP has answered ----

FILLER_MDT = "239.192.0.99"   # no VPN's: unknown-MDT packets, counted and dropped
GATES = 3                     # points inside the flood where SNMP must answer


def ipv4(proto, src, dst, payload):
    """An IPv4 header (checksum right) and its payload."""
    header = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, proto, 0,
                                   ipaddress.ip_address(src).packed,
                                   ipaddress.ip_address(dst).packed))
    total = sum(struct.unpack("!10H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    struct.pack_into("!H", header, 10, ~total & 0xFFFF)
    return bytes(header) + payload


def filler_frame():
    """Ethernet, IPv4 GRE to FILLER_MDT, an inner IPv4 UDP datagram: what the
    replay's GRE filter passes and the engine counts as unknown-MDT."""
    inner = ipv4(17, "192.0.2.1", "233.252.0.1", struct.pack("!HHHH", 9, 9, 8, 0))
    outer = ipv4(47, "198.18.0.250", FILLER_MDT, struct.pack("!HH", 0, 0x0800) + inner)
    dst_mac = bytes([0x01, 0x00, 0x5E]) + ipaddress.ip_address(FILLER_MDT).packed[1:]
    return bytes([dst_mac[0], dst_mac[1], dst_mac[2], dst_mac[3] & 0x7F, dst_mac[4], dst_mac[5]]) \
        + bytes([2, 0, 0, 0, 0, 0xFA]) + b"\x08\x00" + outer


class GatedFlood:
    """The chunks of a pcap file for FifoFeed, held at GATES evenly spaced
    frames: at each, filler (at the last frame's timestamp, so no timer moves)
    until answered(n) says a GET answered "running" with at least n packets
    counted, n being every frame and filler written before the gate."""

    FILLER_PER_WRITE = 512

    def __init__(self, path, frames, answered):
        self.path, self.frames, self.answered = path, frames, answered
        self.filler = 0           # filler frames written
        self.gates_passed = 0     # gates where SNMP answered in time
        self.waits = []           # filler frames each gate took

    def __iter__(self):
        frame = filler_frame()
        with open(self.path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            gates = [self.frames * k // (GATES + 1) for k in range(1, GATES + 1)]
            yield m[:24]
            pos, n, last_ts = 24, 0, b""
            for gate in gates:
                start = pos
                while n < gate:
                    last_ts = m[pos:pos + 8]
                    pos += 16 + struct.unpack_from("<I", m, pos + 8)[0]
                    n += 1
                for i in range(start, pos, 1 << 20):
                    yield m[i:min(i + (1 << 20), pos)]
                need = n + self.filler
                record = last_ts + struct.pack("<II", len(frame), len(frame)) + frame
                block = record * self.FILLER_PER_WRITE
                before = self.filler
                # The wait is for the event (an answer), bounded only against a
                # daemon that never answers; that fails the test below.
                deadline = time.monotonic() + 10 * EVENT_TIMEOUT
                while not self.answered(need) and time.monotonic() < deadline:
                    yield block
                    self.filler += self.FILLER_PER_WRITE
                self.waits.append(self.filler - before)
                self.gates_passed += self.answered(need)
            for i in range(pos, len(m), 1 << 20):
                yield m[i:min(i + (1 << 20), len(m))]


# ---- the flood ----

def test_flood_is_capped_counted_visible_and_answered(tmp_path, master, snmp, daemon):
    """The memory bound, and how it is derived: three replays of this build measure
    what the capped state costs, each with caps too large to bind:
      base    the legitimate state alone,
      rows    plus MAX_CGROUPS/2 spoofed joins (MAX_CGROUPS C-group->PE rows),
      pes     plus MAX_PES spoofed PEs;
    bytes/row = (VmHWM(rows) - VmHWM(base)) / rows added, and so for PEs (each
    includes the row's flow, change-log entry and, for a PE, its alarm).  The
    flood's peak must stay under
      VmHWM(base) + MEMORY_FACTOR x (MAX_CGROUPS x bytes/row + MAX_PES x bytes/PE)
      + LOOKAHEAD_KB (what the reserve thread faults in ahead, see above),
    which is also checked to be far below what storing the flood would take."""
    flood = tmp_path / "flood.pcap"
    # One join per message: a million packets, as a flood would come.
    made = generate(flood, "--spoofed-pes", SPOOFED_PES, "--joins", JOINS, "--per-msg", 1)
    want = expected_outcome(MAX_PES, MAX_CGROUPS, SPOOFED_PES, JOINS, made["per_msg"])
    assert made["packets"] == want["packets"]
    assert made["spoofed_records"] == JOINS and made["spoofed_hellos"] == SPOOFED_PES

    # What holding the capped state costs, measured.
    def calibrate(name, pes, joins):
        pcap = tmp_path / f"{name}.pcap"
        generate(pcap, "--spoofed-pes", pes, "--joins", joins)
        return peak_after_replay(tmp_path, master, snmp, name, pcap, 100_000_000, 100_000_000)

    cal_joins, cal_pes = MAX_CGROUPS // 2, MAX_PES
    base = calibrate("base", 0, 0)
    rows = calibrate("rows", 0, cal_joins)
    pes = calibrate("pes", cal_pes, 0)
    bytes_per_row = max(rows - base, 0) * 1024 / (2 * cal_joins)
    bytes_per_pe = max(pes - base, 0) * 1024 / cal_pes
    bound_kb = (base + MEMORY_FACTOR * (MAX_CGROUPS * bytes_per_row + MAX_PES * bytes_per_pe) / 1024
                + LOOKAHEAD_KB)
    uncapped_kb = (2 * JOINS * bytes_per_row + SPOOFED_PES * bytes_per_pe) / 1024
    assert bytes_per_row > 0 and bytes_per_pe > 0, (base, rows, pes)
    assert bound_kb < uncapped_kb / 10, (bound_kb, uncapped_kb)

    # The flood, with SNMP GETs all along, through a FIFO held at GATES points.
    best_running = [0]  # the largest count a GET answered while the capture was running

    def answered(n):
        return best_running[0] >= n

    gated = GatedFlood(flood, made["packets"], answered)
    feed = FifoFeed(str(tmp_path / "flood.fifo"), gated)
    daemon.write_config(config(MAX_PES, MAX_CGROUPS))
    started = time.monotonic()
    answers = []
    try:
        daemon.start("-r", feed.path)
        while True:
            a = poll(snmp)
            time.sleep(0.01)
            if a:
                answers.append(a)
                if a[1] == CAPTURE_RUNNING:
                    best_running[0] = max(best_running[0], a[0])
                if a[1] == CAPTURE_FINISHED:
                    break
            assert daemon.proc.poll() is None, daemon.log_text()
            assert time.monotonic() - started < 20 * EVENT_TIMEOUT, (answers, daemon.log_text())
    finally:
        feed.stop()
    replay_seconds = time.monotonic() - started
    flood.unlink()  # 176 MB: pytest keeps the last runs' directories
    peak_kb = vm_hwm_kb(daemon.proc.pid)
    during = [n for n, status in answers if status == CAPTURE_RUNNING]
    packets = want["packets"] + gated.filler
    report = (f"{JOINS} joins + {SPOOFED_PES} PEs in {made['packets']} packets (+ {gated.filler} "
              f"filler while {GATES} gates waited for SNMP: {gated.waits}), replayed in "
              f"{replay_seconds:.1f} s; {len(during)} SNMP answers during the replay "
              f"{during}; peak {peak_kb} kB, bound {bound_kb:.0f} kB (base {base} kB, "
              f"{bytes_per_row:.0f} B/row, {bytes_per_pe:.0f} B/PE; storing the flood: "
              f"{uncapped_kb / 1024:.0f} MB)")
    print(report)

    # SNMP answered while the replay ran, at each gate, with every packet up to it
    # counted: so at least GATES answers, the count growing.
    assert feed.exhausted and gated.gates_passed == GATES, report
    assert len(set(during)) >= GATES, report
    # "Running" with every packet counted is real: the last slice read the last
    # packet, and end-of-file is only seen by the next read.
    assert during == sorted(during) and all(n <= packets for n in during), report
    assert answers[-1] == (packets, CAPTURE_FINISHED), report
    # Memory stayed within what the caps allow.
    assert peak_kb < bound_kb, report

    # Every record is a refresh, a change or a drop; the drops are exactly what did not fit.
    g = scalars(snmp)
    assert g["mvpnPacketsSeen"] == packets
    assert g["mvpnControlPackets"] == want["packets"]
    assert g["mvpnUnknownMdtPackets"] == gated.filler
    assert g["mvpnMalformedPackets"] == 0
    assert g["mvpnStateLimitDrops"] == want["drops"]
    assert g["mvpnStateRefreshes"] == want["refreshes"]
    assert g["mvpnStateChanges"] == want["changes"]
    assert want["drops"] + want["refreshes"] + want["changes"] == want["records"]
    vpn = snmp_rows(snmp, "mvpnVpnTable", "u")[(1,)]
    assert vpn["mvpnVpnStateLimitDrops"] == want["drops"]
    assert (vpn["mvpnVpnExpectedPes"], vpn["mvpnVpnActivePes"], vpn["mvpnVpnMissingPes"],
            vpn["mvpnVpnUnexpectedPes"]) == (5, 4 + want["spoofed_pes_in"], 1,
                                             want["spoofed_pes_in"])
    legit_flows = {(g, s) for _, g, s, *_ in legit_cgroup_rows()}
    assert vpn["mvpnVpnCGroups"] == len(legit_flows) + want["joins_in"]

    check_pe_table(snmp, want)
    check_cgroup_table(snmp, want)
    assert daemon.proc.poll() is None
    assert (f"replayed: {packets} packets, 0 malformed, {gated.filler} on unknown MDTs"
            in daemon.log_text())


CAPTURE_EPOCH = 1767225600  # flood_gen's time 0


def date(t):
    """DateAndTime of flood_gen's time t.  A replay's TimeStamps are 0 (RFC
    2579: before any master could know of them); its times are in the
    DateAndTime columns, to the tenth of a second."""
    return date_bytes(CAPTURE_EPOCH + t)


def left(t):
    return math.ceil(round(t - T_END, 3))


def check_pe_table(snmp, want):
    """Exactly MAX_PES rows: the expected PEs, then the first spoofed PEs that fit."""
    rows = snmp_rows(snmp, "mvpnPeTable", "ua")
    assert len(rows) == MAX_PES == want["pes"]
    spoofed = {(1, spoofed_pe(i)) for i in range(want["spoofed_pes_in"])}
    assert set(rows) == {(1, a) for a in EXPECTED} | spoofed
    for i in LEGIT:
        r = rows[(1, pe(i))]
        own = [j for j in LEGIT_JOINS + [LATE_JOIN] if j[1] == i]
        sent_jps = len(own) + sum(1 for j in LEGIT_JOINS if j[1] == i)  # + the refresh round
        made = 1 + sum(len(j[5]) for j in own)                         # up, and each new join
        assert (r["mvpnPeStatus"], r["mvpnPeExpected"],
                addr_text(r["mvpnPeCAddrType"], r["mvpnPeCAddr"]), r["mvpnPeFirstSeen"],
                r["mvpnPeFirstSeenDate"], r["mvpnPeLastHello"], r["mvpnPeLastHelloDate"],
                r["mvpnPeHoldTime"], r["mvpnPeExpiresIn"],
                r["mvpnPeGenerationId"], r["mvpnPeDrPriority"], r["mvpnPeRestarts"],
                r["mvpnPeHellos"], r["mvpnPeJoinPrunes"], r["mvpnPeStateChanges"]) == (
            1, 1, caddr(i), 0, date(0.1 * (i - 1)), 0, date(REFRESH + 0.1 * (i - 1)), HELLO_HOLD,
            left(REFRESH + 0.1 * (i - 1) + HELLO_HOLD), 0x60370000 + i, 10 * i, 0, 2, sent_jps,
            made), i
    silent = rows[(1, "198.18.0.5")]
    assert (silent["mvpnPeStatus"], silent["mvpnPeHellos"]) == (2, 0)  # missing, kept
    for key in spoofed:
        n = int(ipaddress.ip_address(key[1])) - int(ipaddress.ip_address("198.18.1.0"))
        r = rows[key]
        assert (r["mvpnPeStatus"], r["mvpnPeExpected"], r["mvpnPeHellos"],
                r["mvpnPeGenerationId"]) == (3, 2, 1, n), key  # unexpected


CGROUP_COLUMNS = ["mvpnCGroupPeState", "mvpnCGroupPeOtherType", "mvpnCGroupPeOther",
                  "mvpnCGroupPeJoiners", "mvpnCGroupPeRpType", "mvpnCGroupPeRp",
                  "mvpnCGroupPePGroupType", "mvpnCGroupPePGroup", "mvpnCGroupPeHoldTime",
                  "mvpnCGroupPeExpiresIn", "mvpnCGroupPeFirstSeen", "mvpnCGroupPeLastRefresh",
                  "mvpnCGroupPeRefreshes", "mvpnCGroupPeFirstSeenDate",
                  "mvpnCGroupPeLastRefreshDate"]


def legit_cgroup_rows():
    """index -> (other PE, joiners, rp, first seen, last refresh, refreshes, expires) of
    every legitimate row after the refresh and the late join."""
    rows = {}
    history = [(j, False) for j in LEGIT_JOINS] + \
        [((t + 30, *rest), True) for t, *rest in LEGIT_JOINS] + [(LATE_JOIN, False)]
    for (t, src, dst, g, kind, sources), refresh in history:
        for s in sources:
            source = "" if kind == "starg" else s
            rp = RP if kind == "starg" else ""
            base = (1, group(g), source, KIND[kind])
            down = rows.setdefault(base + (pe(src), DOWNSTREAM),
                                   dict(other=pe(dst), joiners=1, rp=rp, first=t, refreshes=0))
            up = rows.setdefault(base + (pe(dst), UPSTREAM),
                                 dict(other=pe(src), joiners=0, rp=rp, first=t, refreshes=0))
            down.update(last=t, expires=t + JP_HOLD)
            up.update(other=pe(src), last=t, expires=max(up.get("expires", 0), t + JP_HOLD))
            if refresh:
                down["refreshes"] += 1
                up["refreshes"] += 1
            else:
                up["joiners"] += 1
    return rows


def check_cgroup_table(snmp, want):
    """Exactly the rows that fit (the cap): every legitimate row, with its data, and
    the spoofed joins that came first; nothing else."""
    index = walk_column(snmp, "mvpnCGroupPeState", "uaauau")
    legit = legit_cgroup_rows()
    spoofed = set()
    for r in range(want["joins_in"]):
        m = r // want["per_msg"]
        flow = (1, spoofed_group(m), spoofed_source(r), KIND["sg"])
        spoofed.add(flow + (spoofed_pe(m % SPOOFED_PES), DOWNSTREAM))
        spoofed.add(flow + ("2001:db8:ffff::1", UPSTREAM))  # named, and no PE's C-address
    assert len(index) == len(set(index)) == want["rows"] == MAX_CGROUPS
    assert set(index) == set(legit) | spoofed
    for key, w in legit.items():
        r = get_row(snmp, CGROUP_COLUMNS, index_of(*key))
        assert (r["mvpnCGroupPeState"],
                addr_text(r["mvpnCGroupPeOtherType"], r["mvpnCGroupPeOther"]),
                r["mvpnCGroupPeJoiners"], addr_text(r["mvpnCGroupPeRpType"], r["mvpnCGroupPeRp"]),
                addr_text(r["mvpnCGroupPePGroupType"], r["mvpnCGroupPePGroup"]),
                r["mvpnCGroupPeHoldTime"], r["mvpnCGroupPeExpiresIn"], r["mvpnCGroupPeFirstSeen"],
                r["mvpnCGroupPeLastRefresh"], r["mvpnCGroupPeRefreshes"],
                r["mvpnCGroupPeFirstSeenDate"], r["mvpnCGroupPeLastRefreshDate"]) == (
            1, w["other"], w["joiners"], w["rp"], MDT, JP_HOLD, left(w["expires"]),
            0, 0, w["refreshes"], date(w["first"]), date(w["last"])), key


# ---- a departed spoofed PE gives its row back ----

def test_a_full_pe_table_gives_the_longest_departed_row_to_a_new_pe(tmp_path, daemon, snmp):
    """Spoofed PEs that filled max-pes-per-vpn and then went quiet must not keep
    a real new PE out until a restart: the new PE takes the row of the
    unexpected PE gone longest (peReclaimed in the change log, counted in
    mvpnPeRowsReclaimed); while every row is alive or expected it is refused.
    The capture is written by scapy (gen_alarm_fixtures.write_pcap)."""
    import sys
    sys.path.insert(0, os.path.join(TOP, "tests", "fixtures"))
    from gen_alarm_fixtures import write_pcap

    pe = "198.18.0.%d".__mod__
    hellos = [(0.0, pe(1), MDT, 105),     # expected
              (0.1, pe(20), MDT, 5),      # spoofed: gone at 5.1
              (0.2, pe(21), MDT, 5),      # spoofed: gone at 5.2
              (1.0, pe(22), MDT, 105),    # full of live PEs: refused
              (6.0, pe(1), MDT, 0),       # the expected PE says goodbye: never given up
              (10.0, pe(30), MDT, 105),   # takes .20's row
              (11.0, pe(31), MDT, 105),   # takes .21's row
              (12.0, pe(32), MDT, 105)]   # only the expected .1 is gone: refused
    pcap = tmp_path / "reclaim.pcap"
    write_pcap(str(pcap), hellos)
    daemon.write_config("startup-grace = 0\nmax-pes-per-vpn = 3\n"
                        f'vpn "red" {{\n\tindex = 1\n\tdefault-mdt = "{MDT}"\n'
                        f'\texpected-pes = {{ "{pe(1)}" }}\n}}\n')
    daemon.start("-r", str(pcap))
    assert wait_for(lambda: serving(snmp), EVENT_TIMEOUT), daemon.log_text()
    assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "finished", EVENT_TIMEOUT), \
        daemon.log_text()

    g = scalars(snmp)
    assert g["mvpnPeRowsReclaimed"] == 2
    assert g["mvpnStateLimitDrops"] == 2
    pes = {addr: row for (_, addr), row in snmp_rows(snmp, "mvpnPeTable", "ua").items()}
    assert sorted(pes) == sorted([pe(1), pe(30), pe(31)])
    changes = [(row["mvpnChangeKind"], addr_text(1, row["mvpnChangePe"]))
               for row in snmp_rows(snmp, "mvpnChangeTable", "u").values()]
    reclaimed = [a for kind, a in changes if kind == 14]
    assert reclaimed == [pe(20), pe(21)], changes
    # Each reclaim is logged just before the new PE comes up (peUp = 1).
    for gone, new in ((pe(20), pe(30)), (pe(21), pe(31))):
        i = changes.index((14, gone))
        assert changes[i + 1] == (1, new), changes
