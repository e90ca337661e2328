# Shared by the benchmark scripts (sourced by bench/run.sh,
# bench/apply-cpu.sh, bench/connect-pair.sh).

# The nine packs of the "floor + nine packs" figures.
PACKS=(baseline-hardening@v1 owasp-llm-top10@v1 owasp-agentic@v1 owasp-mcp@v1 eu-ai-act@v1
	nist-ai-rmf@v1 iso-42001@v1 mitre-atlas@v1 csa-aicm@v1)

# The cgroup2 mount.
cg2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)

# split_pack PACK DIR N: PACK, one rule of N prefixes (ggbench gen), as packs
# of at most 500,000 (a policy document is limited to 16 MiB; the prefixes
# are disjoint, so any split is too): DIR/ggbench-N-1.json ..., whose paths
# it prints, one a line.
split_pack() {
	python3 - "$1" "$2" "$3" <<'PY'
import json, sys
src, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
doc = json.load(open(src))
cidrs = doc["rules"][0]["match"]["cidrs"]
parts = (n + 499999) // 500000
for p in range(parts):
    part = dict(doc, name=f"ggbench-{n}-{p + 1}")
    part["rules"] = [dict(doc["rules"][0], match={"cidrs": cidrs[p::parts]})]
    path = f"{d}/ggbench-{n}-{p + 1}.json"
    with open(path, "w") as f:
        json.dump(part, f, separators=(",", ":"))
    print(path)
PY
}

# bpf_snap: "name run_time_ns run_cnt" of each of govgate's programs pinned
# under $pin (kernel.bpf_stats_enabled counts them while it is 1).
bpf_snap() {
	local f
	for f in "$pin"/prog-*; do
		[ -e "$f" ] && bpftool prog show pinned "$f" -j 2>/dev/null && echo
	done | python3 -c 'import json, sys
for l in sys.stdin:
    if l.strip():
        p = json.loads(l)
        print(p.get("name", "?"), p.get("run_time_ns", 0), p.get("run_cnt", 0))'
}
