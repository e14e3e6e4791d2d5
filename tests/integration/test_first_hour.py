"""README.md's "The first hour on Debian", run: every command of the
section's ```sh blocks, in order, read from README.md itself (nothing of it is
repeated here), each checked for what the section says it does.

The package is the session's build (the `deb` fixture, shared with
test_deb.py), installed with dpkg and purged at the end whatever happens (the
`machine` fixture).  The test runs as root only, and not where a mvpnmon
package or user exists.

A command the table COMMANDS below does not know fails the test, so the
section and this test cannot drift apart.  What the test does instead of what
the operator would, and nothing else:

- `sudo` is dropped (the test is root).
- `apt-get install ./mvpnmon_V_amd64.deb PKG...`: the session's package, whose
  file name must be the README's, is installed with `dpkg -i`; every other PKG
  must be installed already (make deps), and nothing is downloaded.
- Files of other packages and of the user are never touched: what the section
  writes to /etc/snmp/snmpd.conf, /etc/snmp/snmptrapd.conf,
  /etc/prometheus/prometheus.yml, /etc/prometheus/snmp.yml,
  /etc/prometheus/mvpnmon.rules.yml and ~/.snmp/snmp.conf (tee, tee -a, cp,
  sed -i, mkdir) goes to private copies in the test's directory.  The copies of
  snmpd.conf, snmptrapd.conf and prometheus.yml start as Debian's shipped
  files (the machine's, when dpkg says they are unmodified).
  /etc/mvpnmon/mvpnmond.conf is the installed package's, written for real.
- When a server starts, the file it reads is the private copy with these
  substitutions, each of which must apply:
  snmpd.conf: `agentaddress 127.0.0.1,[::1]` -> `agentaddress
  udp:127.0.0.1:PORT` plus `agentXSocket unix:TMP/agentx.sock`; `includeDir
  /etc/snmp/snmpd.conf.d` dropped; `trap2sink localhost` ->
  `trap2sink 127.0.0.1:TRAPPORT`.
  prometheus.yml: `localhost:9090` -> Prometheus's port, `"localhost:161"` ->
  the snmpd's port, `127.0.0.1:9116` -> the exporter's port, `localhost:9093`
  (Alertmanager) and `localhost:9100` (node exporter) -> a closed port,
  `/etc/prometheus/mvpnmon.rules.yml` -> its private copy.
  mvpnmond.conf: `capture-interface = "eth1"` -> `capture-file =
  "tests/fixtures/passive.pcap"` (its VPN red; PE 198.18.0.66 is an intruder
  there, so there are alarms).
  ~/.snmp/snmp.conf: `defaultPort PORT` appended, and it is found through
  SNMPCONFPATH.
- `systemctl enable --now|start|restart UNIT...`: UNIT's private server is
  (re)started on loopback ports, stopped by its pid: snmpd and snmptrapd as
  `-f -C -c PRIVATE.conf -Lf LOG` (snmptrapd on 127.0.0.1:TRAPPORT, with
  MIBS="" as Debian's /etc/snmp/snmp.conf `mibs :`); mvpnmond as the
  ExecStart= of the installed unit with `-Ls d` -> `-Lf LOG` and `-x
  TMP/agentx.sock` appended; prometheus-snmp-exporter and prometheus as their
  units' ExecStart= (ARGS="" in /etc/default) with `--config.file`,
  `--web.listen-address=127.0.0.1:PORT` (and prometheus's
  `--storage.tsdb.path`) pointing at the test's.  The exporter and Prometheus
  are waited for until they answer, mvpnmond until it has connected to snmpd
  and replayed the capture.
- `journalctl -u UNIT [options]` is UNIT's log file (options ignored); a `|
  grep ...` after it runs as written, on that file.
- `promtool check config FILE` checks the private prometheus.yml, with its
  substitutions; `curl` goes to the private Prometheus; `mvpnmon` runs with
  SNMPCONFPATH at the private snmp.conf.
"""
import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import (EVENT_TIMEOUT, FIXTURES, TOP, Master, free_udp_port,
                      stop_process, wait_for)
from debpkg import machine, package_status, run  # noqa: F401
from test_prometheus import Prometheus, Server, free_tcp_port

README = os.path.join(TOP, "README.md")
SECTION = "## The first hour on Debian"
CAPTURE = os.path.join(FIXTURES, "passive.pcap")
HOME_SNMP_CONF = "~/.snmp/snmp.conf"
# The files of other packages the section writes, and the package owning each
# (whose shipped version is where the private copy starts), or None.
OTHERS = {
    "/etc/snmp/snmpd.conf": "snmpd",
    "/etc/snmp/snmptrapd.conf": "snmptrapd",
    "/etc/prometheus/prometheus.yml": "prometheus",
    "/etc/prometheus/snmp.yml": None,
    "/etc/prometheus/mvpnmon.rules.yml": None,
    HOME_SNMP_CONF: None,
}
MVPNMOND_CONF = "/etc/mvpnmon/mvpnmond.conf"
UNIT_DIR = "/lib/systemd/system"


# ---- the section: its commands ----

def section_text(path=README):
    with open(path) as f:
        text = f.read()
    start = text.index(SECTION + "\n")
    end = text.find("\n## ", start + len(SECTION))
    return text[start:end if end >= 0 else len(text)]


def package_paths():
    """The paths in /usr/share/mvpnmon the section names (files or directories)."""
    return set(re.findall(r"/usr/share/mvpnmon/[\w./-]*\w", section_text()))


def section_commands(path=README):
    """The commands of the section's fenced blocks, in order: (argv, heredoc body
    or None, pipeline tail as a list of argvs, the line as written)."""
    lines = section_text(path).splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = re.match(r"^(\s*)```(\S*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        indent, lang = len(m.group(1)), m.group(2)
        assert lang == "sh", f"a ```{lang} block in {SECTION}: every block is commands (```sh)"
        body, i = [], i + 1
        while not re.match(r"^\s*```\s*$", lines[i]):
            assert lines[i][:indent].strip() == "", lines[i]
            body.append(lines[i][indent:])
            i += 1
        blocks.append(body)
        i += 1
    assert blocks, f"no ```sh block in {SECTION}"
    commands = []
    for body in blocks:
        j = 0
        while j < len(body):
            line = body[j]
            j += 1
            while line.endswith("\\"):
                line = line[:-1] + " " + body[j]
                j += 1
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            heredoc = None
            m = re.search(r"\s*<<\s*'(\w+)'\s*$", line)
            if m:
                end_word, heredoc = m.group(1), []
                while body[j] != end_word:
                    heredoc.append(body[j])
                    j += 1
                j += 1
                heredoc = "\n".join(heredoc) + "\n"
                line_cmd = line[:m.start()]
            else:
                line_cmd = line
            words = shlex.split(line_cmd, comments=True)
            stages, cur = [], []
            for w in words:
                if w == "|":
                    stages.append(cur)
                    cur = []
                else:
                    cur.append(w)
            stages.append(cur)
            commands.append((stages[0], heredoc, stages[1:], line))
    return commands


def file_md5(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def shipped(path, package):
    """The machine's copy of a conffile of package, if dpkg says it is unmodified."""
    conffiles = run("dpkg-query", "-W", "-f", "${Conffiles}", package).stdout
    sums = dict(ln.split()[:2] for ln in conffiles.splitlines() if ln.strip())
    if path not in sums:
        pytest.skip(f"{path} is not a conffile of {package} here")
    if not os.path.exists(path) or file_md5(path) != sums[path]:
        pytest.skip(f"{path} is not Debian's shipped file here (modified): "
                    "the section's commands start from Debian's")
    with open(path) as f:
        return f.read()


def substitute(text, subs, what):
    """Applies (regex, replacement) pairs, each of which must match."""
    for pattern, repl in subs:
        text, n = re.subn(pattern, repl, text, flags=re.M)
        assert n >= 1, f"{what}: nothing matches {pattern!r}: the README changed?"
    return text


def unit_exec_start(unit):
    with open(os.path.join(UNIT_DIR, unit + ".service")) as f:
        lines = [ln[len("ExecStart="):] for ln in f.read().splitlines()
                 if ln.startswith("ExecStart=")]
    assert len(lines) == 1, (unit, lines)
    return shlex.split(lines[0])


def default_args(name):
    """ARGS of /etc/default/NAME: empty, as Debian ships it."""
    with open(f"/etc/default/{name}") as f:
        args = [ln for ln in f.read().splitlines() if re.match(r"\s*ARGS=", ln)]
    assert args == ['ARGS=""'], (name, args)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


class TrapDaemon:
    """A private snmptrapd with the section's snmptrapd.conf, on a port chosen
    before snmpd's configuration names it."""

    def __init__(self, tmp, port, conf):
        self.log = os.path.join(tmp, "snmptrapd.log")
        self.proc = subprocess.Popen(
            ["snmptrapd", "-f", "-Lf", self.log, "-C", "-c", conf, f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=dict(os.environ, MIBS="", SNMP_PERSISTENT_DIR=os.path.join(tmp, "persist-trapd")))
        started = lambda: "NET-SNMP version" in read(self.log)  # noqa: E731
        wait_for(lambda: started() or self.proc.poll() is not None, EVENT_TIMEOUT, 0.02)
        assert self.proc.poll() is None and started(), "snmptrapd: " + read(self.log)[-2000:]

    def stop(self):
        stop_process(self.proc)


class Snmpd(Master):
    """The private snmpd: the section's snmpd.conf, with its substitutions."""

    def __init__(self, world):
        self.world = world
        super().__init__(world.tmp, world.trap_port)

    def _configure(self, port):
        self.port = port
        w = self.world
        text = substitute(read(w.private["/etc/snmp/snmpd.conf"]), [
            (r"^agentaddress\s+127\.0\.0\.1,\[::1\]\s*$",
             f"agentaddress udp:127.0.0.1:{port}\nagentXSocket unix:{self.socket}"),
            (r"^includeDir\s+/etc/snmp/snmpd\.conf\.d\s*$", ""),
            (r"^(trap2sink\s+)localhost(\s)", rf"\g<1>127.0.0.1:{w.trap_port}\2"),
        ], "snmpd.conf")
        with open(self.conf, "w") as f:
            f.write(text)


class World:
    """The machine as the section's commands see it: files, servers, outputs."""

    def __init__(self, tmp, deb):
        self.tmp = tmp
        self.deb = deb
        self.trap_port = free_udp_port()
        self.closed_port = free_tcp_port()  # nobody listens there
        self.private = {}
        for path, package in OTHERS.items():
            self.private[path] = os.path.join(tmp, "files", path.replace("/", "_").strip("_~"))
            os.makedirs(os.path.dirname(self.private[path]), exist_ok=True)
            if package:
                with open(self.private[path], "w") as f:
                    f.write(shipped(path, package))
        self.snmp_conf_dir = os.path.join(tmp, "home-snmp")
        self.daemon_log = os.path.join(tmp, "mvpnmond.log")
        self.servers = {}      # unit -> object with stop()
        self.outputs = []      # (line, stdout) of every command run
        self.prom = None
        self.exporter = None

    # -- files
    def path(self, p):
        if p == MVPNMOND_CONF:
            return p
        if p.startswith("~/.snmp"):
            p = HOME_SNMP_CONF if p != "~/.snmp" else p
        if p == "~/.snmp":
            return self.snmp_conf_dir
        if p in self.private:
            return self.private[p]
        raise AssertionError(f"the section writes {p}, which this test does not map")

    def write(self, p, text, append):
        if p == MVPNMOND_CONF:
            text = substitute(text, [(r'^capture-interface = "eth1"$',
                                      f'capture-file = "{CAPTURE}"')], "mvpnmond.conf")
        if p == HOME_SNMP_CONF:
            os.makedirs(self.snmp_conf_dir, exist_ok=True)
            target = os.path.join(self.snmp_conf_dir, "snmp.conf")
        else:
            target = self.path(p)
        with open(target, "a" if append else "w") as f:
            f.write(text)

    def client_env(self):
        conf = os.path.join(self.snmp_conf_dir, "snmp.conf")
        assert os.path.exists(conf), "mvpnmon before ~/.snmp/snmp.conf was written"
        eff = os.path.join(self.tmp, "snmpconf")
        os.makedirs(eff, exist_ok=True)
        with open(os.path.join(eff, "snmp.conf"), "w") as f:
            f.write(read(conf) + f"defaultPort {self.servers['snmpd'].port}\n")
        return dict(os.environ, SNMPCONFPATH=eff,
                    SNMP_PERSISTENT_DIR=os.path.join(self.tmp, "persist-client"))

    def prometheus_yml(self, prom_port):
        text = substitute(read(self.private["/etc/prometheus/prometheus.yml"]), [
            (r"localhost:9090", f"127.0.0.1:{prom_port}"),
            (r"localhost:9093", f"127.0.0.1:{self.closed_port}"),
            (r"localhost:9100", f"127.0.0.1:{self.closed_port}"),
            (r'"localhost:161"', f'"127.0.0.1:{self.servers["snmpd"].port}"'),
            (r"127\.0\.0\.1:9116", f"127.0.0.1:{self.exporter.port if self.exporter else 9116}"),
            (r"/etc/prometheus/mvpnmon\.rules\.yml",
             self.private["/etc/prometheus/mvpnmon.rules.yml"]),
        ], "prometheus.yml")
        out = os.path.join(self.tmp, "prometheus.yml")
        with open(out, "w") as f:
            f.write(text)
        return out

    # -- servers
    def start(self, unit):
        if unit in self.servers:
            self.servers.pop(unit).stop()
        starter = {"snmpd": self.start_snmpd, "snmptrapd": self.start_snmptrapd,
                   "mvpnmond": self.start_mvpnmond,
                   "prometheus-snmp-exporter": self.start_exporter,
                   "prometheus": self.start_prometheus}.get(unit)
        assert starter, f"systemctl on {unit}: this test knows no private {unit}"
        self.servers[unit] = starter()

    def start_snmpd(self):
        m = Snmpd(self)
        m.start()
        return m

    def start_snmptrapd(self):
        return TrapDaemon(self.tmp, self.trap_port, self.private["/etc/snmp/snmptrapd.conf"])

    def start_mvpnmond(self):
        argv = unit_exec_start("mvpnmond")
        i = next(k for k in range(len(argv) - 1) if argv[k:k + 2] == ["-Ls", "d"])
        argv[i:i + 2] = ["-Lf", self.daemon_log]
        argv += ["-x", self.servers["snmpd"].socket]
        pos = read(self.daemon_log).count("\n")
        err = open(self.daemon_log + ".stderr", "a")
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        err.close()

        class Proc:
            def stop(_):
                stop_process(proc)
        since = lambda: "\n".join(read(self.daemon_log).splitlines()[pos:])  # noqa: E731
        up = lambda: ("AgentX subagent connected" in since()  # noqa: E731
                      and "serving the final state" in since())
        assert wait_for(lambda: up() or proc.poll() is not None, EVENT_TIMEOUT), \
            read(self.daemon_log)[-3000:]
        assert proc.poll() is None, read(self.daemon_log)[-3000:] + read(err.name)
        return Proc()

    def start_exporter(self):
        default_args("prometheus-snmp-exporter")
        argv = unit_exec_start("prometheus-snmp-exporter")
        assert argv == ["/usr/bin/prometheus-snmp-exporter", "$ARGS"], argv
        conf = self.private["/etc/prometheus/snmp.yml"]
        self.exporter = Server("prometheus-snmp-exporter", self.tmp, lambda port: [
            argv[0], f"--config.file={conf}", f"--web.listen-address=127.0.0.1:{port}"],
            "/metrics")
        return self.exporter

    def start_prometheus(self):
        default_args("prometheus")
        argv = unit_exec_start("prometheus")
        assert argv == ["/usr/bin/prometheus", "$ARGS"], argv
        self.prom = Prometheus("prometheus", self.tmp, lambda port: [
            argv[0], f"--config.file={self.prometheus_yml(port)}",
            f"--storage.tsdb.path={self.tmp}/tsdb", f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn"], "/-/ready")
        return self.prom

    def stop_all(self):
        for unit in ("prometheus", "prometheus-snmp-exporter", "mvpnmond", "snmptrapd", "snmpd"):
            if unit in self.servers:
                self.servers.pop(unit).stop()


# ---- what each command becomes ----

def mvpnmond_config():
    """The VPN and the PE name the section's configuration has."""
    text = read(MVPNMOND_CONF)
    vpns = re.findall(r'^vpn "([^"]+)"', text, re.M)
    names = re.findall(r'^pe "[^"]+" \{ name = "([^"]+)" \}', text, re.M)
    assert vpns and names, text
    return vpns, names


def do_apt_get(w, argv, heredoc):
    assert argv[:2] == ["apt-get", "install"], argv
    for pkg in argv[2:]:
        if pkg.startswith("./"):
            assert os.path.basename(pkg) == os.path.basename(w.deb), (pkg, w.deb)
            out = run("dpkg", "-i", w.deb)
            assert out.returncode == 0, out.stdout + out.stderr
            assert package_status() == "install ok installed"
        else:
            st = run("dpkg-query", "-W", "-f", "${Status}", pkg).stdout
            assert st == "install ok installed", f"{pkg} is not installed (make deps): {st}"


def do_tee(w, argv, heredoc):
    args = argv[1:]
    if args[-2:] == [">", "/dev/null"]:
        args = args[:-2]
    append = args[0] == "-a"
    if append:
        args = args[1:]
    assert len(args) == 1 and heredoc is not None, argv
    w.write(args[0], heredoc, append)


def do_mkdir(w, argv, heredoc):
    assert argv == ["mkdir", "-p", "~/.snmp"], argv
    os.makedirs(w.snmp_conf_dir, exist_ok=True)


def do_cp(w, argv, heredoc):
    assert len(argv) == 3, argv
    src, dst = argv[1:]
    assert src.startswith("/usr/share/mvpnmon/"), argv
    if dst.endswith("/"):
        dst += os.path.basename(src)
    shutil.copyfile(src, w.path(dst))


def do_sed(w, argv, heredoc):
    assert argv[:2] == ["sed", "-i"] and len(argv) == 4, argv
    target = w.path(argv[3])
    before = read(target)
    out = run("sed", "-i", argv[2], target)
    assert out.returncode == 0, out.stderr
    assert read(target) != before, f"{argv}: changed nothing in Debian's file"


def do_systemctl(w, argv, heredoc):
    args = argv[1:]
    if args[:2] == ["enable", "--now"]:
        args = args[2:]
        for unit in args:
            assert os.path.islink(f"/etc/systemd/system/multi-user.target.wants/{unit}.service")
    elif args[0] in ("start", "restart"):
        args = args[1:]
    else:
        raise AssertionError(f"systemctl {argv[1]}: not known to this test")
    for unit in args:
        w.start(unit)


def do_mvpnmond(w, argv, heredoc):
    assert argv[:2] == ["mvpnmond", "-n"], argv
    out = run("/usr/sbin/mvpnmond", *argv[1:])
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{MVPNMOND_CONF}: configuration OK (1 VPNs)" in out.stdout, out.stdout
    return out.stdout


def do_mvpnmon(w, argv, heredoc):
    out = run("/usr/bin/mvpnmon", *argv[1:], env=w.client_env())
    assert out.returncode == 0, out.stdout + out.stderr
    vpns, names = mvpnmond_config()
    cmd = argv[1]
    if cmd == "vpns":
        assert [ln.split()[1] for ln in out.stdout.splitlines()[1:]] == vpns, out.stdout
    elif cmd == "pes":
        assert all(n in out.stdout for n in names), out.stdout
        assert "active" in out.stdout, out.stdout
    elif cmd == "alarms":
        assert "198.18.0.66" in out.stdout, out.stdout   # the capture's intruder
    else:
        raise AssertionError(f"mvpnmon {cmd}: no check known for it")
    return out.stdout


def do_promtool(w, argv, heredoc):
    assert argv[1:3] == ["check", "config"] and len(argv) == 4, argv
    assert w.path(argv[3]) == w.private["/etc/prometheus/prometheus.yml"]
    # The ports are not known yet: any will do for a check.
    out = run("promtool", "check", "config", w.prometheus_yml(9090))
    assert out.returncode == 0 and "SUCCESS" in out.stdout, out.stdout + out.stderr
    return out.stdout


def do_curl(w, argv, heredoc):
    assert w.prom, "curl before Prometheus was started"
    argv = [a.replace("http://localhost:9090/", f"{w.prom.url}/") for a in argv]
    assert any(w.prom.url in a for a in argv), argv

    def answer():
        out = run(*argv, timeout=60)
        assert out.returncode == 0, out.stderr
        body = json.loads(out.stdout)
        assert body["status"] == "success", body
        return out.stdout if body["data"]["result"] else None
    got = wait_for(answer, EVENT_TIMEOUT, 1)
    assert got, "the query answered nothing: " + w.prom.text()[-2000:]
    vpns, names = mvpnmond_config()
    result = json.loads(got)["data"]["result"]
    assert {r["metric"]["mvpnVpnName"] for r in result} == set(vpns), result
    assert set(names) <= {r["metric"]["mvpnPeName"] for r in result}, result
    return got


def do_journalctl(w, argv, heredoc, tail):
    assert argv[1] == "-u", argv
    unit = argv[2]
    log = {"mvpnmond": w.daemon_log}.get(unit) or getattr(w.servers.get(unit), "log", None)
    assert log, f"journalctl -u {unit}: no private log of {unit}"

    def output():
        data = read(log)
        for stage in tail:
            assert stage[0] in ("grep", "tail", "head"), f"| {stage[0]}: not known to this test"
            data = subprocess.run(stage, input=data, capture_output=True, text=True).stdout
        return data
    got = wait_for(output, EVENT_TIMEOUT, 0.5)
    assert got, f"{' '.join(argv)}: nothing ({read(log)[-2000:]})"
    if unit == "mvpnmond":
        assert "running as user mvpnmon" in got, got
    if unit == "snmptrapd":
        assert "OID: iso.3.6.1.3.6037.0.10" in got, got  # mvpnAgentStart
    return got


COMMANDS = {
    "apt-get": do_apt_get,
    "tee": do_tee,
    "mkdir": do_mkdir,
    "cp": do_cp,
    "sed": do_sed,
    "systemctl": do_systemctl,
    "mvpnmond": do_mvpnmond,
    "mvpnmon": do_mvpnmon,
    "promtool": do_promtool,
    "curl": do_curl,
    "journalctl": do_journalctl,
}


def test_the_section_parses_into_commands_this_test_knows():
    """Needs no root: a command of the section with no mapping here fails at
    once, wherever the test runs."""
    commands = section_commands()
    unknown = [line for argv, _, _, line in commands
               if (argv[1:] if argv[0] == "sudo" else argv)[0] not in COMMANDS]
    assert not unknown, f"commands of {SECTION} this test cannot run: {unknown}"
    for argv, _, tail, line in commands:
        assert not tail or "journalctl" in argv, f"{line}: only journalctl's output is piped"
    # The files the section names in /usr/share/mvpnmon are the package's.
    named = package_paths()
    assert named, section_text()
    for path in named:
        rel = os.path.relpath(path, "/usr/share/mvpnmon")
        assert os.path.exists(os.path.join(TOP, "contrib", rel)), path


def test_the_first_hour_on_debian(machine, deb, tmp_path):  # noqa: F811
    started = time.monotonic()
    commands = section_commands()
    deb_file, _ = deb
    # A directory the package's user may enter: the AgentX socket is in it.
    top = tempfile.mkdtemp(prefix="mvpnmon-firsthour-")
    os.chmod(top, 0o755)
    w = World(top, deb_file)
    try:
        for argv, heredoc, tail, line in commands:
            if argv[0] == "sudo":
                argv = argv[1:]
            handler = COMMANDS.get(argv[0])
            assert handler, f"{line}: this test does not know how to run it"
            if argv[0] == "journalctl":
                out = handler(w, argv, heredoc, tail)
            else:
                assert not tail, f"{line}: a pipe after {argv[0]} is not known to this test"
                out = handler(w, argv, heredoc)
            w.outputs.append((line, out))
            print(f"$ {line}\n{(out or '').rstrip()[:1500]}")
        # The package's files the section names (the dashboard, say) are there.
        for path in package_paths():
            assert os.path.isfile(path), path
    finally:
        w.stop_all()
        shutil.rmtree(top, ignore_errors=True)
    run("dpkg", "--purge", "mvpnmon")
    assert not package_status() or package_status() == "unknown ok not-installed"
    assert not glob.glob("/etc/mvpnmon/*")
    print(f"{len(commands)} commands in {time.monotonic() - started:.0f} s")
