#!/usr/bin/env bash
# DNS through govgate's forwarder vs direct to the same upstream (issue 12),
# on loopback in a private network namespace: the upstream is the test
# server (build/helpers/gg-dns serve, a fixed zone) on 127.0.0.2:53. Direct:
# a process outside the scope asks it. Through govgate: a process in the
# scope asks 10.91.0.53:53, rewritten to the forwarder, which matches the
# name against the allowlist (*.allowed.test), forwards it, learns the
# answer's address into egress_learned and answers. Each query a fresh UDP
# socket (as glibc's resolver does). Rounds interleave the two; reported:
# per-round p50/p99 latency, the added latency (median over rounds of the
# per-round differences), and sustained queries/s with P parallel clients.
#
# Then connect with the allowlist in force and N learned addresses (N = 10,
# 1,000, 10,000, 100,000 rows in egress_learned, written by gg-dns learn):
# TCP connect + accept + close (ggbench connect-pair) to 10.92.0.1, an
# address on lo that the gate decides (the allowlist has no CIDR: it passes
# as a learned row only), by a client in the scope and one in a sibling
# cgroup outside it (none of govgate's programs run for it: no agent), in
# turns on one CPU. Reported per N: the median over rounds of each round's
# median pair ratio, with the server outside the scope and in it; beside
# them, in the same rounds, the hooks' floor (a client under empty programs
# at the same hooks) and an A/A pair (both clients outside the scope).
# GG_BENCH_LEARNED="10 1000" and GG_BENCH_LROUNDS=N narrow it (development).
#
#   bench/dns.sh [--quick] [--out DIR] [--only dns|learned]
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
gg=${GG_BENCH_GOVGATE:-$root/build/govgate}
dns=$root/build/helpers/gg-dns
out=$root/build/bench
ggbench=$root/build/bench/ggbench
floor_o=$root/build/bench/hookfloor.bpf.o
n=5000 rounds=5 par=4 only="dns learned" lsecs=4 lrounds=${GG_BENCH_LROUNDS:-5}
while (($#)); do
	case $1 in
	--quick) n=300 rounds=1 lsecs=0.3 lrounds=1; shift ;;
	--out) out=${2:?}; shift 2 ;;
	--only) only=${2:?}; shift 2 ;;
	*) echo "usage: $0 [--quick] [--out DIR] [--only dns|learned]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "FAIL dns-bench-needs-root"; exit 1; }
mkdir -p "$out"
cg2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
id=gg-dnsbench-$$
cg=$cg2/$id cg_base=$cg2/$id-base cg_floor=$cg2/$id-floor pin=/sys/fs/bpf/$id ns=$id
pin_floor=/sys/fs/bpf/$id-floor tmp=$(mktemp -d /tmp/$id.XXXXXX)
daemon_pid= server_pid=
stats_pid=
cleanup() {
	[ -n "$stats_pid" ] && kill "$stats_pid" 2>/dev/null
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	"$gg" stop --unload --pin-dir "$pin" >/dev/null 2>&1
	rm -rf "$pin_floor"
	for c in "$cg" "$cg_base" "$cg_floor"; do
		[ -d "$c" ] || continue
		while read -r p; do echo "$p" >"$cg2/cgroup.procs" 2>/dev/null; done <"$c/cgroup.procs"
		rmdir "$c" 2>/dev/null
	done
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$cg" "$cg_base" "$cg_floor" "$tmp/state"
ip netns add "$ns"
nsenter --net="/run/netns/$ns" ip link set lo up
cat >"$tmp/config.json" <<JSON
{ "pack_dirs": ["$root/packs"], "state_dir": "$tmp/state", "pin_dir": "$pin",
  "audit": { "path": "$tmp/audit.jsonl", "key": "$tmp/audit-key.pem" },
  "dns": { "upstream": "127.0.0.2:53" } }
JSON
cat >"$tmp/allow.json" <<JSON
{ "name": "allow-bench", "version": "v1",
  "framework": { "id": "operator", "title": "operator policy" },
  "controls": [ { "id": "OP-DNS", "title": "default-deny egress", "status": "enforced" } ],
  "rules": [], "egress_allowlist": { "controls": ["OP-DNS"], "allow": [ "*.allowed.test" ] } }
JSON
nsenter --net="/run/netns/$ns" "$dns" serve 127.0.0.2 53 >/dev/null 2>&1 &
server_pid=$!
# The daemon, scoped to $cg, in the namespace; a restart re-applies the
# saved policy (state/applied.json).
starts=0
daemon_up() {
	nsenter --net="/run/netns/$ns" "$gg" run --config "$tmp/config.json" --scope "cgroup:$cg" \
		2>>"$tmp/daemon.err" &
	daemon_pid=$!
	starts=$((starts + 1))
	for _ in $(seq 600); do
		[ "$(grep -c "enforcing (generation" "$tmp/daemon.err")" -ge $starts ] && break
		sleep 0.1
	done
	[ "$(grep -c "dns: forwarding" "$tmp/daemon.err")" -ge $starts ] ||
		{ cat "$tmp/daemon.err"; echo "FAIL dns-bench-start"; exit 1; }
}
daemon_up
"$gg" apply --config "$tmp/config.json" "$tmp/allow.json" >/dev/null || { echo "FAIL dns-bench-apply"; exit 1; }

direct() { nsenter --net="/run/netns/$ns" "$dns" bench 127.0.0.2 53 api.allowed.test "$1"; }
through() {
	bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$cg" \
		nsenter --net="/run/netns/$ns" "$dns" bench 10.91.0.53 53 api.allowed.test "$1"
}
# Sustained: P clients at once; the sum of their rates.
rate() {
	local f=$1 i
	for i in $(seq "$par"); do $f "$n" >"$tmp/rate.$i" & done
	wait
	awk '{ q += $3; bad += $4 } END { printf "%.0f %d\n", q, bad }' "$tmp"/rate.*
}
# The daemon's CPU time (schedstat, ns) over the queries through it: the
# figure a shared machine's load does not inflate much.
# For scale, the upstream's over the direct rounds: a forwarder receives
# and sends twice what the upstream does.
# Also its time runnable but waiting for a CPU (schedstat's second field)
# and its times on a CPU (third): what a loaded machine adds to the tail.
cpu_ns() { awk '{ print $1 }' "/proc/${1:-$daemon_pid}/schedstat"; }
wait_ns() { awk '{ print $2 " " $3 }' "/proc/$daemon_pid/schedstat"; }
bench_dns() {
local cpu=0 up=0 r d t s0 c0 rd rt queries w0 w1
: >"$tmp/rounds"
for r in $(seq "$rounds"); do
	s0=$(cpu_ns "$server_pid")
	d=$(direct "$n") || fail=1
	up=$((up + $(cpu_ns "$server_pid") - s0))
	c0=$(cpu_ns)
	w0=$(wait_ns)
	t=$(through "$n") || fail=1
	cpu=$((cpu + $(cpu_ns) - c0))
	w1=$(wait_ns)
	t="$t ${w1% *} ${w0% *} ${w1#* } ${w0#* }"
	echo "$d $t" >>"$tmp/rounds"
done
rd=$(rate direct)
c0=$(cpu_ns)
rt=$(rate through)
cpu=$((cpu + $(cpu_ns) - c0))
queries=$(((rounds + par) * n))
[ "${rd#* }" = 0 ] && [ "${rt#* }" = 0 ] || fail=1
python3 - "$tmp/rounds" "$rd" "$rt" "$n" "$par" "$cpu" "$queries" "$(nproc)" \
	"$(cut -d' ' -f1 /proc/loadavg)" "$up" >"$out/dns.md" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
rd, rt = [float(x) for x in sys.argv[2].split()][:1], [float(x) for x in sys.argv[3].split()][:1]
n, par = sys.argv[4], sys.argv[5]
cpu, queries, ncpu, load = int(sys.argv[6]), int(sys.argv[7]), sys.argv[8], sys.argv[9]
up = int(sys.argv[10]) / (len(rows) * int(n))
print("| round | direct p50 µs | direct p99 µs | govgate p50 µs | govgate p99 µs |")
print("|---|---|---|---|---|")
for i, r in enumerate(rows, 1):
    print(f"| {i} | {r[0]:.1f} | {r[1]:.1f} | {r[4]:.1f} | {r[5]:.1f} |")
add50 = statistics.median(r[4] - r[0] for r in rows)
add99 = statistics.median(r[5] - r[1] for r in rows)
# the daemon's runqueue wait and its times on a CPU, per query, over the rounds
waitq = sum(r[8] - r[9] for r in rows) / (len(rows) * int(n))
slices = sum(r[10] - r[11] for r in rows) / (len(rows) * int(n))
print()
print(f"{n} queries per round and client. Added latency (median over rounds of govgate - direct): "
      f"p50 {add50:.1f} µs, p99 {add99:.1f} µs. Sustained with {par} clients: direct {rd[0]:.0f} q/s, "
      f"through govgate {rt[0]:.0f} q/s ({rt[0] / rd[0]:.2f} of direct).")
print(f"Daemon CPU per query through it: {cpu / queries / 1e3:.1f} µs ({queries} queries; "
      f"the upstream's per direct query: {up / 1e3:.1f} µs; {ncpu} CPUs, load average {load} "
      f"at the end). In the sequential rounds the daemon waited {waitq / 1e3:.1f} µs per query "
      f"runnable for a CPU, and ran {slices:.2f} times per query.")
PY
cat "$out/dns.md"
[ "$fail" -eq 0 ] && echo "PASS dns-bench" || echo "FAIL dns-bench (a query failed)"
}

# ---- connect with N learned addresses -------------------------------------
inscope() { bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$cg" nsenter --net="/run/netns/$ns" "$@"; }
# The gates' BPF run time (ns, BPF_ENABLE_STATS held), all of govgate's
# programs: the cost a connect adds, which load on the machine does not
# inflate as it does a rate.
bpf_ns() {
	local f t=0
	[ -n "$daemon_pid" ] || { echo 0; return; }
	for f in "$pin"/prog-*; do
		t=$((t + $(bpftool prog show pinned "$f" -j | python3 -c \
			'import json,sys; print(json.load(sys.stdin).get("run_time_ns", 0))')))
	done
	echo $t
}
# BPF run time is counted only while stats are on (gg-dns stats-hold): it
# adds two clock reads to every program run, which a rate must not pay.
stats_on() {
	local i
	"$dns" stats-hold &
	stats_pid=$!
	for ((i = 0; i < 100; i++)); do
		[ "$(sysctl -n kernel.bpf_stats_enabled)" = 1 ] && return
		sleep 0.02
	done
}
stats_off() { kill "$stats_pid" && wait "$stats_pid" 2>/dev/null; stats_pid=; }
# sample N ROUND: paired connect rates to 10.92.0.1 (ggbench connect-pair,
# stats off): a client in the scope and one in $cg_base outside it (which
# runs none of govgate's programs) take turns on one CPU; the server is
# outside the scope (a learned address is another host's: "out") or in it
# ("in": its SYN-ACKs are decided too); the hooks' floor (a client under
# empty programs at the same hooks, bench/hookfloor.bpf.c) and an A/A round
# (both clients outside). Then a run with stats on for the programs' time
# per connect.
sample() {
	local o b0 b=0 sv lcg
	for sv in out in floor a/a; do
		case $sv in
		out) lcg=("$cg" "$cg_base" "$cg_base") ;;
		in) lcg=("$cg" "$cg_base") ;;
		floor) lcg=("$cg_floor" "$cg_base" "$cg_base") ;;
		a/a) lcg=("$cg_base" "$cg_base") ;;
		esac
		if ! o=$(nsenter --net="/run/netns/$ns" "$ggbench" connect-pair "$lsecs" 10.92.0.1 \
			"${lcg[@]}" 2>&1); then
			echo "FAIL dns-learned-connect $1 $2 ($o)" >&2
			fail=1
			return
		fi
		echo "$1 $2 $sv $(awk '{ print $6, $12, $14 }' <<<"$o")" >>"$tmp/learned"
	done
	stats_on
	b0=$(bpf_ns)
	o=$(inscope "$ggbench" connect "$lsecs" 10.92.0.1) &&
		b=$(awk -v b="$(($(bpf_ns) - b0))" '{ printf "%.0f", b / $2 }' <<<"$o")
	stats_off
	echo "$1 $2 bpf $b" >>"$tmp/learned"
}
learn() { "$dns" learn "$pin/egress_learned" "$1" 10.92.0.1 1 || { fail=1; return 1; }; }
bench_learned() {
	local r N Ns
	[ -x "$ggbench" ] && [ -f "$floor_o" ] ||
		{ echo "FAIL dns-learned: no $ggbench or $floor_o (make bench)"; fail=1; return; }
	bpftool prog loadall "$floor_o" "$pin_floor" &&
		bpftool cgroup attach "$cg_floor" connect4 pinned "$pin_floor/floor_connect4" &&
		bpftool cgroup attach "$cg_floor" egress pinned "$pin_floor/floor_egress" ||
		{ echo "FAIL dns-learned: the hooks' floor ($floor_o)"; fail=1; return; }
	nsenter --net="/run/netns/$ns" ip addr add 10.92.0.1/32 dev lo
	nsenter --net="/run/netns/$ns" ip addr add 10.92.0.2/32 dev lo
	# the allowlist decides 10.92.0.1: denied until learned; the row of
	# list 0 (the only list) lets it through, not its neighbour
	[ "$(inscope "$root/build/helpers/gg-net" connect 10.92.0.1 80)" = EPERM ] ||
		{ echo "FAIL dns-learned-denied-before"; fail=1; return; }
	learn 10 && inscope "$ggbench" connect 0.05 10.92.0.1 >/dev/null &&
		[ "$(inscope "$root/build/helpers/gg-net" connect 10.92.0.2 80)" = EPERM ] ||
		{ echo "FAIL dns-learned-setup"; fail=1; return; }
	: >"$tmp/learned"
	for r in $(seq "$lrounds"); do
		Ns=${GG_BENCH_LEARNED:-10 1000 10000 100000}
		((r % 2)) || Ns=$(tr ' ' '\n' <<<"$Ns" | tac | tr '\n' ' ')
		for N in $Ns; do
			learn "$N" && sample "$N" "$r"
		done
	done
	# where the BPF time goes: each program of the daemon now running (its
	# last round's stats-on samples), runs and ns per run
	if [ -n "$daemon_pid" ]; then
		for f in "$pin"/prog-*; do
			bpftool prog show pinned "$f" -j | python3 -c 'import json, sys
p = json.load(sys.stdin); n, t = p.get("run_cnt", 0), p.get("run_time_ns", 0)
n and print(sys.argv[1], n, round(t / n))' "${f##*/prog-}"
		done >"$tmp/progs"
	fi
	touch "$tmp/progs"
	python3 - "$tmp/learned" "$lsecs" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" "$tmp/progs" \
		>"$out/dns-learned.md" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
ratio, bpf, base = {}, {}, []
for n, r, kind, *v in rows:
    if kind == "bpf":
        bpf.setdefault(int(n), []).append(float(v[0]))
    else:
        ratio.setdefault((int(n), kind), []).append(float(v[0]))
        base.append(float(v[2]))
print("| learned addresses | client | connect/s vs the client outside the scope: median of rounds "
      "| rounds' medians (min-max) | rounds | govgate's BPF ns per connect: median | spread |")
print("|---|---|---|---|---|---|---|")
for (n, kind) in sorted(ratio):
    q, b = ratio[(n, kind)], bpf.get(n, [0])
    cost = (f"{statistics.median(b):.0f} | {min(b):.0f}-{max(b):.0f}" if kind in ("out", "in")
            else "— | —")  # govgate's programs: not the floor's or the A/A's
    print(f"| {n:,} | {kind} | {100 * statistics.median(q):.2f} % | {100 * min(q):.2f}-{100 * max(q):.2f} % "
          f"| {len(q)} | {cost} |")
print()
print(f"Each round: ggbench connect-pair, {sys.argv[2]} s of 64-connect batches taken in turns by a "
      f"client in the scope and one outside it, on one CPU; a round's figure is the median of its "
      f"pairs' ratios. \"out\": the listener outside the scope (another host's, as a learned "
      f"address is); \"in\": governed too; \"floor\": a client under empty programs at the same "
      f"hooks; \"a/a\": both clients outside the scope. Baseline connect: {statistics.median(base) / 1e3:.1f} µs "
      f"(median). {sys.argv[3]} CPUs, load average {sys.argv[4]} at the end.")
progs = [l.split() for l in open(sys.argv[5])]
if progs:
    print("Programs that ran (the last round): " + ", ".join(
        f"{name} {int(n):,} runs {ns} ns" for name, n, ns in sorted(progs, key=lambda p: -int(p[1]))) + ".")
PY
	cat "$out/dns-learned.md"
}

fail=0
[[ " $only " == *" dns "* ]] && bench_dns
[[ " $only " == *" learned "* ]] && bench_learned
[ "$fail" -eq 0 ] && echo "PASS dns-bench-all" || echo "FAIL dns-bench-all"
[ "$fail" -eq 0 ]
