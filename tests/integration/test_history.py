"""The history store end to end (issue 13): mvpnmond replays captures written by an
independent encoder (tests/fixtures/gen_fixtures.py, scapy) into a real SQLite file,
and what the file holds, read with Python's own sqlite3 module and with the mvpnmon
client, must be what the generator's own model says: every change once, at its
capture time; the tables at each instant of the generator's timeline."""
import ipaddress
import json
import os
import shutil
import signal
import sqlite3
import subprocess

import pytest

from conftest import BUILD, EVENT_TIMEOUT, FIXTURES, scalars, serving, wait_for

MVPNMON = os.path.join(BUILD, "mvpnmon")
CHANGE_KIND = {1: "peUp", 2: "peDown", 3: "peRestart", 4: "peChange", 5: "join", 6: "prune",
               7: "expiry", 8: "dataMdtUp", 9: "dataMdtSwitch", 10: "dataMdtDown",
               11: "pairStatus", 12: "tunnelStatus", 13: "configReload", 14: "peReclaimed"}
HISTORY_STATUS = {1: "off", 2: "ok", 3: "failing", 4: "losing"}


def fixture(name):
    with open(os.path.join(FIXTURES, name + ".expected.json")) as f:
        return json.load(f)


def addr(raw):
    return str(ipaddress.ip_address(bytes(raw))) if raw else ""


def history_config(daemon, name, db, extra=""):
    """The fixture's configuration with a history section writing to db."""
    with open(os.path.join(FIXTURES, name + ".conf")) as f:
        text = f.read()
    daemon.write_config(text + '\nhistory {\n  file = "%s"\n  monitor = "m1"\n'
                        '  flush-interval = 100\n%s}\n' % (db, extra))


def replay(daemon, snmp, name, db, extra=""):
    history_config(daemon, name, db, extra)
    daemon.start("-r", os.path.join(FIXTURES, name + ".pcap"))
    assert wait_for(lambda: serving(snmp), EVENT_TIMEOUT), daemon.log_text()
    assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "finished", EVENT_TIMEOUT), \
        daemon.log_text()
    # Everything written: nothing waits, nothing lost.
    assert wait_for(lambda: scalars(snmp)["mvpnHistoryQueued"] == 0, EVENT_TIMEOUT)
    return fixture(name)


def stored_changes(db):
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT seq, when_ns, vpn, kind, pe, c_group, c_source, p_group "
                           "FROM changes ORDER BY seq").fetchall()
    finally:
        con.close()


def test_a_replay_stores_every_change_once_at_its_capture_time(daemon, snmp, tmp_path):
    db = str(tmp_path / "history.db")
    expected = replay(daemon, snmp, "passive", db)
    s = scalars(snmp)
    assert HISTORY_STATUS[s["mvpnHistoryStatus"]] == "ok"
    assert s["mvpnHistoryDropped"] == 0 and s["mvpnHistoryWriteFailures"] == 0
    assert s["mvpnHistoryPersisted"] >= len(expected["changes"])
    daemon.stop()
    rows = stored_changes(db)
    got = [(round(when / 1e9, 3), vpn, CHANGE_KIND[kind], addr(pe), addr(grp), addr(src),
            addr(pgrp)) for _, when, vpn, kind, pe, grp, src, pgrp in rows]
    want = [(round(c["time"], 3), c["vpn"], c["kind"], c["pe"], c["group"], c["source"],
             c["pgroup"]) for c in expected["changes"]]
    assert got == want
    seqs = [r[0] for r in rows]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # each once, none skipped


def test_a_replay_checkpoints_by_capture_time_and_logs_its_load(daemon, snmp, tmp_path):
    db = str(tmp_path / "history.db")
    expected = replay(daemon, snmp, "passive", db, "  checkpoint-interval = 60\n")
    daemon.stop()
    con = sqlite3.connect(db)
    try:
        ckpts = [w / 1e9 for (w,) in con.execute(
            "SELECT when_ns FROM checkpoints ORDER BY when_ns")]
        loads = con.execute("SELECT ok, vpns, added FROM configs").fetchall()
        monitors = [n for (n,) in con.execute("SELECT name FROM monitors")]
    finally:
        con.close()
    # One at the first packet (the load's), one per 60 s of capture time, one at the stop.
    start, end = expected["capture_start"], expected["t_end"]
    inside = [t for t in ckpts if t < end]
    assert inside[0] == pytest.approx(start, abs=1.0)
    assert all(50 <= b - a <= 70 for a, b in zip(inside, inside[1:])), ckpts
    assert len(inside) >= (end - start) // 60
    assert loads == [(1, len(expected["vpns"]), len(expected["vpns"]))]
    assert monitors == ["m1"]
