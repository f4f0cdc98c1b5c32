#!/bin/bash
# lab-timeout: 120
# The agent's network report (getVdsCapabilities, API.md §5.1) for what the host
# kernel cannot make: an 802.1Q VLAN over a dummy NIC, an active-backup bond with a
# failover, a VLAN over the bond, a hidden VLAN; and getVdsStats for them. The real
# vdsmd runs in the guest, queried with vdsm-client over TLS.
set -eu
. "$LAB_SRC/tests/lab/fixtures.sh"

lab_nics 3
lab_vlan labnic0 100
lab_vlan labnic0 300
lab_bond labbond0 active-backup labnic1 labnic2
lab_vlan labbond0 200
lab_wait 5 "bond has an active slave" grep -q labnic /sys/class/net/labbond0/bonding/active_slave

lab_agent vdsmd "fake_nics = labnic*" "hidden_vlans = *.300" "host_sample_stats_interval = 1"
call() { lab_call "$@"; }

check_caps() {   # python assertions on the caps JSON in $LAB_TMP/caps.json
	python3 - "$LAB_TMP/caps.json" "$@" <<'PY'
import json, sys
info = json.load(open(sys.argv[1]))["info"]
want_active = sys.argv[2]
v = info["vlans"]
assert set(v) == {"labnic0.100", "labbond0.200"}, sorted(v)          # *.300 hidden
assert v["labnic0.100"]["iface"] == "labnic0" and v["labnic0.100"]["vlanid"] == 100, v
assert v["labbond0.200"]["iface"] == "labbond0" and v["labbond0.200"]["vlanid"] == 200, v
assert isinstance(v["labnic0.100"]["mtu"], str) and v["labnic0.100"]["mtu"] == "1500"
b = info["bondings"]["labbond0"]
assert b["slaves"] == ["labnic1", "labnic2"], b
assert b["active_slave"] == want_active, (b["active_slave"], want_active)
assert b["opts"]["mode"] == "1" and b["opts"]["miimon"] == "100", b["opts"]
assert b["cfg"]["BONDING_OPTS"].startswith("mode=1 miimon=100"), b["cfg"]
hw = open("/sys/class/net/labbond0/address").read().strip()
assert b["hwaddr"] == hw, (b["hwaddr"], hw)
n = info["nics"]
assert {"labnic0", "labnic1", "labnic2"} <= set(n), sorted(n)
for s in ("labnic1", "labnic2"):
    assert len(n[s]["permhwaddr"]) == 17, n[s]                          # enslaved
assert "permhwaddr" not in n["labnic0"]
assert isinstance(n["labnic0"]["speed"], int)
print("caps: vlans %s, bond slaves %s active %s" % (sorted(v), b["slaves"], b["active_slave"]))
PY
}

call getVdsCapabilities >"$LAB_TMP/caps.json"
active=$(cat /sys/class/net/labbond0/bonding/active_slave)
lab_check "caps: VLANs, bond (active $active), hidden VLAN" check_caps "$active"

# failover: the report follows the kernel's netlink event (no polling in the agent).
# The bond shows its new active slave in sysfs a moment before it sends the event, so
# the test asks again until the report follows, within a bound.
other=labnic1
[ "$active" = labnic1 ] && other=labnic2
ip link set "$active" down
lab_wait 5 "kernel failover to $other" grep -qx "$other" /sys/class/net/labbond0/bonding/active_slave
caps_active() {
	call getVdsCapabilities >"$LAB_TMP/caps.json" &&
		python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["info"]["bondings"]["labbond0"]; sys.exit(b["active_slave"] != sys.argv[2])' \
			"$LAB_TMP/caps.json" "$1"
}
lab_wait 5 "the agent reports $other active" caps_active "$other"
lab_check "caps: active slave is now $other" check_caps "$other"
ip link set "$active" up

# stats: every reported device, with its state
sleep 2.2
call getVdsStats >"$LAB_TMP/stats.json"
lab_check "stats: bond, VLANs and NICs sampled; hidden VLAN not" python3 - "$LAB_TMP/stats.json" <<'PY'
import json, sys
net = json.load(open(sys.argv[1]))["info"]["network"]
want = {"labnic0", "labnic1", "labnic2", "labbond0", "labnic0.100", "labbond0.200"}
assert want <= set(net), sorted(net)
assert "labnic0.300" not in net
assert net["labbond0"]["state"] == "up", net["labbond0"]
assert all(isinstance(net[d]["sampleTime"], float) for d in want)
PY

# removal: gone from the next report
ip link del labbond0.200
ip link del labnic0.100
call getVdsCapabilities >"$LAB_TMP/caps.json"
lab_check "caps: removed VLANs are gone" python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))["info"]["vlans"]
assert v == {}, v' "$LAB_TMP/caps.json"
