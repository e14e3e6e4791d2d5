#!/bin/sh
# make demo: a private snmpd master on loopback; mvpnmond behind it replaying the
# bundled capture (tests/fixtures/passive.pcap: three MVPNs, an intruder PE, a
# silent expected PE, a PE restart, joins and prunes, data-MDT switches, written
# by tests/fixtures/gen_fixtures.py with scapy); then what an operator sees,
# including the notifications a private snmptrapd received from it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/mvpnmon-demo.XXXXXX)
port=${MVPN_DEMO_PORT:-16161}
snmpd_pid=""
trapd_pid=""
mvpnmond_pid=""
prober_pid=""
emulator_pid=""
ns="mvpndemo$$"

cleanup() {
	[ -n "$prober_pid" ] && kill "$prober_pid" 2>/dev/null && wait "$prober_pid" 2>/dev/null
	[ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null && wait "$emulator_pid" 2>/dev/null
	ip netns del "$ns-pe" 2>/dev/null || true
	ip netns del "$ns-mon" 2>/dev/null || true
	[ -n "$mvpnmond_pid" ] && kill "$mvpnmond_pid" 2>/dev/null && wait "$mvpnmond_pid" 2>/dev/null
	[ -n "$snmpd_pid" ] && kill "$snmpd_pid" 2>/dev/null && wait "$snmpd_pid" 2>/dev/null
	[ -n "$trapd_pid" ] && kill "$trapd_pid" 2>/dev/null && wait "$trapd_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

MIBDIRS="$(ls -d /usr/lib/erlang/lib/snmp-*/mibs | head -n 1):$top/mibs"
MIBS="SNMPv2-MIB:MVPN-MONITOR-MIB"
export MIBDIRS MIBS
trap_port=$((port + 1))
echo "disableAuthorization yes" > "$tmp/snmptrapd.conf"
# One line per notification, its varbinds tab-separated, decoded with our MIB.
snmptrapd -f -Lf "$tmp/traps.log" -C -c "$tmp/snmptrapd.conf" -F "%v\n" "127.0.0.1:$trap_port" &
trapd_pid=$!
cat > "$tmp/snmpd.conf" <<CONF
master agentx
agentXSocket unix:$tmp/agentx.sock
agentaddress udp:127.0.0.1:$port
rocommunity public 127.0.0.1
trap2sink 127.0.0.1:$trap_port public
CONF
MIBS="" snmpd -f -Lf "$tmp/snmpd.log" -C -c "$tmp/snmpd.conf" &
snmpd_pid=$!
i=0
while [ ! -S "$tmp/agentx.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done

# The fixture's config has no start-up grace (the tests want every PE judged
# at once); an operator's would have one Hello hold time.
conf="$tmp/passive.conf"
sed 's/^startup-grace = 0$/startup-grace = 105/' "$top/tests/fixtures/passive.conf" > "$conf"
capture="$top/tests/fixtures/passive.pcap"
"$top/build/mvpnmond" -f -c "$conf" -r "$capture" -x "$tmp/agentx.sock" -Lf "$tmp/mvpnmond.log" &
mvpnmond_pid=$!

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
# The notifications snmptrapd has logged so far that we have not shown yet.
shown_traps=0
show_traps() {
	sleep 1
	echo
	echo "== notifications received by snmptrapd ($1)"
	grep 'MVPN-MONITOR-MIB::mvpn' "$tmp/traps.log" | tail -n +$((shown_traps + 1)) |
		sed -e 's/^SNMPv2-MIB::sysUpTime.0 = [^\t]*\tSNMPv2-MIB::snmpTrapOID.0 = OID: //' \
		    -e 's/\t/\n      /g'
	shown_traps=$(grep -c 'MVPN-MONITOR-MIB::mvpn' "$tmp/traps.log" || true)
}
agent="127.0.0.1:$port"
echo "== mvpnmond $("$top/build/mvpnmond" -V | cut -d' ' -f2) behind a private snmpd on $agent"
echo "== replayed $capture with $conf"
mvpnmon="$top/build/mvpnmon"
show "$mvpnmon" -v2c -c public "$agent" vpns
vpn=$("$mvpnmon" -v2c -c public "$agent" vpns --json | sed -n 's/.*"name": "\([^"]*\)".*/\1/p' | head -n 1)
show "$mvpnmon" -v2c -c public "$agent" pes "$vpn"
show "$mvpnmon" -v2c -c public "$agent" groups "$vpn"
show "$mvpnmon" -v2c -c public "$agent" alarms
echo
echo "== underneath it is plain SNMP: the same VPN table with net-snmp's snmpwalk"
show snmpwalk -v2c -c public "$agent" mvpnVpnName
show_traps "the replay"
echo
echo "== daemon log"
cat "$tmp/mvpnmond.log"

# ---- Part 2: active probing against the PE emulator, in two network namespaces ----
if [ "$(id -u)" != 0 ]; then
	echo "== (skipping the probing demo: network namespaces need root)"
	exit 0
fi
kill "$mvpnmond_pid"; wait "$mvpnmond_pid" 2>/dev/null || true; mvpnmond_pid=""
ip netns add "$ns-pe"; ip netns add "$ns-mon"
ip link add "${ns}a" netns "$ns-pe" type veth peer name "${ns}b" netns "$ns-mon"
ip -n "$ns-pe" link set "${ns}a" up; ip -n "$ns-mon" link set "${ns}b" up
ip -n "$ns-mon" addr add 198.18.1.254/24 dev "${ns}b"
for i in 1 2 3 4 5; do ip -n "$ns-pe" addr add "198.18.1.$i/24" dev "${ns}a"; done
cat > "$tmp/emulator.conf" <<CONF
seed 1
igmp-query-interval 10
pe 198.18.1.1
pe 198.18.1.2
pe 198.18.1.3
pe 198.18.1.4
pe 198.18.1.5
tunnel 198.18.1.1 up delay 1
tunnel 198.18.1.1 down delay 1
pair 198.18.1.1 198.18.1.2 delay 5 loss 15
pair 198.18.1.3 198.18.1.4 delay 80
CONF
ip netns exec "$ns-pe" "$top/build/tools/pe-emulator" -c "$tmp/emulator.conf" -l "$tmp/emulator.log" > /dev/null &
emulator_pid=$!
cat > "$tmp/probe.conf" <<CONF
probe-interface = "${ns}b"
probe-local-address = "198.18.1.254"
echo-interval = 200
vpn "acme" {
	index = 10
	default-mdt = "239.192.0.10"
	expected-pes = { "198.18.1.1", "198.18.1.2", "198.18.1.3", "198.18.1.4", "198.18.1.5" }
	probe { rate = 20  window = 5 }
	thresholds { loss-rising = 4  loss-falling = 1  delay-rising = 50  delay-falling = 20 }
}
pe "198.18.1.1" { name = "nyc-pe1" }
pe "198.18.1.2" { name = "sfo-pe2" }
pe "198.18.1.3" { name = "lon-pe3" }
CONF
ip netns exec "$ns-mon" "$top/build/mvpnmond" -f -c "$tmp/probe.conf" -x "$tmp/agentx.sock" -Lf "$tmp/probe.log" &
prober_pid=$!
echo
echo "== probing 5 emulated PEs for 9 s (PE1->PE2 loses 15 %, PE3->PE4 is 80 ms slow, tunnels 0-1 ms)"
echo "== thresholds: loss 4 % rising / 1 % falling, delay 50 ms / 20 ms, judged once the 5 s window has filled"
sleep 9
show "$mvpnmon" -v2c -c public "$agent" tunnels acme
show "$mvpnmon" -v2c -c public "$agent" pairs acme
show "$mvpnmon" -v2c -c public "$agent" alarms
show_traps "probing"
echo
echo "== the emulator's count of what it did"
kill "$emulator_pid"; wait "$emulator_pid" 2>/dev/null || true; emulator_pid=""
tail -n 1 "$tmp/emulator.log" | cut -c1-600
