#!/bin/bash
# lab-timeout: 300
# getDeviceList through the agent (API.md §5.5): vdsmd in the guest, called with
# vdsm-client over TLS. connectStorageServer logs in to one tgtd target (2 LUNs) over
# its 2 portals → 2 multipath maps with 2 paths each. Every field of both maps is
# checked against sysfs and `multipathd show maps json`, read here independently
# (sizes, block sizes, inquiry data, paths, their dm states and LUNs, the iSCSI
# sessions in pathlist); the storageType and GUID filters; checkStatus (free, then
# used after pvcreate, which also fills pvUUID/pvsize as pvs reports them); one
# portal blocked → its paths show failed; multipathd stopped → the verb still answers
# (path states from sysfs).
# LAB_DEV_BENCH="10 100 200": instead, the getDeviceList bench (make bench-devices).
set -eu
. "$LAB_SRC/tests/lab/fixtures.sh"

VDSMD=${VDSMD:-$LAB_SRC/build/vdsmd}
CLIENT=${VDSM_CLIENT:-$LAB_SRC/build/vdsm-client}
[ -x "$VDSMD" ] && [ -x "$CLIENT" ] || lab_die "build vdsmd and vdsm-client first (make)"

lab_multipathd
lab_lvm

pki=$LAB_TMP/pki root=$LAB_TMP/root
"$LAB_SRC/scripts/vdsm-c-certs" --dir "$pki" --cn localhost >/dev/null
mkdir -p "$root"
cat >"$LAB_TMP/vdsm.conf" <<CONF
[vars]
trust_store_path = $pki
root = $root
management_ip = 127.0.0.1
management_port = 0
libvirt_uri = qemu:///system?socket=/nonexistent/libvirt-sock
[irs]
iscsi_timeout = 20
lvm_timeout = 10
CONF
lab_daemon vdsmd "$VDSMD" --config "$LAB_TMP/vdsm.conf" --foreground
lab_defer "lab_daemon_stop vdsmd"
lab_wait 30 "vdsmd port file" test -s "$root/run/vdsm-c/vdsmd.port"
port=$(cat "$root/run/vdsm-c/vdsmd.port")
call() { "$CLIENT" --port "$port" --pki "$pki" "$@"; }
lab_wait 60 "vdsmd ready" call ping

# agent_ms: the verb's own time from the agent's log line (no client start-up in it)
agent_ms() { grep -o 'getDeviceList: [0-9]* device(s) in [0-9]* ms' "$LAB_DAEMON_LOGDIR/vdsmd.log" | tail -n 1 | awk '{ print $5 }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# make bench-devices (LAB_DEV_BENCH="10 100 200"): N scsi_debug LUNs over 2 SCSI hosts =
# N maps of 2 paths; getDeviceList's time against the raw cost of what it asks
# (`multipathd show maps json` + one pvs over the maps), measured in the same run.
if [ -n "${LAB_DEV_BENCH:-}" ]; then
	for n in $LAB_DEV_BENCH; do
		# its udevadm settle may give up under load before the 2n disks are processed:
		# the maps below are waited for on their own
		lab_scsi_debug "$n" 2 8 || true
		[ "$(echo $LAB_SD_DEVS | wc -w)" = $((2 * n)) ] || lab_die "bench: $((2 * n)) disks expected: $LAB_SD_DEVS"
		active_is() { [ "$(multipathd show paths raw format '%d %m %t' | awk -v re="^($(echo $LAB_SD_DEVS | tr ' ' '|'))\$" '$1 ~ re && $2 != "[orphan]" && $3 == "active"' | wc -l)" = "$1" ]; }
		lab_wait 900 "$n maps with 2 active paths" active_is $((2 * n))
		list=$(lab_mpath_maps_of $LAB_SD_DEVS | sed 's|^|/dev/mapper/|' | paste -sd, -)
		udevadm settle -t 300 || true
		# the first call after the LUNs appeared (caches cold), then the best of 3 of each
		call getDeviceList 0 '[]' false >"$LAB_TMP/b.json"
		cold=$(agent_ms)
		lab_check "bench n=$n: $n maps listed" python3 -c 'import json,sys; assert sum(1 for d in json.load(open(sys.argv[1]))["devList"] if len(d["pathstatus"]) == 2) == int(sys.argv[2])' "$LAB_TMP/b.json" "$n"
		bm=999999 bp=999999 ba=999999 bc=999999 bw=999999
		for i in 1 2 3; do
			t0=$(lab_uptime)
			multipathd show maps json >/dev/null
			t1=$(lab_uptime)
			pvs --reportformat json --units b --nosuffix -o pv_name,pv_uuid,vg_uuid,pv_size \
				--config 'devices { obtain_device_list_from_udev = 0 }' \
				--devices "$list" >/dev/null 2>&1 || true
			t2=$(lab_uptime)
			call getDeviceList 0 '[]' false >/dev/null
			t3=$(lab_uptime)
			a=$(agent_ms)
			call getDeviceList >/dev/null
			c=$(agent_ms)
			read -r bm bp ba bc bw < <(awk -v bm="$bm" -v bp="$bp" -v ba="$ba" -v bc="$bc" -v bw="$bw" \
				-v m="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) * 1000 }')" \
				-v p="$(awk -v a="$t1" -v b="$t2" 'BEGIN { print (b - a) * 1000 }')" \
				-v w="$(awk -v a="$t2" -v b="$t3" 'BEGIN { print (b - a) * 1000 }')" -v a="$a" -v c="$c" \
				'function min(x, y) { return x < y ? x : y }
				 BEGIN { printf "%.0f %.0f %.0f %.0f %.0f\n", min(bm, m), min(bp, p), min(ba, a), min(bc, c), min(bw, w) }')
		done
		echo "BENCH getDeviceList n=$n (best of 3): agent ${ba} ms, checkStatus ${bc} ms," \
			"vdsm-client wall ${bw} ms; baseline multipathd show maps json ${bm} ms + pvs ${bp} ms;" \
			"ratio agent/baseline $(awk -v a="$ba" -v b="$((bm + bp))" 'BEGIN { printf "%.2f", a / (b > 0 ? b : 1) }');" \
			"first call after the LUNs appeared ${cold} ms" | tee -a "$LAB_DAEMON_LOGDIR/bench-devices.log"
		_lab_scsi_debug_remove || true   # its udevadm settle may give up under load
	done
	lab_ok "bench-devices"
	exit 0
fi

lab_iscsid
lab_iscsi_target "" 2 16
iqn=$LAB_ISCSI_IQN
set -- $LAB_ISCSI_ADDRS
a1=$1 a2=$2

# Node defaults for the records the agent creates: fail over within seconds (as
# lab_iscsi_login sets per node); the guest's /etc is a per-boot overlay, restored anyway.
lab_iscsi_node_defaults node.session.timeo.replacement_timeout=5 \
	"node.conn[0].timeo.noop_out_interval=2" "node.conn[0].timeo.noop_out_timeout=2"

BLANK=00000000-0000-0000-0000-000000000000
i1=$(cat /proc/sys/kernel/random/uuid) i2=$(cat /proc/sys/kernel/random/uuid)
conlist=$(printf '[{"id":"%s","connection":"%s","port":"3260","iqn":"%s","user":"","password":""},{"id":"%s","connection":"%s","port":"3260","iqn":"%s","user":"","password":""}]' \
	"$i1" "$a1" "$iqn" "$i2" "$a2" "$iqn")
lab_defer "lab_iscsi_logout $iqn"
call connectStorageServer 3 "$BLANK" "$conlist" >"$LAB_TMP/c.json"
lab_check "connectStorageServer over both portals: statuses 0" \
	python3 -c 'import json,sys; assert [e["status"] for e in json.load(open(sys.argv[1]))["statuslist"]] == [0, 0]' "$LAB_TMP/c.json"
ndisks_is() { [ "$(lab_iscsi_devs "$iqn" | wc -w)" = "$1" ]; }
lab_log "connected"
lab_wait 60 "4 disks of $iqn (2 LUNs x 2 sessions)" ndisks_is 4
udevadm settle -t 60 || lab_log "udev queue still busy after 60 s; going on"
devs=$(lab_iscsi_devs "$iqn")
nmaps_is() { [ "$(lab_mpath_maps_of $devs | wc -l)" = "$1" ]; }
lab_wait 60 "2 maps over the iSCSI disks" nmaps_is 2
maps=$(lab_mpath_maps_of $devs)
for m in $maps; do lab_mpath_wait "$m" 2; done
lab_log "maps ready: $maps"
set -- $maps
m1=$1 m2=$2
dev2=$(lab_iscsi_devs "$iqn" "$a2:3260")

# check.py REPLY [EXPECT...]: the reply's maps of this target against sysfs and
# multipathd; EXPECT items are key=value checks (status=free, failed=sdX sdY, ...).
cat >"$LAB_TMP/check.py" <<'PY'
import json, os, subprocess, sys

iqn, a1, a2, maps = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()
mp = {m["uuid"]: m for m in json.loads(subprocess.run(
    ["multipathd", "show", "maps", "json"], capture_output=True, text=True, check=True).stdout)["maps"]}

def rd(p):
    with open(p) as f:
        return f.read().strip()

def check(path, want):
  devs = {d["GUID"]: d for d in json.load(open(path))["devList"]}
  listed = [g for g in maps if g in devs]
  assert sorted(listed) == sorted(want.get("listed", " ".join(maps)).split()), (listed, want)
  for g in listed:
      d = devs[g]
      dm = os.path.basename(os.path.realpath("/dev/mapper/" + g))
      sys_ = "/sys/block/" + dm
      for k in ("GUID", "capacity", "devtype", "vendorID", "productID", "fwrev", "serial", "pvUUID",
                "vgUUID", "pvsize", "logicalblocksize", "physicalblocksize", "status"):
          assert isinstance(d[k], str), (k, d[k])
      assert d["capacity"] == str(int(rd(sys_ + "/size")) * 512), d["capacity"]
      assert d["logicalblocksize"] == rd(sys_ + "/queue/logical_block_size")
      assert d["physicalblocksize"] == rd(sys_ + "/queue/physical_block_size")
      assert d["devtype"] == "iSCSI", d["devtype"]
      slaves = sorted(os.listdir(sys_ + "/slaves"))
      first = "/sys/block/%s/device/" % slaves[0]
      assert d["vendorID"] == rd(first + "vendor") and d["productID"] == rd(first + "model"), d
      assert d["fwrev"] == rd(first + "rev"), d["fwrev"]
      assert d["discard_max_bytes"] == int(rd(sys_ + "/queue/discard_max_bytes"))
      states = {p["dev"]: p["dm_st"] for pg in mp[g]["path_groups"] for p in pg["paths"]}
      ps = d["pathstatus"]
      assert sorted(p["physdev"] for p in ps) == slaves, (ps, slaves)
      for p in ps:
          assert p["state"] == states[p["physdev"]], (p, states)
          hctl = os.path.basename(os.path.realpath("/sys/block/%s/device" % p["physdev"]))
          assert p["lun"] == int(hctl.split(":")[3]) and p["type"] == "iSCSI", p
          assert p["capacity"] == str(int(rd("/sys/block/%s/size" % p["physdev"])) * 512), p
      failed = sorted(p["physdev"] for p in ps if p["state"] != "active")
      if "failed" in want:
          assert failed == sorted(x for x in want["failed"].split() if x in slaves), (failed, want)
      conns = sorted((c["connection"], c["port"], c["iqn"], c["portal"], c["initiatorname"])
                     for c in d["pathlist"])
      assert conns == sorted([(a, "3260", iqn, "1", "default") for a in (a1, a2)]), conns
      assert all("password" not in c for c in d["pathlist"]), d["pathlist"]
      for k in ("status", "pvUUID", "pvsize", "vgUUID"):
          if k + "." + g in want:
              assert d[k] == want[k + "." + g], (g, k, d[k], want[k + "." + g])
          elif k in want:
              assert d[k] == want[k], (g, k, d[k], want[k])
  print("checked", path, listed)

# groups: FILE [key=value...] separated by "+"
args, group = sys.argv[5:] + ["+"], []
for a in args:
    if a == "+":
        check(group[0], dict(x.split("=", 1) for x in group[1:]))
        group = []
    else:
        group.append(a)
PY
check() { python3 "$LAB_TMP/check.py" "$iqn" "$a1" "$a2" "$maps" "$@"; }
# timed NAME ARGS...: getDeviceList ARGS into $LAB_TMP/NAME.json, its wall time logged
timed() {
	local out=$LAB_TMP/$1.json t0
	shift
	t0=$(lab_uptime)
	call getDeviceList "$@" >"$out"
	lab_log "getDeviceList $*: $(awk -v a="$t0" -v b="$(lab_uptime)" 'BEGIN { print b - a }') s (with vdsm-client)"
}

timed d1 3 '[]' false
timed d2 2 '[]' false
timed d3
pvcreate -q "/dev/mapper/$m1" >/dev/null
lab_defer "[ ! -e /dev/mapper/$m1 ] || pvremove -q -y /dev/mapper/$m1"
uuid=$(pvs --noheadings -o pv_uuid "/dev/mapper/$m1" | tr -d ' ')
size=$(pvs --noheadings --units b --nosuffix -o pv_size "/dev/mapper/$m1" | tr -d ' ')
timed d4 3 "[\"$m1\"]" true
timed d5 3 "[\"$m2\"]" true
lab_check "getDeviceList: fields = sysfs and multipathd; (iSCSI) both maps, status unknown;
    (FCP) none; () checkStatus by default: free; after pvcreate on $m1: GUID filter, pvUUID
    $uuid, pvsize $size, used; $m2 free, no PV" \
	check "$LAB_TMP/d1.json" status=unknown pvUUID= vgUUID= pvsize= failed= + \
	"$LAB_TMP/d2.json" listed= + \
	"$LAB_TMP/d3.json" status=free + \
	"$LAB_TMP/d4.json" listed="$m1" "pvUUID=$uuid" "pvsize=$size" status=used vgUUID= + \
	"$LAB_TMP/d5.json" listed="$m2" status=free pvUUID=

# one portal blocked: its paths fail (multipathd's checker), the verb reports them
lab_iscsi_path_down 2
lab_defer "lab_iscsi_path_up 2"
failed_is() { [ "$(multipathd show paths raw format '%d %t' | awk '$2 == "failed" { print $1 }' | sort | tr '\n' ' ')" = "$(echo $dev2 | tr ' ' '\n' | sort | tr '\n' ' ')" ]; }
lab_log "node record: $(grep -h 'replacement_timeout\|noop_out' /etc/iscsi/nodes/$iqn/*/default | tr '\n' ' ')"
paths() { multipathd show paths raw format '%d %t %T %o' | tr '\n' ';'; }
( lab_wait 90 "paths $dev2 failed" failed_is ) || lab_die "paths $dev2 not failed after 90 s: $(paths)"
lab_log "paths: $(paths)"
timed d6 3 '[]' true
lab_check "portal 2 blocked: pathstatus shows $dev2 failed, the others active" \
	check "$LAB_TMP/d6.json" "failed=$dev2" "status.$m1=used" "status.$m2=free"
lab_iscsi_path_up 2
for m in $maps; do lab_mpath_wait "$m" 2 90; done
lab_log "paths back"

# multipathd gone: the verb still answers, states from the SCSI devices
# all_paths_active REPLY GUID...: each map in the getDeviceList reply has two active paths
all_paths_active() {
	python3 -c '
import json, sys
d = {x["GUID"]: x for x in json.load(open(sys.argv[1]))["devList"]}
for g in sys.argv[2:]:
    assert [p["state"] for p in d[g]["pathstatus"]] == ["active", "active"], d[g]["pathstatus"]
' "$@"
}
lab_daemon_stop multipathd
timed d7 3 '[]' false
lab_check "multipathd stopped: both maps, every path active (from sysfs)" \
	all_paths_active "$LAB_TMP/d7.json" $maps
call getVdsStats >"$LAB_TMP/st.json"
lab_check "multipathd stopped: ping and getVdsStats answer" sh -c "[ -s '$LAB_TMP/st.json' ] && '$CLIENT' --port '$port' --pki '$pki' ping >/dev/null"
lab_multipathd
lab_check "the agent logged multipathd's absence" grep -q "path states from sysfs" "$LAB_DAEMON_LOGDIR/vdsmd.log"
# multipathd back: the verb reads it again (no new sysfs fallback line), paths active
for m in $maps; do lab_mpath_wait "$m" 2 90; done
nsys=$(grep -c "path states from sysfs" "$LAB_DAEMON_LOGDIR/vdsmd.log")
timed d8 3 '[]' false
lab_check "multipathd back: both maps, every path active" \
	all_paths_active "$LAB_TMP/d8.json" $maps
lab_check "multipathd back: no sysfs fallback for the last call" \
	[ "$(grep -c "path states from sysfs" "$LAB_DAEMON_LOGDIR/vdsmd.log")" = "$nsys" ]

pvremove -q -y "/dev/mapper/$m1" >/dev/null
call disconnectStorageServer 3 "$BLANK" "$conlist" >"$LAB_TMP/x.json"
lab_check "disconnectStorageServer: statuses 0" \
	python3 -c 'import json,sys; assert [e["status"] for e in json.load(open(sys.argv[1]))["statuslist"]] == [0, 0]' "$LAB_TMP/x.json"
lab_ok "getDeviceList through the agent"
