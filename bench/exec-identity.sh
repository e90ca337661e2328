#!/usr/bin/env bash
# Issue 11 benchmarks: cmd.exec by content, executable mappings and trust
# lists. Every figure is a ratio to "nothing loaded" in the same round
# (rounds alternate which comes first); the median ratio and the spread
# (min..max over rounds) are reported.
#
#   bench/exec-identity.sh [--reps N] [--secs S]            host (fallback path)
#   bench/exec-identity.sh --vm [--kernel 6.1|6.12|all]     BPF LSM path (qemu)
#
# Host: exec of /bin/true in a governed cgroup, govgate enforcing the floor,
# the nine packs and the digests they resolve here, against no agent.
# VM (bench/exec-identity-guest.sh): the same exec rate with the nine packs
# and with a 10,000-digest trust list; a program mapping many libraries
# (the mmap check); the time of an exec of a 64 MiB file hashed by IMA,
# per MiB. Called by bench/run.sh (issue 14) when GG_BENCH_ONLY names
# "identity"; results in build/bench/identity/.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
gg=$root/build/govgate
B=$root/build/bench/ggbench
out=$root/build/bench/identity
vm=0 kernel=all reps=5 secs=1.5
while (($#)); do
	case $1 in
	--vm) vm=1; shift ;;
	--kernel) kernel=${2:?}; shift 2 ;;
	--reps) reps=${2:?}; shift 2 ;;
	--secs) secs=${2:?}; shift 2 ;;
	*) echo "usage: $0 [--vm [--kernel K]] [--reps N] [--secs S]" >&2; exit 2 ;;
	esac
done
mkdir -p "$out"
say() { echo "bench-identity: $*" >&2; }
die() { echo "FAIL $*" >&2; exit 1; }
[ -x "$gg" ] && [ -x "$B" ] || die "build first: make all build/bench/ggbench"

# summarize RAWCSV: per section and variant, median and spread of the
# per-round ratio to the round's "none" (rates: agent/none; times: none/agent,
# so both read as "fraction of the no-agent speed").
summarize() {
	awk -F, '
	{ key = $1 "," $3; r = $4; sub(/\..*/, "", r)
	  if ($2 == "none") { base[key "," r] += $6; nb[key "," r]++ }
	  else { val[key "," $2 "," r] += $6; nv[key "," $2 "," r]++; vars[key "," $2] = 1; metric[key] = $5 } }
	END {
	  for (kv in vars) {
	    split(kv, p, ","); key = p[1] "," p[2]; n = 0
	    for (r = 1; r <= 100; r++) {
	      if (!((key "," r) in base) || !((kv "," r) in val)) continue
	      b = base[key "," r] / nb[key "," r]; v = val[kv "," r] / nv[kv "," r]
	      x[++n] = metric[key] == "rate" ? v / b : b / v
	      if (metric[key] == "secs") extra[n] = (v - b) / (p[2] > 0 ? p[2] : 1)
	    }
	    if (!n) continue
	    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
	    med = n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
	    printf "| %s | %s | %d | %.1f %% | %.1f .. %.1f %% |", p[1], p[3], n, 100 * med, 100 * x[1], 100 * x[n]
	    if (metric[key] == "secs") {
	      m = 0; for (i = 1; i <= n; i++) m += extra[i]; printf " %.1f ms/MiB |", 1000 * m / n
	    } else printf " |"
	    printf "\n"
	  }
	}' "$1" | sort
}

report() {
	{
		echo "| section | variant | rounds | median (of no agent) | spread | extra cost |"
		echo "|---|---|---|---|---|---|"
		summarize "$1"
	} >"$2"
	cat "$2"
}

# bpf_share RAWCSV: per section and variant, the programs' ns per operation
# (SECTION-bpf rows) and their share of the same round's no-agent time per
# operation (1 / its rate): median and spread over rounds.
bpf_share() {
	python3 - "$1" <<'PY'
import csv, statistics, sys
rate, bpf = {}, {}
for sec, var, _, rep, metric, val in csv.reader(open(sys.argv[1])):
    if metric == "rate" and var == "none":
        rate[(sec, rep)] = float(val)
    elif metric == "bpf_ns_per_op":
        bpf.setdefault((sec[:-4], var), []).append((rep, float(val)))
print("\n| section | variant | rounds | BPF ns per operation: median (spread) | share of the no-agent operation: median (spread) |")
print("|---|---|---:|---:|---:|")
for (sec, var), rows in sorted(bpf.items()):
    ns = [v for _, v in rows]
    share = [100 * v * rate[(sec, r)] / 1e9 for r, v in rows if rate.get((sec, r))]
    if not share:
        continue
    print(f"| {sec} | {var} | {len(ns)} | {statistics.median(ns):,.0f} ({min(ns):,.0f}-{max(ns):,.0f}) "
          f"| {statistics.median(share):.2f} % ({min(share):.2f}-{max(share):.2f}) |")
PY
}

# bpf_progs LOG: the last round's programs per operation (GGBENCH-PROG
# section,variant,rep,program,ns_per_run,runs_per_op).
bpf_progs() {
	local last
	last=$(sed -n 's/^GGBENCH-PROG [^,]*,[^,]*,\([0-9]*\),.*/\1/p' "$1" | sort -n | tail -n1)
	[ -n "$last" ] || return 0
	echo
	echo "Round $last, per program: ns per run x runs per operation"
	echo
	echo "| section | variant | programs |"
	echo "|---|---|---|"
	sed -n "s/^GGBENCH-PROG \([^,]*\),\([^,]*\),$last,\([^,]*\),\([^,]*\),\(.*\)\r*$/\1 \2 \3 \4 \5/p" "$1" |
		awk '{ k = "| " $1 " | " $2 " | "; v[k] = v[k] (v[k] ? "; " : "") "`" $3 "` " $4 " x " $5 }
			END { for (k in v) print k v[k] " |" }' | sort
}

if ((vm)); then
	cc -O2 -o "$root/build/bench/gg-manylibs" bench/manylibs.c -Wl,--no-as-needed \
		-lbpf -lelf -lz -ljansson -lcrypto -lssl -lsystemd -lm || die "build gg-manylibs"
	printf 'REPS=%s SECS=%s\n' "$reps" "$secs" >"$out/bench.conf"
	kimg=
	GG_VM_OUT=$out scripts/vmtest.sh --kernel "$kernel" --boots 200 --stall 600 \
		bench/exec-identity-guest.sh build/govgate build/bench/ggbench build/helpers/gg-proof \
		"$root/build/bench/gg-manylibs:/bin/gg-manylibs" "$(command -v bpftool):/bin/bpftool" \
		packs "$out/bench.conf:/gg/bench.conf" ||
		say "a VM failed (see $out/*.log)"
	for log in "$out"/*.log; do
		[ -e "$log" ] || continue
		k=$(basename "$log" .log)
		sed '/^GGVM-DMESG-BEGIN$/,$d' "$log" | sed -n 's/^GGBENCH-RAW //p' >"$out/raw-$k.csv"
		grep -h '^GGBENCH-META' "$log" | head -n1
		[ -s "$out/raw-$k.csv" ] && report "$out/raw-$k.csv" "$out/results-$k.md" &&
			bpf_share "$out/raw-$k.csv" | tee -a "$out/results-$k.md" &&
			bpf_progs "$log" | tee -a "$out/results-$k.md"
	done
	exit 0
fi

# ---- host: the fallback path, scoped to a cgroup of our own -------------
[ "$(id -u)" -eq 0 ] || die "needs root (cgroups, BPF)"
PACKS=(baseline-hardening@v1 owasp-llm-top10@v1 owasp-agentic@v1 owasp-mcp@v1 eu-ai-act@v1
	nist-ai-rmf@v1 iso-42001@v1 mitre-atlas@v1 csa-aicm@v1)
cg2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
id=ggident-$$
cg=$cg2/$id pin=/sys/fs/bpf/$id tmp=$(mktemp -d /tmp/$id.XXXXXX)
daemon=
# Two denied tools in a PATH directory for the run (copies of true with a
# byte more: nothing else is denied), so the apply resolves identity and
# digest rows here.
planted=()
for t in /usr/local/bin/socat1 /usr/local/bin/ncat; do
	[ -e "$t" ] && continue
	{ cat /bin/true; printf '%s' "$t"; } >"$t" && chmod 755 "$t" && planted+=("$t")
done
cleanup() {
	rm -f "${planted[@]}"
	[ -n "$daemon" ] && { kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null; }
	"$gg" stop --unload --pin-dir "$pin" >/dev/null 2>&1
	[ -d "$cg" ] && { while read -r p; do echo "$p" >"$cg2/cgroup.procs"; done <"$cg/cgroup.procs"; rmdir "$cg"; }
	rm -rf "$tmp" "$pin"
}
trap cleanup EXIT
mount | grep -q ' /sys/fs/bpf type bpf' || mount -t bpf bpf /sys/fs/bpf
mkdir "$cg" || die "cannot create $cg"
cat >"$tmp/cfg.json" <<JSON
{ "pack_dirs": ["$root/packs"], "state_dir": "$tmp/state", "pin_dir": "$pin",
  "audit": { "path": "$tmp/audit.jsonl", "key": "$tmp/audit-key.pem" } }
JSON
inscope() { bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$cg" "$@"; }
rate() { inscope "$B" exec "$secs" | awk '{print $6}'; }
raw=$out/raw-host.csv
: >"$raw"
for ((r = 1; r <= reps; r++)); do
	for phase in $( ((r % 2)) && echo "none agent" || echo "agent none"); do
		if [ $phase = none ]; then
			echo "exec,none,,$r,rate,$(rate)" >>"$raw"
			continue
		fi
		"$gg" run --config "$tmp/cfg.json" --scope "cgroup:$cg" 2>>"$tmp/daemon.err" &
		daemon=$!
		for ((i = 0; i < 600; i++)); do
			[ "$(grep -c 'enforcing (generation' "$tmp/daemon.err")" -ge $r ] && break
			sleep 0.05
		done
		"$gg" apply --config "$tmp/cfg.json" "${PACKS[@]}" >/dev/null || die "apply"
		digests=$("$gg" status --config "$tmp/cfg.json" | awk '$1 == "digests:" {print $2}')
		echo "exec,packs+digests,,$r,rate,$(rate)" >>"$raw"
		kill "$daemon"; wait "$daemon" 2>/dev/null; daemon=
		"$gg" stop --unload --pin-dir "$pin" >/dev/null 2>&1 || die "stop --unload"
	done
done
say "host $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); digests in force: ${digests:-?}"
report "$raw" "$out/results-host.md"
