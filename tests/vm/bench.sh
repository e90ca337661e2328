#!/bin/sh
# Benchmarks 1 (exec) and 2 (connect vs rule count) on the BPF LSM path,
# global scope, inside the VM (guest script of scripts/vmtest.sh, started by
# bench/vm.sh; busybox ash). The VM runs under software emulation: absolute
# times mean nothing, the ratios to the baseline of the same round do.
# The VM has no network device (loopback only) and no nft/iptables: govgate
# against no filter only. The baseline is "nothing loaded" (stop --unload):
# on the LSM path the programs run for every task, so a cgroup outside the
# scope is no baseline here.
#
# /gg/bench.conf sets REPS, EXEC_SECS, CONNECT_SECS and RULES. Prints
# "GGBENCH-RAW section,variant,param,rep,metric,value" and
# "GGBENCH-META key=value" lines for bench/report.py, and GGVM-PASS/FAIL.
GG_TEST_PREFIX=GGVM-
. /gg/lib.sh # pass, fail, check, wait_for
raw() { echo "GGBENCH-RAW $1,$2,$3,$4,$5,$6"; }

REPS=5 EXEC_SECS=2 CONNECT_SECS=1 RULES="10 1000 100000"
[ -r /gg/bench.conf ] && . /gg/bench.conf
k=$(cat /etc/gg-kernel-series)
cfg=/tmp/govgate.json
mkdir -p /tmp/state
cat >$cfg <<JSON
{ "pack_dirs": ["/gg/packs"], "state_dir": "/tmp/state",
  "audit": { "path": "/tmp/audit.jsonl", "key": "/tmp/audit-key.pem" } }
JSON
PACKS="baseline-hardening@v1 owasp-llm-top10@v1 owasp-agentic@v1 owasp-mcp@v1 eu-ai-act@v1 nist-ai-rmf@v1 iso-42001@v1 mitre-atlas@v1 csa-aicm@v1"

echo "GGBENCH-META date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "GGBENCH-META kernel=$(uname -r)"
echo "GGBENCH-META nproc=$(nproc)"
echo "GGBENCH-META cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo) (qemu TCG)"
echo "GGBENCH-META mem_gib=$(awk '/^MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)"
echo "GGBENCH-META mode=vm-$k"
echo "GGBENCH-META reps=$REPS"
echo "GGBENCH-META command=bench/vm.sh"
t0=$(date +%s)

starts=0
start() { # starts the daemon, global scope; it re-applies state/applied.json
	govgate run --config $cfg --scope global 2>>/tmp/daemon.err &
	daemon=$!
	wait_for 60 started_or_dead
	[ "$(grep -c "enforcing (generation" /tmp/daemon.err)" -gt $starts ] && {
		starts=$((starts + 1))
		return 0
	}
	cat /tmp/daemon.err
	return 1
}
started_or_dead() {
	[ "$(grep -c "enforcing (generation" /tmp/daemon.err)" -gt $starts ] || ! kill -0 $daemon 2>/dev/null
}
stop_unload() {
	kill $daemon
	wait $daemon 2>/dev/null
	govgate stop --unload --config $cfg >/dev/null
}
rate() { awk '{print $6}'; }

sample() { # sample SECTION VARIANT PARAM REP ggbench-ARGS...
	s=$1 v=$2 p=$3 r=$4
	shift 4
	if o=$(ggbench "$@"); then
		raw "$s" "$v" "$p" "$r" rate "$(echo "$o" | rate)"
	else
		fail "$s-$v-$p-$r" "ggbench $*"
	fi
}

timed() { # timed SECTION VARIANT PARAM REP CMD...
	s=$1 v=$2 p=$3 r=$4
	shift 4
	t=$(ggbench time "$@" 2>&1 >/dev/null | tail -n1)
	set -- $t
	if [ "$6" = 0 ]; then
		raw "$s" "$v" "$p" "$r" secs "$2"
		raw "$s" "$v" "$p" "$r" maxrss_kb "$4"
		return 0
	fi
	fail "$s-$v-$p" "$t"
	return 1
}

if start; then
	cat /tmp/daemon.err
	if grep -q "cmd.exec: lsm" /tmp/daemon.err && grep -q "net.egress: lsm" /tmp/daemon.err; then
		pass lsm-path
	else
		fail lsm-path "not on the BPF LSM path"
	fi
	stop_unload
else
	fail start
fi

# ---- 1. exec: nothing loaded vs the floor + nine packs (ABBA rounds)
r=1
while [ $r -le $REPS ]; do
	if [ $((r % 2)) = 1 ]; then order="none govgate"; else order="govgate none"; fi
	for phase in $order; do
		if [ $phase = none ]; then
			sample exec none "" $r exec $EXEC_SECS
			continue
		fi
		rm -f /tmp/state/applied.json
		start || { fail exec-start; continue; }
		# shellcheck disable=SC2086
		timed apply nine-packs "" $r govgate apply --config $cfg $PACKS
		sample exec govgate "" $r exec $EXEC_SECS
		stop_unload
	done
	r=$((r + 1))
done
echo "exec done after $(($(date +%s) - t0)) s"

# ---- 2. connect vs rules: nothing loaded vs floor + N prefixes. The
# daemon re-applies the saved policy at each start.
for N in $RULES; do
	ggbench gen $N $((N * 7 + 1)) /tmp/ggbench-$N.json - - || { fail gen-$N; continue; }
	rm -f /tmp/state/applied.json
	start || { fail connect-start-$N; continue; }
	timed apply rules $N 1 govgate apply --config $cfg /tmp/ggbench-$N.json
	c=$(grep -oE '"[0-9.]+/[0-9]+"' /tmp/ggbench-$N.json | head -n1 | tr -d '"')
	o=$(gg-net connect "${c%/*}" 80)
	if [ "$o" = EPERM ]; then pass "connect-$N-prefix-denied"; else fail "connect-$N-prefix-denied" "$c: $o"; fi
	stop_unload
	r=1
	while [ $r -le $REPS ]; do
		if [ $((r % 2)) = 1 ]; then order="none govgate"; else order="govgate none"; fi
		for phase in $order; do
			if [ $phase = none ]; then
				sample connect none $N $r connect $CONNECT_SECS
				continue
			fi
			start || { fail connect-start-$N; continue; }
			sample connect govgate $N $r connect $CONNECT_SECS
			stop_unload
		done
		r=$((r + 1))
	done
	rm -f /tmp/ggbench-$N.json
	echo "connect $N done after $(($(date +%s) - t0)) s"
done
echo "GGBENCH-META elapsed_secs=$(($(date +%s) - t0))"
echo "vm $k: bench done, $fails failed"
[ $fails -eq 0 ]
