"""mvpnmond -n: check a configuration as a start or a reload would load it,
print what is wrong with file:line, and exit (as snmpd -t or ospfd -C do);
the systemd unit runs it before every reload."""
import os
import re
import subprocess

from conftest import MVPNMOND, TOP

GOOD = """vpn "red" {
  index = 1
  default-mdt = "239.192.0.1"
  expected-pes = { "198.18.0.1", "198.18.0.2" }
}
vpn "blue" {
  index = 2
  default-mdt = "239.192.0.2"
}
"""


def check(tmp_path, text, name="mvpnmond.conf"):
    path = tmp_path / name
    path.write_text(text)
    return subprocess.run([MVPNMOND, "-n", "-c", str(path)], capture_output=True, text=True,
                          timeout=30)


def test_a_good_configuration_checks_ok_and_starts_nothing(tmp_path):
    r = check(tmp_path, GOOD)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{tmp_path / 'mvpnmond.conf'}: configuration OK (2 VPNs)\n"
    assert r.stderr == ""


def test_a_bad_line_is_named_by_file_and_line_with_exit_78(tmp_path):
    bad = GOOD.replace('default-mdt = "239.192.0.2"', 'default-mdt = "198.18.0.9"')
    r = check(tmp_path, bad)
    assert r.returncode == 78, (r.stdout, r.stderr)
    assert r.stdout == ""
    line = bad.splitlines().index('  default-mdt = "198.18.0.9"') + 1
    assert re.search(rf"{re.escape(str(tmp_path / 'mvpnmond.conf'))}:{line}: .*198\.18\.0\.9",
                     r.stderr), r.stderr


def test_a_missing_file_is_a_configuration_error(tmp_path):
    r = subprocess.run([MVPNMOND, "-n", "-c", str(tmp_path / "absent.conf")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 78
    assert "absent.conf" in r.stderr


def test_the_systemd_unit_checks_before_it_reloads():
    with open(os.path.join(TOP, "mvpnmond.service")) as f:
        reloads = [line.split("=", 1)[1].split() for line in f
                   if line.startswith("ExecReload=")]
    # systemd runs ExecReload lines in order and stops at the first failure.
    assert len(reloads) == 2 and "-n" in reloads[0] and reloads[1][-2:] == ["-HUP", "$MAINPID"]


def refused(tmp_path, text, line, says):
    """mvpnmond -n refuses text whole: exit 78, and one message naming file:line."""
    path = tmp_path / "mvpnmond.conf"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    r = subprocess.run([MVPNMOND, "-n", "-c", str(path)], capture_output=True, timeout=30)
    stderr = r.stderr.decode(errors="replace")
    assert r.returncode == 78, (r.stdout, stderr)
    assert r.stdout == b""
    assert f"{path}:{line}: " in stderr and says in stderr, stderr


def test_an_unclosed_comment_refuses_the_file_instead_of_cutting_it_off(tmp_path):
    # As filed: a comment opened before vpn "blue" once removed blue (and all after it).
    refused(tmp_path, GOOD.replace('vpn "blue"', '/* blue: re-provisioning\nvpn "blue"'), 6,
            "comment opened here is never closed")


def test_a_section_never_closed_refuses_the_file(tmp_path):
    refused(tmp_path, GOOD + 'vpn "a" {\n  index = 3\n', 10,
            'vpn "a" is not closed: no } before the end of the file')


NAME_CASES = [
    # (name as written between the quotes, bytes or str, what the refusal says)
    ("é" * 40, "vpn name is 80 bytes of UTF-8 (40 characters): it must be 1 to 64 bytes"),
    ("bl\nue", 'string not closed: no " before the end of the line'),
    ('bl\\"ue', 'vpn name "bl"ue" has a quote'),
    (b"bl\xffue", "is not valid UTF-8"),
    ("bl\\x00ue", "unknown escape \\x in a string"),
    ("bl\x85ue", "has a control character"),  # U+0085, a C1 control
]


def test_names_that_do_not_fit_the_mib_or_a_log_line_are_refused(tmp_path):
    for name, says in NAME_CASES:
        raw = name if isinstance(name, bytes) else name.encode()
        text = GOOD.encode().replace(b'vpn "blue"', b'vpn "' + raw + b'"')
        refused(tmp_path, text, 6, says)


def test_a_utf8_name_of_64_bytes_is_accepted(tmp_path):
    r = check(tmp_path, GOOD.replace('vpn "blue"', 'vpn "' + "é" * 32 + '"'))
    assert r.returncode == 0, r.stderr


ADDRESS_CASES = [
    # (what replaces what in GOOD, line, what the refusal says)
    ('"239.192.0.2"', '"224.0.0.13"', 8, 'default-mdt "224.0.0.13" is in 224.0.0.0/24'),
    ('"239.192.0.2"', '"224.0.0.1"', 8, 'default-mdt "224.0.0.1" is in 224.0.0.0/24'),
    ('"239.192.0.2"', '"ff02::1"', 8, 'default-mdt "ff02::1" is link-local scope'),
    ('"198.18.0.2"', '"127.0.0.1"', 4, 'expected-pes: "127.0.0.1" is a loopback address, never a PE'),
    ('"198.18.0.2"', '"::1"', 4, 'expected-pes: "::1" is a loopback address, never a PE'),
    ('"198.18.0.2"', '"fe80::1"', 4, 'expected-pes: "fe80::1" is a link-local address'),
    ('vpn "red"', 'tunnel "198.18.0.1" { remote = "127.0.0.1" }\nvpn "red"', 1,
     'remote: "127.0.0.1" is a loopback address, never a PE'),
    ('vpn "red"', 'probe-local-address = "127.0.0.1"\nvpn "red"', 1,
     'probe-local-address: "127.0.0.1" is a loopback address'),
]


def test_addresses_no_operator_means_are_refused_with_their_line(tmp_path):
    for old, new, line, says in ADDRESS_CASES:
        refused(tmp_path, GOOD.replace(old, new), line, says)
