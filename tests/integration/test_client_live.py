"""mvpnmon's live commands against the real agent: mvpnmond behind a private
snmpd, read by the real mvpnmon binary with snmpwalk's options.  What it
prints is compared with what net-snmp's own snmpbulkwalk reads from the same
agent (conftest.snmp_rows), never with another mvpnmon output.  The capture is
test_alarms' scapy fixture, the PE names this test's; pairs and tunnels come
from the PE emulator (test_probe's lab)."""
import json
import os
import re
import subprocess

from conftest import (BUILD, CLIENT_TIMEOUT, FIXTURES, Daemon, Master, addr_text, free_udp_port,
                      serving, snmp_rows, wait_for)
from test_alarms import threshold_conf
from test_probe import Scenario, lab, pe, polled, start_emulator  # noqa: F401

MVPNMON = os.path.join(BUILD, "mvpnmon")
NAMES = {"198.18.0.66": "intruder-66", "198.18.0.1": "nyc-pe1"}


def mvpnmon(master, *args, agent=None, check=True):
    agent = agent or f"udp:127.0.0.1:{master.port}"
    out = subprocess.run([MVPNMON, "-v2c", "-c", "public", *CLIENT_TIMEOUT, agent, *args],
                         capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, NO_COLOR="1"))
    if check:
        assert out.returncode == 0, (args, out.stderr)
    return out


def replayed(daemon, snmp):
    with open(os.path.join(FIXTURES, "alarms.conf")) as f:
        conf = f.read()
    daemon.write_config(conf + "".join(f'pe "{a}" {{ name = "{n}" }}\n' for a, n in NAMES.items()))
    daemon.start("-r", os.path.join(FIXTURES, "alarms.pcap"))
    assert wait_for(lambda: serving(snmp), 30), daemon.log_text()
    assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "finished", 60), daemon.log_text()


def test_vpns_pes_groups_and_alarms_show_what_the_agent_serves(daemon, snmp, master):
    replayed(daemon, snmp)
    vpns = snmp_rows(snmp, "mvpnVpnTable", "u")
    got = json.loads(mvpnmon(master, "vpns", "--json").stdout)["vpns"]
    assert [(v["index"], v["name"], v["default_mdt"], v["expected_pes"], v["active_pes"],
             v["missing_pes"], v["unexpected_pes"]) for v in got] == \
        [(i, r["mvpnVpnName"].decode(), addr_text(r["mvpnVpnDefaultMdtType"], r["mvpnVpnDefaultMdt"]),
          r["mvpnVpnExpectedPes"], r["mvpnVpnActivePes"], r["mvpnVpnMissingPes"],
          r["mvpnVpnUnexpectedPes"]) for (i,), r in vpns.items()]
    assert {v["config_status"] for v in got} <= {"pending", "match", "mismatch"}
    # The same as a table: a header, a line per VPN, names as configured.
    text = mvpnmon(master, "vpns").stdout.splitlines()
    assert text[0].split()[:3] == ["INDEX", "NAME", "DEFAULT-MDT"] and len(text) == 1 + len(vpns)
    assert [line.split()[1] for line in text[1:]] == [v["name"] for v in got]

    for index, name in ((1, "red"), (3, "green")):
        rows = {a: r for (v, a), r in snmp_rows(snmp, "mvpnPeTable", "ua").items() if v == index}
        by_name = json.loads(mvpnmon(master, "pes", name, "--json").stdout)
        by_index = json.loads(mvpnmon(master, "pes", str(index), "--json").stdout)
        assert by_name == by_index and by_name["vpn"] == {"index": index, "name": name}
        assert [(p["address"], p["name"], p["hellos"], p["hold_time_s"]) for p in by_name["pes"]] \
            == [(a, NAMES.get(a, a), r["mvpnPeHellos"], r["mvpnPeHoldTime"])
                for a, r in rows.items()]
        status = {1: "active", 2: "missing", 3: "unexpected", 4: "departed"}
        assert [p["status"] for p in by_name["pes"]] == [status[r["mvpnPeStatus"]]
                                                         for r in rows.values()]
    table = mvpnmon(master, "pes", "red").stdout
    assert "nyc-pe1" in table and "intruder-66" in table and "198.18.0.3" in table

    groups = {k: r for k, r in snmp_rows(snmp, "mvpnCGroupPeTable", "uaauau").items() if k[0] == 1}
    got = json.loads(mvpnmon(master, "groups", "red", "--json").stdout)["groups"]
    kinds, roles = {1: "starG", 2: "sg", 3: "sgRpt"}, {1: "downstream", 2: "upstream"}
    assert [(g["group"], g["source"] or "", g["kind"], g["pe"], g["role"], g["refreshes"])
            for g in got] == [(k[1], k[2], kinds[k[3]], k[4], roles[k[5]], r["mvpnCGroupPeRefreshes"])
                              for k, r in groups.items()]

    alarms = snmp_rows(snmp, "mvpnAlarmTable", "u")
    got = json.loads(mvpnmon(master, "alarms", "--json").stdout)["alarms"]
    assert [(a["index"], a["vpn_index"], a["pe"], a["pe_name"], a["description"]) for a in got] == \
        [(i, r["mvpnAlarmVpnIndex"], addr_text(r["mvpnAlarmAddrType"], r["mvpnAlarmAddr"]),
          NAMES.get(addr_text(r["mvpnAlarmAddrType"], r["mvpnAlarmAddr"]),
                    addr_text(r["mvpnAlarmAddrType"], r["mvpnAlarmAddr"])),
          r["mvpnAlarmDescr"].decode()) for (i,), r in alarms.items()]
    assert len(got) == 2 and all(a["vpn"] == "red" for a in got)


def test_mistakes_and_a_silent_agent_are_told_with_their_exit_status(daemon, snmp, master):
    replayed(daemon, snmp)
    out = mvpnmon(master, "pes", "nosuch", check=False)
    assert out.returncode == 1 and 'no VPN "nosuch"' in out.stderr
    out = mvpnmon(master, "pes", check=False)
    assert out.returncode == 2 and "name one VPN" in out.stderr
    out = mvpnmon(master, "vpns", "--bogus", check=False)
    assert out.returncode == 2 and "unknown option --bogus" in out.stderr
    out = subprocess.run([MVPNMON, "-v", "9", f"udp:127.0.0.1:{master.port}", "vpns"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out
    # Nobody on that port: told, after snmpwalk's retries, exit 1.
    out = subprocess.run([MVPNMON, "-v2c", "-c", "public", "-t", "0.5", "-r", "0",
                          f"udp:127.0.0.1:{free_udp_port()}", "vpns"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "no answer from the agent" in out.stderr, out
    # A wrong community is a silent agent too (SNMPv2c drops it).
    out = subprocess.run([MVPNMON, "-v2c", "-c", "wrong", "-t", "0.5", "-r", "0",
                          f"udp:127.0.0.1:{master.port}", "vpns"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1, out


def test_pairs_matrix_and_tunnels_of_a_probed_vpn(lab, tmp_path, daemon, snmp, master):  # noqa: F811
    s = Scenario(3)
    s.pair[(1, 2)] = 2.0
    emu = start_emulator(lab, tmp_path, s)
    try:
        names = f'pe "{pe(1)}" {{ name = "nyc-pe1" }}\npe "{pe(3)}" {{ name = "lon-pe3" }}\n'
        daemon.write_config(threshold_conf(lab, 100, 2, "loss-rising = 50  loss-falling = 40",
                                           [1, 2, 3], [1, 2, 3], names))
        daemon.start(netns=lab["monitor"])
        assert wait_for(lambda: serving(snmp), 30), daemon.log_text()

        def windows_done():
            rows = snmp_rows(snmp, "mvpnPairTable", "uaa")
            return len(rows) == 6 and all(r["mvpnPairWindowSent"] > 0 and r["mvpnPairStatus"] == 2
                                          for r in rows.values())
        assert wait_for(polled(windows_done), 60, interval=0.5), daemon.log_text()

        def figures(rows):
            return {(k[1], k[2]): (r["mvpnPairLossPpm"], r["mvpnPairCorrDelayAvg"],
                                   r["mvpnPairJitter"]) for k, r in rows.items()}
        before = figures(snmp_rows(snmp, "mvpnPairTable", "uaa"))
        got = json.loads(mvpnmon(master, "pairs", "red", "--json").stdout)
        after = figures(snmp_rows(snmp, "mvpnPairTable", "uaa"))
        assert [(p["address"], p["name"]) for p in got["pes"]] == \
            [(pe(1), "nyc-pe1"), (pe(2), pe(2)), (pe(3), "lon-pe3")]
        assert len(got["pairs"]) == 6
        for p in got["pairs"]:
            mine = (p["loss_ppm"], p["delay_us"], p["jitter_us"])  # delay: Integer32, may be < 0
            # A window may end between the reads: the agent's figures before or after.
            assert mine in (before[(p["src"], p["dst"])], after[(p["src"], p["dst"])]), p
            assert p["status"] == "ok"
        # The matrix as text: 3 x 3, the diagonal empty, the legend by name.
        text = mvpnmon(master, "pairs", "red").stdout
        grid = text.split("\n\n")[0].splitlines()
        assert grid[1].split() == ["1", "2", "3"] and len(grid) == 5, text
        assert [len(line.split()) for line in grid[2:]] == [3, 3, 3], text  # row number + 2 cells
        assert "nyc-pe1 (198.18.1.1)" in text and "lon-pe3 (198.18.1.3)" in text
        coloured = subprocess.run([MVPNMON, "-v2c", "-c", "public", *CLIENT_TIMEOUT,
                                   f"udp:127.0.0.1:{master.port}", "pairs", "red", "--color"],
                                  capture_output=True, text=True, timeout=60).stdout
        assert "\x1b[32m" in coloured and not re.search("\x1b", text)

        tunnels = snmp_rows(snmp, "mvpnTunnelTable", "a")
        got = json.loads(mvpnmon(master, "tunnels", "red", "--json").stdout)["tunnels"]
        assert [(t["pe"], t["name"], t["remote"]) for t in got] == \
            [(a, r["mvpnTunnelPeName"].decode(),
              addr_text(r["mvpnTunnelRemoteType"], r["mvpnTunnelRemote"]))
             for (a,), r in tunnels.items()]
        assert [t["name"] for t in got] == ["nyc-pe1", pe(2), "lon-pe3"]
        stats = subprocess.run([MVPNMON, "-v2c", "-c", "public", *CLIENT_TIMEOUT,
                                f"udp:127.0.0.1:{master.port}", "pairs", "red", "--stats"],
                               capture_output=True, text=True, timeout=60).stderr
        assert re.search(r"\d+ varbinds; agent [0-9.]+ s \(waited for\), mvpnmon [0-9.]+ s of CPU",
                         stats), stats
    finally:
        emu.stop()


V3_USER = 'createUser ops SHA "auth-secret1" AES "priv-secret1"\nrouser -s usm ops authpriv\n'


def test_snmpv3_authpriv_from_options_and_from_snmp_conf(tmp_path, traps):
    """An SNMPv3-only master: the options snmpwalk takes, then the same from
    snmp.conf's defaults (SNMPCONFPATH), then a wrong pass phrase."""
    home = tmp_path / "v3"
    home.mkdir()
    master = Master(str(home), traps.port, access=V3_USER)
    master.start()
    daemon = Daemon(str(home), master)
    agent = f"udp:127.0.0.1:{master.port}"
    v3 = ["-v3", "-u", "ops", "-l", "authPriv", "-a", "SHA", "-A", "auth-secret1", "-x", "AES",
          "-X", "priv-secret1", *CLIENT_TIMEOUT]
    try:
        with open(os.path.join(FIXTURES, "alarms.conf")) as f:
            daemon.write_config(f.read())
        daemon.start("-r", os.path.join(FIXTURES, "alarms.pcap"))

        def run(*args, env=None):
            return subprocess.run([MVPNMON, *args], capture_output=True, text=True, timeout=60,
                                  env=dict(os.environ, **(env or {})))

        def three_vpns():
            out = run(*v3, agent, "vpns", "--json")
            return out.returncode == 0 and len(json.loads(out.stdout)["vpns"]) == 3
        assert wait_for(three_vpns, 30), daemon.log_text()
        conf = home / "conf"
        conf.mkdir()
        (conf / "snmp.conf").write_text(
            "defVersion 3\ndefSecurityName ops\ndefSecurityLevel authPriv\ndefAuthType SHA\n"
            "defPrivType AES\ndefAuthPassphrase auth-secret1\ndefPrivPassphrase priv-secret1\n")
        out = run(*CLIENT_TIMEOUT, agent, "pes", "red", "--json", env={"SNMPCONFPATH": str(conf)})
        assert out.returncode == 0, out.stderr
        assert [p["address"] for p in json.loads(out.stdout)["pes"]][:3] == \
            ["198.18.0.1", "198.18.0.2", "198.18.0.3"]
        wrong = [w if w != "priv-secret1" else "not-the-secret" for w in v3]
        out = run(*wrong, "-t", "0.5", "-r", "0", agent, "vpns")
        assert out.returncode == 1, out
    finally:
        daemon.stop()
        master.stop()
