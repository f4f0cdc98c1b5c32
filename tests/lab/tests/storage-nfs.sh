#!/bin/bash
# lab-kind: fixture (a self-test of the lab fixtures; it does not drive the agent)
# lab-timeout: 90
# NFS server fixture: one export mounted over NFSv3, v4.1 and v4.2; a file written
# over one version is read back over the others and on the server side; a second
# export (lab_nfs_export) mounts over v4 by its pseudo-root path.
set -eu
. "$LAB_SRC/tests/lab/fixtures.sh"

lab_nfs_server
s=$LAB_NFS_SERVER
lab_check "rpcbind lists nfs v3 and v4, mountd" \
	sh -c "rpcinfo -p $s | grep -q ' 3   tcp.*nfs\$' && rpcinfo -p $s | grep -q ' 4   tcp.*nfs\$' && rpcinfo -p $s | grep -q mountd"
lab_check "showmount -e lists $LAB_NFS_EXPORT" sh -c "showmount -e $s | grep -q '^$LAB_NFS_EXPORT '"

lab_nfs_mount 3 "$s:$LAB_NFS_EXPORT" "$LAB_TMP/v3"
lab_nfs_mount 4.1 "$s:$LAB_NFS_V4_PATH" "$LAB_TMP/v41"
lab_nfs_mount 4.2 "$s:$LAB_NFS_V4_PATH" "$LAB_TMP/v42"
for v in 3 41 42; do
	lab_check "v$v mount is in /proc/mounts" grep -q " $LAB_TMP/v$v nfs" /proc/mounts
done
lab_check "v3 mount has vers=3" sh -c "grep ' $LAB_TMP/v3 ' /proc/mounts | grep -q 'nfs .*vers=3,'"
lab_check "v4.2 mount has vers=4.2" sh -c "grep ' $LAB_TMP/v42 ' /proc/mounts | grep -q 'nfs4 .*vers=4.2,'"

head -c 300000 /dev/urandom >"$LAB_TMP/data"
cp "$LAB_TMP/data" "$LAB_TMP/v3/from-v3"
sync
lab_check "file written over v3 reads back over v4.2" cmp -s "$LAB_TMP/data" "$LAB_TMP/v42/from-v3"
lab_check "... and over v4.1" cmp -s "$LAB_TMP/data" "$LAB_TMP/v41/from-v3"
lab_check "... and on the server" cmp -s "$LAB_TMP/data" "$LAB_NFS_EXPORT/from-v3"
echo "written over v4.2" >"$LAB_TMP/v42/from-v42"
sync
lab_check "file written over v4.2 reads back over v3" grep -qx "written over v4.2" "$LAB_TMP/v3/from-v42"
chown 36:36 "$LAB_TMP/v3/from-v42"
lab_check "root is not squashed (chown 36:36 over v3, seen on the server)" \
	[ "$(stat -c %u:%g "$LAB_NFS_EXPORT/from-v42")" = 36:36 ]
lab_check "statvfs on the mount works (df)" df "$LAB_TMP/v3"

lab_nfs_export second
echo second >"$LAB_NFS_DIR/f"
lab_nfs_mount 4 "$s:/second" "$LAB_TMP/second"
lab_check "second export mounts over v4 at /second" grep -qx second "$LAB_TMP/second/f"
