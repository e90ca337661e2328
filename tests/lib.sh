# Shared by the shell test tiers: host (tests/host, tests/harness: bash), VM
# (tests/vm, busybox ash; scripts/vmtest.sh puts this file at /gg/lib.sh)
# and guest (tests/guest, bash; at /usr/local/lib/gg-guest/lib.sh). POSIX
# sh (plus `local`, which ash, dash and bash all have), so that ash can
# source it.
#
#   GG_TEST_PREFIX=GGVM-    set before sourcing: the result lines' prefix
#   pass NAME               prints "${GG_TEST_PREFIX}PASS NAME"
#   fail NAME [WHY]         prints "${GG_TEST_PREFIX}FAIL NAME: WHY"
#   check NAME CMD...       pass NAME if CMD succeeds, else fail NAME: CMD
#   wait_for SECS CMD...    runs CMD until it succeeds, for at most SECS
#                           seconds of wall clock; its status is CMD's last
#
# $passes and $fails count the results. Wait for readiness with wait_for,
# never with a fixed sleep: a fixed sleep is too short on a slow machine
# (software emulation) and wasted on a fast one.

passes=0
fails=0

pass() {
	echo "${GG_TEST_PREFIX:-}PASS $1"
	passes=$((passes + 1))
}

fail() {
	echo "${GG_TEST_PREFIX:-}FAIL $1${2:+: $2}"
	fails=$((fails + 1))
}

# CMD runs in this shell (not a subshell): it may set variables.
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name" "$*"; fi
}

# Polls every 0.1 s; the deadline is wall clock, not a count of polls, so a
# slow CMD does not stretch it. CMD runs at least once.
wait_for() {
	local end=$(($(date +%s) + $1))
	shift
	while ! "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.1
	done
}
