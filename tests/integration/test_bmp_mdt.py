"""Draft-rosen from BGP end to end: mvpnmond replays C-PIM Hellos that this
test writes with scapy into a FIFO (so the capture's clock moves only when the
test says), while two routers played by the test send BMP over real TCP on
loopback, encoded by tests/fixtures/gen_bmp.py (checked against tshark in
test_bmp.py).  The PE table, the discovered VPN and the notifications that
snmptrapd decodes must be exactly what the scenario below states.

    red  (1, 239.192.0.1)  expected-pes = { .1, .2 }   Hellos .1 .2
    blue (2, 239.192.0.4)  expected-pes = bgp          Hellos .1 .5
    BGP (both routers):    red .1 .3, blue .1, 239.192.0.7 .1 (discovered)

Addresses (testing.md): PEs 198.18.0.0/15, provider groups 239.192.0.0/14.
"""
import os
import struct
import subprocess
import sys
import threading

from conftest import (EVENT_TIMEOUT, FIXTURES, SANITIZED, Daemon, FifoFeed, scalars, serving,
                      snmp_rows, wait_for)
from test_alarms import hex_addr, module_notifications
from test_bmp import bmp_scalars, connect, free_tcp_port

sys.path.insert(0, FIXTURES)
import gen_alarm_fixtures as pim  # noqa: E402  (scapy: the Hellos)
import gen_bmp as g  # noqa: E402  (struct, by hand from the RFCs: the BMP)

RED, BLUE = 1, 2
DISCOVERED = (239 << 24) | (192 << 16) | (0 << 8) | 7  # 239.192.0.7 as a number
SETTLE = 30
STATUS = {1: "active", 2: "missing", 3: "unexpected", 4: "departed", 5: "bgpSilent",
          6: "notInBgp"}


def pe(i):
    return f"198.18.0.{i}"


def pcap_header():
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


def hellos_at(t, pairs):
    """pcap records: a Hello (hold 105) from each (pe, mdt) at t seconds after T0."""
    out = b""
    for k, (addr, mdt) in enumerate(pairs):
        frame = bytes(pim.hello_frame(addr, mdt, 105, 0x60370000 + k))
        us = int(t * 1e6) + k
        out += struct.pack("<IIII", pim.T0 + us // 10**6, us % 10**6, len(frame), len(frame))
        out += frame
    return out


HELLOS = [(pe(1), "239.192.0.1"), (pe(2), "239.192.0.1"),
          (pe(1), "239.192.0.4"), (pe(5), "239.192.0.4")]


class Steps:
    """The FIFO's chunks, each let through by go(): the capture's clock is the test's."""

    def __init__(self, chunks):
        self.chunks, self.gates = chunks, [threading.Event() for _ in chunks]

    def __iter__(self):
        for chunk, gate in zip(self.chunks, self.gates):
            if not gate.wait(EVENT_TIMEOUT):
                return
            yield chunk

    def go(self, i):
        self.gates[i].set()


def mdt_stream(peer, routes, post=False):
    """A router's stream: Initiation, Peer Up, one Route Monitoring of MDT SAFI routes."""
    nlris = [g.mdt_nlri(g.rd(65000, num), addr, group) for num, addr, group in routes]
    upd = g.update(g.base_attrs([65000]) + g.mp_reach(g.AFI_IPV4, g.SAFI_MDT, peer.addr, nlris))
    return (g.initiation("rr", "route reflector") + g.peer_up(peer, "198.18.0.100") +
            g.route_monitoring(peer, upd, post))


ROUTES = [(1, pe(1), "239.192.0.1"), (2, pe(3), "239.192.0.1"),
          (3, pe(1), "239.192.0.4"), (4, pe(1), "239.192.0.7")]


def pes(snmp):
    return {(v, a): (STATUS[r["mvpnPeStatus"]], r["mvpnPeBgpAdvertised"], r["mvpnPeBgpRoutes"],
                     r["mvpnPeExpected"])
            for (v, a), r in snmp_rows(snmp, "mvpnPeTable", "ua").items()}


def notices(traps, since):
    """(name, vpn index, PE) of our module's notifications after the first `since`,
    but the BMP sessions' and peers' own (test_bmp checks those)."""
    out = []
    for n in module_notifications(traps)[since:]:
        if n["_name"] == "mvpnAgentStart" or n["_name"].startswith("mvpnBmp"):
            continue
        out.append((n["_name"], int(n["mvpnNotifyVpnIndex.0"]),
                    hex_addr(n["mvpnNotifyAddr.0"]) if n.get("mvpnNotifyAddr.0") else ""))
    return sorted(out)


def settled(traps, snmp, seen):
    """All sent notifications received; the new ones."""
    sent = scalars(snmp)["mvpnNotificationsSent"]
    assert wait_for(lambda: len(module_notifications(traps)) >= sent, EVENT_TIMEOUT)
    return notices(traps, seen), len(module_notifications(traps))


def test_bgp_and_pim_disagree_exactly_where_the_scenario_says(tmp_path, daemon, snmp, traps):
    port = free_tcp_port()
    daemon.write_config(
        "startup-grace = 10\n"
        "pe-check-interval = 1\n"
        "bmp {\n"
        f'  listen = "127.0.0.1:{port}"\n'
        '  allow = { "127.0.0.0/29" }\n'
        f"  settle = {SETTLE}\n"
        "  discover = yes\n"
        "}\n"
        f'vpn "red" {{ index = {RED}  default-mdt = "239.192.0.1"\n'
        f'  expected-pes = {{ "{pe(1)}", "{pe(2)}" }} }}\n'
        f'vpn "blue" {{ index = {BLUE}  default-mdt = "239.192.0.4"  expected-pes = bgp }}\n')
    # The header first: mvpnmond reads it before it serves (a bad file fails the start).
    steps = Steps([pcap_header(), hellos_at(0, HELLOS) + hellos_at(5, HELLOS),
                   hellos_at(50, HELLOS), hellos_at(100, HELLOS), hellos_at(140, HELLOS)])
    steps.go(0)
    feed = FifoFeed(str(tmp_path / "hellos.pcap"), steps)
    routers = []
    try:
        daemon.start("-r", feed.path)
        assert wait_for(lambda: serving(snmp, "mvpnBmpStatus.0"), EVENT_TIMEOUT), daemon.log_text()
        steps.go(1)
        assert wait_for(lambda: scalars(snmp)["mvpnPacketsSeen"] == 8, EVENT_TIMEOUT)
        # Two route reflectors report the same routes (one of them post-policy).
        for source, post in (("127.0.0.1", False), ("127.0.0.2", True)):
            s = connect(port, source)
            s.sendall(mdt_stream(g.Peer(pe(100), 65000, pe(100)), ROUTES, post))
            routers.append(s)
        assert wait_for(lambda: bmp_scalars(snmp).get("mvpnBmpMdtRoutes") == 8, EVENT_TIMEOUT), \
            (bmp_scalars(snmp), daemon.log_text())
        b = bmp_scalars(snmp)
        assert (b["mvpnBmpMdtUnmatched"], b["mvpnBmpDiscoveredVpns"], b["mvpnBmpDiscover"],
                b["mvpnBmpSettle"]) == (0, 1, 1, SETTLE)
        # The statuses are the state at once; (status, advertised, routes, expected).
        t, f = 1, 2
        assert pes(snmp) == {
            (RED, pe(1)): ("active", t, 2, t), (RED, pe(2)): ("notInBgp", f, 0, t),
            (RED, pe(3)): ("bgpSilent", t, 2, f),
            (BLUE, pe(1)): ("active", t, 2, t), (BLUE, pe(5)): ("notInBgp", f, 0, f),
            (DISCOVERED, pe(1)): ("bgpSilent", t, 2, t)}
        vpns = snmp_rows(snmp, "mvpnVpnTable", "u")
        d = vpns[(DISCOVERED,)]
        assert (d["mvpnVpnName"], d["mvpnVpnOrigin"], d["mvpnVpnExpectedFrom"]) == (
            b"mdt-239.192.0.7", 2, 2)
        assert [(vpns[(i,)]["mvpnVpnOrigin"], vpns[(i,)]["mvpnVpnExpectedFrom"],
                 vpns[(i,)]["mvpnVpnBgpPes"], vpns[(i,)]["mvpnVpnBgpSilentPes"],
                 vpns[(i,)]["mvpnVpnNotInBgpPes"], vpns[(i,)]["mvpnVpnExpectedPes"])
                for i in (RED, BLUE)] == [(1, 1, 2, 1, 1, 2), (1, 2, 1, 0, 1, 1)]
        # Not paged yet: the capture's clock is at 5 s, in the grace and the settle.
        got, seen = settled(traps, snmp, 0)
        assert got == [], traps.text()
        # 50 s: past the grace (10 s) and the settle (30 s after the routes, at 5 s).
        steps.go(2)
        assert wait_for(lambda: scalars(snmp)["mvpnPacketsSeen"] == 12, EVENT_TIMEOUT)
        assert wait_for(lambda: len(snmp_rows(snmp, "mvpnAlarmTable", "u")) == 4, EVENT_TIMEOUT), \
            daemon.log_text()
        got, seen = settled(traps, snmp, seen)
        assert got == sorted([("mvpnPeBgpSilent", RED, pe(3)), ("mvpnPeNotInBgp", RED, pe(2)),
                              ("mvpnPeNotInBgp", BLUE, pe(5)),
                              ("mvpnPeBgpSilent", DISCOVERED, pe(1))]), traps.text()
        kinds = sorted(r["mvpnAlarmKind"] for r in snmp_rows(snmp, "mvpnAlarmTable", "u").values())
        assert kinds == [6, 6, 7, 7]
        # One router goes: the other still reports every route; nothing changes.
        routers.pop().close()
        assert wait_for(lambda: bmp_scalars(snmp).get("mvpnBmpMdtRoutes") == 4, EVENT_TIMEOUT)
        assert pes(snmp)[(RED, pe(1))] == ("active", t, 1, t)
        # The last one goes: every PE settles for 30 s of the capture's clock.
        routers.pop().close()
        assert wait_for(lambda: bmp_scalars(snmp).get("mvpnBmpMdtRoutes") == 0, EVENT_TIMEOUT)
        assert pes(snmp)[(RED, pe(3))] == ("bgpSilent", t, 0, f)
        steps.go(3)  # 100 s: the withdrawals take effect
        assert wait_for(lambda: scalars(snmp)["mvpnPacketsSeen"] == 16, EVENT_TIMEOUT)
        assert wait_for(lambda: (RED, pe(3)) not in pes(snmp), EVENT_TIMEOUT), daemon.log_text()
        got, seen = settled(traps, snmp, seen)
        # red: .3's row (BGP's only) goes with its alarm; no BGP PE is left, so
        # .2 is no longer compared: cleared, and red matches its list again.
        # blue: .5 stays not in BGP; .1 is now not in BGP too, paged 30 s on.
        # 239.192.0.7: its only PE's row goes, with its alarm.
        assert got == sorted([("mvpnAlarmCleared", RED, pe(3)), ("mvpnAlarmCleared", RED, pe(2)),
                              ("mvpnVpnConfigMatch", RED, ""),
                              ("mvpnAlarmCleared", DISCOVERED, pe(1)),
                              ("mvpnVpnConfigMatch", DISCOVERED, "")]), traps.text()
        assert pes(snmp) == {
            (RED, pe(1)): ("active", f, 0, t), (RED, pe(2)): ("active", f, 0, t),
            (BLUE, pe(1)): ("notInBgp", f, 0, f), (BLUE, pe(5)): ("notInBgp", f, 0, f)}
        steps.go(4)  # 140 s
        assert wait_for(lambda: scalars(snmp)["mvpnPacketsSeen"] == 20, EVENT_TIMEOUT)
        assert wait_for(lambda: len(snmp_rows(snmp, "mvpnAlarmTable", "u")) == 2, EVENT_TIMEOUT)
        got, seen = settled(traps, snmp, seen)
        assert got == [("mvpnPeNotInBgp", BLUE, pe(1))], traps.text()
        # The history of it: each advertisement and withdrawal, as peBgp changes.
        kinds = [r["mvpnChangeKind"] for r in snmp_rows(snmp, "mvpnChangeTable", "u").values()]
        assert kinds.count(15) == 8  # 4 PEs advertised, then withdrawn
    finally:
        for s in routers:
            s.close()
        feed.stop()


SEND = """
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(open(sys.argv[2], "rb").read())
sys.stdin.read()  # connected until the test closes our stdin
"""


def test_a_discovered_default_mdt_is_joined_live_and_left_with_its_vpn(tmp_path, master, snmp,
                                                                       wire):
    """Live capture: a default MDT that only BGP names becomes a VPN row, the
    capture joins its group (the LD_PRELOAD witness of test_joins.py counts
    the calls, /proc/net/igmp says what the interface holds), and a reload
    with discovery off removes the row and leaves the group."""
    from test_joins import COUNT_JOINS, Witness, held_v4, reload
    assert os.path.exists(COUNT_JOINS), "build it first: make"
    ns, ifname = wire["monitor"], wire["monitor_if"]
    port = 11019

    def conf(discover):
        return (f'bmp {{ listen = "127.0.0.1:{port}"  allow = {{ "127.0.0.1" }}  '
                f'discover = {discover} }}\n'
                'vpn "red" { index = 1  default-mdt = "239.192.0.1" }\n')
    stream = tmp_path / "router.bmp"
    stream.write_bytes(mdt_stream(g.Peer(pe(100), 65000, pe(100)),
                                  [(1, pe(1), "239.192.0.1"), (9, pe(1), "239.192.0.9")]))
    witness = Witness(str(tmp_path / "joins.log"))
    env = {"LD_PRELOAD": COUNT_JOINS, "JOINS_LOG": witness.path}
    if SANITIZED:  # the witness is loaded before the ASan runtime, on purpose
        env["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
    daemon = Daemon(str(tmp_path), master)
    daemon.write_config(conf("yes"))
    daemon.start("-i", ifname, netns=ns, env=env)
    router = None
    try:
        assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "running", EVENT_TIMEOUT), \
            daemon.log_text()
        assert wait_for(lambda: witness.calls() == [("join", "239.192.0.1", 0)], EVENT_TIMEOUT)
        router = subprocess.Popen(ns.cmd("/usr/bin/python3", "-c", SEND, str(port), str(stream)),
                                  stdin=subprocess.PIPE)
        index = (239 << 24) | (192 << 16) | 9
        assert wait_for(lambda: (index,) in snmp_rows(snmp, "mvpnVpnTable", "u"), EVENT_TIMEOUT), \
            daemon.log_text()
        calls = []
        assert wait_for(lambda: calls.extend(witness.calls()) or calls, EVENT_TIMEOUT)
        assert calls == [("join", "239.192.0.9", 0)]
        assert held_v4(ns, ifname) == {"239.192.0.1", "239.192.0.9"}
        row = snmp_rows(snmp, "mvpnVpnTable", "u")[(index,)]
        assert (row["mvpnVpnName"], row["mvpnVpnOrigin"], row["mvpnVpnBgpPes"]) == (
            b"mdt-239.192.0.9", 2, 1)
        # Discovery off: the row goes at the reload, and its group is left.
        reload(daemon, snmp, conf("no"))
        assert (index,) not in snmp_rows(snmp, "mvpnVpnTable", "u")
        assert witness.calls() == [("leave", "239.192.0.9", 0)]
        assert held_v4(ns, ifname) == {"239.192.0.1"}
        assert bmp_scalars(snmp)["mvpnBmpMdtUnmatched"] == 1
    finally:
        if router:
            router.stdin.close()
            router.wait(EVENT_TIMEOUT)
        daemon.stop()


def ipmsi_stream(peer, routes, spmsi):
    """Initiation, Peer Up, a Route Monitoring of Intra-AS I-PMSI A-D routes
    (RFC 6514 4.1: RD, originating router) with an ingress-replication PMSI
    Tunnel attribute, and one of S-PMSI A-D routes (4.3) with a PIM-SSM one."""
    def rm(nlris, pmsi):
        upd = g.update(g.base_attrs([65000]) + pmsi +
                       g.mp_reach(g.AFI_IPV4, g.SAFI_MVPN, peer.addr, nlris))
        return g.route_monitoring(peer, upd)
    type1 = [g.mvpn(1, g.rd(65000, num) + g.ip(orig)) for num, orig in routes]
    type3 = [g.mvpn(3, g.rd(65000, num) + g.c_addr(src) + g.c_addr(grp) + g.ip(orig))
             for num, src, grp, orig in spmsi]
    return (g.initiation("rr", "route reflector") + g.peer_up(peer, "198.18.0.100") +
            rm(type1, g.pmsi_ir(pe(1), 77)) + rm(type3, g.pmsi_pim(3, pe(1), "239.192.1.1")))


def ptunnels(snmp):
    return {k: (r["mvpnPTunnelType"], r["mvpnPTunnelId"], r["mvpnPTunnelLabel"],
                r["mvpnPTunnelLeafInfoRequired"], r["mvpnPTunnelRoutes"])
            for k, r in snmp_rows(snmp, "mvpnPTunnelTable", "uuaaa").items()}


def test_a_vpn_signalled_by_bgp_has_the_pes_of_its_ipmsi_routes(daemon, snmp, traps):
    """No capture, no PIM: green's PEs are the originators of its Intra-AS
    I-PMSI A-D routes, judged against expected-pes with the same alarms.  A
    grace and a settle of 0 make the sequence exact: missing at start, the
    routes, a Peer Down."""
    port = free_tcp_port()
    green = 3
    daemon.write_config(
        "startup-grace = 0\n"
        f'bmp {{ listen = "127.0.0.1:{port}"  allow = {{ "127.0.0.1" }}  settle = 0 }}\n'
        f'vpn "green" {{ index = {green}  rds = {{ "65000:10", "65000:11" }}\n'
        f'  expected-pes = {{ "{pe(1)}", "{pe(2)}" }} }}\n')
    daemon.start()
    assert wait_for(lambda: serving(snmp, "mvpnBmpStatus.0"), EVENT_TIMEOUT), daemon.log_text()
    row = snmp_rows(snmp, "mvpnVpnTable", "u")[(green,)]
    assert (row["mvpnVpnSignalling"], row["mvpnVpnDefaultMdtType"], row["mvpnVpnProbeStatus"]) == (
        2, 0, 1)
    assert wait_for(lambda: len(snmp_rows(snmp, "mvpnAlarmTable", "u")) == 2, EVENT_TIMEOUT)
    got, seen = settled(traps, snmp, 0)
    assert got == [("mvpnPeMissing", green, pe(1)), ("mvpnPeMissing", green, pe(2))]
    peer = g.Peer(pe(100), 65000, pe(100))
    s = connect(port)
    try:
        # .1 under RD 10, .3 under RD 11; RD 12 is nobody's.
        s.sendall(ipmsi_stream(peer, [(10, pe(1)), (11, pe(3)), (12, pe(4))],
                               [(10, "192.0.2.10", "233.252.0.10", pe(1))]))
        assert wait_for(lambda: bmp_scalars(snmp).get("mvpnBmpIpmsiRoutes") == 3, EVENT_TIMEOUT)
        assert bmp_scalars(snmp)["mvpnBmpIpmsiUnmatched"] == 1
        assert wait_for(lambda: pes(snmp) == {
            (green, pe(1)): ("active", 1, 1, 1), (green, pe(2)): ("missing", 2, 0, 1),
            (green, pe(3)): ("unexpected", 1, 1, 2)}, EVENT_TIMEOUT), pes(snmp)
        assert wait_for(lambda: len(snmp_rows(snmp, "mvpnAlarmTable", "u")) == 2, EVENT_TIMEOUT)
        got, seen = settled(traps, snmp, seen)
        assert got == [("mvpnAlarmCleared", green, pe(1)), ("mvpnPeUnexpected", green, pe(3))]
        # Its P-tunnels (RFC 8502's type and identifier): each PE's I-PMSI,
        # ingress replication to .1 with label 77; the S-PMSI for
        # (192.0.2.10, 233.252.0.10) on PIM-SSM (.1, 239.192.1.1).
        ir, ssm = g.ip(pe(1)), g.ip(pe(1)) + g.ip("239.192.1.1")
        assert ptunnels(snmp) == {
            (green, 1, "", "", pe(1)): (6, ir, 77, 2, 1),
            (green, 1, "", "", pe(3)): (6, ir, 77, 2, 1),
            (green, 3, "192.0.2.10", "233.252.0.10", pe(1)): (3, ssm, 0, 2, 1)}
        assert bmp_scalars(snmp)["mvpnBmpMvpnNotApplied"] == 0
        # The peer goes down: its routes go (settle 0), .3's row with them.
        s.sendall(g.peer_down(peer))
        assert wait_for(lambda: pes(snmp) == {
            (green, pe(1)): ("missing", 2, 0, 1), (green, pe(2)): ("missing", 2, 0, 1)},
            EVENT_TIMEOUT), pes(snmp)
        assert wait_for(lambda: len(snmp_rows(snmp, "mvpnAlarmTable", "u")) == 2, EVENT_TIMEOUT)
        got, seen = settled(traps, snmp, seen)
        assert got == [("mvpnAlarmCleared", green, pe(3)), ("mvpnPeMissing", green, pe(1))]
        assert ptunnels(snmp) == {}
    finally:
        s.close()
