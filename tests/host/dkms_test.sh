#!/bin/bash
# DKMS on the host (TAP): the source make install puts under /usr/src is
# added to a DKMS tree of our own and built, `dkms build` only, for each
# Debian kernel of the rig (/var/lib/dirtybit/kernels).  Nothing is
# installed or loaded, and neither /var/lib/dkms nor /usr/src is touched:
# the trees and the signing key (which DKMS makes, as it does for
# /var/lib/dkms/mok.key) live under build/host/dkms-work.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
. tests/host/tap.sh
ver=$(cat VERSION)
work=$top/build/host/dkms-work
rm -rf "$work" && mkdir -p "$work"/{root,tree,inst,key}
export mok_signing_key=$work/key/mok.key mok_certificate=$work/key/mok.pub
trees=(--sourcetree "$work/root/usr/src" --dkmstree "$work/tree" --installtree "$work/inst")

add() {
	make -s install DESTDIR="$work/root" >/dev/null &&
	dkms add -m dirtybit -v "$ver" "${trees[@]}"
}
tap "dkms add of the installed source (/usr/src/dirtybit-$ver)" add

# The module DKMS built for $1: its version, the kernel it is for, the
# genl family alias it autoloads by, and DKMS's signature.
build() {
	local abi=$1 ko
	nice -n 19 dkms build -m dirtybit -v "$ver" -k "$abi" "${trees[@]}" >"$work/build-$abi.log" 2>&1 ||
		{ tail -n 30 "$work/build-$abi.log"; cat "$work/tree/dirtybit/$ver/build/make.log" 2>/dev/null; return 1; }
	# dirtybit.ko.xz for a kernel that compresses its modules (6.12).
	ko=$(ls "$work/tree/dirtybit/$ver/$abi/x86_64/module/"dirtybit.ko*) || return 1
	[ "$(modinfo -F version "$ko")" = "$ver" ] &&
	modinfo -F vermagic "$ko" | grep -q "^$abi " &&
	[ "$(modinfo -F alias "$ko")" = net-pf-16-proto-16-family-dirtybit ] &&
	[ "$(modinfo -F signer "$ko")" = "DKMS module signing key" ] &&
	dkms status -m dirtybit -v "$ver" -k "$abi" "${trees[@]}" 2>/dev/null | grep -q ": built$"
}
while read -r _ abi; do
	tap "dkms build -k $abi" build "$abi"
done </var/lib/dirtybit/kernels

remove() {
	dkms remove -m dirtybit -v "$ver" --all "${trees[@]}" >/dev/null &&
	[ -z "$(ls "$work/tree")" ] && [ -z "$(ls "$work/inst")" ]
}
tap "dkms remove --all (nothing was installed)" remove
tap_done
