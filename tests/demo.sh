#!/bin/sh
# make demo: a private snmpd master on loopback, mvpnmond on the example
# configuration behind it, and what an operator would see with snmptable.
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

"$top/build/mvpnmond" -f -c "$top/mvpnmond.conf.example" -x "$tmp/agentx.sock" -Lf "$tmp/mvpnmond.log" &
mvpnmond_pid=$!

MIBDIRS="$(ls -d /usr/lib/erlang/lib/snmp-*/mibs | head -n 1):$top/mibs"
MIBS="SNMPv2-MIB:MVPN-MONITOR-MIB"
export MIBDIRS MIBS
i=0
until snmpget -v2c -c public -t 0.5 -r 0 "127.0.0.1:$port" mvpnVpnCount.0 2>/dev/null | grep -q Gauge32; do
	i=$((i + 1))
	[ $i -lt 40 ] || { echo "demo: mvpnmond did not come up"; cat "$tmp/mvpnmond.log"; exit 1; }
	sleep 0.25
done

echo "== mvpnmond $("$top/build/mvpnmond" -V | cut -d' ' -f2) behind a private snmpd on 127.0.0.1:$port"
echo "== config: $top/mvpnmond.conf.example"
echo
echo "\$ snmptable -v2c -c public -Ci 127.0.0.1:$port mvpnVpnTable   (first columns)"
snmptable -v2c -c public -Ci -Cw 160 "127.0.0.1:$port" mvpnVpnTable
echo
echo "\$ snmpwalk -v2c -c public 127.0.0.1:$port mvpnGlobals"
snmpwalk -v2c -c public "127.0.0.1:$port" mvpnGlobals
echo
echo "== daemon log"
cat "$tmp/mvpnmond.log"
