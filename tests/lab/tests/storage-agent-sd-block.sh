#!/bin/bash
# lab-timeout: 240
# Block domains through the agent (API.md §5.5), part 1: createVG and getVGInfo.
# vdsmd in the guest, called with vdsm-client over mTLS. connectStorageServer logs in
# to one tgtd target (3 sparse LUNs of 6 GiB) over its 2 portals → 3 multipath maps.
# Bad input first, each with its code and nothing created (pvs/vgs unchanged):
# vgname no UUID (1000), unknown GUID (606), one LUN (< 10 GiB: 504). Then createVG on
# LUNs 1+2 → the reply's uuid is the VG's as `vgs --reportformat json` reads it here,
# named after the domain, tagged RHAT_storage_domain_UNREADY, 128 MiB extents; each PV
# has a 128 MiB metadata area, in use on the first PV only. Then: a device already a PV
# without force (601), the same VG name again on LUN 3 (505) — nothing created;
# getVGInfo of the new VG against vgs/pvs (sizes, attr, state, type, pvlist) and of an
# unknown UUID (506).
set -eu
. "$LAB_SRC/tests/lab/fixtures.sh"

lab_multipathd
lab_lvm
lab_iscsid
lab_iscsi_target "" 3 6144
iqn=$LAB_ISCSI_IQN
set -- $LAB_ISCSI_ADDRS
a1=$1 a2=$2

lab_iscsi_node_defaults node.session.timeo.replacement_timeout=5

lab_agent vdsmd "[irs]" "iscsi_timeout = 20" "lvm_timeout = 60"
call() { lab_call "$@"; }
# code_of ARGS...: the reply's status code — vdsm-client says "code N: ..." on stderr and
# exits 1 for a non-zero one (no python start per call: it costs seconds in the guest)
code_of() {
	local c
	c=$(call "$@" 2>&1 >/dev/null | sed -n 's/^vdsm-client: code \([0-9]*\):.*/\1/p' | head -n 1)
	echo "${c:-0}"
}

BLANK=00000000-0000-0000-0000-000000000000
i1=$(cat /proc/sys/kernel/random/uuid) i2=$(cat /proc/sys/kernel/random/uuid)
conlist=$(printf '[{"id":"%s","connection":"%s","port":"3260","iqn":"%s","user":"","password":""},{"id":"%s","connection":"%s","port":"3260","iqn":"%s","user":"","password":""}]' \
	"$i1" "$a1" "$iqn" "$i2" "$a2" "$iqn")
lab_defer "lab_iscsi_logout $iqn"
call connectStorageServer 3 "$BLANK" "$conlist" >"$LAB_TMP/c.json"
lab_check "connectStorageServer over both portals: statuses 0" \
	python3 -c 'import json,sys; assert [e["status"] for e in json.load(open(sys.argv[1]))["statuslist"]] == [0, 0]' "$LAB_TMP/c.json"
ndisks_is() { [ "$(lab_iscsi_devs "$iqn" | wc -w)" = "$1" ]; }
lab_wait 60 "6 disks of $iqn (3 LUNs x 2 sessions)" ndisks_is 6
udevadm settle -t 60 || lab_log "udev queue still busy after 60 s; going on"
devs=$(lab_iscsi_devs "$iqn")
nmaps_is() { [ "$(lab_mpath_maps_of $devs | wc -l)" = "$1" ]; }
lab_wait 60 "3 maps over the iSCSI disks" nmaps_is 3
maps=$(lab_mpath_maps_of $devs)
for m in $maps; do lab_mpath_wait "$m" 2; done
set -- $maps
m1=$1 m2=$2 m3=$3

# lvm as an administrator would run it, over these maps only
LVMCFG="devices { use_devicesfile=0 obtain_device_list_from_udev=0 filter=[\"a|^/dev/mapper/($m1|$m2|$m3)\$|\",\"r|.*|\"] }"
state() { { pvs --config "$LVMCFG" --noheadings -o pv_name,vg_name 2>/dev/null; vgs --config "$LVMCFG" --noheadings -o vg_name 2>/dev/null; } | sort; }
sd=$(cat /proc/sys/kernel/random/uuid)
# cleanup when the test stops early (the normal end removes them itself)
lab_defer "if vgs --config '$LVMCFG' $sd >/dev/null 2>&1; then vgremove -q -f --config '$LVMCFG' $sd && pvremove -q -y --config '$LVMCFG' /dev/mapper/$m1 /dev/mapper/$m2; fi"

before=$(state)
for c in "not-a-uuid|[\"$m1\",\"$m2\"]|1000" \
	"$sd|[\"$m1\",\"3600000000000000000e0000000ffff0001\"]|606" \
	"$sd|[\"$m1\",\"../../sda\"]|606" \
	"$sd|[\"$m3\"]|504"; do
	IFS='|' read -r name list want <<<"$c"
	got=$(code_of createVG "$name" "$list")
	lab_check "createVG $name $list -> $want (got $got)" [ "$got" = "$want" ]
done
lab_check "bad input created nothing (pvs/vgs unchanged)" [ "$(state)" = "$before" ]

t0=$(lab_uptime)
call createVG "$sd" "[\"$m1\",\"$m2\"]" >"$LAB_TMP/vg.json"
t1=$(lab_uptime)
lab_log "createVG over 2 maps: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s (client included)"
vgs --config "$LVMCFG" --reportformat json --units b --nosuffix \
	-o vg_name,vg_uuid,vg_tags,vg_extent_size,vg_size,vg_free,vg_attr,pv_count "$sd" >"$LAB_TMP/vgs.json"
pvs --config "$LVMCFG" --reportformat json --units b --nosuffix \
	-o pv_name,vg_name,pv_mda_size,pv_mda_count,pv_mda_used_count,dev_size >"$LAB_TMP/pvs.json"
lab_check "createVG: uuid = the VG's (vgs), tag UNREADY, 128 MiB extents, 2 PVs with 128 MiB metadata areas, used on the first only" \
	python3 - "$LAB_TMP/vg.json" "$LAB_TMP/vgs.json" "$LAB_TMP/pvs.json" "$sd" "$m1" "$m2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
vg = json.load(open(sys.argv[2]))["report"][0]["vg"]
pvs = {p["pv_name"]: p for p in json.load(open(sys.argv[3]))["report"][0]["pv"]}
sd, m1, m2 = sys.argv[4:7]
assert len(vg) == 1 and vg[0]["vg_name"] == sd, vg
assert r["uuid"] == vg[0]["vg_uuid"], (r, vg)
assert vg[0]["vg_tags"] == "RHAT_storage_domain_UNREADY", vg
assert int(vg[0]["vg_extent_size"]) == 128 << 20, vg
assert vg[0]["pv_count"] == "2", vg
for m, used in ((m1, "2"), (m2, "0")):
    p = pvs["/dev/mapper/" + m]
    assert p["vg_name"] == sd, p
    # lvm rounds the area to its alignment: at least 128 MiB, less than 129
    assert 128 << 20 <= int(p["pv_mda_size"]) < 129 << 20, p
    assert p["pv_mda_count"] == "2" and p["pv_mda_used_count"] == used, p
print("VG", vg[0]["vg_uuid"], "PVs", [(n, p["pv_mda_size"], p["pv_mda_used_count"]) for n, p in pvs.items() if p["vg_name"] == sd])
PY
vguuid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["uuid"])' "$LAB_TMP/vg.json")

before=$(state)
sd2=$(cat /proc/sys/kernel/random/uuid)
got=$(code_of createVG "$sd2" "[\"$m1\",\"$m3\"]")
lab_check "createVG over a device already a PV, no force -> 601 (got $got)" [ "$got" = 601 ]
got=$(code_of createVG "$sd2" "[\"$m3\",\"$m1\"]" false)
lab_check "the same with force=false, PV second -> 601 (got $got)" [ "$got" = 601 ]
got=$(code_of createVG "$sd" "[\"$m3\"]")
lab_check "createVG with the name of an existing VG -> 505 (got $got)" [ "$got" = 505 ]
lab_check "refused createVGs created nothing (pvs/vgs unchanged)" [ "$(state)" = "$before" ]

call getVGInfo "$vguuid" >"$LAB_TMP/info.json"
lab_check "getVGInfo: name, vgUUID, sizes, attr, state, type, pvlist as vgs/pvs report them" \
	python3 - "$LAB_TMP/info.json" "$LAB_TMP/vgs.json" "$LAB_TMP/pvs.json" "$sd" "$m1" "$m2" <<'PY'
import json, sys
i = json.load(open(sys.argv[1]))["info"]
vg = json.load(open(sys.argv[2]))["report"][0]["vg"][0]
pvs = {p["pv_name"]: p for p in json.load(open(sys.argv[3]))["report"][0]["pv"]}
sd, m1, m2 = sys.argv[4:7]
assert i["name"] == sd and i["vgUUID"] == vg["vg_uuid"], i
assert i["vgsize"] == vg["vg_size"] and i["vgfree"] == vg["vg_free"], (i, vg)
assert i["state"] == "OK" and i["type"] == 3, i
a = vg["vg_attr"]
assert [i["attr"][k] for k in ("permission", "resizeable", "exported", "partial", "allocation", "clustered")] == list(a[:6]), (i["attr"], a)
assert sorted(p["GUID"] for p in i["pvlist"]) == sorted([m1, m2]), i["pvlist"]
for p in i["pvlist"]:
    assert p["vgUUID"] == vg["vg_uuid"] and p["pvUUID"], p
    assert p["devcapacity"] == pvs["/dev/mapper/" + p["GUID"]]["dev_size"], p
    assert 0 < int(p["capacity"]) <= int(p["devcapacity"]), p
    assert p["devtype"] == "iSCSI" and len(p["pathstatus"]) == 2, p
print("getVGInfo:", i["vgsize"], i["vgfree"], i["attr"])
PY
got=$(code_of getVGInfo "AAAAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGGGG")
lab_check "getVGInfo of an unknown VG UUID -> 506 (got $got)" [ "$got" = 506 ]
got=$(code_of getVGInfo "x;rm")
lab_check "getVGInfo of a malformed UUID -> 506 (got $got)" [ "$got" = 506 ]
lab_check "audit line for createVG" grep -q "createVG" "$LAB_DAEMON_LOGDIR/vdsmd.log"

vgremove -q -f --config "$LVMCFG" "$sd" >/dev/null
pvremove -q -y --config "$LVMCFG" "/dev/mapper/$m1" "/dev/mapper/$m2" >/dev/null
call disconnectStorageServer 3 "$BLANK" "$conlist" >/dev/null
lab_ok "createVG / getVGInfo through the agent"
