#!/bin/bash
# lab-timeout: 120
# The readiness line of a VLAN network on a real 802.1Q kernel: vdsmd in the guest makes
# network "red" (bridge over labnic0.100) with setupNetworks, which persists it; then
# getHostReadiness (mTLS) and vdsm-c-ready (--json and the table, same config) are read
# line by line while the kernel is changed under the agent: as configured -> ok naming
# the VLAN; the bridge moved to VLAN 101 -> fail naming both ids; no VLAN device ->
# fail; the bridge's MTU changed by hand -> warn naming both MTUs.
set -eu
. "$LAB_SRC/tests/lab/fixtures.sh"

READY=${VDSM_READY:-$LAB_SRC/build/vdsm-c-ready}
[ -x "$READY" ] || lab_die "build vdsm-c-ready first (make)"

lab_nics 1
lab_agent vdsmd-rdyvlan "fake_nics = labnic*"   # dummies count as NICs
lab_defer "ip link del red 2>/dev/null; ip link del labnic0.100 2>/dev/null; ip link del labnic0.101 2>/dev/null; true"

lab_call setupNetworks '{"red": {"nic": "labnic0", "vlan": "100", "mtu": "1500"}}' '{}' \
	'{"connectivityCheck": "false"}' >"$LAB_TMP/reply.json"
lab_check "setupNetworks made red (VLAN 100 on labnic0)" python3 -c '
import json, sys; r = json.load(open(sys.argv[1])); assert r["status"]["code"] == 0, r' \
	"$LAB_TMP/reply.json"
lab_check "the running configuration is persisted" \
	grep -q '^net red ' "$LAB_AGENT_ROOT/var/lib/vdsm-c/netconf/running/networks"

# line VERDICT DETAIL [HINT-PART]: the network:red line of the verb, of vdsm-c-ready --json
# and of its table all say VERDICT and DETAIL (and a hint containing HINT-PART)
line() {
	lab_log "line $1"
	lab_call getHostReadiness '""' '["red"]' >"$LAB_TMP/verb.json"
	"$READY" --config "$LAB_TMP/vdsmd-rdyvlan.conf" --networks red --json \
		>"$LAB_TMP/cmd.json" || true
	"$READY" --config "$LAB_TMP/vdsmd-rdyvlan.conf" --networks red \
		>"$LAB_TMP/table.txt" || true
	python3 - "$1" "$2" "${3:-}" "$LAB_TMP" <<'PY'
import json, sys
verdict, detail, hint, tmp = sys.argv[1:5]
verb = json.load(open(tmp + "/verb.json"))
assert verb["status"]["code"] == 0, verb["status"]
for where, rep in (("verb", verb["readiness"]), ("cmd", json.load(open(tmp + "/cmd.json")))):
    c = {c["name"]: c for c in rep["checks"]}["network:red"]
    assert (c["verdict"], c["detail"]) == (verdict, detail), (where, c)
    assert (hint in c.get("hint", "")) if hint else not c.get("hint"), (where, c)
rows = open(tmp + "/table.txt").read().splitlines()
i = [k for k, l in enumerate(rows) if l.startswith("network:red ")]
assert len(i) == 1, rows
assert rows[i[0]].split()[1] == verdict and rows[i[0]].rstrip().endswith(detail), rows[i[0]]
if hint:
    assert rows[i[0] + 1].strip().startswith("-> ") and hint in rows[i[0] + 1], rows
PY
}

# dummy NICs have carrier once up: the VLAN port and the bridge have link
lab_wait 10 "red up with link" sh -c '[ "$(cat /sys/class/net/labnic0.100/carrier)" = 1 ]'
lab_check "as configured: ok, VLAN 100 on labnic0 named" \
	line ok "bridge 'red' up, MTU 1500, VLAN 100 on labnic0"

# moved to VLAN 101 by hand (the switch-side mistake made on the host)
ip link del labnic0.100
ip link add link labnic0 name labnic0.101 type vlan id 101
ip link set labnic0.101 master red up
lab_check "bridge on VLAN 101: fail naming 101 and the persisted 100" \
	line fail "'red' is on VLAN 101 on labnic0 (labnic0.101), the persisted network is VLAN 100 on labnic0" "setupNetworks"

# no VLAN device at all
ip link del labnic0.101
lab_check "no VLAN device: fail naming the persisted VLAN" \
	line fail "'red' has no VLAN device: the persisted network is VLAN 100 on labnic0" "setupNetworks"

# back as configured, then another MTU on the bridge
ip link add link labnic0 name labnic0.100 type vlan id 100
ip link set labnic0.100 master red up
lab_wait 10 "labnic0.100 has carrier" sh -c '[ "$(cat /sys/class/net/labnic0.100/carrier)" = 1 ]'
lab_check "restored by hand: ok again" line ok "bridge 'red' up, MTU 1500, VLAN 100 on labnic0"
ip link set red mtu 1400
lab_check "bridge MTU 1400 against the persisted 1500: warn naming both" \
	line warn "'red' has MTU 1400, the persisted network MTU 1500" "setupNetworks"
