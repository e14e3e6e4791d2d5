"""The history store end to end (issue 13): mvpnmond replays captures written by an
independent encoder (tests/fixtures/gen_fixtures.py, scapy) into a real SQLite file,
and what the file holds, read with Python's own sqlite3 module and with the mvpnmon
client, must be what the generator's own model says: every change once, at its
capture time; the tables at each instant of the generator's timeline."""
import ipaddress
import json
import os
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


# ---- bad surroundings: a clear error, counted, and monitoring goes on ----

FLOOD_GEN = os.path.join(BUILD, "tools", "flood_gen")
FLOOD_CONF = ('startup-grace = 0\nmax-cgroups-per-vpn = 100000\n'
              'vpn "flood" {\n\tindex = 1\n\tdefault-mdt = "239.192.0.1"\n'
              '\texpected-pes = { "198.18.0.1", "198.18.0.2", "198.18.0.3", "198.18.0.4" }\n}\n')


def history_status(snmp):
    return HISTORY_STATUS[scalars(snmp)["mvpnHistoryStatus"]]


def start_replay(daemon, snmp, name, db, extra=""):
    history_config(daemon, name, db, extra)
    daemon.start("-r", os.path.join(FIXTURES, name + ".pcap"))
    assert wait_for(lambda: serving(snmp), EVENT_TIMEOUT), daemon.log_text()
    assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "finished", EVENT_TIMEOUT), \
        daemon.log_text()


def test_a_locked_store_keeps_the_records_until_it_is_free(daemon, snmp, tmp_path):
    db = str(tmp_path / "history.db")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        start_replay(daemon, snmp, "passive", db)
        expected = fixture("passive")
        s = scalars(snmp)
        assert s["mvpnPacketsSeen"] == expected["packets_seen"]  # monitoring went on
        assert wait_for(lambda: scalars(snmp)["mvpnHistoryWriteFailures"] >= 2, EVENT_TIMEOUT)
        s = scalars(snmp)
        assert HISTORY_STATUS[s["mvpnHistoryStatus"]] == "failing"
        assert s["mvpnHistoryQueued"] >= len(expected["changes"])
        assert s["mvpnHistoryPersisted"] == 0 and s["mvpnHistoryDropped"] == 0
        assert "database is locked" in daemon.log_text()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert wait_for(lambda: scalars(snmp)["mvpnHistoryQueued"] == 0, EVENT_TIMEOUT)
    assert history_status(snmp) == "ok"
    daemon.stop()
    rows = stored_changes(db)
    assert [CHANGE_KIND[r[3]] for r in rows] == [c["kind"] for c in expected["changes"]]


def test_a_corrupt_store_is_named_and_left_alone(daemon, snmp, tmp_path):
    db = str(tmp_path / "history.db")
    junk = b"this is not an SQLite database\n" * 200
    with open(db, "wb") as f:
        f.write(junk)
    start_replay(daemon, snmp, "passive", db)
    assert scalars(snmp)["mvpnPacketsSeen"] == fixture("passive")["packets_seen"]
    assert wait_for(lambda: scalars(snmp)["mvpnHistoryWriteFailures"] >= 1, EVENT_TIMEOUT)
    assert history_status(snmp) == "failing"
    log = daemon.log_text()
    assert db in log and "corrupt or is not a database" in log, log
    daemon.stop()
    with open(db, "rb") as f:
        assert f.read() == junk  # nothing written over it


@pytest.fixture
def small_tmpfs(tmp_path):
    """A tmpfs of 256 KiB mounted in the test's directory, unmounted after."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", str(mnt)],
                   check=True)
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_read_only_store_is_named_and_monitoring_goes_on(daemon, snmp, small_tmpfs):
    db = str(small_tmpfs / "history.db")
    sqlite3.connect(db).execute("CREATE TABLE t(x)").connection.close()
    subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
    start_replay(daemon, snmp, "passive", db)
    assert scalars(snmp)["mvpnPacketsSeen"] == fixture("passive")["packets_seen"]
    assert wait_for(lambda: scalars(snmp)["mvpnHistoryWriteFailures"] >= 1, EVENT_TIMEOUT)
    assert history_status(snmp) == "failing"
    assert "read-only" in daemon.log_text(), daemon.log_text()


def test_a_full_disk_loses_records_past_the_queue_and_says_so_twice(daemon, snmp, traps,
                                                                     small_tmpfs, tmp_path):
    """20,000 joins into a 256 KiB file system with a queue of 1,000: the store
    fills, records wait, then are dropped and counted (mvpnHistoryLosing, once);
    room made, the rest is written (mvpnHistoryResumed, once)."""
    pcap = tmp_path / "flood.pcap"
    out = subprocess.run([FLOOD_GEN, "--spoofed-pes", "10", "--joins", "20000", str(pcap)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    db = str(small_tmpfs / "history.db")
    daemon.write_config(FLOOD_CONF + '\nhistory {\n  file = "%s"\n  monitor = "m1"\n'
                        '  flush-interval = 100\n  queue = 1000\n  batch = 500\n}\n' % db)
    daemon.start("-r", str(pcap))
    assert wait_for(lambda: serving(snmp), EVENT_TIMEOUT), daemon.log_text()
    assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "finished", EVENT_TIMEOUT)
    assert wait_for(lambda: history_status(snmp) == "losing", EVENT_TIMEOUT), daemon.log_text()
    s = scalars(snmp)
    assert s["mvpnHistoryDropped"] > 0 and s["mvpnHistoryWriteFailures"] > 0
    assert s["mvpnStateChanges"] >= 20000  # the model took every join regardless
    assert "full" in daemon.log_text()
    assert wait_for(lambda: len(traps.notifications("mvpnHistoryLosing")) == 1, EVENT_TIMEOUT)
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_tmpfs)], check=True)
    assert wait_for(lambda: history_status(snmp) == "ok", EVENT_TIMEOUT), daemon.log_text()
    assert wait_for(lambda: len(traps.notifications("mvpnHistoryResumed")) == 1, EVENT_TIMEOUT)
    s = scalars(snmp)
    assert s["mvpnHistoryQueued"] == 0
    lost = traps.notifications("mvpnHistoryResumed")[0]
    assert int(lost["mvpnHistoryDropped.0"].split()[0]) == s["mvpnHistoryDropped"]
    assert len(traps.notifications("mvpnHistoryLosing")) == 1
    daemon.stop()
    # What was not dropped is there, each once.
    con = sqlite3.connect(db)
    try:
        n, distinct = con.execute("SELECT count(*), count(DISTINCT seq) FROM changes").fetchone()
    finally:
        con.close()
    assert n == distinct > 0


# ---- the state at any time T: mvpnmon against the generator's timeline ----

CLIENT_KIND = {"starG": "starg", "sg": "sg", "sgRpt": "sgrpt", "sgrpt": "sgrpt", "starg": "starg"}


def mvpnmon(db, *args):
    out = subprocess.run([MVPNMON, "--db", db, *args], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def client_state(db, t):
    """What `mvpnmon state --at T --json` says, in the generator's row terms."""
    got = json.loads(mvpnmon(db, "state", "--at", "@%.3f" % t, "--json"))
    pes = sorted((r["vpn_index"], r["pe"], r["status"], r["expected"], r["hold_time"],
                  r["generation_id"], r["dr_priority"], r["c_address"] or "",
                  None if r["first_seen_ns"] is None else round(r["first_seen_ns"] / 1e9, 3))
                 for r in got["pes"])
    cgpe = sorted((r["vpn_index"], r["c_group"], r["c_source"] or "", CLIENT_KIND[r["kind"]],
                   r["pe"], r["role"], r["state"], r["joiners"], r["rp"] or "",
                   r["p_group"] or "", r["other"] if r["role"] == "downstream" else None)
                  for r in got["cgroup_pes"])
    cgpg = sorted((r["vpn_index"], r["c_group"], r["c_source"] or "", r["mdt_type"],
                   r["p_group"] or "", r["pe"] or "") for r in got["cgroup_pgroups"])
    return pes, cgpe, cgpg


def generator_state(instant):
    pes = sorted((r["vpn"], r["pe"], r["status"], r["expected"], r["holdtime"],
                  r["generation_id"], r["dr_priority"], r["caddr"],
                  None if r["first_seen"] is None else round(r["first_seen"], 3))
                 for r in instant["pes"])
    cgpe = sorted((r["vpn"], r["group"], r["source"], r["kind"], r["pe"], r["role"], r["state"],
                   r["joiners"], r["rp"], r["pgroup"],
                   r["other"] if r["role"] == "downstream" else None)
                  for r in instant["cgroup_pe"])
    cgpg = sorted((r["vpn"], r["group"], r["source"], r["mdt"], r["pgroup"], r["pe"])
                  for r in instant["cgroup_pgroup"])
    return pes, cgpe, cgpg


def test_state_at_every_instant_of_the_timeline_is_the_generators(daemon, snmp, tmp_path):
    db = str(tmp_path / "history.db")
    expected = replay(daemon, snmp, "passive", db, "  checkpoint-interval = 60\n")
    daemon.stop()
    assert len(expected["timeline"]) > 20
    for instant in expected["timeline"]:
        got, want = client_state(db, instant["t"]), generator_state(instant)
        for table, g, w in zip(("pes", "cgroup_pe", "cgroup_pgroup"), got, want):
            assert g == w, (instant["t_rel"], table)


def test_changes_are_the_generators_list(daemon, snmp, tmp_path):
    db = str(tmp_path / "history.db")
    expected = replay(daemon, snmp, "passive", db)
    daemon.stop()
    got = json.loads(mvpnmon(db, "changes", "--since", "@%d" % expected["capture_start"],
                             "--json"))["changes"]
    assert [(round(c["time_ns"] / 1e9, 3), c["vpn_index"], c["kind"], c["pe"] or "",
             c["c_group"] or "", c["c_source"] or "", c["p_group"] or "") for c in got] == \
        [(round(c["time"], 3), c["vpn"], c["kind"], c["pe"], c["group"], c["source"],
          c["pgroup"]) for c in expected["changes"]]
    # --kind and --vpn narrow it as the generator's list does.
    joins = json.loads(mvpnmon(db, "changes", "--since", "@%d" % expected["capture_start"],
                               "--kind", "join", "--vpn", "red", "--json"))["changes"]
    assert len(joins) == sum(c["kind"] == "join" and c["vpn_name"] == "red"
                             for c in expected["changes"])


# ---- restarts lose nothing ----

def pcap_records(path):
    """The file's global header and its records as (capture time, bytes)."""
    import struct
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    assert magic in (0xa1b2c3d4, 0xa1b23c4d), hex(magic)
    scale = 1e6 if magic == 0xa1b2c3d4 else 1e9
    out, off = [], 24
    while off < len(data):
        sec, frac, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        out.append((sec + frac / scale, data[off:off + 16 + incl]))
        off += 16 + incl
    return data[:24], out


def test_kill_9_mid_replay_then_restart_loses_and_repeats_nothing(tmp_path, master, snmp,
                                                                  traps):
    """The first half of the capture through a FIFO, the daemon killed with
    SIGKILL once the store has it, then the whole file: the store holds the
    generator's changes, each once; no PE that was up comes up again; no
    alarm is notified twice."""
    from conftest import Daemon, FifoFeed
    import threading
    expected = fixture("passive")
    db = str(tmp_path / "history.db")
    header, records = pcap_records(os.path.join(FIXTURES, "passive.pcap"))
    cut = expected["capture_start"] + 150
    release = threading.Event()

    def first_half():
        yield header
        yield b"".join(r for t, r in records if t < cut)
        release.wait(EVENT_TIMEOUT)  # the replay stays running until the kill

    first = Daemon(str(tmp_path), master)
    history_config(first, "passive", db)
    feed = FifoFeed(str(tmp_path / "half.pcap"), first_half())
    first.start("-r", feed.path)
    before = [c for c in expected["changes"] if c["time"] < cut]
    try:
        assert wait_for(lambda: serving(snmp), EVENT_TIMEOUT), first.log_text()
        assert wait_for(lambda: len(stored_changes(db)) == len(before), EVENT_TIMEOUT), \
            first.log_text()
        raised_first = {n["_name"] for n in traps.notifications()}
        first.proc.kill()  # SIGKILL: no flush, no last checkpoint
        first.proc.wait(EVENT_TIMEOUT)
    finally:
        release.set()
        feed.stop()
    assert "mvpnPeUnexpected" in raised_first  # .66 came at 95 s: raised in the first run
    alarms_first = [n for n in traps.notifications()
                    if n["_name"] in ("mvpnPeMissing", "mvpnPeUnexpected")]
    n_first = len(traps.notifications())

    second = Daemon(str(tmp_path / "second"), master)
    os.makedirs(second.tmp)
    second.conf = first.conf
    second.start("-r", os.path.join(FIXTURES, "passive.pcap"))
    try:
        assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "finished", EVENT_TIMEOUT), \
            second.log_text()
        assert wait_for(lambda: scalars(snmp)["mvpnHistoryQueued"] == 0, EVENT_TIMEOUT)
        log = second.log_text()
        assert "the replay goes on from there" in log, log
        # The alarms of the first run are in the table again, with their indexes.
        def indexes(notes, column):
            return {k.split(".")[1] for n in notes for k in n if k.startswith(column + ".")}
        still_raised = indexes(alarms_first, "mvpnAlarmDescr") - indexes(
            traps.notifications("mvpnAlarmCleared"), "mvpnAlarmKind")
        assert still_raised
        table = {line.split(".")[1].split(" ")[0] for line in snmp.walk("mvpnAlarmDescr")}
        assert still_raised <= table, (still_raised, table)
    finally:
        second.stop()
    rows = stored_changes(db)
    got = [(round(when / 1e9, 3), vpn, CHANGE_KIND[kind], addr(pe), addr(grp), addr(src),
            addr(pgrp)) for _, when, vpn, kind, pe, grp, src, pgrp in rows]
    want = [(round(c["time"], 3), c["vpn"], c["kind"], c["pe"], c["group"], c["source"],
             c["pgroup"]) for c in expected["changes"]]
    # Everything from before the kill, once; none twice; seqs never reused.
    assert [g for g in got if g[0] < cut] == [w for w in want if w[0] < cut]
    assert len(got) == len(set(got))
    assert len({r[0] for r in rows}) == len(rows)
    # What messages changed after the restart is there as a live run has it (the
    # restored rows count as refreshed at the restart: their timers may run late,
    # as the README says, so timer changes are not compared).
    by_message = {(c["vpn"], c["kind"], c["pe"], c["group"], c["source"])
                  for c in expected["changes"] if c["time"] >= cut and c["cause"] == "message"}
    assert by_message <= {g[1:6] for g in got if g[0] >= cut}
    # No PE that was up at the kill comes up again.
    up_at_cut = {(c["vpn"], c["pe"]) for c in expected["changes"]
                 if c["time"] < cut and c["kind"] == "peUp"}
    assert not [g for g in got if g[0] >= cut and g[2] == "peUp" and g[1:4:2] in up_at_cut]
    # No alarm still raised at the kill is notified again.
    def key(n):
        vpn = next((v for k, v in n.items() if k.startswith("mvpnVpnName.")), "")
        return n["_name"], vpn, n.get("mvpnNotifyAddr.0")
    second_raises = [key(n) for n in traps.notifications()[n_first:]
                     if n["_name"] in ("mvpnPeMissing", "mvpnPeUnexpected")]
    open_at_kill = {key(n) for n in alarms_first
                    if indexes([n], "mvpnAlarmDescr") & still_raised}
    assert open_at_kill and not set(second_raises) & open_at_kill, (second_raises, open_at_kill)
