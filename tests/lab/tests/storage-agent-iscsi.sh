#!/bin/bash
# lab-timeout: 120
# discoverSendTargets through the agent (API.md §5.5): vdsmd in the guest, called with
# vdsm-client over TLS, against a tgtd target reachable over two portals. Discovery on
# one portal returns the target's IQN once in `targets` and its portals in
# `fullTargets` ("<host>:<port>,<tpgt> <iqn>"), the same set iscsiadm itself finds
# (tgtd announces only the portal asked);
# bad input (option-like or malformed portal, bad port, CHAP credentials) gets its
# code and runs nothing (iscsiadm's node database unchanged); a portal that does not
# answer gives 475 after the agent's iscsiadm timeout.
set -eu
. "$LAB_SRC/tests/lab/fixtures.sh"

VDSMD=${VDSMD:-$LAB_SRC/build/vdsmd}
CLIENT=${VDSM_CLIENT:-$LAB_SRC/build/vdsm-client}
[ -x "$VDSMD" ] && [ -x "$CLIENT" ] || lab_die "build vdsmd and vdsm-client first (make)"
ISCSI_TIMEOUT=6

lab_iscsid   # iscsiadm performs sendtargets discovery through iscsid
lab_iscsi_target "" 1 16
iqn=$LAB_ISCSI_IQN
set -- $LAB_ISCSI_ADDRS
a1=$1 a2=$2

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
iscsi_timeout = $ISCSI_TIMEOUT
CONF
lab_daemon vdsmd "$VDSMD" --config "$LAB_TMP/vdsm.conf" --foreground
lab_defer "lab_daemon_stop vdsmd"
lab_wait 30 "vdsmd port file" test -s "$root/run/vdsm-c/vdsmd.port"
port=$(cat "$root/run/vdsm-c/vdsmd.port")
call() { "$CLIENT" --port "$port" --pki "$pki" "$@"; }
lab_wait 60 "vdsmd ready" call ping

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

# a portal that does not answer
lab_block_addr "$a2"
t0=$(lab_uptime)
got=$(code_of discoverSendTargets "{\"connection\":\"$a2\",\"port\":\"3260\",\"user\":\"\",\"password\":\"\"}")
dt=$(awk -v a="$t0" -v b="$(lab_uptime)" 'BEGIN { print b - a }')
lab_check "discovery on a dead portal -> 475 (after ${dt}s, iscsi_timeout ${ISCSI_TIMEOUT}s)" [ "$got" = 475 ]
lab_check "the agent still answers" call ping
lab_unblock_addr "$a2"
