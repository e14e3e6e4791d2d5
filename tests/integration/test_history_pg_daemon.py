"""Two mvpnmond writing their history to one PostgreSQL server the test starts
itself (tests/tools/pgserver.py: initdb in a temporary directory, a unix socket
there, stopped by pid), each under its own monitor name; the server stopped for
20 s mid-run (issue 13): nothing is lost up to the queue's cap, what waited is
written when it returns, and past the cap the loss is counted and notified once
each way; mvpnmon answers across both monitors."""
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from conftest import (ONE_PASS, BUILD, EVENT_TIMEOUT, FIXTURES, TOP, Daemon, FifoFeed, Master, Snmp,
                      TrapReceiver, scalars, serving, wait_for)
from test_history import CHANGE_KIND, FLOOD_CONF, FLOOD_GEN, HISTORY_STATUS, fixture, \
    pcap_records

sys.path.insert(0, os.path.join(TOP, "tests", "tools"))
import pgserver  # noqa: E402

pytestmark = pytest.mark.skipif(not pgserver.available(), reason="PostgreSQL is not installed")
MVPNMON = os.path.join(BUILD, "mvpnmon")
OUTAGE = 20  # seconds the server is away, as the issue asks


class Site:
    """A master, its trap receiver and an mvpnmond, in a directory of their own."""

    def __init__(self, tmp):
        os.makedirs(tmp)
        self.traps = TrapReceiver(tmp)
        self.master = Master(tmp, self.traps.port)
        self.master.start()
        self.snmp = Snmp(self.master)
        self.daemon = Daemon(tmp, self.master)

    def status(self):
        return HISTORY_STATUS[scalars(self.snmp)["mvpnHistoryStatus"]]

    def stop(self):
        self.daemon.stop()
        self.master.stop()
        self.traps.stop()


def history_section(pg, monitor, extra=""):
    return ('\nhistory {\n  postgres = "%s"\n  monitor = "%s"\n  flush-interval = 200\n%s}\n'
            % (pg.conninfo(), monitor, extra))


def mvpnmon(pg, *args):
    out = subprocess.run([MVPNMON, "--pg", pg.conninfo(), *args], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture
def pg():
    server = pgserver.PgServer(settings={"fsync": "off"})
    server.start()
    yield server
    server.cleanup()


@ONE_PASS
def test_two_monitors_one_server_through_an_outage(tmp_path, pg):
    expected = fixture("passive")
    header, records = pcap_records(os.path.join(FIXTURES, "passive.pcap"))
    cut = expected["capture_start"] + 150
    second_half = threading.Event()

    def halves():  # the second half only once the server is down
        yield header
        yield b"".join(r for t, r in records if t < cut)
        second_half.wait(EVENT_TIMEOUT + OUTAGE)
        yield b"".join(r for t, r in records if t >= cut)

    flood = tmp_path / "flood.pcap"
    out = subprocess.run([FLOOD_GEN, "--spoofed-pes", "10", "--joins", "20000", str(flood)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    east, west = Site(str(tmp_path / "east")), Site(str(tmp_path / "west"))
    feed = None
    try:
        # east: the passive scenario, within its queue whatever happens.
        with open(os.path.join(FIXTURES, "passive.conf")) as f:
            east.daemon.write_config(f.read() + history_section(pg, "east"))
        feed = FifoFeed(str(tmp_path / "east.pcap"), halves())
        east.daemon.start("-r", feed.path)
        # west: 20,000 joins with a queue of 1,000, replayed while the server is down.
        west.daemon.write_config(FLOOD_CONF + history_section(
            pg, "west", "  queue = 1000\n  batch = 500\n"))
        assert wait_for(lambda: serving(east.snmp), EVENT_TIMEOUT), east.daemon.log_text()
        before = [c for c in expected["changes"] if c["time"] < cut]
        assert wait_for(lambda: scalars(east.snmp)["mvpnHistoryPersisted"] >= len(before),
                        EVENT_TIMEOUT), east.daemon.log_text()

        pg.stop()
        down_at = time.monotonic()
        second_half.set()
        west.daemon.start("-r", str(flood))
        assert wait_for(lambda: serving(west.snmp), EVENT_TIMEOUT), west.daemon.log_text()
        assert wait_for(lambda: west.snmp.get("mvpnCaptureStatus.0") == "finished",
                        EVENT_TIMEOUT)
        assert wait_for(lambda: east.snmp.get("mvpnCaptureStatus.0") == "finished",
                        EVENT_TIMEOUT)
        assert wait_for(lambda: west.status() == "losing", EVENT_TIMEOUT)
        assert wait_for(lambda: len(west.traps.notifications("mvpnHistoryLosing")) == 1,
                        EVENT_TIMEOUT)
        assert wait_for(lambda: east.status() == "failing", EVENT_TIMEOUT), east.daemon.log_text()
        s = scalars(east.snmp)
        assert s["mvpnHistoryQueued"] > 0 and s["mvpnHistoryDropped"] == 0
        assert s["mvpnHistoryWriteFailures"] > 0
        assert s["mvpnPacketsSeen"] == expected["packets_seen"]  # monitoring went on
        time.sleep(max(0, OUTAGE - (time.monotonic() - down_at)))
        pg.start()

        for site in (east, west):
            assert wait_for(lambda: site.status() == "ok", EVENT_TIMEOUT), site.daemon.log_text()
            assert wait_for(lambda: scalars(site.snmp)["mvpnHistoryQueued"] == 0, EVENT_TIMEOUT)
        assert east.traps.notifications("mvpnHistoryLosing") == []
        assert wait_for(lambda: len(west.traps.notifications("mvpnHistoryResumed")) == 1,
                        EVENT_TIMEOUT)
        assert len(west.traps.notifications("mvpnHistoryLosing")) == 1
        w = scalars(west.snmp)
        assert w["mvpnHistoryDropped"] > 0
        west_dropped = w["mvpnHistoryDropped"]
    finally:
        if feed:
            second_half.set()
            feed.stop()
        east.stop()
        west.stop()

    # east lost nothing: every change of the scenario, once, each of its times.
    since = "@%d" % expected["capture_start"]
    got = json.loads(mvpnmon(pg, "--monitor", "east", "changes", "--since", since,
                             "--json"))["changes"]
    assert [(round(c["time_ns"] / 1e9, 3), c["kind"], c["pe"] or "") for c in got] == \
        [(round(c["time"], 3), c["kind"], c["pe"]) for c in expected["changes"]]
    # west: what was not dropped, each once.
    west_rows = pg.psql("SELECT count(*), count(DISTINCT seq) FROM changes c "
                        "JOIN monitors m ON m.id = c.monitor WHERE m.name = 'west'")
    n, distinct = map(int, west_rows.strip().split("|"))
    assert n == distinct > 0
    assert n + west_dropped >= 20000
    # The client reads across both monitors, each named.
    both = json.loads(mvpnmon(pg, "changes", "--since", since, "--kind", "peUp",
                              "--json"))["changes"]
    assert {c["monitor"] for c in both} == {"east", "west"}
    assert sum(c["monitor"] == "east" for c in both) == sum(
        c["kind"] == "peUp" for c in expected["changes"])
    # And east's state at the end of its capture is the generator's.
    state = json.loads(mvpnmon(pg, "--monitor", "east", "state", "--at",
                               "@%.3f" % expected["t_end"], "--json"))
    assert sorted((r["vpn_index"], r["pe"], r["status"]) for r in state["pes"]) == sorted(
        (r["vpn"], r["pe"], r["status"]) for r in expected["pes"])
    assert CHANGE_KIND  # the kinds' names are the MIB's, as the client prints them
