#!/bin/bash
# lab-timeout: 240
# setupNetworks (API.md §5.4) on what the host kernel cannot make: a VLAN bridge on a
# dummy NIC; VLAN bridges on bonds of two dummies (active-backup, 802.3ad); MTU up and
# down across bridge/VLAN/bond; a move between NICs; removal; a validation error and a
# mid-way failure that leave the kernel as it was; fake_nics hiding. vdsmd runs in the
# guest, driven with vdsm-client over mTLS; the kernel is read back with
# `ip -d -j link` / `bridge -j link` / sysfs, independently of the agent.
# LAB_NET_BENCH="10 100 500": instead, time setupNetworks creating and removing N VLAN
# bridges on a bond in one call (make bench-net).
set -eu
. "$LAB_SRC/tests/lab/fixtures.sh"

lab_nics 4

start_agent() { lab_agent "vdsmd-$1" "fake_nics = $2"; }   # start_agent NAME FAKE_NICS
LAB_CALL_TIMEOUT=600
call() { lab_call "$@"; }
NOCHECK='{"connectivityCheck": "false"}'
setup() {   # setup NETWORKS [BONDINGS] — reply in $LAB_TMP/reply.json
	local bonds=${2:-}
	[ -n "$bonds" ] || bonds='{}'
	call setupNetworks "$1" "$bonds" "$NOCHECK" >"$LAB_TMP/reply.json"
}
# the kernel state setupNetworks may change (links: kind, mtu, master, up; addresses)
kstate() {
	python3 - <<'PY'
import json, subprocess
links = json.loads(subprocess.check_output(["ip", "-d", "-j", "link", "show"]))
addrs = json.loads(subprocess.check_output(["ip", "-j", "addr", "show"]))
out = sorted((l["ifname"], l.get("linkinfo", {}).get("info_kind", ""), l["mtu"],
              l.get("master", ""), "UP" in l["flags"]) for l in links)
out += sorted((a["ifname"], i["local"], i["prefixlen"]) for a in addrs
              for i in a.get("addr_info", []) if not i["local"].startswith("fe80"))
print(json.dumps(out))
PY
}
link() { ip -d -j link show "$1"; }
code_is() {   # the status code of the last reply
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["status"]["code"] == int(sys.argv[2]), r' \
		"$LAB_TMP/reply.json" "$1"
}
# assert_link DEV PYEXPR — PYEXPR over l (the `ip -d -j link` object of DEV)
assert_link() {
	python3 -c 'import json,sys; l=json.loads(sys.argv[1])[0]; assert eval(sys.argv[2]), l' \
		"$(link "$1")" "$2"
}

if [ -n "${LAB_NET_BENCH:-}" ]; then
	start_agent bench 'labnic*'
	for n in $LAB_NET_BENCH; do
		nets=$(python3 -c 'import json,sys; n=int(sys.argv[1]); print(json.dumps({"n%d" % i: {"bonding": "bond0", "vlan": str(i + 1), "mtu": "1500"} for i in range(n)}))' "$n")
		rm=$(python3 -c 'import json,sys; n=int(sys.argv[1]); print(json.dumps({"n%d" % i: {"remove": "true"} for i in range(n)}))' "$n")
		t0=$(date +%s.%N)
		setup "$nets" '{"bond0": {"nics": ["labnic0", "labnic1"], "options": "mode=4 miimon=100"}}'
		t1=$(date +%s.%N)
		lab_check "bench: $n VLAN bridges exist" [ "$(ls /sys/class/net | grep -c '^bond0\.')" = "$n" ]
		setup "$rm" '{"bond0": {"remove": "true"}}'
		t2=$(date +%s.%N)
		lab_check "bench: all removed" [ ! -e /sys/class/net/bond0 ]
		grep -o 'network: [0-9]* steps applied.*' "$LAB_DAEMON_LOGDIR/vdsmd-bench.log" | tail -n 2 | sed 's/^/BENCH agent: /'
		python3 -c 'import sys; n=int(sys.argv[1]); a,b,c=map(float,sys.argv[2:]); print("BENCH setupNetworks n=%d create %.2f s (%.1f ms/net) remove %.2f s (%.1f ms/net)" % (n, b-a, (b-a)*1000/n, c-b, (c-b)*1000/n))' "$n" "$t0" "$t1" "$t2"
	done
	exit 0
fi

start_agent main 'labnic*'

# 1. VLAN bridge on a dummy NIC, MTU 9000 on the whole chain
setup '{"red": {"nic": "labnic0", "vlan": "100", "mtu": "9000", "ipaddr": "192.0.2.1", "netmask": "255.255.255.0"}}'
lab_check "VLAN bridge: red is a bridge up" assert_link red 'l["linkinfo"]["info_kind"] == "bridge" and "UP" in l["flags"] and l["mtu"] == 9000'
lab_check "VLAN bridge: labnic0.100 is 802.1Q id 100 on labnic0, port of red" \
	assert_link labnic0.100 'l["linkinfo"]["info_data"]["id"] == 100 and l["link"] == "labnic0" and l["master"] == "red" and l["mtu"] == 9000'
lab_check "VLAN bridge: labnic0 MTU 9000" assert_link labnic0 'l["mtu"] == 9000'
lab_check "VLAN bridge: bridge -j link lists the port" \
	python3 -c 'import json,sys; p=json.loads(sys.argv[1]); assert [x["ifname"] for x in p if x.get("master") == "red"] == ["labnic0.100"], p' "$(bridge -j link show)"
lab_check "VLAN bridge: address on red" ip -4 addr show dev red to 192.0.2.1/24
call getVdsCapabilities >"$LAB_TMP/caps.json"
lab_check "caps: networks.red, vlans, netConfigDirty" python3 - "$LAB_TMP/caps.json" <<'PY'
import json, sys
i = json.load(open(sys.argv[1]))["info"]
n = i["networks"]["red"]
assert (n["iface"], n["bridged"], n["mtu"], n["ports"], n["addr"]) == ("red", True, "9000", ["labnic0.100"], "192.0.2.1"), n
assert i["vlans"]["labnic0.100"]["vlanid"] == 100
assert i["netConfigDirty"] == "True"
PY

# 2. MTU down across bridge/VLAN/NIC
setup '{"red": {"nic": "labnic0", "vlan": "100", "mtu": "1400"}}'
lab_check "MTU down: red, labnic0.100, labnic0 at 1400" python3 -c '
import json, subprocess
m = {d: json.loads(subprocess.check_output(["ip", "-j", "link", "show", d]))[0]["mtu"] for d in ("red", "labnic0.100", "labnic0")}
assert set(m.values()) == {1400}, m'

# 3. move to labnic3
setup '{"red": {"nic": "labnic3", "vlan": "100", "mtu": "1500"}}'
lab_check "move: labnic3.100 in red, labnic0.100 gone, labnic0 back to 1500" sh -c \
	'[ "$(cat /sys/class/net/labnic3.100/master/ifindex)" = "$(cat /sys/class/net/red/ifindex)" ] && [ ! -e /sys/class/net/labnic0.100 ] && [ "$(cat /sys/class/net/labnic0/mtu)" = 1500 ]'

# 4. bonds: active-backup with a VLAN bridge, then 802.3ad; MTU up across bond/VLAN/bridge
setup '{"blue": {"bonding": "bond0", "vlan": "200", "mtu": "1500"}}' \
	'{"bond0": {"nics": ["labnic1", "labnic2"], "options": "mode=active-backup miimon=100 primary=labnic2"}}'
lab_check "bond: active-backup, miimon 100, slaves labnic1 labnic2" sh -c \
	'grep -q "^active-backup 1" /sys/class/net/bond0/bonding/mode && [ "$(cat /sys/class/net/bond0/bonding/miimon)" = 100 ] && [ "$(cat /sys/class/net/bond0/bonding/slaves)" = "labnic1 labnic2" ]'
lab_wait 5 "bond: labnic2 (primary) is the active slave" grep -qx labnic2 /sys/class/net/bond0/bonding/active_slave
lab_check "bond: bond0.200 in blue" assert_link bond0.200 'l["master"] == "blue" and l["linkinfo"]["info_data"]["id"] == 200'
setup '{"blue": {"bonding": "bond0", "vlan": "200", "mtu": "9000"}}' \
	'{"bond0": {"nics": ["labnic1", "labnic2"], "options": "mode=4 miimon=100"}}'
lab_check "bond: now 802.3ad" grep -q '^802.3ad 4' /sys/class/net/bond0/bonding/mode
lab_check "MTU up: bond0, slaves, bond0.200, blue at 9000" python3 -c '
import json, subprocess
m = {d: json.loads(subprocess.check_output(["ip", "-j", "link", "show", d]))[0]["mtu"] for d in ("bond0", "labnic1", "labnic2", "bond0.200", "blue")}
assert set(m.values()) == {9000}, m'
call getVdsCapabilities >"$LAB_TMP/caps.json"
lab_check "caps: bondings.bond0 mode 4, networks.blue" python3 - "$LAB_TMP/caps.json" <<'PY'
import json, sys
i = json.load(open(sys.argv[1]))["info"]
b = i["bondings"]["bond0"]
assert b["opts"]["mode"] == "4" and b["slaves"] == ["labnic1", "labnic2"], b
assert i["networks"]["blue"]["ports"] == ["bond0.200"], i["networks"]["blue"]
PY

# 5. validation error and mid-way failure: kernel unchanged
before=$(kstate)
if setup '{"x": {"bonding": "bond7", "vlan": "5"}}'; then lab_die "unknown bond accepted"; fi
lab_check "validation: unknown bond → 21" code_is 21
lab_check "validation: kernel state as before" [ "$before" = "$(kstate)" ]
ip link add labnic3.300 link labnic3 type vlan id 300   # the conflicting device
lab_defer "ip link del labnic3.300"
before=$(kstate)
if setup '{"green": {"nic": "labnic0", "vlan": "10", "mtu": "2000"}, "pink": {"nic": "labnic3", "vlan": "300", "bridged": "false"}, "red": {"remove": "true"}}'; then
	lab_die "conflicting VLAN device accepted"
fi
lab_check "mid-way failure: code 29, rolled back" code_is 29
lab_check "mid-way failure: kernel state as before" [ "$before" = "$(kstate)" ]

# 6. remove everything
setup '{"red": {"remove": "true"}, "blue": {"remove": "true"}}' '{"bond0": {"remove": "true"}}'
lab_check "remove: red, blue, bond0 gone" sh -c '[ ! -e /sys/class/net/red ] && [ ! -e /sys/class/net/blue ] && [ ! -e /sys/class/net/bond0 ]'

# 7. fake_nics: dummies are hidden unless listed
lab_daemon_stop vdsmd-main
start_agent hidden 'veth_*'
call getVdsCapabilities >"$LAB_TMP/caps.json"
lab_check "fake_nics: labnic* hidden" python3 -c 'import json,sys; n=json.load(open(sys.argv[1]))["info"]["nics"]; assert not [x for x in n if x.startswith("labnic")], n' "$LAB_TMP/caps.json"
if setup '{"x": {"nic": "labnic0"}}'; then lab_die "hidden NIC accepted"; fi
lab_check "fake_nics: setupNetworks on a hidden dummy → 23" code_is 23
