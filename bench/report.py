#!/usr/bin/env python3
"""Turns bench/run.sh's raw samples into results.{md,json,csv} and the
gnuplot data file (connect-plot.dat). Usage: report.py OUTDIR

raw.csv rows: section,variant,param,rep,metric,value. A ratio is computed
per round (treatment / the baseline of the same round) and the median of
those is reported, with the smallest and largest."""
import csv
import json
import statistics
import sys
from collections import defaultdict

out = sys.argv[1]
meta = {}
for line in open(f"{out}/meta.env"):
    k, _, v = line.rstrip("\n").partition("=")
    meta[k] = v

raw = defaultdict(dict)  # (section, variant, param, metric) -> {rep: value}
rows = []
for r in csv.reader(open(f"{out}/raw.csv")):
    if len(r) != 6:
        continue
    sec, var, par, rep, metric, val = r
    try:
        v = float(val)
    except ValueError:
        continue
    raw[(sec, var, par, metric)][int(rep)] = v
    rows.append(r)


def has(sec):
    return any(k[0] == sec or (sec == "apply" and k[0] == "compile") for k in raw)


def med(d):
    return statistics.median(d.values()) if d else None


def ratios(sec, var, par, base="none", metric="rate"):
    t, b = raw.get((sec, var, par, metric), {}), raw.get((sec, base, par, metric), {})
    rs = [t[k] / b[k] for k in t if k in b and b[k] > 0]
    if not rs:
        return None
    return {"median": statistics.median(rs), "min": min(rs), "max": max(rs), "n": len(rs)}


def pct(x):
    return "—" if x is None else f"{100 * x:.1f}%"


def rng(r):
    return "—" if r is None else f"{100 * r['median']:.1f}% ({100 * r['min']:.1f}–{100 * r['max']:.1f})"


def size(b):
    if b is None:
        return "—"
    return f"{b / 2**20:,.1f} MiB" if b >= 2**20 else f"{b / 1024:,.0f} KiB"


def num(x, fmt="{:,.0f}"):
    return "—" if x is None else fmt.format(x)


def one(sec, var, par, metric):
    d = raw.get((sec, var, str(par), metric))
    return med(d) if d else None


res = {"meta": meta, "targets": {}}
md = []
md.append(f"# govgate benchmark results ({meta.get('mode', '?')})\n")
md.append(f"* date: {meta.get('date')}, kernel {meta.get('kernel')}, {meta.get('nproc')} CPUs "
          f"({meta.get('cpu')}), {meta.get('mem_gib')} GiB")
md.append(f"* command: `{meta.get('command')}`, {meta.get('reps')} interleaved rounds per "
          f"comparison, {meta.get('elapsed_secs')} s in all")
if "loadavg_start" in meta:
    md.append(f"* other work on the machine: CPU {meta.get('busy_pct_start')}% busy just before "
              f"the run; load average at start {meta.get('loadavg_start')}, at end "
              f"{meta.get('loadavg_end')}")
md.append("* ratios: median over rounds of (treatment / baseline of the same round), "
          "with the smallest and largest round in parentheses\n")

# ---- 1. exec
mark = len(md)
md.append("## 1. Exec cost (posix_spawn + waitpid of /bin/true)\n")
md.append("| variant | execs/s (median) | vs no agent |")
md.append("|---|---:|---:|")
ex = {}
for var, label in [("none", "no agent (nothing loaded)"),
                   ("govgate", "govgate: floor + nine packs, in scope"),
                   ("govgate-outside-scope", "govgate loaded, caller outside the scope")]:
    r = ratios("exec", var, "") if var != "none" else None
    m = med(raw.get(("exec", var, "", "rate"), {}))
    ex[var] = {"execs_per_sec": m, "ratio": r}
    md.append(f"| {label} | {num(m)} | {'100%' if var == 'none' else rng(r)} |")
res["exec"] = ex
r = ex["govgate"]["ratio"]
# Issue 14: at most 1.5 % per exec (issue 6 asked for 2 %).
res["targets"]["exec_ge_98_5pct"] = None if r is None else r["median"] >= 0.985
md.append(f"\nTarget ≥ 98.5% (≤ 1.5% per exec): **{'met' if r and r['median'] >= 0.985 else 'not met'}** "
          f"({pct(r and r['median'])}).\n")

if not has('exec'):
    del md[mark:]
# ---- 2. connect
mark = len(md)
Ns = sorted({int(k[2]) for k in raw if k[0] == "connect" and k[2]})
variants = [("govgate", "govgate"), ("govgate-outside-scope", "govgate, caller outside scope"),
            ("nftables", "nftables set"), ("iptables", "iptables rules")]
md.append("## 2. Connect cost vs denied-prefix count (TCP connect + accept + close to 198.18.0.1, an address on lo that the gate decides)\n")
md.append("Rate as % of the no-filter rate of the same round (govgate unloaded); below, "
          "connects per second (medians).\n")
md.append("| rules | no filter | " + " | ".join(l for _, l in variants) + " |")
md.append("|---:|---:|" + "---:|" * len(variants))
absrows = []
conn = {}
plot = []
ipt_max = int(float(meta.get("ipt_max") or 0))
for n in Ns:
    p = str(n)
    c = {"none": med(raw.get(("connect", "none", p, "rate"), {}))}
    cells = [f"{n:,}", "100%"]
    acells = [f"{n:,}", num(c["none"])]
    for var, _ in variants:
        m = med(raw.get(("connect", var, p, "rate"), {}))
        r = ratios("connect", var, p)
        c[var] = m
        c[var + "_ratio"] = r
        if m is None and var == "iptables" and ("connect", "iptables", p, "skipped") in raw:
            cells.append(f"not run (> {ipt_max:,} rules)")
            acells.append("—")
            c["iptables_skipped"] = True
        else:
            cells.append(rng(r))
            acells.append(num(m))
    plot.append([n, c["none"], c["govgate"], c["nftables"], c["iptables"]] +
                [None if c[v + "_ratio"] is None else 100 * c[v + "_ratio"]["median"]
                 for v in ("govgate", "nftables", "iptables")])
    conn[p] = c
    md.append("| " + " | ".join(cells) + " |")
    absrows.append("| " + " | ".join(acells) + " |")
md.append("")
md.append("| rules | no filter | " + " | ".join(l for _, l in variants) + " |")
md.append("|---:|---:|" + "---:|" * len(variants))
md += absrows
if any(conn[p].get("iptables_skipped") for p in conn):
    md.append(f"\niptables was not run above {ipt_max:,} rules: one rule per prefix is a linear "
              f"chain, already at a fraction of a percent of the baseline at {ipt_max:,}.")
res["connect"] = conn
# Paired rounds (ggbench connect-pair): the connect's own figure.
paired = [("paired-out", "govgate: client in the scope, server outside"),
          ("paired-in", "govgate: client and server in the scope"),
          ("hook-floor", "empty programs at the same hooks, server outside"),
          ("paired-aa", "A/A: both clients outside the scope")]
pN = [n for n in Ns if ("connect", "paired-out", str(n), "pair_ratio") in raw]
if pN:
    md.append("\n### Paired rounds: the governed connect against a baseline on the same CPU\n")
    md.append("`ggbench connect-pair`: a client in the scope and one in a cgroup outside it (which "
              "runs none of govgate's programs) take turns on one CPU, 64 connects each, while the "
              "daemon runs; a round's figure is the median of its pairs' rates (governed / baseline). "
              "Medians of rounds, smallest and largest round in parentheses; ns per connect: the "
              "governed client's minus the baseline's, medians."
              + (" **The BPF LSM path:** the baseline client runs govgate's global socket hooks up to "
                 "their scope check, so these ratios understate govgate's cost, and the target is "
                 "judged on the unpaired rates above." if meta.get("egress_mech") == "lsm" else "")
              + "\n")
    md.append("| rules | " + " | ".join(l for _, l in paired) + " |")
    md.append("|---:|" + "---:|" * len(paired))
    for n in pN:
        p = str(n)
        cells = [f"{n:,}"]
        for var, _ in paired:
            d = raw.get(("connect", var, p, "pair_ratio"), {})
            g, b = raw.get(("connect", var, p, "pair_ns"), {}), raw.get(("connect", var, p, "pair_base_ns"), {})
            if not d:
                cells.append("—")
                continue
            r = {"median": med(d), "min": min(d.values()), "max": max(d.values()), "n": len(d)}
            added = statistics.median(g[k] - b[k] for k in g if k in b) if g else None
            conn[p][var] = r
            conn[p][var + "_added_ns"] = added
            cells.append(f"{rng(r)}, {num(added)} ns")
        md.append("| " + " | ".join(cells) + " |")
gr = [conn[str(n)]["paired-out"]["median"] for n in pN if meta.get("egress_mech") != "lsm"]
if not gr:  # no paired rounds: the unpaired rates
    gr = [conn[str(n)]["govgate_ratio"]["median"] for n in Ns if conn[str(n)].get("govgate_ratio")]
if gr:
    # Issue 14: at most 2 % per connect at every size (issue 6: 5 %).
    ok98 = min(gr) >= 0.98
    spread = max(gr) - min(gr)
    flat = spread <= 0.05
    res["targets"]["connect_ge_98pct"] = ok98
    res["targets"]["connect_flat"] = flat
    res["targets"]["connect_govgate_ratio_spread"] = spread
    fl = [conn[str(n)]["hook-floor"]["median"] for n in pN if "hook-floor" in conn[str(n)]]
    if fl:
        res["targets"]["connect_hook_floor"] = statistics.median(fl)
    md.append(f"\nTarget ≥ 98% (≤ 2% per connect) at every size"
              f"{' (paired, server outside)' if pN and meta.get('egress_mech') != 'lsm' else ''}: "
              f"**{'met' if ok98 else 'not met'}** "
              f"(lowest {pct(min(gr))}). Flat from {Ns[0]:,} to {Ns[-1]:,} "
              f"(ratios within 5 points): **{'met' if flat else 'not met'}** "
              f"(spread {100 * spread:.1f} points)."
              + (f" Empty programs at the same hooks: {pct(statistics.median(fl))}." if pN and fl else "")
              + "\n")
with open(f"{out}/connect-plot.dat", "w") as f:
    f.write("# rules none govgate nftables iptables govgate% nftables% iptables%\n")
    for prow in plot:
        f.write(" ".join("?" if v is None else f"{v:g}" for v in prow) + "\n")

if not has('connect'):
    del md[mark:]
# ---- 3. storm
mark = len(md)
md.append("## 3. Audit throughput: denied connects to 169.254.169.254\n")
md.append("| storm | attempted | attempts/s | records | lost (events_lost) | loss | drained after | records/s written "
          "| daemon CPU per record | generator CPU | load |")
md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
storm = []
keys = sorted({(k[1], k[2]) for k in raw if k[0] == "storm"},
              key=lambda k: ({"rate": 0, "burst": 1}.get(k[0], 2), float(k[1])))
for kind, par in keys:
    g = lambda m: one("storm", kind, par, m)
    att, rec, lost, secs, drain = g("attempted"), g("records"), g("lost"), g("secs"), g("drain_secs")
    s = {"kind": kind, "param": par, "attempted": att, "rate": g("rate"), "records": rec,
         "lost": lost, "lost_records": g("lost_records"), "secs": secs, "drain_secs": drain}
    s["loss"] = lost / att if att else None
    # CPU seconds over the storm and its drain (bench/run.sh storm_step)
    s["daemon_cpu_secs"], s["storm_cpu_secs"] = g("daemon_cpu_secs"), g("storm_cpu_secs")
    s["daemon_us_per_record"] = (s["daemon_cpu_secs"] * 1e6 / rec
                                 if rec and s["daemon_cpu_secs"] is not None else None)
    # Written records over the storm plus the time the log kept growing
    # after it (polled every 0.5 s: meaningless below about a second).
    s["records_per_sec"] = (rec / (secs + drain) if rec and secs is not None and drain is not None
                            and secs + drain >= 1 else None)
    storm.append(s)
    label = (f"paced {float(par):,.0f}/s for {meta.get('storm_secs')} s" if kind == "rate" else
             f"burst of {float(par):,.0f}, unpaced" if kind == "burst" else
             f"burst of {float(par):,.0f}, unpaced, {meta.get('big_ring_mib')} MiB ring buffer")
    md.append(f"| {label} | {num(att)} | {num(s['rate'])} | {num(rec)} | {num(lost)} | "
              f"{pct(s['loss'])} | {num(drain, '{:.1f} s')} | {num(s['records_per_sec'])} | "
              f"{num(s['daemon_us_per_record'], '{:.2f} µs')} | {num(s['storm_cpu_secs'], '{:.2f} s')} | "
              f"{num(g('loadavg'), '{:.1f}')} |")
res["storm"] = storm
if storm:
    paced = [s for s in storm if s["kind"] == "rate"]
    bursts = [s for s in storm if s["kind"] == "burst"]
    zl = [s for s in paced if s["lost"] == 0]
    best = max(zl, key=lambda s: s["rate"]) if zl else None
    zb = [s for s in bursts if s["lost"] == 0]
    bb = max(zb, key=lambda s: s["attempted"]) if zb else None
    res["storm_zero_loss_sustained_rate"] = best and best["rate"]
    res["storm_zero_loss_largest_burst"] = bb and bb["attempted"]
    res["storm_records_per_sec_max"] = max((s["records_per_sec"] or 0) for s in storm)
    md.append("")
    if best:
        md.append(f"Highest sustained rate recorded with zero loss: **{best['rate']:,.0f} events/s** "
                  f"(paced {float(best['param']):,.0f}/s for {meta.get('storm_secs')} s). ")
    lp = [s for s in paced if s["lost"]]
    if lp:
        first = min(lp, key=lambda s: float(s["param"]))  # asked for, not achieved
        md.append(f"Loss begins at paced {float(first['param']):,.0f}/s ({pct(first['loss'])} lost). ")
    if bb:
        md.append(f"Largest unpaced burst recorded with zero loss: **{bb['attempted']:,.0f}** events "
                  f"(at {bb['rate']:,.0f} attempts/s). ")
    lb = [s for s in bursts if s["lost"]]
    if lb:
        first = min(lb, key=lambda s: s["attempted"])
        md.append(f"Bursts lose events from {first['attempted']:,.0f} on ({pct(first['loss'])} lost). ")
    if res["storm_records_per_sec_max"]:
        md.append(f"Best write rate: {res['storm_records_per_sec_max']:,.0f} records/s. ")
    rb = [s for s in storm if s["kind"] == "burst-ring" and s["lost"] == 0]
    rbb = max(rb, key=lambda s: s["attempted"]) if rb else None
    res["storm_zero_loss_largest_burst_big_ring"] = rbb and rbb["attempted"]
    if rbb:
        md.append(f"With a {meta.get('big_ring_mib')} MiB ring buffer (`audit.ring_buffer_mib`), "
                  f"largest unpaced burst with zero loss: **{rbb['attempted']:,.0f}** events. ")
    md.append(f"Every lost event was counted (dropped counter = `events_lost` records): "
              f"**{'yes' if all(s['lost'] == s['lost_records'] for s in storm) else 'NO'}**.\n")

if not has('storm'):
    del md[mark:]
# ---- 4. apply
mark = len(md)
md.append("## 4. Policy apply (resolve + verify + compile + swap)\n")
md.append("Compile: `govgate compile` (resolve, verify, parse, compile; no maps touched). "
          "Apply: `govgate apply`, the whole command (the same, then fill the inactive slot, "
          "record the generation, flip the active slot); for N prefixes the median of two applies. "
          "Restart: `govgate run` until it enforces, re-applying the saved policy (median over "
          "the connect rounds). Wall-clock times; max RSS of the applying process.\n")
md.append("| policy | compile, dry run | apply | apply max RSS | restart | nft -f | iptables-restore |")
md.append("|---|---:|---:|---:|---:|---:|---:|")
ap = {}
c9, a9 = med(raw.get(("compile", "nine-packs", "", "secs"), {})), med(raw.get(("apply", "nine-packs", "", "secs"), {}))
r9 = med(raw.get(("apply", "nine-packs", "", "maxrss_kb"), {}))
ap["nine-packs"] = {"compile_secs": c9, "apply_secs": a9, "apply_maxrss_kb": r9}
if a9 is not None:
    md.append(f"| floor + nine packs (median of {len(raw.get(('apply', 'nine-packs', '', 'secs'), {}))}) | "
              f"{num(c9 and c9 * 1000, '{:.0f} ms')} | {num(a9 and a9 * 1000, '{:.0f} ms')} | "
              f"{num(r9 and r9 / 1024, '{:.0f} MiB')} | | | |")
for n in Ns:
    p = str(n)
    d = {"compile_secs": one("compile", "rules", p, "secs"), "apply_secs": one("apply", "rules", p, "secs"),
         "apply_maxrss_kb": one("apply", "rules", p, "maxrss_kb"),
         "nft_load_secs": one("nft-load", "nftables", p, "secs"),
         "ipt_load_secs": one("ipt-load", "iptables", p, "secs"),
         "restart_secs": one("restart", "govgate", p, "secs")}
    ap[p] = d
    md.append(f"| floor + {n:,} prefixes | {num(d['compile_secs'], '{:.2f} s')} | "
              f"{num(d['apply_secs'], '{:.2f} s')} | {num(d['apply_maxrss_kb'] and d['apply_maxrss_kb'] / 1024, '{:.0f} MiB')} | "
              f"{num(d['restart_secs'], '{:.2f} s')} | "
              f"{num(d['nft_load_secs'], '{:.2f} s')} | {num(d['ipt_load_secs'], '{:.2f} s')} |")
aa_d = raw.get(("apply-again", "nine-packs", "", "secs"), {})
aa = med(aa_d)
sv = med(raw.get(("start", "govgate-version", "", "secs"), {}))
st = med(raw.get(("start", "true", "", "secs"), {}))
if aa is not None and sv is not None and st is not None:
    ap["nine-packs"].update({"apply_again_secs": aa, "govgate_version_secs": sv, "true_secs": st})
    md.append(f"\nThe same daemon's later applies of the nine packs, each replacing the floor "
              f"alone (median of {len(aa_d)}): **{aa * 1000:.1f} ms**, the whole command. In the "
              f"same rounds, what starting a command costs this machine: `govgate --version` "
              f"{sv * 1000:.1f} ms, `/bin/true` {st * 1000:.1f} ms; the apply beyond govgate's own "
              f"start: {(aa - sv) * 1000:.1f} ms.")
res["apply"] = ap

if not has('apply'):
    del md[mark:]
# ---- 5. memory
mark = len(md)
md.append("\n## 5. Memory\n")
md.append("Daemon VmRSS after one denial under the policy (so the daemon has loaded it), 6 s "
          "after the last apply (the steady state: the daemon returns an apply's freed pages 5 s "
          "after it, with the stale slot's clear); kernel "
          "memory of every pinned govgate map (`bpftool map show`, bytes_memlock), with both "
          "policy slots holding the policy (after the second apply).\n")
md.append("| policy | daemon VmRSS | govgate maps (kernel, all) | of which egress_v4 |")
md.append("|---|---:|---:|---:|")
mem = {}
for p in ["nine-packs"] + [str(n) for n in Ns]:
    d = {m: one("memory", "govgate", p, m) for m in ("daemon_rss_kb", "map_bytes", "egress_v4_bytes")}
    if all(v is None for v in d.values()):
        continue
    mem[p] = d
    label = "floor + nine packs" if p == "nine-packs" else f"floor + {int(p):,} prefixes"
    md.append(f"| {label} | {size(d['daemon_rss_kb'] and d['daemon_rss_kb'] * 1024)} | "
              f"{size(d['map_bytes'])} | {size(d['egress_v4_bytes'])} |")
after = one("memory", "govgate", "nine-packs", "daemon_rss_kb_after_apply")
if after is not None and "nine-packs" in mem:
    mem["nine-packs"]["daemon_rss_kb_after_apply"] = after
    md.append(f"| floor + nine packs, 0.5 s after the applies (their freed pages kept "
              f"for the next apply; returned 5 s after the last) | {size(after * 1024)} | | |")
ring = [k[2] for k in raw if k[0] == "memory" and k[2].startswith("ring-")]
for p in sorted(set(ring)):
    r = one("memory", "govgate", p, "daemon_rss_kb")
    mem[p] = {"daemon_rss_kb": r}
    md.append(f"| floor, {p[5:]} MiB ring buffer, after the bursts | {size(r and r * 1024)} | | |")
res["memory"] = mem
md.append("")
if not has('memory'):
    del md[mark:]

open(f"{out}/results.md", "w").write("\n".join(md))
json.dump(res, open(f"{out}/results.json", "w"), indent=2)
with open(f"{out}/results.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["section", "variant", "param", "metric", "median", "ratio_median", "ratio_min", "ratio_max", "n"])
    for (sec, var, par, metric), d in sorted(raw.items()):
        r = ratios(sec, var, par, metric=metric) if metric == "rate" and sec in ("exec", "connect") and var != "none" else None
        w.writerow([sec, var, par, metric, f"{med(d):g}",
                    "" if r is None else f"{r['median']:.4f}", "" if r is None else f"{r['min']:.4f}",
                    "" if r is None else f"{r['max']:.4f}", len(d)])
