# shellcheck shell=bash
# TAP for the host shell tests, as the judge (tools/vm/judge) reads it:
# "ok N name" / "not ok N name", a case's output indented as diagnostics.
tap_n=0
tap_failed=0
# tap NAME COMMAND...: one case, passing when COMMAND exits 0.
tap() {
	local name=$1 tap_out rc
	shift
	tap_n=$((tap_n + 1))
	tap_out=$("$@" 2>&1)
	rc=$?
	[ -z "$tap_out" ] || printf '%s\n' "$tap_out" | sed 's/^/# /'
	if [ $rc -eq 0 ]; then
		echo "ok $tap_n $name"
	else
		echo "not ok $tap_n $name"
		tap_failed=$((tap_failed + 1))
	fi
}
tap_done() {
	echo "1..$tap_n"
	[ $tap_failed -eq 0 ]
}
