#!/bin/bash
# lab-kind: fixture (a self-test of the lab fixtures; it does not drive the agent)
# lab-timeout: 120
# tgtd + iscsid + multipathd: a target with 2 file-backed LUNs, discovered and logged
# in over two portals -> 2 sessions, 4 new disks, 2 multipath maps with 2 active
# paths; data written through a map lands in the target's backing file; logout
# removes the disks and the maps.
set -eu
. "$LAB_SRC/tests/lab/fixtures.sh"

lab_multipathd
before=$(ls /sys/block | grep -c '^sd' || true)
lab_iscsi_target "" 2 16
lab_check "tgtd has target $LAB_ISCSI_IQN with 2 disk LUNs" \
	[ "$(tgtadm --lld iscsi --mode target --op show | awk -v t="Target $LAB_ISCSI_TID: $LAB_ISCSI_IQN" \
		'$0 == t { on = 1; next } /^Target/ { on = 0 } on && /Type: disk/' | wc -l)" = 2 ]
for p in $LAB_ISCSI_PORTALS; do
	lab_check "sendtargets discovery on $p finds $LAB_ISCSI_IQN" \
		sh -c "iscsiadm -m discovery -t sendtargets -p $p | grep -q '^$p,1 $LAB_ISCSI_IQN\$'"
done
lab_iscsi_login "$LAB_ISCSI_IQN"
lab_check "iscsid running (pid $(lab_daemon_pid iscsid))" lab_daemon_pid iscsid
lab_check "2 sessions to $LAB_ISCSI_IQN" \
	[ "$(iscsiadm -m session | grep -c " $LAB_ISCSI_IQN " || true)" = 2 ]
for p in $LAB_ISCSI_PORTALS; do
	lab_check "2 disks through portal $p ($(lab_iscsi_devs "$LAB_ISCSI_IQN" "$p"))" \
		[ "$(lab_iscsi_devs "$LAB_ISCSI_IQN" "$p" | wc -w)" = 2 ]
	lab_check "/dev/disk/by-path link for $p LUN 1" \
		[ -b "/dev/disk/by-path/ip-$p-iscsi-$LAB_ISCSI_IQN-lun-1" ]
done
after=$(ls /sys/block | grep -c '^sd')
lab_check "4 new block devices ($before -> $after): $LAB_ISCSI_DEVS" [ $((after - before)) = 4 ]
nmaps_is() { [ "$(lab_mpath_maps_of $LAB_ISCSI_DEVS | wc -l)" = "$1" ]; }
lab_wait 30 "2 maps over the iSCSI disks" nmaps_is 2
maps=$(lab_mpath_maps_of $LAB_ISCSI_DEVS)
for m in $maps; do
	lab_mpath_wait "$m" 2
	lab_ok "map $m has 2 active ready paths"
	lab_check "map $m is an IET VIRTUAL-DISK" sh -c "multipath -ll $m | grep -q 'IET,VIRTUAL-DISK'"
done

# end to end: through the map (LUN 1) into the target's backing file
m=$(echo "$maps" | grep '0001$')
head -c 65536 /dev/urandom >"$LAB_TMP/data"
dd if="$LAB_TMP/data" of="/dev/mapper/$m" bs=64k count=1 seek=1 oflag=direct status=none
dd if="/run/lab/tgt/t$LAB_ISCSI_TID-l1.img" of="$LAB_TMP/back" bs=64k count=1 skip=1 status=none
lab_check "data written through map $m is in LUN 1's backing file" cmp -s "$LAB_TMP/data" "$LAB_TMP/back"

lab_iscsi_logout "$LAB_ISCSI_IQN"
no_disks() { [ -z "$(lab_iscsi_devs "$LAB_ISCSI_IQN")" ]; }
lab_wait 30 "the iSCSI disks to go" no_disks
lab_ok "logout removed the disks"
no_maps() { ! dmsetup ls --target multipath | grep -Eq "^(${maps//$'\n'/|})\\b"; }
lab_wait 30 "the maps to go" no_maps
lab_ok "logout removed the maps"
