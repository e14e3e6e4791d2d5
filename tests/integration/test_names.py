"""PE names: `pe "ADDR" { name = "..." }` sections give the PE a name that
the PE table shows (mvpnPeName) and every notification about a PE carries
(mvpnNotifyName); an unnamed PE shows its address, and a reload renames.
The capture and its expected notifications are the scapy fixtures of
test_alarms (tests/fixtures/gen_alarm_fixtures.py); the names are this
test's.  Pair and tunnel names are checked in test_alarms' loss-step test,
which has the emulator running."""
import os
import signal

from conftest import FIXTURES, addr_text, scalars, serving, snmp_rows, wait_for
from test_alarms import all_received, hex_addr

NAMES = {"198.18.0.66": "intruder-66", "198.18.0.4": "grün-pe4"}


def names_conf(names):
    return "".join(f'pe "{a}" {{ name = "{n}" }}\n' for a, n in names.items())


def pe_names(snmp):
    return {(i[0], i[1]): r["mvpnPeName"].decode()
            for i, r in snmp_rows(snmp, "mvpnPeTable", "ua").items()}


def test_names_are_shown_in_the_pe_table_and_carried_by_notifications(daemon, snmp, traps):
    with open(os.path.join(FIXTURES, "alarms.conf")) as f:
        base = f.read()
    daemon.write_config(base + names_conf(NAMES))
    daemon.start("-r", os.path.join(FIXTURES, "alarms.pcap"))
    assert wait_for(lambda: serving(snmp), 30), daemon.log_text()
    assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "finished", 60), daemon.log_text()
    got = all_received(traps, snmp)
    about_pe = [n for n in got if n["_name"] != "mvpnVpnConfigMatch"]
    assert [n["_name"] for n in about_pe] == ["mvpnPeUnexpected", "mvpnPeMissing", "mvpnPeMissing",
                                              "mvpnAlarmCleared"], got
    for n in about_pe:
        addr = hex_addr(n["mvpnNotifyAddr.0"])
        assert n["mvpnNotifyName.0"] == NAMES.get(addr, addr), n
        if n["_name"] == "mvpnAlarmCleared":
            assert n["mvpnNotifyPeerName.0"] == "", n  # a PE alarm has no peer
    assert "mvpnNotifyName.0" not in [k for n in got if n["_name"] == "mvpnVpnConfigMatch"
                                      for k in n]
    # Every PE row: its name, or its address for the unnamed.
    shown = pe_names(snmp)
    assert ("198.18.0.66" in [a for _, a in shown]) and len(shown) >= 5, shown
    for (vpn, addr), name in shown.items():
        assert name == NAMES.get(addr, addr), (vpn, addr, name)
    # A reload renames one, names another and drops the third's name.
    renamed = {"198.18.0.66": "intruder-b", "198.18.0.1": "nyc-pe1"}
    daemon.write_config(base + names_conf(renamed))
    loads = scalars(snmp)["mvpnConfigLoads"]
    daemon.signal(signal.SIGHUP)
    assert wait_for(lambda: scalars(snmp)["mvpnConfigLoads"] == loads + 1, 30), daemon.log_text()
    for (vpn, addr), name in pe_names(snmp).items():
        assert name == renamed.get(addr, addr), (vpn, addr, name)
    alarms = snmp_rows(snmp, "mvpnAlarmTable", "u")
    assert {addr_text(r["mvpnAlarmAddrType"], r["mvpnAlarmAddr"]) for r in alarms.values()} == \
        {"198.18.0.3", "198.18.0.66"}


def test_a_bad_pe_section_is_refused_with_its_line_and_keeps_the_names(daemon, snmp, tmp_path):
    with open(os.path.join(FIXTURES, "alarms.conf")) as f:
        base = f.read()
    daemon.write_config(base + names_conf(NAMES))
    daemon.start("-r", os.path.join(FIXTURES, "alarms.pcap"))
    assert wait_for(lambda: serving(snmp), 30), daemon.log_text()
    assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "finished", 60), daemon.log_text()
    before = pe_names(snmp)
    bad = base + names_conf({"198.18.0.66": "other"}) + 'pe "198.18.0.66" { name = "twice" }\n'
    daemon.write_config(bad)
    failures = scalars(snmp)["mvpnConfigLoadFailures"]
    daemon.signal(signal.SIGHUP)
    assert wait_for(lambda: scalars(snmp)["mvpnConfigLoadFailures"] == failures + 1, 30)
    line = bad.count("\n")
    assert f':{line}: pe "198.18.0.66" is defined twice (first on line {line - 1})' in \
        daemon.log_text(), daemon.log_text()
    assert pe_names(snmp) == before
