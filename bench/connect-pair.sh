#!/usr/bin/env bash
# Connect cost as a paired ratio, for issue 14's "≤ 2 % per connect" (and
# issue 12's learned connect). Usage:
#
#   bench/connect-pair.sh [--prefixes "10 1000 ..."] [--packs] [--secs S]
#                         [--reps N] [--server both|in|out] [--stats]
#                         [--perf FILE] [--out DIR]
#
# Starts `govgate run` scoped to a cgroup of its own and, per size, applies
# the floor and one pack of N random prefixes (bench/ggbench gen; --packs:
# the floor and the nine packs instead). Then `ggbench connect-pair`: a
# child in the scope and one in a sibling cgroup outside it (govgate's
# programs are attached to the scope's cgroup: the sibling runs none of
# them, as with no agent) take turns on one CPU, 64 connects each, to
# 198.18.0.1 on the loopback of a private network namespace (an address the
# gate decides). Each pair's ratio is the governed rate as a share of the
# baseline's; a rep prints the median over its pairs and the quartiles.
# The server (listener, accepted sockets) is in the child's own cgroup
# (--server in: a governed server, whose SYN-ACKs the packet check decides
# too) or outside the scope (--server out: a governed client connecting
# out, the agent's case); default: both, in turn. Each rep also measures
# the hooks' floor: a client in a third cgroup under empty programs at the
# same hooks (build/bench/hookfloor.bpf.o), server outside; and an A/A
# round (both clients outside the scope), the instrument's own spread.
# The baseline runs none of govgate's programs on the fallback path only:
# on the BPF LSM path the socket hooks are global (they return at the
# scope check), and the script says so.
# kernel.bpf_stats_enabled stays off while pairs run; --stats adds a short
# governed `ggbench connect` with it on, for each program's ns per run.
# --perf FILE: `perf record -a -g` of a governed `ggbench connect` (FILE.N
# per size N).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
gg=${GG_BENCH_GOVGATE:-$root/build/govgate}
B=$root/build/bench/ggbench
sizes="10 1000 100000 1000000" packs=0 secs=10 reps=3 stats=0 out= perf= servers="out in"
while (($#)); do
	case $1 in
	--prefixes) sizes=${2:?}; shift 2 ;;
	--packs) packs=1; shift ;;
	--secs) secs=${2:?}; shift 2 ;;
	--reps) reps=${2:?}; shift 2 ;;
	--stats) stats=1; shift ;;
	--perf) perf=${2:?}; shift 2 ;;
	--server) servers=${2:?}; [ "$servers" = both ] && servers="out in"; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	*) sed -n '2,25p' "$0" >&2; exit 2 ;;
	esac
done
for sv in $servers; do
	[ "$sv" = out ] || [ "$sv" = in ] || { echo "--server: out, in or both, not $sv" >&2; exit 2; }
done
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }
source "$root/bench/lib.sh"
id=ggpair-$$
cg_scope=$cg2/$id-scope
cg_base=$cg2/$id-base
cg_floor=$cg2/$id-floor
pin=/sys/fs/bpf/$id
pin_floor=/sys/fs/bpf/$id-floor
tmp=$(mktemp -d /tmp/$id.XXXXXX)
cfg=$tmp/config.json
to=198.18.0.1
daemon_pid= ns_pid=

stats_was=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	trap - EXIT INT TERM
	sysctl -qw kernel.bpf_stats_enabled="$stats_was"
	[ -n "$daemon_pid" ] && { kill "$daemon_pid"; wait "$daemon_pid"; } 2>/dev/null
	[ -n "$ns_pid" ] && { kill "$ns_pid"; wait "$ns_pid"; } 2>/dev/null
	"$gg" stop --unload --pin-dir "$pin" >/dev/null 2>&1
	rm -rf "$pin" "$pin_floor"
	for c in "$cg_scope" "$cg_base" "$cg_floor"; do
		[ -d "$c" ] || continue
		while read -r p; do echo "$p" >"$cg2/cgroup.procs"; done <"$c/cgroup.procs" 2>/dev/null
		rmdir "$c" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
die() { echo "connect-pair: $*" >&2; exit 1; }

floor_o=$root/build/bench/hookfloor.bpf.o
[ -x "$B" ] && [ -f "$floor_o" ] ||
	die "build/bench/ggbench or hookfloor.bpf.o missing (make build/bench/ggbench build/bench/hookfloor.bpf.o)"
mount | grep -q ' /sys/fs/bpf type bpf' || mount -t bpf bpf /sys/fs/bpf
mkdir "$cg_scope" "$cg_base" "$cg_floor" || exit 1
bpftool prog loadall "$floor_o" "$pin_floor" || die "load $floor_o"
bpftool cgroup attach "$cg_floor" connect4 pinned "$pin_floor/floor_connect4" &&
	bpftool cgroup attach "$cg_floor" egress pinned "$pin_floor/floor_egress" || die "attach the floor"
mkdir -p "$tmp/state"
[ -n "$out" ] && mkdir -p "$out"
cat >"$cfg" <<JSON
{ "pack_dirs": ["$root/packs"], "state_dir": "$tmp/state", "pin_dir": "$pin",
  "registry_dir": "$tmp/registry", "store_dir": "$tmp/store", "trust_dir": "$tmp/keys",
  "audit": { "path": "$tmp/audit.jsonl", "key": "$tmp/audit-key.pem", "rotate_bytes": 1099511627776 } }
JSON
# Nothing leaves the machine: a namespace holding only lo, which also
# holds the destination.
unshare -n -- bash -c "ip link set lo up && ip addr add $to/32 dev lo && exec sleep 86400" \
	</dev/null >/dev/null 2>&1 &
ns_pid=$!
for ((i = 0; i < 100; i++)); do
	nsenter --net="/proc/$ns_pid/ns/net" -- ip -o addr show dev lo 2>/dev/null | grep -q "$to/" && break
	sleep 0.05
done
env -u JOURNAL_STREAM -u INVOCATION_ID "$gg" run --config "$cfg" --scope "cgroup:$cg_scope" \
	>"$tmp/daemon.out" 2>"$tmp/daemon.err" &
daemon_pid=$!
for ((i = 0; i < 6000; i++)); do
	grep -q "enforcing (generation" "$tmp/daemon.err" && break
	kill -0 "$daemon_pid" 2>/dev/null || break
	sleep 0.05
done
grep -q "enforcing (generation" "$tmp/daemon.err" || { cat "$tmp/daemon.err"; exit 1; }

in_ns() { nsenter --net="/proc/$ns_pid/ns/net" -- "$@"; }
in_scope() { # a command in the scope's cgroup and the namespace
	bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$cg_scope" \
		nsenter --net="/proc/$ns_pid/ns/net" -- "$@"
}

# pair SIZE VARIANT REP CGROUP [LISTENER_CGROUP]: one round against cg_base
pair() {
	local o
	o=$(in_ns "$B" connect-pair "$secs" "$to" "$4" "$cg_base" ${5:+"$5"} 2>&1) ||
		die "connect-pair ($2): $o"
	echo "size $1 server $2 rep $3 $o"
	[ -n "$out" ] && echo "$1,$2,$3,$o" >>"$out/pairs.csv"
}

if [ -e "$pin/prog-gg_egress_connect" ]; then
	echo "note: the BPF LSM path: the baseline client runs govgate's global socket hooks up to" \
		"their scope check, so the ratios understate govgate's cost"
fi
[ "$packs" = 1 ] && sizes=packs
for n in $sizes; do
	if [ "$n" = packs ]; then
		refs=("${PACKS[@]}")
	else
		"$B" gen "$n" $((n * 7 + 1)) "$tmp/p.json" - - || die "gen $n"
		refs=("$tmp/p.json")
		if ((n > 500000)); then
			parts=$(split_pack "$tmp/p.json" "$tmp" "$n") || die "split $n"
			mapfile -t refs <<<"$parts"
		fi
	fi
	# twice: both slots then hold this policy (steady state)
	for a in 1 2; do
		"$gg" apply --config "$cfg" "${refs[@]}" >/dev/null || die "apply $n"
	done
	# the policy is in force: the floor denies the metadata address
	o=$(in_scope "$B" storm 169.254.169.254 80 1 0) || die "storm: $o"
	grep -q "denied 1" <<<"$o" || die "$n: the floor's denial is missing ($o)"
	for ((r = 1; r <= reps; r++)); do
		for sv in $servers; do
			lcg=()
			[ "$sv" = out ] && lcg=("$cg_base")
			pair "$n" "$sv" "$r" "$cg_scope" "${lcg[@]}"
		done
		pair "$n" floor "$r" "$cg_floor" "$cg_base"
		pair "$n" a/a "$r" "$cg_base" "$cg_base"
	done
	if ((stats)); then
		sysctl -qw kernel.bpf_stats_enabled=1
		bpf_snap >"$tmp/s0"
		o=$(in_scope "$B" connect 2 "$to" 2>&1) || die "connect: $o"
		bpf_snap >"$tmp/s1"
		# the baseline's cgroup runs none of govgate's programs
		in_ns bash -c 'echo $$ >"$1/cgroup.procs" && exec "$2" connect 0.5 "$3"' _ \
			"$cg_base" "$B" "$to" >/dev/null || die "connect (baseline)"
		bpf_snap >"$tmp/s2"
		# (its exec runs the exec gate's global program, which finds it
		# out of scope: not a connect's)
		cmp -s <(grep -E "egress|dns" "$tmp/s1") <(grep -E "egress|dns" "$tmp/s2") ||
			die "the baseline's connects ran govgate's programs"
		sysctl -qw kernel.bpf_stats_enabled=0
		ops=$(awk '{print $2}' <<<"$o")
		join <(sort "$tmp/s0") <(sort "$tmp/s1") | awk -v n="$n" -v ops="$ops" '$5 > $3 {
			t += $4 - $2
			printf "size %s bpf %s ns_per_run %.1f runs_per_connect %.2f\n", n, $1,
				($4 - $2) / ($5 - $3), ($5 - $3) / ops }
			END { printf "size %s bpf total ns_per_connect %.1f\n", n, t / ops }'
	fi
	if [ -n "$perf" ]; then
		perf record -N -q -a -g -o "$perf.$n" -- bash -c \
			'echo $$ >"$1/cgroup.procs" && exec nsenter --net="/proc/$2/ns/net" -- "$3" connect 5 "$4"' \
			_ "$cg_scope" "$ns_pid" "$B" "$to" >/dev/null || die "perf record"
	fi
done
