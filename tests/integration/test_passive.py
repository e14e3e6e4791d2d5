"""The passive engine end to end: mvpnmond replays captures written by an
independent encoder (tests/fixtures/gen_fixtures.py, scapy) behind a private
snmpd, and the MIB tables must say exactly what the generator's own model of
the scenario says (tests/fixtures/*.expected.json)."""
import ipaddress
import json
import math
import os
import shutil

import pytest

from conftest import (EVENT_TIMEOUT, FIXTURES, addr_text, scalars, serving, snmp_rows,
                      wait_for)
from test_timestamps import date_bytes

PE_STATUS = {1: "active", 2: "missing", 3: "unexpected", 4: "departed"}
KIND = {1: "starg", 2: "sg", 3: "sgrpt"}
ROLE = {1: "downstream", 2: "upstream"}
STATE = {1: "joined", 2: "pruned"}
MDT = {1: "default", 2: "data"}
CONFIG_STATUS = {1: "pending", 2: "match", 3: "mismatch"}
CHANGE = {1: "peUp", 2: "peDown", 3: "peRestart", 4: "peChange", 5: "join", 6: "prune",
          7: "expiry", 8: "dataMdtUp", 9: "dataMdtSwitch", 10: "dataMdtDown", 14: "peReclaimed"}


def fixture(name):
    with open(os.path.join(FIXTURES, name + ".expected.json")) as f:
        return json.load(f)


def replay(daemon, snmp, name, conf=None):
    """Starts mvpnmond on tests/fixtures/<name>.pcap and waits for the end of the file."""
    shutil.copy(os.path.join(FIXTURES, (conf or name) + ".conf"), daemon.conf)
    daemon.start("-r", os.path.join(FIXTURES, name + ".pcap"))
    assert wait_for(lambda: serving(snmp), EVENT_TIMEOUT), daemon.log_text()
    assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "finished", EVENT_TIMEOUT), \
        daemon.log_text()
    return fixture(name)


def date(t):
    """A replay's TimeStamps are 0 (RFC 2579: its packets came before any
    master could know of them); its times are in the DateAndTime beside each,
    the capture's own, to the tenth of a second."""
    return date_bytes(t)


def seconds_left(expected, t):
    return max(0, math.ceil(round(t - expected["t_end"], 3)))


def addr(row, column):
    return addr_text(row[column + "Type"], row[column])


@pytest.fixture
def passive(daemon, snmp):
    return replay(daemon, snmp, "passive")


def test_global_counters_match_the_scenario(passive, snmp):
    g = scalars(snmp)
    assert g["mvpnPacketsSeen"] == passive["packets_seen"]
    assert g["mvpnControlPackets"] == passive["control"]
    assert g["mvpnDataPacketsDiscarded"] == passive["data"]
    assert g["mvpnMalformedPackets"] == 0
    assert g["mvpnUnknownMdtPackets"] == passive["unknown_mdt"]
    assert g["mvpnStateRefreshes"] == passive["refreshes"]
    assert g["mvpnStateChanges"] == passive["state_changes"]
    assert g["mvpnChangeLogEntries"] == len(passive["changes"])
    assert g["mvpnCaptureSource"].decode().endswith("tests/fixtures/passive.pcap")
    assert g["mvpnCaptureSource"].decode().startswith("file:")


def test_vpn_rows_count_pes_flows_and_packets(passive, snmp):
    rows = snmp_rows(snmp, "mvpnVpnTable", "u")
    for want in passive["vpns"]:
        got = rows[(want["index"],)]
        assert got["mvpnVpnName"].decode() == want["name"]
        assert (got["mvpnVpnExpectedPes"], got["mvpnVpnActivePes"], got["mvpnVpnMissingPes"],
                got["mvpnVpnUnexpectedPes"]) == (want["expected"], want["active"],
                                                 want["missing"], want["unexpected"]), want["name"]
        assert CONFIG_STATUS[got["mvpnVpnConfigStatus"]] == want["config_status"]
        assert got["mvpnVpnCGroups"] == want["cgroups"], want["name"]
        assert got["mvpnVpnDataMdts"] == want["data_mdts"], want["name"]
        assert (got["mvpnVpnPackets"], got["mvpnVpnControlPackets"],
                got["mvpnVpnDataPacketsDiscarded"], got["mvpnVpnMalformedPackets"]) == (
            want["packets"], want["control"], want["data"], want["malformed"]), want["name"]
        assert got["mvpnVpnStateRefreshes"] == want["refreshes"], want["name"]
        assert got["mvpnVpnStateChanges"] == want["state_changes"], want["name"]
        assert got["mvpnVpnLastChange"] == 0, want["name"]
        assert got["mvpnVpnLastChangeDate"] == date(want["last_change"]), want["name"]
        assert got["mvpnVpnPassiveStatus"] == 3  # active


def test_pe_table_lists_every_pe_expected_or_seen(passive, snmp):
    rows = snmp_rows(snmp, "mvpnPeTable", "ua")
    want = {(p["vpn"], p["pe"]): p for p in passive["pes"]}
    assert sorted(rows) == sorted(want)
    for key, p in want.items():
        got = rows[key]
        assert PE_STATUS[got["mvpnPeStatus"]] == p["status"], key
        assert got["mvpnPeExpected"] == (1 if p["expected"] else 2), key
        if not p.get("hellos"):
            assert got["mvpnPeFirstSeen"] == 0 and got["mvpnPeHellos"] == 0, key
            continue
        assert addr(got, "mvpnPeCAddr") == p["caddr"], key
        assert (got["mvpnPeFirstSeen"], got["mvpnPeLastHello"]) == (0, 0), key
        assert got["mvpnPeFirstSeenDate"] == date(p["first_seen"]), key
        assert got["mvpnPeLastHelloDate"] == date(p["last_hello"]), key
        assert got["mvpnPeHoldTime"] == p["holdtime"], key
        assert got["mvpnPeGenerationId"] == p["generation_id"], key
        assert got["mvpnPeDrPriority"] == p["dr_priority"], key
        assert (got["mvpnPeRestarts"], got["mvpnPeHellos"], got["mvpnPeJoinPrunes"],
                got["mvpnPeStateChanges"]) == (p["restarts"], p["hellos"], p["join_prunes"],
                                               p["state_changes"]), key
        left = seconds_left(passive, p["expires_at"]) if p["status"] in ("active", "unexpected") else 0
        assert got["mvpnPeExpiresIn"] == left, key


def test_pe_dates_are_the_capture_times(passive, snmp):
    rows = snmp_rows(snmp, "mvpnPeTable", "ua")
    first = rows[(1, "198.18.0.66")]["mvpnPeFirstSeenDate"]
    # 2026-01-01 00:01:35.0 UTC, the intruder's first Hello (t = 95.0)
    assert first == bytes([0x07, 0xEA, 1, 1, 0, 1, 35, 0, ord("+"), 0, 0])


def test_cgroup_pe_rows_give_both_ends_of_every_join(passive, snmp):
    rows = snmp_rows(snmp, "mvpnCGroupPeTable", "uaauau")
    got = {(v, g, s, KIND[k], pe, ROLE[r]): row for (v, g, s, k, pe, r), row in rows.items()}
    want = {(w["vpn"], w["group"], w["source"], w["kind"], w["pe"], w["role"]): w
            for w in passive["cgroup_pe"]}
    assert sorted(got) == sorted(want)
    for key, w in want.items():
        row = got[key]
        assert STATE[row["mvpnCGroupPeState"]] == w["state"], key
        assert addr(row, "mvpnCGroupPeOther") == w["other"], key
        assert row["mvpnCGroupPeJoiners"] == w["joiners"], key
        assert addr(row, "mvpnCGroupPeRp") == w["rp"], key
        assert addr(row, "mvpnCGroupPePGroup") == w["pgroup"], key
        assert row["mvpnCGroupPeHoldTime"] == w["holdtime"], key
        assert row["mvpnCGroupPeExpiresIn"] == seconds_left(passive, w["expires_at"]), key
        assert (row["mvpnCGroupPeFirstSeen"], row["mvpnCGroupPeLastRefresh"]) == (0, 0), key
        assert row["mvpnCGroupPeFirstSeenDate"] == date(w["first_seen"]), key
        assert row["mvpnCGroupPeLastRefreshDate"] == date(w["last_refresh"]), key
        if "refreshes" in w:
            assert row["mvpnCGroupPeRefreshes"] == w["refreshes"], key


def test_cgroup_pgroup_rows_map_flows_to_provider_groups(passive, snmp):
    rows = snmp_rows(snmp, "mvpnCGroupPGroupTable", "uaa")
    want = {(w["vpn"], w["group"], w["source"]): w for w in passive["cgroup_pgroup"]}
    assert sorted(rows) == sorted(want)
    for key, w in want.items():
        row = rows[key]
        assert MDT[row["mvpnCGroupPGroupMdtType"]] == w["mdt"], key
        assert addr(row, "mvpnCGroupPGroupPGroup") == w["pgroup"], key
        if w["mdt"] == "data":
            assert addr(row, "mvpnCGroupPGroupPe") == w["pe"], key
            assert row["mvpnCGroupPGroupAnnouncements"] == w["announcements"], key
            assert row["mvpnCGroupPGroupSwitches"] == w["switches"], key
            assert row["mvpnCGroupPGroupExpiresIn"] == seconds_left(passive, w["expires_at"]), key
            assert row["mvpnCGroupPGroupLastAnnounced"] == 0, key
            assert row["mvpnCGroupPGroupLastAnnouncedDate"] == date(w["last_announced"]), key
        else:
            assert row["mvpnCGroupPGroupExpiresIn"] == 0, key
        assert (row["mvpnCGroupPGroupTunnelType"], row["mvpnCGroupPGroupTunnelId"]) == \
            pim_tunnel(w["pgroup"], w["pe"] if w["mdt"] == "data" else None), key


def pim_tunnel(pgroup, sender):
    """RFC 8502's type and identifier of a PIM P-tunnel (RFC 6514 5): PIM-SSM
    (3) in RFC 4607's ranges, PIM-SM (4) elsewhere; sender then group, the
    sender unspecified on the default MDT, where any PE sends."""
    group = ipaddress.ip_address(pgroup)
    ssm = (group in ipaddress.ip_network("232.0.0.0/8") if group.version == 4 else
           group.packed[:4] == bytes([0xff, 0x30 | (group.packed[1] & 0x0f), 0, 0]))
    sender = ipaddress.ip_address(sender).packed if sender else bytes(len(group.packed))
    return (3 if ssm else 4), sender + group.packed


def test_change_table_is_the_history_in_order(passive, snmp):
    rows = snmp_rows(snmp, "mvpnChangeTable", "u")
    assert [i for (i,) in rows] == list(range(1, len(rows) + 1))
    got = [(row["mvpnChangeTime"], row["mvpnChangeDate"], row["mvpnChangeVpnIndex"],
            CHANGE[row["mvpnChangeKind"]],
            addr(row, "mvpnChangePe"), addr(row, "mvpnChangeCGroup"),
            addr(row, "mvpnChangeCSource"), addr(row, "mvpnChangePGroup"))
           for row in rows.values()]
    want = [(0, date(c["time"]), c["vpn"], c["kind"], c["pe"], c["group"], c["source"],
             c["pgroup"]) for c in passive["changes"]]
    assert got == want
    # The previous record is kept: the restart of .2 shows both generation IDs.
    restart = next(r for r in rows.values() if r["mvpnChangeKind"] == 3)
    assert restart["mvpnChangePrevious"].startswith(b"hold 105s genid 0x")
    assert restart["mvpnChangeNew"] != restart["mvpnChangePrevious"]


def test_malformed_packets_are_counted_and_create_no_state(daemon, snmp):
    want = replay(daemon, snmp, "malformed")
    g = scalars(snmp)
    assert g["mvpnMalformedPackets"] == want["malformed"]
    assert g["mvpnPacketsSeen"] == want["packets_seen"]
    vpn = snmp_rows(snmp, "mvpnVpnTable", "u")[(1,)]
    assert vpn["mvpnVpnMalformedPackets"] == want["malformed"]
    assert vpn["mvpnVpnControlPackets"] == want["vpns"][0]["control"]
    assert vpn["mvpnVpnStateRefreshes"] == want["vpns"][0]["refreshes"]
    pes = snmp_rows(snmp, "mvpnPeTable", "ua")
    assert list(pes) == [(1, "198.18.0.1")]
    assert pes[(1, "198.18.0.1")]["mvpnPeHellos"] == 3
    assert snmp_rows(snmp, "mvpnCGroupPeTable", "uaauau") == {}
    assert snmp_rows(snmp, "mvpnCGroupPGroupTable", "uaa") == {}
    assert daemon.proc.poll() is None


def relink(src, dst, linktype):
    """The fixture again under another link layer, re-encoded by scapy:
    what a capture taken on another kind of interface looks like."""
    import logging
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    from scapy.all import CookedLinux, Dot1Q, Ether, Raw, rdpcap
    from scapy.utils import PcapWriter
    out = PcapWriter(str(dst), linktype=linktype)
    for pkt in rdpcap(src):
        ip, ethertype = pkt[Ether].payload, pkt[Ether].type
        if linktype == 101:  # DLT_RAW: the IP packet alone
            frame = Raw(bytes(ip))
        elif linktype == 113:  # DLT_LINUX_SLL: "tcpdump -i any" before libpcap 1.10
            frame = CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6, src=b"\x02" + bytes(7),
                                proto=ethertype) / ip
        else:  # DLT_EN10MB behind an 802.1Q tag
            frame = Ether(src=pkt.src, dst=pkt.dst) / Dot1Q(vlan=100, type=ethertype) / ip
        frame.time = pkt.time
        out.write(frame)
    out.close()


def convert(kind, tmp_path):
    src = os.path.join(FIXTURES, "passive.pcap")
    dst = tmp_path / ("passive-" + kind + ".pcap")
    if kind == "pcapng":
        if shutil.which("editcap") is None:
            pytest.skip("editcap (tshark) is not installed")
        import subprocess
        subprocess.run(["editcap", "-F", "pcapng", src, str(dst)], check=True, capture_output=True)
    else:
        relink(src, dst, {"raw-ip": 101, "linux-sll": 113, "vlan": 1}[kind])
    return dst


@pytest.mark.parametrize("kind", ["pcapng", "raw-ip", "linux-sll", "vlan"])
def test_other_file_formats_and_link_layers_replay_alike(daemon, snmp, tmp_path, kind):
    capture = convert(kind, tmp_path)
    shutil.copy(os.path.join(FIXTURES, "passive.conf"), daemon.conf)
    daemon.start("-r", str(capture))
    assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "finished", EVENT_TIMEOUT), \
        daemon.log_text()
    want = fixture("passive")
    g = scalars(snmp)
    assert (g["mvpnPacketsSeen"], g["mvpnStateRefreshes"], g["mvpnStateChanges"]) == (
        want["packets_seen"], want["refreshes"], want["state_changes"])
    rows = snmp_rows(snmp, "mvpnCGroupPeTable", "uaauau")
    assert sorted((v, g_, s, KIND[k], pe, ROLE[r]) for (v, g_, s, k, pe, r) in rows) == sorted(
        (w["vpn"], w["group"], w["source"], w["kind"], w["pe"], w["role"]) for w in want["cgroup_pe"])
    assert len(snmp_rows(snmp, "mvpnCGroupPGroupTable", "uaa")) == len(want["cgroup_pgroup"])
