"""mvpnmon's PIM parsers held against tshark, an independent decoder.

For every PIM message tshark finds in a capture (our scapy fixtures and the
real captures from tcpdump's test suite), build/tools/pcap_decode prints what
capture/parse_*.c make of the same bytes, and the two readings must agree:
same frames, same message types, same Hello options, same upstream neighbor,
hold time and join/prune records (group, source, kind) in the same order.
Other PIM types (Register, Assert, Bootstrap ...) are never read by the
daemon, so for them only the type is compared.  Where our parser refuses a
Hello or Join/Prune, tshark must also have found something
wrong with it (bad checksum, malformed, an error-level expert note), or the
message must be one the daemon deliberately does not read.

The crash captures of tcpdump's suite run under valgrind as well: our
decoder reads none of them out of bounds.
"""
import functools
import glob
import json
import os
import shutil
import subprocess

import pytest

from conftest import BUILD, FIXTURES, SANITIZED, TOP, memcheck, run_tshark

DECODER = os.path.join(BUILD, "tools", "pcap_decode")
CAPTURES = os.path.join(TOP, "..", "shared", "captures", "tcpdump-tests")
TCPDUMP_CAPTURES = sorted(glob.glob(os.path.join(CAPTURES, "*.pcap")))
FIXTURE_CAPTURES = sorted(glob.glob(os.path.join(FIXTURES, "*.pcap")))
CRASH_CAPTURES = [c for c in TCPDUMP_CAPTURES
                  if any(k in os.path.basename(c) for k in ("oobr", "asan", "overflow"))]

TYPE_NAMES = {0: "hello", 1: "register", 2: "register-stop", 3: "join-prune", 4: "bootstrap",
              5: "assert", 6: "graft", 7: "graft-ack", 8: "candidate-rp-adv"}
FIELDS = ["frame.number", "ip.src", "ipv6.src", "pim.version", "pim.type", "pim.cksum.status",
          "pim.holdtime", "pim.generation_id", "pim.dr_priority",
          "pim.upstream_neighbor", "pim.upstream_neighbor_ip6",
          "pim.group", "pim.group_ip6", "pim.numjoins", "pim.numprunes",
          "pim.join_ip", "pim.join_ip6", "pim.prune_ip", "pim.prune_ip6",
          "pim.source_addr.flags.w", "pim.source_addr.flags.r",
          "_ws.malformed", "_ws.expert.severity"]
READ_TYPES = ("hello", "join-prune")  # the messages the daemon learns from
CKSUM_BAD = "0"
EXPERT_ERROR = 8388608  # _ws.expert.severity of PI_ERROR

needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")


def tshark_messages(path):
    """frame number -> dict of field -> list of values, for frames with PIM."""
    cmd = ["tshark", "-n", "-r", path, "-Y", "pim", "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=\t"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = run_tshark(cmd)
    assert out.returncode == 0, out.stderr
    messages = {}
    for line in out.stdout.splitlines():
        cols = line.split("\t")
        if len(cols) != len(FIELDS):
            continue
        row = {f: (c.split("|") if c else []) for f, c in zip(FIELDS, cols)}
        messages[int(row["frame.number"][0])] = row
    return messages


@functools.lru_cache(maxsize=None)
def our_messages(path):
    """frame number -> list of parsed lines (dicts) from pcap_decode."""
    out = subprocess.run([DECODER, path], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    frames = {}
    for line in out.stdout.splitlines():
        words = line.split()
        entry = {"records": []}
        for w in words:
            key, _, value = w.partition("=")
            if key in ("join", "prune"):
                gs, _, kind = value.rpartition(":")
                group, _, source = gs.partition("/")
                entry["records"].append((key, group, source, kind))
            else:
                entry[key] = value
        frames.setdefault(int(entry["frame"]), []).append(entry)
    return frames


def record_kind(wildcard, rpt):
    if wildcard == "1" and rpt == "1":
        return "starg"
    return "sgrpt" if rpt == "1" else "sg"


def tshark_records(t):
    """The join/prune records of one message in wire order, as pcap_decode prints them.

    tshark lists each group's address twice (the encoded group and the
    address inside it), the sources of all groups in one flat list per
    kind, and the W and R flags of every source in wire order (a group's
    joins, then its prunes)."""
    groups = (t["pim.group"] or t["pim.group_ip6"])[::2]
    joins = iter(t["pim.join_ip"] or t["pim.join_ip6"])
    prunes = iter(t["pim.prune_ip"] or t["pim.prune_ip6"])
    flags = iter(zip(t["pim.source_addr.flags.w"], t["pim.source_addr.flags.r"]))
    records = []
    for group, nj, np_ in zip(groups, t["pim.numjoins"], t["pim.numprunes"]):
        for verb, sources, count in (("join", joins, int(nj)), ("prune", prunes, int(np_))):
            for _ in range(count):
                w, r = next(flags)
                records.append((verb, group, next(sources), record_kind(w, r)))
    return records


def tshark_objects(t):
    """True when tshark itself found this message wrong."""
    severities = [int(s) for s in t["_ws.expert.severity"] if s.isdigit()]
    return (CKSUM_BAD in t["pim.cksum.status"] or bool(t["_ws.malformed"])
            or any(s >= EXPERT_ERROR for s in severities))


def pim_entry(entries):
    return next((e for e in entries if "type" in e), None)


def generator_manifest(path):
    """frame -> what gen_fixtures.py says it did to it (fixtures only)."""
    expected = path[:-len(".pcap")] + ".expected.json"
    if not os.path.exists(expected):
        return {}
    with open(expected) as f:
        return {e["frame"]: e for e in json.load(f).get("frames", [])}


@functools.lru_cache(maxsize=None)
def compare(path):
    manifest = generator_manifest(path)
    theirs = tshark_messages(path)
    ours = our_messages(path)
    problems = []
    checked = 0
    for frame, t in sorted(theirs.items()):
        entries = ours.get(frame, [])
        mine = pim_entry(entries)
        if mine is None:
            # Something stopped us before PIM: the frame must be one tshark
            # also objects to (or cut short by the capture).
            if not (tshark_objects(t) or any("cut" in e for e in entries)
                    or any(e.get("error") for e in entries)):
                problems.append(f"frame {frame}: tshark sees PIM, we see nothing: {entries}")
            continue
        version = t["pim.version"][0] if t["pim.version"] else "2"
        if version != "2":
            if mine.get("error") != "bad-version":
                problems.append(f"frame {frame}: PIMv{version} not refused as bad-version: {mine}")
            continue
        want_type = TYPE_NAMES.get(int(t["pim.type"][0]), t["pim.type"][0])
        if mine["type"] != want_type:
            problems.append(f"frame {frame}: type {mine['type']} != tshark {want_type}")
            continue
        if mine["type"] not in READ_TYPES:
            continue  # never read by the daemon: the type is all we compare
        broken = manifest.get(frame, {})
        if broken.get("malformed") and "error" not in mine:
            problems.append(f"frame {frame}: the generator broke it ({broken['kind']}), we accepted it")
        if "error" in mine:
            # tshark does not enforce every RFC 7761 rule (option lengths,
            # address families, W without R, a unicast group): such frames
            # are known from the generator's manifest, which also records
            # that tshark is silent about them.
            rfc_only = broken.get("malformed") and broken.get("tshark") is None
            if not (tshark_objects(t) or rfc_only):
                problems.append(f"frame {frame}: we refuse ({mine['error']}), tshark finds nothing wrong")
            continue
        if CKSUM_BAD in t["pim.cksum.status"]:
            problems.append(f"frame {frame}: tshark says checksum bad, we accepted it")
            continue
        checked += 1
        problems += compare_body(frame, mine, t)
    our_pim = {f for f, es in ours.items() if pim_entry(es)}
    for frame in sorted(our_pim - set(theirs)):
        problems.append(f"frame {frame}: we decode PIM that tshark does not: {ours[frame]}")
    return checked, problems


def compare_body(frame, mine, t):
    problems = []
    src = (t["ipv6.src"] or t["ip.src"])[-1]  # the innermost header's source
    if mine["src"] != src:
        problems.append(f"frame {frame}: source {mine['src']} != tshark {src}")
    if mine["type"] == "hello":
        for ours_key, field in (("holdtime", "pim.holdtime"), ("genid", "pim.generation_id"),
                                ("drpri", "pim.dr_priority")):
            want = t[field][0] if t[field] else None
            if mine.get(ours_key) != want:
                problems.append(f"frame {frame}: hello {ours_key}={mine.get(ours_key)} != tshark {want}")
    elif mine["type"] == "join-prune":
        upstream = (t["pim.upstream_neighbor"] or t["pim.upstream_neighbor_ip6"])[0]
        if mine["upstream"] != upstream:
            problems.append(f"frame {frame}: upstream {mine['upstream']} != tshark {upstream}")
        if mine["holdtime"] != t["pim.holdtime"][0]:
            problems.append(f"frame {frame}: holdtime {mine['holdtime']} != tshark {t['pim.holdtime'][0]}")
        if mine["records"] != tshark_records(t):
            problems.append(f"frame {frame}: records {mine['records']} != tshark {tshark_records(t)}")
    return problems


def capture_id(path):
    # An empty parameter list (no tcpdump captures beside a clean clone) hands
    # pytest's NOTSET marker here.
    return os.path.basename(path) if isinstance(path, str) else "none"


@needs_tshark
@pytest.mark.parametrize("path", FIXTURE_CAPTURES + TCPDUMP_CAPTURES, ids=capture_id)
def test_parser_agrees_with_tshark(path):
    checked, problems = compare(path)
    assert not problems, "\n".join(problems)


@needs_tshark
@pytest.mark.skipif(not TCPDUMP_CAPTURES, reason="tcpdump's captures are not beside this clone")
def test_cross_check_covers_joins_prunes_and_hellos():
    """The comparison above is only worth something if it really compared
    messages of every kind the daemon reads, in both address families."""
    kinds = set()
    checked = 0
    for path in FIXTURE_CAPTURES + TCPDUMP_CAPTURES:
        n, _ = compare(path)
        checked += n
        for entries in our_messages(path).values():
            e = pim_entry(entries)
            if e and "error" not in e and e["type"] in ("hello", "join-prune"):
                family = "v6" if ":" in e["src"] else "v4"
                kinds.add((e["type"], family))
                kinds.update(r[0] + "-" + r[3] for r in e["records"])
    assert checked >= 100
    assert {("hello", "v4"), ("hello", "v6"), ("join-prune", "v4"), ("join-prune", "v6"),
            "join-starg", "join-sg", "join-sgrpt", "prune-sg"} <= kinds, kinds


@pytest.mark.skipif(shutil.which("valgrind") is None and not SANITIZED,
                    reason="valgrind not installed")
@pytest.mark.skipif(not CRASH_CAPTURES, reason="tcpdump crash captures not present")
@pytest.mark.parametrize("path", CRASH_CAPTURES, ids=capture_id)
def test_crash_captures_read_in_bounds(path):
    out = subprocess.run(memcheck([DECODER, "--mdt", path]),
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
