"""The benchmark's capture generator (tests/bench/gen_capture.c) held against
tshark, an independent decoder, on small files: what the benchmarks replay
must be the traffic they claim it is, or their figures mean nothing.

Passive: every frame is GRE from one of its VPN's PEs to that VPN's default
MDT with good IPv4 checksums (outer and inner); every 20th is C-PIM with a
good checksum (Hellos: hold time 105, DR priority 1, a generation ID;
Join/Prunes: one (S,G) join towards a PE of the same VPN, hold time 210);
the rest UDP customer data; the counts are the generator's own .expect.
Probes: every frame is GRE from a PE to the monitor carrying a UDP probe to
the VPN's group and port 5010 with a good UDP checksum, whose header (magic,
version, VPN, sequence, send time, sender) and arrival time are what the
plan says (recomputed here, not taken from the C code).  Then the engines
read both files and must find exactly that (the benches' own checks).
"""
import ipaddress
import os
import shutil
import struct
import subprocess

import pytest

from conftest import TOP, run_tshark

BENCH = os.path.join(TOP, "build", "bench")
GEN = os.path.join(BENCH, "gen_capture")
T0_NS = 1767225600 * 10**9

needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")


def tshark(path, fields, *extra):
    cmd = ["tshark", "-n", "-r", path, "-o", "ip.check_checksum:TRUE",
           "-o", "udp.check_checksum:TRUE", *extra, "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=\t"]
    for f in fields:
        cmd += ["-e", f]
    out = run_tshark(cmd)
    assert out.returncode == 0, out.stderr
    return [dict(zip(fields, line.split("\t"))) for line in out.stdout.splitlines()]


def plan_mdt(v):
    return str(ipaddress.ip_address(0xEFC00000 + v + 1))


def plan_pe(v, k):
    return str(ipaddress.ip_address(0xC6120000 + (13 * v + 7 * k) % 4096 + 1))


def expect(path):
    with open(path + ".expect") as f:
        return {k: int(v) for k, v in (line.strip().split("=") for line in f)}


@needs_tshark
def test_passive_capture_is_what_it_claims(tmp_path):
    vpns, pes, cgroups, packets = 10, 4, 3, 4000
    pcap, conf = str(tmp_path / "p.pcap"), str(tmp_path / "p.conf")
    subprocess.run([GEN, "passive", pcap, conf, str(packets), str(vpns), str(pes), str(cgroups)],
                   check=True)
    want = expect(pcap)
    pe_of = {plan_mdt(v): {plan_pe(v, k) for k in range(pes)} for v in range(vpns)}
    conf_text = open(conf).read()
    for v in range(vpns):
        assert f'default-mdt = "{plan_mdt(v)}"' in conf_text
    rows = tshark(pcap, ["frame.number", "ip.src", "ip.dst", "ip.checksum.status", "gre.proto",
                         "pim.type", "pim.cksum.status", "pim.holdtime", "pim.dr_priority",
                         "pim.generation_id", "pim.upstream_neighbor", "pim.group",
                         "pim.numjoins", "pim.numprunes", "pim.join_ip", "udp.dstport"])
    assert len(rows) == packets == want["packets"]
    hellos = joins = data = 0
    for r in rows:
        outer_src, inner_src = r["ip.src"].split("|")
        mdt, inner_dst = r["ip.dst"].split("|")
        assert r["ip.checksum.status"] == "1|1", r          # good, both headers
        assert r["gre.proto"] == "0x0800", r
        assert outer_src in pe_of[mdt], r                   # a PE of the MDT's VPN
        control = (int(r["frame.number"]) - 1) % 20 == 0
        assert bool(r["pim.type"]) == control, r
        if r["pim.type"] == "0":
            hellos += 1
            assert (inner_src, inner_dst) == (outer_src, "224.0.0.13")
            assert r["pim.cksum.status"] == "1", r
            assert (r["pim.holdtime"], r["pim.dr_priority"]) == ("105", "1"), r
            assert r["pim.generation_id"], r
        elif r["pim.type"] == "3":
            joins += 1
            assert r["pim.cksum.status"] == "1", r
            assert r["pim.holdtime"] == "210", r
            assert r["pim.upstream_neighbor"] in pe_of[mdt] - {outer_src}, r
            assert (r["pim.numjoins"], r["pim.numprunes"]) == ("1", "0"), r
            group = set(r["pim.group"].split("|"))  # tshark names it twice: field and address
            assert len(group) == 1, r
            assert ipaddress.ip_address(group.pop()) in ipaddress.ip_network("233.252.0.0/24")
            assert ipaddress.ip_address(r["pim.join_ip"]) in ipaddress.ip_network("192.0.2.0/24")
        else:
            data += 1
            assert r["udp.dstport"] == "5001", r
            assert ipaddress.ip_address(inner_dst) in ipaddress.ip_network("233.252.0.0/24")
    assert (hellos, joins, data) == (want["hellos"], want["joins"], want["data"])
    # The engine reads the same file and must hold what the generator says.
    out = subprocess.run([os.path.join(BENCH, "bench_replay"), "engine", pcap, str(vpns), str(pes)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


@needs_tshark
def test_probe_capture_is_what_it_claims(tmp_path):
    vpns, pes, rate, frames = 2, 4, 100, 300
    pcap = str(tmp_path / "q.pcap")
    subprocess.run([GEN, "probe", pcap, str(frames), str(vpns), str(pes), str(rate)], check=True)
    rows = tshark(pcap, ["frame.time_epoch", "ip.src", "ip.dst", "ip.checksum.status", "gre.proto",
                         "udp.srcport", "udp.dstport", "udp.checksum.status", "udp.length",
                         "data.data"])
    assert len(rows) == frames
    slot = 10**9 // rate // (vpns * pes)
    seen = set()
    for r in rows:
        outer_src, inner_src = r["ip.src"].split("|")
        outer_dst, group = r["ip.dst"].split("|")
        assert r["ip.checksum.status"] == "1|1" and r["gre.proto"] == "0x0800", r
        assert (outer_dst, inner_src) == ("198.18.255.254", "198.18.255.254"), r
        assert (r["udp.srcport"], r["udp.dstport"], r["udp.length"]) == ("5010", "5010", "72"), r
        assert r["udp.checksum.status"] == "1", r
        payload = bytes.fromhex(r["data.data"])
        assert len(payload) == 64
        magic, version, family, _, vpn, seq, send_ns = struct.unpack_from("!IBBHIQQ", payload)
        sender = str(ipaddress.ip_address(payload[28:32]))
        assert (magic, version, family) == (0x4D565062, 1, 1)
        assert payload[32:] == bytes(32)
        v = vpn - 1
        assert group == plan_mdt(v)
        # 198.19.v.(k+1): sender k, receiver j (the outer source), never itself.
        k, j = int(sender.split(".")[3]) - 1, int(outer_src.split(".")[3]) - 1
        assert sender.startswith(f"198.19.{v}.") and outer_src.startswith(f"198.19.{v}.")
        assert k != j
        assert send_ns == T0_NS + (seq - 1) * (10**9 // rate) + (v * pes + k) * slot
        arrival = send_ns + 10**6 + (j + 1) * slot // (pes + 1)
        sec, _, frac = r["frame.time_epoch"].partition(".")
        assert int(sec) * 10**9 + int(frac.ljust(9, "0")) == arrival, r
        assert (v, k, j, seq) not in seen
        seen.add((v, k, j, seq))
    out = subprocess.run([os.path.join(BENCH, "bench_probe"), "engine", pcap, str(vpns), str(pes),
                          str(rate)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
