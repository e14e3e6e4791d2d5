"""A real BMP sender end to end: two Debian gobgpd (3.10) on loopback, A and B,
peer over iBGP; A exports BMP to mvpnmond over real TCP, and the router table
is read through the private snmpd with net-snmp's own clients after every
step.  gobgpd carries neither the MDT SAFI nor MCAST-VPN, so what is checked
is the session (Initiation, Peer Up, Statistics Report, Peer Down, the
connection closing) and that the routes of the families gobgpd has are read
and skipped as other families: nothing malformed, nothing stored.

    A  AS 64500, BGP on 127.0.0.1, BMP from 127.0.0.1   sys-name "gobgpd-a"
       bmp-servers: mvpnmond, route-monitoring-policy "all" (pre-policy,
       post-policy and Loc-RIB), statistics-timeout 15 (gobgpd's least);
       and a recorder in this test, the same stream again, whose copy
       build/tools/bmp_decode reads (the order of the messages, and the
       same counts as mvpnBmpRouterOtherFamilies)
    B  AS 64500, BGP on 127.0.0.2, originates one at a time (next hop
       192.0.2.2: gobgpd treats an UPDATE whose NEXT_HOP is a loopback
       address as a withdrawal):
         198.51.100.0/24, 203.0.113.0/25, 192.0.2.128/25   ipv4-unicast
         64500:1:198.51.100.128/25 (label 100)            l3vpn-ipv4-unicast

What A sends (gobgpd 3.10, seen with bmp_decode): one Route Monitoring per
route and view: pre-policy (B's UPDATE as received), post-policy (L flag)
and Loc-RIB (RFC 9069 peer type 3, address 0.0.0.0, for which gobgpd sends
no Peer Up: counted as an unknown peer).  A Statistics Report per established
peer every statistics-timeout.  B stopped (SIGTERM: a Cease) makes A send
post-policy and Loc-RIB withdrawals of each route (none pre-policy: B sent
none), then a Peer Down (reason 3, B's NOTIFICATION).  A stopped closes the
connection without a Termination.
"""
import os
import re
import shutil
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import BUILD, EVENT_TIMEOUT, ONE_PASS, serving, stop_process, wait_for
from test_bmp import bmp_notifications, bmp_scalars, free_tcp_port, peers, route_counts, routers

BMP_DECODE = os.path.join(BUILD, "tools", "bmp_decode")
AS = 64500
SYS_NAME = "gobgpd-a"
SYS_DESCR = "mvpnmon test: gobgpd A, BMP to mvpnmond"
ROUTES = [  # gobgp global rib add ... (B), one at a time
    ["-a", "ipv4", "198.51.100.0/24", "nexthop", "192.0.2.2"],
    ["-a", "ipv4", "203.0.113.0/25", "nexthop", "192.0.2.2"],
    ["-a", "ipv4", "192.0.2.128/25", "nexthop", "192.0.2.2"],
    ["-a", "vpnv4", "198.51.100.128/25", "label", "100", "rd", f"{AS}:1", "rt", f"{AS}:1",
     "nexthop", "192.0.2.2"],
]
N = len(ROUTES)
# Route Monitoring messages A sends per route it learns: pre-policy, post-policy, Loc-RIB.
VIEWS = 3
STATS_INTERVAL = 15  # gobgpd refuses less
BMP_STATISTICS = 1   # RFC 7854 4: message types
BMP_ROUTE_MONITORING = 0


def free_tcp_port_on(addr):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


class Gobgpd:
    """One gobgpd, its TOML, log and gRPC API port private to the test; stopped by its pid."""

    def __init__(self, tmp, name, addr, port, peer_addr, peer_port, bmp=""):
        self.name = name
        self.api = free_tcp_port()
        self.conf = os.path.join(tmp, f"gobgpd-{name}.toml")
        self.log = os.path.join(tmp, f"gobgpd-{name}.log")
        self.proc = None
        # connect-retry: gobgpd's least (5 s); the first attempt waits 5 to 10 s
        # whatever it is, and nothing here can shorten that.
        with open(self.conf, "w") as f:
            f.write(f"""[global.config]
  as = {AS}
  router-id = "192.0.2.{1 if name == 'a' else 2}"
  port = {port}
  local-address-list = ["{addr}"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "{peer_addr}"
    peer-as = {AS}
  [neighbors.transport.config]
    local-address = "{addr}"
    remote-port = {peer_port}
  [neighbors.timers.config]
    connect-retry = 5
    hold-time = 30
    keepalive-interval = 10
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "l3vpn-ipv4-unicast"
{bmp}""")

    def start(self):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                ["gobgpd", "-f", self.conf, "-t", "toml", "-p", "--pprof-disable",
                 "--api-hosts", f"127.0.0.1:{self.api}"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def cli(self, *args):
        out = subprocess.run(["gobgp", "-u", "127.0.0.1", "-p", str(self.api), *args],
                             capture_output=True, text=True, timeout=EVENT_TIMEOUT)
        assert out.returncode == 0, f"gobgp {' '.join(args)}: {out.stdout}{out.stderr}"
        return out.stdout

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()[-3000:]
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc:
            stop_process(self.proc)


def bmp_server(port, policy="all", stats=STATS_INTERVAL):
    return f"""
[[bmp-servers]]
  [bmp-servers.config]
    address = "127.0.0.1"
    port = {port}
    route-monitoring-policy = "{policy}"
    statistics-timeout = {stats}
    sys-name = "{SYS_NAME}"
    sys-descr = "{SYS_DESCR}"
"""


class Recorder:
    """A BMP station that only keeps what it is sent (one session) in a file."""

    def __init__(self, path):
        self.path = path
        self.stopping = threading.Event()
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.srv.settimeout(0.2)
        self.port = self.srv.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.srv.accept()
                break
            except socket.timeout:
                continue
            except OSError:
                return
        else:
            return
        conn.settimeout(0.2)
        with conn, open(self.path, "wb") as f:
            while not self.stopping.is_set():
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    break
                f.write(data)

    def stop(self):
        self.stopping.set()
        self.thread.join(EVENT_TIMEOUT)
        self.srv.close()


def frames(data):
    """The stream's messages as (type, bytes), framed by the common header (RFC 7854 4.1)."""
    out, off = [], 0
    while off + 6 <= len(data):
        _, length, mtype = struct.unpack("!BIB", data[off:off + 6])
        out.append((mtype, data[off:off + length]))
        off += length
    assert off == len(data), "the recorded stream ends inside a message"
    return out


def decode(path):
    """build/tools/bmp_decode on a stream: (malformed, other families' routes skipped)."""
    out = subprocess.run([BMP_DECODE, str(path)], capture_output=True, text=True,
                         timeout=EVENT_TIMEOUT)
    m = re.search(r"malformed (\d+),.*other families' routes skipped (\d+); (\d+) bytes left",
                  out.stdout)
    assert m and out.returncode == 0 and m.group(3) == "0", out.stdout + out.stderr
    return int(m.group(1)), int(m.group(2))


@ONE_PASS
def test_gobgpd_exports_bmp_session_other_families_peer_down_and_close(tmp_path, daemon, snmp,
                                                                     traps):
    for tool in ("gobgpd", "gobgp"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is not installed: make deps installs it (Debian's gobgpd, "
                        "listed in tests/deps.sh)")
    port = free_tcp_port()
    daemon.write_config(
        "startup-grace = 0\n"
        "bmp {\n"
        f'  listen = "127.0.0.1:{port}"\n'
        '  allow = { "127.0.0.1" }\n'
        "}\n")
    daemon.start()
    assert wait_for(lambda: serving(snmp, "mvpnBmpStatus.0"), EVENT_TIMEOUT), daemon.log_text()
    assert routers(snmp) == {}

    recorder = Recorder(tmp_path / "gobgpd-a.bmp")
    port_a, port_b = free_tcp_port_on("127.0.0.1"), free_tcp_port_on("127.0.0.2")
    a = Gobgpd(str(tmp_path), "a", "127.0.0.1", port_a, "127.0.0.2", port_b,
               bmp=bmp_server(port) + bmp_server(recorder.port))
    b = Gobgpd(str(tmp_path), "b", "127.0.0.2", port_b, "127.0.0.1", port_a)

    def until(check, what):
        """Polls A's row (it connects from 127.0.0.1) until check(row) holds."""
        get = lambda: routers(snmp).get(("127.0.0.1",))  # noqa: E731
        row = wait_for(lambda: (lambda r: r if r and check(r) else None)(get()),
                       EVENT_TIMEOUT, interval=0.2)
        assert row, (f"{what}: {get()}\n--- gobgpd A:\n{a.log_text()}\n--- gobgpd B:\n"
                     f"{b.log_text()}\n--- mvpnmond:\n{daemon.log_text()[-3000:]}")
        return row

    timings = {}
    started = time.monotonic()
    try:
        a.start()
        b.start()
        # Initiation, then a Peer Up once the BGP session with B is established.
        row = until(lambda r: r["mvpnBmpRouterPeersUp"] == 1, "B's Peer Up")
        timings["peer up"] = time.monotonic() - started
        assert row["mvpnBmpRouterStatus"] == 1 and row["mvpnBmpRouterSessions"] == 1
        assert row["mvpnBmpRouterSysName"] == SYS_NAME.encode()
        assert row["mvpnBmpRouterSysDescr"] == SYS_DESCR.encode()
        assert row["mvpnBmpRouterPeerUps"] == 1 and row["mvpnBmpRouterPeerDowns"] == 0
        assert row["mvpnBmpRouterMalformed"] == 0 and row["mvpnBmpRouterUnknownPeer"] == 0
        # B, as A's Peer Up names it: iBGP, so A's AS; B's router-id.
        rows = peers(snmp)
        assert list(rows) == [("127.0.0.1", "127.0.0.2")], rows
        peer_b = rows[("127.0.0.1", "127.0.0.2")]
        assert peer_b["mvpnBmpPeerStatus"] == 1 and peer_b["mvpnBmpPeerType"] == 0
        assert peer_b["mvpnBmpPeerAs"] == AS and peer_b["mvpnBmpPeerBgpId"] == "192.0.2.2"

        # One route at a time: each is one UPDATE from B, so three Route
        # Monitorings from A (gobgpd would put routes added together in one).
        for i, route in enumerate(ROUTES, 1):
            b.cli("global", "rib", "add", *route)
            row = until(lambda r: r["mvpnBmpRouterRouteMonitorings"] >= VIEWS * i,
                        f"route {i}'s Route Monitorings")
            assert row["mvpnBmpRouterRouteMonitorings"] == VIEWS * i
            assert row["mvpnBmpRouterUnknownPeer"] == i  # its Loc-RIB copy
        assert len(a.cli("global", "rib", "-a", "ipv4").splitlines()) == 1 + 3  # A took them
        assert "64500:1:198.51.100.128/25" in a.cli("global", "rib", "-a", "vpnv4")
        timings["routes"] = time.monotonic() - started
        # Then a Statistics Report (every STATS_INTERVAL s from A's BMP connect):
        # the only message A has left to send while nothing changes.
        row = until(lambda r: r["mvpnBmpRouterMessages"] > 2 + VIEWS * N, "a Statistics Report")
        timings["statistics"] = time.monotonic() - started
        stats = row["mvpnBmpRouterMessages"] - (2 + VIEWS * N)
        assert row["mvpnBmpRouterRouteMonitorings"] == VIEWS * N
        assert row["mvpnBmpRouterMalformed"] == 0 and row["mvpnBmpRouterRouteLimitDrops"] == 0
        assert row["mvpnBmpRouterRoutes"] == 0
        assert route_counts(row) == {"mdt": 0, "mvpn4": 0, "mvpn6": 0}
        # Read and skipped, once per pre- and post-policy view (the Loc-RIB
        # copies are for a peer that never came up).
        assert row["mvpnBmpRouterOtherFamilies"] == 2 * N
        assert row["mvpnBmpRouterPeersUp"] == 1 and row["mvpnBmpRouterStatus"] == 1

        # B goes (SIGTERM: it sends a Cease): post-policy and Loc-RIB
        # withdrawals of each route, then the Peer Down; the router stays up.
        stop_process(b.proc)
        row = until(lambda r: r["mvpnBmpRouterPeerDowns"] == 1, "B's Peer Down")
        timings["peer down"] = time.monotonic() - started
        assert row["mvpnBmpRouterPeersUp"] == 0 and row["mvpnBmpRouterStatus"] == 1
        assert row["mvpnBmpRouterRouteMonitorings"] == (VIEWS + 2) * N
        assert row["mvpnBmpRouterUnknownPeer"] == 2 * N
        assert row["mvpnBmpRouterOtherFamilies"] == 3 * N  # the post-policy withdrawals
        assert row["mvpnBmpRouterMessages"] - (2 + (VIEWS + 2) * N + 1) >= stats
        assert row["mvpnBmpRouterMalformed"] == 0 and row["mvpnBmpRouterRoutes"] == 0
        assert row["mvpnBmpRouterPeerUps"] == 1
        peer_b = peers(snmp)[("127.0.0.1", "127.0.0.2")]
        assert peer_b["mvpnBmpPeerStatus"] == 2 and peer_b["mvpnBmpPeerRoutes"] == 0
        assert peer_b["mvpnBmpPeerUps"] == 1 and peer_b["mvpnBmpPeerDowns"] == 1

        # A goes: its BMP connection closes (no Termination); the row stays, down.
        stop_process(a.proc)
        row = until(lambda r: r["mvpnBmpRouterStatus"] == 2, "A's session closing")
        timings["closed"] = time.monotonic() - started
        assert row["mvpnBmpRouterPeersUp"] == 0 and row["mvpnBmpRouterRoutes"] == 0
        assert row["mvpnBmpRouterMalformed"] == 0 and row["mvpnBmpRouterSessions"] == 1
        g = bmp_scalars(snmp)
        assert g["mvpnBmpSessionsAccepted"] == 1 and g["mvpnBmpRoutersUp"] == 0
        assert g["mvpnBmpMalformed"] == 0 and g["mvpnBmpSessionsClosedMalformed"] == 0
        assert g["mvpnBmpRoutes"] == 0
        assert g["mvpnBmpMessages"] == row["mvpnBmpRouterMessages"]
        assert peers(snmp) == {}
    finally:
        b.stop()
        a.stop()
        recorder.stop()

    # The recorder's copy of the same stream, through the collector's code
    # (bgp/) in bmp_decode: every message clean; the routes counted as other
    # families once per pre- and post-policy view (the Loc-RIB copies are for
    # a peer that never came up); the post-policy withdrawals once more.
    msgs = frames((tmp_path / "gobgpd-a.bmp").read_bytes())
    types = [t for t, _ in msgs]
    # Initiation, Peer Up ... Peer Down; Statistics Reports wherever their clock fell.
    events = [t for t in types if t != BMP_STATISTICS]
    assert events[:2] == [4, 3] and events[-1] == 2, types
    assert types.count(BMP_ROUTE_MONITORING) == (VIEWS + 2) * N, types
    assert types.count(BMP_STATISTICS) >= 1, types
    assert len(types) == 3 + types.count(BMP_ROUTE_MONITORING) + types.count(BMP_STATISTICS)
    last_announce = [i for i, t in enumerate(types) if t == BMP_ROUTE_MONITORING][VIEWS * N - 1]
    announced = tmp_path / "gobgpd-a-announced.bmp"
    announced.write_bytes(b"".join(m for _, m in msgs[:last_announce + 1]))
    assert decode(announced) == (0, 2 * N)
    assert decode(tmp_path / "gobgpd-a.bmp") == (0, 3 * N)
    # The Peer Down as the recorder got it (RFC 7854 4.9: common header 6,
    # per-peer header 42, the reason, then for 1 and 3 the NOTIFICATION: BGP
    # header 19, code, subcode) is what mvpnBmpPeerTable kept of it.
    down = msgs[types.index(2)][1]
    reason = down[48]
    assert reason in (1, 3), down.hex()
    assert peer_b["mvpnBmpPeerLastDownReason"] == reason
    assert peer_b["mvpnBmpPeerLastDownError"] == down[68:70] and down[68] == 6  # a Cease
    # The session and B, announced as they came and went, B's end as recorded.
    want = ["mvpnBmpRouterUp", "mvpnBmpPeerUp", "mvpnBmpPeerDown", "mvpnBmpRouterDown"]
    assert wait_for(lambda: len(bmp_notifications(traps)) >= len(want), EVENT_TIMEOUT)
    got = bmp_notifications(traps)
    assert [name for name, _ in got] == want, got
    assert got[2][1]["mvpnBmpPeerLastDownReason"] == str(reason)
    assert got[2][1]["mvpnBmpPeerLastDownError"] == down[68:70].hex(" ").upper(), got[2]
    assert got[1][1]["mvpnBmpPeerAs"] == str(AS) and got[1][1]["mvpnBmpPeerBgpId"] == "192.0.2.2"
    print("gobgpd: " + ", ".join(f"{k} at {v:.1f} s" for k, v in timings.items()) +
          f"; {len(types)} BMP messages, {types.count(BMP_STATISTICS)} Statistics Reports")
