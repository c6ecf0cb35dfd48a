#!/bin/bash
# make deb: the Debian packages into OUT (build/deb), built by
# dpkg-buildpackage -us -uc -b from a copy of the tree in OUT/src (the
# files git knows, as they are in the work tree), so the source tree gets
# no debian/tmp, no build/ of the package's own and no .debs; then lintian
# on them (its tags in OUT/lintian.txt).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
ver=$(cat "$top/VERSION")
src=$out/src/dirtybit-$ver
rm -rf "$out" && mkdir -p "$src"

cd "$top"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf - | tar -xf - -C "$src"
else
	tar --exclude=./build -cf - . | tar -xf - -C "$src"
fi

cd "$src"
if ! dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log" >&2
	echo "deb: dpkg-buildpackage failed; see $out/build.log" >&2
	exit 1
fi
mv "$out"/src/*.deb "$out"/src/*.changes "$out"/src/*.buildinfo "$out/"
# Every tag lintian finds, overridden ones shown as such (debian/*.lintian-overrides).
# Exit status 1 is tags found (deb_test reads them); more is lintian failing.
rc=0
lintian --info --display-info --show-overrides "$out"/*.changes >"$out/lintian.txt" 2>&1 || rc=$?
if [ "$rc" -gt 1 ]; then
	echo "deb: lintian failed (exit status $rc); see $out/lintian.txt" >&2
	exit 1
fi
ls "$out"/*.deb
