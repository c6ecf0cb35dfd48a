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

step "rmmod dirtybit; the CLI now says the module is absent"
rmmod dirtybit
mv /lib/modules/"$(uname -r)"/extra/dirtybit.ko /tmp/
dirtybit version || echo "(exit status $?)"
mv /tmp/dirtybit.ko /lib/modules/"$(uname -r)"/extra/
echo "demo finished"
