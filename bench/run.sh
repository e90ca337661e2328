#!/usr/bin/env bash
# govgate benchmarks (issue 6), on this machine's kernel (whatever path it
# allows: here the fallback). Usage:
#
#   bench/run.sh [--quick] [--out DIR]
#
#   (default)  the full run behind docs/performance.md: 10 .. 1,000,000 rules,
#              nftables and iptables at the same sizes (iptables up to
#              100,000 rules), writes DIR/results.{md,json,csv} and the plot
#              docs/perf/connect-vs-rules.png.
#   --quick    seconds long, for CI: tiny durations, 10 and 1,000 rules.
#              Exits non-zero on breakage (a step that fails, a denial that
#              does not happen, an event lost without an events_lost count),
#              never on a performance number.
#   --out DIR  results directory (default build/bench)
#
# Every number is reported as a ratio to a baseline measured in the same run;
# baseline and treatment samples are interleaved and the median of the
# per-round ratios is reported.
#
# Safety: every network attempt is made from a private network namespace
# holding only loopback (one per firewall under test: plain, nftables,
# iptables; the nft/iptables rules live only there, the host's firewall is
# never touched). Enforcement is scoped to a cgroup this script creates, with
# a pin directory, state directory and audit log of its own. On exit, pass or
# fail, a trap stops the daemon, runs `govgate stop --unload`, deletes every
# nft/iptables rule it added, ends the namespaces and removes the cgroups.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# GG_BENCH_GOVGATE: another build's binary, for A/B runs (same BPF ABI).
gg=${GG_BENCH_GOVGATE:-$root/build/govgate}
B=$root/build/bench/ggbench
netprobe=$root/build/helpers/gg-net
quick=0
out=$root/build/bench
while (($#)); do
	case $1 in
	--quick) quick=1; shift ;;
	--out) out=${2:?}; shift 2 ;;
	*) echo "usage: $0 [--quick] [--out DIR]" >&2; exit 2 ;;
	esac
done

source "$root/bench/lib.sh"
if ((quick)); then
	REPS=3 EXEC_SECS=0.2 CONNECT_SECS=0.1 RULES="10 1000" IPT_MAX=1000 PAIR_SECS=0.2 PAIR_REPS=1
	APPLY_REPS=1
	STORM_SECS=0.2 STORM_RATES="20000" STORM_BURSTS="1000" RING_BURSTS="1000"
	docplot=
else
	REPS=${GG_BENCH_REPS:-9} EXEC_SECS=1.5 CONNECT_SECS=0.5 RULES="10 1000 100000 1000000"
	PAIR_SECS=3 PAIR_REPS=5 APPLY_REPS=5
	IPT_MAX=100000 STORM_SECS=2
	STORM_RATES="10000 40000 60000 100000 150000 200000 300000"
	STORM_BURSTS="1000 8000 16000 64000 100000 256000 1000000"
	RING_BURSTS="100000 150000 256000"
	docplot=$root/docs/perf/connect-vs-rules.png
fi
# Overrides, for development: GG_BENCH_ONLY="exec storm connect" (sections),
# GG_BENCH_RULES, GG_BENCH_STORM_RATES, GG_BENCH_STORM_BURSTS, GG_BENCH_RING_BURSTS.
ONLY=${GG_BENCH_ONLY:-exec storm connect}
RULES=${GG_BENCH_RULES:-$RULES}
STORM_RATES=${GG_BENCH_STORM_RATES:-$STORM_RATES}
STORM_BURSTS=${GG_BENCH_STORM_BURSTS:-$STORM_BURSTS}
RING_BURSTS=${GG_BENCH_RING_BURSTS-$RING_BURSTS}
# The bursts of RING_BURSTS run again with the ring buffer an operator
# would set for them (audit.ring_buffer_mib; the default is 4).
BIG_RING_MIB=64
plot=$out/connect-vs-rules.png
# The full, unrestricted run also refreshes the plot in docs/.
[ -n "${GG_BENCH_ONLY:-}${GG_BENCH_RULES:-}${GG_BENCH_STORM_RATES:-}${GG_BENCH_STORM_BURSTS:-}" ] && docplot=
only() { [[ " $ONLY " == *" $1 "* ]]; }

fails=0
say() { echo "bench: $*" >&2; }
broke() { echo "FAIL $*" >&2; fails=$((fails + 1)); }
die() { broke "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (cgroups, BPF, network namespaces)"
[ -x "$gg" ] && [ -x "$B" ] && [ -x "$netprobe" ] || die "build first: make bench"
[ -n "$cg2" ] || die "no cgroup2 mount"
for t in nsenter unshare ip python3 bpftool; do
	command -v $t >/dev/null || die "missing $t"
done
# nftables/iptables/gnuplot: installed when missing; the comparisons and the
# plot are skipped (not failed) if that is impossible.
need=()
command -v nft >/dev/null || need+=(nftables)
command -v iptables-restore >/dev/null || need+=(iptables)
((quick)) || command -v gnuplot >/dev/null || need+=(gnuplot-nox)
if ((${#need[@]})); then
	say "installing ${need[*]}"
	{ ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || apt-get update -qq; } >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2 ||
		say "could not install ${need[*]}; those comparisons are skipped"
fi
have_nft=0 have_ipt=0
command -v nft >/dev/null && have_nft=1
command -v iptables-restore >/dev/null && have_ipt=1

id=ggbench-$$
cgp=$cg2/$id
cg_scope=$cgp/scope # governed by govgate
cg_base=$cgp/base # not governed: the baselines run here
cg_floor=$cgp/floor # empty programs at the connect path's hooks
pin=/sys/fs/bpf/$id
pin_floor=/sys/fs/bpf/$id-floor
tmp=$(mktemp -d /tmp/$id.XXXXXX)
state=$tmp/state
log=$tmp/audit.jsonl
cfg=$tmp/config.json
daemon_pid=
ns_plain= ns_nft= ns_ipt=
# kernel.bpf_stats_enabled: on only for the samples that measure the
# programs' cost (each govgate sample has a second, stats-on run for it),
# off for the rates, then as it was: it costs each program run two clock
# reads (kvm-clock here), which no-agent baselines never pay.
bpf_stats=0 bpf_stats_was=
mkdir -p "$out"
raw=$out/raw.csv

nsx() { # nsx HOLDER_PID CMD...: run CMD in that private network namespace
	local n=$1
	shift
	nsenter --net="/proc/$n/ns/net" -- "$@"
}

cleanup() {
	trap - EXIT INT TERM
	[ -n "$bpf_stats_was" ] && sysctl -qw kernel.bpf_stats_enabled="$bpf_stats_was"
	if [ -n "$daemon_pid" ]; then
		kill "$daemon_pid" 2>/dev/null
		wait "$daemon_pid" 2>/dev/null
	fi
	"$gg" stop --unload --pin-dir "$pin" >/dev/null 2>&1
	[ -e "$pin" ] && { broke "cleanup: pins left in $pin"; rm -rf "$pin"; }
	rm -rf "$pin_floor"
	if [ -n "$ns_nft" ]; then
		nsx "$ns_nft" nft delete table ip ggbench 2>/dev/null
	fi
	if [ -n "$ns_ipt" ]; then
		nsx "$ns_ipt" iptables -F OUTPUT 2>/dev/null
		nsx "$ns_ipt" nft delete table ip filter 2>/dev/null # iptables-nft's table
	fi
	for n in $ns_plain $ns_nft $ns_ipt; do
		kill "$n" 2>/dev/null
		wait "$n" 2>/dev/null
	done
	for c in "$cg_scope" "$cg_base" "$cg_floor" "$cgp"; do
		[ -d "$c" ] || continue
		while read -r p; do echo "$p" >"$cg2/cgroup.procs" 2>/dev/null; done <"$c/cgroup.procs"
	done
	for c in "$cg_scope" "$cg_base" "$cg_floor" "$cgp"; do
		[ -d "$c" ] && { rmdir "$c" 2>/dev/null || broke "cleanup: cannot remove $c"; }
	done
	rm -rf "$tmp"
	if ((fails)); then
		echo "bench: $fails step(s) broke" >&2
		exit 1
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# new_netns VAR: starts a process holding a fresh network namespace with
# only lo, up, and sets VAR to its pid. lo also holds $connect_to, the
# connect benchmark's destination: not a loopback address, so the gate
# decides it (a loopback destination is let through before any lookup, at
# the same cost for any number of rules: it would measure nothing).
connect_to=198.18.0.1
new_netns() {
	unshare -n -- bash -c "ip link set lo up && ip addr add $connect_to/32 dev lo && exec sleep 86400" </dev/null >/dev/null 2>&1 &
	local p=$! i
	printf -v "$1" %s "$p"
	for ((i = 0; i < 100; i++)); do
		nsx "$p" ip -o link show lo 2>/dev/null | grep -q ',UP' && return 0
		sleep 0.05
	done
	die "network namespace: lo not up"
}

# run CGROUP NETNS CMD...: CMD in that cgroup and that network namespace.
run() {
	bash -c 'echo $$ >"$1/cgroup.procs" || exit 99; n=$2; shift 2
		exec nsenter --net="/proc/$n/ns/net" -- "$@"' _ "$@"
}

record() { # record SECTION VARIANT PARAM REP METRIC VALUE
	echo "$1,$2,$3,$4,$5,$6" >>"$raw"
}

# bpf_cost SECTION PARAM REP OPS BEFORE AFTER: what the programs cost over
# a sample of OPS operations (execs, connects): per program its ns per run
# and runs per operation, and all of them together per operation. Noise of
# other jobs on the CPUs does not enter these, unlike the rates.
bpf_cost() {
	local sec=$1 par=$2 rep=$3 ops=$4 name n t
	((ops > 0)) || return 0
	while read -r name n t; do
		record "$sec" "bpf:$name" "$par" "$rep" ns_per_run "$n"
		record "$sec" "bpf:$name" "$par" "$rep" runs_per_op "$t"
	done < <(join <(sort "$5") <(sort "$6") | awk -v ops="$ops" '$5 > $3 {
		printf "%s %.1f %.3f\n", $1, ($4 - $2) / ($5 - $3), ($5 - $3) / ops }')
	record "$sec" bpf:total "$par" "$rep" ns_per_op "$(join <(sort "$5") <(sort "$6") |
		awk -v ops="$ops" '{ t += $4 - $2 } END { printf "%.1f", t / ops }')"
}

# sample SECTION VARIANT PARAM REP CGROUP NETNS ggbench-ARGS...: one rate
# (kernel.bpf_stats_enabled off) and, for govgate in scope, a second run
# with it on for the programs' cost; that run's rate is not a result.
sample() {
	local sec=$1 var=$2 par=$3 rep=$4 cg=$5 ns=$6 o
	shift 6
	if ! o=$(run "$cg" "$ns" "$B" "$@"); then
		broke "$sec $var $par rep $rep: ggbench $* failed"
		return
	fi
	record "$sec" "$var" "$par" "$rep" rate "$(awk '{print $6}' <<<"$o")"
	[ "$var" = govgate ] && ((bpf_stats)) || return 0
	sysctl -qw kernel.bpf_stats_enabled=1
	bpf_snap >"$tmp/bpf.0"
	if o=$(run "$cg" "$ns" "$B" "$@"); then
		bpf_snap >"$tmp/bpf.1"
		bpf_cost "$sec" "$par" "$rep" "$(awk '{print $2}' <<<"$o")" "$tmp/bpf.0" "$tmp/bpf.1"
	else
		broke "$sec $var $par rep $rep (bpf_stats): ggbench $* failed"
	fi
	sysctl -qw kernel.bpf_stats_enabled=0
}

# timed SECTION VARIANT PARAM REP CMD...: records CMD's wall time and max RSS
timed() {
	local sec=$1 var=$2 par=$3 rep=$4 t rc
	shift 4
	"$B" time "$@" >/dev/null 2>"$tmp/timed.err"
	t=$(tail -n1 "$tmp/timed.err")
	rc=$(awk '{print $6}' <<<"$t")
	if [ "$rc" != 0 ]; then
		broke "$sec $var $par: $* failed: $(tail -n3 "$tmp/timed.err" | tr '\n' ' ')"
		return 1
	fi
	record "$sec" "$var" "$par" "$rep" secs "$(awk '{print $2}' <<<"$t")"
	record "$sec" "$var" "$par" "$rep" maxrss_kb "$(awk '{print $4}' <<<"$t")"
}

# daemon_up [keep]: starts `govgate run` scoped to cg_scope and waits until
# it enforces. Without "keep" it starts from the floor alone; with it, it
# re-applies the saved policy (state/applied.json). Sets daemon_secs.
starts=0
daemon_up() {
	local t0 i
	[ "${1:-}" = keep ] || rm -f "$state/applied.json"
	t0=$(date +%s.%N)
	env -u JOURNAL_STREAM -u INVOCATION_ID \
		"$gg" run --config "$cfg" --scope "cgroup:$cg_scope" >>"$tmp/daemon.out" 2>>"$tmp/daemon.err" &
	daemon_pid=$!
	for ((i = 0; i < 6000; i++)); do # at most 300 s
		if [ "$(grep -c "enforcing (generation" "$tmp/daemon.err")" -gt $starts ]; then
			starts=$((starts + 1))
			daemon_secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.3f", b - a}')
			return 0
		fi
		kill -0 "$daemon_pid" 2>/dev/null || break
		sleep 0.05
	done
	tail -n5 "$tmp/daemon.err" >&2
	die "govgate run did not start"
}

daemon_down() {
	kill "$daemon_pid" 2>/dev/null
	wait "$daemon_pid" 2>/dev/null
	daemon_pid=
	"$gg" stop --unload --pin-dir "$pin" >/dev/null || broke "govgate stop --unload"
	[ -e "$pin" ] && broke "pins left after stop --unload"
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$daemon_pid/status"; }

# Kernel memory of govgate's maps: bytes_memlock per pinned map.
map_bytes() { # all maps; the IPv4 deny rules' (the trie and the range arrays)
	local total=0 v4=0 b m id
	for m in "$pin"/*; do
		[[ $(basename "$m") == link-* || $(basename "$m") == prog-* ]] && continue
		b=$(bpftool map show pinned "$m" -j 2>/dev/null | python3 -c \
			'import json,sys; print(json.load(sys.stdin).get("bytes_memlock", 0))' 2>/dev/null) || continue
		total=$((total + b))
		[[ $(basename "$m") == egress_v4 ]] && v4=$((v4 + b))
		[[ $(basename "$m") == egress_range_* ]] || continue
		# the arrays in force are not pinned: found through their slots
		for id in $(bpftool map dump pinned "$m" -j 2>/dev/null | python3 -c \
			'import json,sys; [print(e["inner_map_id"] if "inner_map_id" in e else int.from_bytes(bytes(int(x, 16) for x in e["value"]), "little")) for e in json.load(sys.stdin)]' 2>/dev/null); do
			b=$(bpftool map show id "$id" -j 2>/dev/null | python3 -c \
				'import json,sys; print(json.load(sys.stdin).get("bytes_memlock", 0))' 2>/dev/null) || continue
			total=$((total + b))
			[[ $(basename "$m") == egress_range_v4 ]] && v4=$((v4 + b))
		done
	done
	echo "$total $v4"
}

dropped() { # the net.egress dropped counter
	"$gg" status --json --config "$cfg" 2>/dev/null | python3 -c \
		'import json,sys; print(json.load(sys.stdin)["gates"]["net.egress"]["counters"]["dropped"])'
}

# CPU busy %, all CPUs, over one second (/proc/stat): other jobs add noise.
busy_pct() {
	local a b
	a=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $5 + $6}' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $5 + $6}' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN {split(a, x); split(b, y); t = y[1] - x[1] + y[2] - x[2];
		printf "%d", (t > 0 ? 100 * (y[1] - x[1]) / t : 0)}'
}
# GG_BENCH_WAIT_IDLE=SECS: wait (at most SECS) for the machine to be idle.
busy=$(busy_pct)
for ((w = 0; w < ${GG_BENCH_WAIT_IDLE:-0} && busy > 10; w += 10)); do
	((w % 60)) || say "waiting for an idle machine (CPU ${busy}% busy)"
	sleep 9
	busy=$(busy_pct)
done
((busy > 20)) && say "warning: the machine is ${busy}% busy with other work; expect noise"

# ---------------------------------------------------------------------------
mount | grep -q ' /sys/fs/bpf type bpf' || mount -t bpf bpf /sys/fs/bpf
mkdir "$cgp" "$cg_scope" "$cg_base" "$cg_floor" || die "cannot create cgroups under $cg2"
mkdir -p "$state"
cat >"$cfg" <<JSON
{ "pack_dirs": ["$root/packs"], "state_dir": "$state", "pin_dir": "$pin",
  "registry_dir": "$tmp/registry", "store_dir": "$tmp/store", "trust_dir": "$tmp/keys",
  "audit": { "path": "$log", "key": "$tmp/audit-key.pem", "rotate_bytes": 1099511627776 } }
JSON
if bpf_stats_was=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null) &&
	sysctl -qw kernel.bpf_stats_enabled=0; then
	bpf_stats=1
else
	bpf_stats_was=
	say "kernel.bpf_stats_enabled unavailable: no per-program cost"
fi
new_netns ns_plain
((have_nft)) && new_netns ns_nft
((have_ipt)) && new_netns ns_ipt
: >"$raw"
t_start=$(date +%s)
{
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel=$(uname -r)"
	echo "nproc=$(nproc)"
	echo "cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
	echo "mem_gib=$(awk '/^MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)"
	echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "busy_pct_start=$busy"
	echo "bpf_stats=$bpf_stats"
	echo "mode=$( ((quick)) && echo quick || echo full)"
	echo "reps=$REPS"
	echo "exec_secs=$EXEC_SECS"
	echo "connect_secs=$CONNECT_SECS"
	echo "pair_secs=$PAIR_SECS"
	echo "pair_reps=$PAIR_REPS"
	echo "ipt_max=$IPT_MAX"
	echo "storm_secs=$STORM_SECS"
	echo "big_ring_mib=$BIG_RING_MIB"
	echo "have_nft=$have_nft"
	echo "have_ipt=$have_ipt"
	echo "nft_version=$( ((have_nft)) && nft --version)"
	echo "ipt_version=$( ((have_ipt)) && iptables --version)"
	echo "command=$( ((quick)) && echo 'make bench-quick' || echo 'make bench')"
} >"$out/meta.env"
say "kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); cgroup $cgp, pin dir $pin"

# ---- 1. exec cost ---------------------------------------------------------
# Baseline: nothing loaded. Treatment: govgate enforcing the floor plus the
# nine packs, the driver in the governed cgroup (and, for reference, in a
# cgroup outside the scope). Rounds alternate which comes first (ABBA).
# Each treatment round also times the apply of the nine packs (measurement 4).
only exec && say "1/5 exec: $REPS rounds x ${EXEC_SECS}s"
for ((r = 1; r <= REPS; r++)); do
	only exec || break
	for phase in $( ((r % 2)) && echo "none govgate" || echo "govgate none"); do
		if [ $phase = none ]; then
			sample exec none "" $r "$cg_scope" "$ns_plain" exec $EXEC_SECS
			continue
		fi
		daemon_up
		timed compile nine-packs "" $r "$gg" compile --config "$cfg" "${PACKS[@]}"
		timed apply nine-packs "" $r "$gg" apply --config "$cfg" "${PACKS[@]}"
		# The same daemon's later applies (each replaces the floor alone,
		# as an update replaces a policy), beside what starting any
		# command costs this machine in the same seconds: govgate's own
		# start (--version) and /bin/true.
		for ((k = 1; k <= APPLY_REPS; k++)); do
			"$gg" apply --config "$cfg" >/dev/null || broke "apply of the floor alone"
			timed apply-again nine-packs "" $((r * 100 + k)) "$gg" apply --config "$cfg" "${PACKS[@]}"
			timed start govgate-version "" $((r * 100 + k)) "$gg" --version
			timed start true "" $((r * 100 + k)) /bin/true
		done
		sample exec govgate "" $r "$cg_scope" "$ns_plain" exec $EXEC_SECS
		sample exec govgate-outside-scope "" $r "$cg_base" "$ns_plain" exec $EXEC_SECS
		if ((r == 1)); then
			# Both slots with the policy, then one denial (the daemon
			# loads the generation): the memory of measurement 5.
			"$gg" apply --config "$cfg" "${PACKS[@]}" >/dev/null || broke "apply nine packs"
			o=$(run "$cg_scope" "$ns_plain" "$netprobe" connect 169.254.169.254 1)
			[ "$o" = EPERM ] || broke "exec round: 169.254.169.254 not denied ($o)"
			sleep 0.5
			# Right after the applies (their scratch pages, freed, are
			# kept for the next apply of a burst), then once the
			# daemon returned them (5 s after the last apply, when the
			# stale slot is cleared: the steady state).
			record memory govgate nine-packs 1 daemon_rss_kb_after_apply "$(rss_kb)"
			sleep 6
			record memory govgate nine-packs 1 daemon_rss_kb "$(rss_kb)"
			cp "/proc/$daemon_pid/smaps" "$out/daemon-nine-packs.smaps" 2>/dev/null
			read -r mb v4 < <(map_bytes)
			record memory govgate nine-packs 1 map_bytes "$mb"
			record memory govgate nine-packs 1 egress_v4_bytes "$v4"
			# A denied exec really is denied (fallback: killed).
			cp "$root/build/helpers/gg-proof" "$tmp/nc"
			run "$cg_scope" "$ns_plain" "$tmp/nc" "$tmp/proof" >/dev/null 2>&1
			[ -e "$tmp/proof" ] && broke "exec: a denied program ran"
		fi
		daemon_down
	done
done

# ---- 3. audit throughput --------------------------------------------------
# Denied connects to 169.254.169.254 (the floor denies it) from the governed
# cgroup; each step uses its own destination port so its records can be
# counted. attempted = records + lost must hold (no silent loss).
daemon_up
storm_port=20000
lost_records() { # sum of the net.egress events_lost counts in the audit log
	grep -F '"event":"events_lost"' "$log" | grep -F '"gate":"net.egress"' |
		grep -oE '"count":[0-9]+' | awk -F: '{s += $2} END {print s + 0}'
}
# CPU seconds (user + system) the daemon has used so far.
daemon_cpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / t}' "/proc/$daemon_pid/stat"; }
# The storm's generator is timed by /usr/bin/time when there is one: the
# CPU it took from the two cores the daemon and the kernel's work share.
storm_time=()
[ -x /usr/bin/time ] && storm_time=(/usr/bin/time -f "%U %S" -o "$tmp/storm.time")
storm_step() { # storm_step KIND PARAM COUNT RATE
	local kind=$1 par=$2 count=$3 rate=$4 off d0 lr0 o att den secs arate t_end t_last
	local size prev=-1 still=0 rec lost lr drain i c0 dcpu gcpu=
	storm_port=$((storm_port + 1))
	off=$(stat -c %s "$log")
	d0=$(dropped)
	lr0=$(lost_records)
	c0=$(daemon_cpu)
	rm -f "$tmp/storm.time"
	if ! o=$(run "$cg_scope" "$ns_plain" "${storm_time[@]}" "$B" storm 169.254.169.254 $storm_port \
		"$count" "$rate"); then
		broke "storm $kind $par: ggbench storm failed"
		return
	fi
	[ -s "$tmp/storm.time" ] && gcpu=$(awk '{printf "%.2f", $1 + $2}' "$tmp/storm.time")
	t_end=$(date +%s.%N)
	t_last=$t_end
	read -r _ att _ den _ secs _ arate <<<"$o"
	[ "$den" = "$att" ] || broke "storm $kind $par: $den of $att attempts denied"
	# Drained when the audit log has not grown for 1.5 s (at most 300 s).
	for ((i = 0; i < 600; i++)); do
		size=$(stat -c %s "$log")
		if [ "$size" = "$prev" ]; then
			still=$((still + 1))
			((still >= 3)) && break
		else
			still=0
			t_last=$(date +%s.%N)
		fi
		prev=$size
		sleep 0.5
	done
	drain=$(awk -v a="$t_end" -v b="$t_last" 'BEGIN {printf "%.3f", b - a}')
	dcpu=$(awk -v a="$c0" -v b="$(daemon_cpu)" 'BEGIN {printf "%.2f", b - a}')
	sleep 1.2 # events_lost is written within a second of a drop
	rec=$(tail -c +$((off + 1)) "$log" | grep -cF "\"dport\":$storm_port,")
	lost=$(($(dropped) - d0))
	lr=$(($(lost_records) - lr0))
	((rec + lost == att)) || broke "storm $kind $par: $att attempts, $rec records + $lost lost"
	((lr == lost)) || broke "storm $kind $par: dropped counter +$lost but events_lost records say $lr"
	# The daemon's CPU per record: storm and drain, whatever ran meanwhile.
	for kv in attempted=$att denied=$den secs=$secs rate=$arate records=$rec lost=$lost \
		lost_records=$lr drain_secs=$drain daemon_cpu_secs=$dcpu ${gcpu:+storm_cpu_secs=$gcpu} \
		loadavg="$(cut -d' ' -f1 /proc/loadavg)"; do
		record storm "$kind" "$par" 1 "${kv%%=*}" "${kv#*=}"
	done
	say "  storm $kind $par: $att attempts in ${secs}s (${arate%.*}/s): $rec records, $lost lost," \
		"drained ${drain}s after; CPU: daemon ${dcpu}s${gcpu:+, generator ${gcpu}s}" \
		"($(awk -v c="$dcpu" -v r="$rec" 'BEGIN {printf "%.2f", r ? c * 1e6 / r : 0}') µs a record)," \
		"load $(cut -d' ' -f1 /proc/loadavg)"
}
only storm && say "3/5 audit storm" || STORM_RATES= STORM_BURSTS= RING_BURSTS=
for rate in $STORM_RATES; do
	storm_step rate "$rate" "$(awk -v r=$rate -v s=$STORM_SECS 'BEGIN {printf "%d", r * s}')" "$rate"
done
for n in $STORM_BURSTS; do storm_step burst "$n" "$n" 0; done
if [ -n "$RING_BURSTS" ]; then
	# A new ring size needs new pins: unload, then start with the setting.
	daemon_down
	sed 's/"rotate_bytes"/"ring_buffer_mib": '$BIG_RING_MIB', "rotate_bytes"/' "$cfg" >"$cfg.ring"
	cfg_default=$cfg cfg=$cfg.ring
	daemon_up
	for n in $RING_BURSTS; do storm_step burst-ring "$n" "$n" 0; done
	record memory govgate "ring-$BIG_RING_MIB" 1 daemon_rss_kb "$(rss_kb)"
	daemon_down
	cfg=$cfg_default
fi

# ---- 2. connect cost vs rule count, 4. apply, 5. memory ------------------
# Per rule count N: one pack of N random prefixes (split in files of at most
# 500,000: a policy document is limited to 16 MiB), the same prefixes in an
# nftables interval set and as N iptables rules, each in its own namespace.
# Baselines and firewalls run with govgate unloaded; govgate in the governed
# cgroup and, for reference, loaded but with the caller outside the scope.
only connect && say "2/5 connect vs rules: $RULES" || RULES=
gen=$tmp/gen
# The connect's own figure (issue 14: per connect, medians of interleaved
# rounds): ggbench connect-pair, a client in the scope and one outside it
# (cg_base: govgate's programs are attached to the scope's cgroup, so it
# runs none of them) taking turns on one CPU, 64 connects each, while the
# daemon runs. Server outside the scope ("paired-out": a governed client
# connecting out, the agent's case) and in it ("paired-in": its SYN-ACKs
# are decided too); and the hooks' floor: a client under empty programs at
# the same hooks (bench/hookfloor.bpf.c); and an A/A round, both clients
# outside the scope (the instrument's own spread). Each round's figure is
# the median of its pairs' ratios. On the BPF LSM path the baseline would
# run govgate's global socket hooks up to their scope check: the report
# says so (meta egress_mech).
floor_o=$root/build/bench/hookfloor.bpf.o
if [ -n "$RULES" ]; then
	[ -f "$floor_o" ] || die "build first: make bench ($floor_o)"
	bpftool prog loadall "$floor_o" "$pin_floor" &&
		bpftool cgroup attach "$cg_floor" connect4 pinned "$pin_floor/floor_connect4" &&
		bpftool cgroup attach "$cg_floor" egress pinned "$pin_floor/floor_egress" ||
		die "the hooks' floor: cannot load or attach $floor_o"
fi
pair() { # pair VARIANT N REP CGROUP [LISTENER_CGROUP]
	local o
	if ! o=$(nsx "$ns_plain" "$B" connect-pair $PAIR_SECS $connect_to "$4" "$cg_base" ${5:+"$5"} 2>&1); then
		broke "connect $1 $2 rep $3: ggbench connect-pair failed: $o"
		return
	fi
	record connect "$1" "$2" "$3" pair_ratio "$(awk '{print $6}' <<<"$o")"
	record connect "$1" "$2" "$3" pair_ns "$(awk '{print $12}' <<<"$o")"
	record connect "$1" "$2" "$3" pair_base_ns "$(awk '{print $14}' <<<"$o")"
}
for N in $RULES; do
	[ -n "$daemon_pid" ] || daemon_up
	rm -rf "$gen"
	mkdir -p "$gen"
	parts=$(((N + 499999) / 500000))
	ipt=-
	((have_ipt && N <= IPT_MAX)) && ipt=$gen/ipt.rules
	nftf=-
	((have_nft)) && nftf=$gen/nft.conf
	files=("$gen/ggbench-$N.json")
	"$B" gen $N $((N * 7 + 1)) "${files[0]}" "$nftf" "$ipt" || die "gen $N"
	if ((parts > 1)); then
		parts=$(split_pack "${files[0]}" "$gen" $N) || die "split $N"
		rm -f "${files[0]}"
		mapfile -t files <<<"$parts"
	fi
	say "  $N rules: compile + apply"
	timed compile rules $N 1 "$gg" compile --config "$cfg" "${files[@]}"
	# Applied twice: the first apply replaces the previous size's policy, the
	# second fills the other slot too, so the maps then hold what they hold in
	# steady state (both slots with this policy; architecture.md, swap).
	timed apply rules $N 1 "$gg" apply --config "$cfg" "${files[@]}" || continue
	timed apply rules $N 2 "$gg" apply --config "$cfg" "${files[@]}" || continue
	# One denial, so the daemon loads the new generation's policy.
	o=$(run "$cg_scope" "$ns_plain" "$netprobe" connect 169.254.169.254 2)
	[ "$o" = EPERM ] || broke "connect $N: the floor's denial is gone ($o)"
	for f in "${files[@]}"; do # a prefix of the pack is denied
		c=$(grep -oE '"[0-9.]+/[0-9]+"' "$f" | head -n1 | tr -d '"')
		o=$(run "$cg_scope" "$ns_plain" "$netprobe" connect "${c%/*}" 80)
		[ "$o" = EPERM ] || broke "connect $N: $c not denied ($o)"
	done
	sleep 6 # the steady state: the applies' freed pages returned (as above)
	record memory govgate $N 1 daemon_rss_kb "$(rss_kb)"
	read -r mb v4 < <(map_bytes)
	record memory govgate $N 1 map_bytes "$mb"
	record memory govgate $N 1 egress_v4_bytes "$v4"
	for ((r = 1; r <= PAIR_REPS; r++)); do
		pair paired-out $N $r "$cg_scope" "$cg_base"
		pair paired-in $N $r "$cg_scope"
		pair hook-floor $N $r "$cg_floor" "$cg_base"
		pair paired-aa $N $r "$cg_base" "$cg_base"
	done
	if [ -e "$pin/prog-gg_egress_connect" ]; then egress_mech=lsm; else egress_mech=fallback; fi
	unloaded=(none)
	if ((have_nft)); then
		if timed nft-load nftables $N 1 nsenter --net="/proc/$ns_nft/ns/net" -- \
			nft -f "$gen/nft.conf"; then
			unloaded+=(nftables)
		fi
	fi
	if [ "$ipt" != - ]; then
		if timed ipt-load iptables $N 1 nsenter --net="/proc/$ns_ipt/ns/net" -- \
			iptables-restore "$ipt"; then
			unloaded+=(iptables)
		fi
	elif ((have_ipt)); then
		record connect iptables $N 0 skipped "$IPT_MAX"
	fi
	loaded=(govgate govgate-outside-scope)
	say "  $N rules: ${unloaded[*]} (govgate unloaded), ${loaded[*]}: $REPS rounds x ${CONNECT_SECS}s"
	# Rounds alternate L U, U L, ...: the baselines run with govgate
	# unloaded (stop --unload), govgate's rounds restart the daemon, which
	# re-applies the saved policy of N prefixes (timed: measurement 4).
	for ((r = 1; r <= REPS; r++)); do
		if [ -n "$daemon_pid" ]; then phases="L U"; else phases="U L"; fi
		for ph in $phases; do
			if [ $ph = U ]; then
				[ -n "$daemon_pid" ] && daemon_down
				vs=("${unloaded[@]}")
			else
				if [ -z "$daemon_pid" ]; then
					daemon_up keep
					record restart govgate $N $r secs "$daemon_secs"
				fi
				vs=("${loaded[@]}")
			fi
			nv=${#vs[@]}
			for ((k = 0; k < nv; k++)); do
				case ${vs[$(((r + k) % nv))]} in
				none) sample connect none $N $r "$cg_base" "$ns_plain" connect $CONNECT_SECS $connect_to ;;
				govgate) sample connect govgate $N $r "$cg_scope" "$ns_plain" connect $CONNECT_SECS $connect_to ;;
				govgate-outside-scope)
					sample connect govgate-outside-scope $N $r "$cg_base" "$ns_plain" connect $CONNECT_SECS $connect_to ;;
				nftables) sample connect nftables $N $r "$cg_base" "$ns_nft" connect $CONNECT_SECS $connect_to ;;
				iptables) sample connect iptables $N $r "$cg_base" "$ns_ipt" connect $CONNECT_SECS $connect_to ;;
				esac
			done
		done
	done
	[ -n "$daemon_pid" ] && daemon_down
	if ((have_nft)); then
		nsx "$ns_nft" nft delete table ip ggbench 2>/dev/null
		[ -z "$(nsx "$ns_nft" nft list ruleset)" ] || broke "nft ruleset not empty after delete"
	fi
	if [ "$ipt" != - ]; then
		nsx "$ns_ipt" iptables -F OUTPUT
		[ "$(nsx "$ns_ipt" iptables -S OUTPUT | wc -l)" -le 1 ] || broke "iptables OUTPUT not empty"
	fi
done
[ -n "$daemon_pid" ] && daemon_down
echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/meta.env"
[ -n "${egress_mech:-}" ] && echo "egress_mech=$egress_mech" >>"$out/meta.env"
echo "elapsed_secs=$(($(date +%s) - t_start))" >>"$out/meta.env"

# Issue 11 (content identity, trust lists): its own script and results.
only identity && { "$root/bench/exec-identity.sh" --reps "$REPS" --secs "$EXEC_SECS" || broke "exec-identity"; }
# ---- report ---------------------------------------------------------------
say "report: $out/results.{md,json,csv}"
python3 "$root/bench/report.py" "$out" || broke "report"
((bpf_stats)) && python3 - "$out" >>"$out/results.md" <<'PY' || broke "bpf_stats table"
# The programs' own cost per operation, against the baseline's time per
# operation in the same run: the overhead without the noise of the rates.
import csv, statistics, sys
from collections import defaultdict
out = sys.argv[1]
v = defaultdict(list)
for sec, var, par, rep, metric, val in csv.reader(open(f"{out}/raw.csv")):
    v[(sec, var, par, metric)].append(float(val))
med = lambda k: statistics.median(v[k]) if v.get(k) else None
rows = sorted({(s, p) for (s, var, p, m) in v if var == "bpf:total"},
              key=lambda k: (k[0], int(k[1] or 0)))
if rows:
    print("\n### BPF cost per operation (kernel.bpf_stats_enabled, medians of rounds)\n")
    print("Each program's runs during a govgate sample, every task's (in scope or not: a "
          "task outside returns at the scope check), per exec or connect of the sample; "
          "the syscall path the hooks are called from is not in these.\n")
    print("| section | rules | programs: ns per run x runs per op | BPF ns per op "
          "| baseline ns per op | BPF / baseline |")
    print("|---|---:|---|---:|---:|---:|")
for sec, par in rows:
    progs = sorted({var[4:] for (s, var, p, m) in v if s == sec and p == par
                    and var.startswith("bpf:") and var != "bpf:total"})
    parts = [f"`{n}` {med((sec, 'bpf:' + n, par, 'ns_per_run')):.0f} x "
             f"{med((sec, 'bpf:' + n, par, 'runs_per_op')):.2f}" for n in progs]
    tot = med((sec, "bpf:total", par, "ns_per_op"))
    rate = med((sec, "none", par, "rate"))
    base = 1e9 / rate if rate else None
    print(f"| {sec} | {par or '-'} | {'; '.join(parts)} | {tot:.0f} | "
          f"{base:,.0f} | {100 * tot / base:.2f}% |" if base else
          f"| {sec} | {par or '-'} | {'; '.join(parts)} | {tot:.0f} | - | - |")
PY
if command -v gnuplot >/dev/null && grep -q '^[0-9]' "$out/connect-plot.dat" 2>/dev/null; then
	if gnuplot -e "datafile='$out/connect-plot.dat'; outfile='$plot'" "$root/bench/connect.gp" 2>"$tmp/gnuplot.err"; then
		say "plot: $plot"
		if [ -n "$docplot" ]; then
			mkdir -p "$(dirname "$docplot")"
			cp "$plot" "$docplot"
			say "plot: $docplot"
		fi
	else
		cat "$tmp/gnuplot.err" >&2
		broke "gnuplot"
	fi
fi
cat "$out/results.md"
