#!/usr/bin/python3
"""The before/after table of scripts/measure_performance.sh from its runs.jsonl.

One row per configuration and trainable set: seconds per iteration of each run (official, before,
fp32, bf16), each pirf time as a fraction of the official one, and the peak memory per process.

  /usr/bin/python3 postprocess/performance_table.py runs/performance/runs.jsonl \
      --load runs/performance/load.txt --np 2
"""
import argparse
import json

CONFIGS = {
    "a": "32^2, 32 x [1,2,2], 2 blocks, attention at 8, batch 8",
    "b": "64^2, 64 x [1,2,2], 2 blocks, attention at 16, batch 4",
    "c": "128^2, the paper network (128 x [2,2,2], 4 blocks, 54.4 M), batch 1",
}
RUNS = ["official", "before", "fp32", "bf16", "winograd"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", help="runs.jsonl of scripts/measure_performance.sh (several: "
                   "the runs of several sittings; a later file's run replaces an earlier one's)")
    p.add_argument("--load", nargs="*", default=[], help="the load.txt written beside each")
    p.add_argument("--np", type=int, default=2, help="ranks (pirf) = threads (official)")
    a = p.parse_args()
    rows = {}
    for path in a.runs:
        for line in open(path):
            if line.strip():
                r = json.loads(line)
                rows.setdefault((r["config"], r["trainable"]), {})[r["run"]] = r
    present = [run for run in RUNS if any(run in v for v in rows.values())]
    out = []
    for path in a.load:
        out += [f"{line.strip()}  " for line in open(path) if line.strip()]
    if a.load:
        out.append("")
    head = ["network, batch", "trainable"] + [f"{run} s" for run in present]
    mine = [run for run in present if run != "official"]
    if "official" in present:
        head += [f"{run} / official" for run in mine]
    head += [f"{run} MiB" for run in present]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for (cfg, trainable), v in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1] != "all")):
        cells = [CONFIGS.get(cfg, cfg), trainable]
        cells += [f"{v[run]['s']:.3g}" if run in v else "" for run in present]
        if "official" in present:
            for run in mine:
                ok = run in v and "official" in v
                cells.append(f"{v[run]['s'] / v['official']['s']:.2f}" if ok else "")
        cells += [f"{v[run]['rss_mib']:,.0f}" if run in v else "" for run in present]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out.append(f"pirf: {a.np} ranks, one OpenBLAS/oneDNN thread each; official: one process, "
               f"{a.np} torch threads. Seconds per iteration (median over the timed iterations); "
               "MiB = peak resident memory of one process (pirf: of the largest rank, so a pirf "
               f"run holds about {a.np}x that in all).")
    print("\n".join(out))


if __name__ == "__main__":
    main()
