#!/bin/sh
# make demo: a private snmpd master on loopback; mvpnmond behind it replaying the
# bundled capture (tests/fixtures/passive.pcap: three MVPNs, an intruder PE, a
# silent expected PE, a PE restart, joins and prunes, data-MDT switches, written
# by tests/fixtures/gen_fixtures.py with scapy); then what an operator sees.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/mvpnmon-demo.XXXXXX)
port=${MVPN_DEMO_PORT:-16161}
snmpd_pid=""
mvpnmond_pid=""

cleanup() {
	[ -n "$mvpnmond_pid" ] && kill "$mvpnmond_pid" 2>/dev/null && wait "$mvpnmond_pid" 2>/dev/null
	[ -n "$snmpd_pid" ] && kill "$snmpd_pid" 2>/dev/null && wait "$snmpd_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

cat > "$tmp/snmpd.conf" <<CONF
master agentx
agentXSocket unix:$tmp/agentx.sock
agentaddress udp:127.0.0.1:$port
rocommunity public 127.0.0.1
CONF
MIBS="" snmpd -f -Lf "$tmp/snmpd.log" -C -c "$tmp/snmpd.conf" &
snmpd_pid=$!
i=0
while [ ! -S "$tmp/agentx.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done

conf="$top/tests/fixtures/passive.conf"
capture="$top/tests/fixtures/passive.pcap"
"$top/build/mvpnmond" -f -c "$conf" -r "$capture" -x "$tmp/agentx.sock" -Lf "$tmp/mvpnmond.log" &
mvpnmond_pid=$!

MIBDIRS="$(ls -d /usr/lib/erlang/lib/snmp-*/mibs | head -n 1):$top/mibs"
MIBS="SNMPv2-MIB:MVPN-MONITOR-MIB"
export MIBDIRS MIBS
i=0
until snmpget -v2c -c public -t 0.5 -r 0 "127.0.0.1:$port" mvpnCaptureStatus.0 2>/dev/null | grep -q finished; do
	i=$((i + 1))
	[ $i -lt 40 ] || { echo "demo: mvpnmond did not come up"; cat "$tmp/mvpnmond.log"; exit 1; }
	sleep 0.25
done

show() {
	echo
	echo "\$ $*"
	"$@"
}
agent="127.0.0.1:$port"
echo "== mvpnmond $("$top/build/mvpnmond" -V | cut -d' ' -f2) behind a private snmpd on $agent"
echo "== replayed $capture with $conf"
show snmptable -v2c -c public -Cb -Ci -Cw 160 "$agent" mvpnVpnTable
show snmptable -v2c -c public -Cb -Ci -Cw 160 "$agent" mvpnPeTable
show snmptable -v2c -c public -Cb -Ci -Cw 160 "$agent" mvpnCGroupPeTable
show snmptable -v2c -c public -Cb -Ci -Cw 160 "$agent" mvpnCGroupPGroupTable
show snmptable -v2c -c public -Cb -Ci -Cw 160 "$agent" mvpnChangeTable
show snmpwalk -v2c -c public "$agent" mvpnGlobals
echo
echo "== daemon log"
cat "$tmp/mvpnmond.log"
echo
echo "(InetAddress values print as hex, e.g. C6 12 00 02 = 198.18.0.2; indexes are decoded.)"
