#!/bin/bash
# lab-kind: fixture (a self-test of the lab fixtures; it does not drive the agent)
# lab-timeout: 120
# Dead NFS server fixture: after lab_nfs_server_hang (all packets to/from the server
# address dropped) reads on a hard mount (actimeo=0) block — a stat and a read do
# not return within 5 s — and a soft mount fails with EIO; after
# lab_nfs_server_resume the blocked read completes with the right data.
set -eu
. "$LAB_SRC/tests/lab/fixtures.sh"

lab_nfs_server
s=$LAB_NFS_SERVER
echo "before the hang" >"$LAB_NFS_EXPORT/f"
lab_nfs_mount 3 "$s:$LAB_NFS_EXPORT" "$LAB_TMP/hard" hard,actimeo=0,timeo=10,retrans=2
lab_nfs_mount 4.2 "$s:$LAB_NFS_V4_PATH" "$LAB_TMP/hard4" hard,actimeo=0,timeo=10,retrans=2
lab_nfs_mount 3 "$s:$LAB_NFS_EXPORT" "$LAB_TMP/soft" soft,actimeo=0,timeo=10,retrans=1
lab_check "all three mounts read the file" \
	sh -c "grep -q before '$LAB_TMP/hard/f' && grep -q before '$LAB_TMP/hard4/f' && grep -q before '$LAB_TMP/soft/f'"

lab_nfs_server_hang
t0=$(lab_uptime)
st=0
timeout -s KILL 5 stat "$LAB_TMP/hard/f" >/dev/null 2>&1 || st=$?
lab_check "stat on the hard v3 mount hangs (killed after 5 s, status $st)" [ "$st" = 137 ]
# a reader in the background stays blocked until the server is back
(cat "$LAB_TMP/hard4/f" >"$LAB_TMP/read4" 2>&1; echo $? >"$LAB_TMP/read4.rc") &
reader=$!
st=0
timeout -s KILL 5 cat "$LAB_TMP/hard/f" >/dev/null 2>&1 || st=$?
lab_check "read on the hard v3 mount hangs (status $st)" [ "$st" = 137 ]
lab_check "read on the hard v4.2 mount is still blocked" [ ! -e "$LAB_TMP/read4.rc" ]
st=0
timeout -s KILL 60 cat "$LAB_TMP/soft/f" >/dev/null 2>"$LAB_TMP/soft.err" || st=$?
lab_check "read on the soft mount fails with EIO ($(cat "$LAB_TMP/soft.err"))" \
	grep -q 'Input/output error' "$LAB_TMP/soft.err"
lab_ok "server dead for $(awk -v a="$t0" -v b="$(lab_uptime)" 'BEGIN { print b - a }')s"

lab_nfs_server_resume
t1=$(lab_uptime)
lab_wait 90 "the blocked v4.2 read to finish" [ -e "$LAB_TMP/read4.rc" ]
wait "$reader" || true
lab_ok "blocked read finished $(awk -v a="$t1" -v b="$(lab_uptime)" 'BEGIN { print b - a }')s after resume"
lab_check "it read the right data" grep -qx "before the hang" "$LAB_TMP/read4"
lab_check "the hard v3 mount answers again" grep -qx "before the hang" "$LAB_TMP/hard/f"
