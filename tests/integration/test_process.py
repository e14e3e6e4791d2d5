"""The process around the daemon: SIGHUP reopens the -Lf file after a rotation."""
import os
import shutil
import signal

from conftest import EVENT_TIMEOUT, FIXTURES, serving, wait_for


def scalar(snmp, name):
    value = snmp.get(f"{name}.0")
    return int(value) if value.isdigit() else None


def reloaded(snmp):
    """Waits for a SIGHUP's reload to be applied or refused; True if applied."""
    outcome = wait_for(lambda: (scalar(snmp, "mvpnConfigLoads") or 0) >= 2
                       or (scalar(snmp, "mvpnConfigLoadFailures") or 0) >= 1, EVENT_TIMEOUT)
    return bool(outcome) and scalar(snmp, "mvpnConfigLoads") == 2


def test_sighup_reopens_a_rotated_log(tmp_path, daemon, snmp):
    shutil.copy(os.path.join(FIXTURES, "passive.conf"), daemon.conf)
    daemon.start()
    assert wait_for(lambda: serving(snmp), EVENT_TIMEOUT), daemon.log_text()
    rotated = daemon.log + ".1"
    os.rename(daemon.log, rotated)  # as logrotate does, before it signals
    daemon.signal(signal.SIGHUP)
    assert reloaded(snmp)
    new = daemon.log_text()
    assert f"log {daemon.log} reopened" in new
    assert "SIGHUP: reloading" in new and "configuration " in new
    with open(rotated) as f:
        old = f.read()
    assert "AgentX subagent on" in old and "SIGHUP" not in old
    # A reload without a rotation keeps the file it has.
    daemon.signal(signal.SIGHUP)
    assert wait_for(lambda: scalar(snmp, "mvpnConfigLoads") == 3, EVENT_TIMEOUT)
    assert daemon.log_text().count("reopened") == 1


def test_a_log_that_cannot_be_reopened_keeps_the_old_file(tmp_path, daemon, snmp):
    shutil.copy(os.path.join(FIXTURES, "passive.conf"), daemon.conf)
    daemon.start()
    assert wait_for(lambda: serving(snmp), EVENT_TIMEOUT), daemon.log_text()
    rotated = daemon.log + ".1"
    os.rename(daemon.log, rotated)
    os.mkdir(daemon.log)  # in the way of the new file; root writes through permissions
    daemon.signal(signal.SIGHUP)
    assert reloaded(snmp)
    with open(rotated) as f:
        old = f.read()
    assert f"{daemon.log}: cannot reopen the log: Is a directory" in old
    assert "SIGHUP: reloading" in old  # nothing was lost
