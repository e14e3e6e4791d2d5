"""Broken surroundings: a master agent killed again and again, a capture
interface that disappears and comes back, a configuration file that cannot be
read at reload.  mvpnmond must come back by itself, lose nothing it knew, and
count and log what happened."""
import os
import shutil
import signal
import struct
import subprocess

import pytest

from conftest import (ONE_PASS, EVENT_TIMEOUT, FIXTURES, FifoFeed, scalars, serving, snmp_rows,
                      wait_for)
from test_live import cut_capture

STATE = ("mvpnPacketsSeen", "mvpnControlPackets", "mvpnStateRefreshes", "mvpnStateChanges",
         "mvpnMalformedPackets", "mvpnConfigLoads", "mvpnConfigLoadFailures", "mvpnVpnCount",
         "mvpnNotificationsSent", "mvpnNotificationsSuppressed")


def state(snmp):
    g = scalars(snmp)
    pes = snmp_rows(snmp, "mvpnPeTable", "ua")
    return {k: g[k] for k in STATE}, {k: (r["mvpnPeStatus"], r["mvpnPeHellos"]) for k, r in pes.items()}


@ONE_PASS
def test_master_killed_and_restarted_20_times_is_served_again_each_time(daemon, master, snmp):
    with open(os.path.join(FIXTURES, "passive.conf")) as f:
        daemon.write_config("agentx-ping-interval = 1\n" + f.read())
    daemon.start("-r", os.path.join(FIXTURES, "passive.pcap"))
    assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "finished", EVENT_TIMEOUT), \
        daemon.log_text()
    before = state(snmp)
    assert before[0]["mvpnPacketsSeen"] > 0 and before[1]
    for i in range(20):
        master.stop(signal.SIGKILL)
        master.start()
        assert wait_for(lambda: serving(snmp), EVENT_TIMEOUT), \
            f"restart {i + 1}: {daemon.log_text()[-2000:]}"
        # Nothing happened to the monitored network meanwhile: nothing may change.
        assert state(snmp) == before, f"restart {i + 1}"
    assert daemon.proc.poll() is None
    # One connection at start, then one after each time the master was lost:
    # the 20 kills, each seen as "disconnected us", and any ping the master was
    # too slow to answer on a loaded machine ("failed to respond to ping"),
    # which is a reconnection too and no fault of the subagent.
    log = daemon.log_text()
    lost = log.count("AgentX master disconnected us")
    assert lost >= 20, log
    assert log.count("AgentX subagent connected") == 1 + lost + log.count(
        "AgentX master agent failed to respond to ping"), log


def test_unreadable_or_missing_config_at_reload_keeps_the_old_one(daemon, snmp):
    shutil.copy(os.path.join(FIXTURES, "passive.conf"), daemon.conf)
    daemon.start()
    assert wait_for(lambda: serving(snmp), EVENT_TIMEOUT), daemon.log_text()
    names = snmp.walk("mvpnVpnName", "-Oqv")
    for breakage, says in ((os.remove, "No such file"), (os.mkdir, "Is a directory")):
        if os.path.exists(daemon.conf):
            os.remove(daemon.conf)
        if breakage is os.mkdir:
            os.mkdir(daemon.conf)  # root reads through chmod 000; a directory it cannot read
        failures = scalars(snmp)["mvpnConfigLoadFailures"]
        daemon.signal(signal.SIGHUP)
        assert wait_for(lambda: scalars(snmp)["mvpnConfigLoadFailures"] == failures + 1,
                        EVENT_TIMEOUT)
        assert snmp.walk("mvpnVpnName", "-Oqv") == names
        assert says in daemon.log_text()
        assert "keeping the previous configuration" in daemon.log_text()
    assert daemon.proc.poll() is None


@pytest.mark.skipif(shutil.which("tcpreplay") is None, reason="tcpreplay is not installed")
def test_capture_resumes_when_its_interface_is_deleted_and_created_again(tmp_path, daemon, snmp,
                                                                         wire):
    first = str(tmp_path / "first.pcap")
    frames = cut_capture(os.path.join(FIXTURES, "passive.pcap"), first, 20)
    shutil.copy(os.path.join(FIXTURES, "passive.conf"), daemon.conf)
    daemon.start("-i", wire["monitor_if"], netns=wire["monitor"])
    assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "running", EVENT_TIMEOUT), \
        daemon.log_text()
    wire["player"].run("tcpreplay", "-q", "-t", "-i", wire["player_if"], first)
    assert wait_for(lambda: scalars(snmp)["mvpnPacketsSeen"] == frames, EVENT_TIMEOUT), \
        daemon.log_text()
    g = scalars(snmp)
    assert g["mvpnCaptureRestarts"] == 0
    pes_before = snmp_rows(snmp, "mvpnPeTable", "ua")

    # Deleting one end of a veth deletes both: the capture interface is gone.
    wire["player"].run("ip", "link", "del", wire["player_if"])
    assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "failed", EVENT_TIMEOUT), \
        daemon.log_text()
    assert "capture stopped, trying again every second" in daemon.log_text()
    assert snmp_rows(snmp, "mvpnPeTable", "ua").keys() == pes_before.keys()  # nothing forgotten

    subprocess.run(["ip", "link", "add", wire["player_if"], "netns", wire["player"].name, "type",
                    "veth", "peer", "name", wire["monitor_if"], "netns", wire["monitor"].name],
                   check=True, capture_output=True)
    wire["player"].run("ip", "link", "set", wire["player_if"], "up")
    wire["monitor"].run("ip", "link", "set", wire["monitor_if"], "up")
    assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "running", EVENT_TIMEOUT), \
        daemon.log_text()
    assert scalars(snmp)["mvpnCaptureRestarts"] == 1
    assert "is back; capturing again (capture restarts: 1)" in daemon.log_text()

    # The new interface is captured, through the filter: the same packets count again.
    wire["player"].run("tcpreplay", "-q", "-t", "-i", wire["player_if"], first)
    assert wait_for(lambda: scalars(snmp)["mvpnPacketsSeen"] == 2 * frames, EVENT_TIMEOUT), \
        daemon.log_text()
    again = scalars(snmp)
    for k in ("mvpnControlPackets", "mvpnDataPacketsDiscarded", "mvpnUnknownMdtPackets"):
        assert again[k] == 2 * g[k], k
    assert daemon.proc.poll() is None


def endless_capture(src, passes=100_000):
    """src's frames again and again, each pass later than the last: the header,
    then one chunk per pass (what FifoFeed writes; 100,000 passes is minutes of
    replay, an end the test never waits for)."""
    with open(src, "rb") as f:
        data = f.read()
    frames, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        frames.append((sec, frac, incl, orig, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    span = frames[-1][0] - frames[0][0] + 1
    yield data[:24]
    for r in range(passes):
        yield b"".join(struct.pack("<IIII", sec + r * span, frac, incl, orig) + body
                       for sec, frac, incl, orig, body in frames)


def packets_seen(snmp):
    value = snmp.get("mvpnPacketsSeen.0")
    return int(value) if value.isdigit() else 0


def test_sigterm_during_a_replay_exits_cleanly_and_removes_the_pidfile(tmp_path, daemon, snmp):
    """The capture comes through a FIFO that this test keeps filling, so the
    replay is still running when the signal lands by construction: it used to
    be a 500k-frame file and a race between its replay (0.5-2 s) and the test
    seeing the subagent connect.  Nothing here is timed; each wait is for its
    event (EVENT_TIMEOUT only bounds a hang)."""
    feed = FifoFeed(str(tmp_path / "endless.pcap"),
                    endless_capture(os.path.join(FIXTURES, "passive.pcap")))
    pidfile = tmp_path / "mvpnmond.pid"
    shutil.copy(os.path.join(FIXTURES, "passive.conf"), daemon.conf)
    try:
        daemon.start("-r", feed.path, "-p", str(pidfile))
        # The replay is under way, and answers SNMP while it runs.
        assert wait_for(lambda: packets_seen(snmp) > 0, EVENT_TIMEOUT), daemon.log_text()
        assert snmp.get("mvpnCaptureStatus.0") == "running"
        assert pidfile.read_text().strip() == str(daemon.proc.pid)
        daemon.signal(signal.SIGTERM)
        assert daemon.proc.wait(EVENT_TIMEOUT) == 0
        # It stopped reading with the capture unfinished: the feed was still writing.
        assert wait_for(lambda: feed.reader_gone, EVENT_TIMEOUT) and not feed.exhausted
    finally:
        feed.stop()
    log = daemon.log_text()
    assert "replayed:" not in log
    assert "signal 15: stopping" in log
    assert not pidfile.exists()
