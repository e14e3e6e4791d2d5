"""The Debian package, for the tests that install it (test_deb.py,
test_first_hour.py): one build per pytest session (the `deb` fixture of
conftest.py), and `machine`, the fixture that lets a test install it and
purges it whatever happens.
"""
import fcntl
import glob
import grp
import os
import pwd
import shutil
import subprocess

import pytest

from conftest import SANITIZED, TOP, wait_for

PACKAGE = "mvpnmon"
USER = "mvpnmon"
# What the package build leaves out of its copy of the tree: builds, and VCS data.
NOT_SOURCE = {"build", "build-asan", "build-fuzz", ".git", "__pycache__", ".pytest_cache"}


def run(*argv, timeout=600, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def package_status():
    """dpkg's status of the package: 'install ok installed', 'deinstall ok
    config-files', ... or '' when dpkg has never heard of it."""
    out = run("dpkg-query", "-W", "-f", "${Status}", PACKAGE)
    return out.stdout.strip() if out.returncode == 0 else ""


def user_exists(name=USER):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name=USER):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def dpkg_locked():
    """True when another dpkg or apt holds dpkg's locks (they take fcntl locks)."""
    for path in ("/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock"):
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.lockf(fd, fcntl.LOCK_UN)
        except OSError:
            return True
        finally:
            os.close(fd)
    return False


def skip_unless_installable():
    """Skips the test where the package must not or cannot be installed."""
    if SANITIZED:
        pytest.skip("the package is built from source, not from the sanitizer build: "
                    "the plain pass tests it")
    if os.geteuid() != 0:
        pytest.skip("installing a package with dpkg needs root")
    if package_status():
        pytest.skip(f"a {PACKAGE} package is known to dpkg here ({package_status()}); "
                    "this test would purge it")
    if user_exists() or group_exists():
        pytest.skip(f"a user or group {USER} exists here already; the package's purge would "
                    "remove it")
    if not wait_for(lambda: not dpkg_locked(), 60, 1):
        pytest.skip("dpkg is locked by another process (apt or dpkg running)")


@pytest.fixture
def machine():
    """This machine, fit to take the package and give it back; purges it at the end."""
    skip_unless_installable()
    yield
    if package_status():
        run("dpkg", "--purge", PACKAGE)


def build_package(tmp):
    """dpkg-buildpackage on a copy of the tree; returns (deb, changes) paths."""
    for tool in ("dpkg-buildpackage", "dh", "lintian"):
        assert shutil.which(tool), f"{tool} is missing: make deps installs it"
    src = os.path.join(tmp, "src")
    shutil.copytree(TOP, src, symlinks=True,
                    ignore=lambda d, names: [n for n in names if n in NOT_SOURCE])
    # No MAKEFLAGS of the make check that runs us; no dbgsym package (nobody installs
    # it here: it would cost time, not prove anything more).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env["DEB_BUILD_OPTIONS"] = "noddebs"
    out = run("nice", "-n", "10", "dpkg-buildpackage", "-us", "-uc", "-b", "-j2", cwd=src, env=env)
    assert out.returncode == 0, (out.stdout + out.stderr)[-6000:]
    debs = glob.glob(os.path.join(tmp, f"{PACKAGE}_*.deb"))
    changes = glob.glob(os.path.join(tmp, f"{PACKAGE}_*.changes"))
    assert len(debs) == 1 and len(changes) == 1, os.listdir(tmp)
    return debs[0], changes[0]
