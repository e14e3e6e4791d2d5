"""mvpnmon, the client, over a real history store: an SQLite file, and a
PostgreSQL server of the test's own (tests/tools/pgserver.py) when there is one.

The store is written by the store's own code (build/tools/hist_write, which
calls hist_store_write) with a timeline stated below: two monitors, "east"
(VPN red with PEs coming and going, a join, a prune, a data MDT up and down,
probed pairs) and "west" (another VPN named red, under another index).  Then
the real mvpnmon binary is asked what the state was at several instants and
what changed, and each answer is compared row for row with the tables written
out here by hand from the timeline, not computed by the code under test.
"""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import BUILD, TOP

sys.path.insert(0, os.path.join(TOP, "tests", "tools"))
try:
    import pgserver  # the PostgreSQL backend's test server
except ImportError:
    pgserver = None

MVPNMON = os.path.join(BUILD, "mvpnmon")
HIST_WRITE = os.path.join(BUILD, "tools", "hist_write")

T0 = 1796090400  # 2026-12-01 02:00:00 UTC, 03:00 in Europe/Paris (CET)


def at(offset):
    """A TIME argument T0 + offset seconds."""
    return f"@{T0 + offset}"


def utc(offset, ms=0):
    """How mvpnmon --utc prints T0 + offset (the hours written out by hand)."""
    minute, second = divmod(offset, 60)
    hour, minute = divmod(minute + 2 * 60, 60)  # T0 is 02:00
    return f"2026-12-01 {hour:02d}:{minute:02d}:{second:02d}.{ms:03d} UTC"


# The timeline.  Checkpoints are what the daemon writes every N minutes: the
# whole state; the one at T0 states what the changes before it did.
TIMELINE = f"""
monitor east
vpn 1 red 239.1.1.1 expected=2
vpn 2 bl"ue-r\u00e9seau ff3e::8000:1 expected=1
pe 1 198.18.0.1 expected=1 genid=1 first={T0 - 3600}
pe 1 198.18.0.2 expected=1 absent
pe 2 2001:db8::5 expected=1 genid=9 first={T0 - 7200}
cgpe 1 10.1.1.1 232.1.1.1 198.18.0.1 kind=sg up=198.18.0.3 hold=210
cgpe 1 * 225.1.1.1 198.18.0.1 kind=starG up=198.18.0.3 rp=10.9.9.9 hold=210
checkpoint {T0 - 600} 100
change {T0 - 300} 101 1 peUp pe=198.18.0.2 cur.alive=1 cur.hold=105 cur.genid=2 cur.dr=1 cur.caddr=198.18.0.2
change {T0 - 240} 102 1 peUp pe=198.18.0.66 cur.alive=1 cur.hold=105 cur.genid=0x42 cur.dr=1 cur.caddr=198.18.0.66
change {T0 - 200} 103 1 join pe=198.18.0.2 src=10.1.1.1 grp=232.1.1.1 cur.kind=sg cur.state=joined cur.hold=180 cur.up=198.18.0.3
change {T0 - 100} 104 1 dataMdtUp src=10.1.1.1 grp=232.1.1.1 pgrp=239.2.2.2 cur.pgrp=239.2.2.2 cur.ann=198.18.0.3
vpn 1 red 239.1.1.1 expected=2
vpn 2 bl"ue-r\u00e9seau ff3e::8000:1 expected=1
pe 1 198.18.0.1 expected=1 genid=1 first={T0 - 3600}
pe 1 198.18.0.2 expected=1 genid=2 first={T0 - 300}
pe 1 198.18.0.66 genid=0x42 first={T0 - 240}
pe 2 2001:db8::5 expected=1 genid=9 first={T0 - 7200}
cgpe 1 10.1.1.1 232.1.1.1 198.18.0.1 kind=sg up=198.18.0.3 hold=210
cgpe 1 10.1.1.1 232.1.1.1 198.18.0.2 kind=sg up=198.18.0.3 hold=180
cgpe 1 * 225.1.1.1 198.18.0.1 kind=starG up=198.18.0.3 rp=10.9.9.9 hold=210
flow 1 10.1.1.1 232.1.1.1 239.2.2.2 198.18.0.3
checkpoint {T0} 104
change {T0 + 60} 105 1 peDown pe=198.18.0.66 prev.alive=1 prev.hold=105 prev.genid=0x42 prev.dr=1 prev.caddr=198.18.0.66 cur.alive=0 cur.hold=105 cur.genid=0x42 cur.dr=1 cur.caddr=198.18.0.66
change {T0 + 120} 106 1 prune pe=198.18.0.1 src=10.1.1.1 grp=232.1.1.1 prev.kind=sg prev.state=joined prev.hold=210 prev.up=198.18.0.3
change {T0 + 180} 107 1 dataMdtDown src=10.1.1.1 grp=232.1.1.1 pgrp=239.2.2.2 prev.pgrp=239.2.2.2 prev.ann=198.18.0.3
change {T0 + 240} 108 1 peDown pe=198.18.0.2 prev.alive=1 prev.hold=105 prev.genid=2 prev.dr=1 prev.caddr=198.18.0.2 cur.alive=0 cur.hold=105 cur.genid=2 cur.dr=1 cur.caddr=198.18.0.2
pair {T0 + 10} 1 198.18.0.1 198.18.0.2 sent=1000 recv=990 lost=10 min=9800 avg=10013 p99=10500 jitter=120 status=ok
pair {T0 + 10} 1 198.18.0.2 198.18.0.1 sent=1000 recv=1000 lost=0 min=9700 avg=9900 p99=10100 jitter=80 status=ok
pair {T0 + 10} 2 2001:db8::5 2001:db8::6 sent=500 recv=500 lost=0 min=1000 avg=1000 p99=1000 jitter=0 status=ok
pair {T0 + 20} 1 198.18.0.1 198.18.0.2 sent=1000 recv=900 lost=100 min=9800 avg=12000 p99=30000 jitter=900 status=lossAlarm
monitor west
vpn 7 red 239.7.7.7 expected=1
pe 7 198.51.100.1 expected=1 genid=3 first={T0 - 900}
checkpoint {T0 - 600} 0
change {T0 + 90} 1 7 peDown pe=198.51.100.1 prev.alive=1 prev.hold=105 prev.genid=3 prev.dr=1 prev.caddr=198.51.100.1 cur.alive=0 cur.hold=105 cur.genid=3 cur.dr=1 cur.caddr=198.51.100.1
"""

BLUE = 'bl"ue-r\u00e9seau'

HEADERS = {
    "VPNs (mvpnVpnTable)": ["Index", "Name", "Default MDT", "Expected", "Active", "Missing",
                            "Unexpected", "Config", "C-groups", "Data MDTs"],
    "PEs (mvpnPeTable)": ["VPN", "PE", "Status", "Expected", "Hold", "Generation ID",
                          "DR priority", "C-address", "First seen"],
    "C-group -> PE (mvpnCGroupPeTable)": ["VPN", "C-group", "C-source", "Kind", "PE", "Role",
                                          "State", "Other", "Joiners", "RP", "P-group", "Hold"],
    "C-group -> P-group (mvpnCGroupPGroupTable)": ["VPN", "C-group", "C-source", "MDT",
                                                   "P-group", "PE"],
}
VPNS, PES, CGPES, FLOWS = HEADERS


def write(target):
    r = subprocess.run([HIST_WRITE, *target], input=TIMELINE, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr


# The tests only read: one store per backend serves them all.
@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store(request, tmp_path_factory):
    """The store options naming a store that holds the timeline."""
    if request.param == "sqlite":
        db = str(tmp_path_factory.mktemp("sqlite") / "history.db")
        write([db])
        yield ["--db", db]
        return
    if pgserver is None or not pgserver.available():
        pytest.skip("no PostgreSQL backend or server here")
    server = pgserver.PgServer(settings={"fsync": "off"})
    try:
        server.start()
        write(["--pg", server.conninfo()])
        yield ["--pg", server.conninfo()]
    finally:
        server.cleanup()


def mvpnmon(*args, tz="UTC"):
    env = dict(os.environ, TZ=tz)
    return subprocess.run([MVPNMON, *args], capture_output=True, text=True, timeout=60, env=env)


def ok(*args, **kw):
    r = mvpnmon(*args, **kw)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    assert r.stderr == ""
    return r.stdout


def cells(line):
    """A table line's cells: columns are two or more spaces apart."""
    return re.split(r"\s{2,}", line.strip())


def sections(out):
    """state's output as {title: rows}, checking each table's header."""
    blocks = out.split("\n\n")
    found = {}
    for block in blocks[1:]:
        lines = block.rstrip("\n").split("\n")
        title, header, rows = lines[0], lines[1], lines[2:]
        assert cells(header)[-len(HEADERS[title]):] == HEADERS[title], header
        found[title] = [cells(r) for r in rows]
    assert list(found) == list(HEADERS)
    return found


def rows(*table):
    """Expected rows, written as tuples of anything printable."""
    return [[str(c) for c in row] for row in table]


RED_PES_BEFORE = [
    ("red", "198.18.0.1", "active", "true", 105, "0x00000001", 1, "198.18.0.1", utc(-3600)),
    ("red", "198.18.0.2", "active", "true", 105, "0x00000002", 1, "198.18.0.2", utc(-300)),
    ("red", "198.18.0.66", "unexpected", "false", 105, "0x00000042", 1, "198.18.0.66",
     utc(-240)),
]
BLUE_PE = (BLUE, "2001:db8::5", "active", "true", 105, "0x00000009", 1, "2001:db8::5",
           utc(-7200))
BLUE_VPN = (2, BLUE, "ff3e::8000:1", 1, 1, 0, 0, "match", 0, 0)
STAR_G = [
    ("red", "225.1.1.1", "-", "starG", "198.18.0.1", "downstream", "joined", "198.18.0.3", 1,
     "10.9.9.9", "239.1.1.1", 210),
    ("red", "225.1.1.1", "-", "starG", "198.18.0.3", "upstream", "joined", "198.18.0.1", 1,
     "10.9.9.9", "239.1.1.1", 210),
]


def test_state_before_the_first_checkpoint_is_nothing(store):
    r = mvpnmon(*store, "--monitor", "east", "state", "--at", at(-601))
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr == "mvpnmon state: nothing recorded at or before 2026-12-01 01:49:59.000 UTC\n"


def test_state_between_a_checkpoint_and_the_next(store):
    """The checkpoint at T0-600 and the two PEs that came up after it."""
    t = sections(ok(*store, "--monitor", "east", "--utc", "state", "--at", at(-220)))
    assert t[VPNS] == rows((1, "red", "239.1.1.1", 2, 3, 0, 1, "mismatch", 2, 0), BLUE_VPN)
    assert t[PES] == rows(*RED_PES_BEFORE, BLUE_PE)
    assert t[CGPES] == rows(*STAR_G,
        ("red", "232.1.1.1", "10.1.1.1", "sg", "198.18.0.1", "downstream", "joined",
         "198.18.0.3", 1, "-", "239.1.1.1", 210),
        ("red", "232.1.1.1", "10.1.1.1", "sg", "198.18.0.3", "upstream", "joined",
         "198.18.0.1", 1, "-", "239.1.1.1", 210))
    assert t[FLOWS] == rows(("red", "225.1.1.1", "-", "default", "239.1.1.1", "-"),
                            ("red", "232.1.1.1", "10.1.1.1", "default", "239.1.1.1", "-"))


def test_state_at_a_checkpoint_two_joiners_one_upstream_row(store):
    """Two PEs join (S,G) through 198.18.0.3: one upstream row, joiners 2; its
    latest joiner's Other and hold time are not recorded, and differ."""
    t = sections(ok(*store, "--monitor", "east", "--utc", "state", "--at", at(0)))
    assert t[VPNS] == rows((1, "red", "239.1.1.1", 2, 3, 0, 1, "mismatch", 2, 1), BLUE_VPN)
    assert t[PES] == rows(*RED_PES_BEFORE, BLUE_PE)
    assert t[CGPES] == rows(*STAR_G,
        ("red", "232.1.1.1", "10.1.1.1", "sg", "198.18.0.1", "downstream", "joined",
         "198.18.0.3", 1, "-", "239.2.2.2", 210),
        ("red", "232.1.1.1", "10.1.1.1", "sg", "198.18.0.2", "downstream", "joined",
         "198.18.0.3", 1, "-", "239.2.2.2", 180),
        ("red", "232.1.1.1", "10.1.1.1", "sg", "198.18.0.3", "upstream", "joined", "-", 2,
         "-", "239.2.2.2", "-"))
    assert t[FLOWS] == rows(("red", "225.1.1.1", "-", "default", "239.1.1.1", "-"),
                            ("red", "232.1.1.1", "10.1.1.1", "data", "239.2.2.2", "198.18.0.3"))


def test_state_after_changes_that_follow_a_checkpoint(store):
    """T0+150: the intruder departed, 198.18.0.1 pruned; T0+300: the data MDT
    is gone and expected PE 198.18.0.2 is missing."""
    t = sections(ok(*store, "--monitor", "east", "--utc", "state", "--at", at(150)))
    assert t[VPNS] == rows((1, "red", "239.1.1.1", 2, 2, 0, 0, "match", 2, 1), BLUE_VPN)
    assert t[PES][2] == [str(c) for c in ("red", "198.18.0.66", "departed", "false", 105,
                                          "0x00000042", 1, "198.18.0.66", utc(-240))]
    assert t[CGPES][2:] == rows(
        ("red", "232.1.1.1", "10.1.1.1", "sg", "198.18.0.2", "downstream", "joined",
         "198.18.0.3", 1, "-", "239.2.2.2", 180),
        ("red", "232.1.1.1", "10.1.1.1", "sg", "198.18.0.3", "upstream", "joined",
         "198.18.0.2", 1, "-", "239.2.2.2", 180))

    t = sections(ok(*store, "--monitor", "east", "--utc", "state", "--at", at(300),
                    "--vpn", "red"))
    assert t[VPNS] == rows((1, "red", "239.1.1.1", 2, 1, 1, 0, "mismatch", 2, 0))
    assert [r[:4] for r in t[PES]] == rows(("red", "198.18.0.1", "active", "true"),
                                           ("red", "198.18.0.2", "missing", "true"),
                                           ("red", "198.18.0.66", "departed", "false"))
    assert [r[-2] for r in t[CGPES]] == ["239.1.1.1"] * 4
    assert t[FLOWS] == rows(("red", "225.1.1.1", "-", "default", "239.1.1.1", "-"),
                            ("red", "232.1.1.1", "10.1.1.1", "default", "239.1.1.1", "-"))


def test_state_text_is_aligned_exactly(store):
    out = ok(*store, "--monitor", "east", "--utc", "state", "--at", at(300), "--vpn",
             "2")
    assert out == (
        "State at 2026-12-01 02:05:00.000 UTC\n"
        "\n"
        "VPNs (mvpnVpnTable)\n"
        "Index  Name          Default MDT   Expected  Active  Missing  Unexpected  Config"
        "  C-groups  Data MDTs\n"
        f"    2  {BLUE}  ff3e::8000:1         1       1        0           0  match"
        "          0          0\n"
        "\n"
        "PEs (mvpnPeTable)\n"
        "VPN           PE           Status  Expected  Hold  Generation ID  DR priority"
        "  C-address    First seen\n"
        f"{BLUE}  2001:db8::5  active  true       105  0x00000009               1"
        "  2001:db8::5  2026-12-01 00:00:00.000 UTC\n"
        "\n"
        "C-group -> PE (mvpnCGroupPeTable)\n"
        "VPN  C-group  C-source  Kind  PE  Role  State  Other  Joiners  RP  P-group  Hold\n"
        "\n"
        "C-group -> P-group (mvpnCGroupPGroupTable)\n"
        "VPN  C-group  C-source  MDT  P-group  PE\n")


CHANGES_HEADER = ["Time", "VPN", "Kind", "PE", "C-source", "C-group", "P-group",
                  "Previous -> New"]
EAST_CHANGES = [
    (utc(-300), "red", "peUp", "198.18.0.2", "-", "-", "-",
     "(none) -> hold 105s genid 0x00000002 dr 1"),
    (utc(-240), "red", "peUp", "198.18.0.66", "-", "-", "-",
     "(none) -> hold 105s genid 0x00000042 dr 1"),
    (utc(-200), "red", "join", "198.18.0.2", "10.1.1.1", "232.1.1.1", "-",
     "(none) -> joined via 198.18.0.3 hold 180s"),
    (utc(-100), "red", "dataMdtUp", "-", "10.1.1.1", "232.1.1.1", "239.2.2.2",
     "(none) -> data MDT 239.2.2.2 from 198.18.0.3"),
    (utc(60), "red", "peDown", "198.18.0.66", "-", "-", "-",
     "hold 105s genid 0x00000042 dr 1 -> (none)"),
    (utc(120), "red", "prune", "198.18.0.1", "10.1.1.1", "232.1.1.1", "-",
     "joined via 198.18.0.3 hold 210s -> (none)"),
    (utc(180), "red", "dataMdtDown", "-", "10.1.1.1", "232.1.1.1", "239.2.2.2",
     "data MDT 239.2.2.2 from 198.18.0.3 -> (none)"),
    (utc(240), "red", "peDown", "198.18.0.2", "-", "-", "-",
     "hold 105s genid 0x00000002 dr 1 -> (none)"),
]


def table(out):
    lines = out.rstrip("\n").split("\n")
    return cells(lines[0]), [cells(line) for line in lines[1:]]


def test_changes_row_for_row(store):
    header, got = table(ok(*store, "--monitor", "east", "--utc", "changes",
                           "--since", at(-600)))
    assert header == CHANGES_HEADER
    assert got == rows(*EAST_CHANGES)


def test_changes_filtered_by_time_vpn_pe_and_kind(store):
    east = [*store, "--monitor", "east", "--utc", "changes"]
    # both ends included
    assert table(ok(*east, "--since", at(-240), "--until", at(60)))[1] == rows(
        *EAST_CHANGES[1:5])
    assert table(ok(*east, "--since", at(-600), "--kind", "peDown"))[1] == rows(
        EAST_CHANGES[4], EAST_CHANGES[7])
    assert table(ok(*east, "--since", at(-600), "--pe", "198.18.0.2"))[1] == rows(
        EAST_CHANGES[0], EAST_CHANGES[2], EAST_CHANGES[7])
    assert table(ok(*east, "--since", at(-600), "--vpn", "red", "--kind", "join"))[1] == rows(
        EAST_CHANGES[2])
    assert table(ok(*east, "--since", at(-600), "--vpn", BLUE))[1] == []


def test_two_monitors_merge_by_time_each_naming_its_own_red(store):
    """"red" is VPN 1 to east and VPN 7 to west: each is asked by name."""
    header, got = table(ok(*store, "--utc", "changes", "--since", at(0), "--vpn", "red"))
    assert header == CHANGES_HEADER[:1] + ["Monitor"] + CHANGES_HEADER[1:]
    west = (utc(90), "west", "red", "peDown", "198.51.100.1", "-", "-", "-",
            "hold 105s genid 0x00000003 dr 1 -> (none)")
    east = [(c[0], "east") + c[1:] for c in EAST_CHANGES[4:]]
    assert got == rows(east[0], west, *east[1:])

    t = sections(ok(*store, "--utc", "state", "--at", at(300), "--vpn", "red"))
    assert t[VPNS] == rows(("east", 1, "red", "239.1.1.1", 2, 1, 1, 0, "mismatch", 2, 0),
                           ("west", 7, "red", "239.7.7.7", 1, 0, 1, 0, "mismatch", 0, 0))
    assert t[PES][-1] == [str(c) for c in ("west", "red", "198.51.100.1", "missing", "true",
                                           105, "0x00000003", 1, "198.51.100.1", utc(-900))]


def test_pairs_window_by_window(store):
    header, got = table(ok(*store, "--monitor", "east", "--utc", "pairs", "--vpn",
                           "red", "--since", at(0)))
    assert header == ["Source PE", "Destination PE", "Window end", "Sent", "Received", "Lost",
                      "Loss %", "Delay min ms", "avg ms", "p99 ms", "Jitter ms", "Status"]
    assert got == rows(
        ("198.18.0.1", "198.18.0.2", utc(10), 1000, 990, 10, "1.00", "9.800", "10.013",
         "10.500", "0.120", "ok"),
        ("198.18.0.1", "198.18.0.2", utc(20), 1000, 900, 100, "10.00", "9.800", "12.000",
         "30.000", "0.900", "lossAlarm"),
        ("198.18.0.2", "198.18.0.1", utc(10), 1000, 1000, 0, "0.00", "9.700", "9.900",
         "10.100", "0.080", "ok"))
    _, got = table(ok(*store, "--monitor", "east", "--utc", "pairs", "--vpn", "red",
                      "--since", at(15), "--until", at(25)))
    assert [r[2] for r in got] == [utc(20)]


def test_json_state_changes_and_pairs(store):
    doc = json.loads(ok(*store, "--monitor", "east", "--json", "state", "--at", at(0)))
    assert doc["at"] == "2026-12-01T02:00:00Z" and doc["at_ns"] == T0 * 10**9
    assert [v["vpn"] for v in doc["vpns"]] == ["red", BLUE]  # the quote survives
    red = doc["vpns"][0]
    assert (red["active_pes"], red["unexpected_pes"], red["data_mdts"]) == (3, 1, 1)
    up = [r for r in doc["cgroup_pes"] if r["role"] == "upstream" and r["kind"] == "sg"]
    assert up == [{"monitor": "east", "vpn_index": 1, "vpn": "red", "c_group": "232.1.1.1",
                   "c_source": "10.1.1.1", "kind": "sg", "pe": "198.18.0.3",
                   "role": "upstream", "state": "joined", "other": None, "joiners": 2,
                   "rp": None, "p_group": "239.2.2.2", "hold_time": None}]
    pe = doc["pes"][0]
    assert pe["first_seen"] == "2026-12-01T01:00:00Z"
    assert pe["first_seen_ns"] == (T0 - 3600) * 10**9 and pe["generation_id"] == 1

    doc = json.loads(ok(*store, "--monitor", "east", "--json", "changes", "--since",
                        at(100), "--kind", "prune"))
    assert doc["until"] is None
    assert doc["changes"] == [{
        "monitor": "east", "seq": 106, "time": "2026-12-01T02:02:00Z",
        "time_ns": (T0 + 120) * 10**9, "vpn_index": 1, "vpn": "red", "kind": "prune",
        "pe": "198.18.0.1", "peer": None, "c_source": "10.1.1.1", "c_group": "232.1.1.1",
        "p_group": None, "previous": "joined via 198.18.0.3 hold 210s", "new": None}]

    doc = json.loads(ok(*store, "--monitor", "east", "--json", "pairs", "--vpn", "red",
                        "--since", at(0)))
    assert [(p["source"], p["destination"], len(p["windows"])) for p in doc["pairs"]] == [
        ("198.18.0.1", "198.18.0.2", 2), ("198.18.0.2", "198.18.0.1", 1)]
    w = doc["pairs"][0]["windows"][1]
    assert (w["lost"], w["loss_pct"], w["delay_p99_us"], w["status"]) == (
        100, 10, 30000, "lossAlarm")


def test_local_time_in_and_out(store):
    """Without a zone a TIME is local (TZ), and so are the times printed."""
    out = ok(*store, "--monitor", "east", "state", "--at", "2026-12-01 03:00",
             tz="Europe/Paris")
    assert out.startswith("State at 2026-12-01 03:00:00.000 CET\n")
    assert out.split("\n", 1)[1] == ok(*store, "--monitor", "east", "state", "--at",
                                       at(0), tz="Europe/Paris").split("\n", 1)[1]
    _, got = table(ok(*store, "--monitor", "east", "changes", "--since",
                      "2026-12-01T03:01:00+01:00", "--until", "2026-12-01 03:02",
                      tz="Europe/Paris"))
    assert [(r[0], r[2]) for r in got] == [("2026-12-01 03:01:00.000 CET", "peDown"),
                                           ("2026-12-01 03:02:00.000 CET", "prune")]


@pytest.mark.parametrize("args,status,message", [
    (["state", "--at", "2026-13-01"], 2, 'bad time "2026-13-01": no such month'),
    (["state", "--at", "2026-03-29 02:30"], 2, "does not exist in local time"),
    (["state", "--vpn", "green"], 1, 'no VPN "green" at'),
    (["changes", "--since", "-1h", "--kind", "joins"], 2, 'unknown kind "joins"'),
    (["changes", "--since", "-1h", "--pe", "198.18.0"], 2, "not an IPv4 or IPv6 address"),
    (["changes"], 2, "--since TIME is required"),
    (["changes", "--since", at(10), "--until", at(0)], 2, "is before --since"),
    (["pairs", "--vpn", "green", "--since", at(0)], 1, 'no VPN "green"'),
    (["--monitor", "north", "state"], 1, 'no monitor "north"'),
    (["state", "--colour"], 2, "unknown option --colour"),
    (["history"], 2, 'unknown command "history"'),
])
def test_errors_say_what_is_wrong(store, args, status, message):
    r = mvpnmon(*store, *args, tz="Europe/Paris")
    assert r.returncode == status, (r.stdout, r.stderr)
    assert message in r.stderr
    assert r.stdout == ""


def test_a_missing_or_corrupt_store_is_named(tmp_path):
    r = mvpnmon("--db", str(tmp_path / "absent.db"), "state")
    assert r.returncode == 1
    assert r.stderr == f"mvpnmon state: history store {tmp_path / 'absent.db'}: " \
                       "No such file or directory\n"
    bad = tmp_path / "corrupt.db"
    bad.write_bytes(b"this is not an SQLite database, whatever its name says\n" * 100)
    r = mvpnmon("--db", str(bad), "changes", "--since", "-1d")
    assert r.returncode == 1
    assert str(bad) in r.stderr and r.stdout == ""
