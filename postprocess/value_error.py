#!/usr/bin/python3
"""The value-approximation error of `pirf value-error` (docs/value-error.md) as a figure.

usage: value_error.py OUT.png value_error.json [value_error.json ...]

One column per file (one PDE each, or one model each), two rows: the relative error
|v_hat_i - v_i| / |v_i| and the ratio v_hat_i / v_i of the DPS value estimate v_hat_i =
r(D(x_i; sigma_i)) against the true value v_i = r(x_N), against sigma_i on a log axis (the sampler
runs from the right, sigma = 80, to the left). One curve per N: the mean over trajectories, with
a band from the 10th to the 90th percentile. The last step (i = N - 1, sigma = 0.002) has error 0
by construction and is drawn at the left end; zeros on the log error axis are clipped to 1e-8.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

FLOOR = 1e-8  # zero relative error (the last step) on a log axis


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    out, paths = argv[1], argv[2:]
    runs = []
    for p in paths:
        with open(p) as f:
            runs.append(json.load(f))
    fig, axes = plt.subplots(2, len(runs), figsize=(5.2 * len(runs), 7.0), squeeze=False)
    for col, d in enumerate(runs):
        top, bottom = axes[0][col], axes[1][col]
        for r in d["runs"]:
            ps = r["per_step"]
            s = np.array([p["sigma"] for p in ps])
            for ax, q, floor in ((top, "relative_error", FLOOR), (bottom, "ratio", None)):
                m = np.array([p[q]["mean"] for p in ps])
                lo = np.array([p[q]["p10"] for p in ps])
                hi = np.array([p[q]["p90"] for p in ps])
                if floor:
                    m, lo, hi = (np.maximum(a, floor) for a in (m, lo, hi))
                line, = ax.plot(s, m, marker=".", label=f"N = {r['steps']} (mean)")
                ax.fill_between(s, lo, hi, color=line.get_color(), alpha=0.2)
        title = f"{d['pde']} {d['resolution']}x{d['resolution']}, {d['model']} model " \
                f"({d['weights']}), {d['samples']} trajectories"
        top.set_title(title, fontsize=9)
        top.set_ylabel("relative error |v_hat - v| / |v|")
        top.set_yscale("log")
        bottom.set_ylabel("ratio v_hat / v")
        bottom.set_yscale("log")
        # a ratio spans less than a decade or two: label 1, 2 and 5 of every decade
        bottom.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        bottom.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        bottom.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        bottom.axhline(1.0, color="k", lw=0.6, ls=":")
        for ax in (top, bottom):
            ax.set_xscale("log")
            ax.set_xlabel("sigma_i (noise level of step i; sampling runs right to left)")
            ax.grid(True, which="major", alpha=0.3)
            ax.legend(fontsize=8, title="band: 10th-90th percentile", title_fontsize=7)
        print(f"{paths[col]}: {d['pde']}, N = {[r['steps'] for r in d['runs']]}")
    fig.suptitle("DPS value estimate v_hat_i = r(D(x_i; sigma_i)) against v_i = r(x_N)\n"
                 "(r = residual MSE; last step 0 by construction, drawn at 1e-8)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
