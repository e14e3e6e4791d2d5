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


def fault_notice(n, name, kind):
    return n["_name"] == name and label(n.get("mvpnNotifyFaultKind.0", "")) == kind


def start(lab, tmp_path, daemon, snmp, s):
    emu = start_emulator(lab, tmp_path, s)
    every = list(range(1, N + 1))
    daemon.write_config(threshold_conf(lab, 200, 4, "loss-rising = 2  loss-falling = 1",
                                       every, every))
    daemon.start(netns=lab["monitor"])
    assert wait_for(lambda: serving(snmp), 30), daemon.log_text()
    # The windows fill (4 s and the loss timeout) with nothing lost: no fault.
    assert wait_for(lambda: len(snmp_rows(snmp, "mvpnProbePeTable", "ua")) == N, 30)
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
