"""Least privilege, and the snmpd.conf an operator gives mvpnmond (README,
"Running it with least privilege").

mvpnmond opens its capture and raw sockets as root, then becomes the
configured user keeping only CAP_NET_RAW (live) or nothing (replay).  The
AgentX socket is opened to that user by snmpd's agentXPerms, and the MIB is
visible only through a view: a community or SNMPv3 user outside it sees none
of it."""
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import (CLIENT_MIBS, CLIENT_TIMEOUT, EVENT_TIMEOUT, FIXTURES, MIB_DIRS, MVPNMOND,
                      OID_ROOT, Daemon, Master, Snmp, scalars, serving, wait_for)
from test_live import cut_capture

CAP_NET_RAW = 1 << 13
NOBODY = 65534  # Debian's nobody:nogroup


def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


@pytest.fixture
def open_master(traps):
    """A master whose AgentX socket the user nobody may use, as README says:
    in a directory others can enter, the socket owned by group nogroup, 0660."""
    if os.geteuid() != 0:
        pytest.skip("dropping privileges needs root to start with")
    top = tempfile.mkdtemp(prefix="mvpnmon-agentx-")
    os.chmod(top, 0o755)
    m = Master(top, traps.port, extra="agentXPerms 0660 0755 root nogroup\n")
    m.start()
    yield m
    m.stop()
    shutil.rmtree(top, ignore_errors=True)


def user_config(extra=""):
    with open(os.path.join(FIXTURES, "passive.conf")) as f:
        return f'user = "nobody"\nagentx-ping-interval = 1\n{extra}' + f.read()


@pytest.mark.skipif(shutil.which("tcpreplay") is None, reason="tcpreplay is not installed")
def test_live_it_runs_as_the_user_with_cap_net_raw_alone_and_still_works(tmp_path, open_master,
                                                                        wire):
    snmp = Snmp(open_master)
    daemon = Daemon(str(tmp_path), open_master)
    daemon.write_config(user_config())
    daemon.start("-i", wire["monitor_if"], netns=wire["monitor"])
    try:
        assert wait_for(lambda: serving(snmp), EVENT_TIMEOUT), daemon.log_text()
        st = proc_status(daemon.proc.pid)
        assert st["Uid"].split() == [str(NOBODY)] * 4 and st["Gid"].split() == [str(NOBODY)] * 4
        assert st["Groups"].split() == [str(NOBODY)]
        assert int(st["CapEff"], 16) == CAP_NET_RAW and int(st["CapPrm"], 16) == CAP_NET_RAW
        assert int(st["CapInh"], 16) == 0 and int(st["CapAmb"], 16) == 0
        assert st["NoNewPrivs"] == "1"
        assert "running as user nobody (uid 65534, gid 65534) with CAP_NET_RAW only" in \
            daemon.log_text()

        cut = str(tmp_path / "first.pcap")
        frames = cut_capture(os.path.join(FIXTURES, "passive.pcap"), cut, 20)
        wire["player"].run("tcpreplay", "-q", "-t", "-i", wire["player_if"], cut)
        assert wait_for(lambda: scalars(snmp)["mvpnPacketsSeen"] == frames, EVENT_TIMEOUT), \
            daemon.log_text()

        # What CAP_NET_RAW is kept for: reopening the capture when its interface comes back.
        wire["player"].run("ip", "link", "del", wire["player_if"])
        assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "failed", EVENT_TIMEOUT)
        subprocess.run(["ip", "link", "add", wire["player_if"], "netns", wire["player"].name,
                        "type", "veth", "peer", "name", wire["monitor_if"], "netns",
                        wire["monitor"].name], check=True, capture_output=True)
        wire["monitor"].run("ip", "link", "set", wire["monitor_if"], "up")
        assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "running", EVENT_TIMEOUT), \
            daemon.log_text()

        # And the master's socket, opened to nogroup, takes it back after a restart.
        open_master.stop(signal.SIGKILL)
        open_master.start()
        assert wait_for(lambda: serving(snmp), EVENT_TIMEOUT), daemon.log_text()

        # As nobody it cannot read a root-only file: a reload of one keeps the old config.
        os.chmod(daemon.conf, 0o600)
        daemon.signal(signal.SIGHUP)
        assert wait_for(lambda: scalars(snmp)["mvpnConfigLoadFailures"] == 1, EVENT_TIMEOUT)
        assert "Permission denied" in daemon.log_text()
        assert snmp.get("mvpnVpnCount.0") == "3"
    finally:
        daemon.stop()


def test_replaying_a_file_it_keeps_no_capability(tmp_path, open_master):
    snmp = Snmp(open_master)
    daemon = Daemon(str(tmp_path), open_master)
    daemon.write_config(user_config())
    daemon.start("-r", os.path.join(FIXTURES, "passive.pcap"))
    try:
        assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "finished", EVENT_TIMEOUT), \
            daemon.log_text()
        st = proc_status(daemon.proc.pid)
        assert st["Uid"].split() == [str(NOBODY)] * 4
        assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0
        assert "no capabilities" in daemon.log_text()
    finally:
        daemon.stop()


@pytest.mark.skipif(shutil.which("tcpreplay") is None, reason="tcpreplay is not installed")
def test_the_history_file_opened_as_root_is_given_to_the_user(tmp_path, open_master):
    """The writer opens (creates) the SQLite store before the drop; its
    reopen after a failure runs as the user, so the user must own it."""
    top = tempfile.mkdtemp(prefix="mvpnmon-state-")  # pytest's tmp_path is root's alone
    os.chmod(top, 0o755)
    state = Path(top) / "state"
    state.mkdir()
    os.chown(state, NOBODY, NOBODY)
    os.chmod(state, 0o750)
    db = state / "history.db"
    snmp = Snmp(open_master)
    daemon = Daemon(str(tmp_path), open_master)
    daemon.write_config(user_config(f'history {{ file = "{db}"  flush-interval = 100 }}\n'))
    daemon.start("-r", os.path.join(FIXTURES, "passive.pcap"))
    try:
        assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "finished", EVENT_TIMEOUT), \
            daemon.log_text()
        assert wait_for(lambda: scalars(snmp)["mvpnHistoryQueued"] == 0, EVENT_TIMEOUT), \
            (scalars(snmp), daemon.log_text())
        files = [p for p in os.listdir(state) if p.startswith("history.db")]
        assert "history.db" in files
        for name in files:
            st = os.stat(state / name)
            assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY), (name, st)
        assert scalars(snmp)["mvpnHistoryPersisted"] > 0
    finally:
        daemon.stop()
        shutil.rmtree(top, ignore_errors=True)


def test_an_unknown_user_is_a_configuration_error(tmp_path):
    conf = tmp_path / "mvpnmond.conf"
    conf.write_text('agentx-ping-interval = 1\nuser = "no-such-user-mvpn"\n')
    out = subprocess.run([MVPNMOND, "-f", "-c", str(conf)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 78
    assert f"{conf}:2:" in out.stderr and "no such user" in out.stderr


# ---- the view an operator gives the MIB ----

VIEW_CONF = f"""view mvpnView included {OID_ROOT}
view systemView included .1.3.6.1.2.1.1
view snmpView included .1.3.6.1.2.1.11
rocommunity mvpn-ro 127.0.0.1 -V mvpnView
rocommunity other 127.0.0.1 -V systemView
rocommunity stats 127.0.0.1 -V snmpView
createUser mvpnops SHA "mvpn-auth-secret" AES "mvpn-priv-secret"
rouser -s usm mvpnops authpriv -V mvpnView
createUser someone SHA "some-auth-secret" AES "some-priv-secret"
rouser -s usm someone authpriv -V systemView
"""


@pytest.fixture
def viewed_master(tmp_path, traps):
    m = Master(str(tmp_path), traps.port, access=VIEW_CONF)
    m.start()
    yield m
    m.stop()


def walk(master, *auth, complete=True, timeout=CLIENT_TIMEOUT):
    """The varbinds of OID_ROOT a walk with auth shows.  complete: the walk must
    have ended normally (an empty result is then the view's doing, not a timeout
    on a slow machine, which would make every "sees nothing" pass)."""
    env = dict(os.environ, MIBDIRS=MIB_DIRS, MIBS=CLIENT_MIBS)
    cmd = ["snmpbulkwalk", *auth, *timeout, "-On", f"127.0.0.1:{master.port}", OID_ROOT]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if complete:
        assert out.returncode == 0 and "Timeout" not in out.stderr, (cmd, out.stderr)
    return [l for l in out.stdout.splitlines() if l.startswith(OID_ROOT + ".")]


def bad_community_names(master):
    """snmpInBadCommunityNames: requests the master refused for their community."""
    out = subprocess.run(["snmpget", "-v2c", "-c", "stats", *CLIENT_TIMEOUT, "-Oqv",
                          f"127.0.0.1:{master.port}", ".1.3.6.1.2.1.11.4.0"],
                         capture_output=True, text=True, env=dict(os.environ, MIBS=""),
                         timeout=600)
    assert out.returncode == 0 and out.stdout.strip().isdigit(), out.stderr
    return int(out.stdout)


def test_the_mib_is_seen_only_through_its_view(tmp_path, viewed_master):
    daemon = Daemon(str(tmp_path), viewed_master)
    shutil.copy(os.path.join(FIXTURES, "passive.conf"), daemon.conf)
    daemon.start("-r", os.path.join(FIXTURES, "passive.pcap"))
    v3 = ["-v3", "-l", "authPriv", "-a", "SHA", "-x", "AES"]
    try:
        inside = wait_for(lambda: len(walk(viewed_master, "-v2c", "-c", "mvpn-ro",
                                           complete=False)) > 100, EVENT_TIMEOUT)
        assert inside, daemon.log_text()
        assert walk(viewed_master, "-v2c", "-c", "other") == []
        assert len(walk(viewed_master, *v3, "-u", "mvpnops", "-A", "mvpn-auth-secret",
                        "-X", "mvpn-priv-secret")) > 100
        assert walk(viewed_master, *v3, "-u", "someone", "-A", "some-auth-secret",
                    "-X", "some-priv-secret") == []
        # No such community at all: the master drops the request unanswered (a
        # timeout is the expected outcome, so one short try), and counts it.
        refused = bad_community_names(viewed_master)
        assert walk(viewed_master, "-v2c", "-c", "public", complete=False,
                    timeout=["-t", "1", "-r", "0"]) == []
        assert wait_for(lambda: bad_community_names(viewed_master) > refused, EVENT_TIMEOUT)
    finally:
        daemon.stop()
