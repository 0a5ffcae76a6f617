#!/usr/bin/python3
"""Training curves from pirf's JSON-lines logs (pretrain.jsonl, finetune.jsonl; one JSON object a
line).

usage: plot_training.py OUT.png LOG.jsonl [LOG.jsonl ...] [--title TEXT]

One panel per logged quantity (each described in a line on standard output), with a readable title and its units, against the natural counter:
kimg (thousands of training images) for pretraining logs, the iteration for fine-tuning logs (the
other counter on a secondary axis where both are logged). Loss and residual panels use a log axis.
Evaluation records (lines with an "eval" key: the residual of the base model before fine-tuning and
of the fine-tuned net/EMA weights after) are drawn as their own marked series on the residual
panel, never mixed into the training curves. Counters that do not change (N, K) go into the panel
title, and `nonfinite` (skipped non-finite steps) gets a panel only when it is non-zero; otherwise a
note says so.
"""
import argparse
import json
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COUNTERS = {"step", "iter", "kimg", "n_img", "time", "unix_time", "seconds"}  # axes and clocks
# key -> (title, y-axis label, log axis)
KNOWN = {
    "loss": ("training loss", "loss", True),
    "residual_mse": ("PDE residual of the training batch", "mean(R^2), physical units", True),
    "reg": ("weight regularization term", "reg", False),
    "lr": ("learning rate", "lr", False),
    "ema_beta": ("EMA decay per step", "beta", False),
    "sec_per_step": ("wall time per step", "s / step", False),
    "sec_per_iter": ("wall time per iteration", "s / iteration", False),
    "nonfinite": ("steps skipped for non-finite gradients", "count", False),
    "level_offset": ("coefficient off its two levels", "fraction of the gap", False),
    "rss_mib": ("peak memory per rank (max over the ranks)", "MiB", False),
}
LOSS_TITLE = {"pretrain": "EDM denoising loss (weighted MSE)",
              "finetune": "PIRF loss (= -reward) of the training batch"}
FIXED = {"N": "N = {v:g} sampler steps", "K": "K = {v:g} last steps differentiated",
         "rss_mib": "peak memory {v:g} MiB per rank throughout"}
NOTE_IF_CONSTANT = {"rss_mib"}  # known keys that are a note, not a panel, when they never change
EVAL_STYLE = {"base": ("o", "tab:red", "base model (before)"),
              "net": ("s", "tab:green", "fine-tuned net (after)"),
              "ema": ("^", "tab:purple", "fine-tuned EMA (after)")}


def read(path):
    rows = []
    with open(path) as f:
        for i, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"plot_training: {path}:{i}: not JSON ({e})")
            if not isinstance(r, dict):
                sys.exit(f"plot_training: {path}:{i}: not a JSON object")
            rows.append(r)
    return rows


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def kind_of(path, train):
    name = path.rsplit("/", 1)[-1]
    if "pretrain" in name or (train and "kimg" in train[0] and "iter" not in train[0]):
        return "pretrain"
    if "finetune" in name or (train and "iter" in train[0]):
        return "finetune"
    return "log"


def panels_for(path, rows):
    """[(title, ylabel, log, xs, ys, eval_points)] and notes for one log."""
    train = [r for r in rows if "eval" not in r]
    evals = [r for r in rows if "eval" in r]
    kind = kind_of(path, train)
    xkey = "kimg" if kind == "pretrain" or (train and "kimg" in train[0] and "iter" not in train[0]) \
        else ("iter" if train and "iter" in train[0] else "step")
    keys = []
    for r in train:
        for k, v in r.items():
            if k not in COUNTERS and is_num(v) and k not in keys:
                keys.append(k)
    notes, panels = [], []
    for k in keys:
        pts = [(r.get(xkey, i), r[k]) for i, r in enumerate(train) if is_num(r.get(k))]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        if not ys:
            continue
        if k == "nonfinite" and not any(ys):
            notes.append("no steps skipped for non-finite gradients")
            continue
        if (k not in KNOWN or k in NOTE_IF_CONSTANT) and len(set(ys)) == 1:
            notes.append(FIXED.get(k, "{k} = {v:g} throughout").format(k=k, v=ys[0]))
            continue
        title, ylabel, log = KNOWN.get(k, (k, k, False))
        if k == "loss":
            title = LOSS_TITLE.get(kind, title)
        if log and min(ys) <= 0:
            log = False
        if len(set(ys)) == 1:  # a flat line: say its value in the title
            title += f" (constant: {ys[0]:g})"
            log = False
        ev = []
        if k == "residual_mse":
            ev = [(r["eval"], r.get("iter", r.get(xkey, 0)), r["residual_mse"]) for r in evals
                  if is_num(r.get("residual_mse"))]
        panels.append((title, ylabel, log, xs, ys, ev, k))
    if evals and not any(p[6] == "residual_mse" for p in panels):
        ev = [(r["eval"], r.get("iter", 0), r["residual_mse"]) for r in evals
              if is_num(r.get("residual_mse"))]
        if ev:
            panels.append(("PDE residual of evaluation samples", "mean(R^2), physical units", True,
                           [], [], ev, "residual_mse"))
    lv = [(r["eval"], r.get("iter", 0), r["level_offset"]) for r in evals
          if is_num(r.get("level_offset")) and r["level_offset"] >= 0]
    if lv:
        panels.append(("evaluation: coefficient off its two levels", "fraction of the gap", False,
                       [], [], lv, "level_offset"))
    xlabel = {"kimg": "training images (kimg = 1000 images)", "iter": "fine-tuning iteration",
              "step": "step"}[xkey]
    return kind, xkey, xlabel, panels, notes, train


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("logs", nargs="+")
    ap.add_argument("--title", default="", help="headline (e.g. the PDE and resolution)")
    a = ap.parse_args()
    logs = []
    for path in a.logs:
        try:
            rows = read(path)
        except OSError as e:
            sys.exit(f"plot_training: cannot read {path}: {e}")
        if rows:
            logs.append((path, *panels_for(path, rows)))
    npanels = sum(len(p[4]) for p in logs)
    if not npanels:
        sys.exit("plot_training: the logs hold no numeric series")
    ncol = 2 if npanels > 3 else 1
    nrow = (npanels + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 2.6 * nrow + 0.9), squeeze=False)
    flat = list(axes.flat)
    i = 0
    heads = []
    for path, kind, xkey, xlabel, panels, notes, train in logs:
        name = path.rsplit("/", 1)[-1]
        for title, ylabel, log, xs, ys, ev, key in panels:
            ax = flat[i]
            i += 1
            if xs:
                ax.plot(xs, ys, lw=1.2, color="tab:blue", label="training (mean since last log)")
            for label in dict.fromkeys(e[0] for e in ev):
                pts = [(x, y) for lab, x, y in ev if lab == label]
                m, col, text = EVAL_STYLE.get(label, ("D", "black", f"eval {label}"))
                ax.plot([p[0] for p in pts], [p[1] for p in pts], m, color=col, ms=7,
                        ls="none", label=f"eval: {text}")
            if log:
                ax.set_yscale("log")
            ax.set_title(f"{name}: {title}", fontsize=9)
            ax.set_xlabel(xlabel, fontsize=8)
            ax.set_ylabel(ylabel, fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3, which="both" if log else "major")
            if ev:
                ax.legend(fontsize=7)
            series = ([f"training({len(xs)})"] if xs else []) + \
                [f"eval {lab}({sum(1 for e in ev if e[0] == lab)})" for lab in dict.fromkeys(e[0] for e in ev)]
            print(f"panel: {name}: {title} | x: {xlabel} | y: {ylabel}{' (log)' if log else ''} | "
                  f"series: {', '.join(series)}")
            if kind == "pretrain" and xkey == "kimg" and train and "step" in train[0] \
                    and train[-1].get("kimg"):
                per = train[-1]["step"] / train[-1]["kimg"]  # optimizer steps per kimg
                sec = ax.secondary_xaxis("top", functions=(lambda k, p=per: k * p,
                                                           lambda s, p=per: s / p))
                sec.set_xlabel("optimizer step", fontsize=7)
                sec.tick_params(labelsize=6)
        heads.append(f"{name}" + (f" ({'; '.join(notes)})" if notes else ""))
        if notes:
            print(f"note: {name}: {'; '.join(notes)}")
    for ax in flat[i:]:
        ax.set_visible(False)
    # the notes can be long: wrap them to the figure's width (about 11 characters per inch)
    head = textwrap.wrap(" | ".join(heads), width=int(11 * fig.get_figwidth()))
    lines = ([a.title] if a.title else []) + head
    fig.suptitle("\n".join(lines), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.1 + 0.17 * len(lines)) / fig.get_figheight()))
    fig.savefig(a.out, dpi=110)
    print(f"plot_training: wrote {a.out}")


if __name__ == "__main__":
    main()
