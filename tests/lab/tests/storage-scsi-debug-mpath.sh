#!/bin/bash
# lab-kind: fixture (a self-test of the lab fixtures; it does not drive the agent)
# lab-timeout: 90
# scsi_debug + udev + multipathd: 2 LUNs seen over 2 SCSI hosts give 4 disks and
# 2 multipath maps with 2 active, ready paths each; I/O through a map works.
set -eu
. "$LAB_SRC/tests/lab/fixtures.sh"

lab_multipathd
lab_check "multipathd running (pid $(lab_daemon_pid multipathd))" lab_daemon_pid multipathd
lab_scsi_debug 2 2
lab_check "4 scsi_debug disks ($LAB_SD_DEVS)" [ "$(echo $LAB_SD_DEVS | wc -w)" = 4 ]
for d in $LAB_SD_DEVS; do
	[ -b "/dev/$d" ] || lab_die "/dev/$d missing"
done
nmaps_is() { [ "$(lab_mpath_maps_of $LAB_SD_DEVS | wc -l)" = "$1" ]; }
lab_wait 30 "2 maps over the scsi_debug disks" nmaps_is 2
maps=$(lab_mpath_maps_of $LAB_SD_DEVS)
for m in $maps; do
	lab_mpath_wait "$m" 2
	lab_ok "map $m has 2 active ready paths"
	j=$(multipathd show map "$m" json)
	lab_check "map $m: dm_st active, 2 paths (json)" \
		grep -q '"paths" : 2' <<<"$j"
	[ -b "/dev/mapper/$m" ] || lab_die "/dev/mapper/$m missing"
done
m=$(echo $maps | cut -d' ' -f1)
head -c 65536 /dev/urandom >"$LAB_TMP/data"
dd if="$LAB_TMP/data" of="/dev/mapper/$m" bs=64k count=1 oflag=direct status=none
dd if="/dev/mapper/$m" of="$LAB_TMP/back" bs=64k count=1 iflag=direct status=none
lab_check "data written through map $m reads back" cmp -s "$LAB_TMP/data" "$LAB_TMP/back"
lab_check "/dev/disk/by-id has the LUN identities" sh -c 'ls /dev/disk/by-id/ | grep -q scsi_debug'
