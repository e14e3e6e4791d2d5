"""The BMP collector end to end: mvpnmond with a bmp section, routers played
by this test over real TCP on loopback sending the streams
tests/fixtures/gen_bmp.py encoded (tshark agrees with them), and the MIB read
through the private snmpd with net-snmp's own clients after every step."""
import ipaddress
import json
import os
import socket
import struct
import time

import pytest

from conftest import (BUILD, CLIENT_TIMEOUT, FIXTURES, ONE_PASS, mib_names, parse_value, serving, snmp_rows,
                      varbind_lines, wait_for)

BMP = os.path.join(FIXTURES, "bmp")
STEP_TIMEOUT = 30


def free_tcp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def step(name):
    with open(os.path.join(BMP, name + ".bmp"), "rb") as f:
        return f.read()


def expected():
    with open(os.path.join(BMP, "expected.json")) as f:
        return {s["name"]: s for s in json.load(f)["steps"]}


def bmp_scalars(snmp):
    names = mib_names()
    group = next(oid for oid, name in names.items() if name == "mvpnBmpGlobals")
    out = {}
    for line in varbind_lines(snmp.run_raw("snmpwalk", "-On", "-Oe", "-Ox", "-OQ", "-Ot", group)):
        oid, value = line.split(" = ", 1)
        out[names[oid.rsplit(".", 1)[0]]] = parse_value(value)
    return out


def routers(snmp):
    return snmp_rows(snmp, "mvpnBmpRouterTable", "a")


def peers(snmp):
    """mvpnBmpPeerTable by (router, peer address); every fixture peer is a
    global instance peer (distinguisher zero)."""
    rows = snmp_rows(snmp, "mvpnBmpPeerTable", "ara")
    assert all(rd == bytes(8) for _, rd, _ in rows), rows
    return {(r, a): row for (r, _, a), row in rows.items()}


def peers_until(snmp, check):
    rows = wait_for(lambda: (lambda p: p if check(p) else None)(peers(snmp)), STEP_TIMEOUT,
                    interval=0.2)
    assert rows, peers(snmp)
    return rows


def fixture_peers():
    """The peers as gen_bmp.py encodes them (its statement, not a parse)."""
    import sys
    sys.path.insert(0, FIXTURES)
    import gen_bmp as g
    return g, {p.addr: p for p in (g.A, g.B, g.C)}


def client(master, *args):
    """mvpnmon over SNMP to the private master."""
    import subprocess
    out = subprocess.run([os.path.join(BUILD, "mvpnmon"), "-v2c", "-c", "public", *CLIENT_TIMEOUT,
                          f"udp:127.0.0.1:{master.port}", *args], capture_output=True, text=True,
                         timeout=120, env=dict(os.environ, NO_COLOR="1"))
    assert out.returncode == 0, (args, out.stderr)
    return out.stdout


def router(snmp, addr="127.0.0.1"):
    return routers(snmp).get((addr,))


def until(snmp, check, addr="127.0.0.1"):
    """Polls the router's row until check(row) holds; returns the row."""
    row = wait_for(lambda: (lambda r: r if r and check(r) else None)(router(snmp, addr)),
                   STEP_TIMEOUT, interval=0.2)
    assert row, router(snmp, addr)
    return row


def connect(port, source="127.0.0.1"):
    s = socket.create_connection(("127.0.0.1", port), timeout=10,
                                 source_address=(source, 0))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def route_counts(row):
    return {"mdt": row["mvpnBmpRouterMdtRoutes"], "mvpn4": row["mvpnBmpRouterMvpnIpv4Routes"],
            "mvpn6": row["mvpnBmpRouterMvpnIpv6Routes"]}


def total(counts):
    out = {"mdt": 0, "mvpn4": 0, "mvpn6": 0}
    for per_peer in counts.values():
        for k, v in per_peer.items():
            out[k] += v
    return out


@pytest.fixture
def collector(tmp_path, daemon, snmp):
    port = free_tcp_port()
    daemon.write_config(
        "startup-grace = 0\n"
        "bmp {\n"
        f'  listen = "127.0.0.1:{port}"\n'
        '  allow = { "127.0.0.1", "127.0.0.3/32", "2001:db8::/32" }\n'
        "  max-routes-per-router = 100000\n"
        "}\n")
    daemon.start()
    assert wait_for(lambda: serving(snmp, "mvpnBmpStatus.0"), 30), daemon.log_text()
    return port


@ONE_PASS  # the encoder and tshark: nothing of the build
def test_fixtures_are_what_their_encoder_writes_and_tshark_agrees(tmp_path):
    import filecmp
    import subprocess
    out = tmp_path / "bmp"
    run = subprocess.run(["/usr/bin/python3", os.path.join(FIXTURES, "gen_bmp.py"), str(out),
                          "--check"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-4000:]
    assert "tshark agrees" in run.stdout
    cmp = filecmp.dircmp(str(out), BMP)
    assert not cmp.diff_files and not cmp.left_only and not cmp.right_only
    assert not cmp.subdirs["malformed"].diff_files


def bmp_notifications(traps):
    """mvpnBmp* notifications received: (name, {object name: value}), the
    instance (the row's index) kept apart as '_index' per object."""
    out = []
    for n in traps.notifications():
        if not n["_name"].startswith("mvpnBmp"):
            continue
        objs = {}
        for key, value in n.items():
            name, _, index = key.partition(".")
            if name.startswith("mvpnBmp"):
                objs[name] = value
                objs.setdefault("_index", index)
        out.append((n["_name"], objs))
    return out


def test_bmp_session_steps_fill_and_empty_the_router_table(collector, snmp, daemon, master,
                                                           traps):
    want = expected()
    g = bmp_scalars(snmp)
    assert g["mvpnBmpStatus"] == 2 and g["mvpnBmpListenPort"] == collector
    assert g["mvpnBmpMaxRoutesPerRouter"] == 100000
    assert routers(snmp) == {}
    s = connect(collector)
    s.sendall(step("01-init"))
    row = until(snmp, lambda r: r["mvpnBmpRouterMessages"] == 1)
    assert row["mvpnBmpRouterStatus"] == 1
    assert row["mvpnBmpRouterSysName"] == b"pe-rr1"
    assert row["mvpnBmpRouterSysDescr"] == b"mvpnmon BMP fixture router"
    assert row["mvpnBmpRouterPeersUp"] == 0 and row["mvpnBmpRouterSessions"] == 1

    s.sendall(step("02-peerup"))
    row = until(snmp, lambda r: r["mvpnBmpRouterPeersUp"] == 3)
    assert row["mvpnBmpRouterPeerUps"] == 3 and row["mvpnBmpRouterPeerLimitDrops"] == 0
    g, enc = fixture_peers()
    rows = peers(snmp)
    assert sorted(a for _, a in rows) == sorted(enc)  # A, C (IPv4) before B (IPv6)
    assert [a for _, a in rows] == [g.A.addr, g.C.addr, g.B.addr]
    for (r, a), p in rows.items():
        assert r == "127.0.0.1"
        assert p["mvpnBmpPeerStatus"] == 1 and p["mvpnBmpPeerType"] == 0
        assert p["mvpnBmpPeerAs"] == enc[a].asn and p["mvpnBmpPeerBgpId"] == enc[a].bgp_id
        assert p["mvpnBmpPeerUps"] == 1 and p["mvpnBmpPeerDowns"] == 0
        assert p["mvpnBmpPeerLastDownReason"] == 0 and p["mvpnBmpPeerLastDownError"] == b""
        assert p["mvpnBmpPeerRoutes"] == 0
        assert p["mvpnBmpPeerCreated"] == p["mvpnBmpPeerStatusChange"] != bytes(8)
    # GETNEXT from part of an index lands on the row after it, across both levels.
    status = next(oid for oid, name in mib_names().items() if name == "mvpnBmpPeerStatus")
    router_part, rd_part = "1.4.127.0.0.1", ".".join(["0"] * 8)
    for after, want_peer in ((router_part, g.A.addr), (f"{router_part}.{rd_part}.2", g.B.addr),
                             (f"{router_part}.{rd_part}.1.4.198.18.0.2", g.C.addr),
                             ("1.4.127.0.0.0", g.A.addr)):
        line = varbind_lines(snmp.run_raw("snmpgetnext", "-On", f"{status}.{after}"))[0]
        oid = line.split(" = ", 1)[0]
        assert oid.startswith(status + ".") and oid.endswith(
            ("1.4." if ":" not in want_peer else "2.16.") + (
                want_peer if ":" not in want_peer else
                ".".join(str(b) for b in socket.inet_pton(socket.AF_INET6, want_peer)))), (after, line)
    line = varbind_lines(snmp.run_raw("snmpgetnext", "-On", f"{status}.1.4.127.0.0.2"))[0]
    assert not line.split(" = ", 1)[0].startswith(status + "."), line  # past the last router

    for name in ("03-routes", "04-withdraw", "05-peerdown"):
        s.sendall(step(name))
        counts = total(want[name]["routes"])
        row = until(snmp, lambda r: route_counts(r) == counts)
        assert row["mvpnBmpRouterRoutes"] == sum(counts.values())
        assert row["mvpnBmpRouterMalformed"] == 0
        assert bmp_scalars(snmp)["mvpnBmpRoutes"] == sum(counts.values())
    assert row["mvpnBmpRouterPeersUp"] == 2 and row["mvpnBmpRouterPeerDowns"] == 1
    assert row["mvpnBmpRouterRouteMonitorings"] > 20
    # Peer B went down: its row stays, down, with what the router said of it.
    rows = peers(snmp)
    per_peer = want["05-peerdown"]["routes"]
    for (_, a), p in rows.items():
        counts = per_peer.get(a, {"mdt": 0, "mvpn4": 0, "mvpn6": 0})
        assert (p["mvpnBmpPeerMdtRoutes"], p["mvpnBmpPeerMvpnIpv4Routes"],
                p["mvpnBmpPeerMvpnIpv6Routes"]) == (counts["mdt"], counts["mvpn4"],
                                                   counts["mvpn6"]), (a, p, counts)
        assert p["mvpnBmpPeerRoutes"] == sum(counts.values())
    b = rows[("127.0.0.1", g.B.addr)]
    assert b["mvpnBmpPeerStatus"] == 2 and b["mvpnBmpPeerRoutes"] == 0
    assert b["mvpnBmpPeerUps"] == 1 and b["mvpnBmpPeerDowns"] == 1
    assert b["mvpnBmpPeerLastDownReason"] == 3  # remote system closed, NOTIFICATION follows
    assert b["mvpnBmpPeerLastDownError"] == bytes(g.PEER_DOWN_NOTIFICATION)
    assert b["mvpnBmpPeerLastDownFsmEvent"] == 0
    assert b["mvpnBmpPeerStatusChange"] >= b["mvpnBmpPeerCreated"]
    assert [p["mvpnBmpPeerStatus"] for (_, a), p in rows.items() if a != g.B.addr] == [1, 1]
    # mvpnmon bmp: the same rows, and why B went down in words.
    shown = json.loads(client(master, "bmp", "--json"))["routers"]
    assert [(r["router"], r["sys_name"], r["status"]) for r in shown] == [
        ("127.0.0.1", "pe-rr1", "up")]
    by_peer = {p["peer"]: p for p in shown[0]["peers"]}
    assert list(by_peer) == [g.A.addr, g.C.addr, g.B.addr]
    for a, p in by_peer.items():
        row = rows[("127.0.0.1", a)]
        assert (p["as"], p["bgp_id"], p["routes"], p["downs"]) == (
            enc[a].asn, enc[a].bgp_id, row["mvpnBmpPeerRoutes"], row["mvpnBmpPeerDowns"])
        assert p["distinguisher"] == "0:0" and p["since"]
    assert by_peer[g.B.addr]["status"] == "down" and by_peer[g.B.addr]["last_down_reason"] == 3
    assert by_peer[g.B.addr]["last_down"] == "remote closed: cease, administrative shutdown (6/2)"
    assert by_peer[g.A.addr]["last_down"] == "-"
    assert client(master, "bmp", "--help").startswith(
        "usage: mvpnmon [SNMP options] [AGENT] bmp [--json]")  # no VPN operand
    text = client(master, "bmp").splitlines()
    assert text[0].split()[:4] == ["ROUTER", "SYSNAME", "PEER", "RD"] and len(text) == 4
    assert text[3].split()[2:7] == [g.B.addr, "0:0", str(g.B.asn), g.B.bgp_id, "down"]
    assert text[3].endswith("remote closed: cease, administrative shutdown (6/2)")

    # The router goes away: its routes with it; its row stays, down.
    s.close()
    row = until(snmp, lambda r: r["mvpnBmpRouterStatus"] == 2)
    assert row["mvpnBmpRouterRoutes"] == 0 and row["mvpnBmpRouterPeersUp"] == 0
    assert bmp_scalars(snmp)["mvpnBmpRoutes"] == 0
    assert peers(snmp) == {}  # the session's end takes its peer rows
    text = client(master, "bmp").splitlines()
    assert len(text) == 2, text
    assert text[1].split()[:8] == ["127.0.0.1", "pe-rr1", "-", "-", "-", "-", "router", "down"], text

    # A second session, ended by a Termination message (RFC 7854 4.5).
    s = connect(collector)
    s.sendall(step("01-init") + step("02-peerup") + step("03-routes"))
    until(snmp, lambda r: r["mvpnBmpRouterRoutes"] == 37 and r["mvpnBmpRouterSessions"] == 2)
    s.sendall(step("06-term"))
    row = until(snmp, lambda r: r["mvpnBmpRouterStatus"] == 2)
    assert row["mvpnBmpRouterRoutes"] == 0
    assert s.recv(1) == b""  # the collector closed its end
    s.close()
    g = bmp_scalars(snmp)
    assert g["mvpnBmpSessionsAccepted"] == 2 and g["mvpnBmpRoutersUp"] == 0

    # Each session's beginning and end, each Peer Up and the Peer Down, in
    # the order they happened; the peers of an ended session go with it.
    gb, enc = fixture_peers()
    ups = [("mvpnBmpPeerUp", a) for a in (gb.A.addr, gb.B.addr, gb.C.addr)]
    want = ([("mvpnBmpRouterUp", None)] + ups + [("mvpnBmpPeerDown", gb.B.addr),
            ("mvpnBmpRouterDown", None), ("mvpnBmpRouterUp", None)] + ups +
            [("mvpnBmpRouterDown", None)])
    assert wait_for(lambda: len(bmp_notifications(traps)) >= len(want), STEP_TIMEOUT), traps.text()
    got = bmp_notifications(traps)
    assert [name for name, _ in got] == [name for name, _ in want], got
    router_index = 'ipv4."127.0.0.1"'
    for (name, peer), (_, objs) in zip(want, got):
        status = "up(1)" if name.endswith("Up") else "down(2)"
        if peer is None:
            assert objs == {"mvpnBmpRouterStatus": status, "_index": router_index}, objs
            continue
        # The instance: the router, the distinguisher's 8 octets, the peer.
        a = ipaddress.ip_address(peer)
        shown = f'ipv4."{peer}"' if a.version == 4 else 'ipv6."%s"' % ":".join(
            f"{b:02x}" for b in a.packed)
        assert objs["_index"] == f"{router_index}.'........'.{shown}", objs
        assert objs["mvpnBmpPeerStatus"] == status
        assert objs["mvpnBmpPeerAs"] == str(enc[peer].asn), objs
        assert objs["mvpnBmpPeerBgpId"] == enc[peer].bgp_id, objs
        if name == "mvpnBmpPeerDown":  # what the Peer Down said, as the row keeps it
            assert (objs["mvpnBmpPeerLastDownReason"], objs["mvpnBmpPeerLastDownError"],
                    objs["mvpnBmpPeerLastDownFsmEvent"]) == (
                "3", " ".join(f"{v:02X}" for v in gb.PEER_DOWN_NOTIFICATION), "0"), objs
        else:
            assert "mvpnBmpPeerLastDownReason" not in objs, objs
    assert "bmp: router 127.0.0.1: peer 2001:db8::2 (AS 4200000001) down: reason 3, " \
           "NOTIFICATION 6/2, FSM event 0" in daemon.log_text()
    assert daemon.log_text().count("bmp: router 127.0.0.1: session ended") == 2


def test_a_router_not_allowed_is_refused_and_counted(collector, snmp):
    s = connect(collector, source="127.0.0.2")
    try:
        s.sendall(step("01-init"))
    except OSError:
        pass
    s.settimeout(10)
    try:
        assert s.recv(1) == b""  # closed at once
    except ConnectionResetError:
        pass
    s.close()
    assert wait_for(lambda: bmp_scalars(snmp)["mvpnBmpSessionsRefused"] == 1, STEP_TIMEOUT)
    assert routers(snmp) == {}


def test_malformed_messages_are_counted_and_the_session_goes_on(collector, snmp):
    s = connect(collector)
    s.sendall(step("01-init") + step("02-peerup"))
    until(snmp, lambda r: r["mvpnBmpRouterPeersUp"] == 3)
    bad = sorted(f for f in os.listdir(os.path.join(BMP, "malformed")) if f != "bmp-version-2.bmp")
    for name in bad:
        with open(os.path.join(BMP, "malformed", name), "rb") as f:
            s.sendall(f.read())
    s.sendall(step("03-routes"))
    row = until(snmp, lambda r: r["mvpnBmpRouterRoutes"] == 37)
    assert row["mvpnBmpRouterMalformed"] == len(bad)
    assert row["mvpnBmpRouterStatus"] == 1
    # A common header that cannot be framed ends the session (RFC 7854 4.1).
    with open(os.path.join(BMP, "malformed", "bmp-version-2.bmp"), "rb") as f:
        s.sendall(f.read())
    row = until(snmp, lambda r: r["mvpnBmpRouterStatus"] == 2)
    assert bmp_scalars(snmp)["mvpnBmpSessionsClosedMalformed"] == 1
    s.close()


def flood_stream(n_routes, per_update=160):
    """Initiation, Peer Up, then n_routes MCAST-VPN Source Tree Joins (type 7,
    IPv4) in UPDATEs of per_update routes: encoded here as gen_bmp.py does."""
    import sys
    sys.path.insert(0, FIXTURES)
    import gen_bmp as g
    out = [g.initiation("flood", "a flood of routes"), g.peer_up(g.A, "198.18.0.100")]
    attrs = g.base_attrs([65000])
    rd = g.rd(65000, 1)
    for first in range(0, n_routes, per_update):
        body = bytearray()
        for i in range(first, min(first + per_update, n_routes)):
            # C-source 192.0.2.x varies with i's high bits, C-group 233.252.y.z with its low ones.
            body += (b"\x07\x16" + rd + b"\x00\x00\xfd\xe8" + b"\x20\xc0\x00\x02" +
                     bytes([i >> 16 & 0xff]) + b"\x20\xe9\xfc" + bytes([i >> 8 & 0xff, i & 0xff]))
        mp = g.attr(0x80, 14, struct.pack("!HBB", 1, 5, 4) + g.ip("198.18.0.1") + b"\x00" +
                    bytes(body))
        out.append(g.route_monitoring(g.A, g.update(attrs + mp)))
    return b"".join(out)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_a_million_route_flood_is_capped_counted_and_served(collector, snmp, daemon):
    n = 1000000
    stream = flood_stream(n)
    s = connect(collector, source="127.0.0.3")
    started = time.monotonic()
    s.sendall(stream)
    row = wait_for(lambda: (lambda r: r if r and r["mvpnBmpRouterRoutes"] == 100000 and
                            r["mvpnBmpRouterRouteLimitDrops"] == n - 100000 else None)(
                                router(snmp, "127.0.0.3")), 120, interval=0.5)
    took = time.monotonic() - started
    assert row, router(snmp, "127.0.0.3")
    assert row["mvpnBmpRouterMvpnIpv4Routes"] == 100000 and row["mvpnBmpRouterMalformed"] == 0
    g = bmp_scalars(snmp)
    assert g["mvpnBmpRouteLimitDrops"] == n - 100000 and g["mvpnBmpRoutes"] == 100000
    # Bounded: 100,000 routes, not a million, in the daemon's memory.
    assert rss_kb(daemon.proc.pid) < 200 * 1024, rss_kb(daemon.proc.pid)
    assert serving(snmp)
    print(f"flood: {n} routes in {len(stream)} bytes taken in {took:.1f} s "
          f"(RSS {rss_kb(daemon.proc.pid)} kB)")
    s.close()
    until(snmp, lambda r: r["mvpnBmpRouterStatus"] == 2 and r["mvpnBmpRouterRoutes"] == 0,
          addr="127.0.0.3")
    assert daemon.proc.poll() is None


def test_a_reload_that_drops_a_router_from_allow_retires_it_unannounced(collector, snmp, daemon,
                                                                        traps):
    import signal
    s = connect(collector)
    s.sendall(step("01-init") + step("02-peerup") + step("03-routes"))
    first = until(snmp, lambda r: r["mvpnBmpRouterRoutes"] == 37)
    gone = connect(collector, "127.0.0.3")  # a router whose session ended: a down row
    gone.sendall(step("01-init"))
    until(snmp, lambda r: r["mvpnBmpRouterMessages"] == 1, addr="127.0.0.3")
    gone.close()
    until(snmp, lambda r: r["mvpnBmpRouterStatus"] == 2, addr="127.0.0.3")
    assert wait_for(lambda: ("mvpnBmpRouterDown", 'ipv4."127.0.0.3"') in [
        (name, objs["_index"]) for name, objs in bmp_notifications(traps)], STEP_TIMEOUT), \
        traps.text()
    before = len(bmp_notifications(traps))
    # .1 (up) and .3 (down) leave allow; the IPv6 prefix stays.
    daemon.write_config(
        "startup-grace = 0\n"
        "bmp {\n"
        f'  listen = "127.0.0.1:{collector}"\n'
        '  allow = { "127.0.0.2", "2001:db8::/32" }\n'
        "  max-routes-per-router = 5000\n"
        "}\n")
    daemon.signal(signal.SIGHUP)
    assert wait_for(lambda: routers(snmp) == {}, STEP_TIMEOUT), routers(snmp)
    assert s.recv(1) == b""  # the collector closed its end
    g = bmp_scalars(snmp)
    assert g["mvpnBmpRoutes"] == 0 and g["mvpnBmpRoutersUp"] == 0
    assert g["mvpnBmpMaxRoutesPerRouter"] == 5000
    assert peers(snmp) == {}
    log = daemon.log_text()
    assert "router 127.0.0.1 is no longer in allow: closed" in log
    assert "router 127.0.0.1 is no longer in allow: row removed" in log
    assert "router 127.0.0.3 is no longer in allow: row removed" in log
    # A router allowed after the reload: its session's start is the next
    # notification, so none was sent for the two the reload retired.
    back = connect(collector, "127.0.0.2")
    back.sendall(step("01-init"))
    row = until(snmp, lambda r: r["mvpnBmpRouterMessages"] == 1, addr="127.0.0.2")
    assert row["mvpnBmpRouterSessions"] == 1
    assert wait_for(lambda: len(bmp_notifications(traps)) > before, STEP_TIMEOUT), traps.text()
    got = [(name, objs["_index"]) for name, objs in bmp_notifications(traps)[before:]]
    assert got == [("mvpnBmpRouterUp", 'ipv4."127.0.0.2"')], got
    back.close()
    s.close()
    # Allowed again, .1 gets a new row: its counters from zero, and a later
    # mvpnBmpRouterCreated that says so (DateAndTime: its first 8 octets
    # compare as times).
    daemon.write_config(
        "startup-grace = 0\n"
        "bmp {\n"
        f'  listen = "127.0.0.1:{collector}"\n'
        '  allow = { "127.0.0.1", "127.0.0.2" }\n'
        "  max-routes-per-router = 6000\n"
        "}\n")
    daemon.signal(signal.SIGHUP)
    assert wait_for(lambda: bmp_scalars(snmp)["mvpnBmpMaxRoutesPerRouter"] == 6000, STEP_TIMEOUT)
    time.sleep(0.2)  # more than DateAndTime's tenth of a second since the first row
    again = connect(collector)
    again.sendall(step("01-init"))
    row = until(snmp, lambda r: r["mvpnBmpRouterMessages"] == 1)
    assert row["mvpnBmpRouterSessions"] == 1 and row["mvpnBmpRouterPeerUps"] == 0
    assert row["mvpnBmpRouterCreated"][:8] > first["mvpnBmpRouterCreated"][:8], (row, first)
    again.close()
