#!/bin/bash
# lab-timeout: 180
# An NFS v4.1 file storage domain through the agent (API.md §5.5, §5.1 storageDomains):
# vdsmd in the guest, called with vdsm-client over TLS. connectStorageServer, then
# createStorageDomain on the mount: VDSM's layout and sealed metadata appear on the
# server's export (checked on the server side); getStorageDomainsList / Info / Stats
# read it back; the domain's monitor reports it valid in getVdsStats. The NFS server
# dies: the domain turns invalid within 30 s while ping and getVdsStats keep answering
# (each call bounded by 5 s); the server comes back: valid again.
set -eu
. "$LAB_SRC/tests/lab/fixtures.sh"

BLANK=00000000-0000-0000-0000-000000000000

lab_nfs_server
s=$LAB_NFS_SERVER

# The defaults of VDSM: a monitor read every 10 s (each bounded by the same 10 s).
lab_agent vdsmd "[irs]" "mount_timeout = 10" "sd_health_check_delay = 10" "process_pool_timeout = 10"
root=$LAB_AGENT_ROOT
CLIENT=${VDSM_CLIENT:-$LAB_SRC/build/vdsm-client}
# every call bounded by 5 s: the agent must answer while the server is dead
call() { timeout 5 "$CLIENT" --port "$LAB_AGENT_PORT" --pki "$LAB_AGENT_PKI" "$@"; }
mnt=$root/rhev/data-center/mnt
lab_defer "for m in \$(findmnt -rn -o TARGET | grep '^$mnt/'); do umount -f -l \"\$m\"; done"

# py EXPR FILE: evaluates EXPR with r = the JSON reply in FILE
py() { python3 -c 'import json,sys; r=json.load(open(sys.argv[2])); print(eval(sys.argv[1]))' "$@"; }

sd=$(cat /proc/sys/kernel/random/uuid) cid=$(cat /proc/sys/kernel/random/uuid)
con="[{\"id\":\"$cid\",\"connection\":\"$s:/data\",\"protocol_version\":\"4.1\",\"timeout\":\"100\",\"retrans\":\"3\",\"port\":\"\",\"iqn\":\"\",\"user\":\"\",\"password\":\"\"}]"
call connectStorageServer 1 "$BLANK" "$con" >"$LAB_TMP/r.json"
lab_check "NFS v4.1 connect: status 0" [ "$(py 'r["statuslist"][0]["status"]' "$LAB_TMP/r.json")" = 0 ]

t0=$(lab_uptime)
call createStorageDomain 1 "$sd" '"nfs data"' "\"$s:/data\"" 1 '"3"' >"$LAB_TMP/r.json"
dt=$(awk -v a="$t0" -v b="$(lab_uptime)" 'BEGIN { print b - a }')
lab_check "createStorageDomain: status 0 (${dt}s)" [ "$(py 'r["status"]["code"]' "$LAB_TMP/r.json")" = 0 ]
# The server's view: VDSM's layout and a seal that hashlib agrees with.
check_layout() {
	python3 - "$LAB_NFS_EXPORT/$1" "$1" "$s:/data" <<'PY'
import hashlib, os, sys
d, sd, remote = sys.argv[1:]
assert sorted(os.listdir(d)) == ["dom_md", "images"], os.listdir(d)
assert sorted(os.listdir(d + "/dom_md")) == ["ids", "inbox", "leases", "metadata", "outbox"]
md = dict(l.split("=", 1) for l in open(d + "/dom_md/metadata").read().splitlines())
seal = md.pop("_SHA_CKSUM")
h = hashlib.sha1()
for k in sorted(md):
    h.update(("%s=%s" % (k, md[k])).encode("ascii", "xmlcharrefreplace"))
assert seal == h.hexdigest(), (seal, h.hexdigest())
assert (md["SDUUID"], md["TYPE"], md["CLASS"], md["VERSION"], md["REMOTE_PATH"]) == \
    (sd, "NFS", "Data", "3", remote), md
assert os.path.getsize(d + "/dom_md/inbox") == 16 << 20
PY
}
lab_check "the export holds VDSM's layout, sealed metadata" check_layout "$sd"
lab_check "... and no temporary directory" sh -c "! ls -a '$LAB_NFS_EXPORT' | grep -q creating"

call getStorageDomainsList "$BLANK" 1 '"1"' "\"$s:/data\"" >"$LAB_TMP/r.json"
lab_check "getStorageDomainsList (class Data, type NFS, remotePath) has it" \
	[ "$(py 'r["domlist"]' "$LAB_TMP/r.json")" = "['$sd']" ]
call getStorageDomainInfo "$sd" >"$LAB_TMP/r.json"
lab_check "getStorageDomainInfo: NFS Data V3 on $s:/data" \
	[ "$(py '(r["info"]["type"], r["info"]["class"], r["info"]["version"], r["info"]["remotePath"], r["info"]["name"])' "$LAB_TMP/r.json")" = "('NFS', 'Data', '3', '$s:/data', 'nfs data')" ]
call getStorageDomainStats "$sd" >"$LAB_TMP/r.json"
total=$(py 'r["stats"]["disktotal"]' "$LAB_TMP/r.json")
lab_check "getStorageDomainStats: disktotal $total = the server's 256 MiB tmpfs" [ "$total" = $((256 << 20)) ]

# valid WANT: the domain's monitor entry in getVdsStats has valid == WANT
valid() {
	call getVdsStats >"$LAB_TMP/st.json" &&
		[ "$(py "r['info']['storageDomains'].get('$sd', {}).get('valid')" "$LAB_TMP/st.json")" = "$1" ]
}
lab_wait 30 "monitor: domain valid" valid True
py "r['info']['storageDomains']['$sd']" "$LAB_TMP/st.json"

# The server dies.
lab_nfs_server_hang
lab_defer "lab_nfs_server_resume"
t0=$(lab_uptime)
answered=0 slow=0
while :; do
	now=$(lab_uptime)
	awk -v a="$t0" -v b="$now" 'BEGIN { exit !(b - a > 40) }' && break
	c0=$(lab_uptime)
	call ping >/dev/null || slow=$((slow + 1))
	if call getVdsStats >"$LAB_TMP/st.json"; then
		answered=$((answered + 1))
		[ "$(py "r['info']['storageDomains']['$sd']['valid']" "$LAB_TMP/st.json")" = False ] && break
	else
		slow=$((slow + 1))
	fi
	sleep 0.5
done
dt=$(awk -v a="$t0" -v b="$(lab_uptime)" 'BEGIN { print b - a }')
py "r['info']['storageDomains']['$sd']" "$LAB_TMP/st.json"
lab_check "dead server: domain invalid after ${dt}s (limit 30 s)" \
	awk -v d="$dt" 'BEGIN { exit !(d <= 30) }'
lab_check "... code 379" [ "$(py "r['info']['storageDomains']['$sd']['code']" "$LAB_TMP/st.json")" = 379 ]
lab_check "... ping and getVdsStats answered every time within 5 s ($answered polls)" [ "$slow" = 0 ]
# (a scan of the dead mount is bounded by process_pool_timeout, 10 s here)
lab_check "getStorageDomainsList still answers" timeout 15 "$CLIENT" --port "$LAB_AGENT_PORT" --pki "$LAB_AGENT_PKI" getStorageDomainsList

lab_nfs_server_resume
t0=$(lab_uptime)
lab_wait 90 "monitor: domain valid again" valid True
dt=$(awk -v a="$t0" -v b="$(lab_uptime)" 'BEGIN { print b - a }')
lab_ok "valid again ${dt}s after the server came back"

lab_log "disconnecting"
call disconnectStorageServer 1 "$BLANK" "$con" >"$LAB_TMP/r.json"
lab_check "disconnect: status 0" [ "$(py 'r["statuslist"][0]["status"]' "$LAB_TMP/r.json")" = 0 ]
lab_log "disconnected"
call getStorageDomainsList >"$LAB_TMP/r.json"
lab_check "the domain leaves getStorageDomainsList" [ "$(py "'$sd' in r['domlist']" "$LAB_TMP/r.json")" = False ]
lab_log "done"
