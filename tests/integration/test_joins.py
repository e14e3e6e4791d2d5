"""Live capture's multicast memberships across reloads: a reload joins the
default MDTs it added and leaves those it removed, and nothing else; a reload
of the same file makes no membership call at all.  An LD_PRELOAD witness
(tests/preload/count_joins.c) logs every membership call mvpnmond makes, and
/proc/net/igmp and /proc/net/igmp6 in the monitor's namespace say what the
interface holds."""
import os
import re
import signal
import subprocess


from conftest import EVENT_TIMEOUT, SANITIZED, TOP, Daemon, scalars, wait_for

COUNT_JOINS = os.path.join(TOP, "build", "preload", "count_joins.so")


def v4(i):
    return f"239.192.{i // 250}.{i % 250 + 1}"


def v6(i):
    return f"ff3e::8000:{i:x}"


def config(vpns):
    """vpns: {index: group}."""
    return "".join(f'vpn "v{i}" {{ index = {i}  default-mdt = "{g}" }}\n'
                   for i, g in sorted(vpns.items()))


def held_v4(ns, ifname):
    """The IPv4 groups /proc/net/igmp lists under ifname (hex, host order)."""
    text = ns.run("cat", "/proc/net/igmp").stdout
    groups, inside = set(), False
    for line in text.split("\n")[1:]:
        fields = line.split()
        if not fields:
            continue
        if not line[0].isspace():
            inside = len(fields) > 1 and fields[1].rstrip(":") == ifname
            continue
        if inside and len(fields) >= 4:
            group = ".".join(str(b) for b in bytes.fromhex(fields[0])[::-1])
            if not group.startswith("224.0.0."):  # the kernel's own (all-hosts)
                groups.add(group)
    return groups


def held_v6(ns, ifname):
    """The IPv6 groups /proc/net/igmp6 lists on ifname, but the kernel's own
    (interface- and link-local scope)."""
    text = ns.run("cat", "/proc/net/igmp6").stdout
    groups = set()
    for line in text.split("\n"):
        fields = line.split()
        if len(fields) >= 3 and fields[1] == ifname:
            hexa = fields[2]
            words = [hexa[k:k + 4] for k in range(0, 32, 4)]
            addr = ":".join(w.lstrip("0") or "0" for w in words)
            if not hexa.startswith(("ff01", "ff02")):
                groups.add(_canonical(addr))
    return groups


def _canonical(addr):
    import ipaddress
    return str(ipaddress.ip_address(addr))


class Witness:
    def __init__(self, path):
        self.path = path
        self.seen = 0

    def calls(self):
        """The membership calls since the last look: [(op, group, rc)]."""
        try:
            with open(self.path) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            lines = []
        new, self.seen = lines[self.seen:], len(lines)
        return [(op, _canonical(g), int(rc)) for op, g, rc in (l.split() for l in new)]


def syncs(daemon):
    """Membership syncs done: one line each, the last thing a sync does."""
    return daemon.log_text().count("capture: memberships on ")


def reload(daemon, snmp, text):
    """SIGHUP, and back once the memberships are changed, on a thread of their own."""
    loads, done = scalars(snmp)["mvpnConfigLoads"], syncs(daemon)
    daemon.write_config(text)
    daemon.signal(signal.SIGHUP)
    assert wait_for(lambda: scalars(snmp)["mvpnConfigLoads"] == loads + 1, EVENT_TIMEOUT), \
        daemon.log_text()
    # Not asserted: the witness says what was done, and a build that changes
    # memberships under the reload (logging no such line) is judged by it.
    wait_for(lambda: syncs(daemon) == done + 1, EVENT_TIMEOUT)


def test_a_reload_joins_and_leaves_only_the_groups_that_changed(tmp_path, master, snmp, wire):
    assert os.path.exists(COUNT_JOINS), "build it first: make"
    # 60 IPv4 VPNs (three sockets' worth) and 6 IPv6.
    vpns = {i: v4(i) for i in range(1, 61)}
    vpns.update({i: v6(i) for i in range(61, 67)})
    witness = Witness(str(tmp_path / "joins.log"))
    env = {"LD_PRELOAD": COUNT_JOINS, "JOINS_LOG": witness.path}
    if SANITIZED:  # the witness is loaded before the ASan runtime, on purpose
        env["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
    ns, ifname = wire["monitor"], wire["monitor_if"]
    daemon = Daemon(str(tmp_path), master)
    daemon.write_config(config(vpns))
    daemon.start("-i", ifname, netns=ns, env=env)
    try:
        assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "running", EVENT_TIMEOUT), \
            daemon.log_text()
        want = set(vpns.values())
        assert sorted(witness.calls()) == sorted(("join", g, 0) for g in want)
        assert held_v4(ns, ifname) | held_v6(ns, ifname) == want

        # The same file: not one membership call.
        reload(daemon, snmp, config(vpns))
        assert witness.calls() == []
        assert held_v4(ns, ifname) | held_v6(ns, ifname) == want

        # 10 VPNs removed (8 IPv4, 2 IPv6), 6 with a new default MDT, 5 added.
        changed = dict(vpns)
        removed = [3, 7, 20, 21, 22, 40, 41, 59, 61, 64]
        for i in removed:
            del changed[i]
        for i in (1, 2, 30, 50, 62, 66):
            changed[i] = v4(i + 500) if i <= 60 else v6(i + 500)
        for i in range(100, 105):
            changed[i] = v4(i) if i % 2 else v6(i)
        reload(daemon, snmp, config(changed))
        new = set(changed.values())
        calls = witness.calls()
        assert sorted(c for c in calls if c[0] == "leave") == \
            sorted(("leave", g, 0) for g in want - new)
        assert sorted(c for c in calls if c[0] == "join") == \
            sorted(("join", g, 0) for g in new - want)
        assert len(calls) == len(want - new) + len(new - want) == 16 + 11
        assert held_v4(ns, ifname) | held_v6(ns, ifname) == new

        # Back again, then the same once more: the freed slots are used again.
        reload(daemon, snmp, config(vpns))
        assert len(witness.calls()) == 16 + 11
        reload(daemon, snmp, config(vpns))
        assert witness.calls() == []
        assert held_v4(ns, ifname) | held_v6(ns, ifname) == want
        assert "cannot join" not in daemon.log_text()
        assert "not joined" not in daemon.log_text()
    finally:
        daemon.stop()


def longest_turn(daemon):
    """SIGUSR1; the longest engine turn since the last one (ms)."""
    mark = len(daemon.log_text())
    daemon.signal(signal.SIGUSR1)
    found = []
    wait_for(lambda: found.extend(re.findall(r"longest turn ([0-9.]+) ms",
                                             daemon.log_text()[mark:])) or found, EVENT_TIMEOUT)
    assert found, daemon.log_text()[-2000:]
    return float(found[-1])


def test_a_reload_does_not_wait_for_the_membership_calls(tmp_path, master, snmp, wire):
    """Every membership call walks the device's group list in the kernel: with
    100,000 groups, 10 % of them changed is seconds of calls.  Here each call
    takes 25 ms longer (the witness's JOINS_DELAY_MS): a reload that changes 40
    groups (1 s of calls) must still hold the engines for a small part of that,
    and the model has the new VPNs before the last call is made."""
    assert os.path.exists(COUNT_JOINS), "build it first: make"
    vpns = {i: v4(i) for i in range(1, 41)}
    witness = Witness(str(tmp_path / "joins.log"))
    env = {"LD_PRELOAD": COUNT_JOINS, "JOINS_LOG": witness.path, "JOINS_DELAY_MS": "25"}
    if SANITIZED:
        env["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
    ns, ifname = wire["monitor"], wire["monitor_if"]
    daemon = Daemon(str(tmp_path), master)
    daemon.write_config(config(vpns))
    daemon.start("-i", ifname, netns=ns, env=env)
    try:
        assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "running", EVENT_TIMEOUT), \
            daemon.log_text()
        assert len(witness.calls()) == 40
        longest_turn(daemon)  # from here on
        moved = {i: v4(i + 100) for i in range(1, 21)}  # 20 left, 20 joined
        loads, done = scalars(snmp)["mvpnConfigLoads"], syncs(daemon)
        daemon.write_config(config({**vpns, **moved}))
        daemon.signal(signal.SIGHUP)
        assert wait_for(lambda: scalars(snmp)["mvpnConfigLoads"] == loads + 1, EVENT_TIMEOUT)
        calls_at_load = len(witness.calls())
        assert wait_for(lambda: syncs(daemon) == done + 1, EVENT_TIMEOUT), daemon.log_text()
        assert calls_at_load + len(witness.calls()) == 40
        assert calls_at_load < 40  # the model had the reload before the calls were done
        assert longest_turn(daemon) < 500  # the calls alone take 1,000 ms
        assert held_v4(ns, ifname) == set({**vpns, **moved}.values())
    finally:
        daemon.stop()


def test_a_capture_resumed_on_a_new_interface_joins_every_group_there(tmp_path, master, snmp,
                                                                       wire):
    """The interface deleted and created again (a new index): the memberships
    went with the old one; every group is joined on the new one, on the
    memberships' thread, and later reloads change only what changed."""
    assert os.path.exists(COUNT_JOINS), "build it first: make"
    vpns = {i: v4(i) for i in range(1, 31)}
    witness = Witness(str(tmp_path / "joins.log"))
    env = {"LD_PRELOAD": COUNT_JOINS, "JOINS_LOG": witness.path}
    if SANITIZED:
        env["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
    ns, ifname = wire["monitor"], wire["monitor_if"]
    daemon = Daemon(str(tmp_path), master)
    daemon.write_config(config(vpns))
    daemon.start("-i", ifname, netns=ns, env=env)
    try:
        assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "running", EVENT_TIMEOUT), \
            daemon.log_text()
        reload(daemon, snmp, config(vpns))  # the memberships' thread is running
        assert len(witness.calls()) == 30
        wire["player"].run("ip", "link", "del", wire["player_if"])
        assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "failed", EVENT_TIMEOUT)
        done = syncs(daemon)
        subprocess.run(["ip", "link", "add", wire["player_if"], "netns", wire["player"].name,
                        "type", "veth", "peer", "name", ifname, "netns", ns.name],
                       check=True, capture_output=True)
        wire["player"].run("ip", "link", "set", wire["player_if"], "up")
        ns.run("ip", "link", "set", ifname, "up")
        assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "running", EVENT_TIMEOUT), \
            daemon.log_text()
        assert wait_for(lambda: syncs(daemon) == done + 1, EVENT_TIMEOUT), daemon.log_text()
        assert sorted(witness.calls()) == sorted(("join", g, 0) for g in vpns.values())
        assert held_v4(ns, ifname) == set(vpns.values())
        reload(daemon, snmp, config(vpns))
        assert witness.calls() == []
        assert daemon.proc.poll() is None
    finally:
        daemon.stop()
