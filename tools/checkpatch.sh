#!/bin/bash
# make checkpatch: the kernel's checkpatch.pl --strict over every kernel-side
# source file (module and uapi header).  The script comes from Debian's
# linux-source package, extracted by tools/deps.sh.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
cp=/var/lib/dirtybit/linux-6.1/scripts/checkpatch.pl
[ -x "$cp" ] || { echo "checkpatch.pl missing: run make deps" >&2; exit 2; }
# --no-tree: there is no kernel tree here; spelling.txt and
# const_structs.checkpatch sit next to the script.
run() { "$cp" --strict --no-tree --quiet --show-types --terse --ignore FILE_PATH_CHANGES "$@"; }
rc=0
# Not kbuild's generated dirtybit.mod.c (after an in-tree make module).
run -f $(ls kmod/*.c kmod/*.h | grep -v -e kmod/compat.h -e '\.mod\.c$') || rc=1
# compat.h exists to switch on the kernel version: that is its whole job.
run --ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON -f kmod/compat.h || rc=1
# A uapi header cannot use BIT() (checkpatch knows only include/uapi/).
run --ignore BIT_MACRO -f uapi/linux/dirtybit.h || rc=1
exit $rc
