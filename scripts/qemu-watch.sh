#!/usr/bin/env bash
# Runs one qemu (or any command) and watches its output while it runs, so a
# guest that can never finish is ended at once instead of at a timeout:
#
#   scripts/qemu-watch.sh [--log FILE] [--limit SECS] [--stall SECS]
#                         [--until REGEX] [--booted REGEX --boots N]
#                         [--reason FILE] [--quiet] -- CMD...
#
# CMD's stdout and stderr, carriage returns removed, go to stdout (unless
# --quiet) and to --log. The watchdog ends CMD (SIGTERM, then SIGKILL, to its
# whole process group) when:
#   "KVM internal error"      the vCPU stopped; qemu itself stays alive
#   "Kernel panic - not sync" the guest panicked
#   "blocked for more than"   a guest task hung in the kernel (hung_task):
#                             the run can no longer finish, though the
#                             kernel's reports keep the stall check quiet
#   --stall SECS              no output at all for SECS seconds (0: never)
#   --limit SECS              SECS seconds of wall clock in all (0: never)
#   --until REGEX             a line matched REGEX: done, not a failure
# --booted REGEX --boots N: when a line matches REGEX (the guest's init says
# hello) T seconds in, the limit grows to N x T if that is more: a run is
# sized by the boot it really had, on a machine as busy as it is now.
# After the first two it waits a moment (a register dump, a stack trace) so
# that the log holds the post-mortem. Defaults: --stall $GG_QEMU_STALL or
# 120, --limit $GG_QEMU_LIMIT or 0.
#
# Exit status: CMD's own when it ended by itself; 0 when --until matched;
# otherwise 120 KVM internal error, 121 kernel panic, 122 stall, 123 hung
# task, 124 limit.
# The verdict, one line ("exited with status 0 (at 41.2 s; longest silence
# 3.1 s)", "KVM internal error (at 1.3 s)", ...), goes to --reason and,
# when the watchdog ended CMD, to stderr.
set -uo pipefail

LOG=/dev/null LIMIT=${GG_QEMU_LIMIT:-0} STALL=${GG_QEMU_STALL:-120}
UNTIL='' REASON=/dev/null QUIET=0 BOOTED='' BOOTS=0
while (($#)); do
	case $1 in
	--log) LOG=${2:?}; shift 2 ;;
	--limit) LIMIT=${2:?}; shift 2 ;;
	--stall) STALL=${2:?}; shift 2 ;;
	--until) UNTIL=${2:?}; shift 2 ;;
	--booted) BOOTED=${2:?}; shift 2 ;;
	--boots) BOOTS=${2:?}; shift 2 ;;
	--reason) REASON=${2:?}; shift 2 ;;
	--quiet) QUIET=1; shift ;;
	--) shift; break ;;
	*) echo "qemu-watch: unknown option $1" >&2; exit 2 ;;
	esac
done
(($#)) || { echo "qemu-watch: no command" >&2; exit 2; }
for v in "$LIMIT" "$STALL" "$BOOTS"; do
	[[ $v =~ ^[0-9]+$ ]] || { echo "qemu-watch: --limit, --stall, --boots want whole numbers, not '$v'" >&2; exit 2; }
done

# Microseconds since the epoch, into $now; seconds as "S.d" / "S.dddddd"
# into $s1 / $s6: no subshells, this runs once per line of output.
tick() { now=${EPOCHREALTIME/./}; }
fmt() { printf -v s1 '%d.%d' $(($1 / 1000000)) $(($1 % 1000000 / 100000)); }
fmt6() { printf -v s6 '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)); }
tick
T0=$now

# setsid: CMD leads a process group of its own, so that ending it also ends
# any child that would otherwise keep the pipe open. Not a group leader
# here, so setsid execs in place and $! is CMD's pid.
exec {in}< <(exec setsid "$@" </dev/null 2>&1)
PID=$!
exec {log}>"$LOG"
stop_cmd() {
	kill -TERM -- "-$PID" 2>/dev/null || return 0
	local i
	for ((i = 0; i < 20; i++)); do
		kill -0 "$PID" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL -- "-$PID" 2>/dev/null
}
trap 'stop_cmd' EXIT
trap 'stop_cmd; exit 130' INT TERM

# The verdict: its exit code, its reason, and when (us) CMD is ended: a
# moment later for what qemu and the kernel print after the first line.
code='' why='' end_at=0
verdict() { # CODE REASON GRACE_US
	[[ -n $code ]] && return
	tick
	fmt $((now - T0))
	code=$1 why="$2 (at $s1 s)" end_at=$((now + $3))
}
on_line() {
	case $1 in
	*"---[ end Kernel panic"*) end_at=0 ;; # the trace is complete
	*"KVM internal error"*) verdict 120 "KVM internal error" 1000000 ;;
	*"Kernel panic - not syncing"*) verdict 121 "kernel panic" 3000000 ;;
	*"INFO: task "*" blocked for more than "*)
		# The task's stack follows; the name says which one.
		t=${1#*INFO: task }
		verdict 123 "a guest task hung in the kernel: ${t%% blocked*}" 3000000
		;;
	esac
	if [[ -n $BOOTED && $1 =~ $BOOTED ]]; then
		BOOTED= # the first one only
		tick
		t=$(((now - T0) * BOOTS / 1000000 + 1))
		((LIMIT == 0 || t <= LIMIT)) || {
			echo "qemu-watch: booted in $(((now - T0) / 1000000)) s: limit ${LIMIT} s -> $t s" >&2
			LIMIT=$t
		}
	fi
	if [[ -n $UNTIL && -z $code && $1 =~ $UNTIL ]]; then
		verdict 0 "reached '$UNTIL'" 0
	fi
}

last=$T0 part='' quiet=0 # quiet: the longest silence so far (us)
while :; do
	tick
	# The nearest deadline decides how long the next read may wait.
	wait_us=3600000000
	if [[ -n $code ]]; then
		wait_us=$((end_at - now))
	else
		((STALL > 0 && last + STALL * 1000000 - now < wait_us)) &&
			wait_us=$((last + STALL * 1000000 - now))
		((LIMIT > 0 && T0 + LIMIT * 1000000 - now < wait_us)) &&
			wait_us=$((T0 + LIMIT * 1000000 - now))
	fi
	if ((wait_us <= 0)); then
		if [[ -z $code ]] && ((LIMIT > 0 && now - T0 >= LIMIT * 1000000)); then
			verdict 124 "time limit of $LIMIT s reached" 0
		elif [[ -z $code ]]; then
			verdict 122 "stalled: no output for $STALL s" 0
		fi
		break
	fi
	fmt6 "$wait_us"
	line=
	IFS= read -r -t "$s6" -u "$in" line
	r=$?
	if ((r > 128)); then # timed out; keep what came of a partial line
		part+=$line # no "last=": when it came is unknown
		continue
	fi
	((r == 0)) || [[ -n $line$part ]] || break # end of output: CMD is done
	line=${part}${line//$'\r'/} part=
	tick
	((now - last > quiet)) && quiet=$((now - last))
	last=$now
	((QUIET)) || printf '%s\n' "$line"
	printf '%s\n' "$line" >&$log
	on_line "$line"
	((r == 0)) || break
done

if [[ -n $code ]]; then
	stop_cmd
	wait "$PID" 2>/dev/null
	rc=$code
	[[ $code == 0 ]] || echo "qemu-watch: $why: ended $1 (pid $PID)" >&2
else
	wait "$PID"
	rc=$?
	tick
	fmt $((now - T0))
	why="exited with status $rc (at $s1 s"
	fmt "$quiet"
	why+="; longest silence $s1 s)"
fi
echo "$why" >"$REASON"
exit "$rc"
