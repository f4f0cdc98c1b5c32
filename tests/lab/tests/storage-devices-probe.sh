#!/bin/bash
# lab-kind: fixture (checks storage/'s device readers through build/devlist-probe, not the agent)
# lab-timeout: 180
# One tgtd LUN over 2 iSCSI portals → one multipath map with 2 paths. build/devlist-probe
# (storage/dev.c + storage/mpath.c: sysfs scan, multipathd's command socket, pvs report)
# is compared field by field with sysfs and `multipathd show maps json` read here
# independently; a failed path shows as failed; pvcreate fills pvUUID.
set -eu
. "$LAB_SRC/tests/lab/fixtures.sh"
probe=$LAB_SRC/build/devlist-probe
[ -x "$probe" ] || lab_die "build/devlist-probe missing (cc it from tests/lab/tools/devlist-probe.c)"

lab_multipathd
lab_iscsi_target "" 1 16
lab_iscsi_login "$LAB_ISCSI_IQN"
nmaps_is() { [ "$(lab_mpath_maps_of $LAB_ISCSI_DEVS | wc -l)" = "$1" ]; }
lab_wait 30 "1 map over the iSCSI disks" nmaps_is 1
m=$(lab_mpath_maps_of $LAB_ISCSI_DEVS)
lab_mpath_wait "$m" 2

line=$("$probe" | awk -v m="$m" '$1 == m')
lab_log "probe: $line"
lab_check "probe lists map $m" [ -n "$line" ]
dm=$(basename "$(readlink -f /dev/mapper/$m)")
set -- $line
lab_check "devtype iSCSI" [ "$2" = iSCSI ]
lab_check "size = sysfs $dm/size*512" [ "$3" = $(( $(cat /sys/block/$dm/size) * 512 )) ]
lab_check "logical block size" [ "$4" = "$(cat /sys/block/$dm/queue/logical_block_size)" ]
lab_check "physical block size" [ "$5" = "$(cat /sys/block/$dm/queue/physical_block_size)" ]
first=$(ls /sys/block/$dm/slaves | sort | head -n 1)
vend=$(sed 's/ *$//' /sys/block/$first/device/vendor)
lab_check "vendor of $first ($vend)" [ "${6%%|*}" = "$vend" ]
want=$(python3 - "$m" <<'PY'
import json, subprocess, sys
j = json.loads(subprocess.run(["multipathd", "show", "maps", "json"], capture_output=True,
                              text=True, check=True).stdout)
for mp in j["maps"]:
    if mp["uuid"] == sys.argv[1]:
        ps = sorted((p["dev"], p["dm_st"]) for g in mp["path_groups"] for p in g["paths"])
        print(" ".join(f"{d}:{s}" for d, s in ps))
PY
)
got=$(echo "$line" | tr ' ' '\n' | grep '^sd' | cut -d: -f1,2 | tr '\n' ' ' | sed 's/ $//')
lab_check "paths and states = multipathd's ($want)" [ "$got" = "$want" ]
lab_check "LUN 1 on every path" [ -z "$(echo "$line" | tr ' ' '\n' | grep '^sd' | grep -v ':1$')" ]

dev2=$(lab_iscsi_devs "$LAB_ISCSI_IQN" "$(echo $LAB_ISCSI_PORTALS | cut -d' ' -f2)")
lab_iscsi_path_down 2
lab_wait 60 "path $dev2 failed" sh -c "multipathd show paths raw format '%d %t' | grep -qx '$dev2 failed'"
lab_check "probe shows $dev2 failed" sh -c "'$probe' | awk -v m='$m' '\$1 == m' | grep -q ' $dev2:failed:'"
lab_iscsi_path_up 2
lab_mpath_wait "$m" 2 90

lab_lvm
pvcreate -q "/dev/mapper/$m" >/dev/null
lab_defer "pvremove -q -y /dev/mapper/$m"
pvs --reportformat json --units b --nosuffix -o pv_name,pv_uuid,vg_uuid,pv_size >"$LAB_TMP/pvs.json"
uuid=$(pvs --noheadings -o pv_uuid "/dev/mapper/$m" | tr -d ' ')
lab_check "probe pvUUID = $uuid" sh -c "'$probe' '$LAB_TMP/pvs.json' | awk -v m='$m' '\$1 == m' | grep -q ' $uuid|'"
lab_ok "devices probe"
