#!/usr/bin/python3
"""Side by side: the residual and sliced-W2 columns of several `pirf evaluate` runs.

For each method (DPS: its best zeta) and N, the residual MSE and the sliced Wasserstein-2 distance
of every run with their standard errors, and how far each run is from the first in units of the
two runs' combined standard error (|a - b| / sqrt(se_a^2 + se_b^2)): about 1 or less means the
difference is within the sampling noise of the evaluation.

  /usr/bin/python3 postprocess/compare_evaluations.py fp32=runs/q32/evaluation.json \
      bf16=runs/q16/evaluation.json
"""
import argparse
import json
import math
import sys


def rows(path):
    d = json.load(open(path))
    out = {}
    for r in d["records"]:
        if r["method"] == "dps" and not r.get("best"):
            continue  # DPS: only the row of its best zeta
        out[(r["method"], r["steps"])] = r
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", help="LABEL=path/to/evaluation.json (the first is the reference)")
    a = p.parse_args()
    runs = []
    for arg in a.runs:
        label, sep, path = arg.partition("=")
        if not sep:
            sys.exit(f"compare_evaluations.py: '{arg}' is not LABEL=evaluation.json")
        try:
            runs.append((label, rows(path)))
        except (OSError, KeyError, json.JSONDecodeError) as e:
            sys.exit(f"compare_evaluations.py: cannot read the evaluation '{path}' ({e})")
    ref = runs[0][1]
    head = ["method", "N"]
    for label, _ in runs:
        head += [f"{label} residual MSE", f"{label} sliced W2"]
    for label, _ in runs[1:]:
        head += [f"{label} vs {runs[0][0]} (MSE, W2; in se)"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for key in sorted(ref, key=lambda k: (k[1], k[0])):
        cells = [key[0], str(key[1])]
        for _, rr in runs:
            r = rr.get(key)
            if r is None:
                cells += ["", ""]
                continue
            f = r.get("fidelity", {})
            cells += [f"{r['residual_mse']:.3e} ± {r['residual_mse_se']:.1e}",
                      f"{f['sliced_w2']:.3f} ± {f['sliced_w2_se']:.3f}" if "sliced_w2" in f else ""]
        for _, rr in runs[1:]:
            r, r0 = rr.get(key), ref[key]
            if r is None:
                cells.append("")
                continue
            z = abs(r["residual_mse"] - r0["residual_mse"]) / math.hypot(r["residual_mse_se"],
                                                                          r0["residual_mse_se"])
            f, f0 = r.get("fidelity", {}), r0.get("fidelity", {})
            zw = (abs(f["sliced_w2"] - f0["sliced_w2"]) / math.hypot(f["sliced_w2_se"],
                                                                      f0["sliced_w2_se"])
                  if "sliced_w2" in f and "sliced_w2" in f0 else float("nan"))
            cells.append(f"{z:.1f}, {zw:.1f}")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
