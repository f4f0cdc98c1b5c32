# tests/lab/fixtures.sh — guest-side fixtures for lab tests (bash).
#
# A lab test sources this file:   . "$LAB_SRC/tests/lab/fixtures.sh"
# Reference: tests/lab/README.md ("Fixture reference").  Fixtures report through
# variables (LAB_*), never on stdout: call them directly, not in $(...), or their
# cleanup registration is lost with the subshell.  In short:
#   - helpers:    lab_log lab_die lab_ok lab_check lab_wait lab_defer lab_uptime
#   - daemons:    lab_daemon lab_daemon_pid lab_daemon_stop
#   - services:   lab_udevd lab_multipathd lab_iscsid lab_tgtd lab_nfsd lab_lvm
#                 (started once per boot, left running for later tests)
#   - network:    lab_nics lab_vlan lab_bond lab_bridge lab_addr
#   - block:      lab_scsi_debug lab_loopdev lab_mpath_wait lab_mpath_maps_of
#   - iSCSI:      lab_iscsi_portals lab_iscsi_target lab_iscsi_login lab_iscsi_logout
#                 lab_iscsi_devs lab_iscsi_path_down lab_iscsi_path_up
#   - NFS:        lab_nfs_server lab_nfs_export lab_nfs_mount
#                 lab_nfs_server_hang lab_nfs_server_resume
#   - LVM:        lab_vg
#   - faults:     lab_block_addr lab_unblock_addr (drop all traffic of a local address)
# Resources made by a fixture are torn down when the test exits, in reverse order
# (lab_defer), unless LAB_NO_CLEANUP=1.  Processes are only ever stopped by the PID
# recorded when the fixture started them.
#
# Addresses used (all local to the guest): iSCSI portals 10.199.1.1 and 10.199.2.1
# (dummy NICs labsan1, labsan2), NFS server 10.199.3.1 (dummy NIC labnfs0).

[ -z "${_LAB_FIXTURES_LOADED:-}" ] || return 0
_LAB_FIXTURES_LOADED=1

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LVM_SUPPRESS_FD_WARNINGS=1
LAB_RUN=/run/lab                         # per-boot state: pid files, backing files
LAB_TMP=${LAB_TMP:-$(mktemp -d /tmp/lab.XXXXXX)}
LAB_NO_CLEANUP=${LAB_NO_CLEANUP:-0}
if [ -d /lab/logs ]; then
	LAB_DAEMON_LOGDIR=/lab/logs/daemons  # comes back to the host with the results
else
	LAB_DAEMON_LOGDIR=$LAB_RUN/logs
fi
mkdir -p "$LAB_RUN" "$LAB_DAEMON_LOGDIR"

LAB_ISCSI_ADDRS="10.199.1.1 10.199.2.1"
LAB_ISCSI_PORTALS="10.199.1.1:3260 10.199.2.1:3260"
LAB_NFS_SERVER=10.199.3.1

# ------------------------------------------------------------------ messages, checks

lab_uptime() { local u _; read -r u _ </proc/uptime; echo "$u"; }
lab_log() { echo "[$(lab_uptime)] $*" >&2; }
lab_die() { echo "FAIL: $*" >&2; exit 1; }
lab_ok() { echo "ok: $*"; }

# lab_check DESCRIPTION CMD...  — run CMD; "ok: DESCRIPTION" or fail the test.
lab_check() {
	local desc=$1
	shift
	if "$@"; then
		lab_ok "$desc"
	else
		lab_die "$desc (command: $*)"
	fi
}

# lab_wait SECONDS DESCRIPTION CMD...  — poll CMD (every 0.2 s, output hidden) until
# it succeeds; fail the test after SECONDS.
lab_wait() {
	local secs=$1 desc=$2 u _ end
	shift 2
	read -r u _ </proc/uptime
	end=$((10#${u/./} + secs * 100))
	until "$@" >/dev/null 2>&1; do
		read -r u _ </proc/uptime
		[ $((10#${u/./})) -lt "$end" ] || lab_die "timed out after ${secs}s waiting for: $desc"
		sleep 0.2
	done
}

# ------------------------------------------------------------------ cleanup stack

_lab_deferred=()
# lab_defer CMD-STRING  — run CMD-STRING (eval) when the test exits, last-in first-out.
lab_defer() { _lab_deferred+=("$1"); }

lab_cleanup() {
	local i
	[ "$LAB_NO_CLEANUP" = 1 ] && { _lab_deferred=(); return 0; }
	for ((i = ${#_lab_deferred[@]} - 1; i >= 0; i--)); do
		eval "${_lab_deferred[i]}" >/dev/null 2>&1 ||
			echo "lab cleanup: failed (ignored): ${_lab_deferred[i]}" >&2
	done
	_lab_deferred=()
}
if [[ $- != *i* ]]; then
	trap '_lab_rc=$?; trap - EXIT; lab_cleanup; exit $_lab_rc' EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
fi

# ------------------------------------------------------------------ daemons

# lab_daemon NAME CMD...  — start CMD (which must stay in the foreground) in its own
# session, output to $LAB_DAEMON_LOGDIR/NAME.log, PID in /run/lab/NAME.pid.
lab_daemon() {
	local name=$1 mon=$-
	shift
	# Without job control the background child is not a process-group leader, so
	# setsid(1) does not fork and $! is the daemon itself (interactive shells too).
	set +m
	setsid "$@" </dev/null >>"$LAB_DAEMON_LOGDIR/$name.log" 2>&1 &
	echo $! >"$LAB_RUN/$name.pid"
	[[ $mon != *m* ]] || set -m
}

# lab_daemon_pid NAME  — print the PID of a running fixture daemon; status 1 if none.
lab_daemon_pid() {
	local pid st
	[ -r "$LAB_RUN/$1.pid" ] || return 1
	read -r pid <"$LAB_RUN/$1.pid"
	[ -r "/proc/$pid/stat" ] || return 1
	st=$(sed 's/.*) \(.\).*/\1/' "/proc/$pid/stat")
	[ "$st" != Z ] || return 1
	echo "$pid"
}

_lab_pid_gone() { ! kill -0 "$1" 2>/dev/null || [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

# lab_daemon_stop NAME  — SIGTERM the recorded PID, SIGKILL after 5 s.
lab_daemon_stop() {
	local pid i
	pid=$(lab_daemon_pid "$1") || return 0
	kill "$pid" 2>/dev/null
	for i in $(seq 25); do
		_lab_pid_gone "$pid" && break
		sleep 0.2
	done
	_lab_pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null
	rm -f "$LAB_RUN/$1.pid"
}

# ------------------------------------------------------------------ services (per boot)

# lab_agent NAME [CONFIG-LINE...]  — the agent under test (build/vdsmd, or $VDSMD) as
# fixture daemon NAME: the test PKI (made once per test in $LAB_TMP/pki, CN localhost),
# its own root $LAB_TMP/root-NAME, 127.0.0.1 on a free port, no libvirt. A CONFIG-LINE
# "key = value" goes into [vars]; a "[section]" line starts another section for the
# lines after it. Waits until the agent answers ping; stopped at exit. Sets
# LAB_AGENT_ROOT, LAB_AGENT_PORT and LAB_AGENT_PKI for lab_call.
lab_agent() {
	local name=$1 line vdsmd=${VDSMD:-$LAB_SRC/build/vdsmd} conf
	shift
	[ -x "$vdsmd" ] && [ -x "${VDSM_CLIENT:-$LAB_SRC/build/vdsm-client}" ] ||
		lab_die "build vdsmd and vdsm-client first (make)"
	LAB_AGENT_PKI=$LAB_TMP/pki
	[ -s "$LAB_AGENT_PKI/certs/vdsmcert.pem" ] ||
		"$LAB_SRC/scripts/vdsm-c-certs" --dir "$LAB_AGENT_PKI" --cn localhost >/dev/null
	LAB_AGENT_ROOT=$LAB_TMP/root-$name
	mkdir -p "$LAB_AGENT_ROOT"
	# the agent's root stands for /: its storage user (36) must reach the mount points
	chmod 0711 "$LAB_TMP"
	chmod 0755 "$LAB_AGENT_ROOT"
	conf=$LAB_TMP/$name.conf
	{
		printf '[vars]\ntrust_store_path = %s\nroot = %s\n' "$LAB_AGENT_PKI" "$LAB_AGENT_ROOT"
		printf 'management_ip = 127.0.0.1\nmanagement_port = 0\n'
		printf 'libvirt_uri = qemu:///system?socket=/nonexistent/libvirt-sock\n'
		for line in "$@"; do printf '%s\n' "$line"; done
	} >"$conf"
	lab_daemon "$name" "$vdsmd" --config "$conf" --foreground
	lab_defer "lab_daemon_stop $name"
	lab_wait 30 "$name port file" test -s "$LAB_AGENT_ROOT/run/vdsm-c/vdsmd.port"
	LAB_AGENT_PORT=$(cat "$LAB_AGENT_ROOT/run/vdsm-c/vdsmd.port")
	lab_wait 60 "$name answers ping" lab_call ping
}

# lab_call VERB [ARG...]  — vdsm-client over mTLS against the last lab_agent; the reply
# (JSON) on stdout. LAB_CALL_TIMEOUT (s) overrides the client's default timeout.
lab_call() {
	"${VDSM_CLIENT:-$LAB_SRC/build/vdsm-client}" --port "$LAB_AGENT_PORT" --pki "$LAB_AGENT_PKI" \
		${LAB_CALL_TIMEOUT:+--timeout "$LAB_CALL_TIMEOUT"} "$@"
}

# lab_udevd  — systemd-udevd, and coldplug of block devices.  Needed by multipath,
# LVM and /dev/disk/by-*.
lab_udevd() {
	lab_daemon_pid udevd >/dev/null && return 0
	lab_daemon udevd /lib/systemd/systemd-udevd
	lab_wait 20 "systemd-udevd control socket" udevadm control --ping
	udevadm trigger --action=add --subsystem-match=block
	udevadm settle -t 60 || lab_log "udev queue still busy after 60 s; going on"
}

# lab_multipathd  — multipathd (-d -s) with /etc/multipath.conf.  The file is only
# written when it does not exist yet (a test may write its own first), or from
# $LAB_MULTIPATH_CONF when that is set.  Default: WWIDs as map names, every
# non-blacklisted SCSI disk gets a map, path checks every 2 s.
lab_multipathd() {
	lab_daemon_pid multipathd >/dev/null && return 0
	lab_udevd
	if [ -n "${LAB_MULTIPATH_CONF:-}" ]; then
		cp "$LAB_MULTIPATH_CONF" /etc/multipath.conf
	elif [ ! -e /etc/multipath.conf ]; then
		cat >/etc/multipath.conf <<-'EOF'
		defaults {
		    user_friendly_names no
		    find_multipaths no
		    polling_interval 2
		    max_polling_interval 4
		    no_path_retry fail
		}
		blacklist {
		    devnode "^(ram|zram|loop|fd|md|dm-|sr|scd|st|nbd|vd)[0-9]*"
		}
		EOF
	fi
	lab_daemon multipathd multipathd -d -s
	lab_wait 30 "multipathd answering" multipathd show daemon
}

# lab_iscsid  — the open-iscsi daemon.  Node defaults for fast failure detection are
# set per login (lab_iscsi_login).
lab_iscsid() {
	lab_daemon_pid iscsid >/dev/null && return 0
	if [ ! -s /etc/iscsi/initiatorname.iscsi ]; then
		mkdir -p /etc/iscsi
		echo "InitiatorName=iqn.2026-11.lab:initiator" >/etc/iscsi/initiatorname.iscsi
	fi
	lab_daemon iscsid iscsid -f
	lab_wait 20 "iscsid control socket" sh -c 'grep -q "@ISCSIADM_ABSTRACT_NAMESPACE" /proc/net/unix'
}

# lab_tgtd  — the tgt iSCSI target daemon (listens on every address, port 3260).
lab_tgtd() {
	lab_daemon_pid tgtd >/dev/null && return 0
	lab_daemon tgtd tgtd -f
	lab_wait 20 "tgtd answering" tgtadm --lld iscsi --mode sys --op show
}

# lab_nfsd  — the NFS server side: rpcbind, rpc.statd, nfsd (8 threads, v3 and v4,
# short v4 grace and lease times so v4 opens are allowed within seconds), rpc.mountd.
lab_nfsd() {
	lab_daemon_pid mountd >/dev/null && return 0
	lab_daemon_pid rpcbind >/dev/null || {
		mkdir -p /run/rpcbind
		lab_daemon rpcbind rpcbind -f -w
		lab_wait 20 "rpcbind answering" rpcinfo -p 127.0.0.1
	}
	mountpoint -q /proc/fs/nfsd || mount -t nfsd nfsd /proc/fs/nfsd
	mkdir -p /var/lib/nfs/sm /var/lib/nfs/sm.bak /var/lib/nfs/v4recovery
	lab_daemon_pid statd >/dev/null || lab_daemon statd rpc.statd -F --no-notify
	if ! grep -q '[1-9]' /proc/fs/nfsd/threads 2>/dev/null; then
		echo "${LAB_NFS_GRACE:-10}" >/proc/fs/nfsd/nfsv4gracetime
		echo "${LAB_NFS_LEASE:-10}" >/proc/fs/nfsd/nfsv4leasetime
		rpc.nfsd 8 >>"$LAB_DAEMON_LOGDIR/nfsd.log" 2>&1 || lab_die "rpc.nfsd failed"
	fi
	lab_daemon mountd rpc.mountd -F
	lab_wait 20 "rpc.mountd registered" sh -c 'rpcinfo -p 127.0.0.1 | grep -q mountd'
	lab_wait 20 "nfsd registered" sh -c 'rpcinfo -p 127.0.0.1 | grep -q nfs'
}

# lab_lvm  — make the LVM tools usable in the guest: udev running (LVM waits for
# udev), lock dir present.  LVM itself needs no daemon.
lab_lvm() {
	lab_udevd
	mkdir -p /run/lock/lvm /run/lvm
}

# ------------------------------------------------------------------ network

_lab_link_del() { lab_defer "ip link del $1"; }

# lab_nics N [PREFIX]  — N dummy NICs PREFIX0..PREFIX<N-1> (default "labnic"), up.
# Stand-ins for physical NICs.  Sets LAB_NICS to their names.
lab_nics() {
	local n=$1 prefix=${2:-labnic} i
	LAB_NICS=""
	for ((i = 0; i < n; i++)); do
		ip link add "$prefix$i" type dummy || lab_die "cannot create dummy $prefix$i"
		_lab_link_del "$prefix$i"
		ip link set "$prefix$i" up
		LAB_NICS="$LAB_NICS $prefix$i"
	done
	LAB_NICS=${LAB_NICS# }
}

# lab_vlan PARENT VID [NAME]  — 802.1Q VLAN VID over PARENT (default name PARENT.VID), up.
lab_vlan() {
	local parent=$1 vid=$2 name=${3:-$1.$2}
	ip link add link "$parent" name "$name" type vlan id "$vid" || lab_die "cannot create vlan $name"
	_lab_link_del "$name"
	ip link set "$name" up
}

# lab_bond NAME MODE SLAVE...  — bond NAME in MODE (e.g. active-backup, 802.3ad,
# balance-rr) with miimon 100 (LAB_BOND_OPTS adds more, e.g. "primary labnic0"),
# enslaves the SLAVEs, up.
lab_bond() {
	local name=$1 mode=$2 s
	shift 2
	# shellcheck disable=SC2086
	ip link add "$name" type bond mode "$mode" miimon 100 ${LAB_BOND_OPTS:-} ||
		lab_die "cannot create bond $name"
	_lab_link_del "$name"
	for s in "$@"; do
		ip link set "$s" down
		ip link set "$s" master "$name" || lab_die "cannot enslave $s to $name"
		ip link set "$s" up
	done
	ip link set "$name" up
}

# lab_bridge NAME [PORT...]  — Linux bridge (STP off, forward delay 0) with PORTs, up.
lab_bridge() {
	local name=$1 p
	shift
	ip link add "$name" type bridge stp_state 0 forward_delay 0 || lab_die "cannot create bridge $name"
	_lab_link_del "$name"
	for p in "$@"; do
		ip link set "$p" master "$name" || lab_die "cannot add $p to $name"
	done
	ip link set "$name" up
}

# lab_addr IFACE CIDR  — add an address (removed at exit unless the link goes first).
lab_addr() {
	ip addr add "$2" dev "$1" || lab_die "cannot add $2 to $1"
	lab_defer "ip addr del $2 dev $1"
}

# ------------------------------------------------------------------ fault injection

# lab_block_addr ADDR  — drop every packet to or from the local address ADDR (egress
# on lo, which carries all guest-local traffic), so established connections stall
# as if the server were dead.  No iptables/nft here: tc u32 filters with a drop
# action, one filter priority per blocked address (recorded in /run/lab/blocked).
lab_block_addr() {
	local a=$1 pref=100
	grep -q "^$a " "$LAB_RUN/blocked" 2>/dev/null && return 0
	tc qdisc show dev lo | grep -q 'qdisc prio 1:' ||
		tc qdisc add dev lo root handle 1: prio || lab_die "tc qdisc on lo"
	while grep -q " $pref\$" "$LAB_RUN/blocked" 2>/dev/null; do pref=$((pref + 1)); done
	tc filter add dev lo parent 1: protocol ip pref "$pref" u32 match ip dst "$a/32" action drop &&
		tc filter add dev lo parent 1: protocol ip pref "$pref" u32 match ip src "$a/32" action drop ||
		lab_die "tc filter for $a"
	echo "$a $pref" >>"$LAB_RUN/blocked"
	lab_defer "lab_unblock_addr $a"
}

# lab_unblock_addr ADDR  — undo lab_block_addr ADDR.
lab_unblock_addr() {
	local a=$1 pref
	pref=$(awk -v a="$a" '$1 == a { print $2 }' "$LAB_RUN/blocked" 2>/dev/null)
	[ -n "$pref" ] || return 0
	tc filter del dev lo parent 1: protocol ip pref "$pref" u32
	sed -i "/^${a//./\\.} /d" "$LAB_RUN/blocked"
	[ -s "$LAB_RUN/blocked" ] || tc qdisc del dev lo root 2>/dev/null
	return 0
}

# ------------------------------------------------------------------ block devices

# lab_scsi_debug LUNS [PATHS] [SIZE_MB]  — load scsi_debug: PATHS SCSI hosts (default
# 2) each seeing the same LUNS LUNs (vpd_use_hostno=0 gives one identity per LUN),
# SIZE_MB (default 8) of shared RAM store.  Note: all LUNs share that store, so
# their data aliases — good for device listing and multipath, not for LVM on more
# than one LUN.  Sets LAB_SD_DEVS (sdX names, PATHS*LUNS of them).  Starts udevd.
lab_scsi_debug() {
	local luns=$1 paths=${2:-2} size=${3:-8}
	lab_udevd
	grep -q '^scsi_debug ' /proc/modules && lab_die "scsi_debug is already loaded"
	modprobe scsi_debug add_host="$paths" num_tgts=1 max_luns="$luns" \
		vpd_use_hostno=0 dev_size_mb="$size" || lab_die "modprobe scsi_debug"
	lab_defer "_lab_scsi_debug_remove"
	lab_wait 60 "$((luns * paths)) scsi_debug disks" _lab_sd_count_is $((luns * paths))
	udevadm settle -t 60 || lab_log "udev queue still busy after 60 s; going on"
	LAB_SD_DEVS=$(_lab_scsi_debug_devs)
}
_lab_scsi_debug_devs() {
	local d
	for d in /sys/bus/pseudo/drivers/scsi_debug/adapter*/host*/target*/*/block/*; do
		[ -e "$d" ] && echo "${d##*/}"
	done | sort | tr '\n' ' ' | sed 's/ $//'
}
_lab_sd_count_is() { [ "$(_lab_scsi_debug_devs | wc -w)" = "$1" ]; }
_lab_scsi_debug_remove() {
	local d m
	# Paths first: multipathd drops a map when its last path goes.
	for d in $(_lab_scsi_debug_devs); do
		echo 1 >"/sys/block/$d/device/delete"
	done
	udevadm settle -t 30 || lab_log "udev queue still busy after 30 s; going on"
	for m in $(dmsetup ls --target multipath 2>/dev/null | awk '$1 ~ /scsi_debug/ { print $1 }'); do
		multipath -f "$m" || dmsetup remove --retry "$m"
	done
	modprobe -r scsi_debug
}

# lab_loopdev SIZE_MB  — a loop device over a sparse file in /run/lab (tmpfs).
# Sets LAB_LOOPDEV (/dev/loopN).
lab_loopdev() {
	local f dev
	mkdir -p "$LAB_RUN/loop"
	f=$(mktemp "$LAB_RUN/loop/img.XXXXXX")
	truncate -s "${1}M" "$f"
	dev=$(losetup -f --show "$f") || lab_die "losetup $f"
	lab_defer "losetup -d $dev; rm -f $f"
	LAB_LOOPDEV=$dev
}

# lab_mpath_maps_of DEV...  — the multipath map names (WWIDs) that contain DEVs.
lab_mpath_maps_of() {
	local re
	re=$(echo "$@" | sed 's/ /|/g')
	multipathd show paths raw format "%d %m" 2>/dev/null |
		awk -v re="^($re)\$" '$1 ~ re && $2 != "[orphan]" { print $2 }' | sort -u
}

# lab_mpath_wait MAP NPATHS [TIMEOUT]  — wait until multipath map MAP has NPATHS
# paths that are active (dm) and ready (checker).
lab_mpath_wait() {
	lab_wait "${3:-60}" "map $1 with $2 active paths" _lab_mpath_active_is "$1" "$2"
}
# _lab_mpath_active_is MAP N  — exactly N active+ready paths in MAP
_lab_mpath_active_is() {
	[ "$(multipathd show paths raw format "%m %t %T" 2>/dev/null |
		awk -v m="$1" '$1 == m && $2 == "active" && $3 == "ready"' | wc -l)" = "$2" ]
}

# ------------------------------------------------------------------ iSCSI

# lab_iscsi_portals  — the two portal addresses 10.199.1.1 and 10.199.2.1 on dummy
# NICs labsan1/labsan2 (per boot; kept for later tests).
lab_iscsi_portals() {
	local i=1 a
	for a in $LAB_ISCSI_ADDRS; do
		if ! ip link show "labsan$i" >/dev/null 2>&1; then
			ip link add "labsan$i" type dummy &&
				ip addr add "$a/24" dev "labsan$i" &&
				ip link set "labsan$i" up || lab_die "portal address $a"
		fi
		i=$((i + 1))
	done
}

# lab_iscsi_node_defaults KEY=VALUE...  — iscsid.conf's defaults for the node records
# the agent creates (e.g. a replacement timeout of seconds, so a path fails over fast);
# the file is restored at exit (the guest's /etc is a per-boot overlay anyway).
lab_iscsi_node_defaults() {
	local kv
	cp /etc/iscsi/iscsid.conf "$LAB_TMP/iscsid.conf.orig"
	lab_defer "cp '$LAB_TMP/iscsid.conf.orig' /etc/iscsi/iscsid.conf"
	for kv in "$@"; do
		python3 - /etc/iscsi/iscsid.conf "${kv%%=*}" "${kv#*=}" <<'PY'
import sys
path, key, value = sys.argv[1:]
lines = open(path).read().split("\n")
lines = [key + " = " + value if l.split("=")[0].strip() == key else l for l in lines]
open(path, "w").write("\n".join(lines))
PY
	done
}

# lab_iscsi_conlist ID PORTAL IQN [USER PASSWORD]  — a one-entry iSCSI conList (port 3260)
lab_iscsi_conlist() {
	printf '[{"id":"%s","connection":"%s","port":"3260","iqn":"%s","user":"%s","password":"%s"}]' \
		"$1" "$2" "$3" "${4:-}" "${5:-}"
}

# lab_status_field REPLY_FILE ID FIELD  — that field of the statuslist entry with that id
lab_status_field() {
	python3 -c 'import json,sys; print([e for e in json.load(open(sys.argv[1]))["statuslist"] if e["id"] == sys.argv[2]][0].get(sys.argv[3], ""))' "$@"
}

# lab_iscsi_sessions IQN  — how many iSCSI sessions the initiator has to IQN
lab_iscsi_sessions() {
	iscsiadm -m session 2>/dev/null | grep -c " $1 \| $1\$" || true
}

# lab_iscsi_target [IQN] [NLUNS] [SIZE_MB]  — an iSCSI target in tgtd with NLUNS
# (default 1) file-backed LUNs of SIZE_MB (default 16; sparse files on tmpfs),
# reachable over both portals.  Default IQN iqn.2026-11.lab:<test>.<n>.  Sets
# LAB_ISCSI_IQN, LAB_ISCSI_TID, LAB_ISCSI_PORTALS.  The LUN WWIDs are
# 360000000000000000e00000000TTTTLLLL-style (tgt "IET" SCSI IDs, TID and LUN in hex).
lab_iscsi_target() {
	local nluns=${2:-1} size=${3:-16} tid lun f
	lab_tgtd
	lab_iscsi_portals
	tid=1
	while tgtadm --lld iscsi --mode target --op show | grep -q "^Target $tid:"; do
		tid=$((tid + 1))
	done
	LAB_ISCSI_TID=$tid
	LAB_ISCSI_IQN=${1:-iqn.2026-11.lab:${LAB_TEST:-t}.$tid}
	tgtadm --lld iscsi --mode target --op new --tid "$tid" --targetname "$LAB_ISCSI_IQN" ||
		lab_die "tgtadm new target $LAB_ISCSI_IQN"
	lab_defer "_lab_iscsi_target_remove $tid $LAB_ISCSI_IQN"
	mkdir -p "$LAB_RUN/tgt"
	for ((lun = 1; lun <= nluns; lun++)); do
		f=$LAB_RUN/tgt/t$tid-l$lun.img
		truncate -s "${size}M" "$f"
		tgtadm --lld iscsi --mode logicalunit --op new --tid "$tid" --lun "$lun" \
			--backing-store "$f" || lab_die "tgtadm new lun $lun"
	done
	tgtadm --lld iscsi --mode target --op bind --tid "$tid" --initiator-address ALL ||
		lab_die "tgtadm bind"
}
_lab_iscsi_target_remove() {
	lab_iscsi_logout "$2"
	tgtadm --lld iscsi --mode target --op delete --force --tid "$1"
	rm -f "$LAB_RUN/tgt/t$1-"*.img
}

# lab_iscsi_login IQN [PORTAL...]  — discovery + login to IQN over the PORTALs
# (default: both, $LAB_ISCSI_PORTALS).  Node settings for quick failover:
# replacement_timeout $LAB_ISCSI_REPLACEMENT_TIMEOUT (default 5 s), NOP-out
# interval/timeout 2 s.  Waits until every session's disks exist and udev settled.
# Sets LAB_ISCSI_DEVS (sdX of all sessions of IQN).  Logout at exit.
lab_iscsi_login() {
	local iqn=$1 p n
	shift
	[ $# -gt 0 ] || set -- $LAB_ISCSI_PORTALS
	lab_iscsid
	for p in "$@"; do
		iscsiadm -m discovery -t sendtargets -p "$p" >/dev/null || lab_die "discovery on $p"
	done
	lab_defer "lab_iscsi_logout $iqn"
	for p in "$@"; do
		for n in "node.session.timeo.replacement_timeout ${LAB_ISCSI_REPLACEMENT_TIMEOUT:-5}" \
			"node.conn[0].timeo.noop_out_interval 2" "node.conn[0].timeo.noop_out_timeout 2" \
			"node.startup manual"; do
			set -- $n
			iscsiadm -m node -T "$iqn" -p "$p" -o update -n "$1" -v "$2" >/dev/null
		done
		iscsiadm -m node -T "$iqn" -p "$p" --login >/dev/null || lab_die "login to $iqn at $p"
	done
	lab_wait 60 "disks of $iqn" _lab_iscsi_has_disks "$iqn"
	udevadm settle -t 60 || lab_log "udev queue still busy after 60 s; going on"
	LAB_ISCSI_DEVS=$(lab_iscsi_devs "$iqn")
}
_lab_iscsi_has_disks() { [ -n "$(lab_iscsi_devs "$1")" ]; }

# lab_iscsi_devs IQN [PORTAL]  — sdX disks of the sessions to IQN (optionally only the
# session through PORTAL, "addr:port").
lab_iscsi_devs() {
	local s d sess c
	for s in /sys/class/iscsi_session/session*; do
		[ -e "$s" ] || continue
		[ "$(cat "$s/targetname")" = "$1" ] || continue
		sess=$(readlink -f "$s")
		sess=${sess%/iscsi_session/*}    # /sys/devices/platform/hostH/sessionN
		if [ -n "${2:-}" ]; then
			c=$(cat "$sess"/connection*/iscsi_connection/connection*/persistent_address 2>/dev/null):$(
				cat "$sess"/connection*/iscsi_connection/connection*/persistent_port 2>/dev/null)
			[ "$c" = "$2" ] || continue
		fi
		for d in "$sess"/target*/*/block/*; do
			[ -e "$d" ] && echo "${d##*/}"
		done
	done | sort | tr '\n' ' ' | sed 's/ $//'
}

# lab_iscsi_logout IQN  — log out of every session to IQN and delete its node records.
lab_iscsi_logout() {
	iscsiadm -m node -T "$1" --logout >/dev/null 2>&1
	iscsiadm -m node -T "$1" -o delete >/dev/null 2>&1
	udevadm settle -t 30 2>/dev/null || lab_log "udev queue still busy after 30 s; going on"
	return 0
}

# lab_iscsi_path_down N / lab_iscsi_path_up N  — make portal N (1 or 2) unreachable
# (all packets to/from its address dropped) / reachable again.  The session through
# it fails after NOP-out timeout + replacement_timeout; multipath marks the path
# failed and I/O continues on the other path.
lab_iscsi_path_down() { lab_block_addr "$(echo $LAB_ISCSI_ADDRS | cut -d' ' -f"$1")"; }
lab_iscsi_path_up() { lab_unblock_addr "$(echo $LAB_ISCSI_ADDRS | cut -d' ' -f"$1")"; }

# ------------------------------------------------------------------ NFS

LAB_NFS_ROOT=/srv/lab-nfs
_lab_nfs_fsid=10

# lab_nfs_server  — an NFS server on 10.199.3.1 (dummy NIC labnfs0) exporting
# LAB_NFS_ROOT (a tmpfs; fsid=0, the NFSv4 pseudo root) and LAB_NFS_ROOT/data
# (mode 0777), rw, no_root_squash, to everyone.  Sets LAB_NFS_SERVER,
# LAB_NFS_EXPORT (=$LAB_NFS_ROOT/data, the v3 path), LAB_NFS_V4_PATH (=/data).
# Mount with: lab_nfs_mount 3 $LAB_NFS_SERVER:$LAB_NFS_EXPORT DIR
#             lab_nfs_mount 4.2 $LAB_NFS_SERVER:$LAB_NFS_V4_PATH DIR
lab_nfs_server() {
	if ! ip link show labnfs0 >/dev/null 2>&1; then
		ip link add labnfs0 type dummy && ip addr add "$LAB_NFS_SERVER/24" dev labnfs0 &&
			ip link set labnfs0 up || lab_die "NFS server address"
	fi
	if ! mountpoint -q "$LAB_NFS_ROOT"; then
		mkdir -p "$LAB_NFS_ROOT"
		# the overlay root cannot be exported; a tmpfs can (with fsid=)
		mount -t tmpfs -o size=256m,mode=755 lab-nfs "$LAB_NFS_ROOT" || lab_die "tmpfs $LAB_NFS_ROOT"
	fi
	lab_nfsd
	exportfs -o rw,sync,no_root_squash,insecure,no_subtree_check,fsid=0,crossmnt \
		"*:$LAB_NFS_ROOT" || lab_die "exportfs $LAB_NFS_ROOT"
	lab_defer "exportfs -u '*:$LAB_NFS_ROOT'"
	lab_nfs_export data
	LAB_NFS_EXPORT=$LAB_NFS_ROOT/data
	LAB_NFS_V4_PATH=/data
}

# lab_nfs_export NAME  — one more export, LAB_NFS_ROOT/NAME (fresh dir, mode 0777,
# own fsid).  Sets LAB_NFS_DIR to its path (the v3 path); the v4 path is /NAME.
lab_nfs_export() {
	local d=$LAB_NFS_ROOT/$1
	rm -rf "$d"
	mkdir -p "$d"
	chmod 0777 "$d"
	_lab_nfs_fsid=$((_lab_nfs_fsid + 1))
	exportfs -o "rw,sync,no_root_squash,insecure,no_subtree_check,fsid=$_lab_nfs_fsid" \
		"*:$d" || lab_die "exportfs $d"
	lab_defer "exportfs -u '*:$d'; rm -rf '$d'"
	LAB_NFS_DIR=$d
}

# lab_nfs_mount VERS SERVER:PATH DIR [OPTIONS]  — mount NFS version VERS (3, 4, 4.1,
# 4.2) on DIR (created), with extra comma-separated OPTIONS.  Unmounted at exit
# (forced and lazy, so a hung server cannot block the cleanup).
lab_nfs_mount() {
	local vers=$1 src=$2 dir=$3 opts=${4:-}
	mkdir -p "$dir"
	mount -t nfs -o "vers=$vers${opts:+,$opts}" "$src" "$dir" || lab_die "mount -t nfs vers=$vers $src"
	lab_defer "umount -f -l '$dir'"
}

# lab_nfs_server_hang / lab_nfs_server_resume  — make the NFS server dead for its
# clients (every packet to/from 10.199.3.1 dropped: hard mounts block in the kernel,
# soft mounts time out) / alive again (blocked I/O then completes).
lab_nfs_server_hang() { lab_block_addr "$LAB_NFS_SERVER"; }
lab_nfs_server_resume() { lab_unblock_addr "$LAB_NFS_SERVER"; }

# ------------------------------------------------------------------ LVM

# lab_vg NAME PV...  — pvcreate the PVs and make volume group NAME; removed (vgremove
# -f, pvremove) at exit.
lab_vg() {
	local name=$1
	shift
	lab_lvm
	pvcreate -q -y "$@" >/dev/null || lab_die "pvcreate $*"
	lab_defer "pvremove -q -y $*"
	vgcreate -q "$name" "$@" >/dev/null || lab_die "vgcreate $name"
	lab_defer "vgremove -q -f $name"
}
