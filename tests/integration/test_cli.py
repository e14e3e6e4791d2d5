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
