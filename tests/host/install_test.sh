#!/bin/bash
# make install / uninstall and libdirtybit's ABI, on the host (TAP).
#
# The library exports exactly libdirtybit.h's functions, each at version
# LIBDIRTYBIT_0, and they are the ones user/lib/libdirtybit.map lists;
# SONAME libdirtybit.so.0; the installed CLI links it (no RPATH); make
# install puts exactly the files docs/INSTALL.md lists where PREFIX and
# DESTDIR say; a program builds against the installed .pc; make uninstall
# leaves no file behind.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
. tests/host/tap.sh
B=build
ver=$(cat VERSION)
lib=$B/lib/libdirtybit.so.$ver
work=$B/host/install-work
rm -rf "$work" && mkdir -p "$work"

header_syms() {
	sed -n 's/^[a-z].*[ *]\(dirtybit_[a-z_]*\)(.*/\1/p' user/lib/libdirtybit.h | sort
}
map_syms() {
	sed -n 's/^\t\(dirtybit_[a-z_]*\);$/\1/p' user/lib/libdirtybit.map | sort
}
exported() {
	nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' | sort
}
check_exports() {
	local want
	want=$(header_syms | sed 's/$/@@LIBDIRTYBIT_0/')
	[ "$(header_syms | wc -l)" -gt 20 ] || { echo "header parse found too few"; return 1; }
	diff <(echo "$want") <(exported) || return 1
	diff <(header_syms) <(map_syms) || return 1
	# Nothing else: no data, no internal db_* function, one version node.
	diff <(nm -D --defined-only "$lib" | awk '$2 != "T" { print $2, $3 }') \
		<(echo "A LIBDIRTYBIT_0")
}
tap "exports exactly libdirtybit.h, versioned LIBDIRTYBIT_0" check_exports

check_soname() {
	readelf -d "$lib" | grep -q 'SONAME.*\[libdirtybit\.so\.0\]' &&
	[ "$(readlink $B/lib/libdirtybit.so.0)" = "libdirtybit.so.$ver" ] &&
	[ "$(readlink $B/lib/libdirtybit.so)" = libdirtybit.so.0 ]
}
tap "SONAME libdirtybit.so.0, real file libdirtybit.so.$ver" check_soname

check_cli_links() {
	readelf -d $B/inst/dirtybit | grep -q 'NEEDED.*\[libdirtybit\.so\.0\]' &&
	! readelf -d $B/inst/dirtybit | grep -Eq 'RPATH|RUNPATH' &&
	LD_LIBRARY_PATH=$B/lib $B/inst/dirtybit --help | grep -q '^Usage: dirtybit'
}
tap "installed CLI links libdirtybit.so.0, no RPATH" check_cli_links

# What make install puts under DESTDIR with the default PREFIX (/usr/local).
expected_files() {
	cat <<LIST
usr/local/bin/dirtybit
usr/local/include/dirtybit/libdirtybit.h
usr/local/include/dirtybit/linux/dirtybit.h
usr/local/lib/libdirtybit.so
usr/local/lib/libdirtybit.so.0
usr/local/lib/libdirtybit.so.$ver
usr/local/lib/pkgconfig/libdirtybit.pc
usr/local/lib/udev/rules.d/60-dirtybit.rules
usr/local/share/man/man8/dirtybit.8
usr/src/dirtybit-$ver/Kbuild
usr/src/dirtybit-$ver/VERSION
usr/src/dirtybit-$ver/dkms.conf
$(cd kmod && ls -- *.c *.h Kbuild | sed "s|^|usr/src/dirtybit-$ver/kmod/|")
usr/src/dirtybit-$ver/uapi/linux/dirtybit.h
LIST
}
check_install() {
	make -s install DESTDIR="$top/$work/root" >/dev/null || return 1
	diff <(expected_files | sort) <(cd "$work/root" && find . ! -type d | sed 's|^\./||' | sort)
}
tap "make install DESTDIR=...: the documented files" check_install

# A program against the installed library, through its .pc only.
check_pkgconfig() {
	local pc="$work/root/usr/local/lib/pkgconfig"
	printf '#include <libdirtybit.h>\nint main(void) { return !dirtybit_event_name(1); }\n' >"$work/t.c"
	PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$top/$work/root \
		sh -c 'cc -Wall -Werror -o "$0/t" "$0/t.c" $(pkg-config --cflags --libs libdirtybit)' "$work" &&
	LD_LIBRARY_PATH=$work/root/usr/local/lib "$work/t" &&
	grep -qx 'Requires.private: libmnl' "$pc/libdirtybit.pc" &&
	grep -qx "Version: $ver" "$pc/libdirtybit.pc"
}
tap "a program builds and runs against the installed .pc" check_pkgconfig

check_uninstall() {
	make -s uninstall DESTDIR="$top/$work/root" >/dev/null || return 1
	local left
	left=$(cd "$work/root" && find . ! -type d)
	[ -z "$left" ] || { echo "left behind: $left"; return 1; }
}
tap "make uninstall removes every file" check_uninstall

check_udev_rule() {
	# Mode and group as docs/INSTALL.md states them.
	grep -qx 'KERNEL=="dirtybit", SUBSYSTEM=="misc", MODE="0660", GROUP="disk"' dist/60-dirtybit.rules &&
	grep -qx 'SUBSYSTEM=="dirtybit-region", MODE="0600", GROUP="root"' dist/60-dirtybit.rules &&
	# The names the module registers: the misc device and the region class.
	grep -q '#define DIRTYBIT_DEVICE_NAME[[:space:]]*"dirtybit"' uapi/linux/dirtybit.h &&
	grep -q 'db_class_create("dirtybit-region")' kmod/region.c
}
tap "udev rule: the module's device names, documented modes" check_udev_rule
tap_done
