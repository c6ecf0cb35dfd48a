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

step "rmmod dirtybit; the CLI now says the module is absent"
rmmod dirtybit
mv /lib/modules/"$(uname -r)"/extra/dirtybit.ko /tmp/
dirtybit version || echo "(exit status $?)"
mv /tmp/dirtybit.ko /lib/modules/"$(uname -r)"/extra/
echo "demo finished"
