"""Fixtures for mvpnmon integration tests: real processes, private to each test.

Every process a test starts is a Popen kept by its fixture and stopped by its
pid when the test ends. Traffic goes only to 127.0.0.1 and to unix sockets in
the test's own temporary directory.
"""
import glob
import os
import signal
import socket
import subprocess
import time

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MVPNMOND = os.path.join(TOP, "build", "mvpnmond")
CLIENT_MIBS = "SNMPv2-MIB:MVPN-MONITOR-MIB"
MIB_DIRS = ":".join(sorted(glob.glob("/usr/lib/erlang/lib/snmp-*/mibs")) + [os.path.join(TOP, "mibs")])


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, interval=0.1):
    """Polls predicate until it returns something true; returns it, or None at timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def stop_process(proc, sig=signal.SIGTERM, timeout=5):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Master:
    """A private snmpd acting as AgentX master, on a loopback port."""

    def __init__(self, tmp, trap_port):
        self.tmp = tmp
        self.port = free_udp_port()
        self.socket = os.path.join(tmp, "agentx.sock")
        self.conf = os.path.join(tmp, "snmpd.conf")
        self.log = os.path.join(tmp, "snmpd.log")
        with open(self.conf, "w") as f:
            f.write(f"master agentx\nagentXSocket unix:{self.socket}\n"
                    f"agentaddress udp:127.0.0.1:{self.port}\n"
                    f"rocommunity public 127.0.0.1\n"
                    f"trap2sink 127.0.0.1:{trap_port} public\nagentXTimeout 5\n")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["snmpd", "-f", "-Lf", self.log, "-C", "-c", self.conf,
             "-p", os.path.join(self.tmp, "snmpd.pid")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=dict(os.environ, MIBS=""))  # the master needs no MIB text
        assert wait_for(lambda: os.path.exists(self.socket), 10), "snmpd did not open its AgentX socket"

    def stop(self, sig=signal.SIGTERM):
        if self.proc:
            stop_process(self.proc, sig)
        if os.path.exists(self.socket):
            os.unlink(self.socket)


class TrapReceiver:
    """A private snmptrapd that logs every notification, decoded with our MIB."""

    def __init__(self, tmp):
        self.port = free_udp_port()
        self.log = os.path.join(tmp, "traps.log")
        conf = os.path.join(tmp, "snmptrapd.conf")
        with open(conf, "w") as f:
            f.write("disableAuthorization yes\n")
        env = dict(os.environ, MIBDIRS=MIB_DIRS, MIBS=CLIENT_MIBS)
        self.proc = subprocess.Popen(
            ["snmptrapd", "-f", "-Lf", self.log, "-C", "-c", conf,
             f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        assert wait_for(lambda: "NET-SNMP version" in self.text(), 10), "snmptrapd did not start"

    def text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        stop_process(self.proc)


class Daemon:
    """mvpnmond under test, in the foreground, logging to a file."""

    def __init__(self, tmp, master):
        self.tmp = tmp
        self.master = master
        self.conf = os.path.join(tmp, "mvpnmond.conf")
        self.log = os.path.join(tmp, "mvpnmond.log")
        self.proc = None

    def write_config(self, text):
        with open(self.conf, "w") as f:
            f.write(text)

    def start(self, *extra):
        self.proc = subprocess.Popen(
            [MVPNMOND, "-f", "-c", self.conf, "-x", self.master.socket, "-Lf", self.log, *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        if self.proc:
            stop_process(self.proc)


class Snmp:
    """The net-snmp command-line clients, pointed at the private master."""

    def __init__(self, master):
        self.master = master
        self.env = dict(os.environ, MIBDIRS=MIB_DIRS, MIBS=CLIENT_MIBS)

    def run(self, tool, *args, check=True):
        cmd = [tool, "-v2c", "-c", "public", "-t", "1", "-r", "1", *args[:-1],
               f"127.0.0.1:{self.master.port}", args[-1]] if args else [tool]
        out = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=120)
        if check:
            assert out.returncode == 0, f"{' '.join(cmd)}: {out.stderr}"
        return out.stdout

    def get(self, oid, *opts):
        return self.run("snmpget", "-Oqv", *opts, oid, check=False).strip()

    def walk(self, oid, *opts):
        return self.run("snmpwalk", *opts, oid).splitlines()

    def bulkwalk(self, oid, *opts):
        return self.run("snmpbulkwalk", *opts, oid).splitlines()

    def table(self, oid, *opts):
        """snmptable rows as dicts keyed by column name, the index under 'index'."""
        lines = self.run("snmptable", "-Cf", "|", "-Ci", *opts, oid).strip().splitlines()
        names = lines[2].split("|")
        return [dict(zip(names, [cell.strip('"').strip() for cell in line.split("|")]))
                for line in lines[3:]]


@pytest.fixture
def traps(tmp_path):
    receiver = TrapReceiver(str(tmp_path))
    yield receiver
    receiver.stop()


@pytest.fixture
def master(tmp_path, traps):
    m = Master(str(tmp_path), traps.port)
    m.start()
    yield m
    m.stop()


@pytest.fixture
def snmp(master):
    return Snmp(master)


@pytest.fixture
def daemon(tmp_path, master):
    d = Daemon(str(tmp_path), master)
    yield d
    d.stop()


def serving(snmp, oid="mvpnVpnCount.0"):
    """True once the subagent answers through the master."""
    value = snmp.get(oid)
    return value and "No Such" not in value and "Timeout" not in value
