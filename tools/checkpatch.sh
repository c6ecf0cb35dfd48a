#!/bin/bash
# make checkpatch: the kernel's checkpatch.pl --strict over every kernel-side
# source file (module and uapi header).  The script comes from Debian's
# linux-source package, extracted by tools/deps.sh.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
cp=/var/lib/dirtybit/linux-6.1/scripts/checkpatch.pl
[ -x "$cp" ] || { echo "checkpatch.pl missing: run make deps" >&2; exit 2; }
# --no-tree: there is no kernel tree here; spelling.txt and
# const_structs.checkpatch sit next to the script.
exec "$cp" --strict --no-tree --quiet --show-types --terse \
	--ignore FILE_PATH_CHANGES \
	-f kmod/*.c kmod/*.h uapi/linux/dirtybit.h
