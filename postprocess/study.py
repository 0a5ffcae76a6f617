#!/usr/bin/python3
"""The tables and figures of a study made by scripts/study.sh (docs/results.md).

usage: study.py DIR VARIANTS

DIR is the study's output.dir, VARIANTS its variants file. Reads DIR/evaluation.json (every
method), DIR/variants/<label>/{evaluation.json, pirf.h5, finetune.jsonl} (the ablation),
DIR/value_error.json and DIR/variants/<first>/value_error.json, DIR/study_times.tsv and
DIR/study_started; writes

  DIR/study.md               when and where it ran, the methods table, the ablation table, the
                             value-error summary and the stage times, in Markdown
  DIR/study_tradeoff.png     residual MSE against the sliced W2 distance to held-out data, one
                             point per variant and method, with standard errors
  DIR/study_value_error.png  the value-approximation error of the base model and of PIRF
                             (postprocess/value_error.py)
  DIR/study_samples.png      held-out data, then the samples of every method and of the full
                             fine-tuning variant, on the same latents (postprocess/plot_samples.py)

A file that is missing is named in study.md and its rows are left out, so the script can be run on
a study that has not finished.
"""
import json
import os
import subprocess
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def read_variants(path):
    """[(label, overrides)] in file order, baselines left out."""
    out = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0]
            if "|" not in line:
                continue
            label, over = (s.strip() for s in line.split("|", 1))
            if label and not label.startswith("baseline:"):
                out.append((label, " ".join(over.split())))
    return out


def load_json(path, missing):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError:
        missing.append(path)
        return None


def fid(rec, key):
    """The channel mean of a per-channel fidelity list and of its standard error."""
    v = rec["fidelity"][key]
    se = rec["fidelity"].get(key + "_se") or [0.0] * len(v)
    return float(np.mean(v)), float(np.mean(se))


def pm(v, se, fmt="%.3g"):
    return (fmt % v) + " ± " + ("%.2g" % se)


def weight_distance(path):
    """(sum_p ||theta_p - theta_p^base||_2, ||theta - theta^base|| / ||theta^base||) of a PIRF
    checkpoint's raw weights against the reference weights it records, or None."""
    try:
        with h5py.File(path, "r") as f:
            if "ref" not in f or "net" not in f:
                return None
            s, d2, r2 = 0.0, 0.0, 0.0
            for name in f["net"]:
                if name not in f["ref"]:
                    continue
                a = f["net"][name][...].astype(np.float64)
                b = f["ref"][name][...].astype(np.float64)
                n = np.linalg.norm(a - b)
                s += n
                d2 += n * n
                r2 += float(np.sum(b * b))
            return s, (d2 / r2) ** 0.5 if r2 > 0 else 0.0
    except OSError:
        return None


def last_jsonl(path):
    try:
        with open(path) as f:
            lines = [json.loads(x) for x in f if x.strip()]
        return lines[-1] if lines else None
    except OSError:
        return None


def row_metrics(rec):
    m, mse = fid(rec, "mean_error")
    s, sse = fid(rec, "std_error")
    f = rec["fidelity"]
    sw = f.get("sliced_w2")
    return {
        "mse": rec["residual_mse"], "mse_se": rec["residual_mse_se"],
        "ratio": rec.get("residual_mse_ratio_to_base"),
        "mean": m, "mean_se": mse, "std": s, "std_se": sse,
        "sw": sw, "sw_se": f.get("sliced_w2_se") or 0.0,
        "off": f.get("level_offset"),
        "nfe": rec["nfe"], "vjps": rec.get("guidance_vjps", 0),
        "sps": rec["seconds_per_sample"],
    }


def fmt_row(label, extra, m):
    ratio = "%.3g" % m["ratio"] if m["ratio"] is not None else ""
    sw = pm(m["sw"], m["sw_se"]) if m["sw"] is not None else ""
    off = "%.3g" % m["off"] if m["off"] is not None else ""
    return ("| %s | %s | %s | %s | %s | %s | %s | %s |"
            % (label, extra, pm(m["mse"], m["mse_se"], "%.3e"), ratio,
               pm(m["mean"], m["mean_se"]), pm(m["std"], m["std_se"]), sw, off))


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    d, vpath = argv[1], argv[2]
    variants = read_variants(vpath)
    if not variants:
        sys.stderr.write("study.py: %s lists no variant\n" % vpath)
        return 2
    missing = []
    lines = []
    out = lambda s="": lines.append(s)  # noqa: E731

    started = []
    try:
        with open(os.path.join(d, "study_started")) as f:
            started = [x.strip() for x in f]
    except OSError:
        pass
    times = {}
    try:
        with open(os.path.join(d, "study_times.tsv")) as f:
            for x in f:
                p = x.rstrip("\n").split("\t")
                if len(p) == 3:
                    times[p[0]] = (float(p[1]), float(p[2]))
    except OSError:
        missing.append(os.path.join(d, "study_times.tsv"))

    ev = load_json(os.path.join(d, "evaluation.json"), missing)
    out("## The study (`%s`, variants `%s`)" % (d, vpath))
    out()
    if started:
        out("Started %s at commit %s; load average (1, 5, 15 min) at the start %s%s." % (
            started[0], started[2] if len(started) > 2 else "?",
            started[1] if len(started) > 1 else "?",
            ", at the end " + started[3] if len(started) > 3 else ""))
        out()
    floor = ev["floor"]["residual_mse"] if ev and ev.get("floor") else None

    # --- methods ---
    if ev:
        out("### Methods (`%s/evaluation.json`)" % d)
        out()
        out("Residual MSE of the generated fields in physical units (± standard error over samples); "
            "/ base: over the base model's at the same N and latents; mean err, std err: rms error "
            "of the per-pixel mean and standard deviation against held-out data, over the data's "
            "rms std; sliced W2: sliced Wasserstein-2 distance to the held-out fields (± bootstrap "
            "SE); a off-level: the coefficient's distance from its two allowed values (0 = "
            "two-valued). DPS and CoCoGen: the zeta chosen on separate selection samples.")
        out()
        out("| method | N, NFE, s/sample | residual MSE | / base | mean err | std err | "
            "sliced W2 | a off-level |")
        out("|---|---|---|---|---|---|---|---|")
        for r in ev["records"]:
            if "zeta" in r and not r.get("best"):
                continue
            m = row_metrics(r)
            name = r["method"] + (" (zeta %g)" % r["zeta"] if "zeta" in r else "")
            extra = "%d, %d%s, %.3g" % (r["steps"], m["nfe"],
                                         " + %d vjps" % m["vjps"] if m["vjps"] else "", m["sps"])
            out(fmt_row(name, extra, m))
        if floor is not None:
            out("| data (the residual floor) | | %.3e | | | | | |" % floor)
        out()

    # --- ablation ---
    out("### Ablation (fine-tuning variants, `%s/variants/*/evaluation.json`)" % d)
    out()
    out("Every variant starts from the same base model and is scored on the same latents at the "
        "first N of the deck, without guidance. Σ‖Δθ‖: the weight regularizer's measure, "
        "sum over tensors of ‖θ_p − θ_p^base‖₂; rel: ‖Δθ‖/‖θ^base‖ over all tensors. CPU s: the "
        "fine-tuning's CPU time over all ranks.")
    out()
    out("| variant | overrides | residual MSE | / base | mean err | std err | sliced W2 | "
        "a off-level | Σ‖Δθ‖ (rel) | CPU s |")
    out("|---|---|---|---|---|---|---|---|---|---|")
    points = []
    base_done = False
    for label, over in variants:
        vd = os.path.join(d, "variants", label)
        e = load_json(os.path.join(vd, "evaluation.json"), missing)
        if not e:
            continue
        recs = {r["method"]: r for r in e["records"] if "zeta" not in r}
        if not base_done and "base" in recs:
            m = row_metrics(recs["base"])
            out(fmt_row("base model", "N = %d" % recs["base"]["steps"], m) + " | |")
            points.append(("base", m, "k"))
            base_done = True
        if "pirf" not in recs:
            continue
        m = row_metrics(recs["pirf"])
        wd = weight_distance(os.path.join(vd, "pirf.h5"))
        wds = "%.3g (%.2g)" % wd if wd else ""
        cpu = "%.0f" % times["finetune:" + label][1] if "finetune:" + label in times else ""
        out(fmt_row(label, "`%s`" % over if over else "(the deck)", m) + " %s | %s |" % (wds, cpu))
        points.append((label, m, "C0"))
    if floor is not None:
        out("| data (the residual floor) | | %.3e | | | | | | | |" % floor)
    out()

    # --- value error ---
    first = os.path.join(d, "variants", variants[0][0])
    ve_files = [p for p in (os.path.join(d, "value_error.json"), os.path.join(first, "value_error.json"))
                if os.path.exists(p)]
    for p in (os.path.join(d, "value_error.json"), os.path.join(first, "value_error.json")):
        if p not in ve_files:
            missing.append(p)
    if ve_files:
        out("### Value-approximation error (`pirf value-error`)")
        out()
        out("Relative error |v̂_i − v_i| / |v_i| of the DPS estimate v̂_i = r(D(x_i; σ_i)) against "
            "the reward of the finished trajectory, mean over trajectories, at the start of the "
            "last quarter, half-way and two steps before the end:")
        out()
        out("| model | N | i = 3N/4 (σ) | i = N/2 (σ) | i = N − 2 (σ) | ratio v̂/v at 3N/4 |")
        out("|---|---|---|---|---|---|")
        for p in ve_files:
            j = load_json(p, missing)
            for run in j.get("runs", []):
                n = run["steps"]
                per = run["per_step"]

                def at(i):
                    s = per[i]
                    return "%.3g (%.3g)" % (s["relative_error"]["mean"], s["sigma"])
                out("| %s | %d | %s | %s | %s | %.3g |" % (
                    j.get("model", "?"), n, at(3 * n // 4), at(n // 2), at(n - 2),
                    per[3 * n // 4]["ratio"]["mean"]))
        out()

    # --- times ---
    if times:
        out("### Stage times (`%s/study_times.tsv`)" % d)
        out()
        out("| step | wall s | CPU s (all ranks) |")
        out("|---|---|---|")
        tw = tc = 0.0
        for k, (w, c) in times.items():
            out("| %s | %.0f | %.0f |" % (k, w, c))
            tw += w
            tc += c
        out("| total | %.0f (%.1f h) | %.0f |" % (tw, tw / 3600, tc))
        out()
    if missing:
        out("Missing (the study has not made them yet, or they failed): " +
            ", ".join("`%s`" % m for m in missing) + ".")
        out()

    # --- figures ---
    if ev:
        for r in ev["records"]:
            if r["steps"] != ev["records"][0]["steps"] or r["method"] in ("base", "pirf"):
                continue
            if "zeta" in r and not r.get("best"):
                continue
            points.append((r["method"] + (" (zeta %g)" % r["zeta"] if "zeta" in r else ""),
                           row_metrics(r), "C3"))
    pts = [p for p in points if p[1]["sw"] is not None]
    if pts:
        fig, ax = plt.subplots(figsize=(10, 5.5))
        colors = plt.get_cmap("tab20").colors
        for n, (label, m, kind) in enumerate(pts):
            # fine-tuning variants as circles, the base model as a black square, baselines as
            # triangles; each its own colour, named in the legend (labels on the points overlap)
            marker = {"k": "s", "C0": "o", "C3": "^"}[kind]
            c = "k" if kind == "k" else colors[n % len(colors)]
            ax.errorbar(m["mse"], m["sw"], xerr=m["mse_se"], yerr=m["sw_se"], fmt=marker,
                        color=c, ms=6, capsize=2, label=label)
        if floor is not None:
            ax.axvline(floor, color="0.5", ls="--", lw=1)
            ax.text(floor, ax.get_ylim()[1], " data's residual", color="0.4", fontsize=7,
                    va="top")
        ax.set_xscale("log")
        ax.set_xlabel("residual MSE of the samples (physical units, log scale; lower = more physical)")
        ax.set_ylabel("sliced W2 distance to held-out data (lower = closer to the data)")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7, frameon=False)
        ax.set_title("%s %dx%d: physics against fidelity (circles: fine-tuning variants, "
                     "triangles: baselines at the first N)" % (ev["pde"] if ev else "", ev["resolution"] if ev else 0,
                                     ev["resolution"] if ev else 0), fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(d, "study_tradeoff.png"), dpi=110)
        plt.close(fig)
    if ve_files:
        subprocess.run([sys.executable, os.path.join(HERE, "value_error.py"),
                        os.path.join(d, "study_value_error.png")] + ve_files, check=True)
    sample_files = [("base", os.path.join(d, "samples_base.h5")),
                    ("PIRF", os.path.join(d, "samples_pirf.h5"))]
    full = os.path.join(d, "variants", "full", "samples_pirf.h5")
    if os.path.exists(full):
        sample_files.append(("full fine-tuning", full))
    for name in ("dps", "cocogen", "pidm", "pg-diffusion"):
        sample_files.append((name, os.path.join(d, "samples_%s.h5" % name)))
    sample_files = [(n, p) for n, p in sample_files if os.path.exists(p)]
    hold = os.path.join(d, "holdout.h5")
    if sample_files:
        cmd = [sys.executable, os.path.join(HERE, "plot_samples.py"),
               os.path.join(d, "study_samples.png")]
        cmd += ["%s=%s" % (n, p) for n, p in sample_files] + ["--count", "1"]
        if os.path.exists(hold):
            cmd += ["--data", hold]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    md = os.path.join(d, "study.md")
    with open(md + ".partial", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(md + ".partial", md)
    print("\n".join(lines))
    print("[study] wrote %s and the figures study_*.png in %s" % (md, d), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
