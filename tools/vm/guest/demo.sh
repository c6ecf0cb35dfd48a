#!/bin/sh
# make demo: the tour of dirtybit inside the VM.  Each step prints what it
# does before doing it; a failing step stops the demo (and fails the run).
set -e
step() { echo; echo "### $*"; }

step "dirtybit version: the netlink family 'dirtybit' autoloads the module"
lsmod | grep -q '^dirtybit ' && echo "unexpected: already loaded" && exit 1
dirtybit version
lsmod | grep '^dirtybit '
ls -l /dev/dirtybit

step "dirtybit -j version (JSON for scripts)"
dirtybit -j version

step "a 64 MiB memory region with a device node, and a writer that never stops"
dirtybit region create demo 64M
node=/dev/dirtybit-regions/demo
( while :; do
	dd if=/dev/urandom of=$node bs=4096 seek=$((RANDOM % 16384)) count=1 2>/dev/null
done ) &
writer=$!
sleep 1

step "a live image save: passes until the dirty set is small, the last one with writers held"
dirtybit image save --passes 4 --exec-held "cat $node > /tmp/held.bin" /tmp/demo.img demo
dirtybit image info /tmp/demo.img

step "the image equals the copy taken while the writers were held"
dirtybit image verify /tmp/demo.img demo=/tmp/held.bin

step "stop the writer, scribble over the region, and load the image back"
kill $writer
wait $writer 2>/dev/null || true
dd if=/dev/zero of=$node bs=1M count=64 2>/dev/null
dirtybit image load /tmp/demo.img
cmp $node /tmp/held.bin && echo "region equals the held copy"
dirtybit detach demo

step "a disk holding ext4, tracked: attach, a bitmap, files written"
modprobe brd rd_nr=1 rd_size=131072
/rig/bin/mke2fs -q -F -t ext4 -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 /dev/ram0
dirtybit attach /dev/ram0
dirtybit bitmap add /dev/ram0 nightly
mkdir -p /mnt/demo && mount -t ext4 /dev/ram0 /mnt/demo
dd if=/dev/urandom of=/mnt/demo/a bs=1M count=8 2>/dev/null && sync
mkdir -p /tmp/backups

step "a full backup, then two incrementals (the file system frozen at each cut)"
dirtybit backup /dev/ram0 --bitmap nightly --full --fsfreeze /mnt/demo -o /tmp/backups/0.qcow2
dd if=/dev/urandom of=/mnt/demo/b bs=1M count=2 2>/dev/null && sync
dirtybit backup /dev/ram0 --bitmap nightly --backing /tmp/backups/0.qcow2 --fsfreeze /mnt/demo -o /tmp/backups/1.qcow2
dd if=/dev/urandom of=/mnt/demo/a bs=4k count=16 seek=100 conv=notrunc 2>/dev/null && sync
dirtybit backup /dev/ram0 --bitmap nightly --backing /tmp/backups/1.qcow2 --fsfreeze /mnt/demo -o /tmp/backups/2.qcow2
ls -ls /tmp/backups

step "restore the chain and compare it with the disk"
umount /mnt/demo
dirtybit restore /tmp/backups/2.qcow2 -o /tmp/restored.raw
cmp /dev/ram0 /tmp/restored.raw && echo "restored chain equals the disk"
dirtybit backup verify /tmp/backups/2.qcow2 /dev/ram0
dirtybit detach /dev/ram0

step "the chain and the disk go to the host, where qemu-img checks and compares them"
cp /dev/ram0 /tmp/backups/device.raw
cp /tmp/backups/2.qcow2 /tmp/backups/last.qcow2	# the top, by the name the host looks for
(cd /tmp/backups && tar -cf - ./*.qcow2 device.raw) | dd of=/dev/vdc bs=1M seek=256 conv=notrunc 2>/dev/null
sync
echo "(after the VM powers off: export_check below)"

step "rmmod dirtybit; the CLI now says the module is absent"
rmmod dirtybit
mv /lib/modules/"$(uname -r)"/extra/dirtybit.ko /tmp/
dirtybit version || echo "(exit status $?)"
mv /tmp/dirtybit.ko /lib/modules/"$(uname -r)"/extra/
echo "demo finished"
