#!/usr/bin/env bash
# Runs the test tiers and ends with one summary line over all of them:
# "N passed, N failed". Usage:
#   scripts/run-tests.sh harness|unit|fuzz|host|vm|guest|bench-quick|all
set -uo pipefail
cd "$(dirname "$0")/.."

tier=${1:-all}
# One accelerator probe for all the tiers of this run (scripts/qemu-accel.sh).
export GG_RUN_ID=${GG_RUN_ID:-$$.$(date +%s)}
out=${GG_TEST_OUT:-build/test-logs}
mkdir -p "$out"
passed=0
failed=0

# cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)"; the
# host and VM tiers print "PASS name" / "FAIL name" lines.
count_log() {
	local log=$1 p f
	p=$(grep -hoE '^\[  PASSED  \] [0-9]+' "$log" | awk '{s+=$4} END {print s+0}')
	f=$(grep -hoE '^\[  FAILED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
	# vmtest's own totals where it ran: a guest it ran again (TCG's stale
	# int3, scripts/vmtest.sh) had streamed its first run's lines too,
	# which vmtest discards and a count of the lines would not
	if grep -qE '^vmtest: [0-9]+ passed, [0-9]+ failed$' "$log"; then
		p=$((p + $(grep -hE '^vmtest: [0-9]+ passed, [0-9]+ failed$' "$log" | awk '{s+=$2} END {print s+0}')))
		f=$((f + $(grep -hE '^vmtest: [0-9]+ passed, [0-9]+ failed$' "$log" | awk '{s+=$4} END {print s+0}')))
	else
		p=$((p + $(grep -cE '(^|] )(GGVM-)?PASS ' "$log")))
		f=$((f + $(grep -cE '(^|] )(GGVM-)?FAIL ' "$log")))
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	echo "  -> $p passed, $f failed"
}

# A tier whose script failed without a FAIL line of its own (a harness that
# died, a VM that never booted) is one failure, never a silent zero.
tier_exit() {
	local name=$1 rc=$2 log=$3
	if ((rc != 0)) && ! grep -qE '(^|] )(GGVM-)?FAIL ' "$log"; then
		echo "FAIL $name (exited $rc without reporting a failure; see $log)" | tee -a "$log"
		failed=$((failed + 1))
	fi
}

run_unit() {
	echo "== unit tests (cmocka)"
	for t in build/tests/test_*; do
		[ -x "$t" ] || continue
		echo "-- $t"
		if ! "$t" >"$out/$(basename "$t").log" 2>&1; then
			grep -q '^\[  FAILED  \]' "$out/$(basename "$t").log" ||
				echo "FAIL $(basename "$t") (crashed)" >>"$out/$(basename "$t").log"
		fi
		grep -E '^\[ +(FAILED|PASSED) +\]|^FAIL ' "$out/$(basename "$t").log" | sed 's/^/   /'
		count_log "$out/$(basename "$t").log"
	done
}

run_fuzz() {
	echo "== fuzz (short libFuzzer runs)"
	for f in build/fuzz/fuzz_*; do
		[ -x "$f" ] || continue
		local name corpus log
		name=$(basename "$f")
		corpus=tests/fuzz/corpus/${name#fuzz_}
		log=$out/$name.log
		mkdir -p "$corpus"
		if "$f" -max_total_time="${GG_FUZZ_SECS:-20}" -timeout=10 "$corpus" >"$log" 2>&1; then
			echo "PASS $name ($(grep -oE '#[0-9]+' "$log" | tail -1 | tr -d '#') runs)" | tee -a "$log"
		else
			echo "FAIL $name (see $log)" | tee -a "$log"
		fi
		count_log "$log" >/dev/null
	done
}

# Runs one script tier: NAME TITLE SCRIPT SHOWN (regex of the lines echoed
# live); its whole output goes to $out/NAME.log and is counted.
run_script_tier() {
	local name=$1 title=$2 script=$3 shown=$4 log=$out/$1.log rc
	echo "== $title"
	$script 2>&1 | tee "$log" | grep -E "$shown"
	rc=${PIPESTATUS[0]}
	count_log "$log"
	tier_exit "$name" "$rc" "$log"
}

# The test harness itself first (seconds): a probe that picks an
# accelerator that cannot run a guest, or a watchdog that lets a dead VM
# sit, would cost the VM tiers an hour.
run_harness() {
	run_script_tier harness "harness (accelerator probe and VM watchdog, fake qemu)" \
		tests/harness/run.sh '^(PASS|FAIL|#)'
}

run_host() {
	run_script_tier host "host integration (fallback path, cgroup scope, private netns)" \
		tests/host/run.sh '^(PASS|FAIL|SKIP|#)'
}

run_vm() {
	run_script_tier vm "VM (BPF LSM path, Debian cloud kernels, global scope)" \
		tests/vm/run.sh '^(GGVM-)?(PASS|FAIL)|^vm |^#'
}

run_guest() {
	run_script_tier guest \
		"guest (Debian 12 + systemd, make install, govgate.service, Debian 6.12 cloud kernel)" \
		tests/guest/run.sh '^(PASS|FAIL)|^guest:|^#'
}

# The benchmark itself must not rot: a seconds-long run that fails on
# breakage (a step that fails, a denial that does not happen, a loss not
# accounted for), never on a performance number.
run_bench_quick() {
	echo "== bench-quick (the benchmark harness, seconds long; numbers not judged)"
	local log=$out/bench-quick.log
	bench/run.sh --quick --out build/bench-quick >"$log" 2>&1
	local rc=$?
	((rc == 0)) && echo "PASS bench-quick (tables in build/bench-quick/results.md)" | tee -a "$log"
	grep -E '^FAIL ' "$log"
	count_log "$log"
	tier_exit bench-quick "$rc" "$log"
}

case $tier in
harness) run_harness ;;
unit) run_unit ;;
fuzz) run_fuzz ;;
host) run_host ;;
vm) run_vm ;;
guest) run_guest ;;
bench-quick) run_bench_quick ;;
all)
	run_harness
	run_unit
	run_fuzz
	run_host
	run_vm
	run_guest
	run_bench_quick
	;;
*)
	echo "usage: $0 harness|unit|fuzz|host|vm|guest|bench-quick|all" >&2
	exit 2
	;;
esac
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
