#!/bin/bash
# make check: the host unit tests, then the whole in-VM suite on each kernel
# named on the command line (none: make check-host, the host part alone).
# --vm-only skips the host part (make check-debug); --timeout SEC goes to
# tools/vm/run.
# Ends with one line "N passed, N failed" (and ", N skipped"); exits
# non-zero when anything failed.  A test program that is missing fails, as
# does a run that ends without a verdict.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
B=build
results=$B/results.txt
: >"$results"
vm_only= vm_args=()
while [ $# -gt 0 ]; do
	case $1 in
	--vm-only) vm_only=1 ;;
	--timeout) vm_args+=(--timeout "$2"); shift ;;
	*) break ;;
	esac
	shift
done

# A run that failed without a verdict (judge or the rig broke) fails too.
fail_if_unjudged() {
	grep -q "^FAIL $1 " "$results" ||
		echo "FAIL $1 $2: exited non-zero with no verdict" >>"$results"
}

if [ -z "$vm_only" ]; then
# Host programs print TAP like the selftests; judge them the same way.  A
# program that is not there fails (exit status 127), never skips: a build
# that lost a test must not pass for one that ran it.
host_log=$B/host.log
: >"$host_log"
host_tests=
host_run() {
	local name=$1
	shift
	host_tests="$host_tests $name"
	echo "DIRTYBIT-RIG: begin $name" >>"$host_log"
	"$@" >>"$host_log" 2>&1
	echo "DIRTYBIT-RIG: end $name rc=$?" >>"$host_log"
}
echo "== host unit tests"
for t in hbitmap_test hbitmap_stress qcow2_test; do
	host_run $t $B/host/$t
done
# A bounded, seeded run of the differential fuzzer (make fuzz runs longer).
host_run hbitmap_fuzz $B/host/hbitmap_fuzz -seed=1 -runs=15000 -max_len=4096
# The image reader against mutated files (ASan/UBSan), then the CLI's
# image commands and QEMU loading and saving images, both ways.
host_run image_fuzz $B/host/image_fuzz 10000 1
# The qcow2 reader against mutated chains (ASan/UBSan).
host_run qcow2_fuzz $B/host/qcow2_fuzz 10000 1
rm -rf $B/host/image-work && mkdir -p $B/host/image-work
host_run image_test python3 tests/host/image_test.py $B/dirtybit $B/host/image-work
# The uapi header stands alone, in C99 (pedantic) and in C++.
host_run uapi_standalone sh -c 'gcc -Wall -Wextra -Werror -pedantic -std=c99 -fsyntax-only -x c uapi/linux/dirtybit.h &&
	g++ -Wall -Wextra -Werror -fsyntax-only -x c++ uapi/linux/dirtybit.h'
# The ioctl structs have one layout on x86-64, i386 and x32.
host_run uapi_abi sh -c 'for m in -m64 -m32 -mx32; do
	gcc $m -std=c11 -Wall -Wextra -Werror -fsyntax-only -Iuapi tests/host/uapi_abi.c || exit 1; done'
# Kernel style is part of the suite: checkpatch --strict on kmod/ and uapi/.
host_run checkpatch tools/checkpatch.sh
# The VM rig's judge on made-up logs.
host_run judge_test tests/host/judge_test.sh
# Installing: libdirtybit's ABI and make install/uninstall; DKMS building
# the installed source for both Debian kernels (nothing installed or
# loaded); make deb, its packages' contents and lintian.
host_run install_test tests/host/install_test.sh
host_run dkms_test tests/host/dkms_test.sh
host_run deb_test tests/host/deb_test.sh
tools/vm/judge --kernel host --mode host --log "$host_log" --tests "$host_tests" \
	--results "$results" || fail_if_unjudged host tools/vm/judge
grep ' host ' "$results" | sed 's/^/  /'
fi

for k in "$@"; do
	echo "== VM suite on Debian $k"
	tools/vm/run --kernel "$k" --results "$results" --quiet "${vm_args[@]}" ||
		fail_if_unjudged "$k" tools/vm/run
	grep " $k " "$results" | sed 's/^/  /'
done

passed=$(grep -c '^PASS' "$results")
failed=$(grep -c '^FAIL' "$results")
skipped=$(grep -c '^SKIP' "$results")
if [ "$failed" -gt 0 ]; then
	echo "Failures:"
	grep '^FAIL' "$results" | sed 's/^/  /'
fi
summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ]
