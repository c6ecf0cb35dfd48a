#!/bin/bash
# make deb on the host (TAP): the four packages build, each holds exactly
# the files docs/INSTALL.md lists (dpkg -c), dirtybit-dkms hands its source
# to DKMS on configure, and lintian finds nothing (build/deb/lintian.txt).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
. tests/host/tap.sh
ver=$(cat VERSION)
arch=$(dpkg --print-architecture)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
out=build/deb

tap "make deb" sh -c "make -s deb >/dev/null"

# Files (not directories) of each package, "path" or "path -> target".
expected() {
	case $1 in
	dirtybit-dkms)
		echo "/usr/share/doc/dirtybit-dkms/changelog.gz"
		echo "/usr/share/doc/dirtybit-dkms/copyright"
		for f in Kbuild VERSION dkms.conf $(cd kmod && ls -- *.c *.h Kbuild | sed 's|^|kmod/|') \
			uapi/linux/dirtybit.h; do
			echo "/usr/src/dirtybit-$ver/$f"
		done ;;
	dirtybit)
		echo "/lib/udev/rules.d/60-dirtybit.rules"
		echo "/usr/bin/dirtybit"
		echo "/usr/share/doc/dirtybit/changelog.gz"
		echo "/usr/share/doc/dirtybit/copyright"
		echo "/usr/share/man/man8/dirtybit.8.gz" ;;
	libdirtybit0)
		echo "/usr/lib/$ma/libdirtybit.so.0 -> libdirtybit.so.$ver"
		echo "/usr/lib/$ma/libdirtybit.so.$ver"
		echo "/usr/share/doc/libdirtybit0/changelog.gz"
		echo "/usr/share/doc/libdirtybit0/copyright" ;;
	libdirtybit-dev)
		echo "/usr/include/dirtybit/libdirtybit.h"
		echo "/usr/include/dirtybit/linux/dirtybit.h"
		echo "/usr/lib/$ma/libdirtybit.so -> libdirtybit.so.0"
		echo "/usr/lib/$ma/pkgconfig/libdirtybit.pc"
		echo "/usr/share/doc/libdirtybit-dev/changelog.gz"
		echo "/usr/share/doc/libdirtybit-dev/copyright" ;;
	esac
}
contents() {
	local deb=$1
	[ -e "$deb" ] || { echo "$deb missing"; return 1; }
	diff <(expected "$2" | sort) \
		<(dpkg -c "$deb" | awk '$1 !~ /^d/ { $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); sub(/^\./, ""); print }' | sort)
}
tap "dpkg -c dirtybit-dkms" contents "$out/dirtybit-dkms_${ver}_all.deb" dirtybit-dkms
for p in dirtybit libdirtybit0 libdirtybit-dev; do
	tap "dpkg -c $p" contents "$out/${p}_${ver}_$arch.deb" "$p"
done

# The CLI depends on the library; the library's symbols file is shipped.
relations() {
	dpkg-deb -f "$out/dirtybit_${ver}_$arch.deb" Depends | grep -q "libdirtybit0 (>= $ver)" &&
	dpkg-deb -f "$out/dirtybit-dkms_${ver}_all.deb" Depends | grep -q "^dkms" &&
	dpkg-deb -I "$out/libdirtybit0_${ver}_$arch.deb" symbols | grep -q "^ dirtybit_subscribe@LIBDIRTYBIT_0 " &&
	dpkg-deb -I "$out/libdirtybit0_${ver}_$arch.deb" shlibs | grep -q "^libdirtybit 0 libdirtybit0"
}
tap "dependencies, symbols and shlibs" relations

# On configure, DKMS's common.postinst adds, builds and installs the
# module for the installed kernels (dh_dkms); on removal, prerm removes it.
scripts() {
	local d rc=0
	d=$(mktemp -d) || return 1
	dpkg-deb -e "$out/dirtybit-dkms_${ver}_all.deb" "$d"
	grep -q '/usr/lib/dkms/common.postinst' "$d/postinst" &&
	grep -q "^DKMS_VERSION=$ver$" "$d/postinst" &&
	grep -q 'dkms remove -m $DKMS_NAME -v $DKMS_VERSION --all' "$d/prerm" || rc=1
	rm -rf "$d"
	[ $rc -eq 0 ] &&
	dpkg-deb --fsys-tarfile "$out/dirtybit-dkms_${ver}_all.deb" |
		tar -xOf - "./usr/src/dirtybit-$ver/dkms.conf" >"$out/dkms.conf.check" &&
	grep -q "^PACKAGE_VERSION=\"$ver\"$" "$out/dkms.conf.check" &&
	grep -q '^AUTOINSTALL="yes"$' "$out/dkms.conf.check"
}
tap "dirtybit-dkms: DKMS scripts, dkms.conf of this version" scripts

lint() {
	# lintian notes running as root on stderr; any tag is a finding.
	! grep -E '^[EWIXP]: ' "$out/lintian.txt"
}
tap "lintian: no tags" lint
tap_done
