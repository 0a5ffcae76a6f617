#!/usr/bin/python3
"""Training curves from pirf's JSON-lines logs (one JSON object per line).

usage: plot_training.py OUT.png LOG.jsonl [LOG.jsonl ...]

For every numeric key other than the step counters (step, iter, kimg, n_img, time), a panel of that
key against the step (log scale where the values span more than two decades).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COUNTERS = {"step", "iter", "kimg", "n_img", "time", "seconds"}


def read(path):
    rows = []
    with open(path) as f:
        for i, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"plot_training: {path}:{i}: not JSON ({e})")
    return rows


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, logs = sys.argv[1], sys.argv[2:]
    series = []
    for path in logs:
        rows = read(path)
        if not rows:
            continue
        xkey = "iter" if "iter" in rows[0] else "step"
        keys = [k for k, v in rows[0].items() if k not in COUNTERS and isinstance(v, (int, float))]
        for k in keys:
            xs = [r.get(xkey, i) for i, r in enumerate(rows) if isinstance(r.get(k), (int, float))]
            ys = [r[k] for r in rows if isinstance(r.get(k), (int, float))]
            series.append((f"{path.split('/')[-1]}: {k}", xkey, xs, ys))
    if not series:
        sys.exit("plot_training: the logs hold no numeric series")
    fig, axes = plt.subplots(len(series), 1, figsize=(6, 2.2 * len(series)), squeeze=False)
    for ax, (title, xkey, xs, ys) in zip(axes[:, 0], series):
        ax.plot(xs, ys, lw=1)
        pos = [y for y in ys if y > 0]
        if pos and len(pos) == len(ys) and max(pos) / min(pos) > 100:
            ax.set_yscale("log")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(xkey)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"plot_training: wrote {out}")


if __name__ == "__main__":
    main()
