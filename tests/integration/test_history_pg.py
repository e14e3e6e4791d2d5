"""The PostgreSQL history backend (history/pg.c) against a real server.

Each test starts its own PostgreSQL (tests/tools/pgserver.py: initdb in a
temporary directory, postgres on a unix socket there, stopped by its pid) and
drives the backend through tests/tools/hist_pg_drive, one command a line, so
that the server can be stopped, started or cut off between two calls on one
connection.  Records come from tests/tools/hist_gen.h (every type, every
change kind, IPv4 and IPv6) and are compared as canonical lines.
"""
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from conftest import ONE_PASS, BUILD, TOP

sys.path.insert(0, os.path.join(TOP, "tests", "tools"))
import pgserver  # noqa: E402

DRIVE = os.path.join(BUILD, "tools", "hist_pg_drive")
T0 = 1_700_000_000_000_000_000  # 2023-11-14, ns
TYPES = {"change": 1, "alarm": 2, "config": 3, "pair": 4, "fault": 6}

pytestmark = pytest.mark.skipif(not pgserver.available(), reason="PostgreSQL is not installed")


class Drive:
    """One hist_pg_drive process: one backend connection."""

    def __init__(self, tmp, name="drive"):
        self.stderr = open(os.path.join(tmp, f"{name}.stderr"), "w")
        self.proc = subprocess.Popen([DRIVE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True, bufsize=1)

    def cmd(self, line, timeout=120):
        """(ok, the answer's text, the lines before it)."""
        self.send(line)
        return self.answer(line, timeout)

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def answer(self, line, timeout=120):
        lines = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.proc.stdout.readline()
            assert out, f"hist_pg_drive exited {self.proc.poll()} after {line!r}"
            out = out.rstrip("\n")
            if out.startswith("ok ") or out.startswith("err "):
                return out.startswith("ok "), out.split(" ", 1)[1], lines
            lines.append(out)
        raise AssertionError(f"no answer to {line!r}")

    def ok(self, line):
        ok, text, lines = self.cmd(line)
        assert ok, f"{line!r}: {text}"
        return lines

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(60)
        self.stderr.close()
        with open(self.stderr.name) as f:
            err = f.read()
        for mark in ("runtime error:", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer"):
            assert mark not in err, err[:4000]
        assert self.proc.returncode == 0, err[-2000:]


@pytest.fixture(scope="module")
def pg_server():
    server = pgserver.PgServer(settings={"fsync": "off"})
    server.start()
    yield server
    server.cleanup()


class Database:
    """A database of its own on the module's server (initdb once, not per test)."""

    def __init__(self, server, name):
        self.server, self.name = server, name
        self.dir, self.port = server.dir, server.port

    def conninfo(self, dbname=None, user=pgserver.SUPERUSER):
        return self.server.conninfo(dbname=dbname or self.name, user=user)

    def psql(self, sql):
        return self.server.psql(sql, db=self.name)

    def stop(self):
        self.server.stop()

    def start(self):
        self.server.start()


@pytest.fixture
def pg(pg_server, request):
    if not pg_server.running():
        pg_server.start()
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50].lower()
    pg_server.psql(f"CREATE DATABASE {name}", db="postgres")
    yield Database(pg_server, name)
    if not pg_server.running():
        pg_server.start()
    pg_server.psql(f"DROP DATABASE {name} WITH (FORCE)", db="postgres")


@pytest.fixture
def drives(tmp_path):
    started = []

    def start(name="drive"):
        d = Drive(str(tmp_path), f"{name}{len(started)}")
        started.append(d)
        return d
    yield start
    for d in started:
        d.close()


def expected(drive, monitor, gen):
    """The batch `gen` (SEED N FIRST_SEQ T0 CP) as lines stamped with monitor, by
    type; "next" is the seq after its last change."""
    ok, text, _ = drive.cmd(f"gen {gen}")
    assert ok, text
    by = {"next": int(text.split(" ")[1])}
    for line in drive.ok("expect"):
        kind = line.split(" ")[2]
        by.setdefault(kind, []).append(monitor + line[1:])
    return by


def read(drive, what, monitor="-", *filters):
    return drive.ok(" ".join(["read", str(TYPES[what]), monitor, *map(str, filters)]))


def segments(line):
    """A state or checkpoint line as the set of its rows: the store gives rows
    sorted by VPN and SNMP index, the generator in its own order."""
    head, *rows = line.split(" | ")
    return head, sorted(rows)


def state(drive, monitor, t, vpn=0):
    ok, text, lines = drive.cmd(f"state {monitor} {t} {vpn}")
    assert ok, text
    return segments(lines[0]) if lines else None


def seqs(lines):
    return [int(line.split(" seq=")[1].split(" ")[0]) for line in lines]


def test_every_record_type_is_read_back_exactly(pg, drives):
    """Every change kind, alarms, configuration loads, pair windows and
    checkpoints, IPv4 and IPv6, NULL and present values: read back field for
    field, changes in seq order."""
    d = drives()
    d.ok(f"open pg red {pg.conninfo()}")
    want = expected(d, "red", f"7 600 1 {T0} 100")
    d.ok("write")
    for what in TYPES:
        got = read(d, what)
        assert sorted(got) == sorted(want[what]), what
        assert len(got) == len(want[what]) > 0
    assert seqs(read(d, "change")) == sorted(seqs(want["change"]))
    kinds = {int(line.split(" kind=")[1].split(" ")[0]) for line in want["change"]}
    assert kinds == set(range(1, 15))
    # The state at a checkpoint's time is that checkpoint, row for row.
    for cp in want["checkpoint"]:
        t = int(cp.split(" ")[1][2:])
        assert state(d, "red", t) == segments(cp)
        assert state(d, "red", t + 1) == segments(cp.replace(f" t={t} ", f" t={t + 1} "))
    ok, text, _ = d.cmd(f"state red {T0 - 1}")
    assert ok and text == "1"  # nothing at or before


def test_postgresql_and_sqlite_give_the_same_history(pg, drives, tmp_path):
    """The same records into both backends: every read and the state at any
    time (a checkpoint plus the changes after it, through state.c) agree."""
    dp, ds = drives("pg"), drives("sqlite")
    dp.ok(f"open pg red {pg.conninfo()}")
    ds.ok(f"open sqlite red {tmp_path / 'history.db'}")
    want = expected(dp, "red", f"13 3000 1 {T0} 400")
    expected(ds, "red", f"13 3000 1 {T0} 400")
    dp.ok("write")
    ds.ok("write")
    for what in TYPES:
        assert read(dp, what) == read(ds, what), what
        assert read(dp, what, "red", T0 + 500_000, T0 + 1_500_000) == \
            read(ds, what, "red", T0 + 500_000, T0 + 1_500_000), what
    times = [T0 + k * 97_000 for k in range(0, 30)]
    times += [int(c.split(" ")[1][2:]) + 2_000 for c in want["checkpoint"]]
    for t in times:
        assert state(dp, "red", t) == state(ds, "red", t), t
        assert state(dp, "red", t, 3) == state(ds, "red", t, 3), t
    assert state(dp, "red", times[-1])[1]  # not empty
    # The first checkpoint at or after a time: at a checkpoint's own time, itself.
    cps = sorted(int(c.split(" ")[1][2:]) for c in want["checkpoint"])
    for t in times + cps + [cps[-1] + 1]:
        got = dp.cmd(f"next red {t}")
        assert got == ds.cmd(f"next red {t}"), t
        assert got[1] == str(min((c for c in cps if c >= t), default="none")), (t, got)


def test_reads_filter_by_time_vpn_kind_and_pe(pg, drives):
    d = drives()
    d.ok(f"open pg red {pg.conninfo()}")
    want = expected(d, "red", f"11 2000 1 {T0} 250")
    d.ok("write")
    changes = want["change"]
    t = lambda line: int(line.split(" ")[1][2:])  # noqa: E731
    since, until = t(changes[300]), t(changes[900])
    got = read(d, "change", "red", since, until)
    assert got == sorted((c for c in changes if since <= t(c) <= until), key=lambda c: seqs([c]))
    vpn = changes[5].split(" vpn=")[1].split(" ")[0]
    got = read(d, "change", "-", 0, 2**64 - 1, vpn, 0)
    assert got and all(f" vpn={vpn} " in line for line in got)
    assert len(got) == sum(f" vpn={vpn} " in c for c in changes)
    got = read(d, "change", "-", 0, 2**64 - 1, 0, 5)
    assert len(got) == sum(" kind=5 " in c for c in changes) > 0
    pe = changes[10].split(" pe=")[1].split(" ")[0]
    got = read(d, "change", "-", 0, 2**64 - 1, 0, 0, pe)
    assert got and all(f" pe={pe} " in line or f" peer={pe} " in line for line in got)
    alarms = read(d, "alarm", "-", 0, 2**64 - 1, 0, 0, want["alarm"][0].split(" addr=")[1].split(" ")[0])
    assert want["alarm"][0] in alarms


def test_reads_by_time_are_exact_at_every_block_edge(pg, drives):
    """Changes are stored in blocks (a batch's run, at most 1,024, cut at each
    checkpoint): a read by time gives exactly the changes in range, in seq
    order, whatever block edge its ends fall on; psql's changes view gives
    the same rows."""
    d = drives()
    d.ok(f"open pg red {pg.conninfo()}")
    changes, seq = [], 1
    for k, (n, cp) in enumerate([(3000, 0), (7, 0), (900, 300), (1500, 0), (1, 0)]):
        got = expected(d, "red", f"{40 + k} {n} {seq} {T0} {cp}")
        seq = got.pop("next")
        changes += got.get("change", [])
        d.ok("write")
    changes.sort(key=lambda c: seqs([c]))
    t = lambda line: int(line.split(" ")[1][2:])  # noqa: E731
    at = {s: c for s, c in zip(seqs(changes), changes)}
    blocks = [tuple(map(int, line.split("|"))) for line in pg.psql(
        "SELECT first_seq, last_seq, n FROM change_blocks ORDER BY first_seq").split()]
    assert len(blocks) >= 8 and max(n for _, _, n in blocks) == 1024
    assert sum(n for _, _, n in blocks) == len(changes)
    assert all(a[1] < b[0] for a, b in zip(blocks, blocks[1:]))  # disjoint, in order
    edges = sorted({s for first, last, _ in blocks for s in (first, last) if s in at})
    for lo, hi in zip(edges, edges[1:] + edges[-1:]):
        for since, until in ((t(at[lo]), t(at[hi])), (t(at[lo]) + 1, t(at[hi]) - 1)):
            got = read(d, "change", "red", since, until)
            assert got == [c for c in changes if since <= t(c) <= until], (lo, hi)
    assert read(d, "change", "red") == changes
    view = pg.psql("SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM changes")
    assert view.strip() == f"{len(changes)}|{len(changes)}|{seqs(changes)[0]}|{seqs(changes)[-1]}"


def test_a_store_of_schema_version_1_is_refused(pg, drives):
    """Version 1 stored a row per change; this one reads blocks only, and says
    so rather than writing blocks beside the old rows."""
    pg.psql("CREATE TABLE meta(key text PRIMARY KEY, value text NOT NULL);"
            " INSERT INTO meta VALUES ('schema_version', '1')")
    d = drives()
    for how in ("open pg red", "open-ro pg"):
        ok, text, _ = d.cmd(f"{how} {pg.conninfo()}")
        assert not ok and "refusing the store: its schema is version 1" in text, text
        assert "neither reads nor converts" in text, text


def test_two_monitors_write_to_one_server_and_a_reader_sees_both(pg, drives):
    red, blue, client = drives("red"), drives("blue"), drives("client")
    red.ok(f"open pg red {pg.conninfo()}")
    blue.ok(f"open pg blue {pg.conninfo()}")
    # The same seqs and times in both: each monitor's history is its own.
    want_red = expected(red, "red", f"1 300 1 {T0} 0")
    want_blue = expected(blue, "blue", f"2 300 1 {T0} 0")
    red.ok("write")
    blue.ok("write")
    client.ok(f"open-ro pg {pg.conninfo()}")
    assert client.ok("monitors") == ["blue", "red"]
    got = read(client, "change")
    assert got == sorted(want_blue["change"], key=lambda c: seqs([c])) + \
        sorted(want_red["change"], key=lambda c: seqs([c]))  # monitor by monitor, in name order
    assert read(client, "change", "red") == sorted(want_red["change"], key=lambda c: seqs([c]))
    assert sorted(read(client, "alarm")) == sorted(want_red["alarm"] + want_blue["alarm"])
    # The state at T is one monitor's: named, or an error naming them.
    ok, text, _ = client.cmd(f"state - {T0 + 10**9}")
    assert not ok and "2 monitors wrote here (blue, red): name one" in text, text
    assert state(client, "red", T0 + 10**9) and state(client, "blue", T0 + 10**9)
    # The client never writes.
    client.ok(f"gen 3 10 1 {T0} 0")
    ok, text, _ = client.cmd("write")
    assert not ok and "read-only" in text


def test_read_only_open_of_an_empty_database_says_so(pg, drives):
    d = drives()
    ok, text, _ = d.cmd(f"open-ro pg {pg.conninfo()}")
    assert not ok and "no mvpnmon schema" in text, text


def test_a_refused_login_is_a_clear_error(pg, drives):
    d = drives()
    ok, text, _ = d.cmd(f"open pg red {pg.conninfo(user='intruder')} password=s3cret")
    assert not ok
    assert text.startswith(f'postgresql store "{pg.name}" on {pg.dir}:') and "cannot connect" in text, text
    assert 'role "intruder" does not exist' in text, text
    assert "s3cret" not in text and "\n" not in text
    ok, text, _ = d.cmd(f"open pg red {pg.conninfo(dbname='nosuchdb')}")
    assert not ok and 'database "nosuchdb" does not exist' in text, text


def test_the_server_down_fails_a_batch_cleanly_and_the_retry_lands_once(pg, drives):
    d = drives()
    d.ok(f"open pg red {pg.conninfo()}")
    first = expected(d, "red", f"3 200 1 {T0} 0")
    d.ok("write")
    pg.stop()
    second = expected(d, "red", f"4 200 {first['next']} {T0} 50")
    ok, text, _ = d.cmd("write")
    assert not ok and "postgresql store" in text, text
    assert "terminat" in text or "connect" in text or "closed" in text, text
    ok, again, _ = d.cmd("write")  # still down: a clear error each time, no hang
    assert not ok and "cannot connect" in again and "No such file or directory" in again, again
    time.sleep(2)
    pg.start()
    d.ok("write")
    got = read(d, "change")
    assert sorted(got) == sorted(first["change"] + second["change"])
    assert len(set(seqs(got))) == len(got)
    assert sorted(read(d, "alarm")) == sorted(first["alarm"] + second["alarm"])
    assert pg.psql("SELECT count(*) FROM checkpoints").strip() == str(len(second["checkpoint"]))


def test_a_change_already_stored_is_skipped_not_an_error(pg, drives):
    """backend.h: a change whose (monitor, seq) is stored is skipped, so that a
    batch sent again never fails forever on its first row."""
    d = drives()
    d.ok(f"open pg red {pg.conninfo()}")
    want = expected(d, "red", f"12 200 1 {T0} 0")
    d.ok("write")
    d.ok("write")
    assert sorted(read(d, "change")) == sorted(want["change"])
    # A new connection knows it too (the monitor's last seq is stored).
    d.ok(f"open pg red {pg.conninfo()}")
    d.ok("write")
    assert len(read(d, "change")) == len(want["change"])


def test_absent_server_at_open(pg, drives):
    pg.stop()
    d = drives()
    ok, text, _ = d.cmd(f"open pg red {pg.conninfo()}")
    assert not ok and "cannot connect" in text and pg.dir in text, text


class CuttingProxy:
    """A unix-socket relay in front of the server that can cut a session at
    its COMMIT: before forwarding it ('before': the server rolls back), or
    just after ('after': the server commits, the answer is lost)."""

    def __init__(self, server):
        self.server = os.path.join(server.dir, f".s.PGSQL.{server.port}")
        self.dbname = server.name
        self.dir = tempfile.mkdtemp(prefix="mvpnmon-pgproxy-")
        self.port = server.port
        self.cut = None
        self.cuts = 0
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(os.path.join(self.dir, f".s.PGSQL.{self.port}"))
        self.listener.listen(8)
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def conninfo(self):
        return f"host={self.dir} port={self.port} dbname={self.dbname} user={pgserver.SUPERUSER}"

    def _accept(self):
        while not self.stopping:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.server)
            threading.Thread(target=self._relay, args=(client, upstream), daemon=True).start()

    def _relay(self, client, upstream):
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ, "c")
        sel.register(upstream, selectors.EVENT_READ, "s")
        pending = b""
        started = False  # the startup message has no type byte
        try:
            while True:
                for key, _ in sel.select():
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    if key.data == "s":
                        client.sendall(data)
                        continue
                    pending += data
                    while True:  # whole client messages only
                        head = 4 if not started else 5
                        if len(pending) < head:
                            break
                        length = int.from_bytes(pending[head - 4:head], "big")
                        size = length + (head - 4)
                        if len(pending) < size:
                            break
                        msg, pending = pending[:size], pending[size:]
                        started = True
                        if self.cut and msg[:1] == b"Q" and msg[5:] == b"COMMIT\0":
                            mode, self.cut = self.cut, None
                            self.cuts += 1
                            if mode == "after":
                                upstream.sendall(msg)
                            return
                        upstream.sendall(msg)
        except OSError:
            return
        finally:
            client.close()
            upstream.close()

    def close(self):
        self.stopping = True
        self.listener.close()
        pgserver.shutil.rmtree(self.dir, ignore_errors=True)


@pytest.mark.parametrize("cut", ["after", "before"])
def test_a_batch_whose_commit_answer_was_lost_lands_exactly_once(pg, drives, cut):
    """The connection drops at COMMIT: after the server got it (it commits,
    the answer never comes) or before (it rolls back).  The backend cannot
    know which; the same batch sent again must be stored exactly once."""
    proxy = CuttingProxy(pg)
    try:
        d = drives()
        d.ok(f"open pg red {proxy.conninfo()}")
        first = expected(d, "red", f"5 100 1 {T0} 0")
        d.ok("write")
        second = expected(d, "red", f"6 300 {first['next']} {T0} 60")
        proxy.cut = cut
        ok, text, _ = d.cmd("write")
        assert not ok and "connection lost at COMMIT" in text, text
        assert proxy.cuts == 1
        committed = pg.psql("SELECT count(*) FROM changes").strip()
        assert committed == str(len(first["change"]) + (len(second["change"]) if cut == "after" else 0))
        d.ok("write")  # the writer's retry: the same records
        got = read(d, "change")
        assert sorted(got) == sorted(first["change"] + second["change"])
        for what in ("alarm", "config", "pair", "fault"):
            assert sorted(read(d, what)) == sorted(first.get(what, []) + second.get(what, [])), what
        assert pg.psql("SELECT count(*) FROM checkpoints").strip() == str(len(second["checkpoint"]))
        # A retry that carries more than the batch in doubt (the writer merged
        # what came meanwhile): the rest is written, the rest only.
        proxy.cut = cut
        third = expected(d, "red", f"8 100 {second['next']} {T0} 0")
        assert not d.cmd("write")[0]
        more = expected(d, "red", f"8 150 {second['next']} {T0} 0")
        d.ok("write")
        got = read(d, "change")
        assert sorted(got) == sorted(first["change"] + second["change"] + more["change"])
        assert len(third["change"]) < len(more["change"])
        assert sorted(read(d, "alarm")) == sorted(first["alarm"] + second["alarm"] + more["alarm"])
    finally:
        proxy.close()


def test_retention_by_age_keeps_the_checkpoint_before_what_it_keeps(pg, drives):
    d = drives()
    d.ok(f"open pg red {pg.conninfo()}")
    want = expected(d, "red", f"9 1000 1 {T0} 100")
    d.ok("write")
    cps = [int(c.split(" ")[1][2:]) for c in want["checkpoint"]]
    before = cps[4] + 10  # between the 5th and 6th checkpoints
    ok, n, _ = d.cmd(f"prune {before} 0 0")
    assert ok and int(n) > 0
    cp_seq = int(want["checkpoint"][4].split(" last_seq=")[1].split(" ")[0])
    left = read(d, "change")
    assert left and min(seqs(left)) == cp_seq + 1
    cp = want["checkpoint"][4]
    assert state(d, "red", before) == segments(cp.replace(f" t={cps[4]} ", f" t={before} "))
    ok, text, _ = d.cmd(f"state red {cps[3]}")
    assert ok and text == "1"  # older checkpoints and their changes went
    alarms = read(d, "alarm")
    assert alarms and all(int(a.split(" ")[1][2:]) >= before for a in alarms)
    # Bounded steps: at most max_rows each.
    ok, n, _ = d.cmd(f"prune {cps[7]} 0 10")
    assert ok and int(n) == 10


def test_retention_by_size_goes_an_interval_at_a_time(pg, drives):
    d = drives()
    d.ok(f"open pg red {pg.conninfo()}")
    want = expected(d, "red", f"10 1000 1 {T0} 100")
    d.ok("write")
    pg.psql("ANALYZE")
    before = len(read(d, "change"))
    ok, n, _ = d.cmd("prune 0 1 0")  # 1 byte: over the limit, the oldest interval goes
    assert ok and int(n) > 0
    cp_seq = int(want["checkpoint"][1].split(" last_seq=")[1].split(" ")[0])
    left = read(d, "change")
    assert min(seqs(left)) == cp_seq + 1 and len(left) < before
    ok, n, _ = d.cmd("prune 0 1000000000 0")  # under the limit: nothing
    assert ok and n == "0"


def stats(drive):
    ok, text, lines = drive.cmd("wstats")
    assert ok, text
    q, persisted, dropped, failures, store_ok, losing = map(int, text.split())
    return dict(queued=q, persisted=persisted, dropped=dropped, failures=failures,
                store_ok=bool(store_ok), losing=bool(losing), error=lines[0] if lines else "")


def wait_stats(drive, pred, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        st = stats(drive)
        if pred(st) or time.monotonic() > deadline:
            return st
        time.sleep(0.1)


def put_batches(drive, seed, n, first_seq, count, every_s=0.0, cp=0):
    """count batches of n records into the writer, every_s apart; returns what
    they hold by type and the next seq."""
    want, seq = {}, first_seq
    for k in range(count):
        got = expected(drive, "red", f"{seed + k} {n} {seq} {T0} {cp}")
        seq = got.pop("next")
        for kind, lines in got.items():
            want.setdefault(kind, []).extend(lines)
        ok, text, _ = drive.cmd("wput")
        assert ok, text
        time.sleep(every_s)
    return want, seq


@ONE_PASS
def test_the_writer_keeps_what_comes_while_the_server_is_down_20s(pg, drives):
    """The issue's outage, at the writer: PostgreSQL stopped for 20 s while
    records keep coming.  Each flush fails with the server's reason, nothing
    is dropped below the queue cap, and when the server is back everything
    is written, exactly once."""
    w = drives("writer")
    w.ok(f"wstart pg red 100000 200 1000 {pg.conninfo()}")
    before, seq = put_batches(w, 100, 2000, 1, 1)
    assert wait_stats(w, lambda s: s["persisted"] == 2000)["persisted"] == 2000
    pg.stop()
    during, seq = put_batches(w, 200, 250, seq, 20, every_s=1.0, cp=100)
    st = stats(w)
    assert not st["store_ok"] and st["failures"] >= 5 and st["dropped"] == 0, st
    assert st["queued"] == 20 * 250 and st["persisted"] == 2000, st
    assert "postgresql store" in st["error"] and pg.dir in st["error"], st
    pg.start()
    st = wait_stats(w, lambda s: s["queued"] == 0)
    assert st["store_ok"] and st["persisted"] == 2000 + 20 * 250 and st["dropped"] == 0, st
    w.ok("wstop 5000")
    r = drives("reader")
    r.ok(f"open-ro pg {pg.conninfo()}")
    for what in TYPES:
        assert sorted(read(r, what)) == sorted(before.get(what, []) + during.get(what, [])), what
    assert pg.psql("SELECT count(*) FROM checkpoints").strip() == str(len(during["checkpoint"]))


def test_the_writer_drops_beyond_its_cap_and_says_when_it_stops_losing(pg, drives):
    w = drives("writer")
    w.ok(f"wstart pg red 500 200 100 {pg.conninfo()}")
    pg.stop()
    put_batches(w, 300, 200, 1, 5)
    st = wait_stats(w, lambda s: s["losing"])
    assert st["queued"] == 500 and st["dropped"] == 500 and st["losing"], st
    assert "cannot connect: No such file or directory" in st["error"], st
    pg.start()
    st = wait_stats(w, lambda s: s["queued"] == 0 and not s["losing"])
    assert st["persisted"] == 500 and st["dropped"] == 500 and not st["losing"], st
    w.ok("wstop 5000")
    got = int(pg.psql("SELECT (SELECT count(*) FROM changes) + (SELECT count(*) FROM alarms)"
                      " + (SELECT count(*) FROM configs) + (SELECT count(*) FROM pair_windows)"
                      " + (SELECT count(*) FROM faults)"))
    assert got == 500


def test_two_writers_at_once_each_under_its_own_name(pg, drives):
    """Two monitors start together on an empty database (the schema is made
    once, under an advisory lock) and write at the same time."""
    a, b = drives("a"), drives("b")
    a.send(f"wstart pg east 100000 100 2000 {pg.conninfo()}")
    b.send(f"wstart pg west 100000 100 2000 {pg.conninfo()}")
    for w in (a, b):
        ok, text, _ = w.answer("wstart")
        assert ok, text
    want = {}
    for name, w, seed in (("east", a, 500), ("west", b, 600)):
        got, _ = put_batches(w, seed, 10000, 1, 1, cp=2500)
        want[name] = got
    for w in (a, b):
        assert wait_stats(w, lambda s: s["queued"] == 0)["persisted"] == 10000
        w.ok("wstop 5000")
    r = drives("reader")
    r.ok(f"open-ro pg {pg.conninfo()}")
    assert r.ok("monitors") == ["east", "west"]
    for name in want:
        got = read(r, "change", name)
        assert got == sorted((line.replace("red ", f"{name} ", 1) for line in want[name]["change"]),
                             key=lambda c: seqs([c]))
