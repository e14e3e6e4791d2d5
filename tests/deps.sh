#!/bin/sh
# make deps: the Debian packages that building, testing and the demo need.
# (clang and its sanitizer/libFuzzer runtime are for make fuzz; postgresql is the
# server the history tests start privately, never the system's service, and so are
# prometheus and prometheus-snmp-exporter (whose package holds the generator
# make prometheus-config runs); build-essential, debhelper and lintian build and
# check the Debian package; curl queries Prometheus in the README's first hour
# (tests/integration/test_first_hour.py); chromium renders mvpnmon report's page
# headless in tests/integration/test_report.py; gobgpd is the real BMP sender of
# tests/integration/test_bmp_gobgp.py, started privately on loopback: its package's
# service starts nothing without an /etc/gobgpd.conf.)
# Idempotent, and quick when everything is already there (no apt-get run then).
set -eu
packages="make gcc pkg-config libc6-dev
	libsnmp-dev snmpd snmp snmptrapd
	libpcap-dev libbsd-dev libsqlite3-dev sqlite3
	smitools erlang-snmp
	prometheus prometheus-snmp-exporter
	libpq-dev postgresql
	python3 python3-pytest python3-scapy python3-yaml
	iproute2 tcpreplay tcpdump tshark gobgpd
	strace linux-perf valgrind
	clang libclang-rt-14-dev
	build-essential dpkg-dev debhelper lintian adduser curl
	chromium"

missing=""
for p in $packages; do
	dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all present"
	exit 0
fi
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
