"""BGP MVPN's C-multicast, Leaf A-D and Source Active routes (RFC 6514 4.4-4.6)
end to end: two route reflectors played by this test send BMP over real TCP
on loopback, encoded by tests/fixtures/gen_bmp.py (by hand from the RFCs,
checked against tshark); the SNMP tables must be exactly what the scenario
below states, through a Peer Down, a withdrawal and a router that goes, past
the settle time.

    green (3)  rds = { 65000:10 (.1), 65000:11 (.2, .3) }  expected .1 .2 .3
    RR1 (127.0.0.1) monitors its clients .1 .2 .3:
      .1  I-PMSI; S-PMSI (192.0.2.10, 233.252.0.10); Source Active for it
      .2  I-PMSI; Leaf A-D on .1's S-PMSI; Source Tree Join of it towards .1
      .3  I-PMSI; Shared Tree Join of 233.252.0.50 (C-RP 192.0.2.250)
          towards .1; a Source Tree Join with no IP-address-specific RT;
          an IPv6 Source Tree Join towards 2001:db8::2 (RFC 6515, RFC 5701)
    RR2 (127.0.0.2) monitors RR1 (198.18.0.100): .2's I-PMSI and join,
      reflected (ORIGINATOR_ID .2)

Addresses (testing.md): PEs 198.18.0.0/15, customer groups 233.252.0.0/24.
"""
import sys

from conftest import EVENT_TIMEOUT, FIXTURES, ONE_PASS, serving, snmp_rows, wait_for
from test_bmp import bmp_scalars, connect, free_tcp_port
from test_bmp_mdt import pe, pes, settled

sys.path.insert(0, FIXTURES)
import gen_bmp as g  # noqa: E402  (struct, by hand from the RFCs: the BMP)

GREEN = 3
SETTLE = 10
HELD = 4294967295  # mvpnCGroupPeExpiresIn while a route holds the row
SG, STAR_G = 2, 1
DOWN, UP = 1, 2
RR1_ADDR = pe(100)

S_PMSI = g.r_type3("mvpn4", 65000, 10, "192.0.2.10", "233.252.0.10", pe(1))
JOIN_2 = g.r_join("mvpn4", 7, 65000, 10, 65000, "192.0.2.10", "233.252.0.10")
SHARED_3 = g.r_join("mvpn4", 6, 65000, 10, 65000, "192.0.2.250", "233.252.0.50")
NO_RT_3 = g.r_join("mvpn4", 7, 65000, 10, 65000, "192.0.2.11", "233.252.0.11")
V6_JOIN_3 = g.r_join("mvpn6", 7, 65000, 11, 65000, "2001:db8:1::10", "ff3e::8000:10")


def type1(num, orig):
    return g.r_type1("mvpn4", 65000, num, orig)


def rm(peer, routes, attrs=b"", afi=g.AFI_IPV4, pre=b""):
    """A Route Monitoring: one MP_REACH of routes, with the attributes given
    before (pre: ORIGINATOR_ID, type 9) and after it (communities, PMSI)."""
    upd = g.update(g.base_attrs([65000]) + pre +
                   g.mp_reach(afi, g.SAFI_MVPN, peer.addr if afi == g.AFI_IPV4 else "2001:db8::3",
                              [r.nlri for r in routes]) + attrs)
    return g.route_monitoring(peer, upd)


def unreach(peer, routes, afi):
    return g.route_monitoring(peer, g.update(g.mp_unreach(afi, g.SAFI_MVPN,
                                                          [r.nlri for r in routes])))


def to_pe1():
    # An AS-specific RT first: only the IP-address-specific one names a PE.
    return g.ext_communities(g.ec_rt_as2(65000, 10), g.ec_rt_ip4(pe(1), 7))


def rr1_stream(p1, p2, p3):
    return (g.initiation("rr1", "route reflector") +
            g.peer_up(p1, RR1_ADDR) + g.peer_up(p2, RR1_ADDR) + g.peer_up(p3, RR1_ADDR) +
            rm(p1, [type1(10, pe(1))], g.pmsi_ir(pe(1), 77)) +
            rm(p1, [S_PMSI], g.pmsi_pim(3, pe(1), "239.192.1.1")) +
            rm(p1, [g.r_type5("mvpn4", 65000, 10, "192.0.2.10", "233.252.0.10")]) +
            rm(p2, [type1(11, pe(2))], g.pmsi_ir(pe(2), 78)) +
            rm(p2, [g.r_type4("mvpn4", S_PMSI, pe(2))], g.pmsi_ir(pe(2), 1002)) +
            rm(p2, [JOIN_2], to_pe1()) +
            rm(p3, [type1(11, pe(3))], g.pmsi_ir(pe(3), 79)) +
            rm(p3, [SHARED_3], to_pe1()) +
            rm(p3, [NO_RT_3], g.ext_communities(g.ec_rt_as2(65000, 10))) +
            rm(p3, [V6_JOIN_3], g.ipv6_ext_communities(g.ec_rt_ip6("2001:db8::2", 7)),
               afi=g.AFI_IPV6))


def rr2_stream(rr1):
    reflected = g.originator_id(pe(2))
    return (g.initiation("rr2", "route reflector") + g.peer_up(rr1, pe(101)) +
            rm(rr1, [type1(11, pe(2))], g.pmsi_ir(pe(2), 78), pre=reflected) +
            rm(rr1, [JOIN_2], to_pe1(), pre=reflected))


def joins(snmp):
    """green's C-group->PE rows: (state, other, joiners, rp, hold, held?, BGP routes)."""
    out = {}
    for k, r in snmp_rows(snmp, "mvpnCGroupPeTable", "uaauau").items():
        if k[0] != GREEN:
            continue
        expires = r["mvpnCGroupPeExpiresIn"]
        out[k[1:]] = (r["mvpnCGroupPeState"], r["mvpnCGroupPeOther"], r["mvpnCGroupPeJoiners"],
                      r["mvpnCGroupPeRp"], r["mvpnCGroupPeHoldTime"],
                      "held" if expires == HELD else expires,
                      r["mvpnCGroupPeBgpRoutes"])
    return out


def ad_routes(snmp):
    return {k[1:]: (r["mvpnPTunnelType"], r["mvpnPTunnelLabel"], r["mvpnPTunnelRoutes"],
                    r["mvpnPTunnelKeyOrigin"])
            for k, r in snmp_rows(snmp, "mvpnPTunnelTable", "uuaaa").items() if k[0] == GREEN}


def change_kinds(snmp):
    kinds = {5: "join", 6: "prune", 7: "expiry"}
    return sorted((kinds[r["mvpnChangeKind"]], r["mvpnChangeCGroup"], r["mvpnChangePe"])
                  for r in snmp_rows(snmp, "mvpnChangeTable", "u").values()
                  if r["mvpnChangeKind"] in kinds)


def ip4(a):
    return g.ip(a)


@ONE_PASS
def test_c_multicast_routes_are_joins_held_by_bgp_until_settle(daemon, snmp, traps):
    port = free_tcp_port()
    daemon.write_config(
        "startup-grace = 0\n"
        f'bmp {{ listen = "127.0.0.1:{port}"  allow = {{ "127.0.0.1", "127.0.0.2" }}'
        f"  settle = {SETTLE} }}\n"
        f'vpn "green" {{ index = {GREEN}  rds = {{ "65000:10", "65000:11" }}\n'
        f'  expected-pes = {{ "{pe(1)}", "{pe(2)}", "{pe(3)}" }} }}\n')
    daemon.start()
    assert wait_for(lambda: serving(snmp, "mvpnBmpStatus.0"), EVENT_TIMEOUT), daemon.log_text()
    # No route yet: the three expected PEs are missing (grace 0).
    assert wait_for(lambda: len(snmp_rows(snmp, "mvpnAlarmTable", "u")) == 3, EVENT_TIMEOUT)
    got, seen = settled(traps, snmp, 0)
    assert got == [("mvpnPeMissing", GREEN, pe(i)) for i in (1, 2, 3)]
    p1, p2, p3 = (g.Peer(pe(i), 65000, pe(i)) for i in (1, 2, 3))
    rr1_peer = g.Peer(RR1_ADDR, 65000, RR1_ADDR)
    rr1, rr2 = connect(port), connect(port, "127.0.0.2")
    try:
        rr1.sendall(rr1_stream(p1, p2, p3))
        rr2.sendall(rr2_stream(rr1_peer))
        assert wait_for(lambda: bmp_scalars(snmp).get("mvpnBmpCmcastRoutes") == 5,
                        EVENT_TIMEOUT), bmp_scalars(snmp)
        # The route with no IP-address-specific RT fills nothing.
        assert bmp_scalars(snmp)["mvpnBmpMvpnNotApplied"] == 1
        v6_up = g.ip("2001:db8::2")
        want = {
            # .2 joins (192.0.2.10, 233.252.0.10) through .1: both reflectors report it.
            ("233.252.0.10", "192.0.2.10", SG, pe(2), DOWN):
                (1, ip4(pe(1)), 1, b"", 65535, "held", 2),
            ("233.252.0.10", "192.0.2.10", SG, pe(1), UP):
                (1, ip4(pe(2)), 1, b"", 65535, "held", 0),
            # .3's Shared Tree Join: (*,G) towards the C-RP, through .1.
            ("233.252.0.50", "", STAR_G, pe(3), DOWN):
                (1, ip4(pe(1)), 1, ip4("192.0.2.250"), 65535, "held", 1),
            ("233.252.0.50", "", STAR_G, pe(1), UP):
                (1, ip4(pe(3)), 1, ip4("192.0.2.250"), 65535, "held", 0),
            # The IPv6 join: its upstream from the IPv6-address-specific RT.
            ("ff3e::8000:10", "2001:db8:1::10", SG, pe(3), DOWN):
                (1, v6_up, 1, b"", 65535, "held", 1),
            ("ff3e::8000:10", "2001:db8:1::10", SG, "2001:db8::2", UP):
                (1, ip4(pe(3)), 1, b"", 65535, "held", 0),
        }
        assert wait_for(lambda: joins(snmp) == want, EVENT_TIMEOUT), joins(snmp)
        # The A-D routes: I-PMSIs, the S-PMSI, .2 a leaf of .1's tunnel (by
        # ingress replication, label 1002), .1's active source.
        assert ad_routes(snmp) == {
            (1, "", "", pe(1)): (6, 77, 1, b""),
            (1, "", "", pe(2)): (6, 78, 2, b""),
            (1, "", "", pe(3)): (6, 79, 1, b""),
            (3, "192.0.2.10", "233.252.0.10", pe(1)): (3, 0, 1, b""),
            (4, "192.0.2.10", "233.252.0.10", pe(2)): (6, 1002, 1, ip4(pe(1))),
            (5, "192.0.2.10", "233.252.0.10", pe(1)): (0, 0, 1, b"")}
        assert {a: s[0] for (v, a), s in pes(snmp).items() if v == GREEN} == {
            pe(1): "active", pe(2): "active", pe(3): "active"}
        assert change_kinds(snmp) == sorted([
            ("join", ip4("233.252.0.10"), ip4(pe(2))),
            ("join", ip4("233.252.0.50"), ip4(pe(3))),
            ("join", g.ip("ff3e::8000:10"), ip4(pe(3)))])
        assert wait_for(lambda: len(snmp_rows(snmp, "mvpnAlarmTable", "u")) == 0, EVENT_TIMEOUT)
        got, seen = settled(traps, snmp, seen)
        assert got == sorted([("mvpnAlarmCleared", GREEN, pe(i)) for i in (1, 2, 3)] +
                             [("mvpnVpnConfigMatch", GREEN, "")])

        # .3's Shared Tree Join now targets .2 (its RT replaced): the row
        # moves upstream, recorded as a join with what it was before.
        rr1.sendall(rm(p3, [SHARED_3], g.ext_communities(g.ec_rt_ip4(pe(2), 7))))
        del want[("233.252.0.50", "", STAR_G, pe(1), UP)]
        want[("233.252.0.50", "", STAR_G, pe(3), DOWN)] = (
            1, ip4(pe(2)), 1, ip4("192.0.2.250"), 65535, "held", 1)
        want[("233.252.0.50", "", STAR_G, pe(2), UP)] = (
            1, ip4(pe(3)), 1, ip4("192.0.2.250"), 65535, "held", 0)
        assert wait_for(lambda: joins(snmp) == want, EVENT_TIMEOUT), joins(snmp)
        assert bmp_scalars(snmp)["mvpnBmpCmcastRoutes"] == 5

        # .2 goes down at RR1: RR2's reflected copy still holds .2's join.
        # .3 withdraws its IPv6 join (MP_UNREACH): held for settle.
        rr1.sendall(g.peer_down(p2) + unreach(p3, [V6_JOIN_3], g.AFI_IPV6))
        want[("233.252.0.10", "192.0.2.10", SG, pe(2), DOWN)] = (
            1, ip4(pe(1)), 1, b"", 65535, "held", 1)
        assert wait_for(lambda: joins(snmp).get(
            ("233.252.0.10", "192.0.2.10", SG, pe(2), DOWN)) == want[
            ("233.252.0.10", "192.0.2.10", SG, pe(2), DOWN)], EVENT_TIMEOUT), joins(snmp)
        row = joins(snmp)[("ff3e::8000:10", "2001:db8:1::10", SG, pe(3), DOWN)]
        assert row[6] == 0 and 0 < row[5] <= SETTLE, row
        assert bmp_scalars(snmp)["mvpnBmpCmcastRoutes"] == 3
        # RR2 goes: nothing holds .2's join now; it and the IPv6 one expire
        # after settle, and .2, advertised by nobody, is missing.
        rr2.close()
        assert wait_for(lambda: joins(snmp).get(
            ("233.252.0.10", "192.0.2.10", SG, pe(2), DOWN), (0,) * 7)[6] == 0, EVENT_TIMEOUT)
        gone = {k: v for k, v in want.items() if k[0] == "233.252.0.50"}
        assert wait_for(lambda: joins(snmp) == gone, SETTLE + EVENT_TIMEOUT), joins(snmp)
        assert change_kinds(snmp) == sorted([
            ("join", ip4("233.252.0.10"), ip4(pe(2))),
            ("join", ip4("233.252.0.50"), ip4(pe(3))),
            ("join", ip4("233.252.0.50"), ip4(pe(3))),
            ("join", g.ip("ff3e::8000:10"), ip4(pe(3))),
            ("expiry", ip4("233.252.0.10"), ip4(pe(2))),
            ("expiry", g.ip("ff3e::8000:10"), ip4(pe(3)))])
        assert wait_for(lambda: pes(snmp)[(GREEN, pe(2))][0] == "missing", EVENT_TIMEOUT)
        got, seen = settled(traps, snmp, seen)
        assert got == [("mvpnPeMissing", GREEN, pe(2))]
        assert ad_routes(snmp).keys() == {
            (1, "", "", pe(1)), (1, "", "", pe(3)), (3, "192.0.2.10", "233.252.0.10", pe(1)),
            (5, "192.0.2.10", "233.252.0.10", pe(1))}
    finally:
        rr1.close()
        rr2.close()


def test_a_restart_restores_bgps_joins_and_records_nothing_new(daemon, snmp, tmp_path):
    """With a history, a restart brings the rows back at once, held for
    settle; the router's routes, sent again, hold them as before: the store
    has one join and no expiry in the whole run."""
    port, db = free_tcp_port(), tmp_path / "history.db"
    daemon.write_config(
        "startup-grace = 0\n"
        f'bmp {{ listen = "127.0.0.1:{port}"  allow = {{ "127.0.0.1" }}  settle = {SETTLE} }}\n'
        f'vpn "green" {{ index = {GREEN}  rds = {{ "65000:10", "65000:11" }}\n'
        f'  expected-pes = {{ "{pe(1)}", "{pe(2)}" }} }}\n'
        f'history {{ file = "{db}"  monitor = "m1"  flush-interval = 100 }}\n')
    p1, p2 = (g.Peer(pe(i), 65000, pe(i)) for i in (1, 2))
    stream = (g.initiation("rr1", "route reflector") +
              g.peer_up(p1, RR1_ADDR) + g.peer_up(p2, RR1_ADDR) +
              rm(p1, [type1(10, pe(1))], g.pmsi_ir(pe(1), 77)) +
              rm(p2, [type1(11, pe(2))], g.pmsi_ir(pe(2), 78)) +
              rm(p2, [JOIN_2], to_pe1()))
    down = ("233.252.0.10", "192.0.2.10", SG, pe(2), DOWN)
    up = ("233.252.0.10", "192.0.2.10", SG, pe(1), UP)
    held = {down: (1, ip4(pe(1)), 1, b"", 65535, "held", 1),
            up: (1, ip4(pe(2)), 1, b"", 65535, "held", 0)}

    def stored():
        from test_history import stored_changes
        return [(kind, bytes(p or b"")) for _, _, vpn, kind, p, *_ in stored_changes(str(db))
                if vpn == GREEN and kind in (5, 6, 7)]

    for run in range(2):
        daemon.start()
        assert wait_for(lambda: serving(snmp, "mvpnBmpStatus.0"), EVENT_TIMEOUT), \
            daemon.log_text()
        if run:
            # Restored at once, before any router: waiting for its route.
            rows = joins(snmp)
            assert rows.keys() == held.keys(), rows
            assert rows[down][6] == 0 and 0 < rows[down][5] <= SETTLE, rows
        rr1 = connect(port)
        try:
            rr1.sendall(stream)
            assert wait_for(lambda: joins(snmp) == held, EVENT_TIMEOUT), joins(snmp)
        finally:
            rr1.close()
        daemon.stop()
        assert stored() == [(5, ip4(pe(2)))]
