#!/usr/bin/python3
"""Draw samples of several methods side by side: each method's first samples, one row per sample
and method, columns = the physical channels and |residual| on a log colour scale.

usage: plot_samples.py OUT.png LABEL=samples.h5 [LABEL=samples.h5 ...] [--count K]

Each samples file is written by `pirf sample` / `pirf evaluate` (datasets /physical (N,C,H,W),
/residual (N,Cr,H,W), attribute channel_names).
"""
import argparse
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("runs", nargs="+", help="LABEL=path.h5")
    ap.add_argument("--count", type=int, default=2, help="samples per method")
    a = ap.parse_args()
    runs = []
    for r in a.runs:
        if "=" not in r:
            sys.exit(f"plot_samples: '{r}' is not LABEL=path.h5")
        label, path = r.split("=", 1)
        try:
            with h5py.File(path, "r") as f:
                phys = f["physical"][: a.count]
                res = f["residual"][: a.count]
                names = f.attrs.get("channel_names", "")
                names = names.decode() if isinstance(names, bytes) else str(names)
        except (OSError, KeyError) as e:
            sys.exit(f"plot_samples: cannot read {path}: {e}")
        runs.append((label, phys, res, names.split(",") if names else []))
    C = runs[0][1].shape[1]
    rows = sum(min(a.count, r[1].shape[0]) for r in runs)
    # one colour range per channel across methods, so the panels compare directly
    lo = [min(float(r[1][:, c].min()) for r in runs) for c in range(C)]
    hi = [max(float(r[1][:, c].max()) for r in runs) for c in range(C)]
    rmax = max(float(np.abs(r[2]).max()) for r in runs) or 1.0
    fig, axes = plt.subplots(rows, C + 1, figsize=(2.6 * (C + 1), 2.4 * rows), squeeze=False)
    row = 0
    for label, phys, res, names in runs:
        for n in range(min(a.count, phys.shape[0])):
            for c in range(C):
                ax = axes[row, c]
                im = ax.imshow(phys[n, c], vmin=lo[c], vmax=hi[c], cmap="viridis")
                ax.set_title(f"{label} #{n}: {names[c] if c < len(names) else c}", fontsize=8)
                fig.colorbar(im, ax=ax, fraction=0.046)
            ax = axes[row, C]
            r = np.abs(res[n]).max(axis=0) + 1e-12
            im = ax.imshow(r, norm=LogNorm(vmin=max(rmax * 1e-6, 1e-12), vmax=rmax), cmap="magma")
            ax.set_title(f"{label} #{n}: |residual|", fontsize=8)
            fig.colorbar(im, ax=ax, fraction=0.046)
            row += 1
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print(f"plot_samples: wrote {a.out}")


if __name__ == "__main__":
    main()
