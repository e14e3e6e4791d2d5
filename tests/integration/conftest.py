"""Fixtures for mvpnmon integration tests: real processes, private to each test.

Every process a test starts is a Popen kept by its fixture and stopped by its
pid when the test ends. Traffic goes only to 127.0.0.1 and to unix sockets in
the test's own temporary directory.
"""
import fcntl
import functools
import glob
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# MVPN_BUILD points the suite at another build of mvpnmond and its tools (make
# check runs it twice: build/, then build-asan/ with ASan and UBSan).  The PE
# emulator is test equipment, not the product: it always comes from build/.
BUILD = os.environ.get("MVPN_BUILD") or os.path.join(TOP, "build")
MVPNMOND = os.path.join(BUILD, "mvpnmond")
# Set by tests/run.sh for the sanitizer pass: ASan then checks every read, and
# valgrind cannot run an ASan binary.
SANITIZED = os.environ.get("MVPN_SANITIZED") == "1"
# Tests whose time is mostly waiting (outages, windows, restarts) run once:
# in the sanitizer pass, which checks every read the plain pass would make.
# When that pass is skipped (MVPN_SKIP_ASAN=1) they run in the plain one.
# make check must stay under 20 minutes on two cores (README).
ONE_PASS = pytest.mark.skipif(
    not SANITIZED and os.environ.get("MVPN_SKIP_ASAN") != "1",
    reason="waits more than it computes: runs in the ASan pass of make check only")


def memcheck(argv):
    """argv under valgrind's memcheck (any error or leak: exit 99), or as it is
    in the sanitizer build, where ASan and LeakSanitizer check the same."""
    if SANITIZED:
        return list(argv)
    return ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full", *argv]
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


def stop_process(proc, sig=signal.SIGTERM, timeout=30):
    """Signals proc and waits for it to exit, killing it only if it has not after
    timeout seconds: an ASan build checks for leaks as it exits, which a kill
    would skip, so the wait is long enough for a loaded machine."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# How long a test waits for something that must happen (a process up, a reload
# applied, a replay finished).  Generous on purpose: a wait ends as soon as its
# event is seen, so the bound costs nothing on a fast machine, and what a test
# proves is that the event happens, never how fast a loaded machine gets there.
EVENT_TIMEOUT = 60

# free_udp_port() hands out a port nobody holds now, but any process (another
# test's client, say) may take it before our server binds it.  A server that
# finds its port taken is started again on another one, at most this often.
PORT_ATTEMPTS = 5


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def _set_aside(log):
    """Moves a log out of the way (to log.1, log.2, ...) before its server starts
    again, which truncates it: each start's log then says what that start did."""
    n = 1
    while os.path.exists(f"{log}.{n}"):
        n += 1
    if os.path.exists(log):
        os.replace(log, f"{log}.{n}")


def _exited_for_its_port(proc, log):
    """True once proc has exited, saying in its log it could not bind its port."""
    if proc.poll() is None:
        return False
    text = _read(log)
    return "Error opening specified endpoint" in text or "Address already in use" in text


class Master:
    """A private snmpd acting as AgentX master, on a loopback port."""

    def __init__(self, tmp, trap_port, access="rocommunity public 127.0.0.1\n", extra=""):
        """access: who may read what (the default: community public, everything);
        extra: more snmpd.conf lines (agentXPerms, say)."""
        self.tmp = tmp
        self.trap_port = trap_port
        self.access = access
        self.extra = extra
        self.socket = os.path.join(tmp, "agentx.sock")
        self.conf = os.path.join(tmp, "snmpd.conf")
        self.log = os.path.join(tmp, "snmpd.log")
        self.proc = None
        self._configure(free_udp_port())

    def _configure(self, port):
        self.port = port
        with open(self.conf, "w") as f:
            f.write(f"master agentx\nagentXSocket unix:{self.socket}\n"
                    f"agentaddress udp:127.0.0.1:{self.port}\n{self.access}"
                    f"trap2sink 127.0.0.1:{self.trap_port} public\nagentXTimeout 5\n"
                    f"{self.extra}")

    def start(self):
        for attempt in range(PORT_ATTEMPTS):
            _set_aside(self.log)
            self.proc = subprocess.Popen(
                ["snmpd", "-f", "-Lf", self.log, "-C", "-c", self.conf,
                 "-p", os.path.join(self.tmp, "snmpd.pid")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                # The master needs no MIB text; what it persists (SNMPv3 users) stays in
                # a directory of its own (it writes a file called snmpd.conf there).
                env=dict(os.environ, MIBS="",
                         SNMP_PERSISTENT_DIR=os.path.join(self.tmp, "persist")))
            # Up: the AgentX socket is there and the log says it started (which
            # it says after binding its UDP port, and never when that failed).
            up = lambda: (os.path.exists(self.socket)  # noqa: E731
                          and "NET-SNMP version" in _read(self.log))
            wait_for(lambda: up() or self.proc.poll() is not None, EVENT_TIMEOUT, 0.02)
            if self.proc.poll() is None and up():
                return
            if not _exited_for_its_port(self.proc, self.log):
                break
            self._configure(free_udp_port())  # its port was taken meanwhile: another one
        raise AssertionError("snmpd did not open its AgentX socket: " + _read(self.log)[-2000:])

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
        for attempt in range(PORT_ATTEMPTS):
            _set_aside(self.log)
            # One line per notification: "TRAP", then its varbinds, tab-separated.
            self.proc = subprocess.Popen(
                ["snmptrapd", "-f", "-Lf", self.log, "-C", "-c", conf, "-F", "TRAP\t%v\n",
                 f"127.0.0.1:{self.port}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            started = lambda: "NET-SNMP version" in self.text()  # noqa: E731
            wait_for(lambda: started() or self.proc.poll() is not None, EVENT_TIMEOUT, 0.02)
            if self.proc.poll() is None and started():
                return
            if not _exited_for_its_port(self.proc, self.log):
                break
            self.port = free_udp_port()
        raise AssertionError("snmptrapd did not start: " + self.text()[-2000:])

    def text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def notifications(self, name=None):
        """Each notification received as {varbind name: value}, with '_name' the
        notification's name (snmpTrapOID.0); only those called name, if given."""
        out = []
        for line in self.text().splitlines():
            if not line.startswith("TRAP\t"):
                continue
            n = {}
            for vb in line.split("\t")[1:]:
                key, _, value = vb.partition(" = ")
                value = value.split(": ", 1)[-1] if ": " in value else value
                n[key.split("::")[-1]] = value.strip().strip('"')
            n["_name"] = n.get("snmpTrapOID.0", "").split("::")[-1]
            if name is None or n["_name"] == name:
                out.append(n)
        return out

    def stop(self):
        stop_process(self.proc)


class Daemon:
    """mvpnmond under test, in the foreground, logging to a file; binary: another
    mvpnmond than the build's (the one a Debian package installed, say)."""

    def __init__(self, tmp, master, binary=MVPNMOND):
        self.tmp = tmp
        self.master = master
        self.binary = binary
        self.conf = os.path.join(tmp, "mvpnmond.conf")
        self.log = os.path.join(tmp, "mvpnmond.log")
        self.proc = None

    def write_config(self, text):
        with open(self.conf, "w") as f:
            f.write(text)

    def start(self, *extra, netns=None, env=None):
        """Starts mvpnmond; inside netns if given (`ip netns exec` execs it: same pid).
        Its stderr goes to a file, where a sanitizer build writes its reports
        (UBSan ignores log_path when linked with ASan); stop() fails on any."""
        argv = [self.binary, "-f", "-c", self.conf, "-x", self.master.socket, "-Lf", self.log,
                *extra]
        self.stderr_path = self.log + ".stderr"
        with open(self.stderr_path, "a") as err:
            self.proc = subprocess.Popen(netns.cmd(*argv) if netns else argv,
                                         stdout=subprocess.DEVNULL, stderr=err,
                                         env=dict(os.environ, **env) if env else None)

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
            self.check_sanitizers()

    def check_sanitizers(self):
        try:
            with open(self.stderr_path) as f:
                err = f.read()
        except (AttributeError, FileNotFoundError):
            return
        for mark in ("runtime error:", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer"):
            assert mark not in err, err[:4000]


# What the command-line clients wait for an answer: 4 tries 2 s apart.  These
# clients read what the daemon holds; none of them judges how fast it answers
# (with "-t 1 -r 1" one GET slower than 2 s, a replay on a loaded machine, say,
# failed whatever test it was in).  An agent that never answers still fails.
CLIENT_TIMEOUT = ["-t", "2", "-r", "3"]


class FifoFeed:
    """A capture mvpnmond -r reads from a FIFO that this test writes, from a
    thread, chunk after chunk (chunks: an iterable of bytes, the pcap header
    first).  Its end of file comes only when the chunks run out or stop() is
    called, so "the replay is still running" is the test's decision, never a
    race between the replay and the machine's scheduling.

    mvpnmond reads a FIFO on a thread of its own (capture/feed.c): while the
    FIFO is empty it answers SNMP and signals as it does live, and the
    replay stays "running" until the chunks run out or stop() is called.
    """

    def __init__(self, path, chunks):
        self.path = path
        os.mkfifo(path)
        self.written = 0            # bytes that went into the FIFO
        self.exhausted = False      # the chunks ran out: end of file
        self.reader_gone = False    # the daemon closed the FIFO while chunks remained
        self._chunks = iter(chunks)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        try:
            fd = os.open(self.path, os.O_WRONLY)  # until the daemon opens it
        except OSError:
            return
        try:
            try:
                fcntl.fcntl(fd, 1031, 1 << 20)  # F_SETPIPE_SZ: fewer, larger reads
            except OSError:
                pass
            for chunk in self._chunks:
                if self._stop.is_set():
                    return
                view = memoryview(chunk)
                while view:
                    n = os.write(fd, view)
                    self.written += n
                    view = view[n:]
            self.exhausted = True
        except BrokenPipeError:
            self.reader_gone = True
        finally:
            os.close(fd)

    def stop(self):
        """No more chunks: the daemon, if it still reads, sees the end of the file."""
        self._stop.set()
        if self._thread.is_alive():
            # A writer still waiting for its reader (the daemon never opened the
            # FIFO) is let go by a reader that closes at once.
            try:
                os.close(os.open(self.path, os.O_RDONLY | os.O_NONBLOCK))
            except OSError:
                pass
        self._thread.join(EVENT_TIMEOUT)


class Snmp:
    """The net-snmp command-line clients, pointed at the private master."""

    def __init__(self, master):
        self.master = master
        self.env = dict(os.environ, MIBDIRS=MIB_DIRS, MIBS=CLIENT_MIBS)

    def run(self, tool, *args, check=True):
        cmd = [tool, "-v2c", "-c", "public", *CLIENT_TIMEOUT, *args[:-1],
               f"127.0.0.1:{self.master.port}", args[-1]] if args else [tool]
        out = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=600)
        if check:
            assert out.returncode == 0, f"{' '.join(cmd)}: {out.stderr}"
        return out.stdout

    def run_raw(self, tool, *args):
        """As run, but with no MIB loaded: values come back untouched by units and hints."""
        cmd = [tool, "-v2c", "-c", "public", *CLIENT_TIMEOUT, *args[:-1],
               f"127.0.0.1:{self.master.port}", args[-1]]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                             env=dict(os.environ, MIBDIRS=MIB_DIRS, MIBS=""))
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


@pytest.fixture(scope="session")
def deb(tmp_path_factory):
    """The Debian package, built once a session from a copy of this tree (for
    test_deb.py and test_first_hour.py): (the .deb, the .changes)."""
    if SANITIZED:
        pytest.skip("the package is built from source, not from the sanitizer build: "
                    "the plain pass tests it")
    if os.geteuid() != 0:
        pytest.skip("installing a package with dpkg needs root")
    import debpkg
    started = time.monotonic()
    built = debpkg.build_package(str(tmp_path_factory.mktemp("deb")))
    print(f"built {os.path.basename(built[0])} in {time.monotonic() - started:.0f} s")
    return built


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


class Netns:
    """A network namespace this test created, deleted when the test ends."""

    def __init__(self, name):
        self.name = name
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
        self.run("ip", "link", "set", "lo", "up")

    def cmd(self, *argv):
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, *argv, check=True, timeout=600):
        return subprocess.run(self.cmd(*argv), check=check, capture_output=True, text=True,
                              timeout=timeout)

    def delete(self):
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


@pytest.fixture
def wire():
    """Two namespaces joined by a veth pair: 'player' (va) sends, 'monitor' (vb) captures."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    tag = f"mvpn{os.getpid() % 100000}"
    player, monitor = Netns(f"{tag}-p"), Netns(f"{tag}-m")
    try:
        subprocess.run(["ip", "link", "add", f"{tag}a", "netns", player.name, "type", "veth",
                        "peer", "name", f"{tag}b", "netns", monitor.name],
                       check=True, capture_output=True)
        player.run("ip", "link", "set", f"{tag}a", "up")
        monitor.run("ip", "link", "set", f"{tag}b", "up")
        yield {"player": player, "monitor": monitor, "player_if": f"{tag}a",
               "monitor_if": f"{tag}b"}
    finally:
        player.delete()
        monitor.delete()


FIXTURES = os.path.join(TOP, "tests", "fixtures")
OID_ROOT = ".1.3.6.1.3.6037"


def _mib_names():
    """numeric OID -> object name, for every object of MVPN-MONITOR-MIB."""
    out = subprocess.run(["snmptranslate", "-Tz", "-m", "MVPN-MONITOR-MIB"], capture_output=True,
                         text=True, env=dict(os.environ, MIBDIRS=MIB_DIRS, MIBS=CLIENT_MIBS)).stdout
    names = {}
    for line in out.splitlines():
        name, num = line.replace('"', "").split()
        if num.startswith(OID_ROOT[1:]):
            names["." + num] = name
    return names


MIB_NAMES = None


def mib_names():
    global MIB_NAMES
    if MIB_NAMES is None:
        MIB_NAMES = _mib_names()
    return MIB_NAMES


def addr_text(atype, raw):
    """InetAddressType + InetAddress bytes -> text ('' for unknown/empty)."""
    import ipaddress
    if not raw:
        return ""
    return str(ipaddress.ip_address(bytes(raw)))


def decode_index(subs, schema):
    """Splits an index into values: 'u' one sub-id, 'a' an InetAddressType + InetAddress,
    'r' an 8-octet fixed-size string (a route distinguisher) as bytes."""
    out, i = [], 0
    for kind in schema:
        if kind == "u":
            out.append(subs[i])
            i += 1
        elif kind == "r":
            out.append(bytes(subs[i:i + 8]))
            i += 8
        else:
            atype, n = subs[i], subs[i + 1]
            out.append(addr_text(atype, subs[i + 2:i + 2 + n]))
            i += 2 + n
    assert i == len(subs), (subs, schema)
    return tuple(out)


def parse_value(text):
    """A value printed with -Oe -Ox -OQ -Ot: a number, or the bytes of an octet string."""
    text = text.strip()
    quoted = len(text) >= 2 and text[0] == '"' and text[-1] == '"'
    if quoted:
        text = text[1:-1].strip()
        if not text:
            return b""
    parts = text.split()
    if all(len(p) == 2 for p in parts) and parts and not text.isdigit():
        try:
            return bytes(int(p, 16) for p in parts)
        except ValueError:
            pass
    if quoted:
        return text.encode()
    try:
        return int(text)
    except ValueError:
        return text


def varbind_lines(text):
    """Joins the continuation lines net-snmp wraps long hex values onto."""
    out = []
    for line in text.splitlines():
        if line.startswith(".") and " = " in line:
            out.append(line)
        elif out and line.strip():
            out[-1] += " " + line.strip()
    return out


def run_tshark(cmd, timeout=600):
    """subprocess.run(cmd) for a tshark that reads a file (-r): its output, as text.

    tshark is the independent decoder the captures are checked against; it
    reads nothing of the build, and each start costs half a second.  make
    check's passes share MVPN_TSHARK_CACHE (tests/run.sh sets it): the same
    arguments on the same bytes are read from there the second time."""
    cache = os.environ.get("MVPN_TSHARK_CACHE")
    if not cache:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    i = cmd.index("-r") + 1
    key = hashlib.sha256("\0".join(cmd[:i] + cmd[i + 1:]).encode())
    with open(cmd[i], "rb") as f:
        key.update(f.read())
    saved = os.path.join(cache, key.hexdigest())
    if os.path.exists(saved):
        with open(saved) as f:
            return subprocess.CompletedProcess(cmd, **json.load(f))
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if out.returncode == 0:
        os.makedirs(cache, exist_ok=True)
        with open(saved + ".new", "w") as f:
            json.dump({"returncode": 0, "stdout": out.stdout, "stderr": out.stderr}, f)
        os.replace(saved + ".new", saved)
    return out


TORN_WALK_TRIES = 5


@functools.lru_cache(maxsize=None)
def table_columns(table):
    """(table OID, names of its readable columns): the columns a walk returns
    for every row (MAX-ACCESS read-* in the MIB's text; the index columns are
    not-accessible)."""
    with open(os.path.join(TOP, "mibs", "MVPN-MONITOR-MIB.txt")) as f:
        text = f.read()
    starts = list(re.finditer(r"^(\w+)\s+OBJECT-TYPE\b", text, re.M))
    ends = [m.start() for m in starts[1:]] + [len(text)]
    readable = {m.group(1) for m, end in zip(starts, ends)
                if re.search(r"\bMAX-ACCESS\s+read-", text[m.end():end])}
    names = mib_names()
    table_oid = next(oid for oid, name in names.items() if name == table)
    return table_oid, frozenset(name for oid, name in names.items()
                                if oid.startswith(table_oid + ".1.") and name in readable)


def snmp_rows(snmp, table, schema):
    """Walks a table numerically; returns {index tuple: {column name: value}} in walk order.
    Address columns come back as bytes; see addr_text.

    A walk is many requests, not one atomic read: a row the daemon removes (a
    timer, a message just sent) while it is walked comes back with its first
    columns only, one it adds with its last ones.  Such a torn read is walked
    again (up to TORN_WALK_TRIES times); a column still missing after that is
    returned missing, for the caller to see."""
    table_oid, columns = table_columns(table)
    for _ in range(TORN_WALK_TRIES):
        rows = _walk_rows(snmp, table_oid + ".1", schema)
        if all(columns <= set(r) for r in rows.values()):
            break
    return rows


def _walk_rows(snmp, entry_oid, schema):
    names = mib_names()
    rows = {}
    for line in varbind_lines(snmp.run_raw("snmpbulkwalk", "-On", "-Oe", "-Ox", "-OQ", "-Ot",
                                           "-Cr50", entry_oid)):
        oid, value = line.split(" = ", 1)
        if not oid.startswith(entry_oid + "."):
            continue  # an empty table: "No Such Object" at the entry itself
        rest = oid[len(entry_oid) + 1:].split(".")
        column = names[f"{entry_oid}.{rest[0]}"]
        index = decode_index([int(x) for x in rest[1:]], schema)
        rows.setdefault(index, {})[column] = parse_value(value)
    return rows


def scalars(snmp):
    names = mib_names()
    group = next(oid for oid, name in names.items() if name == "mvpnGlobals")
    out = {}
    for line in varbind_lines(snmp.run_raw("snmpwalk", "-On", "-Oe", "-Ox", "-OQ", "-Ot", group)):
        oid, value = line.split(" = ", 1)
        out[names[oid.rsplit(".", 1)[0]]] = parse_value(value)
    return out
