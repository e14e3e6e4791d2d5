"""The Debian package end to end: debian/ builds mvpnmon_*.deb with
dpkg-buildpackage from a copy of this tree, lintian finds no error in it, dpkg
installs it into this machine (files where Debian puts them, a conffile, the
system user, the unit enabled), the INSTALLED mvpnmond replays a bundled capture
as that user into the package's state directory through the test's private
snmpd, the installed MIB reads it back, the installed mvpnmon reads the history,
and dpkg --purge leaves nothing behind: no file, no state, no user.

It changes the machine (a package, a user), so it runs as root only, not where a
mvpnmon package or user already exists, and it purges whatever it installed even
when it fails midway.  The package does not depend on the build under test
(MVPN_BUILD), so the sanitizer pass skips it rather than build it twice.
"""
import filecmp
import glob
import grp
import json
import os
import pwd
import shutil
import stat
import tempfile
import time

from conftest import CLIENT_TIMEOUT, EVENT_TIMEOUT, FIXTURES, TOP, Daemon, Master, wait_for
from debpkg import (PACKAGE, USER, group_exists, machine, package_status, run,  # noqa: F401
                    user_exists)

STATE_DIR = "/var/lib/mvpnmon"
CONFFILE = "/etc/mvpnmon/mvpnmond.conf"
UNIT = "/lib/systemd/system/mvpnmond.service"
INSTALLED = {
    "/usr/sbin/mvpnmond": 0o755,
    "/usr/bin/mvpnmon": 0o755,
    "/usr/share/snmp/mibs/MVPN-MONITOR-MIB.txt": 0o644,
    "/usr/share/man/man8/mvpnmond.8.gz": 0o644,
    "/usr/share/man/man1/mvpnmon.1.gz": 0o644,
    UNIT: 0o644,
    "/usr/share/doc/mvpnmon/copyright": 0o644,
    "/usr/share/doc/mvpnmon/examples/mvpnmond.conf.example": 0o644,
    "/usr/share/mvpnmon/prometheus/snmp.yml": 0o644,
    "/usr/share/mvpnmon/prometheus/mvpnmon.rules.yml": 0o644,
    "/usr/share/mvpnmon/prometheus/mvpnmon-dashboard.json": 0o644,
    CONFFILE: 0o640,
}
ENABLED = "/etc/systemd/system/multi-user.target.wants/mvpnmond.service"
# The installed MIB, and the IETF base MIBs it imports (Debian's net-snmp has none).
MIB_PATH = ":".join(sorted(glob.glob("/usr/lib/erlang/lib/snmp-*/mibs")) + ["/usr/share/snmp/mibs"])


def lintian(deb, changes):
    """lintian's findings on the .deb and the .changes: no error; the rest is shown."""
    out = run("lintian", deb, changes)
    lines = [ln for ln in (out.stdout + out.stderr).splitlines() if ln.strip()]
    print("lintian:\n" + "\n".join(lines))
    errors = [ln for ln in lines if ln.startswith("E: ")]
    assert not errors, "\n".join(errors)
    assert out.returncode == 0, lines


def check_installed():
    for path, mode in INSTALLED.items():
        st = os.stat(path)
        assert stat.S_IMODE(st.st_mode) == mode, (path, oct(st.st_mode))
    user = pwd.getpwnam(USER)
    assert user.pw_uid < 1000 and user.pw_shell.endswith("nologin"), user  # a system user
    assert grp.getgrnam(USER).gr_gid == user.pw_gid
    # The configuration: a conffile the user may read (for reloads), and a good one.
    conffiles = run("dpkg-query", "-W", "-f", "${Conffiles}", PACKAGE).stdout
    assert CONFFILE in conffiles, conffiles
    st = os.stat(CONFFILE)
    assert (st.st_uid, st.st_gid) == (0, user.pw_gid)
    with open(CONFFILE) as f:
        assert 'user = "mvpnmon"' in f.read().splitlines()
    out = run("/usr/sbin/mvpnmond", "-n", "-c", CONFFILE)
    assert out.returncode == 0, out.stderr
    # The state directory is the user's; the unit runs the installed daemon, enabled
    # (deb-systemd-helper needs no running systemd for that).
    st = os.stat(STATE_DIR)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (user.pw_uid, user.pw_gid, 0o750)
    for name in ("snmp.yml", "mvpnmon.rules.yml", "mvpnmon-dashboard.json"):
        assert filecmp.cmp(os.path.join(TOP, "contrib", "prometheus", name),
                           f"/usr/share/mvpnmon/prometheus/{name}", shallow=False), name
    with open(UNIT) as f:
        assert "ExecStart=/usr/sbin/mvpnmond -f -c /etc/mvpnmon/mvpnmond.conf" in f.read()
    assert os.readlink(ENABLED) == UNIT


def snmp(tool, master, *args):
    """A net-snmp client reading the installed MIB (and no other copy of it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MIBDIRS", "MIBS")}
    out = run(tool, "-v2c", "-c", "public", *CLIENT_TIMEOUT, "-M", MIB_PATH,
              "-m", "MVPN-MONITOR-MIB", *args[:-1], f"127.0.0.1:{master.port}", args[-1], env=env)
    return out.stdout.strip() if out.returncode == 0 else ""


def run_installed(tmp, master):
    """The installed mvpnmond replays passive.pcap as the package's user, writing its
    history into the package's state directory; what it serves is read with the
    installed MIB, what it stored with the installed mvpnmon."""
    with open(os.path.join(FIXTURES, "passive.expected.json")) as f:
        expected = json.load(f)
    db = os.path.join(STATE_DIR, "history.db")
    daemon = Daemon(tmp, master, binary="/usr/sbin/mvpnmond")
    with open(os.path.join(FIXTURES, "passive.conf")) as f:
        daemon.write_config(f'user = "{USER}"\n' + f.read() +
                            f'\nhistory {{\n  file = "{db}"\n  monitor = "deb"\n'
                            '  flush-interval = 100\n}\n')
    daemon.start("-r", os.path.join(FIXTURES, "passive.pcap"))
    try:
        get = lambda oid: snmp("snmpget", master, "-OqvU", oid)  # noqa: E731
        assert wait_for(lambda: get("mvpnCaptureStatus.0") == "finished", EVENT_TIMEOUT), \
            daemon.log_text()
        assert wait_for(lambda: get("mvpnHistoryQueued.0") == "0", EVENT_TIMEOUT), \
            get("mvpnHistoryQueued.0")
        assert get("mvpnVpnCount.0") == str(len(expected["vpns"]))
        assert get("mvpnHistoryStatus.0") == "ok"
        names = snmp("snmpwalk", master, "-Oqv", "mvpnVpnName").splitlines()
        assert [n.strip('"') for n in names] == [v["name"] for v in expected["vpns"]]
        with open(f"/proc/{daemon.proc.pid}/status") as f:
            uids = next(ln for ln in f if ln.startswith("Uid:")).split()[1:]
        assert uids == [str(pwd.getpwnam(USER).pw_uid)] * 4
    finally:
        daemon.stop()
    assert os.path.isfile(db)  # for the purge to remove

    out = run("/usr/bin/mvpnmon", "--help")
    assert out.returncode == 0 and "changes" in out.stdout, out.stderr
    out = run("/usr/bin/mvpnmon", "--db", db, "--json", "changes", "--since", "@0")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["changes"]
    assert len(rows) == len(expected["changes"]), out.stdout[:2000]


def check_purged():
    assert package_status() in ("", "unknown ok not-installed"), package_status()
    for path in [*INSTALLED, STATE_DIR, "/etc/mvpnmon", "/usr/share/mvpnmon", ENABLED]:
        assert not os.path.lexists(path), path
    assert not user_exists() and not group_exists()


def test_the_package_builds_installs_runs_and_purges(machine, deb, tmp_path, traps):
    started = time.monotonic()
    deb, changes = deb
    lintian(deb, changes)

    out = run("dpkg", "-i", deb)
    assert out.returncode == 0, out.stdout + out.stderr
    check_installed()
    # Installing again changes nothing (adduser --system keeps its user).
    out = run("dpkg", "-i", deb)
    assert out.returncode == 0, out.stdout + out.stderr
    check_installed()

    # A master whose AgentX socket the package's group may use (README, "Running it
    # with least privilege"), in a directory the user may enter.
    top = tempfile.mkdtemp(prefix="mvpnmon-deb-")
    os.chmod(top, 0o755)
    master = Master(top, traps.port, extra=f"agentXPerms 0660 0755 root {USER}\n")
    try:
        master.start()
        run_installed(str(tmp_path), master)
    finally:
        master.stop()
        shutil.rmtree(top, ignore_errors=True)

    out = run("dpkg", "--purge", PACKAGE)
    assert out.returncode == 0, out.stdout + out.stderr
    check_purged()
    print(f"the whole test: {time.monotonic() - started:.0f} s")
