#!/bin/bash
# tools/vm/judge on made-up console logs (TAP): a clean run passes; a
# kernel log that lost its first line, lockdep switched off at the end, a
# debug kernel that printed no debug_locks, and each report the judge
# knows (also inside a fault injection window) fail; a bare Call Trace
# inside the window, a user program's SIGILL and the test knobs' warnings
# do not.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
. tests/host/tap.sh
work=build/host/judge-work
rm -rf "$work" && mkdir -p "$work"

# log [KERNEL-LINE...]: a one-program run whose kernel log holds the lines,
# between the fault injection markers when $faults is set; $banner=0
# drops the first line of the kernel, $locks adds a debug_locks line.
log() {
	local l
	echo "# selftests: dirtybit: a_test"
	echo "# TAP version 13"
	echo "# 1..1"
	echo "# ok 1 a.b"
	echo "ok 1 selftests: dirtybit: a_test"
	[ -z "${kmemleak:-}" ] || { echo "DIRTYBIT-RIG: kmemleak-begin"; echo "DIRTYBIT-RIG: kmemleak-end"; }
	[ -z "${locks:-}" ] || echo "DIRTYBIT-RIG: debug_locks $locks"
	echo "DIRTYBIT-RIG: dmesg-begin"
	[ "${banner:-1}" = 0 ] || echo "[    0.000000] Linux version 6.1.0-50-amd64 (debian-kernel@lists.debian.org)"
	echo "[    0.000000] Command line: console=ttyS0 loglevel=4 panic=-1 log_buf_len=16M rdinit=/init"
	[ -z "${faults:-}" ] || echo "[   10.000000] dirtybit-rig: injected-faults-begin"
	for l in "$@"; do
		echo "[   10.100000] $l"
	done
	[ -z "${faults:-}" ] || echo "[   10.200000] dirtybit-rig: injected-faults-end"
	echo "DIRTYBIT-RIG: dmesg-end"
	echo "DIRTYBIT-RIG: done"
}

# judge_ok|judge_fails KERNEL WHAT [KERNEL-LINE...]: the judge's verdict
# on that log (a failure must name WHAT).
judge_ok() {
	local k=$1
	shift 2
	log "$@" >"$work/console.log"
	tools/vm/judge --kernel "$k" --log "$work/console.log" --tests a_test
}
judge_fails() {
	local k=$1 what=$2 err
	shift 2
	log "$@" >"$work/console.log"
	if err=$(tools/vm/judge --kernel "$k" --log "$work/console.log" --tests a_test 2>&1); then
		echo "passed: $*"
		return 1
	fi
	grep -qF -- "$what" <<<"$err" || { echo "failed for another reason: $err"; return 1; }
}

tap clean judge_ok 6.1 -
tap knob_warnings_and_taint judge_ok 6.1 - \
	"dirtybit: drop_mark_one_in=10: block bitmaps lose writes (for tests only)" \
	"dirtybit: cut_drain=N: cuts lose writes still in flight (for tests only)" \
	"dirtybit: fault_inject=Y: operations fail on request (dirtybit/fail_nth) (for tests only)"
tap user_sigill judge_ok 6.1 - "traps: a_test[99] trap invalid opcode ip:401000 sp:7ffc0 error:0 in a_test"
faults=1 tap bare_call_trace_in_fault_window judge_ok 6.1 - \
	"FAULT_INJECTION: forcing a failure." "Call Trace:" "a_test: page allocation failure: order:0"
banner=0 tap wrapped_log judge_fails 6.1 "log buffer wrapped"
kmemleak=1 locks=0 tap lockdep_off_at_end judge_fails 6.1-debug "debug_locks 0"
kmemleak=1 tap debug_kernel_without_debug_locks judge_fails 6.1-debug "no debug_locks line"
kmemleak=1 locks=1 tap debug_kernel_lockdep_on judge_ok 6.1-debug -
locks=1 tap debug_kernel_without_kmemleak_scan judge_fails 6.1-debug "no kmemleak scan"
faults=1 tap call_trace_in_fault_window_without_a_fault judge_fails 6.1 "Call Trace:" \
	"kmemleak: Freeing unknown object at 0xffff888000000000" "Call Trace:"
faults=1 tap call_trace_long_after_a_fault judge_fails 6.1 "Call Trace:" \
	"FAULT_INJECTION: forcing a failure." 1 2 3 4 5 6 7 "Call Trace:"
for faults in "" 1; do
	for line in \
		"kernel BUG at fs/block_dev.c:12!" \
		"invalid opcode: 0000 [#1] PREEMPT SMP" \
		"INFO: task kworker/0:1:12 blocked for more than 120 seconds." \
		"rcu: INFO: rcu_preempt self-detected stall on CPU" \
		"rcu: INFO: rcu_sched detected stalls on CPUs/tasks:" \
		"rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: {" \
		"INFO: rcu_tasks detected stalls on tasks:" \
		"NMI watchdog: Watchdog detected hard LOCKUP on cpu 1" \
		"Disabling lock debugging due to kernel taint" \
		"BUG: KASAN: slab-use-after-free in db_blk_mark_completed+0x1/0x2"; do
		name=${line:0:40}
		tap "bad${faults:+_in_fault_window}: ${name% }" judge_fails 6.1 "bad line" "$line"
	done
done
tap_done
