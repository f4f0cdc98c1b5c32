#!/bin/bash
# lab-timeout: 150
# Fault table (issue 16): iscsid dies under the agent. vdsmd in the guest, called with
# vdsm-client over TLS. While iscsid is down: connectStorageServer (iSCSI) gets a
# non-zero per-connection status with a message naming iscsid, within the agent's
# iscsiadm timeout, no session appears; discoverSendTargets gets its code; ping and
# getVdsStats keep answering; a session made before the fault stays (the kernel keeps
# it). When iscsid is back: the same connect succeeds (a session, seen by iscsiadm),
# and disconnect logs out.
set -eu
. "$LAB_SRC/tests/lab/fixtures.sh"

ISCSI_TIMEOUT=6
BLANK=00000000-0000-0000-0000-000000000000

lab_iscsid
lab_iscsi_target "" 1 16
iqn=$LAB_ISCSI_IQN
set -- $LAB_ISCSI_ADDRS
a1=$1 a2=$2

lab_agent vdsmd "[irs]" "iscsi_timeout = $ISCSI_TIMEOUT"
call() { lab_call "$@"; }
lab_defer "iscsiadm -m node -T $iqn -u; iscsiadm -m node -T $iqn -o delete"

i1=11111111-1111-4111-8111-111111111111
i2=22222222-2222-4222-8222-222222222222

# a session before the fault
call connectStorageServer 3 "$BLANK" "$(lab_iscsi_conlist "$i1" "$a1" "$iqn")" >"$LAB_TMP/r.json"
lab_check "before the fault: portal 1 logged in" \
	sh -c "[ '$(lab_status_field "$LAB_TMP/r.json" "$i1" status)' = 0 ] && [ '$(lab_iscsi_sessions "$iqn")' = 1 ]"

lab_daemon_stop iscsid
# if a check below fails, iscsid must be back before the cleanup logs out (LIFO), or the
# session outlives its target and every later test's udev settle waits on its disk
lab_defer "lab_iscsid"
lab_check "iscsid is gone" sh -c '! grep -q "@ISCSIADM_ABSTRACT_NAMESPACE" /proc/net/unix'
t0=$(lab_uptime)
call connectStorageServer 3 "$BLANK" "$(lab_iscsi_conlist "$i2" "$a2" "$iqn")" >"$LAB_TMP/r.json"
dt=$(awk -v a="$t0" -v b="$(lab_uptime)" 'BEGIN { print b - a }')
st=$(lab_status_field "$LAB_TMP/r.json" "$i2" status)
lab_log "iscsid dead: connect -> status $st ($(lab_status_field "$LAB_TMP/r.json" "$i2" message)) after ${dt}s"
lab_check "iscsid dead: connect portal 2 -> non-zero status $st (after ${dt}s)" [ "$st" != 0 ]
lab_check "... the agent's log says iscsiadm could not reach iscsid" \
	grep -q "cannot reach iscsid" "$LAB_DAEMON_LOGDIR/vdsmd.log"
lab_check "... still 1 session (the one made before the fault)" [ "$(lab_iscsi_sessions "$iqn")" = 1 ]
call discoverSendTargets "{\"connection\":\"$a2\",\"port\":\"3260\",\"user\":\"\",\"password\":\"\"}" >"$LAB_TMP/d.json" 2>/dev/null || true
got=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["status"]; print(s["code"], s["message"])' "$LAB_TMP/d.json")
lab_log "iscsid dead: discoverSendTargets -> $got"
lab_check "iscsid dead: discoverSendTargets -> 475, the message names iscsid" \
	sh -c "echo '$got' | grep -q '^475 .*cannot reach iscsid'"
lab_check "the agent answers ping" call ping
lab_check "the agent answers getVdsStats" call getVdsStats

lab_iscsid
call connectStorageServer 3 "$BLANK" "$(lab_iscsi_conlist "$i2" "$a2" "$iqn")" >"$LAB_TMP/r.json"
lab_check "iscsid back: connect portal 2 -> status 0, 2 sessions" \
	sh -c "[ '$(lab_status_field "$LAB_TMP/r.json" "$i2" status)' = 0 ] && [ '$(lab_iscsi_sessions "$iqn")' = 2 ]"
for x in "$i1 $a1" "$i2 $a2"; do
	set -- $x
	call disconnectStorageServer 3 "$BLANK" "$(lab_iscsi_conlist "$1" "$2" "$iqn")" >"$LAB_TMP/r.json"
	lab_check "disconnect $2: status 0" [ "$(lab_status_field "$LAB_TMP/r.json" "$1" status)" = 0 ]
done
lab_check "no session left" [ "$(lab_iscsi_sessions "$iqn")" = 0 ]
