"""The committed captures are exactly what the independent generator (scapy) writes:
nobody edited them by hand, and nobody made them with mvpnmon's own code."""
import filecmp
import os
import subprocess

from conftest import FIXTURES

GENERATED = ["passive.pcap", "passive.conf", "passive.expected.json",
             "malformed.pcap", "malformed.conf", "malformed.expected.json"]


def test_fixtures_regenerate_byte_for_byte(tmp_path):
    subprocess.run(["/usr/bin/python3", os.path.join(FIXTURES, "gen_fixtures.py"), str(tmp_path)],
                   check=True, capture_output=True, timeout=600)
    for name in GENERATED:
        assert filecmp.cmp(os.path.join(FIXTURES, name), tmp_path / name, shallow=False), name
