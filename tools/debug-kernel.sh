#!/bin/bash
# Build, once and cached, the debug kernel of the rig's debug tier: Debian's
# own linux-source-6.1 with x86_64_defconfig plus tools/debug-kernel/
# 6.1-debug.config (KASAN, KFENCE, lockdep, kmemleak, UBSAN, fault injection
# and what dirtybit and the suite need).  The result, under
# $DIRTYBIT_STATE/debug/6.1-debug/ (/var/lib/dirtybit by default):
#
#   linux/      the configured and built source tree, prepared for external
#               module builds (KDIR for dirtybit.ko; Module.symvers present)
#   bzImage     the kernel tools/vm/run --kernel 6.1-debug boots
#   stage/      modules_install's root: stage/lib/modules/<abi>/
#   abi         the kernel release (make kernelrelease)
#   build-time  seconds the last build took
#   stamp       hash of the fragment, the source version and the recipe
#               number below; the build is skipped while it matches
#
# A build runs under an exclusive flock of $state/debug/6.1-debug.lock
# (tools/vm/run and make check-debug take it shared while they read the
# kernel, its modules and its tree), in $state/debug/.6.1-debug.new/ (a
# copy of the tree before, so kbuild rebuilds only what changed), renamed
# into place once complete: a VM or a module build never sees a
# half-configured tree, and a failed build leaves the last complete one.
#
#   tools/debug-kernel.sh [--abi | --check [6.1-debug]]
#     --abi: print the release and exit
#     --check: exit 0 only when the kernel in place is complete and what
#              this recipe builds now (its stamp matches)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
state=${DIRTYBIT_STATE:-/var/lib/dirtybit}
name=6.1-debug
src_pkg=linux-source-6.1
tarball=/usr/src/$src_pkg.tar.xz
fragment=$top/tools/debug-kernel/$name.config
dir=$state/debug/$name
new=$state/debug/.$name.new
old=$state/debug/.$name.old
tree=$new/linux

case ${1:-} in -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;; esac
if [ "${1:-}" = --abi ]; then
	cat "$dir/abi"
	exit 0
fi

[ -e "$tarball" ] || { echo "debug-kernel: $tarball missing; run 'make deps'" >&2; exit 1; }
version=$(dpkg-query -W -f='${Version}' "$src_pkg" 2>/dev/null || stat -c %s-%Y "$tarball")
# Bump recipe when a change below changes what is built.
recipe=1
stamp=$( { echo "$version $recipe"; cat "$fragment"; } | sha256sum | cut -d' ' -f1)
current() {
	[ "$(cat "$dir/stamp" 2>/dev/null)" = "$stamp" ] && [ -e "$dir/bzImage" ] &&
		[ -s "$dir/abi" ] && [ -d "$dir/stage/lib/modules/$(cat "$dir/abi")" ]
}

if [ "${1:-}" = --check ]; then
	[ "${2:-$name}" = "$name" ] || { echo "debug-kernel: no recipe for '$2' (only $name)" >&2; exit 1; }
	current && exit 0
	if [ -e "$dir/stamp" ]; then
		echo "debug-kernel: $dir is stale (its stamp is not this recipe's); run 'make debug-kernel'" >&2
	else
		echo "debug-kernel: $dir is not built, or not completely; run 'make debug-kernel'" >&2
	fi
	exit 1
fi
[ $# -eq 0 ] || { echo "debug-kernel: unknown argument $1" >&2; exit 2; }

mkdir -p "$state/debug"
exec 9>>"$state/debug/$name.lock"
flock 9
if current; then
	echo "debug-kernel: $name $(cat "$dir/abi") is up to date ($dir)"
	exit 0
fi

start=$(date +%s)
echo "debug-kernel: building $name from $src_pkg $version in $tree"
# The tree of an unfinished build, or a copy of the last complete one, is
# configured afresh and rebuilt by kbuild's own dependency tracking (cp -a
# keeps the times; the build's commands name paths relative to the tree):
# only what the changed options touch recompiles.
if [ ! -e "$tree/Makefile" ] || [ "$(cat "$new/source" 2>/dev/null)" != "$version" ]; then
	rm -rf "$new"
	mkdir -p "$new"
	if [ -e "$dir/linux/Makefile" ] && [ "$(cat "$dir/source" 2>/dev/null)" = "$version" ]; then
		cp -a "$dir/linux" "$tree"
	else
		tar -C "$new" -xaf "$tarball"
		mv "$new/$src_pkg" "$tree"
	fi
	echo "$version" >"$new/source"
fi
rm -f "$new/stamp"

mk() { nice -n 19 make -C "$tree" -s "$@"; }
mk x86_64_defconfig
# The fragment's lines to scripts/config arguments: =y/=m/=n/"string"/number.
args=()
while IFS= read -r line; do
	case $line in ''|'#'*) continue ;; esac
	opt=${line%%=*} val=${line#*=}
	opt=${opt#CONFIG_}
	case $val in
	y) args+=(--enable "$opt") ;;
	m) args+=(--module "$opt") ;;
	n) args+=(--disable "$opt") ;;
	\"*) val=${val#\"}; args+=(--set-str "$opt" "${val%\"}") ;;
	*) args+=(--set-val "$opt" "$val") ;;
	esac
done <"$fragment"
"$tree/scripts/config" --file "$tree/.config" "${args[@]}"
mk olddefconfig
# olddefconfig drops what a dependency forbids: every line must have survived.
bad=0
while IFS= read -r line; do
	case $line in ''|'#'*) continue ;; esac
	opt=${line%%=*} val=${line#*=}
	if [ "$val" = n ]; then
		! grep -q "^$opt=" "$tree/.config" && continue
	else
		grep -qxF "$line" "$tree/.config" && continue
	fi
	echo "debug-kernel: $line did not survive olddefconfig (.config: $(grep -E "^(# )?${opt}[= ]" "$tree/.config" || echo absent))" >&2
	bad=1
done <"$fragment"
[ "$bad" = 0 ] || exit 1

jobs=${DEBUG_KERNEL_JOBS:-$(nproc)}
mk -j"$jobs" bzImage modules
mk modules_prepare
[ -s "$tree/Module.symvers" ] || { echo "debug-kernel: no Module.symvers" >&2; exit 1; }
abi=$(make -C "$tree" -s kernelrelease)
rm -rf "$new/stage"
mk INSTALL_MOD_PATH="$new/stage" modules_install
rm -f "$new/stage/lib/modules/$abi/build" "$new/stage/lib/modules/$abi/source"
cp "$tree/arch/x86/boot/bzImage" "$new/bzImage"
echo "$abi" >"$new/abi"
echo $(($(date +%s) - start)) >"$new/build-time"
echo "$stamp" >"$new/stamp"
# Complete: into place (under the lock, nobody reads it in between).
rm -rf "$old"
if [ -e "$dir" ]; then
	mv "$dir" "$old"
fi
mv "$new" "$dir"
rm -rf "$old"
echo "debug-kernel: $name $abi built in $(cat "$dir/build-time") s ($dir)"
