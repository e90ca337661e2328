#!/usr/bin/env bash
# The harness tier: the accelerator probe (scripts/qemu-accel.sh) and the
# VM watchdog (scripts/qemu-watch.sh, as scripts/vmtest.sh uses it), driven
# by a fake qemu (tests/harness/fake-qemu) that behaves like the machines
# they must handle: a KVM that stops at once while qemu stays alive, one
# that aborts qemu, one too slow to count, a good one; a guest that
# panics, stalls or never ends. Each must be decided in seconds, with the
# right verdict and reason. Needs no KVM, no kernel and no root: seconds.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
root=$PWD
. tests/lib.sh

tmp=$(mktemp -d /tmp/gg-harness.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export GG_QEMU=$root/tests/harness/fake-qemu
export FAKE_QEMU_DIR=$tmp
export GG_KVM_DEV=$tmp/kvm # a writable "/dev/kvm", whatever this machine has
: >"$GG_KVM_DEV"
unset GG_QEMU_ACCEL GG_QEMU_REPROBE GG_VM_TIMEOUT GG_VM_STALL GG_QEMU_STALL GG_QEMU_LIMIT

# A kernel directory as scripts/vm-kernels.sh lays it out; the fake boots
# anything.
kdir=$tmp/kernel
mkdir -p "$kdir"
echo "fake kernel $$" >"$kdir/vmlinuz"
echo "6.12.0-fake" >"$kdir/release"
: >"$kdir/cmdline"
: >"$kdir/test.ko"
: >"$kdir/dummy.ko"
export GG_VM_KERNELS="6.12=$kdir"

calls() { cat "$tmp/calls" 2>/dev/null | wc -l; }
kvm_calls() { grep -c -- '-enable-kvm' "$tmp/calls" 2>/dev/null; }
now() { date +%s.%N; }
# No fake qemu ever started is still running (pids of every call, and the
# stall mode's child).
none_alive() {
	local p
	for p in $(cat "$tmp/pids" "$tmp/child.pid" 2>/dev/null); do
		kill -0 "$p" 2>/dev/null && return 1
	done
	return 0
}
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
faster() { awk -v t="$1" -v m="$2" 'BEGIN { exit !(t < m) }'; } # faster SECS MAX
# The watchdog's own clock: the S of the first "(at S s)" in TEXT is under
# MAX (the wall time of a whole vmtest.sh run also counts its initramfs).
at_under() { # MAX TEXT
	local at
	at=$(grep -o '(at [0-9.]* s)' <<<"$2" | head -n1 | tr -dc '0-9.')
	[ -n "$at" ] && faster "$at" "$1"
}

# probe NAME MODE [ENV=VALUE...]: runs the probe with a cache of its own;
# sets v (its --show output), err (its stderr), secs.
probe() {
	local name=$1 mode=$2 t0
	shift 2
	rm -f "$tmp/calls"
	t0=$(now)
	v=$(env FAKE_QEMU_MODE="$mode" GG_QEMU_ACCEL_CACHE="$tmp/cache-$name" "$@" \
		scripts/qemu-accel.sh --kernel "$kdir/vmlinuz" --show 2>"$tmp/$name.err")
	secs=$(took "$t0")
	err=$(cat "$tmp/$name.err")
	echo "# $name: ${secs}s: $(tr '\n' ' ' <<<"$v")"
}
is_accel() { grep -qx "accel=$1" <<<"$v"; }
reason_has() { grep -q "^reason=.*$1" <<<"$v"; }
boot_measured() { grep -qE '^boot_secs=[0-9]+\.[0-9]$' <<<"$v"; }

# ---- the probe ----------------------------------------------------------------
probe broken-kvm broken-kvm
check probe-broken-kvm-picks-tcg is_accel tcg
check probe-broken-kvm-says-why reason_has 'KVM internal error'
check probe-broken-kvm-one-line-on-stderr test "$(grep -c 'KVM internal error' <<<"$err")" = 1
check probe-broken-kvm-in-seconds at_under 2 "$v"
check probe-broken-kvm-whole-probe-in-seconds faster "$secs" 15
check probe-broken-kvm-measures-tcg-boot boot_measured
check probe-broken-kvm-tried-kvm-once test "$(kvm_calls)" = 1
check probe-broken-kvm-left-no-qemu wait_for 3 none_alive

probe good good
check probe-good-kvm-picks-kvm is_accel kvm
check probe-good-kvm-measures-boot boot_measured
check probe-good-kvm-quiet test -z "$err"
check probe-good-kvm-one-boot test "$(calls)" = 1
args=$(env FAKE_QEMU_MODE=good GG_QEMU_ACCEL_CACHE="$tmp/cache-good" scripts/qemu-accel.sh --kernel "$kdir/vmlinuz")
check probe-good-kvm-args test "$args" = "$(printf '%s\n' -enable-kvm -cpu host)"
check probe-cached-no-reboot test "$(calls)" = 1
GG_QEMU_REPROBE=1 FAKE_QEMU_MODE=good GG_QEMU_ACCEL_CACHE="$tmp/cache-good" \
	scripts/qemu-accel.sh --kernel "$kdir/vmlinuz" >/dev/null
check probe-reprobe-boots-again test "$(calls)" = 2
GG_RUN_ID=another-run FAKE_QEMU_MODE=good GG_QEMU_ACCEL_CACHE="$tmp/cache-good" \
	scripts/qemu-accel.sh --kernel "$kdir/vmlinuz" >/dev/null
check probe-new-run-probes-again test "$(calls)" = 3

probe abort-kvm abort-kvm
check probe-abort-kvm-picks-tcg is_accel tcg
check probe-abort-kvm-says-why reason_has 'failed.*status 134\|status 134.*failed'
check probe-abort-kvm-in-seconds at_under 2 "$v"

probe slow-kvm slow-kvm GG_QEMU_PROBE_SECS=2
check probe-slow-kvm-picks-tcg is_accel tcg
check probe-slow-kvm-says-why reason_has 'time limit of 2 s'
check probe-slow-kvm-in-seconds at_under 3 "$v"
check probe-slow-kvm-whole-probe-in-seconds faster "$secs" 15

probe panic panic
check probe-panic-picks-tcg is_accel tcg
check probe-panic-says-why reason_has 'kernel panic'
check probe-panic-no-boot-time grep -qx 'boot_secs=' <<<"$v"
check probe-panic-in-seconds at_under 2 "$v"

probe no-kvm good GG_KVM_DEV="$tmp/no-such-kvm"
check probe-no-kvm-device-picks-tcg is_accel tcg
check probe-no-kvm-device-never-tries-kvm test "$(kvm_calls)" = 0

probe forced-tcg good GG_QEMU_ACCEL=tcg
check probe-forced-tcg is_accel tcg
check probe-forced-tcg-never-tries-kvm test "$(kvm_calls)" = 0
probe forced-kvm broken-kvm GG_QEMU_ACCEL=kvm
check probe-forced-kvm-stays-kvm is_accel kvm
check probe-forced-kvm-warns grep -q 'GG_QEMU_ACCEL=kvm, but' <<<"$err"

# ---- the watchdog, through scripts/vmtest.sh ------------------------------------
# vm NAME MODE [ENV=VALUE...]: one VM of a trivial guest script, with a
# probe of its own; sets out (its output), rc, secs.
printf '#!/bin/sh\necho hello\n' >"$tmp/guest.sh"
vm() {
	local name=$1 mode=$2 t0
	shift 2
	t0=$(now)
	out=$(env FAKE_QEMU_MODE="$mode" GG_QEMU_ACCEL_CACHE="$tmp/cache-vm-$name" GG_VM_OUT="$tmp/vm-$name" \
		"$@" scripts/vmtest.sh --kernel 6.12 "$tmp/guest.sh" 2>&1)
	rc=$?
	secs=$(took "$t0")
	echo "# vm $name: rc $rc, ${secs}s: $(grep -E '^(FAIL|vmtest: [0-9])' <<<"$out" | tr '\n' ' ')"
}
has() { grep -q -- "$1" <<<"$out"; }

vm good good
check vm-good-passes test "$rc" = 0
check vm-good-counts-guest-pass has '^vmtest: 1 passed, 0 failed'
check vm-good-on-kvm has 'accelerator: -enable-kvm -cpu host'

# This machine's KVM: the probe falls back, the tier passes on TCG.
vm broken-machine broken-kvm
check vm-broken-kvm-falls-back-to-tcg has 'accelerator: tcg'
check vm-broken-kvm-passes-on-tcg test "$rc" = 0

# Forced onto it anyway: ended at once, and the FAIL line says why.
vm forced-broken broken-kvm GG_QEMU_ACCEL=kvm
check vm-kvm-internal-error-fails test "$rc" != 0
check vm-kvm-internal-error-named has '^FAIL vm-6.12 (no result: KVM internal error (at [0-9.]* s), kernel 6.12.0-fake'
check vm-kvm-internal-error-in-seconds at_under 2 "$(grep "^FAIL vm-" <<<"$out")"
check vm-kvm-internal-error-whole-run-in-seconds faster "$secs" 30

vm panic panic GG_QEMU_ACCEL=tcg FAKE_QEMU_PROBE_MODE=good
check vm-panic-named has '^FAIL vm-6.12 (no result: kernel panic (at [0-9.]* s), kernel 6.12.0-fake'
check vm-panic-in-seconds at_under 2 "$(grep "^FAIL vm-" <<<"$out")"
check vm-oops-panics grep -q ' oops=panic ' "$tmp/calls"

# A task hung in the kernel while the kernel keeps talking: ended at once,
# not at the time limit, and the FAIL line names the task.
vm hung hung GG_QEMU_ACCEL=tcg FAKE_QEMU_PROBE_MODE=good
check vm-hung-task-named has '^FAIL vm-6.12 (no result: a guest task hung in the kernel: govgate:231 (at [0-9.]* s), kernel 6.12.0-fake, last check before-the-hang'
check vm-hung-task-in-seconds at_under 2 "$(grep "^FAIL vm-" <<<"$out")"

# The test runner's tier count is vmtest's, not the lines both runs of a
# retried guest streamed (scripts/run-tests.sh count_log).
tier_count() (
	passed=0 failed=0
	source <(sed -n '/^count_log()/,/^}/p' scripts/run-tests.sh)
	printf '%s\n' "$out" >"$tmp/tier.log"
	count_log "$tmp/tier.log"
)
# tcg_retried FAULT SAID LAST: an emulator fault vmtest retries under TCG
# (FAULT: the fake's mode, FAULT-once its first boot only; SAID: vmtest's
# words; LAST: the guest's check before it). The guest runs once more and
# only that run counts; a second one fails as any panic; under KVM none is
# retried.
tcg_retried() {
	local f=$1
	rm -f "$tmp/$f.done"
	vm "$f-once" "$f-once" GG_QEMU_ACCEL=tcg FAKE_QEMU_PROBE_MODE=good
	check "vm-$f-once-rerun-passes" test "$rc" = 0
	check "vm-$f-once-said" has "$2"
	check "vm-$f-once-counts-second-run" has '^vmtest: 1 passed, 0 failed'
	check "vm-$f-once-streamed-twice" test "$(grep -c 'GGVM-PASS ' <<<"$out")" = 2
	check "vm-$f-once-tier-counts-once" test "$(tier_count)" = "  -> 1 passed, 0 failed"
	vm "$f-twice" "$f" GG_QEMU_ACCEL=tcg FAKE_QEMU_PROBE_MODE=good
	check "vm-$f-twice-fails" test "$rc" != 0
	check "vm-$f-twice-named" has "^FAIL vm-6.12 (no result: kernel panic (at [0-9.]* s), kernel 6.12.0-fake, last check $3"
	rm -f "$tmp/$f.done"
	vm "$f-kvm" "$f-once" GG_QEMU_ACCEL=kvm FAKE_QEMU_PROBE_MODE=good
	check "vm-$f-kvm-not-retried" test "$rc" != 0
}
# TCG's stale int3 at a BPF LSM hook's call site.
tcg_retried int3 'Oops: int3 at a BPF LSM hook.s patched call while TCG emulates' before-the-oops
# A soft lockup, which panics (softlockup_panic=1) with the kernel's log
# replayed.
tcg_retried lockup 'soft lockup while TCG emulates (soft lockup - CPU#1 stuck for 22s! \[exe:412\]; ' before-the-lockup
check vm-lockup-panics grep -q ' softlockup_panic=1 panic_print=0x20 ' "$tmp/calls"

rm -f "$tmp/child.pid"
vm stall stall GG_QEMU_ACCEL=tcg FAKE_QEMU_PROBE_MODE=good GG_VM_STALL=2
check vm-stall-named has '^FAIL vm-6.12 (no result: stalled: no output for 2 s (at [0-9.]* s), kernel 6.12.0-fake'
check vm-stall-in-seconds at_under 4 "$(grep "^FAIL vm-" <<<"$out")"
child_gone() { [ -s "$tmp/child.pid" ] && ! kill -0 "$(cat "$tmp/child.pid")" 2>/dev/null; }
check vm-stall-ended-qemu-children wait_for 3 child_gone

vm limit chatty GG_QEMU_ACCEL=tcg FAKE_QEMU_PROBE_MODE=good GG_VM_TIMEOUT=3
check vm-limit-named has '^FAIL vm-6.12 (no result: time limit of 3 s reached (at [0-9.]* s), kernel 6.12.0-fake'
check vm-limit-in-seconds at_under 4 "$(grep "^FAIL vm-" <<<"$out")"
check vm-limit-names-last-check has '^FAIL vm-6.12 (.*, last check last-check-reached, log '
check vm-limit-shows-guest-tail has '^    GGVM-INFO still busy' 

# The derived limit: max(60, boots x B), B the probe's boot in whole
# seconds (the fake's 0.3 s: 1 s, or more on a busy machine).
sized() {
	local l b
	l=$(sed -n 's/.*, limit \([0-9]*\)s (B=\([0-9]*\)s, 30 boots).*/\1 \2/p' <<<"$out")
	read -r l b <<<"$l"
	[ -n "$b" ] && [ "$l" = $((30 * b > 60 ? 30 * b : 60)) ]
}
vm sized good GG_QEMU_ACCEL=tcg
check vm-limit-sized-from-boot sized
vm fixed good GG_QEMU_ACCEL=tcg GG_VM_TIMEOUT=77
check vm-limit-env-override has ', limit 77s '

# The limit grows with the VM's own boot: booted 1 s in, 6 boots = 7 s,
# against a 3 s limit and a 4 s run. Seconds of margin on each side: a
# busy CI machine once took the 0.5 s of an earlier version.
watch() { # LIMIT CMD: qemu-watch with --booted, on a 1 s boot + 3 s run
	scripts/qemu-watch.sh --quiet --limit "$1" "${@:2}" -- \
		bash -c 'sleep 1; echo GGVM-BEGIN; sleep 3; echo done' 2>/dev/null
}
check watch-limit-grows-with-boot watch 3 --booted '^GGVM-BEGIN' --boots 6
watch 3 --booted '^GGVM-BEGIN' --boots 1
check watch-limit-kept-when-larger test $? = 124
watch 3
check watch-limit-fixed-without-boots test $? = 124

# ---- tests/lib.sh, in each shell that sources it ---------------------------------
cat >"$tmp/lib-user.sh" <<'SH'
GG_TEST_PREFIX=X-
. tests/lib.sh
n=0
third() { n=$((n + 1)); [ $n -ge 3 ]; }
check ok true
check bad false
t0=$(date +%s)
wait_for 1 false && echo "wait-false-succeeded"
echo "waited $(($(date +%s) - t0))"
wait_for 5 third && echo "third-after $n"
echo "counts $passes $fails"
SH
for sh in bash "busybox sh"; do
	lib_out=$($sh "$tmp/lib-user.sh" 2>&1)
	name=lib-${sh%% *}
	check "$name-pass-line" grep -qx 'X-PASS ok' <<<"$lib_out"
	check "$name-fail-line-names-cmd" grep -qx 'X-FAIL bad: false' <<<"$lib_out"
	check "$name-wait-for-gives-up" grep -qE '^waited [12]$' <<<"$lib_out"
	check "$name-wait-for-never-lies" test -z "$(grep wait-false-succeeded <<<"$lib_out")"
	check "$name-wait-for-polls" grep -qx 'third-after 3' <<<"$lib_out"
	check "$name-counts" grep -qx 'counts 1 1' <<<"$lib_out"
done

check harness-left-no-fake-qemu wait_for 3 none_alive
echo "harness: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
