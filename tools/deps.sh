#!/bin/bash
# Install everything dirtybit's build, tests and VM rig need, from Debian only.
# Idempotent and quiet when everything is present.  The bookworm-backports
# source is derived from the mirror this machine already uses for bookworm;
# no registry host name is written anywhere in the repository.
set -euo pipefail

STAMP_PKGS=(
	build-essential bc bison flex libelf-dev libssl-dev pkg-config
	busybox-static cpio xz-utils kmod fio libmnl-dev clang llvm python3 valgrind
	e2fsprogs fdisk util-linux dmsetup mdadm btrfs-progs xfsprogs
	dkms dh-dkms debhelper dpkg-dev lintian
	bpftool libbpf-dev zlib1g-dev pahole
)
need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "deps: need root to install: $*" >&2
		exit 1
	fi
}

# The URI of the Debian mirror that serves bookworm, from deb822 .sources
# files or one-line .list files.
bookworm_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -e "$f" ] || continue
		awk 'BEGIN { RS = ""; FS = "\n" }
		{
			uri = ""; suites = ""; comps = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^URIs:/) { uri = $i; sub(/^URIs:[ \t]*/, "", uri); sub(/[ \t].*/, "", uri) }
				if ($i ~ /^Suites:/) suites = " " $i " "
				if ($i ~ /^Components:/) comps = " " $i " "
			}
			if (suites ~ / bookworm / && comps ~ / main /) { print uri; exit }
		}' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -e "$f" ] || continue
		awk '$1 == "deb" {
			i = 2; if ($i ~ /^\[/) while ($i !~ /\]$/) i++
			if ($i ~ /^\[/) i++
			if ($(i + 1) == "bookworm") { print $i; exit }
		}' "$f"
	done
}

ensure_backports() {
	local list=/etc/apt/sources.list.d/dirtybit-bookworm-backports.sources
	if grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		return 0
	fi
	local uri
	uri=$(bookworm_mirror | head -n 1)
	if [ -z "$uri" ]; then
		echo "deps: no bookworm mirror in the apt configuration to derive bookworm-backports from" >&2
		exit 1
	fi
	need_root "bookworm-backports source"
	cat >"$list" <<SRC
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	APT_UPDATED=
}

APT_UPDATED=
apt_update() {
	if [ -z "$APT_UPDATED" ]; then
		apt-get update -qq >/dev/null
		APT_UPDATED=1
	fi
}

# The kernel ABI name (e.g. 6.1.0-37-amd64) behind linux-image-amd64 in a suite.
kernel_abi() {
	local suite=$1
	apt-cache show "linux-image-amd64/$suite" 2>/dev/null |
		sed -n 's/^Depends: .*linux-image-\([0-9][^ ,]*-amd64\).*/\1/p' | head -n 1
}

missing=()
for p in "${STAMP_PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

ensure_backports
abis_file=${DIRTYBIT_STATE:-/var/lib/dirtybit}/kernels
kernels_ok() {
	[ -s "$abis_file" ] || return 1
	local abi
	while read -r _ abi; do
		[ -e "/lib/modules/$abi/build/Makefile" ] && [ -e "/boot/vmlinuz-$abi" ] || return 1
	done <"$abis_file"
}

bp_pkgs=()
for p in qemu-system-x86 qemu-utils; do
	v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)
	case "$v" in
	1[0-9]:*|*bpo*|[1-9][0-9].*) ;;
	*) bp_pkgs+=("$p") ;;
	esac
done

# From Debian's linux-source-6.1: the kselftest harness and runner (what
# selftests/Makefile installs beside the collection), and checkpatch.
src_dir=${DIRTYBIT_STATE:-/var/lib/dirtybit}/linux-6.1
SRC_FILES=(
	tools/testing/selftests/kselftest_harness.h
	tools/testing/selftests/kselftest.h
	tools/testing/selftests/kselftest/runner.sh
	tools/testing/selftests/kselftest/prefix.pl
	tools/testing/selftests/kselftest/module.sh
	tools/testing/selftests/run_kselftest.sh
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
)
extract_source() {
	local tarball=/usr/src/linux-source-6.1.tar.xz f members=()
	for f in "${SRC_FILES[@]}"; do
		members+=("linux-source-6.1/$f")
	done
	mkdir -p "$src_dir"
	tar -xJf "$tarball" -C "$src_dir" --strip-components=1 "${members[@]}"
}
source_ok() {
	local f
	for f in "${SRC_FILES[@]}"; do
		[ -e "$src_dir/$f" ] || return 1
	done
}

if [ ${#missing[@]} -eq 0 ] && [ ${#bp_pkgs[@]} -eq 0 ] && kernels_ok &&
	dpkg-query -W -f='${Status}' linux-source-6.1 2>/dev/null | grep -q 'install ok installed'; then
	source_ok || extract_source
	exit 0
fi

need_root "${missing[*]} ${bp_pkgs[*]} kernels"
export DEBIAN_FRONTEND=noninteractive
apt_update
abi61=$(kernel_abi bookworm)
abi612=$(kernel_abi bookworm-backports)
if [ -z "$abi61" ] || [ -z "$abi612" ]; then
	echo "deps: cannot resolve the 6.1 / 6.12 kernel packages (got '$abi61' '$abi612')" >&2
	exit 1
fi
echo "deps: installing ${missing[*]} ${bp_pkgs[*]} kernels $abi61 $abi612 linux-source-6.1" >&2
apt-get install -y -qq --no-install-recommends \
	"${missing[@]}" linux-source-6.1 \
	"linux-image-$abi61" "linux-headers-$abi61" >/dev/null
apt-get install -y -qq --no-install-recommends -t bookworm-backports \
	"linux-image-$abi612" "linux-headers-$abi612" qemu-system-x86 qemu-utils >/dev/null
mkdir -p "$(dirname "$abis_file")"
printf '6.1 %s\n6.12 %s\n' "$abi61" "$abi612" >"$abis_file"
extract_source
