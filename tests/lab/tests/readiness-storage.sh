#!/bin/bash
# lab-timeout: 180
# The readiness report's storage lines (vdsm-c-ready: the same library code as the
# getHostReadiness verb) against a real tgtd target over two portals and a real
# multipathd: both portals reachable and the map with 2 active paths -> ok; a closed
# port -> fail (refused); portal 2 unreachable (its packets dropped) -> that portal
# fails (no answer within the deadline) and the map warns with the failed path; both
# portals down -> the map has no active path -> fail; exit status 1 whenever a line
# fails. Each run is bounded (3 s probes, 5 s multipathd query).
set -eu
. "$LAB_SRC/tests/lab/fixtures.sh"

READY=${VDSM_READY:-$LAB_SRC/build/vdsm-c-ready}
[ -x "$READY" ] || lab_die "build vdsm-c-ready first (make)"

lab_multipathd
lab_iscsi_target "" 1 16
lab_iscsi_login "$LAB_ISCSI_IQN"
set -- $LAB_ISCSI_PORTALS
p1=$1 p2=$2
nmaps_is() { [ "$(lab_mpath_maps_of $LAB_ISCSI_DEVS | wc -l)" = "$1" ]; }
lab_wait 30 "1 map over the iSCSI disks" nmaps_is 1
m=$(lab_mpath_maps_of $LAB_ISCSI_DEVS)
lab_mpath_wait "$m" 2

conf=$LAB_TMP/vdsm.conf
printf '[vars]\nssl = false\nroot = %s\nlibvirt_uri = qemu:///system?socket=/nonexistent/sock\n' \
	"$LAB_TMP" >"$conf"
# ready OUT CONN...: the JSON report in OUT; prints the exit status
ready() {
	local out=$1
	shift
	local args=()
	for c in "$@"; do args+=(--storage "$c"); done
	local rc=0
	"$READY" --json --config "$conf" --timeout 60 "${args[@]}" >"$out" 2>"$out.err" || rc=$?
	echo "$rc"
}
# line OUT NAME -> "verdict<TAB>detail"
line() {
	python3 -c 'import json,sys
for c in json.load(open(sys.argv[1]))["checks"]:
    if c["name"] == sys.argv[2]:
        print(c["verdict"] + "\t" + c["detail"])' "$1" "$2"
}
expect() { # expect OUT NAME VERDICT NEEDLE
	local l
	l=$(line "$1" "$2")
	case "$l" in "$3	"*"$4"*) lab_ok "$2: $l" ;; *) lab_die "$2: want $3 with '$4', got '$l'" ;; esac
}
s1="storage:iscsi:$p1" s2="storage:iscsi:$p2" closed="iscsi:${p1%:*}:3261"

rc=$(ready "$LAB_TMP/r1" "iscsi:$p1" "iscsi:$p2")
expect "$LAB_TMP/r1" "$s1" ok "reachable"
expect "$LAB_TMP/r1" "$s2" ok "reachable"
expect "$LAB_TMP/r1" multipath ok "all 2 path(s) active"

rc=$(ready "$LAB_TMP/r2" "$closed")
expect "$LAB_TMP/r2" "storage:$closed" fail "refuses connections"
lab_check "exit status 1 with a failing line (got $rc)" [ "$rc" = 1 ]

lab_iscsi_path_down 2
dev2=$(lab_iscsi_devs "$LAB_ISCSI_IQN" "$p2")
lab_wait 60 "path $dev2 failed" sh -c "multipathd show paths raw format '%d %t' | grep -qx '$dev2 failed'"
t0=$(lab_uptime)
rc=$(ready "$LAB_TMP/r3" "iscsi:$p1" "iscsi:$p2")
t1=$(lab_uptime)
expect "$LAB_TMP/r3" "$s1" ok "reachable"
expect "$LAB_TMP/r3" "$s2" fail "no answer within 3.0 s"
expect "$LAB_TMP/r3" multipath warn "$m 1/2 active, $dev2:failed"
lab_check "exit status 1 (got $rc); the report took $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s" [ "$rc" = 1 ]

lab_iscsi_path_down 1
dev1=$(lab_iscsi_devs "$LAB_ISCSI_IQN" "$p1")
lab_wait 60 "path $dev1 failed" sh -c "multipathd show paths raw format '%d %t' | grep -qx '$dev1 failed'"
rc=$(ready "$LAB_TMP/r4")
expect "$LAB_TMP/r4" multipath fail "without an active path"
lab_check "exit status 1 (got $rc)" [ "$rc" = 1 ]
lab_iscsi_path_up 1
lab_iscsi_path_up 2
