"""mvpnmon report: one VPN over a period as one HTML page, checked in a browser.

A real mvpnmond writes the history: the replay of passive.pcap (scapy-made,
tests/fixtures/gen_fixtures.py) for the PEs coming and going, and a probing run
against the PE emulator whose pair 1 -> 2 starts losing 20 % half-way (a loss
step) for the pair windows.  The real `mvpnmon report` makes the page; headless
Chromium (Debian's chromium) renders it to a screenshot, kept as an artifact,
and dumps the DOM it built.  What the page plots (its data-* attributes) must
be what the SQLite file holds, read here with Python's sqlite3 and decoded per
history/schema.md, not through mvpnmon.
"""
import html.parser
import ipaddress
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import time
import zlib

import pytest

from conftest import ONE_PASS, BUILD, serving, wait_for
from test_history import replay
from test_probe import Scenario, lab, pe, start_emulator  # noqa: F401 (lab: a fixture)

MVPNMON = os.path.join(BUILD, "mvpnmon")
CHROMIUM = shutil.which("chromium")
ARTIFACTS = os.environ.get("MVPN_ARTIFACTS") or os.path.join(BUILD, "artifacts", "report")
NS = 10**9
PE_KINDS = (1, 2, 3, 4, 14)  # peUp, peDown, peRestart, peChange, peReclaimed
STATUS = {1: "active", 2: "missing", 3: "unexpected", 4: "departed"}

needs_chromium = pytest.mark.skipif(CHROMIUM is None,
                                    reason="no chromium here (make deps installs Debian's)")


# ---- the history, read and decoded here (history/schema.md) ----

class Blob:
    def __init__(self, data):
        self.b, self.i = bytes(data), 0

    def take(self, n):
        assert self.i + n <= len(self.b), "short blob"
        out = self.b[self.i:self.i + n]
        self.i += n
        return out

    def u8(self):
        return self.take(1)[0]

    def varint(self):
        v, shift = 0, 0
        while True:
            byte = self.u8()
            v |= (byte & 0x7f) << shift
            shift += 7
            if not byte & 0x80:
                return v

    def taddr(self):
        kind = self.u8()
        return str(ipaddress.ip_address(self.take({0: 0, 1: 4, 2: 16}[kind]))) if kind else ""

    def pe_value(self):
        """Kinds 1-4: flags, hold time, generation ID, DR priority, C-address: alive."""
        flags = self.u8()
        self.varint()
        if flags & 2:
            self.take(4)
        self.varint()
        self.taddr()
        return bool(flags & 1)


def checkpoint_pes(body, vpn):
    """The VPN's PE rows of a checkpoint body: {address: [expected, alive]}."""
    b = Blob(body)
    assert b.take(4) == b"MVCK" and b.u8() == 1
    b.take(1 + 8)
    n_vpns, n_pes = struct.unpack(">II", b.take(8))
    b.take(8)
    for _ in range(n_vpns):
        b.varint()
        b.take(b.u8())
        b.taddr()
        b.varint()
    pes = {}
    for _ in range(n_pes):
        v, addr, expected, present = b.varint(), b.taddr(), b.u8(), b.u8()
        alive = b.pe_value() if present else False
        b.varint()  # first seen
        if v == vpn:
            pes[addr] = [bool(expected), alive]
    return pes


class History:
    def __init__(self, path):
        self.con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        (self.monitor,), = self.con.execute("SELECT id FROM monitors").fetchall()

    def vpn_index(self, name):
        """From the newest checkpoint: the VPN of that name."""
        body, = self.con.execute("SELECT body FROM checkpoints ORDER BY when_ns DESC LIMIT 1"
                                 ).fetchone()
        b = Blob(body)
        b.take(14)
        n_vpns = struct.unpack(">I", b.take(4))[0]
        b.take(12)
        for _ in range(n_vpns):
            index, text = b.varint(), b.take(b.u8()).decode()
            b.taddr()
            b.varint()
            if text == name:
                return index
        raise KeyError(name)

    def pe_changes(self, vpn, after_seq=0, since=0, until=2**63 - 1):
        return self.con.execute(
            f"SELECT seq, when_ns, kind, pe, cur FROM changes WHERE monitor = ? AND vpn = ? AND "
            f"kind IN {PE_KINDS} AND seq > ? AND when_ns BETWEEN ? AND ? ORDER BY seq",
            (self.monitor, vpn, after_seq, since, until)).fetchall()

    def state_at(self, vpn, t):
        """{PE: [expected, alive]} at t: the checkpoint at or before, then the changes."""
        row = self.con.execute("SELECT last_seq, body FROM checkpoints WHERE monitor = ? AND "
                               "when_ns <= ? ORDER BY when_ns DESC, last_seq DESC LIMIT 1",
                               (self.monitor, t)).fetchone()
        pes = checkpoint_pes(row[1], vpn) if row else {}
        for change in self.pe_changes(vpn, row[0] if row else 0, 0, t):
            fold(pes, change)
        return pes if row or pes else None

    def next_checkpoint(self, t):
        row = self.con.execute("SELECT min(when_ns) FROM checkpoints WHERE monitor = ? AND "
                               "when_ns >= ?", (self.monitor, t)).fetchone()
        return row[0]

    def loads(self, since, until):
        return [t for t, in self.con.execute(
            "SELECT when_ns FROM configs WHERE monitor = ? AND ok = 1 AND when_ns BETWEEN ? AND ?"
            " ORDER BY when_ns", (self.monitor, since, until))]

    def windows(self, vpn, since, until):
        return self.con.execute(
            "SELECT src, dst, when_ns, sent, received, lost, delay_avg_us, jitter_us "
            "FROM pair_windows WHERE monitor = ? AND vpn = ? AND when_ns BETWEEN ? AND ? "
            "ORDER BY src, dst, when_ns", (self.monitor, vpn, since, until)).fetchall()


def fold(pes, change):
    """A PE change on the rows, as the store's state does: a new row is
    unexpected, a row keeps its expected flag, no current value removes it."""
    _, _, kind, addr, cur = change
    addr = str(ipaddress.ip_address(bytes(addr)))
    if kind == 14 or cur is None:
        pes.pop(addr, None)
        return
    alive = Blob(cur).pe_value()
    pes.setdefault(addr, [False, alive])[1] = alive


def status(facts):
    if facts is None:
        return None
    expected, alive = facts
    return STATUS[(1 if alive else 2) if expected else (3 if alive else 4)]


def expected_timeline(h, vpn, since, until):
    """The segments (PE, status, from, to) the page must draw, and its lanes:
    the state at since, the PE changes after it, and the store's state again
    at the first checkpoint after each configuration load (or at the first
    one when nothing was recorded at since)."""
    start = h.state_at(vpn, since)
    rebases = [h.next_checkpoint(t) for t in h.loads(since, until)]
    if start is None:
        rebases.append(h.next_checkpoint(since))
    rebases = sorted(t for t in rebases if t is not None and t <= until)
    lanes, segs = {}, []

    def facts_now(pes, t):
        t = max(since, min(until, t))
        for addr in set(lanes) | set(pes):
            now = status(pes.get(addr))
            cur, began = lanes.get(addr, (None, since))
            if now == cur:
                continue
            if cur is not None and t > began:
                segs.append((addr, cur, began, t))
            lanes[addr] = (now, max(began, t))

    pes = start or {}
    facts_now(pes, since)
    for change in h.pe_changes(vpn, 0, since, until) + [None]:
        t = change[1] if change else 2**64
        while rebases and rebases[0] < t:
            at = rebases.pop(0)
            pes = h.state_at(vpn, at) or {}
            facts_now(pes, at)
        if change:
            lanes.setdefault(str(ipaddress.ip_address(bytes(change[3]))), (None, since))
            fold(pes, change)
            facts_now(pes, t)
    for addr, (cur, began) in lanes.items():
        if cur is not None and until > began:
            segs.append((addr, cur, began, until))
    return sorted(segs), sorted(lanes, key=ipaddress.ip_address)


def rounded(num, den):
    """num / den rounded half up, as the page's integers are."""
    return (2 * num + den) // (2 * den)


def expected_pairs(h, vpn, since, until):
    """Per pair: the windows' sums and the values a cell shows; and each window."""
    pairs = {}
    for src, dst, t, sent, received, lost, delay, jitter in h.windows(vpn, since, until):
        key = (str(ipaddress.ip_address(bytes(src))), str(ipaddress.ip_address(bytes(dst))))
        p = pairs.setdefault(key, {"windows": [], "sent": 0, "received": 0, "lost": 0,
                                   "delay": 0, "jitter": 0})
        p["windows"].append((t, sent, received, lost, delay, jitter))
        for k, v in (("sent", sent), ("received", received), ("lost", lost),
                     ("delay", delay * received), ("jitter", jitter * received)):
            p[k] += v
    for p in pairs.values():
        p["cell"] = {"data-windows": str(len(p["windows"])), "data-sent": str(p["sent"]),
                     "data-received": str(p["received"]), "data-lost": str(p["lost"])}
        if p["sent"]:
            p["cell"]["data-loss-ppm"] = str(rounded(p["lost"] * 10**6, p["sent"]))
        if p["received"]:
            p["cell"]["data-delay-us"] = str(rounded(p["delay"], p["received"]))
            p["cell"]["data-jitter-us"] = str(rounded(p["jitter"], p["received"]))
    return pairs


# ---- the page, as the browser sees it ----

class Dom(html.parser.HTMLParser):
    """What the dumped DOM plots: lane segments, matrix cells, chart points;
    and the page's title line (h1) as text."""

    def __init__(self, text):
        super().__init__()
        self.segs, self.lanes, self.cells, self.points, self.sections = [], [], {}, {}, []
        self.figure = self.metric = None
        self.h1, self.in_h1 = "", False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class", "")
        if tag == "rect" and cls == "seg":
            self.segs.append((a["data-pe"], a["data-status"], int(a["data-from-ns"]),
                              int(a["data-to-ns"])))
        elif tag == "g" and cls == "lane":
            self.lanes.append(a["data-pe"])
        elif tag == "g" and cls == "cell":
            self.cells[(a["data-src"], a["data-dst"])] = {
                k: v for k, v in a.items() if k.startswith("data-") and k not in
                ("data-src", "data-dst")}
        elif tag == "section":
            self.sections.append(a)
        elif tag == "figure":
            self.figure = (a["data-src"], a["data-dst"])
            self.points[self.figure] = {"loss": [], "delay": [], "jitter": []}
        elif tag == "g" and cls == "panel":
            self.metric = a["data-metric"]
        elif tag == "circle" and cls == "pt":
            self.points[self.figure][self.metric].append(a)
        self.in_h1 |= tag == "h1"

    def handle_endtag(self, tag):
        if tag == "figure":
            self.figure = None
        if tag == "h1":
            self.in_h1 = False

    def handle_data(self, data):
        if self.in_h1:
            self.h1 += data


def at(ns):
    """A TIME argument, to the nanosecond."""
    return f"@{ns // NS}.{ns % NS:09d}"


def report(db, vpn, since, until, *extra):
    return subprocess.run([MVPNMON, "--db", str(db), "--utc", *extra, "report", "--vpn", vpn,
                           "--since", at(since), "--until", at(until)],
                          capture_output=True, timeout=120)


def self_contained(page):
    """No reference to anything outside the file."""
    text = page.decode()
    for pattern in (r"https?:", r"<link\b", r"<script\b", r"(?<![-\w])src\s*=", r"url\(", r"@import",
                    r"<iframe\b", r"<object\b", r"<embed\b", r"xlink:href", r"(?<![-\w])href\s*="):
        assert not re.search(pattern, text, re.I), pattern


def png_pixels(path):
    """(width, height, rows of RGB(A) bytes) of an 8-bit non-interlaced PNG."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, head = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
    width, height, depth, colour, _, _, interlace = head
    assert depth == 8 and colour in (2, 6) and interlace == 0, head
    bpp = 3 if colour == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 0xff
            elif f == 2:
                line[x] = (line[x] + b) & 0xff
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xff
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xff
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def render(tmp_path, name, page):
    """The page in headless Chromium: its screenshot (kept) and its DOM."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    html_path = os.path.join(ARTIFACTS, name + ".html")
    png = os.path.join(ARTIFACTS, name + ".png")
    with open(html_path, "wb") as f:
        f.write(page)
    if os.path.exists(png):
        os.unlink(png)
    base = [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1400,2000"]
    url = "file://" + html_path
    r = subprocess.run(base + [f"--screenshot={png}", url], capture_output=True, timeout=120)
    assert os.path.exists(png), r.stderr.decode(errors="replace")[-2000:]
    width, height, bpp, rows = png_pixels(png)
    assert (width, height) == (1400, 2000)
    # Not blank: many pixels that are not the background, in several colours.
    sample = [row[x:x + 3] for row in rows[::4] for x in range(0, width * bpp, 4 * bpp)]
    inked = [p for p in sample if p != b"\xff\xff\xff"]
    assert len(inked) > len(sample) // 50 and len(set(inked)) >= 5, (len(inked), len(sample))
    dom = subprocess.run(base + ["--dump-dom", url], capture_output=True, timeout=120)
    assert dom.returncode == 0 and b"</html>" in dom.stdout, dom.stderr[-2000:]
    print(f"report screenshot: {png}")
    return Dom(dom.stdout.decode())


# ---- the passive history: PEs coming and going ----

@pytest.fixture
def passive_db(tmp_path, daemon, snmp):
    """passive.pcap replayed by mvpnmond into a history file, checkpoints every minute."""
    db = tmp_path / "history.db"
    expected = replay(daemon, snmp, "passive", str(db), "  checkpoint-interval = 60\n")
    daemon.stop()
    return db, expected


@needs_chromium
def test_the_pe_timeline_is_the_historys(passive_db, tmp_path):
    db, fixture = passive_db
    start = fixture["capture_start"] * NS
    since, until = start + 60 * NS, start + 300 * NS
    r = report(db, "red", since, until)
    assert r.returncode == 0, r.stderr
    assert r.stderr == b""
    self_contained(r.stdout)
    dom = render(tmp_path, "report-passive", r.stdout)
    h = History(db)
    vpn = h.vpn_index("red")
    want, lanes = expected_timeline(h, vpn, since, until)
    assert sorted(dom.segs) == want
    assert sorted(dom.lanes) == lanes
    # What the capture did to red in that period, as its generator says.
    by_pe = {}
    for p, st, _, _ in want:
        by_pe.setdefault(p, []).append(st)
    assert by_pe["198.18.0.3"] == ["active", "missing"]
    assert by_pe["198.18.0.66"] == ["unexpected"]
    assert by_pe["198.18.0.5"] == ["missing"]
    assert dom.sections[0]["data-empty"] == "false"
    assert dom.h1 == "VPN red"


def test_an_empty_period_says_so_and_an_unknown_vpn_fails(passive_db):
    db, fixture = passive_db
    after = (fixture["capture_start"] + 400) * NS
    r = report(db, "red", after, after + 60 * NS)
    assert r.returncode == 0, r.stderr
    page = r.stdout.decode()
    assert 'data-empty="true"' in page and "Nothing was recorded for this VPN" in page
    self_contained(r.stdout)
    r = report(db, "no<such>vpn", after, after + 60 * NS)
    assert r.returncode == 1 and r.stdout == b""
    assert r.stderr == b'mvpnmon report: no VPN "no<such>vpn" between --since and --until\n'


def test_names_from_the_store_are_escaped(tmp_path):
    """A VPN name with markup in it is text on the page, never markup."""
    db = tmp_path / "history.db"
    t0 = 1796090400
    name = 'r<b>"&\'\u00e9'
    timeline = (f"monitor m\nvpn 1 {name} 239.1.1.1 expected=1\n"
                f"pe 1 198.18.0.1 expected=1 genid=1 first={t0 - 60}\ncheckpoint {t0} 0\n")
    w = subprocess.run([os.path.join(BUILD, "tools", "hist_write"), str(db)], input=timeline,
                       capture_output=True, text=True, timeout=60)
    assert w.returncode == 0, w.stderr
    r = report(db, "1", t0 * NS, (t0 + 60) * NS)
    assert r.returncode == 0, r.stderr
    page = r.stdout.decode()
    assert "<b>" not in page
    assert "r&lt;b&gt;&quot;&amp;&#39;\u00e9" in page
    assert Dom(page).h1 == "VPN " + name


# ---- the probing history: pair windows with a loss step ----

@ONE_PASS
@needs_chromium
def test_the_pair_matrix_and_charts_are_the_historys(lab, tmp_path, daemon, snmp):  # noqa: F811
    s = Scenario(3)
    for i in range(1, 4):
        s.up[i] = s.down[i] = 1.0
        for j in range(1, 4):
            if i != j:
                s.pair[(i, j)] = 5.0
    s.pair_loss[(1, 2)] = 20.0
    db = tmp_path / "history.db"

    def windows():
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                return con.execute("SELECT count(*) FROM pair_windows").fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error:
            return 0

    emu = start_emulator(lab, tmp_path, s)
    try:
        assert emu.reload(s.emulator_conf(lossless=True))["ev"] == "reload"
        conf = s.monitor_conf(50).replace("window = 120", "window = 2")
        conf = conf.replace("{iface}", lab["monitor_if"])
        daemon.write_config(conf + f'history {{\n file = "{db}"\n flush-interval = 100\n}}\n')
        daemon.start(netns=lab["monitor"])
        assert wait_for(lambda: serving(snmp), 30), daemon.log_text()
        assert wait_for(lambda: windows() >= 6 * 4, 60, interval=0.3), daemon.log_text()
        step = time.time_ns()
        assert emu.reload(s.emulator_conf())["ev"] == "reload"  # the loss step
        assert wait_for(lambda: windows() >= 6 * 9, 60, interval=0.3), daemon.log_text()
    finally:
        daemon.stop()
        emu.stop()
    h = History(db)
    first, last = h.con.execute("SELECT min(when_ns), max(when_ns) FROM pair_windows").fetchone()
    since, until = first - NS, last + NS
    r = report(db, "red", since, until)
    assert r.returncode == 0, r.stderr
    self_contained(r.stdout)
    dom = render(tmp_path, "report-probe", r.stdout)
    pairs = expected_pairs(h, h.vpn_index("red"), since, until)
    assert len(pairs) == 6
    for key, p in pairs.items():
        assert dom.cells[key] == p["cell"], key
        points = dom.points[key]
        assert [int(a["data-t-ns"]) for a in points["loss"]] == \
            [t for t, sent, *_ in p["windows"] if sent]
        assert [int(a["data-loss-ppm"]) for a in points["loss"]] == \
            [rounded(lost * 10**6, sent) for _, sent, _, lost, _, _ in p["windows"] if sent]
        assert [int(a["data-delay-us"]) for a in points["delay"]] == \
            [delay for _, _, received, _, delay, _ in p["windows"] if received]
        assert [int(a["data-jitter-us"]) for a in points["jitter"]] == \
            [jitter for _, _, received, _, _, jitter in p["windows"] if received]
        assert all(a["data-windows"] == "1" for a in points["loss"])
    # the step: the lossy pair lost nothing before it and much after it
    lossy = pairs[(pe(1), pe(2))]["windows"]
    assert any(lost == 0 and sent > 0 for t, sent, _, lost, _, _ in lossy if t < step)
    after = [(lost, sent) for t, sent, _, lost, _, _ in lossy if t > step + 3 * NS]
    assert after and sum(lost for lost, _ in after) * 10 >= sum(sent for _, sent in after)
    # every PE: expected and never heard here (the emulator sends no Hellos)
    want, lanes = expected_timeline(h, h.vpn_index("red"), since, until)
    assert sorted(dom.segs) == want and lanes == [pe(1), pe(2), pe(3)]
