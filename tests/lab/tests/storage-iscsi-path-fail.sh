#!/bin/bash
# lab-kind: fixture (a self-test of the lab fixtures; it does not drive the agent)
# lab-timeout: 120
# Failing one iSCSI path: with portal 2 unreachable (lab_iscsi_path_down 2: its
# packets are dropped) the session through it fails, multipath marks that path
# failed and keeps serving I/O on the other one; lab_iscsi_path_up 2 brings the
# session back and the path is reinstated.
set -eu
. "$LAB_SRC/tests/lab/fixtures.sh"

lab_multipathd
lab_iscsi_target "" 1 16
lab_iscsi_login "$LAB_ISCSI_IQN"
p1=$(echo $LAB_ISCSI_PORTALS | cut -d' ' -f1)
p2=$(echo $LAB_ISCSI_PORTALS | cut -d' ' -f2)
dev1=$(lab_iscsi_devs "$LAB_ISCSI_IQN" "$p1")
dev2=$(lab_iscsi_devs "$LAB_ISCSI_IQN" "$p2")
lab_check "one disk per portal ($p1: $dev1, $p2: $dev2)" [ -n "$dev1" -a -n "$dev2" -a "$dev1" != "$dev2" ]
nmaps_is() { [ "$(lab_mpath_maps_of $LAB_ISCSI_DEVS | wc -l)" = "$1" ]; }
lab_wait 30 "1 map over the iSCSI disks" nmaps_is 1
m=$(lab_mpath_maps_of $LAB_ISCSI_DEVS)
lab_mpath_wait "$m" 2
lab_ok "map $m has 2 active paths ($dev1 $dev2)"
head -c 65536 /dev/urandom >"$LAB_TMP/a"
dd if="$LAB_TMP/a" of="/dev/mapper/$m" bs=64k count=1 oflag=direct status=none

path_state() { # path_state DEV -> "dm_state checker_state"
	multipathd show paths raw format "%d %t %T" | awk -v d="$1" '$1 == d { print $2, $3 }'
}
session_state() { # session_state PORTAL -> iSCSI session state of that portal
	iscsiadm -m session -P 1 | awk -v p="$1" '
		/Current Portal:/ { on = ($3 ~ "^" p ",") }
		on && /iSCSI Session State:/ { print $4; exit }'
}

t0=$(lab_uptime)
lab_iscsi_path_down 2
lab_wait 60 "path $dev2 failed" sh -c "multipathd show paths raw format '%d %t' | grep -qx '$dev2 failed'"
t1=$(lab_uptime)
lab_ok "portal $p2 down: path $dev2 is '$(path_state "$dev2")' after $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')s"
lab_check "path $dev1 still active ready" [ "$(path_state "$dev1")" = "active ready" ]
lab_check "map $m has 1 active path" _lab_mpath_active_is "$m" 1
s2=$(session_state "$p2")
lab_check "session via $p2 is not logged in ($s2)" [ "$s2" != LOGGED_IN ]
lab_check "session via $p1 is LOGGED_IN" [ "$(session_state "$p1")" = LOGGED_IN ]
dd if="/dev/mapper/$m" of="$LAB_TMP/a.back" bs=64k count=1 iflag=direct status=none
lab_check "read through the map with one path down" cmp -s "$LAB_TMP/a" "$LAB_TMP/a.back"
head -c 65536 /dev/urandom >"$LAB_TMP/b"
dd if="$LAB_TMP/b" of="/dev/mapper/$m" bs=64k count=1 oflag=direct status=none
dd if="/run/lab/tgt/t$LAB_ISCSI_TID-l1.img" of="$LAB_TMP/b.back" bs=64k count=1 status=none
lab_check "write through the map with one path down reaches the LUN" cmp -s "$LAB_TMP/b" "$LAB_TMP/b.back"

lab_iscsi_path_up 2
lab_mpath_wait "$m" 2 90
lab_ok "portal $p2 back: map $m has 2 active paths again after $(awk -v a="$t1" -v b="$(lab_uptime)" 'BEGIN { print b - a }')s"
lab_check "session via $p2 is LOGGED_IN again" [ "$(session_state "$p2")" = LOGGED_IN ]
