"""Fault location end to end: the PE emulator loses probes on one PE's tunnel
or on one provider path, and mvpnmond, through a private snmpd, must say
where: a row in mvpnFaultTable, mvpnFaultLocated, the pair alarms naming the
place, and mvpnFaultCleared with the row gone once the loss stops.

Four PEs, each a sender and a receiver, 200 probes a second each, a 4 s
window; loss rising 2 %, falling 1 %.  Over a 4 s window a 5 % loss is
800 probes' worth: its pairs stay above 2 % (3.9 standard deviations), so a
located fault does not flicker.  Also printed (not asserted, the machine
may be loaded): the time from the first pair alarm to the located fault.
"""
import calendar
import ipaddress
import signal
import time

from conftest import ONE_PASS, scalars, serving, snmp_rows, wait_for
from test_alarms import hex_addr, threshold_conf
from test_probe import Scenario, lab, pe, start_emulator  # noqa: F401

N = 4
KIND = {1: "senderSide", 2: "receiverSide", 3: "path", 4: "monitorLink"}


def faults(snmp):
    """{(metric, kind, pe, peer): row} of mvpnFaultTable, VPN 1."""
    rows = snmp_rows(snmp, "mvpnFaultTable", "uuuaa")
    return {(metric, KIND[kind], a, b): r for (vpn, metric, kind, a, b), r in rows.items()
            if vpn == 1}


class Watch:
    """When each notification was first seen, by this test's clock."""

    def __init__(self, traps):
        self.traps, self.seen = traps, {}

    def poll(self):
        now = time.monotonic()
        for i, n in enumerate(self.traps.notifications()):
            self.seen.setdefault(i, (now, n))
        return [n for _, n in self.seen.values()]

    def wait(self, predicate, timeout):
        hit = []

        def check():
            hit[:] = [n for n in self.poll() if predicate(n)]
            return bool(hit)
        assert wait_for(check, timeout, interval=0.2), self.traps.text()
        return hit

    def first(self, predicate):
        times = [t for t, n in self.seen.values() if predicate(n)]
        return min(times) if times else None


def label(value):
    """'senderSide(1)', as snmptrapd prints an enum, -> 'senderSide'."""
    return value.split("(")[0]


def date(value):
    """A DateAndTime (RFC 2579, UTC) as Unix seconds."""
    y, mo, d, h, mi, sec, ds = int.from_bytes(value[:2], "big"), *value[2:8]
    return calendar.timegm((y, mo, d, h, mi, sec)) + ds / 10


def fault_notice(n, name, kind):
    return n["_name"] == name and label(n.get("mvpnNotifyFaultKind.0", "")) == kind


LOSS = "loss-rising = 2  loss-falling = 1"


def start(lab, tmp_path, daemon, snmp, s, thresholds=LOSS, extra=""):
    emu = start_emulator(lab, tmp_path, s)
    every = list(range(1, s.n + 1))
    daemon.write_config(threshold_conf(lab, 200, 4, thresholds, every, every) + extra)
    daemon.start(netns=lab["monitor"])
    assert wait_for(lambda: serving(snmp), 30), daemon.log_text()
    # The windows fill (4 s and the loss timeout) with nothing lost: no fault.
    assert wait_for(lambda: len(snmp_rows(snmp, "mvpnProbePeTable", "ua")) == s.n, 30)
    time.sleep(6)
    assert faults(snmp) == {}, daemon.log_text()
    return emu


@ONE_PASS
def test_sender_side_loss_is_located_then_cleared(lab, tmp_path, daemon, snmp, traps):
    s = Scenario(N)
    emu = start(lab, tmp_path, daemon, snmp, s)
    watch = Watch(traps)
    try:
        s.up_loss[2] = 5.0  # the tunnel towards PE 2: its probes, before replication
        step = time.monotonic()
        assert emu.reload(s.emulator_conf())["ev"] == "reload"
        located = watch.wait(lambda n: fault_notice(n, "mvpnFaultLocated", "senderSide"), 60)
        n = located[0]
        assert hex_addr(n["mvpnNotifyAddr.0"]) == pe(2), n
        assert label(n["mvpnNotifyMetric.0"]) == "loss", n
        assert label(n["mvpnNotifyPeerAddrType.0"]) == "unknown", n
        # Nothing else is blamed: one row, PE 2's sender side, with its estimate,
        # above a third of the threshold as soon as it is located ...
        rows = faults(snmp)
        assert list(rows) == [(1, "senderSide", pe(2), "")], (rows, daemon.log_text())
        assert rows[(1, "senderSide", pe(2), "")]["mvpnFaultLossLowPpm"] > 20000 // 3, rows
        # ... and near the 5 % applied once the loss fills the window.
        time.sleep(5)
        rows = faults(snmp)
        assert list(rows) == [(1, "senderSide", pe(2), "")], (rows, daemon.log_text())
        row = rows[(1, "senderSide", pe(2), "")]
        assert 25000 <= row["mvpnFaultLossPpm"] <= 100000, row
        assert row["mvpnFaultLossLowPpm"] <= row["mvpnFaultLossPpm"] <= \
            row["mvpnFaultLossHighPpm"], row
        assert row["mvpnFaultPairs"] == 3 and row["mvpnFaultResidual"] == 2, row
        assert row["mvpnFaultEchoLossPpm"] > 0, row  # the echoes cross that tunnel too
        sides = snmp_rows(snmp, "mvpnProbePeTable", "ua")
        assert sides[(1, pe(2))]["mvpnProbePeSenderSideStatus"] == 1, sides
        assert all(r["mvpnProbePeSenderSideLossPpm"] < 20000 for (_, a), r in sides.items()
                   if a != pe(2)), sides
        assert all(r["mvpnProbePeReceiverSideLossPpm"] < 20000 for r in sides.values()), sides
        # The pair alarms are PE 2's and say where their cause is.
        alarms = snmp_rows(snmp, "mvpnAlarmTable", "u").values()
        assert {(r["mvpnAlarmAddr"], r["mvpnAlarmPeer"]) for r in alarms} == \
            {(bytes([198, 18, 1, 2]), bytes([198, 18, 1, j])) for j in (1, 3, 4)}, alarms
        for r in alarms:
            assert r["mvpnAlarmDescr"].endswith(b"; located: sender side of PE 198.18.1.2"), r
        assert scalars(snmp)["mvpnNotificationsSuppressed"] == 0
        rising = watch.first(lambda n: n["_name"] == "mvpnPairLossRising")
        found = watch.first(lambda n: fault_notice(n, "mvpnFaultLocated", "senderSide"))
        print(f"\nfault location latency: threshold alarm {rising - step:.1f} s after the step, "
              f"located fault {found - step:.1f} s after it ({found - rising:+.1f} s; "
              f"window 4 s)")

        s.up_loss[2] = 0.0
        assert emu.reload(s.emulator_conf())["ev"] == "reload"
        watch.wait(lambda n: fault_notice(n, "mvpnFaultCleared", "senderSide"), 60)
        assert faults(snmp) == {}
        located = [n for n in watch.poll() if n["_name"] == "mvpnFaultLocated"]
        assert len(located) == 1, located  # no flicker, nothing else located
    finally:
        emu.stop()


@ONE_PASS
def test_one_lossy_path_is_a_path_fault(lab, tmp_path, daemon, snmp, traps):
    s = Scenario(N)
    for i in range(1, N + 1):
        for j in range(1, N + 1):
            if i != j:
                s.pair[(i, j)] = 1.0
    emu = start(lab, tmp_path, daemon, snmp, s)
    watch = Watch(traps)
    try:
        s.pair_loss[(1, 4)] = 8.0
        assert emu.reload(s.emulator_conf())["ev"] == "reload"
        n = watch.wait(lambda n: fault_notice(n, "mvpnFaultLocated", "path"), 60)[0]
        assert (hex_addr(n["mvpnNotifyAddr.0"]), hex_addr(n["mvpnNotifyPeerAddr.0"])) == \
            (pe(1), pe(4)), n
        rows = faults(snmp)
        assert list(rows) == [(1, "path", pe(1), pe(4))], (rows, daemon.log_text())
        assert rows[(1, "path", pe(1), pe(4))]["mvpnFaultResidual"] == 2  # its own estimate
        pairs = snmp_rows(snmp, "mvpnPairTable", "uaa")
        path = pairs[(1, pe(1), pe(4))]
        assert path["mvpnPairPathLossStatus"] == 1, path
        # Located as the loss fills the window: above a third of the threshold so far.
        assert path["mvpnPairPathLossLowPpm"] > 20000 // 3, path
        assert path["mvpnPairPathLossPpm"] <= path["mvpnPairPathLossHighPpm"], path
        assert 20000 <= path["mvpnPairPathCorrLossPpm"] <= 120000, path
        assert all(r["mvpnPairPathLossPpm"] < 20000 for k, r in pairs.items()
                   if k != (1, pe(1), pe(4))), pairs
        (alarm,) = snmp_rows(snmp, "mvpnAlarmTable", "u").values()
        assert alarm["mvpnAlarmDescr"].endswith(b"; located: path 198.18.1.1 -> 198.18.1.4")
        assert [n["_name"] for n in watch.poll() if n["_name"].startswith("mvpnFault")] == \
            ["mvpnFaultLocated"]
    finally:
        emu.stop()


# ---- the other scenarios: what is located, and nothing else ----------------

SENDS = (1, "senderSide")  # (metric, kind) shorthands: 1 loss, 2 delay


def alarms_by_pair(snmp):
    """{(source, destination, kind): mvpnAlarmDescr} of the raised pair alarms."""
    return {(str(ipaddress.ip_address(r["mvpnAlarmAddr"])),
             str(ipaddress.ip_address(r["mvpnAlarmPeer"])), r["mvpnAlarmKind"]):
            r["mvpnAlarmDescr"].decode() for r in snmp_rows(snmp, "mvpnAlarmTable", "u").values()}


def located_exactly(snmp, want, daemon):
    """mvpnFaultTable holds the faults want, and no other."""
    rows = faults(snmp)
    assert set(rows) == set(want), (sorted(rows), daemon.log_text()[-3000:])
    return rows


def check_alarms_name(snmp, expected, daemon):
    """expected: {(source PE, destination PE, alarm kind): the location text}.
    Exactly those pairs are in alarm (pairs not involved show nothing), each
    alarm's text ending with its location."""
    got = alarms_by_pair(snmp)
    want = {(pe(i), pe(j), kind) for (i, j, kind) in expected}
    assert set(got) == want, (sorted(got), daemon.log_text()[-3000:])
    for (i, j, kind), where in expected.items():
        assert got[(pe(i), pe(j), kind)].endswith(f"; located: {where}"), got


def fault_names(watch):
    return [(n["_name"], label(n.get("mvpnNotifyFaultKind.0", "")))
            for n in watch.poll() if n["_name"].startswith("mvpnFault")]


def fault_log(daemon):
    """What the daemon logged of faults and pair alarms: an assertion's message."""
    return "\n".join(line for line in daemon.log_text().splitlines()
                     if "fault" in line or "probing figures" in line or "Rising" in line
                     or "history" in line)


@ONE_PASS
def test_receiver_side_loss_is_pe3s_tunnel_back(lab, tmp_path, daemon, snmp, traps):
    """5 % on PE 3's tunnel back to the monitor only: every copy into PE 3
    and PE 3's echo replies cross it; PE 3's receiver side, nothing else."""
    s = Scenario(N)
    history = f'history {{ file = "{tmp_path / "history.db"}"  flush-interval = 100 }}\n'
    emu = start(lab, tmp_path, daemon, snmp, s, extra=history)
    watch = Watch(traps)
    try:
        s.down_loss[3] = 5.0
        assert emu.reload(s.emulator_conf())["ev"] == "reload"
        n = watch.wait(lambda n: fault_notice(n, "mvpnFaultLocated", "receiverSide"), 60)[0]
        assert hex_addr(n["mvpnNotifyAddr.0"]) == pe(3), n
        assert label(n["mvpnNotifyMetric.0"]) == "loss", n
        # Every pair into PE 3 is over the threshold by now (the fault was
        # published after they were): wait for the last of them to be raised.
        want = {(i, 3, 3): "receiver side of PE 198.18.1.3" for i in (1, 2, 4)}
        assert wait_for(lambda: set(alarms_by_pair(snmp)) >= {(pe(i), pe(j), k)
                                                              for i, j, k in want}, 30)
        time.sleep(2)  # two judgements more: nothing else comes
        rows = located_exactly(snmp, {(1, "receiverSide", pe(3), "")}, daemon)
        row = rows[(1, "receiverSide", pe(3), "")]
        assert row["mvpnFaultPairs"] == 3 and row["mvpnFaultEchoLossPpm"] > 0, row
        check_alarms_name(snmp, want, daemon)
        sides = snmp_rows(snmp, "mvpnProbePeTable", "ua")
        assert sides[(1, pe(3))]["mvpnProbePeReceiverSideStatus"] == 1, sides
        assert all(r["mvpnProbePeSenderSideLossPpm"] < 20000 for r in sides.values()), sides
        assert fault_names(watch) == [("mvpnFaultLocated", "receiverSide")], fault_log(daemon)

        # A restart: the fault is in the history, and comes back at once with
        # its index and since; the first location over full windows finds it
        # again and keeps it, silently.
        since = date(row["mvpnFaultSinceDate"])
        daemon.stop()
        starts = len([n for n in watch.poll() if n["_name"] == "mvpnAgentStart"])
        daemon.start(netns=lab["monitor"])
        assert wait_for(lambda: len([n for n in watch.poll() if n["_name"] == "mvpnAgentStart"])
                        == starts + 1, 60), traps.text()[-3000:]
        assert wait_for(lambda: serving(snmp), 30), daemon.log_text()
        assert (1, "receiverSide", pe(3), "") in faults(snmp), fault_log(daemon)
        rows = located_exactly(snmp, {(1, "receiverSide", pe(3), "")}, daemon)
        assert abs(date(rows[(1, "receiverSide", pe(3), "")]["mvpnFaultSinceDate"]) - since) \
            <= 0.2, (rows, since)
        judged = "faults restored at start judged over full windows: 1 found again and kept"
        assert wait_for(lambda: judged in daemon.log_text(), 60), fault_log(daemon)
        rows = located_exactly(snmp, {(1, "receiverSide", pe(3), "")}, daemon)
        assert abs(date(rows[(1, "receiverSide", pe(3), "")]["mvpnFaultSinceDate"]) - since) \
            <= 0.2, (rows, since)

        # A reload without the VPN: its fault is announced cleared, its row gone;
        # and before that clear, no second mvpnFaultLocated came.
        daemon.write_config(threshold_conf(lab, 200, 4, LOSS, [1, 2], [1, 2]).replace(
            'vpn "red" {\n index = 1', 'vpn "blue" {\n index = 2') + history)
        daemon.signal(signal.SIGHUP)
        watch.wait(lambda n: fault_notice(n, "mvpnFaultCleared", "receiverSide"), 60)
        assert snmp_rows(snmp, "mvpnFaultTable", "uuuaa") == {}
        assert [k for k in snmp_rows(snmp, "mvpnVpnTable", "u")] == [(2,)]
        assert fault_names(watch) == [("mvpnFaultLocated", "receiverSide"),
                                      ("mvpnFaultCleared", "receiverSide")], fault_log(daemon)
    finally:
        emu.stop()


@ONE_PASS
def test_loss_on_every_tunnel_is_the_monitors_link_and_blames_no_pe(lab, tmp_path, daemon,
                                                                      snmp, traps):
    """3 % on every tunnel, both ways (the monitor's own link): every pair
    loses about 5.9 %, yet no PE is blamed; the VPN's probing figures are
    marked unreliable, and no longer once the link is clean."""
    s = Scenario(N)
    emu = start(lab, tmp_path, daemon, snmp, s)
    watch = Watch(traps)
    try:
        assert snmp_rows(snmp, "mvpnVpnTable", "u")[(1,)]["mvpnVpnProbingUnreliable"] == 2
        for i in range(1, N + 1):
            s.up_loss[i] = s.down_loss[i] = 3.0
        assert emu.reload(s.emulator_conf())["ev"] == "reload"
        watch.wait(lambda n: fault_notice(n, "mvpnFaultLocated", "monitorLink"), 60)
        want = {(i, j, 3): "the monitor's own link (probing figures unreliable)"
                for i in range(1, N + 1) for j in range(1, N + 1) if i != j}
        assert wait_for(lambda: set(alarms_by_pair(snmp)) >= {(pe(i), pe(j), k)
                                                              for i, j, k in want}, 30)
        time.sleep(2)
        rows = located_exactly(snmp, {(1, "monitorLink", "", "")}, daemon)
        row = rows[(1, "monitorLink", "", "")]
        assert row["mvpnFaultEchoLossPpm"] > 0 and row["mvpnFaultPairs"] == N * (N - 1), row
        assert snmp_rows(snmp, "mvpnVpnTable", "u")[(1,)]["mvpnVpnProbingUnreliable"] == 1
        check_alarms_name(snmp, want, daemon)
        assert fault_names(watch) == [("mvpnFaultLocated", "monitorLink")], fault_log(daemon)

        for i in range(1, N + 1):
            s.up_loss[i] = s.down_loss[i] = 0.0
        assert emu.reload(s.emulator_conf())["ev"] == "reload"
        watch.wait(lambda n: fault_notice(n, "mvpnFaultCleared", "monitorLink"), 60)
        assert faults(snmp) == {}
        assert snmp_rows(snmp, "mvpnVpnTable", "u")[(1,)]["mvpnVpnProbingUnreliable"] == 2
        assert fault_names(watch) == [("mvpnFaultLocated", "monitorLink"),
                                      ("mvpnFaultCleared", "monitorLink")], fault_log(daemon)
    finally:
        emu.stop()


@ONE_PASS
def test_a_delay_step_on_what_pe2_sends_is_its_sender_side(lab, tmp_path, daemon, snmp, traps):
    """30 ms on PE 2's ingress onto the MDT (its echo replies spared, so its
    tunnel's round trip stays as it was): every pair from PE 2 moves by
    30 ms, located as a delay fault on PE 2's sender side, and no loss."""
    s = Scenario(N)
    emu = start(lab, tmp_path, daemon, snmp, s,
                thresholds=LOSS + "  delay-rising = 25  delay-falling = 20")
    watch = Watch(traps)
    try:
        s.ingress[2] = 30.0
        assert emu.reload(s.emulator_conf())["ev"] == "reload"
        n = watch.wait(lambda n: fault_notice(n, "mvpnFaultLocated", "senderSide"), 60)[0]
        assert hex_addr(n["mvpnNotifyAddr.0"]) == pe(2), n
        assert label(n["mvpnNotifyMetric.0"]) == "delay", n
        want = {(2, j, 4): "sender side of PE 198.18.1.2" for j in (1, 3, 4)}
        assert wait_for(lambda: set(alarms_by_pair(snmp)) >= {(pe(i), pe(j), k)
                                                              for i, j, k in want}, 30)
        time.sleep(5)  # the window is all after the step: the shift is the whole step
        rows = located_exactly(snmp, {(2, "senderSide", pe(2), "")}, daemon)
        row = rows[(2, "senderSide", pe(2), "")]
        assert 25000 <= row["mvpnFaultShift"] <= 35000, row
        assert row["mvpnFaultPairs"] == 3 and row["mvpnFaultNoReference"] == 2, row
        check_alarms_name(snmp, want, daemon)
        rtt = snmp_rows(snmp, "mvpnTunnelTable", "a")[(pe(2),)]["mvpnTunnelRttAvg"]
        assert rtt < 5000, rtt  # the echoes did not cross the ingress stage
        pairs = snmp_rows(snmp, "mvpnPairTable", "uaa")
        assert all(25000 <= r["mvpnPairCorrDelayAvg"] <= 35000 if a == pe(2) else
                   r["mvpnPairCorrDelayAvg"] < 5000 for (_, a, b), r in pairs.items()), \
            pairs
        assert fault_names(watch) == [("mvpnFaultLocated", "senderSide")], fault_log(daemon)
    finally:
        emu.stop()


@ONE_PASS
def test_two_faults_at_once_are_both_located(lab, tmp_path, daemon, snmp, traps):
    """Five PEs: 5 % on the tunnel towards PE 2 and 8 % on the path 3 -> 5,
    together: PE 2's sender side and that path, nothing else."""
    s = Scenario(5)
    for i in range(1, 6):
        for j in range(1, 6):
            if i != j:
                s.pair[(i, j)] = 1.0
    emu = start(lab, tmp_path, daemon, snmp, s)
    watch = Watch(traps)
    try:
        s.up_loss[2] = 5.0
        s.pair_loss[(3, 5)] = 8.0
        assert emu.reload(s.emulator_conf())["ev"] == "reload"
        for kind in ("senderSide", "path"):
            watch.wait(lambda n: fault_notice(n, "mvpnFaultLocated", kind), 60)
        want = {(2, j, 3): "sender side of PE 198.18.1.2" for j in (1, 3, 4, 5)}
        want[(3, 5, 3)] = "path 198.18.1.3 -> 198.18.1.5"
        assert wait_for(lambda: set(alarms_by_pair(snmp)) >= {(pe(i), pe(j), k)
                                                              for i, j, k in want}, 30)
        time.sleep(2)
        rows = located_exactly(snmp, {(1, "senderSide", pe(2), ""), (1, "path", pe(3), pe(5))},
                               daemon)
        assert rows[(1, "senderSide", pe(2), "")]["mvpnFaultPairs"] == 4, rows
        assert rows[(1, "path", pe(3), pe(5))]["mvpnFaultResidual"] == 2, rows
        check_alarms_name(snmp, want, daemon)
        assert sorted(fault_names(watch)) == [("mvpnFaultLocated", "path"),
                                              ("mvpnFaultLocated", "senderSide")], fault_log(daemon)
    finally:
        emu.stop()
