"""Frames that used to vanish without a count.  tests/fixtures/gen_frame_fixtures.py
(scapy) writes each case twice: as a monitor meets it (outer fragments, QinQ, a
cooked capture with 802.1Q, IPv6 extension headers before GRE, absurd capture
times) and plainly.  mvpnmond replays both; the rows must be the same, and what
it could not read must be counted where an operator sees it."""
import os
import shutil
import subprocess

import pytest

from conftest import EVENT_TIMEOUT, FIXTURES, Daemon, scalars, snmp_rows, wait_for

GEN = os.path.join(FIXTURES, "gen_frame_fixtures.py")
FRAME_COUNTERS = ("mvpnCaptureUnsupportedFrames", "mvpnFragmentsReassembled",
                  "mvpnFragmentTimeouts", "mvpnFragmentCapDrops", "mvpnFragmentsBad",
                  "mvpnFragmentDuplicates", "mvpnCaptureTimesClamped")
STATE_COUNTERS = ("mvpnControlPackets", "mvpnDataPacketsDiscarded", "mvpnMalformedPackets",
                  "mvpnUnknownMdtPackets", "mvpnStateRefreshes", "mvpnStateChanges")


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    out = tmp_path_factory.mktemp("frames")
    subprocess.run(["/usr/bin/python3", GEN, str(out)], check=True, capture_output=True,
                   timeout=600)
    return out


def state(snmp):
    """Everything the replay left: counters, and every row of the passive tables."""
    return dict(
        g=scalars(snmp),
        vpns=snmp_rows(snmp, "mvpnVpnTable", "u"),
        pes=snmp_rows(snmp, "mvpnPeTable", "ua"),
        joins=snmp_rows(snmp, "mvpnCGroupPeTable", "uaauau"),
        flows=snmp_rows(snmp, "mvpnCGroupPGroupTable", "uaa"),
        changes=snmp_rows(snmp, "mvpnChangeTable", "u"))


def replay(tmp_path, master, snmp, pcap, conf):
    """mvpnmond -r pcap to its end; what it then serves."""
    run = tmp_path / os.path.basename(pcap)
    os.makedirs(run)
    d = Daemon(str(run), master)
    shutil.copy(conf, d.conf)
    d.start("-r", str(pcap))
    try:
        assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "finished", EVENT_TIMEOUT), \
            d.log_text()
        return state(snmp)
    finally:
        d.stop()


def same_state(got, want, packets_differ=False):
    """The same rows and state counters; the frames counters are the test's to judge."""
    for k in ("pes", "joins", "flows", "changes"):
        assert got[k] == want[k], k
    vpns = {i: {c: v for c, v in r.items() if not (packets_differ and c == "mvpnVpnPackets")}
            for i, r in got["vpns"].items()}
    assert vpns == {i: {c: v for c, v in r.items()
                        if not (packets_differ and c == "mvpnVpnPackets")}
                    for i, r in want["vpns"].items()}
    for k in STATE_COUNTERS:
        assert got["g"][k] == want["g"][k], k


def counted(got, **want):
    """The frames counters: those named as given, every other one 0."""
    return {k: got["g"][k] for k in FRAME_COUNTERS} == {k: want.get(k, 0) for k in FRAME_COUNTERS}


@pytest.fixture
def run(frames, tmp_path, master, snmp):
    def go(name, conf=None):
        pcap = frames / name if (frames / name).exists() else os.path.join(FIXTURES, name)
        return replay(tmp_path, master, snmp, pcap, conf or frames / "frames.conf")
    return go


PASSIVE_CONF = os.path.join(FIXTURES, "passive.conf")


# ---- outer fragments ----

def test_a_fragmented_join_prune_gives_the_rows_of_the_whole_one(run):
    whole, frag = run("jp-v4.pcap"), run("jp-v4-frag.pcap")
    assert len(whole["joins"]) == 300  # 150 groups, the joiner's and the upstream's rows
    same_state(frag, whole)
    assert frag["g"]["mvpnPacketsSeen"] == 5 and whole["g"]["mvpnPacketsSeen"] == 3
    assert frag["vpns"][(1,)]["mvpnVpnPackets"] == 3  # datagrams, not fragments
    assert counted(frag, mvpnFragmentsReassembled=1)


def test_fragments_out_of_order_and_repeated_give_the_same_rows(run):
    whole, frag = run("jp-v4.pcap"), run("jp-v4-frag-shuffled.pcap")
    same_state(frag, whole)
    assert counted(frag, mvpnFragmentsReassembled=1, mvpnFragmentDuplicates=1)


def test_ipv6_fragments_give_the_rows_of_the_whole_packet(run):
    whole, frag = run("jp-v6.pcap"), run("jp-v6-frag.pcap")
    assert len(whole["joins"]) == 300
    same_state(frag, whole)
    assert counted(frag, mvpnFragmentsReassembled=1)


def test_a_lost_fragment_times_out_on_the_capture_clock(run):
    got = run("jp-v4-frag-lost.pcap")
    assert got["joins"] == {}
    assert counted(got, mvpnFragmentTimeouts=1)
    assert got["g"]["mvpnMalformedPackets"] == 0


def test_an_overlapping_fragment_abandons_the_datagram(run):
    got = run("jp-v4-frag-overlap.pcap")
    assert got["joins"] == {}
    # The forged copy abandons the first two; the last then waits alone.
    assert counted(got, mvpnFragmentsBad=1)


def test_inner_fragments_are_counted_as_unsupported(run):
    got = run("jp-v4-inner-frag.pcap")
    assert got["joins"] == {}
    assert counted(got, mvpnCaptureUnsupportedFrames=3)
    assert got["g"]["mvpnMalformedPackets"] == 0
    assert got["vpns"][(1,)]["mvpnVpnPackets"] == 5


# ---- link layers and outer extension headers ----

@pytest.mark.parametrize("name", ["passive-qinq.pcap", "passive-vlan-vlan.pcap",
                                  "passive-sll-vlan.pcap", "passive-sll2-vlan.pcap"])
def test_tagged_and_cooked_frames_give_the_rows_of_plain_ethernet(run, name):
    plain, got = run("passive.pcap", PASSIVE_CONF), run(name, PASSIVE_CONF)
    assert len(plain["pes"]) > 5
    same_state(got, plain)
    assert got["g"]["mvpnPacketsSeen"] == plain["g"]["mvpnPacketsSeen"] == 829
    assert counted(got)


def test_ipv6_extension_headers_before_gre_are_read(run):
    whole, ext = run("jp-v6.pcap"), run("jp-v6-destopts.pcap")
    same_state(ext, whole)
    assert counted(ext)


def test_a_raw_file_of_ethernet_frames_is_counted_as_unsupported(run):
    got = run("passive-raw-ethernet.pcap", PASSIVE_CONF)
    assert got["g"]["mvpnPacketsSeen"] == 829
    assert counted(got, mvpnCaptureUnsupportedFrames=829)
    assert got["g"]["mvpnMalformedPackets"] == 0
    assert got["joins"] == {} and all(r["mvpnPeHellos"] == 0 for r in got["pes"].values())


# ---- capture times ----

def test_a_record_dated_2554_is_clamped_and_wraps_nothing(run):
    plain, got = run("passive-2554-plain.pcapng", PASSIVE_CONF), \
        run("passive-2554.pcapng", PASSIVE_CONF)
    same_state(got, plain)
    assert counted(got, mvpnCaptureTimesClamped=1)
    years = {(r["mvpnChangeDate"][0] << 8) | r["mvpnChangeDate"][1]
             for r in got["changes"].values()}
    assert years == {2026}


def test_a_record_at_the_epoch_is_a_time_not_never(run):
    got = run("passive-epoch.pcapng", PASSIVE_CONF)
    assert counted(got, mvpnCaptureTimesClamped=1)
    first = got["pes"][(1, "198.18.0.1")]["mvpnPeFirstSeenDate"]
    assert first[:2] == bytes([1970 >> 8, 1970 & 0xff]) and first != bytes(8)


# ---- live: the kernel's filter must let them through ----

def live(tmp_path, master, snmp, wire, conf, pcaps, frames_sent):
    """mvpnmond -i on the monitor's end; tcpreplay plays the captures into it."""
    for ns, ifname in ((wire["player"], wire["player_if"]), (wire["monitor"], wire["monitor_if"])):
        ns.run("ip", "link", "set", "dev", ifname, "mtu", "9000")  # the whole 3 KB datagrams
    os.makedirs(tmp_path / "live")
    d = Daemon(str(tmp_path / "live"), master)
    shutil.copy(conf, d.conf)
    d.start("-i", wire["monitor_if"], netns=wire["monitor"])
    try:
        assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "running", EVENT_TIMEOUT), \
            d.log_text()
        for pcap in pcaps:
            wire["player"].run("tcpreplay", "-q", "-t", "-i", wire["player_if"], str(pcap))
        assert wait_for(lambda: scalars(snmp)["mvpnPacketsSeen"] == frames_sent, EVENT_TIMEOUT), \
            (scalars(snmp)["mvpnPacketsSeen"], d.log_text())
        return state(snmp)
    finally:
        d.stop()


@pytest.mark.skipif(shutil.which("tcpreplay") is None, reason="tcpreplay is not installed")
def test_live_fragments_and_extension_headers_pass_the_filter(frames, tmp_path, master, snmp,
                                                              wire):
    got = live(tmp_path, master, snmp, wire, frames / "frames.conf",
               [frames / "jp-v4-frag.pcap", frames / "jp-v6-frag.pcap",
                frames / "jp-v6-destopts.pcap"], 5 + 5 + 3)
    per_vpn = {}
    for (vpn, *_), row in got["joins"].items():
        per_vpn[vpn] = per_vpn.get(vpn, 0) + 1
    assert per_vpn == {1: 300, 2: 300}
    assert counted(got, mvpnFragmentsReassembled=2)
    assert got["g"]["mvpnMalformedPackets"] == 0


@pytest.mark.skipif(shutil.which("tcpreplay") is None, reason="tcpreplay is not installed")
def test_live_qinq_passes_the_filter(frames, tmp_path, master, snmp, wire):
    from test_live import SECONDS, cut_capture, snapshot
    os.makedirs(tmp_path / "cut")
    cut = str(tmp_path / "cut" / "qinq-first20s.pcap")
    n = cut_capture(str(frames / "passive-qinq.pcap"), cut, SECONDS)
    offline = replay(tmp_path, master, snmp, cut, PASSIVE_CONF)
    assert offline["g"]["mvpnPacketsSeen"] == n and len(offline["pes"]) > 5
    os.makedirs(tmp_path / "live")
    d = Daemon(str(tmp_path / "live"), master)
    shutil.copy(PASSIVE_CONF, d.conf)
    d.start("-i", wire["monitor_if"], netns=wire["monitor"])
    try:
        assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "running", EVENT_TIMEOUT), \
            d.log_text()
        want = None
        wire["player"].run("tcpreplay", "-q", "-t", "-i", wire["player_if"], cut)
        assert wait_for(lambda: scalars(snmp)["mvpnPacketsSeen"] == n, EVENT_TIMEOUT), \
            (n, scalars(snmp)["mvpnPacketsSeen"], d.log_text()[-300:])
        want = offline
        got = snapshot(snmp)
    finally:
        d.stop()
    pes = {k: (r["mvpnPeStatus"], r["mvpnPeHellos"], r["mvpnPeGenerationId"],
               r["mvpnPeRestarts"], r["mvpnPeStateChanges"]) for k, r in want["pes"].items()}
    joins = {k: (r["mvpnCGroupPeState"], r["mvpnCGroupPeOther"], r["mvpnCGroupPeJoiners"])
             for k, r in want["joins"].items()}
    assert got[2:] == (pes, joins)
