#!/bin/bash
# lab-timeout: 120
# hostQos (API.md §5.4) through setupNetworks on a dummy NIC in the guest kernel (the
# host's has no sch_hfsc nor VLANs): HFSC root 1389: with default class 1389:1388, a
# class 1389:<tag in hex> per VLAN network with its curves, fq_codel leaves and a
# basic/meta vlan filter; an edit of hostQos alone; removal; bad hostQos → 21 with the
# kernel unchanged; a failure after a class was changed → 29 and the class restored.
# The kernel is read with `tc`, independently of the agent.
set -eu
. "$LAB_SRC/tests/lab/fixtures.sh"

lab_nics 2
modprobe sch_hfsc 2>/dev/null || true
lab_agent vdsmd-qos 'fake_nics = labnic*'
NOCHECK='{"connectivityCheck": "false"}'
setup() {   # setup NETWORKS — reply in $LAB_TMP/reply.json
	lab_call setupNetworks "$1" '{}' "$NOCHECK" >"$LAB_TMP/reply.json"
}
code_is() {
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["status"]["code"] == int(sys.argv[2]) and sys.argv[3] in r["status"]["message"], r' \
		"$LAB_TMP/reply.json" "$1" "${2:-}"
}
# tc state of labnic0 as text (`tc -j qdisc show` of this iproute2 emits invalid JSON
# for hfsc/fq_codel, so the text form is read): qdiscs, classes (without fq_codel's
# per-flow classes, which come and go with traffic), filters
tcstate() {
	{ tc qdisc show dev labnic0; tc class show dev labnic0 | grep -v '^class fq_codel'
	  tc filter show dev labnic0; } | sort
}
# has PATTERN — tcstate has a line matching the extended regex
has() { tcstate | grep -Eq -- "$1"; }
empty=$(tcstate)
# 1. a VLAN network with hostQos: ls 50 bit/s (the engine's unscaled share), ul 2 Mbit/s,
#    rt 1 Mbit/s with a first segment 8 Mbit/s for 500 us
setup '{"q10": {"nic": "labnic0", "vlan": "10", "hostQos": {"out": {"ls": {"m2": 50}, "ul": {"m2": 2000000}, "rt": {"m1": 8000000, "d": 500, "m2": 1000000}}}}}'
lab_check "create: code 0" code_is 0
tcstate >&2
lab_check "create: root hfsc 1389: default 1388" has '^qdisc hfsc 1389: root .*default 1388'
# 50 bit/s = 6 bytes/s, shown as 48bit; the rest in whole Mbit
lab_check "create: class 1389:a (vlan 10 in hex) with rt, ls, ul in tc's units" \
	has '^class hfsc 1389:a parent 1389: leaf a: rt m1 8Mbit d 500us m2 1Mbit ls m1 0bit d 0us m2 48bit ul m1 0bit d 0us m2 2Mbit'
lab_check "create: default class 1389:1388 with the link share" \
	has '^class hfsc 1389:1388 parent 1389: leaf 1388: ls m1 0bit d 0us m2 48bit'
lab_check "create: fq_codel leaves under both classes" \
	[ "$(tcstate | grep -Ec '^qdisc fq_codel (a|1388): parent 1389:(a|1388) ')" = 2 ]
lab_check "create: basic filter vlan 10 → 1389:a" has 'flowid 1389:a'
lab_check "create: ... matching the tag" has 'meta\(vlan mask 0x00000fff eq 10\)'
created=$(tcstate)
lab_call getVdsCapabilities >"$LAB_TMP/caps.json"
lab_check "caps: networks.q10.hostQos as sent" python3 - "$LAB_TMP/caps.json" <<'PY'
import json, sys
q = json.load(open(sys.argv[1]))["info"]["networks"]["q10"]["hostQos"]
want = {"out": {"ls": {"m1": 0, "d": 0, "m2": 50}, "ul": {"m1": 0, "d": 0, "m2": 2000000},
                "rt": {"m1": 8000000, "d": 500, "m2": 1000000}}}
assert q == want, q
PY

# 2. an edit of hostQos alone: the VLAN device stays (same ifindex), the class changes
idx=$(cat /sys/class/net/labnic0.10/ifindex)
setup '{"q10": {"nic": "labnic0", "vlan": "10", "hostQos": {"out": {"ls": {"m2": 50}, "ul": {"m2": 4000000}}}}}'
lab_check "edit: code 0" code_is 0
lab_check "edit: labnic0.10 kept" [ "$(cat /sys/class/net/labnic0.10/ifindex)" = "$idx" ]
lab_check "edit: ul 4Mbit, no rt" has '^class hfsc 1389:a parent 1389: leaf a: ls m1 0bit d 0us m2 48bit ul m1 0bit d 0us m2 4Mbit *$'
lab_check "edit: the filter is back" has 'flowid 1389:a' 
edited=$(tcstate)

# 3. bad hostQos: 21, nothing changed
for bad in '{"out": {"ul": {"m2": 5}}}' '{"out": {"ls": {"m2": 0}}}' '{"out": {"ls": {"m2": 5}, "sc": {"m2": 1}}}'; do
	if setup "{\"q10\": {\"nic\": \"labnic0\", \"vlan\": \"10\", \"hostQos\": $bad}}"; then lab_die "bad hostQos $bad accepted"; fi
	lab_check "bad hostQos $bad: 21" code_is 21 hostQos
	lab_check "bad hostQos: tc unchanged" [ "$edited" = "$(tcstate)" ]
done

# 4. a failure after the class was changed (a conflicting VLAN device for a second
#    network): 29, the class is restored as it was
ip link add labnic1.20 link labnic1 type vlan id 20
if setup '{"q10": {"nic": "labnic0", "vlan": "10", "hostQos": {"out": {"ls": {"m2": 50}}}}, "q20": {"nic": "labnic1", "vlan": "20", "bridged": "false"}}'; then
	lab_die "conflicting VLAN device accepted"
fi
ip link del labnic1.20
lab_check "failure: 29, rolled back" code_is 29 "rolled back"
lab_check "failure: tc state as before" [ "$edited" = "$(tcstate)" ]

# 5. removal leaves nothing of ours
setup '{"q10": {"remove": "true"}}'
lab_check "remove: code 0" code_is 0
lab_check "remove: no hfsc, no class, no filter: as before the test" [ "$(tcstate)" = "$empty" ]
lab_check "remove: no hfsc left" sh -c '! tc qdisc show dev labnic0 | grep -q hfsc'
[ "$created" != "$empty" ] || lab_die "tc state did not change at all"

# 6. an untagged network with hostQos next to a VLAN network on the same NIC: the
#    untagged one owns the default class 1389:1388 (its curves, VDSM's non-VLAN class),
#    the VLAN network keeps its class and filter; its removal gives the default class
#    back to the largest-ls rule
setup '{"q10": {"nic": "labnic0", "vlan": "10", "hostQos": {"out": {"ls": {"m2": 50}, "ul": {"m2": 2000000}}}}, "q0": {"nic": "labnic0", "hostQos": {"out": {"ls": {"m2": 8000000}, "ul": {"m2": 16000000}}}}}'
lab_check "untagged: code 0" code_is 0
tcstate >&2
lab_check "untagged: root hfsc 1389: default 1388" has '^qdisc hfsc 1389: root .*default 1388'
lab_check "untagged: default class 1389:1388 has the untagged network's ls and ul" \
	has '^class hfsc 1389:1388 parent 1389: leaf 1388: ls m1 0bit d 0us m2 8Mbit ul m1 0bit d 0us m2 16Mbit *$'
lab_check "untagged: VLAN class 1389:a kept" \
	has '^class hfsc 1389:a parent 1389: leaf a: ls m1 0bit d 0us m2 48bit ul m1 0bit d 0us m2 2Mbit *$'
lab_check "untagged: filter vlan 10 → 1389:a" has 'flowid 1389:a'
lab_check "untagged: labnic0 is the port of bridge q0" \
	[ "$(basename "$(readlink /sys/class/net/labnic0/master)")" = q0 ]
lab_call getVdsCapabilities >"$LAB_TMP/caps.json"
lab_check "untagged: caps networks.q0.hostQos" python3 - "$LAB_TMP/caps.json" <<'PY'
import json, sys
q = json.load(open(sys.argv[1]))["info"]["networks"]["q0"]["hostQos"]
want = {"out": {"ls": {"m1": 0, "d": 0, "m2": 8000000}, "ul": {"m1": 0, "d": 0, "m2": 16000000}}}
assert q == want, q
PY
setup '{"q0": {"remove": "true"}}'
lab_check "untagged removed: code 0" code_is 0
lab_check "untagged removed: default class back to the largest VLAN ls" \
	has '^class hfsc 1389:1388 parent 1389: leaf 1388: ls m1 0bit d 0us m2 48bit *$'
lab_check "untagged removed: VLAN class kept" has '^class hfsc 1389:a parent 1389: '
setup '{"q10": {"remove": "true"}}'
lab_check "all removed: as before the test" [ "$(tcstate)" = "$empty" ]

# 7. capabilities report the kernel's classes, not the configuration: a class changed
#    behind the agent's back (tc) shows as the kernel has it (bit/s = 8 × the kernel's
#    bytes/s); a curve still equal to what the configuration maps to shows as sent
#    (ls 50 bit/s is 6 bytes/s in the kernel). netConfigDirty compares the persisted
#    running and safe files only: unchanged.
setup '{"q10": {"nic": "labnic0", "vlan": "10", "hostQos": {"out": {"ls": {"m2": 50}, "ul": {"m2": 2000000}}}}}'
lab_check "drift: code 0" code_is 0
lab_call getVdsCapabilities >"$LAB_TMP/caps0.json"
tc class change dev labnic0 parent 1389: classid 1389:a hfsc ls m2 48bit ul m2 3Mbit
lab_check "drift: tc shows ul 3Mbit" has '^class hfsc 1389:a parent 1389: leaf a: ls m1 0bit d 0us m2 48bit ul m1 0bit d 0us m2 3Mbit'
lab_call getVdsCapabilities >"$LAB_TMP/caps.json"
lab_check "drift: caps report the kernel's ul, the configured ls" python3 - "$LAB_TMP/caps0.json" "$LAB_TMP/caps.json" <<'PY'
import json, sys
before = json.load(open(sys.argv[1]))["info"]
after = json.load(open(sys.argv[2]))["info"]
assert before["networks"]["q10"]["hostQos"]["out"]["ul"]["m2"] == 2000000, before["networks"]["q10"]
q = after["networks"]["q10"]["hostQos"]
want = {"out": {"ls": {"m1": 0, "d": 0, "m2": 50}, "ul": {"m1": 0, "d": 0, "m2": 3000000}}}
assert q == want, q
assert before["netConfigDirty"] == after["netConfigDirty"], (before["netConfigDirty"], after["netConfigDirty"])
PY
setup '{"q10": {"remove": "true"}}'
lab_check "drift: removed, as before the test" [ "$(tcstate)" = "$empty" ]
