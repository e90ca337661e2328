#!/usr/bin/env bash
# Benchmarks 1 and 2 on the BPF LSM path: boots Debian's 6.1 and 6.12 cloud
# kernels under qemu (scripts/vmtest.sh) and runs tests/vm/bench.sh there.
# Software emulation: absolute numbers mean nothing, in-run ratios do.
#
#   bench/vm.sh [--kernel 6.1|6.12|all] [--quick]
#
# Results: build/bench/vm/<kernel>/results.{md,json,csv} (bench/report.py),
# serial logs build/bench/vm/<kernel>.log. Exit non-zero if a VM failed.
set -uo pipefail
cd "$(dirname "$0")/.."
kernel=all quick=0
while (($#)); do
	case $1 in
	--kernel) kernel=${2:?}; shift 2 ;;
	--quick) quick=1; shift ;;
	*) echo "usage: $0 [--kernel 6.1|6.12|all] [--quick]" >&2; exit 2 ;;
	esac
done
out=build/bench/vm
mkdir -p "$out"
if ((quick)); then
	printf 'REPS=2 EXEC_SECS=0.5 CONNECT_SECS=0.3 RULES="10 1000"\n' >"$out/bench.conf"
else
	# Software emulation is noisy: more rounds than on the host.
	printf 'REPS=%s EXEC_SECS=3 CONNECT_SECS=2 RULES="10 1000 100000"\n' \
		"${GG_BENCH_REPS:-9}" >"$out/bench.conf"
fi
rc=0
# Limits in boots of this machine (scripts/vmtest.sh; $GG_VM_TIMEOUT
# overrides): a full run is ~50 TCG boots per kernel. Generating and
# applying 100,000 rules prints nothing for a long while: a longer stall.
GG_VM_OUT=$PWD/$out scripts/vmtest.sh --kernel "$kernel" --boots 200 --stall 600 \
	tests/vm/bench.sh build/govgate build/bench/ggbench build/helpers/gg-net packs \
	"$out/bench.conf:/gg/bench.conf" || rc=1
for log in "$out"/*.log; do
	[ -e "$log" ] || continue
	k=$(basename "$log" .log)
	d=$out/$k
	mkdir -p "$d"
	# Guest lines only (before the dmesg dump).
	sed '/^GGVM-DMESG-BEGIN$/,$d' "$log" | sed -n 's/^GGBENCH-RAW //p' >"$d/raw.csv"
	sed '/^GGVM-DMESG-BEGIN$/,$d' "$log" | sed -n 's/^GGBENCH-META //p' >"$d/meta.env"
	[ -s "$d/raw.csv" ] || continue
	python3 bench/report.py "$d" && cat "$d/results.md"
done
exit $rc
