#!/usr/bin/env bash
# The whole `govgate apply` of the nine packs, wall time, two builds
# interleaved (issue 14's apply target; docs/performance.md, "Apply, fourth
# pass"). Usage:
#
#   bench/apply-ab.sh OLD_BINARY NEW_BINARY [--reps N] [--gap SECONDS]
#
# Starts one `govgate run` per build, each scoped to a cgroup of its own
# with its own pin, state and audit directories (as bench/apply-cpu.sh),
# then N times, in ABBA order: applies the floor alone, waits GAP seconds
# (0.3: a burst of applies; over 5: the daemon has returned the last
# apply's pages, as before an operator's single apply), and times the
# apply of the nine packs (`ggbench time`). Prints p25, median and p75
# per build, of the whole command and of the daemon's part (from the
# request read to the reply, as the daemon logs it since 2026-12-06).
# Wall times: compare builds of one run, never across runs.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
[ $# -ge 2 ] || { echo "usage: $0 OLD NEW [--reps N] [--gap S]" >&2; exit 2; }
bins=("$(realpath "$1")" "$(realpath "$2")")
shift 2
reps=21 gap=0.3
while (($#)); do
	case $1 in
	--reps) reps=${2:?}; shift 2 ;;
	--gap) gap=${2:?}; shift 2 ;;
	*) echo "usage: $0 OLD NEW [--reps N] [--gap S]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }
[ -x "$root/build/bench/ggbench" ] || { echo "build first: make build/bench/ggbench" >&2; exit 1; }
source "$root/bench/lib.sh"
tmp=$(mktemp -d /tmp/ggab.XXXXXX)
pids=()

cleanup() {
	trap - EXIT INT TERM
	for i in 0 1; do
		[ -n "${pids[i]:-}" ] && { kill "${pids[i]}"; wait "${pids[i]}"; } 2>/dev/null
		"${bins[i]}" stop --unload --pin-dir "/sys/fs/bpf/ggab-$$-$i" >/dev/null 2>&1
		rm -rf "/sys/fs/bpf/ggab-$$-$i"
		rmdir "$cg2/ggab-$$-$i" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mount | grep -q ' /sys/fs/bpf type bpf' || mount -t bpf bpf /sys/fs/bpf

for i in 0 1; do
	d=$tmp/$i
	mkdir -p "$d/state" "$cg2/ggab-$$-$i" || exit 1
	cat >"$d/config.json" <<JSON
{ "pack_dirs": ["$root/packs"], "state_dir": "$d/state", "pin_dir": "/sys/fs/bpf/ggab-$$-$i",
  "registry_dir": "$d/registry", "store_dir": "$d/store", "trust_dir": "$d/keys",
  "audit": { "path": "$d/audit.jsonl", "key": "$d/audit-key.pem", "rotate_bytes": 1099511627776 } }
JSON
	env -u JOURNAL_STREAM -u INVOCATION_ID "${bins[i]}" run --config "$d/config.json" \
		--scope "cgroup:$cg2/ggab-$$-$i" >"$d/daemon.out" 2>"$d/daemon.err" &
	pids[i]=$!
	for ((w = 0; w < 600; w++)); do
		grep -q "enforcing (generation" "$d/daemon.err" && break
		sleep 0.05
	done
	grep -q "enforcing (generation" "$d/daemon.err" || { cat "$d/daemon.err"; exit 1; }
done

one() { # one I: the wall ms of build I's apply of the nine packs
	local cfg=$tmp/$1/config.json
	"${bins[$1]}" apply --config "$cfg" >/dev/null || exit 1
	sleep "$gap"
	"$root/build/bench/ggbench" time "${bins[$1]}" apply --config "$cfg" "${PACKS[@]}" 2>&1 >/dev/null |
		awk '/^wall/ {if ($6 != 0) exit 1; print $2 * 1000}'
}
echo "load $(cut -d' ' -f1-3 /proc/loadavg), $reps rounds, gap ${gap}s: A ${bins[0]}, B ${bins[1]}"
for ((r = 1; r <= reps; r++)); do
	for i in $( ((r % 2)) && echo "0 1" || echo "1 0"); do
		ms=$(one "$i") && [ -n "$ms" ] || { echo "round $r: build $i's apply was not timed" >&2; exit 1; }
		echo "$i $ms"
	done
done >"$tmp/runs"
quartiles() { # LABEL WHAT: p25, median, p75 of the numbers on stdin
	sort -g | awk -v l="$1" -v w="$2" '{v[NR] = $1} END {
		if (!NR) { printf "%s %s: none logged (a build before 2026-12-06)\n", l, w; exit }
		printf "%s %s p25 %.2f median %.2f p75 %.2f (n %d)\n", l, w,
			v[int((NR + 3) / 4)], NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2,
			v[int((3 * NR + 3) / 4)], NR}'
}
for i in 0 1; do
	l=$( ((i)) && echo B || echo A)
	awk -v i=$i '$1 == i {print $2}' "$tmp/runs" | quartiles $l wall_ms
	# the daemon's part: request read to reply, as it logs each apply
	sed -n "s/^govgate: apply of ${#PACKS[@]} ref(s) answered in \([0-9.]*\) ms$/\1/p" \
		"$tmp/$i/daemon.err" | quartiles $l daemon_ms
done
