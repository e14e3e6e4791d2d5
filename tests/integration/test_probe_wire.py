"""probe/wire.c held against two encoders and a decoder that are not ours.

- scapy (tests/fixtures/gen_probe_fixtures.py) wrote the exact bytes the builders must
  produce for a list of cases: build/tools/probe_wire_dump build must print the same.
- scapy also wrote probe_rx.pcap, the frames a monitor receives back from PEs, and said
  for each what tunnel_rx_parse must make of it: probe_wire_dump parse must agree.
- tshark reads the same capture, and the packets our builders write: it must find the
  same IGMP types, groups, versions and Max Resp Times and the same ICMP identifiers and
  sequence numbers, good checksums where we write or accept them, and something wrong
  with the frames the generator broke where tshark is able to tell.
- The generator regenerates the committed files byte for byte.
"""
import filecmp
import functools
import json
import os
import shutil
import struct
import subprocess

import pytest

from conftest import BUILD, FIXTURES, SANITIZED, TOP, memcheck, run_tshark

DUMP = os.path.join(BUILD, "tools", "probe_wire_dump")
GENERATOR = os.path.join(FIXTURES, "gen_probe_fixtures.py")
PCAP = os.path.join(FIXTURES, "probe_rx.pcap")
EXPECTED = os.path.join(FIXTURES, "probe_rx.expected.json")
GENERATED = ["probe_rx.pcap", "probe_rx.expected.json"]

TSHARK_PREFS = ["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"]
TSHARK_FIELDS = ["frame.number", "igmp.type", "igmp.version", "igmp.maddr", "igmp.max_resp",
                 "igmp.num_src", "igmp.checksum.status", "igmp.record_type", "igmp.num_grp_recs",
                 "icmp.type", "icmp.ident", "icmp.seq", "icmp.checksum.status",
                 "ip.checksum.status", "udp.checksum.status", "ip.ttl", "ip.dsfield",
                 "ip.opt.ra", "ip.dst", "udp.dstport", "_ws.malformed"]
CKSUM_BAD = "0"
CKSUM_GOOD = "1"
LINKTYPE_RAW = 101

needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")


@functools.lru_cache(maxsize=None)
def expected():
    with open(EXPECTED) as f:
        return json.load(f)


def build_line(case, **extra):
    params = dict(case["params"], **extra)
    return case["builder"] + " " + " ".join(f"{k}={v}" for k, v in params.items())


def run_builds(lines):
    out = subprocess.run([DUMP, "build"], input="".join(l + "\n" for l in lines),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = out.stdout.splitlines()
    assert len(result) == len(lines), out.stdout
    return result


@functools.lru_cache(maxsize=None)
def our_builds():
    return tuple(run_builds([build_line(c) for c in expected()["builds"]]))


@functools.lru_cache(maxsize=None)
def our_frames():
    """frame number -> the key=value words probe_wire_dump parse printed for it."""
    port = str(expected()["probe_port"])
    out = subprocess.run([DUMP, "parse", "--port", port, PCAP], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    frames = {}
    for line in out.stdout.splitlines():
        words = dict(w.split("=", 1) for w in line.split())
        frame = int(words.pop("frame"))
        assert frame not in frames, f"two lines for frame {frame}"
        frames[frame] = words
    return frames


def tshark(path):
    """frame number -> field -> list of values (one per occurrence, outermost first)."""
    cmd = ["tshark", "-n", "-r", path, *TSHARK_PREFS, "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=\t"]
    for f in TSHARK_FIELDS:
        cmd += ["-e", f]
    out = run_tshark(cmd, timeout=60)
    assert out.returncode == 0, out.stderr
    frames = {}
    for line in out.stdout.splitlines():
        cols = line.split("\t")
        assert len(cols) == len(TSHARK_FIELDS), line
        row = {f: (c.split("|") if c else []) for f, c in zip(TSHARK_FIELDS, cols)}
        frames[int(row["frame.number"][0])] = row
    return frames


@functools.lru_cache(maxsize=None)
def tshark_rx():
    return tshark(PCAP)


def same_value(theirs, want):
    """tshark prints numbers in decimal or hex as the field's base says."""
    if isinstance(want, bool) or isinstance(want, str):
        return theirs == str(want)
    try:
        return int(theirs, 0) == want
    except ValueError:
        return False


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


# ---- the generator ----

def test_generator_regenerates_byte_for_byte(tmp_path):
    subprocess.run(["/usr/bin/python3", GENERATOR, str(tmp_path)], check=True,
                   capture_output=True, timeout=120)
    for name in GENERATED:
        assert filecmp.cmp(os.path.join(FIXTURES, name), tmp_path / name, shallow=False), name


def test_fixtures_cover_every_kind_and_refusal():
    """The comparisons below are only worth what the fixtures hold: every kind the
    reader returns, every probe error, every IGMP version, the refusals, and builder
    cases of every message."""
    frames = expected()["frames"]
    kinds = {f["expect"].get("kind") for f in frames if "error" not in f["expect"]}
    assert kinds == {"probe", "echo-reply", "igmp-query", "other"}
    assert {f["expect"].get("probe") for f in frames} >= {
        "ok", "truncated", "bad-magic", "bad-version", "bad-family"}
    assert {f["expect"].get("version") for f in frames} >= {"1", "2", "3"}
    assert {f["expect"].get("error") for f in frames} >= {
        "truncated", "bad-version", "bad-length", "bad-checksum", "bad-address", "unsupported"}
    assert {f["expect"]["maxresp"] for f in frames if f["expect"].get("version") == "3"} >= {
        "10000", "12800", "3174400"}
    builds = expected()["builds"]
    assert {c["params"].get("kind") for c in builds if c["builder"] == "igmp"} == {
        "v2-report", "v2-leave", "v3-join", "v3-leave", "v3-current"}
    assert {c["builder"] for c in builds} == {"probe", "igmp", "echo"}
    assert {":" in c["params"].get("sender", "") for c in builds if c["builder"] == "probe"} == {
        True, False}
    assert any("stamp" in c["params"] for c in builds)


# ---- the builders against scapy ----

def test_builders_write_what_scapy_writes():
    problems = []
    for case, ours in zip(expected()["builds"], our_builds()):
        if ours != case["hex"]:
            want, got = bytes.fromhex(case["hex"]), bytes.fromhex(ours) if ours != "0" else b""
            at = first_difference(want, got)
            problems.append(f"{case['name']}: {len(got)} bytes, scapy {len(want)}; first "
                            f"difference at byte {at}: ours {got[at:at + 8].hex()} "
                            f"scapy {want[at:at + 8].hex()}")
    assert not problems, "\n".join(problems)


def test_builders_need_exactly_the_packet_size():
    cases = expected()["builds"]
    lines = []
    for c in cases:
        size = len(bytes.fromhex(c["hex"]))
        lines += [build_line(c, cap=size - 1), build_line(c, cap=size)]
    result = run_builds(lines)
    for i, c in enumerate(cases):
        assert result[2 * i] == "0", f"{c['name']}: built into a buffer one byte short"
        assert result[2 * i + 1] == c["hex"], f"{c['name']}: not built into an exact buffer"


# ---- the reader against the generator ----

def test_reader_says_what_the_generator_expects():
    ours = our_frames()
    frames = expected()["frames"]
    assert sorted(ours) == [f["frame"] for f in frames]
    problems = [f"frame {f['frame']} ({f['name']}): ours {ours[f['frame']]}, "
                f"expected {f['expect']}"
                for f in frames if ours[f["frame"]] != f["expect"]]
    assert not problems, "\n".join(problems)


# ---- tshark ----

@needs_tshark
def test_tshark_sees_what_the_generator_built():
    theirs = tshark_rx()
    problems = []
    checked = 0
    for f in expected()["frames"]:
        for field, want in (f["tshark"] or {}).items():
            t = theirs[f["frame"]]
            if field == "malformed":
                ok = bool(t["_ws.malformed"]) == want
                got = t["_ws.malformed"]
            elif isinstance(want, list):
                got = t[field]
                ok = len(got) == len(want) and all(map(same_value, got, want))
            else:
                got = t[field]
                ok = len(got) == 1 and same_value(got[0], want)
            checked += 1
            if not ok:
                problems.append(f"frame {f['frame']} ({f['name']}): tshark {field}={got}, "
                                f"generator says {want}")
    assert not problems, "\n".join(problems)
    assert checked >= 60


@needs_tshark
def test_tshark_agrees_with_our_reader_on_queries_and_echo_replies():
    theirs = tshark_rx()
    compared = {"igmp-query": 0, "echo-reply": 0}
    problems = []
    for frame, ours in our_frames().items():
        t = theirs[frame]
        kind = ours.get("kind")
        if "error" in ours or kind not in compared:
            continue
        compared[kind] += 1
        if kind == "igmp-query":
            pairs = [("version", ours["version"], t["igmp.version"]),
                     ("group", ours["group"], t["igmp.maddr"]),
                     ("type", "0x11", t["igmp.type"])]
            if ours["version"] != "1":  # tshark shows no Max Resp Time for IGMPv1
                pairs.append(("maxresp", ours["maxresp"],
                              [str(int(v) * 100) for v in t["igmp.max_resp"]]))
        else:
            pairs = [("ident", ours["ident"], t["icmp.ident"]),
                     ("seq", ours["seq"], t["icmp.seq"]), ("type", "0", t["icmp.type"])]
        for what, mine, tv in pairs:
            if tv != [mine]:
                problems.append(f"frame {frame}: {what} ours {mine}, tshark {tv}")
    assert not problems, "\n".join(problems)
    assert compared["igmp-query"] >= 8 and compared["echo-reply"] >= 2, compared


@needs_tshark
def test_tshark_finds_nothing_wrong_with_the_valid_frames():
    theirs = tshark_rx()
    problems = []
    for f in expected()["frames"]:
        if f["malformed"]:
            continue
        t = theirs[f["frame"]]
        statuses = (t["ip.checksum.status"] + t["udp.checksum.status"]
                    + t["igmp.checksum.status"] + t["icmp.checksum.status"])
        if t["_ws.malformed"] or CKSUM_BAD in statuses:
            problems.append(f"frame {f['frame']} ({f['name']}): tshark objects: {t}")
    assert not problems, "\n".join(problems)


def write_raw_pcap(path, packets):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_RAW))
        for i, p in enumerate(packets):
            f.write(struct.pack("<IIII", 1767225600 + i, 0, len(p), len(p)))
            f.write(p)


@needs_tshark
def test_tshark_reads_the_packets_we_build(tmp_path):
    """A third opinion on the builders' bytes: every checksum good (both IPv4 headers,
    UDP, IGMP, ICMP), the IGMP messages as RFC 2236/3376 want them (TTL 1, Router
    Alert, TOS 0xc0 for v3), nothing malformed."""
    cases = expected()["builds"]
    path = str(tmp_path / "built.pcap")
    write_raw_pcap(path, [bytes.fromhex(h) for h in our_builds()])
    theirs = tshark(path)
    problems = []
    for i, c in enumerate(cases):
        t = theirs[i + 1]
        p = c["params"]

        def want(field, values):
            if t[field] != values:
                problems.append(f"{c['name']}: tshark {field}={t[field]}, want {values}")

        want("ip.checksum.status", [CKSUM_GOOD, CKSUM_GOOD])
        want("_ws.malformed", [])
        if c["builder"] == "probe":
            want("udp.checksum.status", [CKSUM_GOOD])
            want("udp.dstport", [str(p["port"])])
            want("ip.ttl", ["64", str(p["ttl"])])
            want("ip.dst", [p["remote"], p["group"]])
        elif c["builder"] == "echo":
            want("icmp.checksum.status", [CKSUM_GOOD])
            want("icmp.type", ["8"])
            want("icmp.ident", [str(p["ident"])])
            want("icmp.seq", [str(p["seq"])])
            want("ip.dst", [p["remote"], p["remote"]])
        else:
            groups = p["groups"].split(",")
            v3 = p["kind"].startswith("v3")
            want("igmp.checksum.status", [CKSUM_GOOD])
            want("ip.ttl", ["64", "1"])
            want("ip.dsfield", ["0x00", "0xc0"])
            if not t["ip.opt.ra"]:
                problems.append(f"{c['name']}: tshark sees no Router Alert option")
            if v3:
                want("igmp.type", ["0x22"])
                want("igmp.num_grp_recs", [str(len(groups))])
                want("igmp.maddr", groups)
                record = {"v3-join": "4", "v3-leave": "3", "v3-current": "2"}[p["kind"]]
                want("igmp.record_type", [record] * len(groups))
                want("ip.dst", [p["remote"], "224.0.0.22"])
            else:
                report = p["kind"] == "v2-report"
                want("igmp.type", ["0x16" if report else "0x17"])
                want("igmp.maddr", groups[:1])
                want("ip.dst", [p["remote"], groups[0] if report else "224.0.0.2"])
    assert not problems, "\n".join(problems)


# ---- real captures ----

CAPTURES = os.path.join(TOP, "..", "shared", "captures", "tcpdump-tests")
IGMP_CAPTURES = ["IGMP_V1.pcap", "IGMP_V2.pcap", "igmpv3-queries.pcap", "mtrace.pcap"]
GRE_CAPTURES = ["gre-heapoverflow-1.pcap", "gre-heapoverflow-2.pcap", "various_gre.pcap"]
needs_captures = pytest.mark.skipif(not os.path.isdir(CAPTURES), reason="tcpdump captures absent")


def tunnel_real_igmp(path, out):
    """Every IPv4 IGMP packet of a real capture (tcpdump's tests), byte for byte, put
    into GRE from a PE to the monitor, as it would reach us through a tunnel."""
    from scapy.all import Ether, IP, Raw, rdpcap, raw, wrpcap
    from scapy.layers.l2 import GRE

    wrapped = []
    for pkt in rdpcap(path):
        if IP in pkt and pkt[IP].proto == 2:
            inner = raw(pkt[IP])[:pkt[IP].len]  # without the Ethernet padding
            wrapped.append(Ether(src="02:00:00:00:00:fe", dst="02:00:00:00:00:64")
                           / IP(src="198.18.0.1", dst="198.18.0.100", proto=47)
                           / GRE(proto=0x0800) / Raw(inner))
    assert wrapped, path
    wrpcap(out, wrapped)
    return len(wrapped)


@needs_tshark
@needs_captures
def test_real_igmp_through_a_tunnel_reads_as_tshark_reads_it(tmp_path):
    """Queries from real routers (IGMPv1, v2, and v3 with Max Resp Codes above 128)
    read as tshark reads them; every other IGMP message is not a query."""
    problems = []
    queries = {1: 0, 2: 0, 3: 0}
    for name in IGMP_CAPTURES:
        path = str(tmp_path / name)
        n = tunnel_real_igmp(os.path.join(CAPTURES, name), path)
        out = subprocess.run([DUMP, "parse", path], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        ours = [dict(w.split("=", 1) for w in line.split()) for line in out.stdout.splitlines()]
        theirs = tshark(path)
        assert len(ours) == n == len(theirs)
        for mine in ours:
            frame = int(mine["frame"])
            t = theirs[frame]
            if t["igmp.type"] != ["0x11"]:
                if mine.get("kind") != "other" or "error" in mine:
                    problems.append(f"{name} frame {frame}: type {t['igmp.type']}, ours {mine}")
                continue
            version = int(t["igmp.version"][0])
            want = {"kind": "igmp-query", "version": str(version), "group": t["igmp.maddr"][0],
                    "maxresp": str(int(t["igmp.max_resp"][0]) * 100) if version > 1 else "10000"}
            got = {k: mine.get(k) for k in want}
            if got != want:
                problems.append(f"{name} frame {frame}: ours {got}, tshark {want}")
            queries[version] += 1
    assert not problems, "\n".join(problems)
    assert all(queries.values()), queries


@pytest.mark.skipif(shutil.which("valgrind") is None and not SANITIZED,
                    reason="valgrind not installed")
@pytest.mark.parametrize("path", [PCAP] + [os.path.join(CAPTURES, c) for c in GRE_CAPTURES],
                         ids=os.path.basename)
def test_reader_stays_in_bounds(path):
    if not os.path.exists(path):
        pytest.skip(f"{path} absent")
    out = subprocess.run(memcheck([DUMP, "parse", path]), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
