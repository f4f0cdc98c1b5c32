#!/bin/bash
# lab-timeout: 240
# discoverSendTargets through the agent (API.md §5.5): vdsmd in the guest, called with
# vdsm-client over TLS, against a tgtd target reachable over two portals. Discovery on
# one portal returns the target's IQN once in `targets` and its portals in
# `fullTargets` ("<host>:<port>,<tpgt> <iqn>"), the same set iscsiadm itself finds
# (tgtd announces only the portal asked);
# bad input (option-like or malformed portal, bad port, CHAP credentials) gets its
# code and runs nothing (iscsiadm's node database unchanged); a portal that does not
# answer gives 475 after the agent's iscsiadm timeout. connectStorageServer (iSCSI)
# logs in without and with CHAP (wrong secret -> 476), idempotently, over both portals
# (2 sessions, seen by iscsiadm -m session); the secret never appears on a command line
# of the agent's children (sampled from /proc) nor in its log; the node record holding
# it is mode 600; disconnect logs out and deletes the records.
set -eu
. "$LAB_SRC/tests/lab/fixtures.sh"

ISCSI_TIMEOUT=6

lab_iscsid   # iscsiadm performs sendtargets discovery through iscsid
lab_iscsi_target "" 1 16
iqn=$LAB_ISCSI_IQN
set -- $LAB_ISCSI_ADDRS
a1=$1 a2=$2

lab_agent vdsmd "[irs]" "iscsi_timeout = $ISCSI_TIMEOUT"
call() { lab_call "$@"; }

# code_of ARGS...: the reply's status code (vdsm-client exits 1 on a non-zero code)
code_of() { call "$@" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("status", {}).get("code", 0))' || true; }
nodes() { iscsiadm -m node 2>/dev/null | sort || true; }

# bad input: nothing reaches iscsiadm
before=$(nodes)
for c in '{"connection":"-p","port":"3260","user":"","password":""}=472' \
	'{"connection":"10.199.1.1;reboot","port":"3260","user":"","password":""}=472' \
	'{"connection":"10.199.1.1","port":"70000","user":"","password":""}=1000' \
	"{\"connection\":\"$a1\",\"port\":\"3260\",\"user\":\"admin\",\"password\":\"s3cret\"}=475"; do
	con=${c%=*} want=${c##*=}
	got=$(code_of discoverSendTargets "$con")
	lab_check "discoverSendTargets $con -> $want (got $got)" [ "$got" = "$want" ]
done
lab_check "bad input left iscsiadm's node database unchanged" [ "$(nodes)" = "$before" ]
lab_check "no secret in the agent's log" sh -c "! grep -q s3cret '$LAB_DAEMON_LOGDIR/vdsmd.log'"

# discovery on the first portal
call discoverSendTargets "{\"connection\":\"$a1\",\"port\":\"3260\",\"user\":\"\",\"password\":\"\"}" >"$LAB_TMP/d.json"
iscsiadm -m discovery -t sendtargets -p "$a1:3260" | grep " $iqn\$" | sort >"$LAB_TMP/iscsiadm.txt"
lab_check "targets has $iqn once; fullTargets = what iscsiadm finds, incl. $a1:3260,1" \
	python3 - "$LAB_TMP/d.json" "$iqn" "$a1" "$a2" "$LAB_TMP/iscsiadm.txt" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
iqn, a1, a2 = sys.argv[2:5]
ours = sorted(t for t in r["fullTargets"] if t.endswith(" " + iqn))
assert r["targets"].count(iqn) == 1, r["targets"]
assert "%s:3260,1 %s" % (a1, iqn) in ours, ours
theirs = [l.strip() for l in open(sys.argv[5]) if l.strip()]
assert ours == theirs, (ours, theirs)
print("fullTargets:", ours)
PY

# ---- connectStorageServer / disconnectStorageServer, domType 3 (API.md §5.5)
# A second target that requires CHAP.
lab_iscsi_target "" 1 16
ciqn=$LAB_ISCSI_IQN
secret="chap-secret-$$"
tgtadm --lld iscsi --mode account --op new --user vdsmuser --password "$secret" || lab_die "tgtadm account"
lab_defer "tgtadm --lld iscsi --mode account --op delete --user vdsmuser"
tgtadm --lld iscsi --mode account --op bind --tid "$LAB_ISCSI_TID" --user vdsmuser || lab_die "tgtadm bind account"
lab_defer "lab_iscsi_logout $iqn; lab_iscsi_logout $ciqn"

vpid=$(lab_daemon_pid vdsmd)
# Every process the agent starts is sampled until $LAB_TMP/stop exists: a command line
# holding the secret is recorded (the secret is read from a file, not from our argv).
printf '%s\n' "$secret" >"$LAB_TMP/secret"
: >"$LAB_TMP/seen"
(
	while [ ! -e "$LAB_TMP/stop" ]; do
		# the agent's children, from every thread's children list (CONFIG_PROC_CHILDREN)
		for c in $(cat /proc/"$vpid"/task/*/children 2>/dev/null); do
			tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null >"$LAB_TMP/cmd" || continue
			[ -s "$LAB_TMP/cmd" ] || continue
			echo "$c" >>"$LAB_TMP/children"
			grep -qFf "$LAB_TMP/secret" "$LAB_TMP/cmd" && cat "$LAB_TMP/cmd" >>"$LAB_TMP/seen"
		done
	done
) &
scanner=$!

status_of() { lab_status_field "$1" "$2" status; }
BLANK=00000000-0000-0000-0000-000000000000
i1=$(cat /proc/sys/kernel/random/uuid) i2=$(cat /proc/sys/kernel/random/uuid)
c1=$(cat /proc/sys/kernel/random/uuid)

call connectStorageServer 3 "$BLANK" "$(lab_iscsi_conlist "$i1" "$a1" "$iqn" "" "")" >"$LAB_TMP/r.json"
lab_check "iSCSI connect without CHAP: status 0" [ "$(status_of "$LAB_TMP/r.json" "$i1")" = 0 ]
lab_check "iscsiadm -m session: 1 session to $iqn" [ "$(lab_iscsi_sessions "$iqn")" = 1 ]
call connectStorageServer 3 "$BLANK" "$(lab_iscsi_conlist "$i1" "$a1" "$iqn" "" "")" >"$LAB_TMP/r.json"
lab_check "reconnect: status 0, still 1 session" \
	sh -c "[ '$(status_of "$LAB_TMP/r.json" "$i1")' = 0 ] && [ '$(lab_iscsi_sessions "$iqn")' = 1 ]"
call connectStorageServer 3 "$BLANK" "$(lab_iscsi_conlist "$i2" "$a2" "$iqn" "" "")" >"$LAB_TMP/r.json"
lab_check "second portal: status 0, 2 sessions" \
	sh -c "[ '$(status_of "$LAB_TMP/r.json" "$i2")' = 0 ] && [ '$(lab_iscsi_sessions "$iqn")' = 2 ]"

call connectStorageServer 3 "$BLANK" "$(lab_iscsi_conlist "$c1" "$a1" "$ciqn" vdsmuser wrong-secret)" >"$LAB_TMP/r.json"
lab_check "CHAP with a wrong secret: 476 (got $(status_of "$LAB_TMP/r.json" "$c1"))" \
	[ "$(status_of "$LAB_TMP/r.json" "$c1")" = 476 ]
lab_check "... no session" [ "$(lab_iscsi_sessions "$ciqn")" = 0 ]
call connectStorageServer 3 "$BLANK" "$(lab_iscsi_conlist "$c1" "$a1" "$ciqn" vdsmuser "$secret")" >"$LAB_TMP/r.json"
lab_check "CHAP with the right secret: status 0" [ "$(status_of "$LAB_TMP/r.json" "$c1")" = 0 ]
lab_check "... 1 session to $ciqn" [ "$(lab_iscsi_sessions "$ciqn")" = 1 ]
rec=$(ls -d /etc/iscsi/nodes/"$ciqn"/*/default 2>/dev/null | head -n 1)
lab_check "node record $rec is mode 600" [ "$(stat -c %a "$rec")" = 600 ]

for x in "$i1 $a1 $iqn" "$i2 $a2 $iqn" "$c1 $a1 $ciqn"; do
	set -- $x
	call disconnectStorageServer 3 "$BLANK" "$(lab_iscsi_conlist "$1" "$2" "$3" "" "")" >"$LAB_TMP/r.json"
	lab_check "disconnect $2 $3: status 0" [ "$(status_of "$LAB_TMP/r.json" "$1")" = 0 ]
done
lab_check "no sessions left" sh -c "[ '$(lab_iscsi_sessions "$iqn")' = 0 ] && [ '$(lab_iscsi_sessions "$ciqn")' = 0 ]"
lab_check "node records deleted" [ ! -e "$rec" ]
touch "$LAB_TMP/stop"
wait "$scanner" || true
lab_check "children of the agent sampled ($(sort -u "$LAB_TMP/children" 2>/dev/null | wc -l) processes), none with the secret on its command line" \
	sh -c "[ -s '$LAB_TMP/children' ] && [ ! -s '$LAB_TMP/seen' ]"
lab_check "no secret in the agent's log" sh -c "! grep -qFf '$LAB_TMP/secret' '$LAB_DAEMON_LOGDIR/vdsmd.log'"

# a portal that does not answer
lab_block_addr "$a2"
t0=$(lab_uptime)
got=$(code_of discoverSendTargets "{\"connection\":\"$a2\",\"port\":\"3260\",\"user\":\"\",\"password\":\"\"}")
dt=$(awk -v a="$t0" -v b="$(lab_uptime)" 'BEGIN { print b - a }')
lab_check "discovery on a dead portal -> 475 (after ${dt}s, iscsi_timeout ${ISCSI_TIMEOUT}s)" [ "$got" = 475 ]
lab_check "the agent still answers" call ping
lab_unblock_addr "$a2"
