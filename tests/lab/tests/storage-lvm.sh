#!/bin/bash
# lab-kind: fixture (a self-test of the lab fixtures; it does not drive the agent)
# lab-timeout: 120
# LVM on multipath: two iSCSI LUNs (2 portals each) as PVs of one VG; pvcreate on a
# path component is refused; an LV is created, written, reported in JSON,
# deactivated and removed.  Plus a VG on a loop device (lab_loopdev).
set -eu
. "$LAB_SRC/tests/lab/fixtures.sh"

lab_multipathd
lab_iscsi_target "" 2 32
lab_iscsi_login "$LAB_ISCSI_IQN"
nmaps_is() { [ "$(lab_mpath_maps_of $LAB_ISCSI_DEVS | wc -l)" = "$1" ]; }
lab_wait 30 "2 maps over the iSCSI disks" nmaps_is 2
maps=$(lab_mpath_maps_of $LAB_ISCSI_DEVS)
pvs=""
for m in $maps; do
	lab_mpath_wait "$m" 2
	pvs="$pvs /dev/mapper/$m"
done
lab_lvm
comp=$(echo $LAB_ISCSI_DEVS | cut -d' ' -f1)
st=0
pvcreate -q -y "/dev/$comp" >"$LAB_TMP/comp.err" 2>&1 || st=$?
lab_check "pvcreate on path component /dev/$comp is refused" \
	[ "$st" != 0 ] && grep -qi 'multipath component' "$LAB_TMP/comp.err"

vg=labvg_$$
lab_vg "$vg" $pvs
lab_check "VG $vg has 2 PVs" [ "$(vgs --noheadings -o pv_count "$vg" | tr -d ' ')" = 2 ]
lvcreate -q -n lv1 -L 16m "$vg" >/dev/null
lab_check "LV $vg/lv1 is active" [ -b "/dev/$vg/lv1" ]
head -c 1048576 /dev/urandom >"$LAB_TMP/data"
dd if="$LAB_TMP/data" of="/dev/$vg/lv1" bs=1M oflag=direct status=none
dd if="/dev/$vg/lv1" of="$LAB_TMP/back" bs=1M count=1 iflag=direct status=none
lab_check "data written to the LV reads back" cmp -s "$LAB_TMP/data" "$LAB_TMP/back"
j=$(lvs --reportformat json -o lv_name,vg_name,lv_size,lv_attr --units m "$vg")
lab_check "lvs --reportformat json reports lv1 in $vg" \
	grep -q "\"lv_name\":\"lv1\", \"vg_name\":\"$vg\"" <<<"$j"
j=$(pvs --reportformat json -o pv_name,pv_uuid,vg_name)
for p in $pvs; do
	grep -q "\"pv_name\":\"$p\"" <<<"$j" || lab_die "pvs json misses $p: $j"
done
lab_ok "pvs --reportformat json lists both multipath PVs"
vgchange -q -an "$vg" >/dev/null
lab_check "vgchange -an deactivates lv1" [ ! -e "/dev/$vg/lv1" ]
lab_check "lv_attr shows inactive" sh -c "lvs --noheadings -o lv_attr $vg/lv1 | grep -q '^ *-wi-----'"

lab_loopdev 64
lab_vg "${vg}_loop" "$LAB_LOOPDEV"
lvcreate -q -n lv -L 8m "${vg}_loop" >/dev/null
lab_check "VG on loop device $LAB_LOOPDEV with an active LV" [ -b "/dev/${vg}_loop/lv" ]
