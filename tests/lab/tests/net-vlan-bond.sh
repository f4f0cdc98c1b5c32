#!/bin/bash
# lab-kind: fixture (a self-test of the lab fixtures; it does not drive the agent)
# lab-timeout: 60
# Network fixtures: dummy NICs, an 802.1Q VLAN over a dummy NIC, an active-backup
# bond (miimon 100) with failover, a VLAN over the bond, and a bridge over the VLAN
# that really forwards (ping through it into a network namespace).
set -eu
. "$LAB_SRC/tests/lab/fixtures.sh"

lab_nics 4
lab_check "4 dummy NICs ($LAB_NICS)" [ "$(echo $LAB_NICS | wc -w)" = 4 ]

# VLAN 100 over labnic0
lab_vlan labnic0 100
d=$(ip -d -o link show labnic0.100)
lab_check "labnic0.100 is an 802.1Q VLAN id 100" grep -q 'vlan protocol 802.1Q id 100 ' <<<"$d"
lab_check "labnic0.100 sits on labnic0" grep -q 'labnic0.100@labnic0' <<<"$d"
lab_check "/proc/net/vlan/config lists it" grep -Eq '^labnic0\.100 +\| 100 +\| labnic0' /proc/net/vlan/config

# active-backup bond over labnic1, labnic2
lab_bond labbond0 active-backup labnic1 labnic2
b=/sys/class/net/labbond0/bonding
lab_check "bond mode is active-backup" [ "$(cat $b/mode)" = "active-backup 1" ]
lab_check "bond miimon is 100" [ "$(cat $b/miimon)" = 100 ]
lab_check "bond slaves are labnic1 labnic2" [ "$(cat $b/slaves)" = "labnic1 labnic2" ]
lab_wait 10 "an active slave" grep -q labnic $b/active_slave
active=$(cat $b/active_slave)
lab_check "/proc/net/bonding shows fault-tolerance mode, MII up" \
	grep -q 'Bonding Mode: fault-tolerance (active-backup)' /proc/net/bonding/labbond0
lab_check "bond is up with carrier" [ "$(cat /sys/class/net/labbond0/carrier)" = 1 ]
# failover: take the active slave down, miimon moves to the other one
other=labnic1
[ "$active" = labnic1 ] && other=labnic2
ip link set "$active" down
lab_wait 10 "failover from $active to $other" grep -qx "$other" $b/active_slave
lab_ok "failover: active slave $active down -> $other active"
lab_check "/proc/net/bonding shows $active MII down" \
	sh -c "grep -A1 'Slave Interface: $active' /proc/net/bonding/labbond0 | grep -q 'MII Status: down'"
ip link set "$active" up

# VLAN 200 over the bond
lab_vlan labbond0 200
lab_check "labbond0.200 is VLAN 200 over the bond" \
	sh -c 'ip -d -o link show labbond0.200 | grep -q "labbond0.200@labbond0.*vlan protocol 802.1Q id 200 "'

# bridge over the VLAN + a veth into a namespace: the bridge forwards for real
ip netns add labns
lab_defer "ip netns del labns"
ip link add labv0 type veth peer name labv1
lab_defer "ip link del labv0"
ip link set labv1 netns labns
lab_bridge labbr0 labnic0.100 labv0
ip link set labv0 up
lab_check "labnic0.100 is a port of labbr0" [ "$(basename "$(readlink /sys/class/net/labnic0.100/master)")" = labbr0 ]
lab_check "labv0 is a port of labbr0" [ -e /sys/class/net/labbr0/brif/labv0 ]
lab_addr labbr0 10.199.9.1/24
ip -n labns addr add 10.199.9.2/24 dev labv1
ip -n labns link set labv1 up
ip -n labns link set lo up
# (iputils-ping is not installed; busybox-static is)
lab_wait 20 "ping across the bridge" busybox ping -c 1 -W 1 10.199.9.2
lab_ok "ping 10.199.9.2 in netns labns through bridge labbr0"
lab_check "the bridge learned the namespace's MAC on labv0" \
	sh -c "bridge fdb show br labbr0 | grep -q '$(ip -n labns -o link show labv1 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p') dev labv0'"
