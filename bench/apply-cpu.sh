#!/usr/bin/env bash
# The CPU an apply costs, for issue 14's apply targets (a loaded machine's
# wall time is noise; CPU time and instruction counts are not). Usage:
#
#   bench/apply-cpu.sh [--reps N] [--prefixes N] [--gap MS] [--callgrind] [--direct]
#                      [--rss] [--callgrind-daemon] [--perf-daemon]
#
# Starts `govgate run` scoped to a cgroup of its own (pin, state and log
# directories of its own, as bench/run.sh), then applies the floor and the
# nine packs (or, with --prefixes N, the floor and one pack of N random
# prefixes, bench/ggbench gen) N times, alternating it with the floor alone so
# that every apply replaces a slot's content. Prints, per apply, the CPU time
# (user + sys) of the CLI and of the daemon (its schedstat), and the wall time.
# The daemon empties the slot a flip left stale 5 s after it has answered
# (docs/performance.md, "Apply, third pass"): back to back, the next apply
# empties it itself; --gap MS waits MS after each apply (over 5000: as
# between two applies in use) and prints the daemon's CPU in that wait
# (daemon_after_ms: off the apply's path, but the daemon's). Medians at the
# end.
# --direct: the daemon is stopped (the gates stay) and the CLI applies itself.
# --callgrind: one more apply under valgrind --tool=callgrind (instructions
# in user space), direct. --callgrind-daemon: the daemon runs under callgrind,
# and the instructions of its applies after two warm-up ones are counted
# (the daemon's steady state: the digests of unchanged files are kept).
# --perf-daemon: perf record of the daemon during the applies
# (build/daemon.perf). --rss: the daemon's smaps, summed by mapping.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
gg=${GG_BENCH_GOVGATE:-$root/build/govgate}
reps=9 prefixes=0 callgrind=0 direct=0 rss=0 cgd=0 pd=0 gap=0
while (($#)); do
	case $1 in
	--reps) reps=${2:?}; shift 2 ;;
	--prefixes) prefixes=${2:?}; shift 2 ;;
	--gap) gap=${2:?}; shift 2 ;;
	--callgrind) callgrind=1; shift ;;
	--direct) direct=1; shift ;;
	--rss) rss=1; shift ;;
	--callgrind-daemon) cgd=1; shift ;;
	--perf-daemon) pd=1; shift ;;
	*) echo "usage: $0 [--reps N] [--prefixes N] [--gap MS] [--callgrind] [--direct] [--rss]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }
source "$root/bench/lib.sh"
id=ggapply-$$
cgp=$cg2/$id
pin=/sys/fs/bpf/$id
tmp=$(mktemp -d /tmp/$id.XXXXXX)
cfg=$tmp/config.json
daemon_pid=

cleanup() {
	trap - EXIT INT TERM
	[ -n "$daemon_pid" ] && { kill "$daemon_pid"; wait "$daemon_pid"; } 2>/dev/null
	"$gg" stop --unload --pin-dir "$pin" >/dev/null 2>&1
	rm -rf "$pin"
	rmdir "$cgp" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mount | grep -q ' /sys/fs/bpf type bpf' || mount -t bpf bpf /sys/fs/bpf
mkdir "$cgp" || exit 1
mkdir -p "$tmp/state"
cat >"$cfg" <<JSON
{ "pack_dirs": ["$root/packs"], "state_dir": "$tmp/state", "pin_dir": "$pin",
  "registry_dir": "$tmp/registry", "store_dir": "$tmp/store", "trust_dir": "$tmp/keys",
  "audit": { "path": "$tmp/audit.jsonl", "key": "$tmp/audit-key.pem", "rotate_bytes": 1099511627776 } }
JSON
vg=()
((cgd)) && vg=(valgrind --tool=callgrind --callgrind-out-file="$root/build/daemon.callgrind"
	--collect-atstart=no --toggle-collect=gg_policy_edit)
env -u JOURNAL_STREAM -u INVOCATION_ID "${vg[@]}" "$gg" run --config "$cfg" --scope "cgroup:$cgp" \
	>"$tmp/daemon.out" 2>"$tmp/daemon.err" &
daemon_pid=$!
for ((i = 0; i < 6000; i++)); do
	grep -q "enforcing (generation" "$tmp/daemon.err" && break
	sleep 0.05
done
grep -q "enforcing (generation" "$tmp/daemon.err" || { cat "$tmp/daemon.err"; exit 1; }

refs=("${PACKS[@]}")
if ((prefixes)); then
	"$root/build/bench/ggbench" gen "$prefixes" $((prefixes * 7 + 1)) "$tmp/p.json" - - || exit 1
	refs=("$tmp/p.json")
	if ((prefixes > 500000)); then
		parts=$(split_pack "$tmp/p.json" "$tmp" "$prefixes") || exit 1
		mapfile -t refs <<<"$parts"
	fi
fi
# The daemon's CPU in ns (one thread: its schedstat), the CLI's from bash's
# `times`-free way: /usr/bin/time's %U %S has 10 ms resolution, so perf stat.
dcpu() { awk '{print $1}' "/proc/$daemon_pid/task/$daemon_pid/schedstat" 2>/dev/null || echo 0; }
if ((direct)); then
	kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null; daemon_pid=
fi
one() { # one LABEL REFS...: prints LABEL's CLI CPU, daemon CPU and wall (ms)
	local label=$1 d0 d1 d2 w0 w1 out
	shift
	d0=$( [ -n "$daemon_pid" ] && dcpu || echo 0)
	w0=$(date +%s%N)
	out=$(perf stat -x, -e task-clock "$gg" apply --config "$cfg" "$@" 2>&1 >/dev/null) ||
		{ echo "apply failed: $out" >&2; exit 1; }
	w1=$(date +%s%N)
	d1=$( [ -n "$daemon_pid" ] && dcpu || echo 0)
	((gap)) && sleep "$(awk -v g="$gap" 'BEGIN {print g / 1000}')"
	d2=$( [ -n "$daemon_pid" ] && dcpu || echo 0)
	awk -F, -v l="$label" -v d=$((d1 - d0)) -v w=$((w1 - w0)) -v a=$((d2 - d1)) -v g="$gap" \
		'/task-clock/ {tc = $1} END {printf "%s cli_cpu_ms %.2f daemon_cpu_ms %.2f wall_ms %.1f%s\n",
		l, tc, d / 1e6, w / 1e6, g ? sprintf(" daemon_after_ms %.2f", a / 1e6) : ""}' <<<"$out"
}
echo "load $(cut -d' ' -f1-3 /proc/loadavg), $(((prefixes)) && echo "$prefixes prefixes" || echo "nine packs"), $( ((direct)) && echo direct || echo "through the daemon")"
if ((cgd)); then
	for ((r = 1; r <= 2 + reps; r++)); do
		"$gg" apply --config "$cfg" "${refs[@]}" >/dev/null || exit 1
		((r == 2)) && callgrind_control -z "$daemon_pid" >/dev/null
	done
	callgrind_control -d "$daemon_pid" >/dev/null
	sleep 1
	for f in "$root"/build/daemon.callgrind*; do
		callgrind_annotate "$f" 2>/dev/null | awk -v n="$reps" '/PROGRAM TOTALS/ {
			gsub(",", "", $1); printf "daemon: %.0f instructions per apply\n", $1 / n}'
	done
	reps=0
fi
perf_pid=
if ((pd)) && [ -n "$daemon_pid" ]; then
	perf record -q -F 2000 --call-graph dwarf,8192 -p "$daemon_pid" -o "$root/build/daemon.perf" &
	perf_pid=$!
	sleep 1
fi
for ((r = 1; r <= reps; r++)); do
	one floor-only --remove "${refs[@]}" 2>/dev/null || "$gg" apply --config "$cfg" >/dev/null 2>&1
	one apply "${refs[@]}"
done | grep -v '^floor-only' | tee "$tmp/runs"
# medians, one field at a time (mawk: no arrays of arrays)
for f in cli_cpu_ms daemon_cpu_ms wall_ms daemon_after_ms; do
	awk -v f=$f '{for (i = 2; i < NF; i += 2) if ($i == f) print $(i + 1)}' "$tmp/runs" | sort -g |
		awk -v f=$f '{v[NR] = $1} END {if (NR) printf "median of %d %s %s\n", NR, f,
			NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
done
[ -n "$perf_pid" ] && { kill -INT "$perf_pid"; wait "$perf_pid"; }
if ((callgrind)); then
	[ -n "$daemon_pid" ] && { kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null; daemon_pid=; }
	"$gg" apply --config "$cfg" --remove "${refs[@]}" >/dev/null 2>&1
	valgrind --tool=callgrind --callgrind-out-file="$root/build/apply.callgrind" \
		"$gg" apply --config "$cfg" "${refs[@]}" 2>&1 >/dev/null | grep -E 'refs|Collected'
	callgrind_annotate "$root/build/apply.callgrind" 2>/dev/null | head -40
fi
if ((rss)) && [ -n "$daemon_pid" ]; then
	# One denial (the daemon loads the generation), from the governed
	# cgroup and a private network namespace holding only loopback.
	bash -c 'echo $$ >"$1/cgroup.procs" && exec unshare -n -- "$2" connect 169.254.169.254 1' \
		_ "$cgp" "$root/build/helpers/gg-net" >/dev/null 2>&1
	sleep 1
	echo "right after the applies: $(grep VmRSS "/proc/$daemon_pid/status")"
	# the steady state: the applies' freed pages are returned with the
	# stale slot's clear, 5 s after the last apply (docs/performance.md)
	sleep 5
	grep VmRSS "/proc/$daemon_pid/status"
	awk '/^[0-9a-f]+-[0-9a-f]+ / {name = $6 ? $6 : "[anon]"} /^Rss:/ {rss[name] += $2}
		END {for (n in rss) if (rss[n]) printf "%8d kB %s\n", rss[n], n}' "/proc/$daemon_pid/smaps" | sort -rn
	# the binary's own mappings: text, read-only data, data and bss
	awk -v b="$gg" '/^[0-9a-f]+-[0-9a-f]+ / {m = $1 " " $2 " " $6} /^Rss:/ && m ~ b {print "  " m, $2, "kB"}' \
		"/proc/$daemon_pid/smaps"
	# glibc's view of the heap (in use, free), when gdb is there
	if command -v gdb >/dev/null; then
		gdb -p "$daemon_pid" -batch -ex 'call (void)malloc_stats()' >/dev/null 2>&1
		sleep 0.2
		tail -n 12 "$tmp/daemon.err" | grep -E 'system bytes|in use bytes|Arena|max mmap' | head -8
	fi
fi
