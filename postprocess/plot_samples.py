#!/usr/bin/python3
"""Samples of several methods side by side, with held-out data to compare with.

usage: plot_samples.py OUT.png LABEL=samples.h5 [LABEL=samples.h5 ...] [--count K]
                       [--data holdout.h5] [--title TEXT]

One row per sample and method (the first K samples of each file, the same latents for every method
that `pirf evaluate` ran), columns = the physical channels and |residual| on a log colour scale; the
residual panel's title gives that sample's residual MSE. With --data, the first K samples of a data
set (the held-out set output.dir/holdout.h5, or the training data) come first, in physical units,
so the samples can be compared with what the PDE solver makes. Each row says which file, method,
sampler steps N, guidance zeta and weights it shows; the headline names the PDE and resolution.
Axes are the physical coordinates of the grid (from the file's dimension scales or grid
attributes), colour bars carry the units. Channels share one colour range across rows. The headline and one line per row are also printed.

Samples files are written by `pirf sample` / `pirf evaluate` (data sets /physical (N,C,H,W),
/residual (N,Cr,H,W), /residual_mse (N); attributes pde, resolution, channel_names, method, steps,
zeta, checkpoint, weights); data sets by `pirf generate` (/fields, normalized).
"""
import argparse
import os
import textwrap
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402


def astr(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray) and v.shape == ():
        return astr(v[()])
    return str(v)


def units_of(d, default="1"):
    u = astr(d.attrs["units"]) if "units" in d.attrs else default
    return u.split(" ")[0] if u else default


def axes_of(f, H, W):
    """(row name, row coordinates, column name, column coordinates) of a field file."""
    d = f["fields"]
    try:
        if len(d.dims[2]) and len(d.dims[3]):
            return d.dims[2].label or "y", d.dims[2][0][...], d.dims[3].label or "x", d.dims[3][0][...]
    except (KeyError, IndexError, RuntimeError):
        pass
    h = float(f.attrs.get("grid_spacing", 1.0 / max(W, 1)))
    o = 0.5 * h if astr(f.attrs.get("centring", "")) == "cell" else 0.0
    return "y", o + h * np.arange(H), "x", o + h * np.arange(W)


def read_samples(path, count):
    with h5py.File(path, "r") as f:
        phys = f["physical"][:count]
        res = f["residual"][:count]
        mse = f["residual_mse"][:count] if "residual_mse" in f else \
            np.mean(res.astype(np.float64) ** 2, axis=(1, 2, 3))
        A = {k: astr(f.attrs[k]) for k in ("pde", "channel_names", "method", "checkpoint", "weights")
             if k in f.attrs}
        for k in ("steps", "resolution"):
            if k in f.attrs:
                A[k] = int(f.attrs[k])
        for k in ("zeta", "guided_fraction", "corrections"):
            if k in f.attrs:
                A[k] = float(f.attrs[k])
        A["units"] = units_of(f["physical"])
        A["axes"] = axes_of(f, phys.shape[2], phys.shape[3])
    return phys, res, mse, A


def read_data(path, count):
    with h5py.File(path, "r") as f:
        x = f["fields"][:count].astype(np.float64)
        scale, shift = np.asarray(f.attrs["norm_scale"]), np.asarray(f.attrs["norm_shift"])
        phys = (x - shift[None, :, None, None]) / scale[None, :, None, None]
        A = {k: astr(f.attrs[k]) for k in ("pde", "channel_names") if k in f.attrs}
        A["resolution"] = int(f.attrs["resolution"]) if "resolution" in f.attrs else phys.shape[-1]
        A["floor"] = float(f.attrs["residual_mse"]) if "residual_mse" in f.attrs else None
        A["seed"] = int(f.attrs["seed"]) if "seed" in f.attrs else None
        A["N"] = f["fields"].shape[0]
        A["units"] = "1"
        A["axes"] = axes_of(f, phys.shape[2], phys.shape[3])
    return phys.astype(np.float32), A


def row_label(label, A, n):
    method = A.get("method", "?")
    parts = [f"{label} #{n}", method]
    if "steps" in A:
        parts.append(f"N={A['steps']}")
    if method in ("dps", "cocogen") and "zeta" in A:
        parts.append(f"zeta={A['zeta']:g}")
    if method == "cocogen" and A.get("corrections"):
        parts.append(f"{int(A['corrections'])} corr.")
    ck = os.path.basename(A.get("checkpoint", "")) if A.get("checkpoint") else ""
    if ck:
        parts.append(f"{A.get('weights', '')} of {ck}".strip())
    return ", ".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("runs", nargs="+", help="LABEL=path.h5")
    ap.add_argument("--count", type=int, default=2, help="samples per method")
    ap.add_argument("--data", help="a data set (held-out data) to show first, in physical units")
    ap.add_argument("--title", default="", help="extra headline text")
    a = ap.parse_args()
    if a.count < 1:
        sys.exit("plot_samples: --count must be at least 1")
    runs = []
    for r in a.runs:
        if "=" not in r:
            sys.exit(f"plot_samples: '{r}' is not LABEL=path.h5")
        label, path = r.split("=", 1)
        try:
            runs.append((label,) + read_samples(path, a.count))
        except (OSError, KeyError) as e:
            sys.exit(f"plot_samples: cannot read {path}: {e}")
    data = None
    if a.data:
        try:
            data = read_data(a.data, a.count)
        except (OSError, KeyError) as e:
            sys.exit(f"plot_samples: cannot read {a.data}: {e}")
    A0 = runs[0][4]
    C = runs[0][1].shape[1]
    names = A0.get("channel_names", "").split(",") if A0.get("channel_names") else []
    names += [f"c{c}" for c in range(len(names), C)]
    for label, phys, _, _, A in runs:
        if phys.shape[1:] != runs[0][1].shape[1:]:
            sys.exit(f"plot_samples: {label} has fields of shape {phys.shape[1:]}, not "
                     f"{runs[0][1].shape[1:]} like {runs[0][0]}")
    if data is not None and data[0].shape[1:] != runs[0][1].shape[1:]:
        sys.exit(f"plot_samples: {a.data} has fields of shape {data[0].shape[1:]}, not "
                 f"{runs[0][1].shape[1:]} like the samples")

    # one colour range per channel across methods and data, so the panels compare directly
    fields = [r[1] for r in runs] + ([data[0]] if data is not None else [])
    lo = [min(float(p[:, c].min()) for p in fields) for c in range(C)]
    hi = [max(float(p[:, c].max()) for p in fields) for c in range(C)]
    rmax = max(float(np.abs(r[2]).max()) for r in runs) or 1.0
    rows = sum(min(a.count, r[1].shape[0]) for r in runs) + (min(a.count, data[0].shape[0]) if data is not None else 0)
    fig, axes = plt.subplots(rows, C + 1, figsize=(3.0 * (C + 1), 2.75 * rows + 0.8), squeeze=False)
    rname, ry, cname, cx = A0["axes"]
    dy = ry[1] - ry[0] if len(ry) > 1 else 1.0
    dx = cx[1] - cx[0] if len(cx) > 1 else 1.0
    extent = [cx[0] - dx / 2, cx[-1] + dx / 2, ry[0] - dy / 2, ry[-1] + dy / 2]

    def field_panel(ax, img, c, title):
        im = ax.imshow(img, vmin=lo[c], vmax=hi[c], cmap="viridis", origin="lower", extent=extent,
                       aspect="auto")
        ax.set_title(title, fontsize=7.5)
        cb = fig.colorbar(im, ax=ax, fraction=0.046)
        cb.set_label(f"{names[c]} [{A0['units']}]", fontsize=7)
        cb.ax.tick_params(labelsize=6)

    row = 0
    if data is not None:
        phys, D = data
        for n in range(min(a.count, phys.shape[0])):
            for c in range(C):
                field_panel(axes[row, c], phys[n, c], c, f"held-out data #{n}: {names[c]}")
            ax = axes[row, C]
            floor = D.get("floor")
            ax.text(0.5, 0.5, "PDE solver output\n(no residual stored)\n" +
                    (f"data set's residual floor\nmean(R^2) = {floor:.3g}" if floor is not None else ""),
                    ha="center", va="center", fontsize=8, transform=ax.transAxes)
            ax.set_title(f"held-out data #{n}: residual", fontsize=7.5)
            print(f"row {row}: held-out data #{n}")
            ax.set_xticks([])
            ax.set_yticks([])
            row += 1
    for label, phys, res, mse, A in runs:
        for n in range(min(a.count, phys.shape[0])):
            head = row_label(label, A, n)
            for c in range(C):
                field_panel(axes[row, c], phys[n, c], c, f"{head}: {names[c]}" if c == 0 else names[c])
            ax = axes[row, C]
            r = np.abs(res[n]).max(axis=0) + 1e-12
            im = ax.imshow(r, norm=LogNorm(vmin=max(rmax * 1e-6, 1e-12), vmax=rmax), cmap="magma",
                           origin="lower", extent=extent, aspect="auto")
            ax.set_title(f"|residual|, MSE = {float(mse[n]):.3g}", fontsize=7.5)
            print(f"row {row}: {head} | residual MSE {float(mse[n]):.6g}")
            cb = fig.colorbar(im, ax=ax, fraction=0.046)
            cb.set_label(f"|R| [{A['units']}]", fontsize=7)
            cb.ax.tick_params(labelsize=6)
            row += 1
    for r in range(rows):
        for c in range(C + 1):
            ax = axes[r, c]
            if ax.get_xticks().size:
                ax.tick_params(labelsize=6)
                ax.set_xlabel(cname, fontsize=7, labelpad=1)
                ax.set_ylabel(rname, fontsize=7, labelpad=1)
    pde = A0.get("pde", "?")
    R = A0.get("resolution", runs[0][1].shape[-1])
    steps = sorted({A.get("steps") for *_, A in runs if A.get("steps")})
    head = f"{pde} {R}x{R}: {', '.join(r[0] for r in runs)}"
    if steps:
        head += f" at N = {', '.join(map(str, steps))} sampler steps"
    if data is not None:
        head += f"; first rows: held-out data ({os.path.basename(a.data)}, {data[1]['N']} samples)"
    print(f"title: {head}")
    # wrapped to the figure's width (about 12 characters of 9-point text per inch), so that a long
    # list of methods is not cut off at the edges
    width = max(40, int(fig.get_figwidth() * 12))
    title = "\n".join(textwrap.fill(t, width) for t in
                      [head] + ([a.title] if a.title else []) +
                      ["fields and residuals in the PDE's nondimensional units; the residual "
                       "column's title gives that sample's mean(R^2)"])
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.2 + 0.17 * (title.count("\n") + 1)) /
                           fig.get_figheight()))
    fig.savefig(a.out, dpi=110)
    print(f"plot_samples: wrote {a.out}")


if __name__ == "__main__":
    main()
