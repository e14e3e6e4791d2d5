"""Live capture: tcpreplay plays a fixture onto a veth in one namespace, mvpnmond
captures with -i in another, and the tables equal what -r gives for the same
packets."""
import os
import shutil
import struct

import pytest

from conftest import EVENT_TIMEOUT, Daemon, FIXTURES, scalars, snmp_rows, wait_for

SECONDS = 20  # the first 20 s of passive.pcap: Hellos, a join, data; no timer runs out


def cut_capture(src, dst, seconds):
    """Copies the frames of a classic pcap file that fall in its first `seconds`."""
    with open(src, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    assert magic in (0xa1b2c3d4, 0xa1b23c4d), "little-endian pcap expected"
    scale = 1e-6 if magic == 0xa1b2c3d4 else 1e-9
    out, off, start, kept = [data[:24]], 24, None, 0
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        t = sec + frac * scale
        start = t if start is None else start
        if t - start < seconds:
            out.append(data[off:off + 16 + incl])
            kept += 1
        off += 16 + incl
    with open(dst, "wb") as f:
        f.write(b"".join(out))
    return kept


def snapshot(snmp):
    """What must not depend on live or offline: counters, PEs and joins (no times)."""
    g = scalars(snmp)
    vpns = {k: {c: v for c, v in row.items() if not c.startswith("mvpnVpnLastChange")}
            for k, row in snmp_rows(snmp, "mvpnVpnTable", "u").items()}
    pes = {k: (row["mvpnPeStatus"], row["mvpnPeHellos"], row["mvpnPeGenerationId"],
               row["mvpnPeRestarts"], row["mvpnPeStateChanges"])
           for k, row in snmp_rows(snmp, "mvpnPeTable", "ua").items()}
    joins = {k: (row["mvpnCGroupPeState"], row["mvpnCGroupPeOther"], row["mvpnCGroupPeJoiners"])
             for k, row in snmp_rows(snmp, "mvpnCGroupPeTable", "uaauau").items()}
    counters = {k: g[k] for k in ("mvpnPacketsSeen", "mvpnControlPackets", "mvpnMalformedPackets",
                                  "mvpnDataPacketsDiscarded", "mvpnUnknownMdtPackets",
                                  "mvpnStateRefreshes", "mvpnStateChanges")}
    return counters, vpns, pes, joins


@pytest.mark.skipif(shutil.which("tcpreplay") is None, reason="tcpreplay is not installed")
def test_live_capture_matches_the_offline_replay(tmp_path, master, snmp, wire):
    cut = str(tmp_path / "first20s.pcap")
    frames = cut_capture(os.path.join(FIXTURES, "passive.pcap"), cut, SECONDS)
    assert frames > 50

    os.makedirs(tmp_path / "offline")
    offline = Daemon(str(tmp_path / "offline"), master)
    shutil.copy(os.path.join(FIXTURES, "passive.conf"), offline.conf)
    offline.start("-r", cut)
    try:
        assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "finished", EVENT_TIMEOUT), \
            offline.log_text()
        want = snapshot(snmp)
    finally:
        offline.stop()
    assert want[0]["mvpnPacketsSeen"] == frames

    os.makedirs(tmp_path / "live")
    live = Daemon(str(tmp_path / "live"), master)
    shutil.copy(os.path.join(FIXTURES, "passive.conf"), live.conf)
    live.start("-i", wire["monitor_if"], netns=wire["monitor"])
    try:
        assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "running", EVENT_TIMEOUT), \
            live.log_text()
        assert snmp.get("mvpnCaptureSource.0") == f'interface:{wire["monitor_if"]}'
        wire["player"].run("tcpreplay", "-q", "-t", "-i", wire["player_if"], cut)
        assert wait_for(lambda: scalars(snmp)["mvpnPacketsSeen"] == frames, EVENT_TIMEOUT), \
            live.log_text()
        assert snapshot(snmp) == want
    finally:
        live.stop()


def test_live_capture_joins_every_default_mdt_even_past_20(tmp_path, master, snmp, wire):
    """Linux holds at most 20 IPv4 memberships per socket by default
    (net.ipv4.igmp_max_memberships): 25 VPNs need more than one socket."""
    n = 25
    conf = "".join(f'vpn "v{i}" {{ index = {i}  default-mdt = "239.192.0.{i}" }}\n'
                   for i in range(1, n + 1))
    live = Daemon(str(tmp_path), master)
    live.write_config(conf)
    live.start("-i", wire["monitor_if"], netns=wire["monitor"])
    try:
        assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "running", EVENT_TIMEOUT), \
            live.log_text()
        igmp = wire["monitor"].run("cat", "/proc/net/igmp").stdout
        # The interface's block lists the groups joined on it, as hex in host order.
        block = igmp.split(wire["monitor_if"], 1)[1].split("\n")
        groups = set()
        for line in block[1:]:
            fields = line.split()
            if len(fields) < 4 or not all(c in "0123456789ABCDEF" for c in fields[0]):
                break
            groups.add(".".join(str(b) for b in bytes.fromhex(fields[0])[::-1]))
        assert {f"239.192.0.{i}" for i in range(1, n + 1)} <= groups, igmp
        assert "cannot join" not in live.log_text()
    finally:
        live.stop()
