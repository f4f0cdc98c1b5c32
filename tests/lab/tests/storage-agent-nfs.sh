#!/bin/bash
# lab-timeout: 150
# connectStorageServer / disconnectStorageServer for NFS through the agent (API.md
# §5.5, §6): vdsmd in the guest, called with vdsm-client over TLS; the kernel's view
# is checked independently with findmnt -J. NFS v3 and v4.1 mount at
# <repository>/mnt/<escaped> with soft,nosharecache,timeo,retrans,vers; a second
# connect is idempotent (one mount); disconnect unmounts and removes the mount point,
# also while the server is dead; a connect to the dead server fails with 477 after
# the agent's mount timeout while ping and getVdsStats keep answering.
set -eu
. "$LAB_SRC/tests/lab/fixtures.sh"

BLANK=00000000-0000-0000-0000-000000000000
MOUNT_TIMEOUT=8

lab_nfs_server
s=$LAB_NFS_SERVER
echo "from the server" >"$LAB_NFS_EXPORT/f"

lab_agent vdsmd "[irs]" "mount_timeout = $MOUNT_TIMEOUT"
root=$LAB_AGENT_ROOT
call() { lab_call "$@"; }
mnt=$root/rhev/data-center/mnt
# whatever a failing step leaves mounted under the agent's root
lab_defer "for m in \$(findmnt -rn -o TARGET | grep '^$mnt/'); do umount -f -l \"\$m\"; done"

# conn ID CONNECTION VERSION -> a one-entry conList
conn() { printf '[{"id":"%s","connection":"%s","protocol_version":"%s","timeout":"100","retrans":"3","port":"","iqn":"","user":"","password":""}]' "$1" "$2" "$3"; }
# status_of REPLY_FILE ID -> the entry's status
status_of() { python3 -c 'import json,sys; print([e["status"] for e in json.load(open(sys.argv[1]))["statuslist"] if e["id"] == sys.argv[2]][0])' "$1" "$2"; }
# check_mount PATH FSTYPE VERS: findmnt's options
check_mount() {
	findmnt -J --mountpoint "$1" >"$LAB_TMP/findmnt.json" || { echo "not mounted: $1"; return 1; }
	python3 - "$LAB_TMP/findmnt.json" "$2" "$3" "$s" <<'PY'
import json, sys
fs = json.load(open(sys.argv[1]))["filesystems"]
assert len(fs) == 1, fs
f = fs[0]
assert f["fstype"] == sys.argv[2], f
o = f["options"].split(",")
for want in ("soft", "nosharecache", "timeo=100", "retrans=3", "vers=" + sys.argv[3]):
    assert want in o, (want, o)
assert "hard" not in o, o
print("mounted %s %s %s" % (f["source"], f["fstype"], f["options"]))
PY
}

id3=$(cat /proc/sys/kernel/random/uuid) id4=$(cat /proc/sys/kernel/random/uuid)
p3=$mnt/$(echo "$s:$LAB_NFS_EXPORT" | sed 's/_/__/g; s|/|_|g')
p4=$mnt/$s:_data

# v3, with an untidy path (normalised: BZ 1300749)
call connectStorageServer 1 "$BLANK" "$(conn "$id3" "$s:$LAB_NFS_EXPORT//" 3)" >"$LAB_TMP/r.json"
lab_check "v3 connect: status 0" [ "$(status_of "$LAB_TMP/r.json" "$id3")" = 0 ]
lab_check "v3 mounted at $p3 with VDSM's options" check_mount "$p3" nfs 3
lab_check "v3 mount reads the server's file" grep -qx "from the server" "$p3/f"
call connectStorageServer 1 "$BLANK" "$(conn "$id3" "$s:$LAB_NFS_EXPORT" 3)" >"$LAB_TMP/r.json"
lab_check "v3 reconnect: status 0" [ "$(status_of "$LAB_TMP/r.json" "$id3")" = 0 ]
lab_check "v3 reconnect is idempotent (one mount)" [ "$(findmnt -rn -o TARGET | grep -cxF "$p3")" = 1 ]

# v4.1 over the pseudo-root path
call connectStorageServer 1 "$BLANK" "$(conn "$id4" "$s:/data" 4.1)" >"$LAB_TMP/r.json"
lab_check "v4.1 connect: status 0" [ "$(status_of "$LAB_TMP/r.json" "$id4")" = 0 ]
lab_check "v4.1 mounted at $p4 with VDSM's options" check_mount "$p4" nfs4 4.1

# VDSM's access check after a mount (469): an export whose root is root's 0755 denies
# the storage user 36 write access; the mount is undone, the other entry of the same
# call connects (v4.1 again: idempotent). The export owned by 36:36 then connects.
lab_nfs_export closed
chmod 0755 "$LAB_NFS_DIR"
idc=$(cat /proc/sys/kernel/random/uuid)
pc=$mnt/$(echo "$s:$LAB_NFS_DIR" | sed 's/_/__/g; s|/|_|g')
one() { conn "$@" | sed 's/^\[//; s/\]$//'; }
call connectStorageServer 1 "$BLANK" "[$(one "$idc" "$s:$LAB_NFS_DIR" 3),$(one "$id4" "$s:/data" 4.1)]" >"$LAB_TMP/r.json"
lab_check "export root 0755 root:root: 469; the other entry 0" \
	[ "$(status_of "$LAB_TMP/r.json" "$idc") $(status_of "$LAB_TMP/r.json" "$id4")" = "469 0" ]
lab_check "... unmounted again, no mount point left" sh -c "! findmnt --mountpoint '$pc' >/dev/null && [ ! -e '$pc' ]"
lab_wait 10 "the agent's log to name the path and the user" \
	grep -qF "path = $pc (uid 36 gid 36 needs read, write and search access)" "$LAB_DAEMON_LOGDIR/vdsmd.log"
chown 36:36 "$LAB_NFS_DIR"
call connectStorageServer 1 "$BLANK" "$(conn "$idc" "$s:$LAB_NFS_DIR" 3)" >"$LAB_TMP/r.json"
lab_check "export root owned by 36:36: status 0, mounted" \
	sh -c "[ '$(status_of "$LAB_TMP/r.json" "$idc")' = 0 ] && findmnt --mountpoint '$pc' >/dev/null"
call disconnectStorageServer 1 "$BLANK" "$(conn "$idc" "$s:$LAB_NFS_DIR" 3)" >/dev/null

call disconnectStorageServer 1 "$BLANK" "$(conn "$id4" "$s:/data" 4.1)" >"$LAB_TMP/r.json"
lab_check "v4.1 disconnect: status 0" [ "$(status_of "$LAB_TMP/r.json" "$id4")" = 0 ]
lab_check "v4.1 unmounted, mount point removed" sh -c "! findmnt --mountpoint '$p4' >/dev/null && [ ! -e '$p4' ]"

# dead server: the mounted v3 connection still disconnects (forced, lazy) ...
lab_nfs_server_hang
lab_defer "lab_nfs_server_resume"
call disconnectStorageServer 1 "$BLANK" "$(conn "$id3" "$s:$LAB_NFS_EXPORT" 3)" >"$LAB_TMP/r.json"
lab_check "disconnect with the server dead: status 0" [ "$(status_of "$LAB_TMP/r.json" "$id3")" = 0 ]
lab_check "... unmounted" sh -c "! findmnt --mountpoint '$p3' >/dev/null"

# ... and a new connect fails with 477 after the mount timeout; meanwhile the agent answers.
idd=$(cat /proc/sys/kernel/random/uuid)
t0=$(lab_uptime)
(call connectStorageServer 1 "$BLANK" "$(conn "$idd" "$s:$LAB_NFS_EXPORT" 3)" >"$LAB_TMP/dead.json" 2>&1
 echo $? >"$LAB_TMP/dead.rc") &
bg=$!
# the agent creates the mount point right before it runs mount(8)
lab_wait 10 "the dead-server connect to be running in the agent" [ -d "$p3" ]
lab_check "ping answers while the mount hangs" call ping
stats_ok() { call getVdsStats >/dev/null; }
lab_check "getVdsStats answers while the mount hangs" stats_ok
lab_check "... and the connect was still running then" [ ! -e "$LAB_TMP/dead.rc" ]
wait "$bg" || true
dt=$(awk -v a="$t0" -v b="$(lab_uptime)" 'BEGIN { print b - a }')
lab_check "dead-server connect: status 477 (after ${dt}s, mount timeout ${MOUNT_TIMEOUT}s)" \
	[ "$(status_of "$LAB_TMP/dead.json" "$idd")" = 477 ]
lab_check "... and no mount point left" [ ! -e "$p3" ]
lab_nfs_server_resume
