#!/bin/bash
# lab-kind: fixture (a self-test of the lab fixtures; it does not drive the agent)
# lab-timeout: 60
# The harness itself: what every lab test can rely on.
#  - it runs in the guest on Debian's kernel with the lab modules loaded,
#  - $LAB_SRC is the checkout (same absolute path as on the host),
#  - the root fs is an overlay: host / (9p, read-only) under a tmpfs, so writes
#    anywhere (the checkout included) stay in the guest,
#  - $LAB_TMP is an empty writable scratch dir,
#  - fixtures.sh loads; lab_defer cleanups run at exit, LIFO, and keep the status.
set -eu
. "$LAB_SRC/tests/lab/fixtures.sh"

kver=$(uname -r)
lab_check "guest kernel $kver is the Debian one the host chose ($LAB_KVER)" [ "$kver" = "$LAB_KVER" ]
lab_check "running as root in the guest" [ "$(id -u)" = 0 ]
lab_check "hostname is lab" [ "$(hostname)" = lab ]
lab_check "checkout visible at \$LAB_SRC=$LAB_SRC" [ -x "$LAB_SRC/tests/lab/run" ]
lab_check "guest root is an overlay" [ "$(stat -f -c %T /)" = overlayfs ]
lab_check "the host's / is the read-only lower layer (9p)" \
	grep -q "^root / overlay .*lowerdir=/lower," /proc/mounts
lab_check "\$LAB_TMP=$LAB_TMP exists and is empty" [ -d "$LAB_TMP" -a -z "$(ls -A "$LAB_TMP")" ]
echo probe >"$LAB_TMP/f" && lab_check "\$LAB_TMP is writable" grep -qx probe "$LAB_TMP/f"
echo probe >/etc/lab-write-probe && lab_check "guest root is writable (tmpfs overlay)" [ -s /etc/lab-write-probe ]
rm -f /etc/lab-write-probe
for m in 8021q bonding dummy bridge loop sd_mod dm_multipath iscsi_tcp nfs nfsv4 nfsd; do
	grep -q "^$m " /proc/modules || lab_die "module $m not loaded"
done
lab_ok "lab modules loaded (8021q bonding dummy bridge loop sd_mod dm_multipath iscsi_tcp nfs nfsv4 nfsd)"
lab_check "no stray bond0/dummy0 from module defaults" sh -c '! ip link show bond0 && ! ip link show dummy0' 2>/dev/null

# lab_defer: LIFO order, runs on failure too, exit status preserved.
out=$LAB_TMP/defer.out
status=0
bash -c '. "$LAB_SRC/tests/lab/fixtures.sh"
	lab_defer "echo first >>'"$out"'"
	lab_defer "echo second >>'"$out"'"
	exit 3' || status=$?
lab_check "cleanup keeps the test's exit status" [ "$status" = 3 ]
lab_check "deferred cleanups ran last-in first-out" [ "$(cat "$out" | tr '\n' ' ')" = "second first " ]

# lab_daemon / lab_daemon_stop: by recorded PID.
lab_daemon lab-sleeper sleep 1000
pid=$(lab_daemon_pid lab-sleeper)
lab_check "lab_daemon records the PID ($pid)" [ "$(cat /proc/$pid/comm)" = sleep ]
lab_daemon_stop lab-sleeper
[ ! -e /run/lab/lab-sleeper.pid ] || lab_die "pid file left"
lab_wait 10 "sleeper gone" _lab_pid_gone "$pid"
lab_ok "lab_daemon_stop stopped PID $pid"
