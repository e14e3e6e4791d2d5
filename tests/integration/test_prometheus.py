"""contrib/prometheus/ with the real programs from Debian: the snmp.yml that
prometheus-snmp-generator makes, the rules and the Grafana dashboard.

mvpnmond captures live (tcpreplay plays the intruder capture of the alarm
tests onto its interface) and probes two PEs of the emulator; a private snmpd
serves it, prometheus-snmp-exporter walks that snmpd with contrib's snmp.yml,
and a real prometheus scrapes the exporter every second or two and evaluates
contrib's rules.  Then: the intruder's alert and the loss step's alert fire
in Prometheus's /api/v1/alerts, and every PromQL expression of the rules and
of every dashboard panel returns data.  All on loopback ports, in the test's
own namespaces; every process stopped by its pid.
"""
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml

from conftest import EVENT_TIMEOUT, FIXTURES, PORT_ATTEMPTS, TOP, serving, stop_process, wait_for
from test_probe import (GROUP, MONITOR, PORT, Scenario, lab, pe, start_emulator)  # noqa: F401

# What this tests is the shipped exporter configuration, rules and dashboard
# against Debian's programs; the daemon's serving paths it walks run under
# the sanitizers in test_spine, test_walk and the table tests.
pytestmark = pytest.mark.skipif(os.environ.get("MVPN_SANITIZED") == "1",
                                reason="shipped configuration against external programs: plain pass")


CONTRIB = os.path.join(TOP, "contrib", "prometheus")
SNMP_YML = os.path.join(CONTRIB, "snmp.yml")
RULES = os.path.join(CONTRIB, "mvpnmon.rules.yml")
DASHBOARD = os.path.join(CONTRIB, "mvpnmon-dashboard.json")
PROGRAMS = ("prometheus", "promtool", "prometheus-snmp-exporter", "prometheus-snmp-generator")
INTRUDER = "198.18.0.66"   # unexpected in VPN red of tests/fixtures/alarms.pcap
BMP_PORT = 11019           # in the monitor's own namespace
# A route reflector, from the emulator's namespace: gen_bmp.py's session, its
# peers without their routes (its MDT SAFI routes would make BGP a judge of
# the capture's VPNs), peer B's Peer Down, then the session held open.
BMP_SENDER = """
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
for path in sys.argv[3:]:
    s.sendall(open(path, "rb").read())
sys.stdin.read()
"""
SILENT = "198.18.0.3"      # expected in VPN red, never heard

needs_programs = pytest.mark.skipif(
    any(shutil.which(p) is None for p in PROGRAMS + ("tcpreplay",)),
    reason="needs prometheus, prometheus-snmp-exporter and tcpreplay (make deps)")


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def answers(url):
    try:
        http_get(url, timeout=5)
        return True
    except (OSError, urllib.error.URLError):
        return False


class Server:
    """An HTTP server program on a free loopback port, restarted on another
    port if it lost its port to someone else before binding it."""

    def __init__(self, name, tmp, argv_for_port, ready_path):
        self.log = os.path.join(tmp, name + ".log")
        for attempt in range(PORT_ATTEMPTS):
            self.port = free_tcp_port()
            with open(self.log, "w") as log:
                self.proc = subprocess.Popen(argv_for_port(self.port), stdout=log,
                                             stderr=subprocess.STDOUT)
            self.url = f"http://127.0.0.1:{self.port}"
            wait_for(lambda: self.proc.poll() is not None or answers(self.url + ready_path),
                     EVENT_TIMEOUT, 0.1)
            if self.proc.poll() is None and answers(self.url + ready_path):
                return
            stop_process(self.proc)
            if "address already in use" not in self.text().lower():
                break
        raise AssertionError(f"{name} did not start: {self.text()[-2000:]}")

    def text(self):
        with open(self.log) as f:
            return f.read()

    def stop(self):
        stop_process(self.proc)


class Prometheus(Server):
    def api(self, path, **params):
        body = json.loads(http_get(f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"))
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr):
        return self.api("query", query=expr)["result"]

    def alerts(self, state="firing"):
        return [a for a in self.api("alerts")["alerts"] if a["state"] == state]


def firing(prom, name, **labels):
    return [a for a in prom.alerts() if a["labels"]["alertname"] == name
            and all(a["labels"].get(k) == v for k, v in labels.items())]


# ---- the PromQL in the shipped files ----

def rule_expressions():
    """(kind, name, expr) of every rule of the shipped rule file."""
    with open(RULES) as f:
        groups = yaml.safe_load(f)["groups"]
    return [("record", r["record"], r["expr"]) if "record" in r else ("alert", r["alert"], r["expr"])
            for g in groups for r in g["rules"]]


def dashboard_expressions():
    """(panel title, expr) of every target of every panel, Grafana's
    variables given what "All" and a short range give them."""
    with open(DASHBOARD) as f:
        dash = json.load(f)
    subst = {"$__rate_interval": "1m", "$__interval": "2s", "$__range": "5m",
             "${vpn}": ".*", "$vpn": ".*"}
    out = []

    def walk(panels):
        for p in panels:
            walk(p.get("panels", []))
            for t in p.get("targets", []):
                expr = t["expr"]
                for k, v in subst.items():
                    expr = expr.replace(k, v)
                assert "$" not in expr, (p["title"], expr)
                out.append((p["title"], expr))
    walk(dash["panels"])
    return out


SELECTOR = re.compile(r"[A-Za-z_:][\w:]*")
NOT_SELECTORS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool",
                 "and", "or", "unless", "offset"}


def selectors(expr):
    """The vector selectors of a PromQL expression (name and matchers): what
    it reads.  Skips strings, function names, and the label lists of
    by/without/on/ignoring/group_left/group_right."""
    out, i = [], 0
    while i < len(expr):
        c = expr[i]
        if c in "\"'":
            i = expr.index(c, i + 1) + 1
            continue
        m = SELECTOR.match(expr, i)
        if not m or (i and (expr[i - 1].isalnum() or expr[i - 1] in "_.")):
            i += 1
            continue
        word, j = m.group(), m.end()
        rest = expr[j:].lstrip()
        if word in NOT_SELECTORS:
            if rest.startswith("("):
                j = expr.index(")", j) + 1
            i = j
            continue
        if rest.startswith("("):  # a function or an aggregation
            i = j
            continue
        if rest.startswith("{"):
            j = expr.index("}", j) + 1
        out.append(expr[m.start():j])
        i = j
    return out


# ---- the tests ----

def mib_dirs():
    return ":".join(sorted(glob.glob("/usr/lib/erlang/lib/snmp-*/mibs")) + [os.path.join(TOP, "mibs")])


@needs_programs
def test_checked_in_snmp_yml_is_what_the_generator_makes(tmp_path):
    """make prometheus-config, into a temporary directory: the same file."""
    shutil.copy(os.path.join(CONTRIB, "generator.yml"), tmp_path)
    out = subprocess.run(["prometheus-snmp-generator", "--fail-on-parse-errors", "generate",
                          "-o", "snmp.yml"], cwd=tmp_path, capture_output=True, text=True,
                         env=dict(os.environ, MIBDIRS=mib_dirs()))
    assert out.returncode == 0, out.stdout + out.stderr
    with open(tmp_path / "snmp.yml") as fresh, open(SNMP_YML) as shipped:
        assert fresh.read() == shipped.read(), "run make prometheus-config and commit snmp.yml"
    dry = subprocess.run(["prometheus-snmp-exporter", "--dry-run", f"--config.file={SNMP_YML}"],
                         capture_output=True, text=True)
    assert dry.returncode == 0, dry.stdout + dry.stderr


@needs_programs
def test_promtool_check_rules_is_clean():
    out = subprocess.run(["promtool", "check", "rules", RULES], capture_output=True, text=True)
    assert out.returncode == 0 and "SUCCESS" in out.stdout, out.stdout + out.stderr
    assert "WARNING" not in out.stdout + out.stderr, out.stdout + out.stderr
    # And the selector reader below sees what promtool saw.
    rules = rule_expressions()
    assert int(re.search(r"(\d+) rules found", out.stdout).group(1)) == len(rules)


def monitor_conf(iface, tmp):
    """VPNs red, blue and green of the alarm capture, passive; VPN core, probed
    through the emulator's two PEs; a loss threshold the step crosses.  The
    core PEs and the silent one have names; the intruder has none."""
    with open(os.path.join(FIXTURES, "alarms.conf")) as f:
        passive = re.sub(r"(?m)^startup-grace.*$", "", f.read())
    return (f'pe "{pe(1)}" {{ name = "core-pe1" }}\npe "{pe(2)}" {{ name = "core-pe2" }}\n'
            f'pe "{SILENT}" {{ name = "nyc-pe3" }}\n'
            f'probe-interface = "{iface}"\nprobe-local-address = "{MONITOR}"\n'
            "probe-loss-timeout = 1\nprobe-unreachable-time = 5\necho-interval = 100\n"
            "startup-grace = 2\npe-check-interval = 1\nnotification-rate-limit = 0\n"
            f'history {{\n file = "{tmp}/history.db"\n}}\n'
            f'bmp {{ listen = "{MONITOR}:{BMP_PORT}"  allow = {{ "{pe(0)}/24" }} }}\n'
            "thresholds { loss-rising = 4  loss-falling = 1\n"
            "  delay-rising = 500  delay-falling = 400  jitter-rising = 200  jitter-falling = 100 }\n"
            + passive +
            f'vpn "core" {{\n index = 4\n default-mdt = "{GROUP}"\n'
            f' expected-pes = {{ "{pe(1)}", "{pe(2)}" }}\n'
            f" probe {{ rate = 200  window = 2  port = {PORT} }}\n}}\n")


def prometheus_conf(tmp, exporter_port, master_port):
    # JSON is YAML: no yaml module needed to write it.
    conf = {
        "global": {"scrape_interval": "2s", "scrape_timeout": "2s", "evaluation_interval": "1s"},
        "rule_files": [RULES],
        "scrape_configs": [{
            "job_name": "mvpnmon",
            "metrics_path": "/snmp",
            "params": {"module": ["mvpnmon"]},
            "static_configs": [{"targets": [f"127.0.0.1:{master_port}"]}],
            "relabel_configs": [
                {"source_labels": ["__address__"], "target_label": "__param_target"},
                {"source_labels": ["__param_target"], "target_label": "instance"},
                {"target_label": "__address__", "replacement": f"127.0.0.1:{exporter_port}"}],
        }],
    }
    path = os.path.join(tmp, "prometheus.yml")
    with open(path, "w") as f:
        json.dump(conf, f, indent=1)
    return path


@needs_programs
def test_alerts_fire_and_every_rule_and_panel_returns_data(lab, tmp_path, daemon, snmp,
                                                            master):  # noqa: F811
    started = time.monotonic()
    tmp = str(tmp_path)
    s = Scenario(2)
    s.pair[(1, 2)] = s.pair[(2, 1)] = 2.0
    emu = start_emulator(lab, tmp_path, s)
    servers = []
    try:
        daemon.write_config(monitor_conf(lab["monitor_if"], tmp))
        daemon.start("-i", lab["monitor_if"], netns=lab["monitor"])
        assert wait_for(lambda: serving(snmp), EVENT_TIMEOUT), daemon.log_text()
        lab["player"].run("tcpreplay", "-q", "--topspeed", "-i", lab["player_if"],
                          os.path.join(FIXTURES, "alarms.pcap"))
        bmp = subprocess.Popen(lab["player"].cmd(
            "/usr/bin/python3", "-c", BMP_SENDER, MONITOR, str(BMP_PORT),
            *(os.path.join(FIXTURES, "bmp", f"{name}.bmp")
              for name in ("01-init", "02-peerup", "05-peerdown"))),
            stdin=subprocess.PIPE)
        servers.append(bmp)

        exporter = Server("snmp-exporter", tmp, lambda port: [
            "prometheus-snmp-exporter", f"--config.file={SNMP_YML}",
            f"--web.listen-address=127.0.0.1:{port}"], "/metrics")
        servers.append(exporter)
        conf = prometheus_conf(tmp, exporter.port, master.port)
        check = subprocess.run(["promtool", "check", "config", conf], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        prom = Prometheus("prometheus", tmp, lambda port: [
            "prometheus", f"--config.file={conf}", f"--storage.tsdb.path={tmp}/tsdb",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"], "/-/ready")
        servers.append(prom)

        # Probes flow on both pairs, as Prometheus sees them; no loss alert yet.
        ok = lambda: len(prom.query('mvpnPairStatus{mvpnPairStatus="ok"} == 1')) == 2  # noqa: E731
        assert wait_for(ok, EVENT_TIMEOUT, 0.5), (prom.query("mvpnPairStatus == 1"),
                                                  daemon.log_text()[-2000:])
        assert not firing(prom, "MvpnPairLoss")
        # The step: 10 % loss from PE 1 to PE 2 (loss-rising is 4 %).
        s.pair_loss[(1, 2)] = 10.0
        assert emu.reload(s.emulator_conf())["ev"] == "reload"

        want = [("MvpnPairLoss", dict(mvpnVpnName="core", mvpnAlarmAddr=pe(1),
                                      mvpnAlarmPeer=pe(2))),
                ("MvpnPeUnexpected", dict(mvpnVpnName="red", mvpnAlarmAddr=INTRUDER)),
                ("MvpnPeMissing", dict(mvpnVpnName="red", mvpnAlarmAddr=SILENT))]
        for name, labels in want:
            assert wait_for(lambda: firing(prom, name, **labels), EVENT_TIMEOUT, 0.5), (
                name, prom.alerts("firing") + prom.alerts("pending"),
                prom.query("mvpn:alarm == 1"), daemon.log_text()[-2000:])
        # The BMP peer that went down, alone, on its way to firing (its rule
        # waits a minute: not waited for here); its router is up.
        bmp_down = lambda: [a["labels"]["mvpnBmpPeerAddr"]  # noqa: E731
                            for a in prom.alerts("pending") + prom.alerts("firing")
                            if a["labels"]["alertname"] == "MvpnBmpPeerDown"]
        assert wait_for(bmp_down, EVENT_TIMEOUT, 0.5), (prom.query("mvpnBmpPeerStatus == 1"),
                                                        daemon.log_text()[-2000:])
        assert bmp_down() == ["2001:0DB8:0000:0000:0000:0000:0000:0002"]
        assert not [a for a in prom.alerts("pending") + prom.alerts("firing")
                    if a["labels"]["alertname"] == "MvpnBmpRouterDown"]
        peers = prom.query('mvpnBmpPeerStatus{mvpnBmpPeerStatus="up"} == 1')
        assert sorted((r["metric"]["mvpnBmpRouterSysName"], r["metric"]["mvpnBmpPeerAddr"])
                      for r in peers) == [("pe-rr1", "198.18.0.1"), ("pe-rr1", "198.18.0.3")]
        # Only the step's pair is lossy.
        assert [a["labels"]["mvpnAlarmAddr"] for a in firing(prom, "MvpnPairLoss")] == [pe(1)]
        # The summaries name the PEs (an unnamed PE by its address alone).
        summary = lambda name, **labels: firing(prom, name, **labels)[0]["annotations"]["summary"]  # noqa: E731
        assert summary("MvpnPairLoss") == "VPN core: loss core-pe1 -> core-pe2 above its threshold"
        assert summary("MvpnPeMissing", mvpnAlarmAddr=SILENT) == \
            f"VPN red: expected PE nyc-pe3 ({SILENT}) is missing"
        assert summary("MvpnPeUnexpected") == f"VPN red: unexpected PE {INTRUDER} is active"

        # Every table's series carry the VPN's name, decoded addresses and PE
        # names; enums are state sets.
        unnamed = prom.query('count by (__name__) ({__name__=~"mvpn(Vpn|Pe|Pair|Alarm)[A-Z].*",'
                             '__name__!~"mvpnVpnCount|mvpnPeRowsReclaimed", mvpnVpnName=""})')  # globals
        assert unnamed == [], unnamed
        intruder = prom.query(f'mvpnPeStatus{{mvpnVpnName="red", mvpnPeAddr="{INTRUDER}"}}')
        assert {r["metric"]["mvpnPeStatus"]: r["value"][1] for r in intruder} == {
            "active": "0", "missing": "0", "unexpected": "1", "departed": "0",
            "bgpSilent": "0", "notInBgp": "0"}
        assert {r["metric"]["mvpnPeName"] for r in intruder} == {INTRUDER}
        silent = prom.query(f'mvpnPeStatus{{mvpnVpnName="red", mvpnPeAddr="{SILENT}"}} == 1')
        assert [(r["metric"]["mvpnPeName"], r["metric"]["mvpnPeStatus"]) for r in silent] == [
            ("nyc-pe3", "missing")]
        pairs = prom.query('mvpnPairSent{mvpnVpnName="core"}')
        assert sorted((r["metric"]["mvpnPairSrcPe"], r["metric"]["mvpnPairDstPe"],
                       r["metric"]["mvpnPairSrcName"], r["metric"]["mvpnPairDstName"])
                      for r in pairs) == [(pe(1), pe(2), "core-pe1", "core-pe2"),
                                          (pe(2), pe(1), "core-pe2", "core-pe1")]
        tunnels = prom.query("mvpnTunnelEchoSent")
        assert sorted((r["metric"]["mvpnTunnelPe"], r["metric"]["mvpnTunnelPeName"])
                      for r in tunnels) == [(pe(1), "core-pe1"), (pe(2), "core-pe2")]

        # Every expression of the rules and of the dashboard returns data: a
        # recording rule's and a panel's whole expression; an alert's selectors
        # (the alerts meant to fire, fire, above; the others must not).
        queries = []
        for kind, name, expr in rule_expressions():
            if kind == "record":
                queries.append((f"record {name}", name))
                queries.append((f"record {name} (expr)", expr))
            else:
                queries += [(f"alert {name}", sel) for sel in selectors(expr)]
        queries += [(f"panel {title}", expr) for title, expr in dashboard_expressions()]
        # A rate needs two samples in its range: at most one scrape away.
        missing = {}
        deadline = time.monotonic() + EVENT_TIMEOUT
        for what, expr in queries:
            got = wait_for(lambda: prom.query(expr), max(1, deadline - time.monotonic()), 0.5)
            if not got:
                missing[what] = expr
        assert not missing, json.dumps(missing, indent=1)

        print(f"alerts firing: {sorted(a['labels']['alertname'] for a in prom.alerts())}; "
              f"{len(queries)} expressions returned data; {time.monotonic() - started:.1f} s")
    finally:
        for server in reversed(servers):
            if isinstance(server, subprocess.Popen):
                stop_process(server)  # the BMP sender
            else:
                server.stop()
        emu.stop()
