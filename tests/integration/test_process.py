"""The process around the daemon: paths given relative to where mvpnmond was
started keep working after it detaches (and changes to /); what can fail, fails
before it detaches, with its status to the shell; the pidfile is locked, so a
second instance refuses to start and names the first; an instance removes only
its own pidfile; SIGHUP reopens the -Lf file after a rotation."""
import os
import shutil
import signal
import subprocess

from conftest import EVENT_TIMEOUT, FIXTURES, MVPNMOND, serving, wait_for


def scalar(snmp, name):
    value = snmp.get(f"{name}.0")
    return int(value) if value.isdigit() else None


def stop_pid(pid):
    """A detached mvpnmond is not our child: signal it and wait until it is gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid}"), EVENT_TIMEOUT)


def start_detached(cwd, *argv):
    """mvpnmond without -f, from cwd; returns the starting command's result."""
    return subprocess.run([MVPNMOND, *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=EVENT_TIMEOUT)


def reloaded(snmp):
    """Waits for a SIGHUP's reload to be applied or refused; True if applied."""
    outcome = wait_for(lambda: (scalar(snmp, "mvpnConfigLoads") or 0) >= 2
                       or (scalar(snmp, "mvpnConfigLoadFailures") or 0) >= 1, EVENT_TIMEOUT)
    return bool(outcome) and scalar(snmp, "mvpnConfigLoads") == 2


def test_relative_paths_keep_working_after_detaching(tmp_path, master, snmp):
    """Every path relative: -c (read again by SIGHUP), -r, -x (a unix socket), -p, -Lf."""
    shutil.copy(os.path.join(FIXTURES, "passive.conf"), tmp_path / "my.conf")
    shutil.copy(os.path.join(FIXTURES, "passive.pcap"), tmp_path / "cap.pcap")
    assert os.path.dirname(master.socket) == str(tmp_path)
    out = start_detached(tmp_path, "-c", "my.conf", "-r", "cap.pcap", "-x",
                         os.path.basename(master.socket), "-p", "run.pid", "-Lf", "d.log")
    assert out.returncode == 0, out.stderr
    pid = int((tmp_path / "run.pid").read_text())  # written before the command returned
    try:
        assert os.getsid(pid) == pid and os.readlink(f"/proc/{pid}/cwd") == "/"
        assert wait_for(lambda: serving(snmp), EVENT_TIMEOUT), (tmp_path / "d.log").read_text()
        assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "finished", EVENT_TIMEOUT)
        os.rename(tmp_path / "d.log", tmp_path / "d.log.1")  # the -Lf file is reopened by name
        os.kill(pid, signal.SIGHUP)
        assert reloaded(snmp), (tmp_path / "d.log.1").read_text()
        assert f"capture: {tmp_path}/cap.pcap replayed:" in (tmp_path / "d.log.1").read_text()
        assert wait_for(lambda: (tmp_path / "d.log").exists(), EVENT_TIMEOUT)
        assert f"configuration {tmp_path}/my.conf: 3 VPNs" in (tmp_path / "d.log").read_text()
    finally:
        stop_pid(pid)
    assert not (tmp_path / "run.pid").exists()
    assert "signal 15: stopping" in (tmp_path / "d.log").read_text()


def test_a_capture_that_cannot_be_opened_fails_to_the_shell(tmp_path, master):
    shutil.copy(os.path.join(FIXTURES, "passive.conf"), tmp_path / "my.conf")
    out = start_detached(tmp_path, "-c", "my.conf", "-r", "missing.pcap", "-x", master.socket,
                         "-p", "run.pid")
    assert out.returncode == 1
    # Without -L, a daemon logs to syslog and, until it has detached, to stderr.
    assert f"capture: {tmp_path}/missing.pcap: No such file or directory" in out.stderr
    assert not (tmp_path / "run.pid").exists()


def test_a_second_instance_on_the_same_pidfile_is_refused(tmp_path, daemon, snmp):
    shutil.copy(os.path.join(FIXTURES, "passive.conf"), daemon.conf)
    pidfile = tmp_path / "mvpnmond.pid"
    daemon.start("-p", str(pidfile))
    assert wait_for(lambda: serving(snmp), EVENT_TIMEOUT), daemon.log_text()
    first = str(daemon.proc.pid)
    assert pidfile.read_text() == first + "\n"
    try:
        for detach in ([], ["-f"]):
            # Same pidfile and log: the log must not be truncated by the refused start.
            out = start_detached(tmp_path, *detach, "-c", daemon.conf, "-x",
                                 daemon.master.socket, "-p", str(pidfile), "-Lf", daemon.log)
            assert out.returncode == 1, (detach, out.stderr)
            refusal = f"{pidfile}: another mvpnmond is running (pid {first}); not starting"
            assert daemon.log_text().count(refusal) == (2 if detach else 1)
            assert pidfile.read_text() == first + "\n"
    finally:
        # Had a second instance started (detached), it would be this one.
        holder = pidfile.read_text().strip() if pidfile.exists() else first
        if holder.isdigit() and holder != first:
            stop_pid(int(holder))
    log = daemon.log_text()
    assert log.count("AgentX subagent on") == 1 and "registering pdu failed" not in log
    assert serving(snmp) and daemon.proc.poll() is None
    daemon.stop()
    assert not pidfile.exists()


def test_an_instance_removes_only_its_own_pidfile(tmp_path, daemon, snmp):
    """The first instance's pidfile is deleted and a second one takes the path:
    stopping the first must leave the second's pidfile alone."""
    shutil.copy(os.path.join(FIXTURES, "passive.conf"), daemon.conf)
    pidfile = tmp_path / "mvpnmond.pid"
    daemon.start("-p", str(pidfile))
    assert wait_for(lambda: serving(snmp), EVENT_TIMEOUT), daemon.log_text()
    pidfile.unlink()
    # The second one talks to no master (it keeps trying, which is no failure).
    out = start_detached(tmp_path, "-c", daemon.conf, "-x", str(tmp_path / "none.sock"),
                         "-p", str(pidfile), "-Lf", str(tmp_path / "second.log"))
    assert out.returncode == 0, out.stderr
    second = int(pidfile.read_text())
    try:
        assert second != daemon.proc.pid
        daemon.stop()
        assert daemon.proc.returncode == 0
        assert pidfile.read_text() == f"{second}\n"
    finally:
        stop_pid(second)
    assert not pidfile.exists()


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
